#pragma once
/// How an emit with an ack ended. One enum for the server side (socketio::socket) and the client
/// (portico::client), so code that handles both does not convert between twins.

namespace portico::socketio {

enum class ack_status { ok, timeout, disconnected };

inline const char* to_string(ack_status s) noexcept {
  switch (s) {
    case ack_status::ok: return "ok";
    case ack_status::timeout: return "timeout";
    case ack_status::disconnected: return "disconnected";
  }
  return "?";
}

}  // namespace portico::socketio
