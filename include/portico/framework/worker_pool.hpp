#pragma once
/// A small pool of threads for slow handlers, so they never block an I/O thread.
///
///     void report(const Query& q, portico::gateway_context& ctx) {
///       ctx.offload([ack = ctx.take_ack(), q] () mutable {  // runs on a pool thread
///         ack(expensive(q));                                 // ack_sender is thread-safe
///       });
///     }

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace portico {

class worker_pool {
 public:
  explicit worker_pool(unsigned threads = 2) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  /// Runs the queued tasks, then joins.
  ~worker_pool() { stop(); }

  /// Queues `f`; from any thread.
  void post(std::function<void()> f) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopping_) return;
      tasks_.push_back(std::move(f));
    }
    cv_.notify_one();
  }

  /// Finishes the queued tasks and joins the threads (idempotent).
  void stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopping_ && threads_.empty()) return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    threads_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait(g, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        f = std::move(tasks_.front());
        tasks_.pop_front();
      }
      try {
        f();
      } catch (...) {
        // A task's failure is its own business (it holds the ack); the pool keeps running.
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace portico
