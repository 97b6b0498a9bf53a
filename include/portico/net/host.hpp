#pragma once
/// The host: owns the I/O threads (one io_context each), the listening sockets (IPv4 and IPv6,
/// several at once) and the accepted connections, and serves mounted handlers by path prefix on
/// every one of them. Binding an address in use is an error (SO_REUSEADDR for TIME_WAIT only,
/// never SO_REUSEPORT: a second process cannot silently share the port).
///
///     net::host h;
///     h.mount("/socket.io/", engine);           // longest prefix wins; nothing matches -> 404
///     auto port = h.listen("127.0.0.1", 0);
///     h.listen("::1", port);
///     h.start();
///     ...
///     h.stop();                                   // graceful, bounded by stop_timeout

#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>

#include <algorithm>
#include <functional>
#include <future>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../log.hpp"
#include "connection.hpp"
#include "handler.hpp"
#include "options.hpp"
#include "worker.hpp"

namespace portico::net {

struct tls_options;  // <portico/net/tls.hpp>

class host {
 public:
  using tcp = asio::ip::tcp;

  explicit host(host_options o = {}) : opts_(std::move(o)), log_("portico.net") {
    unsigned n = opts_.threads ? opts_.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_shared<worker>(opts_, mounts_, log_));
  }
  host(const host&) = delete;
  host& operator=(const host&) = delete;
  ~host() { stop(); }

  const host_options& options() const noexcept { return opts_; }
  portico::logger& log() noexcept { return log_; }

  /// Serves `h` for every request whose path starts with `prefix` ("/" = everything). The longest
  /// matching prefix wins. Mount before start().
  void mount(std::string prefix, std::shared_ptr<handler> h) {
    if (started_) throw std::logic_error("portico::net::host: mount() after start()");
    auto& m = mounts_.mounts;
    m.erase(std::remove_if(m.begin(), m.end(), [&](auto& e) { return e.first == prefix; }), m.end());
    m.emplace_back(std::move(prefix), std::move(h));
    std::stable_sort(m.begin(), m.end(), [](auto& a, auto& b) { return a.first.size() > b.first.size(); });
  }
  void mount(std::string prefix, function_handler::request_fn on_request, function_handler::upgrade_fn on_upgrade = {}) {
    mount(std::move(prefix), std::make_shared<function_handler>(std::move(on_request), std::move(on_upgrade)));
  }

  /// Listens on `address` ("127.0.0.1", "::1", "0.0.0.0", "::"; "" = "0.0.0.0") and `port`
  /// (0 = ephemeral); returns the bound port. An IPv6 socket is IPv6-only, so "::" and "0.0.0.0"
  /// can both listen on one port. Throws std::system_error (e.g. address in use).
  std::uint16_t listen(const std::string& address, std::uint16_t port) {
    return listen_with(address, port, [](const std::shared_ptr<worker>& w, tcp::socket s) {
      std::make_shared<detail::connection>(w, std::move(s))->start();
    });
  }

  /// Like listen(), but the listener speaks TLS: https:// and wss:// on it, the same mounts.
  /// Defined in <portico/net/tls.hpp> (which declares tls_options): only programs that include it
  /// link OpenSSL. Throws std::invalid_argument naming an option whose file cannot be used.
  inline std::uint16_t listen_tls(const std::string& address, std::uint16_t port, const tls_options& tls);

  /// Makes and starts the connection of an accepted socket, on the worker's thread.
  using spawn_fn = std::function<void(const std::shared_ptr<worker>&, tcp::socket)>;

  /// listen() with the connection type of `spawn` (plain, TLS).
  std::uint16_t listen_with(const std::string& address, std::uint16_t port, spawn_fn spawn) {
    if (stopped_) throw std::logic_error("portico::net::host: listen() after stop()");
    const auto addr = asio::ip::make_address(address.empty() ? "0.0.0.0" : address);
    const tcp::endpoint where(addr, port);
    auto& w = *workers_[acceptors_.size() % workers_.size()];
    auto a = std::make_unique<listener>(w.io, std::move(spawn));
    a->acceptor.open(where.protocol());
    if (addr.is_v6()) a->acceptor.set_option(asio::ip::v6_only(true));
    a->acceptor.set_option(tcp::acceptor::reuse_address(true));  // TIME_WAIT only: not SO_REUSEPORT
    asio::error_code ec;
    a->acceptor.bind(where, ec);
    if (ec) {
      log_.error("net: cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
      throw std::system_error(ec, "portico::net::host::listen " + address + ":" + std::to_string(port));
    }
    a->acceptor.listen(asio::socket_base::max_listen_connections);
    const std::uint16_t bound = a->acceptor.local_endpoint().port();
    acceptors_.push_back(std::move(a));
    if (started_) {
      listener* l = acceptors_.back().get();
      asio::post(l->acceptor.get_executor(), [this, l] { accept(*l); });
    }
    return bound;
  }

  /// Where the host listens (in listen() order).
  std::vector<tcp::endpoint> local_endpoints() const {
    std::vector<tcp::endpoint> r;
    for (auto& a : acceptors_) {
      asio::error_code ec;
      r.push_back(a->acceptor.local_endpoint(ec));
    }
    return r;
  }

  /// Starts the I/O threads.
  void start() {
    if (started_ || stopped_) return;
    started_ = true;
    for (auto& a : acceptors_) {
      listener* l = a.get();
      asio::post(l->acceptor.get_executor(), [this, l] { accept(*l); });
    }
    for (auto& wp : workers_) {
      worker* w = wp.get();
      tick(*w);
      w->thread = std::thread([w] { w->io.run(); });
    }
  }

  /// Stops accepting, lets HTTP connections finish the answers they owe and sends WebSockets a
  /// 1001 close, then closes whatever is left after opts.stop_timeout and joins the threads.
  /// Idempotent; not from an I/O thread of this host.
  void stop() {
    if (stopped_) return;
    for (auto& w : workers_)
      if (w->thread.get_id() == std::this_thread::get_id())
        throw std::logic_error("portico::net::host::stop() called from one of its I/O threads");
    stopped_ = true;
    if (!started_) return;
    for (auto& a : acceptors_) {
      listener* l = a.get();
      asio::post(l->acceptor.get_executor(), [l] {
        asio::error_code ec;
        l->acceptor.close(ec);
        l->retry.cancel();
      });
    }
    for (auto& wp : workers_) {
      worker* w = wp.get();
      asio::post(w->io, [w] {
        w->stopping = true;
        for (detail::connection_base* c = w->first; c;) {
          detail::connection_base* next = c->next_connection();
          c->begin_stop();
          c = next;
        }
        w->grace.expires_after(w->opts.stop_timeout);
        w->grace.async_wait([w](const asio::error_code& ec) {
          if (ec) return;
          while (w->first) w->first->terminate();
        });
        drained(*w);
      });
    }
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
      w->stopped = true;
      // Answers posted while the thread was ending hold their connection (which holds the
      // worker): run them out now; they see `stopped` and drop what they carry.
      w->io.restart();
      w->io.poll();
    }
  }

  /// Connections accepted since the host was made (for tests and metrics: keep-alive shows as
  /// fewer connections than requests).
  std::size_t accepted_count() const noexcept { return accepted_.load(std::memory_order_relaxed); }

  /// Live connections (HTTP and WebSocket), summed over threads; for tests and metrics (waits
  /// for each I/O thread: not from one of them).
  std::size_t connection_count() {
    std::size_t n = 0;
    for (auto& wp : workers_) {
      worker* w = wp.get();
      if (!started_ || stopped_) {
        n += w->connections;
        continue;
      }
      std::promise<std::size_t> p;
      auto f = p.get_future();
      asio::post(w->io, [w, &p] { p.set_value(w->connections); });
      n += f.get();
    }
    return n;
  }

 private:
  struct listener {
    listener(asio::io_context& io, spawn_fn s) : acceptor(io), retry(io), spawn(std::move(s)) {}
    tcp::acceptor acceptor;
    asio::steady_timer retry;  ///< after an accept error (EMFILE): try again shortly
    spawn_fn spawn;
  };

  /// Accepted sockets are spread over the threads round-robin.
  void accept(listener& l) {
    auto& target = workers_[next_worker_++ % workers_.size()];
    l.acceptor.async_accept(target->io, [this, &l, target](const asio::error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
      if (ec) {
        log_.warn("net: accept failed: " + ec.message());
        l.retry.expires_after(std::chrono::milliseconds(100));
        l.retry.async_wait([this, &l](const asio::error_code& e) {
          if (!e && l.acceptor.is_open()) accept(l);
        });
        return;
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      asio::post(target->io, [target, &l, sock = std::move(s)]() mutable {
        if (target->stopping) return;
        l.spawn(target, std::move(sock));
      });
      accept(l);
    });
  }

  /// The wheel's timer; once stopping and without connections, it stops and the thread ends.
  void tick(worker& w) {
    w.ticker.expires_after(w.wheel.resolution());
    w.ticker.async_wait([this, &w](const asio::error_code& ec) {
      if (ec) return;
      w.wheel.advance();
      if (!drained(w)) tick(w);
    });
  }
  static bool drained(worker& w) {
    if (!w.stopping || w.connections) return false;
    w.ticker.cancel();
    w.grace.cancel();
    return true;
  }

  host_options opts_;
  portico::logger log_;
  detail::mount_table mounts_;
  std::vector<std::shared_ptr<worker>> workers_;
  std::vector<std::unique_ptr<listener>> acceptors_;
  std::atomic<std::size_t> next_worker_{0};
  std::atomic<std::size_t> accepted_{0};
  bool started_ = false, stopped_ = false;
};

}  // namespace portico::net
