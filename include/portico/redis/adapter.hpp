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
/// BROADCAST_CLIENT_COUNT and one BROADCAST_ACK per local answer), REMOTE_DISCONNECT (4) with
/// `close: true`.
/// SERVER_SIDE_EMIT (6): handed to the namespace's `on_server_event` listeners; with a requestId
/// the listener's returned value is the answer (on the common response channel, as Node does).
/// Issued: BROADCAST (7) for broadcasts with ack, REMOTE_DISCONNECT (4, `disconnect_sockets`), REMOTE_FETCH (5, `nsp::fetch_sockets`: expects
/// `PUBSUB NUMSUB - 1` answers within `requests_timeout`), SERVER_SIDE_EMIT (6, with ack: expects
/// `PUBSUB NUMSUB - 1` answers within `requests_timeout`), and `PUBSUB NUMSUB` for the server count.
/// Not handled yet: REMOTE_DISCONNECT without close (logged).
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
        if (err.empty()) return;
        auto n = lost_.fetch_add(1, std::memory_order_relaxed) + 1;
        log_.warn("redis adapter: publish lost (" + std::string(err) + "), " + std::to_string(n) +
                  " lost so far");
      });
    });
  }

  /// PUBSUB NUMSUB `channel` -> done(count) on the hub thread; 1 (this server) when Redis is down.
  void numsub(std::string channel, std::function<void(std::size_t)> done) {
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
  const std::string& nsp() const noexcept { return nsp_; }
  const std::string& prefix() const noexcept { return prefix_; }
  /// Publishes lost while Redis was down (shared by every namespace of the factory).
  std::uint64_t lost_publishes() const noexcept { return hub_->lost_publishes(); }

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
    {
      // Requests are forgotten after their timeout (as Node does): late answers are dropped.
      // Expired ones are swept here, so the map stays as small as the requests in flight.
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> g(acks_->mu);
      for (auto it = acks_->pending.begin(); it != acks_->pending.end();)
        it = it->second.deadline <= now ? acks_->pending.erase(it) : std::next(it);
      acks_->pending[*r.request_id] = {acks, now + timeout};
    }
    hub_->publish(request_channel_, encode(r));
  }

  void server_count(std::function<void(std::size_t)> done) override {
    // A broadcast with ack that came from another member is answered for this server only.
    if (answering_remote()) return done(1);
    hub_->numsub(request_channel_, std::move(done));
  }

  void bind(socketio::nsp& n) override { bound_.store(&n, std::memory_order_release); }

  void server_side_emit(const socketio::outgoing_packet& p, server_ack_fn cb) override {
    classic_request r;
    r.type = request_type::server_side_emit;
    r.uid = uid_;
    r.data = packet_from_socketio(p.frame->text, p.frame->binaries).data;
    if (!cb) return hub_->publish(request_channel_, encode(r));
    r.request_id = detail::member_uid();
    // Like Node: count the other servers first, then publish and wait for that many answers.
    // Everything below runs on the hub thread, so the pending map needs no lock.
    detail::cluster_hub* hub = hub_.get();
    auto state = sse_;
    auto timeout = hub_->opts().requests_timeout;
    hub_->numsub(request_channel_, [hub, state, timeout, ch = request_channel_, r = std::move(r),
                                    cb = std::move(cb)](std::size_t n) mutable {
      if (n <= 1) return cb(true, socketio::args{});
      const std::string id = *r.request_id;
      auto& e = state->pending[id];
      e.cb = std::move(cb);
      e.expected = n - 1;
      e.timer = std::make_unique<asio::steady_timer>(hub->io(), timeout);
      e.timer->async_wait([state, id](const asio::error_code& ec) {
        if (!ec) state->finish(id, false);
      });
      hub->publish(ch, encode(r));
    });
  }

  /// Closes the connections of the sockets `opts` selects on every server of the cluster
  /// (this one included): REMOTE_DISCONNECT with `close: true`, as Node's
  /// `io.in(room).disconnectSockets(true)`. Safe from any thread.
  void disconnect_sockets(const socketio::broadcast_options& opts) {
    close_local(opts);
    if (opts.local) return;
    classic_request r;
    r.type = request_type::remote_disconnect;
    r.uid = uid_;
    broadcast_opts o;
    o.rooms = opts.rooms;
    o.except = opts.except;
    r.opts = std::move(o);
    r.close = true;
    hub_->publish(request_channel_, encode(r));
  }

  /// Hub thread: a message on one of this namespace's channels.
  void fetch_remote_sockets(const socketio::broadcast_options& opts, fetch_fn done) override {
    classic_request r;
    r.type = request_type::remote_fetch;
    r.uid = uid_;
    r.request_id = detail::member_uid();
    broadcast_opts o;
    o.rooms = opts.rooms;
    o.except = opts.except;
    r.opts = std::move(o);
    detail::cluster_hub* hub = hub_.get();
    auto state = fetches_;
    auto timeout = hub_->opts().requests_timeout;
    hub_->numsub(request_channel_, [hub, state, timeout, ch = request_channel_, r = std::move(r),
                                    done = std::move(done)](std::size_t n) mutable {
      if (n <= 1) return done(true, {});
      const std::string id = *r.request_id;
      auto& e = state->pending[id];
      e.done = std::move(done);
      e.expected = n - 1;
      e.timer = std::make_unique<asio::steady_timer>(hub->io(), timeout);
      e.timer->async_wait([state, id](const asio::error_code& ec) {
        if (!ec) state->finish(id, false);
      });
      hub->publish(ch, encode(r));
    });
  }

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

  void close_local(const socketio::broadcast_options& t) {
    std::vector<engineio::socket_ptr> to_close;
    {
      std::lock_guard<std::mutex> g(mu_);
      select(t, [&](const std::string&, const member& m) { to_close.push_back(m.engine); });
    }
    for (auto& e : to_close) e->close();  // thread-safe: runs on each socket's home worker
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

  std::vector<std::string> all_rooms() const {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> out;
    out.reserve(rooms_.size());
    for (const auto& kv : rooms_) out.push_back(kv.first);
    return out;
  }

  static socketio::broadcast_options target(const std::optional<broadcast_opts>& o) {
    socketio::broadcast_options t;
    if (o) {
      t.rooms = o->rooms;
      t.except = o->except;
    }
    return t;
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
          r.rooms = all_rooms();
        } else if (req.type == request_type::sockets) {
          socketio::broadcast_options t;
          if (req.rooms) t.rooms = *req.rooms;
          r.sids = sids(t);
        } else {
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
          r.sockets = std::move(v);
        }
        return respond(req, std::move(r));
      }
      case request_type::remote_join:
      case request_type::remote_leave: {
        // Applied for our own requests too: Node's requester applies its request when it returns.
        if (!req.rooms) return;
        for (const auto& sid : sids(target(req.opts)))
          for (const auto& room : *req.rooms) {
            if (req.type == request_type::remote_join) join(sid, room);
            else leave(sid, room);
          }
        return;
      }
      case request_type::broadcast: {
        if (req.uid == uid_ || !req.request_id || !req.pkt || !req.opts) return;
        if (req.pkt->nsp.value_or("/") != nsp_) return;
        return answer_broadcast_with_ack(req);
      }
      case request_type::remote_disconnect: {
        if (req.uid == uid_) return;  // ours: closed locally already
        // close=true closes the whole connection, which the adapter can do through Engine.IO;
        // leaving one namespace only (close=false) needs the namespace, not reachable from here.
        if (!req.close.value_or(false))
          return hub_->log().warn("redis adapter " + nsp_ + ": REMOTE_DISCONNECT without close is not supported yet, ignored");
        return close_local(target(req.opts));
      }
      case request_type::server_side_emit:
        if (req.uid == uid_ || !req.data) return;
        return answer_server_side_emit(req);
      default:
        return;
    }
  }

  static bool& answering_remote() {
    thread_local bool flag = false;
    return flag;
  }

  /// A Node member's broadcast with ack (BROADCAST): sent to the local recipients with a local ack
  /// id through the namespace's own emit_with_ack; BROADCAST_CLIENT_COUNT at once, then one
  /// BROADCAST_ACK per local answer when they are all in (or at the requester's timeout).
  void answer_broadcast_with_ack(classic_request& req) {
    classic_response count;
    count.type = request_type::broadcast_client_count;
    count.request_id = *req.request_id;
    socketio::nsp* n = bound_.load(std::memory_order_acquire);
    socketio::packet pk;
    socketio::encoded enc;
    if (n) {
      enc = to_socketio(std::move(*req.pkt), nsp_);
      if (socketio::decode(enc.text, pk) != socketio::errc::ok || !pk.is_event()) n = nullptr;
      for (auto& b : enc.binaries) pk.attachments.emplace_back(std::move(b));
    }
    if (!n) {  // not bound (a custom server) or an unreadable event: nobody here answers
      count.client_count = 0;
      return respond(req, std::move(count));
    }
    socketio::emitter e(*n);
    for (const auto& r : req.opts->rooms) e.to(r);
    for (const auto& r : req.opts->except) e.except(r);
    if (req.opts->flags.volatile_.value_or(false)) e.volatile_();
    e.local();
    count.client_count = e.sids().size();
    respond(req, std::move(count));
    const bool specific = hub_->opts().publish_on_specific_response_channel && req.uid;
    std::string channel = specific ? classic_channels::specific_response(prefix_, nsp_, *req.uid) : response_channel_;
    auto timeout = std::chrono::milliseconds(req.opts->flags.timeout.value_or(
        static_cast<std::uint64_t>(hub_->opts().requests_timeout.count())));
    std::weak_ptr<detail::cluster_hub> hub = hub_;
    auto answered = [hub, channel, id = *req.request_id](socketio::ack_status, const socketio::args& responses) {
      auto h = hub.lock();
      if (!h) return;
      for (std::size_t i = 0; i < responses.size(); ++i) {
        classic_response r;
        r.type = request_type::broadcast_ack;
        r.request_id = id;
        payload p;
        json::encode_context ctx;
        json::string_sink sink{&p.json};
        json::writer w(sink);
        socketio::detail::write_arg(w, ctx, responses.at(i));
        sink.Flush();
        p.attachments.assign(ctx.attachments.begin(), ctx.attachments.end());
        r.ack = std::move(p);
        h->publish(channel, encode(r));
      }
    };
    answering_remote() = true;
    e.emit_with_ack(pk.event_name(), std::move(answered), timeout, socketio::args(pk));
    answering_remote() = false;
  }

  /// Another server's serverSideEmit -> the namespace's listener; its value answers an ack.
  void answer_server_side_emit(classic_request& req) {
    socketio::nsp* n = bound_.load(std::memory_order_acquire);
    if (!n) return;
    packet pkt;
    pkt.type = 2;
    pkt.data = std::move(*req.data);
    socketio::encoded enc = to_socketio(std::move(pkt), nsp_);
    socketio::packet pk;
    if (socketio::decode(enc.text, pk) != socketio::errc::ok || !pk.is_event())
      return hub_->log().warn("redis adapter " + nsp_ + ": unreadable SERVER_SIDE_EMIT ignored");
    for (auto& b : enc.binaries) pk.attachments.emplace_back(std::move(b));
    std::optional<std::string> answer;
    try {
      answer = n->server_event(pk);
    } catch (const std::exception& e) {  // a listener's error must not stop the hub thread
      return hub_->log().warn("redis adapter " + nsp_ + ": server-side listener threw, no answer: " + e.what());
    }
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
    if (!r.type) return fetches_->answer(r);  // REMOTE_FETCH answers; others are not ours
    if (*r.type == request_type::server_side_emit) return sse_->answer(r);
    std::shared_ptr<socketio::ack_collector> acks;
    {
      std::lock_guard<std::mutex> g(acks_->mu);
      auto it = acks_->pending.find(r.request_id);
      if (it == acks_->pending.end()) return;
      if (it->second.deadline <= std::chrono::steady_clock::now()) return (void)acks_->pending.erase(it);
      acks = it->second.collector;
    }
    if (*r.type == request_type::broadcast_client_count && r.client_count) {
      acks->client_count(static_cast<std::size_t>(*r.client_count));
    } else if (*r.type == request_type::broadcast_ack && r.ack) {
      // The answer as a Socket.IO ACK packet, so the collector reads it like a local one.
      std::string text = r.ack->attachments.empty() ? "3" : "6" + std::to_string(r.ack->attachments.size()) + "-";
      text += "0[";
      text += r.ack->json.empty() ? "null" : r.ack->json;
      text += "]";
      socketio::packet pk;
      if (socketio::decode(std::move(text), pk) != socketio::errc::ok)
        return hub_->log().warn("redis adapter " + nsp_ + ": unreadable BROADCAST_ACK ignored");
      for (auto& a : r.ack->attachments) pk.attachments.emplace_back(std::move(a));
      acks->response(socketio::args(pk));
    }
  }

  std::string nsp_, uid_;
  std::shared_ptr<detail::cluster_hub> hub_;
  std::string prefix_, request_channel_, response_channel_;
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

    void answer(classic_response& r) {
      auto it = pending.find(r.request_id);
      if (it == pending.end()) return;  // not ours, or late
      it->second.answers.push_back(r.data && !r.data->json.empty() ? std::move(r.data->json) : "null");
      if (it->second.answers.size() >= it->second.expected) finish(r.request_id, true);
    }
    void finish(const std::string& id, bool complete) {
      auto it = pending.find(id);
      if (it == pending.end()) return;
      entry e = std::move(it->second);
      pending.erase(it);
      if (e.timer) e.timer->cancel();
      // The answers as one Socket.IO ACK packet, read by the callback like any ack's arguments.
      std::string text = "0[";
      for (std::size_t i = 0; i < e.answers.size(); ++i) text += (i ? "," : "") + e.answers[i];
      text = "3" + text + "]";
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

    void answer(classic_response& r) {
      auto it = pending.find(r.request_id);
      if (it == pending.end()) return;  // ALL_ROOMS/SOCKETS answers, or late
      if (r.sockets)  // like Node, an answer without a list still counts
        for (auto& f : *r.sockets)
          it->second.sockets.push_back(socketio::socket_info{
              std::move(f.id), std::move(f.rooms), f.handshake.json.empty() ? "{}" : std::move(f.handshake.json),
              f.data.json.empty() ? "null" : std::move(f.data.json)});
      if (++it->second.answered >= it->second.expected) finish(r.request_id, true);
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

inline void cluster_hub::attach(adapter* a) {
  {
    std::lock_guard<std::mutex> g(mu_);
    adapters_[a->nsp()] = a;
  }
  std::vector<std::string> ch = a->channels();
  std::string pattern = classic_channels::pattern(a->prefix(), a->nsp());
  asio::post(io_, [this, ch = std::move(ch), pattern = std::move(pattern)] {
    if (!sub_) return;
    sub_->psubscribe(pattern);
    for (const auto& c : ch) sub_->subscribe(c);
  });
}

inline void cluster_hub::detach(adapter* a) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = adapters_.find(a->nsp());
  if (it != adapters_.end() && it->second == a) adapters_.erase(it);
}

inline void cluster_hub::dispatch(const message& m) {
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
    if (m.kind == subscription::pattern && m.pattern != classic_channels::pattern(key, a->nsp())) continue;
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
