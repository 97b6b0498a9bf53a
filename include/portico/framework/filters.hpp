#pragma once
/// Exception filters as policy types (NestJS `@UseFilters`, `@Catch`).
///
/// A filter is a class with `void catch_exception(const E&, Host&)`: `E` the exception type it
/// catches, `Host` what it answers through (`portico::ws_exception_host` for a gateway handler,
/// `portico::http_exception_host` for a controller route; see exception_host.hpp). A filter that
/// catches several types, or serves gateways and controllers alike (one overload per host),
/// says which types with `using catches = portico::catches<E1, E2>;`; otherwise the type is read
/// from its single `catch_exception`. Filters are constructed through the DI container when an
/// exception reaches them (never on the normal path), so they may inject providers.
///
/// Order: the handler's (route's) filters, then the class's, in list order; within a filter,
/// its `catches` in order. The first whose type matches handles the exception; one that throws
/// passes what it throws on to the next filters, then to the built-in mapping (the default
/// filter: docs/guards.md, "Exception filters").

#include <type_traits>
#include <utility>

#include "di/errors.hpp"
#include "di/type_list.hpp"

PORTICO_DI_DIAGNOSTIC(portico_error_filter_without_catch_exception,
                      declare_void_catch_exception_taking_const_E_ref_and_the_host_ref_or_using_catches)
PORTICO_DI_DIAGNOSTIC(portico_error_filter_cannot_catch,
                      declare_catch_exception_taking_this_exception_by_const_ref_and_this_host_by_ref)

namespace portico {

/// `using filters = portico::filters<F...>;` in a gateway or controller, or
/// `portico::filters<F...>{}` after a handler in `subscribe(...)` / a route.
template <class... F>
struct filters {};

/// The exception types a filter catches: `using catches = portico::catches<E1, E2>;`.
template <class... E>
struct catches {};

namespace framework::detail {

template <class... Lists>
struct combine_filters {
  using type = rename_t<portico::filters, concat_t<rename_t<type_list, Lists>...>>;
};

template <class T, class = void>
struct filters_of {
  using type = portico::filters<>;
};
template <class T>
struct filters_of<T, std::void_t<typename T::filters>> {
  using type = typename T::filters;
};

/// The first parameter of a (non-overloaded) member function, without cv and reference.
template <class Fn>
struct first_param {
  using type = void;
};
#define PORTICO_FIRST_PARAM(qual)                                   \
  template <class R, class C, class A0, class... A>                 \
  struct first_param<R (C::*)(A0, A...) qual> {                     \
    using type = std::remove_cv_t<std::remove_reference_t<A0>>;    \
  };
PORTICO_FIRST_PARAM()
PORTICO_FIRST_PARAM(const)
PORTICO_FIRST_PARAM(noexcept)
PORTICO_FIRST_PARAM(const noexcept)
#undef PORTICO_FIRST_PARAM

template <class F, class = void>
struct deduced_catches {
  using type = void;
};
template <class F>
struct deduced_catches<F, std::void_t<decltype(&F::catch_exception)>> {
  using E = typename first_param<decltype(&F::catch_exception)>::type;
  using type = std::conditional_t<std::is_void_v<E>, void, portico::catches<E>>;
};

/// `F::catches`, else the type of its single `catch_exception`, else void (a misuse).
template <class F, class = void>
struct catches_of {
  using type = typename deduced_catches<F>::type;
};
template <class F>
struct catches_of<F, std::void_t<typename F::catches>> {
  using type = typename F::catches;
};

template <class F, class E, class Host, class = void>
struct can_catch : std::false_type {};
template <class F, class E, class Host>
struct can_catch<F, E, Host,
                 std::void_t<decltype(std::declval<F&>().catch_exception(std::declval<const E&>(), std::declval<Host&>()))>>
    : std::true_type {};

template <class F, class E, class Host>
constexpr bool check_one_catch() {
  if constexpr (can_catch<F, E, Host>::value) return true;
  else return raise_portico_error_filter_cannot_catch<bool, F, E, Host>();
}
template <class F, class Host, class... E>
constexpr bool check_catches(portico::catches<E...>*) {
  return (check_one_catch<F, E, Host>() && ...);
}

template <class F, class Host>
constexpr bool check_one_filter() {
  using C = typename catches_of<F>::type;
  if constexpr (std::is_void_v<C>) return raise_portico_error_filter_without_catch_exception<bool, F>();
  else return check_catches<F, Host>(static_cast<C*>(nullptr));
}

template <class Host, class... F>
constexpr bool check_filter_list(portico::filters<F...>*) {
  return (check_one_filter<F, Host>() && ...);
}

template <class F, class Host, class... E>
constexpr bool catches_valid(portico::catches<E...>*) {
  return (can_catch<F, E, Host>::value && ...);
}
template <class F, class Host>
constexpr bool filter_valid() {
  using C = typename catches_of<F>::type;
  if constexpr (std::is_void_v<C>) return false;
  else return catches_valid<F, Host>(static_cast<C*>(nullptr));
}
template <class Host, class... F>
constexpr bool filter_list_valid(portico::filters<F...>*) {
  return (filter_valid<F, Host>() && ...);
}

/// The filters of a list that can serve Host, in order.
template <class Host, class List>
struct serving;
template <class Host, class... F>
struct serving<Host, portico::filters<F...>> {
  using type = rename_t<portico::filters,
                        concat_t<type_list<>, std::conditional_t<filter_valid<F, Host>(), type_list<F>, type_list<>>...>>;
};

template <class F, class... Hosts>
constexpr bool serves_any() {
  return (filter_valid<F, Hosts>() || ...);
}
/// The filters of a list that serve none of Hosts (a misuse: they would never run).
template <class List, class... Hosts>
struct serving_none;
template <class... F, class... Hosts>
struct serving_none<portico::filters<F...>, Hosts...> {
  using type = rename_t<portico::filters,
                        concat_t<type_list<>, std::conditional_t<serves_any<F, Hosts...>(), type_list<>, type_list<F>>...>>;
};

/// `body()` with filter F's catch of E around it. `env.template make<F>()` constructs the
/// filter, `env.handle(f, ex)` calls it (and may rethrow).
template <class F, class E, class Env, class Body>
void catch_one(Env& env, Body& body) {
  try {
    body();
  } catch (const E& ex) {
    auto f = env.template make<F>();
    env.handle(f, ex);
  }
}

template <class F, class Env, class Body>
void catch_all_of(Env&, Body& body, portico::catches<>*) {
  body();
}
/// The first listed type is the innermost catch: it is tried first.
template <class F, class Env, class Body, class E, class... Rest>
void catch_all_of(Env& env, Body& body, portico::catches<E, Rest...>*) {
  auto inner = [&] { catch_one<F, E>(env, body); };
  catch_all_of<F>(env, inner, static_cast<portico::catches<Rest...>*>(nullptr));
}

template <class Env, class Body>
void filter_chain(Env&, Body& body, portico::filters<>*) {
  body();
}
/// Wraps the body in the first filter, then the result in the next: the first filter is tried first.
template <class Env, class Body, class F, class... Rest>
void filter_chain(Env& env, Body& body, portico::filters<F, Rest...>*) {
  auto inner = [&] { catch_all_of<F>(env, body, static_cast<typename catches_of<F>::type*>(nullptr)); };
  filter_chain(env, inner, static_cast<portico::filters<Rest...>*>(nullptr));
}

}  // namespace framework::detail

/// filters<handler..., class...>: the lists concatenated in the order given.
template <class... Lists>
using combine_filters_t = typename framework::detail::combine_filters<Lists...>::type;

/// `T::filters` when T declares it, else filters<>.
template <class T>
using filters_of_t = typename framework::detail::filters_of<T>::type;

/// The filters of List that can serve Host (class and app-wide lists hold filters for handlers,
/// CONNECT and routes; each place uses those that fit it).
template <class List, class Host>
using serving_t = typename framework::detail::serving<Host, List>::type;

/// The filters of List that serve none of Hosts.
template <class List, class... Hosts>
using serving_none_t = typename framework::detail::serving_none<List, Hosts...>::type;

/// Checks at compile time that every filter of List says what it catches and can take it with
/// Host; a misuse is one error naming the filter (and the exception type and host).
template <class List, class Host>
constexpr bool check_filters() {
  return framework::detail::check_filter_list<Host>(static_cast<List*>(nullptr));
}

/// Whether every filter of List can serve Host (no diagnostic).
template <class List, class Host>
constexpr bool filters_valid() {
  return framework::detail::filter_list_valid<Host>(static_cast<List*>(nullptr));
}

/// Runs `body()` with the filters of List around it (see the header comment); no filter: a
/// plain call.
template <class List, class Env, class Body>
void run_with_filters(Env& env, Body&& body) {
  framework::detail::filter_chain(env, body, static_cast<List*>(nullptr));
}

}  // namespace portico
