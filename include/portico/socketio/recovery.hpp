#pragma once
/// Connection state recovery (socket.io 4.6+'s `connectionStateRecovery`): what a namespace keeps
/// so that a client whose transport died gets its socket back.
///
/// With recovery on, the CONNECT answer carries a private session id (`pid`), and every event
/// Node would make recoverable (broadcasts and emits to one socket, without ack, not volatile)
/// carries an offset as its last argument and is kept in the namespace's `session_store`. When a
/// socket's connection is lost (not a client or server namespace disconnect), its session (sid,
/// pid, rooms, session data) is kept for `max_disconnection_duration`. A client that comes back
/// with `{pid, offset}` in its CONNECT payload gets the same sid, rooms and data, and the packets
/// after `offset` that its rooms selected, in order.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../detail/random.hpp"
#include "../engineio/server.hpp"
#include "../log.hpp"
#include "adapter.hpp"

namespace portico::socketio {

struct recovery_options {
  /// Off by default: no pid, no offsets, nothing stored (one branch per emit).
  bool enabled = false;
  /// How long a lost session waits for its client (Node's default: 2 minutes).
  std::chrono::milliseconds max_disconnection_duration{120000};
  /// A recovered socket skips the `use()` middlewares (its connect handlers still run), as
  /// Node's `skipMiddlewares`; gateways skip their guards.
  bool skip_middlewares = true;
  /// Most recoverable packets a namespace keeps (besides the time window); a client whose
  /// offset fell out of them is not recovered (it gets a fresh session; one log line).
  std::size_t max_stored_packets = 10000;
};

/// One socket's state while its client is away.
struct recovery_session {
  std::string sid, pid;
  std::vector<std::string> rooms;  ///< its own room (sid) included
  std::string data;                ///< the session as JSON text; empty: none
  std::vector<engineio::frame_ptr> missed;  ///< filled by `restore`: the packets to replay, in order
};

/// Where a namespace keeps lost sessions and recoverable packets. One per namespace, built by
/// `server_options::session_store_factory`; called from any thread.
class session_store {
 public:
  virtual ~session_store() = default;
  /// The offset of the next recoverable packet. The namespace calls it, encodes the packet with
  /// it and calls `store` under one lock, so offsets are stored in delivery order.
  virtual std::string next_offset() = 0;
  /// A recoverable packet (written with `offset`) and who it went to.
  virtual void store(const std::string& offset, const broadcast_options& to, engineio::frame_ptr f) = 0;
  /// A socket lost its connection: keep its session for the window.
  virtual void persist(recovery_session s) = 0;
  /// The session `pid` (forgotten here), with the packets after `offset` it missed; none when
  /// unknown, expired, or some of its missed packets are gone.
  virtual std::optional<recovery_session> restore(const std::string& pid, const std::string& offset) = 0;
};

/// The default store: one log of recoverable packets per namespace, bounded by time and count,
/// replayed filtered by the session's rooms (socket.io-adapter's SessionAwareAdapter).
class memory_session_store : public session_store {
 public:
  explicit memory_session_store(recovery_options o)
      : opts_(o), prefix_(portico::detail::random_id().substr(0, 8) + "-"), log_("portico.socketio") {}

  std::string next_offset() override {
    std::lock_guard<std::mutex> g(mu_);
    return prefix_ + std::to_string(next_seq_++);
  }

  void store(const std::string& offset, const broadcast_options& to, engineio::frame_ptr f) override {
    auto seq = parse(offset);
    if (!seq) return;
    auto now = clock::now();
    std::lock_guard<std::mutex> g(mu_);
    packets_.push_back(entry{*seq, now, to.rooms, to.except, std::move(f)});
    while (!packets_.empty() &&
           (packets_.size() > opts_.max_stored_packets || packets_.front().at + opts_.max_disconnection_duration < now)) {
      dropped_upto_ = packets_.front().seq + 1;
      packets_.pop_front();
    }
  }

  void persist(recovery_session s) override {
    auto now = clock::now();
    std::lock_guard<std::mutex> g(mu_);
    if (now >= next_sweep_) {  // expired sessions go at most a few times per window
      for (auto it = sessions_.begin(); it != sessions_.end();)
        it = it->second.until < now ? sessions_.erase(it) : std::next(it);
      next_sweep_ = now + opts_.max_disconnection_duration / 4;
    }
    auto pid = s.pid;
    sessions_[std::move(pid)] = kept{now + opts_.max_disconnection_duration, std::move(s)};
  }

  std::optional<recovery_session> restore(const std::string& pid, const std::string& offset) override {
    auto seq = parse(offset);
    std::lock_guard<std::mutex> g(mu_);
    auto it = sessions_.find(pid);
    if (it == sessions_.end()) return std::nullopt;
    kept k = std::move(it->second);
    sessions_.erase(it);
    if (k.until < clock::now()) return std::nullopt;
    // Every packet after `offset` must still be here (the one at `offset` may be gone).
    if (!seq || *seq >= next_seq_ || *seq + 1 < dropped_upto_) {
      log_.info([&] { return "session " + k.s.sid + " not recovered: offset " + offset + " is unknown or its missed packets exceeded max_stored_packets"; });
      return std::nullopt;
    }
    for (const auto& p : packets_)
      if (p.seq > *seq && selects(p, k.s.rooms)) k.s.missed.push_back(p.frame);
    return std::move(k.s);
  }

 private:
  using clock = std::chrono::steady_clock;
  struct entry {
    std::uint64_t seq;
    clock::time_point at;
    std::vector<std::string> rooms, except;
    engineio::frame_ptr frame;
  };
  struct kept {
    clock::time_point until;
    recovery_session s;
  };

  std::optional<std::uint64_t> parse(std::string_view offset) const {
    if (offset.size() <= prefix_.size() || offset.substr(0, prefix_.size()) != prefix_) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : offset.substr(prefix_.size())) {
      if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
  }
  /// Would a socket in `rooms` have received `p`?
  static bool selects(const entry& p, const std::vector<std::string>& rooms) {
    auto has = [](const std::vector<std::string>& set, const std::string& r) {
      for (const auto& x : set)
        if (x == r) return true;
      return false;
    };
    bool in = p.rooms.empty();
    for (const auto& r : rooms) {
      if (has(p.except, r)) return false;
      if (!in && has(p.rooms, r)) in = true;
    }
    return in;
  }

  recovery_options opts_;
  std::string prefix_;  ///< random per store: another server's (or a previous run's) offsets never parse
  portico::logger log_;
  std::mutex mu_;
  std::uint64_t next_seq_ = 0, dropped_upto_ = 0;
  std::deque<entry> packets_;
  std::unordered_map<std::string, kept> sessions_;
  clock::time_point next_sweep_{};
};

}  // namespace portico::socketio
