#pragma once
/// One HTTP/1.1 request/response on its own TCP (or TLS) connection, asynchronous, on the client's
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

/// A single asynchronous exchange, plain or TLS. Keep the shared_ptr to be able to `cancel()`;
/// the callback runs exactly once on the io_context's thread (also after cancel, with status 0).
class any_http_exchange : public std::enable_shared_from_this<any_http_exchange> {
 public:
  using done_fn = std::function<void(http_result&)>;
  virtual ~any_http_exchange() = default;

  /// `target` is the path with its query; `headers` are sent as given (Host is added, and for a
  /// body Content-Length, and Content-Type text/plain unless `headers` has one).
  virtual void start(const std::string& host, const std::string& port, const std::string& method,
                     const std::string& target, const std::map<std::string, std::string>& headers, std::string body,
                     std::chrono::milliseconds timeout, done_fn done) = 0;

  /// Ends the exchange now; the callback still runs (status 0, "cancelled") unless it already ran.
  virtual void cancel() = 0;
};

/// The stream policy of a plain TCP exchange (client/tls.hpp has the TLS one): no handshake.
class plain_stream {
 public:
  explicit plain_stream(asio::io_context& io) : socket_(io) {}
  asio::ip::tcp::socket& tcp() noexcept { return socket_; }
  asio::ip::tcp::socket& stream() noexcept { return socket_; }
  template <class H>
  void async_handshake(const std::string&, H&& h) {
    h(asio::error_code(), std::string());
  }
  /// Whether `e` ends a response read to the close of the connection.
  static bool is_end(const asio::error_code& e) noexcept { return e == asio::error::eof; }

 private:
  asio::ip::tcp::socket socket_;
};

/// An exchange over the stream policy `Stream`: connect, `Stream::async_handshake` (TLS), write
/// the request, read to the end.
template <class Stream>
class basic_http_exchange final : public any_http_exchange {
 public:
  template <class... A>
  explicit basic_http_exchange(asio::io_context& io, A&&... stream_args)
      : resolver_(io), stream_(io, std::forward<A>(stream_args)...), timer_(io) {}

  void start(const std::string& host, const std::string& port, const std::string& method, const std::string& target,
             const std::map<std::string, std::string>& headers, std::string body, std::chrono::milliseconds timeout,
             done_fn done) override {
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
    auto self = shared();
    timer_.expires_after(timeout);
    timer_.async_wait([self](const asio::error_code& e) {
      if (!e) self->fail("timeout");
    });
    // "[::1]" in a URL is "::1" to the resolver (and to the TLS host check).
    std::string h = host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
    resolver_.async_resolve(h, port, [self, h](const asio::error_code& e, asio::ip::tcp::resolver::results_type rs) {
      if (e) return self->fail(e.message());
      asio::async_connect(self->stream_.tcp(), rs, [self, h](const asio::error_code& e2, const asio::ip::tcp::endpoint&) {
        if (e2) return self->fail(e2.message());
        asio::error_code ignored;
        self->stream_.tcp().set_option(asio::ip::tcp::no_delay(true), ignored);
        self->stream_.async_handshake(h, [self](const asio::error_code& e3, const std::string& why) {
          if (e3) return self->fail(why.empty() ? e3.message() : why);
          asio::async_write(self->stream_.stream(), asio::buffer(self->request_),
                            [self](const asio::error_code& e4, std::size_t) {
                              if (e4) return self->fail(e4.message());
                              self->read_more();
                            });
        });
      });
    });
  }

  void cancel() override { fail("cancelled"); }

 private:
  std::shared_ptr<basic_http_exchange> shared() {
    return std::static_pointer_cast<basic_http_exchange>(shared_from_this());
  }
  void read_more() {
    auto self = shared();
    stream_.stream().async_read_some(asio::buffer(chunk_), [self](const asio::error_code& e, std::size_t n) {
      self->response_.append(self->chunk_, n);
      if (!e) return self->read_more();
      if (!Stream::is_end(e)) return self->fail(e.message());
      // A response cut short is caught by the parser (Content-Length against the body read).
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
    stream_.tcp().close(ignored);
    f(r);
  }

  asio::ip::tcp::resolver resolver_;
  Stream stream_;
  asio::steady_timer timer_;
  std::string request_, response_;
  char chunk_[4096];
  done_fn done_;
};

/// The plain-TCP exchange (also what portico::testing's http_client uses).
using http_exchange = basic_http_exchange<plain_stream>;

}  // namespace portico::client::detail
