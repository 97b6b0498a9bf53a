#pragma once
// Serves an http::router on loopback. `raw_endpoint` drives a bare websocketpp endpoint of the
// engineio worker type (no Engine.IO at all), so the router is tested on its own; with
// PORTICO_ROUTER_HOSTED=1 it mounts the router on a net::host instead (one I/O thread).
#include "portico/http/http.hpp"
#include "portico/net/host.hpp"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <cstdlib>
#include <memory>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace http_test {

namespace http = portico::http;
using portico::engineio::detail::ws_endpoint;

class raw_endpoint {
 public:
  static bool hosted() {
    const char* v = std::getenv("PORTICO_ROUTER_HOSTED");
    return v && *v == '1';
  }

  explicit raw_endpoint(http::router& r) : router_(r) {
    if (hosted()) {
      portico::net::host_options ho;
      ho.threads = 1;  // run() below is then a barrier for every connection
      ho.tick = std::chrono::milliseconds(100);
      ho.stop_timeout = std::chrono::milliseconds(1000);
      ho.linger_timeout = std::chrono::milliseconds(200);  // clients here rarely half-close
      host_ = std::make_unique<portico::net::host>(ho);
      host_->mount("/", http::router::handler(r));
      host_->mount("/__fixture_run", [this](portico::net::request, portico::net::response res) {
        if (pending_) pending_();
        res.send();
      });
      port_ = host_->listen("127.0.0.1", 0);
      host_->start();
      return;
    }
    ep_.init_asio(&ioc_);
    ep_.set_reuse_addr(true);
    ep_.set_http_handler([this, &r](websocketpp::connection_hdl h) {
      auto con = ep_.get_con_from_hdl(h);
      con->replace_header("Connection", "close");
      r.handle_http(con);
    });
    ep_.set_validate_handler([this, &r](websocketpp::connection_hdl h) { return r.handle_upgrade(ep_.get_con_from_hdl(h)); });
    ep_.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::error_code ec;
    port_ = ep_.get_local_endpoint(ec).port();
    ep_.start_accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  /// Drains like a server should: stop accepting, close the WebSockets still open, give them
  /// a moment to finish their closing handshakes, then stop.
  ~raw_endpoint() {
    if (host_) {
      router_.close_websockets();
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
      while (router_.websocket_count() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      host_->stop();
      return;
    }
    asio::post(ioc_, [this] {
      asio::error_code ec;
      ep_.stop_listening(ec);
    });
    router_.close_websockets();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (router_.websocket_count() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  /// Runs `f` on the endpoint's thread and waits for it.
  void run(std::function<void()> f) {
    if (host_) {  // through a request: it runs on the host's one thread, after what came before
      pending_ = std::move(f);
      asio::io_context io;
      asio::ip::tcp::socket s(io);
      s.connect({asio::ip::make_address("127.0.0.1"), port_});
      asio::write(s, asio::buffer(std::string("GET /__fixture_run HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
      std::string sink;
      asio::error_code ec;
      asio::read(s, asio::dynamic_buffer(sink), ec);
      pending_ = nullptr;
      return;
    }
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    asio::post(ioc_, [&] {
      f();
      std::lock_guard<std::mutex> g(m);
      done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> g(m);
    cv.wait_for(g, std::chrono::seconds(5), [&] { return done; });
  }

 private:
  http::router& router_;
  asio::io_context ioc_{1};
  ws_endpoint ep_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::unique_ptr<portico::net::host> host_;
  std::function<void()> pending_;
};

/// Polls `pred` for up to `ms` milliseconds.
template <class P>
bool eventually(P pred, int ms = 3000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace http_test
