#pragma once
/// Parsing, printing and copying whole DOM values. Parsing bounds the nesting depth and never
/// recurses (RapidJSON's iterative parser), so hostile input cannot overflow the stack, and the
/// recursive walks elsewhere (stringify, copy, typed decoding of `raw`) stay bounded too.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "rapidjson.hpp"
#include "surrogates.hpp"
#include "value.hpp"

namespace portico::json {

/// Nesting depth parse_insitu/parse accept by default (objects + arrays).
inline constexpr std::size_t default_max_depth = 256;

/// Why a parse failed: byte offset into the text and a static English message.
struct parse_error {
  std::size_t offset = 0;
  const char* message = "";
};

namespace detail {

/// Forwards SAX events to a document, refusing nesting deeper than `max_depth`.
/// With `copy_strings`, every string is copied into the document's allocator (used for deep
/// copies: an in-situ DOM's strings point into the frame and must not be shared); without it
/// (parsing text), values no JSON text may produce are refused too.
struct building_handler {
  document& doc;
  std::size_t max_depth;
  bool copy_strings;
  std::size_t depth = 0;
  bool too_deep = false;
  bool too_big = false;

  using Ch = char;
  using size_type = rapidjson::SizeType;
  bool Null() { return doc.Null(); }
  bool Bool(bool b) { return doc.Bool(b); }
  bool Int(int i) { return doc.Int(i); }
  bool Uint(unsigned u) { return doc.Uint(u); }
  bool Int64(std::int64_t i) { return doc.Int64(i); }
  bool Uint64(std::uint64_t u) { return doc.Uint64(u); }
  /// RapidJSON 1.1 refuses 1e400 but turns 10e308 into infinity, which no JSON can carry back
  /// out (the writer stops there): refused alike.
  bool Double(double d) {
    if (copy_strings || std::isfinite(d)) return doc.Double(d);
    too_big = true;
    return false;
  }
  bool RawNumber(const Ch* s, size_type n, bool copy) { return doc.RawNumber(s, n, copy || copy_strings); }
  bool String(const Ch* s, size_type n, bool copy) { return doc.String(s, n, copy || copy_strings); }
  bool Key(const Ch* s, size_type n, bool copy) { return doc.Key(s, n, copy || copy_strings); }
  bool StartObject() { return enter() && doc.StartObject(); }
  bool EndObject(size_type n) {
    --depth;
    return doc.EndObject(n);
  }
  bool StartArray() { return enter() && doc.StartArray(); }
  bool EndArray(size_type n) {
    --depth;
    return doc.EndArray(n);
  }
  bool enter() {
    if (++depth > max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  }
};

/// RapidJSON's in-situ stream, but bounded: it never moves past `end`, where it reads NUL.
/// InsituStringStream knows no length and trusts the terminator, yet RapidJSON 1.1's UTF-8
/// validation takes the 1-3 continuation bytes a lead byte announces without looking at them, so
/// a text ending in a truncated sequence ("\xF0" + NUL) made it read and rewrite up to 2 bytes past
/// the terminator. Writes past `end` are dropped: they only happen on such a doomed parse.
struct bounded_insitu_stream {
  using Ch = char;
  bounded_insitu_stream(char* begin, std::size_t length) : src_(begin), head_(begin), end_(begin + length) {}
  Ch Peek() const { return src_ != end_ ? *src_ : '\0'; }
  Ch Take() { return src_ != end_ ? *src_++ : '\0'; }
  std::size_t Tell() const { return static_cast<std::size_t>(src_ - head_); }
  void Put(Ch c) {
    if (dst_ != end_) *dst_++ = c;
  }
  Ch* PutBegin() { return dst_ = src_; }
  std::size_t PutEnd(Ch* begin) const { return static_cast<std::size_t>(dst_ - begin); }
  void Flush() {}

  char* src_;
  char* dst_ = nullptr;
  char* head_;
  char* end_;
};

template <unsigned Flags, class Stream>
bool parse_stream(Stream& in, std::size_t length, document& doc, parse_error* err,
                  std::size_t max_depth) {
  building_handler h{doc, max_depth, false};
  rapidjson::ParseResult result;
  bool trailing_nul = false;
  auto generate = [&](document&) {
    rapidjson::Reader reader;
    result = reader.Parse<Flags | rapidjson::kParseIterativeFlag |
                          rapidjson::kParseValidateEncodingFlag>(in, h);
    // RapidJSON stops at the first NUL byte; anything after it would be silently ignored.
    if (!result.IsError() && in.Tell() != length) trailing_nul = true;
    return !result.IsError() && !trailing_nul;
  };
  doc.SetNull();
  doc.Populate(generate);
  if (!result.IsError() && !trailing_nul) return true;
  doc.SetNull();
  if (err) {
    if (trailing_nul) {
      err->offset = in.Tell();
      err->message = "NUL byte inside the JSON text.";
    } else if (h.too_deep) {
      err->offset = result.Offset();
      err->message = "Nesting too deep.";
    } else if (h.too_big) {
      err->offset = result.Offset();
      err->message = rapidjson::GetParseError_En(rapidjson::kParseErrorNumberTooBig);
    } else {
      err->offset = result.Offset();
      err->message = rapidjson::GetParseError_En(result.Code());
    }
  }
  return false;
}

}  // namespace detail

/// Parses `buf` in place: strings in `doc` point into `buf`, which must therefore outlive `doc`
/// and must not be modified meanwhile. This is how received packets are parsed (once, no copy).
/// Invalid UTF-8, trailing garbage, NUL bytes, numbers beyond a double's range and nesting deeper
/// than `max_depth` are errors; a lone surrogate escape ("\udc00") is read as U+FFFD (it is
/// rewritten to "\ufffd" in `buf`, see surrogates.hpp).
/// On failure `doc` is null and `err` (if given) says where and why.
inline bool parse_insitu(std::string& buf, document& doc, parse_error* err = nullptr,
                         std::size_t max_depth = default_max_depth) {
  detail::replace_lone_surrogate_escapes(&buf[0], buf.size());
  detail::bounded_insitu_stream in(&buf[0], buf.size());
  return detail::parse_stream<rapidjson::kParseInsituFlag>(in, buf.size(), doc, err, max_depth);
}

/// Parses a copy of `text` into `doc` (strings are copied into doc's allocator); the same rules
/// as parse_insitu.
inline bool parse(std::string_view text, document& doc, parse_error* err = nullptr,
                  std::size_t max_depth = default_max_depth) {
  if (detail::find_lone_surrogate_escape(text.data(), text.size()) != text.size()) {
    std::string repaired(text);  // rare: only text with a lone surrogate escape is copied
    detail::replace_lone_surrogate_escapes(&repaired[0], repaired.size());
    rapidjson::MemoryStream in(repaired.data(), repaired.size());
    return detail::parse_stream<rapidjson::kParseDefaultFlags>(in, repaired.size(), doc, err, max_depth);
  }
  rapidjson::MemoryStream in(text.data(), text.size());
  return detail::parse_stream<rapidjson::kParseDefaultFlags>(in, text.size(), doc, err, max_depth);
}

/// Serialises a DOM value to compact JSON. Non-finite doubles (only possible in hand-built DOMs:
/// the parsers refuse numbers that overflow)
/// cannot be represented; the output is then truncated at that point, so do not store them.
inline std::string stringify(const value& v) {
  std::string out;
  {
    string_sink sink{&out};
    writer w(sink);
    v.Accept(w);
  }  // the sink flushes what a failed Accept left in it
  return out;
}

/// Deep copy of `v` whose strings all live in `into`'s allocator (unlike RapidJSON's CopyFrom,
/// which keeps pointing at constant/in-situ strings): safe to keep after the source buffer dies.
inline void copy(const value& v, document& into) {
  detail::building_handler h{into, static_cast<std::size_t>(-1), true};
  auto generate = [&](document&) { return v.Accept(h); };
  into.Populate(generate);
}

/// Deep copy of `v` allocated in `alloc` (e.g. to insert it into another document).
inline value copy(const value& v, allocator& alloc) {
  document tmp(&alloc);
  copy(v, tmp);
  value out;
  out.Swap(static_cast<value&>(tmp));
  return out;
}

}  // namespace portico::json
