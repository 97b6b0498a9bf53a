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
/// (7, answered by FETCH_SOCKETS_RESPONSE 8). Applied when received, never issued (joins, leaves and
/// disconnects act on local sockets): SOCKETS_JOIN/LEAVE (4/5), DISCONNECT_SOCKETS (6) with
/// `close: true` (without it: logged and ignored).
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
        if (err.empty()) return;
        auto n = lost_.fetch_add(1, std::memory_order_relaxed) + 1;
        log_.warn("redis sharded adapter: publish lost (" + std::string(err) + "), " + std::to_string(n) +
                  " lost so far");
      });
    });
  }

  /// PUBSUB SHARDNUMSUB `channel` -> done(count) on the hub thread; 1 (this server) when Redis is down.
  void shardnumsub(std::string channel, std::function<void(std::size_t)> done) {
    asio::post(io_, [this, channel = std::move(channel), done = std::move(done)] {
      pub_->command({"PUBSUB", "SHARDNUMSUB", channel}, [done](std::string_view err, reply r) {
        std::size_t n = 1;
        if (err.empty() && r.size() == 2 && r[1].integer() > 0) n = static_cast<std::size_t>(r[1].integer());
        done(n);
      });
    });
  }

  std::uint64_t lost_publishes() const noexcept { return lost_.load(std::memory_order_relaxed); }

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
  const std::string& nsp() const noexcept { return nsp_; }
  std::uint64_t lost_publishes() const noexcept { return hub_->lost_publishes(); }

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
    {
      // Forgotten after their timeout (as Node does): late answers are dropped. Expired ones are
      // swept here, so the map stays as small as the requests in flight.
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> g(acks_->mu);
      for (auto it = acks_->pending.begin(); it != acks_->pending.end();)
        it = it->second.deadline <= now ? acks_->pending.erase(it) : std::next(it);
      acks_->pending[*m.request_id] = {acks, now + timeout};
    }
    // Requests always go to the main channel (Node's computeChannel).
    hub_->spublish(main_channel_, encode(m));
  }

  void server_count(std::function<void(std::size_t)> done) override {
    // A broadcast with ack that came from another member is answered for this server only.
    if (answering_remote()) return done(1);
    hub_->shardnumsub(main_channel_, std::move(done));
  }

  void server_side_emit(const socketio::outgoing_packet& p, server_ack_fn cb) override {
    cluster_message m;
    m.type = cluster_type::server_side_emit;
    m.uid = uid_;
    m.nsp = nsp_;
    m.value = packet_from_socketio(p.frame->text, p.frame->binaries).data;
    if (!cb) return hub_->spublish(main_channel_, encode(m));
    m.request_id = detail::cluster_uid();
    // Like Node: count the other servers first, then publish and wait for that many answers.
    // Everything below runs on the hub thread, so the pending map needs no lock.
    detail::sharded_hub* hub = hub_.get();
    auto state = sse_;
    auto timeout = hub_->opts().requests_timeout;
    hub_->shardnumsub(main_channel_, [hub, state, timeout, ch = main_channel_, m = std::move(m),
                                      cb = std::move(cb)](std::size_t n) mutable {
      if (n <= 1) return cb(true, socketio::args{});
      const std::string id = *m.request_id;
      auto& e = state->pending[id];
      e.cb = std::move(cb);
      e.expected = n - 1;
      e.timer = std::make_unique<asio::steady_timer>(hub->io(), timeout);
      e.timer->async_wait([state, id](const asio::error_code& ec) {
        if (!ec) state->finish(id, false);
      });
      hub->spublish(ch, encode(m));
    });
  }

  void fetch_remote_sockets(const socketio::broadcast_options& opts, fetch_fn done) override {
    cluster_message m;
    m.type = cluster_type::fetch_sockets;
    m.uid = uid_;
    m.nsp = nsp_;
    m.request_id = detail::cluster_uid();
    broadcast_opts o;
    o.rooms = opts.rooms;
    o.except = opts.except;
    m.opts = std::move(o);
    detail::sharded_hub* hub = hub_.get();
    auto state = fetches_;
    auto timeout = hub_->opts().requests_timeout;
    hub_->shardnumsub(main_channel_, [hub, state, timeout, ch = main_channel_, m = std::move(m),
                                      done = std::move(done)](std::size_t n) mutable {
      if (n <= 1) return done(true, {});
      const std::string id = *m.request_id;
      auto& e = state->pending[id];
      e.done = std::move(done);
      e.expected = n - 1;
      e.timer = std::make_unique<asio::steady_timer>(hub->io(), timeout);
      e.timer->async_wait([state, id](const asio::error_code& ec) {
        if (!ec) state->finish(id, false);
      });
      hub->spublish(ch, encode(m));
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
    if (c.type == cluster_type::fetch_sockets_response) return fetches_->answer(c);
    if (c.type == cluster_type::sockets_join || c.type == cluster_type::sockets_leave) {
      for (const auto& sid : sids(target(c.opts)))
        for (const auto& room : *c.rooms) {
          if (c.type == cluster_type::sockets_join) join(sid, room);
          else leave(sid, room);
        }
      return;
    }
    if (c.type == cluster_type::disconnect_sockets) {
      // close=true closes the whole connection through Engine.IO; leaving one namespace only
      // (close=false) needs the namespace, not reachable from here.
      if (!c.close.value_or(false))
        return hub_->log().warn("redis sharded adapter " + nsp_ +
                                ": DISCONNECT_SOCKETS without close is not supported yet, ignored");
      std::vector<engineio::socket_ptr> to_close;
      {
        socketio::broadcast_options t = target(c.opts);
        std::lock_guard<std::mutex> g(mu_);
        select(t, [&](const std::string&, const member& mb) { to_close.push_back(mb.engine); });
      }
      for (auto& e : to_close) e->close();  // thread-safe: runs on each socket's home worker
      return;
    }
    if (c.type == cluster_type::server_side_emit_response) return sse_->answer(c);
    if (c.type == cluster_type::heartbeat || c.type == cluster_type::initial_heartbeat ||
        c.type == cluster_type::adapter_close)
      return;
    hub_->log().warn("redis sharded adapter " + nsp_ + ": message type " + std::to_string(static_cast<int>(c.type)) +
                     " not supported yet, ignored");
  }

 private:
  cluster_message to_cluster(const socketio::outgoing_packet& p, const socketio::broadcast_options& opts) const {
    cluster_message m;
    m.type = cluster_type::broadcast;
    m.uid = uid_;
    m.nsp = nsp_;
    m.pkt = packet_from_socketio(p.frame->text, p.frame->binaries);
    m.pkt->nsp.reset();  // Node's sharded messages carry the namespace in the envelope only
    m.pkt->id.reset();
    broadcast_opts o;
    o.rooms = opts.rooms;
    o.except = opts.except;
    if (opts.volatile_) o.flags.volatile_ = true;
    m.opts = std::move(o);
    return m;
  }

  static bool& answering_remote() {
    thread_local bool flag = false;
    return flag;
  }

  /// Another member's broadcast with ack: sent to the local recipients with a local ack id through
  /// the namespace's emit_with_ack; BROADCAST_CLIENT_COUNT at once, then one BROADCAST_ACK per
  /// local answer, all on the requester's response channel.
  void answer_broadcast_with_ack(cluster_message& req) {
    const std::string channel = sharded_channels::response(prefix_, nsp_, req.uid);
    cluster_message count;
    count.type = cluster_type::broadcast_client_count;
    count.uid = uid_;
    count.nsp = nsp_;
    count.request_id = *req.request_id;
    socketio::nsp* n = bound_.load(std::memory_order_acquire);
    socketio::packet pk;
    if (n) {
      socketio::encoded enc = to_socketio(std::move(*req.pkt), nsp_);
      if (socketio::decode(enc.text, pk) != socketio::errc::ok || !pk.is_event()) n = nullptr;
      for (auto& b : enc.binaries) pk.attachments.emplace_back(std::move(b));
    }
    if (!n) {  // not bound (a custom server) or an unreadable event: nobody here answers
      count.client_count = 0;
      return hub_->spublish(channel, encode(count));
    }
    const broadcast_opts o = req.opts.value_or(broadcast_opts{});
    socketio::emitter e(*n);
    for (const auto& r : o.rooms) e.to(r);
    for (const auto& r : o.except) e.except(r);
    if (o.flags.volatile_.value_or(false)) e.volatile_();
    e.local();
    count.client_count = e.sids().size();
    hub_->spublish(channel, encode(count));
    auto timeout = std::chrono::milliseconds(
        o.flags.timeout.value_or(static_cast<std::uint64_t>(hub_->opts().requests_timeout.count())));
    std::weak_ptr<detail::sharded_hub> hub = hub_;
    auto answered = [hub, channel, uid = uid_, nsp = nsp_, id = *req.request_id](socketio::ack_status,
                                                                                 const socketio::args& responses) {
      auto h = hub.lock();
      if (!h) return;
      for (std::size_t i = 0; i < responses.size(); ++i) {
        cluster_message r;
        r.type = cluster_type::broadcast_ack;
        r.uid = uid;
        r.nsp = nsp;
        r.request_id = id;
        payload p;
        json::encode_context ctx;
        json::string_sink sink{&p.json};
        json::writer w(sink);
        socketio::detail::write_arg(w, ctx, responses.at(i));
        sink.Flush();
        p.attachments.assign(ctx.attachments.begin(), ctx.attachments.end());
        r.value = std::move(p);
        h->spublish(channel, encode(r));
      }
    };
    answering_remote() = true;
    e.emit_with_ack(pk.event_name(), std::move(answered), timeout, socketio::args(pk));
    answering_remote() = false;
  }

  static socketio::broadcast_options target(const std::optional<broadcast_opts>& o) {
    socketio::broadcast_options t;
    if (o) {
      t.rooms = o->rooms;
      t.except = o->except;
    }
    return t;
  }

  /// Another member's fetchSockets: this server's matching sockets, on the requester's channel.
  void answer_fetch_sockets(cluster_message& req) {
    std::vector<fetched_socket> v;
    socketio::nsp* n = bound_.load(std::memory_order_acquire);
    if (n) {
      for (auto& i : n->local_sockets(target(req.opts)))
        v.push_back(fetched_socket{std::move(i.id), payload{std::move(i.handshake), {}}, std::move(i.rooms),
                                   payload{std::move(i.data), {}}});
    } else {  // not bound (a custom server): ids and rooms only
      for (auto& sid : sids(target(req.opts))) {
        fetched_socket f;
        f.rooms = rooms_of(sid);
        f.id = std::move(sid);
        f.handshake.json = "{}";
        v.push_back(std::move(f));
      }
    }
    cluster_message r;
    r.type = cluster_type::fetch_sockets_response;
    r.uid = uid_;
    r.nsp = nsp_;
    r.request_id = *req.request_id;
    r.sockets = std::move(v);
    hub_->spublish(sharded_channels::response(prefix_, nsp_, req.uid), encode(r));
  }

  /// Another server's serverSideEmit -> the namespace's listener; its value answers an ack, on the
  /// requester's response channel.
  void answer_server_side_emit(cluster_message& req) {
    socketio::nsp* n = bound_.load(std::memory_order_acquire);
    if (!n) return;
    packet pkt;
    pkt.type = 2;
    pkt.data = std::move(*req.value);
    socketio::encoded enc = to_socketio(std::move(pkt), nsp_);
    socketio::packet pk;
    if (socketio::decode(enc.text, pk) != socketio::errc::ok || !pk.is_event())
      return hub_->log().warn("redis sharded adapter " + nsp_ + ": unreadable SERVER_SIDE_EMIT ignored");
    for (auto& b : enc.binaries) pk.attachments.emplace_back(std::move(b));
    std::optional<std::string> answer;
    try {
      answer = n->server_event(pk);
    } catch (const std::exception& e) {  // a listener's error must not stop the hub thread
      return hub_->log().warn("redis sharded adapter " + nsp_ + ": server-side listener threw, no answer: " + e.what());
    }
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
    std::shared_ptr<socketio::ack_collector> acks;
    {
      std::lock_guard<std::mutex> g(acks_->mu);
      auto it = acks_->pending.find(*r.request_id);
      if (it == acks_->pending.end()) return;
      if (it->second.deadline <= std::chrono::steady_clock::now()) return (void)acks_->pending.erase(it);
      acks = it->second.collector;
    }
    if (r.type == cluster_type::broadcast_client_count) return acks->client_count(*r.client_count);
    // The answer as a Socket.IO ACK packet, so the collector reads it like a local one.
    std::string text = r.value->attachments.empty() ? "3" : "6" + std::to_string(r.value->attachments.size()) + "-";
    text += "0[";
    text += r.value->json.empty() ? "null" : r.value->json;
    text += "]";
    socketio::packet pk;
    if (socketio::decode(std::move(text), pk) != socketio::errc::ok)
      return hub_->log().warn("redis sharded adapter " + nsp_ + ": unreadable BROADCAST_ACK ignored");
    for (auto& a : r.value->attachments) pk.attachments.emplace_back(std::move(a));
    acks->response(socketio::args(pk));
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
  /// Broadcasts with ack this adapter published, by requestId, until their timeout.
  struct ack_requests {
    struct entry {
      std::shared_ptr<socketio::ack_collector> collector;
      std::chrono::steady_clock::time_point deadline;
    };
    std::mutex mu;
    std::map<std::string, entry> pending;
  };
  std::unique_ptr<ack_requests> acks_ = std::make_unique<ack_requests>();
  /// Server-side emits with ack this adapter published, by requestId. Hub thread only.
  struct sse_requests {
    struct entry {
      server_ack_fn cb;
      std::size_t expected = 0;
      std::vector<std::string> answers;  ///< JSON text of each server's answer
      std::unique_ptr<asio::steady_timer> timer;
    };
    std::map<std::string, entry> pending;

    void answer(cluster_message& r) {
      auto it = pending.find(*r.request_id);
      if (it == pending.end()) return;  // not ours, or late
      it->second.answers.push_back(!r.value->json.empty() ? std::move(r.value->json) : "null");
      if (it->second.answers.size() >= it->second.expected) finish(*r.request_id, true);
    }
    void finish(const std::string& id, bool complete) {
      auto it = pending.find(id);
      if (it == pending.end()) return;
      entry e = std::move(it->second);
      pending.erase(it);
      if (e.timer) e.timer->cancel();
      // The answers as one Socket.IO ACK packet, read by the callback like any ack's arguments.
      std::string text = "30[";
      for (std::size_t i = 0; i < e.answers.size(); ++i) text += (i ? "," : "") + e.answers[i];
      text += "]";
      socketio::packet pk;
      if (socketio::decode(std::move(text), pk) != socketio::errc::ok) return e.cb(complete, socketio::args{});
      e.cb(complete, socketio::args(pk));
    }
  };
  std::shared_ptr<sse_requests> sse_ = std::make_shared<sse_requests>();
  /// fetch_sockets requests this adapter published, by requestId. Hub thread only.
  struct fetch_requests {
    struct entry {
      fetch_fn done;
      std::size_t expected = 0, answered = 0;
      std::vector<socketio::socket_info> sockets;
      std::unique_ptr<asio::steady_timer> timer;
    };
    std::map<std::string, entry> pending;

    void answer(cluster_message& r) {
      auto it = pending.find(*r.request_id);
      if (it == pending.end()) return;  // not ours, or late
      for (auto& f : *r.sockets)
        it->second.sockets.push_back(socketio::socket_info{
            std::move(f.id), std::move(f.rooms), f.handshake.json.empty() ? "{}" : std::move(f.handshake.json),
            f.data.json.empty() ? "null" : std::move(f.data.json)});
      if (++it->second.answered >= it->second.expected) finish(*r.request_id, true);
    }
    void finish(const std::string& id, bool complete) {
      auto it = pending.find(id);
      if (it == pending.end()) return;
      entry e = std::move(it->second);
      pending.erase(it);
      if (e.timer) e.timer->cancel();
      e.done(complete, std::move(e.sockets));
    }
  };
  std::shared_ptr<fetch_requests> fetches_ = std::make_shared<fetch_requests>();
};

namespace detail {

inline void sharded_hub::attach(sharded_adapter* a) {
  {
    std::lock_guard<std::mutex> g(mu_);
    adapters_[a->nsp()] = a;
  }
  for (auto& c : a->channels()) ssubscribe(std::move(c));
}

inline void sharded_hub::detach(sharded_adapter* a) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = adapters_.find(a->nsp());
  if (it != adapters_.end() && it->second == a) adapters_.erase(it);
}

inline void sharded_hub::dispatch(const message& m) {
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
