#pragma once
/// Why a session closed (server::on_close), with the names the reference server uses.
namespace portico::engineio {

enum class close_reason {
  transport_close,    ///< the client went away (socket closed)
  transport_error,    ///< protocol misuse on the transport (e.g. a second concurrent GET)
  ping_timeout,
  parse_error,        ///< a malformed packet
  server_close,       ///< socket::close()
  client_close,       ///< the client sent a close packet
  payload_too_large,
  forced,             ///< server::stop()
};

inline const char* to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::transport_close: return "transport close";
    case close_reason::transport_error: return "transport error";
    case close_reason::ping_timeout: return "ping timeout";
    case close_reason::parse_error: return "parse error";
    case close_reason::server_close: return "server close";
    case close_reason::client_close: return "client close";
    case close_reason::payload_too_large: return "payload too large";
    case close_reason::forced: return "forced close";
  }
  return "?";
}

}  // namespace portico::engineio
