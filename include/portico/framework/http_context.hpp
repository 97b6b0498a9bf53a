#pragma once
/// What a guard of a controller route sees: the HTTP request (or the WebSocket handshake of a
/// ws route, before the 101). A guard class may serve gateways and controllers alike by
/// declaring both `can_activate(portico::gateway_context&)` and
/// `can_activate(portico::http_context&)`.

#include <string>
#include <string_view>

#include "../http/request.hpp"

namespace portico {

class http_context {
 public:
  http_context(const http::request& r, bool websocket) noexcept : req_(&r), websocket_(websocket) {}

  /// The whole request: headers, query, path parameters, body.
  const http::request& request() const noexcept { return *req_; }
  const std::string& method() const noexcept { return req_->method; }
  /// The raw (percent-encoded) path, without the query.
  const std::string& path() const noexcept { return req_->path; }
  /// A header (case-insensitive name), a query parameter or a `{name}` path segment; empty when
  /// absent (use request() to tell absent from empty).
  std::string_view header(std::string_view name) const { return or_empty(req_->header(name)); }
  std::string_view query(std::string_view name) const { return or_empty(req_->query_param(name)); }
  std::string_view path_param(std::string_view name) const { return or_empty(req_->path_param(name)); }
  const std::string& remote_address() const noexcept { return req_->remote_address; }
  /// True for the handshake of a ws route: a refusal answers the upgrade, before the 101.
  bool is_websocket() const noexcept { return websocket_; }

 private:
  static std::string_view or_empty(const std::string* s) { return s ? std::string_view(*s) : std::string_view{}; }
  const http::request* req_;
  bool websocket_;
};

}  // namespace portico
