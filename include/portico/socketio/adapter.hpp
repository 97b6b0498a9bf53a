#pragma once
/// Rooms bookkeeping and broadcast delivery for one namespace.
///
/// The server never walks rooms itself: it encodes a broadcast once and hands the adapter the
/// encoded frame plus the packet's parts. `memory_adapter` delivers locally; a cluster adapter
/// (e.g. one speaking @socket.io/redis-adapter's pub/sub format) would derive from it, deliver
/// locally the same way and publish `{type, nsp, data}` plus the options to the other nodes —
/// which is why `outgoing_packet` keeps the payload JSON and attachments beside the frame.
///
/// Broadcasts with ack (`broadcast_with_ack`) follow socket.io-adapter's `broadcastWithAck`:
/// every server reports how many clients it sent to, and every client's answer goes to one
/// `ack_collector`; a cluster adapter adds its remote servers' counts and answers
/// (BROADCAST_CLIENT_COUNT / BROADCAST_ACK) to the same collector.

#include "metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../engineio/server.hpp"
#include "args.hpp"
#include "codec.hpp"

namespace portico::socketio {

class nsp;

/// Who a broadcast goes to. A socket's sid is also a room holding only that socket.
struct broadcast_options {
  std::vector<std::string> rooms;   ///< empty: every socket of the namespace
  std::vector<std::string> except;  ///< rooms (or sids) to leave out
  bool volatile_ = false;           ///< skip recipients whose transport is not writable now
  bool local = false;               ///< cluster adapters: do not forward to other nodes
  /// Broadcast with ack: how long the sender waits for answers (cluster adapters forward it as
  /// socket.io's `flags.timeout`); zero for plain broadcasts.
  std::chrono::milliseconds timeout{0};
};

/// A broadcast, encoded once.
struct outgoing_packet {
  packet_type type = packet_type::event;
  std::string_view nsp;
  engineio::frame_ptr frame;  ///< the Socket.IO packet text (no Engine.IO prefix) + attachments
  std::uint64_t id = no_ack;  ///< broadcast with ack: the ack id written in `frame` (namespace-wide)
};

/// Where the answers to one broadcast with ack go. Thread-safe: called from any thread.
class ack_collector {
 public:
  virtual ~ack_collector() = default;
  /// Before the packet goes to local socket `sid`: starts waiting for its answer. False when
  /// that socket is already gone (the adapter then skips it).
  virtual bool expect(const std::string& sid) = 0;
  /// One server (this one, or a remote one) sent the packet to `n` clients. Called exactly once
  /// per server, also with 0.
  virtual void client_count(std::size_t n) = 0;
  /// A remote client's answer (its ack arguments; local answers arrive through `expect`).
  virtual void response(const args& a) = 0;
};

/// One socket as fetch_sockets reports it (socket.io's RemoteSocket: id, handshake, rooms, data).
struct socket_info {
  std::string id;
  std::vector<std::string> rooms;
  std::string handshake = "{}";  ///< JSON: headers, time, address, xdomain, secure, issued, url, query, auth
  std::string data = "{}";       ///< JSON: the socket's session (socket.io's `socket.data`)
};

class adapter {
 public:
  /// Hands one frame to many Engine.IO sockets (the server's `send_many`).
  using deliver_fn =
      std::function<void(const engineio::frame_ptr&, const std::vector<engineio::socket_ptr>&)>;

  virtual ~adapter() = default;
  /// A socket connected to the namespace: it joins its own room.
  virtual void add_socket(const std::string& sid, engineio::socket_ptr engine) = 0;
  /// The socket left the namespace: it leaves every room.
  virtual void remove_socket(const std::string& sid) = 0;
  virtual void join(const std::string& sid, const std::string& room) = 0;
  virtual void leave(const std::string& sid, const std::string& room) = 0;
  /// Every socket leaves `room`.
  virtual void close_room(const std::string& room) = 0;
  virtual std::vector<std::string> rooms_of(const std::string& sid) const = 0;
  /// The sids a broadcast with these options would reach (locally).
  virtual std::vector<std::string> sids(const broadcast_options& opts) const = 0;
  virtual void broadcast(const outgoing_packet& p, const broadcast_options& opts) = 0;
  /// Like `broadcast`, for a packet that asks for an ack (`p.id`): calls `acks->expect(sid)`
  /// for each local recipient before sending to it, then `acks->client_count(local recipients)`.
  virtual void broadcast_with_ack(const outgoing_packet& p, const broadcast_options& opts,
                                  const std::shared_ptr<ack_collector>& acks) = 0;
  /// How many servers will report a client count for a broadcast with ack, this one included
  /// (a cluster adapter asks its peers, e.g. PUBSUB NUMSUB, and may answer later).
  virtual void server_count(std::function<void(std::size_t)> done) { done(1); }
  /// The namespace this adapter serves, once it exists (before any socket joins). A cluster
  /// adapter uses it to deliver what other servers send with the namespace's own machinery
  /// (e.g. broadcasts with ack: local ack ids and answers).
  virtual void bind(nsp&) {}
  /// The other servers' answers to a server-side emit with ack: `complete` false when the
  /// cluster's timeout came first; `responses[i]` is one server's answer.
  using server_ack_fn = std::function<void(bool complete, const args& responses)>;
  /// Sends the event `p` (`[event, ...args]`) to the namespace's server-side listeners of every
  /// other server of a cluster; with `cb`, collects one answer per other server. Alone: no
  /// other server, so `cb(true, {})` at once.
  virtual void server_side_emit(const outgoing_packet& p, server_ack_fn cb) {
    (void)p;
    if (cb) cb(true, args{});
  }
  /// The matching sockets of the other servers (`complete` false when the cluster's timeout came
  /// first). Alone: none, at once.
  using fetch_fn = std::function<void(bool complete, std::vector<socket_info> sockets)>;
  virtual void fetch_remote_sockets(const broadcast_options& opts, fetch_fn done) {
    (void)opts;
    done(true, {});
  }
  /// The other servers' sockets that `opts` selects join `rooms` (socket.io's `socketsJoin`
  /// beyond this server; `nsp::sockets_join` applies it here). Alone: nothing to do.
  virtual void remote_join(const broadcast_options& opts, const std::vector<std::string>& rooms) {
    (void)opts, (void)rooms;
  }
  /// Like `remote_join`, leaving `rooms` (socket.io's `socketsLeave`).
  virtual void remote_leave(const broadcast_options& opts, const std::vector<std::string>& rooms) {
    (void)opts, (void)rooms;
  }
  /// The other servers disconnect the sockets `opts` selects: `close` closes their connections,
  /// otherwise they leave this namespace only (socket.io's `disconnectSockets(close)`).
  virtual void remote_disconnect(const broadcast_options& opts, bool close) { (void)opts, (void)close; }
  /// The rooms of the other servers, socket ids included (`complete` false when the cluster's
  /// timeout came first). Alone: none, at once.
  using rooms_fn = std::function<void(bool complete, std::vector<std::string> rooms)>;
  virtual void fetch_remote_rooms(rooms_fn done) { done(true, {}); }
  /// A cluster adapter's counts (metrics.hpp); false (the default): no cluster.
  virtual bool cluster_counts(cluster_metrics& out) const {
    (void)out;
    return false;
  }
  /// This server's rooms, each socket's own room (its sid) included, as socket.io's `adapter.rooms`.
  virtual std::vector<std::string> local_rooms() const {
    std::unordered_set<std::string> all;
    for (const auto& sid : sids(broadcast_options{}))
      for (auto& r : rooms_of(sid)) all.insert(std::move(r));
    return {all.begin(), all.end()};
  }
};

/// The default adapter: rooms in memory, one mutex per namespace (unrelated namespaces never
/// contend; a socket's own messages never touch it).
class memory_adapter : public adapter {
 public:
  explicit memory_adapter(deliver_fn deliver) : deliver_(std::move(deliver)) {}

  void add_socket(const std::string& sid, engineio::socket_ptr engine) override {
    std::lock_guard<std::mutex> g(mu_);
    auto& m = members_[sid];
    m.engine = std::move(engine);
    m.rooms.insert(sid);
    rooms_[sid].insert(sid);
  }

  void remove_socket(const std::string& sid) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = members_.find(sid);
    if (it == members_.end()) return;
    for (const auto& r : it->second.rooms) erase_from_room(r, sid);
    members_.erase(it);
  }

  void join(const std::string& sid, const std::string& room) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = members_.find(sid);
    if (it == members_.end()) return;
    if (it->second.rooms.insert(room).second) rooms_[room].insert(sid);
  }

  void leave(const std::string& sid, const std::string& room) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = members_.find(sid);
    if (it == members_.end()) return;
    if (it->second.rooms.erase(room)) erase_from_room(room, sid);
  }

  void close_room(const std::string& room) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    for (const auto& sid : it->second) {
      auto m = members_.find(sid);
      if (m != members_.end()) m->second.rooms.erase(room);
    }
    rooms_.erase(it);
  }

  std::vector<std::string> rooms_of(const std::string& sid) const override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> out;
    auto it = members_.find(sid);
    if (it != members_.end()) out.assign(it->second.rooms.begin(), it->second.rooms.end());
    return out;
  }

  std::vector<std::string> local_rooms() const override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> out;
    out.reserve(rooms_.size());
    for (const auto& kv : rooms_) out.push_back(kv.first);
    return out;
  }

  std::vector<std::string> sids(const broadcast_options& opts) const override {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> g(mu_);
    select(opts, [&](const std::string& sid, const member&) { out.push_back(sid); });
    return out;
  }

  void broadcast(const outgoing_packet& p, const broadcast_options& opts) override {
    std::vector<engineio::socket_ptr> to;
    {
      std::lock_guard<std::mutex> g(mu_);
      to.reserve(opts.rooms.empty() ? members_.size() : 8);
      select(opts, [&](const std::string&, const member& m) {
        if (!opts.volatile_ || m.engine->writable()) to.push_back(m.engine);
      });
    }
    if (!to.empty()) deliver_(p.frame, to);
  }

  void broadcast_with_ack(const outgoing_packet& p, const broadcast_options& opts,
                          const std::shared_ptr<ack_collector>& acks) override {
    std::vector<std::pair<std::string, engineio::socket_ptr>> picked;
    {
      std::lock_guard<std::mutex> g(mu_);
      select(opts, [&](const std::string& sid, const member& m) {
        if (!opts.volatile_ || m.engine->writable()) picked.emplace_back(sid, m.engine);
      });
    }
    // Outside the lock: `expect` takes the namespace's and the socket's locks.
    std::vector<engineio::socket_ptr> to;
    to.reserve(picked.size());
    for (auto& r : picked)
      if (acks->expect(r.first)) to.push_back(std::move(r.second));
    if (!to.empty()) deliver_(p.frame, to);
    acks->client_count(to.size());
  }

 protected:
  struct member {
    engineio::socket_ptr engine;
    std::unordered_set<std::string> rooms;
  };

  /// Closes the Engine.IO connections of the sockets `opts` selects (for a cluster adapter whose
  /// namespace is not bound: it has the connections, not the Socket.IO sockets).
  void close_connections(const broadcast_options& opts) {
    std::vector<engineio::socket_ptr> to_close;
    {
      std::lock_guard<std::mutex> g(mu_);
      select(opts, [&](const std::string&, const member& m) { to_close.push_back(m.engine); });
    }
    for (auto& e : to_close) e->close();  // thread-safe: runs on each socket's home worker
  }

  /// Calls `f` once per selected member. Caller holds the mutex.
  template <class F>
  void select(const broadcast_options& opts, F&& f) const {
    std::unordered_set<std::string_view> excluded;
    for (const auto& r : opts.except) {
      auto it = rooms_.find(r);
      if (it != rooms_.end())
        for (const auto& sid : it->second) excluded.insert(sid);
    }
    auto visit = [&](const std::string& sid) {
      if (!excluded.empty() && excluded.count(sid)) return;
      auto m = members_.find(sid);
      if (m != members_.end()) f(m->first, m->second);
    };
    if (opts.rooms.empty()) {
      for (const auto& kv : members_)
        if (excluded.empty() || !excluded.count(kv.first)) f(kv.first, kv.second);
    } else if (opts.rooms.size() == 1) {
      auto it = rooms_.find(opts.rooms.front());
      if (it != rooms_.end())
        for (const auto& sid : it->second) visit(sid);
    } else {
      std::unordered_set<std::string_view> seen;
      for (const auto& r : opts.rooms) {
        auto it = rooms_.find(r);
        if (it == rooms_.end()) continue;
        for (const auto& sid : it->second)
          if (seen.insert(sid).second) visit(sid);
      }
    }
  }

  void erase_from_room(const std::string& room, const std::string& sid) {
    auto r = rooms_.find(room);
    if (r == rooms_.end()) return;
    r->second.erase(sid);
    if (r->second.empty()) rooms_.erase(r);
  }

  deliver_fn deliver_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, member> members_;
  std::unordered_map<std::string, std::unordered_set<std::string>> rooms_;
};

}  // namespace portico::socketio
