#pragma once
/// portico::http: plain HTTP routes, templates, static files and plain WebSocket routes served
/// by the Engine.IO server's endpoint (same port). See docs/http.md.
#include "../engineio/server.hpp"
#include "exception.hpp"
#include "params.hpp"
#include "request.hpp"
#include "router.hpp"
#include "static_files.hpp"
#include "templates.hpp"
#include "websocket.hpp"

namespace portico::http {

/// Serves `r` on `s`: every HTTP request and WebSocket upgrade outside the Engine.IO path goes
/// to the router. `r` must outlive `s` (or at least its running workers). s.stop() closes the
/// router's WebSocket clients with 1001 "server shutting down" before stopping. Call before
/// s.start(). The router's ws route clients get the engine's `max_buffered_bytes`.
inline void serve(portico::engineio::server& s, router& r) {
  r.set_max_buffered_bytes(s.options().max_buffered_bytes);
  s.on_http([&r](const portico::engineio::http_connection_ptr& con) { return r.handle_http(con); });
  s.on_websocket([&r](const portico::engineio::http_connection_ptr& con) { return r.handle_upgrade(con); });
  s.on_stop([&r] { r.close_websockets(); });
}

}  // namespace portico::http
