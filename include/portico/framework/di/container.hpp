#pragma once
/// The compile-time DI container of one application module graph.
///
/// `portico::container<AppModule>` resolves everything its root module can see; which provider
/// answers a request, in which module it lives, its scope, and the constructor used are all
/// decided at compile time. A misuse is a compile error whose first line names the type and the
/// fix (see errors.hpp). At run time a resolution is a slot lookup plus, the first time, the
/// construction.
///
/// Requests (constructor parameters, `inject<...>` entries, factory parameters, get<Request>()):
///   T& / const T&          the shared instance (singleton, value or per-connection)
///   T                      a copy of the shared instance, or a new transient instance
///   std::shared_ptr<T>     shares ownership of the instance, or owns a new transient one
///   std::unique_ptr<T>     a new transient instance only
///
/// Threading: singletons are created lazily on first use; call instantiate() once before serving
/// from several threads. A connection_scope is used from its connection's thread only.

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "connection_scope.hpp"
#include "constructor.hpp"
#include "errors.hpp"
#include "graph.hpp"
#include "inject.hpp"
#include "instance_table.hpp"
#include "module.hpp"
#include "providers.hpp"
#include "scopes.hpp"
#include "type_list.hpp"

namespace portico {

template <class Root, class... Overrides>
class container;

namespace framework::detail {

/// How a dependency is asked for.
enum class request_form { ref, value, shared, unique };

template <class R>
struct request_traits {
  static constexpr request_form form = std::is_lvalue_reference_v<R> ? request_form::ref : request_form::value;
  using key = std::remove_cv_t<std::remove_reference_t<R>>;
  using result = std::conditional_t<std::is_lvalue_reference_v<R>, R, key>;
};
template <class T>
struct request_traits<std::shared_ptr<T>> {
  static constexpr request_form form = request_form::shared;
  using key = std::remove_cv_t<T>;
  using result = std::shared_ptr<T>;
};
template <class T>
struct request_traits<std::unique_ptr<T>> {
  static constexpr request_form form = request_form::unique;
  using key = std::remove_cv_t<T>;
  using result = std::unique_ptr<T>;
};

/// `const std::shared_ptr<T>&` asks for the same thing as `std::shared_ptr<T>`.
template <class R>
using normalize_request_t =
    std::conditional_t<is_smart_pointer<std::remove_cv_t<std::remove_reference_t<R>>>::value,
                       std::remove_cv_t<std::remove_reference_t<R>>, R>;

/// Whether K, seen from Module, is provided transient (then it is injected by value or pointer).
template <class K, class Module, class Ov, bool Found = lookup<K, Module, Ov>::status == lookup_status::found>
struct transient_in : std::false_type {};
template <class K, class Module, class... Ov>
struct transient_in<K, Module, type_list<Ov...>, true> {
  using found = lookup<K, Module, type_list<Ov...>>;
  using decl = typename list_at<found::index, typename module_view<typename found::owner, Ov...>::providers>::type;
  static constexpr bool value = decl_traits<decl>::scope == scope_kind::transient;
};

/// The argument passed for each deduced constructor parameter: converts to whatever the parameter
/// asks for by resolving it (the parameter's type is deduced by the conversion operator).
template <class C, class Module, class Owner>
struct inject_arg {
  C* c;
  connection_scope* scope;

  template <class U, std::enable_if_t<!std::is_same_v<std::remove_cv_t<U>, Owner> &&
                                          !is_smart_pointer<std::remove_cv_t<U>>::value &&
                                          !transient_in<std::remove_cv_t<U>, Module, typename C::override_list>::value,
                                      int> = 0>
  operator U&() const {
    return c->template resolve<Module, U&>(scope);
  }

  template <class U, std::enable_if_t<!std::is_same_v<U, Owner> &&
                                          (is_smart_pointer<U>::value ||
                                           transient_in<U, Module, typename C::override_list>::value),
                                      int> = 0>
  operator U() const {
    return c->template resolve<Module, U>(scope);
  }
};

template <class Arg, std::size_t>
using arg_at = Arg;

}  // namespace framework::detail

template <class Root, class... Overrides>
class container {
  static_assert(framework::detail::is_module<Root>::value, "portico::container<Root>: Root must be a portico::module<...>");

 public:
  using root = Root;
  using override_list = framework::detail::type_list<Overrides...>;
  using modules = framework::detail::all_modules_t<Root>;
  using graph_t = framework::detail::graph<modules, override_list>;
  /// The same graph with more overrides (earlier overrides of the same key win).
  template <class... More>
  using with_overrides = container<Root, Overrides..., More...>;
  /// Every gateway / controller of the graph, in module order.
  using gateways = typename framework::detail::all_components<modules, Overrides...>::gateways;
  using controllers = typename framework::detail::all_components<modules, Overrides...>::controllers;
  /// Whether `get<K&>()` (or an injection into a root-module provider) finds a provider of K.
  template <class K>
  static constexpr bool provides =
      framework::detail::lookup<K, Root, override_list>::status == framework::detail::lookup_status::found;

  container() { check_modules(static_cast<modules*>(nullptr)); }
  container(const container&) = delete;
  container& operator=(const container&) = delete;

  /// Supplies instances for `portico::value<V>` providers (each V must be declared somewhere).
  template <class... V, std::enable_if_t<(sizeof...(V) > 0) && !(std::is_same_v<std::decay_t<V>, container> || ...), int> = 0>
  explicit container(V&&... values) {
    check_modules(static_cast<modules*>(nullptr));
    (supply(std::forward<V>(values)), ...);
  }

  ~container() { singletons_.clear(); }

  /// Resolves a request from the root module (see the request forms above).
  template <class Request>
  typename framework::detail::request_traits<framework::detail::normalize_request_t<Request>>::result get() {
    return enter<Root, framework::detail::normalize_request_t<Request>>(nullptr);
  }
  /// Same, within a client connection (needed for per-connection providers).
  template <class Request>
  typename framework::detail::request_traits<framework::detail::normalize_request_t<Request>>::result get(
      connection_scope& scope) {
    return enter<Root, framework::detail::normalize_request_t<Request>>(&scope);
  }

  /// Resolves a request as seen from Module (e.g. a handler parameter, from its gateway's module).
  template <class Module, class Request>
  typename framework::detail::request_traits<framework::detail::normalize_request_t<Request>>::result get_from(
      connection_scope* scope = nullptr) {
    return enter<Module, framework::detail::normalize_request_t<Request>>(scope);
  }

  /// Constructs a T that is not a provider (a guard, a handler object) with its dependencies
  /// injected as seen from Module. The result is not stored anywhere.
  template <class T, class Module = Root>
  T make(connection_scope* scope = nullptr) {
    using entry = framework::detail::node<Module, T, framework::detail::scope_kind::transient>;
    if constexpr (!entry_ok<entry>()) {
      report<entry>();
    } else {
      return build<T, T, Module>(scope, value_maker<T>{});
    }
  }

  /// make() for a caller that never has a connection scope (a guard of an HTTP route): a T that
  /// reaches a per_connection provider is a compile error naming both, not a run-time failure.
  template <class T, class Module = Root>
  T make_unscoped() {
    using entry = framework::detail::node<Module, T, framework::detail::scope_kind::singleton>;  // checked like a root that outlives connections
    if constexpr (!entry_ok<entry>()) {
      report_unscoped<entry>();
    } else {
      return build<T, T, Module>(nullptr, value_maker<T>{});
    }
  }

  /// The single instance of a gateway or controller, constructed on first use in its module.
  template <class G>
  G& component() {
    constexpr std::size_t mi = component_module<G>();
    if constexpr (mi >= modules::size) {
      return framework::detail::raise_portico_error_not_a_component<G&, G>();
    } else {
      using M = typename framework::detail::list_at<mi, modules>::type;
      using components = typename framework::detail::module_view<M, Overrides...>::components;
      constexpr std::size_t slot = offset_of<M>() + framework::detail::module_view<M, Overrides...>::provider_count +
                                   index_in<G>(static_cast<components*>(nullptr));
      using entry = framework::detail::node<M, G, framework::detail::scope_kind::singleton>;
      if constexpr (!entry_ok<entry>()) {
        report<entry>();
      } else {
        if (auto* found = singletons_.find(slot)) return *static_cast<G*>(found->get());
        std::shared_ptr<G> created = build<std::shared_ptr<G>, G, M>(nullptr, shared_maker<G>{});
        singletons_.put(slot, created);
        return *created;
      }
    }
  }

  /// Replaces the instance of a singleton or value provider of K in every module (a test fake).
  /// Must be called before anything resolved K; throws std::logic_error otherwise.
  template <class K>
  void replace(std::shared_ptr<K> instance) {
    if constexpr (count_slots<K, false>(static_cast<modules*>(nullptr)) == 0) {
      framework::detail::raise_portico_error_nothing_to_replace_for<void, K>();
    } else {
      fill<K, false>(std::shared_ptr<void>(std::move(instance)), static_cast<modules*>(nullptr));
    }
  }

  /// Creates every singleton provider and every gateway/controller now (in dependency order).
  void instantiate() { instantiate_modules(static_cast<modules*>(nullptr)); }

  /// Number of live singleton instances (providers and components).
  std::size_t size() const noexcept { return singletons_.live(); }

 private:
  template <class, class, class>
  friend struct framework::detail::inject_arg;

  template <class T>
  struct value_maker {
    template <class... A>
    T operator()(A&&... a) const {
      return T(std::forward<A>(a)...);
    }
  };
  /// `new` rather than make_shared/make_unique: the arguments convert (and resolve) directly in
  /// this frame, which keeps the instantiation depth per dependency level small (the standard
  /// library's allocation helpers add six frames per level) and diagnostics short. Instances are
  /// created once per container or connection, so the separate control block costs nothing.
  template <class T>
  struct shared_maker {
    template <class... A>
    std::shared_ptr<T> operator()(A&&... a) const {
      return std::shared_ptr<T>(new T(std::forward<A>(a)...));
    }
  };
  template <class T>
  struct unique_maker {
    template <class... A>
    std::unique_ptr<T> operator()(A&&... a) const {
      return std::unique_ptr<T>(new T(std::forward<A>(a)...));
    }
  };

  // ---- slot numbering: modules in graph order, providers then components ----

  template <class M, class... All>
  static constexpr std::size_t offset_in(framework::detail::type_list<All...>*) {
    constexpr std::size_t index = framework::detail::index_of_v<M, All...>;
    constexpr std::size_t counts[] = {framework::detail::module_view<All, Overrides...>::slot_count..., 0};
    std::size_t offset = 0;
    for (std::size_t i = 0; i < index; ++i) offset += counts[i];
    return offset;
  }
  template <class M>
  static constexpr std::size_t offset_of() {
    return offset_in<M>(static_cast<modules*>(nullptr));
  }
  template <class G, class... C>
  static constexpr std::size_t index_in(framework::detail::type_list<C...>*) {
    return framework::detail::index_of_v<G, C...>;
  }
  // ---- resolution ----

  template <class Module, class Request>
  typename framework::detail::request_traits<Request>::result resolve(connection_scope* scope) {
    using rq = framework::detail::request_traits<Request>;
    using K = typename rq::key;
    using R = typename rq::result;
    using found = framework::detail::lookup<K, Module, override_list>;
    if constexpr (found::status == framework::detail::lookup_status::missing) {
      return framework::detail::raise_portico_error_no_provider_for<R, K>();
    } else if constexpr (found::status == framework::detail::lookup_status::not_exported) {
      return framework::detail::raise_portico_error_provider_not_exported<R, K, typename found::hidden_in>();
    } else {
      using Owner = typename found::owner;
      using D = typename framework::detail::list_at<found::index, typename framework::detail::module_view<Owner, Overrides...>::providers>::type;
      return deliver<Owner, found::index, D, rq::form, R>(scope);
    }
  }

  /// Every resolution from outside the container starts here: the graph below Entry is checked
  /// (cycles, singletons reaching per-connection providers) before any construction code is
  /// instantiated, so an error is reported once and nothing loops.
  template <class Entry>
  static constexpr bool entry_ok() {
    if constexpr (std::is_void_v<Entry>) {
      return true;  // nothing visible: resolving reports the missing provider
    } else {
      return graph_t::template check<Entry>::ok;
    }
  }

  template <class Entry>
  [[noreturn]] static void report() {
    using check = typename graph_t::template check<Entry>;
    constexpr auto v = check::result;
    if constexpr (v.cycle) {
      report_cycle<Entry>(std::make_index_sequence<v.cycle_length>{});
    } else {
      using nodes = typename graph_t::all_nodes;
      using S = typename framework::detail::list_at<(v.widening_from < graph_t::size ? v.widening_from : graph_t::size),
                                 framework::detail::concat_t<nodes, framework::detail::type_list<Entry>>>::type;
      using P = typename framework::detail::list_at<v.widening_to, nodes>::type;
      framework::detail::raise_portico_error_singleton_depends_on_per_connection<void, typename S::key, typename P::key>();
    }
  }
  template <class Entry>
  [[noreturn]] static void report_unscoped() {
    constexpr auto v = graph_t::template check<Entry>::result;
    if constexpr (!v.cycle && v.widening_from >= graph_t::size) {
      using P = typename framework::detail::list_at<v.widening_to, typename graph_t::all_nodes>::type;
      framework::detail::raise_portico_error_used_without_connection_depends_on_per_connection<void, typename Entry::key,
                                                                           typename P::key>();
    } else {
      report<Entry>();  // a cycle, or a singleton below it that is wrong anywhere
    }
  }
  template <class Entry, std::size_t... I>
  [[noreturn]] static void report_cycle(std::index_sequence<I...>) {
    constexpr auto v = graph_t::template check<Entry>::result;
    framework::detail::raise_portico_error_dependency_cycle<void,
                                         typename framework::detail::list_at<v.cycle_path[I], typename graph_t::all_nodes>::type::key...>();
  }

  template <class Module, class Request>
  typename framework::detail::request_traits<Request>::result enter(connection_scope* scope) {
    using entry = typename framework::detail::provider_node<typename framework::detail::request_traits<Request>::key, Module, override_list>::type;
    if constexpr (!entry_ok<entry>()) {
      report<entry>();
    } else {
      return resolve<Module, Request>(scope);
    }
  }

  template <class Owner, std::size_t Index, class D, framework::detail::request_form Form, class R>
  R deliver(connection_scope* scope) {
    using K = typename framework::detail::decl_traits<D>::key;
    constexpr bool is_transient = framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::transient;
    if constexpr (Form == framework::detail::request_form::ref) {
      if constexpr (is_transient) {
        return framework::detail::raise_portico_error_transient_injected_by_reference<R, K>();
      } else {
        return stored<Owner, Index, D>(scope);
      }
    } else if constexpr (Form == framework::detail::request_form::value) {
      if constexpr (is_transient) {
        return new_value<Owner, D>(scope);
      } else {
        return stored<Owner, Index, D>(scope);
      }
    } else if constexpr (Form == framework::detail::request_form::shared) {
      if constexpr (is_transient) {
        return new_shared<Owner, D>(scope);
      } else {
        return shared_instance<Owner, Index, D>(scope);
      }
    } else {
      if constexpr (is_transient) {
        return new_unique<Owner, D>(scope);
      } else {
        return framework::detail::raise_portico_error_unique_ptr_of_shared_instance<R, K>();
      }
    }
  }

  /// The table holding the instances of D: the container's, or the connection's.
  template <class D>
  framework::detail::instance_table& table_for(connection_scope* scope) {
    if constexpr (framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::per_connection) {
      if (scope == nullptr)
        throw std::logic_error("portico: a per_connection provider was resolved outside a connection_scope");
      if (scope->owner_ != this) {
        if (scope->owner_ != nullptr)
          throw std::logic_error("portico: a connection_scope was used with two different containers");
        scope->owner_ = this;
      }
      return scope->table_;
    } else {
      static_cast<void>(scope);
      return singletons_;
    }
  }

  /// The stored instance of a singleton, value or per-connection provider, created on first use.
  /// Returns a reference so that the common case costs no reference-count traffic.
  template <class Owner, std::size_t Index, class D>
  typename framework::detail::decl_traits<D>::key& stored(connection_scope* scope) {
    using K = typename framework::detail::decl_traits<D>::key;
    constexpr std::size_t slot = offset_of<Owner>() + Index;
    framework::detail::instance_table& table = table_for<D>(scope);
    if (auto* existing = table.find(slot)) return *static_cast<K*>(existing->get());
    std::shared_ptr<K> created = new_shared<Owner, D>(scope);
    K& instance = *created;
    table.put(slot, std::move(created));
    return instance;
  }

  template <class Owner, std::size_t Index, class D>
  std::shared_ptr<typename framework::detail::decl_traits<D>::key> shared_instance(connection_scope* scope) {
    using K = typename framework::detail::decl_traits<D>::key;
    constexpr std::size_t slot = offset_of<Owner>() + Index;
    framework::detail::instance_table& table = table_for<D>(scope);
    if (auto* existing = table.find(slot)) return std::static_pointer_cast<K>(*existing);
    std::shared_ptr<K> created = new_shared<Owner, D>(scope);
    table.put(slot, created);
    return created;
  }

  template <class Owner, class D>
  std::shared_ptr<typename framework::detail::decl_traits<D>::key> new_shared(connection_scope* scope) {
    using T = framework::detail::decl_traits<D>;
    using K = typename T::key;
    using Impl = typename T::impl;
    if constexpr (T::kind == framework::detail::provider_kind::construct) {
      if constexpr (!std::is_base_of_v<K, Impl> && !std::is_same_v<K, Impl>) {
        return framework::detail::raise_portico_error_bind_implementation_does_not_derive_from_interface<std::shared_ptr<K>, K, Impl>();
      } else {
        return build<std::shared_ptr<Impl>, Impl, Owner>(scope, shared_maker<Impl>{});
      }
    } else if constexpr (T::kind == framework::detail::provider_kind::value) {
      if constexpr (std::is_default_constructible_v<K>) {
        return std::make_shared<K>();
      } else {
        throw std::logic_error("portico: a portico::value<T> provider without a default constructor was not supplied");
      }
    } else {
      return to_shared<K>(call_factory<Owner, D>(scope));
    }
  }

  template <class Owner, class D>
  typename framework::detail::decl_traits<D>::key new_value(connection_scope* scope) {
    using T = framework::detail::decl_traits<D>;
    using K = typename T::key;
    using Impl = typename T::impl;
    if constexpr (T::kind == framework::detail::provider_kind::construct) {
      return K(build<Impl, Impl, Owner>(scope, value_maker<Impl>{}));
    } else if constexpr (T::kind == framework::detail::provider_kind::value) {
      return K();
    } else {
      auto made = call_factory<Owner, D>(scope);
      if constexpr (framework::detail::is_smart_pointer<decltype(made)>::value) {
        return K(*made);
      } else {
        return K(std::move(made));
      }
    }
  }

  template <class Owner, class D>
  std::unique_ptr<typename framework::detail::decl_traits<D>::key> new_unique(connection_scope* scope) {
    using T = framework::detail::decl_traits<D>;
    using K = typename T::key;
    using Impl = typename T::impl;
    if constexpr (T::kind == framework::detail::provider_kind::construct) {
      if constexpr (!std::is_base_of_v<K, Impl> && !std::is_same_v<K, Impl>) {
        return framework::detail::raise_portico_error_bind_implementation_does_not_derive_from_interface<std::unique_ptr<K>, K, Impl>();
      } else {
        return build<std::unique_ptr<Impl>, Impl, Owner>(scope, unique_maker<Impl>{});
      }
    } else if constexpr (T::kind == framework::detail::provider_kind::value) {
      return std::make_unique<K>();
    } else {
      using made_t = decltype(call_factory<Owner, D>(scope));
      if constexpr (std::is_convertible_v<made_t, std::unique_ptr<K>>) {
        return call_factory<Owner, D>(scope);
      } else if constexpr (std::is_base_of_v<K, made_t> || std::is_same_v<K, made_t>) {
        return std::make_unique<made_t>(call_factory<Owner, D>(scope));
      } else {
        return framework::detail::raise_portico_error_factory_result_is_not<std::unique_ptr<K>, K, made_t>();
      }
    }
  }

  template <class K, class Made>
  static std::shared_ptr<K> to_shared(Made&& made) {
    using V = std::remove_cv_t<std::remove_reference_t<Made>>;
    if constexpr (framework::detail::is_smart_pointer<V>::value) {
      if constexpr (std::is_convertible_v<V&&, std::shared_ptr<K>>) {
        return std::shared_ptr<K>(std::move(made));
      } else {
        return framework::detail::raise_portico_error_factory_result_is_not<std::shared_ptr<K>, K, V>();
      }
    } else if constexpr (std::is_base_of_v<K, V> || std::is_same_v<K, V>) {
      return std::make_shared<V>(std::move(made));
    } else {
      return framework::detail::raise_portico_error_factory_result_is_not<std::shared_ptr<K>, K, V>();
    }
  }

  template <class Owner, class D>
  auto call_factory(connection_scope* scope) {
    constexpr auto fn = framework::detail::decl_traits<D>::fn;
    using signature = framework::detail::factory_signature<std::remove_cv_t<decltype(fn)>>;
    return invoke_factory<Owner, typename signature::result>(fn, scope,
                                                                     static_cast<typename signature::args*>(nullptr));
  }

  template <class Owner, class Result, class Fn, class... A>
  Result invoke_factory(Fn fn, connection_scope* scope, framework::detail::type_list<A...>*) {
    static_cast<void>(scope);  // unused by a factory without parameters
    return (*fn)(resolve<Owner, framework::detail::normalize_request_t<A>>(scope)...);
  }

  /// Constructs Impl with its dependencies resolved from Module; `make` does the allocation.
  template <class Ret, class Impl, class Module, class Make>
  Ret build(connection_scope* scope, Make make) {
    if constexpr (framework::detail::has_inject_list<Impl>::value) {
      return build_listed<Ret, Impl, Module>(scope, make,
                                                    static_cast<typename Impl::inject::requests*>(nullptr));
    } else if constexpr (std::is_abstract_v<Impl>) {
      return framework::detail::raise_portico_error_abstract_provider<Ret, Impl>();
    } else {
      constexpr framework::detail::ctor_info info = framework::detail::constructor_of<Impl>::info;
      if constexpr (info.status == framework::detail::ctor_status::ambiguous) {
        return framework::detail::raise_portico_error_ambiguous_constructor_of<Ret, Impl>();
      } else if constexpr (info.status == framework::detail::ctor_status::none) {
        return framework::detail::raise_portico_error_cannot_deduce_constructor_of<Ret, Impl>();
      } else {
        return build_deduced<Ret, Impl, Module>(scope, make, std::make_index_sequence<info.arity>{});
      }
    }
  }

  template <class Ret, class Impl, class Module, class Make, std::size_t... I>
  Ret build_deduced(connection_scope* scope, Make& make, std::index_sequence<I...>) {
    using arg = framework::detail::inject_arg<container, Module, Impl>;
    if constexpr (!std::is_constructible_v<Impl, framework::detail::arg_at<arg, I>...>) {
      return framework::detail::raise_portico_error_cannot_inject_constructor_of<Ret, Impl>();
    } else {
      static_cast<void>(scope);  // unused for a default constructor
      return make(framework::detail::arg_at<arg, I>{this, scope}...);
    }
  }

  template <class Ret, class Impl, class Module, class Make, class... Rq>
  Ret build_listed(connection_scope* scope, Make& make, framework::detail::type_list<Rq...>*) {
    if constexpr (!std::is_constructible_v<Impl, typename framework::detail::request_traits<framework::detail::normalize_request_t<Rq>>::result...>) {
      return framework::detail::raise_portico_error_inject_list_does_not_match_a_constructor_of<Ret, Impl>();
    } else {
      return make(resolve<Module, framework::detail::normalize_request_t<Rq>>(scope)...);
    }
  }

  // ---- values, replacements, eager instantiation ----

  /// Number of singleton slots keyed K (ValuesOnly: only portico::value<K> declarations).
  template <class K, bool ValuesOnly, class... D>
  static constexpr std::size_t count_in(framework::detail::type_list<D...>*) {
    return framework::detail::count_true({(std::is_same_v<framework::detail::key_of_t<D>, K> && framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::singleton &&
                        (!ValuesOnly || framework::detail::decl_traits<D>::kind == framework::detail::provider_kind::value))...});
  }
  template <class K, bool ValuesOnly, class... M>
  static constexpr std::size_t count_slots(framework::detail::type_list<M...>*) {
    return (count_in<K, ValuesOnly>(
                static_cast<typename framework::detail::module_view<M, Overrides...>::providers*>(nullptr)) +
            ... + 0);
  }

  template <class K, bool ValuesOnly, class M, class... D, std::size_t... I>
  void fill_module(const std::shared_ptr<void>& instance, framework::detail::type_list<D...>*, std::index_sequence<I...>) {
    constexpr bool match[] = {(std::is_same_v<framework::detail::key_of_t<D>, K> && framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::singleton &&
                               (!ValuesOnly || framework::detail::decl_traits<D>::kind == framework::detail::provider_kind::value))...,
                              false};
    constexpr std::size_t offset = offset_of<M>();
    for (std::size_t i = 0; i < sizeof...(D); ++i) {
      if (!match[i]) continue;
      if (singletons_.find(offset + i))
        throw std::logic_error("portico: replace()/supply after the provider was already resolved");
      singletons_.put(offset + i, instance);
    }
  }
  template <class K, bool ValuesOnly, class... M>
  void fill(const std::shared_ptr<void>& instance, framework::detail::type_list<M...>*) {
    (fill_module<K, ValuesOnly, M>(instance,
                                   static_cast<typename framework::detail::module_view<M, Overrides...>::providers*>(nullptr),
                                   std::make_index_sequence<framework::detail::module_view<M, Overrides...>::provider_count>{}),
     ...);
  }

  template <class V>
  void supply(V&& v) {
    using T = std::decay_t<V>;
    if constexpr (count_slots<T, true>(static_cast<modules*>(nullptr)) == 0) {
      framework::detail::raise_portico_error_not_a_value_provider<void, T>();
    } else {
      fill<T, true>(std::make_shared<T>(std::forward<V>(v)), static_cast<modules*>(nullptr));
    }
  }

  template <class... M>
  static void check_modules(framework::detail::type_list<M...>*) {
    (check_module<M>(), ...);
    check_overrides(static_cast<override_list*>(nullptr));
  }
  template <class... Ov>
  static void check_overrides(framework::detail::type_list<Ov...>*) {
    (check_override(static_cast<Ov*>(nullptr)), ...);
  }
  template <class K, class Impl>
  static void check_override(portico::override<K, Impl>*) {
    if constexpr (count_declared<K>(static_cast<modules*>(nullptr)) == 0)
      framework::detail::raise_portico_error_override_matches_no_provider<void, K>();
  }
  template <class K, class... M>
  static constexpr std::size_t count_declared(framework::detail::type_list<M...>*) {
    return (declared_count<K>(static_cast<typename framework::detail::module_info<M>::declared*>(nullptr)) + ... + 0);
  }
  template <class K, class... D>
  static constexpr std::size_t declared_count(framework::detail::type_list<D...>*) {
    return framework::detail::count_true({std::is_same_v<framework::detail::key_of_t<D>, K>..., false});
  }

  template <class M>
  static void check_module() {
    using part = typename framework::detail::module_info<M>::invalid_part;
    if constexpr (!std::is_void_v<part>) framework::detail::raise_portico_error_not_a_module_part<void, part, M>();
  }

  template <class... M>
  void instantiate_modules(framework::detail::type_list<M...>*) {
    (instantiate_providers<M>(static_cast<typename framework::detail::module_view<M, Overrides...>::providers*>(nullptr)), ...);
    (instantiate_components(static_cast<typename framework::detail::module_view<M, Overrides...>::components*>(nullptr)), ...);
  }
  template <class M, class... D>
  void instantiate_providers(framework::detail::type_list<D...>*) {
    (instantiate_provider<M, D>(), ...);
  }
  template <class M, class D>
  void instantiate_provider() {
    if constexpr (framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::singleton) (void)enter<M, framework::detail::key_of_t<D>&>(nullptr);
  }
  template <class... G>
  void instantiate_components(framework::detail::type_list<G...>*) {
    ((void)component<G>(), ...);
  }

  framework::detail::instance_table singletons_;

 public:
  template <class G, class... M>
  static constexpr std::size_t component_module_in(framework::detail::type_list<M...>*) {
    return framework::detail::first_true(
        {framework::detail::list_contains<G, typename framework::detail::module_view<M, Overrides...>::components>::value...,
         false});
  }
  /// Index of the module declaring G, or modules::size when none does.
  template <class G>
  static constexpr std::size_t component_module() {
    constexpr std::size_t found = component_module_in<G>(static_cast<modules*>(nullptr));
    return found < modules::size ? found : modules::size;
  }

  /// The module that declares a gateway or controller (the root module when none does).
  template <class G>
  using module_of_t = typename framework::detail::list_at<
      component_module<G>(), framework::detail::concat_t<modules, framework::detail::type_list<Root>>>::type;
};

}  // namespace portico
