#pragma once
/// The first request of a session as handlers see it (engineio::handshake), and the parsing of
/// every request's URL: query string, url-decoding, the Engine.IO parameters.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::engineio {

/// What the first HTTP request of a session carried.
struct handshake {
  std::string url, query_string, remote_address, transport;
  std::vector<std::pair<std::string, std::string>> query;    ///< url-decoded
  std::chrono::system_clock::time_point time;
  int protocol = 4;  ///< 3 or 4

  /// The request header `name` (any case); empty when absent.
  std::string_view header(std::string_view name) const {
    std::string_view rest = raw_headers_;
    while (!rest.empty()) {
      std::size_t colon = rest.find(':'), end = rest.find('\n');
      std::string_view key = rest.substr(0, colon);
      if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
            return a == (b >= 'A' && b <= 'Z' ? char(b - 'A' + 'a') : b);
          }))
        return rest.substr(colon + 1, end - colon - 1);
      rest.remove_prefix(end + 1);
    }
    return {};
  }
  /// Every request header, names lower-cased, sorted by name (built on each call).
  std::vector<std::pair<std::string, std::string>> headers() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::string_view rest = raw_headers_;
    while (!rest.empty()) {
      std::size_t colon = rest.find(':'), end = rest.find('\n');
      out.emplace_back(rest.substr(0, colon), rest.substr(colon + 1, end - colon - 1));
      rest.remove_prefix(end + 1);
    }
    return out;
  }
  void reserve_headers(std::size_t bytes) { raw_headers_.reserve(bytes); }
  /// Records one header (the name is lower-cased). Used by the server while building the handshake.
  void add_header(std::string_view name, std::string_view value) {
    for (char c : name) raw_headers_.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
    raw_headers_.push_back(':');
    for (char c : value) raw_headers_.push_back(c == '\n' ? ' ' : c);
    raw_headers_.push_back('\n');
  }
  std::string_view query_param(std::string_view name) const {
    for (auto& [k, v] : query)
      if (k == name) return v;
    return {};
  }

 private:
  /// "name:value\n" per header in one string: one allocation per session instead of two
  /// strings per header (this struct lives as long as the connection).
  std::string raw_headers_;
};

namespace detail {

inline std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out.push_back(' ');
    else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else out.push_back(s[i]);
  }
  return out;
}

inline std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos) out.emplace_back(url_decode(part), std::string());
      else out.emplace_back(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

/// What one request asks for, parsed once.
struct parsed_request {
  std::string path, query_string;
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view eio, transport, sid;
  bool b64 = false;
  int protocol = 0;
};

/// Fills `r` from a request target ("/engine.io/?EIO=4&transport=polling&sid=...").
inline void parse_request(const std::string& resource, parsed_request& r) {
  auto q = resource.find('?');
  r.path = resource.substr(0, q);
  if (q != std::string::npos) r.query_string = resource.substr(q + 1);
  r.query = parse_query(r.query_string);
  for (auto& [k, v] : r.query) {
    if (k == "EIO") r.eio = v;
    else if (k == "transport") r.transport = v;
    else if (k == "sid") r.sid = v;
    else if (k == "b64") r.b64 = !v.empty() && v != "0" && v != "false";
  }
}

}  // namespace detail
}  // namespace portico::engineio
