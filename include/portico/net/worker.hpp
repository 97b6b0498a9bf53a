#pragma once
/// One I/O thread of a host: its io_context, deadline wheel, shared read buffer, websocketpp
/// endpoint and the list of its connections. Everything here is touched only on that thread
/// (except `io`, which any thread may post to, and `stopped`).

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../log.hpp"
#include "deadline_wheel.hpp"
#include "detail/ws_config.hpp"
#include "handler.hpp"
#include "options.hpp"

namespace portico::net {

namespace detail {
/// The mounts of a host, longest prefix first (fixed once the host runs).
struct mount_table {
  std::vector<std::pair<std::string, std::shared_ptr<handler>>> mounts;
  handler* find(std::string_view path) const noexcept {
    for (auto& m : mounts)
      if (path.substr(0, m.first.size()) == m.first) return m.second.get();
    return nullptr;
  }
};

class connection_base;
}  // namespace detail

struct worker {
  /// Reads drain the socket into this one buffer; a connection keeps bytes of its own only
  /// while a request is incomplete, so an idle connection holds no read buffer.
  static constexpr std::size_t read_buffer_size = 64 * 1024;

  worker(const host_options& o, const detail::mount_table& m, portico::logger& l)
      : io(1), opts(o), mounts(m), log(l), wheel(o.tick), ticker(io), grace(io), read_buf(new char[read_buffer_size]) {
    ws.clear_access_channels(websocketpp::log::alevel::all);
    ws.clear_error_channels(websocketpp::log::elevel::all);
    ws.set_max_message_size(o.max_message_bytes);
  }

  asio::io_context io;
  const host_options& opts;
  const detail::mount_table& mounts;
  portico::logger& log;
  deadline_wheel wheel;
  asio::steady_timer ticker;  ///< advances the wheel every opts.tick
  asio::steady_timer grace;   ///< stop(): closes what is still open after opts.stop_timeout
  std::unique_ptr<char[]> read_buf;
  detail::ws_endpoint ws;
  /// Live connections (intrusive list, for stop()).
  detail::connection_base* first = nullptr;
  std::size_t connections = 0;
  bool stopping = false;
  /// Set once the thread has ended: late answers from other threads are dropped.
  std::atomic<bool> stopped{false};
  std::thread thread;
  /// Connections with broadcast frames to write at the end of this turn, drained by one posted
  /// job (connection.hpp, after_broadcast_queue). Last: destroyed before what connections use.
  std::vector<std::shared_ptr<detail::connection_base>> flush_due, flush_draining;
};

}  // namespace portico::net
