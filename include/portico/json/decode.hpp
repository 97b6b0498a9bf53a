#pragma once
/// Typed decoding: DOM value -> C++ value, collecting path-tracked errors instead of throwing.
///
/// Supported: bool; every integer type (range-checked; integral doubles such as 3.0 accepted);
/// enums (as their underlying integer; use an adapter for names); float, double, long double;
/// std::string; std::optional<T> (missing or null -> nullopt); std::vector<T>; std::array<T, N>
/// and std::tuple<...> (JSON arrays of exactly that length); maps with std::string keys
/// (std::map, std::unordered_map, ...); PORTICO_FIELDS structs; json::binary (from a placeholder
/// resolved through decode_context::attachments); json::raw (owned deep copy of anything);
/// `const json::value*` (borrowed view of anything); any type with a json::adapter.
/// Keys not declared are ignored; when a key occurs twice in an object, the first one is used.
/// On failure the output is left valid but partly assigned; use it only when decode returned true.

#include <array>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "dom.hpp"
#include "errors.hpp"
#include "fields.hpp"
#include "raw.hpp"
#include "value.hpp"

namespace portico::json {

template <class T>
bool decode(const value& v, T& out, decode_context& ctx, error_list& errs);

namespace detail {

template <class T>
struct always_false : std::false_type {};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

/// Any associative container keyed by std::string (std::map, std::unordered_map, ...), detected
/// by shape so this header need not include <map>/<unordered_map>.
template <class T, class = void>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<T, std::void_t<typename T::key_type, typename T::mapped_type>>
    : std::is_same<typename T::key_type, std::string> {};

inline std::string_view key_view(const value& k) {
  return std::string_view(k.GetString(), k.GetStringLength());
}

inline value::ConstMemberIterator find_member(const value& obj, std::string_view name) {
  value key(rapidjson::StringRef(name.data(), name.size()));
  return obj.FindMember(key);
}

inline bool fail(error_list& errs, std::string msg, const char* type) {
  errs.add(std::move(msg), type);
  return false;
}

template <class I>
bool decode_integer(const value& v, I& out, error_list& errs) {
  using lim = std::numeric_limits<I>;
  if (v.IsInt64()) {  // every integer in [-2^63, 2^63)
    const std::int64_t x = v.GetInt64();
    bool fits;
    if constexpr (std::is_signed_v<I>)
      fits = x >= static_cast<std::int64_t>(lim::min()) && x <= static_cast<std::int64_t>(lim::max());
    else
      fits = x >= 0 && static_cast<std::uint64_t>(x) <= static_cast<std::uint64_t>(lim::max());
    if (fits) {
      out = static_cast<I>(x);
      return true;
    }
  } else if (v.IsUint64()) {  // [2^63, 2^64)
    const std::uint64_t x = v.GetUint64();
    if (x <= static_cast<std::uint64_t>(lim::max())) {
      out = static_cast<I>(x);
      return true;
    }
  } else if (v.IsNumber()) {
    const double d = v.GetDouble();
    if (!(std::trunc(d) == d))  // also rejects NaN and infinities of hand-built DOMs
      return fail(errs, "value is not a valid integer (it has a fractional part)", "int_from_float");
    // [min, 2^digits) is exactly representable as doubles, so the cast below cannot overflow.
    const double lo = static_cast<double>(lim::min());
    const double hi = std::ldexp(1.0, lim::digits);
    if (d >= lo && d < hi) {
      if (d < 0)
        out = static_cast<I>(static_cast<std::int64_t>(d));
      else
        out = static_cast<I>(static_cast<std::uint64_t>(d));
      return true;
    }
  } else {
    return fail(errs, "value is not a valid integer", "int_type");
  }
  std::string msg = "integer out of range [";
  if constexpr (std::is_signed_v<I>)
    msg += std::to_string(static_cast<long long>(lim::min()));
  else
    msg += "0";
  msg += ", ";
  msg += std::to_string(static_cast<unsigned long long>(lim::max()));
  msg += "]";
  return fail(errs, std::move(msg), "int_range");
}

template <class F>
bool decode_floating(const value& v, F& out, error_list& errs) {
  if (!v.IsNumber()) return fail(errs, "value is not a valid number", "float_type");
  const double d = v.GetDouble();
  if constexpr (std::is_same_v<F, float>) {
    // Converting an out-of-range double to float is undefined behaviour.
    if (std::isfinite(d) && std::fabs(d) > static_cast<double>(FLT_MAX))
      return fail(errs, "number out of range for a 32-bit float", "float_range");
  }
  out = static_cast<F>(d);
  return true;
}

template <class T>
bool decode_object(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!v.IsObject()) return fail(errs, "value is not a valid object", "model_type");
  bool ok = true;
  std::apply(
      [&](const auto&... f) {
        // Every field is visited (no short-circuit) so one response lists all problems.
        ((ok &= [&](const auto& fd) {
           auto& member = out.*(fd.member);
           using M = std::remove_reference_t<decltype(member)>;
           auto it = find_member(v, fd.name);
           if (it == v.MemberEnd()) {
             if constexpr (is_optional<M>::value) {
               member.reset();
               return true;
             } else {
               error_list::scope at(errs, fd.name);
               return fail(errs, "field required", "missing");
             }
           }
           error_list::scope at(errs, fd.name);
           return json::decode(it->value, member, ctx, errs);
         }(f)),
         ...);
      },
      fields_of<T>());
  return ok;
}

template <class T>
bool decode_list(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!v.IsArray()) return fail(errs, "value is not a valid list", "list_type");
  using E = typename T::value_type;
  out.clear();
  const std::size_t n = v.Size();
  out.reserve(n < 1024 ? n : 1024);  // the DOM size is attacker-chosen; grow past this as items decode
  bool ok = true;
  for (std::size_t i = 0; i < n && !errs.full(); ++i) {
    error_list::scope at(errs, i);
    if constexpr (std::is_same_v<E, bool>) {  // vector<bool> has no addressable elements
      bool b = false;
      ok &= json::decode(v[static_cast<rapidjson::SizeType>(i)], b, ctx, errs);
      out.push_back(b);
    } else {
      out.emplace_back();
      ok &= json::decode(v[static_cast<rapidjson::SizeType>(i)], out.back(), ctx, errs);
    }
  }
  return ok && out.size() == n;
}

inline bool check_length(const value& v, std::size_t n, error_list& errs, const char* type) {
  if (!v.IsArray())
    return fail(errs, std::string("value is not a valid ") + (type[0] == 'l' ? "list" : "tuple"),
                type);
  if (v.Size() == n) return true;
  std::string msg = "expected " + std::to_string(n) + " items, got " + std::to_string(v.Size());
  return fail(errs, std::move(msg), v.Size() < n ? "too_short" : "too_long");
}

template <class T>
bool decode_array(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!check_length(v, out.size(), errs, "list_type")) return false;
  bool ok = true;
  for (std::size_t i = 0; i < out.size() && !errs.full(); ++i) {
    error_list::scope at(errs, i);
    ok &= json::decode(v[static_cast<rapidjson::SizeType>(i)], out[i], ctx, errs);
  }
  return ok;
}

template <class T, std::size_t... I>
bool decode_tuple(const value& v, T& out, decode_context& ctx, error_list& errs,
                  std::index_sequence<I...>) {
  if (!check_length(v, sizeof...(I), errs, "tuple_type")) return false;
  bool ok = true;
  ((ok &= [&] {
     error_list::scope at(errs, I);
     return json::decode(v[static_cast<rapidjson::SizeType>(I)], std::get<I>(out), ctx, errs);
   }()),
   ...);
  return ok;
}

template <class T>
bool decode_map(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!v.IsObject()) return fail(errs, "value is not a valid object", "dict_type");
  out.clear();
  bool ok = true;
  for (auto it = v.MemberBegin(); it != v.MemberEnd() && !errs.full(); ++it) {
    const std::string_view key = key_view(it->name);
    auto slot = out.try_emplace(std::string(key));
    if (!slot.second) continue;  // duplicate key: the first one wins, as for struct fields
    error_list::scope at(errs, key);
    ok &= json::decode(it->value, slot.first->second, ctx, errs);
  }
  return ok;
}

inline bool decode_binary(const value& v, binary& out, const decode_context& ctx, error_list& errs) {
  if (!is_placeholder(v))
    return fail(errs, "value is not a binary attachment placeholder", "binary_type");
  const unsigned num = find_member(v, "num")->value.GetUint();
  if (!ctx.attachments || num >= ctx.attachments->size())
    return fail(errs, "binary attachment " + std::to_string(num) + " was not received",
                "binary_missing");
  out = (*ctx.attachments)[num];
  return true;
}

template <class T>
constexpr bool decodable();
template <class... T>
constexpr bool all_decodable(std::tuple<T...>*) {
  return (decodable<T>() && ...);
}
/// Mirrors the branches of json::decode below (keep them in step).
template <class T>
constexpr bool decodable() {
  if constexpr (has_adapter<T>::value || has_fields<T>::value) return true;
  else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) return true;
  else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, binary> || std::is_same_v<T, raw> ||
                     std::is_same_v<T, const value*>)
    return true;
  else if constexpr (is_optional<T>::value || is_vector<T>::value || is_std_array<T>::value)
    return decodable<typename T::value_type>();
  else if constexpr (is_tuple<T>::value) return all_decodable(static_cast<T*>(nullptr));
  else if constexpr (is_string_map<T>::value)
    return std::is_same_v<typename T::key_type, std::string> && decodable<typename T::mapped_type>();
  else return false;
}

}  // namespace detail

/// Whether `json::decode` has a mapping for T (so callers can give their own diagnostic
/// instead of decode's static_assert).
template <class T>
inline constexpr bool is_decodable_v = detail::decodable<T>();

/// Decodes `v` into `out`. Returns false (and appends to `errs`, located relative to the
/// location `errs` is at) when `v` does not fit. Never throws on bad input (only std::bad_alloc).
template <class T>
bool decode(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if constexpr (detail::has_adapter<T>::value) {
    return adapter<T>::decode(v, out, ctx, errs);
  } else if constexpr (detail::has_fields<T>::value) {
    return detail::decode_object(v, out, ctx, errs);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.IsBool()) return detail::fail(errs, "value is not a valid boolean", "bool_type");
    out = v.GetBool();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    return detail::decode_integer(v, out, errs);
  } else if constexpr (std::is_enum_v<T>) {
    std::underlying_type_t<T> u{};
    if (!detail::decode_integer(v, u, errs)) return false;
    out = static_cast<T>(u);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    return detail::decode_floating(v, out, errs);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.IsString()) return detail::fail(errs, "value is not a valid string", "string_type");
    out.assign(v.GetString(), v.GetStringLength());
    return true;
  } else if constexpr (std::is_same_v<T, binary>) {
    return detail::decode_binary(v, out, ctx, errs);
  } else if constexpr (std::is_same_v<T, raw>) {
    out = raw(v);
    return true;
  } else if constexpr (std::is_same_v<T, const value*>) {
    out = &v;
    return true;
  } else if constexpr (detail::is_optional<T>::value) {
    if (v.IsNull()) {
      out.reset();
      return true;
    }
    out.emplace();
    return json::decode(v, *out, ctx, errs);
  } else if constexpr (detail::is_vector<T>::value) {
    return detail::decode_list(v, out, ctx, errs);
  } else if constexpr (detail::is_std_array<T>::value) {
    return detail::decode_array(v, out, ctx, errs);
  } else if constexpr (detail::is_tuple<T>::value) {
    return detail::decode_tuple(v, out, ctx, errs, std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (detail::is_string_map<T>::value) {
    return detail::decode_map(v, out, ctx, errs);
  } else {
    static_assert(detail::always_false<T>::value,
                  "portico::json: no JSON mapping for this type; declare PORTICO_FIELDS(Type, ...) "
                  "after it or specialise portico::json::adapter<Type>");
    return false;
  }
}

/// Decodes the elements of `arr` from index `first` on into the elements of the tuple `out`
/// (handler arguments: `["event", a, b]` with first = 1). Errors are located by argument index
/// (0 = arr[first]). Unlike a std::tuple value, the length is lenient the way JavaScript calls
/// are: absent trailing arguments decode as nullopt when optional (else "missing"), and extra
/// arguments are ignored.
template <class Tuple>
bool decode_arguments(const value& arr, std::size_t first, Tuple& out, decode_context& ctx,
                      error_list& errs) {
  if (!arr.IsArray()) return detail::fail(errs, "value is not a valid list", "list_type");
  bool ok = true;
  std::apply(
      [&](auto&... elems) {
        [[maybe_unused]] std::size_t i = 0;  // unused for an empty tuple
        ((ok &= [&](auto& elem) {
           using E = std::remove_reference_t<decltype(elem)>;
           error_list::scope at(errs, i);
           const std::size_t pos = first + i++;
           if (pos >= arr.Size()) {
             if constexpr (detail::is_optional<E>::value) {
               elem.reset();
               return true;
             } else {
               return detail::fail(errs, "field required", "missing");
             }
           }
           return json::decode(arr[static_cast<rapidjson::SizeType>(pos)], elem, ctx, errs);
         }(elems)),
         ...);
      },
      out);
  return ok;
}

/// Decoding without binary attachments (a placeholder then fails with "binary_missing").
template <class T>
bool decode(const value& v, T& out, error_list& errs) {
  decode_context ctx;
  return json::decode(v, out, ctx, errs);
}

/// Parses `text` and decodes it: a parse failure is one "json_invalid" error at the root.
template <class T>
bool from_string(std::string_view text, T& out, error_list& errs) {
  document doc;
  parse_error perr;
  if (!parse(text, doc, &perr)) {
    errs.add("invalid JSON at offset " + std::to_string(perr.offset) + ": " + perr.message,
             "json_invalid");
    return false;
  }
  return json::decode(doc, out, errs);
}

}  // namespace portico::json
