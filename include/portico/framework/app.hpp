#pragma once
/// `portico::app<Module>`: the container, one Socket.IO server per gateway path, the gateways
/// installed as namespaces of those servers, and the controllers' routes on one HTTP router,
/// all served by one net::host on one port (HTTP/1.1 keep-alive).
///
///     int main() { portico::app<AppModule> app; app.listen("127.0.0.1", 8000); app.run(); }

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/user_code.hpp"
#include "../http/http.hpp"
#include "../net/host.hpp"
#include "../log.hpp"
#include "../socketio/server.hpp"
#include "context.hpp"
#include "controller.hpp"
#include "detail/bare_engine.hpp"
#include "di/container.hpp"
#include "disconnect_reason.hpp"
#include "gateway.hpp"
#include "global_policies.hpp"
#include "guards.hpp"
#include "namespace_handle.hpp"
#include "registry.hpp"
#include "worker_pool.hpp"

namespace portico {

struct app_options {
  unsigned io_threads = 0;      ///< Engine.IO I/O threads per server; 0: hardware_concurrency
  unsigned worker_threads = 2;  ///< threads of the pool behind gateway_context::offload
  bool debug = false;           ///< 1011 errors carry the exception's message instead of "Something went wrong"
  std::chrono::milliseconds connect_timeout{45000};
  /// Also serve socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) on every path, as
  /// Node's `allowEIO3`; off by default. Guards see such a client's query as its auth
  /// (docs/socketio.md, "Legacy clients").
  bool allow_eio3 = false;
  /// The starting point of every path's Socket.IO server: limits (`server.engine.max_payload`,
  /// `max_buffered_bytes`, `stop_grace`, `allow_eio3`, ...), `max_attachments`,
  /// `max_packet_bytes`, `adapter_factory` (another adapter, see
  /// docs/scaling.md), `connection_state_recovery` (docs/socketio.md). The app then sets the path, threads, connect_timeout, and what the
  /// gateways declare (transports, CORS origins, ping).
  socketio::server_options server;
  /// The official Socket.IO admin UI on the first path's server: `portico::admin_ui::install(
  /// admin_ui_options{...})` from <portico/admin/admin_ui.hpp> (link -lcrypt). Empty: none.
  std::function<std::shared_ptr<void>(socketio::server&, http::router&)> admin_ui;
  /// Count per I/O worker and serve `GET metrics_path` in the Prometheus text format: the first
  /// gateway path's server (docs/metrics.md; `app.server(path).metrics()` for the others, and
  /// for exporting elsewhere). Off: nothing is counted, no route.
  bool metrics = false;
  std::string metrics_path = "/metrics";
};

namespace framework::detail {

/// Everything the handlers of one gateway need at run time.
template <class Container, class G, class Global>
struct gateway_binding : gateway_runtime {
  using container_type = Container;
  using gateway_type = G;
  using module = typename Container::template module_of_t<G>;
  using global_policies = globals_of_t<Global>;  ///< the app's guards, filters, interceptors
  using global_guards = typename global_policies::guards_type;

  Container* container = nullptr;
  G* gateway = nullptr;
  connection_table table;
  gateway_options options;
  portico::logger* log = nullptr;
  bool debug = false;
};

template <class G, class = void>
struct has_on_connected_ctx : std::false_type {};
template <class G>
struct has_on_connected_ctx<G, std::void_t<decltype(std::declval<G&>().on_connected(std::declval<gateway_context&>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_on_connected_plain : std::false_type {};
template <class G>
struct has_on_connected_plain<G, std::void_t<decltype(std::declval<G&>().on_connected())>> : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_ctx : std::false_type {};
template <class G>
struct has_on_disconnected_ctx<G, std::void_t<decltype(std::declval<G&>().on_disconnected(std::declval<gateway_context&>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_plain : std::false_type {};
template <class G>
struct has_on_disconnected_plain<G, std::void_t<decltype(std::declval<G&>().on_disconnected())>> : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_ctx_reason : std::false_type {};
template <class G>
struct has_on_disconnected_ctx_reason<G, std::void_t<decltype(std::declval<G&>().on_disconnected(
                                             std::declval<gateway_context&>(), std::declval<disconnect_reason>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_reason : std::false_type {};
template <class G>
struct has_on_disconnected_reason<G, std::void_t<decltype(std::declval<G&>().on_disconnected(std::declval<disconnect_reason>()))>>
    : std::true_type {};

template <class G, class = void>
struct has_after_init_nsp : std::false_type {};
template <class G>
struct has_after_init_nsp<G, std::void_t<decltype(std::declval<G&>().after_init(std::declval<socketio::nsp&>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_after_init_plain : std::false_type {};
template <class G>
struct has_after_init_plain<G, std::void_t<decltype(std::declval<G&>().after_init())>> : std::true_type {};

/// NestJS's `afterInit`: the gateway's namespace exists, the server does not listen yet.
template <class G>
void call_after_init(G& g, socketio::nsp& n) {
  if constexpr (has_after_init_nsp<G>::value) g.after_init(n);
  else if constexpr (has_after_init_plain<G>::value) g.after_init();
  else static_cast<void>(g), static_cast<void>(n);
}

/// Calls `on_connected`; a `false` return refuses the client.
template <class G>
void call_on_connected(G& g, gateway_context& ctx) {
  if constexpr (has_on_connected_ctx<G>::value) {
    using R = decltype(g.on_connected(ctx));
    if constexpr (std::is_same_v<R, bool>) {
      if (!g.on_connected(ctx)) ctx.refuse(ws_code::policy_violation, "Connection refused");
    } else {
      g.on_connected(ctx);
    }
  } else if constexpr (has_on_connected_plain<G>::value) {
    using R = decltype(g.on_connected());
    if constexpr (std::is_same_v<R, bool>) {
      if (!g.on_connected()) ctx.refuse(ws_code::policy_violation, "Connection refused");
    } else {
      g.on_connected();
    }
  } else {
    static_cast<void>(g), static_cast<void>(ctx);
  }
}

/// Calls `on_disconnected` in the first form the gateway declares: (ctx, reason), (ctx),
/// (reason), (). The reason is optional: a `disconnect_reason` or a `std::string_view`.
template <class G>
void call_on_disconnected(G& g, gateway_context& ctx, disconnect_reason reason) {
  if constexpr (has_on_disconnected_ctx_reason<G>::value) g.on_disconnected(ctx, reason);
  else if constexpr (has_on_disconnected_ctx<G>::value) g.on_disconnected(ctx);
  else if constexpr (has_on_disconnected_reason<G>::value) g.on_disconnected(reason);
  else if constexpr (has_on_disconnected_plain<G>::value) g.on_disconnected();
  else static_cast<void>(g), static_cast<void>(ctx), static_cast<void>(reason);
}

/// CONNECT of a client to the gateway's namespace: open its scope, run the global and class
/// guards, then `on_connected`. Any refusal is a connect_error `{message, data:{code, reason}}`
/// (or as the class's and app's filters that serve CONNECT word it) and the client never
/// reaches a handler of this gateway (the socketio server does not add a
/// refused socket to the namespace).
template <class B>
void gateway_connect(B& b, socketio::socket& s, socketio::connect_request& r) {
  using G = typename B::gateway_type;
  connection_scope& scope = b.table.open(s.sid());
  gateway_context ctx(b, s, nullptr, &r);
  try {
    using handshake_guards = combine_guards_t<typename B::global_guards, guards_of_t<G>>;
    using filters_list = connect_filters_t<G, typename B::global_policies>;
    // A recovered socket was let in before (Node's skipMiddlewares): the guards do not run again.
    bool skip = s.recovered() && s.server().options().connection_state_recovery.skip_middlewares;
    if constexpr (std::is_same_v<filters_list, filters<>>) {
      if (!skip && !run_guards<handshake_guards, typename B::module>(*b.container, ctx, &scope))
        ctx.refuse(ws_code::policy_violation, "Forbidden");
      else
        call_on_connected(*b.gateway, ctx);
    } else {  // the filters word what the guards and on_connected throw (a refusal: 1008 "Forbidden")
      connect_policy_env<B> env{b, ctx, r, &scope};
      run_with_filters<filters_list>(env, [&] {
        if (!skip && !run_guards<handshake_guards, typename B::module>(*b.container, ctx, &scope))
          throw ws_exception(ws_code::policy_violation, "Forbidden");
        call_on_connected(*b.gateway, ctx);
      });
    }
  } catch (const ws_exception& ex) {
    r.refuse(ex.what(), json_text{ex.body()});
  } catch (const std::exception& ex) {
    b.log->error([&] { return std::string("gateway connect on ") + s.namespace_name() + " threw: " + ex.what(); });
    r.refuse("Something went wrong",
             json_text{error_object(ws_code::internal_error, internal_reason(b, ex.what()))});
  }
  if (r.refused()) b.table.close(s.sid());
}

template <class B>
void gateway_disconnect(B& b, socketio::socket& s, std::string_view reason) {
  gateway_context ctx(b, s);
  portico::detail::run_user_code(b.log, [&] { return std::string("on_disconnected on ") + s.namespace_name(); },
                                 [&] { call_on_disconnected(*b.gateway, ctx, disconnect_reason(reason)); });
  b.table.close(s.sid());  // per-connection providers die here
}

/// The gateway's `server_events` table -> the namespace's `on_server_event` listeners.
template <class B, std::size_t... I>
void install_server_events(B& b, socketio::nsp& n, std::index_sequence<I...>) {
  using G = typename B::gateway_type;
  [[maybe_unused]] G* g = b.gateway;  // unused when the table is empty
  (void)n;
  (n.on_server_event(std::get<I>(server_events_of<G>::value).name,
                     [g](const socketio::args& a) { return (g->*std::get<I>(server_events_of<G>::value).fn)(a); }),
   ...);
}

template <class B>
void install_gateway(B& b, socketio::nsp& n) {
  using G = typename B::gateway_type;
  B* bp = &b;
  n.on_connect([bp](socketio::socket& s, socketio::connect_request& r) { gateway_connect(*bp, s, r); });
  n.on_disconnect([bp](socketio::socket& s, std::string_view reason) { gateway_disconnect(*bp, s, reason); });
  using E = typename events_of<G>::type;
  install_events(b, n, std::make_index_sequence<std::tuple_size_v<E>>{});
  using S = typename server_events_of<G>::type;
  install_server_events(b, n, std::make_index_sequence<std::tuple_size_v<S>>{});
}

/// "/socket.io" and "/socket.io/" are the same path.
inline std::string normalize_path(std::string_view p) {
  std::string s(p);
  if (s.empty() || s.front() != '/') s.insert(s.begin(), '/');
  if (s.back() != '/') s += '/';
  return s;
}

inline std::vector<std::string> split_origins(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace framework::detail

/// The application: a DI container over `Root`, with global guards, filters and interceptors
/// (`GlobalGuards`: `guards<...>` or `global_policies<...>`, see global_policies.hpp) and (for
/// tests) provider overrides. Constructing it instantiates every singleton, gateway and controller, builds the
/// servers and adds the controllers' routes to router().
///
/// One net::host serves every gateway path, the controllers and the ws routes (router()) on the
/// port of listen(); an app without gateways serves only the router.
template <class Root, class GlobalGuards = guards<>, class... Overrides>
class app {
 public:
  using container_type = ::portico::container<Root, Overrides...>;
  using global_guards = typename framework::detail::globals_of_t<GlobalGuards>::guards_type;
  /// The same app with test fakes: `app<M>::with_overrides<override<AuthService, Fake>>`.
  template <class... More>
  using with_overrides = app<Root, GlobalGuards, Overrides..., More...>;
  /// The same app with guards run first at every handshake (and every controller request).
  template <class... G>
  using with_global_guards = app<Root, framework::detail::add_global_t<GlobalGuards, guards<G...>>, Overrides...>;
  /// The same app with filters tried last for every handler and route (NestJS useGlobalFilters).
  template <class... F>
  using with_global_filters = app<Root, framework::detail::add_global_t<GlobalGuards, filters<F...>>, Overrides...>;
  /// The same app with interceptors around every handler and route, outermost.
  template <class... I>
  using with_global_interceptors =
      app<Root, framework::detail::add_global_t<GlobalGuards, interceptors<I...>>, Overrides...>;

  app() : app(app_options{}) {}
  /// `values...` fill `portico::value<T>` providers (as for `container`).
  template <class... V>
  explicit app(app_options o, V&&... values)
      : opts_(o), container_(std::forward<V>(values)...), log_("portico.gateway", log_level::info), pool_(o.worker_threads) {
    container_.instantiate();
    plan(static_cast<typename container_type::gateways*>(nullptr));
    for (auto& p : paths_) p.server = std::make_unique<socketio::server>(p.options);
    install(static_cast<typename container_type::gateways*>(nullptr));
    install_controllers(static_cast<typename container_type::controllers*>(nullptr));
    if (opts_.admin_ui) {
      if (paths_.empty()) throw std::logic_error("portico::app: the admin UI needs a gateway's Socket.IO server");
      extensions_.push_back(opts_.admin_ui(*paths_.front().server, router()));
    }
    if (opts_.metrics && !paths_.empty()) {
      socketio::server* srv = paths_.front().server.get();
      router().get(opts_.metrics_path, [srv] {
        return http::content(srv->metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
      });
    }
  }
  app(const app&) = delete;
  app& operator=(const app&) = delete;
  ~app() {
    for (auto& r : releases_) r();  // injected namespace handles: no-ops from here on
    stop();
  }

  container_type& container() noexcept { return container_; }
  /// The Socket.IO server of `path` (the first gateway's path when empty).
  socketio::server& server(std::string_view path = {}) { return *find(path).server; }
  portico::logger& log() noexcept { return log_; }
  /// The HTTP router the controllers' routes are on; add hand-written routes before listen().
  /// Served on the app's port, under every path no gateway has.
  http::router& router() {
    if (!router_) router_ = std::make_unique<http::router>();
    return *router_;
  }
  /// The first gateway path's Engine.IO server. Without gateways, a bare one that nothing
  /// serves (kept for code written when it carried the router).
  engineio::server& engine() {
    if (!paths_.empty()) return paths_.front().server->engine();
    if (!engine_) {
      engineio::server_options o = opts_.server.engine;  // limits, CORS...
      o.path = engineio::server_options{}.path;            // /engine.io/: no Socket.IO here
      o.threads = opts_.io_threads;
      engine_ = framework::detail::make_engine(o);
    }
    return *engine_;
  }
  worker_pool& pool() noexcept { return pool_; }
  /// Every distinct gateway path, in declaration order.
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (auto& p : paths_) out.push_back(p.path);
    return out;
  }

  /// Serves every gateway path, the controllers and ws routes on address:port (0: ephemeral,
  /// see port()) and starts. May be called again for more addresses ("::1" next to
  /// "127.0.0.1"). Binding a port in use throws std::system_error (no silent sharing with
  /// another process). Returns at once; `run()` blocks.
  void listen(const std::string& address, std::uint16_t port) {
    auto& h = host();
    const std::uint16_t bound = h.listen(address, port);
    if (!port_) port_ = bound;
    start();
  }
  /// listen() over TLS: https:// and wss:// for every gateway path, the controllers and ws routes
  /// on address:port. `tls` comes from <portico/net/tls.hpp>, the one header of the app's that
  /// needs OpenSSL (link meson `portico_tls_dep`, pkg-config `portico-tls`); an app that never
  /// calls this builds without it. Plain and TLS listeners can sit side by side (port 80 and
  /// 443); port() is the first one's. Unusable `tls` options throw std::invalid_argument.
  void listen_tls(const std::string& address, std::uint16_t port, const net::tls_options& tls) {
    auto& h = host();
    const std::uint16_t bound = h.listen_tls(address, port, tls);
    if (!port_) port_ = bound;
    start();
  }
  /// The port of the first listen() (every path is served there; `path`, when given, must be a
  /// gateway path).
  std::uint16_t port(std::string_view path = {}) {
    if (!path.empty()) find(path);
    return port_;
  }
  void start() {
    for (auto& p : paths_) p.server->start();
    host().start();
  }
  /// Blocks until stop() (from a handler or another thread).
  void run() {
    start();
    {
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait(g, [&] { return stop_requested_; });
    }
    stop();
  }
  /// Stops every server (disconnect handlers run, scopes close, ws route clients get 1001),
  /// then the host and the worker pool. Idempotent. From a handler it only begins: run() (or
  /// the destructor) finishes.
  void stop() {
    {
      std::lock_guard<std::mutex> g(run_mu_);
      stop_requested_ = true;
    }
    run_cv_.notify_all();
    if (router_) router_->close_websockets();
    for (auto& p : paths_)
      if (p.server) p.server->stop();
    if (engine_) framework::detail::engine_stop(*engine_);
    if (host_) {
      try {
        host_->stop();
      } catch (const std::logic_error&) {
        return;  // on one of the host's threads: run() or the destructor stops it
      }
    }
    pool_.stop();
  }

 private:
  struct path_entry {
    std::string path;
    socketio::server_options options;
    std::vector<std::string> namespaces;
    bool ping_set = false;
    std::unique_ptr<socketio::server> server;
  };

  /// The host, with every path mounted (made on first use: routes and gateways are known by then).
  net::host& host() {
    if (host_) return *host_;
    net::host_options ho;
    ho.threads = opts_.io_threads;
    const auto& eo = paths_.empty() ? opts_.server.engine : paths_.front().options.engine;
    // As websocketpp's endpoint allowed: a polling POST carries up to twice max_payload.
    ho.max_body_bytes = std::max<std::size_t>(ho.max_body_bytes, eo.max_payload * 2 + 1024);
    ho.max_message_bytes = eo.max_payload;
    ho.stop_timeout = eo.stop_grace;
    host_ = std::make_unique<net::host>(ho);
    std::shared_ptr<net::handler> routes;
    if (router_) {
      router_->set_max_buffered_bytes(eo.max_buffered_bytes);
      routes = http::router::handler(*router_);
      host_->mount("/", routes);
    }
    for (auto& p : paths_) p.server->engine().mount(*host_, routes);
    return *host_;
  }

  path_entry& find(std::string_view path) {
    if (paths_.empty()) throw std::logic_error("portico::app: the module declares no gateway");
    if (path.empty()) return paths_.front();
    const std::string want = framework::detail::normalize_path(path);
    for (auto& p : paths_)
      if (p.path == want) return p;
    throw std::out_of_range("portico::app: no gateway on path " + want);
  }

  /// Gathers each path's server options from its gateways.
  template <class... G>
  void plan(framework::detail::type_list<G...>*) {
    (plan_one(framework::detail::options_of<G>::value), ...);
  }
  void plan_one(const gateway_options& g) {
    const std::string path = framework::detail::normalize_path(g.path);
    const std::string nsp = g.normalized_namespace();
    path_entry* e = nullptr;
    for (auto& p : paths_)
      if (p.path == path) e = &p;
    const bool first = e == nullptr;
    if (first) {
      paths_.emplace_back();
      e = &paths_.back();
      e->path = path;
      e->options = opts_.server;
      e->options.engine.path = path;
      e->options.engine.threads = opts_.io_threads;
      e->options.engine.metrics = e->options.engine.metrics || opts_.metrics;
      e->options.connect_timeout = opts_.connect_timeout;
      if (opts_.allow_eio3) e->options.allow_eio3 = true;
    }
    for (auto& n : e->namespaces)
      if (n == nsp)
        throw std::logic_error("portico::app: two gateways on namespace " + nsp + " of path " + path);
    e->namespaces.push_back(nsp);
    // Transports: the intersection (a gateway that wants websocket only makes its path so).
    auto& eo = e->options.engine;
    const bool polling = (static_cast<unsigned>(g.transport) & static_cast<unsigned>(transports::polling)) != 0;
    const bool ws = (static_cast<unsigned>(g.transport) & static_cast<unsigned>(transports::websocket)) != 0;
    eo.polling = first ? polling : (eo.polling && polling);
    eo.websocket = first ? ws : (eo.websocket && ws);
    if (!eo.polling && !eo.websocket)
      throw std::logic_error("portico::app: the gateways on path " + path + " allow no common transport");
    // CORS: the union of the origins.
    for (auto& o : framework::detail::split_origins(g.cors_origins)) eo.cors.allowed_origins.push_back(o);
    // Ping: the first gateway that sets it decides.
    if (g.ping_interval_ms > 0 || g.ping_timeout_ms > 0) {
      if (e->ping_set) {
        log_.warn("gateway ping settings on " + path + " ignored: an earlier gateway set them");
      } else {
        e->ping_set = true;
        if (g.ping_interval_ms > 0) eo.ping_interval = std::chrono::milliseconds(g.ping_interval_ms);
        if (g.ping_timeout_ms > 0) eo.ping_timeout = std::chrono::milliseconds(g.ping_timeout_ms);
      }
    }
  }

  template <class... G>
  void install(framework::detail::type_list<G...>*) {
    (install_one<G>(), ...);
  }
  template <class G>
  void install_one() {
    using providers = framework::detail::providers_of<typename container_type::template module_of_t<G>,
                                                      typename container_type::override_list>;
    using globals = framework::detail::globals_of_t<GlobalGuards>;
    if constexpr (!framework::detail::gateway_ok<G, providers, globals>()) {
      framework::detail::report_gateway<G, providers, globals>();
    } else {
      install_checked<G>();
    }
  }
  template <class G>
  void install_checked() {
    using binding = framework::detail::gateway_binding<container_type, G, GlobalGuards>;
    auto b = std::make_shared<binding>();
    const gateway_options& g = framework::detail::options_of<G>::value;
    path_entry& e = find(g.path);
    b->server = e.server.get();
    b->connections = &b->table;
    b->pool = &pool_;
    b->container = &container_;
    b->gateway = &container_.template component<G>();
    b->options = g;
    b->log = &log_;
    b->debug = opts_.debug;
    const std::string nsp = g.normalized_namespace();
    socketio::nsp& n = e.server->of(nsp);
    framework::detail::install_gateway(*b, n);
    bindings_.push_back(std::move(b));
    bind_handle<G>(n);
    framework::detail::call_after_init(container_.template component<G>(), n);
  }
  /// Binds the `namespace_handle<G>` provider, if the gateway's module (or the root) declares one.
  template <class G>
  void bind_handle(socketio::nsp& n) {
    using K = namespace_handle<G>;
    using M = typename container_type::template module_of_t<G>;
    namespace fd = framework::detail;
    namespace_handle<G>* h = nullptr;
    if constexpr (fd::lookup<K, M, typename container_type::override_list>::status == fd::lookup_status::found)
      h = &container_.template get_from<M, K&>();
    else if constexpr (container_type::template provides<K>)
      h = &container_.template get<K&>();
    if (h) {
      h->bind(&n);
      releases_.push_back([h] { h->release(); });
    }
  }

  template <class... C>
  void install_controllers(framework::detail::type_list<C...>*) {
    if constexpr (sizeof...(C) > 0) {
      http::router& r = router();
      (framework::detail::install_controller<GlobalGuards, C>(container_, r), ...);
    }
  }

  app_options opts_;
  container_type container_;
  portico::logger log_;
  worker_pool pool_;
  /// Calls into everything below; stopped (threads joined) by the destructor's stop(), gone
  /// last: the sessions' timers live on its io_contexts.
  std::unique_ptr<net::host> host_;
  std::vector<std::shared_ptr<void>> bindings_;  ///< outlive the servers that call them
  std::vector<std::function<void()>> releases_;  ///< unbind the namespace handles
  std::unique_ptr<http::router> router_;         ///< likewise
  std::vector<path_entry> paths_;
  framework::detail::engine_ptr engine_;         ///< only without gateways
  std::vector<std::shared_ptr<void>> extensions_;  ///< the admin UI: gone before the servers
  std::uint16_t port_ = 0;
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stop_requested_ = false;
};

/// The one-module app of a few gateways and nothing else: `portico::gateway_app<ChatGateway>`
/// is `portico::app<portico::module<portico::gateways<ChatGateway>>>`.
template <class... G>
using gateway_app = app<module<gateways<G...>>>;

}  // namespace portico
