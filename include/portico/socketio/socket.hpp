#pragma once
/// One client's connection to one namespace (python-socketio's `sid`, socket.io's `Socket`).
///
/// Threading: the server calls handlers on the connection's home worker. `emit`, `join`,
/// `leave`, `rooms`, the session and `disconnect` may be called from any thread: emits are
/// encoded on the caller's thread and handed to the Engine.IO socket (which posts to its home
/// worker), rooms live in the namespace's adapter (its own mutex), acks and the session have a
/// small per-socket mutex nobody else contends on.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../engineio/server.hpp"
#include "ack_status.hpp"
#include "../json/decode.hpp"
#include "../json/dom.hpp"
#include "../json/encode.hpp"
#include "../json/value.hpp"
#include "args.hpp"
#include "codec.hpp"
#include "observer.hpp"

namespace portico::socketio {

class nsp;
class server;
class socket;
class emitter;
class session_store;

/// Called exactly once per emit with ack: with the client's ack arguments, or with a timeout or
/// disconnected status and empty arguments.
using ack_callback = std::function<void(ack_status, const args&)>;

namespace detail {

/// Encodes EVENT `name` with `a...` into a broadcast-ready frame (binary parts copied once).
template <class... A>
std::shared_ptr<engineio::frame> encode_event(std::string_view nsp, std::uint64_t id, std::string_view name,
                                              const A&... a) {
  packet_writer pw(packet_type::event, nsp, id);
  auto& w = pw.writer();
  w.StartArray();
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  write_args(w, pw.context(), a...);
  w.EndArray();
  auto f = std::make_shared<engineio::frame>();
  f->text = std::move(pw.finish());
  f->binaries.reserve(pw.context().attachments.size());
  for (auto b : pw.context().attachments) f->binaries.emplace_back(b);
  return f;
}

/// The ACK packet `id` with `a...`, text allocated once (sized from the arguments).
template <class... A>
packet_writer& write_ack(packet_writer& pw, const A&... a) {
  auto& w = pw.writer();
  w.StartArray();
  write_args(w, pw.context(), a...);
  w.EndArray();
  pw.finish();
  return pw;
}

inline engineio::frame_ptr encode_ack_payload(std::string_view nsp, std::uint64_t id, const payload& p) {
  auto f = std::make_shared<engineio::frame>();
  write_header(f->text, p.attachments().empty() ? packet_type::ack : packet_type::binary_ack, nsp, id,
               p.attachments().size());
  if (p.json().empty()) f->text += "[]";
  else f->text += p.json();
  f->binaries = p.attachments();
  return f;
}

struct client;
class broadcast_acks;
struct paused_connect;
}  // namespace detail

/// Sends the ACK of one received event, now or later, from any thread; at most once.
class ack_sender {
 public:
  ack_sender() = default;
  ack_sender(std::weak_ptr<socket> s, std::uint64_t id) : s_(std::move(s)), id_(id) {}
  explicit operator bool() const noexcept { return id_ != no_ack; }
  template <class... A>
  void operator()(const A&... a);
  void send(const payload& p);

 private:
  std::weak_ptr<socket> s_;
  std::uint64_t id_ = no_ack;
};

class socket : public std::enable_shared_from_this<socket> {
 public:
  socket(nsp& n, std::string sid, engineio::socket_ptr engine, class server& srv)
      : nsp_(&n), server_(&srv), sid_(std::move(sid)), engine_(std::move(engine)) {}
  socket(const socket&) = delete;
  socket& operator=(const socket&) = delete;

  /// This socket's id in its namespace (also the name of its own room).
  const std::string& sid() const noexcept { return sid_; }
  const std::string& namespace_name() const noexcept;
  class nsp& get_namespace() noexcept { return *nsp_; }
  class server& server() noexcept { return *server_; }
  [[deprecated("use server()")]] class server& get_server() noexcept { return *server_; }
  const engineio::handshake& handshake() const { return engine_->handshake(); }
  /// The Engine.IO session under this socket (shared by every namespace of the client).
  const engineio::socket_ptr& engine() const noexcept { return engine_; }
  bool connected() const noexcept {
    return accepted_.load(std::memory_order_acquire) && state_.load(std::memory_order_acquire) != state::disconnected;
  }
  /// The CONNECT payload (`auth`); null when the client sent none.
  const json::value& auth() const noexcept { return auth_; }
  /// Connection state recovery gave this socket back its previous sid, rooms, session and
  /// missed packets (socket.io's `socket.recovered`).
  bool recovered() const noexcept { return recovered_; }

  /// Emits EVENT `name` to this client. Thread-safe.
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    if (store_) return emit_recoverable(name, a...);
    auto f = detail::encode_event(namespace_name(), no_ack, name, a...);
    if (observer* o = detail::observer_of(*server_)) o->event_sent(*this, f->text);
    send_frame(std::move(f));
  }
  /// `emit("message", a...)`, python-socketio's `send`.
  template <class... A>
  void send(const A&... a) {
    emit("message", a...);
  }
  /// Emits with an ack request: `cb` runs once, with the client's answer, or with
  /// `ack_status::timeout` after `timeout`, or `ack_status::disconnected`. Thread-safe.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
    std::uint64_t id = next_ack_id();
    auto f = detail::encode_event(namespace_name(), id, name, a...);
    if (!register_ack(id, std::move(cb), timeout)) return;
    if (observer* o = detail::observer_of(*server_)) o->event_sent(*this, f->text);
    send_frame(std::move(f));
  }

  /// Broadcast from this socket: to everyone in `room` but this socket.
  emitter to(std::string room);
  /// Broadcast to the whole namespace but this socket.
  emitter broadcast();

  void join(const std::string& room);
  void leave(const std::string& room);
  std::vector<std::string> rooms() const;

  /// The session: one JSON document per socket, gone after disconnect.
  json::document get_session() const {
    std::lock_guard<std::mutex> g(mu_);
    json::document d;
    json::copy(session_, d);
    return d;
  }
  void save_session(const json::value& v) {
    std::lock_guard<std::mutex> g(mu_);
    json::document d;
    json::copy(v, d);  // deep: in-situ strings are references into the packet
    session_.Swap(d);
  }
  /// The session decoded as `T` (a PORTICO_FIELDS struct, a map...; decoded under the session
  /// lock, no copy of the document). A session never saved (null) gives `T{}`; one that does not
  /// decode as `T` is a server bug: std::runtime_error with the error list.
  template <class T>
  T session() const {
    T out{};
    json::error_list errs;
    std::lock_guard<std::mutex> g(mu_);
    if (session_.IsNull() && !json::detail::is_optional<T>::value) return out;
    if (!json::decode(session_, out, errs))
      throw std::runtime_error("portico: session of " + sid() + " is not the type asked for: " + json::to_string(errs));
    return out;
  }
  /// Replaces the session with `v` encoded as JSON (any encodable type; binary members are not
  /// kept). A JSON DOM value is stored as it is (deep copy).
  template <class T>
  void save_session(const T& v) {
    if constexpr (std::is_base_of_v<json::value, T>) {
      save_session(static_cast<const json::value&>(v));
    } else {
      json::document d;
      if (!json::parse(json::to_string(v), d)) throw std::logic_error("portico: save_session: value did not encode");
      std::lock_guard<std::mutex> g(mu_);
      session_.Swap(d);
    }
  }
  /// Scoped accessor: `f(json::document&)` runs under the session lock; changes are kept.
  template <class F>
  decltype(auto) with_session(F&& f) {
    std::lock_guard<std::mutex> g(mu_);
    return f(session_);
  }

  /// Server-initiated disconnect from this namespace (sends DISCONNECT). Thread-safe. Reasons:
  /// "server namespace disconnect" here, "io server disconnect" at the client.
  void disconnect();
  /// Closes the whole Engine.IO connection (every namespace of this client). Thread-safe.
  /// Reasons: "forced close" here, "transport close" at the client.
  void close_connection() { engine_->close(); }

  /// Hands a pre-encoded packet to the transport (buffered while the connect handlers run, so
  /// their emits follow the CONNECT answer). Thread-safe.
  void send_frame(engineio::frame_ptr f) {
    if (state_.load(std::memory_order_acquire) != state::connected) {
      std::lock_guard<std::mutex> g(mu_);
      auto s = state_.load(std::memory_order_acquire);
      if (s == state::connecting) {
        pending_.push_back(std::move(f));
        return;
      }
      if (s == state::disconnected) return;
    }
    engine_->send(std::move(f));
  }
  /// Like send_frame, for a packet meant for this client only: once connected, the text goes to
  /// the transport as it is, without a shared frame around it. Thread-safe.
  void send_text(std::string text) {
    if (state_.load(std::memory_order_acquire) == state::connected) return engine_->send(std::move(text));
    auto f = std::make_shared<engineio::frame>();
    f->text = std::move(text);
    send_frame(std::move(f));
  }

 private:
  friend class server;
  friend class nsp;
  friend class ack_sender;
  friend struct detail::paused_connect;
  friend class detail::broadcast_acks;
  enum class state { connecting, connected, disconnected };

  /// Ack ids come from the namespace's counter (like socket.io's `nsp._ids`), so a broadcast
  /// with ack carries one id that is free in every recipient: its frame is encoded once.
  std::uint64_t next_ack_id() noexcept;
  /// `emit` with connection state recovery on: the event carries an offset and is stored.
  template <class... A>
  void emit_recoverable(std::string_view name, const A&... a);
  bool register_ack(std::uint64_t id, ack_callback cb, std::chrono::milliseconds timeout);
  /// Waits for ack `id` without a timer of its own (a broadcast keeps one deadline for all);
  /// false, without calling `cb`, when already disconnected.
  bool expect_ack(std::uint64_t id, ack_callback cb) {
    std::lock_guard<std::mutex> g(mu_);
    if (state_.load() == state::disconnected) return false;
    acks_[id].cb = std::move(cb);
    return true;
  }
  /// Forgets ack `id` without calling its callback (its broadcast is over).
  void drop_ack(std::uint64_t id) {
    std::lock_guard<std::mutex> g(mu_);
    acks_.erase(id);
  }
  /// Runs the callback of ack `id` (if still pending) with `status`.
  void complete_ack(std::uint64_t id, ack_status status, const args& a);
  /// Fails every pending ack with `disconnected`.
  void fail_acks();

  /// CONNECT accepted: answer, then flush what the handlers emitted.
  /// The buffered emits go out one turn of the home worker later, so the transport writes the
  /// CONNECT answer on its own, as the reference server does (the official test-suite reads
  /// the answer and the first event with separate listeners and loses a coalesced second one).
  void accept(engineio::frame_ptr connect_answer) {
    std::lock_guard<std::mutex> g(mu_);
    accepted_.store(true, std::memory_order_release);
    engine_->send(std::move(connect_answer));
    // Missed packets go at once, before anything emitted after the restore.
    for (auto& f : replay_) engine_->send(std::move(f));
    replay_.clear();
    if (pending_.empty()) {
      state_.store(state::connected, std::memory_order_release);
      return;
    }
    auto self = shared_from_this();
    engine_->post([self] {
      std::lock_guard<std::mutex> g(self->mu_);
      if (self->state_.load() != state::connecting) return;
      for (auto& f : self->pending_) self->engine_->send(std::move(f));
      self->pending_.clear();
      self->state_.store(state::connected, std::memory_order_release);
    });
  }
  /// Returns false when already disconnected.
  bool mark_disconnected() {
    std::lock_guard<std::mutex> g(mu_);
    if (state_.load() == state::disconnected) return false;
    state_.store(state::disconnected, std::memory_order_release);
    pending_.clear();
    return true;
  }

  nsp* nsp_;
  class server* server_;
  std::string sid_;
  engineio::socket_ptr engine_;
  detail::dom_pool_ptr auth_pool_;  ///< before auth_: outlives it
  json::value auth_;                ///< deep copy of the CONNECT payload; null when none
  std::atomic<state> state_{state::connecting};
  std::atomic<bool> accepted_{false};  ///< the CONNECT answer was sent
  std::atomic<bool> closing_{false};   ///< the disconnect procedure has started (runs once)
  session_store* store_ = nullptr;     ///< connection state recovery on: the namespace's store
  std::string pid_;                    ///< recovery's private session id (empty when off)
  bool recovered_ = false;
  std::vector<engineio::frame_ptr> replay_;  ///< recovered: the missed packets, sent after CONNECT

  mutable std::mutex mu_;  ///< acks, session, pending frames
  struct pending_ack {
    ack_callback cb;
    std::uint64_t timer = 0;
  };
  std::unordered_map<std::uint64_t, pending_ack> acks_;
  json::document session_;
  std::vector<engineio::frame_ptr> pending_;
};

using socket_ptr = std::shared_ptr<socket>;

namespace detail {
/// Encodes ACK `id` with `a...` and sends it to `s`.
template <class... A>
void send_ack(socket& s, std::uint64_t id, const A&... a) {
  packet_writer pw(packet_type::ack, s.namespace_name(), id, {}, args_json_size(a...));
  write_ack(pw, a...);
  const auto& blobs = pw.context().attachments;
  if (blobs.empty()) return s.send_text(std::move(pw.text()));
  auto f = std::make_shared<engineio::frame>();
  f->text = std::move(pw.text());
  for (auto b : blobs) f->binaries.emplace_back(b);
  s.send_frame(std::move(f));
}
}  // namespace detail

template <class... A>
void ack_sender::operator()(const A&... a) {
  if (id_ == no_ack) return;
  if (auto s = s_.lock()) detail::send_ack(*s, id_, a...);
  id_ = no_ack;
}

inline void ack_sender::send(const payload& p) {
  if (id_ == no_ack) return;
  if (auto s = s_.lock()) s->send_frame(detail::encode_ack_payload(s->namespace_name(), id_, p));
  id_ = no_ack;
}

/// One received EVENT while its handler runs.
class event {
 public:
  event(socketio::socket& s, std::string_view name, const socketio::args& a, std::uint64_t id) noexcept
      : socket_(s), name_(name), args_(a), id_(id) {}
  socketio::socket& socket() noexcept { return socket_; }
  std::string_view name() const noexcept { return name_; }
  const socketio::args& args() const noexcept { return args_; }
  /// The client asked for an acknowledgement and it was not sent yet.
  bool wants_ack() const noexcept { return id_ != no_ack; }
  template <class... A>
  void ack(const A&... a) {
    if (id_ == no_ack) return;
    detail::send_ack(socket_, id_, a...);
    id_ = no_ack;
  }
  void ack(const payload& p) {
    if (id_ == no_ack) return;
    socket_.send_frame(detail::encode_ack_payload(socket_.namespace_name(), id_, p));
    id_ = no_ack;
  }
  /// Takes over the acknowledgement, to answer later (from any thread).
  ack_sender take_ack() {
    ack_sender a(socket_.weak_from_this(), id_);
    id_ = no_ack;
    return a;
  }

 private:
  socketio::socket& socket_;
  std::string_view name_;
  const socketio::args& args_;
  std::uint64_t id_;
};

}  // namespace portico::socketio
