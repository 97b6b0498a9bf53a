#pragma once
/// Provider declarations: what may appear inside `portico::providers<...>`.
///   T                 construct T by constructor injection; provides T
///   bind<I, Impl>     construct Impl by constructor injection; provides I
///   value<T>          an instance supplied to the container constructor, else value-initialized
///   factory<T, &fn>   the result of calling fn (a function, or a constexpr lambda object whose
///                     address is taken) with injected arguments; provides T
///   factory_object<T, F>  the same with a default-constructible function object type F
/// Any of them may be wrapped in a scope (see scopes.hpp).

#include <memory>
#include <type_traits>

#include "scopes.hpp"
#include "type_list.hpp"

namespace portico {

template <class... Decls>
struct providers {};
template <class Interface, class Implementation>
struct bind {};
template <class T>
struct value {};
template <class T, auto Fn>
struct factory {};
/// A factory given as a type: a default-constructible function object (a struct with one
/// operator(), or in C++20 a captureless lambda's type, `decltype(lambda)`).
template <class T, class F>
struct factory_object {};

namespace framework::detail {

enum class provider_kind { construct, value, factory };

template <class Decl>
struct decl_kind {
  using key = Decl;
  using impl = Decl;
  static constexpr provider_kind kind = provider_kind::construct;
};
template <class I, class Impl>
struct decl_kind<bind<I, Impl>> {
  using key = I;
  using impl = Impl;
  static constexpr provider_kind kind = provider_kind::construct;
};
template <class T>
struct decl_kind<value<T>> {
  using key = T;
  using impl = T;
  static constexpr provider_kind kind = provider_kind::value;
};
template <class T, auto Fn>
struct decl_kind<factory<T, Fn>> {
  using key = T;
  using impl = T;
  static constexpr provider_kind kind = provider_kind::factory;
  static constexpr auto fn = Fn;
};

/// The function object a factory_object calls (one per type, constructed at start-up).
template <class F>
inline F factory_instance{};

template <class T, class F>
struct decl_kind<factory_object<T, F>> {
  using key = T;
  using impl = T;
  static constexpr provider_kind kind = provider_kind::factory;
  static constexpr F* fn = &factory_instance<F>;
};

/// Everything the container needs to know about one provider declaration.
template <class Decl>
struct decl_traits : decl_kind<typename unwrap_scope<Decl>::type> {
  static constexpr scope_kind scope = unwrap_scope<Decl>::scope;
};

template <class Decl>
using key_of_t = typename decl_traits<Decl>::key;

template <class T>
struct is_smart_pointer : std::false_type {};
template <class T>
struct is_smart_pointer<std::shared_ptr<T>> : std::true_type {};
template <class T, class D>
struct is_smart_pointer<std::unique_ptr<T, D>> : std::true_type {};

/// Parameters and result of a factory: a function pointer or a pointer to a callable object.
template <class Sig>
struct callable_signature;
template <class R, class... A>
struct callable_signature<R (*)(A...)> {
  using result = R;
  using args = type_list<A...>;
};
template <class R, class... A>
struct callable_signature<R (*)(A...) noexcept> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) const> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...)> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) const noexcept> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) noexcept> : callable_signature<R (*)(A...)> {};

template <class F, class = void>
struct factory_signature : callable_signature<F> {};
/// A pointer to a lambda object: use its call operator.
template <class L>
struct factory_signature<const L*, std::void_t<decltype(&L::operator())>>
    : callable_signature<decltype(&L::operator())> {};
template <class L>
struct factory_signature<L*, std::enable_if_t<!std::is_const_v<L>, std::void_t<decltype(&L::operator())>>>
    : callable_signature<decltype(&L::operator())> {};

}  // namespace framework::detail
}  // namespace portico
