#pragma once
/// websocketpp as a protocol engine only: the iostream transport (the host owns the socket and
/// feeds bytes in; websocketpp hands framed bytes back synchronously), lock-free (each endpoint
/// lives on one I/O thread), logging compiled out.
#if defined(ASIO_NO_DEPRECATED)
#error "websocketpp 0.8.2 uses asio::io_service: build portico without ASIO_NO_DEPRECATED"
#endif

#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/logger/stub.hpp>
#include <websocketpp/server.hpp>

namespace portico::net::detail {

struct ws_config : websocketpp::config::core {
  using type = ws_config;
  using base = websocketpp::config::core;
  using concurrency_type = websocketpp::concurrency::none;
  using request_type = base::request_type;
  using response_type = base::response_type;
  using message_type = base::message_type;
  using con_msg_manager_type = base::con_msg_manager_type;
  using endpoint_msg_manager_type = base::endpoint_msg_manager_type;
  using alog_type = websocketpp::log::stub;
  using elog_type = websocketpp::log::stub;
  using rng_type = base::rng_type;
  struct transport_config : base::transport_config {
    using concurrency_type = type::concurrency_type;
    using alog_type = type::alog_type;
    using elog_type = type::elog_type;
    using request_type = type::request_type;
    using response_type = type::response_type;
  };
  using transport_type = websocketpp::transport::iostream::endpoint<transport_config>;
  /// Still an array inside every connection object; with this transport it only bounds how much
  /// one read_some() consumes (the host loops). Measured (bench/host_echo, 100-byte echo): 128
  /// saves 0.37 KB per connection but costs ~0.3 µs per message (a websocketpp read cycle per
  /// call); 512 takes a typical read batch in one call.
  static const std::size_t connection_read_buffer_size = 512;
};

using ws_endpoint = websocketpp::server<ws_config>;
using ws_connection_ptr = ws_endpoint::connection_ptr;

}  // namespace portico::net::detail
