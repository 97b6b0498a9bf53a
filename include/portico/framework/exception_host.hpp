#pragma once
/// What an exception filter answers through (NestJS's `ArgumentsHost`).
///
/// `ws_exception_host`: inside a gateway handler (its guards, interceptors, decoding). The filter
/// chooses the answer: the `error` event with a payload of its own (`error(...)`), the ack when
/// the client asked for one (`ack(...)`), a disconnect, any emit, or the built-in answer
/// (`report(code, reason)`: `error` event `{code, reason}`, error ack, disconnect when the
/// gateway says so). Doing nothing swallows the exception.
///
/// `connect_exception_host`: at a gateway's CONNECT (class and app-wide guards, `on_connected`):
/// the filter words the refusal (`connect_error` message and data); the client is refused anyway.
///
/// `http_exception_host`: inside a controller route (its guards, interceptors, handler). The
/// filter answers with `send(response)`; one that sends nothing passes the exception on to the
/// next filter (finally the built-in mapping: http_exception -> its status, else 500).

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../http/request.hpp"
#include "context.hpp"
#include "exceptions.hpp"
#include "http_context.hpp"

namespace portico {

class ws_exception_host {
 public:
  ws_exception_host(gateway_context& ctx, socketio::event& e, bool disconnect_on_error) noexcept
      : ctx_(&ctx), event_(&e), disconnect_on_error_(disconnect_on_error) {}

  /// The client and the message (sid, event name, arguments, emit, rooms...).
  gateway_context& context() const noexcept { return *ctx_; }
  /// The client asked for an ack that was not sent yet.
  bool wants_ack() const noexcept { return event_->wants_ack(); }
  /// Answers the client's ack with these values (nothing if it asked for none).
  template <class... A>
  void ack(const A&... values) {
    event_->ack(values...);
  }
  /// Sends the `error` event with `payload` (any JSON-encodable value), nothing else.
  template <class T>
  void error(const T& payload) {
    ctx_->emit("error", payload);
  }
  /// The built-in answer: `error` event `{"code","reason"}`, the error ack `{"error":{...}}` if
  /// one was asked, and a disconnect when the gateway's `disconnect_on_error` is set.
  template <class Reason>
  void report(int code, const Reason& reason) {
    const ws_exception ex(code, reason);
    const std::string body = ex.body();
    ctx_->emit("error", framework::detail::json_text{body});
    if (event_->wants_ack()) event_->ack(framework::detail::json_text{"{\"error\":" + body + "}"});
    if (disconnect_on_error_) ctx_->disconnect();
  }
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    ctx_->emit(name, a...);
  }
  void disconnect() { ctx_->disconnect(); }

 private:
  gateway_context* ctx_;
  socketio::event* event_;
  bool disconnect_on_error_;
};

/// At a gateway's CONNECT (a class or app-wide guard's refusal, an exception of `on_connected`):
/// the filter words the `connect_error` the client sees (`err.message`, `err.data` in
/// socket.io-client). The client is refused whatever the filter does; one that refuses nothing
/// passes the exception on (finally the built-in answer: `{message, data: {code, reason}}`).
class connect_exception_host {
 public:
  connect_exception_host(gateway_context& ctx, socketio::connect_request& r) noexcept : ctx_(&ctx), request_(&r) {}

  /// The client (auth, handshake, sid, namespace).
  gateway_context& context() const noexcept { return *ctx_; }
  /// connect_error `{"message": message}`.
  void refuse(std::string message) {
    request_->refuse(std::move(message));
    answered_ = true;
  }
  /// connect_error `{"message": message, "data": data}` (data: any JSON-encodable value).
  template <class T>
  void refuse(std::string message, const T& data) {
    request_->refuse(std::move(message), data);
    answered_ = true;
  }
  /// The built-in answer: `{"message": reason text, "data": {"code", "reason"}}`.
  template <class Reason>
  void report(int code, const Reason& reason) {
    const ws_exception ex(code, reason);
    refuse(ex.what(), framework::detail::json_text{ex.body()});
  }
  bool answered() const noexcept { return answered_; }

 private:
  gateway_context* ctx_;
  socketio::connect_request* request_;
  bool answered_ = false;
};

class http_exception_host {
 public:
  explicit http_exception_host(http_context& ctx) noexcept : ctx_(&ctx) {}

  /// The request (headers, query, path parameters, body).
  http_context& context() const noexcept { return *ctx_; }
  /// The answer (status, headers, body); the last call wins.
  void send(http::response r) { response_ = std::move(r); }
  bool answered() const noexcept { return response_.has_value(); }
  std::optional<http::response>& response() noexcept { return response_; }

 private:
  http_context* ctx_;
  std::optional<http::response> response_;
};

}  // namespace portico
