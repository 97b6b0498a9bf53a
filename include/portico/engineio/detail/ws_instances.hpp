#pragma once
/// websocketpp's class templates for the Engine.IO transport config (ws_config.hpp), declared
/// `extern template` in the separately compiled mode: a TU then parses them but generates none of
/// their (out-of-line, non-inline) member functions; <portico/impl/src.hpp> instantiates them once
/// (PORTICO_WS_INSTANCES(template) there). Header-only (the default): nothing here.
#include "../../config.hpp"
#include "ws_config.hpp"

/// One list for both sides: `extern template` (declaration) and `template` (definition).
#define PORTICO_WS_INSTANCES(kw)                                                                  \
  kw class websocketpp::transport::asio::endpoint<portico::engineio::detail::ws_config::transport_config>;   \
  kw class websocketpp::transport::asio::connection<portico::engineio::detail::ws_config::transport_config>; \
  kw class websocketpp::endpoint<websocketpp::connection<portico::engineio::detail::ws_config>,             \
                                 portico::engineio::detail::ws_config>;                                     \
  kw class websocketpp::server<portico::engineio::detail::ws_config>;                                       \
  kw class websocketpp::connection<portico::engineio::detail::ws_config>;                                   \
  kw class websocketpp::processor::processor<portico::engineio::detail::ws_config>;                         \
  kw class websocketpp::processor::hybi00<portico::engineio::detail::ws_config>;                            \
  kw class websocketpp::processor::hybi13<portico::engineio::detail::ws_config>;                            \
  kw class websocketpp::processor::hybi08<portico::engineio::detail::ws_config>;                            \
  kw class websocketpp::processor::hybi07<portico::engineio::detail::ws_config>;

#if !PORTICO_HEADER_ONLY && !defined(PORTICO_SOURCE)
PORTICO_WS_INSTANCES(extern template)
#endif
