#pragma once
/// Type lists and the few operations the DI container needs. Everything is a fold or a single
/// pack expansion so that instantiation depth does not grow with the number of providers.

#include <cstddef>
#include <initializer_list>
#include <tuple>
#include <type_traits>

namespace portico::framework::detail {

template <class... T>
struct type_list {
  static constexpr std::size_t size = sizeof...(T);
};

/// Index of the first true flag, or the number of flags when none is set. Callers append a
/// `false` sentinel (an empty braced list has no type), so "not found" is any index >= their count.
constexpr std::size_t first_true(std::initializer_list<bool> flags) {
  std::size_t i = 0;
  for (bool f : flags) {
    if (f) return i;
    ++i;
  }
  return i;
}

constexpr std::size_t count_true(std::initializer_list<bool> flags) {
  std::size_t n = 0;
  for (bool f : flags) n += f ? 1 : 0;
  return n;
}

/// Index of T in Ts, or sizeof...(Ts) when absent.
template <class T, class... Ts>
inline constexpr std::size_t index_of_v =
    first_true({std::is_same_v<T, Ts>..., false}) < sizeof...(Ts) ? first_true({std::is_same_v<T, Ts>..., false})
                                                                   : sizeof...(Ts);

template <class T, class... Ts>
inline constexpr bool contains_v = (std::is_same_v<T, Ts> || ...);

template <class T, class List>
struct list_contains;
template <class T, class... Ts>
struct list_contains<T, type_list<Ts...>> : std::bool_constant<contains_v<T, Ts...>> {};

template <std::size_t I, class... Ts>
using type_at_t = std::tuple_element_t<I, std::tuple<Ts...>>;

template <std::size_t I, class List>
struct list_at;
template <std::size_t I, class... Ts>
struct list_at<I, type_list<Ts...>> {
  using type = type_at_t<I, Ts...>;
};

/// Concatenation as a fold over operator+ (declared only, used in decltype): no template
/// recursion, whatever the number of lists.
template <class... A, class... B>
type_list<A..., B...> operator+(type_list<A...>, type_list<B...>);

template <class... Lists>
struct concat {
  using type = decltype((type_list<>{} + ... + Lists{}));
};
template <class... Lists>
using concat_t = typename concat<Lists...>::type;

/// Re-labels a list: `rename_t<guards, type_list<A, B>>` is `guards<A, B>`.
template <template <class...> class To, class List>
struct rename;
template <template <class...> class To, template <class...> class From, class... Ts>
struct rename<To, From<Ts...>> {
  using type = To<Ts...>;
};
template <template <class...> class To, class List>
using rename_t = typename rename<To, List>::type;

template <class T>
struct dependent_false : std::false_type {};

}  // namespace portico::framework::detail
