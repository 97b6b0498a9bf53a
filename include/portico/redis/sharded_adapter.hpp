#pragma once
/// portico::redis::sharded_adapter: a Socket.IO adapter that joins a Node @socket.io/redis-adapter
/// 8.3 cluster in sharded mode (`createShardedAdapter`, Redis 7 SPUBLISH / SSUBSCRIBE).
///
/// One adapter per namespace, each with a 16-hex-digit uid (Node's ClusterAdapter uid); all
/// adapters made by one `sharded_adapter_factory` share one command connection (SPUBLISH,
/// PUBSUB SHARDNUMSUB) and one subscriber, on one thread of their own. Messages are the
/// ClusterAdapter's `{type, data, uid, nsp}`: JSON, msgpack when they carry binary. Local delivery is
/// `memory_adapter`'s (encode once); remote ones go through the server's `deliver_fn`.
///
/// Channels: `prefix#nsp#` (main), `prefix#nsp#uid#` (responses to this member) and, in the dynamic
/// modes, `prefix#nsp#room#` while a local socket is in `room` (SSUBSCRIBE on the room's first local
/// member, SUNSUBSCRIBE when its last one leaves). The server count is `PUBSUB SHARDNUMSUB` of the
/// main channel, as Node's sharded adapter does (it sends no heartbeats).
///
/// Handled both ways: BROADCAST (3), with ack too (BROADCAST_CLIENT_COUNT 11 and BROADCAST_ACK 12 on
/// the requester's response channel), SERVER_SIDE_EMIT (9) with and without ack (answers:
/// SERVER_SIDE_EMIT_RESPONSE 10; the count of expected answers is SHARDNUMSUB - 1), FETCH_SOCKETS
/// (7, answered by FETCH_SOCKETS_RESPONSE 8), SOCKETS_JOIN/LEAVE (4/5, `nsp::sockets_join/leave`)
/// and DISCONNECT_SOCKETS (6, `nsp::disconnect_sockets`; `close: false` leaves the namespace
/// only), which the sender applies locally itself. `nsp::all_rooms` asks FETCH_SOCKETS (the
/// protocol has no ALL_ROOMS). Requests that wait for answers use `detail::counted_requests`.
#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../detail/random.hpp"
#include "../log.hpp"
#include "../socketio/adapter.hpp"
#include "adapter.hpp"
#include "channels.hpp"
#include "codec.hpp"
#include "connection.hpp"
#include "detail/requests.hpp"
#include "subscriber.hpp"

namespace portico::redis {

/// Which room channels a sharded member subscribes to (Node's `subscriptionMode`).
enum class subscription_mode {
  static_,          ///< main channel only: every broadcast goes there
  dynamic,          ///< plus one channel per public room (not a socket id) with local members (Node's default)
  dynamic_private,  ///< plus one channel per room, socket ids' private rooms included
};

/// How a server joins a sharded Redis-adapter cluster (`createShardedAdapter`). `key` is Node's
/// `channelPrefix`; `publish_on_specific_response_channel` has no meaning here.
struct sharded_options : cluster_options {
  /// Must match the Node members' `subscriptionMode` (it decides where one-room broadcasts go).
  subscription_mode mode = subscription_mode::dynamic;
};

class sharded_adapter;

namespace detail {

/// The two Redis connections shared by every sharded adapter of one factory, on their own thread.
class sharded_hub {
 public:
  explicit sharded_hub(sharded_options o) : opts_(std::move(o)), work_(asio::make_work_guard(io_)) {
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
  ~sharded_hub() {
    asio::post(io_, [this] {
      pub_.reset();
      sub_.reset();
      work_.reset();
      io_.stop();
    });
    thread_.join();
  }
  sharded_hub(const sharded_hub&) = delete;
  sharded_hub& operator=(const sharded_hub&) = delete;

  const sharded_options& opts() const noexcept { return opts_; }
  portico::logger& log() noexcept { return log_; }
  asio::io_context& io() noexcept { return io_; }

  void attach(sharded_adapter* a);
  void detach(sharded_adapter* a);

  /// From any thread; requests keep their order (one strand: the hub thread).
  void ssubscribe(std::string channel) {
    asio::post(io_, [this, channel = std::move(channel)] {
      if (sub_) sub_->ssubscribe(channel);
    });
  }
  void sunsubscribe(std::string channel) {
    asio::post(io_, [this, channel = std::move(channel)] {
      if (sub_) sub_->sunsubscribe(channel);
    });
  }

  /// From any thread. A publish that Redis cannot take (down) is counted and logged.
  void spublish(std::string channel, std::string payload) {
    asio::post(io_, [this, channel = std::move(channel), payload = std::move(payload)] {
      pub_->spublish(channel, payload, [this](std::string_view err, reply) {
        if (err.empty()) return counts_.published();
        auto n = lost_.fetch_add(1, std::memory_order_relaxed) + 1;
        log_.warn("redis sharded adapter: publish lost (" + std::string(err) + "), " + std::to_string(n) +
                  " lost so far");
      });
    });
  }

  /// What counted requests publish with (`detail::counted_requests`).
  void send(std::string channel, std::string payload) { spublish(std::move(channel), std::move(payload)); }

  /// PUBSUB SHARDNUMSUB `channel` -> done(count) on the hub thread; 1 (this server) when Redis is down.
  void count_servers(std::string channel, std::function<void(std::size_t)> done) {
    asio::post(io_, [this, channel = std::move(channel), done = std::move(done)] {
      pub_->command({"PUBSUB", "SHARDNUMSUB", channel}, [done](std::string_view err, reply r) {
        std::size_t n = 1;
        if (err.empty() && r.size() == 2 && r[1].integer() > 0) n = static_cast<std::size_t>(r[1].integer());
        done(n);
      });
    });
  }

  std::uint64_t lost_publishes() const noexcept { return lost_.load(std::memory_order_relaxed); }
  /// Messages published and received, request timeouts (hub thread writes, any thread reads).
  hub_counts& counts() noexcept { return counts_; }
  const hub_counts& counts() const noexcept { return counts_; }

 private:
  void dispatch(const message& m);

  sharded_options opts_;
  portico::logger log_{"portico.redis.sharded", portico::log_level::warn};
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<connection> pub_;
  std::unique_ptr<subscriber> sub_;
  std::thread thread_;
  std::atomic<std::uint64_t> lost_{0};
  hub_counts counts_;
  std::mutex mu_;  ///< guards adapters_; held while an adapter handles a message
  std::unordered_map<std::string, sharded_adapter*> adapters_;  ///< by namespace name
};

/// 16 hex digits, like Node's `randomBytes(8).toString("hex")`.
inline std::string cluster_uid() {
  unsigned char b[8];
  portico::detail::random_bytes(b, sizeof b);
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '\0');
  for (int i = 0; i < 8; ++i) s[2 * i] = hex[b[i] >> 4], s[2 * i + 1] = hex[b[i] & 15];
  return s;
}

}  // namespace detail

class sharded_adapter : public socketio::memory_adapter {
 public:
  sharded_adapter(std::string nsp, deliver_fn deliver, std::shared_ptr<detail::sharded_hub> hub)
      : memory_adapter(std::move(deliver)),
        nsp_(std::move(nsp)),
        uid_(detail::cluster_uid()),
        hub_(std::move(hub)),
        prefix_(hub_->opts().key),
        mode_(hub_->opts().mode),
        main_channel_(sharded_channels::main(prefix_, nsp_)) {
    hub_->attach(this);
  }
  ~sharded_adapter() override { hub_->detach(this); }

  const std::string& uid() const noexcept { return uid_; }
  const std::string& namespace_name() const noexcept { return nsp_; }
  [[deprecated("use namespace_name()")]] const std::string& nsp() const noexcept { return nsp_; }
  std::uint64_t lost_publishes() const noexcept { return hub_->lost_publishes(); }
  bool cluster_counts(socketio::cluster_metrics& out) const override {
    out = hub_->counts().read(hub_->lost_publishes());
    return true;
  }

  void bind(socketio::nsp& n) override { bound_.store(&n, std::memory_order_release); }

  /// The main and own response channel (room channels come and go with the rooms).
  std::vector<std::string> channels() const {
    return {main_channel_, sharded_channels::response(prefix_, nsp_, uid_)};
  }

  // Room bookkeeping: after each change, the room's channel follows whether the room exists here.
  void add_socket(const std::string& sid, engineio::socket_ptr engine) override {
    memory_adapter::add_socket(sid, std::move(engine));
    sync_room(sid);
  }
  void remove_socket(const std::string& sid) override {
    std::vector<std::string> rooms = rooms_of(sid);
    memory_adapter::remove_socket(sid);
    for (const auto& r : rooms) sync_room(r);
  }
  void join(const std::string& sid, const std::string& room) override {
    memory_adapter::join(sid, room);
    sync_room(room);
  }
  void leave(const std::string& sid, const std::string& room) override {
    memory_adapter::leave(sid, room);
    sync_room(room);
  }
  void close_room(const std::string& room) override {
    memory_adapter::close_room(room);
    sync_room(room);
  }

  void broadcast(const socketio::outgoing_packet& p, const socketio::broadcast_options& opts) override {
    memory_adapter::broadcast(p, opts);
    if (opts.local) return;
    cluster_message m = to_cluster(p, opts);
    hub_->spublish(channel_for(opts.rooms), encode(m));
  }

  void broadcast_with_ack(const socketio::outgoing_packet& p, const socketio::broadcast_options& opts,
                          const std::shared_ptr<socketio::ack_collector>& acks) override {
    memory_adapter::broadcast_with_ack(p, opts, acks);
    if (opts.local) return;
    cluster_message m = to_cluster(p, opts);
    auto timeout = opts.timeout.count() > 0 ? opts.timeout : hub_->opts().requests_timeout;
    m.opts->flags.timeout = static_cast<std::uint64_t>(timeout.count());
    m.request_id = detail::cluster_uid();
    acks_.add(*m.request_id, acks, timeout);
    // Requests always go to the main channel (Node's computeChannel).
    hub_->spublish(main_channel_, encode(m));
  }

  void server_count(std::function<void(std::size_t)> done) override {
    // A broadcast with ack that came from another member is answered for this server only.
    if (detail::answering_remote()) return done(1);
    hub_->count_servers(main_channel_, std::move(done));
  }

  void server_side_emit(const socketio::outgoing_packet& p, server_ack_fn cb) override {
    cluster_message m;
    m.type = cluster_type::server_side_emit;
    m.uid = uid_;
    m.nsp = nsp_;
    m.value = packet_from_socketio(p.frame->text, p.frame->binaries).data;
    if (!cb) return hub_->spublish(main_channel_, encode(m));
    m.request_id = detail::cluster_uid();
    std::string id = *m.request_id;
    sse_t::issue(sse_, *hub_, main_channel_, std::move(id), encode(m),
                 [cb = std::move(cb)](bool complete, std::vector<std::string> answers) {
                   detail::with_answers_args(answers, [&](const socketio::args& a) { cb(complete, a); });
                 });
  }

  void fetch_remote_sockets(const socketio::broadcast_options& opts, fetch_fn done) override {
    cluster_message m = request(cluster_type::fetch_sockets, opts);
    m.request_id = detail::cluster_uid();
    std::string id = *m.request_id;
    fetch_t::issue(fetches_, *hub_, main_channel_, std::move(id), encode(m), std::move(done));
  }

  /// SOCKETS_JOIN, applied here already (`nsp::sockets_join`), on the main channel for the others.
  void remote_join(const socketio::broadcast_options& opts, const std::vector<std::string>& rooms) override {
    publish_rooms(cluster_type::sockets_join, opts, rooms);
  }
  /// SOCKETS_LEAVE, like `remote_join`.
  void remote_leave(const socketio::broadcast_options& opts, const std::vector<std::string>& rooms) override {
    publish_rooms(cluster_type::sockets_leave, opts, rooms);
  }
  /// DISCONNECT_SOCKETS with `close` (Node's `disconnectSockets(close)`).
  void remote_disconnect(const socketio::broadcast_options& opts, bool close) override {
    cluster_message m = request(cluster_type::disconnect_sockets, opts);
    m.close = close;
    hub_->spublish(main_channel_, encode(m));
  }
  /// The sharded protocol has no ALL_ROOMS message: the rooms of the other servers' sockets, from
  /// a FETCH_SOCKETS (every room has a socket, so the set is the same).
  void fetch_remote_rooms(rooms_fn done) override {
    fetch_remote_sockets(socketio::broadcast_options{}, [done = std::move(done)](bool complete,
                                                                                std::vector<socketio::socket_info> v) {
      std::vector<std::string> rooms;
      for (auto& i : v) rooms.insert(rooms.end(), i.rooms.begin(), i.rooms.end());
      done(complete, std::move(rooms));
    });
  }

  /// Hub thread: a message on one of this namespace's channels.
  void on_message(const message& m) {
    cluster_message c;
    if (auto e = decode(m.payload, c); e != codec_errc::ok)
      return hub_->log().warn("redis sharded adapter " + nsp_ + ": malformed message on " + std::string(m.channel) +
                              " ignored: " + describe(e));
    if (c.uid == uid_ || c.nsp != nsp_) return;  // our own (delivered locally already), or another namespace
    if (c.type == cluster_type::broadcast && !c.request_id && c.pkt) {
      broadcast_opts o = c.opts.value_or(broadcast_opts{});
      return deliver_remote(std::move(*c.pkt), o);
    }
    if (c.type == cluster_type::broadcast && c.request_id && c.pkt) return answer_broadcast_with_ack(c);
    if (c.type == cluster_type::broadcast_client_count || c.type == cluster_type::broadcast_ack)
      return on_ack_response(c);
    if (c.type == cluster_type::server_side_emit) return answer_server_side_emit(c);
    if (c.type == cluster_type::fetch_sockets) return answer_fetch_sockets(c);
    if (c.type == cluster_type::fetch_sockets_response)
      return fetches_->answer(*c.request_id, [&](std::vector<socketio::socket_info>& v) { detail::add_fetched(v, *c.sockets); });
    if (c.type == cluster_type::sockets_join || c.type == cluster_type::sockets_leave) {
      if (!c.rooms) return;
      return detail::rooms_here(bound_.load(std::memory_order_acquire), *this, detail::target(c.opts), *c.rooms,
                                c.type == cluster_type::sockets_join);
    }
    if (c.type == cluster_type::disconnect_sockets) {
      return detail::disconnect_here(bound_.load(std::memory_order_acquire), detail::target(c.opts),
                                     c.close.value_or(false),
                                     [this](const socketio::broadcast_options& t) { close_connections(t); });
    }
    if (c.type == cluster_type::server_side_emit_response) {
      return sse_->answer(*c.request_id, [&](std::vector<std::string>& v) {
        v.push_back(!c.value->json.empty() ? std::move(c.value->json) : "null");
      });
    }
    if (c.type == cluster_type::heartbeat || c.type == cluster_type::initial_heartbeat ||
        c.type == cluster_type::adapter_close)
      return;
    hub_->log().warn("redis sharded adapter " + nsp_ + ": message type " + std::to_string(static_cast<int>(c.type)) +
                     " not supported yet, ignored");
  }

 private:
  /// A request of this member about the sockets `opts` selects.
  cluster_message request(cluster_type type, const socketio::broadcast_options& opts) const {
    cluster_message m;
    m.type = type;
    m.uid = uid_;
    m.nsp = nsp_;
    m.opts = detail::wire_target(opts, true);
    return m;
  }

  void publish_rooms(cluster_type type, const socketio::broadcast_options& opts, const std::vector<std::string>& rooms) {
    cluster_message m = request(type, opts);
    m.rooms = rooms;
    hub_->spublish(main_channel_, encode(m));
  }

  cluster_message to_cluster(const socketio::outgoing_packet& p, const socketio::broadcast_options& opts) const {
    cluster_message m = request(cluster_type::broadcast, opts);
    m.pkt = packet_from_socketio(p.frame->text, p.frame->binaries);
    m.pkt->nsp.reset();  // Node's sharded messages carry the namespace in the envelope only
    m.pkt->id.reset();
    if (opts.volatile_) m.opts->flags.volatile_ = true;
    return m;
  }

  /// Another member's broadcast with ack: BROADCAST_CLIENT_COUNT at once, then one BROADCAST_ACK
  /// per local answer (`detail::answer_broadcast`), all on the requester's response channel.
  void answer_broadcast_with_ack(cluster_message& req) {
    const std::string channel = sharded_channels::response(prefix_, nsp_, req.uid);
    const broadcast_opts o = req.opts.value_or(broadcast_opts{});
    auto timeout = std::chrono::milliseconds(
        o.flags.timeout.value_or(static_cast<std::uint64_t>(hub_->opts().requests_timeout.count())));
    std::weak_ptr<detail::sharded_hub> hub = hub_;
    auto reply = [uid = uid_, nsp = nsp_, id = *req.request_id](cluster_type type) {
      cluster_message r;
      r.type = type;
      r.uid = uid;
      r.nsp = nsp;
      r.request_id = id;
      return r;
    };
    auto count = [&](std::size_t n) {
      cluster_message c = reply(cluster_type::broadcast_client_count);
      c.client_count = n;
      hub_->spublish(channel, encode(c));
    };
    auto ack = [hub, channel, reply](payload v) {
      auto h = hub.lock();
      if (!h) return;
      cluster_message r = reply(cluster_type::broadcast_ack);
      r.value = std::move(v);
      h->spublish(channel, encode(r));
    };
    detail::answer_broadcast(bound_.load(std::memory_order_acquire), std::move(*req.pkt), o, timeout, count,
                             std::move(ack));
  }

  /// Another member's fetchSockets: this server's matching sockets, on the requester's channel.
  void answer_fetch_sockets(cluster_message& req) {
    cluster_message r;
    r.type = cluster_type::fetch_sockets_response;
    r.uid = uid_;
    r.nsp = nsp_;
    r.request_id = *req.request_id;
    r.sockets = detail::local_fetch(bound_.load(std::memory_order_acquire), *this, detail::target(req.opts));
    hub_->spublish(sharded_channels::response(prefix_, nsp_, req.uid), encode(r));
  }

  /// Another server's serverSideEmit -> the namespace's listener; its value answers an ack, on the
  /// requester's response channel.
  void answer_server_side_emit(cluster_message& req) {
    auto answer = detail::run_server_event(bound_.load(std::memory_order_acquire), std::move(*req.value), hub_->log(),
                                           "redis sharded adapter " + nsp_);
    if (!answer || !req.request_id) return;
    cluster_message r;
    r.type = cluster_type::server_side_emit_response;
    r.uid = uid_;
    r.nsp = nsp_;
    r.request_id = *req.request_id;
    r.value = payload{std::move(*answer), {}};
    hub_->spublish(sharded_channels::response(prefix_, nsp_, req.uid), encode(r));
  }

  /// BROADCAST_CLIENT_COUNT / BROADCAST_ACK for one of this member's broadcasts with ack.
  void on_ack_response(cluster_message& r) {
    std::shared_ptr<socketio::ack_collector> acks = acks_.find(*r.request_id);
    if (!acks) return;
    if (r.type == cluster_type::broadcast_client_count) return acks->client_count(*r.client_count);
    if (!detail::with_ack_args(*r.value, [&](const socketio::args& a) { acks->response(a); }))
      hub_->log().warn("redis sharded adapter " + nsp_ + ": unreadable BROADCAST_ACK ignored");
  }

  /// Node's computeChannel for a plain broadcast: the room's channel iff exactly one room and the
  /// mode subscribes such rooms ("dynamic" skips names that look like socket ids: 20 chars).
  std::string channel_for(const std::vector<std::string>& rooms) const {
    if (rooms.size() == 1 && (mode_ == subscription_mode::dynamic_private ||
                              (mode_ == subscription_mode::dynamic && rooms.front().size() != 20)))
      return sharded_channels::room(prefix_, nsp_, rooms.front());
    return main_channel_;
  }

  /// Whether `room` gets a channel of its own in this mode ("dynamic": not a socket's private room).
  bool wants_channel(const std::string& room) const {
    if (mode_ == subscription_mode::static_) return false;
    if (mode_ == subscription_mode::dynamic_private) return true;
    return members_.count(room) == 0;  // caller holds mu_
  }

  void sync_room(const std::string& room) {
    if (mode_ == subscription_mode::static_) return;
    std::lock_guard<std::mutex> g(mu_);
    const bool want = rooms_.count(room) != 0 && wants_channel(room);
    // Under mu_, so the (un)subscribe requests reach the hub in the order the rooms changed.
    if (want && subscribed_.insert(room).second) hub_->ssubscribe(sharded_channels::room(prefix_, nsp_, room));
    else if (!want && subscribed_.erase(room)) hub_->sunsubscribe(sharded_channels::room(prefix_, nsp_, room));
  }

  /// A broadcast from another member -> this server's clients, encoded once.
  void deliver_remote(packet&& pkt, const broadcast_opts& o) {
    socketio::encoded enc = to_socketio(std::move(pkt), nsp_);
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
    memory_adapter::broadcast(p, opts);
  }

  std::string nsp_, uid_;
  std::shared_ptr<detail::sharded_hub> hub_;
  std::string prefix_;
  subscription_mode mode_;
  std::string main_channel_;
  std::set<std::string> subscribed_;  ///< rooms whose channel is subscribed; guarded by mu_
  std::atomic<socketio::nsp*> bound_{nullptr};
  using sse_t = detail::counted_requests<std::vector<std::string>>;  ///< JSON text of each server's answer
  using fetch_t = detail::counted_requests<std::vector<socketio::socket_info>>;
  /// Broadcasts with ack this adapter published.
  detail::ack_requests acks_;
  /// Server-side emits with ack this adapter published. Hub thread only.
  std::shared_ptr<sse_t> sse_ = std::make_shared<sse_t>();
  /// fetch_sockets requests this adapter published. Hub thread only.
  std::shared_ptr<fetch_t> fetches_ = std::make_shared<fetch_t>();
};

namespace detail {

inline void sharded_hub::attach(sharded_adapter* a) {
  {
    std::lock_guard<std::mutex> g(mu_);
    adapters_[a->namespace_name()] = a;
  }
  for (auto& c : a->channels()) ssubscribe(std::move(c));
}

inline void sharded_hub::detach(sharded_adapter* a) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = adapters_.find(a->namespace_name());
  if (it != adapters_.end() && it->second == a) adapters_.erase(it);
}

inline void sharded_hub::dispatch(const message& m) {
  counts_.received();
  // Every channel is prefix#nsp#[room#|uid#]; the namespace ends at one of the '#'.
  std::string_view ch = m.channel;
  const std::string& key = opts_.key;
  if (ch.size() <= key.size() || ch.substr(0, key.size()) != key || ch[key.size()] != '#') return;
  std::string_view rest = ch.substr(key.size() + 1);
  std::lock_guard<std::mutex> g(mu_);
  for (std::size_t pos = rest.find('#'); pos != std::string_view::npos; pos = rest.find('#', pos + 1)) {
    auto it = adapters_.find(std::string(rest.substr(0, pos)));
    if (it == adapters_.end()) continue;
    it->second->on_message(m);
    return;
  }
}

}  // namespace detail

/// `socketio::server_options::adapter_factory` that makes every namespace a member of the sharded
/// Redis-adapter cluster on `o.host:o.port` (Redis 7 or later). The Redis connections open with
/// the first namespace and close with the last adapter.
inline std::function<std::unique_ptr<socketio::adapter>(const std::string&, socketio::adapter::deliver_fn)>
sharded_adapter_factory(sharded_options o) {
  auto state = std::make_shared<std::pair<std::mutex, std::weak_ptr<detail::sharded_hub>>>();
  return [o = std::move(o), state](const std::string& nsp, socketio::adapter::deliver_fn deliver)
             -> std::unique_ptr<socketio::adapter> {
    std::shared_ptr<detail::sharded_hub> hub;
    {
      std::lock_guard<std::mutex> g(state->first);
      hub = state->second.lock();
      if (!hub) {
        hub = std::make_shared<detail::sharded_hub>(o);
        state->second = hub;
      }
    }
    return std::make_unique<sharded_adapter>(nsp, std::move(deliver), std::move(hub));
  };
}

}  // namespace portico::redis
