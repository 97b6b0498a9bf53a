#pragma once
/// portico::redis::session_store: connection state recovery shared by the members of a Redis
/// cluster (`server_options::session_store_factory = redis::session_store_factory(o)`), so a
/// client whose connection died on one member gets its id, rooms, session data and missed
/// packets back on another.
///
/// Per namespace, under `<prefix>#<nsp>#rec#`:
///   `seq`        INCR: the cluster-wide offset of each recoverable packet (decimal);
///   `packets`    sorted set scored by offset: the packet (text, attachments) and its rooms and
///                excepted rooms; trimmed to `max_stored_packets`, expires a window after the
///                last packet;
///   `s#<pid>`    a lost session (sid, rooms, data), `SET ... PX window`, taken with GETDEL.
/// As @socket.io/redis-streams-adapter keeps sessions (SET with expiry, GETDEL); its packets
/// live in one stream that every member delivers from, in one order. The pub/sub adapters have
/// no such order: see docs/socketio.md, "Connection state recovery", for what that costs.
///
/// Blocking: each recoverable emit makes two round trips to Redis (INCR, then ZADD with the
/// trim and expiry pipelined) on the emitting thread, under the namespace's emit lock. Redis
/// unreachable: emits still go out (with offsets no member can restore); sessions are not
/// recovered.

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../socketio/recovery.hpp"
#include "options.hpp"

namespace portico::redis {

struct session_store_options {
  redis::options connection;
  /// The key prefix (as the adapters' channel prefix).
  std::string prefix = "socket.io";
};

namespace detail {

/// Length-prefixed fields ("<len>:<bytes>"): binary-safe, no escaping.
inline void put_field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out.append(v.data(), v.size());
}
inline std::optional<std::string_view> take_field(std::string_view& in) {
  std::size_t colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) return std::nullopt;
  std::size_t n = 0;
  for (std::size_t i = 0; i < colon; ++i) {
    if (in[i] < '0' || in[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(in[i] - '0');
  }
  if (in.size() - colon - 1 < n) return std::nullopt;
  std::string_view v = in.substr(colon + 1, n);
  in.remove_prefix(colon + 1 + n);
  return v;
}
inline void put_list(std::string& out, const std::vector<std::string>& v) {
  put_field(out, std::to_string(v.size()));
  for (const auto& x : v) put_field(out, x);
}
inline bool take_list(std::string_view& in, std::vector<std::string>& v) {
  auto n = take_field(in);
  if (!n || n->empty() || n->size() > 9) return false;
  std::size_t count = 0;
  for (char c : *n) {
    if (c < '0' || c > '9') return false;
    count = count * 10 + static_cast<std::size_t>(c - '0');
  }
  if (count > in.size()) return false;
  for (std::size_t i = 0; i < count; ++i) {
    auto f = take_field(in);
    if (!f) return false;
    v.emplace_back(*f);
  }
  return true;
}

/// (The store's own names: detail/link.hpp has a reply_deleter of its own.)
struct store_reply_deleter {
  void operator()(redisReply* r) const noexcept {
    if (r) freeReplyObject(r);
  }
};
using store_reply = std::unique_ptr<redisReply, store_reply_deleter>;
struct store_context_deleter {
  void operator()(redisContext* c) const noexcept {
    if (c) redisFree(c);
  }
};

}  // namespace detail

class session_store final : public socketio::session_store {
 public:
  session_store(session_store_options o, const std::string& nsp, socketio::recovery_options r)
      : opts_(std::move(o)), rec_(r), key_(opts_.prefix + "#" + nsp + "#rec#"), log_("portico.redis") {}

  std::string next_offset() override {
    std::lock_guard<std::mutex> g(mu_);
    detail::store_reply r = command({"INCR", key_ + "seq"});
    if (r && r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    return "0";  // Redis away: an offset nobody restores from
  }

  void store(const std::string& offset, const socketio::broadcast_options& to, engineio::frame_ptr f) override {
    if (offset == "0" || !f) return;
    std::string entry;
    detail::put_field(entry, offset);  // unique member per offset
    detail::put_list(entry, to.rooms);
    detail::put_list(entry, to.except);
    detail::put_field(entry, f->text);
    detail::put_list(entry, f->binaries);
    const std::string packets = key_ + "packets";
    const std::string trim_to = "-" + std::to_string(rec_.max_stored_packets + 1);
    const std::string window = std::to_string(rec_.max_disconnection_duration.count());
    std::lock_guard<std::mutex> g(mu_);
    pipeline({{"ZADD", packets, offset, entry}, {"ZREMRANGEBYRANK", packets, "0", trim_to}, {"PEXPIRE", packets, window}});
  }

  void persist(socketio::recovery_session s) override {
    std::string v;
    detail::put_field(v, s.sid);
    detail::put_list(v, s.rooms);
    detail::put_field(v, s.data);
    std::lock_guard<std::mutex> g(mu_);
    command({"SET", key_ + "s#" + s.pid, v, "PX", std::to_string(std::max<long long>(1, rec_.max_disconnection_duration.count()))});
  }

  std::optional<socketio::recovery_session> restore(const std::string& pid, const std::string& offset) override {
    std::uint64_t after = 0;
    if (offset.empty() || offset.size() > 19) return std::nullopt;
    for (char c : offset) {
      if (c < '0' || c > '9') return std::nullopt;
      after = after * 10 + static_cast<std::uint64_t>(c - '0');
    }
    std::lock_guard<std::mutex> g(mu_);
    detail::store_reply sr = command({"GETDEL", key_ + "s#" + pid});
    if (!sr || sr->type != REDIS_REPLY_STRING) return std::nullopt;
    socketio::recovery_session s;
    s.pid = pid;
    std::string_view in(sr->str, sr->len);
    auto sid = detail::take_field(in);
    if (!sid || !detail::take_list(in, s.rooms)) return std::nullopt;
    auto data = detail::take_field(in);
    if (!data) return std::nullopt;
    s.sid = std::string(*sid);
    s.data = std::string(*data);
    // Every packet after `offset` must still be there: as many entries as offsets were given.
    detail::store_reply seq = command({"GET", key_ + "seq"});
    std::uint64_t last = 0;
    if (seq && seq->type == REDIS_REPLY_STRING) last = std::strtoull(seq->str, nullptr, 10);
    if (after > last) return std::nullopt;
    detail::store_reply pr = command({"ZRANGEBYSCORE", key_ + "packets", "(" + offset, "+inf"});
    if (!pr || pr->type != REDIS_REPLY_ARRAY) return std::nullopt;
    if (pr->elements != last - after) {
      log_.info([&] {
        return "session " + s.sid + " not recovered: " + std::to_string(last - after) + " packets after offset " + offset +
               ", " + std::to_string(pr->elements) + " kept";
      });
      return std::nullopt;
    }
    for (std::size_t i = 0; i < pr->elements; ++i) {
      const redisReply* e = pr->element[i];
      if (!e || e->type != REDIS_REPLY_STRING) return std::nullopt;
      std::string_view p(e->str, e->len);
      std::vector<std::string> rooms, except, binaries;
      auto off = detail::take_field(p);
      if (!off || !detail::take_list(p, rooms) || !detail::take_list(p, except)) return std::nullopt;
      auto text = detail::take_field(p);
      if (!text || !detail::take_list(p, binaries)) return std::nullopt;
      if (!selects(rooms, except, s.rooms)) continue;
      auto f = std::make_shared<engineio::frame>();
      f->text = std::string(*text);
      f->binaries = std::move(binaries);
      s.missed.push_back(std::move(f));
    }
    return s;
  }

 private:
  /// Would a socket in `mine` have received a packet sent to `rooms` except `except`?
  static bool selects(const std::vector<std::string>& rooms, const std::vector<std::string>& except,
                      const std::vector<std::string>& mine) {
    auto has = [](const std::vector<std::string>& set, const std::string& r) {
      for (const auto& x : set)
        if (x == r) return true;
      return false;
    };
    bool in = rooms.empty();
    for (const auto& r : mine) {
      if (has(except, r)) return false;
      if (!in && has(rooms, r)) in = true;
    }
    return in;
  }

  /// Connected (again) if needed; false when Redis cannot be reached. Under mu_.
  bool ensure() {
    if (ctx_ && !ctx_->err) return true;
    ctx_.reset();
    auto ms = opts_.connection.connect_timeout.count();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    ctx_.reset(redisConnectWithTimeout(opts_.connection.host.c_str(), opts_.connection.port, tv));
    if (!ctx_ || ctx_->err) {
      if (!warned_)  // once per outage, not once per emit
        log_.warn("redis session store: cannot connect to " + opts_.connection.host + ":" +
                  std::to_string(opts_.connection.port) + "; nothing is recoverable until it is back");
      warned_ = true;
      ctx_.reset();
      return false;
    }
    warned_ = false;
    redisSetTimeout(ctx_.get(), tv);
    if (!opts_.connection.password.empty()) {
      detail::store_reply r = opts_.connection.username.empty()
                                ? raw({"AUTH", opts_.connection.password})
                                : raw({"AUTH", opts_.connection.username, opts_.connection.password});
      if (!r || r->type == REDIS_REPLY_ERROR) {
        ctx_.reset();
        return false;
      }
    }
    return true;
  }
  detail::store_reply raw(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    return detail::store_reply(static_cast<redisReply*>(
        redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  }
  detail::store_reply command(const std::vector<std::string>& args) {
    if (!ensure()) return nullptr;
    detail::store_reply r = raw(args);
    if (!r) ctx_.reset();  // I/O error: reconnect next time
    return r;
  }
  void pipeline(const std::vector<std::vector<std::string>>& cmds) {
    if (!ensure()) return;
    for (const auto& args : cmds) {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
      redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data());
    }
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      void* r = nullptr;
      if (redisGetReply(ctx_.get(), &r) != REDIS_OK) {
        ctx_.reset();
        return;
      }
      detail::store_reply keep(static_cast<redisReply*>(r));
    }
  }

  session_store_options opts_;
  socketio::recovery_options rec_;
  std::string key_;
  portico::logger log_;
  std::mutex mu_;  ///< one command at a time on ctx_
  std::unique_ptr<redisContext, detail::store_context_deleter> ctx_;
  bool warned_ = false;  ///< the outage was logged
};

/// For `server_options::session_store_factory`.
inline std::function<std::unique_ptr<socketio::session_store>(const std::string&, const socketio::recovery_options&)>
session_store_factory(session_store_options o) {
  return [o = std::move(o)](const std::string& nsp, const socketio::recovery_options& r) {
    return std::make_unique<session_store>(o, nsp, r);
  };
}

}  // namespace portico::redis
