#pragma once
/// Typed encoding: C++ value -> JSON text, written once, straight into the output string by a
/// rapidjson::Writer (no DOM in between). Binary blobs become placeholders and are collected in
/// the encode context, in order, so the caller can send them as attachments.
///
/// Encodable: everything decode.hpp decodes, plus std::string_view and C strings. Details:
/// non-finite floating point writes null (as JSON.stringify does); an empty std::optional writes
/// null, except as a struct field, where the key is omitted; a null `const json::value*` writes
/// null.

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "decode.hpp"
#include "fields.hpp"
#include "raw.hpp"
#include "value.hpp"

namespace portico::json {

/// JSON text that is already encoded, written as is as one value (no parse, no copy). The text
/// must be one valid JSON value: it is not checked.
struct encoded {
  std::string_view text;
};

template <class T>
void encode(writer& w, const T& x, encode_context& ctx);

namespace detail {

inline void write_string(writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

template <class T>
void encode_object(writer& w, const T& x, encode_context& ctx) {
  w.StartObject();
  std::apply(
      [&](const auto&... f) {
        (
            [&](const auto& fd) {
              const auto& member = x.*(fd.member);
              using M = std::remove_cv_t<std::remove_reference_t<decltype(member)>>;
              if constexpr (is_optional<M>::value) {
                if (!member) return;
              }
              w.Key(fd.name.data(), static_cast<rapidjson::SizeType>(fd.name.size()));
              json::encode(w, member, ctx);
            }(f),
            ...);
      },
      fields_of<T>());
  w.EndObject();
}

template <class T, std::size_t... I>
void encode_tuple(writer& w, const T& x, encode_context& ctx, std::index_sequence<I...>) {
  w.StartArray();
  (json::encode(w, std::get<I>(x), ctx), ...);
  w.EndArray();
}

template <class T>
constexpr bool encodable();
template <class... T>
constexpr bool all_encodable(std::tuple<T...>*) {
  return (encodable<T>() && ...);
}
/// Mirrors the branches of json::encode below (keep them in step).
template <class T>
constexpr bool encodable() {
  if constexpr (has_adapter<T>::value || has_fields<T>::value) return true;
  else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::nullptr_t> ||
                     std::is_same_v<T, encoded>)
    return true;
  else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
                     std::is_same_v<T, const char*> || std::is_same_v<T, char*> || std::is_same_v<T, binary> ||
                     std::is_same_v<T, raw> || std::is_same_v<T, value> || std::is_same_v<T, document> ||
                     std::is_same_v<T, const value*>)
    return true;
  else if constexpr (std::is_array_v<T>) return std::is_same_v<std::remove_extent_t<T>, char>;
  else if constexpr (is_optional<T>::value || is_vector<T>::value || is_std_array<T>::value)
    return encodable<typename T::value_type>();
  else if constexpr (is_tuple<T>::value) return all_encodable(static_cast<T*>(nullptr));
  else if constexpr (is_string_map<T>::value) return encodable<typename T::mapped_type>();
  else return false;
}

}  // namespace detail

/// Whether `json::encode` has a mapping for T (so callers can give their own diagnostic
/// instead of encode's static_assert).
template <class T>
inline constexpr bool is_encodable_v = detail::encodable<T>();

/// Writes `x` as exactly one JSON value. Placeholders for `binary` values are numbered from
/// ctx.attachments.size(), so several arguments can share one context.
template <class T>
void encode(writer& w, const T& x, encode_context& ctx) {
  if constexpr (detail::has_adapter<T>::value) {
    adapter<T>::encode(w, x, ctx);
  } else if constexpr (detail::has_fields<T>::value) {
    detail::encode_object(w, x, ctx);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.Bool(x);
  } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
    w.Null();
  } else if constexpr (std::is_same_v<T, encoded>) {
    w.RawValue(x.text.data(), x.text.size(), rapidjson::kObjectType);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    w.Int64(static_cast<std::int64_t>(x));
  } else if constexpr (std::is_integral_v<T>) {
    w.Uint64(static_cast<std::uint64_t>(x));
  } else if constexpr (std::is_enum_v<T>) {
    json::encode(w, static_cast<std::underlying_type_t<T>>(x), ctx);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isfinite(x))
      w.Double(static_cast<double>(x));
    else
      w.Null();
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
    detail::write_string(w, x);
  } else if constexpr (std::is_same_v<T, const char*> || std::is_same_v<T, char*>) {
    if (x)
      detail::write_string(w, x);
    else
      w.Null();
  } else if constexpr (std::is_array_v<T> && std::is_same_v<std::remove_extent_t<T>, char>) {
    std::size_t n = 0;
    while (n < std::extent_v<T> && x[n] != '\0') ++n;
    detail::write_string(w, std::string_view(x, n));
  } else if constexpr (std::is_same_v<T, binary>) {
    write_placeholder(w, ctx, x.view());
  } else if constexpr (std::is_same_v<T, raw>) {
    x.get().Accept(w);
  } else if constexpr (std::is_same_v<T, value> || std::is_same_v<T, document>) {
    x.Accept(w);
  } else if constexpr (std::is_same_v<T, const value*>) {
    if (x)
      x->Accept(w);
    else
      w.Null();
  } else if constexpr (detail::is_optional<T>::value) {
    if (x)
      json::encode(w, *x, ctx);
    else
      w.Null();
  } else if constexpr (detail::is_vector<T>::value || detail::is_std_array<T>::value) {
    w.StartArray();
    for (const auto& e : x) json::encode(w, static_cast<const typename T::value_type&>(e), ctx);
    w.EndArray();
  } else if constexpr (detail::is_tuple<T>::value) {
    detail::encode_tuple(w, x, ctx, std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (detail::is_string_map<T>::value) {
    w.StartObject();
    for (const auto& kv : x) {
      w.Key(kv.first.data(), static_cast<rapidjson::SizeType>(kv.first.size()));
      json::encode(w, kv.second, ctx);
    }
    w.EndObject();
  } else {
    static_assert(detail::always_false<T>::value,
                  "portico::json: no JSON mapping for this type; declare PORTICO_FIELDS(Type, ...) "
                  "after it or specialise portico::json::adapter<Type>");
  }
}

/// Encoding when the caller does not need the attachments (placeholders are still written).
template <class T>
void encode(writer& w, const T& x) {
  encode_context ctx;
  json::encode(w, x, ctx);
}

/// Appends the JSON text of `x` to `out` (e.g. after a packet header already in `out`).
template <class T>
void encode_to(std::string& out, const T& x, encode_context& ctx) {
  string_sink sink{&out};
  writer w(sink);
  json::encode(w, x, ctx);
  sink.Flush();
}

/// The JSON text of `x`; `binary` values are collected in `ctx`.
template <class T>
std::string to_string(const T& x, encode_context& ctx) {
  std::string out;
  encode_to(out, x, ctx);
  return out;
}

/// The JSON text of `x` (placeholders written for `binary` values, their bytes not kept).
template <class T>
std::string to_string(const T& x) {
  encode_context ctx;
  return to_string(x, ctx);
}

}  // namespace portico::json
