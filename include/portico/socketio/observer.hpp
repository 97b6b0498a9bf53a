#pragma once
/// A watcher of one Socket.IO server's sockets, rooms and events (the admin UI's
/// instrumentation, include/portico/admin/). Unset, every hook costs one null pointer check.
///
/// Set it with `server::set_observer` before `start()`; it must stay alive until the server has
/// stopped. Hooks run on the socket's home worker, except room changes and sent events, which
/// run on the thread that made them: an observer is thread-safe and quick.

#include <string>
#include <string_view>

namespace portico::socketio {

class socket;
class nsp;
class packet;
class server;

class observer {
 public:
  virtual ~observer() = default;
  /// `s` was accepted on its namespace (its CONNECT answer is on its way).
  virtual void connected(socket& s) { (void)s; }
  /// `s` is leaving its namespace for `reason` (before its disconnect handlers; its rooms are
  /// still there).
  virtual void disconnecting(socket& s, std::string_view reason) { (void)s, (void)reason; }
  /// Socket `sid` of `n` joined or left `room` (socket::join/leave, nsp::enter_room/leave_room).
  virtual void room_joined(nsp& n, const std::string& sid, const std::string& room) { (void)n, (void)sid, (void)room; }
  virtual void room_left(nsp& n, const std::string& sid, const std::string& room) { (void)n, (void)sid, (void)room; }
  /// An EVENT from the client, before its handler runs (`p.data()` is `[name, ...args]`).
  virtual void event_received(socket& s, const packet& p) { (void)s, (void)p; }
  /// An EVENT emitted to this one socket (`socket::emit`, `emit_with_ack`; not broadcasts):
  /// `packet_text` is the encoded Socket.IO packet.
  virtual void event_sent(socket& s, std::string_view packet_text) { (void)s, (void)packet_text; }
};

namespace detail {
/// The server's observer or null (defined in server.hpp, where the server is complete).
inline observer* observer_of(const server& srv) noexcept;
}  // namespace detail

}  // namespace portico::socketio
