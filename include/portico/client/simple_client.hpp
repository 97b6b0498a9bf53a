#pragma once
/// A blocking Socket.IO client for scripts and tests (the shape of python-socketio's SimpleClient):
/// connect, emit, call (emit and wait for the ack), receive (wait for the next event), disconnect.
/// One namespace per simple_client. Every wait has a timeout; nothing here blocks forever.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "client.hpp"

namespace portico::client {

/// A wait ran out of time.
struct timeout_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// The connection could not be made or the namespace was refused (`detail.message`, `detail.data_json`).
struct connection_error : std::runtime_error {
  explicit connection_error(connect_error e) : std::runtime_error(e.message), detail(std::move(e)) {}
  connect_error detail;
};
/// The client is not connected (any more).
struct disconnected_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct simple_options {
  std::string nsp = "/";
  std::string auth_json;  ///< CONNECT payload as JSON text ("" = none)
  options client;         ///< transport options (headers, query, path, reconnection)
  std::chrono::milliseconds wait_timeout{5000};  ///< how long connect() waits
  simple_options() { client.reconnection = false; }
};

/// A received event that owns its packet.
struct message {
  std::string event;
  socketio::packet packet;
  /// The arguments after the event name; a view valid while this message lives, unmoved.
  socketio::args args() const noexcept { return socketio::args(packet); }
};

class simple_client {
 public:
  simple_client() = default;
  ~simple_client() { client_.reset(); }  // stops the I/O thread before the queue goes away
  simple_client(const simple_client&) = delete;
  simple_client& operator=(const simple_client&) = delete;

  /// Connects and joins the namespace; throws connection_error or timeout_error.
  void connect(const std::string& url, simple_options o = {}) {
    client_.reset();
    {
      std::lock_guard<std::mutex> l(mu_);
      inbox_.clear();
      connected_ = false;
      outcome_ = pending;
    }
    auto c = std::make_unique<client>(o.client);
    socket_ = &c->socket(o.nsp);
    if (!o.auth_json.empty()) socket_->set_auth_json(o.auth_json);
    socket_->on_connect([this] { settle(true, {}); });
    socket_->on_connect_error([this](const connect_error& e) { settle(false, e); });
    socket_->on_disconnect([this](const std::string& reason) {
      std::lock_guard<std::mutex> l(mu_);
      connected_ = false;
      reason_ = reason;
      cv_.notify_all();
    });
    socket_->on_any([this](event& e) {
      message m;
      m.event = std::string(e.name());
      m.packet = e.take();
      std::lock_guard<std::mutex> l(mu_);
      inbox_.push_back(std::move(m));
      cv_.notify_all();
    });
    client_ = std::move(c);
    client_->connect(url);
    std::unique_lock<std::mutex> l(mu_);
    if (!cv_.wait_for(l, o.wait_timeout, [&] { return outcome_ != pending; })) {
      l.unlock();
      client_.reset();
      throw timeout_error("connect timed out");
    }
    if (outcome_ == failed) {
      connect_error e = error_;
      l.unlock();
      client_.reset();
      throw connection_error(std::move(e));
    }
  }

  bool connected() const {
    std::lock_guard<std::mutex> l(mu_);
    return connected_;
  }
  /// The Socket.IO session id ("" when not connected).
  std::string sid() const { return socket_ && client_ ? socket_->sid() : std::string(); }
  /// Why the last disconnection happened ("" while connected).
  std::string disconnect_reason() const {
    std::lock_guard<std::mutex> l(mu_);
    return reason_;
  }

  template <class... A>
  void emit(std::string_view event_name, const A&... a) {
    require_connected();
    socket_->emit(event_name, a...);
  }

  /// Emits and waits for the ack; throws timeout_error or disconnected_error.
  template <class... A>
  ack_result call(std::string_view event_name, std::chrono::milliseconds timeout, const A&... a) {
    require_connected();
    struct slot {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      ack_result r;
    };
    auto s = std::make_shared<slot>();
    // The ack timer runs on the I/O thread; waiting a little longer here lets it report first.
    socket_->emit_with_ack(
        event_name,
        [s](ack_result& r) {
          std::lock_guard<std::mutex> l(s->mu);
          s->r = std::move(r);
          s->done = true;
          s->cv.notify_all();
        },
        timeout, a...);
    std::unique_lock<std::mutex> l(s->mu);
    if (!s->cv.wait_for(l, timeout + std::chrono::milliseconds(1000), [&] { return s->done; }))
      throw timeout_error("call timed out");
    if (s->r.status == ack_status::timeout) throw timeout_error("call timed out");
    if (s->r.status == ack_status::disconnected) throw disconnected_error("disconnected before the ack");
    return std::move(s->r);
  }

  /// The next received event; throws timeout_error, or disconnected_error when none is queued and
  /// the client is not connected.
  message receive(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    if (!cv_.wait_for(l, timeout, [&] { return !inbox_.empty() || !connected_; }))
      throw timeout_error("receive timed out");
    if (inbox_.empty()) throw disconnected_error("not connected");
    message m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }

  /// Leaves the namespace and closes the connection (waits at most the client's close grace).
  void disconnect() { client_.reset(); {
      std::lock_guard<std::mutex> l(mu_);
      connected_ = false;
      if (reason_.empty()) reason_ = "io client disconnect";
    }
  }

 private:
  enum outcome_t { pending, ok, failed };
  void settle(bool ok_, const connect_error& e) {
    std::lock_guard<std::mutex> l(mu_);
    if (ok_) {
      connected_ = true;
      reason_.clear();
    }
    if (outcome_ == pending) {
      outcome_ = ok_ ? ok : failed;
      error_ = e;
    }
    cv_.notify_all();
  }
  void require_connected() const {
    if (!client_ || !connected()) throw disconnected_error("not connected");
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<message> inbox_;
  bool connected_ = false;
  std::string reason_;
  outcome_t outcome_ = pending;
  connect_error error_;
  portico::client::socket* socket_ = nullptr;
  std::unique_ptr<client> client_;  ///< last: destroyed (thread stopped) before the rest
};

}  // namespace portico::client
