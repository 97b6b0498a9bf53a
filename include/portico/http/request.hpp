#pragma once
/// Plain HTTP request and response values, independent of the transport: the router fills a
/// `request` from a websocketpp connection and writes a `response` back to it.
#include "../detail/ascii.hpp"
#include "../detail/http_status.hpp"
#include "../json/json.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

namespace detail {

using portico::detail::iequals;
using portico::detail::lower_ascii;

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decoding; `plus_is_space` only for query strings (form encoding).
inline std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) out.push_back(' ');
    else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
             hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else out.push_back(s[i]);
  }
  return out;
}

inline header_list parse_query(std::string_view q) {
  header_list out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos) out.emplace_back(percent_decode(part, true), std::string());
      else out.emplace_back(percent_decode(part.substr(0, eq), true), percent_decode(part.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace detail

/// One HTTP request (or WebSocket handshake). Header names are lower-cased; query values and
/// path parameters are percent-decoded.
struct request {
  std::string method;        ///< "GET", "POST", ... as sent
  std::string target;        ///< path and query as sent
  std::string path;          ///< raw (still percent-encoded) path
  std::string query_string;  ///< after '?', raw
  header_list query;
  header_list headers;
  header_list path_params;  ///< filled by the router from `{name}` segments
  std::string body;
  std::string remote_address;

  /// Splits `target` into path, query_string and query.
  void set_target(std::string t) {
    target = std::move(t);
    auto q = target.find('?');
    path = target.substr(0, q);
    query_string = q == std::string::npos ? std::string() : target.substr(q + 1);
    query = detail::parse_query(query_string);
  }

  /// First header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (detail::iequals(k, name)) return &v;
    return nullptr;
  }
  const std::string* query_param(std::string_view name) const {
    for (auto& [k, v] : query)
      if (k == name) return &v;
    return nullptr;
  }
  const std::string* path_param(std::string_view name) const {
    for (auto& [k, v] : path_params)
      if (k == name) return &v;
    return nullptr;
  }
};

/// The standard reason phrase of `status` (see portico/detail/http_status.hpp).
inline const char* reason_phrase(int status) noexcept { return portico::detail::reason_phrase(status); }

/// What a handler answers. Build one with json(), text(), html() or by hand.
struct response {
  int status = 200;
  header_list headers;
  std::string body;

  /// Replaces (or adds) a header.
  response& set_header(std::string name, std::string value) {
    for (auto& [k, v] : headers)
      if (detail::iequals(k, name)) {
        v = std::move(value);
        return *this;
      }
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  const std::string* header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (detail::iequals(k, name)) return &v;
    return nullptr;
  }
  response& with_status(int s) {
    status = s;
    return *this;
  }
};

/// A response with a body of that content type.
inline response content(std::string body, std::string content_type, int status = 200) {
  response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}
inline response text(std::string body, int status = 200) {
  return content(std::move(body), "text/plain; charset=utf-8", status);
}
inline response html(std::string body, int status = 200) {
  return content(std::move(body), "text/html; charset=utf-8", status);
}
/// JSON text already encoded.
inline response raw_json(std::string body, int status = 200) {
  return content(std::move(body), "application/json", status);
}
/// A typed value (PORTICO_FIELDS struct, vector, map, ...) encoded as JSON.
template <class T>
response json(const T& value, int status = 200) {
  return raw_json(portico::json::to_string(value), status);
}
/// `{"detail": "<message>"}`, the shape of every error the router produces itself.
inline response error(int status, std::string_view detail) {
  std::string body = "{\"detail\":";
  portico::json::string_sink sink{&body};
  portico::json::writer w(sink);
  w.String(detail.data(), static_cast<rapidjson::SizeType>(detail.size()));
  body += '}';
  return raw_json(std::move(body), status);
}
/// 422 `{"detail": [errors]}`.
inline response validation_error(const portico::json::error_list& errs) {
  return raw_json("{\"detail\":" + portico::json::to_string(errs) + "}", 422);
}
inline response redirect(std::string location, int status = 307) {
  response r;
  r.status = status;
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

}  // namespace portico::http
