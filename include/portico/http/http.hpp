#pragma once
/// portico::http: plain HTTP routes, templates, static files and plain WebSocket routes served
/// by the Engine.IO server's endpoint (same port). See docs/http.md.
#include "../engineio/server.hpp"
#include "params.hpp"
#include "request.hpp"
#include "router.hpp"
#include "static_files.hpp"
#include "templates.hpp"
#include "websocket.hpp"

namespace portico::http {

/// Serves `r` on `s`: every HTTP request and WebSocket upgrade outside the Engine.IO path goes
/// to the router. `r` must outlive `s` (or at least its running workers); call
/// r.close_websockets() before s.stop() to close plain WebSocket clients cleanly.
inline void serve(portico::engineio::server& s, router& r) {
  s.on_http([&r](const portico::engineio::http_connection_ptr& con) { return r.handle_http(con); });
  s.on_websocket([&r](const portico::engineio::http_connection_ptr& con) { return r.handle_upgrade(con); });
}

}  // namespace portico::http
