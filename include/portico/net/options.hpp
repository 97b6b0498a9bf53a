#pragma once
/// Options of a `net::host`: threads, HTTP limits, deadlines and WebSocket limits. Every option has
/// a default a public server can run with; tests shorten the deadlines.

#include <chrono>
#include <cstddef>

namespace portico::net {

struct host_options {
  /// I/O threads, each with its own io_context; accepted connections are spread round-robin.
  /// 0 = std::thread::hardware_concurrency().
  unsigned threads = 0;

  /// Request line + headers of one request, in bytes; more -> 431 and close.
  std::size_t max_header_bytes = 16 * 1024;
  /// Header lines of one request; more -> 431 and close.
  std::size_t max_headers = 100;
  /// Content-Length of one request body; more -> 413 and close (checked before the body is read).
  std::size_t max_body_bytes = 1000000;
  /// Requests of one connection received but not yet answered (pipelining); beyond it the host
  /// stops reading that connection until answers go out.
  std::size_t max_pipelined = 16;

  /// Granularity of every deadline below: one coarse timer per thread ticks at this rate, so a
  /// deadline fires up to one tick late.
  std::chrono::milliseconds tick{1000};
  /// From the first byte of a request (or the accept) to its complete head and body
  /// (slowloris guard); on expiry the connection is closed (408 when nothing was answered yet).
  std::chrono::milliseconds request_timeout{10000};
  /// A keep-alive connection with no request in progress is closed after this.
  std::chrono::milliseconds idle_timeout{30000};
  /// From the upgrade request to the open WebSocket.
  std::chrono::milliseconds websocket_handshake_timeout{10000};
  /// From a close frame sent (or a protocol error) to the TCP close.
  std::chrono::milliseconds websocket_close_timeout{5000};
  /// After the last answer on a closing connection (or a finished WebSocket close), how long to
  /// wait for the client's FIN before closing: closing with unread input would reset the
  /// connection and could destroy that answer before the client reads it.
  std::chrono::milliseconds linger_timeout{2000};
  /// How long `host::stop()` waits for connections to finish before closing them.
  std::chrono::milliseconds stop_timeout{2000};

  /// Largest WebSocket message accepted (websocketpp closes with 1009 beyond it).
  std::size_t max_message_bytes = 1000000;
  /// Bytes queued for one connection (not yet taken by the kernel); beyond it the client is
  /// too slow and its connection is closed, with a log line.
  std::size_t max_output_bytes = 4 * 1024 * 1024;
};

}  // namespace portico::net
