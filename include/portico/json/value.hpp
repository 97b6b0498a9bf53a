#pragma once
/// The payload representation shared by every layer (see docs/design.md, "Payload representation").
/// Received JSON is a RapidJSON DOM parsed once, in situ, over a buffer the packet owns; outgoing
/// JSON is written once with a rapidjson::Writer. Binary blobs travel beside the JSON as
/// `binary`, referenced from the JSON by `{"_placeholder":true,"num":n}`.

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rapidjson.hpp"

namespace portico::json {

using value = rapidjson::Value;
using document = rapidjson::Document;
using allocator = rapidjson::Document::AllocatorType;

/// Appends to a std::string (the packet being built), so the JSON lands in its final buffer.
/// Characters are collected in a small inline buffer and appended in blocks: a per-character
/// std::string::push_back is an out-of-line call in RapidJSON's string writer. The string holds
/// everything written once the writer finishes a top-level value (it calls Flush()), or after an
/// explicit Flush(), or when the sink is destroyed.
class string_sink {
 public:
  using Ch = char;
  string_sink(std::string* out) noexcept : out_(out) {}  // NOLINT: `string_sink sink{&s}`
  string_sink(const string_sink&) = delete;              // a writer keeps a pointer to its sink
  string_sink& operator=(const string_sink&) = delete;
  ~string_sink() { Flush(); }

  void Put(char c) {
    if (n_ == sizeof(buf_)) Flush();
    buf_[n_++] = c;
  }
  /// Appends `n` characters at once.
  void write(const char* p, std::size_t n) {
    if (n <= sizeof(buf_) - n_) {
      std::memcpy(buf_ + n_, p, n);
      n_ += n;
      return;
    }
    Flush();
    out_->append(p, n);
  }
  void Flush() {
    if (n_ == 0) return;
    out_->append(buf_, n_);
    n_ = 0;
  }

 private:
  std::string* out_;
  std::size_t n_ = 0;
  char buf_[240];
};
using writer = rapidjson::Writer<string_sink>;

/// RapidJSON's writers and parsers allocate a (stateless) CrtAllocator object for their work
/// stacks unless they are given one: `writer w(sink, &json::crt_allocator())` saves that malloc.
inline rapidjson::CrtAllocator& crt_allocator() noexcept {
  static rapidjson::CrtAllocator a;
  return a;
}

}  // namespace portico::json

/// RapidJSON's stream extension points for the sink. Before a string the writer reserves its
/// worst case (6 bytes per character, as if each needed an escape); the sink's bounds check is
/// one inline compare, cheaper than honouring that, so PutReserve does nothing and PutUnsafe is
/// the checked Put.
namespace rapidjson {
template <>
inline void PutReserve(portico::json::string_sink&, std::size_t) {}
template <>
inline void PutUnsafe(portico::json::string_sink& s, char c) {
  s.Put(c);
}

/// Copies each run of characters that need no escaping in one go (RapidJSON does that only for
/// its own StringBuffer); the writer then escapes the character the run stopped at.
template <>
inline bool Writer<portico::json::string_sink>::ScanWriteUnescapedString(StringStream& is, size_t length) {
  const char* p = is.src_;
  const char* end = is.head_ + length;
#ifdef RAPIDJSON_SSE2
  // 16 characters per step; unaligned loads that never reach past `end`.
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1F);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                                     _mm_cmpeq_epi8(_mm_max_epu8(x, control), control));  // x <= 0x1F
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) {
      p += __builtin_ctz(static_cast<unsigned>(mask));
      break;
    }
    p += 16;
  }
#endif
  while (p != end && static_cast<unsigned char>(*p) >= 0x20 && *p != '"' && *p != '\\') ++p;
  os_->write(is.src_, static_cast<std::size_t>(p - is.src_));
  is.src_ = p;
  return p != end;
}
}  // namespace rapidjson

namespace portico::json {

/// A binary attachment: owns its bytes (moved from the websocket frame or the user's buffer).
struct binary {
  std::string bytes;
  binary() = default;
  explicit binary(std::string b) : bytes(std::move(b)) {}
  binary(const void* data, std::size_t n) : bytes(static_cast<const char*>(data), n) {}
  std::string_view view() const noexcept { return bytes; }
  std::size_t size() const noexcept { return bytes.size(); }
  friend bool operator==(const binary& a, const binary& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const binary& a, const binary& b) { return !(a == b); }
};

/// What typed decoding needs besides the DOM: the attachments placeholders point to.
struct decode_context {
  const std::vector<binary>* attachments = nullptr;
};

/// What typed encoding collects besides the JSON text: the blobs placeholders were written for.
/// Pointers stay valid for the duration of one encode call (emit encodes synchronously).
struct encode_context {
  std::vector<std::string_view> attachments;
};

/// True for `{"_placeholder":true,"num":n}` with an integral n.
inline bool is_placeholder(const value& v) noexcept {
  if (!v.IsObject() || v.MemberCount() != 2) return false;
  auto p = v.FindMember("_placeholder");
  auto n = v.FindMember("num");
  return p != v.MemberEnd() && p->value.IsBool() && p->value.GetBool() && n != v.MemberEnd() &&
         n->value.IsUint();
}

/// Writes the placeholder for the next attachment and records the bytes.
inline void write_placeholder(writer& w, encode_context& ctx, std::string_view bytes) {
  w.StartObject();
  w.Key("_placeholder", 12);
  w.Bool(true);
  w.Key("num", 3);
  w.Uint(static_cast<unsigned>(ctx.attachments.size()));
  w.EndObject();
  ctx.attachments.push_back(bytes);
}

}  // namespace portico::json
