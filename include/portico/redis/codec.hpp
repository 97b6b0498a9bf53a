#pragma once
/// The messages Node's @socket.io/redis-adapter 8.3 (classic and sharded) and
/// @socket.io/redis-emitter 5.1 exchange over Redis, as typed values: pure encode/decode, no I/O.
///
/// - classic broadcast: msgpack `[uid, packet, opts]` on `prefix#nsp#[room#]` (emitter: uid
///   "emitter", opts keys in the order rooms, flags, except);
/// - classic request / response: JSON objects, except BROADCAST (7) and BROADCAST_ACK (9), msgpack;
/// - sharded ClusterMessage `{type, data, uid, nsp}`: JSON, or msgpack when it carries binary.
/// Decoding sniffs the format as Node does (first byte '{' -> JSON) and never throws: a
/// malformed or hostile message is a `codec_errc` the caller logs. JS values inside messages
/// (event arguments, handshakes, ack values) are `payload`s: JSON text in which each msgpack `bin`
/// is a `{"_placeholder":true,"num":n}` plus the bytes, i.e. the form of a Socket.IO packet, so a
/// received broadcast becomes one encoded frame for local clients without another parse.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/tree.hpp"

namespace portico::redis {

/// A JS value that crossed Redis: JSON text (with placeholders) + the binary attachments.
struct payload {
  std::string json;                      ///< valid JSON; empty means null
  std::vector<std::string> attachments;  ///< placeholder `num` n refers to attachments[n]
  friend bool operator==(const payload& a, const payload& b) {
    return a.json == b.json && a.attachments == b.attachments;
  }
};

/// `opts.flags` of a broadcast. Keys Node never publishes (`local`) or this codec does not know
/// are dropped on decode; encoding writes them in the order volatile, compress, timeout,
/// expectSingleResponse.
struct broadcast_flags {
  std::optional<bool> volatile_;
  std::optional<bool> compress;
  std::optional<std::uint64_t> timeout;  ///< ms; set on broadcasts that wait for acks
  std::optional<bool> expect_single_response;  ///< RemoteSocket.emit
};

/// `opts` of a broadcast or of a rooms/fetch/disconnect request.
struct broadcast_opts {
  std::vector<std::string> rooms;   ///< empty: the whole namespace
  std::vector<std::string> except;  ///< rooms (socket ids are rooms) left out
  broadcast_flags flags;
  bool with_flags = true;      ///< classic requests 2..5 carry `{rooms, except}` only
  bool emitter_order = false;  ///< keys in the emitter's order `rooms, flags, except`
};

/// The Socket.IO packet object inside broadcasts: `{type, data, nsp?, id?}`.
struct packet {
  int type = 2;                      ///< 2 EVENT in practice (binary stays 2: Node re-encodes)
  payload data;                      ///< `[event, ...args]`
  std::optional<std::string> nsp;    ///< present in classic/emitter messages, not in sharded ones
  std::optional<std::uint64_t> id;   ///< never set by Node 8.3 (receivers allocate ack ids)
};

/// One classic / emitter broadcast.
struct classic_broadcast {
  std::string uid;  ///< the sender's per-namespace uid; "emitter" for redis-emitter
  packet pkt;
  broadcast_opts opts;
};

/// The classic adapter's `parser` option: what broadcasts, BROADCAST requests and BROADCAST_ACK
/// responses are written with. Every member of a cluster must use the same; decoding accepts both.
enum class classic_parser {
  msgpack,  ///< notepack.io, the default
  json,     ///< `parser: JSON` (binary cannot cross: attachments are written as placeholders)
};

/// Classic request and response type codes (`RA` RequestType).
enum class request_type : int {
  sockets = 0,
  all_rooms = 1,
  remote_join = 2,
  remote_leave = 3,
  remote_disconnect = 4,
  remote_fetch = 5,
  server_side_emit = 6,
  broadcast = 7,
  broadcast_client_count = 8,
  broadcast_ack = 9,
};

/// A socket in a fetchSockets answer.
struct fetched_socket {
  std::string id;
  payload handshake;  ///< `{headers, time, address, xdomain, secure, issued, url, query, auth}`
  std::vector<std::string> rooms;
  payload data;  ///< socket.data
};

/// A request on `prefix-request#nsp#`. Which fields are set depends on `type`; encoding writes
/// the present ones in Node's order uid, requestId, type, packet, opts, rooms, close, data.
struct classic_request {
  request_type type = request_type::all_rooms;
  std::optional<std::string> uid;         ///< absent in the emitter's join/leave/disconnect
  std::optional<std::string> request_id;  ///< 0, 1, 5, 7, and 6 with ack
  std::optional<packet> pkt;              ///< 7
  std::optional<broadcast_opts> opts;     ///< 2, 3, 4, 5, 7
  std::optional<std::vector<std::string>> rooms;  ///< 2, 3: rooms to join/leave; 0: filter
  std::optional<bool> close;              ///< 4
  std::optional<payload> data;            ///< 6: `[event, ...args]`
};

/// A response on `prefix-response#nsp#[uid#]`. Only 6, 8 and 9 carry their type; the others are
/// matched to the pending request by requestId. Encoding order: type, requestId, rooms,
/// sockets, data, clientCount, packet.
struct classic_response {
  std::optional<request_type> type;
  std::string request_id;
  std::optional<std::vector<std::string>> rooms;          ///< ALL_ROOMS
  std::optional<std::vector<std::string>> sids;           ///< SOCKETS (key "sockets")
  /// REMOTE_FETCH (key "sockets"); an empty "sockets" array decodes here.
  std::optional<std::vector<fetched_socket>> sockets;
  std::optional<payload> data;                            ///< SERVER_SIDE_EMIT ack value
  std::optional<std::uint64_t> client_count;              ///< BROADCAST_CLIENT_COUNT
  std::optional<payload> ack;                             ///< BROADCAST_ACK value (key "packet")
};

/// Sharded adapter (ClusterAdapter) message type codes.
enum class cluster_type : int {
  initial_heartbeat = 1,
  heartbeat = 2,
  broadcast = 3,
  sockets_join = 4,
  sockets_leave = 5,
  disconnect_sockets = 6,
  fetch_sockets = 7,
  fetch_sockets_response = 8,
  server_side_emit = 9,
  server_side_emit_response = 10,
  broadcast_client_count = 11,
  broadcast_ack = 12,
  adapter_close = 13,
};

/// A sharded-adapter message `{type, data?, uid, nsp}`; the fields of `data` depend on `type`.
struct cluster_message {
  cluster_type type = cluster_type::broadcast;
  std::string uid;  ///< the sender's per-namespace uid (16 hex digits in Node)
  std::string nsp;
  std::optional<packet> pkt;                          ///< 3 (no nsp inside)
  std::optional<std::string> request_id;              ///< 3 with ack, 7, 8, 9 with ack, 10, 11, 12
  std::optional<broadcast_opts> opts;                 ///< 3, 4, 5, 6, 7
  std::optional<std::vector<std::string>> rooms;      ///< 4, 5
  std::optional<bool> close;                          ///< 6
  std::optional<std::vector<fetched_socket>> sockets; ///< 8
  std::optional<payload> value;  ///< key "packet": 9 `[event, ...args]`, 10 and 12 the ack value
  std::optional<std::uint64_t> client_count;          ///< 11
};

namespace detail {

// --- output sinks: the typed encoders write through one of these ---

class json_sink {
 public:
  json_sink() : sink_{&out_}, w_(sink_, &json::crt_allocator()) {}
  void begin_map(std::size_t) { w_.StartObject(); }
  void end_map() { w_.EndObject(); }
  void begin_array(std::size_t) { w_.StartArray(); }
  void end_array() { w_.EndArray(); }
  void key(std::string_view k) { w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
  void str(std::string_view s) { w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
  void u64(std::uint64_t v) { w_.Uint64(v); }
  void boolean(bool b) { w_.Bool(b); }
  /// JSON cannot carry bytes: placeholders are written as they are (Node's JSON.stringify would
  /// write `{"type":"Buffer",...}`); the encoders pick msgpack whenever a message has binary.
  void value(const payload& p) {
    if (p.json.empty()) w_.Null();
    else w_.RawValue(p.json.data(), p.json.size(), rapidjson::kObjectType);
  }
  std::string take() {
    sink_.Flush();
    return std::move(out_);
  }

 private:
  std::string out_;
  json::string_sink sink_;
  json::writer w_;
};

class msgpack_sink {
 public:
  void begin_map(std::size_t n) { pk_.pack_map(static_cast<std::uint32_t>(n)); }
  void end_map() {}
  void begin_array(std::size_t n) { pk_.pack_array(static_cast<std::uint32_t>(n)); }
  void end_array() {}
  void key(std::string_view k) { str(k); }
  void str(std::string_view s) {
    pk_.pack_str(static_cast<std::uint32_t>(s.size()));
    pk_.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
  }
  void u64(std::uint64_t v) { pk_.pack_uint64(v); }
  void boolean(bool b) {
    if (b) pk_.pack_true();
    else pk_.pack_false();
  }
  /// Re-reads the JSON text (once per published message) and writes msgpack with each
  /// placeholder as `bin`, as notepack.io writes a Buffer. Invalid JSON is written as nil.
  void value(const payload& p) {
    json::document d;
    if (p.json.empty() || !socketio::detail::nesting_within(p.json, socketio::max_json_depth) ||
        d.Parse<rapidjson::kParseIterativeFlag>(p.json.data(), p.json.size()).HasParseError()) {
      pk_.pack_nil();
      return;
    }
    pack(d, p.attachments);
  }
  std::string take() { return std::string(buf_.data(), buf_.size()); }

 private:
  void pack(const json::value& v, const std::vector<std::string>& att) {
    switch (v.GetType()) {
      case rapidjson::kNullType: pk_.pack_nil(); return;
      case rapidjson::kFalseType: pk_.pack_false(); return;
      case rapidjson::kTrueType: pk_.pack_true(); return;
      case rapidjson::kNumberType:
        if (v.IsUint64()) pk_.pack_uint64(v.GetUint64());
        else if (v.IsInt64()) pk_.pack_int64(v.GetInt64());
        else pk_.pack_double(v.GetDouble());  // notepack: every non-integer is float64
        return;
      case rapidjson::kStringType: str(std::string_view(v.GetString(), v.GetStringLength())); return;
      case rapidjson::kArrayType:
        pk_.pack_array(v.Size());
        for (const auto& e : v.GetArray()) pack(e, att);
        return;
      case rapidjson::kObjectType:
        if (json::is_placeholder(v) && v["num"].GetUint64() < att.size()) {
          const std::string& b = att[v["num"].GetUint64()];
          pk_.pack_bin(static_cast<std::uint32_t>(b.size()));
          pk_.pack_bin_body(b.data(), static_cast<std::uint32_t>(b.size()));
          return;
        }
        pk_.pack_map(v.MemberCount());
        for (const auto& m : v.GetObject()) {
          str(std::string_view(m.name.GetString(), m.name.GetStringLength()));
          pack(m.value, att);
        }
        return;
    }
  }
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_{&buf_};
};

// --- typed writers ---

template <class S>
void write_strings(S& s, const std::vector<std::string>& v) {
  s.begin_array(v.size());
  for (const auto& e : v) s.str(e);
  s.end_array();
}

template <class S>
void write_flags(S& s, const broadcast_flags& x) {
  s.begin_map(!!x.volatile_ + !!x.compress + !!x.timeout + !!x.expect_single_response);
  if (x.volatile_) s.key("volatile"), s.boolean(*x.volatile_);
  if (x.compress) s.key("compress"), s.boolean(*x.compress);
  if (x.timeout) s.key("timeout"), s.u64(*x.timeout);
  if (x.expect_single_response) s.key("expectSingleResponse"), s.boolean(*x.expect_single_response);
  s.end_map();
}

template <class S>
void write_opts(S& s, const broadcast_opts& o) {
  s.begin_map(o.with_flags ? 3 : 2);
  s.key("rooms");
  write_strings(s, o.rooms);
  if (o.with_flags && o.emitter_order) s.key("flags"), write_flags(s, o.flags);
  s.key("except");
  write_strings(s, o.except);
  if (o.with_flags && !o.emitter_order) s.key("flags"), write_flags(s, o.flags);
  s.end_map();
}

template <class S>
void write_packet(S& s, const packet& p) {
  s.begin_map(2 + !!p.nsp + !!p.id);
  s.key("type"), s.u64(static_cast<std::uint64_t>(p.type));
  s.key("data"), s.value(p.data);
  if (p.nsp) s.key("nsp"), s.str(*p.nsp);
  if (p.id) s.key("id"), s.u64(*p.id);
  s.end_map();
}

template <class S>
void write_sockets(S& s, const std::vector<fetched_socket>& v) {
  s.begin_array(v.size());
  for (const auto& f : v) {
    s.begin_map(4);
    s.key("id"), s.str(f.id);
    s.key("handshake"), s.value(f.handshake);
    s.key("rooms"), write_strings(s, f.rooms);
    s.key("data"), s.value(f.data);
    s.end_map();
  }
  s.end_array();
}

inline bool has_binary(const std::vector<fetched_socket>& v) {
  for (const auto& f : v)
    if (!f.handshake.attachments.empty() || !f.data.attachments.empty()) return true;
  return false;
}

// --- typed readers over the DOM ---

inline const json::value* member(const json::value& obj, std::string_view key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(json::value(rapidjson::StringRef(key.data(), key.size())));
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

inline bool read_string(const json::value* v, std::string& out) {
  if (!v || !v->IsString()) return false;
  out.assign(v->GetString(), v->GetStringLength());
  return true;
}

/// Room names: strings, or numbers (JS rooms may be numbers; their JSON text names them).
inline bool read_strings(const json::value* v, std::vector<std::string>& out) {
  out.clear();
  if (!v || !v->IsArray()) return false;
  out.reserve(v->Size());
  for (const auto& e : v->GetArray()) {
    if (e.IsString()) {
      out.emplace_back(e.GetString(), e.GetStringLength());
    } else if (e.IsNumber()) {
      std::string s;
      json::string_sink sink{&s};
      json::writer w(sink);
      e.Accept(w);
      sink.Flush();
      out.push_back(std::move(s));
    } else {
      return false;
    }
  }
  return true;
}

inline bool read_u64(const json::value* v, std::uint64_t& out) {
  if (!v || !v->IsNumber()) return false;
  if (v->IsUint64()) out = v->GetUint64();
  else if (v->IsDouble() && v->GetDouble() >= 0 && v->GetDouble() < 1.8e19) out = static_cast<std::uint64_t>(v->GetDouble());
  else return false;
  return true;
}

inline bool read_int(const json::value* v, int& out) {
  if (!v || !v->IsInt()) return false;
  out = v->GetInt();
  return true;
}

inline payload read_payload(const json::value& v, const tree& t) {
  payload p;
  json::string_sink sink{&p.json};
  json::writer w(sink, &json::crt_allocator());
  write_json(w, v, t.attachments, p.attachments);
  sink.Flush();
  return p;
}

inline bool read_flags(const json::value* v, broadcast_flags& f) {
  f = broadcast_flags{};
  if (!v) return true;
  if (!v->IsObject()) return false;
  if (auto* x = member(*v, "volatile"); x && x->IsBool()) f.volatile_ = x->GetBool();
  if (auto* x = member(*v, "compress"); x && x->IsBool()) f.compress = x->GetBool();
  if (auto* x = member(*v, "timeout")) {
    std::uint64_t t;
    if (read_u64(x, t)) f.timeout = t;
  }
  if (auto* x = member(*v, "expectSingleResponse"); x && x->IsBool()) f.expect_single_response = x->GetBool();
  return true;
}

/// Missing rooms/except are empty sets, as `new Set(undefined)` in Node.
inline bool read_opts(const json::value* v, broadcast_opts& o) {
  o = broadcast_opts{};
  if (!v || !v->IsObject()) return false;
  const json::value* rooms = member(*v, "rooms");
  const json::value* except = member(*v, "except");
  const json::value* flags = member(*v, "flags");
  if (rooms && !read_strings(rooms, o.rooms)) return false;
  if (except && !read_strings(except, o.except)) return false;
  o.with_flags = flags != nullptr;
  if (!read_flags(flags, o.flags)) return false;
  if (flags && except) o.emitter_order = flags < except;  // members are stored in key order
  return true;
}

inline bool read_packet(const json::value* v, const tree& t, packet& p) {
  p = packet{};
  if (!v || !v->IsObject() || !read_int(member(*v, "type"), p.type)) return false;
  if (p.type != 2 && p.type != 3 && p.type != 5 && p.type != 6) return false;
  const json::value* data = member(*v, "data");
  if (!data || !data->IsArray()) return false;
  if ((p.type == 2 || p.type == 5) && (data->Empty() || !(*data)[0].IsString())) return false;
  p.data = read_payload(*data, t);
  if (const json::value* nsp = member(*v, "nsp")) {
    std::string s;
    if (!read_string(nsp, s)) return false;
    p.nsp = std::move(s);
  }
  if (const json::value* id = member(*v, "id")) {
    std::uint64_t n;
    if (!read_u64(id, n) || n > socketio::max_ack_id) return false;
    p.id = n;
  }
  return true;
}

inline bool read_sockets(const json::value* v, const tree& t, std::vector<fetched_socket>& out) {
  out.clear();
  if (!v || !v->IsArray()) return false;
  for (const auto& e : v->GetArray()) {
    fetched_socket f;
    if (!read_string(member(e, "id"), f.id)) return false;
    if (auto* h = member(e, "handshake")) f.handshake = read_payload(*h, t);
    if (!read_strings(member(e, "rooms"), f.rooms)) return false;
    if (auto* d = member(e, "data")) f.data = read_payload(*d, t);
    out.push_back(std::move(f));
  }
  return true;
}

template <class T>
bool read_optional_string(const json::value& obj, std::string_view key, std::optional<T>& out) {
  const json::value* v = member(obj, key);
  if (!v) return true;
  std::string s;
  if (!read_string(v, s)) return false;
  out = std::move(s);
  return true;
}

}  // namespace detail

// ------------------------------------------------------------------------------------------
// Classic broadcast

namespace detail {
template <class S>
std::string write_broadcast(S& s, const classic_broadcast& b) {
  s.begin_array(3);
  s.str(b.uid);
  write_packet(s, b.pkt);
  write_opts(s, b.opts);
  s.end_array();
  return s.take();
}
}  // namespace detail

/// `[uid, packet, opts]`, byte for byte as notepack.io (or JSON.stringify) writes it.
inline std::string encode(const classic_broadcast& b, classic_parser with = classic_parser::msgpack) {
  if (with == classic_parser::json) {
    detail::json_sink s;
    return detail::write_broadcast(s, b);
  }
  detail::msgpack_sink s;
  return detail::write_broadcast(s, b);
}

/// A message received on `prefix#nsp#[room#]`. Also accepts the JSON form of the classic
/// adapter's `parser: JSON` option (Buffers then are plain `{"type":"Buffer",...}` objects).
inline codec_errc decode(std::string_view bytes, classic_broadcast& out, const limits& lim = {}) {
  out = classic_broadcast{};
  detail::tree t;
  if (codec_errc e = detail::parse(bytes, t, lim); e != codec_errc::ok) return e;
  const json::value& d = t.doc;
  if (!d.IsArray() || d.Size() != 3 || !detail::read_string(&d[0], out.uid) ||
      !detail::read_packet(&d[1], t, out.pkt) || !detail::read_opts(&d[2], out.opts))
    return codec_errc::wrong_shape;
  return codec_errc::ok;
}

// ------------------------------------------------------------------------------------------
// Classic requests and responses

namespace detail {
template <class S>
void write_request(S& s, const classic_request& r) {
  s.begin_map(1 + !!r.uid + !!r.request_id + !!r.pkt + !!r.opts + !!r.rooms + !!r.close + !!r.data);
  if (r.uid) s.key("uid"), s.str(*r.uid);
  if (r.request_id) s.key("requestId"), s.str(*r.request_id);
  s.key("type"), s.u64(static_cast<std::uint64_t>(r.type));
  if (r.pkt) s.key("packet"), write_packet(s, *r.pkt);
  if (r.opts) s.key("opts"), write_opts(s, *r.opts);
  if (r.rooms) s.key("rooms"), write_strings(s, *r.rooms);
  if (r.close) s.key("close"), s.boolean(*r.close);
  if (r.data) s.key("data"), s.value(*r.data);
  s.end_map();
}

template <class S>
void write_response(S& s, const classic_response& r) {
  s.begin_map(1 + !!r.type + !!r.rooms + (r.sids || r.sockets) + !!r.data + !!r.client_count + !!r.ack);
  if (r.type) s.key("type"), s.u64(static_cast<std::uint64_t>(*r.type));
  s.key("requestId"), s.str(r.request_id);
  if (r.rooms) s.key("rooms"), write_strings(s, *r.rooms);
  if (r.sids) s.key("sockets"), write_strings(s, *r.sids);
  else if (r.sockets) s.key("sockets"), write_sockets(s, *r.sockets);
  if (r.data) s.key("data"), s.value(*r.data);
  if (r.client_count) s.key("clientCount"), s.u64(*r.client_count);
  if (r.ack) s.key("packet"), s.value(*r.ack);
  s.end_map();
}
}  // namespace detail

/// JSON, except BROADCAST (7), which Node writes with its parser (msgpack by default).
inline std::string encode(const classic_request& r, classic_parser with = classic_parser::msgpack) {
  if (r.type == request_type::broadcast && with == classic_parser::msgpack) {
    detail::msgpack_sink s;
    detail::write_request(s, r);
    return s.take();
  }
  detail::json_sink s;
  detail::write_request(s, r);
  return s.take();
}

/// A message received on `prefix-request#nsp#`. The fields each type needs must be present
/// (legacy `{requestId, sid, room}` joins of adapter < 7 are refused as wrong_shape).
inline codec_errc decode(std::string_view bytes, classic_request& out, const limits& lim = {}) {
  out = classic_request{};
  detail::tree t;
  if (codec_errc e = detail::parse(bytes, t, lim); e != codec_errc::ok) return e;
  const json::value& d = t.doc;
  int type;
  if (!d.IsObject() || !detail::read_int(detail::member(d, "type"), type)) return codec_errc::wrong_shape;
  if (type < 0 || type > 7) return codec_errc::unknown_type;
  out.type = static_cast<request_type>(type);
  if (!detail::read_optional_string(d, "uid", out.uid) ||
      !detail::read_optional_string(d, "requestId", out.request_id))
    return codec_errc::wrong_shape;
  if (auto* p = detail::member(d, "packet")) {
    packet pk;
    if (!detail::read_packet(p, t, pk)) return codec_errc::wrong_shape;
    out.pkt = std::move(pk);
  }
  if (auto* o = detail::member(d, "opts")) {
    broadcast_opts opts;
    if (!detail::read_opts(o, opts)) return codec_errc::wrong_shape;
    out.opts = std::move(opts);
  }
  if (auto* r = detail::member(d, "rooms")) {
    std::vector<std::string> rooms;
    if (!detail::read_strings(r, rooms)) return codec_errc::wrong_shape;
    out.rooms = std::move(rooms);
  }
  if (auto* c = detail::member(d, "close")) {
    if (!c->IsBool()) return codec_errc::wrong_shape;
    out.close = c->GetBool();
  }
  if (auto* x = detail::member(d, "data")) {
    if (!x->IsArray() || x->Empty() || !(*x)[0].IsString()) return codec_errc::wrong_shape;
    out.data = detail::read_payload(*x, t);
  }
  bool ok = true;
  switch (out.type) {
    case request_type::sockets:
    case request_type::all_rooms: ok = out.request_id.has_value(); break;
    case request_type::remote_join:
    case request_type::remote_leave: ok = out.opts && out.rooms; break;
    case request_type::remote_disconnect: ok = out.opts.has_value(); break;
    case request_type::remote_fetch: ok = out.opts && out.request_id; break;
    case request_type::server_side_emit: ok = out.data.has_value(); break;
    case request_type::broadcast: ok = out.request_id && out.pkt && out.opts; break;
    default: break;
  }
  return ok ? codec_errc::ok : codec_errc::wrong_shape;
}

/// JSON, except BROADCAST_ACK (9), which Node writes with its parser (msgpack by default).
inline std::string encode(const classic_response& r, classic_parser with = classic_parser::msgpack) {
  if (r.type == request_type::broadcast_ack && with == classic_parser::msgpack) {
    detail::msgpack_sink s;
    detail::write_response(s, r);
    return s.take();
  }
  detail::json_sink s;
  detail::write_response(s, r);
  return s.take();
}

/// A message received on `prefix-response#nsp#[uid#]`.
inline codec_errc decode(std::string_view bytes, classic_response& out, const limits& lim = {}) {
  out = classic_response{};
  detail::tree t;
  if (codec_errc e = detail::parse(bytes, t, lim); e != codec_errc::ok) return e;
  const json::value& d = t.doc;
  if (!d.IsObject() || !detail::read_string(detail::member(d, "requestId"), out.request_id))
    return codec_errc::wrong_shape;
  if (auto* ty = detail::member(d, "type")) {
    int type;
    if (!detail::read_int(ty, type)) return codec_errc::wrong_shape;
    if (type < 0 || type > 9) return codec_errc::unknown_type;
    out.type = static_cast<request_type>(type);
  }
  if (auto* r = detail::member(d, "rooms")) {
    std::vector<std::string> rooms;
    if (!detail::read_strings(r, rooms)) return codec_errc::wrong_shape;
    out.rooms = std::move(rooms);
  }
  if (auto* s = detail::member(d, "sockets")) {
    if (!s->IsArray()) return codec_errc::wrong_shape;
    if (!s->Empty() && (*s)[0].IsString()) {
      std::vector<std::string> sids;
      if (!detail::read_strings(s, sids)) return codec_errc::wrong_shape;
      out.sids = std::move(sids);
    } else {
      std::vector<fetched_socket> v;
      if (!detail::read_sockets(s, t, v)) return codec_errc::wrong_shape;
      out.sockets = std::move(v);
    }
  }
  if (auto* x = detail::member(d, "data")) out.data = detail::read_payload(*x, t);
  if (auto* c = detail::member(d, "clientCount")) {
    std::uint64_t n;
    if (!detail::read_u64(c, n)) return codec_errc::wrong_shape;
    out.client_count = n;
  }
  if (auto* p = detail::member(d, "packet")) out.ack = detail::read_payload(*p, t);
  if (out.type == request_type::broadcast_client_count && !out.client_count) return codec_errc::wrong_shape;
  if (out.type == request_type::broadcast_ack && !out.ack) return codec_errc::wrong_shape;
  return codec_errc::ok;
}

// ------------------------------------------------------------------------------------------
// Sharded adapter

namespace detail {
inline bool has_data(cluster_type t) {
  return t != cluster_type::initial_heartbeat && t != cluster_type::heartbeat && t != cluster_type::adapter_close;
}

template <class S>
void write_cluster(S& s, const cluster_message& m) {
  s.begin_map(has_data(m.type) ? 4 : 3);
  s.key("type"), s.u64(static_cast<std::uint64_t>(m.type));
  if (has_data(m.type)) {
    s.key("data");
    s.begin_map(!!m.pkt + !!m.request_id + !!m.opts + !!m.rooms + !!m.close + !!m.sockets + !!m.value +
                !!m.client_count);
    if (m.pkt) s.key("packet"), write_packet(s, *m.pkt);
    // FETCH_SOCKETS is the one type whose requestId Node writes after opts.
    if (m.request_id && m.type != cluster_type::fetch_sockets) s.key("requestId"), s.str(*m.request_id);
    if (m.opts) s.key("opts"), write_opts(s, *m.opts);
    if (m.request_id && m.type == cluster_type::fetch_sockets) s.key("requestId"), s.str(*m.request_id);
    if (m.rooms) s.key("rooms"), write_strings(s, *m.rooms);
    if (m.close) s.key("close"), s.boolean(*m.close);
    if (m.sockets) s.key("sockets"), write_sockets(s, *m.sockets);
    if (m.value) s.key("packet"), s.value(*m.value);
    if (m.client_count) s.key("clientCount"), s.u64(*m.client_count);
    s.end_map();
  }
  s.key("uid"), s.str(m.uid);
  s.key("nsp"), s.str(m.nsp);
  s.end_map();
}

inline bool has_binary(const cluster_message& m) {
  return (m.pkt && !m.pkt->data.attachments.empty()) || (m.value && !m.value->attachments.empty()) ||
         (m.sockets && has_binary(*m.sockets));
}
}  // namespace detail

/// JSON, or msgpack when a BROADCAST, FETCH_SOCKETS_RESPONSE, SERVER_SIDE_EMIT(_RESPONSE) or
/// BROADCAST_ACK carries binary (the sharded adapter's rule).
inline std::string encode(const cluster_message& m) {
  const auto t = m.type;
  const bool binary_capable = t == cluster_type::broadcast || t == cluster_type::broadcast_ack ||
                              t == cluster_type::fetch_sockets_response || t == cluster_type::server_side_emit ||
                              t == cluster_type::server_side_emit_response;
  if (binary_capable && detail::has_binary(m)) {
    detail::msgpack_sink s;
    detail::write_cluster(s, m);
    return s.take();
  }
  detail::json_sink s;
  detail::write_cluster(s, m);
  return s.take();
}

/// A message received by SSUBSCRIBE on the main, a room or the own response channel.
inline codec_errc decode(std::string_view bytes, cluster_message& out, const limits& lim = {}) {
  out = cluster_message{};
  detail::tree t;
  if (codec_errc e = detail::parse(bytes, t, lim); e != codec_errc::ok) return e;
  const json::value& d = t.doc;
  int type;
  if (!d.IsObject() || !detail::read_int(detail::member(d, "type"), type) ||
      !detail::read_string(detail::member(d, "uid"), out.uid) ||
      !detail::read_string(detail::member(d, "nsp"), out.nsp))
    return codec_errc::wrong_shape;
  if (type < 1 || type > 13) return codec_errc::unknown_type;
  out.type = static_cast<cluster_type>(type);
  if (!detail::has_data(out.type)) return codec_errc::ok;
  const json::value* data = detail::member(d, "data");
  if (!data || !data->IsObject() || !detail::read_optional_string(*data, "requestId", out.request_id))
    return codec_errc::wrong_shape;
  const json::value* pk = detail::member(*data, "packet");
  if (out.type == cluster_type::broadcast) {
    packet p;
    if (!detail::read_packet(pk, t, p)) return codec_errc::wrong_shape;
    out.pkt = std::move(p);
  } else if (pk) {
    if (out.type == cluster_type::server_side_emit && (!pk->IsArray() || pk->Empty() || !(*pk)[0].IsString()))
      return codec_errc::wrong_shape;
    out.value = detail::read_payload(*pk, t);
  }
  if (auto* o = detail::member(*data, "opts")) {
    broadcast_opts opts;
    if (!detail::read_opts(o, opts)) return codec_errc::wrong_shape;
    out.opts = std::move(opts);
  }
  if (auto* r = detail::member(*data, "rooms")) {
    std::vector<std::string> rooms;
    if (!detail::read_strings(r, rooms)) return codec_errc::wrong_shape;
    out.rooms = std::move(rooms);
  }
  if (auto* c = detail::member(*data, "close")) {
    if (!c->IsBool()) return codec_errc::wrong_shape;
    out.close = c->GetBool();
  }
  if (auto* s = detail::member(*data, "sockets")) {
    std::vector<fetched_socket> v;
    if (!detail::read_sockets(s, t, v)) return codec_errc::wrong_shape;
    out.sockets = std::move(v);
  }
  if (auto* c = detail::member(*data, "clientCount")) {
    std::uint64_t n;
    if (!detail::read_u64(c, n)) return codec_errc::wrong_shape;
    out.client_count = n;
  }
  bool ok = true;
  switch (out.type) {
    case cluster_type::broadcast: ok = out.opts.has_value(); break;
    case cluster_type::sockets_join:
    case cluster_type::sockets_leave: ok = out.opts && out.rooms; break;
    case cluster_type::disconnect_sockets: ok = out.opts.has_value(); break;
    case cluster_type::fetch_sockets: ok = out.opts && out.request_id; break;
    case cluster_type::fetch_sockets_response: ok = out.request_id && out.sockets; break;
    case cluster_type::server_side_emit: ok = out.value.has_value(); break;
    case cluster_type::server_side_emit_response:
    case cluster_type::broadcast_ack: ok = out.request_id && out.value; break;
    case cluster_type::broadcast_client_count: ok = out.request_id && out.client_count; break;
    default: break;
  }
  return ok ? codec_errc::ok : codec_errc::wrong_shape;
}

// ------------------------------------------------------------------------------------------
// Socket.IO packets <-> broadcast packets

/// portico's encoded EVENT (the frame text the adapter gets, `2[...]` / `51-/chat,[...]`, and its
/// binary messages) -> the packet object Node publishes: type 2 even with binary (receivers
/// re-encode), `nsp` set, no id (every receiver allocates its own ack id). The JSON text is
/// taken as it is, not parsed.
inline packet packet_from_socketio(std::string_view text, const std::vector<std::string>& binaries) {
  packet p;
  std::size_t i = 0, n = text.size();
  int t = n ? text[0] - '0' : 2;
  ++i;
  if (t == 5 || t == 6) {
    while (i < n && socketio::detail::is_digit(text[i])) ++i;
    if (i < n && text[i] == '-') ++i;
  }
  std::string_view nsp = "/";
  if (i < n && text[i] == '/') {
    std::size_t start = i;
    while (i < n && text[i] != ',') ++i;
    nsp = text.substr(start, i - start);
    if (i < n) ++i;
  }
  while (i < n && socketio::detail::is_digit(text[i])) ++i;
  p.type = t == 5 ? 2 : t == 6 ? 3 : t;
  p.nsp = std::string(nsp);
  p.data.json.assign(text.data() + (i < n ? i : n), n - (i < n ? i : n));
  p.data.attachments = binaries;
  return p;
}

namespace detail {
inline void write_socketio_header(std::string& out, const packet& p, std::string_view nsp, std::uint64_t id) {
  const bool ack = p.type == 3 || p.type == 6;
  const std::size_t n = p.data.attachments.size();
  socketio::packet_type t = ack ? (n ? socketio::packet_type::binary_ack : socketio::packet_type::ack)
                                : (n ? socketio::packet_type::binary_event : socketio::packet_type::event);
  out.reserve(24 + nsp.size() + p.data.json.size());
  socketio::write_header(out, t, nsp, id, n);
  if (p.data.json.empty()) out += "null";
  else out += p.data.json;
}
}  // namespace detail

/// A received broadcast packet -> the Socket.IO text + binary messages for local clients (wrap in
/// one engineio::frame, encode-once). Placeholders are already numbered depth first as
/// socket.io-parser numbers them. `nsp` is the namespace delivering it, `id` the local ack id.
inline socketio::encoded to_socketio(const packet& p, std::string_view nsp, std::uint64_t id = socketio::no_ack) {
  socketio::encoded e;
  detail::write_socketio_header(e.text, p, nsp, id);
  e.binaries = p.data.attachments;
  return e;
}

/// The same, moving the attachments out of `p` instead of copying them.
inline socketio::encoded to_socketio(packet&& p, std::string_view nsp, std::uint64_t id = socketio::no_ack) {
  socketio::encoded e;
  detail::write_socketio_header(e.text, p, nsp, id);
  e.binaries = std::move(p.data.attachments);
  return e;
}

}  // namespace portico::redis
