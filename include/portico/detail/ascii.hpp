#pragma once
/// ASCII case folding for protocol tokens (header names, methods, file extensions): locale-free,
/// unlike std::tolower; protocol text made printable for log lines.

#include <algorithm>
#include <string>
#include <string_view>

namespace portico::detail {

inline char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

/// `s` for a log line: control bytes (a lone LF in a request target could forge a line) as \xNN.
inline std::string printable(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace portico::detail
