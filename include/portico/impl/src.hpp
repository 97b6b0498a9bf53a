#pragma once
/// The separately compiled part of portico: include this in exactly ONE .cpp of a program built
/// with `PORTICO_SEPARATE_COMPILATION` defined for every TU (like Asio's <asio/impl/src.hpp>):
///
///     // portico_src.cpp, compiled once
///     #include <portico/impl/src.hpp>
///
/// It defines what the other TUs then only declare: websocketpp's endpoint, connection and
/// processors for portico's transport config, and the out-of-line (`PORTICO_DECL`) functions of
/// the layers. See docs/compile-time.md.
#if !defined(PORTICO_SEPARATE_COMPILATION)
#error "<portico/impl/src.hpp> is for the separately compiled mode: define PORTICO_SEPARATE_COMPILATION for every TU (or do not compile this file: header-only is the default)"
#endif
#define PORTICO_SOURCE 1

#include "../portico.hpp"

// Each layer's out-of-line definitions (header-only: each header includes its own).
#include "../socketio/impl/server.ipp"
#include "../framework/impl/bare_engine.ipp"

// websocketpp's endpoint, connection and processors for the Engine.IO transport config
// (declared extern template by engineio/detail/ws_instances.hpp).
PORTICO_WS_INSTANCES(template)
