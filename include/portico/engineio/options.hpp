#pragma once
/// What an Engine.IO server is configured with: paths, transports, heartbeat, limits, CORS, threads.
#include "detail/ws_config.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::engineio {

struct cors_options {
  /// Empty: no CORS headers and no origin check. {"*"}: any origin.
  std::vector<std::string> allowed_origins;
  /// Optional predicate; when set it decides instead of the list.
  std::function<bool(std::string_view origin)> allow;
  bool credentials = false;
  bool enabled() const { return !allowed_origins.empty() || static_cast<bool>(allow); }
};

struct server_options {
  std::string path = "/engine.io/";
  bool polling = true, websocket = true, allow_upgrades = true;
  std::chrono::milliseconds ping_interval{25000}, ping_timeout{20000};
  std::size_t max_payload = 1000000;
  /// Bytes queued for one client and not yet written (websocket: websocketpp's send queue;
  /// polling: packets awaiting a GET). A client that does not read would otherwise grow the
  /// server without bound: past it a droppable (volatile) frame is dropped for that client, and
  /// anything else closes the session (transport error, "send buffer full"). 0: no limit.
  std::size_t max_buffered_bytes = 4 * 1024 * 1024;
  bool allow_eio3 = false;
  cors_options cors;
  /// Count sessions, packets, bytes and errors per worker (docs/metrics.md). Off: each counting
  /// site is one null-pointer test.
  bool metrics = false;
  unsigned threads = 0;  ///< 0 = std::thread::hardware_concurrency()
  /// How long stop() lets close frames and pending responses drain before cutting connections.
  std::chrono::milliseconds stop_grace{1000};
  /// listen() serves through a net::host the server owns (HTTP/1.1 keep-alive, no SO_REUSEPORT:
  /// a port in use throws) instead of websocketpp's own endpoint. The on_http / on_websocket hooks
  /// (websocketpp connections) are not called then: mount handler() on your own host with a
  /// fallback handler instead. Off by default while the endpoint path is retired.
  bool use_host = false;
  /// Per-connection read buffer. websocketpp fixes it at compile time (detail::ws_config),
  /// so it is a constant here: 1 KB instead of websocketpp's 16 KB default.
  static constexpr std::size_t read_buffer_size = detail::ws_config::connection_read_buffer_size;
};

}  // namespace portico::engineio
