#pragma once
/// portico::client: a Socket.IO v5 client over Engine.IO v4: websocket, HTTP long-polling, or
/// long-polling first and then the upgrade to websocket (`options::transports`).
///
/// Threading: one client = one I/O thread. Every handler runs on that thread. `emit`, `connect`,
/// `disconnect` and ack handles may be called from any thread: they encode on the caller's thread
/// and post the frames to the I/O thread. Destroying the client never hangs: it closes politely for
/// at most `options::close_grace`, then stops its thread (from inside a handler it detaches instead
/// of joining itself).
#if defined(ASIO_NO_DEPRECATED)
#error "websocketpp 0.8.2 uses asio::io_service: build portico without ASIO_NO_DEPRECATED"
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <asio.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>
#include <websocketpp/logger/stub.hpp>

#include "../detail/user_code.hpp"
#include "../engineio/codec.hpp"
#include "../log.hpp"
#include "detail/http_exchange.hpp"
#include "../json/value.hpp"
#include "../socketio/ack_status.hpp"
#include "../socketio/args.hpp"
#include "../socketio/codec.hpp"

namespace portico::client {

/// TLS for `https://` and `wss://` URLs. Those need `#include <portico/client/tls.hpp>` somewhere in
/// the program and OpenSSL at link time (`-lssl -lcrypto`); without it they are refused.
struct tls_options {
  /// PEM file of the CA certificates to trust. With `ca_file` and `ca_dir` both empty the system's
  /// default store is used (Debian: /etc/ssl/certs).
  std::string ca_file;
  /// A directory of CA certificates named by subject hash (`openssl rehash DIR`).
  std::string ca_dir;
  /// Verify the server: its chain must end at a trusted CA and its certificate must name the URL's
  /// host (DNS name or IP address in subjectAltName). `false` accepts any server, logs one warning
  /// per client, and is meant for tests only.
  bool verify = true;
  /// A client certificate (PEM, may hold the chain) and its private key, for servers that ask for
  /// one; both or neither.
  std::string cert_file, key_file;
};

/// How to reach the server and how to behave when the connection drops.
struct options {
  std::string path = "/socket.io/";
  /// Transports in the order tried, as socket.io-client's `transports`: {"websocket"} (the
  /// default: one round trip less), {"polling"} (HTTP long-polling only, e.g. through proxies that
  /// refuse upgrades), {"polling", "websocket"} (socket.io-client's default: open with long-polling,
  /// then upgrade to websocket when the server offers it and `upgrade` is true).
  std::vector<std::string> transports{"websocket"};
  bool upgrade = true;
  std::map<std::string, std::string> headers;  ///< extra HTTP headers of every handshake / polling request
  std::map<std::string, std::string> query;    ///< extra query parameters (percent-encoded for you)
  /// Reconnect after "transport close" / "ping timeout" / a failed open, with exponential backoff.
  bool reconnection = true;
  std::size_t reconnection_attempts = 0;  ///< 0 = unlimited
  std::chrono::milliseconds reconnection_delay{1000};
  std::chrono::milliseconds reconnection_delay_max{5000};
  double randomization_factor = 0.5;  ///< each delay is spread by +-factor
  /// Time allowed from starting the handshake (websocket or first poll) to the Engine.IO open packet.
  std::chrono::milliseconds open_timeout{20000};
  /// How long the destructor waits for the polite close (DISCONNECT packets, close frame).
  std::chrono::milliseconds close_grace{500};
  /// A received packet may announce at most this many binary attachments, and carry at most
  /// `max_packet_bytes` of text and attachments (counted as they arrive); more is a parse error.
  std::size_t max_attachments = socketio::default_max_attachments;
  std::size_t max_packet_bytes = socketio::default_max_packet_bytes;
  /// Certificates and verification for `https://` / `wss://` URLs (unused for http:// and ws://).
  tls_options tls;
  /// Log lines (the TLS `verify = false` warning) go here; nullptr = the client's own logger
  /// "portico.client" (warn level).
  portico::logger* log = nullptr;
};

using socketio::ack_status;  ///< ok, timeout or disconnected (shared with the server side)
using socketio::to_string;

/// The answer to an emit with ack. Owns the ACK packet: keep it (move it) as long as you need.
struct ack_result {
  ack_status status = ack_status::timeout;
  socketio::packet packet;
  bool ok() const noexcept { return status == ack_status::ok; }
  /// The ack's arguments (empty unless ok()). A view: valid while this result lives, unmoved.
  socketio::args args() const noexcept { return ok() ? socketio::args(packet) : socketio::args(); }
};
using ack_callback = std::function<void(ack_result&)>;

/// A refused namespace connection (CONNECT_ERROR) or a connection that could not be opened.
struct connect_error {
  std::string message;
  /// The `data` the server attached, as JSON text ("null" when none).
  std::string data_json = "null";
  /// `data` parsed (a fresh document each call).
  json::document data() const {
    json::document d;
    d.Parse(data_json.c_str(), data_json.size());
    return d;
  }
};

class client;
class socket;

namespace detail {
class engine;

/// The websocketpp client configuration: one thread touches the endpoint, logs compiled out.
struct ws_client_config : websocketpp::config::asio_client {
  using type = ws_client_config;
  using base = websocketpp::config::asio_client;
  using concurrency_type = websocketpp::concurrency::none;
  using request_type = base::request_type;
  using response_type = base::response_type;
  using message_type = base::message_type;
  using con_msg_manager_type = base::con_msg_manager_type;
  using endpoint_msg_manager_type = base::endpoint_msg_manager_type;
  using alog_type = websocketpp::log::stub;
  using elog_type = websocketpp::log::stub;
  using rng_type = websocketpp::random::random_device::int_generator<std::uint32_t, concurrency_type>;
  struct transport_config : base::transport_config {
    using concurrency_type = type::concurrency_type;
    using alog_type = type::alog_type;
    using elog_type = type::elog_type;
    using request_type = type::request_type;
    using response_type = type::response_type;
    using socket_type = websocketpp::transport::asio::basic_socket::endpoint;
    static const bool enable_multithreading = false;
    static const long timeout_dns_resolve = 5000;
    static const long timeout_connect = 5000;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;
  static const bool enable_multithreading = false;
  /// A peer that never answers our close frame must not delay shutdown for long.
  static const long timeout_close_handshake = 1000;
};
using ws_client = websocketpp::client<ws_client_config>;
/// The same for both endpoint kinds: websocketpp's TLS client config shares core_client's messages.
using ws_message_ptr = ws_client::message_ptr;
using ws_message_handler = std::function<void(websocketpp::connection_hdl, ws_message_ptr)>;

/// One websocket connection, plain or TLS: the part of websocketpp's connection API the engine
/// uses, so that one engine drives both (client.hpp never names the TLS config).
class ws_link {
 public:
  virtual ~ws_link() = default;
  virtual void append_header(const std::string& name, const std::string& value) = 0;
  virtual void set_open_handler(websocketpp::open_handler h) = 0;
  virtual void set_message_handler(ws_message_handler h) = 0;
  virtual void set_close_handler(websocketpp::close_handler h) = 0;
  virtual void set_fail_handler(websocketpp::fail_handler h) = 0;
  virtual void send(const std::string& payload, websocketpp::frame::opcode::value op) = 0;
  virtual void close(websocketpp::close::status::value code, const std::string& reason,
                     websocketpp::lib::error_code& ec) = 0;
  virtual void terminate(websocketpp::lib::error_code& ec) = 0;
  virtual websocketpp::session::state::value get_state() const = 0;
  /// After a failure: why, when it is a TLS failure ("tls error: ..."); "" otherwise.
  virtual std::string failure() const { return {}; }
};
using ws_link_ptr = std::shared_ptr<ws_link>;

template <class Config>
class basic_ws_link : public ws_link {
 public:
  using connection_ptr = typename websocketpp::client<Config>::connection_ptr;
  explicit basic_ws_link(connection_ptr c) : c_(std::move(c)) {}
  void append_header(const std::string& name, const std::string& value) override { c_->append_header(name, value); }
  void set_open_handler(websocketpp::open_handler h) override { c_->set_open_handler(std::move(h)); }
  void set_message_handler(ws_message_handler h) override { c_->set_message_handler(std::move(h)); }
  void set_close_handler(websocketpp::close_handler h) override { c_->set_close_handler(std::move(h)); }
  void set_fail_handler(websocketpp::fail_handler h) override { c_->set_fail_handler(std::move(h)); }
  void send(const std::string& payload, websocketpp::frame::opcode::value op) override { c_->send(payload, op); }
  void close(websocketpp::close::status::value code, const std::string& reason,
             websocketpp::lib::error_code& ec) override {
    c_->close(code, reason, ec);
  }
  void terminate(websocketpp::lib::error_code& ec) override { c_->terminate(ec); }
  websocketpp::session::state::value get_state() const override { return c_->get_state(); }
  const connection_ptr& connection() const noexcept { return c_; }

 protected:
  connection_ptr c_;
};

/// A websocketpp client endpoint on the engine's io_context.
class ws_endpoint {
 public:
  virtual ~ws_endpoint() = default;
  /// A connection to `uri`, not started yet; nullptr with `ec` set for a bad URI.
  virtual ws_link_ptr get_connection(const std::string& uri, websocketpp::lib::error_code& ec) = 0;
  virtual void connect(const ws_link_ptr& link) = 0;
};

template <class Config>
class basic_ws_endpoint : public ws_endpoint {
 public:
  explicit basic_ws_endpoint(asio::io_context& io) {
    ws_.init_asio(&io);
    ws_.set_user_agent("portico-client");
  }
  ws_link_ptr get_connection(const std::string& uri, websocketpp::lib::error_code& ec) override {
    auto c = ws_.get_connection(uri, ec);
    if (ec) return nullptr;
    return make_link(std::move(c));
  }
  void connect(const ws_link_ptr& link) override {
    ws_.connect(static_cast<basic_ws_link<Config>&>(*link).connection());
  }

 protected:
  virtual ws_link_ptr make_link(typename basic_ws_link<Config>::connection_ptr c) {
    return std::make_shared<basic_ws_link<Config>>(std::move(c));
  }
  websocketpp::client<Config> ws_;
};

/// What client/tls.hpp plugs in for https:// and wss:// (client.hpp itself needs no OpenSSL): one
/// per client, made on the first TLS URL, holding the TLS context of `options::tls`.
class tls_backend {
 public:
  virtual ~tls_backend() = default;
  virtual ws_endpoint& websocket() = 0;
  /// A new long-polling exchange over TLS.
  virtual std::shared_ptr<any_http_exchange> exchange() = 0;
};
using tls_backend_factory = std::unique_ptr<tls_backend> (*)(asio::io_context&, const tls_options&, portico::logger&);
/// Set when the program includes client/tls.hpp; null: TLS URLs are refused.
inline std::atomic<tls_backend_factory>& tls_factory() noexcept {
  static std::atomic<tls_backend_factory> f{nullptr};
  return f;
}
/// Failures that say more than "websocket error" / "xhr poll error" start with this.
inline constexpr std::string_view tls_error_prefix = "tls error: ";

/// Runs a user callback; an exception from it loses that one callback, never the connection.
template <class F, class... A>
void guarded(F& f, A&&... a) noexcept {
  portico::detail::run_user_code(nullptr, "a client callback", [&] { f(std::forward<A>(a)...); });
}

inline std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

/// "http://h:p", "ws://h:p[/...]" -> "ws://h:p"; "https://h:p", "wss://h:p[/...]" -> "wss://h:p".
inline std::string websocket_origin(std::string_view url) {
  std::string_view rest;
  const char* scheme = "ws://";
  if (url.substr(0, 7) == "http://") rest = url.substr(7);
  else if (url.substr(0, 5) == "ws://") rest = url.substr(5);
  else if (url.substr(0, 8) == "https://") rest = url.substr(8), scheme = "wss://";
  else if (url.substr(0, 6) == "wss://") rest = url.substr(6), scheme = "wss://";
  else throw std::invalid_argument("portico::client: only http://, ws://, https:// and wss:// URLs are supported");
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.empty()) throw std::invalid_argument("portico::client: URL without host");
  return scheme + std::string(rest);
}

template <class... A>
socketio::encoded encode_packet(socketio::packet_type t, std::string_view nsp, std::uint64_t id,
                                const std::string_view* name, const A&... a) {
  socketio::packet_writer pw(t, nsp, id, "4");  // the Engine.IO message prefix
  auto& w = pw.writer();
  w.StartArray();
  if (name) w.String(name->data(), static_cast<rapidjson::SizeType>(name->size()));
  socketio::detail::write_args(w, pw.context(), a...);
  w.EndArray();
  socketio::encoded e;
  e.text = std::move(pw.finish());
  e.binaries.reserve(pw.context().attachments.size());
  for (auto b : pw.context().attachments) e.binaries.emplace_back(b);
  return e;
}
}  // namespace detail

/// Answers one server-requested ack, now or later, from any thread. Copyable; only the first
/// `send` counts.
class ack_handle {
 public:
  ack_handle() = default;
  bool valid() const noexcept { return state_ != nullptr; }
  template <class... A>
  void send(const A&... a) const;

 private:
  friend class socket;
  struct state {
    std::weak_ptr<detail::engine> engine;
    std::string nsp;
    std::uint64_t id = socketio::no_ack;
    std::uint64_t generation = 0;  ///< the connection that asked: a later one must not get the answer
    std::atomic<bool> sent{false};
  };
  std::shared_ptr<state> state_;
};

/// One received event, handed to handlers on the I/O thread.
class event {
 public:
  std::string_view name() const noexcept { return packet_->event_name(); }
  /// The arguments after the event name (placeholders resolve to the packet's attachments).
  socketio::args args() const noexcept { return socketio::args(*packet_); }
  bool wants_ack() const noexcept { return ack_.valid(); }
  /// Answers the server's ack request (ignored when none was requested or already answered).
  template <class... A>
  void ack(const A&... a) {
    if (ack_.valid()) ack_.send(a...);
  }
  /// An ack handle to answer later, from any thread.
  ack_handle responder() const noexcept { return ack_; }
  portico::client::socket& socket() const noexcept { return *socket_; }
  /// Moves the packet out (to keep the arguments beyond the handler); `args()` is empty after.
  socketio::packet take() {
    socketio::packet p = std::move(*packet_);
    *packet_ = socketio::packet{};
    return p;
  }

 private:
  friend class socket;
  event(portico::client::socket* s, socketio::packet* p, ack_handle a) : socket_(s), packet_(p), ack_(std::move(a)) {}
  portico::client::socket* socket_;
  socketio::packet* packet_;
  ack_handle ack_;
};

using event_handler = std::function<void(event&)>;

/// A Socket.IO socket: one namespace on the client's connection. Owned by its client.
class socket {
 public:
  const std::string& namespace_name() const noexcept { return nsp_; }
  [[deprecated("use namespace_name()")]] const std::string& nsp() const noexcept { return nsp_; }
  /// The Socket.IO session id of the current connection ("" when not connected).
  std::string sid() const {
    std::lock_guard<std::mutex> l(mu_);
    return sid_;
  }
  bool connected() const noexcept { return connected_.load(); }
  /// The server's connection state recovery restored this socket on the last (re)connection:
  /// same sid, rooms and session, missed events delivered first (socket.io-client's
  /// `socket.recovered`). With recovery on, events carry their offset as the last argument.
  bool recovered() const noexcept { return recovered_.load(); }

  /// The CONNECT payload, sent on every (re)connection: any JSON-encodable value.
  template <class T>
  void set_auth(const T& auth) {
    std::string text;
    json::encode_context ctx;
    json::encode_to(text, auth, ctx);
    std::lock_guard<std::mutex> l(mu_);
    auth_json_ = std::move(text);
  }
  /// Raw JSON text for the CONNECT payload ("" = none).
  void set_auth_json(std::string text) {
    std::lock_guard<std::mutex> l(mu_);
    auth_json_ = std::move(text);
  }

  /// Handlers (any thread; they run on the I/O thread). A handler may return a value: it answers
  /// the server's ack request when one was made and the handler did not ack itself.
  template <class F>
  void on(std::string name, F f) {
    auto h = wrap(std::move(f));
    std::lock_guard<std::mutex> l(mu_);
    handlers_[std::move(name)] = std::move(h);
  }
  void off(const std::string& name) {
    std::lock_guard<std::mutex> l(mu_);
    handlers_.erase(name);
  }
  /// Called for events without a handler of their own.
  template <class F>
  void on_any(F f) {
    auto h = wrap(std::move(f));
    std::lock_guard<std::mutex> l(mu_);
    any_ = std::move(h);
  }
  void on_connect(std::function<void()> f) { set(connect_cb_, std::move(f)); }
  void on_connect_error(std::function<void(const connect_error&)> f) { set(connect_error_cb_, std::move(f)); }
  /// Reasons: "io server disconnect", "io client disconnect", "transport close", "ping timeout",
  /// "parse error".
  void on_disconnect(std::function<void(const std::string&)> f) { set(disconnect_cb_, std::move(f)); }

  /// Joins this namespace (opening the connection when needed; the client must know its URL).
  void connect();
  /// Leaves this namespace ("io client disconnect"); the connection closes when no namespace is left.
  void disconnect();

  /// Emits an event; buffered until the namespace is connected.
  template <class... A>
  void emit(std::string_view event_name, const A&... a) {
    post_packet(detail::encode_packet(socketio::packet_type::event, nsp_, socketio::no_ack, &event_name, a...),
                socketio::no_ack, nullptr, {});
  }
  /// Emits an event and asks for an ack; `cb` runs once on the I/O thread with the ack, or with
  /// `timeout`, or with `disconnected` when the connection is lost first.
  template <class... A>
  void emit_with_ack(std::string_view event_name, ack_callback cb, std::chrono::milliseconds timeout,
                     const A&... a) {
    std::uint64_t id = next_ack_id_.fetch_add(1);
    post_packet(detail::encode_packet(socketio::packet_type::event, nsp_, id, &event_name, a...), id,
                std::move(cb), timeout);
  }

  socket(const socket&) = delete;
  socket& operator=(const socket&) = delete;

 private:
  friend class client;
  friend class detail::engine;
  friend class ack_handle;

  socket(detail::engine* e, std::string nsp) : engine_(e), nsp_(std::move(nsp)) {}

  template <class F>
  static std::shared_ptr<event_handler> wrap(F f) {
    using R = std::invoke_result_t<F&, event&>;
    if constexpr (std::is_void_v<R>) {
      return std::make_shared<event_handler>(std::move(f));
    } else {
      return std::make_shared<event_handler>([f = std::move(f)](event& e) mutable {
        auto r = f(e);
        e.ack(r);
      });
    }
  }
  template <class T>
  void set(T& slot, T f) {
    std::lock_guard<std::mutex> l(mu_);
    slot = std::move(f);
  }
  /// A user callback, or none once the client is being destroyed (objects the callbacks refer
  /// to may already be gone then).
  template <class T>
  T get(const T& slot) const;

  void post_packet(socketio::encoded e, std::uint64_t id, ack_callback cb, std::chrono::milliseconds timeout);

  // I/O thread only -----------------------------------------------------------------------------
  struct pending_ack {
    ack_callback cb;
    std::unique_ptr<asio::steady_timer> timer;
  };
  enum class state { idle, connecting, connected };
  void io_send_connect();
  void io_on_packet(socketio::packet& p);
  void io_transport_lost(const std::string& reason, bool opened);
  void io_fail_acks();
  void io_flush();
  void io_set_connected(bool c, std::string sid = {});

  detail::engine* engine_;
  std::string nsp_;
  mutable std::mutex mu_;
  std::string sid_, auth_json_;
  std::map<std::string, std::shared_ptr<event_handler>, std::less<>> handlers_;
  std::shared_ptr<event_handler> any_;
  std::function<void()> connect_cb_;
  std::function<void(const connect_error&)> connect_error_cb_;
  std::function<void(const std::string&)> disconnect_cb_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> recovered_{false};
  std::atomic<std::uint64_t> next_ack_id_{0};
  std::string pid_, offset_;  ///< connection state recovery: the server's pid, the last event's offset (io thread)
  /// Events that came before the CONNECT answer (Node's server replays missed packets first),
  /// delivered right after it, as socket.io-client's receive buffer does; at most this many.
  static constexpr std::size_t max_early_events = 4096;
  std::vector<socketio::packet> early_;

  bool active_ = false;  ///< the user wants this namespace joined (io thread)
  state state_ = state::idle;
  std::vector<socketio::encoded> buffer_;
  std::map<std::uint64_t, pending_ack> acks_;
};

namespace detail {

/// The Engine.IO connection, the I/O thread and the namespace sockets. Shared by the client
/// handle, the thread and ack handles, so that whoever ends last frees it on the right thread.
class engine : public std::enable_shared_from_this<engine> {
 public:
  enum class transport_kind : int { none, websocket, polling };

  explicit engine(options o)
      : opts_(std::move(o)),
        work_(asio::make_work_guard(io_)),
        log_(opts_.log ? opts_.log : &own_log_),
        ws_plain_(std::make_unique<basic_ws_endpoint<ws_client_config>>(io_)) {}

  void start_thread() {
    thread_ = std::thread([self = shared_from_this()] {
      self->io_thread_id_ = std::this_thread::get_id();
      self->ready_.store(true);
      // A user handler threw: that event is lost, the connection goes on.
      while (!portico::detail::run_user_code(nullptr, "a client handler", [&] { self->io_.run(); })) {
      }
    });
    while (!ready_.load()) std::this_thread::yield();
  }

  bool on_io_thread() const noexcept { return std::this_thread::get_id() == io_thread_id_; }

  template <class F>
  void post(F f) {
    asio::post(io_, std::move(f));
  }

  portico::client::socket& get_socket(const std::string& nsp) {
    std::lock_guard<std::mutex> l(sockets_mu_);
    auto it = sockets_.find(nsp);
    if (it == sockets_.end())
      it = sockets_.emplace(nsp, std::unique_ptr<portico::client::socket>(new portico::client::socket(this, nsp))).first;
    return *it->second;
  }
  std::vector<portico::client::socket*> all_sockets() {
    std::lock_guard<std::mutex> l(sockets_mu_);
    std::vector<portico::client::socket*> v;
    for (auto& kv : sockets_) v.push_back(kv.second.get());
    return v;
  }
  portico::client::socket* find_socket(std::string_view nsp) {
    std::lock_guard<std::mutex> l(sockets_mu_);
    auto it = sockets_.find(std::string(nsp));
    return it == sockets_.end() ? nullptr : it->second.get();
  }

  /// Throws std::invalid_argument for a bad URL or a TLS URL without client/tls.hpp, and what the
  /// TLS backend throws for unusable `options::tls` files.
  void set_url(std::string url) {
    std::string origin = websocket_origin(url);
    std::lock_guard<std::mutex> l(sockets_mu_);
    if (origin.rfind("wss://", 0) == 0 && !tls_) {
      tls_backend_factory make = tls_factory().load();
      if (!make)
        throw std::invalid_argument("portico::client: https:// and wss:// URLs need #include <portico/client/tls.hpp> "
                                    "(and -lssl -lcrypto)");
      tls_ = make(io_, opts_.tls, *log_);  // once per client; the I/O thread reads it under this lock
    }
    origin_ = std::move(origin);
  }

  portico::logger& log() noexcept { return *log_; }

  /// True once the client handle is being destroyed: no user callback runs any more.
  bool muted() const noexcept { return muted_.load(); }

  /// Final shutdown from the client handle's destructor.
  void shutdown() {
    muted_.store(true);
    if (on_io_thread()) {
      // Inside a handler: close as far as possible without waiting, then let the thread end.
      io_close(true);
      io_.stop();
      thread_.detach();
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    post([this, done] {
      io_close(true);
      if (!io_closing_politely()) done->set_value();
      else closed_promise_ = done;
    });
    fut.wait_for(opts_.close_grace);
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // --- I/O thread --------------------------------------------------------------------------------

  bool io_is_open() const noexcept { return open_; }
  std::uint64_t io_generation() const noexcept { return gen_; }
  bool io_closing() const noexcept { return final_; }

  void io_send(const socketio::encoded& e) {
    if (!open_) return;
    io_write(e.text, false);
    for (const auto& b : e.binaries) io_write(b, true);
  }
  void io_send_text(const std::string& text) {
    if (!open_) return;
    io_write(text, false);
  }

  /// Opens the connection if some socket wants it and none is open or pending.
  void io_ensure_open() {
    if (final_ || transport_ != transport_kind::none || reconnect_pending_) return;
    io_open();
  }

  /// "websocket", "polling", or "" when no transport is open or opening (any thread).
  const char* transport_name() const noexcept {
    switch (static_cast<transport_kind>(transport_seen_.load())) {
      case transport_kind::websocket: return "websocket";
      case transport_kind::polling: return "polling";
      default: return "";
    }
  }

  /// User close: leave every namespace, close the transport, no reconnection.
  void io_close(bool final) {
    if (final) final_ = true;
    reconnect_timer_.cancel();
    reconnect_pending_ = false;
    for (auto* s : all_sockets()) {
      if (s->active_) {
        s->active_ = false;
        if (s->state_ == portico::client::socket::state::connected) {
          std::string pkt = "4";
          socketio::write_header(pkt, socketio::packet_type::disconnect, s->nsp_);
          io_send_text(pkt);
        }
        s->buffer_.clear();
        s->io_transport_lost("io client disconnect", true);
      }
    }
    io_close_transport();
  }

  /// Closes the transport when no namespace is joined or pending any more.
  void io_maybe_close() {
    for (auto* s : all_sockets())
      if (s->active_) return;
    reconnect_timer_.cancel();
    reconnect_pending_ = false;
    io_close_transport();
  }

  std::function<void(std::size_t)> on_reconnect_attempt, on_reconnect_failed_cb;

 private:
  friend class portico::client::client;

  void io_close_transport() {
    if (transport_ == transport_kind::none) return;
    ++gen_;
    open_ = false;
    ping_timer_.cancel();
    open_timer_.cancel();
    io_drop_probe();
    if (transport_ == transport_kind::polling) {
      // What waits to be sent, then the close packet, in one last POST (after one in flight).
      final_body_ = std::move(outbox_);
      outbox_.clear();
      if (sid_known_) engineio::append_payload_packet(final_body_, engineio::packet_type::close, {});
      else final_body_.clear();
      final_target_ = io_target("polling");  // this session's: a new one may have opened by the time it goes
      if (poll_get_) poll_get_->cancel();
      io_set_transport(transport_kind::none);
      if (!poll_post_) io_send_final_post();
      return;
    }
    io_set_transport(transport_kind::none);
    websocketpp::lib::error_code ec;
    auto c = con_;
    if (c->get_state() == websocketpp::session::state::open) {
      // Wait for the close handshake (bounded by timeout_close_handshake) before forgetting it.
      closing_con_ = c;
      c->set_close_handler([this](websocketpp::connection_hdl) { io_closed_politely(); });
      c->set_fail_handler([this](websocketpp::connection_hdl) { io_closed_politely(); });
      c->close(websocketpp::close::status::normal, "", ec);
      if (ec) io_closed_politely();
    } else {
      c->terminate(ec);
      io_closed_politely();
    }
    con_.reset();
  }
  void io_closed_politely() {
    closing_con_.reset();
    if (io_closing_politely()) return;
    if (closed_promise_) {
      closed_promise_->set_value();
      closed_promise_.reset();
    }
  }

  std::string io_origin() {
    std::lock_guard<std::mutex> l(sockets_mu_);
    return origin_;
  }
  /// The TLS backend when the URL is https:// or wss://, else nullptr.
  tls_backend* io_tls() {
    std::lock_guard<std::mutex> l(sockets_mu_);
    return origin_.rfind("wss://", 0) == 0 ? tls_.get() : nullptr;
  }
  ws_endpoint& io_ws() {
    tls_backend* t = io_tls();
    return t ? t->websocket() : *ws_plain_;
  }
  /// Why an open failed: the TLS failure when there is one, else socket.io-client's word for it.
  static std::string io_open_failure(const std::string& tls_why, const char* plain) {
    return tls_why.rfind(tls_error_prefix, 0) == 0 ? tls_why : std::string(plain);
  }

  /// Path and query of a handshake or polling request: "/socket.io/?EIO=4&transport=..."
  std::string io_target(const char* transport) {
    std::string path = opts_.path.empty() ? "/" : opts_.path;
    if (path.front() != '/') path.insert(path.begin(), '/');
    path += "?EIO=4&transport=";
    path += transport;
    if (sid_known_) path += "&sid=" + percent_encode(sid_);
    if (transport[0] == 'p') path += "&t=" + std::to_string(++request_counter_);  // no cached polls
    for (const auto& kv : opts_.query) path += "&" + percent_encode(kv.first) + "=" + percent_encode(kv.second);
    return path;
  }

  /// The first transport of `options::transports` this client knows.
  transport_kind io_first_transport() const {
    for (const auto& t : opts_.transports) {
      if (t == "websocket") return transport_kind::websocket;
      if (t == "polling") return transport_kind::polling;
    }
    return transport_kind::websocket;
  }
  bool io_may_upgrade() const {
    if (!opts_.upgrade) return false;
    for (const auto& t : opts_.transports)
      if (t == "websocket") return true;
    return false;
  }

  void io_open() {
    if (io_origin().empty()) return;  // no URL yet
    sid_.clear();
    sid_known_ = false;
    decoder_.reset();  // a packet cut off by the last connection must not swallow the next one
    if (io_first_transport() == transport_kind::polling) return io_open_polling();
    std::string uri = io_origin() + io_target("websocket");
    websocketpp::lib::error_code ec;
    ws_endpoint& ws = io_ws();
    auto c = ws.get_connection(uri, ec);
    std::uint64_t g = ++gen_;
    if (ec) {
      io_open_failed("invalid url");
      return;
    }
    for (const auto& kv : opts_.headers) c->append_header(kv.first, kv.second);
    c->set_message_handler([this, g](websocketpp::connection_hdl, ws_message_ptr m) {
      if (g == gen_) io_on_frame(m);
    });
    c->set_close_handler([this, g](websocketpp::connection_hdl) {
      if (g == gen_) io_lost(open_ ? "transport close" : "websocket error");
    });
    auto* raw = c.get();  // handlers must not own their connection
    c->set_fail_handler([this, g, raw](websocketpp::connection_hdl) {
      if (g == gen_) io_lost(io_open_failure(raw->failure(), "websocket error"));
    });
    con_ = c;
    open_ = false;
    io_set_transport(transport_kind::websocket);
    open_timer_.expires_after(opts_.open_timeout);
    open_timer_.async_wait([this, g](const asio::error_code& e) {
      if (!e && g == gen_ && !open_) io_lost("timeout");
    });
    ws.connect(c);
  }

  void io_open_failed(const std::string& reason) {
    con_.reset();
    io_set_transport(transport_kind::none);
    io_after_loss(reason, false);
  }

  /// The transport ended without us asking (close, failure, ping timeout, protocol error).
  void io_lost(const std::string& reason) {
    bool was_open = open_;
    if (transport_ == transport_kind::polling) {
      ++gen_;
      open_ = false;
      ping_timer_.cancel();
      open_timer_.cancel();
      io_drop_probe();
      io_drop_polling();
    } else if (con_) {
      ++gen_;
      websocketpp::lib::error_code ec;
      auto c = con_;
      con_.reset();
      open_ = false;
      ping_timer_.cancel();
      open_timer_.cancel();
      if (c->get_state() == websocketpp::session::state::open) {
        c->close(websocketpp::close::status::normal, "", ec);
        closing_con_ = c;  // keep it alive through its close handshake
        c->set_close_handler([this](websocketpp::connection_hdl) { closing_con_.reset(); });
        c->set_fail_handler([this](websocketpp::connection_hdl) { closing_con_.reset(); });
      } else if (c->get_state() == websocketpp::session::state::connecting) {
        c->terminate(ec);
      }
    }
    io_set_transport(transport_kind::none);
    decoder_.reset();
    io_after_loss(reason, was_open);
  }

  void io_after_loss(const std::string& reason, bool was_open) {
    bool any_active = false;
    for (auto* s : all_sockets()) {
      if (!s->active_) continue;
      s->io_transport_lost(reason, was_open);
      any_active = any_active || s->active_;
    }
    if (!any_active || final_ || !opts_.reconnection) {
      // Without reconnection the sockets give up: a later connect() starts over.
      if (!opts_.reconnection)
        for (auto* s : all_sockets()) s->active_ = false;
      return;
    }
    io_schedule_reconnect();
  }

  void io_schedule_reconnect() {
    if (opts_.reconnection_attempts && attempts_ >= opts_.reconnection_attempts) {
      for (auto* s : all_sockets()) s->active_ = false;
      attempts_ = 0;
      if (on_reconnect_failed_cb && !muted()) detail::guarded(on_reconnect_failed_cb, opts_.reconnection_attempts);
      return;
    }
    double base = static_cast<double>(opts_.reconnection_delay.count());
    double delay = base;
    for (std::size_t i = 0; i < attempts_ && delay < 1e12; ++i) delay *= 2;
    if (opts_.randomization_factor > 0) {
      std::uniform_real_distribution<double> jitter(-opts_.randomization_factor, opts_.randomization_factor);
      delay += delay * jitter(rng_);
    }
    double cap = static_cast<double>(opts_.reconnection_delay_max.count());
    if (delay > cap) delay = cap;
    if (delay < 0) delay = 0;
    ++attempts_;
    reconnect_pending_ = true;
    reconnect_timer_.expires_after(std::chrono::milliseconds(static_cast<long long>(delay)));
    std::size_t attempt = attempts_;
    reconnect_timer_.async_wait([this, attempt](const asio::error_code& e) {
      if (e || final_ || !reconnect_pending_) return;
      reconnect_pending_ = false;
      if (on_reconnect_attempt && !muted()) detail::guarded(on_reconnect_attempt, attempt);
      io_open();
    });
  }

  void io_reset_ping_timer() {
    ping_timer_.expires_after(std::chrono::milliseconds(ping_interval_ + ping_timeout_));
    std::uint64_t g = gen_;
    ping_timer_.async_wait([this, g](const asio::error_code& e) {
      if (!e && g == gen_) io_lost("ping timeout");
    });
  }

  void io_on_frame(const ws_message_ptr& m) {
    if (m->get_opcode() == websocketpp::frame::opcode::binary)
      return io_on_packet(engineio::packet_type::message, std::move(m->get_raw_payload()), true);
    std::string& text = m->get_raw_payload();
    engineio::packet_view pv;
    if (engineio::decode(text, pv) != engineio::errc::ok) return io_lost("parse error");
    text.erase(0, 1);  // the type digit: the packet keeps the frame's buffer
    io_on_packet(pv.type, std::move(text), false);
  }

  /// One Engine.IO packet, from a websocket frame or a polling payload; `data` without the type.
  void io_on_packet(engineio::packet_type type, std::string&& data, bool binary) {
    if (binary) {
      if (!open_) return io_lost("parse error");
      io_on_sio(decoder_.add_binary(std::move(data)));
      return;
    }
    switch (type) {
      case engineio::packet_type::open: {
        json::document d;
        d.Parse(data.data(), data.size());
        if (d.HasParseError() || !d.IsObject()) return io_lost("parse error");
        const json::value& o = d;  // const iterators: no C++20 reversed-operator ambiguity
        auto num = [&](const char* k, long long def) {
          auto it = o.FindMember(k);
          return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : def;
        };
        ping_interval_ = num("pingInterval", 25000);
        ping_timeout_ = num("pingTimeout", 20000);
        bool offers_websocket = false;
        auto sid = o.FindMember("sid");
        if (sid != o.MemberEnd() && sid->value.IsString()) {
          sid_.assign(sid->value.GetString(), sid->value.GetStringLength());
          sid_known_ = true;
        }
        auto up = o.FindMember("upgrades");
        if (up != o.MemberEnd() && up->value.IsArray())
          for (const auto& u : up->value.GetArray())
            if (u.IsString() && std::string_view(u.GetString(), u.GetStringLength()) == "websocket") offers_websocket = true;
        if (transport_ == transport_kind::polling && !sid_known_) return io_lost("parse error");
        open_ = true;
        open_timer_.cancel();
        if (attempts_ > 0) {
          std::size_t a = attempts_;
          attempts_ = 0;
          if (on_reconnect_cb && !muted()) detail::guarded(on_reconnect_cb, a);
        }
        io_reset_ping_timer();
        for (auto* s : all_sockets())
          if (s->active_) s->io_send_connect();
        if (transport_ == transport_kind::polling && offers_websocket && io_may_upgrade()) io_probe();
        break;
      }
      case engineio::packet_type::ping:
        io_reset_ping_timer();
        io_send_text("3");
        break;
      case engineio::packet_type::close:
        return io_lost("transport close");
      case engineio::packet_type::message: {
        if (!open_) return io_lost("parse error");
        io_on_sio(decoder_.add_text(std::move(data)));
        break;
      }
      default:
        break;  // pong, upgrade, noop
    }
  }

  // --- long-polling and the upgrade ---------------------------------------------------------------

  void io_set_transport(transport_kind k) {
    transport_ = k;
    transport_seen_.store(static_cast<int>(k));
  }
  bool io_closing_politely() const noexcept { return closing_con_ || final_post_ || !final_body_.empty(); }

  /// host and port of the origin ("ws://h:p" or "wss://h:p"), for HTTP(S) requests.
  std::pair<std::string, std::string> io_host_port() {
    const std::string origin = io_origin();
    const bool tls = origin.rfind("wss://", 0) == 0;
    std::string hp = origin.substr(tls ? 6 : 5);
    const std::size_t colon = hp.rfind(':');
    if (colon == std::string::npos || hp.find(']', colon) != std::string::npos) return {hp, tls ? "443" : "80"};
    return {hp.substr(0, colon), hp.substr(colon + 1)};
  }

  std::shared_ptr<any_http_exchange> io_request(const char* method, std::string body, std::chrono::milliseconds timeout,
                                                any_http_exchange::done_fn done, const std::string& target = {}) {
    tls_backend* tls = io_tls();
    std::shared_ptr<any_http_exchange> ex = tls ? tls->exchange() : std::make_shared<http_exchange>(io_);
    auto hp = io_host_port();
    ex->start(hp.first, hp.second, method, target.empty() ? io_target("polling") : target, opts_.headers, std::move(body),
              timeout, std::move(done));
    return ex;
  }

  void io_open_polling() {
    std::uint64_t g = ++gen_;
    open_ = false;
    outbox_.clear();
    held_.clear();
    io_set_transport(transport_kind::polling);
    open_timer_.expires_after(opts_.open_timeout);
    open_timer_.async_wait([this, g](const asio::error_code& e) {
      if (!e && g == gen_ && !open_) io_lost("timeout");
    });
    io_poll(g);
  }

  /// One long-poll GET; the next one starts when it returns, unless the upgrade is finishing.
  void io_poll(std::uint64_t g) {
    // The server answers at the latest with its next ping: a poll outliving ping interval +
    // timeout is a dead server, which the ping timer reports first.
    const auto timeout = open_ ? std::chrono::milliseconds(ping_interval_ + ping_timeout_ + 5000) : opts_.open_timeout;
    poll_get_ = io_request("GET", {}, timeout, [this, g](http_result& r) {
      poll_get_.reset();
      if (g != gen_) return;
      if (r.status != 200) return io_lost(open_ ? "transport error" : io_open_failure(r.error, "xhr poll error"));
      std::vector<engineio::packet> packets;
      if (engineio::decode_payload(r.body, packets) != engineio::errc::ok) return io_lost("parse error");
      for (auto& p : packets) {
        io_on_packet(p.type, std::move(p.data), p.binary);
        if (g != gen_) return;  // the packets closed or replaced the transport
      }
      if (transport_ != transport_kind::polling) return;
      if (probe_ok_) return io_try_finish_upgrade();  // paused: no new poll during the switch
      io_poll(g);
    });
  }

  /// Queues one packet for the current transport (text packets carry their type digit).
  void io_write(const std::string& data, bool binary) {
    if (transport_ == transport_kind::websocket) {
      if (con_) con_->send(data, binary ? websocketpp::frame::opcode::binary : websocketpp::frame::opcode::text);
      return;
    }
    if (transport_ != transport_kind::polling) return;
    if (probe_ok_) {  // the upgrade is finishing: these go over the websocket, after "5"
      held_.emplace_back(data, binary);
      return;
    }
    if (binary) {
      engineio::append_payload_packet(outbox_, engineio::packet_type::message, data, true);
    } else {
      if (!outbox_.empty()) outbox_.push_back(engineio::record_separator);
      outbox_ += data;
    }
    io_post_outbox();
  }

  /// Sends what waits in one POST; one POST at a time keeps the packets in order.
  void io_post_outbox() {
    if (poll_post_ || outbox_.empty() || transport_ != transport_kind::polling) return;
    std::uint64_t g = gen_;
    poll_post_ = io_request("POST", std::move(outbox_), opts_.open_timeout, [this, g](http_result& r) {
      poll_post_.reset();
      // A session opened meanwhile (connect() right after disconnect()) waited for this POST.
      if (!final_body_.empty()) {  // closing: the close packet follows
        io_send_final_post();
        return io_post_outbox();
      }
      if (g != gen_) return io_post_outbox();
      if (r.status != 200) return io_lost("transport error");
      if (!outbox_.empty()) return io_post_outbox();
      if (probe_ok_) io_try_finish_upgrade();
    });
    outbox_.clear();
  }

  void io_send_final_post() {
    if (final_body_.empty()) return io_closed_politely();
    final_post_ = io_request("POST", std::move(final_body_), std::chrono::milliseconds(1000), [this](http_result&) {
      final_post_.reset();
      io_closed_politely();
    }, final_target_);
    final_body_.clear();
  }

  /// Cancels the polling requests of a transport that is gone (nothing more is sent).
  void io_drop_polling() {
    if (poll_get_) poll_get_->cancel();
    if (poll_post_) poll_post_->cancel();
    poll_get_.reset();
    poll_post_.reset();
    outbox_.clear();
    held_.clear();
  }

  /// Starts the upgrade: a websocket with our sid sends "2probe"; the server answers "3probe".
  void io_probe() {
    websocketpp::lib::error_code ec;
    ws_endpoint& ws = io_ws();
    auto c = ws.get_connection(io_origin() + io_target("websocket"), ec);
    if (ec) return;
    for (const auto& kv : opts_.headers) c->append_header(kv.first, kv.second);
    const std::uint64_t g = gen_;
    auto* raw = c.get();  // handlers must not own their connection
    c->set_open_handler([this, g, raw](websocketpp::connection_hdl) {
      if (g == gen_ && probe_.get() == raw) probe_->send(std::string("2probe"), websocketpp::frame::opcode::text);
    });
    c->set_message_handler([this, g, raw](websocketpp::connection_hdl, ws_message_ptr m) {
      if (g != gen_ || probe_.get() != raw) return;
      if (m->get_payload() != "3probe") return io_abandon_probe();
      probe_ok_ = true;  // from now on: hold writes, let the pending poll and POST end, then switch
      io_try_finish_upgrade();
    });
    auto failed = [this, g, raw](websocketpp::connection_hdl) {
      if (g == gen_ && probe_.get() == raw) io_abandon_probe();
    };
    c->set_fail_handler(failed);
    c->set_close_handler(failed);
    probe_ = c;
    ws.connect(c);
  }

  /// The probe failed: stay on long-polling.
  void io_abandon_probe() {
    const bool was_ok = probe_ok_;
    io_drop_probe();
    if (transport_ != transport_kind::polling) return;
    auto held = std::move(held_);
    held_.clear();
    for (auto& h : held) io_write(h.first, h.second);
    if (was_ok && !poll_get_) io_poll(gen_);
  }

  void io_drop_probe() {
    probe_ok_ = false;
    if (!probe_) return;
    auto c = std::move(probe_);
    probe_.reset();
    websocketpp::lib::error_code ec;
    c->set_close_handler(nullptr);
    c->set_fail_handler(nullptr);
    c->terminate(ec);
  }

  /// Switches to the websocket once no poll and no POST is in flight (so nothing sent over
  /// long-polling can overtake or be overtaken): "5", then the writes held meanwhile.
  void io_try_finish_upgrade() {
    if (!probe_ok_ || poll_get_ || poll_post_ || !outbox_.empty() || transport_ != transport_kind::polling) return;
    const std::uint64_t g = gen_;
    con_ = std::move(probe_);
    probe_.reset();
    probe_ok_ = false;
    con_->set_message_handler([this, g](websocketpp::connection_hdl, ws_message_ptr m) {
      if (g == gen_) io_on_frame(m);
    });
    con_->set_close_handler([this, g](websocketpp::connection_hdl) {
      if (g == gen_) io_lost("transport close");
    });
    con_->set_fail_handler([this, g](websocketpp::connection_hdl) {
      if (g == gen_) io_lost("transport error");
    });
    io_set_transport(transport_kind::websocket);
    con_->send(std::string("5"), websocketpp::frame::opcode::text);
    auto held = std::move(held_);
    held_.clear();
    for (auto& h : held) io_write(h.first, h.second);
  }

  void io_on_sio(socketio::decoder::status st) {
    if (st == socketio::decoder::status::awaiting_attachments) return;
    if (st == socketio::decoder::status::error) return io_lost("parse error");
    socketio::packet p = decoder_.take();
    if (portico::client::socket* s = find_socket(p.namespace_name())) s->io_on_packet(p);
  }

  asio::io_context io_;  // first member: destroyed last, after everything bound to it
  options opts_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  portico::logger own_log_{"portico.client"};
  portico::logger* log_;
  std::unique_ptr<ws_endpoint> ws_plain_;
  std::unique_ptr<tls_backend> tls_;  ///< made by set_url for the first TLS URL (under sockets_mu_)
  ws_link_ptr con_, closing_con_;
  std::shared_ptr<std::promise<void>> closed_promise_;
  asio::steady_timer ping_timer_{io_}, open_timer_{io_}, reconnect_timer_{io_};
  std::uint64_t gen_ = 0;
  bool open_ = false, final_ = false, reconnect_pending_ = false;
  std::size_t attempts_ = 0;
  long long ping_interval_ = 25000, ping_timeout_ = 20000;
  socketio::decoder decoder_{opts_.max_attachments, opts_.max_packet_bytes};
  std::mt19937 rng_{std::random_device{}()};
  transport_kind transport_ = transport_kind::none;
  std::atomic<int> transport_seen_{0};
  std::string sid_;                                     ///< Engine.IO sid (long-polling and the upgrade)
  bool sid_known_ = false, probe_ok_ = false;
  std::uint64_t request_counter_ = 0;
  std::shared_ptr<any_http_exchange> poll_get_, poll_post_, final_post_;
  std::string outbox_, final_body_;                     ///< v4 payloads waiting for a POST
  std::string final_target_;                            ///< where final_body_ goes (the closed session's sid)
  std::vector<std::pair<std::string, bool>> held_;      ///< writes during the switch to websocket
  ws_link_ptr probe_;
  std::string origin_;
  std::mutex sockets_mu_;
  std::map<std::string, std::unique_ptr<portico::client::socket>, std::less<>> sockets_;
  std::thread thread_;
  std::thread::id io_thread_id_;
  std::atomic<bool> ready_{false}, muted_{false};

 public:
  std::function<void(std::size_t)> on_reconnect_cb;
  asio::io_context& io() noexcept { return io_; }
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------------
// socket (I/O thread parts)

inline void socket::post_packet(socketio::encoded e, std::uint64_t id, ack_callback cb,
                                std::chrono::milliseconds timeout) {
  engine_->post([this, e = std::move(e), id, cb = std::move(cb), timeout]() mutable {
    if (cb) {
      pending_ack pa;
      pa.cb = std::move(cb);
      pa.timer = std::make_unique<asio::steady_timer>(engine_->io());
      pa.timer->expires_after(timeout);
      pa.timer->async_wait([this, id](const asio::error_code& ec) {
        if (ec) return;
        auto it = acks_.find(id);
        if (it == acks_.end()) return;
        ack_callback f = std::move(it->second.cb);
        acks_.erase(it);
        ack_result r;
        r.status = ack_status::timeout;
        if (!engine_->muted()) detail::guarded(f, r);
      });
      acks_.emplace(id, std::move(pa));
    }
    if (state_ == state::connected && engine_->io_is_open()) engine_->io_send(e);
    else buffer_.push_back(std::move(e));
  });
}

inline void socket::connect() {
  engine_->post([this] {
    if (engine_->io_closing()) return;
    active_ = true;
    if (state_ != state::idle) return;
    if (engine_->io_is_open()) io_send_connect();
    else engine_->io_ensure_open();
  });
}

inline void socket::disconnect() {
  engine_->post([this] {
    if (!active_) return;
    active_ = false;
    if (state_ == state::connected && engine_->io_is_open()) {
      std::string pkt = "4";
      socketio::write_header(pkt, socketio::packet_type::disconnect, nsp_);
      engine_->io_send_text(pkt);
    }
    buffer_.clear();
    io_transport_lost("io client disconnect", true);
    engine_->io_maybe_close();
  });
}

inline void socket::io_send_connect() {
  std::string pkt = "4";
  socketio::write_header(pkt, socketio::packet_type::connect, nsp_);
  std::string auth;
  {
    std::lock_guard<std::mutex> l(mu_);
    auth = auth_json_;
  }
  // Recovery: `{pid, offset}` join the payload (the user's own members win, as Object.assign).
  if (!pid_.empty() && (auth.empty() || (auth.front() == '{' && auth.back() == '}'))) {
    std::string extra;
    json::encode_context ctx;
    extra += "\"pid\":";
    json::encode_to(extra, pid_, ctx);
    if (!offset_.empty()) {
      extra += ",\"offset\":";
      json::encode_to(extra, offset_, ctx);
    }
    if (auth.empty()) auth = "{" + extra + "}";
    else auth.insert(1, auth.size() > 2 ? extra + "," : extra);
  }
  pkt += auth;
  state_ = state::connecting;
  engine_->io_send_text(pkt);
}

inline void socket::io_set_connected(bool c, std::string sid) {
  {
    std::lock_guard<std::mutex> l(mu_);
    sid_ = std::move(sid);
  }
  connected_.store(c);
}

inline void socket::io_flush() {
  auto pending = std::move(buffer_);
  buffer_.clear();
  for (auto& e : pending) engine_->io_send(e);
}

inline void socket::io_fail_acks() {
  auto acks = std::move(acks_);
  acks_.clear();
  for (auto& kv : acks) {
    kv.second.timer->cancel();
    ack_result r;
    r.status = ack_status::disconnected;
    if (!engine_->muted()) detail::guarded(kv.second.cb, r);
  }
}

/// The transport (or this namespace) went away: `reason` for a connected socket's disconnect
/// handler; a socket still waiting for its CONNECT answer gets a connect_error instead.
inline void socket::io_transport_lost(const std::string& reason, bool) {
  early_.clear();
  state prev = state_;
  state_ = state::idle;
  io_set_connected(false);
  if (prev == state::connected) {
    io_fail_acks();
    if (auto cb = get(disconnect_cb_)) detail::guarded(cb, reason);
  } else if (active_ && reason != "io client disconnect") {
    connect_error err;
    err.message = reason;
    if (auto cb = get(connect_error_cb_)) detail::guarded(cb, err);
  }
  if (!active_) io_fail_acks();
}

inline void socket::io_on_packet(socketio::packet& p) {
  using socketio::packet_type;
  switch (p.type) {
    case packet_type::connect: {
      if (!active_) {
        // We left meanwhile: tell the server.
        std::string pkt = "4";
        socketio::write_header(pkt, packet_type::disconnect, nsp_);
        engine_->io_send_text(pkt);
        return;
      }
      std::string sid, pid;
      if (p.data().IsObject()) {
        auto it = p.data().FindMember("sid");
        if (it != p.data().MemberEnd() && it->value.IsString()) sid = it->value.GetString();
        auto pi = p.data().FindMember("pid");
        if (pi != p.data().MemberEnd() && pi->value.IsString()) pid = pi->value.GetString();
      }
      recovered_.store(!pid.empty() && pid == pid_);
      pid_ = std::move(pid);
      state_ = state::connected;
      io_set_connected(true, std::move(sid));
      auto early = std::move(early_);
      early_.clear();
      for (auto& e : early) io_on_packet(e);
      io_flush();
      if (auto cb = get(connect_cb_)) detail::guarded(cb);
      break;
    }
    case packet_type::connect_error: {
      connect_error err;
      const json::value& d = p.data();
      if (d.IsString()) {
        err.message = d.GetString();
      } else if (d.IsObject()) {
        auto m = d.FindMember("message");
        if (m != d.MemberEnd() && m->value.IsString()) err.message = m->value.GetString();
        auto dd = d.FindMember("data");
        if (dd != d.MemberEnd()) {
          err.data_json.clear();
          json::string_sink sink{&err.data_json};
          json::writer w(sink);
          dd->value.Accept(w);
        }
      }
      state_ = state::idle;
      active_ = false;
      buffer_.clear();
      early_.clear();
      io_fail_acks();
      if (auto cb = get(connect_error_cb_)) detail::guarded(cb, err);
      engine_->io_maybe_close();
      break;
    }
    case packet_type::disconnect: {
      bool was = state_ == state::connected;
      active_ = false;
      state_ = state::idle;
      io_set_connected(false);
      buffer_.clear();
      early_.clear();
      io_fail_acks();
      if (was)
        if (auto cb = get(disconnect_cb_)) detail::guarded(cb, std::string("io server disconnect"));
      engine_->io_maybe_close();
      break;
    }
    case packet_type::event:
    case packet_type::binary_event: {
      if (state_ == state::connecting) {
        if (early_.size() < max_early_events) early_.push_back(std::move(p));
        else engine_->log().warn("portico.client: event before the CONNECT answer dropped (over max_early_events)");
        return;
      }
      if (state_ != state::connected) return;
      if (!pid_.empty() && p.data().IsArray() && p.data().Size() > 1 && p.data()[p.data().Size() - 1].IsString()) {
        const auto& o = p.data()[p.data().Size() - 1];
        offset_.assign(o.GetString(), o.GetStringLength());
      }
      ack_handle ack;
      if (p.has_id()) {
        ack.state_ = std::make_shared<ack_handle::state>();
        ack.state_->engine = engine_->weak_from_this();
        ack.state_->nsp = nsp_;
        ack.state_->id = p.id;
        ack.state_->generation = engine_->io_generation();
      }
      std::shared_ptr<event_handler> h;
      if (engine_->muted()) return;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = handlers_.find(p.event_name());
        h = it != handlers_.end() ? it->second : any_;
      }
      if (!h) return;
      event e(this, &p, std::move(ack));
      detail::guarded(*h, e);
      break;
    }
    case packet_type::ack:
    case packet_type::binary_ack: {
      auto it = acks_.find(p.id);
      if (it == acks_.end()) return;
      ack_callback f = std::move(it->second.cb);
      it->second.timer->cancel();
      acks_.erase(it);
      ack_result r;
      r.status = ack_status::ok;
      r.packet = std::move(p);
      if (!engine_->muted()) detail::guarded(f, r);
      break;
    }
  }
}

template <class T>
T socket::get(const T& slot) const {
  if (engine_->muted()) return T();
  std::lock_guard<std::mutex> l(mu_);
  return slot;
}

template <class... A>
void ack_handle::send(const A&... a) const {
  if (!state_ || state_->sent.exchange(true)) return;
  auto eng = state_->engine.lock();
  if (!eng) return;
  auto e = detail::encode_packet(socketio::packet_type::ack, state_->nsp, state_->id, nullptr, a...);
  detail::engine* raw = eng.get();
  std::uint64_t g = state_->generation;
  if (raw->on_io_thread()) {
    if (raw->io_generation() == g) raw->io_send(e);
  } else {
    raw->post([raw, g, e = std::move(e)] {
      if (raw->io_generation() == g) raw->io_send(e);
    });
  }
}

// ---------------------------------------------------------------------------------------------------

/// The client handle: owns the connection, its thread and its namespace sockets.
class client {
 public:
  explicit client(options o = {}) : engine_(std::make_shared<detail::engine>(std::move(o))) {
    engine_->start_thread();
  }
  ~client() { engine_->shutdown(); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// The socket of a namespace (created on first use; lives as long as the client).
  portico::client::socket& socket(const std::string& nsp = "/") { return engine_->get_socket(nsp.empty() ? "/" : nsp); }

  /// Connects to `url` ("http://host:port" or "ws://host:port"; "https://" / "wss://" with
  /// client/tls.hpp) and joins every namespace whose socket exists (or "/" when none). Returns at
  /// once; watch `on_connect` / `on_connect_error`. Throws std::invalid_argument for an unusable URL
  /// and, on the first TLS URL, for `options::tls` files that cannot be loaded.
  void connect(const std::string& url) {
    engine_->set_url(url);
    auto socks = engine_->all_sockets();
    if (socks.empty()) socks.push_back(&socket("/"));
    for (auto* s : socks) s->connect();
  }
  /// Leaves every namespace ("io client disconnect") and closes the connection; no reconnection.
  /// Returns at once. The client can connect again afterwards.
  void disconnect() {
    auto* e = engine_.get();
    engine_->post([e] { e->io_close(false); });
  }

  /// The transport in use: "websocket", "polling" (before or without the upgrade), or "" when
  /// none is open or opening. Safe from any thread.
  std::string transport() const { return engine_->transport_name(); }

  /// Where the client logs (`options::log`, or its own "portico.client" logger).
  portico::logger& log() noexcept { return engine_->log(); }

  /// Reconnection hooks (run on the I/O thread): attempt number; attempts it took; attempts made.
  void on_reconnect_attempt(std::function<void(std::size_t)> f) {
    post_set([f = std::move(f)](detail::engine& e) mutable { e.on_reconnect_attempt = std::move(f); });
  }
  void on_reconnect(std::function<void(std::size_t)> f) {
    post_set([f = std::move(f)](detail::engine& e) mutable { e.on_reconnect_cb = std::move(f); });
  }
  void on_reconnect_failed(std::function<void(std::size_t)> f) {
    post_set([f = std::move(f)](detail::engine& e) mutable { e.on_reconnect_failed_cb = std::move(f); });
  }

 private:
  template <class F>
  void post_set(F f) {
    auto* e = engine_.get();
    engine_->post([e, f = std::move(f)]() mutable { f(*e); });
  }
  std::shared_ptr<detail::engine> engine_;
};

}  // namespace portico::client
