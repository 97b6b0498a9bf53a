#pragma once
/// portico::redis::emitter: emits to a Socket.IO cluster from a process that runs no server, like
/// @socket.io/redis-emitter 5.1 (and python-socketio's write_only manager). It publishes exactly
/// the bytes the Node emitter publishes (classic protocol, uid "emitter"), so Node members with
/// @socket.io/redis-adapter and portico members with the classic adapter both deliver them.
///
///   portico::redis::emitter em(opts);                       // own thread + command connection
///   em.of("/chat").to("room").except("x").emit("event", 1, "two");
///   em.in("room1").sockets_join({"room9"});
///   em.server_side_emit("hello", 1);
///
/// Fire and forget, but never silently: a publish Redis cannot take (down, reconnecting) is
/// logged, counted (`lost_publishes()`) and reported to the `on_published` callback, if any.
/// Nothing is queued while Redis is down and nothing is replayed after a reconnect.
/// No acks (the Node emitter has none either).
#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../log.hpp"
#include "../socketio/socket.hpp"
#include "channels.hpp"
#include "codec.hpp"
#include "connection.hpp"

namespace portico::redis {

/// Where the emitter publishes (the options of Node's `new Emitter(redisClient, {key})`).
struct emitter_options {
  /// Redis host (`connection.host` is replaced by it).
  std::string host = "127.0.0.1";
  /// Redis port (`connection.port` is replaced by it).
  std::uint16_t port = 6379;
  /// Channel prefix, Node's `key`; the same as the cluster's adapters use.
  std::string key = std::string(default_prefix);
  /// Everything else about the command connection (AUTH, reconnect backoff, log...).
  options connection;
};

/// One message to publish: what the emitter sends, computed without I/O.
struct publication {
  std::string channel;
  std::string payload;
};

/// `error` is empty when Redis took the message, otherwise why it was not published.
using publish_callback = std::function<void(std::string_view error)>;

/// Targets of an emitter message (namespace, rooms, except, flags) and the messages built from
/// them: pure encoding, usable without a connection.
class emit_target {
 public:
  explicit emit_target(std::string nsp = "/", std::string key = std::string(default_prefix))
      : nsp_(nsp.empty() || nsp[0] != '/' ? "/" + nsp : std::move(nsp)), key_(std::move(key)) {}

  emit_target& to(std::string room) {
    opts_.rooms.push_back(std::move(room));
    return *this;
  }
  emit_target& in(std::string room) { return to(std::move(room)); }
  emit_target& except(std::string room_or_sid) {
    opts_.except.push_back(std::move(room_or_sid));
    return *this;
  }
  /// Receivers may drop it for a client that cannot take it now.
  emit_target& volatile_() {
    opts_.flags.volatile_ = true;
    return *this;
  }
  emit_target& compress(bool on) {
    opts_.flags.compress = on;
    return *this;
  }
  const std::string& namespace_name() const noexcept { return nsp_; }
  [[deprecated("use namespace_name()")]] const std::string& nsp() const noexcept { return nsp_; }

  /// Names Socket.IO reserves; `emit` refuses them as the Node emitter does.
  static bool reserved(std::string_view name) {
    for (std::string_view r : {"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                               "removeListener"})
      if (name == r) return true;
    return false;
  }

  /// EVENT `name` with `a...` (binary arguments become attachments), encoded once; nullopt for a
  /// reserved name. Published on the room's channel iff exactly one room.
  template <class... A>
  std::optional<publication> emit_message(std::string_view name, const A&... a) const {
    if (reserved(name)) return std::nullopt;
    auto f = socketio::detail::encode_event(nsp_, socketio::no_ack, name, a...);
    classic_broadcast b;
    b.uid = "emitter";
    b.pkt = packet_from_socketio(f->text, f->binaries);
    b.pkt.nsp = nsp_;
    b.opts = opts_;
    b.opts.emitter_order = true;
    return publication{classic_channels::for_broadcast(key_, nsp_, opts_.rooms), encode(b)};
  }
  /// REMOTE_JOIN of the targeted sockets (no uid, no requestId, as the Node emitter).
  publication sockets_join_message(std::vector<std::string> rooms) const {
    return rooms_request(request_type::remote_join, std::move(rooms));
  }
  publication sockets_leave_message(std::vector<std::string> rooms) const {
    return rooms_request(request_type::remote_leave, std::move(rooms));
  }
  /// REMOTE_DISCONNECT: `close` closes the whole connection, otherwise the namespace only.
  publication disconnect_sockets_message(bool close) const {
    classic_request r;
    r.type = request_type::remote_disconnect;
    r.opts = request_opts();
    r.close = close;
    return {classic_channels::request(key_, nsp_), encode(r)};
  }
  /// SERVER_SIDE_EMIT `[name, ...a]` to every server of the namespace (no ack).
  template <class... A>
  publication server_side_emit_message(std::string_view name, const A&... a) const {
    auto f = socketio::detail::encode_event(nsp_, socketio::no_ack, name, a...);
    classic_request r;
    r.type = request_type::server_side_emit;
    r.uid = "emitter";
    r.data = packet_from_socketio(f->text, f->binaries).data;
    return {classic_channels::request(key_, nsp_), encode(r)};
  }

 private:
  broadcast_opts request_opts() const {
    broadcast_opts o;
    o.rooms = opts_.rooms;
    o.except = opts_.except;
    o.with_flags = false;
    return o;
  }
  publication rooms_request(request_type t, std::vector<std::string> rooms) const {
    classic_request r;
    r.type = t;
    r.opts = request_opts();
    r.rooms = std::move(rooms);
    return {classic_channels::request(key_, nsp_), encode(r)};
  }

  std::string nsp_;
  std::string key_;
  broadcast_opts opts_;
};

class emitter {
 public:
  /// Runs its own io_context thread; connects at once (see wait_connected()).
  explicit emitter(emitter_options o = {})
      : own_io_(std::make_unique<asio::io_context>()), io_(*own_io_), opts_(std::move(o)) {
    init();
    work_.emplace(asio::make_work_guard(io_));
    thread_ = std::thread([this] { io_.run(); });
  }
  /// Lives on `io`: construct and destroy it on that io_context's thread (or while it is not
  /// running). The emitting methods may still be called from any thread.
  emitter(asio::io_context& io, emitter_options o) : io_(io), opts_(std::move(o)) { init(); }

  ~emitter() {
    if (own_io_) {
      asio::post(io_, [this] { conn_->close(); });
      work_.reset();
      io_.stop();
      thread_.join();
    }
    conn_.reset();
  }
  emitter(const emitter&) = delete;
  emitter& operator=(const emitter&) = delete;

  /// Builder of one message: `em.of("/chat").to("r").except("x").volatile_().emit(...)`.
  class op {
   public:
    op& to(std::string room) { return t_.to(std::move(room)), *this; }
    op& in(std::string room) { return t_.in(std::move(room)), *this; }
    op& except(std::string room_or_sid) { return t_.except(std::move(room_or_sid)), *this; }
    op& volatile_() { return t_.volatile_(), *this; }
    op& compress(bool on) { return t_.compress(on), *this; }
    /// Called once on the emitter's thread with the outcome of the next publish.
    op& on_published(publish_callback cb) { return cb_ = std::move(cb), *this; }

    /// False when refused at once (a reserved event name, logged); otherwise the outcome goes
    /// to on_published (and a failure to the log and lost_publishes()).
    template <class... A>
    bool emit(std::string_view name, const A&... a) {
      auto p = t_.emit_message(name, a...);
      if (!p) {
        em_->logp_->warn("redis emitter: \"" + std::string(name) + "\" is a reserved event name, not emitted");
        if (cb_) cb_("reserved event name");
        return false;
      }
      em_->publish(std::move(*p), std::move(cb_));
      return true;
    }
    void sockets_join(std::vector<std::string> rooms) {
      em_->publish(t_.sockets_join_message(std::move(rooms)), std::move(cb_));
    }
    void sockets_leave(std::vector<std::string> rooms) {
      em_->publish(t_.sockets_leave_message(std::move(rooms)), std::move(cb_));
    }
    void disconnect_sockets(bool close = false) {
      em_->publish(t_.disconnect_sockets_message(close), std::move(cb_));
    }
    template <class... A>
    void server_side_emit(std::string_view name, const A&... a) {
      em_->publish(t_.server_side_emit_message(name, a...), std::move(cb_));
    }
    const emit_target& target() const noexcept { return t_; }

   private:
    friend class emitter;
    op(emitter* em, std::string nsp) : em_(em), t_(std::move(nsp), em->opts_.key) {}
    emitter* em_;
    emit_target t_;
    publish_callback cb_;
  };

  /// The namespace `nsp` ("/" is prefixed if missing, as in Node).
  op of(std::string nsp) { return op(this, std::move(nsp)); }
  op to(std::string room) { return std::move(of("/").to(std::move(room))); }
  op in(std::string room) { return std::move(of("/").in(std::move(room))); }
  op except(std::string room_or_sid) { return std::move(of("/").except(std::move(room_or_sid))); }
  op volatile_() { return std::move(of("/").volatile_()); }
  template <class... A>
  bool emit(std::string_view name, const A&... a) {
    return of("/").emit(name, a...);
  }
  void sockets_join(std::vector<std::string> rooms) { of("/").sockets_join(std::move(rooms)); }
  void sockets_leave(std::vector<std::string> rooms) { of("/").sockets_leave(std::move(rooms)); }
  void disconnect_sockets(bool close = false) { of("/").disconnect_sockets(close); }
  template <class... A>
  void server_side_emit(std::string_view name, const A&... a) {
    of("/").server_side_emit(name, a...);
  }

  /// Publishes an already built message, from any thread.
  void publish(publication p, publish_callback cb = {}) {
    asio::post(io_, [this, p = std::move(p), cb = std::move(cb)]() mutable {
      conn_->publish(p.channel, p.payload, [this, cb = std::move(cb)](std::string_view err, reply) {
        if (!err.empty()) {
          auto n = lost_.fetch_add(1, std::memory_order_relaxed) + 1;
          logp_->warn("redis emitter: publish lost (" + std::string(err) + "), " + std::to_string(n) +
                    " lost so far");
        }
        if (cb) cb(err);
      });
    });
  }

  /// Waits (bounded) until the connection is up; not from the emitter's own thread.
  bool wait_connected(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return up_; });
  }
  /// Waits (bounded) until every publish issued before has its outcome (a PING is answered
  /// after them); not from the emitter's own thread.
  bool flush(std::chrono::milliseconds timeout) {
    auto done = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
    auto flag = std::make_shared<bool>(false);
    asio::post(io_, [this, done, flag] {
      conn_->command({"PING"}, [done, flag](std::string_view, reply) {
        std::lock_guard<std::mutex> g(done->first);
        *flag = true;
        done->second.notify_all();
      });
    });
    std::unique_lock<std::mutex> l(done->first);
    return done->second.wait_for(l, timeout, [&] { return *flag; });
  }
  /// Publishes Redis could not take since the start.
  std::uint64_t lost_publishes() const noexcept { return lost_.load(std::memory_order_relaxed); }

 private:
  void init() {
    options c = opts_.connection;
    c.host = opts_.host;
    c.port = opts_.port;
    if (!c.log) c.log = &log_;
    logp_ = c.log;
    conn_ = std::make_unique<connection>(io_, c);
    conn_->on_state([this](state s) {
      std::lock_guard<std::mutex> g(mu_);
      up_ = s == state::up;
      cv_.notify_all();
    });
    conn_->start();
  }

  std::unique_ptr<asio::io_context> own_io_;
  asio::io_context& io_;
  emitter_options opts_;
  portico::logger log_{"portico.redis.emitter"};
  portico::logger* logp_ = &log_;  ///< the connection's log when the options name one
  std::unique_ptr<connection> conn_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool up_ = false;
  std::atomic<std::uint64_t> lost_{0};
};

}  // namespace portico::redis
