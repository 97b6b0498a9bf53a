#pragma once
/// Definitions of framework/detail/bare_engine.hpp, which includes this file: compiled in every
/// TU header-only, only in the TU of <portico/impl/src.hpp> separately (config.hpp).
#include "../../engineio/server.hpp"
#include "../../http/http.hpp"
#include "../detail/bare_engine.hpp"

#if PORTICO_COMPILE_IMPL
namespace portico::framework::detail {

PORTICO_DECL void engine_deleter::operator()(engineio::server* s) const noexcept { delete s; }
PORTICO_DECL engine_ptr make_engine(const engineio::server_options& o) { return engine_ptr(new engineio::server(o)); }
PORTICO_DECL void engine_listen(engineio::server& e, const std::string& host, std::uint16_t port) { e.listen(host, port); }
PORTICO_DECL std::uint16_t engine_port(const engineio::server& e) { return e.port(); }
PORTICO_DECL void engine_start(engineio::server& e) { e.start(); }
PORTICO_DECL void engine_run(engineio::server& e) { e.run(); }
PORTICO_DECL void engine_stop(engineio::server& e) { e.stop(); }
PORTICO_DECL void serve_router(engineio::server& e, http::router& r) { http::serve(e, r); }

}  // namespace portico::framework::detail

#endif  // PORTICO_COMPILE_IMPL
