#pragma once
/// Per-worker counters (docs/metrics.md): each I/O worker owns one block of counters that only
/// its own thread writes, with a relaxed load and store (a plain `add` on x86 and ARM: no lock
/// prefix, no shared cache line between workers); a reader on any thread sums the blocks with
/// relaxed loads. A count may lag by the writes still in flight on another core, which a scrape
/// cannot tell from having come a microsecond earlier. Counts made on a thread that is not a
/// worker (a user's thread, a timer thread) go to one shared block with `fetch_add`: those are
/// never on the per-message path.
///
/// The block is a fixed array of slots; this layer uses `eio::*`, the layers above number theirs
/// from `first_upper_slot` (socketio/metrics.hpp), so engineio stays ignorant of them.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace portico::engineio::metrics {

constexpr unsigned slot_count = 32;
constexpr unsigned first_upper_slot = 12;

/// Engine.IO's slots.
namespace eio {
enum : unsigned {
  sessions_opened = 0,  ///< handshakes accepted (any transport)
  upgrades,             ///< polling sessions upgraded to websocket
  packets_in,           ///< Engine.IO packets received (message, ping, pong, close, ...)
  packets_out,          ///< Engine.IO packets queued for a client (broadcast: one per recipient)
  bytes_in,             ///< payload bytes received: websocket frames, POST bodies
  bytes_out,            ///< bytes queued for clients: websocket frames, GET bodies
  send_queue_overflows, ///< sends refused by max_buffered_bytes (dropped or closed)
  parse_errors,         ///< sessions closed for a malformed Engine.IO payload
  oversize_payloads,    ///< sessions closed for a message or POST over max_payload
  ping_timeouts,        ///< sessions closed because the client stopped answering pings
  transport_errors,     ///< sessions closed for a transport error (send buffer full, ...)
};
static_assert(transport_errors < first_upper_slot, "engineio slots overlap the upper layers'");
}  // namespace eio

/// One worker's counters. Cache-line aligned so that two workers never write the same line.
struct alignas(64) counters {
  std::array<std::atomic<std::int64_t>, slot_count> v{};
  /// Only on the thread that owns the block.
  void add(unsigned i, std::int64_t n = 1) noexcept {
    v[i].store(v[i].load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  /// From any thread (the shared block).
  void add_shared(unsigned i, std::int64_t n = 1) noexcept { v[i].fetch_add(n, std::memory_order_relaxed); }
  std::int64_t get(unsigned i) const noexcept { return v[i].load(std::memory_order_relaxed); }
};

/// The blocks of one server: one per worker plus the shared one. Blocks are added as workers
/// are made, never removed: by listen() before the workers run, and, mounted on a net::host, by
/// the first request a host thread brings. A fixed table with a published count lets a reader
/// sum while a block is added. Past `max_workers` threads a worker's counts are not kept.
class registry {
 public:
  static constexpr unsigned max_workers = 256;
  explicit registry(unsigned workers = 0) {
    for (unsigned i = 0; i < workers; ++i) add_worker();
  }
  /// A new worker's block (null past max_workers: that worker counts nothing).
  counters* add_worker() {
    std::lock_guard<std::mutex> g(add_mu_);
    unsigned n = count_.load(std::memory_order_relaxed);
    if (n == max_workers) return nullptr;
    blocks_[n] = std::make_unique<counters>();
    count_.store(n + 1, std::memory_order_release);
    return blocks_[n].get();
  }
  counters* worker(unsigned i) noexcept { return i < workers() ? blocks_[i].get() : nullptr; }
  counters& shared() noexcept { return shared_; }
  std::size_t workers() const noexcept { return count_.load(std::memory_order_acquire); }
  /// The sum over the workers and the shared block.
  std::int64_t sum(unsigned i) const noexcept {
    std::int64_t s = shared_.get(i);
    const std::size_t n = workers();
    for (std::size_t k = 0; k < n; ++k) s += blocks_[k]->get(i);
    return s;
  }
  std::array<std::int64_t, slot_count> sums() const noexcept {
    std::array<std::int64_t, slot_count> out{};
    for (unsigned i = 0; i < slot_count; ++i) out[i] = sum(i);
    return out;
  }

 private:
  std::array<std::unique_ptr<counters>, max_workers> blocks_;
  std::atomic<unsigned> count_{0};
  std::mutex add_mu_;
  counters shared_;
};

}  // namespace portico::engineio::metrics
