#pragma once
/// Declarations only: for a user header that names portico's types in signatures
/// (`void install_handlers(portico::socketio::server&);`) without compiling the layers. The TU
/// that defines such a function includes the layer (or <portico/portico.hpp>).
#include <memory>

namespace portico {
class logger;

namespace engineio {
struct server_options;
struct handshake;
class server;
class socket;
using socket_ptr = std::shared_ptr<socket>;
}  // namespace engineio

namespace socketio {
struct server_options;
class server;
class nsp;
class socket;
class args;
class emitter;
class connect_request;
using socket_ptr = std::shared_ptr<socket>;
}  // namespace socketio

namespace http {
struct request;
class router;
}  // namespace http

template <class... G>
struct guards;
struct app_options;
class gateway_context;
class http_context;
/// `app<Root, GlobalGuards = guards<>, Overrides...>` (framework/app.hpp gives the defaults).
template <class Root, class GlobalGuards, class... Overrides>
class app;
}  // namespace portico
