#pragma once
/// What travels through a session: a received message, and a pre-encoded frame to send.
#include "../detail/utf8.hpp"

#include <memory>
#include <string>
#include <vector>

namespace portico::engineio {

/// A received message, moved out of the websocket frame or polling payload.
struct message {
  bool binary = false;
  std::string data;
};

/// A pre-encoded broadcast unit: one Engine.IO message text (without the leading '4') plus
/// binary messages sent right after it. Immutable and shared by all recipients.
struct frame {
  std::string text;
  std::vector<std::string> binaries;
  /// A volatile emit: dropped for a recipient whose send buffer is over max_buffered_bytes,
  /// instead of closing that session.
  bool droppable = false;
};
using frame_ptr = std::shared_ptr<const frame>;

namespace detail {

/// `f`, or a copy whose text is repaired when it is not valid UTF-8: every text frame the engine
/// sends passes here once (browsers close a websocket on an invalid text frame).
inline frame_ptr valid_utf8_frame(frame_ptr f) {
  if (!f || portico::detail::utf8_valid(f->text)) return f;
  auto copy = std::make_shared<frame>(*f);
  portico::detail::utf8_repair(copy->text);
  return copy;
}

}  // namespace detail
}  // namespace portico::engineio
