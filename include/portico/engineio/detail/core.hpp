#pragma once
/// The state an Engine.IO server shares with its sessions and workers: options, handlers, the
/// session table, and the checks and answers of requests on the engine path. What a request
/// then does with a session is in requests.hpp.
#include "../../detail/ascii.hpp"
#include "../../detail/random.hpp"
#include "../../log.hpp"
#include "../close_reason.hpp"
#include "../codec.hpp"
#include "../cors.hpp"
#include "../handshake.hpp"
#include "../message.hpp"
#include "../options.hpp"
#include "http_error.hpp"
#include "worker.hpp"
#include "ws_config.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace portico::engineio {

class socket;  // socket.hpp
using socket_ptr = std::shared_ptr<socket>;
using http_connection_ptr = detail::ws_connection_ptr;

namespace detail {

/// State shared by all workers. Sessions keep it alive through shared_ptr.
struct core : std::enable_shared_from_this<core> {
  explicit core(server_options o) : opts(std::move(o)), log("portico.engineio") {}

  server_options opts;
  portico::logger log;
  std::function<void(const socket_ptr&)> on_open;
  std::function<void(const socket_ptr&, message&&)> on_message;
  std::function<void(const socket_ptr&, close_reason)> on_close;
  std::function<bool(const http_connection_ptr&)> on_http;
  std::function<bool(const ws_connection_ptr&)> on_websocket;
  std::function<void()> on_stop;  ///< closes what on_websocket accepted (plain ws routes)

  std::vector<std::unique_ptr<worker>> workers;
  std::unique_ptr<metrics::registry> stats;  ///< opts.metrics: one block per worker (listen())
  std::mutex table_mu;
  std::unordered_map<std::string, socket_ptr> table;
  std::atomic<bool> stopping{false};
  std::atomic<bool> destroyed{false};  ///< workers are gone: sockets kept by users go inert

  socket_ptr find(std::string_view sid) {
    std::lock_guard<std::mutex> g(table_mu);
    auto it = table.find(std::string(sid));
    return it == table.end() ? nullptr : it->second;
  }
  void erase(const std::string& sid) {
    std::lock_guard<std::mutex> g(table_mu);
    table.erase(sid);
  }
  std::string register_session_sid() {
    // sids are random; the loop only guards against the astronomically unlikely collision
    for (;;) {
      std::string s = portico::detail::random_id();
      std::lock_guard<std::mutex> g(table_mu);
      if (!table.count(s)) return s;
    }
  }
  void insert(const socket_ptr& s);

  bool transport_enabled(std::string_view t) const {
    return (t == "polling" && opts.polling) || (t == "websocket" && opts.websocket);
  }
  std::string open_packet_json(const std::string& sid, bool upgrades) const {
    open_info oi;
    oi.sid = sid;
    if (upgrades) oi.upgrades.push_back("websocket");
    oi.ping_interval = opts.ping_interval.count();
    oi.ping_timeout = opts.ping_timeout.count();
    oi.max_payload = static_cast<long long>(opts.max_payload);
    return open_json(oi);
  }
  /// detail::parse_request (handshake.hpp).
  static void parse(const std::string& resource, parsed_request& r) { parse_request(resource, r); }

  bool path_matches(std::string_view path) const {
    std::string_view p = opts.path;
    if (path == p) return true;
    if (!p.empty() && p.back() == '/' && path == p.substr(0, p.size() - 1)) return true;
    return false;
  }

  int protocol_of(std::string_view eio) const {
    if (eio == "4") return 4;
    if (eio == "3" && opts.allow_eio3) return 3;
    return 0;
  }

  static std::string remote_of(const ws_connection_ptr& con) {
    asio::error_code ec;
    auto ep = con->get_raw_socket().remote_endpoint(ec);
    if (ec) return {};
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a.to_string();
  }

  struct handshake make_handshake(const ws_connection_ptr& con, const parsed_request& r, int protocol) const {
    struct handshake h;
    h.url = con->get_resource();
    h.query_string = r.query_string;
    h.remote_address = remote_of(con);
    h.transport = std::string(r.transport);
    const auto& headers = con->get_request().get_headers();
    std::size_t size = 0;
    for (auto& [k, v] : headers) size += k.size() + v.size() + 2;
    h.reserve_headers(size);
    for (auto& [k, v] : headers) h.add_header(k, v);
    h.query = r.query;
    h.time = std::chrono::system_clock::now();
    h.protocol = protocol;
    return h;
  }

  void refuse_http(const ws_connection_ptr& con, http_error e, const char* why = nullptr) {
    auto status = e == http_error::forbidden ? websocketpp::http::status_code::forbidden
                                             : websocketpp::http::status_code::bad_request;
    con->set_status(status);
    con->replace_header("Content-Type", "application/json");
    con->set_body(error_body(e));
    log.info([&] {
      return "refused " + remote_of(con) + " " + con->get_request().get_method() + " " +
             portico::detail::printable(con->get_resource()) + ": " +
             std::to_string(int(status)) + " " + (why ? why : http_error_message(e));
    });
  }

  /// What the checks of a request need of it, on websocketpp's endpoint.
  struct asio_exchange {
    core& c;
    const ws_connection_ptr& con;
    const std::string& method() const { return con->get_request().get_method(); }
    bool cors() const { return apply_cors(c.opts.cors, con); }
    void refuse(http_error e, const char* why) const { c.refuse_http(con, e, why); }
  };

  /// Common checks of a request on the engine path; returns false after filling the refusal.
  bool check_request(const ws_connection_ptr& con, parsed_request& r, bool is_websocket) {
    return check(asio_exchange{*this, con}, r, is_websocket);
  }
  template <class X>
  bool check(const X& x, parsed_request& r, bool is_websocket) {
    if (!transport_enabled(r.transport)) {
      x.refuse(http_error::unknown_transport, nullptr);
      return false;
    }
    if (!x.cors()) {
      x.refuse(http_error::forbidden, "origin not allowed");
      return false;
    }
    r.protocol = protocol_of(r.eio);
    if (r.protocol == 0) {
      x.refuse(http_error::unsupported_protocol_version, nullptr);
      return false;
    }
    if (r.sid.empty()) {
      if (x.method() != "GET") {
        x.refuse(http_error::bad_handshake_method, nullptr);
        return false;
      }
      if (!is_websocket && r.transport == "websocket") {
        x.refuse(http_error::bad_request, "websocket transport without an upgrade");
        return false;
      }
    }
    // An upgrade speaks only the websocket transport: a "polling" one would start a websocket
    // session (or probe) that calls itself polling. Node accepts and closes it at once.
    if (is_websocket && r.transport != "websocket") {
      x.refuse(http_error::bad_request, "websocket upgrade for the polling transport");
      return false;
    }
    return true;
  }

  /// A HEAD response has the headers of the answer to GET, never a body (RFC 9110 9.3.2); runs
  /// after every plain HTTP handler (Engine.IO, routes, the 404).
  static void drop_head_body(const ws_connection_ptr& con) {
    if (con->get_request().get_method() != "HEAD") return;
    const std::string& body = con->get_response().get_body();
    if (body.empty()) return;  // none, or deferred (the router answers HEAD itself)
    std::string length = std::to_string(body.size());
    con->set_body("");
    con->replace_header("Content-Length", length);
  }

  /// One log line for a request refused before any handler ran: by the parser (malformed, or
  /// detail::checked_request) or by websocketpp's handshake checks (a bad upgrade). Refusals of
  /// handlers (`rejected`) are logged where they happen; no status means no request came.
  void log_early_refusal(const ws_connection_ptr& con) {
    auto ec = con->get_ec();
    auto status = con->get_response().get_status_code();
    if (int(status) < 400 || ec == websocketpp::error::make_error_code(websocketpp::error::rejected)) return;
    log.info([&] {
      const auto& req = con->get_request();
      const std::string& remote = req.peer();
      return "refused " + (remote.empty() ? std::string("?") : remote) + " " + req.get_method() + " " +
             portico::detail::printable(req.get_uri()) + ": " + std::to_string(int(status)) + " " +
             portico::detail::printable(req.refusal().empty() ? ec.message() : req.refusal());
    });
  }

  // ---------------------------------------------------------------- HTTP (requests.hpp)

  void handle_http(worker& w, websocketpp::connection_hdl hdl);

  /// websocketpp answers a request whose Content-Length passes max_http_body_size with 413
  /// itself, before the HTTP handler runs: such a POST closes its polling session all the same,
  /// like a body within that cap but over max_payload (on_post).
  void handle_failed_http(worker& w, websocketpp::connection_hdl hdl);

  /// Sends a deferred HTTP response, on the worker that owns the connection.
  static void respond(const ws_connection_ptr& con, worker* w, websocketpp::http::status_code::value status,
                      std::string body, const char* content_type) {
    auto run = [con, status, body = std::move(body), content_type] {
      con->set_status(status);
      con->replace_header("Content-Type", content_type);
      con->set_body(body);
      websocketpp::lib::error_code ec;
      con->send_http_response(ec);
    };
    if (w->running_here()) run();
    else asio::post(w->ioc, std::move(run));
  }

  static void respond_error(const ws_connection_ptr& con, worker* w, http_error e) {
    respond(con, w,
            e == http_error::forbidden ? websocketpp::http::status_code::forbidden
                                       : websocketpp::http::status_code::bad_request,
            error_body(e), "application/json");
  }

  // ---------------------------------------------------------------- net::host (host_handler.hpp)
  /// The engine's worker for a thread of the host it is mounted on (made on first use).
  worker* hosted_worker(asio::io_context& io) {
    std::lock_guard<std::mutex> g(hosted_mu);
    for (auto& w : hosted)
      if (&w->ioc == &io) return w.get();
    hosted.push_back(std::make_unique<worker>(static_cast<unsigned>(hosted.size()), io));
    if (stats) hosted.back()->stats = stats->add_worker();
    return hosted.back().get();
  }
  std::mutex hosted_mu;
  std::vector<std::unique_ptr<worker>> hosted;  ///< never shrinks while sessions may point here

  // ---------------------------------------------------------------- WebSocket (requests.hpp)
  bool validate_ws(worker& w, websocketpp::connection_hdl hdl);
  void attach_ws_handlers(const ws_connection_ptr& con, const std::weak_ptr<socket>& weak, const void* id);

  /// The one log line of a session's close (defined with the socket).
  void dispatch_close_log(const socket& s, close_reason r, std::string_view detail);
};

}  // namespace detail
}  // namespace portico::engineio
