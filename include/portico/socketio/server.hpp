#pragma once
/// The Socket.IO v5 server on top of `portico::engineio::server`.
///
///     portico::socketio::server io;
///     io.on_connect([](socketio::socket& s, socketio::connect_request& r) {
///       if (r.auth().IsNull()) r.refuse("no auth", 42);
///     });
///     io.on("chat", [](socketio::socket& s, const socketio::args& a) {
///       s.to("lobby").emit("chat", a.at(0));
///       return true;                                  // becomes the ACK
///     });
///     io.listen("127.0.0.1", 3000);
///     io.run();
///
/// Per message: the Engine.IO message is decoded in place (one in-situ JSON parse), the event
/// name is looked up once, the handler runs on the connection's home worker. No global lock:
/// per-connection state lives on the home worker; rooms are guarded per namespace.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/random.hpp"
#include "../detail/user_code.hpp"
#include "../engineio/server.hpp"
#include "../log.hpp"
#include "adapter.hpp"
#include "args.hpp"
#include "binary.hpp"
#include "codec.hpp"
#include "detail/timers.hpp"
#include "namespace.hpp"
#include "metrics.hpp"
#include "observer.hpp"
#include "recovery.hpp"
#include "socket.hpp"

namespace portico::socketio {

struct server_options {
  /// Transport settings; `engine.path` defaults to "/socket.io/" here.
  engineio::server_options engine = default_engine();
  /// Sessions that connect to no namespace within this time are closed.
  std::chrono::milliseconds connect_timeout{45000};
  /// Most binary attachments one packet may announce (socket.io-parser's default); more closes
  /// the connection.
  std::size_t max_attachments = default_max_attachments;
  /// Most bytes of one packet, text and attachments together, counted as they arrive; more
  /// closes the connection. 0: `engine.max_payload`, so a packet costs no more than a message.
  std::size_t max_packet_bytes = 0;
  /// Builds the adapter of each namespace; default: `memory_adapter`.
  std::function<std::unique_ptr<adapter>(const std::string& nsp, adapter::deliver_fn)> adapter_factory;
  /// Serve socket.io-client 2.x and other Engine.IO v3 / Socket.IO protocol v4 clients, as Node's
  /// `allowEIO3` does (sets `engine.allow_eio3`; every Engine.IO v3 session speaks protocol v4).
  /// Off by default. What differs for those clients: docs/socketio.md, "Legacy clients".
  bool allow_eio3 = false;
  /// Connection state recovery (socket.io 4.6+), off by default: docs/socketio.md,
  /// "Connection state recovery".
  recovery_options connection_state_recovery;
  /// Builds the session store of each namespace when recovery is on; default: `memory_session_store`.
  std::function<std::unique_ptr<session_store>(const std::string& nsp, const recovery_options&)> session_store_factory;

  static engineio::server_options default_engine() {
    engineio::server_options o;
    o.path = "/socket.io/";
    return o;
  }
};

namespace detail {

/// Per Engine.IO connection state, hung on `engineio::socket::user`; touched only on the
/// connection's home worker.
struct client {
  std::weak_ptr<engineio::socket> engine;
  decoder dec;
  std::vector<socket_ptr> sockets;  ///< one per connected namespace (few: linear search)
  std::vector<socket_ptr> paused;   ///< CONNECTs waiting on a connect_deferral
  timers::id connect_timer = 0;
  bool ever_connected = false;
  bool v4 = false;  ///< an Engine.IO v3 session: Socket.IO protocol v4
  client(std::size_t max_attachments, std::size_t max_packet_bytes) : dec(max_attachments, max_packet_bytes) {}
  socket_ptr find(std::string_view nsp) const {
    for (const auto& s : sockets)
      if (s->namespace_name() == nsp) return s;
    return nullptr;
  }
  bool connecting(std::string_view nsp) const {
    for (const auto& s : paused)
      if (s->namespace_name() == nsp) return true;
    return false;
  }
  /// Removes `s` from the paused CONNECTs; false when it is not there (the connection closed).
  bool take_paused(const socket* s) {
    for (auto it = paused.begin(); it != paused.end(); ++it)
      if (it->get() == s) {
        paused.erase(it);
        return true;
      }
    return false;
  }
  void erase(const socket* s) {
    for (auto it = sockets.begin(); it != sockets.end(); ++it)
      if (it->get() == s) {
        sockets.erase(it);
        return;
      }
  }
};

/// The reason a namespace's disconnect handlers see, as Node's socket.io 4.8 names it:
/// closing one connection (socket::close_connection(), a malformed packet) is "forced close",
/// server::stop() is "server shutting down".
inline const char* reason_text(engineio::close_reason r) noexcept {
  switch (r) {
    case engineio::close_reason::transport_close: return "transport close";
    case engineio::close_reason::transport_error: return "transport error";
    case engineio::close_reason::ping_timeout: return "ping timeout";
    case engineio::close_reason::parse_error: return "parse error";
    case engineio::close_reason::server_close: return "forced close";
    case engineio::close_reason::client_close: return "transport close";
    case engineio::close_reason::payload_too_large: return "transport error";
    case engineio::close_reason::forced: return "server shutting down";
  }
  return "transport close";
}

}  // namespace detail

class server {
 public:
  explicit server(server_options o = {});
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  // --- namespaces ---
  /// The static namespace `name` (created on first use). "/" is always there.
  nsp& of(const std::string& name);
  /// A dynamic namespace family: any name `accept` returns true for is created on demand and
  /// shares the returned namespace's handlers (register them on it).
  nsp& of(std::function<bool(std::string_view)> accept);
  /// A dynamic namespace family by pattern: `of(std::regex("^/room-\\d+$"))` (include <regex>).
  /// A template, so that the TUs that never pass a regex do not compile <regex>.
  template <class Regex, std::enable_if_t<!std::is_convertible_v<const Regex&, std::string> &&
                                              !std::is_invocable_v<const Regex&, std::string_view>,
                                          int> = 0>
  nsp& of(const Regex& re) {
    // Unqualified: std::regex_match is found through the regex's namespace (ADL).
    return of([re](std::string_view n) { return regex_match(n.begin(), n.end(), re); });
  }
  /// Catch-all (python-socketio's `namespaces='*'`): every namespace not matched otherwise.
  nsp& of_any() {
    return of([](std::string_view) { return true; });
  }
  /// The namespace `name` if it exists now (static or already created dynamically).
  nsp* find(std::string_view name);

  // --- shortcuts on "/" ---
  template <class F>
  server& use(F f) {
    of("/").use(std::move(f));
    return *this;
  }
  template <class F>
  server& on_connect(F f) {
    of("/").on_connect(std::move(f));
    return *this;
  }
  server& on_disconnect(disconnect_handler f) {
    of("/").on_disconnect(std::move(f));
    return *this;
  }
  server& on_disconnecting(disconnect_handler f) {
    of("/").on_disconnecting(std::move(f));
    return *this;
  }
  template <class F>
  server& on(std::string name, F f) {
    of("/").on(std::move(name), std::move(f));
    return *this;
  }
  template <class F>
  server& on_any(F f) {
    of("/").on_any(std::move(f));
    return *this;
  }
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    of("/").emit(name, a...);
  }
  /// Every socket of "/", with an ack: see `emitter::emit_with_ack`.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
    of("/").emit_with_ack(name, std::move(cb), timeout, a...);
  }
  emitter to(std::string room) { return of("/").to(std::move(room)); }
  emitter except(std::string room) { return of("/").except(std::move(room)); }

  // --- sockets by sid (any thread) ---
  socket_ptr get_socket(const std::string& sid, const std::string& nsp_name = "/");
  /// Server-initiated disconnect of one socket from its namespace.
  bool disconnect(const std::string& sid, const std::string& nsp_name = "/");
  json::document get_session(const std::string& sid, const std::string& nsp_name = "/");
  bool save_session(const std::string& sid, const json::value& v, const std::string& nsp_name = "/");

  // --- lifecycle ---
  void listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  void start();
  void run();
  /// Stops accepting, closes every session (disconnect handlers run with "server shutting
  /// down", pending acks fail with `disconnected`), joins the threads. Idempotent.
  void stop();

  /// Watches sockets, rooms and events (see observer.hpp); null (the default) to stop. Set
  /// before start(); `o` outlives the server's run.
  void set_observer(observer* o) noexcept { observer_ = o; }
  /// Calls `f(nsp&)` for each namespace that exists now (under the namespace table's lock).
  template <class F>
  void for_each_namespace(F&& f) {
    std::lock_guard<std::mutex> g(nsp_mu_);
    for (auto& kv : nsps_) f(*kv.second);
  }

  /// The server's numbers now (docs/metrics.md). Counters stay 0 unless
  /// `server_options::engine.metrics` is on; gauges are counted from the tables on each call
  /// (locks each namespace's tables briefly: for scrapes, not per message).
  metrics_snapshot metrics() {
    metrics_snapshot m;
    if (auto* reg = engine_.counters()) {
      m.enabled = true;
      m.take_counters(reg->sums());
    }
    auto [polling, ws] = engine_.sessions_by_transport();
    m.connections_polling = polling;
    m.connections_websocket = ws;
    std::vector<nsp*> all;
    for_each_namespace([&](nsp& n) { all.push_back(&n); });
    for (nsp* n : all) {
      metrics_snapshot::namespace_stats st;
      st.name = n->namespace_name();
      std::vector<socket_ptr> sockets;
      {
        std::lock_guard<std::mutex> g(n->mu_);
        sockets.reserve(n->sockets_.size());
        for (auto& kv : n->sockets_) sockets.push_back(kv.second);
      }
      st.sockets = sockets.size();
      for (auto& s : sockets) {
        std::lock_guard<std::mutex> g(s->mu_);
        m.acks_pending += s->acks_.size();
      }
      st.rooms = n->adapter_->local_rooms().size();
      if (!m.has_cluster && n->namespace_name() == "/") m.has_cluster = n->adapter_->cluster_counts(m.cluster);
      m.namespaces.push_back(std::move(st));
    }
    std::sort(m.namespaces.begin(), m.namespaces.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return m;
  }
  /// `metrics()` in the Prometheus text format (render_prometheus).
  std::string metrics_text(std::string_view prefix = "portico") { return render_prometheus(metrics(), prefix); }

  engineio::server& engine() noexcept { return engine_; }
  portico::logger& log() noexcept { return log_; }
  const server_options& options() const noexcept { return opts_; }

 private:
  friend class socket;
  friend class detail::broadcast_acks;
  friend observer* detail::observer_of(const server&) noexcept;
  struct parent {
    std::function<bool(std::string_view)> accept;
    std::shared_ptr<detail::handlers> handlers;
    std::unique_ptr<nsp> proto;
  };

  /// `allow_eio3` on either level turns on both.
  static server_options with_eio3(server_options o) {
    o.allow_eio3 = o.engine.allow_eio3 = o.allow_eio3 || o.engine.allow_eio3;
    return o;
  }

  std::unique_ptr<nsp> make_nsp(const std::string& name, std::shared_ptr<detail::handlers> h);

  nsp& static_nsp_locked(const std::string& name);

  /// The namespace a CONNECT names: static, else created for a matching dynamic parent.
  nsp* resolve_nsp(std::string_view name);

  static detail::client* client_of(const engineio::socket_ptr& e) {
    return static_cast<detail::client*>(e->user.get());
  }

  void on_open(const engineio::socket_ptr& e);

  void on_close(const engineio::socket_ptr& e, engineio::close_reason r);

  void on_message(const engineio::socket_ptr& e, engineio::message&& m);

  /// Like the reference server, a packet that does not fit the connection's state (anything but
  /// CONNECT for a namespace it is not in, a second CONNECT, a CONNECT_ERROR) closes the connection.
  void dispatch(const engineio::socket_ptr& e, detail::client& c, packet& p);

  void invalid_state(const engineio::socket_ptr& e, const packet& p);

  /// Protocol v4 has no CONNECT payload: the query is the auth, an object of strings (the last
  /// of repeated names wins). For "/" it is the handshake's, without Engine.IO's own parameters.
  static void set_auth_from_query(socket& s, const std::vector<std::pair<std::string, std::string>>& query,
                                  bool handshake);

  /// Protocol v4's CONNECT_ERROR: the message alone, as a JSON string (`44/chat,"message"`).
  static engineio::frame_ptr v4_connect_error(std::string_view nsp, std::string_view message);

  /// `set_auth(socket&)` fills the new socket's auth from what the CONNECT carried.
  template <class SetAuth>
  void handle_connect(const engineio::socket_ptr& e, detail::client& c, std::string_view name, SetAuth&& set_auth);
  /// The connect handlers of `s` from the `first`, then the answer; stops at a deferral (its
  /// answer comes back through `resume_connect` on this connection's home worker).
  void run_connect_chain(const engineio::socket_ptr& e, detail::client& c, const socket_ptr& s, std::size_t first,
                         connect_request& req);
  /// A socket whose CONNECT was refused, or whose connection went away before the answer.
  void abandon_connect(socket& s);
  /// A deferral's answer, on the connection's home worker.
  void resume_connect(const std::shared_ptr<detail::paused_connect>& p);
  friend struct detail::paused_connect;

  /// Recovery on: the session the CONNECT payload's `{pid, offset}` names, taken over by `s`
  /// (its sid); otherwise `s` gets a fresh pid.
  std::optional<recovery_session> recover(nsp& n, socket& s);

  void handle_event(socket& s, packet& p);

  /// User code must not take an I/O thread down: an exception is logged and reported as false.
  template <class F>
  bool guarded(const char* what, std::string_view name, F&& f) {
    bool ok = portico::detail::run_user_code(
        log_, [&] { return std::string(what) + " '" + std::string(name) + "'"; }, std::forward<F>(f));
    if (!ok) engine_.count(metrics_slots::handler_exceptions);
    return ok;
  }

  /// Common end of a namespace connection: `disconnecting` (rooms still visible), leave rooms,
  /// fail pending acks, `disconnect`.
  void finish_disconnect(socket& s, std::string_view reason, bool notify_client, bool recoverable = false);

  server_options opts_;
  engineio::server engine_;
  portico::logger log_;
  detail::timers timers_;
  std::mutex nsp_mu_;  ///< the namespace table (CONNECT only, never per message)
  std::unordered_map<std::string, std::unique_ptr<nsp>> nsps_;
  std::vector<parent> parents_;
  nsp* root_ = nullptr;  ///< "/", created first, never removed
  observer* observer_ = nullptr;
};

inline observer* detail::observer_of(const server& srv) noexcept { return srv.observer_; }

}  // namespace portico::socketio

// The out-of-line members (compiled here header-only; by <portico/impl/src.hpp> otherwise).
#include "impl/server.ipp"
