#pragma once
/// One TCP connection to Redis that keeps itself connected: connect, AUTH/SELECT, read replies with
/// a bounded reader, pipeline writes, and on any failure close, tell the owner, and retry with
/// jittered exponential backoff. Subclasses (command_link, subscriber_link) give replies meaning.
///
/// Everything runs on the io_context's thread; public calls must come from that thread too.
#include <asio.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../../detail/random.hpp"
#include "../../detail/user_code.hpp"
#include "../../log.hpp"
#include "../options.hpp"
#include "resp.hpp"

namespace portico::redis::detail {

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

class link : public std::enable_shared_from_this<link> {
 public:
  link(asio::io_context& io, options o, const char* role)
      : opt_(std::move(o)),
        role_(role),
        own_log_(opt_.log ? nullptr : std::make_unique<portico::logger>("portico.redis")),
        log_(opt_.log ? opt_.log : own_log_.get()),
        resolver_(io),
        sock_(io),
        timer_(io),
        reader_(opt_.max_reply_bytes),
        buf_(64 * 1024),
        delay_(opt_.reconnect_initial) {}
  virtual ~link() = default;
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  /// Begins connecting (once).
  void start() {
    if (started_ || state_ == state::closed) return;
    started_ = true;
    connect();
  }

  /// Stops for good: closes the socket, cancels the retry timer, fails what is pending.
  void close() {
    if (state_ == state::closed) return;
    state_ = state::closed;
    abandon();
    lost("redis connection closed");
  }

  state current() const noexcept { return state_; }
  portico::logger& log() noexcept { return *log_; }
  const options& opts() const noexcept { return opt_; }

  /// Called on every change between up and down (and connecting -> down); not on close().
  std::function<void(state)> on_state;

 protected:
  bool is_up() const noexcept { return state_ == state::up; }
  /// True once TCP is connected and AUTH/SELECT answered (before the subclass declared it up).
  bool is_ready() const noexcept { return ready_; }

  /// Queues one command (its reply arrives through handle_reply, in order).
  void send(const std::string_view* args, std::size_t n) {
    append_command(out_, args, n);
    flush();
  }

  /// The socket is usable and authenticated; call became_up() when the subclass is ready.
  virtual void on_ready() { became_up(); }
  /// A reply or push (AUTH/SELECT answers are consumed before this).
  virtual void handle_reply(const redisReply* r) = 0;
  /// The connection is gone (or closed): fail everything that waited on it with `why`.
  virtual void lost(std::string_view why) = 0;

  void became_up() {
    timer_.cancel();
    state_ = state::up;
    delay_ = opt_.reconnect_initial;
    if (outage_logged_) {
      outage_logged_ = false;
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - outage_start_).count();
      log_->warn([&] { return "redis " + std::string(role_) + " " + where() + " reconnected after " +
                              std::to_string(ms) + " ms"; });
    }
    notify(state::up);
  }

  /// A reply the connection cannot live with (e.g. a failed AUTH): close, log, reconnect.
  void drop(const std::string& what) { fail(what, false); }

  std::string where() const { return opt_.host + ":" + std::to_string(opt_.port); }

 private:
  void connect() {
    ++gen_;
    reader_.reset();
    out_.clear();
    ready_ = false;
    handshake_left_ = 0;
    auto self = shared_from_this();
    auto g = gen_;
    timer_.expires_after(opt_.connect_timeout);
    timer_.async_wait([this, self, g](const asio::error_code& ec) {
      if (ec || g != gen_ || state_ == state::up) return;
      fail("connect timeout", true);
    });
    resolver_.async_resolve(opt_.host, std::to_string(opt_.port),
        [this, self, g](const asio::error_code& ec, asio::ip::tcp::resolver::results_type results) {
          if (g != gen_) return;
          if (ec) return fail(ec.message(), true);
          asio::async_connect(sock_, results,
              [this, self, g](const asio::error_code& ec2, const asio::ip::tcp::endpoint&) {
                if (g != gen_) return;
                if (ec2) return fail(ec2.message(), true);
                connected();
              });
        });
  }

  void connected() {
    asio::error_code ignored;
    sock_.set_option(asio::ip::tcp::no_delay(true), ignored);
    // A subscriber only reads: keepalive lets the kernel notice a peer that vanished silently.
    sock_.set_option(asio::socket_base::keep_alive(true), ignored);
    if (!opt_.password.empty()) {
      if (opt_.username.empty()) {
        std::string_view a[] = {"AUTH", opt_.password};
        append_command(out_, a, 2);
      } else {
        std::string_view a[] = {"AUTH", opt_.username, opt_.password};
        append_command(out_, a, 3);
      }
      ++handshake_left_;
    }
    if (opt_.db != 0) {
      std::string db = std::to_string(opt_.db);
      std::string_view a[] = {"SELECT", db};
      append_command(out_, a, 2);
      ++handshake_left_;
    }
    read();
    if (handshake_left_ == 0) {
      ready_ = true;
      on_ready();
    }
    flush();
  }

  void read() {
    auto self = shared_from_this();
    auto g = gen_;
    sock_.async_read_some(asio::buffer(buf_), [this, self, g](const asio::error_code& ec, std::size_t n) {
      if (g != gen_) return;
      if (ec) return fail(ec == asio::error::eof ? "connection closed by the server" : ec.message(), true);
      reader_.feed(buf_.data(), n);
      for (;;) {
        redisReply* raw = nullptr;
        auto res = reader_.next(raw);
        if (res == reader::result::need_more) break;
        if (res == reader::result::error) {
          if (reader_.over_limit())
            return fail("reply larger than max_reply_bytes (" + std::to_string(opt_.max_reply_bytes) + ")",
                        false);
          return fail(std::string("protocol error: ") + reader_.error(), false);
        }
        reply_ptr r(raw);
        if (handshake_left_ > 0) {
          if (r->type == REDIS_REPLY_ERROR)
            return drop("AUTH/SELECT refused: " + std::string(r->str, static_cast<std::size_t>(r->len)));
          if (--handshake_left_ == 0) {
            ready_ = true;
            on_ready();
          }
        } else {
          portico::detail::run_user_code(log_, "redis handler", [&] { handle_reply(r.get()); });
        }
        if (g != gen_) return;  // a handler closed or dropped the connection
      }
      read();
    });
  }

  void flush() {
    if (writing_ || out_.empty() || state_ == state::closed) return;
    auto data = std::make_shared<std::string>(std::move(out_));
    out_.clear();
    writing_ = true;
    auto self = shared_from_this();
    auto g = gen_;
    asio::async_write(sock_, asio::buffer(*data), [this, self, g, data](const asio::error_code& ec, std::size_t) {
      if (g != gen_) return;
      writing_ = false;
      if (ec) return fail(ec.message(), true);
      flush();
    });
  }

  /// Invalidates every pending handler and closes the socket.
  void abandon() {
    ++gen_;
    writing_ = false;
    ready_ = false;
    out_.clear();
    asio::error_code ignored;
    resolver_.cancel();
    sock_.close(ignored);
    timer_.cancel();
  }

  /// `io` failures read "unreachable"; others (a refused reply) say what was refused. Either way
  /// one line per outage.
  void fail(const std::string& why, bool io) {
    if (state_ == state::closed) return;
    abandon();
    if (!outage_logged_) {
      outage_logged_ = true;
      outage_start_ = std::chrono::steady_clock::now();
      log_->warn([&] {
        return "redis " + std::string(role_) + " " + where() + (io ? " unreachable: " : ": ") + why +
               (io ? ", retrying" : ", connection closed, reconnecting");
      });
    } else {
      log_->debug([&] { return "redis " + std::string(role_) + " " + where() + " still down: " + why; });
    }
    state prev = state_;
    state_ = state::down;
    lost("redis " + where() + " unavailable: " + why);
    if (state_ == state::closed) return;  // the owner closed us from a callback
    if (prev != state::down) notify(state::down);
    if (state_ == state::closed) return;
    retry();
  }

  void retry() {
    auto d = delay_;
    delay_ = std::min(delay_ * 2, opt_.reconnect_max);
    // Jittered down to half, so members that lost Redis together do not all come back at once.
    // The one generator of the library (a reconnect is rare: a few random bytes are nothing).
    const long long hi = std::max<long long>(d.count(), 1), lo = d.count() / 2;
    std::uint32_t r = 0;
    portico::detail::random_bytes(&r, sizeof r);
    auto self = shared_from_this();
    auto g = gen_;
    timer_.expires_after(std::chrono::milliseconds(lo + static_cast<long long>(r % static_cast<std::uint32_t>(hi - lo + 1))));
    timer_.async_wait([this, self, g](const asio::error_code& ec) {
      if (ec || g != gen_ || state_ == state::closed) return;
      connect();
    });
  }

  void notify(state s) {
    if (on_state) on_state(s);
  }

  options opt_;
  const char* role_;
  std::unique_ptr<portico::logger> own_log_;
  portico::logger* log_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  reader reader_;
  std::vector<char> buf_;
  std::string out_;
  bool writing_ = false;
  bool started_ = false;
  bool ready_ = false;
  int handshake_left_ = 0;
  unsigned long gen_ = 0;  ///< bumped per attempt: handlers of an older socket do nothing
  state state_ = state::connecting;
  bool outage_logged_ = false;
  std::chrono::steady_clock::time_point outage_start_;
  std::chrono::milliseconds delay_;
};

}  // namespace portico::redis::detail
