#pragma once
/// Guards as policy types.
///
/// A guard is a class with `bool can_activate(Context&)` (Context is the execution context the
/// gateway layer passes: the handshake at connect, the message for a handler guard). Guards are
/// constructed through the DI container, so they may inject providers, including per-connection
/// ones; they are constructed for each check and should hold only references.
///
/// Order: global guards (the app's), then class guards (the gateway's `using guards = ...`), then
/// handler guards; the first refusal (false, or an exception) stops the chain. Duplicates are not
/// removed: a guard listed twice runs twice.

#include <type_traits>
#include <utility>

#include "di/connection_scope.hpp"
#include "di/errors.hpp"
#include "di/type_list.hpp"

namespace portico {

template <class... G>
struct guards {};

namespace framework::detail {

template <class G, class Context, class = void>
struct has_can_activate : std::false_type {};
template <class G, class Context>
struct has_can_activate<G, Context, std::void_t<decltype(std::declval<G&>().can_activate(std::declval<Context&>()))>>
    : std::is_convertible<decltype(std::declval<G&>().can_activate(std::declval<Context&>())), bool> {};

template <class... Lists>
struct combine_guards {
  using type = rename_t<portico::guards, concat_t<rename_t<type_list, Lists>...>>;
};

template <class T, class = void>
struct guards_of {
  using type = portico::guards<>;
};
template <class T>
struct guards_of<T, std::void_t<typename T::guards>> {
  using type = typename T::guards;
};

template <class G, class Container, class Module, class Context>
bool run_one_guard(Container& c, Context& ctx, connection_scope* scope) {
  if constexpr (!has_can_activate<G, Context>::value) {
    static_cast<void>(c), static_cast<void>(ctx), static_cast<void>(scope);
    return raise_portico_error_guard_without_can_activate<bool, G, Context>();
  } else {
    return static_cast<bool>(c.template make<G, Module>(scope).can_activate(ctx));
  }
}

template <class Module, class Container, class Context, class... G>
bool run_guard_list(Container& c, Context& ctx, connection_scope* scope, portico::guards<G...>*) {
  static_cast<void>(c), static_cast<void>(ctx), static_cast<void>(scope);  // unused when the list is empty
  return (run_one_guard<G, Container, Module, Context>(c, ctx, scope) && ...);
}

template <class G, class Context>
constexpr bool check_one_guard() {
  if constexpr (has_can_activate<G, Context>::value) {
    return true;
  } else {
    return raise_portico_error_guard_without_can_activate<bool, G, Context>();
  }
}

template <class Context, class... G>
constexpr bool check_guard_list(portico::guards<G...>*) {
  return (check_one_guard<G, Context>() && ...);
}

}  // namespace framework::detail

/// guards<global..., class..., handler...>: the lists concatenated in the order given.
template <class... Lists>
using combine_guards_t = typename framework::detail::combine_guards<Lists...>::type;

/// `T::guards` when T declares it, else guards<>.
template <class T>
using guards_of_t = typename framework::detail::guards_of<T>::type;

/// Checks at compile time that every guard of List has `bool can_activate(Context&)`; a guard
/// that lacks it is a compile error naming it. Usable in a static_assert at registration.
template <class List, class Context>
constexpr bool check_guards() {
  return framework::detail::check_guard_list<Context>(static_cast<List*>(nullptr));
}

/// Constructs and runs each guard of List in order, resolving their dependencies from Module
/// (default: the container's root module); stops at the first refusal. Returns whether all
/// guards allowed. Exceptions thrown by a guard propagate (the gateway layer maps them).
template <class List, class Module = void, class Container, class Context>
bool run_guards(Container& c, Context& ctx, connection_scope* scope = nullptr) {
  using M = std::conditional_t<std::is_void_v<Module>, typename Container::root, Module>;
  return framework::detail::run_guard_list<M>(c, ctx, scope, static_cast<List*>(nullptr));
}

template <class List, class Module = void, class Container, class Context>
bool run_guards(Container& c, Context& ctx, connection_scope& scope) {
  return run_guards<List, Module>(c, ctx, &scope);
}

}  // namespace portico
