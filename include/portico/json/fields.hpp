#pragma once
/// Declaring the JSON shape of a type: `PORTICO_FIELDS` for plain structs, `adapter<T>` for the rest.

#include <string_view>
#include <tuple>
#include <type_traits>

#include "errors.hpp"
#include "value.hpp"

namespace portico::json {

/// The customization point for types that are not plain structs (strong ids, enums as strings,
/// third-party types). Specialise it in namespace portico::json with exactly these two members:
///
///     template <> struct portico::json::adapter<my::color> {
///       static bool decode(const value& v, my::color& out, decode_context& ctx, error_list& errs);
///       static void encode(writer& w, const my::color& c, encode_context& ctx);
///     };
///
/// `decode` reports failures with `errs.add(msg, type)` (the location is already set) and returns
/// false; it may call `json::decode` for nested values. `encode` writes exactly one JSON value.
/// An adapter wins over every built-in mapping, so it can also override how e.g. an enum maps.
template <class T, class Enable = void>
struct adapter {
  static constexpr bool portico_unspecialised = true;
};

namespace detail {

template <class T, class = void>
struct has_adapter : std::true_type {};
template <class T>
struct has_adapter<T, std::void_t<decltype(adapter<T>::portico_unspecialised)>> : std::false_type {};

/// One declared field: its JSON name and the member it maps to.
template <class C, class M>
struct field {
  std::string_view name;
  M C::*member;
};
template <class C, class M>
constexpr field<C, M> make_field(std::string_view name, M C::*member) noexcept {
  return {name, member};
}

/// Found by ADL only; this declaration just gives unqualified lookup something to not match.
void portico_fields(...) = delete;

template <class T, class = void>
struct has_fields : std::false_type {};
template <class T>
struct has_fields<T, std::void_t<decltype(portico_fields(static_cast<const T*>(nullptr)))>>
    : std::true_type {};

template <class T>
constexpr auto fields_of() noexcept {
  return portico_fields(static_cast<const T*>(nullptr));
}

}  // namespace detail
}  // namespace portico::json

/// Declares the JSON fields of a struct, once, right after it, at namespace scope in the
/// struct's own namespace (found by ADL). Up to 32 fields. Each field is either a member name,
/// mapped to a key of the same name, or `(member, "jsonName")` to map it to another key:
///
///     struct user { std::string name; int user_id; std::optional<std::string> email; };
///     PORTICO_FIELDS(user, name, (user_id, "userId"), email)
///
/// Decoding: every field must be present unless its type is std::optional (missing or null ->
/// nullopt); keys not declared are ignored. Encoding writes fields in declaration order and
/// omits optional fields that are empty.
#define PORTICO_FIELDS(Type, ...)                                                       \
  [[maybe_unused]] inline constexpr auto portico_fields(const Type*) noexcept {         \
    return ::std::make_tuple(PORTICO_JSON_DETAIL_FOR_EACH(PORTICO_JSON_DETAIL_FIELD, Type, \
                                                          __VA_ARGS__));                \
  }

// --- preprocessor machinery (not part of the API) ---
#define PORTICO_JSON_DETAIL_CAT(a, b) PORTICO_JSON_DETAIL_CAT_(a, b)
#define PORTICO_JSON_DETAIL_CAT_(a, b) a##b
#define PORTICO_JSON_DETAIL_SECOND(a, b, ...) b
#define PORTICO_JSON_DETAIL_IS_PAREN(x) PORTICO_JSON_DETAIL_IS_PAREN_(PORTICO_JSON_DETAIL_PROBE x)
#define PORTICO_JSON_DETAIL_IS_PAREN_(...) PORTICO_JSON_DETAIL_SECOND(__VA_ARGS__, 0, ~)
#define PORTICO_JSON_DETAIL_PROBE(...) ~, 1
#define PORTICO_JSON_DETAIL_UNPAREN(...) __VA_ARGS__

#define PORTICO_JSON_DETAIL_FIELD(Type, x) \
  PORTICO_JSON_DETAIL_CAT(PORTICO_JSON_DETAIL_FIELD_, PORTICO_JSON_DETAIL_IS_PAREN(x))(Type, x)
#define PORTICO_JSON_DETAIL_FIELD_0(Type, m) ::portico::json::detail::make_field(#m, &Type::m)
#define PORTICO_JSON_DETAIL_FIELD_1(Type, p) \
  PORTICO_JSON_DETAIL_FIELD_1_(Type, PORTICO_JSON_DETAIL_UNPAREN p)
#define PORTICO_JSON_DETAIL_FIELD_1_(Type, ...) PORTICO_JSON_DETAIL_FIELD_2(Type, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_FIELD_2(Type, m, n) ::portico::json::detail::make_field(n, &Type::m)

#define PORTICO_JSON_DETAIL_FOR_EACH(M, T, ...)                                   \
  PORTICO_JSON_DETAIL_CAT(PORTICO_JSON_DETAIL_EACH_, PORTICO_JSON_DETAIL_NARGS(__VA_ARGS__)) \
  (M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_NARGS(...) PORTICO_JSON_DETAIL_NARGS_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define PORTICO_JSON_DETAIL_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define PORTICO_JSON_DETAIL_EACH_1(M, T, x) M(T, x)
#define PORTICO_JSON_DETAIL_EACH_2(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_1(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_3(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_2(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_4(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_3(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_5(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_4(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_6(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_5(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_7(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_6(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_8(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_7(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_9(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_8(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_10(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_9(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_11(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_10(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_12(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_11(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_13(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_12(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_14(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_13(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_15(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_14(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_16(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_15(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_17(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_16(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_18(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_17(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_19(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_18(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_20(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_19(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_21(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_20(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_22(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_21(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_23(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_22(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_24(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_23(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_25(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_24(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_26(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_25(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_27(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_26(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_28(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_27(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_29(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_28(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_30(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_29(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_31(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_30(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_32(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_31(M, T, __VA_ARGS__)
