#pragma once
/// Socket.IO v5 packet codec: pure functions over strings, no I/O.
///
/// Wire format (one Engine.IO message each, plus binary messages for attachments):
///   <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
///
/// A received packet owns its text and parses its JSON payload once, in situ, so strings in the
/// DOM point into that text (see docs/design.md, "Payload representation"). Placeholders for
/// binary attachments stay in the DOM; `binary.hpp` resolves or rewrites them.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../json/surrogates.hpp"
#include "../json/value.hpp"

namespace portico::socketio {

enum class packet_type : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

inline const char* to_string(packet_type t) noexcept {
  switch (t) {
    case packet_type::connect: return "CONNECT";
    case packet_type::disconnect: return "DISCONNECT";
    case packet_type::event: return "EVENT";
    case packet_type::ack: return "ACK";
    case packet_type::connect_error: return "CONNECT_ERROR";
    case packet_type::binary_event: return "BINARY_EVENT";
    case packet_type::binary_ack: return "BINARY_ACK";
  }
  return "?";
}

inline constexpr bool is_binary(packet_type t) noexcept {
  return t == packet_type::binary_event || t == packet_type::binary_ack;
}

/// Why a packet was refused. Decoding never throws: the server turns any of these into
/// "close this client" plus one log line.
enum class errc {
  ok = 0,
  empty_packet,
  bad_type,
  bad_attachments,        ///< count missing, not digits, no '-', or above the decoder's limit
  bad_namespace,          ///< a namespace must start with '/'
  bad_ack_id,             ///< digits that do not fit an integer
  bad_json,               ///< the payload is not valid JSON
  too_deep,               ///< JSON nesting deeper than the decoder accepts
  invalid_payload,        ///< valid JSON, wrong shape for the packet type
  reserved_event,         ///< an EVENT named connect, disconnect, ...
  bad_placeholder,        ///< a placeholder refers to an attachment that does not exist
  unexpected_binary,      ///< a binary message arrived while no attachment was expected
  unexpected_text,        ///< a text packet arrived while attachments were still expected
  packet_too_large,       ///< text + attachments of one packet above the decoder's byte limit
};

inline const char* describe(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::empty_packet: return "empty packet";
    case errc::bad_type: return "unknown packet type";
    case errc::bad_attachments: return "illegal attachments count (malformed or above max_attachments)";
    case errc::bad_namespace: return "namespace must start with '/'";
    case errc::bad_ack_id: return "illegal ack id";
    case errc::bad_json: return "payload is not valid JSON";
    case errc::too_deep: return "payload nested too deeply";
    case errc::invalid_payload: return "invalid payload for packet type";
    case errc::reserved_event: return "reserved event name";
    case errc::bad_placeholder: return "placeholder refers to a missing attachment";
    case errc::unexpected_binary: return "binary attachment without a pending binary packet";
    case errc::unexpected_text: return "text packet while attachments were expected";
    case errc::packet_too_large: return "packet and attachments above max_packet_bytes";
  }
  return "?";
}

/// Event names a peer may not emit (they are lifecycle events on the receiving side).
inline bool is_reserved_event(std::string_view name) noexcept {
  return name == "connect" || name == "connect_error" || name == "disconnect" ||
         name == "disconnecting" || name == "newListener" || name == "removeListener";
}

/// Ack ids are JavaScript numbers on the other side: keep them exactly representable.
inline constexpr std::uint64_t max_ack_id = (std::uint64_t{1} << 53) - 1;
inline constexpr std::uint64_t no_ack = ~std::uint64_t{0};

namespace detail {

/// Frees a pool allocator made by `make_dom_pool`.
struct dom_pool_delete {
  void operator()(json::allocator* a) const noexcept {
    std::destroy_at(a);
    ::operator delete(a);
  }
};
using dom_pool_ptr = std::unique_ptr<json::allocator, dom_pool_delete>;

/// The memory pool of one received DOM, allocated together with its first chunk: one malloc for
/// a typical packet (a separate pool object and chunk would be two).
inline dom_pool_ptr make_dom_pool(std::size_t first_chunk) {
  void* mem = ::operator new(sizeof(json::allocator) + first_chunk);
  char* chunk = static_cast<char*>(mem) + sizeof(json::allocator);
  return dom_pool_ptr(new (mem) json::allocator(chunk, first_chunk));
}

}  // namespace detail

/// A received packet. Owns its text; the JSON payload (if any) is a DOM parsed in situ over it,
/// whose nodes live in the packet's own pool, so a packet can be kept (and handed to another
/// thread) after its handler returns. It must not be copied (it is movable: the text's heap
/// buffer and the pool move with it).
class packet {
 public:
  packet() = default;
  packet(packet&&) = default;
  packet& operator=(packet&&) = default;
  packet(const packet&) = delete;
  packet& operator=(const packet&) = delete;

  packet_type type = packet_type::connect;
  std::uint64_t id = no_ack;        ///< ack id, `no_ack` when absent
  std::size_t attachments_expected = 0;
  std::vector<json::binary> attachments;

  bool has_id() const noexcept { return id != no_ack; }
  /// "/" when the packet named no namespace.
  std::string_view namespace_name() const noexcept {
    if (nsp_len_ == 0) return std::string_view("/", 1);
    return std::string_view(text_.data() + nsp_pos_, nsp_len_);
  }
  [[deprecated("use namespace_name()")]] std::string_view nsp() const noexcept { return namespace_name(); }
  bool has_data() const noexcept { return has_data_; }
  /// The payload; a Null value when absent.
  const json::value& data() const noexcept { return root_; }

  /// EVENT / BINARY_EVENT: the event name (first array element).
  std::string_view event_name() const noexcept {
    if (!root_.IsArray() || root_.Empty() || !root_[0].IsString()) return {};
    return std::string_view(root_[0].GetString(), root_[0].GetStringLength());
  }
  /// The arguments of an event (after the name) or of an ack (all elements).
  std::size_t arg_count() const noexcept {
    if (!root_.IsArray()) return 0;
    std::size_t n = root_.Size();
    return is_event() ? (n ? n - 1 : 0) : n;
  }
  const json::value& arg(std::size_t i) const noexcept {
    return root_[static_cast<rapidjson::SizeType>(is_event() ? i + 1 : i)];
  }
  bool is_event() const noexcept {
    return type == packet_type::event || type == packet_type::binary_event;
  }
  bool complete() const noexcept { return attachments.size() == attachments_expected; }
  json::decode_context context() const noexcept { return json::decode_context{&attachments}; }

 private:
  friend errc decode(std::string text, packet& out, std::size_t max_attachments);
  std::string text_;
  std::size_t nsp_pos_ = 0, nsp_len_ = 0;
  bool has_data_ = false;
  detail::dom_pool_ptr pool_;  ///< before root_: outlives it
  json::value root_;
};

namespace detail {

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// RapidJSON's writer recurses, so a hostile `[[[[...` must be refused before anyone serialises
/// it back. Only texts longer than the limit can be that deep, so short packets skip the scan.
inline bool nesting_within(std::string_view s, std::size_t max_depth) noexcept {
  if (s.size() <= max_depth) return true;
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth) --depth;
  }
  return true;
}

inline bool is_plain_object(const json::value& v) noexcept { return v.IsObject(); }

/// Every placeholder in `v` refers to one of the `count` attachments.
inline bool placeholders_within(const json::value& v, std::size_t count) noexcept {
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (!placeholders_within(e, count)) return false;
  } else if (v.IsObject()) {
    if (json::is_placeholder(v)) return v["num"].GetUint() < count;
    for (const auto& m : v.GetObject())
      if (!placeholders_within(m.value, count)) return false;
  }
  return true;
}

/// The v5 validity rules, per packet type, for a payload that is present.
inline errc check_payload(packet_type t, const json::value& v) noexcept {
  switch (t) {
    case packet_type::connect:
      return is_plain_object(v) ? errc::ok : errc::invalid_payload;
    case packet_type::disconnect:
      return errc::invalid_payload;  // DISCONNECT carries no payload
    case packet_type::connect_error:
      return (v.IsString() || is_plain_object(v)) ? errc::ok : errc::invalid_payload;
    case packet_type::event:
    case packet_type::binary_event:
      if (!v.IsArray() || v.Empty() || !v[0].IsString()) return errc::invalid_payload;
      if (is_reserved_event(std::string_view(v[0].GetString(), v[0].GetStringLength())))
        return errc::reserved_event;
      return errc::ok;
    case packet_type::ack:
    case packet_type::binary_ack:
      return v.IsArray() ? errc::ok : errc::invalid_payload;
  }
  return errc::bad_type;
}

/// Parses the `length` bytes at `text` (NUL-terminated) in situ into `root`, nodes allocated in
/// `pool`. The parser's work stack is per thread and reused (RapidJSON would allocate and free
/// one per document): it lives in a pool over a thread-local buffer, emptied after every parse.
inline bool parse_payload(char* text, std::size_t length, json::allocator& pool, json::value& root) {
  struct scratch {
    char buffer[4096];
    json::allocator stack_pool{buffer, sizeof(buffer)};
  };
  thread_local scratch tls;
  using parser = rapidjson::GenericDocument<rapidjson::UTF8<>, json::allocator, json::allocator>;
  /// RapidJSON 1.1 turns 10e308 into infinity, which no packet can carry back out: refused.
  struct finite_parser : parser {
    using parser::parser;
    bool Double(double d) { return std::isfinite(d) && parser::Double(d); }
  };
  bool ok = false;
  json::detail::replace_lone_surrogate_escapes(text, length);  // "\udd00" from a JS client -> U+FFFD
  {
    finite_parser doc(&pool, 1024, &tls.stack_pool);
    // Not json::parse_insitu's bounded stream: this one keeps RapidJSON's SSE2 string scan. With
    // kParseValidateEncodingFlag it would read past the terminator (see json/dom.hpp).
    rapidjson::InsituStringStream in(text);
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, json::allocator> reader(&tls.stack_pool);
    // Iterative: a hostile payload cannot exhaust the stack; trailing garbage is an error.
    auto generate = [&](parser&) {
      return ok = !reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag>(in, doc).IsError();
    };
    doc.Populate(generate);
    // RapidJSON stops at the first NUL byte: one before `length` hides garbage after it.
    ok = ok && in.Tell() == length;
    if (ok) root.Swap(doc);
  }
  tls.stack_pool.Clear();
  return ok;
}

}  // namespace detail

/// Deepest JSON nesting a received payload may have.
inline constexpr std::size_t max_json_depth = 256;

/// Most binary attachments one packet may announce (socket.io-parser's `maxAttachments`).
inline constexpr std::size_t default_max_attachments = 10;
/// Most bytes one packet may carry, text and attachments together: Engine.IO's default
/// max_payload, so one packet costs no more memory than one message.
inline constexpr std::size_t default_max_packet_bytes = 1000000;

/// Decodes one text packet. On success `out` holds the header and the parsed payload; for a
/// BINARY_* packet `out.attachments_expected` says how many binary messages must follow.
inline errc decode(std::string text, packet& out, std::size_t max_attachments = default_max_attachments) {
  out = packet{};
  const std::size_t n = text.size();
  if (n == 0) return errc::empty_packet;
  std::size_t i = 0;
  char c = text[i++];
  if (c < '0' || c > '6') return errc::bad_type;
  out.type = static_cast<packet_type>(c - '0');

  if (is_binary(out.type)) {
    std::size_t start = i;
    std::uint64_t count = 0;
    while (i < n && detail::is_digit(text[i])) {
      count = count * 10 + static_cast<std::uint64_t>(text[i] - '0');
      if (count > max_attachments) return errc::bad_attachments;
      ++i;
    }
    if (i == start || i >= n || text[i] != '-') return errc::bad_attachments;
    ++i;
    out.attachments_expected = static_cast<std::size_t>(count);
  }

  if (i < n && text[i] == '/') {
    std::size_t start = i;
    while (i < n && text[i] != ',') ++i;
    out.nsp_pos_ = start;
    out.nsp_len_ = i - start;
    if (i < n) ++i;  // the ',' (absent when the namespace ends the packet: "40/admin")
  } else if (i < n && text[i] != '[' && text[i] != '{' && text[i] != '"' && !detail::is_digit(text[i])) {
    // Anything else where a namespace could start is a namespace not starting with '/'.
    std::size_t comma = text.find(',', i);
    if (comma != std::string::npos && comma > i) return errc::bad_namespace;
  }

  if (i < n && detail::is_digit(text[i])) {
    std::uint64_t id = 0;
    while (i < n && detail::is_digit(text[i])) {
      id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
      if (id > max_ack_id) return errc::bad_ack_id;
      ++i;
    }
    out.id = id;
  }

  if (i < n) {
    std::string_view json(text.data() + i, n - i);
    if (!detail::nesting_within(json, max_json_depth)) return errc::too_deep;
    // Small strings live inside the std::string object; force a heap buffer so the in-situ
    // DOM's pointers survive moving the packet.
    if (text.capacity() < 64) text.reserve(64);
    out.text_ = std::move(text);
    char* p = out.text_.data() + i;
    // The first pool chunk is sized to the payload (a DOM node is 16 bytes, at most one per
    // 2 bytes of JSON text) instead of RapidJSON's 64 KB default.
    std::size_t chunk = (n - i) * 8;
    if (chunk < 256) chunk = 256;
    if (chunk > 65536) chunk = 65536;
    out.pool_ = detail::make_dom_pool(chunk);
    if (!detail::parse_payload(p, n - i, *out.pool_, out.root_)) return errc::bad_json;
    out.has_data_ = true;
    errc e = detail::check_payload(out.type, out.root_);
    if (e != errc::ok) return e;
    if (out.attachments_expected && !detail::placeholders_within(out.root_, out.attachments_expected))
      return errc::bad_placeholder;
  } else {
    out.text_ = std::move(text);
    if (out.type == packet_type::event || out.type == packet_type::binary_event ||
        out.type == packet_type::ack || out.type == packet_type::binary_ack ||
        out.type == packet_type::connect_error)
      return errc::invalid_payload;  // these carry a mandatory payload
  }
  return errc::ok;
}

/// Writes a packet header into `out` (which may already hold the Engine.IO '4' prefix).
inline void write_header(std::string& out, packet_type t, std::string_view nsp, std::uint64_t id = no_ack,
                         std::size_t attachments = 0) {
  out.push_back(static_cast<char>('0' + static_cast<int>(t)));
  if (is_binary(t)) {
    out += std::to_string(attachments);
    out.push_back('-');
  }
  if (!nsp.empty() && nsp != "/") {
    out.append(nsp.data(), nsp.size());
    out.push_back(',');
  }
  if (id != no_ack) out += std::to_string(id);
}

/// An outgoing packet: the text and the binary messages that follow it.
struct encoded {
  std::string text;
  std::vector<std::string> binaries;
};

/// Builds one outgoing packet: header first, then JSON written straight into the same string.
/// When binary attachments were written, `finish()` turns EVENT/ACK into BINARY_EVENT/BINARY_ACK
/// and inserts the count (one small memmove, only for binary packets).
class packet_writer {
 public:
  /// `json_size_hint`: the expected size of the JSON that follows, to allocate the text once.
  packet_writer(packet_type t, std::string_view nsp, std::uint64_t id = no_ack, std::string prefix = {},
                std::size_t json_size_hint = 0)
      : out_(std::move(prefix)), type_(t), sink_{&out_}, w_(sink_, &json::crt_allocator()) {
    type_pos_ = out_.size();
    out_.reserve(out_.size() + 24 + nsp.size() + json_size_hint);  // 24: type, id, separators
    write_header(out_, t, nsp, id);
  }
  json::writer& writer() noexcept { return w_; }
  json::encode_context& context() noexcept { return ctx_; }
  std::string& text() noexcept {
    sink_.Flush();
    return out_;
  }

  /// Completes the header; the attachments' bytes are in `context().attachments`.
  std::string& finish() {
    sink_.Flush();
    std::size_t n = ctx_.attachments.size();
    if (n && !is_binary(type_)) {
      if (type_ == packet_type::event) type_ = packet_type::binary_event;
      else if (type_ == packet_type::ack) type_ = packet_type::binary_ack;
      out_[type_pos_] = static_cast<char>('0' + static_cast<int>(type_));
      out_.insert(type_pos_ + 1, std::to_string(n) + "-");
    }
    return out_;
  }
  packet_type type() const noexcept { return type_; }

  packet_writer(const packet_writer&) = delete;  // the writer points at out_
  packet_writer& operator=(const packet_writer&) = delete;

 private:
  std::string out_;
  packet_type type_;
  std::size_t type_pos_ = 0;
  json::string_sink sink_;
  json::writer w_;
  json::encode_context ctx_;
};

/// Encodes a header plus an optional DOM payload as is (placeholders included): the inverse of
/// `decode` for tests and tools. `attachments` is the count written in the header of BINARY_*.
inline std::string encode(packet_type t, std::string_view nsp, const json::value* data,
                          std::uint64_t id = no_ack, std::size_t attachments = 0) {
  std::string out;
  write_header(out, t, nsp, id, attachments);
  if (data) {
    json::string_sink sink{&out};
    json::writer w(sink);
    data->Accept(w);
  }
  return out;
}

/// Re-encodes a received packet (round trip): same header, same payload, same attachments.
inline encoded encode(const packet& p) {
  encoded e;
  e.text = encode(p.type, p.namespace_name(), p.has_data() ? &p.data() : nullptr, p.id, p.attachments_expected);
  for (const auto& b : p.attachments) e.binaries.push_back(b.bytes);
  return e;
}

/// Collects a packet and the binary attachments that follow a BINARY_EVENT / BINARY_ACK header.
/// One per connection; feed it every Engine.IO message in order.
class decoder {
 public:
  enum class status { ready, awaiting_attachments, error };

  /// `max_packet_bytes` bounds the text plus the attachments of one packet, checked as each
  /// part arrives: a peer cannot make the decoder hold more than that before refusing.
  explicit decoder(std::size_t max_attachments = default_max_attachments,
                   std::size_t max_packet_bytes = default_max_packet_bytes)
      : max_attachments_(max_attachments), max_packet_bytes_(max_packet_bytes) {}

  status add_text(std::string text) {
    if (pending_) return fail(errc::unexpected_text);
    if (text.size() > max_packet_bytes_) return fail(errc::packet_too_large);
    bytes_ = text.size();
    errc e = decode(std::move(text), current_, max_attachments_);
    if (e != errc::ok) return fail(e);
    if (current_.attachments_expected == 0) return status::ready;
    current_.attachments.reserve(current_.attachments_expected);
    pending_ = true;
    return status::awaiting_attachments;
  }

  status add_binary(std::string bytes) {
    if (!pending_) return fail(errc::unexpected_binary);
    if (bytes.size() > max_packet_bytes_ - bytes_) return fail(errc::packet_too_large);
    bytes_ += bytes.size();
    current_.attachments.emplace_back(std::move(bytes));
    if (!current_.complete()) return status::awaiting_attachments;
    pending_ = false;
    return status::ready;
  }

  /// The packet completed by the last `ready` status.
  packet& current() noexcept { return current_; }
  packet take() { return std::move(current_); }
  errc error() const noexcept { return error_; }
  bool awaiting() const noexcept { return pending_; }
  void reset() {
    pending_ = false;
    error_ = errc::ok;
    bytes_ = 0;
    current_ = packet{};
  }

 private:
  status fail(errc e) {
    error_ = e;
    pending_ = false;
    current_ = packet{};  // the parts collected so far are freed at once
    return status::error;
  }
  std::size_t max_attachments_;
  std::size_t max_packet_bytes_;
  std::size_t bytes_ = 0;  ///< text + attachments of the packet being collected
  bool pending_ = false;
  errc error_ = errc::ok;
  packet current_;
};

}  // namespace portico::socketio
