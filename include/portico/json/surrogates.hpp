#pragma once
/// Lone UTF-16 surrogate escapes in JSON text ("\ud800" without its low half, or "\udc00" alone).
/// JavaScript strings may hold them, so a stock JS client sends them (JSON.stringify escapes them);
/// RapidJSON 1.1 refuses a lone high one and turns a lone low one into bytes that are not UTF-8.
/// Both are rewritten to "\ufffd" before parsing (same length, so in place): a handler then only
/// ever sees valid UTF-8, a browser never receives invalid text back, and the sender is not
/// dropped for a string its own language allows (Node keeps such strings; U+FFFD is the closest
/// UTF-8 can carry).

#include <cstddef>
#include <cstring>

namespace portico::json::detail {

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The code unit of the `\uXXXX` escape at `p` (6 chars available), or -1.
inline long escape_unit(const char* p) noexcept {
  if (p[0] != '\\' || p[1] != 'u') return -1;
  long v = 0;
  for (int i = 2; i < 6; ++i) {
    int d = hex_digit(p[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/// Finds the first lone surrogate escape in `text[0, n)`, or returns n. Text without a
/// backslash costs one memchr.
inline std::size_t find_lone_surrogate_escape(const char* text, std::size_t n) noexcept {
  const char* end = text + n;
  for (const char* p = text; (p = static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p))));) {
    if (end - p < 6) return n;  // too short for \uXXXX: the parser judges the rest
    long u = escape_unit(p);
    if (u < 0) {
      p += 2;  // another escape (\\, \", \n ...): skip both characters
      continue;
    }
    if (u >= 0xD800 && u <= 0xDBFF) {  // a high half must be followed by a low half
      long low = end - p >= 12 ? escape_unit(p + 6) : -1;
      if (low >= 0xDC00 && low <= 0xDFFF) {
        p += 12;
        continue;
      }
      return static_cast<std::size_t>(p - text);
    }
    if (u >= 0xDC00 && u <= 0xDFFF) return static_cast<std::size_t>(p - text);
    p += 6;
  }
  return n;
}

/// Rewrites every lone surrogate escape of `text[0, n)` to "\ufffd", in place; returns how many.
inline std::size_t replace_lone_surrogate_escapes(char* text, std::size_t n) noexcept {
  std::size_t count = 0;
  for (std::size_t at = find_lone_surrogate_escape(text, n); at < n;
       at += 6, at += find_lone_surrogate_escape(text + at, n - at)) {
    std::memcpy(text + at + 2, "fffd", 4);
    ++count;
  }
  return count;
}

}  // namespace portico::json::detail
