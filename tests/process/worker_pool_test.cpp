// portico::worker_pool: queued tasks run before stop() returns; stop() and even the pool's
// destruction from inside one of its own tasks neither deadlock nor terminate the process.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "portico/framework/worker_pool.hpp"

using namespace std::chrono_literals;

TEST_CASE("worker_pool: stop() runs what was queued, then refuses new tasks", "[worker_pool]") {
  portico::worker_pool pool(2);
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) pool.post([&] { std::this_thread::sleep_for(1ms), ++ran; });
  pool.stop();
  CHECK(ran.load() == 50);
  pool.post([&] { ++ran; });
  pool.stop();  // idempotent
  CHECK(ran.load() == 50);
}

TEST_CASE("worker_pool: stop() from one of its own tasks", "[worker_pool]") {
  portico::worker_pool pool(2);
  std::promise<void> stopped;
  std::atomic<int> later{0};
  pool.post([&] {
    pool.post([&] { ++later; });  // queued before the stop: still runs
    pool.stop();                  // joins the other thread, not its own
    stopped.set_value();
  });
  REQUIRE(stopped.get_future().wait_for(5s) == std::future_status::ready);
  pool.stop();  // from the test thread: joins the thread that called stop() before
  CHECK(later.load() == 1);
}

TEST_CASE("worker_pool: destroyed from one of its own tasks", "[worker_pool]") {
  auto pool = std::make_shared<std::unique_ptr<portico::worker_pool>>(std::make_unique<portico::worker_pool>(1));
  std::promise<void> done;
  (*pool)->post([pool, &done] {
    pool->reset();  // the destructor runs on the pool's only thread: it detaches it
    done.set_value();
  });
  REQUIRE(done.get_future().wait_for(5s) == std::future_status::ready);
  std::this_thread::sleep_for(20ms);  // the detached thread leaves work() on the shared state
}

TEST_CASE("worker_pool: stop() from several threads at once", "[worker_pool]") {
  // app::stop() from a signal thread while app::run() stops on its way out: each pool thread is
  // joined once, and every caller from outside returns after the queued tasks ran.
  for (int round = 0; round < 20; ++round) {
    portico::worker_pool pool(3);
    std::atomic<int> ran{0};
    for (int i = 0; i < 12; ++i) pool.post([&] { std::this_thread::sleep_for(1ms), ++ran; });
    std::atomic<int> after{0};
    std::vector<std::thread> stoppers;
    for (int k = 0; k < 4; ++k)
      stoppers.emplace_back([&] {
        pool.stop();
        if (ran.load() == 12) ++after;
      });
    // One more stop() from inside a task of the pool, racing the others.
    pool.post([&] { pool.stop(); });
    for (auto& t : stoppers) t.join();
    CHECK(after.load() == 4);
    CHECK(ran.load() == 12);
  }
}
