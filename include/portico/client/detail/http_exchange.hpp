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

#include "../../detail/http_response.hpp"

namespace portico::client::detail {

/// What an exchange produced (status 0: no HTTP answer; `error` says why).
using http_result = portico::detail::http_response;
using portico::detail::parse_http_response;

/// A single asynchronous exchange. Keep the shared_ptr to be able to `cancel()`; the callback
/// runs exactly once on the io_context's thread (also after cancel, with status 0).
class http_exchange : public std::enable_shared_from_this<http_exchange> {
 public:
  using done_fn = std::function<void(http_result&)>;

  explicit http_exchange(asio::io_context& io) : resolver_(io), socket_(io), timer_(io) {}

  /// `target` is the path with its query; `headers` are sent as given (Host is added, and for a
  /// body Content-Length, and Content-Type text/plain unless `headers` has one).
  void start(const std::string& host, const std::string& port, const std::string& method, const std::string& target,
             const std::map<std::string, std::string>& headers, std::string body, std::chrono::milliseconds timeout,
             done_fn done) {
    done_ = std::move(done);
    request_ = method + " " + target + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nConnection: close\r\n";
    bool has_type = false;
    for (const auto& kv : headers) {
      request_ += kv.first + ": " + kv.second + "\r\n";
      has_type = has_type || portico::detail::iequals(kv.first, "content-type");
    }
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      if (!has_type) request_ += "Content-Type: text/plain;charset=UTF-8\r\n";
      request_ += "Content-Length: " + std::to_string(body.size()) + "\r\n";
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
