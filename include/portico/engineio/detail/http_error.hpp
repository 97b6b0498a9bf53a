#pragma once
/// The refusals of a request on the engine path: the reference server's codes and JSON bodies.
#include <string>

namespace portico::engineio::detail {

/// The reference server's error codes and messages (engine.io `Server.errors`).
enum class http_error { unknown_transport = 0, unknown_sid = 1, bad_handshake_method = 2, bad_request = 3, forbidden = 4, unsupported_protocol_version = 5 };

inline const char* http_error_message(http_error e) {
  switch (e) {
    case http_error::unknown_transport: return "Transport unknown";
    case http_error::unknown_sid: return "Session ID unknown";
    case http_error::bad_handshake_method: return "Bad handshake method";
    case http_error::bad_request: return "Bad request";
    case http_error::forbidden: return "Forbidden";
    case http_error::unsupported_protocol_version: return "Unsupported protocol version";
  }
  return "Bad request";
}

inline std::string error_body(http_error e) {
  return "{\"code\":" + std::to_string(int(e)) + ",\"message\":\"" + http_error_message(e) + "\"}";
}

}  // namespace portico::engineio::detail
