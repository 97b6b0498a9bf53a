#pragma once
/// App-wide guards, filters and interceptors (NestJS `app.useGlobalGuards`,
/// `useGlobalFilters`, `useGlobalInterceptors`), declared as types on the app:
///
///     using App = portico::app<AppModule>::with_global_filters<ErrorsToProblem>
///                                         ::with_global_interceptors<Metrics>;
///
/// or in one list: `portico::app<AppModule, portico::global_policies<guards<G>, filters<F>,
/// interceptors<I>>>` (`app<M, guards<G...>>` still means global guards only). They apply to
/// every gateway handler and every controller route (and, for guards and the filters that serve
/// it, every gateway CONNECT), outermost: global guards run first, global interceptors wrap the
/// class's, global filters are tried last (after the handler's and the class's, before the
/// built-in mapping). Like global guards, they are constructed through the container as seen
/// from the module of the gateway or controller they serve (docs/guards.md, "Order").

#include <type_traits>

#include "di/type_list.hpp"
#include "filters.hpp"
#include "gateway.hpp"
#include "guards.hpp"
#include "interceptors.hpp"

namespace portico {

/// A bundle of app-wide policy lists: `guards<...>`, `filters<...>`, `interceptors<...>`, in any
/// order, each kind concatenated in the order given.
template <class... P>
struct global_policies {};

namespace framework::detail {

/// The app's global parameter (`guards<...>` or `global_policies<...>`) as a policy_set.
template <class X>
struct globals_of {
  static_assert(sizeof(X) == 0,
                "portico::app<Root, Global>: Global is portico::guards<...> or portico::global_policies<...>");
  using type = policy_set<>;
};
template <class... G>
struct globals_of<portico::guards<G...>> {
  using type = policy_set<portico::guards<G...>>;
};
template <class... P>
struct globals_of<portico::global_policies<P...>> {
  static constexpr bool valid = (is_policy_list<P>::value && ...);
  static_assert(valid, "portico::global_policies<...>: give portico::guards<...>, portico::filters<...> or "
                       "portico::interceptors<...> lists only");
  using type = std::conditional_t<valid, policy_set<P...>, policy_set<>>;  // one error, not two
};
template <class X>
using globals_of_t = typename globals_of<X>::type;

/// Global plus one more list, appended.
template <class X, class Add>
struct add_global;
template <class... G, class Add>
struct add_global<portico::guards<G...>, Add> {
  using type = portico::global_policies<portico::guards<G...>, Add>;
};
template <class... G, class... H>
struct add_global<portico::guards<G...>, portico::guards<H...>> {
  using type = portico::guards<G..., H...>;  // guards only: the short spelling stays
};
template <class Add>
struct add_global<portico::guards<>, Add> {  // nothing yet: one spelling whatever the order
  using type = portico::global_policies<Add>;
};
template <class... H>
struct add_global<portico::guards<>, portico::guards<H...>> {
  using type = portico::guards<H...>;
};
template <class... P, class Add>
struct add_global<portico::global_policies<P...>, Add> {
  using type = portico::global_policies<P..., Add>;
};
template <class X, class Add>
using add_global_t = typename add_global<X, Add>::type;

/// Global plus several lists, appended in order.
template <class X, class... Add>
struct add_globals {
  using type = X;
};
template <class X, class A, class... Rest>
struct add_globals<X, A, Rest...> : add_globals<add_global_t<X, A>, Rest...> {};

}  // namespace framework::detail

}  // namespace portico
