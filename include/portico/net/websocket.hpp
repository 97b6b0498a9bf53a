#pragma once
/// What a mounted handler sees of an accepted WebSocket: a `websocket` handle to send, close and
/// share pre-framed messages, and a `websocket_handler` the host calls with the connection's
/// events. All events run on the connection's I/O thread; the handle may be used from any thread
/// (off that thread a send is posted to it, with a copy of the payload).

#include <cstdint>
#include <functional>
#include <vector>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <websocketpp/frame.hpp>

namespace portico::net {

/// A server-to-client frame (unmasked) encoded once and shared: sending it to N connections
/// queues the same bytes N times by reference, with no framing or copy per recipient.
using shared_frame = std::shared_ptr<const std::string>;

/// Frames `payload` once (text or binary), for `websocket::send(shared_frame)`.
inline shared_frame make_frame(std::string_view payload, bool binary = false) {
  namespace fr = websocketpp::frame;
  const auto op = binary ? fr::opcode::binary : fr::opcode::text;
  fr::basic_header h(op, payload.size(), true, false);
  fr::extended_header e(payload.size());
  std::string header = fr::prepare_header(h, e);
  auto s = std::make_shared<std::string>();
  s->reserve(header.size() + payload.size());
  s->append(header);
  s->append(payload.data(), payload.size());
  return s;
}

namespace detail {
/// The connection behind a `websocket` handle (callable from any thread).
class ws_sink {
 public:
  virtual ~ws_sink() = default;
  virtual void ws_send(std::string_view payload, bool binary) = 0;
  virtual void ws_send(shared_frame frame) = 0;
  virtual void ws_close(std::uint16_t code, std::string_view reason) = 0;
  virtual bool ws_open() const noexcept = 0;
  /// Bytes queued and not yet taken by the kernel (on the connection's thread).
  virtual std::size_t ws_buffered() const noexcept = 0;
  /// The I/O thread the connection lives on (an identity for grouping), whether the caller runs
  /// on it, and a way to run `f` there.
  virtual const void* ws_home() const noexcept = 0;
  virtual bool ws_on_home() const noexcept = 0;
  virtual void ws_post(std::function<void()> f) = 0;
};
}  // namespace detail

/// A handle on one WebSocket connection; copies refer to the same connection. Sends after the
/// connection closed are dropped.
class websocket {
 public:
  websocket() = default;
  explicit websocket(std::shared_ptr<detail::ws_sink> s) : sink_(std::move(s)) {}

  /// Text goes out as given: the caller sends valid UTF-8 (the layers above repair at their
  /// boundary; a browser drops a connection on one invalid text frame).
  void send_text(std::string_view payload) const { send(payload, false); }
  void send_binary(std::string_view payload) const { send(payload, true); }
  void send(std::string_view payload, bool binary) const {
    if (sink_) sink_->ws_send(payload, binary);
  }
  /// Queues a frame made once by `make_frame` (a broadcast).
  void send(const shared_frame& frame) const {
    if (sink_ && frame) sink_->ws_send(frame);
  }
  /// Starts the close handshake (1000 = normal closure); a reason beyond 123 bytes is cut.
  void close(std::uint16_t code = 1000, std::string_view reason = {}) const {
    if (sink_) sink_->ws_close(code, reason);
  }
  /// Open: the handshake is done and no close has begun.
  bool is_open() const noexcept { return sink_ && sink_->ws_open(); }
  explicit operator bool() const noexcept { return sink_ != nullptr; }

  /// Bytes queued for this connection and not yet taken by the kernel: read it on the
  /// connection's I/O thread (a handler's events), elsewhere it is only a hint. A sender that
  /// bounds its client's backlog below max_output_bytes (drop or close first) reads it.
  std::size_t buffered_amount() const noexcept { return sink_ ? sink_->ws_buffered() : 0; }

  /// Identity, for keeping handles in sets.
  const void* id() const noexcept { return sink_.get(); }

 private:
  template <class Range>
  friend void send_all(const Range& sockets, const shared_frame& frame);
  std::shared_ptr<detail::ws_sink> sink_;
};

/// Queues one shared frame on many connections (a broadcast): recipients on the caller's I/O
/// thread directly, the others with one posted job per I/O thread rather than one per recipient.
template <class Range>
void send_all(const Range& sockets, const shared_frame& frame) {
  if (!frame) return;
  std::vector<std::pair<const void*, std::vector<websocket>>> away;  // per I/O thread
  for (const websocket& ws : sockets) {
    if (!ws.sink_) continue;
    if (ws.sink_->ws_on_home()) {
      ws.sink_->ws_send(frame);
      continue;
    }
    const void* home = ws.sink_->ws_home();
    auto it = away.begin();
    while (it != away.end() && it->first != home) ++it;
    if (it == away.end()) it = away.insert(away.end(), {home, {}});
    it->second.push_back(ws);
  }
  for (auto& group : away) {
    auto first = group.second.front().sink_;
    first->ws_post([list = std::move(group.second), frame] {
      for (auto& ws : list) ws.send(frame);
    });
  }
}

/// The events of one WebSocket connection, on its I/O thread.
class websocket_handler {
 public:
  virtual ~websocket_handler() = default;
  /// The handshake is done; `ws` may be kept to send later.
  virtual void on_open(const websocket& ws) { (void)ws; }
  /// One complete message; `payload` may be moved from.
  virtual void on_message(const websocket& ws, std::string& payload, bool binary) = 0;
  /// Exactly once per opened connection: the close code received (or sent on a protocol
  /// error; 1006 when the TCP connection just ended).
  virtual void on_close(std::uint16_t code, std::string_view reason) {
    (void)code;
    (void)reason;
  }
};

}  // namespace portico::net
