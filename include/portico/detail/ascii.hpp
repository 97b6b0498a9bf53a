#pragma once
/// ASCII case folding for protocol tokens (header names, methods, file extensions): locale-free,
/// unlike std::tolower.

#include <algorithm>
#include <string_view>

namespace portico::detail {

inline char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

}  // namespace portico::detail
