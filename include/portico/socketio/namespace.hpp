#pragma once
/// A namespace: its handlers, its sockets, its adapter (rooms), and broadcast emitters.
///
/// Handlers are registered before `server::start()` and only read afterwards, so the message
/// path reads them without a lock. Dynamic namespaces (created on demand by a predicate, a regex
/// or the catch-all) share their parent's handler table.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adapter.hpp"
#include "args.hpp"
#include "recovery.hpp"
#include "socket.hpp"

namespace portico::socketio {

namespace detail {
/// A connect waiting on a `connect_deferral`: the socket, where its handler chain goes on, and
/// the outcome the deferral's owner set (read on the home worker after the post that carries it).
struct paused_connect {
  socket_ptr s;
  std::atomic<std::size_t> next{0};  ///< the handler after the one that deferred
  std::atomic<bool> done{false};
  bool refused = false;
  std::string message;
  paused_connect() = default;
  paused_connect(const paused_connect&) = delete;
  paused_connect& operator=(const paused_connect&) = delete;
  /// Dropped without an answer: refused, so the client does not wait for its timeout.
  ~paused_connect();
  /// Sets the outcome and hands the rest of the connect to the socket's home worker (once).
  static void complete(const std::shared_ptr<paused_connect>& p, bool refused, std::string message);
};
}  // namespace detail

/// The answer to a CONNECT that a middleware or connect handler deferred
/// (`connect_request::defer()`), given later from any thread, once: `accept()` runs the rest
/// of the handler chain and answers CONNECT; `refuse(message)` answers CONNECT_ERROR. The
/// I/O thread is free meanwhile (for slow checks: a password hash, a remote auth service).
/// Copies share one answer; the first one given counts. Dropped unanswered: refused with
/// "internal error". A connection that closes meanwhile makes the answer a no-op.
class connect_deferral {
 public:
  connect_deferral() = default;
  void accept() {
    if (p_) detail::paused_connect::complete(p_, false, {});
  }
  void refuse(std::string message) {
    if (p_) detail::paused_connect::complete(p_, true, std::move(message));
  }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  friend class connect_request;
  explicit connect_deferral(std::shared_ptr<detail::paused_connect> p) : p_(std::move(p)) {}
  std::shared_ptr<detail::paused_connect> p_;
};

/// What a connect handler or middleware sees, and how it refuses.
class connect_request {
 public:
  connect_request(socketio::socket& s, const json::value& auth) noexcept : socket_(s), auth_(auth) {}

  /// Answer later: the handler returns, the I/O thread goes on with other work, and the
  /// returned deferral (usable from any thread) accepts or refuses the CONNECT. The handlers
  /// after this one run when it accepts, on the socket's thread. Emits on the socket meanwhile
  /// follow the CONNECT answer, as from a handler. Calling it again returns the same deferral.
  connect_deferral defer();
  bool deferred() const noexcept { return paused_ != nullptr; }
  socketio::socket& socket() noexcept { return socket_; }
  /// The CONNECT payload; null when the client sent none.
  const json::value& auth() const noexcept { return auth_; }
  const engineio::handshake& handshake() const { return socket_.handshake(); }

  /// Refuse: the client receives CONNECT_ERROR `{"message": message}`.
  void refuse(std::string message) {
    refused_ = true;
    message_ = std::move(message);
    data_.clear();
  }
  /// Refuse with data: the client receives `{"message": message, "data": data}`.
  template <class T>
  void refuse(std::string message, const T& data) {
    refuse(std::move(message));
    json::encode_context ctx;
    json::encode_to(data_, data, ctx);
  }
  bool refused() const noexcept { return refused_; }
  const std::string& message() const noexcept { return message_; }
  /// The refusal's data as JSON text (empty when none).
  const std::string& data_json() const noexcept { return data_; }

 private:
  friend class server;
  socketio::socket& socket_;
  const json::value& auth_;
  bool refused_ = false;
  std::string message_, data_;
  std::shared_ptr<detail::paused_connect> paused_;
};

using connect_handler = std::function<void(socket&, connect_request&)>;
using disconnect_handler = std::function<void(socket&, std::string_view reason)>;
using event_handler = std::function<void(event&)>;

namespace detail {

/// Sends the handler's return value as the ACK (if the client asked and none was sent).
template <class R>
void ack_with(event& e, R&& r) {
  if (!e.wants_ack()) return;
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, payload>) e.ack(static_cast<const payload&>(r));
  else e.ack(r);
}

/// Adapts the handler shapes users write: `f(event&)` or `f(socket&, const args&)`, returning
/// void (ack by hand, if at all) or a value (sent as the ACK; `payload` for several values).
template <class F>
event_handler wrap_event(F f) {
  return [f = std::move(f)](event& e) mutable {
    if constexpr (std::is_invocable_v<F&, event&>) {
      using R = std::invoke_result_t<F&, event&>;
      if constexpr (std::is_void_v<R>) f(e);
      else ack_with(e, f(e));
    } else {
      static_assert(std::is_invocable_v<F&, socket&, const args&>,
                    "an event handler takes (event&) or (socket&, const args&)");
      using R = std::invoke_result_t<F&, socket&, const args&>;
      if constexpr (std::is_void_v<R>) f(e.socket(), e.args());
      else ack_with(e, f(e.socket(), e.args()));
    }
  };
}

template <class F>
connect_handler wrap_connect(F f) {
  if constexpr (std::is_invocable_v<F&, socket&, connect_request&>) {
    return connect_handler(std::move(f));
  } else {
    static_assert(std::is_invocable_v<F&, socket&>, "a connect handler takes (socket&, connect_request&) or (socket&)");
    return [f = std::move(f)](socket& s, connect_request&) mutable { f(s); };
  }
}

/// Handler table of a namespace (shared by the dynamic namespaces of one parent).
struct handlers {
  std::vector<connect_handler> middlewares;  ///< `use()` then `on_connect()`, in order
  std::vector<bool> from_use;  ///< per middleware: added by `use()` (a recovered socket may skip it)
  std::unordered_map<std::string, event_handler> events;
  event_handler any;
  disconnect_handler disconnecting, disconnected;
  /// Server-side listeners (events from other servers): the answer as JSON text, or none.
  std::unordered_map<std::string, std::function<std::optional<std::string>(const args&)>> server_events;
};

/// Collects the answers to one broadcast with ack and runs the user's callback once:
/// `ok` when every expected client answered, `disconnected` when some local recipients left
/// before answering and all others answered, `timeout` at the deadline. `responses[i]` is the
/// first ack argument of the i-th client to answer (socket.io's `responses` array), its binary
/// parts renumbered into one list. Built in one ACK packet, handed to the callback as `args`.
class broadcast_acks final : public ack_collector, public std::enable_shared_from_this<broadcast_acks> {
 public:
  broadcast_acks(nsp& n, std::uint64_t id, ack_callback cb)
      : nsp_(&n), id_(id), cb_(std::move(cb)), out_(packet_type::ack, "/", 0) {
    out_.writer().StartArray();
  }
  bool expect(const std::string& sid) override;
  void client_count(std::size_t n) override {
    std::unique_lock<std::mutex> lk(mu_);
    ++servers_reported_;
    clients_expected_ += n;
    settle(lk);
  }
  void response(const args& a) override {
    std::unique_lock<std::mutex> lk(mu_);
    if (done_) return;
    if (a.empty()) out_.writer().Null();
    else detail::write_arg(out_.writer(), out_.context(), a.at(0));
    // The answer's packet dies after this call: own its blobs (the views are never read again).
    auto& at = out_.context().attachments;
    for (std::size_t i = blobs_.size(); i < at.size(); ++i) {
      blobs_.emplace_back(at[i]);
      at[i] = std::string_view();
    }
    ++answered_;
    settle(lk);
  }
  /// A local recipient disconnected before answering.
  void lost() {
    std::unique_lock<std::mutex> lk(mu_);
    ++lost_;
    settle(lk);
  }
  void servers(std::size_t n) {
    std::unique_lock<std::mutex> lk(mu_);
    servers_expected_ = n;
    servers_known_ = true;
    settle(lk);
  }
  /// Arms the deadline (before the packet goes out).
  void start(std::chrono::milliseconds timeout);

 private:
  /// Finishes when complete. Called with `lk` held; releases it.
  void settle(std::unique_lock<std::mutex>& lk) {
    if (done_ || !servers_known_ || servers_reported_ < servers_expected_ ||
        answered_ + lost_ < clients_expected_)
      return;
    finish(lk, lost_ ? ack_status::disconnected : ack_status::ok);
  }
  void finish(std::unique_lock<std::mutex>& lk, ack_status st);
  void on_timeout();

  nsp* nsp_;
  std::uint64_t id_;
  ack_callback cb_;
  std::mutex mu_;
  packet_writer out_;               ///< the responses, as the payload of an ACK packet
  std::vector<std::string> blobs_;  ///< their binary parts, owned
  std::vector<std::weak_ptr<socket>> waiting_;  ///< local recipients (to forget the ack at the deadline)
  std::size_t servers_expected_ = 0, servers_reported_ = 0, clients_expected_ = 0, answered_ = 0, lost_ = 0;
  bool servers_known_ = false, done_ = false;
  std::uint64_t timer_ = 0;
};

}  // namespace detail

class nsp {
 public:
  nsp(class server& srv, std::string name, std::shared_ptr<detail::handlers> h, std::unique_ptr<adapter> a)
      : server_(&srv), name_(std::move(name)), handlers_(std::move(h)), adapter_(std::move(a)) {}
  nsp(const nsp&) = delete;
  nsp& operator=(const nsp&) = delete;

  const std::string& namespace_name() const noexcept { return name_; }
  [[deprecated("use namespace_name()")]] const std::string& name() const noexcept { return name_; }

  /// Middleware: runs before the connect handler, may refuse.
  template <class F>
  nsp& use(F f) {
    handlers_->middlewares.push_back(detail::wrap_connect(std::move(f)));
    handlers_->from_use.push_back(true);
    return *this;
  }
  /// The connect handler (python-socketio's `connect`): may refuse; its emits follow the CONNECT answer.
  template <class F>
  nsp& on_connect(F f) {
    handlers_->middlewares.push_back(detail::wrap_connect(std::move(f)));
    handlers_->from_use.push_back(false);
    return *this;
  }
  nsp& on_disconnecting(disconnect_handler f) {
    handlers_->disconnecting = std::move(f);
    return *this;
  }
  nsp& on_disconnect(disconnect_handler f) {
    handlers_->disconnected = std::move(f);
    return *this;
  }
  /// Handler for event `name` (`message` for `send`).
  template <class F>
  nsp& on(std::string name, F f) {
    handlers_->events[std::move(name)] = detail::wrap_event(std::move(f));
    return *this;
  }
  /// Catch-all: events without a handler of their own; `event::name()` says which.
  template <class F>
  nsp& on_any(F f) {
    handlers_->any = detail::wrap_event(std::move(f));
    return *this;
  }

  // --- emitting to many (encoded once, delivered by the adapter) ---
  emitter to(std::string room);
  emitter in(std::string room);  ///< the same as `to`
  emitter except(std::string room_or_sid);
  emitter volatile_();
  template <class... A>
  void emit(std::string_view name, const A&... a);
  template <class... A>
  void send(const A&... a) {
    emit("message", a...);
  }
  /// Every socket of the namespace, with an ack: see `emitter::emit_with_ack`.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a);

  // --- other servers of a cluster (socket.io's serverSideEmit; a no-op with one server) ---
  /// Listener for `name` sent by another server's `server_side_emit`. `f(const args&)` may
  /// return a value: the answer to a server_side_emit with ack (void: no answer, the caller
  /// then waits for its timeout, as with Node). Runs on the cluster adapter's thread.
  template <class F>
  nsp& on_server_event(std::string name, F f) {
    handlers_->server_events[std::move(name)] = [f = std::move(f)](const args& a) mutable -> std::optional<std::string> {
      using R = std::invoke_result_t<F&, const args&>;
      if constexpr (std::is_void_v<R>) {
        f(a);
        return std::nullopt;
      } else {
        std::string out;
        json::encode_context ctx;
        json::encode_to(out, f(a), ctx);
        return out;
      }
    };
    return *this;
  }
  /// Runs the listener of event packet `p` (from another server); its answer, if any.
  std::optional<std::string> server_event(const packet& p) {
    auto it = handlers_->server_events.find(std::string(p.event_name()));
    if (it == handlers_->server_events.end()) return std::nullopt;
    const args a(p);
    return it->second(a);
  }
  /// `name` with `a...` to the server-side listeners of every other server.
  template <class... A>
  void server_side_emit(std::string_view name, const A&... a) {
    adapter_->server_side_emit(server_packet(name, a...), nullptr);
  }
  /// Like `server_side_emit`, `cb(complete, responses)` once every other server answered
  /// (`complete` true) or at the cluster's requests timeout with the answers that came.
  template <class... A>
  void server_side_emit_with_ack(std::string_view name, adapter::server_ack_fn cb, const A&... a) {
    adapter_->server_side_emit(server_packet(name, a...), std::move(cb));
  }

  /// Every matching socket of the cluster (socket.io's `fetchSockets`): this server's, then the
  /// other servers' answers; `done(complete, sockets)` once all answered or at the timeout.
  void fetch_sockets(const broadcast_options& opts, adapter::fetch_fn done);
  void fetch_sockets(adapter::fetch_fn done) { fetch_sockets(broadcast_options{}, std::move(done)); }
  /// This server's matching sockets with their handshake and session, as JSON.
  std::vector<socket_info> local_sockets(const broadcast_options& opts) const;

  // --- acting on the sockets of every server (socket.io's socketsJoin/Leave, disconnectSockets, allRooms) ---
  /// The sockets `opts` selects, on every server of the cluster, join `rooms` (Node's
  /// `io.in(room).socketsJoin(rooms)`): here at once, on the others when the request reaches
  /// them. With `opts.local`, or without a cluster, this server only. Thread-safe.
  void sockets_join(const broadcast_options& opts, const std::vector<std::string>& rooms);
  /// Like `sockets_join`, leaving `rooms` (Node's `socketsLeave`).
  void sockets_leave(const broadcast_options& opts, const std::vector<std::string>& rooms);
  /// Disconnects the sockets `opts` selects on every server (Node's `disconnectSockets(close)`):
  /// `close` false sends them DISCONNECT and they leave this namespace (the connection and its
  /// other namespaces stay); `close` true closes their whole connection. Thread-safe.
  void disconnect_sockets(const broadcast_options& opts, bool close = false);
  void disconnect_sockets(bool close = false) { disconnect_sockets(broadcast_options{}, close); }
  /// Every room of the namespace on every server, socket ids' own rooms included, sorted and
  /// unique (Node's `io.of(nsp).adapter.allRooms()`): `done(complete, rooms)` once every other
  /// server answered (`complete` true) or at the cluster's requests timeout. Alone: at once.
  void all_rooms(adapter::rooms_fn done);

  // --- rooms and sockets ---
  void enter_room(const std::string& sid, const std::string& room) {
    adapter_->join(sid, room);
    if (observer* o = detail::observer_of(*server_)) o->room_joined(*this, sid, room);
  }
  void leave_room(const std::string& sid, const std::string& room) {
    adapter_->leave(sid, room);
    if (observer* o = detail::observer_of(*server_)) o->room_left(*this, sid, room);
  }
  void close_room(const std::string& room) { adapter_->close_room(room); }
  std::vector<std::string> rooms(const std::string& sid) const { return adapter_->rooms_of(sid); }
  /// The connected socket with this sid, or null.
  socket_ptr get_socket(const std::string& sid) const {
    std::lock_guard<std::mutex> g(mu_);
    auto it = sockets_.find(sid);
    return it == sockets_.end() ? nullptr : it->second;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(mu_);
    return sockets_.size();
  }
  socketio::adapter& get_adapter() noexcept { return *adapter_; }
  class server& server() noexcept { return *server_; }
  [[deprecated("use server()")]] class server& get_server() noexcept { return *server_; }

 private:
  friend class server;
  friend class socket;
  friend class emitter;
  friend class detail::broadcast_acks;

  void add(const socket_ptr& s) {
    {
      std::lock_guard<std::mutex> g(mu_);
      sockets_[s->sid()] = s;
    }
    adapter_->add_socket(s->sid(), s->engine());
  }
  template <class... A>
  outgoing_packet server_packet(std::string_view name, const A&... a) {
    outgoing_packet p;
    p.nsp = name_;
    p.frame = detail::encode_event(name_, no_ack, name, a...);
    if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
    return p;
  }
  void remove(const std::string& sid) {
    adapter_->remove_socket(sid);
    std::lock_guard<std::mutex> g(mu_);
    sockets_.erase(sid);
  }

  class server* server_;
  std::string name_;
  std::shared_ptr<detail::handlers> handlers_;
  std::unique_ptr<adapter> adapter_;
  mutable std::mutex mu_;  ///< sockets_ only (connect/disconnect, lookups by sid)
  std::unordered_map<std::string, socket_ptr> sockets_;
  std::atomic<std::uint64_t> next_ack_id_{0};  ///< every ack id of the namespace (socket.io's `_ids`)
  std::unique_ptr<session_store> store_;  ///< connection state recovery on: lost sessions, stored packets
  std::mutex emit_mu_;  ///< recovery on: one recoverable emit at a time (offsets stored in delivery order)
};

/// Targets of one broadcast: `io.of("/chat").to("room").except(sid).emit("msg", x)`.
class emitter {
 public:
  explicit emitter(nsp& n) : nsp_(&n) {}
  emitter& to(std::string room) {
    opts_.rooms.push_back(std::move(room));
    return *this;
  }
  emitter& in(std::string room) { return to(std::move(room)); }
  emitter& except(std::string room_or_sid) {
    opts_.except.push_back(std::move(room_or_sid));
    return *this;
  }
  emitter& volatile_() {
    opts_.volatile_ = true;
    return *this;
  }
  emitter& local() {
    opts_.local = true;
    return *this;
  }
  /// Encodes once; every recipient gets the same frame.
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    outgoing_packet p;
    p.nsp = nsp_->namespace_name();
    if (auto* st = nsp_->store_.get(); st && !opts_.volatile_) {  // recoverable: with an offset, stored
      std::lock_guard<std::mutex> g(nsp_->emit_mu_);
      std::string off = st->next_offset();
      p.frame = detail::encode_event(nsp_->namespace_name(), no_ack, name, a..., std::string_view(off));
      if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
      st->store(off, opts_, p.frame);
      nsp_->adapter_->broadcast(p, opts_);
      return;
    }
    auto f = detail::encode_event(nsp_->namespace_name(), no_ack, name, a...);
    f->droppable = opts_.volatile_;  // dropped for a recipient whose send buffer is full
    p.frame = std::move(f);
    if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
    nsp_->adapter_->broadcast(p, opts_);
  }
  template <class... A>
  void send(const A&... a) {
    emit("message", a...);
  }
  /// Broadcast asking every recipient for an ack (socket.io's `timeout(t).emit(..., cb)`):
  /// `cb(status, responses)` runs exactly once — `ok` when all answered, `timeout` after
  /// `timeout` with the answers that came, `disconnected` when some recipients left before
  /// answering; at once with `ok` and no responses when nobody was reached. `responses[i]` is
  /// the first ack argument of each client that answered, in arrival order. Encoded once: one
  /// ack id from the namespace's counter is free in every recipient. Thread-safe.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
    outgoing_packet p;
    p.nsp = nsp_->namespace_name();
    p.id = nsp_->next_ack_id_.fetch_add(1, std::memory_order_relaxed);
    auto f = detail::encode_event(nsp_->namespace_name(), p.id, name, a...);
    f->droppable = opts_.volatile_;
    p.frame = std::move(f);
    if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
    opts_.timeout = timeout;
    auto acks = std::make_shared<detail::broadcast_acks>(*nsp_, p.id, std::move(cb));
    acks->start(timeout);
    nsp_->adapter_->server_count([acks](std::size_t n) { acks->servers(n); });
    nsp_->adapter_->broadcast_with_ack(p, opts_, acks);
  }
  /// The sids this emitter would reach.
  std::vector<std::string> sids() const { return nsp_->adapter_->sids(opts_); }
  /// The sockets this emitter would reach, on every server, join `rooms`: `nsp::sockets_join`.
  void sockets_join(const std::vector<std::string>& rooms) { nsp_->sockets_join(opts_, rooms); }
  /// ... leave `rooms`: `nsp::sockets_leave`.
  void sockets_leave(const std::vector<std::string>& rooms) { nsp_->sockets_leave(opts_, rooms); }
  /// ... are disconnected (`close`: their connections closed): `nsp::disconnect_sockets`.
  void disconnect_sockets(bool close = false) { nsp_->disconnect_sockets(opts_, close); }
  /// The sockets of the whole cluster this emitter would reach: see `nsp::fetch_sockets`.
  void fetch_sockets(adapter::fetch_fn done) { nsp_->fetch_sockets(opts_, std::move(done)); }
  const broadcast_options& options() const noexcept { return opts_; }

 private:
  nsp* nsp_;
  broadcast_options opts_;
};

inline emitter nsp::to(std::string room) { return emitter(*this).to(std::move(room)); }
inline emitter nsp::in(std::string room) { return emitter(*this).to(std::move(room)); }
inline emitter nsp::except(std::string room_or_sid) { return emitter(*this).except(std::move(room_or_sid)); }
inline emitter nsp::volatile_() { return emitter(*this).volatile_(); }
template <class... A>
void nsp::emit(std::string_view name, const A&... a) {
  emitter(*this).emit(name, a...);
}
template <class... A>
void nsp::emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
  emitter(*this).emit_with_ack(name, std::move(cb), timeout, a...);
}

namespace detail {
/// The handshake as Node's socket.io serialises it for other servers. `secure` is false: the
/// Engine.IO layer does not record TLS; `time` uses Date's toString format, in UTC.
inline std::string handshake_json(const socket& s) {
  const engineio::handshake& hs = s.handshake();
  std::string out;
  json::string_sink sink{&out};
  json::writer w(sink);
  auto str = [&w](std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); };
  w.StartObject();
  w.Key("headers");
  w.StartObject();
  for (const auto& h : hs.headers()) str(h.first), str(h.second);
  w.EndObject();
  std::time_t t = std::chrono::system_clock::to_time_t(hs.time);
  std::tm tm{};
#ifdef _WIN32
  gmtime_s(&tm, &t);
#else
  gmtime_r(&t, &tm);
#endif
  char when[96];
  std::size_t n = std::strftime(when, sizeof when, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
  w.Key("time"), str(std::string_view(when, n));
  w.Key("address"), str(hs.remote_address);
  w.Key("xdomain"), w.Bool(!hs.header("origin").empty());
  w.Key("secure"), w.Bool(false);
  w.Key("issued"), w.Int64(std::chrono::duration_cast<std::chrono::milliseconds>(hs.time.time_since_epoch()).count());
  w.Key("url"), str(hs.url);
  w.Key("query");
  w.StartObject();
  for (const auto& q : hs.query) str(q.first), str(q.second);
  w.EndObject();
  w.Key("auth");
  if (s.auth().IsObject()) s.auth().Accept(w);
  else w.StartObject(), w.EndObject();
  w.EndObject();
  sink.Flush();
  return out;
}
}  // namespace detail

inline std::vector<socket_info> nsp::local_sockets(const broadcast_options& opts) const {
  std::vector<socket_info> out;
  for (auto& sid : adapter_->sids(opts)) {
    socket_ptr s = get_socket(sid);
    if (!s) continue;  // left meanwhile
    socket_info i;
    i.rooms = adapter_->rooms_of(sid);
    i.handshake = detail::handshake_json(*s);
    json::document d = s->get_session();
    if (!d.IsNull()) i.data = json::stringify(d);
    i.id = std::move(sid);
    out.push_back(std::move(i));
  }
  return out;
}

inline void nsp::fetch_sockets(const broadcast_options& opts, adapter::fetch_fn done) {
  auto local = std::make_shared<std::vector<socket_info>>(local_sockets(opts));
  adapter_->fetch_remote_sockets(opts, [local, done = std::move(done)](bool complete, std::vector<socket_info> remote) {
    for (auto& r : remote) local->push_back(std::move(r));
    done(complete, std::move(*local));
  });
}

inline void nsp::sockets_join(const broadcast_options& opts, const std::vector<std::string>& rooms) {
  for (const auto& sid : adapter_->sids(opts))
    for (const auto& r : rooms) enter_room(sid, r);  // the observer sees it, as Node's "join-room"
  if (!opts.local) adapter_->remote_join(opts, rooms);
}

inline void nsp::sockets_leave(const broadcast_options& opts, const std::vector<std::string>& rooms) {
  for (const auto& sid : adapter_->sids(opts))
    for (const auto& r : rooms) leave_room(sid, r);
  if (!opts.local) adapter_->remote_leave(opts, rooms);
}

inline void nsp::disconnect_sockets(const broadcast_options& opts, bool close) {
  for (const auto& sid : adapter_->sids(opts)) {
    socket_ptr s = get_socket(sid);
    if (!s) continue;  // left meanwhile
    if (close) s->close_connection();
    else s->disconnect();
  }
  if (!opts.local) adapter_->remote_disconnect(opts, close);
}

inline void nsp::all_rooms(adapter::rooms_fn done) {
  auto local = std::make_shared<std::vector<std::string>>(adapter_->local_rooms());
  adapter_->fetch_remote_rooms([local, done = std::move(done)](bool complete, std::vector<std::string> remote) {
    local->insert(local->end(), std::make_move_iterator(remote.begin()), std::make_move_iterator(remote.end()));
    std::sort(local->begin(), local->end());
    local->erase(std::unique(local->begin(), local->end()), local->end());
    done(complete, std::move(*local));
  });
}

inline const std::string& socket::namespace_name() const noexcept { return nsp_->namespace_name(); }
inline std::uint64_t socket::next_ack_id() noexcept {
  return nsp_->next_ack_id_.fetch_add(1, std::memory_order_relaxed);
}
template <class... A>
void socket::emit_recoverable(std::string_view name, const A&... a) {
  std::lock_guard<std::mutex> g(nsp_->emit_mu_);
  std::string off = store_->next_offset();
  auto f = detail::encode_event(namespace_name(), no_ack, name, a..., std::string_view(off));
  broadcast_options to;
  to.rooms.push_back(sid_);
  store_->store(off, to, f);
  if (observer* o = detail::observer_of(*server_)) o->event_sent(*this, f->text);
  send_frame(std::move(f));
}
inline emitter socket::to(std::string room) { return nsp_->to(std::move(room)).except(sid_); }
inline emitter socket::broadcast() { return nsp_->except(sid_); }
inline void socket::join(const std::string& room) { nsp_->enter_room(sid_, room); }
inline void socket::leave(const std::string& room) { nsp_->leave_room(sid_, room); }
inline std::vector<std::string> socket::rooms() const { return nsp_->adapter_->rooms_of(sid_); }

}  // namespace portico::socketio
