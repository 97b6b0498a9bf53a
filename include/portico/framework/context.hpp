#pragma once
/// What a gateway handler, `on_connected`, `on_disconnected` and a guard see of the current
/// client: `portico::gateway_context` (guards take it as `portico::execution_context`).

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "../json/decode.hpp"
#include "../socketio/server.hpp"
#include "di/connection_scope.hpp"
#include "exceptions.hpp"
#include "worker_pool.hpp"

namespace portico {

/// Answers a client's ack later, from any thread, at most once (`ack(values...)`).
using ack_handle = socketio::ack_sender;

namespace framework::detail {

/// The per-connection DI scopes of one gateway, by sid: opened at CONNECT, closed at
/// disconnect. Looked up only when a handler or guard needs the scope.
class connection_table {
 public:
  connection_scope& open(const std::string& sid) {
    auto s = std::make_unique<connection_scope>();
    auto* p = s.get();
    std::lock_guard<std::mutex> g(mu_);
    scopes_[sid] = std::move(s);
    return *p;
  }
  connection_scope* find(const std::string& sid) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = scopes_.find(sid);
    return it == scopes_.end() ? nullptr : it->second.get();
  }
  /// Destroys the scope's instances (outside the lock: their destructors are user code).
  void close(const std::string& sid) {
    std::unique_ptr<connection_scope> gone;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = scopes_.find(sid);
      if (it == scopes_.end()) return;
      gone = std::move(it->second);
      scopes_.erase(it);
    }
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(mu_);
    return scopes_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<connection_scope>> scopes_;
};

/// What the app shares with every context of one gateway.
struct gateway_runtime {
  socketio::server* server = nullptr;
  connection_table* connections = nullptr;
  worker_pool* pool = nullptr;
};

}  // namespace framework::detail

/// The current client (and message, inside a handler). Valid during the call it was given to;
/// copy what you need (the sid, an `ack_handle`) to use it later.
class gateway_context {
 public:
  gateway_context(const framework::detail::gateway_runtime& rt, socketio::socket& s, socketio::event* e = nullptr,
                  socketio::connect_request* r = nullptr) noexcept
      : rt_(&rt), socket_(&s), event_(e), request_(r) {}

  socketio::server& server() const noexcept { return *rt_->server; }
  socketio::socket& socket() const noexcept { return *socket_; }
  socketio::nsp& get_namespace() const noexcept { return socket_->get_namespace(); }
  const std::string& sid() const noexcept { return socket_->sid(); }
  const std::string& namespace_name() const noexcept { return socket_->namespace_name(); }

  /// The HTTP request that opened the connection: headers, query, remote address.
  const engineio::handshake& handshake() const { return socket_->handshake(); }
  std::string_view header(std::string_view name) const { return handshake().header(name); }
  std::string_view query(std::string_view name) const { return handshake().query_param(name); }
  const std::string& remote_address() const { return handshake().remote_address; }
  /// The CONNECT payload (socket.io-client's `auth`), null when none was sent.
  const json::value& auth() const noexcept { return socket_->auth(); }
  /// Connection state recovery restored this client's socket (same sid, rooms, session, missed
  /// packets replayed): socket.io's `socket.recovered`.
  bool recovered() const noexcept { return socket_->recovered(); }
  /// The CONNECT payload decoded as `T` (a PORTICO_FIELDS struct, a map, `std::optional<...>`
  /// when auth may be absent), validated like a typed event body. A bad payload throws
  /// `ws_exception(1007, "Invalid auth", <error list>)`: in a guard or `on_connected` the client
  /// is refused with `connect_error {message:"Invalid auth", data:{code:1007, reason:[...]}}`;
  /// in a handler it receives the `error` event, as for a bad body.
  template <class T>
  T auth_as() const {
    T out{};
    json::error_list errs;
    if (!json::decode(auth(), out, errs))
      throw ws_exception(ws_code::invalid_payload, "Invalid auth", framework::detail::json_text{json::to_string(errs)});
    return out;
  }

  /// Inside a handler: the event name; empty at connect and disconnect.
  std::string_view event() const noexcept { return event_ ? event_->name() : std::string_view{}; }
  /// Inside a handler: the raw arguments (null elsewhere).
  const socketio::args* args() const noexcept { return event_ ? &event_->args() : nullptr; }
  /// The client asked for an ack that was not sent yet.
  bool wants_ack() const noexcept { return event_ && event_->wants_ack(); }
  /// Takes over the ack to send it later (from any thread); the handler's return value is then
  /// no longer sent as the ack.
  ack_handle take_ack() { return event_ ? event_->take_ack() : ack_handle{}; }
  bool at_connect() const noexcept { return request_ != nullptr; }

  /// The per-connection DI scope of this client.
  connection_scope& scope() const {
    if (!scope_) scope_ = rt_->connections->find(sid());
    if (!scope_) throw std::logic_error("portico: no connection scope for " + sid());
    return *scope_;
  }

  // --- talking to the client and its rooms (thread-safe) ---
  template <class... A>
  void emit(std::string_view name, const A&... a) const {
    socket_->emit(name, a...);
  }
  /// Asks this client for an ack (the order and callback of `socketio::socket::emit_with_ack`):
  /// `cb(ack_status, const socketio::args&)` runs once, on an I/O thread, with the client's answer,
  /// or `timeout`, or `disconnected`. The socket need not be kept alive by the caller: a client
  /// that leaves first gives `disconnected`.
  template <class... A>
  void emit_with_ack(std::string_view name, socketio::ack_callback cb, std::chrono::milliseconds timeout,
                     const A&... a) const {
    socket_->emit_with_ack(name, std::move(cb), timeout, a...);
  }
  /// Everyone in `room` but this client.
  socketio::emitter to(std::string room) const { return socket_->to(std::move(room)); }
  /// Everyone in the namespace but this client.
  socketio::emitter broadcast() const { return socket_->broadcast(); }
  void join(const std::string& room) const { socket_->join(room); }
  void leave(const std::string& room) const { socket_->leave(room); }
  void disconnect() const { socket_->disconnect(); }

  // --- the session: one JSON document per client and namespace ---
  json::document get_session() const { return socket_->get_session(); }
  void save_session(const json::value& v) const { socket_->save_session(v); }
  /// The session decoded as `T`, and replaced by `v` encoded (see socketio::socket::session).
  template <class T>
  T session() const {
    return socket_->session<T>();
  }
  template <class T>
  void save_session(const T& v) const {
    socket_->save_session(v);
  }

  /// At connect (`on_connected`): refuse the client; it receives
  /// `connect_error {message, data:{code, reason}}`.
  template <class Reason>
  void refuse(int code, const Reason& reason) const {
    if (!request_) throw std::logic_error("portico: gateway_context::refuse outside on_connected");
    ws_exception e(code, reason);
    request_->refuse(e.what(), framework::detail::json_text{e.body()});
  }

  /// Runs `f` on the app's worker pool (off the I/O thread). Take what you need by value
  /// (e.g. `ctx.take_ack()`); the context itself is gone when `f` runs.
  template <class F>
  void offload(F&& f) const {
    if (rt_->pool) rt_->pool->post(std::forward<F>(f));
    else f();
  }

 private:
  const framework::detail::gateway_runtime* rt_;
  socketio::socket* socket_;
  socketio::event* event_;
  socketio::connect_request* request_;
  mutable connection_scope* scope_ = nullptr;
};

/// Guards receive the same context: at the handshake (`ctx.at_connect()`, auth and handshake
/// available) and before a handler (`ctx.event()`, `ctx.args()`).
using execution_context = gateway_context;

}  // namespace portico
