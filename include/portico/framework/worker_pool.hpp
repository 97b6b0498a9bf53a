#pragma once
/// A small pool of threads for slow handlers, so they never block an I/O thread.
///
///     void report(const Query& q, portico::gateway_context& ctx) {
///       ctx.offload([ack = ctx.take_ack(), q] () mutable {  // runs on a pool thread
///         ack(expensive(q));                                 // ack_sender is thread-safe
///       });
///     }

#include "../detail/user_code.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace portico {

class worker_pool {
 public:
  explicit worker_pool(unsigned threads = 2) : s_(std::make_shared<state>()) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) {
      threads_.emplace_back([s = s_] { work(*s); });
      ids_.push_back(threads_.back().get_id());
    }
  }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  /// Runs the queued tasks, then joins. From a pool task (the app destroyed by a slow handler)
  /// that task's own thread is detached instead: it only touches the shared state afterwards.
  ~worker_pool() {
    stop();
    std::lock_guard<std::mutex> g(join_mu_);
    for (auto& t : threads_)
      if (t.joinable()) t.detach();
  }

  /// Queues `f`; from any thread. Ignored once stop() has begun.
  void post(std::function<void()> f) {
    // Once the task is queued it may run and destroy this pool before we notify (ThreadSanitizer
    // saw it): from then on only the shared state, held here, is touched.
    auto s = s_;
    {
      std::lock_guard<std::mutex> g(s->mu);
      if (s->stopping) return;
      s->tasks.push_back(std::move(f));
    }
    s->cv.notify_one();
  }

  /// Finishes the queued tasks and joins the threads (idempotent). Called from a pool task, it
  /// joins the other threads and leaves the caller's own to a later stop() or the destructor.
  /// Safe to call from several threads at once (app::stop() from a signal thread while app::run()
  /// stops on its way out): each thread is joined by one caller, and a caller from outside the
  /// pool returns once every join is done.
  void stop() {
    {
      std::lock_guard<std::mutex> g(s_->mu);
      s_->stopping = true;
    }
    s_->cv.notify_all();
    const bool from_pool = is_pool_thread();
    std::unique_lock<std::mutex> g(join_mu_);
    for (;;) {
      std::vector<std::thread> mine;
      mine.swap(threads_);
      if (mine.empty()) {
        // Another caller is joining: wait for it, unless this is a pool thread (it may be the
        // very thread that caller is joining).
        if (joining_ == 0 || from_pool) return;
        joined_.wait(g);
        continue;
      }
      ++joining_;
      g.unlock();
      std::vector<std::thread> own;
      for (auto& t : mine) {
        if (!t.joinable()) continue;
        if (t.get_id() == std::this_thread::get_id()) own.push_back(std::move(t));
        else t.join();
      }
      g.lock();
      --joining_;
      for (auto& t : own) threads_.push_back(std::move(t));
      joined_.notify_all();
      if (!own.empty()) return;  // a pool thread: its own thread is left to a later stop()
    }
  }

 private:
  /// Shared with the threads, so a detached one never reads a destroyed pool.
  struct state {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> tasks;
    bool stopping = false;
  };

  static void work(state& s) {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock<std::mutex> g(s.mu);
        s.cv.wait(g, [&] { return s.stopping || !s.tasks.empty(); });
        if (s.tasks.empty()) return;
        f = std::move(s.tasks.front());
        s.tasks.pop_front();
      }
      // A task's failure is its own business (it holds the ack): no log; the pool keeps running.
      portico::detail::run_user_code(nullptr, "a worker pool task", f);
    }
  }

  bool is_pool_thread() const {
    for (auto& id : ids_)
      if (id == std::this_thread::get_id()) return true;
    return false;
  }

  std::shared_ptr<state> s_;
  std::vector<std::thread> threads_;  ///< not yet joined (guarded by join_mu_ once running)
  std::vector<std::thread::id> ids_;  ///< every pool thread, fixed at construction
  std::mutex join_mu_;
  std::condition_variable joined_;
  unsigned joining_ = 0;  ///< callers of stop() joining right now
};

}  // namespace portico
