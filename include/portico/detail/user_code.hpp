#pragma once
/// One policy for running user code (handlers, callbacks, tasks) on a thread portico owns: what
/// it throws is logged once at error level and reported as `false`; it never reaches the loop
/// that called it, so one bad handler cannot take an I/O thread (and every session on it) down.
///
/// Code that turns an exception into an answer for the client (the router's http_exception, the
/// framework's exception filters) catches that first and leaves the rest to this.
#include "../log.hpp"

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

namespace portico::detail {

/// The one log line of a failure; `error` is the exception's what(), null for a non-standard one.
template <class W>
void log_user_code_failure(const logger* log, W& what, const char* error) noexcept {
  if (!log) return;
  try {  // logging may throw (allocation, a user sink): never out of here
    log->error([&] {
      std::string line;
      if constexpr (std::is_invocable_v<W&>) line = what();
      else line = std::string(what);
      return error ? line + " threw: " + error : line + " threw a non-standard exception";
    });
  } catch (...) {
  }
}

/// For the `catch (...)` that ends a ladder whose first clauses map some exceptions to an answer:
/// logs the exception in flight as run_user_code does.
template <class W>
void log_user_code_exception(const logger* log, W&& what) noexcept {
  try {
    throw;
  } catch (const std::exception& e) {
    log_user_code_failure(log, what, e.what());
  } catch (...) {
    log_user_code_failure(log, what, nullptr);
  }
}

/// Runs `f`; false when it threw. `what` names the code in the log line ("event handler 'chat'"):
/// a string, or a callable returning one, built only when something was thrown (nothing to pay
/// on the hot path). `log` may be null: then the failure is swallowed silently.
template <class W, class F>
bool run_user_code(const logger* log, W&& what, F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return true;
  } catch (...) {
    log_user_code_exception(log, what);
  }
  return false;
}

template <class W, class F>
bool run_user_code(const logger& log, W&& what, F&& f) noexcept {
  return run_user_code(&log, std::forward<W>(what), std::forward<F>(f));
}

}  // namespace portico::detail
