#pragma once
/// Interceptors as policy types (NestJS `@UseInterceptors`).
///
/// An interceptor is a class with one or both hooks around a handler:
///   void before(Context&)                      runs before the handler (logging, timing)
///   bool before(Context&, Result&)             false: the handler does not run and Result (set
///                                              here, e.g. from a cache) is the answer
///   void after(Context&, Result&)              runs after the handler; may replace Result
/// Context/Result: `portico::gateway_context` / `portico::handler_result` for a gateway handler,
/// `portico::http_context` / `http::response` for a controller route. One instance lives from its
/// `before` to its `after` (a member can hold a start time). Interceptors are constructed through
/// the DI container for each call, so they may inject providers (a cache, a metrics sink).
///
/// Order: class interceptors then handler interceptors for `before`, the reverse for `after`
/// (each wraps the next). A short-circuit by interceptor k skips the handler and the inner
/// interceptors; the `after` of the outer ones (0..k) still runs. An exception skips every
/// remaining hook and goes to the filters. No interceptor declared: nothing of this runs.

#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "di/errors.hpp"
#include "di/type_list.hpp"

PORTICO_DI_DIAGNOSTIC(portico_error_interceptor_without_before_or_after,
                      declare_before_taking_the_context_or_after_taking_the_context_and_the_result)
PORTICO_DI_DIAGNOSTIC(portico_error_interceptor_before_with_result_must_return_bool,
                      return_false_from_before_to_answer_with_the_result_without_the_handler)

namespace portico {

/// `using interceptors = portico::interceptors<I...>;` in a gateway or controller, or
/// `portico::interceptors<I...>{}` after a handler in `subscribe(...)` / a route.
template <class... I>
struct interceptors {};

namespace framework::detail {

template <class... Lists>
struct combine_interceptors {
  using type = rename_t<portico::interceptors, concat_t<rename_t<type_list, Lists>...>>;
};

template <class T, class = void>
struct interceptors_of {
  using type = portico::interceptors<>;
};
template <class T>
struct interceptors_of<T, std::void_t<typename T::interceptors>> {
  using type = typename T::interceptors;
};

template <class I, class Ctx, class = void>
struct has_before : std::false_type {};
template <class I, class Ctx>
struct has_before<I, Ctx, std::void_t<decltype(std::declval<I&>().before(std::declval<Ctx&>()))>> : std::true_type {};

template <class I, class Ctx, class R, class = void>
struct has_before_result : std::false_type {};
template <class I, class Ctx, class R>
struct has_before_result<I, Ctx, R, std::void_t<decltype(std::declval<I&>().before(std::declval<Ctx&>(), std::declval<R&>()))>>
    : std::true_type {
  static constexpr bool returns_bool =
      std::is_convertible_v<decltype(std::declval<I&>().before(std::declval<Ctx&>(), std::declval<R&>())), bool>;
};

template <class I, class Ctx, class R, class = void>
struct has_after : std::false_type {};
template <class I, class Ctx, class R>
struct has_after<I, Ctx, R, std::void_t<decltype(std::declval<I&>().after(std::declval<Ctx&>(), std::declval<R&>()))>>
    : std::true_type {};

template <class I, class Ctx, class R>
constexpr bool check_one_interceptor() {
  if constexpr (!has_before<I, Ctx>::value && !has_before_result<I, Ctx, R>::value && !has_after<I, Ctx, R>::value)
    return raise_portico_error_interceptor_without_before_or_after<bool, I, Ctx>();
  else if constexpr (has_before_result<I, Ctx, R>::value && !has_before_result<I, Ctx, R>::returns_bool)
    return raise_portico_error_interceptor_before_with_result_must_return_bool<bool, I, Ctx>();
  else
    return true;
}

template <class I, class Ctx, class R>
constexpr bool interceptor_valid() {
  if constexpr (has_before_result<I, Ctx, R>::value) return has_before_result<I, Ctx, R>::returns_bool;
  else return has_before<I, Ctx>::value || has_after<I, Ctx, R>::value;
}
template <class Ctx, class R, class... I>
constexpr bool interceptor_list_valid(portico::interceptors<I...>*) {
  return (interceptor_valid<I, Ctx, R>() && ...);
}

template <class Ctx, class R, class... I>
constexpr bool check_interceptor_list(portico::interceptors<I...>*) {
  return (check_one_interceptor<I, Ctx, R>() && ...);
}

template <class Env, class Ctx, class R, class Call>
void intercept_chain(Env&, Ctx&, R& result, Call& call, portico::interceptors<>*) {
  call(result);
}
/// I's before, then the rest of the chain (the handler last), then I's after.
template <class Env, class Ctx, class R, class Call, class I, class... Rest>
void intercept_chain(Env& env, Ctx& ctx, R& result, Call& call, portico::interceptors<I, Rest...>*) {
  auto i = env.template make<I>();
  bool proceed = true;
  if constexpr (has_before_result<I, Ctx, R>::value) proceed = static_cast<bool>(i.before(ctx, result));
  else if constexpr (has_before<I, Ctx>::value) i.before(ctx);
  if (proceed) intercept_chain(env, ctx, result, call, static_cast<portico::interceptors<Rest...>*>(nullptr));
  if constexpr (has_after<I, Ctx, R>::value) i.after(ctx, result);
}

}  // namespace framework::detail

/// Interceptors around a handler that answers later (a deferred route): `before` constructs
/// each interceptor through `env` and runs its hook, in order, at once; `after` runs the
/// `after` hooks of those entered, in reverse, when the answer comes (from any thread). Same
/// order and short-circuit as run_with_interceptors; an interceptor must be move-constructible
/// here (it is kept until the answer).
template <class List, class Context, class Result>
class deferred_interceptors;
template <class Context, class Result, class... I>
class deferred_interceptors<interceptors<I...>, Context, Result> {
 public:
  /// false: an interceptor answered (`result`); the handler must not run.
  template <class Env>
  bool before(Env& env, Context& ctx, Result& result) {
    return before_from<0>(env, ctx, result);
  }
  void after(Context& ctx, Result& result) { after_down<sizeof...(I)>(ctx, result); }

 private:
  template <std::size_t K, class Env>
  bool before_from(Env& env, Context& ctx, Result& result) {
    if constexpr (K == sizeof...(I)) {
      static_cast<void>(env), static_cast<void>(ctx), static_cast<void>(result);
      return true;
    } else {
      using T = framework::detail::type_at_t<K, I...>;
      auto& slot = std::get<K>(instances_);
      slot.emplace(env.template make<T>());
      entered_ = K + 1;  // its `after` runs from here on, even if it answers itself
      bool proceed = true;
      if constexpr (framework::detail::has_before_result<T, Context, Result>::value)
        proceed = static_cast<bool>(slot->before(ctx, result));
      else if constexpr (framework::detail::has_before<T, Context>::value)
        slot->before(ctx);
      return proceed && before_from<K + 1>(env, ctx, result);
    }
  }
  template <std::size_t K>
  void after_down(Context& ctx, Result& result) {
    if constexpr (K > 0) {
      using T = framework::detail::type_at_t<K - 1, I...>;
      if constexpr (framework::detail::has_after<T, Context, Result>::value)
        if (K <= entered_) std::get<K - 1>(instances_)->after(ctx, result);
      after_down<K - 1>(ctx, result);
    } else {
      static_cast<void>(ctx), static_cast<void>(result);
    }
  }

  std::tuple<std::optional<I>...> instances_;
  std::size_t entered_ = 0;
};

/// interceptors<class..., handler...>: the lists concatenated in the order given.
template <class... Lists>
using combine_interceptors_t = typename framework::detail::combine_interceptors<Lists...>::type;

/// `T::interceptors` when T declares it, else interceptors<>.
template <class T>
using interceptors_of_t = typename framework::detail::interceptors_of<T>::type;

/// Checks at compile time that every interceptor of List has a hook for Context/Result.
template <class List, class Context, class Result>
constexpr bool check_interceptors() {
  return framework::detail::check_interceptor_list<Context, Result>(static_cast<List*>(nullptr));
}

/// Whether every interceptor of List can serve Context/Result (no diagnostic).
template <class List, class Context, class Result>
constexpr bool interceptors_valid() {
  return framework::detail::interceptor_list_valid<Context, Result>(static_cast<List*>(nullptr));
}

/// Runs `call(result)` (the handler, filling `result`) inside the interceptors of List.
/// `env.template make<I>()` constructs an interceptor.
template <class List, class Env, class Context, class Result, class Call>
void run_with_interceptors(Env& env, Context& ctx, Result& result, Call&& call) {
  framework::detail::intercept_chain(env, ctx, result, call, static_cast<List*>(nullptr));
}

}  // namespace portico
