#pragma once
/// Ending a server process cleanly on SIGINT / SIGTERM (Ctrl-C, `systemctl stop`, `docker stop`).
///
///     portico::stop_signals signals;   // first: before any server thread exists
///     app.listen("0.0.0.0", 8000);
///     signals.wait();                  // returns on SIGINT or SIGTERM
///     app.stop();                      // disconnect handlers run, clients see a clean close
///
/// The constructor blocks both signals in the calling thread, so every thread started later
/// (I/O workers, timers, pools) inherits the mask and none is interrupted; `wait` then takes
/// them synchronously, so nothing runs in signal-handler context. POSIX only.

#include <cerrno>
#include <chrono>
#include <csignal>

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace portico {

class stop_signals {
 public:
  stop_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }

  /// Blocks until SIGINT or SIGTERM arrives (returns its number) or `limit` has passed (returns
  /// 0). A zero limit waits for a signal only (examples use a limit for `--max-seconds`).
  int wait(std::chrono::milliseconds limit = std::chrono::milliseconds::zero()) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int sig = -1;
      if (limit.count() <= 0) {
        sig = sigwaitinfo(&set_, nullptr);
      } else {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return 0;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        timespec t{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        sig = sigtimedwait(&set_, nullptr, &t);
        if (sig < 0 && errno == EAGAIN) return 0;
      }
      if (sig == SIGINT || sig == SIGTERM) return sig;
      // EINTR (another signal's handler ran): keep waiting.
    }
  }

 private:
  sigset_t set_;
};

}  // namespace portico
