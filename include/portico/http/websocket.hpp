#pragma once
/// A plain WebSocket connection on a `ws_route` (not Engine.IO): the handler runs during the
/// handshake, before the 101 answer, so it decides there whether to accept. What it sends
/// before the connection is open is queued and flushed right after the 101.
///
/// Threading: the connection lives on one worker thread. Handlers run there; send() and
/// close() may be called from any thread (they post to that worker when needed).
#include "../engineio/detail/ws_config.hpp"
#include "../net/websocket.hpp"
#include "../detail/user_code.hpp"
#include "../detail/utf8.hpp"
#include "../log.hpp"
#include "request.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portico::http {

/// Standard close codes used by ws routes.
namespace close_code {
inline constexpr int normal = 1000;
inline constexpr int going_away = 1001;
inline constexpr int unsupported_data = 1003;
inline constexpr int invalid_payload = 1007;  ///< a text frame that is not UTF-8
inline constexpr int abnormal = 1006;  ///< never sent: reported when the peer vanished
inline constexpr int policy_violation = 1008;
inline constexpr int internal_error = 1011;
}  // namespace close_code

/// A received data frame.
struct ws_message {
  bool binary = false;
  std::string data;
};

class websocket;
using websocket_ptr = std::shared_ptr<websocket>;

namespace detail {

using connection_ptr = portico::engineio::detail::ws_connection_ptr;

/// The open connections of one route, for broadcasts. Shared with its websockets so a
/// connection that outlives its router does not touch freed memory. Weak: the connection
/// (through its handlers) is what keeps a websocket alive.
struct ws_clients {
  std::mutex mu;
  std::unordered_map<const websocket*, std::weak_ptr<websocket>> open;
};

}  // namespace detail

class websocket : public std::enable_shared_from_this<websocket> {
 public:
  using message_handler = std::function<void(websocket&, ws_message&&)>;
  using close_handler = std::function<void(websocket&, int code, const std::string& reason)>;

  /// `max_buffered_bytes`: the most bytes queued for this client and not yet written (0: no
  /// limit); a send past it closes the connection with 1008 (the client does not read).
  websocket(const detail::connection_ptr& con, http::request req, std::shared_ptr<detail::ws_clients> clients,
            portico::logger* log, std::size_t max_buffered_bytes = 0)
      : con_(con),
        executor_(con->get_socket().get_executor()),
        home_(std::this_thread::get_id()),
        req_(std::move(req)),
        clients_(std::move(clients)),
        log_(log),
        max_buffered_(max_buffered_bytes) {}

  /// On a net::host connection: `io` is the connection's I/O thread (the caller's); the handle
  /// arrives with attach() once the upgrade is done.
  websocket(asio::io_context& io, http::request req, std::shared_ptr<detail::ws_clients> clients, portico::logger* log,
            std::size_t max_buffered_bytes = 0)
      : executor_(io.get_executor()),
        home_(std::this_thread::get_id()),
        req_(std::move(req)),
        clients_(std::move(clients)),
        log_(log),
        max_buffered_(max_buffered_bytes) {}

  ~websocket() {
    std::lock_guard<std::mutex> g(clients_->mu);
    clients_->open.erase(this);
  }
  websocket(const websocket&) = delete;
  websocket& operator=(const websocket&) = delete;

  /// The handshake request (path, query, headers, path parameters).
  const http::request& request() const { return req_; }

  /// Accepts the upgrade. Only meaningful inside the route handler / on_connect: a handler
  /// that returns without accepting refuses the upgrade with 403.
  void accept() {
    if (state_ == state::handshake) accepted_ = true;
  }
  bool accepted() const { return accepted_; }
  /// True between the 101 and the close.
  bool is_open() const { return state_ == state::open; }

  void send_text(std::string s) { send(websocketpp::frame::opcode::text, std::move(s)); }
  void send_bytes(std::string s) { send(websocketpp::frame::opcode::binary, std::move(s)); }
  /// A typed value as a JSON text frame.
  template <class T>
  void send_json(const T& v) {
    send_text(portico::json::to_string(v));
  }

  /// Closes with `code` and `reason` (reason cut to the 123 bytes a close frame allows).
  /// Before accept(): refuses the upgrade (403).
  void close(int code = close_code::normal, std::string reason = {}) {
    if (reason.size() > 123) reason.resize(123);
    run_here([self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->close_here(code, std::move(reason));
    });
  }

  /// Every data frame. Set it in the handler (or later, on the connection's thread).
  void on_message(message_handler f) { on_message_ = std::move(f); }
  /// Text frames only: a binary frame closes with 1003 (as Starlette's receive_text fails).
  void on_text(std::function<void(websocket&, std::string&&)> f) {
    on_message_ = [f = std::move(f)](websocket& ws, ws_message&& m) {
      if (m.binary) ws.close(close_code::unsupported_data, "Expected text websocket messages, but got bytes");
      else f(ws, std::move(m.data));
    };
  }
  /// Called once when the connection ends (1006 when the peer vanished without a close frame).
  void on_close(close_handler f) { on_close_ = std::move(f); }

  /// Arbitrary per-connection data for the application.
  std::shared_ptr<void> user_data;

  // ---- driven by the router (on the connection's thread) ----

  /// net::host: the connection's handle, before opened().
  void attach(const net::websocket& ws) { net_ = ws; }

  /// After the 101: registers the connection for broadcasts and flushes queued frames.
  void opened() {
    state_ = state::open;
    {
      std::lock_guard<std::mutex> g(clients_->mu);
      clients_->open[this] = shared_from_this();
    }
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [op, data] : pending) send_here(op, std::move(data));
    if (pending_close_) close_here(pending_close_->first, std::move(pending_close_->second));
  }

  void received(ws_message&& m) {
    if (state_ != state::open || !on_message_) return;
    if (!portico::detail::run_user_code(log_, [&] { return "ws handler on " + req_.path; },
                                        [&] { on_message_(*this, std::move(m)); }))
      close_here(close_code::internal_error, "");
  }

  void ended(int code, std::string reason) {
    if (state_ == state::closed) return;
    // Our own close reports our code, also when the peer never answered it (websocketpp then
    // says 1006): a client that does not read never answers a 1008 "send buffer full".
    if (state_ == state::closing && local_close_) {
      code = local_close_->first;
      reason = std::move(local_close_->second);
    }
    state_ = state::closed;
    {
      std::lock_guard<std::mutex> g(clients_->mu);
      clients_->open.erase(this);
    }
    if (on_close_)
      portico::detail::run_user_code(log_, [&] { return "ws close handler on " + req_.path; },
                                     [&] { on_close_(*this, code, reason); });
    on_message_ = nullptr;
    on_close_ = nullptr;  // may hold references back to this websocket
    net_ = net::websocket();
  }

  /// True once this side started the closing handshake.
  bool closing() const { return state_ == state::closing; }
  /// True when close() was called before accepting (the router then refuses the upgrade).
  bool refused() const { return refused_; }

 private:
  enum class state { handshake, open, closing, closed };

  template <class F>
  void run_here(F&& f) {
    if (std::this_thread::get_id() == home_) f();
    else asio::post(executor_, std::forward<F>(f));
  }

  void send(websocketpp::frame::opcode::value op, std::string s) {
    run_here([self = shared_from_this(), op, s = std::move(s)]() mutable { self->send_here(op, std::move(s)); });
  }

  void send_here(websocketpp::frame::opcode::value op, std::string s) {
    if (state_ == state::handshake) {
      if (accepted_) pending_.emplace_back(op, std::move(s));
      return;
    }
    if (state_ != state::open) return;
    if (net_) return send_net(op, std::move(s));
    auto con = con_.lock();
    if (!con) return;
    if (max_buffered_) {  // a first message always fits
      std::size_t queued = con->get_buffered_amount();
      if (queued && queued + s.size() > max_buffered_) {
        if (log_)
          log_->warn("ws " + req_.path + " from " + req_.remote_address + ": send buffer full (over " +
                     std::to_string(max_buffered_) + " bytes queued), closing with 1008");
        return close_here(close_code::policy_violation, "send buffer full");
      }
    }
    // websocketpp validates outgoing text and refuses invalid UTF-8 (browsers would close):
    // repair it then, so the valid path costs nothing more.
    auto ec = con->send(s, op);
    if (ec == websocketpp::processor::error::invalid_payload && op == websocketpp::frame::opcode::text) {
      if (log_) log_->warn("ws " + req_.path + ": sent text was not UTF-8, invalid bytes replaced by U+FFFD");
      portico::detail::utf8_repair(s);
      con->send(s, op);
    }
    // any other error means the connection is already closing
  }

  void send_net(websocketpp::frame::opcode::value op, std::string s) {
    if (max_buffered_) {  // a first message always fits
      std::size_t queued = net_.buffered_amount();
      if (queued && queued + s.size() > max_buffered_) {
        if (log_)
          log_->warn("ws " + req_.path + " from " + req_.remote_address + ": send buffer full (over " +
                     std::to_string(max_buffered_) + " bytes queued), closing with 1008");
        return close_here(close_code::policy_violation, "send buffer full");
      }
    }
    const bool binary = op == websocketpp::frame::opcode::binary;
    // Browsers close on invalid UTF-8 in a text frame: repair it (the host frames as given).
    if (!binary && portico::detail::utf8_repair(s) && log_)
      log_->warn("ws " + req_.path + ": sent text was not UTF-8, invalid bytes replaced by U+FFFD");
    net_.send(s, binary);
  }

  void close_here(int code, std::string reason) {
    if (state_ == state::handshake) {
      if (!accepted_) refused_ = true;
      else if (!pending_close_) pending_close_.emplace(code, std::move(reason));
      return;
    }
    if (state_ != state::open) return;
    state_ = state::closing;
    if (net_) {
      local_close_.emplace(code, reason);
      return net_.close(static_cast<std::uint16_t>(code), reason);
    }
    auto con = con_.lock();
    if (!con) return;
    local_close_.emplace(code, reason);
    websocketpp::lib::error_code ec;
    con->close(static_cast<websocketpp::close::status::value>(code), reason, ec);
  }

  std::weak_ptr<detail::connection_ptr::element_type> con_;  ///< weak: the connection owns us
  net::websocket net_;  ///< or a net::host connection (reset when it ends: it holds the connection)
  asio::ip::tcp::socket::executor_type executor_;
  std::thread::id home_;
  http::request req_;
  std::shared_ptr<detail::ws_clients> clients_;
  portico::logger* log_;
  std::size_t max_buffered_;
  std::atomic<state> state_{state::handshake};  ///< written on the home thread, read anywhere
  bool accepted_ = false, refused_ = false;
  std::vector<std::pair<websocketpp::frame::opcode::value, std::string>> pending_;
  std::optional<std::pair<int, std::string>> pending_close_;
  std::optional<std::pair<int, std::string>> local_close_;  ///< what close_here sent
  message_handler on_message_;
  close_handler on_close_;
};

/// The message format of an event-mode route (Ellar's `encoding`).
enum class ws_encoding { text, json, bytes };

/// Event mode (Ellar's `use_extra_handler=True`): the route decodes each frame into `Body`.
/// - text: text frames only; Body is std::string or anything a query parameter can be.
/// - json: text or binary frames holding JSON, decoded through the typed mapping.
/// - bytes: binary frames only; Body is std::string.
/// Wrong frame type -> close 1003; malformed JSON -> close 1003 "Malformed JSON data received.";
/// a Body that does not validate -> `{"code":1008,"errors":[...]}` then close 1008.
/// `Params` are the value types of the route's handshake parameters (`http::query<T>`, path,
/// header), in order: on_connect receives them decoded, as a plain ws handler does.
template <class Body, class... Params>
struct ws_events {
  ws_encoding encoding = ws_encoding::text;
  /// Default: accept. Not calling ws.accept() refuses the upgrade (403).
  std::function<void(websocket&, Params...)> on_connect;
  std::function<void(websocket&, Body&&)> on_message;
  /// The close code the client sent (1006 if it vanished).
  std::function<void(websocket&, int code)> on_disconnect;
};

/// Broadcast access to the clients of one route.
class ws_route_clients {
 public:
  explicit ws_route_clients(std::shared_ptr<detail::ws_clients> c) : c_(std::move(c)) {}
  std::vector<websocket_ptr> clients() const {
    std::lock_guard<std::mutex> g(c_->mu);
    std::vector<websocket_ptr> out;
    out.reserve(c_->open.size());
    for (auto& [k, v] : c_->open)
      if (auto ws = v.lock()) out.push_back(std::move(ws));
    return out;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(c_->mu);
    return c_->open.size();
  }
  void broadcast_text(const std::string& s) const {
    for (auto& ws : clients()) ws->send_text(s);
  }
  void broadcast_bytes(const std::string& s) const {
    for (auto& ws : clients()) ws->send_bytes(s);
  }
  template <class T>
  void broadcast_json(const T& v) const {
    broadcast_text(portico::json::to_string(v));
  }

 protected:
  std::shared_ptr<detail::ws_clients> c_;
};

}  // namespace portico::http
