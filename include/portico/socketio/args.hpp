#pragma once
/// Event arguments in both directions.
///
/// Outgoing: every argument is written once, straight into the packet string, by
/// `portico::json::encode` (the one encoding path: basic types, containers, PORTICO_FIELDS types,
/// `json::adapter` specialisations). Received arguments (`arg`, `args`) can be emitted again as
/// they are, blobs included.
///
/// Incoming: `args` is a view over a received packet's DOM; it lives as long as the handler call.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../json/encode.hpp"
#include "../json/value.hpp"
#include "binary.hpp"
#include "codec.hpp"

namespace portico::socketio {

/// One received argument with the attachments its placeholders point to.
///
/// A default-constructed `arg` (like `args::at` past the end) is JSON null, never a dangling
/// pointer: `value()` is a null value, `is_null()` true, `is_string()` false, `str()` empty,
/// `binary()` nullptr, and emitting it writes `null`. So an optional argument is forwarded with
/// one code path: `socketio::arg a; if (cond) a = e.args().at(1); s.emit("x", a);`.
struct arg {
  const json::value* v = &null_value();  ///< never read directly: a nullptr set here reads as null too
  json::decode_context ctx{};
  const json::value& value() const noexcept { return v ? *v : null_value(); }
  /// Whether the argument is JSON null (also a default-constructed or missing one).
  bool is_null() const noexcept { return value().IsNull(); }
  /// The blob when this argument is a (resolvable) placeholder.
  const json::binary* binary() const noexcept { return resolve(value(), ctx); }
  bool is_string() const noexcept { return value().IsString(); }
  std::string_view str() const noexcept {
    const json::value& x = value();
    return x.IsString() ? std::string_view(x.GetString(), x.GetStringLength()) : std::string_view{};
  }
  static const json::value& null_value() noexcept {
    static const json::value null;
    return null;
  }
};

/// The arguments of a received event (after its name) or ack.
class args {
 public:
  args() = default;
  explicit args(const packet& p) noexcept : p_(&p) {}
  std::size_t size() const noexcept { return p_ ? p_->arg_count() : 0; }
  bool empty() const noexcept { return size() == 0; }
  /// Bounds-checked: a missing argument reads as JSON null.
  const json::value& operator[](std::size_t i) const noexcept {
    static const json::value null_value;
    return i < size() ? p_->arg(i) : null_value;
  }
  socketio::arg at(std::size_t i) const noexcept { return socketio::arg{&(*this)[i], context()}; }
  json::decode_context context() const noexcept {
    return p_ ? p_->context() : json::decode_context{};
  }
  const std::vector<json::binary>& attachments() const noexcept {
    static const std::vector<json::binary> none;
    return p_ ? p_->attachments : none;
  }
  const packet* raw() const noexcept { return p_; }

 private:
  const packet* p_ = nullptr;
};

/// Writes received arguments as one JSON array argument (instead of spreading them).
struct as_array {
  const args& a;
};

}  // namespace portico::socketio

namespace portico::json {

/// A received argument written again: its placeholders renumbered into the outgoing packet and
/// its blobs attached. As a handler parameter it is the raw argument with its attachments.
template <>
struct adapter<socketio::arg> {
  static void encode(writer& w, const socketio::arg& a, encode_context& ctx) {
    socketio::write_value(w, a.value(), a.ctx, ctx);
  }
  static bool decode(const value& v, socketio::arg& out, decode_context& ctx, error_list&) {
    out = socketio::arg{&v, ctx};
    return true;
  }
};

/// Received arguments written as one JSON array.
template <>
struct adapter<socketio::as_array> {
  static void encode(writer& w, const socketio::as_array& x, encode_context& ctx) {
    w.StartArray();
    for (std::size_t i = 0; i < x.a.size(); ++i) adapter<socketio::arg>::encode(w, x.a.at(i), ctx);
    w.EndArray(static_cast<rapidjson::SizeType>(x.a.size()));
  }
};

}  // namespace portico::json

namespace portico::socketio {

namespace detail {

/// Writes one emit argument: the JSON layer's one encoding path (`json::encode`), which also
/// knows `arg` and `as_array` (adapters above) and any PORTICO_FIELDS type or `json::adapter`.
template <class T>
void write_arg(json::writer& w, json::encode_context& c, const T& v) {
  json::encode(w, v, c);
}

/// Roughly the JSON text size of `v`, to allocate an outgoing packet once (strings counted
/// without escapes, 20 bytes per number).
inline std::size_t value_json_size(const json::value& v) noexcept {
  std::size_t n = 2;  // brackets, braces or quotes
  if (v.IsString()) return n + v.GetStringLength();
  if (v.IsArray()) {
    for (const auto& e : v.GetArray()) n += value_json_size(e) + 1;
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) n += m.name.GetStringLength() + 4 + value_json_size(m.value);
  } else {
    n = 20;  // number, true, false, null
  }
  return n;
}

template <class T>
std::size_t estimated_arg_size(const T& v) noexcept {
  if constexpr (std::is_same_v<T, arg>) {
    return value_json_size(v.value());
  } else if constexpr (std::is_same_v<T, args>) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < v.size(); ++i) n += value_json_size(v[i]) + 1;
    return n;
  } else if constexpr (std::is_base_of_v<json::value, T>) {
    return value_json_size(v);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string_view(v).size() + 3;
  } else {
    return 32;  // numbers, and a guess for structs (the string grows if it is short)
  }
}

/// The expected JSON size of an argument list `[a, b, ...]`.
template <class... A>
std::size_t args_json_size(const A&... a) noexcept {
  return 2 + (std::size_t{0} + ... + (estimated_arg_size(a) + 1));
}

/// A whole `args` spreads into several arguments (echoing "the same args").
inline void write_args_one(json::writer& w, json::encode_context& c, const args& a) {
  for (std::size_t i = 0; i < a.size(); ++i) write_arg(w, c, a.at(i));
}
template <class T>
void write_args_one(json::writer& w, json::encode_context& c, const T& v) {
  write_arg(w, c, v);
}

template <class... A>
void write_args(json::writer& w, json::encode_context& c, const A&... a) {
  (write_args_one(w, c, a), ...);
}

}  // namespace detail

/// Arguments encoded ahead of time, e.g. an ack reply with several values:
/// `return socketio::payload(a, b);`. Encoded once; the ACK packet is its header followed by
/// this text, without re-parsing.
class payload {
 public:
  payload() = default;
  template <class... A>
  explicit payload(const A&... a) {
    json::string_sink sink{&json_};
    json::writer w(sink);
    json::encode_context ctx;
    w.StartArray();
    detail::write_args(w, ctx, a...);
    w.EndArray();
    // The context only references bytes; a payload outlives its arguments, so own them.
    for (auto b : ctx.attachments) attachments_.emplace_back(b);
  }
  /// `[...]` with placeholders numbered from 0.
  const std::string& json() const noexcept { return json_; }
  const std::vector<std::string>& attachments() const noexcept { return attachments_; }

 private:
  std::string json_;
  std::vector<std::string> attachments_;
};


}  // namespace portico::socketio
