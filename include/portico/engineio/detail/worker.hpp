#pragma once
/// One worker: an io_context, the thread that runs it and the websocketpp endpoint listening on
/// it. A session lives on one worker at a time (its home); the server starts, drains and joins
/// the workers.
#include "../../detail/user_code.hpp"
#include "../../log.hpp"
#include "../metrics.hpp"
#include "ws_config.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace portico::engineio::detail {

struct worker {
  explicit worker(unsigned i) : index(i), own_ioc(1), ioc(own_ioc) {}
  /// A thread of a net::host the engine is mounted on: the host runs `io`; no endpoint listens.
  worker(unsigned i, asio::io_context& io) : index(i), own_ioc(1), ioc(io), hosted(true) {}
  unsigned index;
  mutable asio::io_context own_ioc;  // declared before `ep`: the endpoint's acceptor must die first
  asio::io_context& ioc;             ///< own_ioc, or the host thread's
  bool hosted = false;
  ws_endpoint ep;
  std::thread thread;
  /// This worker's counters, written only on its thread; null when metrics are off.
  metrics::counters* stats = nullptr;
  bool running_here() const { return ioc.get_executor().running_in_this_thread(); }
  /// Runs the io_context until it is stopped or out of work (the worker's thread). What a
  /// handler throws loses that handler's work, never the worker and the sessions on it.
  void run(const portico::logger& log) {
    while (!portico::detail::run_user_code(log, "a handler on an Engine.IO worker", [this] { ioc.run(); })) {
    }
  }
};

/// Waits until every worker has run the tasks queued so far (or the deadline passes).
inline void barrier(const std::vector<std::unique_ptr<worker>>& workers,
                    std::chrono::steady_clock::time_point deadline) {
  auto left = std::make_shared<std::pair<std::mutex, std::size_t>>();
  auto cv = std::make_shared<std::condition_variable>();
  left->second = workers.size();
  for (auto& w : workers)
    asio::post(w->ioc, [left, cv] {
      std::lock_guard<std::mutex> g(left->first);
      if (--left->second == 0) cv->notify_all();
    });
  std::unique_lock<std::mutex> g(left->first);
  cv->wait_until(g, deadline, [&] { return left->second == 0; });
}

}  // namespace portico::engineio::detail
