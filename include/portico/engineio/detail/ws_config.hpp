#pragma once
/// The websocketpp configuration of one worker: lock-free (each endpoint lives on one thread),
/// logging compiled out, a 1 KB read buffer instead of websocketpp's 16 KB default, strict request
/// framing and reason phrases (http_message.hpp).
#if defined(ASIO_NO_DEPRECATED)
#error "websocketpp 0.8.2 uses asio::io_service: build portico without ASIO_NO_DEPRECATED"
#endif

#include "http_message.hpp"

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/logger/stub.hpp>
#include <websocketpp/server.hpp>

namespace portico::engineio::detail {

struct ws_config : websocketpp::config::asio {
  using type = ws_config;
  using base = websocketpp::config::asio;

  using concurrency_type = websocketpp::concurrency::none;
  using request_type = checked_request;   ///< framing checks before any handler
  using response_type = phrased_response;  ///< status lines with reason phrases
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
    using socket_type = websocketpp::transport::asio::basic_socket::endpoint;
    static const bool enable_multithreading = false;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;

  static const bool enable_multithreading = false;
  /// The buffer is part of every connection object, idle or not: 1 KB holds a typical
  /// handshake and a burst of small frames; longer requests and frames just take more reads
  /// (websocketpp copies frames into the message anyway). 4 KB cost 3 KB more per connection.
  static const std::size_t connection_read_buffer_size = 1024;
};

using ws_endpoint = websocketpp::server<ws_config>;
using ws_connection_ptr = ws_endpoint::connection_ptr;
using ws_message_ptr = ws_config::message_type::ptr;

/// A server-to-client frame (unmasked, hybi13) built once; websocketpp sends prepared
/// messages as they are, so one can be queued on many connections without re-framing.
inline ws_message_ptr prepared_frame(websocketpp::frame::opcode::value op, std::string payload) {
  auto m = std::make_shared<ws_config::message_type>(ws_config::con_msg_manager_type::ptr(), op, 0);
  websocketpp::frame::basic_header h(op, payload.size(), true, false);
  websocketpp::frame::extended_header e(payload.size());
  m->set_header(websocketpp::frame::prepare_header(h, e));
  m->get_raw_payload() = std::move(payload);
  m->set_prepared(true);
  return m;
}

}  // namespace portico::engineio::detail

// The separately compiled mode declares websocketpp's instantiations for ws_config extern.
#include "ws_instances.hpp"
