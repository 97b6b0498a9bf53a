#pragma once
/// `return portico::ws_response{"event", data};` from a handler: emit `event` with `data`.
///
/// Without targets it goes back to the sender only. `.to(room_or_sid)` (repeatable) sends it to
/// everyone in those rooms of the gateway's namespace, the sender included if it is in one;
/// `.except(room_or_sid)` removes recipients. The data is encoded once, when the response is
/// built (binary values are not supported here: emit them through the context).

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "exceptions.hpp"

namespace portico {

class ws_response {
 public:
  /// An event without data.
  explicit ws_response(std::string event) : event_(std::move(event)) {}
  template <class T>
  ws_response(std::string event, const T& data) : event_(std::move(event)) {
    data_ = framework::detail::to_json_text_without_binary(data, "portico::ws_response");
  }

  /// Adds a target room (a sid is a room too). Several targets: the union.
  ws_response& to(std::string room_or_sid) & {
    rooms_.push_back(std::move(room_or_sid));
    return *this;
  }
  ws_response&& to(std::string room_or_sid) && { return std::move(to(std::move(room_or_sid))); }
  /// Leaves out a room or sid.
  ws_response& except(std::string room_or_sid) & {
    except_.push_back(std::move(room_or_sid));
    return *this;
  }
  ws_response&& except(std::string room_or_sid) && { return std::move(except(std::move(room_or_sid))); }

  const std::string& event() const noexcept { return event_; }
  /// The data as JSON text; empty when the event carries no data.
  const std::string& data_json() const noexcept { return data_; }
  const std::vector<std::string>& rooms() const noexcept { return rooms_; }
  const std::vector<std::string>& excepted() const noexcept { return except_; }

 private:
  std::string event_, data_;
  std::vector<std::string> rooms_, except_;
};

}  // namespace portico
