#pragma once
/// A small levelled logger shared by every layer.
///
/// Messages are plain strings built by the caller. To keep disabled levels
/// cheap, guard expensive formatting with `enabled(level)` or use the
/// overloads taking a callable that builds the string only when needed:
///
///     log.info("closing " + sid);                       // always builds the string
///     log.debug([&] { return "frame " + describe(f); }); // built only if debug is on
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace portico {

enum class log_level { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

inline const char* to_string(log_level l) noexcept {
  switch (l) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "?";
}

class logger {
 public:
  using level = log_level;
  using sink_type = std::function<void(level, std::string_view)>;

  /// `name` prefixes every line of the default sink ("[portico.engineio] warn: ...").
  explicit logger(std::string name = "portico", level min = level::warn)
      : name_(std::move(name)), min_(min) {}

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  void set_level(level l) noexcept { min_.store(l, std::memory_order_relaxed); }
  level get_level() const noexcept { return min_.load(std::memory_order_relaxed); }
  bool enabled(level l) const noexcept {
    return l != level::off && l >= min_.load(std::memory_order_relaxed);
  }

  /// Replace the sink (thread-safe). An empty function restores the stderr sink.
  /// The sink may be called from any I/O thread, concurrently.
  void set_sink(sink_type s) {
    auto p = s ? std::make_shared<const sink_type>(std::move(s)) : nullptr;
    std::lock_guard<std::mutex> g(mu_);
    sink_ = std::move(p);
  }

  void write(level l, std::string_view msg) const {
    if (!enabled(l)) return;
    std::shared_ptr<const sink_type> s;
    {
      std::lock_guard<std::mutex> g(mu_);
      s = sink_;
    }
    if (s) {
      (*s)(l, msg);
    } else {
      // One fprintf per line so concurrent lines do not interleave mid-line.
      std::fprintf(stderr, "[%s] %s: %.*s\n", name_.c_str(), to_string(l),
                   static_cast<int>(msg.size()), msg.data());
    }
  }

  /// Lazily built message: `f` is only called when the level is enabled.
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void write(level l, F&& f) const {
    if (!enabled(l)) return;
    const auto& m = f();
    write(l, std::string_view(m));
  }

  void trace(std::string_view m) const { write(level::trace, m); }
  void debug(std::string_view m) const { write(level::debug, m); }
  void info(std::string_view m) const { write(level::info, m); }
  void warn(std::string_view m) const { write(level::warn, m); }
  void error(std::string_view m) const { write(level::error, m); }

  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void trace(F&& f) const { write(level::trace, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void debug(F&& f) const { write(level::debug, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void info(F&& f) const { write(level::info, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void warn(F&& f) const { write(level::warn, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void error(F&& f) const { write(level::error, std::forward<F>(f)); }

  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::atomic<level> min_;
  mutable std::mutex mu_;
  std::shared_ptr<const sink_type> sink_;
};

}  // namespace portico
