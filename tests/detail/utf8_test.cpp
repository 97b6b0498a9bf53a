// UTF-8 validation and repair (portico/detail/utf8.hpp): what is valid, and what each invalid
// sequence becomes (U+FFFD per maximal invalid subpart, as the WHATWG decoder and Node's
// Buffer.toString do; an encoded surrogate is one U+FFFD).
#include <catch2/catch.hpp>

#include "../../include/portico/detail/utf8.hpp"

#include <string>

using portico::detail::utf8_first_invalid;
using portico::detail::utf8_prefix_chars;
using portico::detail::utf8_repair;
using portico::detail::utf8_repair_to;
using portico::detail::utf8_valid;

namespace {
const std::string R = "\xEF\xBF\xBD";  // U+FFFD

std::string repaired(const std::string& s) {
  std::string out;
  utf8_repair_to(out, s);
  return out;
}
}  // namespace

TEST_CASE("utf8: valid text, every length of sequence", "[utf8]") {
  const char* valid[] = {
      "",
      "plain ASCII, long enough to take the 16-byte fast path more than once....",
      "\x7f",
      "\xC2\x80 \xDF\xBF",                  // U+0080, U+07FF
      "\xE0\xA0\x80 \xEF\xBF\xBF",          // U+0800, U+FFFF
      "\xED\x9F\xBF \xEE\x80\x80",          // U+D7FF, U+E000: around the surrogates
      "\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF",  // U+10000, U+10FFFF
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 0123456789abcdef0123456789abcdef",
  };
  for (const char* s : valid) {
    INFO(s);
    CHECK(utf8_valid(s));
    CHECK(repaired(s) == s);
    std::string copy = s;
    CHECK_FALSE(utf8_repair(copy));
    CHECK(copy == s);
  }
}

TEST_CASE("utf8: invalid sequences become U+FFFD per maximal subpart", "[utf8]") {
  struct row {
    std::string in, out;
    std::size_t first_invalid;
  };
  const row rows[] = {
      // lone continuation bytes: one U+FFFD each
      {"a\x80" "b", "a" + R + "b", 1},
      {"\x80\xBF", R + R, 0},
      // overlong forms: the lead byte can never start a valid sequence (C0, C1) or the second
      // byte is out of range (E0 80..9F, F0 80..8F): every byte is its own subpart
      {"\xC0\xAF", R + R, 0},
      {"\xC1\xBF", R + R, 0},
      {"\xE0\x80\xAF", R + R + R, 0},
      {"\xF0\x80\x80\xAF", R + R + R + R, 0},
      // surrogates ED A0..BF xx: one code unit, one U+FFFD (what RapidJSON makes of "\udd00")
      {"hi \xED\xB4\x80", "hi " + R, 3},
      {"\xED\xA0\x80\xED\xBF\xBFz", R + R + "z", 0},
      // a surrogate cut short is two subparts (ED alone cannot continue with A0)
      {"\xED\xA0", R + R, 0},
      // above U+10FFFF: F4 90.., F5..FF
      {"\xF4\x90\x80\x80", R + R + R + R, 0},
      {"\xF5\x80", R + R, 0},
      {"\xFF", R, 0},
      // truncated sequences: the valid prefix of a sequence is one subpart
      {"x\xC3", "x" + R, 1},
      {"x\xE2\x82", "x" + R, 1},
      {"x\xF0\x9F\x98", "x" + R, 1},
      {"\xF0\x9F\x98" "a", R + "a", 0},
      {"\xE2\x82\xE2\x82\xAC", R + "\xE2\x82\xAC", 0},
      // invalid after the ASCII fast path
      {std::string(40, 'a') + "\xC3(", std::string(40, 'a') + R + "(", 40},
  };
  for (const auto& r : rows) {
    INFO("input bytes: " << r.in.size() << " first invalid expected at " << r.first_invalid);
    CHECK_FALSE(utf8_valid(r.in));
    CHECK(utf8_first_invalid(r.in) == r.first_invalid);
    CHECK(repaired(r.in) == r.out);
    CHECK(utf8_valid(repaired(r.in)));
    std::string copy = r.in;
    CHECK(utf8_repair(copy));
    CHECK(copy == r.out);
  }
}

TEST_CASE("utf8: a prefix of at most N characters never splits one", "[utf8]") {
  const std::string s = "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";  // a b é € 😀 z
  CHECK(utf8_prefix_chars(s, 0) == 0);
  CHECK(utf8_prefix_chars(s, 2) == 2);
  CHECK(utf8_prefix_chars(s, 3) == 4);
  CHECK(utf8_prefix_chars(s, 4) == 7);
  CHECK(utf8_prefix_chars(s, 5) == 11);
  CHECK(utf8_prefix_chars(s, 6) == s.size());
  CHECK(utf8_prefix_chars(s, 100) == s.size());
  // an invalid sequence counts as the one character it is repaired to
  CHECK(utf8_prefix_chars("\xED\xB4\x80" "a", 1) == 3);
}

TEST_CASE("utf8: an invalid byte is found at every offset, around the 16-byte fast path", "[utf8]") {
  // The validator looks at 16 bytes at a time and at the last 16 bytes of the text at once: an
  // invalid byte must be found wherever it sits relative to those blocks.
  for (std::size_t len = 1; len <= 70; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      if (at >= 2) s.replace(0, 2, "\xC3\xA9");  // a valid 2-byte character before it
      s[at] = '\xFF';
      INFO("length " << len << ", invalid byte at " << at);
      CHECK(portico::detail::utf8_first_invalid(s) == at);
    }
    std::string ok(len, 'a');
    if (len >= 3) ok.replace(len - 3, 3, "\xE2\x82\xAC");  // a valid character at the very end
    CHECK(portico::detail::utf8_valid(ok));
  }
}
