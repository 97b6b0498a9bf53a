#pragma once
/// Engine.IO server: HTTP long-polling and WebSocket transports on websocketpp + standalone Asio.
///
/// Threading (docs/design.md): `threads` workers, each one io_context + one thread + one
/// websocketpp endpoint (lock-free config) listening on the same port with SO_REUSEPORT.
/// A session lives on its *home* worker; all its state is touched only there. Requests and
/// frames that arrive elsewhere are posted home; HTTP responses are posted back to the worker
/// that owns the HTTP connection. When a session upgrades to a WebSocket accepted by another
/// worker, its home moves to that worker so websocket traffic never hops threads.
#include "../detail/ascii.hpp"
#include "../detail/random.hpp"
#include "../detail/utf8.hpp"
#include "../log.hpp"
#include "codec.hpp"
#include "detail/ws_config.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portico::engineio {

struct cors_options {
  /// Empty: no CORS headers and no origin check. {"*"}: any origin.
  std::vector<std::string> allowed_origins;
  /// Optional predicate; when set it decides instead of the list.
  std::function<bool(std::string_view origin)> allow;
  bool credentials = false;
  bool enabled() const { return !allowed_origins.empty() || static_cast<bool>(allow); }
};

struct server_options {
  std::string path = "/engine.io/";
  bool polling = true, websocket = true, allow_upgrades = true;
  std::chrono::milliseconds ping_interval{25000}, ping_timeout{20000};
  std::size_t max_payload = 1000000;
  /// Bytes queued for one client and not yet written (websocket: websocketpp's send queue;
  /// polling: packets awaiting a GET). A client that does not read would otherwise grow the
  /// server without bound: past it a droppable (volatile) frame is dropped for that client, and
  /// anything else closes the session (transport error, "send buffer full"). 0: no limit.
  std::size_t max_buffered_bytes = 4 * 1024 * 1024;
  bool allow_eio3 = false;
  cors_options cors;
  unsigned threads = 0;  ///< 0 = std::thread::hardware_concurrency()
  /// How long stop() lets close frames and pending responses drain before cutting connections.
  std::chrono::milliseconds stop_grace{1000};
  /// Per-connection read buffer. websocketpp fixes it at compile time (detail::ws_config),
  /// so it is a constant here: 1 KB instead of websocketpp's 16 KB default.
  static constexpr std::size_t read_buffer_size = detail::ws_config::connection_read_buffer_size;
};

/// What the first HTTP request of a session carried.
struct handshake {
  std::string url, query_string, remote_address, transport;
  std::vector<std::pair<std::string, std::string>> query;    ///< url-decoded
  std::chrono::system_clock::time_point time;
  int protocol = 4;  ///< 3 or 4

  /// The request header `name` (any case); empty when absent.
  std::string_view header(std::string_view name) const {
    std::string_view rest = raw_headers_;
    while (!rest.empty()) {
      std::size_t colon = rest.find(':'), end = rest.find('\n');
      std::string_view key = rest.substr(0, colon);
      if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
            return a == (b >= 'A' && b <= 'Z' ? char(b - 'A' + 'a') : b);
          }))
        return rest.substr(colon + 1, end - colon - 1);
      rest.remove_prefix(end + 1);
    }
    return {};
  }
  /// Every request header, names lower-cased, sorted by name (built on each call).
  std::vector<std::pair<std::string, std::string>> headers() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::string_view rest = raw_headers_;
    while (!rest.empty()) {
      std::size_t colon = rest.find(':'), end = rest.find('\n');
      out.emplace_back(rest.substr(0, colon), rest.substr(colon + 1, end - colon - 1));
      rest.remove_prefix(end + 1);
    }
    return out;
  }
  void reserve_headers(std::size_t bytes) { raw_headers_.reserve(bytes); }
  /// Records one header (the name is lower-cased). Used by the server while building the handshake.
  void add_header(std::string_view name, std::string_view value) {
    for (char c : name) raw_headers_.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
    raw_headers_.push_back(':');
    for (char c : value) raw_headers_.push_back(c == '\n' ? ' ' : c);
    raw_headers_.push_back('\n');
  }
  std::string_view query_param(std::string_view name) const {
    for (auto& [k, v] : query)
      if (k == name) return v;
    return {};
  }

 private:
  /// "name:value\n" per header in one string: one allocation per session instead of two
  /// strings per header (this struct lives as long as the connection).
  std::string raw_headers_;
};

/// A received message, moved out of the websocket frame or polling payload.
struct message {
  bool binary = false;
  std::string data;
};

/// A pre-encoded broadcast unit: one Engine.IO message text (without the leading '4') plus
/// binary messages sent right after it. Immutable and shared by all recipients.
struct frame {
  std::string text;
  std::vector<std::string> binaries;
  /// A volatile emit: dropped for a recipient whose send buffer is over max_buffered_bytes,
  /// instead of closing that session.
  bool droppable = false;
};
using frame_ptr = std::shared_ptr<const frame>;

enum class close_reason {
  transport_close,    ///< the client went away (socket closed)
  transport_error,    ///< protocol misuse on the transport (e.g. a second concurrent GET)
  ping_timeout,
  parse_error,        ///< a malformed packet
  server_close,       ///< socket::close()
  client_close,       ///< the client sent a close packet
  payload_too_large,
  forced,             ///< server::stop()
};

inline const char* to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::transport_close: return "transport close";
    case close_reason::transport_error: return "transport error";
    case close_reason::ping_timeout: return "ping timeout";
    case close_reason::parse_error: return "parse error";
    case close_reason::server_close: return "server close";
    case close_reason::client_close: return "client close";
    case close_reason::payload_too_large: return "payload too large";
    case close_reason::forced: return "forced close";
  }
  return "?";
}

using http_connection_ptr = detail::ws_connection_ptr;

namespace detail {
struct core;
struct worker;
enum class transport_kind : int { polling = 0, websocket = 1 };

/// What a send does when the client's send buffer is over max_buffered_bytes.
enum class when_full : std::uint8_t {
  close,  ///< close the session (the default)
  drop,   ///< drop the packet (volatile)
  send,   ///< send anyway (a part of a packet already checked as a whole)
};

/// One queued outgoing packet of a polling session.
struct outgoing {
  packet_type type;
  bool binary;
  std::string data;
};
}  // namespace detail

/// One Engine.IO session.
class socket : public std::enable_shared_from_this<socket> {
 public:
  const std::string& sid() const { return sid_; }
  const struct handshake& handshake() const { return hs_; }
  int protocol() const { return hs_.protocol; }

  /// Thread-safe: runs on the home worker, posting there when called elsewhere.
  void send(std::string text);
  void send_binary(std::string bytes);
  void send(frame_ptr f);
  /// Idempotent and thread-safe; on_close fires once.
  void close();
  /// False while a polling session has no pending GET (volatile emits may be dropped).
  bool writable() const { return writable_.load(std::memory_order_relaxed); }
  bool closed() const { return closed_flag_.load(std::memory_order_acquire); }

  bool on_home_worker() const;
  /// Runs `f` on the home worker (re-posted if the session moved meanwhile).
  void post(std::function<void()> f);

  /// The layer above hangs its per-connection state here.
  std::shared_ptr<void> user;

  std::string_view transport() const {
    return transport_flag_.load(std::memory_order_relaxed) == int(detail::transport_kind::websocket) ? "websocket"
                                                                                                      : "polling";
  }

  /// Sessions are created by the server.
  socket(std::shared_ptr<detail::core> c, detail::worker* home, std::string sid, struct handshake hs)
      : core_(std::move(c)), home_(home), sid_(std::move(sid)), hs_(std::move(hs)) {}

 private:
  friend struct detail::core;
  friend class server;
  using con_ptr = detail::ws_connection_ptr;

  // --- everything below runs on the home worker only ---
  void start(detail::transport_kind t, con_ptr ws);
  void send_packet(packet_type t, std::string data, bool binary, detail::when_full full = detail::when_full::close);
  /// True when `size` more bytes would pass max_buffered_bytes over `queued` ones (a first
  /// message always fits): then the session closes, unless the packet may be dropped.
  bool send_refused(std::size_t queued, std::size_t size, detail::when_full full);
  /// What websocketpp has queued for the websocket (0 off its worker, where it cannot be read).
  std::size_t ws_buffered() const;
  void send_frame_here(const frame_ptr& f);
  void ws_send(const con_ptr& c, detail::worker* w, detail::ws_message_ptr m);
  void flush_poll();
  void respond_get(std::string body, bool binary_body);
  void handle_packet(packet_type t, bool binary, std::string data);
  void handle_ws_frame(const void* con_id, detail::ws_message_ptr msg);
  void handle_probe_frame(detail::ws_message_ptr msg);
  void on_poll(con_ptr con, detail::worker* w, bool b64);
  void on_post(con_ptr con, detail::worker* w, std::string body, bool binary_body);
  void on_probe_open(con_ptr con, detail::worker* w);
  /// `local_code`: the close code we sent (websocketpp sends 1009 / 1007 on its own).
  void on_ws_closed(const void* con_id, websocketpp::close::status::value local_code);
  void post_to_home(std::function<void()> f, bool passed_on);
  void release_after_old_queue(detail::worker* old_home, detail::worker* new_home, bool last);
  /// Posts from other threads register while they pick the home and queue on it, so a home move
  /// knows when everything aimed at the old home is queued there. Returns the slot to release.
  unsigned register_post() {
    unsigned slot = moved_.load();
    posting_[slot].fetch_add(1);
    return slot;
  }
  void unregister_post(unsigned slot) { posting_[slot].fetch_sub(1); }
  void release_held();
  void complete_upgrade();
  void abort_probe(const char* why);
  /// v3 clients without binary support (engine.io-client's forceBase64) add `b64` to the URL.
  bool asks_b64(const con_ptr& c) const;
  void arm_heartbeat(std::chrono::milliseconds d, bool waiting_pong) {
    arm_heartbeat_at(std::chrono::steady_clock::now() + d, waiting_pong);
  }
  void arm_heartbeat_at(std::chrono::steady_clock::time_point at, bool waiting_pong);
  bool pong_overdue() const { return awaiting_pong_ && std::chrono::steady_clock::now() >= heartbeat_at_; }
  /// `detail` says what went wrong, for the one log line of this close.
  void close_with(close_reason r, std::string_view detail = {});
  std::string single_packet_payload(packet_type t) const;

  std::shared_ptr<detail::core> core_;
  std::atomic<detail::worker*> home_;
  std::string sid_;
  struct handshake hs_;
  bool poll_b64_ = false;  ///< the pending v3 GET asked for base64 binary
  bool ws_b64_ = false;    ///< v3: the websocket's request asked for base64 binary (`b4` text frames)

  std::atomic<bool> writable_{false};
  std::atomic<bool> closed_flag_{false};
  std::atomic<int> transport_flag_{0};
  std::atomic<bool> upgrading_flag_{false};
  std::atomic<bool> moving_{false};  ///< home moved; the old home's queue is not passed on yet
  std::atomic<unsigned> moved_{0};   ///< 1 once the home moved (a session moves at most once)
  std::atomic<int> posting_[2] = {{0}, {0}};  ///< posts picking the home, before / after the move

  bool open_ = false;
  bool closed_ = false;
  detail::transport_kind transport_ = detail::transport_kind::polling;
  bool upgrading_ = false;
  std::vector<detail::outgoing> buffer_;
  std::size_t buffer_bytes_ = 0;  ///< the data bytes in buffer_ (kept as packets come and go)
  con_ptr poll_get_;
  detail::worker* poll_get_worker_ = nullptr;
  con_ptr ws_;
  detail::worker* ws_worker_ = nullptr;
  con_ptr probe_;
  detail::worker* probe_worker_ = nullptr;
  std::unique_ptr<asio::steady_timer> timer_;
  std::uint64_t timer_gen_ = 0;
  std::unique_ptr<asio::steady_timer> probe_timer_;  ///< aborts an upgrade that never completes
  bool awaiting_pong_ = false;
  std::chrono::steady_clock::time_point heartbeat_at_;  ///< when the timer is due (scheduled, not actual)
  /// After a client's close packet over polling, the sid answers one more GET with noop:
  /// that GET may have been sent before the close but reached the session after it.
  bool linger_ = false;
  packet_type linger_packet_ = packet_type::noop;  ///< what the lingering sid answers its last GET with
  // A home move (complete_upgrade) keeps the order of what was sent to the session:
  detail::worker* prev_home_ = nullptr;      ///< the home before the move (written before moving_)
  bool passing_on_ = false;                  ///< (new home) running what the old home passed on
  std::vector<std::function<void()>> held_;  ///< (new home) posted there directly during the move
};

using socket_ptr = std::shared_ptr<socket>;

namespace detail {

struct worker {
  explicit worker(unsigned i) : index(i), ioc(1) {}
  unsigned index;
  mutable asio::io_context ioc;  // declared before `ep`: the endpoint's acceptor must die first
  ws_endpoint ep;
  std::thread thread;
  bool running_here() const { return ioc.get_executor().running_in_this_thread(); }
};

inline std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out.push_back(' ');
    else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else out.push_back(s[i]);
  }
  return out;
}

inline std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos) out.emplace_back(url_decode(part), std::string());
      else out.emplace_back(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

/// The reference server's error codes and messages (engine.io `Server.errors`).
enum class http_error { unknown_transport = 0, unknown_sid = 1, bad_handshake_method = 2, bad_request = 3, forbidden = 4, unsupported_protocol_version = 5 };

inline const char* http_error_message(http_error e) {
  switch (e) {
    case http_error::unknown_transport: return "Transport unknown";
    case http_error::unknown_sid: return "Session ID unknown";
    case http_error::bad_handshake_method: return "Bad handshake method";
    case http_error::bad_request: return "Bad request";
    case http_error::forbidden: return "Forbidden";
    case http_error::unsupported_protocol_version: return "Unsupported protocol version";
  }
  return "Bad request";
}

inline std::string error_body(http_error e) {
  return "{\"code\":" + std::to_string(int(e)) + ",\"message\":\"" + http_error_message(e) + "\"}";
}

/// `f`, or a copy whose text is repaired when it is not valid UTF-8: every text frame the engine
/// sends passes here once (browsers close a websocket on an invalid text frame).
inline frame_ptr valid_utf8_frame(frame_ptr f) {
  if (!f || portico::detail::utf8_valid(f->text)) return f;
  auto copy = std::make_shared<frame>(*f);
  portico::detail::utf8_repair(copy->text);
  return copy;
}

/// What one request asks for, parsed once.
struct parsed_request {
  std::string path, query_string;
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view eio, transport, sid;
  bool b64 = false;
  int protocol = 0;
};

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
  void insert(const socket_ptr& s) {
    std::lock_guard<std::mutex> g(table_mu);
    table[s->sid()] = s;
  }

  bool transport_enabled(std::string_view t) const {
    return (t == "polling" && opts.polling) || (t == "websocket" && opts.websocket);
  }

  bool origin_allowed(std::string_view origin) const {
    if (opts.cors.allow) return opts.cors.allow(origin);
    for (auto& o : opts.cors.allowed_origins)
      if (o == "*" || o == origin) return true;
    return false;
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

  static void parse(const std::string& resource, parsed_request& r) {
    auto q = resource.find('?');
    r.path = resource.substr(0, q);
    if (q != std::string::npos) r.query_string = resource.substr(q + 1);
    r.query = parse_query(r.query_string);
    for (auto& [k, v] : r.query) {
      if (k == "EIO") r.eio = v;
      else if (k == "transport") r.transport = v;
      else if (k == "sid") r.sid = v;
      else if (k == "b64") r.b64 = !v.empty() && v != "0" && v != "false";
    }
  }

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

  /// CORS headers for an allowed origin; false if the origin is refused.
  bool apply_cors(const ws_connection_ptr& con) const {
    if (!opts.cors.enabled()) return true;
    const std::string& origin = con->get_request_header("Origin");
    if (origin.empty()) return true;  // not a cross-origin browser request
    if (!origin_allowed(origin)) return false;
    bool star = !opts.cors.allow && !opts.cors.credentials &&
                std::find(opts.cors.allowed_origins.begin(), opts.cors.allowed_origins.end(), "*") !=
                    opts.cors.allowed_origins.end();
    con->replace_header("Access-Control-Allow-Origin", star ? "*" : origin);
    if (!star) con->append_header("Vary", "Origin");
    if (opts.cors.credentials) con->replace_header("Access-Control-Allow-Credentials", "true");
    return true;
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

  /// Common checks of a request on the engine path; returns false after filling the refusal.
  bool check_request(const ws_connection_ptr& con, parsed_request& r, bool is_websocket) {
    if (!transport_enabled(r.transport)) {
      refuse_http(con, http_error::unknown_transport);
      return false;
    }
    if (!apply_cors(con)) {
      refuse_http(con, http_error::forbidden, "origin not allowed");
      return false;
    }
    r.protocol = protocol_of(r.eio);
    if (r.protocol == 0) {
      refuse_http(con, http_error::unsupported_protocol_version);
      return false;
    }
    if (r.sid.empty()) {
      if (con->get_request().get_method() != "GET") {
        refuse_http(con, http_error::bad_handshake_method);
        return false;
      }
      if (!is_websocket && r.transport == "websocket") {
        refuse_http(con, http_error::bad_request, "websocket transport without an upgrade");
        return false;
      }
    }
    // An upgrade speaks only the websocket transport: a "polling" one would start a websocket
    // session (or probe) that calls itself polling. Node accepts and closes it at once.
    if (is_websocket && r.transport != "websocket") {
      refuse_http(con, http_error::bad_request, "websocket upgrade for the polling transport");
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

  // ---------------------------------------------------------------- HTTP

  void handle_http(worker& w, websocketpp::connection_hdl hdl) {
    auto con = w.ep.get_con_from_hdl(hdl);
    // websocketpp ends every plain HTTP connection after one response: say so, so that
    // keep-alive clients do not try to reuse it.
    con->replace_header("Connection", "close");
    parsed_request r;
    parse(con->get_resource(), r);
    if (!path_matches(r.path)) {
      if (on_http && on_http(con)) return;
      con->set_status(websocketpp::http::status_code::not_found);
      con->replace_header("Content-Type", "text/plain");
      con->set_body("Not Found");
      return;
    }
    const std::string& method = con->get_request().get_method();
    if (method == "OPTIONS") {  // CORS preflight
      if (!apply_cors(con)) {
        refuse_http(con, http_error::forbidden, "origin not allowed");
        return;
      }
      con->replace_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
      const std::string& rh = con->get_request_header("Access-Control-Request-Headers");
      if (!rh.empty()) con->replace_header("Access-Control-Allow-Headers", rh);
      con->set_status(websocketpp::http::status_code::no_content);
      return;
    }
    if (!check_request(con, r, false)) return;

    if (r.sid.empty()) {  // a new polling session
      if (stopping) {
        con->set_status(websocketpp::http::status_code::service_unavailable);
        return;
      }
      auto s = std::make_shared<socket>(shared_from_this(), &w, register_session_sid(), make_handshake(con, r, r.protocol));
      std::string json = open_packet_json(s->sid(), opts.websocket && opts.allow_upgrades);
      std::string body;
      if (r.protocol == 3) append_payload_packet_v3(body, packet_type::open, json);
      else encode_to(body, packet_type::open, json);
      con->set_status(websocketpp::http::status_code::ok);
      con->replace_header("Content-Type", "text/plain; charset=UTF-8");
      con->set_body(body);
      insert(s);
      log.debug([&] { return "open " + s->sid() + " (polling) from " + s->handshake().remote_address; });
      s->start(transport_kind::polling, nullptr);
      return;
    }

    auto s = find(r.sid);
    if (!s) {
      refuse_http(con, http_error::unknown_sid);
      return;
    }
    if (method != "GET" && method != "POST") {
      refuse_http(con, http_error::bad_request, "method not allowed on a session");
      return;
    }
    if (r.transport != "polling" || s->transport_flag_.load() != int(transport_kind::polling)) {
      refuse_http(con, http_error::bad_request, "transport mismatch");
      return;
    }
    con->defer_http_response();
    if (method == "GET") {
      s->post([s, con, wp = &w, b64 = r.b64] { s->on_poll(con, wp, b64); });
    } else {
      bool binary = con->get_request_header("Content-Type").rfind("application/octet-stream", 0) == 0;
      std::string body = con->get_request_body();
      s->post([s, con, wp = &w, body = std::move(body), binary]() mutable { s->on_post(con, wp, std::move(body), binary); });
    }
  }

  /// websocketpp answers a request whose Content-Length passes max_http_body_size with 413
  /// itself, before the HTTP handler runs: such a POST closes its polling session all the same,
  /// like a body within that cap but over max_payload (on_post).
  void handle_failed_http(worker& w, websocketpp::connection_hdl hdl) {
    websocketpp::lib::error_code ec;
    auto con = w.ep.get_con_from_hdl(hdl, ec);
    if (ec || !con || con->get_response_code() != websocketpp::http::status_code::request_entity_too_large) return;
    if (con->get_request().get_method() != "POST") return;
    parsed_request r;
    parse(con->get_request().get_uri(), r);  // the handshake never got to set the connection's URI
    if (!path_matches(r.path) || r.sid.empty()) return;
    auto s = find(r.sid);
    if (!s) return;
    std::string length = con->get_request_header("Content-Length");
    length.erase(std::find_if(length.begin(), length.end(), [](char c) { return c < '0' || c > '9'; }), length.end());
    s->post([s, length = std::move(length)] {
      if (s->closed_ || s->transport_ != transport_kind::polling) return;
      s->close_with(close_reason::payload_too_large, "POST body of " + length + " bytes");
    });
  }

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

  // ---------------------------------------------------------------- WebSocket

  bool validate_ws(worker& w, websocketpp::connection_hdl hdl) {
    auto con = w.ep.get_con_from_hdl(hdl);
    parsed_request r;
    parse(con->get_resource(), r);
    if (!path_matches(r.path)) {
      if (on_websocket) return on_websocket(con);  // plain WebSocket routes (portico::http)
      con->set_status(websocketpp::http::status_code::not_found);
      return false;
    }
    if (!check_request(con, r, true)) return false;
    // Prepared frames are hybi13 framing (also that of drafts 7 and 8).
    const std::string& version = con->get_request_header("Sec-WebSocket-Version");
    if (version != "13" && version != "8" && version != "7") {
      refuse_http(con, http_error::bad_request, "unsupported websocket version");
      return false;
    }
    const void* id = con.get();
    core* self = this;  // connections die with the workers, which the core owns
    if (r.sid.empty()) {
      auto s = std::make_shared<socket>(shared_from_this(), &w, register_session_sid(), make_handshake(con, r, r.protocol));
      std::weak_ptr<socket> weak = s;
      con->set_open_handler([self, s, &w](websocketpp::connection_hdl h) {
        auto c = w.ep.get_con_from_hdl(h);
        if (self->stopping) {
          c->close(websocketpp::close::status::going_away, "");
          return;
        }
        self->insert(s);
        self->log.debug([&] { return "open " + s->sid() + " (websocket) from " + s->handshake().remote_address; });
        s->start(transport_kind::websocket, c);
      });
      attach_ws_handlers(con, weak, id);
      return true;
    }
    auto s = find(r.sid);
    if (!s) {
      refuse_http(con, http_error::unknown_sid);
      return false;
    }
    if (!opts.allow_upgrades) {
      refuse_http(con, http_error::bad_request, "upgrades are disabled");
      return false;
    }
    // Like the reference server, a websocket for a session that already upgraded (or is
    // upgrading) is accepted and closed right away by on_probe_open.
    std::weak_ptr<socket> weak = s;
    con->set_open_handler([weak, &w](websocketpp::connection_hdl h) {
      auto c = w.ep.get_con_from_hdl(h);
      auto s2 = weak.lock();
      if (!s2) {
        c->close(websocketpp::close::status::normal, "");
        return;
      }
      s2->post([s2, c, wp = &w] { s2->on_probe_open(c, wp); });
    });
    attach_ws_handlers(con, weak, id);
    return true;
  }

  void attach_ws_handlers(const ws_connection_ptr& con, const std::weak_ptr<socket>& weak, const void* id) {
    con->set_message_handler([weak, id](websocketpp::connection_hdl, ws_message_ptr msg) {
      if (auto s = weak.lock()) {
        if (s->on_home_worker()) s->handle_ws_frame(id, std::move(msg));
        else s->post([s, id, msg = std::move(msg)]() mutable { s->handle_ws_frame(id, std::move(msg)); });
      }
    });
    auto closed = [weak, id](websocketpp::close::status::value local_code) {
      if (auto s = weak.lock()) {
        if (s->on_home_worker()) s->on_ws_closed(id, local_code);
        else s->post([s, id, local_code] { s->on_ws_closed(id, local_code); });
      }
    };
    ws_connection_ptr::weak_type wc = con;
    con->set_close_handler([closed, wc](websocketpp::connection_hdl) {
      auto c = wc.lock();
      closed(c ? c->get_local_close_code() : websocketpp::close::status::blank);
    });
    con->set_fail_handler([closed](websocketpp::connection_hdl) { closed(websocketpp::close::status::blank); });
  }

  void dispatch_close_log(const socket& s, close_reason r, std::string_view detail) {
    bool abnormal = r == close_reason::parse_error || r == close_reason::payload_too_large ||
                    r == close_reason::transport_error;
    auto text = [&] {
      return "closed " + s.sid() + " (" + std::string(s.transport()) + ", " + s.handshake().remote_address +
             "): " + to_string(r) + (detail.empty() ? "" : ": ") + std::string(detail);
    };
    if (abnormal) log.warn(text);
    else log.info(text);
  }
};

}  // namespace detail

// ======================================================================= socket

inline bool socket::on_home_worker() const {
  // passing_on_ is read on the home's own thread only (short-circuit).
  return !core_->destroyed.load(std::memory_order_acquire) && home_.load(std::memory_order_acquire)->running_here() &&
         (!moving_.load(std::memory_order_acquire) || passing_on_);
}

inline void socket::post(std::function<void()> f) {
  if (core_->destroyed.load(std::memory_order_acquire)) return;
  if (moving_.load(std::memory_order_acquire)) {
    // On the new home, held at once: a detour through its queue would let what is queued there
    // already (the next broadcast's job) overtake it once the hold ends.
    if (home_.load(std::memory_order_acquire)->running_here() && !passing_on_) return held_.push_back(std::move(f));
    // What the old home posts was queued there before the move.
    if (prev_home_->running_here()) return post_to_home(std::move(f), true);
  }
  post_to_home(std::move(f), false);
}

inline void socket::post_to_home(std::function<void()> f, bool passed_on) {
  auto self = shared_from_this();
  unsigned slot = register_post();
  asio::post(home_.load()->ioc, [self, f = std::move(f), passed_on]() mutable {
    if (self->core_->destroyed.load(std::memory_order_acquire)) return;
    if (!self->home_.load(std::memory_order_acquire)->running_here())  // queued before the home moved
      return self->post_to_home(std::move(f), true);
    if (!self->moving_.load(std::memory_order_acquire)) return f();
    if (!passed_on) return self->held_.push_back(std::move(f));  // waits for what the old home passes on
    self->passing_on_ = true;
    f();
    self->passing_on_ = false;
  });
  unregister_post(slot);
}

/// Runs on the old home behind everything queued there, including posts that picked the old home
/// before the move and were still queuing, then releases the new home.
inline void socket::release_after_old_queue(detail::worker* old_home, detail::worker* new_home, bool last) {
  auto self = shared_from_this();
  asio::post(old_home->ioc, [self, old_home, new_home, last] {
    if (self->core_->destroyed.load(std::memory_order_acquire)) return;
    if (self->posting_[0].load() != 0 || !last)
      return self->release_after_old_queue(old_home, new_home, self->posting_[0].load() == 0);
    asio::post(new_home->ioc, [self] { self->release_held(); });
  });
}

inline void socket::release_held() {
  moving_.store(false, std::memory_order_release);
  auto held = std::move(held_);
  held_.clear();
  for (auto& f : held) f();
}

inline void socket::send(std::string text) {
  portico::detail::utf8_repair(text);  // browsers drop the connection on invalid UTF-8
  if (on_home_worker()) return send_packet(packet_type::message, std::move(text), false);
  auto self = shared_from_this();
  post([self, t = std::move(text)]() mutable { self->send_packet(packet_type::message, std::move(t), false); });
}

inline void socket::send_binary(std::string bytes) {
  if (on_home_worker()) return send_packet(packet_type::message, std::move(bytes), true);
  auto self = shared_from_this();
  post([self, b = std::move(bytes)]() mutable { self->send_packet(packet_type::message, std::move(b), true); });
}

inline void socket::send(frame_ptr f) {
  f = detail::valid_utf8_frame(std::move(f));
  if (on_home_worker()) return send_frame_here(f);
  auto self = shared_from_this();
  post([self, f = std::move(f)] { self->send_frame_here(f); });
}

inline void socket::close() {
  if (closed()) return;
  if (on_home_worker()) return close_with(close_reason::server_close);
  auto self = shared_from_this();
  post([self] { self->close_with(close_reason::server_close); });
}

inline void socket::start(detail::transport_kind t, con_ptr ws) {
  transport_ = t;
  transport_flag_ = int(t);
  open_ = true;
  if (t == detail::transport_kind::websocket) {
    ws_ = std::move(ws);
    ws_worker_ = home_.load();
    ws_b64_ = asks_b64(ws_);
    writable_ = true;
    std::string json = core_->open_packet_json(sid_, false);
    ws_send(ws_, ws_worker_, detail::prepared_frame(websocketpp::frame::opcode::text, encode(packet_type::open, json)));
  }
  timer_ = std::make_unique<asio::steady_timer>(home_.load()->ioc);
  if (hs_.protocol == 3) arm_heartbeat(core_->opts.ping_interval + core_->opts.ping_timeout, true);
  else arm_heartbeat(core_->opts.ping_interval, false);
  if (core_->on_open) core_->on_open(shared_from_this());
}

inline bool socket::asks_b64(const con_ptr& c) const {
  if (hs_.protocol != 3 || !c) return false;
  detail::parsed_request r;
  detail::core::parse(c->get_resource(), r);
  return r.b64;
}

inline void socket::arm_heartbeat_at(std::chrono::steady_clock::time_point at, bool waiting_pong) {
  if (closed_ || !timer_) return;
  awaiting_pong_ = waiting_pong;
  heartbeat_at_ = at;
  auto gen = ++timer_gen_;
  timer_->expires_at(at);
  std::weak_ptr<socket> weak = shared_from_this();
  timer_->async_wait([weak, gen](const asio::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s || gen != s->timer_gen_ || s->closed_) return;
    if (s->awaiting_pong_) {
      s->close_with(close_reason::ping_timeout);
      return;
    }
    s->send_packet(packet_type::ping, std::string(), false);
    // The pong deadline counts from when the ping was due, so a busy worker does not
    // stretch the client's allowance.
    s->arm_heartbeat_at(s->heartbeat_at_ + s->core_->opts.ping_timeout, true);
  });
}

inline void socket::ws_send(const con_ptr& c, detail::worker* w, detail::ws_message_ptr m) {
  if (!c) return;
  if (w->running_here()) {
    c->send(m);
  } else {
    asio::post(w->ioc, [c, m = std::move(m)] { c->send(m); });
  }
}

inline std::size_t socket::ws_buffered() const {
  return ws_ && ws_worker_->running_here() ? ws_->get_buffered_amount() : 0;
}

inline bool socket::send_refused(std::size_t queued, std::size_t size, detail::when_full full) {
  const std::size_t max = core_->opts.max_buffered_bytes;
  if (max == 0 || queued == 0 || queued + size <= max || full == detail::when_full::send) return false;
  if (full == detail::when_full::close) close_with(close_reason::transport_error, "send buffer full");
  return true;
}

inline void socket::send_packet(packet_type t, std::string data, bool binary, detail::when_full full) {
  if (closed_) return;
  if (transport_ == detail::transport_kind::websocket) {
    if (send_refused(ws_buffered(), data.size() + 1, full)) return;
    using op = websocketpp::frame::opcode::value;
    if (binary && hs_.protocol == 3 && ws_b64_) {
      ws_send(ws_, ws_worker_, detail::prepared_frame(op::text, encode_base64_v3(data, t)));
    } else if (binary) {
      if (hs_.protocol == 3) data = encode_binary_v3(data, t);
      ws_send(ws_, ws_worker_, detail::prepared_frame(op::binary, std::move(data)));
    } else {
      data.insert(data.begin(), type_char(t));
      ws_send(ws_, ws_worker_, detail::prepared_frame(op::text, std::move(data)));
    }
    return;
  }
  if (send_refused(buffer_bytes_, data.size(), full)) return;
  buffer_bytes_ += data.size();
  buffer_.push_back(detail::outgoing{t, binary, std::move(data)});
  flush_poll();
}

inline void socket::send_frame_here(const frame_ptr& f) {
  if (closed_ || !f) return;
  std::size_t size = f->text.size() + 1;
  for (auto& b : f->binaries) size += b.size();
  if (send_refused(transport_ == detail::transport_kind::websocket ? ws_buffered() : buffer_bytes_, size,
                   f->droppable ? detail::when_full::drop : detail::when_full::close))
    return;
  if (transport_ == detail::transport_kind::websocket && hs_.protocol == 4) {
    using op = websocketpp::frame::opcode::value;
    std::string t;
    t.reserve(f->text.size() + 1);
    t.push_back('4');
    t += f->text;
    ws_send(ws_, ws_worker_, detail::prepared_frame(op::text, std::move(t)));
    for (auto& b : f->binaries) ws_send(ws_, ws_worker_, detail::prepared_frame(op::binary, b));
    return;
  }
  // Checked as a whole above: the parts of one packet are never split by the limit.
  send_packet(packet_type::message, f->text, false, detail::when_full::send);
  for (auto& b : f->binaries) send_packet(packet_type::message, b, true, detail::when_full::send);
}

inline std::string socket::single_packet_payload(packet_type t) const {
  std::string body;
  if (hs_.protocol == 3) append_payload_packet_v3(body, t, {});
  else encode_to(body, t);
  return body;
}

inline void socket::respond_get(std::string body, bool binary_body) {
  auto con = std::move(poll_get_);
  poll_get_.reset();
  writable_ = false;
  detail::core::respond(con, poll_get_worker_, websocketpp::http::status_code::ok, std::move(body),
                        binary_body ? "application/octet-stream" : "text/plain; charset=UTF-8");
}

inline void socket::flush_poll() {
  if (!poll_get_ || buffer_.empty()) return;
  std::string body;
  bool xhr2 = false;
  if (hs_.protocol == 3 && !poll_b64_)
    xhr2 = std::any_of(buffer_.begin(), buffer_.end(), [](const detail::outgoing& o) { return o.binary; });
  for (auto& o : buffer_) {
    if (hs_.protocol == 4) append_payload_packet(body, o.type, o.data, o.binary);
    else if (xhr2) append_binary_payload_packet_v3(body, o.type, o.data, o.binary);
    else append_payload_packet_v3(body, o.type, o.data, o.binary);
  }
  buffer_.clear();
  buffer_bytes_ = 0;
  respond_get(std::move(body), xhr2);
}

inline void socket::on_poll(con_ptr con, detail::worker* w, bool b64) {
  if (!closed_ && pong_overdue()) close_with(close_reason::ping_timeout);  // timer not run yet
  if (closed_ && linger_) {
    linger_ = false;
    core_->erase(sid_);
    return detail::core::respond(con, w, websocketpp::http::status_code::ok, single_packet_payload(linger_packet_),
                                 "text/plain; charset=UTF-8");
  }
  if (closed_ || transport_ != detail::transport_kind::polling) {
    core_->log.info("refused GET on " + sid_ + ": " + (closed_ ? "session closed" : "session upgraded"));
    return detail::core::respond_error(con, w, closed_ ? detail::http_error::unknown_sid : detail::http_error::bad_request);
  }
  if (poll_get_) {
    detail::core::respond_error(con, w, detail::http_error::bad_request);
    close_with(close_reason::transport_error, "second concurrent GET");
    return;
  }
  poll_get_ = std::move(con);
  poll_get_worker_ = w;
  poll_b64_ = b64;
  writable_ = !upgrading_;
  if (!buffer_.empty()) flush_poll();
  else if (upgrading_) respond_get(single_packet_payload(packet_type::noop), false);
}

inline void socket::on_post(con_ptr con, detail::worker* w, std::string body, bool binary_body) {
  using sc = websocketpp::http::status_code::value;
  if (!closed_ && pong_overdue()) close_with(close_reason::ping_timeout);  // timer not run yet
  if (closed_ || transport_ != detail::transport_kind::polling) {
    core_->log.info("refused POST on " + sid_ + ": " + (closed_ ? "session closed" : "session upgraded"));
    return detail::core::respond_error(con, w, closed_ ? detail::http_error::unknown_sid : detail::http_error::bad_request);
  }
  if (body.size() > core_->opts.max_payload) {
    detail::core::respond(con, w, sc::request_entity_too_large, "", "text/plain");
    close_with(close_reason::payload_too_large, "POST body of " + std::to_string(body.size()) + " bytes");
    return;
  }
  // Text is repaired before decoding (as Node decodes the body to a string first), so v3
  // lengths count the same characters the client counted and handlers only see UTF-8.
  bool repaired = !binary_body && portico::detail::utf8_repair(body);
  std::vector<packet> packets;
  errc e = hs_.protocol == 4 ? decode_payload(body, packets)
           : binary_body     ? decode_binary_payload_v3(body, packets)
                             : decode_payload_v3(body, packets);
  if (e != errc::ok) {
    detail::core::respond_error(con, w, detail::http_error::bad_request);
    close_with(close_reason::parse_error, std::string("malformed payload: ") + describe(e));
    return;
  }
  if (binary_body)  // v3 XHR2 payload: its string packets are text
    for (auto& p : packets) repaired |= !p.binary && portico::detail::utf8_repair(p.data);
  if (repaired) core_->log.info("replaced invalid UTF-8 in a POST from " + sid_ + " by U+FFFD");
  detail::core::respond(con, w, sc::ok, "ok", "text/html");
  for (auto& p : packets) {
    if (closed_) break;
    handle_packet(p.type, p.binary, std::move(p.data));
  }
}

inline void socket::handle_packet(packet_type t, bool binary, std::string data) {
  switch (t) {
    case packet_type::message:
      if (core_->on_message) core_->on_message(shared_from_this(), message{binary, std::move(data)});
      break;
    case packet_type::pong:
      if (hs_.protocol == 4 && awaiting_pong_) arm_heartbeat(core_->opts.ping_interval, false);
      break;
    case packet_type::ping:
      if (hs_.protocol == 3) {  // v3: the client pings, we answer and restart its timeout
        send_packet(packet_type::pong, std::move(data), false);
        arm_heartbeat(core_->opts.ping_interval + core_->opts.ping_timeout, true);
      }
      break;
    case packet_type::close:
      close_with(close_reason::client_close);
      break;
    default:  // open, upgrade, noop: nothing to do on an established transport
      break;
  }
}

inline void socket::handle_ws_frame(const void* con_id, detail::ws_message_ptr msg) {
  if (closed_) return;
  if (probe_ && con_id == probe_.get()) return handle_probe_frame(std::move(msg));
  if (!ws_ || con_id != ws_.get()) return;  // a stale connection
  std::string& raw = msg->get_raw_payload();
  if (raw.size() > core_->opts.max_payload) return close_with(close_reason::payload_too_large, "websocket message");
  if (msg->get_opcode() == websocketpp::frame::opcode::binary) {
    if (hs_.protocol == 3) {
      packet_view v;
      if (errc e = decode_binary_v3(raw, v); e != errc::ok)
        return close_with(close_reason::parse_error, std::string("malformed binary packet: ") + describe(e));
      auto type = v.type;
      std::string data = std::move(raw);
      data.erase(0, 1);
      return handle_packet(type, true, std::move(data));
    }
    return handle_packet(packet_type::message, true, std::move(raw));
  }
  if (hs_.protocol == 3 && !raw.empty() && raw[0] == 'b') {  // v3 base64 binary in a text frame
    packet p;
    if (errc e = decode_base64_v3(raw, p); e != errc::ok)
      return close_with(close_reason::parse_error, std::string("malformed base64 packet: ") + describe(e));
    return handle_packet(p.type, true, std::move(p.data));
  }
  packet_view v;
  if (errc e = decode(raw, v); e != errc::ok) {
    return close_with(close_reason::parse_error, std::string("malformed packet: ") + describe(e));
  }
  auto type = v.type;
  std::string data = std::move(raw);  // the frame's buffer becomes the message: no copy
  data.erase(0, 1);
  handle_packet(type, false, std::move(data));
}

inline void socket::on_probe_open(con_ptr con, detail::worker* w) {
  if (closed_ || transport_ != detail::transport_kind::polling || upgrading_) {
    auto run = [con] {
      websocketpp::lib::error_code ec;
      con->close(websocketpp::close::status::normal, "", ec);
    };
    if (w->running_here()) run();
    else asio::post(w->ioc, run);
    return;
  }
  probe_ = std::move(con);
  probe_worker_ = w;
  upgrading_ = true;
  upgrading_flag_ = true;
  // Like the reference server's upgradeTimeout: a probe that never completes is dropped.
  probe_timer_ = std::make_unique<asio::steady_timer>(home_.load()->ioc);
  probe_timer_->expires_after(std::chrono::seconds(10));
  std::weak_ptr<socket> weak = shared_from_this();
  const void* id = probe_.get();
  probe_timer_->async_wait([weak, id](const asio::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s || s->closed_ || !s->probe_ || s->probe_.get() != id) return;
    s->abort_probe("upgrade timeout");
  });
}

inline void socket::abort_probe(const char* why) {
  core_->log.info("upgrade of " + sid_ + " aborted: " + why);
  auto c = std::move(probe_);
  probe_.reset();
  upgrading_ = false;
  upgrading_flag_ = false;
  if (probe_timer_) probe_timer_->cancel();
  if (poll_get_) writable_ = true;
  auto w = probe_worker_;
  asio::post(w->ioc, [c] {
    websocketpp::lib::error_code ec;
    c->close(websocketpp::close::status::normal, "", ec);
  });
}

inline void socket::handle_probe_frame(detail::ws_message_ptr msg) {
  packet_view v;
  const std::string& raw = msg->get_payload();
  bool text = msg->get_opcode() == websocketpp::frame::opcode::text;
  if (text && decode(raw, v) == errc::ok && v.type == packet_type::ping && v.data == "probe") {
    ws_send(probe_, probe_worker_, detail::prepared_frame(websocketpp::frame::opcode::text, "3probe"));
    if (poll_get_ && buffer_.empty()) respond_get(single_packet_payload(packet_type::noop), false);
    return;
  }
  if (text && decode(raw, v) == errc::ok && v.type == packet_type::upgrade) return complete_upgrade();
  // anything else aborts the upgrade, not the session
  abort_probe("unexpected packet on the probe");
}

inline void socket::complete_upgrade() {
  if (probe_timer_) probe_timer_->cancel();
  probe_timer_.reset();  // on the old home, where it was created
  if (poll_get_) respond_get(single_packet_payload(packet_type::noop), false);
  ws_ = std::move(probe_);
  probe_.reset();
  ws_worker_ = probe_worker_;
  ws_b64_ = asks_b64(ws_);
  upgrading_ = false;
  upgrading_flag_ = false;
  transport_ = detail::transport_kind::websocket;
  transport_flag_ = int(detail::transport_kind::websocket);
  writable_ = true;
  auto pending = std::move(buffer_);
  buffer_.clear();
  buffer_bytes_ = 0;
  auto finish = [this, pending = std::move(pending)]() mutable {
    for (auto& o : pending) send_packet(o.type, std::move(o.data), o.binary);
    arm_heartbeat(core_->opts.ping_interval, false);
  };
  if (ws_worker_ == home_.load()) return finish();
  // Move home to the websocket's worker so its frames never hop threads.
  ++timer_gen_;
  if (timer_) timer_->cancel();
  timer_ = std::make_unique<asio::steady_timer>(ws_worker_->ioc);
  // Nothing sent to the session may overtake what was sent before the move. On the new home, in
  // this order: the flush of what was buffered during the upgrade; what was queued on the old
  // home before the move, passed on by it in order; then what was posted to the new home
  // directly meanwhile (held; on_home_worker() is false there until then).
  prev_home_ = home_.load();
  moving_.store(true, std::memory_order_release);
  auto self = shared_from_this();
  detail::worker* old_home = prev_home_;
  detail::worker* new_home = ws_worker_;
  asio::post(new_home->ioc, [self, finish = std::move(finish)]() mutable {
    self->passing_on_ = true;
    finish();
    self->passing_on_ = false;
  });
  home_.store(new_home);
  moved_.store(1);
  release_after_old_queue(old_home, new_home, false);
}

inline void socket::on_ws_closed(const void* con_id, websocketpp::close::status::value local_code) {
  if (closed_) return;
  if (probe_ && con_id == probe_.get()) {
    probe_.reset();
    if (probe_timer_) probe_timer_->cancel();
    upgrading_ = false;
    upgrading_flag_ = false;
    if (poll_get_) writable_ = true;
    return;
  }
  if (ws_ && con_id == ws_.get()) {
    ws_.reset();  // already closed: nothing to send
    if (local_code == websocketpp::close::status::message_too_big) close_with(close_reason::payload_too_large);
    else if (local_code == websocketpp::close::status::invalid_payload)
      close_with(close_reason::parse_error, "text frame is not UTF-8 (closed with 1007)");
    else close_with(close_reason::transport_close);
  }
}

inline void socket::close_with(close_reason r, std::string_view detail) {
  if (closed_) return;
  closed_ = true;
  closed_flag_.store(true, std::memory_order_release);
  writable_ = false;
  ++timer_gen_;
  if (timer_) timer_->cancel();
  if (probe_timer_) probe_timer_->cancel();
  // A polling client learns of the close only from its next GET: keep the sid for a moment so
  // that GET is answered (noop after the client's own close, a close packet after ours) rather
  // than with "Session ID unknown", which clients report as a transport error.
  const bool polite = r == close_reason::client_close || r == close_reason::server_close;
  if (polite && transport_ == detail::transport_kind::polling && !poll_get_ && timer_ && !core_->stopping) {
    linger_ = true;
    linger_packet_ = r == close_reason::client_close ? packet_type::noop : packet_type::close;
    timer_->expires_after(std::chrono::seconds(1));
    std::weak_ptr<socket> weak = shared_from_this();
    timer_->async_wait([weak](const asio::error_code& ec) {
      auto s = weak.lock();
      if (ec || !s || !s->linger_) return;
      s->linger_ = false;
      s->core_->erase(s->sid_);
    });
  } else {
    core_->erase(sid_);
  }
  core_->dispatch_close_log(*this, r, detail);

  if (poll_get_) {
    // The client asked to close: end its pending GET quietly; otherwise tell it with a close packet.
    respond_get(single_packet_payload(r == close_reason::client_close ? packet_type::noop : packet_type::close), false);
  }
  buffer_.clear();
  buffer_bytes_ = 0;
  // Over websocket the close frame alone says it (as the reference server does): a `1` packet
  // first would make python-engineio treat the drop as final and never reconnect.
  auto close_con = [](con_ptr c, detail::worker* w) {
    if (!c) return;
    auto run = [c] {
      websocketpp::lib::error_code ec;
      c->close(websocketpp::close::status::normal, "", ec);
    };
    if (w->running_here()) run();
    else asio::post(w->ioc, run);
  };
  close_con(std::move(ws_), ws_worker_);
  close_con(std::move(probe_), probe_worker_);
  ws_.reset();
  probe_.reset();
  if (open_ && core_->on_close) core_->on_close(shared_from_this(), r);
}

// ======================================================================= server

class server {
 public:
  explicit server(server_options o = {}) : core_(std::make_shared<detail::core>(std::move(o))) {}
  ~server() {
    stop();
    // Destroying the workers destroys what is still queued on them, which breaks the
    // session -> core -> worker -> queued handler -> session cycles.
    core_->destroyed = true;
    core_->workers.clear();
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Handlers run on the session's home worker. Set them before start().
  void on_open(std::function<void(const socket_ptr&)> f) { core_->on_open = std::move(f); }
  void on_message(std::function<void(const socket_ptr&, message&&)> f) { core_->on_message = std::move(f); }
  void on_close(std::function<void(const socket_ptr&, close_reason)> f) { core_->on_close = std::move(f); }
  /// Plain HTTP requests outside `path`: return true when handled (response set or deferred);
  /// otherwise the server answers 404.
  void on_http(std::function<bool(const http_connection_ptr&)> f) { core_->on_http = std::move(f); }
  /// WebSocket upgrades outside `path`, from websocketpp's validate handler: return false to
  /// refuse with the status set on the connection (websocketpp answers 400 if none), true to
  /// accept after setting the connection's open/message/close handlers.
  void on_websocket(std::function<bool(const http_connection_ptr&)> f) { core_->on_websocket = std::move(f); }
  /// Runs once at the start of stop(), before the sessions close: the owner of the connections
  /// on_websocket accepted closes them here (they are not Engine.IO sessions).
  void on_stop(std::function<void()> f) { core_->on_stop = std::move(f); }

  const server_options& options() const { return core_->opts; }
  portico::logger& log() { return core_->log; }

  /// Binds every worker to host:port (port 0 = ephemeral, shared by all workers).
  void listen(const std::string& host, std::uint16_t port) {
    auto& c = *core_;
    unsigned n = c.opts.threads ? c.opts.threads : std::max(1u, std::thread::hardware_concurrency());
    asio::ip::address addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host);
    for (unsigned i = 0; i < n; ++i) {
      auto w = std::make_unique<detail::worker>(i);
      setup_endpoint(*w);
      asio::ip::tcp::endpoint ep(addr, port);
      w->ep.listen(ep);
      if (port == 0) {
        asio::error_code ec;
        port = w->ep.get_local_endpoint(ec).port();
      }
      c.workers.push_back(std::move(w));
    }
    port_ = port;
    for (auto& w : c.workers) w->ep.start_accept();
  }

  std::uint16_t port() const { return port_; }

  /// Runs the workers on background threads.
  void start() {
    if (started_.exchange(true)) return;
    for (auto& wp : core_->workers) guards_.emplace_back(wp->ioc.get_executor());
    for (auto& wp : core_->workers) {
      auto* w = wp.get();
      {
        std::lock_guard<std::mutex> g(run_mu_);
        ++running_;
      }
      w->thread = std::thread([this, w] {
        for (;;) {
          try {
            w->ioc.run();
            break;
          } catch (const std::exception& e) {
            core_->log.error(std::string("worker exception: ") + e.what());
          }
        }
        std::lock_guard<std::mutex> g(run_mu_);
        --running_;
        run_cv_.notify_all();
      });
    }
  }

  /// start() and block until stop().
  void run() {
    start();
    {
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait(g, [&] { return stop_requested_ || stopped_; });
    }
    stop();
  }

  /// Idempotent and thread-safe: stop accepting, close every session, join the threads.
  /// Called from a handler (a worker thread) it only initiates; the destructor joins.
  void stop() {
    auto& c = *core_;
    if (!c.stopping.exchange(true)) {
      for (auto& w : c.workers) {
        asio::post(w->ioc, [wp = w.get()] {
          websocketpp::lib::error_code ec;
          wp->ep.stop_listening(ec);
        });
      }
      if (c.on_stop) c.on_stop();
      std::vector<socket_ptr> all;
      {
        std::lock_guard<std::mutex> g(c.table_mu);
        for (auto& kv : c.table) all.push_back(kv.second);
      }
      for (auto& s : all) {
        auto sp = s;
        s->post([sp] { sp->close_with(close_reason::forced); });
      }
      {
        std::lock_guard<std::mutex> g(run_mu_);
        stop_requested_ = true;
      }
      run_cv_.notify_all();
    }
    bool on_worker = false;
    for (auto& w : c.workers) on_worker = on_worker || w->running_here();
    if (on_worker) return;
    std::lock_guard<std::mutex> join_guard(join_mu_);
    if (started_ && !stopped_) {
      // Two rounds through every worker: the first runs the closes, the second the HTTP
      // responses and close frames they posted to other workers.
      auto deadline = std::chrono::steady_clock::now() + c.opts.stop_grace;
      barrier(deadline);
      barrier(deadline);
      // Deferred HTTP connections are not asio work: the guards kept the workers alive until
      // here. Now let run() return once the remaining connections have finished closing.
      for (auto& g : guards_) g.reset();
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait_until(g, deadline, [&] { return running_ == 0; });
    }
    for (auto& w : c.workers) w->ioc.stop();
    for (auto& w : c.workers)
      if (w->thread.joinable()) w->thread.join();
    {
      std::lock_guard<std::mutex> g(c.table_mu);
      c.table.clear();  // breaks session <-> core cycles of sessions that never closed
    }
    {
      std::lock_guard<std::mutex> g(run_mu_);
      stopped_ = true;
    }
    run_cv_.notify_all();
  }

  /// Sends one frame to many sockets: one post per foreign worker, one prepared websocketpp
  /// message per worker shared by all its websocket recipients.
  void send_many(frame_ptr f, const std::vector<socket_ptr>& to) {
    if (!f || to.empty()) return;
    f = detail::valid_utf8_frame(std::move(f));  // once per broadcast, not per recipient
    std::unordered_map<detail::worker*, std::vector<socket_ptr>> groups;
    std::vector<std::pair<socket*, unsigned>> registered;  // until the jobs are queued (home moves)
    registered.reserve(to.size());
    for (auto& s : to)
      if (s && !s->closed()) {
        registered.emplace_back(s.get(), s->register_post());
        groups[s->home_.load()].push_back(s);
      }
    for (auto& [w, list] : groups) {
      auto job = [f, list = std::move(list), w = w]() {
        detail::ws_message_ptr text;
        std::vector<detail::ws_message_ptr> bins;
        std::size_t size = f->text.size() + 1;  // what one recipient's send buffer grows by
        for (auto& b : f->binaries) size += b.size();
        const auto full = f->droppable ? detail::when_full::drop : detail::when_full::close;
        for (auto& s : list) {
          if (!s->on_home_worker()) {  // moved meanwhile
            s->send(f);
            continue;
          }
          if (s->closed_) continue;
          if (s->transport_ == detail::transport_kind::websocket && s->hs_.protocol == 4 && s->ws_worker_ == w) {
            if (!text) {
              std::string t;
              t.reserve(f->text.size() + 1);
              t.push_back('4');
              t += f->text;
              text = detail::prepared_frame(websocketpp::frame::opcode::text, std::move(t));
              for (auto& b : f->binaries) bins.push_back(detail::prepared_frame(websocketpp::frame::opcode::binary, b));
            }
            if (s->send_refused(s->ws_->get_buffered_amount(), size, full)) continue;
            s->ws_->send(text);
            for (auto& b : bins) s->ws_->send(b);
          } else {
            s->send_frame_here(f);
          }
        }
      };
      if (w->running_here()) job();
      else asio::post(w->ioc, std::move(job));
    }
    for (auto& [s, slot] : registered) s->unregister_post(slot);
  }

  /// The open session with this sid, or null.
  socket_ptr find(std::string_view sid) const { return core_->find(sid); }

  /// Number of open sessions (for tests and metrics).
  std::size_t session_count() const {
    std::lock_guard<std::mutex> g(core_->table_mu);
    return core_->table.size();
  }

 private:
  void setup_endpoint(detail::worker& w) {
    auto& c = *core_;
    auto& ep = w.ep;
    ep.init_asio(&w.ioc);
    ep.set_reuse_addr(true);
    ep.set_listen_backlog(1024);
    ep.set_max_message_size(c.opts.max_payload);
    ep.set_max_http_body_size(c.opts.max_payload * 2 + 1024);
    ep.set_close_handshake_timeout(static_cast<long>(std::max<long long>(200, c.opts.stop_grace.count())));
    ep.set_tcp_pre_bind_handler([](std::shared_ptr<asio::ip::tcp::acceptor> a) {
      asio::error_code ec;
      a->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
      return websocketpp::lib::error_code();
    });
    ep.set_socket_init_handler([](websocketpp::connection_hdl, asio::ip::tcp::socket& s) {
      asio::error_code ec;
      s.set_option(asio::ip::tcp::no_delay(true), ec);
    });
    detail::core* core = core_.get();  // not shared: the core owns the endpoint
    detail::worker* wp = &w;
    ep.set_http_handler([core, wp](websocketpp::connection_hdl h) {
      core->handle_http(*wp, h);
      detail::core::drop_head_body(wp->ep.get_con_from_hdl(h));
    });
    ep.set_tcp_post_init_handler([wp](websocketpp::connection_hdl h) {
      auto con = wp->ep.get_con_from_hdl(h);
      con->get_request().note_peer(detail::core::remote_of(con));
    });
    // A request refused before any handler ran: one log line, and a POST too big for websocketpp
    // closes its polling session.
    ep.set_fail_handler([core, wp](websocketpp::connection_hdl h) {
      core->log_early_refusal(wp->ep.get_con_from_hdl(h));
      core->handle_failed_http(*wp, h);
    });
    ep.set_validate_handler([core, wp](websocketpp::connection_hdl h) { return core->validate_ws(*wp, h); });
  }

  /// Waits until every worker has run the tasks queued so far (or the deadline passes).
  void barrier(std::chrono::steady_clock::time_point deadline) {
    auto left = std::make_shared<std::pair<std::mutex, std::size_t>>();
    auto cv = std::make_shared<std::condition_variable>();
    left->second = core_->workers.size();
    for (auto& w : core_->workers)
      asio::post(w->ioc, [left, cv] {
        std::lock_guard<std::mutex> g(left->first);
        if (--left->second == 0) cv->notify_all();
      });
    std::unique_lock<std::mutex> g(left->first);
    cv->wait_until(g, deadline, [&] { return left->second == 0; });
  }

  std::shared_ptr<detail::core> core_;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards_;
  std::uint16_t port_ = 0;
  std::atomic<bool> started_{false};
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  std::mutex join_mu_;
  unsigned running_ = 0;
  bool stop_requested_ = false;
  bool stopped_ = false;
};

}  // namespace portico::engineio
