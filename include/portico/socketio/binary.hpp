#pragma once
/// Binary attachments: `{"_placeholder":true,"num":n}` in the JSON, bytes beside it.
///
/// The hot path keeps placeholders in the received DOM and resolves them on demand through a
/// `json::decode_context`. `write_value` re-serialises a received value for an outgoing packet,
/// renumbering its placeholders into the new packet's attachments (echoing a blob costs no copy
/// of the bytes until the transport frames them). `reconstruct`/`deconstruct` give users and tests
/// a DOM where blobs are inline.

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "../json/dom.hpp"
#include "../json/value.hpp"
#include "codec.hpp"

namespace portico::socketio {

/// The attachment a placeholder stands for, or nullptr when `v` is not a resolvable placeholder.
inline const json::binary* resolve(const json::value& v, const json::decode_context& ctx) noexcept {
  if (!ctx.attachments || !json::is_placeholder(v)) return nullptr;
  unsigned n = v["num"].GetUint();
  return n < ctx.attachments->size() ? &(*ctx.attachments)[n] : nullptr;
}

/// Writes a received value into an outgoing packet. Placeholders that resolve through `from` are
/// written as new placeholders of `to` (their bytes are referenced, not copied).
inline void write_value(json::writer& w, const json::value& v, const json::decode_context& from,
                        json::encode_context& to) {
  if (!from.attachments || from.attachments->empty()) {
    v.Accept(w);
    return;
  }
  if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) write_value(w, e, from, to);
    w.EndArray(v.Size());
  } else if (v.IsObject()) {
    if (const json::binary* b = resolve(v, from)) {
      json::write_placeholder(w, to, b->view());
      return;
    }
    w.StartObject();
    for (const auto& m : v.GetObject()) {
      w.Key(m.name.GetString(), m.name.GetStringLength());
      write_value(w, m.value, from, to);
    }
    w.EndObject(v.MemberCount());
  } else {
    v.Accept(w);
  }
}

/// A DOM with binary blobs inline: each blob is a string node holding the bytes, and
/// `binary_nodes` lists which string nodes are blobs (JSON has no binary type of its own).
struct reconstructed {
  json::document doc;
  std::unordered_set<const json::value*> binary_nodes;
  bool is_binary(const json::value& v) const { return binary_nodes.count(&v) != 0; }
};

namespace detail {
inline void rebuild(json::value& dst, const json::value& src, const json::decode_context& ctx,
                    json::allocator& a, std::unordered_set<const json::value*>& marks) {
  if (const json::binary* b = resolve(src, ctx)) {
    dst.SetString(b->bytes.data(), static_cast<rapidjson::SizeType>(b->bytes.size()), a);
    marks.insert(&dst);
  } else if (src.IsArray()) {
    dst.SetArray();
    dst.Reserve(src.Size(), a);
    for (const auto& e : src.GetArray()) {
      dst.PushBack(json::value(), a);
      rebuild(dst[dst.Size() - 1], e, ctx, a, marks);
    }
  } else if (src.IsObject()) {
    dst.SetObject();
    for (const auto& m : src.GetObject()) {
      json::value key(m.name.GetString(), m.name.GetStringLength(), a);
      dst.AddMember(key, json::value(), a);
      rebuild((dst.MemberEnd() - 1)->value, m.value, ctx, a, marks);
    }
  } else {
    dst = json::copy(src, a);
  }
}

inline void strip(json::writer& w, const json::value& v, const reconstructed& r, json::encode_context& ctx) {
  if (r.is_binary(v)) {
    json::write_placeholder(w, ctx, std::string_view(v.GetString(), v.GetStringLength()));
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) strip(w, e, r, ctx);
    w.EndArray(v.Size());
  } else if (v.IsObject()) {
    w.StartObject();
    for (const auto& m : v.GetObject()) {
      w.Key(m.name.GetString(), m.name.GetStringLength());
      strip(w, m.value, r, ctx);
    }
    w.EndObject(v.MemberCount());
  } else {
    v.Accept(w);
  }
}
}  // namespace detail

/// Replaces every placeholder of `data` by the attachment's bytes (a copy: this is for users who
/// want a self-contained tree; the server's hot path never calls it).
inline reconstructed reconstruct(const json::value& data, const std::vector<json::binary>& attachments) {
  reconstructed r;
  json::decode_context ctx{&attachments};
  detail::rebuild(r.doc, data, ctx, r.doc.GetAllocator(), r.binary_nodes);
  return r;
}

/// The inverse of `reconstruct`: JSON text with placeholders plus the attachments in order.
struct deconstructed {
  std::string json;
  std::vector<std::string> attachments;
};

inline deconstructed deconstruct(const reconstructed& r) {
  deconstructed d;
  json::string_sink sink{&d.json};
  json::writer w(sink);
  json::encode_context ctx;
  detail::strip(w, r.doc, r, ctx);
  for (auto bytes : ctx.attachments) d.attachments.emplace_back(bytes);
  return d;
}

}  // namespace portico::socketio
