#pragma once
/// engineio::socket, one Engine.IO session: its home worker, heartbeat, send buffers and their
/// limit, the polling requests it answers, its upgrade to websocket, and its close.
#include "../detail/utf8.hpp"
#include "../log.hpp"
#include "close_reason.hpp"
#include "codec.hpp"
#include "detail/core.hpp"
#include "detail/links.hpp"
#include "detail/worker.hpp"
#include "detail/ws_config.hpp"
#include "handshake.hpp"
#include "message.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::engineio {

namespace detail {
class host_handler;
class host_ws;
enum class transport_kind : int { polling = 0, websocket = 1 };

/// What a send does when the client's send buffer is over max_buffered_bytes.
enum class when_full : std::uint8_t {
  close,  ///< close the session (the default)
  drop,   ///< drop the packet (volatile)
  send,   ///< send anyway (a part of a packet already checked as a whole)
};

/// One queued outgoing packet of a polling session.
struct outgoing {
  packet_type type;
  bool binary;
  std::string data;
};
}  // namespace detail

/// One Engine.IO session.
class socket : public std::enable_shared_from_this<socket> {
 public:
  const std::string& sid() const { return sid_; }
  const struct handshake& handshake() const { return hs_; }
  int protocol() const { return hs_.protocol; }

  /// Thread-safe: runs on the home worker, posting there when called elsewhere.
  void send(std::string text);
  void send_binary(std::string bytes);
  void send(frame_ptr f);
  /// Idempotent and thread-safe; on_close fires once.
  void close();
  /// False while a polling session has no pending GET (volatile emits may be dropped).
  bool writable() const { return writable_.load(std::memory_order_relaxed); }
  bool closed() const { return closed_flag_.load(std::memory_order_acquire); }

  bool on_home_worker() const;
  /// Runs `f` on the home worker (re-posted if the session moved meanwhile).
  void post(std::function<void()> f);

  /// The layer above hangs its per-connection state here.
  std::shared_ptr<void> user;

  std::string_view transport() const {
    return transport_flag_.load(std::memory_order_relaxed) == int(detail::transport_kind::websocket) ? "websocket"
                                                                                                      : "polling";
  }

  /// Adds `n` to counter `slot` (metrics.hpp) when metrics are on; from any thread (the home
  /// worker's block on the home worker, else the shared one). For the layers above.
  void count(unsigned slot, std::int64_t n = 1) const;

  /// Sessions are created by the server.
  socket(std::shared_ptr<detail::core> c, detail::worker* home, std::string sid, struct handshake hs)
      : core_(std::move(c)), home_(home), sid_(std::move(sid)), hs_(std::move(hs)) {}

 private:
  friend struct detail::core;
  friend class detail::host_handler;
  friend class detail::host_ws;
  friend class server;
  using con_ptr = detail::ws_connection_ptr;

  // --- everything below runs on the home worker only ---
  /// The home worker's counters, null when metrics are off: one test per counting site.
  metrics::counters* stats() const noexcept { return home_.load(std::memory_order_relaxed)->stats; }
  void start(detail::transport_kind t, detail::ws_link ws);
  void send_packet(packet_type t, std::string data, bool binary, detail::when_full full = detail::when_full::close);
  /// True when `size` more bytes would pass max_buffered_bytes over `queued` ones (a first
  /// message always fits): then the session closes, unless the packet may be dropped.
  bool send_refused(std::size_t queued, std::size_t size, detail::when_full full);
  /// What websocketpp has queued for the websocket (0 off its worker, where it cannot be read).
  std::size_t ws_buffered() const { return ws_.buffered(); }
  void send_frame_here(const frame_ptr& f);
  void flush_poll();
  void respond_get(std::string body, bool binary_body);
  void handle_packet(packet_type t, bool binary, std::string data);
  void handle_ws_frame(const void* con_id, bool binary, std::string raw);
  void handle_probe_frame(bool binary, const std::string& raw);
  /// close_with during an upgrade: the probe stays until the client's next frame on it, 2 s at most.
  void close_probe_later();
  void on_poll(detail::poll_reply reply, bool b64);
  void on_post(detail::poll_reply reply, std::string body, bool binary_body);
  void on_probe_open(detail::ws_link link);
  /// `local_code`: the close code we sent (websocketpp sends 1009 / 1007 on its own).
  void on_ws_closed(const void* con_id, std::uint16_t local_code);
  void post_to_home(std::function<void()> f, bool passed_on);
  void release_after_old_queue(detail::worker* old_home, detail::worker* new_home, bool last);
  /// Posts from other threads register while they pick the home and queue on it, so a home move
  /// knows when everything aimed at the old home is queued there. Returns the slot to release.
  unsigned register_post() {
    unsigned slot = moved_.load();
    posting_[slot].fetch_add(1);
    return slot;
  }
  void unregister_post(unsigned slot) { posting_[slot].fetch_sub(1); }
  void release_held();
  void complete_upgrade();
  void abort_probe(const char* why);
  void arm_heartbeat(std::chrono::milliseconds d, bool waiting_pong) {
    arm_heartbeat_at(std::chrono::steady_clock::now() + d, waiting_pong);
  }
  void arm_heartbeat_at(std::chrono::steady_clock::time_point at, bool waiting_pong);
  bool pong_overdue() const { return awaiting_pong_ && std::chrono::steady_clock::now() >= heartbeat_at_; }
  /// `detail` says what went wrong, for the one log line of this close.
  void close_with(close_reason r, std::string_view detail = {});
  std::string single_packet_payload(packet_type t) const;

  std::shared_ptr<detail::core> core_;
  std::atomic<detail::worker*> home_;
  std::string sid_;
  struct handshake hs_;
  bool poll_b64_ = false;  ///< the pending v3 GET asked for base64 binary
  bool ws_b64_ = false;    ///< v3: the websocket's request asked for base64 binary (`b4` text frames)

  std::atomic<bool> writable_{false};
  std::atomic<bool> closed_flag_{false};
  std::atomic<int> transport_flag_{0};
  std::atomic<bool> upgrading_flag_{false};
  std::atomic<bool> moving_{false};  ///< home moved; the old home's queue is not passed on yet
  std::atomic<unsigned> moved_{0};   ///< 1 once the home moved (a session moves at most once)
  std::atomic<int> posting_[2] = {{0}, {0}};  ///< posts picking the home, before / after the move

  bool open_ = false;
  bool closed_ = false;
  detail::transport_kind transport_ = detail::transport_kind::polling;
  bool upgrading_ = false;
  std::vector<detail::outgoing> buffer_;
  std::size_t buffer_bytes_ = 0;  ///< the data bytes in buffer_ (kept as packets come and go)
  detail::poll_reply poll_get_;
  detail::ws_link ws_;
  detail::worker* ws_worker_ = nullptr;  ///< ws_.w, kept while ws_ is reset (the home move compares it)
  detail::ws_link probe_;
  std::unique_ptr<asio::steady_timer> timer_;
  std::uint64_t timer_gen_ = 0;
  std::unique_ptr<asio::steady_timer> probe_timer_;  ///< aborts an upgrade that never completes
  bool awaiting_pong_ = false;
  std::chrono::steady_clock::time_point heartbeat_at_;  ///< when the timer is due (scheduled, not actual)
  /// After a client's close packet over polling, the sid answers one more GET with noop:
  /// that GET may have been sent before the close but reached the session after it.
  bool linger_ = false;
  packet_type linger_packet_ = packet_type::noop;  ///< what the lingering sid answers its last GET with
  // A home move (complete_upgrade) keeps the order of what was sent to the session:
  detail::worker* prev_home_ = nullptr;      ///< the home before the move (written before moving_)
  bool passing_on_ = false;                  ///< (new home) running what the old home passed on
  std::vector<std::function<void()>> held_;  ///< (new home) posted there directly during the move
};

// socket_ptr is declared with the core (detail/core.hpp), whose handlers take it.

namespace detail {

inline void core::dispatch_close_log(const socket& s, close_reason r, std::string_view detail) {
  bool abnormal = r == close_reason::parse_error || r == close_reason::payload_too_large ||
                  r == close_reason::transport_error;
  auto text = [&] {
    return "closed " + s.sid() + " (" + std::string(s.transport()) + ", " + s.handshake().remote_address +
           "): " + to_string(r) + (detail.empty() ? "" : ": ") + std::string(detail);
  };
  if (abnormal) log.warn(text);
  else log.info(text);
}

}  // namespace detail

inline void socket::count(unsigned slot, std::int64_t n) const {
  auto* reg = core_->stats.get();
  if (!reg) return;
  if (on_home_worker()) stats()->add(slot, n);
  else reg->shared().add_shared(slot, n);
}

inline bool socket::on_home_worker() const {
  // passing_on_ is read on the home's own thread only (short-circuit).
  return !core_->destroyed.load(std::memory_order_acquire) && home_.load(std::memory_order_acquire)->running_here() &&
         (!moving_.load(std::memory_order_acquire) || passing_on_);
}

inline void socket::post(std::function<void()> f) {
  if (core_->destroyed.load(std::memory_order_acquire)) return;
  if (moving_.load(std::memory_order_acquire)) {
    // On the new home, held at once: a detour through its queue would let what is queued there
    // already (the next broadcast's job) overtake it once the hold ends.
    if (home_.load(std::memory_order_acquire)->running_here() && !passing_on_) return held_.push_back(std::move(f));
    // What the old home posts was queued there before the move.
    if (prev_home_->running_here()) return post_to_home(std::move(f), true);
  }
  post_to_home(std::move(f), false);
}

inline void socket::post_to_home(std::function<void()> f, bool passed_on) {
  auto self = shared_from_this();
  unsigned slot = register_post();
  asio::post(home_.load()->ioc, [self, f = std::move(f), passed_on]() mutable {
    if (self->core_->destroyed.load(std::memory_order_acquire)) return;
    if (!self->home_.load(std::memory_order_acquire)->running_here())  // queued before the home moved
      return self->post_to_home(std::move(f), true);
    if (!self->moving_.load(std::memory_order_acquire)) return f();
    if (!passed_on) return self->held_.push_back(std::move(f));  // waits for what the old home passes on
    self->passing_on_ = true;
    f();
    self->passing_on_ = false;
  });
  unregister_post(slot);
}

/// Runs on the old home behind everything queued there, including posts that picked the old home
/// before the move and were still queuing, then releases the new home.
inline void socket::release_after_old_queue(detail::worker* old_home, detail::worker* new_home, bool last) {
  auto self = shared_from_this();
  asio::post(old_home->ioc, [self, old_home, new_home, last] {
    if (self->core_->destroyed.load(std::memory_order_acquire)) return;
    if (self->posting_[0].load() != 0 || !last)
      return self->release_after_old_queue(old_home, new_home, self->posting_[0].load() == 0);
    asio::post(new_home->ioc, [self] { self->release_held(); });
  });
}

inline void socket::release_held() {
  moving_.store(false, std::memory_order_release);
  auto held = std::move(held_);
  held_.clear();
  for (auto& f : held) f();
}

inline void socket::send(std::string text) {
  portico::detail::utf8_repair(text);  // browsers drop the connection on invalid UTF-8
  if (on_home_worker()) return send_packet(packet_type::message, std::move(text), false);
  auto self = shared_from_this();
  post([self, t = std::move(text)]() mutable { self->send_packet(packet_type::message, std::move(t), false); });
}

inline void socket::send_binary(std::string bytes) {
  if (on_home_worker()) return send_packet(packet_type::message, std::move(bytes), true);
  auto self = shared_from_this();
  post([self, b = std::move(bytes)]() mutable { self->send_packet(packet_type::message, std::move(b), true); });
}

inline void socket::send(frame_ptr f) {
  f = detail::valid_utf8_frame(std::move(f));
  if (on_home_worker()) return send_frame_here(f);
  auto self = shared_from_this();
  post([self, f = std::move(f)] { self->send_frame_here(f); });
}

inline void socket::close() {
  if (closed()) return;
  if (on_home_worker()) return close_with(close_reason::server_close);
  auto self = shared_from_this();
  post([self] { self->close_with(close_reason::server_close); });
}

inline void socket::start(detail::transport_kind t, detail::ws_link ws) {
  transport_ = t;
  transport_flag_ = int(t);
  open_ = true;
  if (t == detail::transport_kind::websocket) {
    ws_ = std::move(ws);
    ws_worker_ = home_.load();
    ws_b64_ = hs_.protocol == 3 && ws_.b64;
    writable_ = true;
    std::string json = core_->open_packet_json(sid_, false);
    ws_.send(false, encode(packet_type::open, json));
  }
  timer_ = std::make_unique<asio::steady_timer>(home_.load()->ioc);
  if (auto* m = stats()) m->add(metrics::eio::sessions_opened);
  if (hs_.protocol == 3) arm_heartbeat(core_->opts.ping_interval + core_->opts.ping_timeout, true);
  else arm_heartbeat(core_->opts.ping_interval, false);
  if (core_->on_open) core_->on_open(shared_from_this());
}

inline void socket::arm_heartbeat_at(std::chrono::steady_clock::time_point at, bool waiting_pong) {
  if (closed_ || !timer_) return;
  awaiting_pong_ = waiting_pong;
  heartbeat_at_ = at;
  auto gen = ++timer_gen_;
  timer_->expires_at(at);
  std::weak_ptr<socket> weak = shared_from_this();
  timer_->async_wait([weak, gen](const asio::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s || gen != s->timer_gen_ || s->closed_) return;
    if (s->awaiting_pong_) {
      s->close_with(close_reason::ping_timeout);
      return;
    }
    s->send_packet(packet_type::ping, std::string(), false);
    // The pong deadline counts from when the ping was due, so a busy worker does not
    // stretch the client's allowance.
    s->arm_heartbeat_at(s->heartbeat_at_ + s->core_->opts.ping_timeout, true);
  });
}

inline bool socket::send_refused(std::size_t queued, std::size_t size, detail::when_full full) {
  const std::size_t max = core_->opts.max_buffered_bytes;
  if (max == 0 || queued == 0 || queued + size <= max || full == detail::when_full::send) return false;
  if (auto* m = stats()) m->add(metrics::eio::send_queue_overflows);
  if (full == detail::when_full::close) close_with(close_reason::transport_error, "send buffer full");
  return true;
}

inline void socket::send_packet(packet_type t, std::string data, bool binary, detail::when_full full) {
  if (closed_) return;
  if (transport_ == detail::transport_kind::websocket) {
    if (send_refused(ws_buffered(), data.size() + 1, full)) return;
    if (auto* m = stats()) {
      m->add(metrics::eio::packets_out);
      m->add(metrics::eio::bytes_out, std::int64_t(data.size() + 1));
    }
    if (binary && hs_.protocol == 3 && ws_b64_) {
      ws_.send(false, encode_base64_v3(data, t));
    } else if (binary) {
      if (hs_.protocol == 3) data = encode_binary_v3(data, t);
      ws_.send(true, std::move(data));
    } else {
      data.insert(data.begin(), type_char(t));
      ws_.send(false, std::move(data));
    }
    return;
  }
  if (send_refused(buffer_bytes_, data.size(), full)) return;
  if (auto* m = stats()) m->add(metrics::eio::packets_out);
  buffer_bytes_ += data.size();
  buffer_.push_back(detail::outgoing{t, binary, std::move(data)});
  flush_poll();
}

inline void socket::send_frame_here(const frame_ptr& f) {
  if (closed_ || !f) return;
  std::size_t size = f->text.size() + 1;
  for (auto& b : f->binaries) size += b.size();
  if (send_refused(transport_ == detail::transport_kind::websocket ? ws_buffered() : buffer_bytes_, size,
                   f->droppable ? detail::when_full::drop : detail::when_full::close))
    return;
  if (transport_ == detail::transport_kind::websocket && hs_.protocol == 4) {
    if (auto* m = stats()) {
      m->add(metrics::eio::packets_out, std::int64_t(1 + f->binaries.size()));
      m->add(metrics::eio::bytes_out, std::int64_t(size));
    }
    std::string t;
    t.reserve(f->text.size() + 1);
    t.push_back('4');
    t += f->text;
    ws_.send(false, std::move(t));
    for (auto& b : f->binaries) ws_.send(true, b);
    return;
  }
  // Checked as a whole above: the parts of one packet are never split by the limit.
  send_packet(packet_type::message, f->text, false, detail::when_full::send);
  for (auto& b : f->binaries) send_packet(packet_type::message, b, true, detail::when_full::send);
}

inline std::string socket::single_packet_payload(packet_type t) const {
  std::string body;
  if (hs_.protocol == 3) append_payload_packet_v3(body, t, {});
  else encode_to(body, t);
  return body;
}

inline void socket::respond_get(std::string body, bool binary_body) {
  auto reply = std::move(poll_get_);
  poll_get_ = detail::poll_reply();
  writable_ = false;
  reply.send(200, std::move(body), binary_body ? "application/octet-stream" : "text/plain; charset=UTF-8");
}

inline void socket::flush_poll() {
  if (!poll_get_ || buffer_.empty()) return;
  std::string body;
  bool xhr2 = false;
  if (hs_.protocol == 3 && !poll_b64_)
    xhr2 = std::any_of(buffer_.begin(), buffer_.end(), [](const detail::outgoing& o) { return o.binary; });
  for (auto& o : buffer_) {
    if (hs_.protocol == 4) append_payload_packet(body, o.type, o.data, o.binary);
    else if (xhr2) append_binary_payload_packet_v3(body, o.type, o.data, o.binary);
    else append_payload_packet_v3(body, o.type, o.data, o.binary);
  }
  buffer_.clear();
  buffer_bytes_ = 0;
  if (auto* m = stats()) m->add(metrics::eio::bytes_out, std::int64_t(body.size()));
  respond_get(std::move(body), xhr2);
}

inline void socket::on_poll(detail::poll_reply reply, bool b64) {
  if (!closed_ && pong_overdue()) close_with(close_reason::ping_timeout);  // timer not run yet
  if (closed_ && linger_) {
    linger_ = false;
    core_->erase(sid_);
    return reply.send(200, single_packet_payload(linger_packet_), "text/plain; charset=UTF-8");
  }
  if (closed_ || transport_ != detail::transport_kind::polling) {
    core_->log.info("refused GET on " + sid_ + ": " + (closed_ ? "session closed" : "session upgraded"));
    return reply.send_error(closed_ ? detail::http_error::unknown_sid : detail::http_error::bad_request);
  }
  if (poll_get_) {
    reply.send_error(detail::http_error::bad_request);
    close_with(close_reason::transport_error, "second concurrent GET");
    return;
  }
  poll_get_ = std::move(reply);
  poll_b64_ = b64;
  writable_ = !upgrading_;
  if (!buffer_.empty()) flush_poll();
  else if (upgrading_) respond_get(single_packet_payload(packet_type::noop), false);
}

inline void socket::on_post(detail::poll_reply reply, std::string body, bool binary_body) {
  if (!closed_ && pong_overdue()) close_with(close_reason::ping_timeout);  // timer not run yet
  if (closed_ || transport_ != detail::transport_kind::polling) {
    core_->log.info("refused POST on " + sid_ + ": " + (closed_ ? "session closed" : "session upgraded"));
    return reply.send_error(closed_ ? detail::http_error::unknown_sid : detail::http_error::bad_request);
  }
  if (body.size() > core_->opts.max_payload) {
    reply.send(413, "", "text/plain");
    close_with(close_reason::payload_too_large, "POST body of " + std::to_string(body.size()) + " bytes");
    return;
  }
  // Text is repaired before decoding (as Node decodes the body to a string first), so v3
  // lengths count the same characters the client counted and handlers only see UTF-8.
  bool repaired = !binary_body && portico::detail::utf8_repair(body);
  std::vector<packet> packets;
  errc e = hs_.protocol == 4 ? decode_payload(body, packets)
           : binary_body     ? decode_binary_payload_v3(body, packets)
                             : decode_payload_v3(body, packets);
  if (e != errc::ok) {
    reply.send_error(detail::http_error::bad_request);
    close_with(close_reason::parse_error, std::string("malformed payload: ") + describe(e));
    return;
  }
  if (auto* m = stats()) {
    m->add(metrics::eio::packets_in, std::int64_t(packets.size()));
    m->add(metrics::eio::bytes_in, std::int64_t(body.size()));
  }
  if (binary_body)  // v3 XHR2 payload: its string packets are text
    for (auto& p : packets) repaired |= !p.binary && portico::detail::utf8_repair(p.data);
  if (repaired) core_->log.info("replaced invalid UTF-8 in a POST from " + sid_ + " by U+FFFD");
  reply.send(200, "ok", "text/html");
  for (auto& p : packets) {
    if (closed_) break;
    handle_packet(p.type, p.binary, std::move(p.data));
  }
}

inline void socket::handle_packet(packet_type t, bool binary, std::string data) {
  switch (t) {
    case packet_type::message:
      if (core_->on_message) core_->on_message(shared_from_this(), message{binary, std::move(data)});
      break;
    case packet_type::pong:
      if (hs_.protocol == 4 && awaiting_pong_) arm_heartbeat(core_->opts.ping_interval, false);
      break;
    case packet_type::ping:
      if (hs_.protocol == 3) {  // v3: the client pings, we answer and restart its timeout
        send_packet(packet_type::pong, std::move(data), false);
        arm_heartbeat(core_->opts.ping_interval + core_->opts.ping_timeout, true);
      }
      break;
    case packet_type::close:
      close_with(close_reason::client_close);
      break;
    default:  // open, upgrade, noop: nothing to do on an established transport
      break;
  }
}

inline void socket::handle_ws_frame(const void* con_id, bool binary, std::string raw) {
  if (closed_) {
    // A probe kept open by close_with: its client switched to it (the frame is its "5"): the
    // close frame now reaches the client's transport, which reports "transport close".
    if (probe_ && con_id == probe_.id()) {
      probe_.close();
      probe_.reset();
    }
    return;
  }
  if (probe_ && con_id == probe_.id()) return handle_probe_frame(binary, raw);
  if (!ws_ || con_id != ws_.id()) return;  // a stale connection
  if (auto* m = stats()) {
    m->add(metrics::eio::packets_in);
    m->add(metrics::eio::bytes_in, std::int64_t(raw.size()));
  }
  if (raw.size() > core_->opts.max_payload) return close_with(close_reason::payload_too_large, "websocket message");
  if (binary) {
    if (hs_.protocol == 3) {
      packet_view v;
      if (errc e = decode_binary_v3(raw, v); e != errc::ok)
        return close_with(close_reason::parse_error, std::string("malformed binary packet: ") + describe(e));
      auto type = v.type;
      std::string data = std::move(raw);
      data.erase(0, 1);
      return handle_packet(type, true, std::move(data));
    }
    return handle_packet(packet_type::message, true, std::move(raw));
  }
  if (hs_.protocol == 3 && !raw.empty() && raw[0] == 'b') {  // v3 base64 binary in a text frame
    packet p;
    if (errc e = decode_base64_v3(raw, p); e != errc::ok)
      return close_with(close_reason::parse_error, std::string("malformed base64 packet: ") + describe(e));
    return handle_packet(p.type, true, std::move(p.data));
  }
  packet_view v;
  if (errc e = decode(raw, v); e != errc::ok) {
    return close_with(close_reason::parse_error, std::string("malformed packet: ") + describe(e));
  }
  auto type = v.type;
  std::string data = std::move(raw);  // the frame's buffer becomes the message: no copy
  data.erase(0, 1);
  handle_packet(type, false, std::move(data));
}

inline void socket::on_probe_open(detail::ws_link link) {
  if (closed_ || transport_ != detail::transport_kind::polling || upgrading_) return link.close();
  probe_ = std::move(link);
  upgrading_ = true;
  upgrading_flag_ = true;
  // Like the reference server's upgradeTimeout: a probe that never completes is dropped.
  probe_timer_ = std::make_unique<asio::steady_timer>(home_.load()->ioc);
  probe_timer_->expires_after(std::chrono::seconds(10));
  std::weak_ptr<socket> weak = shared_from_this();
  const void* id = probe_.id();
  probe_timer_->async_wait([weak, id](const asio::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s || s->closed_ || !s->probe_ || s->probe_.id() != id) return;
    s->abort_probe("upgrade timeout");
  });
}

inline void socket::abort_probe(const char* why) {
  core_->log.info("upgrade of " + sid_ + " aborted: " + why);
  auto c = std::move(probe_);
  probe_.reset();
  upgrading_ = false;
  upgrading_flag_ = false;
  if (probe_timer_) probe_timer_->cancel();
  if (poll_get_) writable_ = true;
  c.close();
}

inline void socket::handle_probe_frame(bool binary, const std::string& raw) {
  packet_view v;
  bool text = !binary;
  if (text && decode(raw, v) == errc::ok && v.type == packet_type::ping && v.data == "probe") {
    probe_.send(false, "3probe");
    if (poll_get_ && buffer_.empty()) respond_get(single_packet_payload(packet_type::noop), false);
    return;
  }
  if (text && decode(raw, v) == errc::ok && v.type == packet_type::upgrade) return complete_upgrade();
  // anything else aborts the upgrade, not the session
  abort_probe("unexpected packet on the probe");
}

inline void socket::complete_upgrade() {
  if (probe_timer_) probe_timer_->cancel();
  probe_timer_.reset();  // on the old home, where it was created
  if (poll_get_) respond_get(single_packet_payload(packet_type::noop), false);
  ws_ = std::move(probe_);
  probe_.reset();
  ws_worker_ = ws_.w;
  ws_b64_ = hs_.protocol == 3 && ws_.b64;
  upgrading_ = false;
  upgrading_flag_ = false;
  transport_ = detail::transport_kind::websocket;
  transport_flag_ = int(detail::transport_kind::websocket);
  writable_ = true;
  auto pending = std::move(buffer_);
  buffer_.clear();
  buffer_bytes_ = 0;
  if (auto* m = stats()) m->add(metrics::eio::upgrades);
  auto finish = [this, pending = std::move(pending)]() mutable {
    for (auto& o : pending) send_packet(o.type, std::move(o.data), o.binary);
    arm_heartbeat(core_->opts.ping_interval, false);
  };
  if (ws_worker_ == home_.load()) return finish();
  // Move home to the websocket's worker so its frames never hop threads.
  ++timer_gen_;
  if (timer_) timer_->cancel();
  timer_ = std::make_unique<asio::steady_timer>(ws_worker_->ioc);
  // Nothing sent to the session may overtake what was sent before the move. On the new home, in
  // this order: the flush of what was buffered during the upgrade; what was queued on the old
  // home before the move, passed on by it in order; then what was posted to the new home
  // directly meanwhile (held; on_home_worker() is false there until then).
  prev_home_ = home_.load();
  moving_.store(true, std::memory_order_release);
  auto self = shared_from_this();
  detail::worker* old_home = prev_home_;
  detail::worker* new_home = ws_worker_;
  asio::post(new_home->ioc, [self, finish = std::move(finish)]() mutable {
    self->passing_on_ = true;
    finish();
    self->passing_on_ = false;
  });
  home_.store(new_home);
  moved_.store(1);
  release_after_old_queue(old_home, new_home, false);
}

inline void socket::on_ws_closed(const void* con_id, std::uint16_t local_code) {
  if (probe_ && con_id == probe_.id()) {
    probe_.reset();
    if (probe_timer_) probe_timer_->cancel();
    if (closed_) return;
    upgrading_ = false;
    upgrading_flag_ = false;
    if (poll_get_) writable_ = true;
    return;
  }
  if (ws_ && con_id == ws_.id()) {
    ws_.reset();  // already closed: nothing to send
    if (local_code == websocketpp::close::status::message_too_big) close_with(close_reason::payload_too_large);
    else if (local_code == websocketpp::close::status::invalid_payload)
      close_with(close_reason::parse_error, "text frame is not UTF-8 (closed with 1007)");
    else close_with(close_reason::transport_close);
  }
}

inline void socket::close_with(close_reason r, std::string_view detail) {
  if (closed_) return;
  closed_ = true;
  closed_flag_.store(true, std::memory_order_release);
  writable_ = false;
  ++timer_gen_;
  if (timer_) timer_->cancel();
  if (probe_timer_) probe_timer_->cancel();
  // A polling client learns of the close only from its next GET: keep the sid for a moment so
  // that GET is answered (noop after the client's own close, a close packet after ours) rather
  // than with "Session ID unknown", which clients report as a transport error.
  const bool polite = r == close_reason::client_close || r == close_reason::server_close;
  // Mid-upgrade with no GET to answer, the client may have paused its polling after the probe's
  // pong: closing the probe now would leave it paused for good (engine.io-client drops a failed
  // probe and never resumes polling; seen as a client that never reconnects). Like the reference
  // server, the upgrade may finish and the new transport is closed then (or in 2 s).
  const bool finish_upgrade = upgrading_ && probe_ && !poll_get_ && probe_timer_ && !core_->stopping;
  if (polite && transport_ == detail::transport_kind::polling && !poll_get_ && timer_ && !core_->stopping) {
    linger_ = true;
    linger_packet_ = r == close_reason::client_close ? packet_type::noop : packet_type::close;
    timer_->expires_after(std::chrono::seconds(1));
    std::weak_ptr<socket> weak = shared_from_this();
    timer_->async_wait([weak](const asio::error_code& ec) {
      auto s = weak.lock();
      if (ec || !s || !s->linger_) return;
      s->linger_ = false;
      s->core_->erase(s->sid_);
    });
  } else {
    core_->erase(sid_);
  }
  core_->dispatch_close_log(*this, r, detail);
  if (auto* m = stats()) {
    switch (r) {
      case close_reason::parse_error: m->add(metrics::eio::parse_errors); break;
      case close_reason::payload_too_large: m->add(metrics::eio::oversize_payloads); break;
      case close_reason::ping_timeout: m->add(metrics::eio::ping_timeouts); break;
      case close_reason::transport_error: m->add(metrics::eio::transport_errors); break;
      default: break;
    }
  }

  if (poll_get_) {
    // The client asked to close: end its pending GET quietly; otherwise tell it with a close packet.
    respond_get(single_packet_payload(r == close_reason::client_close ? packet_type::noop : packet_type::close), false);
  }
  buffer_.clear();
  buffer_bytes_ = 0;
  // Over websocket the close frame alone says it (as the reference server does): a `1` packet
  // first would make python-engineio treat the drop as final and never reconnect.
  ws_.close();
  ws_.reset();
  if (finish_upgrade) {
    close_probe_later();
  } else {
    probe_.close();
    probe_.reset();
  }
  if (open_ && core_->on_close) core_->on_close(shared_from_this(), r);
}

inline void socket::close_probe_later() {
  probe_timer_->expires_after(std::chrono::seconds(2));
  const void* id = probe_.id();
  probe_timer_->async_wait([self = shared_from_this(), id](const asio::error_code& ec) {
    if (ec || !self->probe_ || self->probe_.id() != id) return;
    self->probe_.close();
    self->probe_.reset();
  });
}

}  // namespace portico::engineio
