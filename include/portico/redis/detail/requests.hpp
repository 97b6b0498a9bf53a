#pragma once
/// Internals shared by the classic and the sharded adapter: the requests one member sends the
/// others and waits for (pending by requestId, answers counted, forgotten at their timeout), and
/// the pieces both use to answer another member's request. The two wire formats differ; what a
/// request means and how it completes is the same (socket.io-adapter's rules).

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../../detail/user_code.hpp"
#include "../../log.hpp"
#include "../../socketio/adapter.hpp"
#include "../../socketio/server.hpp"
#include "../codec.hpp"

namespace portico::redis::detail {

/// A hub's cluster counts (socketio::cluster_metrics, docs/metrics.md): written on the hub thread
/// only (a relaxed load and store, no locked instruction), read from any thread.
class hub_counts {
 public:
  void published() noexcept { bump(published_); }
  void received() noexcept { bump(received_); }
  void request_timed_out() noexcept { bump(timeouts_); }
  socketio::cluster_metrics read(std::uint64_t lost) const noexcept {
    socketio::cluster_metrics m;
    m.messages_published = published_.load(std::memory_order_relaxed);
    m.messages_received = received_.load(std::memory_order_relaxed);
    m.publishes_lost = static_cast<std::int64_t>(lost);
    m.request_timeouts = timeouts_.load(std::memory_order_relaxed);
    return m;
  }

 private:
  static void bump(std::atomic<std::int64_t>& a) noexcept {
    a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::atomic<std::int64_t> published_{0}, received_{0}, timeouts_{0};
};

/// Requests this member published that complete after a counted number of answers from the other
/// servers (fetch_sockets, server_side_emit with ack, all_rooms). Everything but `issue`'s call
/// runs on the hub thread, so the map needs no lock.
template <class Result>
class counted_requests {
 public:
  using done_fn = std::function<void(bool complete, Result result)>;

  /// Like Node: counts the servers first (`hub.count_servers`), then registers `id` expecting
  /// one answer from each other server and publishes `bytes` on `channel` (`hub.send`);
  /// `done(false, what came)` after the hub's `requests_timeout`. Alone: `done(true, {})` at
  /// once, nothing published. From any thread.
  template <class Hub>
  static void issue(const std::shared_ptr<counted_requests>& self, Hub& hub, std::string channel, std::string id,
                    std::string bytes, done_fn done) {
    Hub* h = &hub;
    hub.count_servers(channel, [self, h, channel, id = std::move(id), bytes = std::move(bytes),
                                done = std::move(done)](std::size_t n) mutable {
      if (n <= 1) return done(true, Result{});
      auto& e = self->pending_[id];
      e.done = std::move(done);
      e.expected = n - 1;
      e.timer = std::make_unique<asio::steady_timer>(h->io(), h->opts().requests_timeout);
      e.timer->async_wait([self, h, id](const asio::error_code& ec) {
        if (ec) return;
        // Counted before `done` runs: what it does next sees the count.
        if (self->pending_.count(id)) h->counts().request_timed_out();
        self->finish(id, false);
      });
      h->send(std::move(channel), std::move(bytes));
    });
  }

  /// One server's answer to `id`: `fold(result)` adds it; done once every server answered.
  /// Not ours, or late (after the timeout): ignored.
  template <class F>
  void answer(const std::string& id, F&& fold) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    fold(it->second.result);
    if (++it->second.answered >= it->second.expected) finish(id, true);
  }

 private:
  struct entry {
    done_fn done;
    std::size_t expected = 0, answered = 0;
    Result result{};
    std::unique_ptr<asio::steady_timer> timer;
  };

  void finish(const std::string& id, bool complete) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    entry e = std::move(it->second);
    pending_.erase(it);
    if (e.timer) e.timer->cancel();
    e.done(complete, std::move(e.result));
  }

  std::map<std::string, entry> pending_;
};

/// Broadcasts with ack this member published, by requestId, until their timeout; the answers
/// (client counts, acks) go to the request's collector. Thread-safe: added from the emitting
/// thread, read on the hub thread.
class ack_requests {
 public:
  /// Requests are forgotten after their timeout (as Node does): late answers are dropped.
  /// Expired ones are swept here, so the map stays as small as the requests in flight.
  void add(std::string id, std::shared_ptr<socketio::ack_collector> acks, std::chrono::milliseconds timeout) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> g(mu_);
    for (auto it = pending_.begin(); it != pending_.end();)
      it = it->second.deadline <= now ? pending_.erase(it) : std::next(it);
    pending_[std::move(id)] = {std::move(acks), now + timeout};
  }
  /// The collector of request `id`; null when not ours or expired.
  std::shared_ptr<socketio::ack_collector> find(const std::string& id) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return nullptr;
    if (it->second.deadline <= std::chrono::steady_clock::now()) {
      pending_.erase(it);
      return nullptr;
    }
    return it->second.collector;
  }

 private:
  struct entry {
    std::shared_ptr<socketio::ack_collector> collector;
    std::chrono::steady_clock::time_point deadline;
  };
  std::mutex mu_;
  std::map<std::string, entry> pending_;
};

/// True while this thread hands another member's broadcast with ack to the namespace: the
/// adapter's server count is then this server alone.
inline bool& answering_remote() {
  thread_local bool flag = false;
  return flag;
}

/// Whom a request targets, as the namespace selects sockets.
inline socketio::broadcast_options target(const std::optional<broadcast_opts>& o) {
  socketio::broadcast_options t;
  if (o) {
    t.rooms = o->rooms;
    t.except = o->except;
  }
  return t;
}

/// The targets of a request, as written on the wire (`with_flags`: the sharded format's `flags: {}`).
inline broadcast_opts wire_target(const socketio::broadcast_options& t, bool with_flags) {
  broadcast_opts o;
  o.rooms = t.rooms;
  o.except = t.except;
  o.with_flags = with_flags;
  return o;
}

/// One ack value (a client's first answer) as it travels between members.
inline payload to_payload(const socketio::arg& a) {
  payload p;
  json::encode_context ctx;
  json::encode_to(p.json, a, ctx);
  p.attachments.assign(ctx.attachments.begin(), ctx.attachments.end());
  return p;
}

/// Calls `f(args)` with a remote client's ack value as ack arguments, read by a collector like a
/// local answer (the arguments view a packet that lives for the call only). False when unreadable.
template <class F>
bool with_ack_args(payload& v, F&& f) {
  std::string text = v.attachments.empty() ? "3" : "6" + std::to_string(v.attachments.size()) + "-";
  text += "0[";
  text += v.json.empty() ? "null" : v.json;
  text += "]";
  socketio::packet pk;
  if (socketio::decode(std::move(text), pk) != socketio::errc::ok) return false;
  for (auto& a : v.attachments) pk.attachments.emplace_back(std::move(a));
  f(socketio::args(pk));
  return true;
}

/// Calls `f(args)` with the other servers' answers to a server-side emit (JSON texts) as one
/// list of arguments (viewing a packet that lives for the call only).
template <class F>
void with_answers_args(const std::vector<std::string>& answers, F&& f) {
  std::string text = "30[";
  for (std::size_t i = 0; i < answers.size(); ++i) text += (i ? "," : "") + answers[i];
  text += "]";
  socketio::packet pk;
  if (socketio::decode(std::move(text), pk) != socketio::errc::ok) return f(socketio::args{});
  f(socketio::args(pk));
}

/// This server's sockets a fetch request selects, as the wire carries them.
inline std::vector<fetched_socket> local_fetch(socketio::nsp* n, const socketio::adapter& a,
                                               const socketio::broadcast_options& t) {
  std::vector<fetched_socket> v;
  if (n) {
    for (auto& i : n->local_sockets(t))
      v.push_back(fetched_socket{std::move(i.id), payload{std::move(i.handshake), {}}, std::move(i.rooms),
                                 payload{std::move(i.data), {}}});
  } else {  // not bound (a custom server): ids and rooms only
    for (auto& sid : a.sids(t)) {
      fetched_socket f;
      f.rooms = a.rooms_of(sid);
      f.id = std::move(sid);
      f.handshake.json = "{}";
      v.push_back(std::move(f));
    }
  }
  return v;
}

/// Another server's answer to a fetch, added to the sockets collected so far.
inline void add_fetched(std::vector<socketio::socket_info>& out, std::vector<fetched_socket>& in) {
  for (auto& f : in)
    out.push_back(socketio::socket_info{std::move(f.id), std::move(f.rooms),
                                        f.handshake.json.empty() ? "{}" : std::move(f.handshake.json),
                                        f.data.json.empty() ? "null" : std::move(f.data.json)});
}

/// Another member's broadcast with ack, sent to this server's recipients with a local ack id
/// through the namespace's own emit_with_ack. `count(n)` at once (always, also 0: the requester
/// waits for it), then `ack(value)` per local answer when they are all in or at `timeout`.
inline void answer_broadcast(socketio::nsp* n, packet&& pkt, const broadcast_opts& o, std::chrono::milliseconds timeout,
                             const std::function<void(std::size_t)>& count, std::function<void(payload)> ack) {
  socketio::packet pk;
  if (n) {
    socketio::encoded enc = to_socketio(std::move(pkt), n->namespace_name());
    if (socketio::decode(enc.text, pk) != socketio::errc::ok || !pk.is_event()) n = nullptr;
    for (auto& b : enc.binaries) pk.attachments.emplace_back(std::move(b));
  }
  if (!n) return count(0);  // not bound (a custom server) or an unreadable event: nobody here answers
  socketio::emitter e(*n);
  for (const auto& r : o.rooms) e.to(r);
  for (const auto& r : o.except) e.except(r);
  if (o.flags.volatile_.value_or(false)) e.volatile_();
  e.local();
  count(e.sids().size());
  auto answered = [ack = std::move(ack)](socketio::ack_status, const socketio::args& responses) {
    for (std::size_t i = 0; i < responses.size(); ++i) ack(to_payload(responses.at(i)));
  };
  answering_remote() = true;
  e.emit_with_ack(pk.event_name(), std::move(answered), timeout, socketio::args(pk));
  answering_remote() = false;
}

/// Another member's request to disconnect sockets, applied here: through the namespace when
/// bound (`close` false: they leave the namespace only), else the connections are closed
/// (`close`) or, without the namespace to leave, nothing happens.
/// Another server's SOCKETS_JOIN/LEAVE applied here: through the namespace when bound, so its
/// observer (the admin UI) sees the joins as for local ones; else on the adapter alone.
inline void rooms_here(socketio::nsp* n, socketio::adapter& a, socketio::broadcast_options t,
                       const std::vector<std::string>& rooms, bool join) {
  t.local = true;
  if (n) {
    if (join) n->sockets_join(t, rooms);
    else n->sockets_leave(t, rooms);
    return;
  }
  for (const auto& sid : a.sids(t))
    for (const auto& room : rooms) {
      if (join) a.join(sid, room);
      else a.leave(sid, room);
    }
}

inline void disconnect_here(socketio::nsp* n, socketio::broadcast_options t, bool close,
                            const std::function<void(const socketio::broadcast_options&)>& close_connections) {
  t.local = true;
  if (n) n->disconnect_sockets(t, close);
  else if (close) close_connections(t);
}

/// Another server's server-side emit (`[event, ...args]`) handed to the namespace's listener:
/// its answer as JSON text, if it gives one. A listener that throws is logged and answers nothing
/// (it must not stop the hub thread).
inline std::optional<std::string> run_server_event(socketio::nsp* n, payload&& data, logger& log,
                                                   const std::string& who) {
  if (!n) return std::nullopt;
  packet pkt;
  pkt.type = 2;
  pkt.data = std::move(data);
  socketio::encoded enc = to_socketio(std::move(pkt), n->namespace_name());
  socketio::packet pk;
  if (socketio::decode(enc.text, pk) != socketio::errc::ok || !pk.is_event()) {
    log.warn(who + ": unreadable SERVER_SIDE_EMIT ignored");
    return std::nullopt;
  }
  for (auto& b : enc.binaries) pk.attachments.emplace_back(std::move(b));
  std::optional<std::string> answer;
  portico::detail::run_user_code(log, [&] { return who + ": server-side listener (no answer sent)"; },
                                 [&] { answer = n->server_event(pk); });
  return answer;
}

}  // namespace portico::redis::detail
