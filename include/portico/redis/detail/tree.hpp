#pragma once
/// Internals of redis/codec.hpp: one received message (JSON or msgpack) as a RapidJSON DOM with
/// msgpack `bin` values turned into attachment placeholders, and the two output sinks (JSON
/// text, msgpack) the typed encoders write through.

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST  // header-only msgpack-cxx without Boost (Debian libmsgpack-cxx-dev)
#endif
#include <msgpack.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "../../detail/utf8.hpp"
#include "../../json/surrogates.hpp"
#include "../../json/value.hpp"
#include "../../socketio/codec.hpp"

namespace portico::redis {

/// Why a message from a channel was refused. Decoding never throws; the caller logs one line.
enum class codec_errc {
  ok = 0,
  too_large,             ///< above limits::max_message_bytes
  bad_msgpack,           ///< not one complete msgpack value (truncated, trailing bytes, bad size)
  bad_json,              ///< starts with '{' (or '[') but is not valid JSON
  too_deep,              ///< nesting above limits::max_depth
  too_many_attachments,  ///< more `bin` values than limits::max_attachments
  unsupported_value,     ///< a msgpack ext type other than timestamps, or a non-string map key
  wrong_shape,           ///< valid encoding, but not the fields this message type needs
  unknown_type,          ///< a message type code this codec does not know
};

inline const char* describe(codec_errc e) noexcept {
  switch (e) {
    case codec_errc::ok: return "ok";
    case codec_errc::too_large: return "message above max_message_bytes";
    case codec_errc::bad_msgpack: return "malformed msgpack";
    case codec_errc::bad_json: return "malformed JSON";
    case codec_errc::too_deep: return "nested too deeply";
    case codec_errc::too_many_attachments: return "more binary values than max_attachments";
    case codec_errc::unsupported_value: return "unsupported msgpack value (ext type or map key)";
    case codec_errc::wrong_shape: return "missing or mistyped field";
    case codec_errc::unknown_type: return "unknown message type";
  }
  return "?";
}

/// Bounds for decoding a message received from Redis (any member may publish anything). Memory
/// per decode stays within a small multiple of the message size: msgpack-cxx may reserve one
/// 24-byte object per declared element, and no declared count above the message's length is
/// accepted.
struct limits {
  /// Largest message decoded. A fetchSockets response carries every matched socket's handshake.
  std::size_t max_message_bytes = 8u << 20;
  /// Deepest array/map nesting (the Socket.IO decoder's bound for client payloads).
  std::size_t max_depth = socketio::max_json_depth;
  /// Most binary (`bin`) values in one message (the Socket.IO decoder's bound for client packets).
  std::size_t max_attachments = socketio::default_max_attachments;
};

namespace detail {

/// A decoded message: the DOM plus the bytes of every `bin`, which the DOM holds as
/// `{"_placeholder":true,"num":i}` (i counts in document order over the whole message).
/// RapidJSON turns 1e400 into infinity, which no JSON writer can put back: refused.
struct finite_document : json::document {
  bool Double(double d) { return std::isfinite(d) && json::document::Double(d); }
};

struct tree {
  finite_document doc;
  std::vector<std::string> attachments;
  bool msgpack = false;  ///< the message was msgpack (else JSON)
};

/// JavaScript's Date.prototype.toJSON for a msgpack timestamp (ext type -1), or false when the
/// instant is outside Date's range (toJSON then gives null).
inline bool iso_date(std::int64_t sec, std::uint32_t nsec, std::string& out) {
  const std::int64_t ms_limit = 8640000000000000;  // Date's range, in ms either side of 1970
  if (sec > ms_limit / 1000 || sec < -ms_limit / 1000) return false;
  std::int64_t ms = sec * 1000 + nsec / 1000000;
  if (ms > ms_limit || ms < -ms_limit) return false;
  std::int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  std::int64_t rem = ms - days * 86400000;
  // Civil date from days since 1970-01-01 (proleptic Gregorian).
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[40];
  const long long hh = rem / 3600000, mi = rem / 60000 % 60, ss = rem / 1000 % 60, mss = rem % 1000;
  int n;
  if (y >= 0 && y <= 9999)
    n = std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
                      static_cast<long long>(m), static_cast<long long>(d), hh, mi, ss, mss);
  else  // ECMAScript's expanded years: sign and six digits
    n = std::snprintf(buf, sizeof buf, "%c%06lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", y < 0 ? '-' : '+',
                      static_cast<long long>(y < 0 ? -y : y), static_cast<long long>(m), static_cast<long long>(d),
                      hh, mi, ss, mss);
  out.assign(buf, static_cast<std::size_t>(n));
  return true;
}

/// Decodes a timestamp extension (4, 8 or 12 bytes, big endian) into seconds and nanoseconds.
inline bool read_timestamp(const char* p, std::uint32_t size, std::int64_t& sec, std::uint32_t& nsec) {
  auto be = [&](std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[at + i]);
    return v;
  };
  if (size == 4) {
    sec = static_cast<std::int64_t>(be(0, 4));
    nsec = 0;
  } else if (size == 8) {
    std::uint64_t v = be(0, 8);
    nsec = static_cast<std::uint32_t>(v >> 34);
    sec = static_cast<std::int64_t>(v & ((std::uint64_t{1} << 34) - 1));
  } else if (size == 12) {
    nsec = static_cast<std::uint32_t>(be(0, 4));
    sec = static_cast<std::int64_t>(be(4, 8));
  } else {
    return false;
  }
  return nsec < 1000000000u;
}

inline void set_placeholder(json::value& out, std::size_t num, json::allocator& a) {
  out.SetObject();
  out.AddMember("_placeholder", true, a);
  out.AddMember("num", json::value(static_cast<std::uint64_t>(num)), a);
}

/// msgpack value -> DOM, the way a Node receiver sees it after JSON encoding: bin -> placeholder,
/// timestamp -> ISO string, NaN/Infinity -> null, invalid UTF-8 -> U+FFFD. Recursion is bounded
/// by the unpack depth limit.
inline codec_errc to_dom(const msgpack::object& o, json::value& out, tree& t, const limits& lim) {
  auto& a = t.doc.GetAllocator();
  switch (o.type) {
    case msgpack::type::NIL: out.SetNull(); return codec_errc::ok;
    case msgpack::type::BOOLEAN: out.SetBool(o.via.boolean); return codec_errc::ok;
    case msgpack::type::POSITIVE_INTEGER: out.SetUint64(o.via.u64); return codec_errc::ok;
    case msgpack::type::NEGATIVE_INTEGER: out.SetInt64(o.via.i64); return codec_errc::ok;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      if (std::isfinite(o.via.f64)) out.SetDouble(o.via.f64);
      else out.SetNull();
      return codec_errc::ok;
    case msgpack::type::STR: {
      std::string_view s(o.via.str.ptr, o.via.str.size);
      if (portico::detail::utf8_valid(s)) {
        out.SetString(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
      } else {
        std::string r(s);
        portico::detail::utf8_repair(r);
        out.SetString(r.data(), static_cast<rapidjson::SizeType>(r.size()), a);
      }
      return codec_errc::ok;
    }
    case msgpack::type::BIN:
      if (t.attachments.size() >= lim.max_attachments) return codec_errc::too_many_attachments;
      set_placeholder(out, t.attachments.size(), a);
      t.attachments.emplace_back(o.via.bin.ptr, o.via.bin.size);
      return codec_errc::ok;
    case msgpack::type::ARRAY: {
      out.SetArray();
      out.Reserve(o.via.array.size, a);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        json::value v;
        codec_errc e = to_dom(o.via.array.ptr[i], v, t, lim);
        if (e != codec_errc::ok) return e;
        out.PushBack(v, a);
      }
      return codec_errc::ok;
    }
    case msgpack::type::MAP: {
      out.SetObject();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return codec_errc::unsupported_value;
        json::value k, v;
        codec_errc e = to_dom(kv.key, k, t, lim);
        if (e != codec_errc::ok) return e;
        e = to_dom(kv.val, v, t, lim);
        if (e != codec_errc::ok) return e;
        out.AddMember(k, v, a);
      }
      return codec_errc::ok;
    }
    case msgpack::type::EXT: {
      std::int64_t sec;
      std::uint32_t nsec;
      if (o.via.ext.type() != -1 || !read_timestamp(o.via.ext.data(), o.via.ext.size, sec, nsec))
        return codec_errc::unsupported_value;
      std::string iso;
      if (iso_date(sec, nsec, iso)) out.SetString(iso.data(), static_cast<rapidjson::SizeType>(iso.size()), a);
      else out.SetNull();
      return codec_errc::ok;
    }
  }
  return codec_errc::unsupported_value;
}

/// Parses one message: JSON when it starts with '{' or '[' (the classic adapter's JSON parser
/// option writes arrays), msgpack otherwise.
inline codec_errc parse(std::string_view bytes, tree& t, const limits& lim) {
  t.attachments.clear();
  t.doc.SetNull();
  if (bytes.size() > lim.max_message_bytes) return codec_errc::too_large;
  if (bytes.empty()) return codec_errc::bad_msgpack;
  if (bytes[0] == '{' || bytes[0] == '[') {
    t.msgpack = false;
    if (!socketio::detail::nesting_within(bytes, lim.max_depth)) return codec_errc::too_deep;
    std::string text(bytes);
    json::detail::replace_lone_surrogate_escapes(text.data(), text.size());
    rapidjson::MemoryStream ms(text.data(), text.size());
    rapidjson::Reader reader(&json::crt_allocator());
    bool ok = false;
    auto generate = [&](json::document& d) {
      return ok = !reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
                                ms, static_cast<finite_document&>(d))
                       .IsError();
    };
    t.doc.Populate(generate);
    if (!ok || (!t.doc.IsObject() && !t.doc.IsArray())) return codec_errc::bad_json;
    return codec_errc::ok;
  }
  t.msgpack = true;
  const std::size_t n = bytes.size();
  // Every element takes at least one byte: no declared size above the message's own can be true,
  // so msgpack-cxx never allocates for more elements than the message could hold.
  msgpack::unpack_limit ul(n, n / 2, n, n, n, lim.max_depth);
  msgpack::object_handle oh;
  try {
    std::size_t off = 0;
    oh = msgpack::unpack(bytes.data(), n, off, nullptr, nullptr, ul);
    if (off != n) return codec_errc::bad_msgpack;
  } catch (const msgpack::depth_size_overflow&) {
    return codec_errc::too_deep;
  } catch (const std::exception&) {
    return codec_errc::bad_msgpack;
  }
  return to_dom(oh.get(), t.doc, t, lim);
}

/// Writes `v` as JSON; placeholders that refer to `att` are renumbered from 0 in the order met
/// and their bytes appended to `out_att` (a message-wide numbering becomes the sub-value's own).
inline void write_json(json::writer& w, const json::value& v, const std::vector<std::string>& att,
                       std::vector<std::string>& out_att) {
  if (v.IsObject() && !att.empty() && json::is_placeholder(v) && v["num"].GetUint64() < att.size()) {
    w.StartObject();
    w.Key("_placeholder", 12);
    w.Bool(true);
    w.Key("num", 3);
    w.Uint64(out_att.size());
    w.EndObject();
    out_att.push_back(att[v["num"].GetUint64()]);
    return;
  }
  if (v.IsObject()) {
    w.StartObject();
    for (const auto& m : v.GetObject()) {
      w.Key(m.name.GetString(), m.name.GetStringLength());
      write_json(w, m.value, att, out_att);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) write_json(w, e, att, out_att);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

}  // namespace detail
}  // namespace portico::redis
