#pragma once
/// One background thread for the Socket.IO layer's deadlines (ack timeouts, connect timeouts).
///
/// The Engine.IO layer does not lend its io_contexts, and these deadlines are rare compared to
/// messages, so a single sorted queue is enough. Callbacks run on the timer thread and must only
/// post work elsewhere (to a socket's home worker) or be trivially short.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace portico::socketio::detail {

class timers {
 public:
  using clock = std::chrono::steady_clock;
  using id = std::uint64_t;

  timers() = default;
  timers(const timers&) = delete;
  timers& operator=(const timers&) = delete;
  ~timers() { stop(); }

  /// Schedules `f` after `d`; returns an id for `cancel`. Starts the thread on first use.
  id after(std::chrono::milliseconds d, std::function<void()> f) {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_) return 0;
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    id i = ++next_;
    auto when = clock::now() + d;
    queue_.emplace(std::make_pair(when, i), std::move(f));
    index_.emplace(i, when);
    cv_.notify_one();
    return i;
  }

  /// Returns true when the callback had not run yet (and now never will).
  bool cancel(id i) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = index_.find(i);
    if (it == index_.end()) return false;
    queue_.erase(std::make_pair(it->second, i));
    index_.erase(it);
    return true;
  }

  /// Drops pending callbacks and joins the thread. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
      queue_.clear();
      index_.clear();
      cv_.notify_all();
    }
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stopping_) {
      if (queue_.empty()) {
        cv_.wait(lk);
        continue;
      }
      auto first = queue_.begin();
      const clock::time_point when = first->first.first;  // a copy: cancel() may erase the node while we wait
      if (when > clock::now()) {
        cv_.wait_until(lk, when);
        continue;
      }
      auto f = std::move(first->second);
      index_.erase(first->first.second);
      queue_.erase(first);
      lk.unlock();
      f();
      lk.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<clock::time_point, id>, std::function<void()>> queue_;
  std::unordered_map<id, clock::time_point> index_;
  id next_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace portico::socketio::detail
