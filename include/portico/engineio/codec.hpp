#pragma once
/// Engine.IO packet and payload codec (protocol v4, and v3 for old clients).
///
/// Pure: no I/O, no threads, no exceptions. Decoders return an `errc`; the
/// server turns any error into "close this client" plus one log line.
#include "../detail/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::engineio {

enum class packet_type : std::uint8_t { open = 0, close = 1, ping = 2, pong = 3, message = 4, upgrade = 5, noop = 6 };

inline const char* to_string(packet_type t) noexcept {
  switch (t) {
    case packet_type::open: return "open";
    case packet_type::close: return "close";
    case packet_type::ping: return "ping";
    case packet_type::pong: return "pong";
    case packet_type::message: return "message";
    case packet_type::upgrade: return "upgrade";
    case packet_type::noop: return "noop";
  }
  return "?";
}

/// Why a frame or payload could not be decoded.
enum class errc {
  ok = 0,
  empty_packet,          ///< a packet without even a type
  unknown_packet_type,   ///< type outside '0'..'6'
  invalid_base64,        ///< a `b` packet whose data is not base64
  empty_payload,         ///< a polling body with no packet at all
  invalid_length,        ///< v3: missing, non-numeric or oversized length prefix
  truncated_payload,     ///< v3: the length runs past the end of the body
  invalid_utf8,          ///< v3: a length that splits a character
};

inline const char* describe(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::empty_packet: return "empty packet";
    case errc::unknown_packet_type: return "unknown packet type";
    case errc::invalid_base64: return "invalid base64 in binary packet";
    case errc::empty_payload: return "empty payload";
    case errc::invalid_length: return "invalid packet length in payload";
    case errc::truncated_payload: return "payload shorter than its packet lengths";
    case errc::invalid_utf8: return "packet length splits a UTF-8 character";
  }
  return "unknown error";
}

/// A decoded packet that points into the buffer it was decoded from.
struct packet_view {
  packet_type type = packet_type::noop;
  bool binary = false;
  std::string_view data;
};

/// A decoded packet that owns its data (payload decoding has to un-base64).
struct packet {
  packet_type type = packet_type::noop;
  bool binary = false;
  std::string data;
  bool operator==(const packet& o) const { return type == o.type && binary == o.binary && data == o.data; }
};

// ---------------------------------------------------------------------------
// base64 (RFC 4648, standard alphabet, padded on output, padding optional on input)

namespace detail {
inline constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline int b64_value(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace detail

inline std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

inline void base64_encode_to(std::string& out, std::string_view in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t n = in.size(), i = 0;
  std::size_t at = out.size();
  out.resize(at + base64_encoded_size(n));
  char* o = &out[at];
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8) | p[i + 2];
    *o++ = detail::b64_alphabet[(v >> 18) & 63];
    *o++ = detail::b64_alphabet[(v >> 12) & 63];
    *o++ = detail::b64_alphabet[(v >> 6) & 63];
    *o++ = detail::b64_alphabet[v & 63];
  }
  if (n - i == 1) {
    std::uint32_t v = std::uint32_t(p[i]) << 16;
    *o++ = detail::b64_alphabet[(v >> 18) & 63];
    *o++ = detail::b64_alphabet[(v >> 12) & 63];
    *o++ = '=';
    *o++ = '=';
  } else if (n - i == 2) {
    std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8);
    *o++ = detail::b64_alphabet[(v >> 18) & 63];
    *o++ = detail::b64_alphabet[(v >> 12) & 63];
    *o++ = detail::b64_alphabet[(v >> 6) & 63];
    *o++ = '=';
  }
}

inline std::string base64_encode(std::string_view in) {
  std::string s;
  base64_encode_to(s, in);
  return s;
}

/// Appends the decoded bytes to `out`; false (and `out` unchanged) on bad input.
inline bool base64_decode_to(std::string& out, std::string_view in) {
  std::size_t n = in.size();
  std::size_t pad = 0;
  while (n > 0 && pad < 2 && in[n - 1] == '=') { --n; ++pad; }
  if (pad && (n + pad) % 4 != 0) return false;  // padding only completes a quantum
  if (n % 4 == 1) return false;
  const std::size_t at = out.size();
  out.reserve(at + n / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int v = detail::b64_value(static_cast<unsigned char>(in[i]));
    if (v < 0) { out.resize(at); return false; }
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero for a canonical encoding; we stay lenient like browsers.
  return true;
}

// ---------------------------------------------------------------------------
// single packets (websocket frames)

inline char type_char(packet_type t) noexcept { return static_cast<char>('0' + static_cast<int>(t)); }

/// Decodes one text packet ("4hello", "2probe", "6"). `out.data` views into `frame`.
inline errc decode(std::string_view frame, packet_view& out) noexcept {
  if (frame.empty()) return errc::empty_packet;
  unsigned char c = static_cast<unsigned char>(frame[0]);
  if (c < '0' || c > '6') return errc::unknown_packet_type;
  out.type = static_cast<packet_type>(c - '0');
  out.binary = false;
  out.data = frame.substr(1);
  return errc::ok;
}

/// v3 binary websocket frame: the first byte is the packet type as a number (4), then the bytes.
/// v4 binary frames carry no type byte: they are always whole messages.
inline errc decode_binary_v3(std::string_view frame, packet_view& out) noexcept {
  if (frame.empty()) return errc::empty_packet;
  unsigned char c = static_cast<unsigned char>(frame[0]);
  if (c > 6) return errc::unknown_packet_type;
  out.type = static_cast<packet_type>(c);
  out.binary = true;
  out.data = frame.substr(1);
  return errc::ok;
}

inline void encode_to(std::string& out, packet_type t, std::string_view data = {}) {
  out.reserve(out.size() + 1 + data.size());
  out.push_back(type_char(t));
  out.append(data);
}

/// The text frame of one packet: type digit then data.
inline std::string encode(packet_type t, std::string_view data = {}) {
  std::string s;
  encode_to(s, t, data);
  return s;
}

/// v3 binary websocket frame: type byte then raw bytes.
inline std::string encode_binary_v3(std::string_view bytes, packet_type t = packet_type::message) {
  std::string s;
  s.reserve(bytes.size() + 1);
  s.push_back(static_cast<char>(t));
  s.append(bytes);
  return s;
}

// ---------------------------------------------------------------------------
// open packet

struct open_info {
  std::string_view sid;
  std::vector<std::string_view> upgrades;
  long long ping_interval = 25000;
  long long ping_timeout = 20000;
  long long max_payload = 1000000;
};

namespace detail {
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') { out.push_back('\\'); out.push_back(ch); }
    else if (c < 0x20) { out += "\\u00"; out.push_back(hex[c >> 4]); out.push_back(hex[c & 15]); }
    else out.push_back(ch);
  }
  out.push_back('"');
}
}  // namespace detail

/// The JSON body of the open packet (without the leading '0').
inline std::string open_json(const open_info& o) {
  std::string s;
  s.reserve(128);
  s += "{\"sid\":";
  detail::append_json_string(s, o.sid);
  s += ",\"upgrades\":[";
  for (std::size_t i = 0; i < o.upgrades.size(); ++i) {
    if (i) s.push_back(',');
    detail::append_json_string(s, o.upgrades[i]);
  }
  s += "],\"pingInterval\":" + std::to_string(o.ping_interval);
  s += ",\"pingTimeout\":" + std::to_string(o.ping_timeout);
  s += ",\"maxPayload\":" + std::to_string(o.max_payload);
  s.push_back('}');
  return s;
}

/// The open packet as a text frame: `0{"sid":...}`.
inline std::string encode_open(const open_info& o) { return encode(packet_type::open, open_json(o)); }

// ---------------------------------------------------------------------------
// polling payloads, v4: packets joined by the record separator, binary as `b<base64>`

inline constexpr char record_separator = '\x1e';

/// Appends one packet to a v4 payload under construction.
inline void append_payload_packet(std::string& body, packet_type t, std::string_view data, bool binary = false) {
  if (!body.empty()) body.push_back(record_separator);
  if (binary) {
    body.push_back('b');
    base64_encode_to(body, data);
  } else {
    encode_to(body, t, data);
  }
}

/// Decodes a v4 polling payload into owned packets. On error `out` holds the packets before the bad one.
inline errc decode_payload(std::string_view body, std::vector<packet>& out) {
  if (body.empty()) return errc::empty_payload;
  std::size_t pos = 0;
  for (;;) {
    std::size_t end = body.find(record_separator, pos);
    std::string_view part = body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    packet p;
    if (!part.empty() && part[0] == 'b') {
      p.type = packet_type::message;
      p.binary = true;
      if (!base64_decode_to(p.data, part.substr(1))) return errc::invalid_base64;
    } else {
      packet_view v;
      if (errc e = decode(part, v); e != errc::ok) return e;
      p.type = v.type;
      p.data.assign(v.data.data(), v.data.size());
    }
    out.push_back(std::move(p));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return errc::ok;
}

// ---------------------------------------------------------------------------
// polling payloads, v3 text: `<length>:<packet>` where length counts UTF-16 code units
// (JavaScript string length), binary as `<length>:b<type><base64>`

/// Number of UTF-16 code units of a UTF-8 string: characters above U+FFFF count twice. Invalid
/// bytes count as the U+FFFD they are repaired to (portico/detail/utf8.hpp), so the encoder and
/// the decoder (utf8_prefix_bytes) agree on any input, and with a JavaScript peer, which counts
/// after decoding.
inline std::size_t utf16_length(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t n = 0;
  while (p < end) {
    if (*p < 0x80) {
      ++n;
      ++p;
      continue;
    }
    portico::detail::utf8_step st = portico::detail::utf8_next(p, end);
    n += st.valid && st.size == 4 ? 2 : 1;
    p += st.size;
  }
  return n;
}

namespace detail {
/// Byte length of the prefix of `s` spanning `units` UTF-16 code units (counted as by
/// utf16_length), npos if it runs past the end, npos - 1 if it ends inside a surrogate pair.
inline std::size_t utf8_prefix_bytes(std::string_view s, std::size_t units) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = b + s.size();
  std::size_t i = 0;
  while (units > 0) {
    if (i >= s.size()) return std::string_view::npos;
    portico::detail::utf8_step st = portico::detail::utf8_next(b + i, end);
    std::size_t u = st.valid && st.size == 4 ? 2 : 1;
    if (u > units) return std::string_view::npos - 1;  // would split a surrogate pair
    units -= u;
    i += st.size;
  }
  return i;
}
}  // namespace detail

inline void append_payload_packet_v3(std::string& body, packet_type t, std::string_view data, bool binary = false) {
  if (binary) {
    body += std::to_string(2 + base64_encoded_size(data.size()));
    body.push_back(':');
    body.push_back('b');
    body.push_back(type_char(t));
    base64_encode_to(body, data);
  } else {
    body += std::to_string(1 + utf16_length(data));
    body.push_back(':');
    encode_to(body, t, data);
  }
}

/// v3 base64 binary as one text packet, `b<type><base64>`: what a v3 client that asked for `b64`
/// sends and expects, in polling payloads and also as websocket text frames.
inline std::string encode_base64_v3(std::string_view bytes, packet_type t = packet_type::message) {
  std::string out;
  out.reserve(2 + base64_encoded_size(bytes.size()));
  out.push_back('b');
  out.push_back(type_char(t));
  base64_encode_to(out, bytes);
  return out;
}

/// Decodes a `b<type><base64>` text packet into binary `out`.
inline errc decode_base64_v3(std::string_view text, packet& out) {
  if (text.size() < 2 || text[0] != 'b') return errc::empty_packet;
  packet_view v;
  if (errc e = decode(text.substr(1, 1), v); e != errc::ok) return e;
  out.type = v.type;
  out.binary = true;
  out.data.clear();
  if (!base64_decode_to(out.data, text.substr(2))) return errc::invalid_base64;
  return errc::ok;
}

inline errc decode_payload_v3(std::string_view body, std::vector<packet>& out) {
  if (body.empty()) return errc::empty_payload;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t units = 0, digits = 0;
    while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') {
      if (++digits > 9) return errc::invalid_length;
      units = units * 10 + std::size_t(body[pos] - '0');
      ++pos;
    }
    if (digits == 0 || pos >= body.size() || body[pos] != ':') return errc::invalid_length;
    ++pos;
    std::string_view rest = body.substr(pos);
    std::size_t bytes = detail::utf8_prefix_bytes(rest, units);
    if (bytes == std::string_view::npos) return errc::truncated_payload;
    if (bytes == std::string_view::npos - 1) return errc::invalid_utf8;
    std::string_view part = rest.substr(0, bytes);
    pos += bytes;
    packet p;
    if (!part.empty() && part[0] == 'b') {
      if (part.size() < 2) return errc::empty_packet;
      packet_view v;
      if (errc e = decode(part.substr(1, 1), v); e != errc::ok) return e;
      p.type = v.type;
      p.binary = true;
      if (!base64_decode_to(p.data, part.substr(2))) return errc::invalid_base64;
    } else {
      packet_view v;
      if (errc e = decode(part, v); e != errc::ok) return e;
      p.type = v.type;
      p.data.assign(v.data.data(), v.data.size());
    }
    out.push_back(std::move(p));
  }
  return errc::ok;
}

// ---------------------------------------------------------------------------
// polling payloads, v3 binary (XHR2): per packet `<0|1><length digits as bytes 0-9><0xFF><packet>`
// where a string packet (0) is `<type char><utf-8 text>` and a binary one (1) is `<type byte><bytes>`;
// lengths count bytes, type included.

inline void append_binary_payload_packet_v3(std::string& body, packet_type t, std::string_view data, bool binary) {
  body.push_back(binary ? '\x01' : '\x00');
  for (char d : std::to_string(data.size() + 1)) body.push_back(static_cast<char>(d - '0'));
  body.push_back('\xff');
  body.push_back(binary ? static_cast<char>(t) : type_char(t));
  body.append(data);
}

inline errc decode_binary_payload_v3(std::string_view body, std::vector<packet>& out) {
  if (body.empty()) return errc::empty_payload;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto kind = static_cast<unsigned char>(body[pos++]);
    if (kind > 1) return errc::invalid_length;
    std::size_t len = 0, digits = 0;
    while (pos < body.size() && static_cast<unsigned char>(body[pos]) != 0xFF) {
      auto d = static_cast<unsigned char>(body[pos]);
      if (d > 9 || ++digits > 9) return errc::invalid_length;
      len = len * 10 + d;
      ++pos;
    }
    if (digits == 0 || pos >= body.size()) return errc::invalid_length;
    ++pos;  // 0xFF
    if (len > body.size() - pos) return errc::truncated_payload;
    std::string_view part = body.substr(pos, len);
    pos += len;
    packet_view v;
    if (kind == 1) {
      if (errc e = decode_binary_v3(part, v); e != errc::ok) return e;
    } else {
      if (errc e = decode(part, v); e != errc::ok) return e;
    }
    out.push_back(packet{v.type, v.binary, std::string(v.data)});
  }
  return errc::ok;
}

}  // namespace portico::engineio
