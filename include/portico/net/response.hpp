#pragma once
/// The answer to one HTTP request: a one-shot handle a mounted handler may send at once or keep
/// and send later from any thread (a long-poll). Answers go out in request order even when
/// pipelined requests are answered out of order. A handle dropped without `send` answers 500,
/// so a forgotten request cannot stall the connection's pipeline.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace portico::net {

namespace detail {
/// Where an answer goes: the connection that read the request (callable from any thread).
class answer_sink {
 public:
  virtual ~answer_sink() = default;
  virtual void answer(std::uint64_t seq, int status, std::string fields, std::string body,
                      std::shared_ptr<const std::string> shared_body, bool close) = 0;
  /// Whether the connection can still take the answer (false once it closed).
  virtual bool open() const noexcept = 0;
  /// Runs `f` on the connection's thread if it closes before answer `seq` is sent.
  virtual void on_abort(std::uint64_t seq, std::function<void()> f) = 0;
};
}  // namespace detail

class response {
 public:
  response() = default;
  response(std::shared_ptr<detail::answer_sink> sink, std::uint64_t seq) : sink_(std::move(sink)), seq_(seq) {}
  response(response&& o) noexcept { *this = std::move(o); }
  response& operator=(response&& o) noexcept {
    if (this != &o) {
      abandon();
      sink_ = std::move(o.sink_);
      seq_ = o.seq_;
      status_ = o.status_;
      fields_ = std::move(o.fields_);
      close_ = o.close_;
    }
    return *this;
  }
  response(const response&) = delete;
  response& operator=(const response&) = delete;
  ~response() { abandon(); }

  response& status(int s) noexcept {
    status_ = s;
    return *this;
  }
  int status() const noexcept { return status_; }

  /// Adds a header field. Content-Length and Connection are the host's: do not set them.
  /// CR and LF are dropped from name and value (no response splitting).
  response& header(std::string_view name, std::string_view value) {
    append_clean(name);
    fields_ += ": ";
    append_clean(value);
    fields_ += "\r\n";
    return *this;
  }
  /// Closes the connection once this answer is written.
  response& close_connection() noexcept {
    close_ = true;
    return *this;
  }

  /// Sends the answer (once; later calls do nothing). Callable from any thread.
  void send(std::string body = {}) { finish(std::move(body), nullptr); }
  /// Sends a shared immutable body (a cached page): no copy per response.
  void send(std::shared_ptr<const std::string> body) { finish({}, std::move(body)); }

  /// `f` runs (on the connection's I/O thread) if the client goes away before this answer is
  /// sent: a long-poll learns that its request is gone. Set it before `send`; callable from any
  /// thread.
  response& on_abort(std::function<void()> f) {
    if (sink_) sink_->on_abort(seq_, std::move(f));
    return *this;
  }

  /// Not yet sent.
  bool pending() const noexcept { return sink_ != nullptr; }
  /// The client is still connected (a long-poll can stop waiting when it is not).
  bool connection_open() const noexcept { return sink_ && sink_->open(); }

 private:
  void append_clean(std::string_view s) {
    for (char c : s)
      if (c != '\r' && c != '\n') fields_ += c;
  }
  void finish(std::string body, std::shared_ptr<const std::string> shared) {
    if (!sink_) return;
    auto sink = std::move(sink_);
    sink_ = nullptr;
    sink->answer(seq_, status_, std::move(fields_), std::move(body), std::move(shared), close_);
  }
  void abandon() noexcept {
    if (!sink_) return;
    try {
      status_ = 500;
      fields_.clear();
      finish({}, nullptr);
    } catch (...) {
      sink_ = nullptr;
    }
  }

  std::shared_ptr<detail::answer_sink> sink_;
  std::uint64_t seq_ = 0;
  int status_ = 200;
  std::string fields_;
  bool close_ = false;
};

}  // namespace portico::net
