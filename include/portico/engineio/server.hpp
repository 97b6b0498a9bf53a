#pragma once
/// Engine.IO server: HTTP long-polling and WebSocket transports on websocketpp + standalone Asio.
///
/// Threading (docs/design.md): `threads` workers, each one io_context + one thread + one
/// websocketpp endpoint (lock-free config) listening on the same port with SO_REUSEPORT.
/// A session lives on its *home* worker; all its state is touched only there. Requests and
/// frames that arrive elsewhere are posted home; HTTP responses are posted back to the worker
/// that owns the HTTP connection. When a session upgrades to a WebSocket accepted by another
/// worker, its home moves to that worker so websocket traffic never hops threads.
#include "../detail/ascii.hpp"
#include "../detail/random.hpp"
#include "../detail/utf8.hpp"
#include "../log.hpp"
#include "close_reason.hpp"
#include "codec.hpp"
#include "cors.hpp"
#include "../net/host.hpp"
#include "detail/core.hpp"
#include "detail/host_handler.hpp"
#include "detail/requests.hpp"
#include "detail/worker.hpp"
#include "detail/ws_config.hpp"
#include "handshake.hpp"
#include "message.hpp"
#include "options.hpp"
#include "socket.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portico::engineio {
class server {
 public:
  explicit server(server_options o = {}) : core_(std::make_shared<detail::core>(std::move(o))) {}
  ~server() {
    stop();
    // Destroying the workers destroys what is still queued on them, which breaks the
    // session -> core -> worker -> queued handler -> session cycles.
    core_->destroyed = true;
    core_->workers.clear();
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Handlers run on the session's home worker. Set them before start().
  void on_open(std::function<void(const socket_ptr&)> f) { core_->on_open = std::move(f); }
  void on_message(std::function<void(const socket_ptr&, message&&)> f) { core_->on_message = std::move(f); }
  void on_close(std::function<void(const socket_ptr&, close_reason)> f) { core_->on_close = std::move(f); }
  /// Plain HTTP requests outside `path`: return true when handled (response set or deferred);
  /// otherwise the server answers 404.
  void on_http(std::function<bool(const http_connection_ptr&)> f) { core_->on_http = std::move(f); }
  /// WebSocket upgrades outside `path`, from websocketpp's validate handler: return false to
  /// refuse with the status set on the connection (websocketpp answers 400 if none), true to
  /// accept after setting the connection's open/message/close handlers.
  void on_websocket(std::function<bool(const http_connection_ptr&)> f) { core_->on_websocket = std::move(f); }
  /// Runs once at the start of stop(), before the sessions close: the owner of the connections
  /// on_websocket accepted closes them here (they are not Engine.IO sessions).
  void on_stop(std::function<void()> f) { core_->on_stop = std::move(f); }

  /// The engine as a handler to mount on a `net::host` at options().path (and the same path
  /// without its trailing slash): polling with HTTP/1.1 keep-alive, WebSockets on the host's
  /// connections, other paths on one port with the engine. Requests outside the engine path go to
  /// `fallback` (404 without one). Either this or listen(), not both. The host must be stopped
  /// before the server is destroyed.
  std::shared_ptr<net::handler> handler(std::shared_ptr<net::handler> fallback = nullptr) {
    // The host's threads become workers on their first request; each gets its block then.
    if (core_->opts.metrics && !core_->stats) core_->stats = std::make_unique<metrics::registry>();
    return std::make_shared<detail::host_handler>(core_, std::move(fallback));
  }
  /// Mounts handler() on `h` at the engine path (both spellings of it).
  void mount(net::host& h, std::shared_ptr<net::handler> fallback = nullptr) {
    auto hd = handler(std::move(fallback));
    std::string p = core_->opts.path;
    if (p.size() > 1 && p.back() == '/') h.mount(p.substr(0, p.size() - 1), hd);
    h.mount(p, hd);
  }

  const server_options& options() const { return core_->opts; }
  portico::logger& log() { return core_->log; }

  /// Binds every worker to host:port (port 0 = ephemeral, shared by all workers).
  void listen(const std::string& host, std::uint16_t port) {
    auto& c = *core_;
    if (c.opts.use_host) {
      if (!host_) {
        net::host_options ho;
        ho.threads = c.opts.threads;
        // As websocketpp's endpoint allowed: a polling POST carries up to twice max_payload.
        ho.max_body_bytes = std::max<std::size_t>(ho.max_body_bytes, c.opts.max_payload * 2 + 1024);
        ho.max_message_bytes = c.opts.max_payload;
        ho.stop_timeout = c.opts.stop_grace;
        host_ = std::make_unique<net::host>(ho);
        mount(*host_);
      }
      const std::uint16_t bound = host_->listen(host, port);
      if (!port_) port_ = bound;
      return;
    }
    unsigned n = c.opts.threads ? c.opts.threads : std::max(1u, std::thread::hardware_concurrency());
    asio::ip::address addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host);
    for (unsigned i = 0; i < n; ++i) {
      auto w = std::make_unique<detail::worker>(i);
      setup_endpoint(*w);
      asio::ip::tcp::endpoint ep(addr, port);
      w->ep.listen(ep);
      if (port == 0) {
        asio::error_code ec;
        port = w->ep.get_local_endpoint(ec).port();
      }
      c.workers.push_back(std::move(w));
    }
    port_ = port;
    if (c.opts.metrics) {
      if (!c.stats) c.stats = std::make_unique<metrics::registry>();
      for (auto& w : c.workers)
        if (!w->stats) w->stats = c.stats->add_worker();
    }
    for (auto& w : c.workers) w->ep.start_accept();
  }

  std::uint16_t port() const { return port_; }

  /// Runs the workers on background threads.
  void start() {
    if (host_) host_->start();
    if (started_.exchange(true)) return;
    for (auto& wp : core_->workers) guards_.emplace_back(wp->ioc.get_executor());
    for (auto& wp : core_->workers) {
      auto* w = wp.get();
      {
        std::lock_guard<std::mutex> g(run_mu_);
        ++running_;
      }
      w->thread = std::thread([this, w] {
        w->run(core_->log);
        std::lock_guard<std::mutex> g(run_mu_);
        --running_;
        run_cv_.notify_all();
      });
    }
  }

  /// start() and block until stop().
  void run() {
    start();
    {
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait(g, [&] { return stop_requested_ || stopped_; });
    }
    stop();
  }

  /// Idempotent and thread-safe: stop accepting, close every session, join the threads.
  /// Called from a handler (a worker thread) it only initiates; the destructor joins.
  void stop() {
    auto& c = *core_;
    if (!c.stopping.exchange(true)) {
      for (auto& w : c.workers) {
        asio::post(w->ioc, [wp = w.get()] {
          websocketpp::lib::error_code ec;
          wp->ep.stop_listening(ec);
        });
      }
      if (c.on_stop) c.on_stop();
      std::vector<socket_ptr> all;
      {
        std::lock_guard<std::mutex> g(c.table_mu);
        for (auto& kv : c.table) all.push_back(kv.second);
      }
      for (auto& s : all) {
        auto sp = s;
        s->post([sp] { sp->close_with(close_reason::forced); });
      }
      {
        std::lock_guard<std::mutex> g(run_mu_);
        stop_requested_ = true;
      }
      run_cv_.notify_all();
    }
    bool on_worker = false;
    for (auto& w : c.workers) on_worker = on_worker || w->running_here();
    if (on_worker) return;
    std::lock_guard<std::mutex> join_guard(join_mu_);
    if (started_ && !stopped_) {
      // Two rounds through every worker: the first runs the closes, the second the HTTP
      // responses and close frames they posted to other workers.
      auto deadline = std::chrono::steady_clock::now() + c.opts.stop_grace;
      detail::barrier(c.workers, deadline);
      detail::barrier(c.workers, deadline);
      // Deferred HTTP connections are not asio work: the guards kept the workers alive until
      // here. Now let run() return once the remaining connections have finished closing.
      for (auto& g : guards_) g.reset();
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait_until(g, deadline, [&] { return running_ == 0; });
    }
    for (auto& w : c.workers) w->ioc.stop();
    for (auto& w : c.workers)
      if (w->thread.joinable()) w->thread.join();
    if (host_) {
      try {
        host_->stop();  // answers the closed sessions' last requests, sends their close frames
      } catch (const std::logic_error&) {
        return;  // on one of its threads (a handler): the destructor or run() stops it
      }
    }
    {
      std::lock_guard<std::mutex> g(c.table_mu);
      c.table.clear();  // breaks session <-> core cycles of sessions that never closed
    }
    {
      std::lock_guard<std::mutex> g(run_mu_);
      stopped_ = true;
    }
    run_cv_.notify_all();
  }

  /// Sends one frame to many sockets: one post per foreign worker; the websocket frames are
  /// made once per broadcast (a host connection queues the same bytes by reference) or, on
  /// websocketpp's endpoint, once per worker as prepared messages.
  void send_many(frame_ptr f, const std::vector<socket_ptr>& to) {
    if (!f || to.empty()) return;
    f = detail::valid_utf8_frame(std::move(f));  // once per broadcast, not per recipient
    std::unordered_map<detail::worker*, std::vector<socket_ptr>> groups;
    std::vector<std::pair<socket*, unsigned>> registered;  // until the jobs are queued (home moves)
    registered.reserve(to.size());
    bool hosted_ws = false;
    for (auto& s : to)
      if (s && !s->closed()) {
        registered.emplace_back(s.get(), s->register_post());
        auto* home = s->home_.load();
        hosted_ws = hosted_ws || home->hosted;
        groups[home].push_back(s);
      }
    // Framed once for every host connection of this broadcast, whatever its thread.
    std::shared_ptr<std::vector<net::shared_frame>> framed;
    if (hosted_ws) {
      framed = std::make_shared<std::vector<net::shared_frame>>();
      std::string t;
      t.reserve(f->text.size() + 1);
      t.push_back('4');
      t += f->text;
      framed->push_back(net::make_frame(t, false));
      for (auto& b : f->binaries) framed->push_back(net::make_frame(b, true));
    }
    for (auto& [w, list] : groups) {
      auto job = [f, framed, list = std::move(list), w = w]() {
        detail::ws_message_ptr text;
        std::vector<detail::ws_message_ptr> bins;
        std::vector<net::websocket> hosted;
        std::size_t size = f->text.size() + 1;  // what one recipient's send buffer grows by
        for (auto& b : f->binaries) size += b.size();
        const auto full = f->droppable ? detail::when_full::drop : detail::when_full::close;
        std::int64_t sent = 0;  // counted once per batch, below
        for (auto& s : list) {
          if (!s->on_home_worker()) {  // moved meanwhile
            s->send(f);
            continue;
          }
          if (s->closed_) continue;
          if (s->transport_ == detail::transport_kind::websocket && s->hs_.protocol == 4 && s->ws_worker_ == w) {
            if (s->ws_.net) {
              if (!s->send_refused(s->ws_.buffered(), size, full)) {
                hosted.push_back(s->ws_.net);
                ++sent;
              }
              continue;
            }
            if (!text) {
              std::string t;
              t.reserve(f->text.size() + 1);
              t.push_back('4');
              t += f->text;
              text = detail::prepared_frame(websocketpp::frame::opcode::text, std::move(t));
              for (auto& b : f->binaries) bins.push_back(detail::prepared_frame(websocketpp::frame::opcode::binary, b));
            }
            if (s->send_refused(s->ws_.buffered(), size, full)) continue;
            s->ws_.send_prepared(text);
            for (auto& b : bins) s->ws_.send_prepared(b);
            ++sent;
          } else {
            s->send_frame_here(f);
          }
        }
        if (framed)
          for (auto& fr : *framed) net::send_all(hosted, fr);
        if (auto* m = w->stats; m && sent) {
          m->add(metrics::eio::packets_out, sent * std::int64_t(1 + f->binaries.size()));
          m->add(metrics::eio::bytes_out, sent * std::int64_t(size));
        }
      };
      if (w->running_here()) job();
      else asio::post(w->ioc, std::move(job));
    }
    for (auto& [s, slot] : registered) s->unregister_post(slot);
  }

  /// The open session with this sid, or null.
  socket_ptr find(std::string_view sid) const { return core_->find(sid); }

  /// Adds `n` to counter `slot` (metrics.hpp) when metrics are on, from any thread: the block of
  /// the worker running it, else the shared one. For counts with no session at hand (rare paths).
  void count(unsigned slot, std::int64_t n = 1) const {
    auto* reg = core_->stats.get();
    if (!reg) return;
    for (auto& w : core_->workers)
      if (w->running_here() && w->stats) return w->stats->add(slot, n);
    {
      std::lock_guard<std::mutex> g(core_->hosted_mu);
      for (auto& w : core_->hosted)
        if (w->running_here() && w->stats) return w->stats->add(slot, n);
    }
    reg->shared().add_shared(slot, n);
  }
  /// The counters (opts.metrics, after listen() or handler()), or null.
  const metrics::registry* counters() const noexcept { return core_->stats.get(); }
  /// Open sessions by transport: {polling, websocket} (a scan of the session table).
  std::pair<std::size_t, std::size_t> sessions_by_transport() const {
    std::lock_guard<std::mutex> g(core_->table_mu);
    std::size_t polling = 0, ws = 0;
    for (auto& kv : core_->table) {
      if (kv.second->closed()) continue;  // lingering for a polling client's last GET
      if (kv.second->transport_flag_.load(std::memory_order_relaxed) == int(detail::transport_kind::websocket)) ++ws;
      else ++polling;
    }
    return {polling, ws};
  }

  /// Number of open sessions (for tests and metrics).
  std::size_t session_count() const {
    std::lock_guard<std::mutex> g(core_->table_mu);
    return core_->table.size();
  }

 private:
  void setup_endpoint(detail::worker& w) {
    auto& c = *core_;
    auto& ep = w.ep;
    ep.init_asio(&w.ioc);
    ep.set_reuse_addr(true);
    ep.set_listen_backlog(1024);
    ep.set_max_message_size(c.opts.max_payload);
    ep.set_max_http_body_size(c.opts.max_payload * 2 + 1024);
    ep.set_close_handshake_timeout(static_cast<long>(std::max<long long>(200, c.opts.stop_grace.count())));
    ep.set_tcp_pre_bind_handler([](std::shared_ptr<asio::ip::tcp::acceptor> a) {
      asio::error_code ec;
      a->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
      return websocketpp::lib::error_code();
    });
    ep.set_socket_init_handler([](websocketpp::connection_hdl, asio::ip::tcp::socket& s) {
      asio::error_code ec;
      s.set_option(asio::ip::tcp::no_delay(true), ec);
    });
    detail::core* core = core_.get();  // not shared: the core owns the endpoint
    detail::worker* wp = &w;
    ep.set_http_handler([core, wp](websocketpp::connection_hdl h) {
      core->handle_http(*wp, h);
      detail::core::drop_head_body(wp->ep.get_con_from_hdl(h));
    });
    ep.set_tcp_post_init_handler([wp](websocketpp::connection_hdl h) {
      auto con = wp->ep.get_con_from_hdl(h);
      con->get_request().note_peer(detail::core::remote_of(con));
    });
    // A request refused before any handler ran: one log line, and a POST too big for websocketpp
    // closes its polling session.
    ep.set_fail_handler([core, wp](websocketpp::connection_hdl h) {
      core->log_early_refusal(wp->ep.get_con_from_hdl(h));
      core->handle_failed_http(*wp, h);
    });
    ep.set_validate_handler([core, wp](websocketpp::connection_hdl h) { return core->validate_ws(*wp, h); });
  }

  std::shared_ptr<detail::core> core_;
  std::unique_ptr<net::host> host_;  ///< options().use_host
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards_;
  std::uint16_t port_ = 0;
  std::atomic<bool> started_{false};
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  std::mutex join_mu_;
  unsigned running_ = 0;
  bool stop_requested_ = false;
  bool stopped_ = false;
};

}  // namespace portico::engineio
