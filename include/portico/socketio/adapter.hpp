#pragma once
/// Rooms bookkeeping and broadcast delivery for one namespace.
///
/// The server never walks rooms itself: it encodes a broadcast once and hands the adapter the
/// encoded frame plus the packet's parts. `memory_adapter` delivers locally; a cluster adapter
/// (e.g. one speaking @socket.io/redis-adapter's pub/sub format) would derive from it, deliver
/// locally the same way and publish `{type, nsp, data}` plus the options to the other nodes —
/// which is why `outgoing_packet` keeps the payload JSON and attachments beside the frame.

#include <algorithm>
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
#include "codec.hpp"

namespace portico::socketio {

/// Who a broadcast goes to. A socket's sid is also a room holding only that socket.
struct broadcast_options {
  std::vector<std::string> rooms;   ///< empty: every socket of the namespace
  std::vector<std::string> except;  ///< rooms (or sids) to leave out
  bool volatile_ = false;           ///< skip recipients whose transport is not writable now
  bool local = false;               ///< cluster adapters: do not forward to other nodes
};

/// A broadcast, encoded once.
struct outgoing_packet {
  packet_type type = packet_type::event;
  std::string_view nsp;
  engineio::frame_ptr frame;  ///< the Socket.IO packet text (no Engine.IO prefix) + attachments
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

 protected:
  struct member {
    engineio::socket_ptr engine;
    std::unordered_set<std::string> rooms;
  };

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
