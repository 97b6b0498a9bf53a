// portico::stop_signals: a SIGTERM sent to the process ends wait() with that signal, whichever
// thread the kernel picks; without a signal wait() returns 0 when its limit passes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "portico/stop_signals.hpp"

using namespace std::chrono_literals;

TEST_CASE("stop_signals: SIGTERM from another thread ends wait()", "[process]") {
  portico::stop_signals signals;  // before the thread: it inherits the blocked mask
  std::thread sender([&] {
    std::this_thread::sleep_for(50ms);
    ::kill(::getpid(), SIGTERM);  // to the process: any thread may be chosen, all have it blocked
  });
  const auto t0 = std::chrono::steady_clock::now();
  const int sig = signals.wait(5s);
  sender.join();
  CHECK(sig == SIGTERM);
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
}

TEST_CASE("stop_signals: SIGINT, and the limit", "[process]") {
  portico::stop_signals signals;
  ::kill(::getpid(), SIGINT);  // pending until taken
  CHECK(signals.wait(1s) == SIGINT);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(signals.wait(150ms) == 0);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 140ms);
  CHECK(took < 3s);
}
