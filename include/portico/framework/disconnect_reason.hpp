#pragma once
/// Why a client left a gateway's namespace: the optional second parameter of
/// `on_disconnected(portico::gateway_context&, portico::disconnect_reason)`.

#include <string_view>

namespace portico {

/// The Socket.IO disconnect reason, worded as Node's socket.io 4.8 server words it:
///   "client namespace disconnect"  the client left the namespace (its socket.disconnect())
///   "server namespace disconnect"  the server did (ctx.disconnect(), disconnect_on_error)
///   "transport close"              the client closed its connection, or the connection dropped
///   "transport error"              protocol misuse, an oversized payload, a full send buffer
///   "ping timeout"                 no pong in time
///   "parse error"                  a malformed Engine.IO packet
///   "forced close"                 the server closed this one connection (close_connection(),
///                                  a malformed Socket.IO packet); the server goes on
///   "server shutting down"         app::stop()
/// A view valid during the call (copy `text()` to keep it). It converts to std::string_view, so
/// `on_disconnected(ctx, std::string_view reason)` is accepted too.
class disconnect_reason {
 public:
  constexpr explicit disconnect_reason(std::string_view text) noexcept : text_(text) {}
  constexpr std::string_view text() const noexcept { return text_; }
  constexpr operator std::string_view() const noexcept { return text_; }
  /// The server ended it: a namespace disconnect, a forced close or a stop.
  constexpr bool by_server() const noexcept {
    return text_ == "server namespace disconnect" || text_ == "forced close" || text_ == "server shutting down";
  }
  friend constexpr bool operator==(disconnect_reason a, std::string_view b) noexcept { return a.text_ == b; }
  friend constexpr bool operator!=(disconnect_reason a, std::string_view b) noexcept { return a.text_ != b; }

 private:
  std::string_view text_;
};

}  // namespace portico
