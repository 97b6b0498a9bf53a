#pragma once
/// One HTTP/1.1 request/response on its own TCP connection, asynchronous, on the client's
/// io_context: all that Engine.IO long-polling needs from an HTTP client. Each exchange asks for
/// `Connection: close` and reads the response to its end, so no connection pool and no
/// keep-alive bookkeeping exist (servers such as websocketpp close after one response anyway).

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <asio.hpp>

namespace portico::client::detail {

/// What an exchange produced. `status == 0`: no HTTP answer (refused, reset, timed out, garbled).
struct http_result {
  int status = 0;
  std::string body;
  std::string error;  ///< why there is no status
};

/// Splits a raw HTTP response: status code, then the body (de-chunked when chunked).
inline http_result parse_http_response(std::string_view raw) {
  http_result r;
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (raw.substr(0, 5) != "HTTP/" || head_end == std::string_view::npos) {
    r.error = "malformed HTTP response";
    return r;
  }
  const std::string_view head = raw.substr(0, head_end);
  const std::size_t sp = head.find(' ');
  if (sp == std::string_view::npos || sp + 4 > head.size()) {
    r.error = "malformed status line";
    return r;
  }
  int status = 0;
  for (std::size_t i = sp + 1; i < sp + 4; ++i) {
    const char c = head[i];
    if (c < '0' || c > '9') {
      r.error = "malformed status line";
      return r;
    }
    status = status * 10 + (c - '0');
  }
  bool chunked = false;
  std::size_t content_length = std::string_view::npos;
  for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
    const std::size_t next = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    pos = next;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (auto& ch : name) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (name == "transfer-encoding" && value.find("chunked") != std::string_view::npos) chunked = true;
    if (name == "content-length") {
      std::size_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') break;
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      content_length = n;
    }
  }
  std::string_view body = raw.substr(head_end + 4);
  if (chunked) {
    // <hex size>[;ext]\r\n<data>\r\n ... 0\r\n\r\n
    while (!body.empty()) {
      const std::size_t eol = body.find("\r\n");
      if (eol == std::string_view::npos) break;
      std::size_t n = 0;
      for (char c : body.substr(0, eol)) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) break;
        n = n * 16 + static_cast<std::size_t>(d);
      }
      if (n == 0 || eol + 2 + n > body.size()) break;
      r.body.append(body.substr(eol + 2, n));
      body.remove_prefix(std::min(body.size(), eol + 2 + n + 2));
    }
  } else {
    if (content_length != std::string_view::npos && content_length < body.size()) body = body.substr(0, content_length);
    if (content_length != std::string_view::npos && content_length > body.size()) {
      r.error = "truncated HTTP response";
      return r;
    }
    r.body.assign(body.data(), body.size());
  }
  r.status = status;
  return r;
}

/// A single asynchronous exchange. Keep the shared_ptr to be able to `cancel()`; the callback
/// runs exactly once on the io_context's thread (also after cancel, with status 0).
class http_exchange : public std::enable_shared_from_this<http_exchange> {
 public:
  using done_fn = std::function<void(http_result&)>;

  explicit http_exchange(asio::io_context& io) : resolver_(io), socket_(io), timer_(io) {}

  /// `target` is the path with its query; `headers` are sent as given (Host is added).
  void start(const std::string& host, const std::string& port, const std::string& method, const std::string& target,
             const std::map<std::string, std::string>& headers, std::string body, std::chrono::milliseconds timeout,
             done_fn done) {
    done_ = std::move(done);
    request_ = method + " " + target + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nConnection: close\r\n";
    for (const auto& kv : headers) request_ += kv.first + ": " + kv.second + "\r\n";
    if (method == "POST") {
      request_ += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    request_ += "\r\n";
    request_ += body;
    auto self = shared_from_this();
    timer_.expires_after(timeout);
    timer_.async_wait([self](const asio::error_code& e) {
      if (!e) self->fail("timeout");
    });
    // "[::1]" in a URL is "::1" to the resolver.
    std::string h = host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
    resolver_.async_resolve(h, port, [self](const asio::error_code& e, asio::ip::tcp::resolver::results_type rs) {
      if (e) return self->fail(e.message());
      asio::async_connect(self->socket_, rs, [self](const asio::error_code& e2, const asio::ip::tcp::endpoint&) {
        if (e2) return self->fail(e2.message());
        asio::error_code ignored;
        self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
        asio::async_write(self->socket_, asio::buffer(self->request_), [self](const asio::error_code& e3, std::size_t) {
          if (e3) return self->fail(e3.message());
          self->read_more();
        });
      });
    });
  }

  /// Ends the exchange now; the callback still runs (status 0, "cancelled") unless it already ran.
  void cancel() { fail("cancelled"); }

 private:
  void read_more() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_), [self](const asio::error_code& e, std::size_t n) {
      self->response_.append(self->chunk_, n);
      if (!e) return self->read_more();
      if (e != asio::error::eof) return self->fail(e.message());
      http_result r = parse_http_response(self->response_);
      self->finish(r);
    });
  }
  void fail(const std::string& why) {
    http_result r;
    r.error = why;
    finish(r);
  }
  void finish(http_result& r) {
    if (!done_) return;
    done_fn f = std::move(done_);
    done_ = nullptr;
    asio::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
    f(r);
  }

  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::string request_, response_;
  char chunk_[4096];
  done_fn done_;
};

}  // namespace portico::client::detail
