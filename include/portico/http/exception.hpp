#pragma once
/// `throw http::http_exception(401, "Unauthorized")` from a handler or a check answers the
/// request with that status and `{"detail": "Unauthorized"}` (a WebSocket upgrade is refused
/// with it, before the 101). Any other exception is a 500 that leaks nothing.
#include "request.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace portico::http {

class http_exception : public std::runtime_error {
 public:
  /// `headers` are added to the answer (e.g. WWW-Authenticate with a 401).
  http_exception(int status, std::string detail, header_list headers = {})
      : std::runtime_error(detail), status_(status), detail_(std::move(detail)), headers_(std::move(headers)) {}

  int status() const noexcept { return status_; }
  const std::string& detail() const noexcept { return detail_; }
  /// What the client receives.
  response to_response() const {
    response r = error(status_, detail_);
    for (auto& [k, v] : headers_) r.set_header(k, v);
    return r;
  }

 private:
  int status_;
  std::string detail_;
  header_list headers_;
};

}  // namespace portico::http
