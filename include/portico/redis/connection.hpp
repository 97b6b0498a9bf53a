#pragma once
/// portico::redis::connection: the command connection of a Redis adapter (PUBLISH, SPUBLISH,
/// PUBSUB NUMSUB / SHARDNUMSUB, any command). Commands are pipelined; replies are matched to their
/// callbacks in order.
///
/// Only code that includes <portico/redis/...> needs hiredis (-lhiredis, pkg-config portico-redis,
/// CMake portico::redis); the rest of portico links nothing new.
///
/// Threads: the connection lives on one io_context thread. Construct it, call its methods and
/// destroy it on that thread (asio::post from elsewhere); every callback runs there too.
///
/// Availability: while the connection is not up (connecting, or down and retrying with backoff),
/// a command is not queued: its callback is posted at once with an error, so the owner can count
/// what was lost. After a reconnect, commands are accepted again; nothing is replayed.
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/link.hpp"
#include "options.hpp"
#include "reply.hpp"

namespace portico::redis {

/// `error` is empty on success. Otherwise it is Redis's error reply (`r` is that error) or why the
/// connection could not carry the command (`r` is nil). `r` is valid only during the call.
using reply_handler = std::function<void(std::string_view error, reply r)>;

namespace detail {

class command_link final : public link {
 public:
  command_link(asio::io_context& io, options o) : link(io, std::move(o), "command"), io_(io) {}

  void command(const std::string_view* args, std::size_t n, reply_handler h) {
    if (!is_up()) {
      if (h) {
        std::string why = current() == state::closed ? "redis connection closed"
                                                     : "redis " + where() + " not connected";
        asio::post(io_, [h = std::move(h), why = std::move(why)] { h(why, reply()); });
      }
      return;
    }
    send(args, n);
    pending_.push_back(std::move(h));
  }

  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  void handle_reply(const redisReply* r) override {
    if (pending_.empty()) {
      // Not ours to answer (a RESP2 command connection gets no pushes): the stream is confused.
      return drop("unexpected reply with no command waiting");
    }
    reply_handler h = std::move(pending_.front());
    pending_.pop_front();
    if (!h) return;
    reply v(r);
    if (v.is_error()) h(v.str(), v);
    else h({}, v);
  }

  void lost(std::string_view why) override {
    // Swap first: a callback may issue new commands (which fail at once, not join this list).
    std::deque<reply_handler> failed;
    failed.swap(pending_);
    for (auto& h : failed)
      if (h) h(why, reply());
  }

  asio::io_context& io_;
  std::deque<reply_handler> pending_;
};

}  // namespace detail

class connection {
 public:
  /// Does not connect yet: set on_state, then call start().
  connection(asio::io_context& io, options o)
      : impl_(std::make_shared<detail::command_link>(io, std::move(o))) {}
  /// Closes; callbacks of commands still waiting for a reply are called with an error.
  ~connection() { impl_->close(); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Connecting, up, down, closed: called on each change (not on close()).
  void on_state(std::function<void(state)> f) { impl_->on_state = std::move(f); }
  void start() { impl_->start(); }
  void close() { impl_->close(); }
  state current() const noexcept { return impl_->current(); }
  /// Commands sent and not answered yet.
  std::size_t pending() const noexcept { return impl_->pending(); }
  portico::logger& log() noexcept { return impl_->log(); }

  /// Any command; arguments are bytes (binary-safe).
  void command(std::initializer_list<std::string_view> args, reply_handler h = {}) {
    impl_->command(args.begin(), args.size(), std::move(h));
  }
  void command(const std::vector<std::string_view>& args, reply_handler h = {}) {
    impl_->command(args.data(), args.size(), std::move(h));
  }

  /// PUBLISH: the reply is the number of subscribers that received it (on this node).
  void publish(std::string_view channel, std::string_view payload, reply_handler h = {}) {
    command({"PUBLISH", channel, payload}, std::move(h));
  }
  /// SPUBLISH (Redis 7 sharded pub/sub).
  void spublish(std::string_view channel, std::string_view payload, reply_handler h = {}) {
    command({"SPUBLISH", channel, payload}, std::move(h));
  }

 private:
  std::shared_ptr<detail::command_link> impl_;
};

}  // namespace portico::redis
