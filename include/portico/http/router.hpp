#pragma once
/// Routes plain HTTP requests and WebSocket upgrades (paths outside Engine.IO's) to handlers.
///
///   http::router r;
///   auto car = r.group("/car");
///   car.get("/{id}", [](int id, int limit) { return car_info{id, limit}; },
///           http::path<int>("id"), http::query<int>("limit", 10));
///
/// A handler takes the decoded parameters in order, optionally preceded by `http::request&`,
/// and returns an `http::response`, void (204) or any typed value (200 JSON). The router
/// answers by itself: 404 `{"detail":"Not Found"}`, 405 with Allow, 422 `{"detail":[errors]}`
/// when parameters do not validate, the chosen status when a handler or check throws
/// http_exception, 500 `{"detail":"Internal Server Error"}` when it throws anything else (the
/// message is logged, never sent).
#include "../detail/user_code.hpp"
#include "../log.hpp"
#include "../net/handler.hpp"
#include "exception.hpp"
#include "params.hpp"
#include "request.hpp"
#include "static_files.hpp"
#include "websocket.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace portico::http {

/// A check run before a route's handler (and before a WebSocket's 101): nullopt lets the
/// request through, a response refuses it with that response. Guards of the framework layer
/// plug in here.
using check_fn = std::function<std::optional<response>(const request&)>;

/// A check that refuses with 403 `{"detail":"Forbidden"}` when `allow` returns false.
inline check_fn guard(std::function<bool(const request&)> allow) {
  return [allow = std::move(allow)](const request& r) -> std::optional<response> {
    if (allow(r)) return std::nullopt;
    return error(403, "Forbidden");
  };
}

namespace detail {

struct segment {
  std::string text;
  bool param = false;
};

inline std::vector<segment> compile_pattern(std::string_view p) {
  std::vector<segment> out;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  while (!p.empty()) {
    auto slash = p.find('/');
    std::string_view s = p.substr(0, slash);
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') out.push_back({std::string(s.substr(1, s.size() - 2)), true});
    else out.push_back({std::string(s), false});
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

/// Raw path segments ("/a/b/" -> a, b). A trailing slash is not significant for routes.
inline std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (!p.empty() && p.back() == '/') p.remove_suffix(1);
  while (!p.empty()) {
    auto slash = p.find('/');
    out.push_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

inline bool match(const std::vector<segment>& pattern, const std::vector<std::string_view>& path, header_list* params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < path.size(); ++i)
    if (!pattern[i].param && pattern[i].text != path[i]) return false;
  if (params) {
    params->clear();
    for (std::size_t i = 0; i < path.size(); ++i)
      if (pattern[i].param) params->emplace_back(pattern[i].text, percent_decode(path[i], false));
  }
  return true;
}

/// Same length patterns: true when `a` has a literal where `b` first has a parameter.
inline bool more_specific(const std::vector<segment>& a, const std::vector<segment>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (a[i].param != b[i].param) return !a[i].param;
  return false;
}

template <class R>
response to_response(R&& r) {
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, response>) return std::forward<R>(r);
  else return http::json(r);
}

/// Wraps a typed handler into `response(request&)`.
template <class F, class... P>
std::function<response(request&)> typed_handler(F f, P... params) {
  return [f = std::move(f), ps = std::make_tuple(std::move(params)...)](request& req) mutable -> response {
    std::tuple<typename P::type...> values;
    portico::json::error_list errs;
    if (!extract_all(req, ps, values, errs, std::index_sequence_for<P...>{})) return validation_error(errs);
    return std::apply(
        [&](auto&... v) -> response {
          if constexpr (std::is_invocable_v<F&, request&, typename P::type&&...>) {
            using R = std::invoke_result_t<F&, request&, typename P::type&&...>;
            if constexpr (std::is_void_v<R>) {
              f(req, std::move(v)...);
              return response{204, {}, {}};
            } else return to_response(f(req, std::move(v)...));
          } else {
            static_assert(std::is_invocable_v<F&, typename P::type&&...>,
                          "portico::http: the handler must take the declared parameters in order "
                          "(optionally preceded by http::request&)");
            using R = std::invoke_result_t<F&, typename P::type&&...>;
            if constexpr (std::is_void_v<R>) {
              f(std::move(v)...);
              return response{204, {}, {}};
            } else return to_response(f(std::move(v)...));
          }
        },
        values);
  };
}

/// The conversation handler of a ws route, after parameters were decoded.
using ws_start = std::function<void(const websocket_ptr&)>;

/// Decodes the handshake parameters and runs the conversation handler; a response when the
/// parameters do not validate (the upgrade is then refused with 403 and the error list).
using ws_handler = std::function<std::optional<response>(request&, const websocket_ptr&)>;

template <class F, class... P>
ws_handler typed_ws_handler(F f, P... params) {
  return [f = std::move(f), ps = std::make_tuple(std::move(params)...)](
             request& req, const websocket_ptr& ws) mutable -> std::optional<response> {
    std::tuple<typename P::type...> values;
    portico::json::error_list errs;
    if (!extract_all(req, ps, values, errs, std::index_sequence_for<P...>{})) {
      auto r = validation_error(errs);
      r.status = 403;  // a handshake is refused, not "unprocessable"
      return r;
    }
    static_assert(std::is_invocable_v<F&, const websocket_ptr&, typename P::type&&...>,
                  "portico::http: a ws handler takes (const http::websocket_ptr&, parameters...)");
    std::apply([&](auto&... v) { f(ws, std::move(v)...); }, values);
    return std::nullopt;
  };
}

/// Decodes one event-mode frame into Body; false when the connection was closed instead.
template <class Body>
bool decode_ws_body(websocket& ws, ws_encoding enc, ws_message& m, Body& out) {
  portico::json::error_list errs;
  auto invalid = [&] {
    ws.send_text("{\"code\":1008,\"errors\":" + portico::json::to_string(errs) + "}");
    ws.close(close_code::policy_violation, "");
    return false;
  };
  if (enc != ws_encoding::json) {
    const bool want_binary = enc == ws_encoding::bytes;
    if (m.binary != want_binary) {
      ws.close(close_code::unsupported_data, want_binary ? "Expected bytes websocket messages, but got text"
                                                         : "Expected text websocket messages, but got bytes");
      return false;
    }
    if constexpr (std::is_same_v<Body, std::string>) {
      out = std::move(m.data);
      return true;
    } else if constexpr (std::is_same_v<Body, portico::json::binary>) {
      out = portico::json::binary{std::move(m.data)};
      return true;
    } else if constexpr (is_text_value<Body>::value) {
      portico::json::error_list::scope at(errs, "body");
      return from_text(m.data, out, errs) || invalid();
    }
    // Other bodies: the frame's text is JSON, as with the json encoding.
  }
  portico::json::document doc;
  if (!portico::json::parse(m.data, doc)) {
    ws.close(close_code::unsupported_data, "Malformed JSON data received.");
    return false;
  }
  portico::json::error_list::scope at(errs, "body");
  return portico::json::decode(doc, out, errs) || invalid();
}

}  // namespace detail

/// The answer channel of a deferred (asynchronous) route: call send() once, from any thread,
/// while the server runs. Copies share one answer; when the last copy is dropped without an
/// answer the client gets 500, so a forgotten path cannot hang the connection.
class responder {
 public:
  responder() = default;
  explicit responder(std::function<void(response)> deliver) : s_(std::make_shared<state>()) {
    s_->deliver = std::move(deliver);
  }
  /// Sends `r`; later calls are ignored.
  void send(response r) const {
    if (s_ && !s_->sent.exchange(true)) s_->deliver(std::move(r));
  }
  bool sent() const { return s_ && s_->sent.load(); }

 private:
  struct state {
    std::function<void(response)> deliver;
    std::atomic<bool> sent{false};
    ~state() {
      if (!sent.exchange(true) && deliver) deliver(error(500, "Internal Server Error"));
    }
  };
  std::shared_ptr<state> s_;
};

namespace detail {

template <class F, class... P>
std::function<void(request&, responder)> typed_async_handler(F f, P... params) {
  return [f = std::move(f), ps = std::make_tuple(std::move(params)...)](request& req, responder rsp) mutable {
    std::tuple<typename P::type...> values;
    portico::json::error_list errs;
    if (!extract_all(req, ps, values, errs, std::index_sequence_for<P...>{})) return rsp.send(validation_error(errs));
    static_assert(std::is_invocable_v<F&, responder, typename P::type&&...>,
                  "portico::http: a deferred handler takes (http::responder, parameters...)");
    std::apply([&](auto&... v) { f(std::move(rsp), std::move(v)...); }, values);
  };
}

}  // namespace detail

/// One HTTP route.
struct route {
  std::string method, pattern;
  std::vector<detail::segment> segments;
  std::function<response(request&)> handler;
  std::function<void(request&, responder)> deferred;  ///< set instead of `handler`
  std::vector<check_fn> checks;

  /// Adds a check (guard) run before the handler.
  route& check(check_fn c) {
    checks.push_back(std::move(c));
    return *this;
  }
};

/// One WebSocket route; also the broadcast handle for its clients.
class ws_route : public ws_route_clients {
 public:
  ws_route(std::string pattern, detail::ws_handler h)
      : ws_route_clients(std::make_shared<detail::ws_clients>()),
        pattern_(std::move(pattern)),
        segments_(detail::compile_pattern(pattern_)),
        handler_(std::move(h)) {}

  /// Adds a handshake check (guard): a refusal answers the upgrade before the 101.
  ws_route& check(check_fn c) {
    checks_.push_back(std::move(c));
    return *this;
  }
  const std::string& pattern() const { return pattern_; }

 private:
  friend class router;
  std::string pattern_;
  std::vector<detail::segment> segments_;
  detail::ws_handler handler_;
  std::vector<check_fn> checks_;
};

class router;

/// Routes sharing a path prefix (a controller's).
template <class Owner>
class route_builder {
 public:
  template <class F, class... P>
  route& get(std::string pattern, F f, P... params) {
    return add("GET", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& post(std::string pattern, F f, P... params) {
    return add("POST", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& put(std::string pattern, F f, P... params) {
    return add("PUT", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& patch(std::string pattern, F f, P... params) {
    return add("PATCH", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& del(std::string pattern, F f, P... params) {
    return add("DELETE", std::move(pattern), std::move(f), std::move(params)...);
  }
  /// Any method name (e.g. "OPTIONS").
  template <class F, class... P>
  route& add(std::string method, std::string pattern, F f, P... params) {
    return self().add_route(std::move(method), prefix() + pattern, detail::typed_handler(std::move(f), std::move(params)...));
  }

  /// A deferred route: `f(http::responder, params...)` answers later with responder.send(),
  /// from any thread (e.g. after asynchronous work). Checks and parameters work as usual.
  template <class F, class... P>
  route& add_deferred(std::string method, std::string pattern, F f, P... params) {
    auto& r = self().add_route(std::move(method), prefix() + pattern, nullptr);
    r.deferred = detail::typed_async_handler(std::move(f), std::move(params)...);
    return r;
  }
  template <class F, class... P>
  route& get_deferred(std::string pattern, F f, P... params) {
    return add_deferred("GET", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& post_deferred(std::string pattern, F f, P... params) {
    return add_deferred("POST", std::move(pattern), std::move(f), std::move(params)...);
  }

  /// Plain mode: `f(const websocket_ptr&, params...)` runs during the handshake; it must call
  /// ws->accept() (else 403), may send (queued until the 101) and sets ws->on_message/on_close.
  template <class F, class... P>
  ws_route& ws(std::string pattern, F f, P... params) {
    return self().add_ws_route(prefix() + pattern, detail::typed_ws_handler(std::move(f), std::move(params)...));
  }

  /// Event mode: see ws_events. `params` are validated at the handshake (403 with the error list
  /// when they fail, before on_connect); `ws_events<Body, T...>` receives their values in
  /// on_connect, `ws_events<Body>` may read them with http::param_value(ws.request(), ...).
  template <class Body, class... A, class... P>
  ws_route& ws(std::string pattern, ws_events<Body, A...> events, P... params) {
    static_assert(sizeof...(A) == 0 || std::is_same_v<std::tuple<A...>, std::tuple<typename P::type...>>,
                  "portico::http: ws_events<Body, T...> takes the value types of the route's parameters, in order");
    auto ev = std::make_shared<ws_events<Body, A...>>(std::move(events));
    auto start = [ev](const websocket_ptr& ws, typename P::type&&... v) {
      if (!ev->on_connect) ws->accept();
      else if constexpr (sizeof...(A) == 0) ev->on_connect(*ws);
      else ev->on_connect(*ws, std::move(v)...);
      ws->on_message([ev](websocket& w, ws_message&& m) {
        Body body{};
        if (!detail::decode_ws_body(w, ev->encoding, m, body)) return;
        if (ev->on_message) ev->on_message(w, std::move(body));
      });
      ws->on_close([ev](websocket& w, int code, const std::string&) {
        if (ev->on_disconnect) ev->on_disconnect(w, code);
      });
    };
    return ws(std::move(pattern), std::move(start), std::move(params)...);
  }

 private:
  Owner& self() { return static_cast<Owner&>(*this); }
  std::string prefix() { return self().prefix_; }
};

/// A prefix group of a router (Ellar's @Controller('/car')).
class route_group : public route_builder<route_group> {
 public:
  route_group(router& r, std::string prefix) : router_(&r), prefix_(std::move(prefix)) {}
  route_group group(const std::string& sub) { return route_group(*router_, prefix_ + sub); }

 private:
  friend class route_builder<route_group>;
  route& add_route(std::string method, std::string pattern, std::function<response(request&)> h);
  ws_route& add_ws_route(std::string pattern, detail::ws_handler h);
  router* router_;
  std::string prefix_;
};

class router : public route_builder<router> {
 public:
  router() : log_(std::make_shared<portico::logger>("portico.http")) {}

  /// Routes under `prefix` ("/car").
  route_group group(std::string prefix) { return route_group(*this, std::move(prefix)); }

  /// Serves a file or a directory under a URL prefix (after routes did not match).
  router& static_files(std::string url, std::filesystem::path target, std::string content_type = {}) {
    statics_.mount(std::move(url), std::move(target), std::move(content_type));
    return *this;
  }

  portico::logger& log() { return *log_; }
  /// The send-queue limit of each ws route client (websocket.hpp); http::serve() sets the
  /// engine's `max_buffered_bytes`.
  void set_max_buffered_bytes(std::size_t n) { max_buffered_bytes_ = n; }

  /// The answer to `req` (routes, then static files, then 404/405). A deferred route gets a
  /// responder from `defer` and the result is nullopt (then the responder answers).
  std::optional<response> dispatch(request& req, const std::function<responder()>& defer) {
    auto segs = detail::split_path(req.path);
    std::string allow;
    const bool head = req.method == "HEAD";
    route* best = nullptr;
    for (auto& r : routes_) {
      if (!detail::match(r->segments, segs, nullptr)) continue;
      if (r->method != req.method && !(head && r->method == "GET")) {
        if (allow.find(r->method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r->method;
        if (r->method == "GET" && allow.find("HEAD") == std::string::npos) allow += ", HEAD";
        continue;
      }
      // "/car/flags" beats "/car/{id}": the first literal segment decides; ties keep the
      // route registered first.
      if (!best || detail::more_specific(r->segments, best->segments)) best = r.get();
    }
    if (best) {
      route& r = *best;
      detail::match(r.segments, segs, &req.path_params);
      try {
        for (auto& c : r.checks)
          if (auto refused = c(req)) return std::move(*refused);
        if (!r.deferred) return r.handler(req);
        responder rsp = defer();  // from here on, only `rsp` may answer
        try {
          r.deferred(req, rsp);
        } catch (const http_exception& e) {
          rsp.send(e.to_response());
        } catch (...) {
          portico::detail::log_user_code_exception(log_.get(), [&] { return "handler " + r.method + " " + r.pattern; });
          rsp.send(error(500, "Internal Server Error"));
        }
        return std::nullopt;
      } catch (const http_exception& e) {
        return e.to_response();
      } catch (...) {
        portico::detail::log_user_code_exception(log_.get(), [&] { return "handler " + r.method + " " + r.pattern; });
      }
      return error(500, "Internal Server Error");
    }
    if (!allow.empty()) {
      auto r = error(405, "Method Not Allowed");
      r.set_header("Allow", allow);
      return r;
    }
    if (auto r = statics_.serve(req)) return std::move(*r);
    return error(404, "Not Found");
  }

  /// The answer to `req` without a connection (a deferred route must answer synchronously
  /// here, else 500).
  response handle(request& req) {
    auto slot = std::make_shared<std::optional<response>>();
    auto res = dispatch(req, [slot] { return responder([slot](response r) { *slot = std::move(r); }); });
    if (res) return std::move(*res);
    if (*slot) return std::move(**slot);
    return error(500, "Internal Server Error");
  }

  /// Closes every open WebSocket of every ws route. Any thread. http::serve() makes the
  /// engine's stop() call it (1001 "server shutting down").
  void close_websockets(int code = close_code::going_away, const std::string& reason = "server shutting down") {
    for (auto& r : ws_routes_)
      for (auto& ws : r->clients()) ws->close(code, reason);
  }

  /// Open WebSockets over all ws routes.
  std::size_t websocket_count() const {
    std::size_t n = 0;
    for (auto& r : ws_routes_) n += r->size();
    return n;
  }

  /// The ws route for `path`, or nullptr.
  ws_route* find_ws(const std::string& path, header_list* params) {
    auto segs = detail::split_path(path);
    for (auto& r : ws_routes_)
      if (detail::match(r->segments_, segs, params)) return r.get();
    return nullptr;
  }

  // ---- websocketpp glue (runs on the connection's worker thread) ----

  /// Answers a plain HTTP request on `con` (always handles it: unknown paths get 404).
  bool handle_http(const detail::connection_ptr& con) {
    request req = request_of(con);
    const bool head = req.method == "HEAD";
    auto res = dispatch(req, [&con, head] {
      con->defer_http_response();
      // Strong: while deferred, nothing else keeps the connection alive.
      auto executor = con->get_socket().get_executor();
      return responder([con, executor, head](response r) {
        asio::post(executor, [con, head, r = std::move(r)] {
          write(con, r, head);
          websocketpp::lib::error_code ec;
          con->send_http_response(ec);
        });
      });
    });
    if (res) write(con, *res, head);
    return true;
  }

  /// Decides a WebSocket upgrade on `con` (websocketpp's validate handler): false refuses it
  /// with the status set on `con`. On acceptance the connection's handlers are set here.
  bool handle_upgrade(const detail::connection_ptr& con) {
    request req = request_of(con);
    ws_route* r = find_ws(req.path, &req.path_params);  // first match
    if (!r) {
      write(con, error(404, "Not Found"), false);
      return false;
    }
    try {
      for (auto& c : r->checks_)
        if (auto refused = c(req)) {
          write(con, *refused, false);
          return false;
        }
      auto ws = std::make_shared<websocket>(con, req, r->c_, log_.get(), max_buffered_bytes_);
      if (auto refused = r->handler_(req, ws)) {
        log_->info("ws " + req.path + " refused: invalid handshake parameters");
        write(con, *refused, false);
        return false;
      }
      if (!ws->accepted() || ws->refused()) {
        write(con, error(403, "Forbidden"), false);
        return false;
      }
      auto log = log_;  // connections may outlive the router's logger otherwise
      con->set_open_handler([ws, log](websocketpp::connection_hdl) { ws->opened(); });
      con->set_message_handler([ws](websocketpp::connection_hdl, portico::engineio::detail::ws_message_ptr msg) {
        ws->received(ws_message{msg->get_opcode() == websocketpp::frame::opcode::binary, std::move(msg->get_raw_payload())});
      });
      std::weak_ptr<detail::connection_ptr::element_type> weak = con;
      con->set_close_handler([ws, weak, log](websocketpp::connection_hdl) {
        int code = close_code::abnormal;
        std::string reason;
        if (auto c = weak.lock()) {
          if (!ws->closing() && c->get_local_close_code() == websocketpp::close::status::invalid_payload) {
            // websocketpp refused a text frame that is not UTF-8 and closed with 1007
            log->warn("ws " + ws->request().path + ": text frame is not UTF-8, closed with 1007");
            ws->ended(close_code::invalid_payload, c->get_local_close_reason());
            return;
          }
          // Our own close reports our code; the peer's close reports the peer's code.
          code = ws->closing() ? c->get_local_close_code() : c->get_remote_close_code();
          reason = ws->closing() ? c->get_local_close_reason() : c->get_remote_close_reason();
          if (code == websocketpp::close::status::no_status) code = close_code::normal;
        }
        ws->ended(code, reason);
      });
      con->set_fail_handler([ws](websocketpp::connection_hdl) { ws->ended(close_code::abnormal, ""); });
      return true;
    } catch (const http_exception& e) {
      write(con, e.to_response(), false);
      return false;
    } catch (...) {
      portico::detail::log_user_code_exception(log_.get(), [&] { return "ws handler " + r->pattern(); });
    }
    write(con, error(500, "Internal Server Error"), false);
    return false;
  }

  // ---- net::host glue (runs on the connection's I/O thread) ----

  /// Answers a plain HTTP request of a net::host (always: unknown paths get 404). HEAD bodies,
  /// Content-Length and keep-alive are the host's.
  void handle_request(net::request&& nr, net::response res) {
    request req = request_of(nr);
    auto out = std::make_shared<net::response>(std::move(res));  // responder's function is copyable
    auto now = dispatch(req, [out] { return responder([out](response r) { write(*out, r); }); });
    if (now) write(*out, *now);
  }

  /// Decides a WebSocket upgrade of a net::host: a handler for the connection, or the refusal.
  net::upgrade handle_upgrade(const net::request& nr) {
    request req = request_of(nr);
    ws_route* r = find_ws(req.path, &req.path_params);  // first match
    auto refuse = [](const response& res) { return net::upgrade::refuse(res.status, res.body); };
    if (!r) return refuse(error(404, "Not Found"));
    try {
      for (auto& c : r->checks_)
        if (auto refused = c(req)) return refuse(*refused);
      auto ws = std::make_shared<websocket>(*nr.io_context(), req, r->c_, log_.get(), max_buffered_bytes_);
      if (auto refused = r->handler_(req, ws)) {
        log_->info("ws " + req.path + " refused: invalid handshake parameters");
        return refuse(*refused);
      }
      if (!ws->accepted() || ws->refused()) return refuse(error(403, "Forbidden"));
      return net::upgrade::to(std::make_shared<host_ws>(std::move(ws), log_));
    } catch (const http_exception& e) {
      return refuse(e.to_response());
    } catch (...) {
      portico::detail::log_user_code_exception(log_.get(), [&] { return "ws handler " + r->pattern(); });
    }
    return refuse(error(500, "Internal Server Error"));
  }

  /// The router as a handler to mount on a net::host (usually at "/"). `r` outlives the host's run.
  static std::shared_ptr<net::handler> handler(router& r) {
    return std::make_shared<net::function_handler>(
        [&r](net::request req, net::response res) { r.handle_request(std::move(req), std::move(res)); },
        [&r](const net::request& req) { return r.handle_upgrade(req); });
  }

  static request request_of(const net::request& nr) {
    request req;
    req.method = std::string(nr.method());
    req.set_target(std::string(nr.target()));
    req.headers.reserve(nr.header_count());
    for (std::size_t i = 0; i < nr.header_count(); ++i) {
      auto [k, v] = nr.header_at(i);
      std::string name(k);
      for (auto& c : name) c = detail::lower_ascii(c);
      req.headers.emplace_back(std::move(name), std::string(v));
    }
    req.body = nr.body();
    asio::error_code ec;
    const auto& ep = nr.remote_endpoint();
    req.remote_address = ep.address().to_string(ec) + ":" + std::to_string(ep.port());
    return req;
  }

  static void write(net::response& res, const response& r) {
    res.status(r.status);
    for (auto& [k, v] : r.headers)
      if (!detail::iequals(k, "content-length") && !detail::iequals(k, "connection")) res.header(k, v);
    res.send(r.body);
  }

  static request request_of(const detail::connection_ptr& con) {
    request req;
    const auto& hr = con->get_request();
    req.method = hr.get_method();
    req.set_target(con->get_resource());
    for (auto& [k, v] : hr.get_headers()) {
      std::string name = k;
      for (auto& c : name) c = detail::lower_ascii(c);
      req.headers.emplace_back(std::move(name), v);
    }
    req.body = hr.get_body();
    req.remote_address = con->get_remote_endpoint();
    return req;
  }

  static void write(const detail::connection_ptr& con, const response& r, bool head) {
    con->set_status(static_cast<websocketpp::http::status_code::value>(r.status), reason_phrase(r.status));
    for (auto& [k, v] : r.headers) con->replace_header(k, v);
    const bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
    if (head || no_body) {
      con->set_body("");
      if (!no_body) con->replace_header("Content-Length", std::to_string(r.body.size()));
    } else {
      con->set_body(r.body);
    }
  }

 private:
  friend class route_builder<router>;
  friend class route_group;
  route& add_route(std::string method, std::string pattern, std::function<response(request&)> h) {
    auto r = std::make_unique<route>();
    r->method = std::move(method);
    r->segments = detail::compile_pattern(pattern);
    r->pattern = std::move(pattern);
    r->handler = std::move(h);
    routes_.push_back(std::move(r));
    return *routes_.back();
  }
  ws_route& add_ws_route(std::string pattern, detail::ws_handler h) {
    ws_routes_.push_back(std::make_unique<ws_route>(std::move(pattern), std::move(h)));
    return *ws_routes_.back();
  }

  /// A ws route's connection on a net::host: the host's events drive the http::websocket.
  class host_ws final : public net::websocket_handler {
   public:
    host_ws(websocket_ptr ws, std::shared_ptr<portico::logger> log) : ws_(std::move(ws)), log_(std::move(log)) {}
    void on_open(const net::websocket& h) override {
      ws_->attach(h);
      ws_->opened();
    }
    void on_message(const net::websocket&, std::string& payload, bool binary) override {
      ws_->received(ws_message{binary, std::move(payload)});
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
      if (!ws_->closing() && code == close_code::invalid_payload)
        log_->warn("ws " + ws_->request().path + ": text frame is not UTF-8, closed with 1007");
      ws_->ended(code == 1005 ? close_code::normal : code, std::string(reason));
    }

   private:
    websocket_ptr ws_;
    std::shared_ptr<portico::logger> log_;
  };

  std::string prefix_;
  std::shared_ptr<portico::logger> log_;
  std::size_t max_buffered_bytes_ = 0;
  std::vector<std::unique_ptr<route>> routes_;
  std::vector<std::unique_ptr<ws_route>> ws_routes_;
  http::static_files statics_;
};

inline route& route_group::add_route(std::string method, std::string pattern, std::function<response(request&)> h) {
  return router_->add_route(std::move(method), std::move(pattern), std::move(h));
}
inline ws_route& route_group::add_ws_route(std::string pattern,
                                           detail::ws_handler h) {
  return router_->add_ws_route(std::move(pattern), std::move(h));
}

}  // namespace portico::http
