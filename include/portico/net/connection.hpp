#pragma once
/// One accepted TCP connection: HTTP/1.1 (keep-alive, ordered pipelining, limits, deadlines) and,
/// after an upgrade, a WebSocket whose protocol websocketpp runs (iostream transport) while the
/// host keeps the socket. Lives on one I/O thread; answers and sends from other threads are posted
/// to it.
///
/// Reading: wait for readiness, then drain the socket into the worker's shared buffer until
/// EAGAIN (Asio's epoll is edge-triggered: waiting before draining would lose the edge). Writing:
/// everything produced in one read batch (answers, frames) is queued and written with one gathered
/// async_write; further output queues behind it (one write in flight, appends coalesced).

#include <asio/post.hpp>
#include <asio/write.hpp>
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../detail/http_status.hpp"
#include "deadline_wheel.hpp"
#include "request_parser.hpp"
#include "response.hpp"
#include "websocket.hpp"
#include "worker.hpp"

namespace portico::net::detail {

/// Runs the flushes after_broadcast_queue held for the end of this turn.
inline void flush_due_connections(worker& w);

/// What a worker's list of live connections needs of any connection, whatever its stream.
class connection_base {
 public:
  virtual ~connection_base() = default;
  virtual void begin_stop() = 0;
  virtual void terminate() = 0;
  /// Writes what after_broadcast_queue held for the end of the turn (worker::flush_due).
  virtual void flush_turn() = 0;
  connection_base* next_connection() const noexcept { return next_; }

  // The worker's intrusive list (touched on its thread only).
  connection_base* prev_ = nullptr;
  connection_base* next_ = nullptr;
};

/// A plain TCP stream: read by waiting for readiness and draining the non-blocking socket into
/// the worker's shared buffer (no read buffer per connection), written with gathered writes.
class plain_stream {
 public:
  /// No handshake; reads drain the socket itself (see basic_connection::read_ready).
  static constexpr bool drains_socket = true;
  explicit plain_stream(asio::ip::tcp::socket s) : sock_(std::move(s)) {}
  asio::ip::tcp::socket& socket() noexcept { return sock_; }

 private:
  asio::ip::tcp::socket sock_;
};

/// `Stream` is plain_stream or (net/tls.hpp) tls_stream: a template parameter rather than a
/// virtual byte stream, so the plain path compiles to exactly what it was before TLS existed.
/// A stream with `drains_socket == false` provides async_handshake, async_read_some (into its
/// own buffer), async_write (one contiguous buffer) and async_shutdown.
template <class Stream>
class basic_connection final : public connection_base,
                               public deadline_entry,
                               public answer_sink,
                               public ws_sink,
                               public std::enable_shared_from_this<basic_connection<Stream>> {
 public:
  using tcp = asio::ip::tcp;
  using std::enable_shared_from_this<basic_connection<Stream>>::shared_from_this;

  template <class... StreamArgs>
  basic_connection(std::shared_ptr<worker> w, StreamArgs&&... stream_args)
      : keep_(std::move(w)),
        w_(*keep_),
        stream_(std::forward<StreamArgs>(stream_args)...),
        parser_(request_limits{w_.opts.max_header_bytes, w_.opts.max_headers, w_.opts.max_body_bytes}) {}

  ~basic_connection() override {
    if (con_ && !ws_down_) {
      dead_ = true;
      con_->eof();  // breaks websocketpp's connection <-> read handler cycle
    }
    unregister();
  }

  /// On the worker's thread, right after accept.
  void start() {
    asio::error_code ec;
    remote_ = stream_.socket().remote_endpoint(ec);
    stream_.socket().set_option(tcp::no_delay(true), ec);
    stream_.socket().non_blocking(true, ec);
    next_ = w_.first;
    if (next_) next_->prev_ = this;
    w_.first = this;
    linked_ = true;
    ++w_.connections;
    if constexpr (Stream::drains_socket) {
      set_deadline(kind::request, w_.opts.request_timeout);
      read_ready();
    } else {
      // TLS: the handshake under its own deadline (a client that connects and sends nothing, or
      // a handshake byte at a time, is closed by it); HTTP starts once it is done.
      set_deadline(kind::handshake, stream_.handshake_timeout());
      stream_.async_handshake([self = shared_from_this()](const asio::error_code& e) {
        if (self->dead_) return;
        if (e) {
          // Plain HTTP to a TLS port, garbage, a client that rejects the certificate: this
          // connection only.
          self->w_.log.warn([&] { return "net: TLS handshake with " + self->peer() + " failed: " + e.message(); });
          return self->terminate();
        }
        self->set_deadline(kind::request, self->w_.opts.request_timeout);
        self->arm_wait();
      });
    }
  }

  /// host::stop(): HTTP connections finish the answers they owe, then close; WebSockets get a
  /// 1001 close frame.
  void begin_stop() override {
    if (dead_) return;
    if (mode_ == mode::websocket) {
      if (ws_is_open_) ws_close(1001, "server stopping");
      // A close already under way (a handler's, just before stop) finishes under its deadline
      // and the stop grace: terminating here would drop its close frame unsent.
      else if (!ws_opened_) terminate();
      return;
    }
    stop_parsing_ = true;
    held_.clear();
    if (slots_.empty() && !writing_ && out_.empty()) terminate();
  }

  /// Closes the socket now (no more output); idempotent.
  void terminate() override {
    if (dead_) return;
    dead_ = true;
    ws_is_open_ = false;
    w_.wheel.disarm(*this);
    if (con_ && !ws_down_) {
      in_batch_ = true;
      con_->eof();  // websocketpp ends the connection (its callbacks see dead_)
      in_batch_ = false;
    }
    notify_ws_close();
    // on_close was the handler's last event: let it go (it may hold handles to this connection).
    wsh_.reset();
    self_handle_ = websocket();
    asio::error_code ec;
    stream_.socket().close(ec);
    abort_pending();
    slots_.clear();
    held_.clear();
    out_.clear();
    unregister();
  }

  bool open() const noexcept override { return !dead_; }

  void on_abort(std::uint64_t seq, std::function<void()> f) override {
    if (w_.stopped) return;
    if (!on_thread()) {
      asio::post(w_.io, [self = shared_from_this(), seq, f = std::move(f)]() mutable { self->on_abort(seq, std::move(f)); });
      return;
    }
    for (auto& x : slots_)
      if (x.seq == seq && !x.ready) {
        x.abort = std::move(f);
        return;
      }
    if (dead_ && f) f();  // already gone
  }

  // --- answers (any thread) ---
  void answer(std::uint64_t seq, int status, std::string fields, std::string body,
              std::shared_ptr<const std::string> shared, bool close) override {
    if (w_.stopped) return;
    if (!on_thread()) {
      asio::post(w_.io, [self = shared_from_this(), seq, status, f = std::move(fields), b = std::move(body),
                         s = std::move(shared), close]() mutable {
        self->answer(seq, status, std::move(f), std::move(b), std::move(s), close);
      });
      return;
    }
    if (dead_ || mode_ != mode::http) return;
    slot* s = nullptr;
    for (auto& x : slots_)
      if (x.seq == seq) s = &x;
    if (!s || s->ready) return;
    s->ready = true;
    s->abort = nullptr;
    if (close || w_.stopping) s->close = true;
    std::string& h = s->head;
    h.reserve(64 + fields.size());
    h += s->minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
    h += std::to_string(status);
    h += ' ';
    h += portico::detail::reason_phrase(status);
    h += "\r\n";
    h += fields;
    const bool bodiless = status < 200 || status == 204 || status == 304;
    if (!bodiless) {
      h += "Content-Length: ";
      h += std::to_string(shared ? shared->size() : body.size());
      h += "\r\n";
    }
    if (s->close) h += "Connection: close\r\n";
    else if (s->minor == 0) h += "Connection: keep-alive\r\n";
    h += "\r\n";
    if (!s->head_only && !bodiless) {
      s->body = std::move(body);
      s->shared = std::move(shared);
    }
    release_ready();
    if (!in_batch_) after_output();
  }

  // --- WebSocket handle (any thread) ---
  void ws_send(std::string_view payload, bool binary) override {
    if (!on_thread()) {
      if (w_.stopped) return;
      asio::post(w_.io, [self = shared_from_this(), p = std::string(payload), binary] { self->ws_send(p, binary); });
      return;
    }
    if (!ws_is_open_ || overflow_ || con_->get_state() != websocketpp::session::state::open) return;
    // Server frames are unmasked and websocketpp keeps no state about outgoing data frames, so
    // the host frames them itself straight into the output queue (one copy, no message object).
    namespace fr = websocketpp::frame;
    const auto op = binary ? fr::opcode::binary : fr::opcode::text;
    fr::basic_header bh(op, payload.size(), true, false);
    fr::extended_header eh(payload.size());
    const std::size_t hl = fr::get_header_len(bh);
    char head[fr::BASIC_HEADER_LENGTH + fr::MAX_EXTENDED_HEADER_LENGTH];
    head[0] = static_cast<char>(bh.b0);
    head[1] = static_cast<char>(bh.b1);
    std::memcpy(head + fr::BASIC_HEADER_LENGTH, eh.bytes, hl - fr::BASIC_HEADER_LENGTH);
    queue_copy(head, hl, payload.data(), payload.size());
  }
  void ws_send(shared_frame frame) override {
    if (!on_thread()) {
      if (w_.stopped) return;
      asio::post(w_.io, [self = shared_from_this(), f = std::move(frame)]() mutable { self->ws_send(std::move(f)); });
      return;
    }
    if (!ws_is_open_ || overflow_ || con_->get_state() != websocketpp::session::state::open) return;
    out_bytes_ += frame->size();
    out_.push_back(piece{std::string(), std::move(frame)});
    after_broadcast_queue();
  }
  void ws_close(std::uint16_t code, std::string_view reason) override {
    if (!on_thread()) {
      if (w_.stopped) return;
      asio::post(w_.io, [self = shared_from_this(), code, r = std::string(reason)] { self->ws_close(code, r); });
      return;
    }
    if (!ws_is_open_ || !con_) return;
    ws_is_open_ = false;
    // A close reason is at most 123 bytes (RFC 6455 5.5); cut at a UTF-8 character boundary.
    if (reason.size() > websocketpp::frame::limits::close_reason_size) {
      reason = reason.substr(0, websocketpp::frame::limits::close_reason_size);
      std::size_t end = reason.size();
      while (end > 0 && (static_cast<unsigned char>(reason[end - 1]) & 0xC0) == 0x80) --end;
      if (end > 0 && static_cast<unsigned char>(reason[end - 1]) >= 0xC0) --end;  // its lead byte
      reason = reason.substr(0, end);
    }
    websocketpp::lib::error_code ec;
    con_->close(code, std::string(reason), ec);
    arm_close_deadline();
    if (!in_batch_) after_output();
  }
  bool ws_open() const noexcept override { return ws_is_open_; }
  std::size_t ws_buffered() const noexcept override { return out_bytes_; }
  const void* ws_home() const noexcept override { return &w_; }
  bool ws_on_home() const noexcept override { return on_thread(); }
  void ws_post(std::function<void()> f) override {
    if (!w_.stopped) asio::post(w_.io, std::move(f));
  }

 private:
  enum class mode : unsigned char { http, websocket };
  enum class kind : unsigned char { none, handshake, request, idle, ws_handshake, ws_close, linger };

  /// One request's place in the pipeline; answered slots leave from the front, in order.
  struct slot {
    std::uint64_t seq = 0;
    int minor = 1;
    bool ready = false, close = false, head_only = false;
    std::string head, body;
    std::shared_ptr<const std::string> shared;
    std::function<void()> abort;  ///< response::on_abort
  };
  /// A piece of output: owned bytes (coalesced appends) or a shared frame/body.
  struct piece {
    std::string own;
    std::shared_ptr<const std::string> shared;
    asio::const_buffer buffer() const noexcept {
      return shared ? asio::buffer(*shared) : asio::buffer(own);
    }
  };

  void push_slot() {
    slot s;
    s.seq = next_seq_++;
    slots_.push_back(std::move(s));
  }

  bool on_thread() const noexcept { return w_.io.get_executor().running_in_this_thread(); }

  void set_deadline(kind k, std::chrono::milliseconds after) {
    deadline_ = k;
    if (k == kind::none) w_.wheel.disarm(*this);
    else w_.wheel.arm(*this, after);
  }

  void on_deadline() override {
    auto self = shared_from_this();
    const kind k = deadline_;
    deadline_ = kind::none;
    switch (k) {
      case kind::request:
        w_.log.warn([&] { return "net: request from " + peer() + " not complete within request_timeout: closing"; });
        if (mode_ == mode::http && slots_.empty() && !writing_ && out_.empty()) {
          parser_.reset();
          stop_parsing_ = true;
          push_slot();
          answer(slots_.back().seq, 408, "Content-Type: text/plain\r\n", "Request Timeout", nullptr, true);
          return;
        }
        break;
      case kind::handshake:
        w_.log.warn([&] { return "net: TLS handshake with " + peer() + " not complete within handshake_timeout: closing"; });
        break;
      case kind::idle: break;
      case kind::ws_handshake:
        w_.log.warn([&] { return "net: websocket handshake from " + peer() + " timed out"; });
        break;
      case kind::ws_close:
        if (ws_down_)  // not a slow goodbye: megabytes the peer never took
          w_.log.warn([&] {
            return "net: websocket close with " + peer() +
                   ": last frames not taken within websocket_close_timeout (the peer does not read)";
          });
        else
          w_.log.info([&] { return "net: websocket close handshake with " + peer() + " timed out"; });
        break;
      case kind::linger:
      case kind::none: break;
    }
    terminate();
  }

  // --- reading ---
  bool read_paused() const noexcept {
    if (dead_) return true;
    if (lingering_) return false;
    if (mode_ == mode::websocket) return ws_down_;
    return stop_parsing_ || !held_.empty() || slots_.size() >= w_.opts.max_pipelined;
  }

  void read_ready() {
    if constexpr (!Stream::drains_socket) {
      return arm_wait();  // the stream reads asynchronously: nothing to drain
    }
    auto self = shared_from_this();
    in_batch_ = true;
    char* buf = w_.read_buf.get();
    while (!read_paused()) {
      asio::error_code ec;
      const std::size_t n = stream_.socket().read_some(asio::buffer(buf, worker::read_buffer_size), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        in_batch_ = false;
        on_eof();
        return;
      }
      if (!lingering_) consume(buf, n);
      if (n < worker::read_buffer_size) break;
    }
    in_batch_ = false;
    after_output();
  }

  void arm_wait() {
    if (dead_ || waiting_) return;
    if (read_paused()) {
      was_paused_ = true;
      return;
    }
    if constexpr (!Stream::drains_socket) {
      // One asynchronous read at a time into the stream's own buffer (decrypted bytes cannot go
      // to the worker's shared one: a read may complete in a later turn). While lingering the
      // stream's shutdown does the reading.
      if (lingering_) return;
      waiting_ = true;
      stream_.async_read_some([self = shared_from_this()](const asio::error_code& ec, const char* p, std::size_t n) {
        self->waiting_ = false;
        if (self->dead_) return;
        if (self->lingering_) return self->close_tls();  // cancelled (or input nobody reads)
        if (ec) {
          self->w_.log.debug([&] { return "net: TLS read from " + self->peer() + " ended: " + ec.message(); });
          return self->on_eof();
        }
        self->in_batch_ = true;
        self->consume(p, n);
        self->in_batch_ = false;
        self->after_output();
      });
      return;
    }
    waiting_ = true;
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](const asio::error_code& ec) {
      self->waiting_ = false;
      if (ec) {
        if (ec != asio::error::operation_aborted) self->terminate();
        return;
      }
      self->read_ready();
    });
  }

  void on_eof() {
    if (mode_ == mode::websocket && con_ && !ws_down_ && !dead_) {
      in_batch_ = true;
      con_->eof();
      in_batch_ = false;
    }
    terminate();
  }

  void consume(const char* p, std::size_t n) {
    while (n > 0 && !dead_) {
      if (mode_ == mode::websocket) return feed_ws(p, n);
      if (stop_parsing_) return;  // bytes after a closing request or an error are nobody's
      if (!held_.empty() || slots_.size() >= w_.opts.max_pipelined) {
        held_.append(p, n);  // resumed once answers go out
        return;
      }
      const std::size_t k = parser_.feed(p, n);
      p += k;
      n -= k;
      if (parser_.current() == request_parser::state::failed) return reject();
      if (parser_.current() == request_parser::state::body && !continued_) expect_continue();
      if (parser_.current() == request_parser::state::done) {
        continued_ = false;
        dispatch(parser_.take());
      }
    }
  }

  /// `Expect: 100-continue` (curl for bodies over 1 KB): say go ahead, unless earlier answers are
  /// still owed (an interim answer must not overtake them; the client then sends after its own
  /// short wait).
  void expect_continue() {
    continued_ = true;
    if (!slots_.empty() || parser_.partial().minor_version() == 0 ||
        !portico::detail::iequals(parser_.partial().header("expect"), "100-continue"))
      return;
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    out_.push_back(piece{std::string(interim, sizeof interim - 1), nullptr});
    out_bytes_ += sizeof interim - 1;
  }

  void reject() {
    const int status = parser_.error_status();
    w_.log.warn([&] { return "net: " + std::to_string(status) + " to " + peer() + ": " + parser_.error_reason(); });
    parser_.reset();
    stop_parsing_ = true;
    held_.clear();
    push_slot();
    answer(slots_.back().seq, status, "Content-Type: text/plain\r\n", portico::detail::reason_phrase(status), nullptr, true);
  }

  void dispatch(request r) {
    ++served_;
    r.set_remote_endpoint(remote_);
    r.set_io_context(&w_.io);
    handler* h = w_.mounts.find(r.path());
    slot s;
    s.seq = next_seq_++;
    s.minor = r.minor_version();
    s.close = !r.keep_alive() || w_.stopping;
    s.head_only = r.method() == "HEAD";
    if (s.close) stop_parsing_ = true;
    if (r.is_websocket_upgrade()) {
      upgrade u;
      if (!slots_.empty()) {
        u.status = 400;
        u.body = "upgrade behind unanswered requests";
      } else if (h) {
        try {
          u = h->on_upgrade(r);
        } catch (const std::exception& e) {
          w_.log.error(std::string("net: upgrade handler threw: ") + e.what());
          u = upgrade{nullptr, 500, {}};
        } catch (...) {
          u = upgrade{nullptr, 500, {}};
        }
      }
      if (u.accept) return start_websocket(std::move(r), std::move(u.accept));
      slots_.push_back(std::move(s));
      return answer(slots_.back().seq, u.status, "Content-Type: text/plain\r\n", std::move(u.body), nullptr, false);
    }
    const std::uint64_t seq = s.seq;
    slots_.push_back(std::move(s));
    if (!h) return answer(seq, 404, "Content-Type: text/plain\r\n", "Not Found", nullptr, false);
    try {
      h->on_request(std::move(r), response(shared_from_this(), seq));
    } catch (const std::exception& e) {
      // The response was a parameter: destroyed by now, it answered 500 if unsent.
      w_.log.error(std::string("net: request handler threw: ") + e.what());
    } catch (...) {
      w_.log.error("net: request handler threw");
    }
  }

  // --- WebSocket ---
  void start_websocket(request r, std::shared_ptr<websocket_handler> h) {
    mode_ = mode::websocket;
    wsh_ = std::move(h);
    con_ = w_.ws.get_connection();
    basic_connection* self = this;
    using hdl = websocketpp::connection_hdl;
    con_->set_write_handler([self](hdl, const char* p, std::size_t n) {
      self->queue_copy(p, n, nullptr, 0);
      return websocketpp::lib::error_code();
    });
    con_->set_vector_write_handler([self](hdl, const std::vector<websocketpp::transport::buffer>& bufs) {
      for (auto& b : bufs) self->queue_copy(b.buf, b.len, nullptr, 0);
      return websocketpp::lib::error_code();
    });
    // The close handshake is over (or the protocol failed): write what is queued, then close.
    con_->set_shutdown_handler([self](hdl) {
      self->ws_down_ = true;
      self->ws_is_open_ = false;
      self->closing_ = true;
      self->arm_close_deadline();
      if (!self->dead_ && !self->in_batch_)
        asio::post(self->w_.io, [s = self->shared_from_this()] { s->after_output(); });
      return websocketpp::lib::error_code();
    });
    con_->set_open_handler([self](hdl) {
      self->ws_opened_ = self->ws_is_open_ = true;
      self->set_deadline(kind::none, {});
      release_handshake(*self->con_);
      self->self_handle_ = websocket(self->shared_from_this());
      self->guarded([&] { self->wsh_->on_open(self->self_handle_); });
    });
    con_->set_message_handler([self](hdl, detail::ws_endpoint::message_ptr m) {
      if (self->dead_) return;
      const bool binary = m->get_opcode() == websocketpp::frame::opcode::binary;
      self->guarded([&] { self->wsh_->on_message(self->self_handle_, m->get_raw_payload(), binary); });
    });
    // The code the peer sent; when it sent none (websocketpp failed the connection: 1002, 1007,
    // 1009 are terminal there, the TCP connection is dropped after the close frame) the one sent.
    con_->set_close_handler([self](hdl) {
      namespace cs = websocketpp::close::status;
      const auto remote = self->con_->get_remote_close_code();
      const bool got = remote != cs::no_status && remote != cs::abnormal_close && remote != cs::blank;
      self->close_code_ = got ? remote : self->con_->get_local_close_code();
      self->close_reason_ = got ? self->con_->get_remote_close_reason() : self->con_->get_local_close_reason();
    });
    con_->set_fail_handler([self](hdl) {
      self->close_code_ = self->con_->get_local_close_code();
      self->close_reason_ = self->con_->get_local_close_reason();
    });
    set_deadline(kind::ws_handshake, w_.opts.websocket_handshake_timeout);
    con_->start();
    feed_ws(r.raw_head().data(), r.raw_head().size());
    if (!r.body().empty()) feed_ws(r.body().data(), r.body().size());
  }

  /// websocketpp keeps the handshake's parsed request and response (header maps, body, raw
  /// text) for the connection's whole life, though after the open only its failure log reads
  /// them (bench/README.md, idle memory: ~0.9 KB per connection with a bare client's headers,
  /// several KB with a browser's). The handler has the host's own request. The objects are not
  /// const, only the accessors are: resetting them through the reference is well defined.
  template <class Con>
  static void release_handshake(Con& c) {
    using request_type = typename Con::request_type;
    using response_type = typename Con::response_type;
    const_cast<request_type&>(c.get_request()) = request_type();
    const_cast<response_type&>(c.get_response()) = response_type();
  }

  /// The client left: tell the handlers still holding unanswered requests (once each).
  void abort_pending() {
    for (auto& x : slots_) {
      if (x.ready || !x.abort) continue;
      auto f = std::move(x.abort);
      x.abort = nullptr;
      try {
        f();
      } catch (const std::exception& e) {
        w_.log.error(std::string("net: on_abort threw: ") + e.what());
      } catch (...) {
        w_.log.error("net: on_abort threw");
      }
    }
  }

  /// Runs user code; an exception closes the WebSocket with 1011 and is logged once.
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      w_.log.error(std::string("net: websocket handler threw: ") + e.what());
      ws_close(1011, "internal error");
    } catch (...) {
      w_.log.error("net: websocket handler threw");
      ws_close(1011, "internal error");
    }
  }

  /// websocketpp takes at most connection_read_buffer_size per call, and 0 once it stops reading.
  void feed_ws(const char* p, std::size_t n) {
    while (n && !dead_ && !ws_down_) {
      const std::size_t k = con_->read_some(p, n);
      if (k == 0) {
        // After failing a connection (invalid UTF-8 -> 1007, bad frame -> 1002) websocketpp has
        // sent its close frame and reads no more: the host finishes the close (flush, half-close,
        // wait for the peer's FIN under the linger deadline).
        if (con_->get_state() == websocketpp::session::state::closing) {
          close_code_ = con_->get_local_close_code();
          close_reason_ = con_->get_local_close_reason();
          ws_down_ = closing_ = true;
          ws_is_open_ = false;
        }
        break;
      }
      p += k;
      n -= k;
    }
    if (!dead_ && (ws_down_ || con_->get_state() == websocketpp::session::state::closing)) arm_close_deadline();
  }

  /// A closing WebSocket has websocket_close_timeout for the closing handshake and its last
  /// frames. Also once websocketpp is done (ws_down_, sometimes already inside con_->close()):
  /// the close frame may sit behind output a peer that does not read never takes, and the
  /// write would wait forever (seen as a 1008 "send buffer full" that never ended).
  void arm_close_deadline() {
    if (dead_ || lingering_ || deadline_ == kind::ws_close) return;
    set_deadline(kind::ws_close, w_.opts.websocket_close_timeout);
  }

  void notify_ws_close() {
    if (!ws_opened_ || close_notified_) return;
    close_notified_ = true;
    std::uint16_t code = close_code_;
    if (code == websocketpp::close::status::no_status || code == websocketpp::close::status::blank) code = 1006;
    guarded([&] { wsh_->on_close(code, close_reason_); });
  }

  // --- writing ---
  /// Appends [a, a+an) + [b, b+bn) to the output, into the last owned piece when it has room.
  void queue_copy(const char* a, std::size_t an, const char* b, std::size_t bn) {
    if (dead_ || overflow_) return;
    if (out_.empty() || out_.back().shared || out_.back().own.size() >= 64 * 1024) out_.emplace_back();
    std::string& s = out_.back().own;
    s.append(a, an);
    if (bn) s.append(b, bn);
    out_bytes_ += an + bn;
    after_queue();
  }

  void after_queue() {
    if (out_bytes_ > w_.opts.max_output_bytes && !overflow_) {
      overflow_ = true;
      w_.log.warn([&] {
        return "net: " + peer() + " does not read: " + std::to_string(out_bytes_) +
               " bytes queued (max_output_bytes); closing";
      });
      // Possibly inside a websocketpp callback: close from a fresh stack.
      asio::post(w_.io, [self = shared_from_this()] { self->terminate(); });
      return;
    }
    if (!in_batch_) flush();
  }

  /// A broadcast frame queued from outside this connection's own read batch: written at the end
  /// of this event-loop turn, so the frames of one turn leave in one gathered write (a
  /// broadcaster's read batch often holds several events: writing the first at once sent two
  /// writes per four frames; bench/README.md). Other output is written at once, as before.
  void after_broadcast_queue() {
    if (out_bytes_ > w_.opts.max_output_bytes || in_batch_ || writing_ || w_.stopped) return after_queue();
    if (flush_posted_) return;
    flush_posted_ = true;
    // One job per worker and turn drains every connection due (a broadcast to 1000 receivers
    // posted 1000 jobs before).
    w_.flush_due.push_back(shared_from_this());
    if (w_.flush_due.size() == 1) asio::post(w_.io, [&w = w_] { flush_due_connections(w); });
  }

  void flush_turn() override {
    flush_posted_ = false;
    flush();
  }

  /// Answered slots at the front go to the output, in request order.
  void release_ready() {
    while (!slots_.empty() && slots_.front().ready) {
      slot s = std::move(slots_.front());
      slots_.erase(slots_.begin());
      out_bytes_ += s.head.size() + s.body.size() + (s.shared ? s.shared->size() : 0);
      out_.push_back(piece{std::move(s.head), nullptr});
      if (!s.body.empty()) out_.push_back(piece{std::move(s.body), nullptr});
      if (s.shared && !s.shared->empty()) out_.push_back(piece{std::string(), std::move(s.shared)});
      if (s.close) {
        closing_ = stop_parsing_ = true;
        slots_.clear();
        held_.clear();
        break;
      }
    }
  }

  /// After a read batch, a write or an answer from outside one: write, re-arm the deadline,
  /// resume a paused pipeline, wait for input.
  void after_output() {
    if (dead_) return;
    flush();
    if (dead_) return;
    update_deadline();
    if (mode_ == mode::http && !stop_parsing_ && !held_.empty() && slots_.size() < w_.opts.max_pipelined) {
      std::string bytes = std::move(held_);
      held_.clear();
      in_batch_ = true;
      consume(bytes.data(), bytes.size());
      in_batch_ = false;
      return after_output();
    }
    if (was_paused_ && !waiting_ && !read_paused()) {
      // Bytes that arrived while paused had their edge reported already: drain before waiting.
      was_paused_ = false;
      return read_ready();
    }
    arm_wait();
  }

  void flush() {
    if (writing_ || dead_) return;
    if (out_.empty()) {
      if (closing_ && !lingering_) begin_linger();
      return;
    }
    writing_ = true;
    inflight_.swap(out_);
    if constexpr (!Stream::drains_socket) {
      // TLS writes one buffer per record: gather the pieces into one buffer (a copy is cheap
      // next to the encryption) rather than one record per piece.
      std::string& all = stream_.write_buffer();
      all.clear();
      for (auto& p : inflight_) all.append(static_cast<const char*>(p.buffer().data()), p.buffer().size());
      stream_.async_write([self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        self->writing_ = false;
        self->out_bytes_ -= std::min(n, self->out_bytes_);
        self->inflight_.clear();
        self->stream_.release_write_buffer();
        if (ec) {
          self->w_.log.debug([&] { return "net: TLS write to " + self->peer() + " failed: " + ec.message(); });
          return self->terminate();
        }
        self->after_output();
      });
      return;
    }
    bufs_.clear();
    for (auto& p : inflight_) bufs_.push_back(p.buffer());
    asio::async_write(stream_.socket(), bufs_, [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      self->writing_ = false;
      self->out_bytes_ -= std::min(n, self->out_bytes_);
      self->inflight_.clear();
      if (ec) return self->terminate();
      self->after_output();
    });
  }

  /// Half-close and read until the peer closes (bounded): closing with unread input would reset
  /// the connection and could destroy the last answer before the client reads it.
  void begin_linger() {
    lingering_ = true;
    held_.clear();
    set_deadline(kind::linger, w_.opts.linger_timeout);
    if constexpr (!Stream::drains_socket) {
      // TLS: close_notify, then read until the peer's (the stream's shutdown does both). A read
      // in progress is cancelled first (its handler then calls close_tls): one reader at a time.
      if (waiting_) {
        asio::error_code ec;
        stream_.socket().cancel(ec);
      } else {
        close_tls();
      }
      return;
    }
    asio::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  /// The end of a lingering TLS connection: close_notify both ways (bounded by the linger
  /// deadline), then close.
  void close_tls() {
    if constexpr (!Stream::drains_socket) {
      if (dead_ || tls_closing_) return;
      tls_closing_ = true;
      stream_.async_shutdown([self = shared_from_this()](const asio::error_code&) { self->terminate(); });
    }
  }

  void update_deadline() {
    if (dead_ || lingering_ || mode_ == mode::websocket) return;
    if (parser_.in_progress()) {
      if (deadline_ != kind::request) set_deadline(kind::request, w_.opts.request_timeout);
    } else if (slots_.empty() && !writing_ && out_.empty()) {
      // Before the first request the accept's request deadline stands.
      if (deadline_ != kind::idle && served_ > 0) set_deadline(kind::idle, w_.opts.idle_timeout);
    } else if (deadline_ != kind::none) {
      set_deadline(kind::none, {});  // the handler has the request (it may be a long-poll)
    }
  }

  void unregister() noexcept {
    if (!linked_) return;
    linked_ = false;
    if (prev_) prev_->next_ = next_;
    else w_.first = next_;
    if (next_) next_->prev_ = prev_;
    prev_ = next_ = nullptr;
    --w_.connections;
    if (w_.stopping && w_.connections == 0) {  // host::stop() waits for this
      w_.ticker.cancel();
      w_.grace.cancel();
    }
  }

  std::string peer() const {
    asio::error_code ec;
    return remote_.address().to_string(ec) + ":" + std::to_string(remote_.port());
  }

  std::shared_ptr<worker> keep_;
  worker& w_;
  Stream stream_;
  tcp::endpoint remote_;
  request_parser parser_;
  std::vector<slot> slots_;
  std::string held_;  ///< input behind a full pipeline
  std::vector<piece> out_, inflight_;
  std::vector<asio::const_buffer> bufs_;
  std::size_t out_bytes_ = 0;
  std::uint64_t next_seq_ = 0, served_ = 0;

  ws_connection_ptr con_;
  std::shared_ptr<websocket_handler> wsh_;
  websocket self_handle_;  ///< reset on terminate (it keeps this connection alive)
  std::string close_reason_;
  std::uint16_t close_code_ = 1006;

  std::atomic<bool> dead_{false};
  std::atomic<bool> ws_is_open_{false};
  mode mode_ = mode::http;
  kind deadline_ = kind::none;
  bool in_batch_ = false, waiting_ = false, writing_ = false, was_paused_ = false;
  bool stop_parsing_ = false, closing_ = false, lingering_ = false, overflow_ = false, linked_ = false;
  bool ws_down_ = false, ws_opened_ = false, close_notified_ = false, continued_ = false, tls_closing_ = false;
  bool flush_posted_ = false;  ///< a flush at the end of this turn is queued (after_broadcast_queue)
};

using connection = basic_connection<plain_stream>;

inline void flush_due_connections(worker& w) {
  // Swapped out first: a flush may queue the next turn's work (the list keeps its capacity).
  w.flush_draining.swap(w.flush_due);
  for (auto& c : w.flush_draining) c->flush_turn();
  w.flush_draining.clear();
}

}  // namespace portico::net::detail
