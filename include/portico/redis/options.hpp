#pragma once
/// Where and how a portico::redis connection connects.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "../log.hpp"

namespace portico::redis {

struct options {
  /// Host name or address of the Redis server.
  std::string host = "127.0.0.1";
  /// TCP port of the Redis server.
  std::uint16_t port = 6379;
  /// AUTH after connecting when non-empty (`AUTH username password` when `username` is set too).
  std::string password;
  /// ACL user name for AUTH (Redis 6+); empty = the default user.
  std::string username;
  /// SELECT this database after connecting; 0 sends nothing (pub/sub ignores databases anyway).
  int db = 0;
  /// A reply larger than this (bytes, wire or parsed) is refused: the connection is closed, one log
  /// line is written, and it reconnects. Bounds the memory a broken or hostile server can cost.
  std::size_t max_reply_bytes = std::size_t(64) << 20;
  /// First reconnect delay; it doubles after each failed attempt up to `reconnect_max`, jittered.
  std::chrono::milliseconds reconnect_initial{100};
  /// Longest reconnect delay.
  std::chrono::milliseconds reconnect_max{5000};
  /// A connection attempt (TCP + AUTH/SELECT) taking longer than this counts as failed.
  std::chrono::milliseconds connect_timeout{5000};
  /// Log lines go here; nullptr = the connection's own logger "portico.redis" (warn level).
  portico::logger* log = nullptr;
};

/// What the owner is told through `on_state`.
enum class state {
  connecting,  ///< first attempt, never up yet
  up,          ///< connected and (re)subscribed: commands are accepted
  down,        ///< lost or unreachable: commands fail at once, reconnecting with backoff
  closed       ///< close() was called; nothing more happens
};

inline const char* to_string(state s) noexcept {
  switch (s) {
    case state::connecting: return "connecting";
    case state::up: return "up";
    case state::down: return "down";
    case state::closed: return "closed";
  }
  return "?";
}

}  // namespace portico::redis
