#pragma once
/// portico::redis::subscriber: the subscriber connection of a Redis adapter. It remembers what it
/// is subscribed to (SUBSCRIBE channels, PSUBSCRIBE patterns, SSUBSCRIBE shard channels) and
/// subscribes again after every reconnect; it reports `up` only once all of them are confirmed, so
/// a message published after `up` reaches it.
///
/// Threads and linking: as portico/redis/connection.hpp.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/link.hpp"
#include "options.hpp"
#include "reply.hpp"

namespace portico::redis {

/// Which kind of subscription a message or confirmation belongs to.
enum class subscription { channel, pattern, shard };

/// A delivered message. Views are valid only during the handler call.
struct message {
  subscription kind;         ///< message (channel), pmessage (pattern) or smessage (shard)
  std::string_view pattern;  ///< the matching pattern for `pattern`, empty otherwise
  std::string_view channel;
  std::string_view payload;  ///< bytes, may contain NUL
};

namespace detail {

class subscriber_link final : public link {
 public:
  subscriber_link(asio::io_context& io, options o) : link(io, std::move(o), "subscriber") {}

  std::function<void(const message&)> on_message;
  std::function<void(subscription, std::string_view)> on_subscribed;

  void add(subscription k, std::string_view name) {
    if (!mut(k).emplace(name).second) return;
    if (is_ready()) {
      issue(k, true, name);
      if (!is_up()) ++expected_;
    }
  }

  void remove(subscription k, std::string_view name) {
    auto& s = mut(k);
    auto it = s.find(std::string(name));
    if (it == s.end()) return;
    s.erase(it);
    if (is_ready()) issue(k, false, name);
  }

  const std::set<std::string>& set(subscription k) const {
    return k == subscription::channel ? channels_ : k == subscription::pattern ? patterns_ : shards_;
  }

 private:
  std::set<std::string>& mut(subscription k) {
    return k == subscription::channel ? channels_ : k == subscription::pattern ? patterns_ : shards_;
  }

  static const char* verb(subscription k, bool on) {
    switch (k) {
      case subscription::channel: return on ? "SUBSCRIBE" : "UNSUBSCRIBE";
      case subscription::pattern: return on ? "PSUBSCRIBE" : "PUNSUBSCRIBE";
      case subscription::shard: return on ? "SSUBSCRIBE" : "SUNSUBSCRIBE";
    }
    return "";
  }

  // One channel per command: in a cluster, channels of one SSUBSCRIBE must share a slot.
  void issue(subscription k, bool on, std::string_view name) {
    std::string_view a[] = {verb(k, on), name};
    send(a, 2);
  }

  void on_ready() override {
    expected_ = 0;
    // Patterns first, as the adapters subscribe (and as Node's adapter does): the broadcast
    // pattern is active before the request channel is, so a peer that sees this member on the
    // request channel (PUBSUB NUMSUB: server_count) can broadcast to it. Channels first, the
    // request channel went out in a write of its own and the pattern in the next one: an emit
    // published in between was lost (redis_emitter, seen under CI load).
    for (auto k : {subscription::pattern, subscription::channel, subscription::shard})
      for (const auto& n : set(k)) {
        issue(k, true, n);
        ++expected_;
      }
    if (expected_ == 0) became_up();
  }

  void handle_reply(const redisReply* raw) override {
    reply r(raw);
    if (r.is_error()) {
      // E.g. SSUBSCRIBE on a server without sharded pub/sub; the connection stays usable.
      log().warn("redis subscriber " + where() + ": " + std::string(r.str()));
      return confirmed();
    }
    std::string_view kind = r[0].str();
    if (kind == "message" && r.size() == 3) {
      deliver({subscription::channel, {}, r[1].str(), r[2].str()});
    } else if (kind == "pmessage" && r.size() == 4) {
      deliver({subscription::pattern, r[1].str(), r[2].str(), r[3].str()});
    } else if (kind == "smessage" && r.size() == 3) {
      deliver({subscription::shard, {}, r[1].str(), r[2].str()});
    } else if (kind == "subscribe" || kind == "psubscribe" || kind == "ssubscribe") {
      auto k = kind[0] == 's' && kind[1] == 's' ? subscription::shard
               : kind[0] == 'p'                 ? subscription::pattern
                                                : subscription::channel;
      if (on_subscribed) on_subscribed(k, r[1].str());
      confirmed();
    } else if (kind == "unsubscribe" || kind == "punsubscribe" || kind == "sunsubscribe") {
      // Nothing to do: the set was updated when asked.
    } else {
      log().warn("redis subscriber " + where() + ": unexpected reply ignored");
    }
  }

  void confirmed() {
    if (!is_up() && expected_ > 0 && --expected_ == 0) became_up();
  }

  void deliver(const message& m) {
    if (on_message) on_message(m);
  }

  void lost(std::string_view) override { expected_ = 0; }

  std::set<std::string> channels_, patterns_, shards_;
  std::size_t expected_ = 0;  ///< confirmations still awaited before reporting up
};

}  // namespace detail

class subscriber {
 public:
  /// Does not connect yet: set the handlers, subscribe to what is known, then call start().
  subscriber(asio::io_context& io, options o)
      : impl_(std::make_shared<detail::subscriber_link>(io, std::move(o))) {}
  ~subscriber() { impl_->close(); }
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  void on_state(std::function<void(state)> f) { impl_->on_state = std::move(f); }
  /// Every message, pmessage and smessage.
  void on_message(std::function<void(const message&)> f) { impl_->on_message = std::move(f); }
  /// Each confirmation Redis sends (also after a reconnect).
  void on_subscribed(std::function<void(subscription, std::string_view)> f) {
    impl_->on_subscribed = std::move(f);
  }
  void start() { impl_->start(); }
  void close() { impl_->close(); }
  state current() const noexcept { return impl_->current(); }
  portico::logger& log() noexcept { return impl_->log(); }

  /// Remembered at once; sent now if connected, else on (re)connect. Repeats are ignored.
  void subscribe(std::string_view channel) { impl_->add(subscription::channel, channel); }
  void psubscribe(std::string_view pattern) { impl_->add(subscription::pattern, pattern); }
  void ssubscribe(std::string_view channel) { impl_->add(subscription::shard, channel); }
  void unsubscribe(std::string_view channel) { impl_->remove(subscription::channel, channel); }
  void punsubscribe(std::string_view pattern) { impl_->remove(subscription::pattern, pattern); }
  void sunsubscribe(std::string_view channel) { impl_->remove(subscription::shard, channel); }

  /// What is remembered (and restored after a reconnect).
  const std::set<std::string>& subscriptions(subscription k) const { return impl_->set(k); }

 private:
  std::shared_ptr<detail::subscriber_link> impl_;
};

}  // namespace portico::redis
