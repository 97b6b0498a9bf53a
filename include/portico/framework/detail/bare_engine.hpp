#pragma once
/// The app's calls into an Engine.IO server it holds itself (an app without gateways serves its
/// router on a bare one). Out of line in the separately compiled mode (PORTICO_DECL): `app<M>`
/// is a template every user TU instantiates, and calling engineio::server's inline members from
/// it would compile the whole Engine.IO server into each of them.
#include "../../config.hpp"
#include "../../engineio/options.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace portico::engineio {
class server;
}
namespace portico::http {
class router;
}

namespace portico::framework::detail {

struct engine_deleter {
  PORTICO_DECL void operator()(engineio::server* s) const noexcept;
};
using engine_ptr = std::unique_ptr<engineio::server, engine_deleter>;

PORTICO_DECL engine_ptr make_engine(const engineio::server_options& o);
PORTICO_DECL void engine_listen(engineio::server& e, const std::string& host, std::uint16_t port);
PORTICO_DECL std::uint16_t engine_port(const engineio::server& e);
PORTICO_DECL void engine_start(engineio::server& e);
PORTICO_DECL void engine_run(engineio::server& e);
PORTICO_DECL void engine_stop(engineio::server& e);
/// http::serve(e, r): the router answers e's plain HTTP requests and WebSocket routes.
PORTICO_DECL void serve_router(engineio::server& e, http::router& r);

}  // namespace portico::framework::detail

#include "../impl/bare_engine.ipp"
