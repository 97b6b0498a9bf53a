#pragma once
/// Constructor deduction: which arity of constructor the container calls when a class does not
/// declare `using inject = portico::inject<...>`.
///
/// A probe argument converts to any `U&` (and to any smart pointer by value), except to the class
/// itself so that copy and move constructors are not mistaken for injection points. The viable
/// arities 0..max_arity are tested in one pack expansion. Rules:
///   - exactly one arity >= 1 is viable: that constructor is used (a default constructor beside
///     it is ignored);
///   - only arity 0 is viable: default construction;
///   - several arities >= 1 are viable: ambiguous, a compile error asks for an inject list;
///   - aggregates are value-initialized (their fields are not injected);
///   - two overloads of the same arity make the probe ambiguous, so that arity is not viable:
///     declare an inject list for such classes.

#include <cstddef>
#include <type_traits>
#include <utility>

#include "providers.hpp"

namespace portico::framework::detail {

inline constexpr std::size_t max_arity = 10;

template <class Owner>
struct probe {
  template <class U, std::enable_if_t<!std::is_same_v<std::remove_cv_t<U>, Owner> &&
                                          !is_smart_pointer<std::remove_cv_t<U>>::value,
                                      int> = 0>
  operator U&() const;
  template <class U, std::enable_if_t<is_smart_pointer<U>::value, int> = 0>
  operator U() const;
};

template <class Owner, std::size_t>
using probe_at = probe<Owner>;

template <class T, std::size_t... I>
constexpr bool constructible_with_probes(std::index_sequence<I...>) {
  return std::is_constructible_v<T, probe_at<T, I>...>;
}

enum class ctor_status { found, none, ambiguous };

struct ctor_info {
  ctor_status status;
  std::size_t arity;
};

template <class T, std::size_t... N>
constexpr ctor_info detect_constructor(std::index_sequence<N...>) {
  constexpr bool viable[] = {constructible_with_probes<T>(std::make_index_sequence<N>{})...};
  std::size_t count = 0;
  std::size_t arity = 0;
  for (std::size_t n = 1; n < sizeof...(N); ++n) {
    if (viable[n]) {
      ++count;
      arity = n;
    }
  }
  if (count == 1) return {ctor_status::found, arity};
  if (count > 1) return {ctor_status::ambiguous, 0};
  return viable[0] ? ctor_info{ctor_status::found, 0} : ctor_info{ctor_status::none, 0};
}

template <class T, bool Aggregate = std::is_aggregate_v<T>>
struct constructor_of {
  static constexpr ctor_info info = detect_constructor<T>(std::make_index_sequence<max_arity + 1>{});
};
template <class T>
struct constructor_of<T, true> {
  static constexpr ctor_info info = std::is_default_constructible_v<T> ? ctor_info{ctor_status::found, 0}
                                                                       : ctor_info{ctor_status::none, 0};
};

}  // namespace portico::framework::detail
