#pragma once
/// portico::redis::adapter: a Socket.IO adapter that joins a Node @socket.io/redis-adapter 8.3
/// cluster (classic mode, `createAdapter`) as an equal member.
///
/// One adapter per namespace, each with its own 6-char uid; all adapters made by one
/// `classic_adapter_factory` share one command connection (PUBLISH, PUBSUB NUMSUB) and one
/// subscriber, like Node's pub and sub clients, driven by one thread of their own. Local
/// delivery is `memory_adapter`'s (encode once); a broadcast is also published as the msgpack
/// `[uid, packet, opts]` Node reads. Messages received from Redis are delivered through the
/// server's `deliver_fn` (`send_many`), which posts to each recipient's home worker, the way an
/// emit from a foreign thread does.
///
/// Requests answered: ALL_ROOMS (1), SOCKETS (0), REMOTE_JOIN (2), REMOTE_LEAVE (3),
/// REMOTE_FETCH (5: id, rooms, the handshake as Node writes it and the session as `data`),
/// BROADCAST (7: sent to the local clients with a local ack id, answered with
/// BROADCAST_CLIENT_COUNT and one BROADCAST_ACK per local answer), REMOTE_DISCONNECT (4): with
/// `close: true` the connections close, without it the sockets leave the namespace only.
/// SERVER_SIDE_EMIT (6): handed to the namespace's `on_server_event` listeners; with a requestId
/// the listener's returned value is the answer (on the common response channel, as Node does).
/// Issued: BROADCAST (7) for broadcasts with ack, ALL_ROOMS (1, `nsp::all_rooms`), REMOTE_JOIN /
/// REMOTE_LEAVE (2/3, `nsp::sockets_join/leave`), REMOTE_DISCONNECT (4, `nsp::disconnect_sockets`,
/// with and without close), REMOTE_FETCH (5, `nsp::fetch_sockets`), SERVER_SIDE_EMIT (6, with ack
/// too); the counted ones (1, 5, 6 with ack) expect `PUBSUB NUMSUB - 1` answers within
/// `requests_timeout` (`detail::counted_requests`). `PUBSUB NUMSUB` is also the server count.
/// REMOTE_JOIN/LEAVE/DISCONNECT are applied here when issued, so this member skips its own.
#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../detail/random.hpp"
#include "../log.hpp"
#include "../socketio/adapter.hpp"
#include "../socketio/codec.hpp"
#include "../socketio/server.hpp"
#include "channels.hpp"
#include "codec.hpp"
#include "connection.hpp"
#include "detail/requests.hpp"
#include "subscriber.hpp"

namespace portico::redis {

/// How a server joins a classic Redis-adapter cluster (the options of Node's `createAdapter`).
struct cluster_options {
  /// Redis host (`connection.host` is replaced by it).
  std::string host = "127.0.0.1";
  /// Redis port (`connection.port` is replaced by it).
  std::uint16_t port = 6379;
  /// Channel prefix, Node's `key`; every member of the cluster must use the same.
  std::string key = std::string(default_prefix);
  /// How long a broadcast with ack waits for remote answers at most when it names no timeout.
  std::chrono::milliseconds requests_timeout{5000};
  /// Answer requests on the requester's own response channel (Node's
  /// `publishOnSpecificResponseChannel`) instead of the common one.
  bool publish_on_specific_response_channel = false;
  /// Everything else about the two Redis connections (AUTH, reconnect backoff, log...).
  options connection;
};

class adapter;

namespace detail {

/// The two Redis connections shared by every adapter of one factory, on a thread of their own.
class cluster_hub {
 public:
  explicit cluster_hub(cluster_options o) : opts_(std::move(o)), work_(asio::make_work_guard(io_)) {
    options c = opts_.connection;
    c.host = opts_.host;
    c.port = opts_.port;
    if (!c.log) c.log = &log_;
    pub_ = std::make_unique<connection>(io_, c);
    sub_ = std::make_unique<subscriber>(io_, c);
    sub_->on_message([this](const message& m) { dispatch(m); });
    pub_->start();
    sub_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~cluster_hub() {
    asio::post(io_, [this] {
      pub_.reset();
      sub_.reset();
      work_.reset();
      io_.stop();
    });
    thread_.join();
  }
  cluster_hub(const cluster_hub&) = delete;
  cluster_hub& operator=(const cluster_hub&) = delete;

  const cluster_options& opts() const noexcept { return opts_; }
  portico::logger& log() noexcept { return log_; }
  asio::io_context& io() noexcept { return io_; }

  /// Registers `a` for `nsp` and subscribes to its channels.
  void attach(adapter* a);
  /// After this returns, nothing calls `a` any more.
  void detach(adapter* a);

  /// From any thread. A publish that Redis cannot take (down) is counted and logged.
  void publish(std::string channel, std::string payload) {
    asio::post(io_, [this, channel = std::move(channel), payload = std::move(payload)] {
      pub_->publish(channel, payload, [this](std::string_view err, reply) {
        if (err.empty()) return counts_.published();
        auto n = lost_.fetch_add(1, std::memory_order_relaxed) + 1;
        log_.warn("redis adapter: publish lost (" + std::string(err) + "), " + std::to_string(n) +
                  " lost so far");
      });
    });
  }

  /// What counted requests publish with (`detail::counted_requests`).
  void send(std::string channel, std::string payload) { publish(std::move(channel), std::move(payload)); }

  /// PUBSUB NUMSUB `channel` -> done(count) on the hub thread; 1 (this server) when Redis is down.
  void count_servers(std::string channel, std::function<void(std::size_t)> done) {
    asio::post(io_, [this, channel = std::move(channel), done = std::move(done)] {
      pub_->command({"PUBSUB", "NUMSUB", channel}, [done](std::string_view err, reply r) {
        std::size_t n = 1;
        if (err.empty() && r.size() == 2 && r[1].integer() > 0) n = static_cast<std::size_t>(r[1].integer());
        done(n);
      });
    });
  }

  /// Publishes that could not be sent (Redis down) since the start.
  std::uint64_t lost_publishes() const noexcept { return lost_.load(std::memory_order_relaxed); }
  /// Messages published and received, request timeouts (hub thread writes, any thread reads).
  hub_counts& counts() noexcept { return counts_; }
  const hub_counts& counts() const noexcept { return counts_; }

 private:
  void dispatch(const message& m);

  cluster_options opts_;
  portico::logger log_{"portico.redis.adapter", portico::log_level::warn};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<connection> pub_;
  std::unique_ptr<subscriber> sub_;
  std::thread thread_;
  std::atomic<std::uint64_t> lost_{0};
  hub_counts counts_;
  std::mutex mu_;  ///< guards adapters_; held while an adapter handles a message
  std::unordered_map<std::string, adapter*> adapters_;  ///< by namespace name
};

/// A 6-character uid of the alphabet Node's uid2 uses.
inline std::string member_uid() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char b[6];
  portico::detail::random_bytes(b, sizeof b);
  std::string s(6, '\0');
  for (int i = 0; i < 6; ++i) s[i] = alphabet[b[i] & 63];
  return s;
}

}  // namespace detail

class adapter : public socketio::memory_adapter {
 public:
  adapter(std::string nsp, deliver_fn deliver, std::shared_ptr<detail::cluster_hub> hub)
      : memory_adapter(std::move(deliver)),
        nsp_(std::move(nsp)),
        uid_(detail::member_uid()),
        hub_(std::move(hub)),
        prefix_(hub_->opts().key),
        request_channel_(classic_channels::request(prefix_, nsp_)),
        response_channel_(classic_channels::response(prefix_, nsp_)) {
    hub_->attach(this);
  }
  ~adapter() override { hub_->detach(this); }

  const std::string& uid() const noexcept { return uid_; }
  const std::string& namespace_name() const noexcept { return nsp_; }
  [[deprecated("use namespace_name()")]] const std::string& nsp() const noexcept { return nsp_; }
  const std::string& prefix() const noexcept { return prefix_; }
  /// Publishes lost while Redis was down (shared by every namespace of the factory).
  std::uint64_t lost_publishes() const noexcept { return hub_->lost_publishes(); }
  bool cluster_counts(socketio::cluster_metrics& out) const override {
    out = hub_->counts().read(hub_->lost_publishes());
    return true;
  }

  void broadcast(const socketio::outgoing_packet& p, const socketio::broadcast_options& opts) override {
    memory_adapter::broadcast(p, opts);
    if (opts.local) return;
    classic_broadcast b = to_classic(p, opts);
    hub_->publish(classic_channels::for_broadcast(prefix_, nsp_, opts.rooms), encode(b));
  }

  void broadcast_with_ack(const socketio::outgoing_packet& p, const socketio::broadcast_options& opts,
                          const std::shared_ptr<socketio::ack_collector>& acks) override {
    memory_adapter::broadcast_with_ack(p, opts, acks);
    if (opts.local) return;
    classic_broadcast b = to_classic(p, opts);
    auto timeout = opts.timeout.count() > 0 ? opts.timeout : hub_->opts().requests_timeout;
    b.opts.flags.timeout = static_cast<std::uint64_t>(timeout.count());
    classic_request r;
    r.type = request_type::broadcast;
    r.uid = uid_;
    r.request_id = detail::member_uid();
    r.pkt = std::move(b.pkt);
    r.opts = std::move(b.opts);
    acks_.add(*r.request_id, acks, timeout);
    hub_->publish(request_channel_, encode(r));
  }

  void server_count(std::function<void(std::size_t)> done) override {
    // A broadcast with ack that came from another member is answered for this server only.
    if (detail::answering_remote()) return done(1);
    hub_->count_servers(request_channel_, std::move(done));
  }

  void bind(socketio::nsp& n) override { bound_.store(&n, std::memory_order_release); }

  void server_side_emit(const socketio::outgoing_packet& p, server_ack_fn cb) override {
    classic_request r;
    r.type = request_type::server_side_emit;
    r.uid = uid_;
    r.data = packet_from_socketio(p.frame->text, p.frame->binaries).data;
    if (!cb) return hub_->publish(request_channel_, encode(r));
    r.request_id = detail::member_uid();
    std::string id = *r.request_id;
    sse_t::issue(sse_, *hub_, request_channel_, std::move(id), encode(r),
                 [cb = std::move(cb)](bool complete, std::vector<std::string> answers) {
                   detail::with_answers_args(answers, [&](const socketio::args& a) { cb(complete, a); });
                 });
  }

  /// Closes the connections of the sockets `opts` selects on every server of the cluster
  /// (this one included), as `nsp::disconnect_sockets(opts, true)` does. Safe from any thread.
  void disconnect_sockets(const socketio::broadcast_options& opts) {
    close_connections(opts);
    if (!opts.local) remote_disconnect(opts, true);
  }

  /// REMOTE_JOIN: the other servers apply it when it reaches them (this one applied it already
  /// and skips its own by uid; the result is the same for the others as Node's way).
  void remote_join(const socketio::broadcast_options& opts, const std::vector<std::string>& rooms) override {
    publish_rooms(request_type::remote_join, opts, rooms);
  }
  /// REMOTE_LEAVE, like `remote_join`.
  void remote_leave(const socketio::broadcast_options& opts, const std::vector<std::string>& rooms) override {
    publish_rooms(request_type::remote_leave, opts, rooms);
  }
  /// REMOTE_DISCONNECT with `close` (Node's `disconnectSockets(close)`).
  void remote_disconnect(const socketio::broadcast_options& opts, bool close) override {
    classic_request r;
    r.type = request_type::remote_disconnect;
    r.uid = uid_;
    r.opts = detail::wire_target(opts, false);
    r.close = close;
    hub_->publish(request_channel_, encode(r));
  }

  /// ALL_ROOMS: one answer expected from each other server (`PUBSUB NUMSUB - 1`) within
  /// `requests_timeout`.
  void fetch_remote_rooms(rooms_fn done) override {
    classic_request r;
    r.type = request_type::all_rooms;
    r.uid = uid_;
    r.request_id = detail::member_uid();
    std::string id = *r.request_id;
    rooms_t::issue(room_requests_, *hub_, request_channel_, std::move(id), encode(r), std::move(done));
  }

  void fetch_remote_sockets(const socketio::broadcast_options& opts, fetch_fn done) override {
    classic_request r;
    r.type = request_type::remote_fetch;
    r.uid = uid_;
    r.request_id = detail::member_uid();
    r.opts = detail::wire_target(opts, false);
    std::string id = *r.request_id;
    fetch_t::issue(fetches_, *hub_, request_channel_, std::move(id), encode(r), std::move(done));
  }

  /// Hub thread: a message on one of this namespace's channels.
  void on_message(const message& m) {
    if (m.kind == subscription::pattern) return on_broadcast(m.channel, m.payload);
    if (m.channel == request_channel_) return on_request(m.payload);
    on_response(m.payload);
  }

  std::vector<std::string> channels() const {
    return {request_channel_, response_channel_, classic_channels::specific_response(prefix_, nsp_, uid_)};
  }

 private:
  classic_broadcast to_classic(const socketio::outgoing_packet& p, const socketio::broadcast_options& opts) const {
    classic_broadcast b;
    b.uid = uid_;
    b.pkt = packet_from_socketio(p.frame->text, p.frame->binaries);
    b.pkt.nsp = nsp_;
    b.pkt.id.reset();
    b.opts.rooms = opts.rooms;
    b.opts.except = opts.except;
    if (opts.volatile_) b.opts.flags.volatile_ = true;
    return b;
  }

  bool has_room(std::string_view room) const {
    std::lock_guard<std::mutex> g(mu_);
    return rooms_.count(std::string(room)) != 0;
  }

  void on_broadcast(std::string_view channel, std::string_view bytes) {
    auto room = classic_channels::room_of(channel, prefix_, nsp_);
    if (!room) return;  // another namespace whose name extends ours
    if (!room->empty() && !has_room(*room)) return;  // Node's cheap pre-filter
    classic_broadcast b;
    if (auto e = decode(bytes, b); e != codec_errc::ok)
      return hub_->log().warn("redis adapter " + nsp_ + ": malformed broadcast on " + std::string(channel) +
                              " ignored: " + describe(e));
    if (b.uid == uid_) return;  // our own, delivered locally already
    if (b.pkt.nsp.value_or("/") != nsp_) return;
    deliver_remote(std::move(b.pkt), b.opts, socketio::no_ack, nullptr);
  }

  /// A broadcast from another member -> this server's clients, encoded once.
  void deliver_remote(packet&& pkt, const broadcast_opts& o, std::uint64_t id,
                      const std::shared_ptr<socketio::ack_collector>& acks) {
    socketio::encoded enc = to_socketio(std::move(pkt), nsp_, id);
    auto f = std::make_shared<engineio::frame>();
    f->text = std::move(enc.text);
    f->binaries = std::move(enc.binaries);
    f->droppable = o.flags.volatile_.value_or(false);
    socketio::outgoing_packet p;
    p.nsp = nsp_;
    p.type = f->binaries.empty() ? socketio::packet_type::event : socketio::packet_type::binary_event;
    p.frame = std::move(f);
    socketio::broadcast_options opts;
    opts.rooms = o.rooms;
    opts.except = o.except;
    opts.volatile_ = o.flags.volatile_.value_or(false);
    opts.local = true;
    if (acks) memory_adapter::broadcast_with_ack(p, opts, acks);
    else memory_adapter::broadcast(p, opts);
  }

  void respond(const classic_request& req, classic_response&& r) {
    const bool specific = hub_->opts().publish_on_specific_response_channel && req.uid;
    hub_->publish(specific ? classic_channels::specific_response(prefix_, nsp_, *req.uid) : response_channel_,
                  encode(r));
  }

  void publish_rooms(request_type type, const socketio::broadcast_options& opts, const std::vector<std::string>& rooms) {
    classic_request r;
    r.type = type;
    r.uid = uid_;
    r.opts = detail::wire_target(opts, false);
    r.rooms = rooms;
    hub_->publish(request_channel_, encode(r));
  }

  void on_request(std::string_view bytes) {
    classic_request req;
    if (auto e = decode(bytes, req); e != codec_errc::ok)
      return hub_->log().warn("redis adapter " + nsp_ + ": malformed request ignored: " + describe(e));
    switch (req.type) {
      case request_type::sockets:
      case request_type::all_rooms:
      case request_type::remote_fetch: {
        if (req.uid == uid_ || !req.request_id) return;
        classic_response r;
        r.request_id = *req.request_id;
        if (req.type == request_type::all_rooms) {
          r.rooms = local_rooms();
        } else if (req.type == request_type::sockets) {
          socketio::broadcast_options t;
          if (req.rooms) t.rooms = *req.rooms;
          r.sids = sids(t);
        } else {
          r.sockets = detail::local_fetch(bound_.load(std::memory_order_acquire), *this, detail::target(req.opts));
        }
        return respond(req, std::move(r));
      }
      case request_type::remote_join:
      case request_type::remote_leave: {
        // Node's requester applies its request when it returns from Redis; ours was applied
        // when issued (nsp::sockets_join), so our own is skipped.
        if (req.uid == uid_ || !req.rooms) return;
        return detail::rooms_here(bound_.load(std::memory_order_acquire), *this, detail::target(req.opts), *req.rooms,
                                  req.type == request_type::remote_join);
      }
      case request_type::broadcast: {
        if (req.uid == uid_ || !req.request_id || !req.pkt || !req.opts) return;
        if (req.pkt->nsp.value_or("/") != nsp_) return;
        return answer_broadcast_with_ack(req);
      }
      case request_type::remote_disconnect: {
        if (req.uid == uid_) return;  // ours: applied when issued
        return detail::disconnect_here(bound_.load(std::memory_order_acquire), detail::target(req.opts),
                                       req.close.value_or(false),
                                       [this](const socketio::broadcast_options& t) { close_connections(t); });
      }
      case request_type::server_side_emit:
        if (req.uid == uid_ || !req.data) return;
        return answer_server_side_emit(req);
      default:
        return;
    }
  }

  /// A Node member's broadcast with ack (BROADCAST): BROADCAST_CLIENT_COUNT at once, then one
  /// BROADCAST_ACK per local answer (`detail::answer_broadcast`).
  void answer_broadcast_with_ack(classic_request& req) {
    const bool specific = hub_->opts().publish_on_specific_response_channel && req.uid;
    std::string channel = specific ? classic_channels::specific_response(prefix_, nsp_, *req.uid) : response_channel_;
    auto timeout = std::chrono::milliseconds(req.opts->flags.timeout.value_or(
        static_cast<std::uint64_t>(hub_->opts().requests_timeout.count())));
    std::weak_ptr<detail::cluster_hub> hub = hub_;
    const std::string id = *req.request_id;
    auto count = [&](std::size_t n) {
      classic_response c;
      c.type = request_type::broadcast_client_count;
      c.request_id = id;
      c.client_count = n;
      respond(req, std::move(c));
    };
    auto ack = [hub, channel, id](payload v) {
      auto h = hub.lock();
      if (!h) return;
      classic_response r;
      r.type = request_type::broadcast_ack;
      r.request_id = id;
      r.ack = std::move(v);
      h->publish(channel, encode(r));
    };
    detail::answer_broadcast(bound_.load(std::memory_order_acquire), std::move(*req.pkt), *req.opts, timeout, count,
                             std::move(ack));
  }

  /// Another server's serverSideEmit -> the namespace's listener; its value answers an ack.
  void answer_server_side_emit(classic_request& req) {
    auto answer = detail::run_server_event(bound_.load(std::memory_order_acquire), std::move(*req.data), hub_->log(),
                                           "redis adapter " + nsp_);
    if (!answer || !req.request_id) return;
    classic_response r;
    r.type = request_type::server_side_emit;
    r.request_id = *req.request_id;
    r.data = payload{std::move(*answer), {}};
    hub_->publish(response_channel_, encode(r));  // always the common channel (Node's rule)
  }

  void on_response(std::string_view bytes) {
    classic_response r;
    if (auto e = decode(bytes, r); e != codec_errc::ok)
      return hub_->log().warn("redis adapter " + nsp_ + ": malformed response ignored: " + describe(e));
    if (!r.type) {  // REMOTE_FETCH and ALL_ROOMS answers (like Node, one without a list still counts)
      room_requests_->answer(r.request_id, [&](std::vector<std::string>& v) {
        if (r.rooms) v.insert(v.end(), r.rooms->begin(), r.rooms->end());
      });
      return fetches_->answer(r.request_id, [&](std::vector<socketio::socket_info>& v) {
        if (r.sockets) detail::add_fetched(v, *r.sockets);
      });
    }
    if (*r.type == request_type::server_side_emit) {
      return sse_->answer(r.request_id, [&](std::vector<std::string>& v) {
        v.push_back(r.data && !r.data->json.empty() ? std::move(r.data->json) : "null");
      });
    }
    std::shared_ptr<socketio::ack_collector> acks = acks_.find(r.request_id);
    if (!acks) return;
    if (*r.type == request_type::broadcast_client_count && r.client_count) {
      acks->client_count(static_cast<std::size_t>(*r.client_count));
    } else if (*r.type == request_type::broadcast_ack && r.ack) {
      if (!detail::with_ack_args(*r.ack, [&](const socketio::args& a) { acks->response(a); }))
        hub_->log().warn("redis adapter " + nsp_ + ": unreadable BROADCAST_ACK ignored");
    }
  }

  std::string nsp_, uid_;
  std::shared_ptr<detail::cluster_hub> hub_;
  std::string prefix_, request_channel_, response_channel_;
  std::atomic<socketio::nsp*> bound_{nullptr};
  using sse_t = detail::counted_requests<std::vector<std::string>>;  ///< JSON text of each server's answer
  using fetch_t = detail::counted_requests<std::vector<socketio::socket_info>>;
  using rooms_t = detail::counted_requests<std::vector<std::string>>;
  /// Broadcasts with ack this adapter published.
  detail::ack_requests acks_;
  /// Server-side emits with ack this adapter published. Hub thread only.
  std::shared_ptr<sse_t> sse_ = std::make_shared<sse_t>();
  /// fetch_sockets requests this adapter published. Hub thread only.
  std::shared_ptr<fetch_t> fetches_ = std::make_shared<fetch_t>();
  /// all_rooms requests this adapter published. Hub thread only.
  std::shared_ptr<rooms_t> room_requests_ = std::make_shared<rooms_t>();
};

namespace detail {

inline void cluster_hub::attach(adapter* a) {
  {
    std::lock_guard<std::mutex> g(mu_);
    adapters_[a->namespace_name()] = a;
  }
  std::vector<std::string> ch = a->channels();
  std::string pattern = classic_channels::pattern(a->prefix(), a->namespace_name());
  asio::post(io_, [this, ch = std::move(ch), pattern = std::move(pattern)] {
    if (!sub_) return;
    sub_->psubscribe(pattern);
    for (const auto& c : ch) sub_->subscribe(c);
  });
}

inline void cluster_hub::detach(adapter* a) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = adapters_.find(a->namespace_name());
  if (it != adapters_.end() && it->second == a) adapters_.erase(it);
}

inline void cluster_hub::dispatch(const message& m) {
  counts_.received();
  // Channel names: prefix#nsp#..., prefix-request#nsp#, prefix-response#nsp#[uid#].
  std::string_view ch = m.channel;
  const std::string& key = opts_.key;
  if (ch.substr(0, key.size()) != key) return;
  std::string_view rest = ch.substr(key.size());
  if (rest.substr(0, 9) == "-request#") rest.remove_prefix(9);
  else if (rest.substr(0, 10) == "-response#") rest.remove_prefix(10);
  else if (!rest.empty() && rest[0] == '#') rest.remove_prefix(1);
  else return;
  std::lock_guard<std::mutex> g(mu_);
  // The namespace ends at a '#'; try each '#' (namespace names may contain '#').
  for (std::size_t pos = rest.find('#'); pos != std::string_view::npos; pos = rest.find('#', pos + 1)) {
    auto it = adapters_.find(std::string(rest.substr(0, pos)));
    if (it == adapters_.end()) continue;
    adapter* a = it->second;
    if (m.kind == subscription::pattern && m.pattern != classic_channels::pattern(key, a->namespace_name())) continue;
    a->on_message(m);
    return;
  }
}

}  // namespace detail

/// `socketio::server_options::adapter_factory` (or `app_options::server.adapter_factory`) that
/// makes every namespace a member of the classic Redis-adapter cluster on `o.host:o.port`.
/// The Redis connections open with the first namespace and close with the last adapter.
inline std::function<std::unique_ptr<socketio::adapter>(const std::string&, socketio::adapter::deliver_fn)>
classic_adapter_factory(cluster_options o) {
  auto state = std::make_shared<std::pair<std::mutex, std::weak_ptr<detail::cluster_hub>>>();
  return [o = std::move(o), state](const std::string& nsp, socketio::adapter::deliver_fn deliver)
             -> std::unique_ptr<socketio::adapter> {
    std::shared_ptr<detail::cluster_hub> hub;
    {
      std::lock_guard<std::mutex> g(state->first);
      hub = state->second.lock();
      if (!hub) {
        hub = std::make_shared<detail::cluster_hub>(o);
        state->second = hub;
      }
    }
    return std::make_unique<adapter>(nsp, std::move(deliver), std::move(hub));
  };
}

}  // namespace portico::redis
