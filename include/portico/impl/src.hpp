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
#if defined(PORTICO_CONFIG_INCLUDED)
#error "<portico/impl/src.hpp> must be the first portico include of its TU"
#endif
#define PORTICO_SOURCE 1

// Every header includes its own impl/*.ipp, which compiles here (PORTICO_COMPILE_IMPL).
#include "../portico.hpp"

// websocketpp's endpoint, connection and processors for the Engine.IO transport config
// (declared extern template by engineio/detail/ws_instances.hpp).
PORTICO_WS_INSTANCES(template)
