#pragma once
/// `portico::namespace_handle<Gateway>`: the namespace of a gateway, for code that has no socket
/// in hand (a service, a timer, a queue consumer). Declare it as a provider beside the gateway
/// (`providers<namespace_handle<ChatGateway>, Notifier>`) and inject it like any singleton.
///
/// The app binds it when it builds the gateway's server (its constructor), before `listen`; an
/// emit then reaches no one until clients connect. Used before that (in a provider's
/// constructor, or with no app) it throws std::logic_error; after the app is destroyed it does
/// nothing.

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "../socketio/server.hpp"

namespace portico {

template <class Gateway>
class namespace_handle {
 public:
  namespace_handle() = default;
  namespace_handle(const namespace_handle&) = delete;
  namespace_handle& operator=(const namespace_handle&) = delete;

  /// True once the app has built the gateway's namespace (and until it is destroyed).
  bool ready() const noexcept { return nsp_.load(std::memory_order_acquire) != nullptr; }
  /// The namespace; std::logic_error when not ready.
  socketio::nsp& get() const {
    auto* n = nsp_.load(std::memory_order_acquire);
    if (!n) throw std::logic_error("portico::namespace_handle used before the app built the gateway's namespace");
    return *n;
  }
  const std::string& namespace_name() const { return get().namespace_name(); }
  [[deprecated("use namespace_name()")]] const std::string& name() const { return namespace_name(); }

  /// Every client of the namespace.
  template <class... A>
  void emit(std::string_view event, const A&... a) const {
    if (auto* n = bound()) n->emit(event, a...);
  }
  /// Every client of the namespace, each asked for an ack (`nsp::emit_with_ack`).
  template <class... A>
  void emit_with_ack(std::string_view event, socketio::ack_callback cb, std::chrono::milliseconds timeout,
                     const A&... a) const {
    if (auto* n = bound()) n->emit_with_ack(event, std::move(cb), timeout, a...);
  }
  /// The clients in `room` (chain `.to`, `.except`, then `.emit`).
  socketio::emitter to(std::string room) const { return get().to(std::move(room)); }
  /// The same as `to`: `in(room).sockets_join(...)`, `in(room).disconnect_sockets()` read like Node's.
  socketio::emitter in(std::string room) const { return get().to(std::move(room)); }
  socketio::emitter except(std::string room_or_sid) const { return get().except(std::move(room_or_sid)); }

  // --- the other servers of a cluster (no-ops, or immediate answers, with one server) ---
  /// `event` to every other server's `on_server_event` listeners (`nsp::server_side_emit`).
  template <class... A>
  void server_side_emit(std::string_view event, const A&... a) const {
    if (auto* n = bound()) n->server_side_emit(event, a...);
  }
  /// Like `server_side_emit`; `cb(complete, answers)` once every other server answered or the
  /// adapter's timeout passed (`nsp::server_side_emit_with_ack`).
  template <class... A>
  void server_side_emit_with_ack(std::string_view event, socketio::adapter::server_ack_fn cb, const A&... a) const {
    if (auto* n = bound()) n->server_side_emit_with_ack(event, std::move(cb), a...);
  }
  /// Every socket of the namespace on every server: `done(complete, sockets)` (`nsp::fetch_sockets`).
  void fetch_sockets(socketio::adapter::fetch_fn done) const {
    if (auto* n = bound()) n->fetch_sockets(std::move(done));
  }
  /// Every socket of the namespace, on every server, joins `rooms` (`nsp::sockets_join`; one room:
  /// `in(room).sockets_join(rooms)`).
  void sockets_join(const std::vector<std::string>& rooms) const {
    if (auto* n = bound()) n->sockets_join(socketio::broadcast_options{}, rooms);
  }
  /// Every socket of the namespace, on every server, leaves `rooms` (`nsp::sockets_leave`).
  void sockets_leave(const std::vector<std::string>& rooms) const {
    if (auto* n = bound()) n->sockets_leave(socketio::broadcast_options{}, rooms);
  }
  /// Every socket of the namespace on every server is disconnected (`close`: its connection
  /// closed), `nsp::disconnect_sockets`.
  void disconnect_sockets(bool close = false) const {
    if (auto* n = bound()) n->disconnect_sockets(close);
  }
  /// The rooms of the namespace on every server: `done(complete, rooms)` (`nsp::all_rooms`).
  void all_rooms(socketio::adapter::rooms_fn done) const {
    if (auto* n = bound()) n->all_rooms(std::move(done));
  }

 private:
  template <class, class, class...>
  friend class app;
  /// Throws before binding; null (a no-op) after the app released it.
  socketio::nsp* bound() const {
    auto* n = nsp_.load(std::memory_order_acquire);
    if (!n && !released_.load(std::memory_order_acquire))
      throw std::logic_error("portico::namespace_handle used before the app built the gateway's namespace");
    return n;
  }
  void bind(socketio::nsp* n) noexcept { nsp_.store(n, std::memory_order_release); }
  void release() noexcept {
    released_.store(true, std::memory_order_release);
    nsp_.store(nullptr, std::memory_order_release);
  }

  std::atomic<socketio::nsp*> nsp_{nullptr};
  std::atomic<bool> released_{false};
};

}  // namespace portico
