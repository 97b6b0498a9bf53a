#pragma once
/// An HTTP/1.1 response as the client side reads it: the C++ client's long-polling exchanges and
/// the testing module's `http_client` both parse with this, so chunked bodies, header case and
/// truncation are handled once.

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "ascii.hpp"

namespace portico::detail {

/// A parsed response. `status == 0`: there is no HTTP answer (refused, reset, timed out, garbled),
/// and `error` says why.
struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased; a repeated header keeps the last
  std::string body;                            ///< de-chunked
  std::string error;

  /// The value of header `lower_name` (lower case), or "" when absent.
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// Splits a complete raw response (read until the server closed): status, headers, body.
inline http_response parse_http_response(std::string_view raw) {
  http_response r;
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
  for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
    const std::size_t next = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    pos = next;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (auto& ch : name) ch = lower_ascii(ch);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    r.headers[std::move(name)] = std::string(value);
  }
  std::string_view body = raw.substr(head_end + 4);
  if (r.header("transfer-encoding").find("chunked") != std::string::npos) {
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
    auto it = r.headers.find("content-length");
    if (it != r.headers.end()) {
      std::size_t n = 0;
      for (char c : it->second) {
        if (c < '0' || c > '9') break;
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      if (n > body.size()) {
        r.headers.clear();
        r.error = "truncated HTTP response";
        return r;
      }
      body = body.substr(0, n);
    }
    r.body.assign(body.data(), body.size());
  }
  r.status = status;
  return r;
}

}  // namespace portico::detail
