#pragma once
// A tiny blocking Socket.IO test client over websocketpp's client: speaks raw Engine.IO v4 over
// WebSocket (answers pings) and lets tests send and expect exact Socket.IO packets.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace sio_test {

struct received {
  bool binary = false;
  std::string data;  // Engine.IO message payload without the leading '4' (for text)
};

class client {
 public:
  using ws_client = websocketpp::client<websocketpp::config::asio_client>;

  /// `query`: the Engine.IO query ("EIO=3&transport=websocket&token=x" for a protocol v4 client).
  explicit client(std::uint16_t port, std::string path = "/socket.io/",
                  std::string query = "EIO=4&transport=websocket") {
    ws_.clear_access_channels(websocketpp::log::alevel::all);
    ws_.clear_error_channels(websocketpp::log::elevel::all);
    ws_.init_asio();
    ws_.set_open_handler([this](websocketpp::connection_hdl) {
      std::lock_guard<std::mutex> g(mu_);
      open_ = true;
      cv_.notify_all();
    });
    auto on_end = [this](websocketpp::connection_hdl) {
      std::lock_guard<std::mutex> g(mu_);
      closed_ = true;
      cv_.notify_all();
    };
    ws_.set_close_handler(on_end);
    ws_.set_fail_handler(on_end);
    ws_.set_message_handler([this](websocketpp::connection_hdl h, ws_client::message_ptr m) {
      const std::string& p = m->get_payload();
      if (m->get_opcode() == websocketpp::frame::opcode::binary) {
        push({true, p});
        return;
      }
      if (p == "2") {  // Engine.IO ping -> pong
        websocketpp::lib::error_code ec;
        ws_.send(h, "3", websocketpp::frame::opcode::text, ec);
        return;
      }
      if (!p.empty() && p[0] == '0') {
        std::lock_guard<std::mutex> g(mu_);
        engine_open_ = p;
        cv_.notify_all();
        return;
      }
      if (!p.empty() && p[0] == '4') push({false, p.substr(1)});
    });
    websocketpp::lib::error_code ec;
    std::string uri = "ws://127.0.0.1:" + std::to_string(port) + path + "?" + query;
    con_ = ws_.get_connection(uri, ec);
    if (!ec) ws_.connect(con_);
    thread_ = std::thread([this] { ws_.run(); });
  }

  ~client() {
    close();
    if (thread_.joinable()) thread_.join();
  }

  /// Waits for the Engine.IO open packet.
  bool wait_open(std::chrono::milliseconds t = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, t, [&] { return !engine_open_.empty() || closed_; }) && !engine_open_.empty();
  }

  void send(const std::string& socketio_packet) { raw("4" + socketio_packet); }
  void raw(const std::string& engineio_text) {
    websocketpp::lib::error_code ec;
    ws_.send(con_->get_handle(), engineio_text, websocketpp::frame::opcode::text, ec);
  }
  void send_binary(const std::string& bytes) {
    websocketpp::lib::error_code ec;
    ws_.send(con_->get_handle(), bytes, websocketpp::frame::opcode::binary, ec);
  }

  /// The next Socket.IO message (text without the '4', or a binary attachment).
  std::optional<received> next(std::chrono::milliseconds t = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, t, [&] { return !queue_.empty(); })) return std::nullopt;
    auto r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }
  /// The next text packet, or "" on timeout.
  std::string next_text(std::chrono::milliseconds t = std::chrono::seconds(5)) {
    auto r = next(t);
    return r ? r->data : std::string();
  }
  /// True when nothing arrives within `t`.
  bool quiet_for(std::chrono::milliseconds t) {
    std::unique_lock<std::mutex> lk(mu_);
    return !cv_.wait_for(lk, t, [&] { return !queue_.empty(); });
  }

  /// Connects to `nsp` ("/" or "/admin"), returns the server's answer packet.
  std::string connect(const std::string& nsp = "/", const std::string& auth = "") {
    std::string p = "0";
    if (nsp != "/") p += nsp + ",";
    send(p + auth);
    return next_text();
  }

  bool wait_closed(std::chrono::milliseconds t = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, t, [&] { return closed_; });
  }
  bool closed() {
    std::lock_guard<std::mutex> g(mu_);
    return closed_;
  }

  void close() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (closed_) {
        ws_.stop();
        return;
      }
    }
    websocketpp::lib::error_code ec;
    ws_.close(con_->get_handle(), websocketpp::close::status::normal, "", ec);
    wait_closed(std::chrono::seconds(2));
    ws_.stop();
  }

 private:
  void push(received r) {
    std::lock_guard<std::mutex> g(mu_);
    queue_.push_back(std::move(r));
    cv_.notify_all();
  }

  ws_client ws_;
  ws_client::connection_ptr con_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<received> queue_;
  std::string engine_open_;
  bool open_ = false, closed_ = false;
};

/// Extracts the "sid" of a CONNECT answer like `0{"sid":"abc"}` or `0/admin,{"sid":"abc"}`.
inline std::string sid_of(const std::string& connect_answer) {
  auto k = connect_answer.find("\"sid\":\"");
  if (k == std::string::npos) return {};
  k += 7;
  return connect_answer.substr(k, connect_answer.find('"', k) - k);
}

}  // namespace sio_test
