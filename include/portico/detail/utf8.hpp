#pragma once
/// UTF-8 validation and repair. Browsers close a websocket on a text frame that is not UTF-8,
/// so text that reaches a client must be valid; text from clients is repaired the way Node
/// decodes it. Repair writes U+FFFD for each maximal invalid subpart (WHATWG decoder, Node's
/// Buffer.toString), except an encoded UTF-16 surrogate (ED A0..BF xx, what RapidJSON makes of a
/// lone `\udc00` escape), which is one code unit and becomes one U+FFFD, as when a JavaScript
/// string holding a lone surrogate is encoded. Valid text is never copied.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace portico::detail {

/// One step of decoding: `size` bytes consumed; `valid` false means they stand for one U+FFFD.
struct utf8_step {
  std::size_t size;
  bool valid;
};

/// Decodes the sequence at p (p < end).
inline utf8_step utf8_next(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return {1, true};
  std::size_t need;  // continuation bytes
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return {1, false};  // continuation byte, C0/C1, F5..FF
  }
  const std::size_t avail = static_cast<std::size_t>(end - p) - 1;
  if (c == 0xED && avail >= 2 && p[1] >= 0xA0 && p[1] <= 0xBF && (p[2] & 0xC0) == 0x80)
    return {3, false};  // an encoded surrogate: one code unit, one U+FFFD
  if (avail < 1 || p[1] < lo || p[1] > hi) return {1, false};
  for (std::size_t i = 2; i <= need; ++i)
    if (i > avail || (p[i] & 0xC0) != 0x80) return {i, false};
  return {need + 1, true};
}

/// Offset of the first byte of the first invalid sequence, or npos when `s` is valid UTF-8.
inline std::size_t utf8_first_invalid(std::string_view s) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = b;
  const auto* end = b + s.size();
  constexpr std::uint64_t high = 0x8080808080808080ull;
  while (p < end) {
    // ASCII fast path: 16 bytes per step while no byte has its top bit set
    if (end - p >= 16) {
      std::uint64_t w0, w1;
      std::memcpy(&w0, p, 8);
      std::memcpy(&w1, p + 8, 8);
      if (!((w0 | w1) & high)) {
        p += 16;
        continue;
      }
    } else if (end - b >= 16) {
      // the tail: one overlapping look at the last 16 bytes (those before `p` are known valid)
      std::uint64_t w0, w1;
      std::memcpy(&w0, end - 16, 8);
      std::memcpy(&w1, end - 8, 8);
      if (!((w0 | w1) & high)) return std::string_view::npos;
    }
    // then byte by byte up to the end of this block, the common 2- and 3-byte forms inline
    const auto* stop = end - p > 16 ? p + 16 : end;
    while (p < stop) {
      const unsigned char c = *p;
      if (c < 0x80) {
        ++p;
      } else if (c >= 0xC2 && c <= 0xDF && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
        p += 2;
      } else if (c >= 0xE1 && c <= 0xEC && end - p >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
        p += 3;
      } else {
        utf8_step st = utf8_next(p, end);
        if (!st.valid) return static_cast<std::size_t>(p - b);
        p += st.size;
      }
    }
  }
  return std::string_view::npos;
}

inline bool utf8_valid(std::string_view s) noexcept { return utf8_first_invalid(s) == std::string_view::npos; }

/// `s` with each invalid sequence replaced by U+FFFD, appended to `out`.
inline void utf8_repair_to(std::string& out, std::string_view s) {
  static constexpr char replacement[] = "\xEF\xBF\xBD";
  std::size_t bad = utf8_first_invalid(s);
  if (bad == std::string_view::npos) {
    out.append(s);
    return;
  }
  out.reserve(out.size() + s.size() + 8);
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = b + s.size();
  std::size_t i = 0;
  while (bad != std::string_view::npos) {
    out.append(s.data() + i, bad - i);
    utf8_step st = utf8_next(b + bad, end);
    out.append(replacement, 3);
    i = bad + st.size;
    std::size_t next = utf8_first_invalid(s.substr(i));
    bad = next == std::string_view::npos ? next : i + next;
  }
  out.append(s.data() + i, s.size() - i);
}

/// Repairs `s` in place; a valid string is left untouched (no allocation). True if it changed.
inline bool utf8_repair(std::string& s) {
  if (utf8_valid(s)) return false;
  std::string fixed;
  utf8_repair_to(fixed, s);
  s.swap(fixed);
  return true;
}

/// The byte length of the longest prefix of `s` holding at most `max_chars` characters (an
/// invalid sequence counts as the one U+FFFD it stands for), so a cut never splits a character.
inline std::size_t utf8_prefix_chars(std::string_view s, std::size_t max_chars) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = b + s.size();
  std::size_t i = 0;
  for (std::size_t n = 0; n < max_chars && i < s.size(); ++n) i += utf8_next(b + i, end).size;
  return i;
}

}  // namespace portico::detail
