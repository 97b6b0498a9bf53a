#pragma once
/// The payload representation shared by every layer (see docs/design.md, "Payload representation").
/// Received JSON is a RapidJSON DOM parsed once, in situ, over a buffer the packet owns; outgoing
/// JSON is written once with a rapidjson::Writer. Binary blobs travel beside the JSON as
/// `binary`, referenced from the JSON by `{"_placeholder":true,"num":n}`.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace portico::json {

using value = rapidjson::Value;
using document = rapidjson::Document;
using allocator = rapidjson::Document::AllocatorType;

/// Appends to a std::string (the packet being built), so the JSON lands in its final buffer.
struct string_sink {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};
using writer = rapidjson::Writer<string_sink>;

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
