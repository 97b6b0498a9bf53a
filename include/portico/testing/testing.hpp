#pragma once
/// `portico::testing`: integration tests of gateways with a real client, in the spirit of
/// Ellar's `TestGateway.create_test_module(...).run_with_server()`.
///
///     using test_client = portico::testing::test_module<portico::gateways<EventGateway>>;
///     auto ctx = test_client{}.run_with_server();   // 127.0.0.1, ephemeral port, own threads
///     ctx.socket().on("my_response", ...);           // handlers first, then connect
///     ctx.connect();
///     ctx.wait_until([&] { return got == 2; });
///
/// Everything (clients, then the app) is shut down when the context is destroyed, also when a
/// Catch2 assertion throws out of the test, within a bounded time.
#include <asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../client/client.hpp"
#include "../framework/app.hpp"
#include "../http/http.hpp"
#include "../json/encode.hpp"

namespace portico::testing {

/// How the client of a context connects (all optional).
struct connect_options {
  std::string path;       ///< Socket.IO path; empty: the first gateway's path
  std::string nsp;        ///< namespace; empty: the first gateway's namespace
  std::map<std::string, std::string> headers;  ///< handshake headers (every request, with polling)
  std::map<std::string, std::string> query;    ///< handshake query parameters
  /// The client's transports (docs/client.md): {"polling"} tests a polling-only gateway,
  /// {"polling", "websocket"} the upgrade.
  std::vector<std::string> transports{"websocket"};
  std::string auth_json;  ///< the CONNECT payload (socket.io-client's `auth`), JSON text
  std::chrono::milliseconds timeout{5000};     ///< how long connect() waits for the namespace
};

namespace detail {

/// The running app, shared by a context and the contexts made from it.
struct server_state {
  std::shared_ptr<void> app;             ///< the portico::app, type-erased
  std::function<void()> stop;            ///< app.stop(): idempotent
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path;                      ///< the first gateway's path ("/socket.io/")
  std::string nsp;                       ///< the first gateway's namespace ("/")
  ~server_state() {
    if (stop) stop();
  }
};

template <class List>
struct first_gateway;
template <class G, class... Rest>
struct first_gateway<framework::detail::type_list<G, Rest...>> {
  static const gateway_options& options() { return framework::detail::options_of<G>::value; }
};
template <>
struct first_gateway<framework::detail::type_list<>> {
  static const gateway_options& options() {
    static const gateway_options none{};
    return none;
  }
};

/// The app of a test_app: `global_policies<...>` entries of its list appended to the app's
/// global parameter as `app<M>::with_global_...` would (the same type), the rest passed on as
/// overrides.
template <class Root, class Global, class Overrides, class... Rest>
struct app_of;
template <class Root, class Global, class... O>
struct app_of<Root, Global, framework::detail::type_list<O...>> {
  using type = portico::app<Root, Global, O...>;
};
template <class Root, class Global, class... O, class... Q, class... Rest>
struct app_of<Root, Global, framework::detail::type_list<O...>, global_policies<Q...>, Rest...>
    : app_of<Root, typename framework::detail::add_globals<Global, Q...>::type, framework::detail::type_list<O...>,
             Rest...> {};
template <class Root, class Global, class... O, class X, class... Rest>
struct app_of<Root, Global, framework::detail::type_list<O...>, X, Rest...>
    : app_of<Root, Global, framework::detail::type_list<O..., X>, Rest...> {};

}  // namespace detail

namespace detail {

/// What a websocket_session's I/O thread shares with the test thread.
struct ws_session_state {
  client::detail::ws_client ep;
  client::detail::ws_client::connection_ptr con;
  std::thread io;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> received;
  bool opened = false;
  bool ended = false;
  int status = 0;
  int close_code = 0;
  std::string close_reason;
};

}  // namespace detail

/// A small blocking WebSocket client for an app's `ws_route`s (Ellar's `websocket_connect`),
/// made by `run_context::websocket_connect()`. A refused upgrade is not an exception: `status()`
/// holds the answer (403 from a guard, 404 for no route). Received text and binary frames queue
/// up for `receive_text()`. Its destructor closes with 1000 if still open.
class websocket_session {
 public:
  websocket_session(websocket_session&&) noexcept = default;
  websocket_session& operator=(websocket_session&&) = delete;
  ~websocket_session() {
    if (!st_) return;
    if (is_open()) close(1000, {}, std::chrono::milliseconds(1000));
    st_->ep.get_io_service().stop();
    if (st_->io.joinable()) st_->io.join();
  }

  /// True between the 101 and the close.
  bool is_open() const {
    std::lock_guard<std::mutex> g(st_->mu);
    return st_->opened && !st_->ended;
  }
  /// The upgrade's HTTP status: 101, or the refusal's (0 if the server never answered).
  int status() const {
    std::lock_guard<std::mutex> g(st_->mu);
    return st_->status;
  }

  void send_text(std::string s) { send(std::move(s), websocketpp::frame::opcode::text); }
  void send_bytes(std::string s) { send(std::move(s), websocketpp::frame::opcode::binary); }
  /// A typed value as a JSON text frame (what `websocket::send_json` on the server sends).
  template <class T>
  void send_json(const T& v) {
    send_text(portico::json::to_string(v));
  }

  /// The next received frame's payload; throws std::runtime_error when none comes within
  /// `timeout` or the connection has closed with nothing left to read.
  std::string receive_text(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    std::unique_lock<std::mutex> g(st_->mu);
    st_->cv.wait_for(g, timeout, [&] { return !st_->received.empty() || st_->ended; });
    if (st_->received.empty())
      throw std::runtime_error(st_->ended ? "portico::testing::websocket_session: closed (code " +
                                                std::to_string(st_->close_code) + ")"
                                          : std::string("portico::testing::websocket_session: nothing received in time"));
    std::string out = std::move(st_->received.front());
    st_->received.pop_front();
    return out;
  }

  /// Sends a close frame and waits (at most `timeout`) for the connection to end; returns
  /// whether it did.
  bool close(int code = 1000, std::string reason = {}, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    auto* st = st_.get();
    st->ep.get_io_service().post([st, code, reason = std::move(reason)] {
      std::error_code ec;
      st->con->close(static_cast<websocketpp::close::status::value>(code), reason, ec);
    });
    return wait_closed(timeout);
  }
  /// Waits (at most `timeout`) until the connection has ended (either side closed it).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    std::unique_lock<std::mutex> g(st_->mu);
    return st_->cv.wait_for(g, timeout, [&] { return st_->ended; });
  }
  /// The code of the server's close frame (the echo of ours when we closed first); 1006 when
  /// the connection dropped without one or the upgrade failed; 0 while open.
  int close_code() const {
    std::lock_guard<std::mutex> g(st_->mu);
    return st_->close_code;
  }
  std::string close_reason() const {
    std::lock_guard<std::mutex> g(st_->mu);
    return st_->close_reason;
  }

 private:
  friend class run_context;
  friend websocket_session websocket_connect(std::uint16_t, const std::string&, const std::map<std::string, std::string>&,
                                             std::chrono::milliseconds);
  websocket_session(const std::string& uri, const std::map<std::string, std::string>& headers,
                    std::chrono::milliseconds timeout)
      : st_(std::make_unique<detail::ws_session_state>()) {
    auto* st = st_.get();
    using client_t = client::detail::ws_client;
    st->ep.init_asio();
    auto finish = [st](int status, int code, std::string reason) {
      std::lock_guard<std::mutex> g(st->mu);
      if (status) st->status = status;
      st->close_code = code;
      st->close_reason = std::move(reason);
      st->ended = true;
      st->cv.notify_all();
    };
    st->ep.set_open_handler([st](websocketpp::connection_hdl) {
      std::lock_guard<std::mutex> g(st->mu);
      st->status = 101;
      st->opened = true;
      st->cv.notify_all();
    });
    st->ep.set_fail_handler([st, finish](websocketpp::connection_hdl) {
      finish(static_cast<int>(st->con->get_response_code()), 1006, {});
    });
    st->ep.set_close_handler([st, finish](websocketpp::connection_hdl) {
      finish(0, st->con->get_remote_close_code(), st->con->get_remote_close_reason());
    });
    st->ep.set_message_handler([st](websocketpp::connection_hdl, client_t::message_ptr m) {
      std::lock_guard<std::mutex> g(st->mu);
      st->received.push_back(m->get_payload());
      st->cv.notify_all();
    });
    std::error_code ec;
    st->con = st->ep.get_connection(uri, ec);
    if (ec) throw std::runtime_error("portico::testing::websocket_connect: " + ec.message());
    for (auto& [k, v] : headers) st->con->append_header(k, v);
    st->ep.connect(st->con);
    st->io = std::thread([st] {
      asio::error_code run_ec;
      st->ep.get_io_service().run(run_ec);
    });
    std::unique_lock<std::mutex> g(st->mu);
    st->cv.wait_for(g, timeout, [&] { return st->opened || st->ended; });
  }
  void send(std::string s, websocketpp::frame::opcode::value op) {
    auto* st = st_.get();
    st->ep.get_io_service().post([st, s = std::move(s), op] {
      st->con->send(s, op);  // a closed connection refuses quietly: the test sees it on receive
    });
  }

  std::unique_ptr<detail::ws_session_state> st_;
};

class http_client;

/// A WebSocket connection to 127.0.0.1:`port` (any server, e.g. a `portico::app` a test
/// started itself); see `run_context::websocket_connect`.
inline websocket_session websocket_connect(std::uint16_t port, const std::string& target,
                                           const std::map<std::string, std::string>& headers = {},
                                           std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  return websocket_session("ws://127.0.0.1:" + std::to_string(port) + target, headers, timeout);
}

/// One client's view of a running test server. Move-only; the destructor disconnects the client
/// (its `on_disconnect` handler runs, as in Ellar), destroys it, and, for the context returned by
/// `run_with_server()`, stops the server.
class run_context {
 public:
  run_context(run_context&&) noexcept = default;
  run_context& operator=(run_context&&) = delete;
  run_context(const run_context&) = delete;
  ~run_context() {
    close_client();
    if (owner_ && server_) server_->stop();
  }

  /// "http://127.0.0.1:<port>"
  std::string url() const { return "http://" + server_->host + ":" + std::to_string(server_->port); }
  std::uint16_t port() const noexcept { return server_->port; }
  /// The app (for its providers: `ctx.app<App>().container().get<Store&>()`).
  template <class App>
  App& app() const {
    return *static_cast<App*>(server_->app.get());
  }

  /// This context's client, created (not connected) on first use with reconnection off and
  /// `headers`/`path` from `prepare()`. Register handlers, then `connect()`.
  client::client& client() {
    if (!client_) {
      client::options o;
      o.path = effective_path(prepared_);
      o.headers = prepared_.headers;
      o.query = prepared_.query;
      o.transports = prepared_.transports;
      o.reconnection = false;
      o.open_timeout = prepared_.timeout;
      o.close_grace = std::chrono::milliseconds(300);
      client_ = std::make_unique<client::client>(std::move(o));
    }
    return *client_;
  }
  /// The socket of a namespace (default: the first gateway's namespace).
  client::socket& socket(const std::string& nsp = {}) {
    const std::string& n = nsp.empty() ? server_->nsp : nsp;
    client::client& c = client();
    if (std::find(namespaces_.begin(), namespaces_.end(), n) == namespaces_.end()) namespaces_.push_back(n);
    return c.socket(n);
  }

  /// Sets the handshake options (path, headers, query) before `client()` is first used; after
  /// that they are fixed (the client owns them) and a different value throws std::logic_error.
  run_context& prepare(connect_options o) {
    if (client_ && (effective_path(o) != effective_path(prepared_) || o.headers != prepared_.headers ||
                    o.query != prepared_.query || o.transports != prepared_.transports))
      throw std::logic_error("portico::testing: set path/headers/query/transports before ctx.client() or ctx.socket()");
    prepared_ = std::move(o);
    return *this;
  }

  /// Connects the client and waits (at most `o.timeout`) until namespace `o.nsp` is joined.
  /// Returns false if it was not (refused: see the socket's `on_connect_error`; or timed out).
  bool connect(connect_options o = {}) {
    prepare(o);
    client::socket& s = socket(o.nsp);
    if (!o.auth_json.empty()) s.set_auth_json(o.auth_json);
    client().connect(url());
    return wait_until([&s] { return s.connected(); }, o.timeout);
  }
  /// Ellar's `ctx.connect(socketio_path=...)` with positional arguments.
  bool connect(std::string path, std::string nsp = {}, std::map<std::string, std::string> headers = {},
               std::string auth_json = {}) {
    connect_options o;
    o.path = std::move(path);
    o.nsp = std::move(nsp);
    o.headers = std::move(headers);
    o.auth_json = std::move(auth_json);
    return connect(std::move(o));
  }

  /// A second client on the same server (Ellar's `new_socket_client_context()`); it does not stop
  /// the server when it ends, and keeps it alive while it lives.
  run_context new_client_context() const { return run_context(server_, false); }

  /// A WebSocket connection to a `ws_route` of the app (`target` is a path with an optional
  /// query), waiting at most `timeout` for the upgrade's answer; see `websocket_session`.
  websocket_session websocket_connect(const std::string& target, const std::map<std::string, std::string>& headers = {},
                                      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) const {
    return websocket_session("ws://" + server_->host + ":" + std::to_string(server_->port) + target, headers, timeout);
  }

  /// A blocking HTTP client for the app's routes (controllers, `test_app::routes`).
  http_client http() const;

  /// Lets the server and clients work for `d` (Ellar's `ctx.wait()`).
  void wait(std::chrono::milliseconds d = std::chrono::milliseconds(300)) const { std::this_thread::sleep_for(d); }
  /// Polls `done` every 2 ms until it holds or `timeout` passes; returns its last value. `done`
  /// runs on the test thread: what it reads must be atomic or locked (handlers run elsewhere).
  template <class P>
  bool wait_until(P&& done, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end) return static_cast<bool>(done());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  /// Disconnects and destroys this context's client now (the destructor does it otherwise).
  /// Waits (at most 1 s) until the client's thread has finished the disconnect, so its
  /// `on_disconnect` handlers have run: a destroyed client runs no callback any more.
  void close_client() {
    if (!client_) return;
    client_->disconnect();
    // A fence: this ack times out on the client's thread after the disconnect task has run
    // (tasks run in order there). Its packet is only buffered: nothing is sent.
    auto fenced = std::make_shared<std::atomic<bool>>(false);
    client_->socket(namespaces_.empty() ? server_->nsp : namespaces_.front())
        .emit_with_ack("portico-testing-fence", [fenced](client::ack_result&) { fenced->store(true); }, std::chrono::milliseconds(1));
    wait_until([&] { return fenced->load(); }, std::chrono::milliseconds(1000));
    client_.reset();
  }

 private:
  template <class Root, class... Overrides>
  friend class test_app;
  run_context(std::shared_ptr<detail::server_state> s, bool owner) : server_(std::move(s)), owner_(owner) {}

  std::string effective_path(const connect_options& o) const {
    return o.path.empty() ? server_->path : framework::detail::normalize_path(o.path);
  }

  std::shared_ptr<detail::server_state> server_;
  bool owner_ = false;
  connect_options prepared_;
  std::vector<std::string> namespaces_;     ///< every namespace socket() handed out
  std::unique_ptr<client::client> client_;  ///< last member: destroyed first
};

/// A module (with provider overrides) that can be started for a test, as many times as needed.
/// `Root` is any module; `test_module<Parts...>` builds one from gateways/controllers/providers/
/// imports. A module with controllers only works too (see portico::app).
template <class Root, class... Overrides>
class test_app {
 public:
  using app_type =
      typename detail::app_of<Root, guards<>, framework::detail::type_list<>, Overrides...>::type;
  /// The same test app with fakes: `test_app<M>::with_overrides<override<Auth, FakeAuth>>`.
  template <class... More>
  using with_overrides = test_app<Root, Overrides..., More...>;
  /// The same test app with app-wide policies, as `portico::app<M>::with_global_guards<...>`
  /// (and `_filters`, `_interceptors`) declare them.
  template <class... G>
  using with_global_guards = test_app<Root, Overrides..., global_policies<guards<G...>>>;
  template <class... F>
  using with_global_filters = test_app<Root, Overrides..., global_policies<filters<F...>>>;
  template <class... I>
  using with_global_interceptors = test_app<Root, Overrides..., global_policies<interceptors<I...>>>;

  /// `values...` fill `portico::value<T>` providers (config), copied into every started app.
  template <class... V, class = std::enable_if_t<!(sizeof...(V) == 1 && (std::is_same_v<std::decay_t<V>, test_app> && ...))>>
  explicit test_app(V... values)
      : make_([vals = std::make_tuple(std::move(values)...)](const app_options& o) {
          return std::apply([&o](const auto&... v) { return std::make_shared<app_type>(o, v...); }, vals);
        }) {
    opts_.io_threads = 1;
    opts_.worker_threads = 1;
    opts_.debug = true;  // a test wants the real message of a 1011 error
  }

  app_options& options() noexcept { return opts_; }
  /// Hand-written HTTP routes and `ws_route`s added to the app's router (beside its
  /// controllers' routes), served on the app's port (reach ws routes with
  /// `run_context::websocket_connect`).
  test_app& routes(std::function<void(http::router&)> add) {
    routes_ = std::move(add);
    return *this;
  }

  /// Builds the app, listens on 127.0.0.1 with an ephemeral port, starts its threads.
  run_context run_with_server() const {
    auto st = std::make_shared<detail::server_state>();
    auto a = make_(opts_);
    if (routes_) routes_(a->router());
    app_type* raw = a.get();
    st->app = a;
    st->stop = [raw] { raw->stop(); };
    raw->listen(st->host, 0);
    st->port = raw->port();
    const gateway_options& g = detail::first_gateway<typename app_type::container_type::gateways>::options();
    st->path = framework::detail::normalize_path(g.path);
    st->nsp = g.normalized_namespace();
    return run_context(std::move(st), true);
  }

 private:
  app_options opts_;
  std::function<std::shared_ptr<app_type>(const app_options&)> make_;
  std::function<void(http::router&)> routes_;
};

/// A test app over an ad-hoc module: `test_module<gateways<EventGateway>, providers<Store>>`,
/// `test_module<controllers<CarController>, providers<Pages>>`.
template <class... Parts>
using test_module = test_app<portico::module<Parts...>>;

/// A plain HTTP exchange's result: `status`, `headers` (lower-cased names), `body` (de-chunked);
/// `header("content-type")`.
using http_response = portico::detail::http_response;

/// A minimal blocking HTTP/1.1 client for a test server's routes (one connection per request,
/// `Connection: close`, bounded by `timeout`; throws std::runtime_error on timeout or I/O error).
class http_client {
 public:
  explicit http_client(std::uint16_t port, std::string host = "127.0.0.1") : host_(std::move(host)), port_(port) {}
  explicit http_client(const run_context& ctx) : http_client(ctx.port()) {}

  http_response get(const std::string& target, std::map<std::string, std::string> headers = {},
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const {
    return request("GET", target, std::move(headers), {}, timeout);
  }
  http_response post(const std::string& target, std::string body, std::map<std::string, std::string> headers = {},
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const {
    if (headers.find("Content-Type") == headers.end()) headers["Content-Type"] = "application/json";
    return request("POST", target, std::move(headers), std::move(body), timeout);
  }

  http_response request(const std::string& method, const std::string& target, std::map<std::string, std::string> headers,
                        std::string body, std::chrono::milliseconds timeout) const {
    // The C++ client's exchange (Connection: close, read to the end) on a private io_context.
    asio::io_context io;
    http_response result;
    bool done = false;
    auto exchange = std::make_shared<portico::client::detail::http_exchange>(io);
    exchange->start(host_, std::to_string(port_), method, target, headers, std::move(body), timeout,
                    [&](http_response& r) { result = std::move(r), done = true; });
    io.run();
    if (!done) throw std::runtime_error("portico::testing::http_client: no answer to " + method + " " + target);
    if (result.status == 0) {
      throw std::runtime_error("portico::testing::http_client: " + method + " " + target + ": " + result.error);
    }
    return result;
  }

 private:
  std::string host_;
  std::uint16_t port_;
};

inline http_client run_context::http() const { return http_client(*this); }

}  // namespace portico::testing
