#pragma once
/// Lifetimes of provided instances. A provider declaration may be wrapped in one of these:
///   singleton<D>      one instance per module provider (the default when unwrapped)
///   transient<D>      a new instance for every injection (injected by value or smart pointer)
///   per_connection<D> one instance per client connection, owned by its connection_scope

namespace portico {

template <class Decl>
struct singleton {};
template <class Decl>
struct transient {};
template <class Decl>
struct per_connection {};

namespace framework::detail {

enum class scope_kind { singleton, transient, per_connection };

template <class Decl>
struct unwrap_scope {
  using type = Decl;
  static constexpr scope_kind scope = scope_kind::singleton;
};
template <class Decl>
struct unwrap_scope<singleton<Decl>> : unwrap_scope<Decl> {
  static constexpr scope_kind scope = scope_kind::singleton;
};
template <class Decl>
struct unwrap_scope<transient<Decl>> : unwrap_scope<Decl> {
  static constexpr scope_kind scope = scope_kind::transient;
};
template <class Decl>
struct unwrap_scope<per_connection<Decl>> : unwrap_scope<Decl> {
  static constexpr scope_kind scope = scope_kind::per_connection;
};

/// Wraps `Decl` back into the wrapper for `S` (used when an override replaces a provider).
template <scope_kind S, class Decl>
struct with_scope {
  using type = Decl;
};
template <class Decl>
struct with_scope<scope_kind::transient, Decl> {
  using type = transient<Decl>;
};
template <class Decl>
struct with_scope<scope_kind::per_connection, Decl> {
  using type = per_connection<Decl>;
};

}  // namespace framework::detail
}  // namespace portico
