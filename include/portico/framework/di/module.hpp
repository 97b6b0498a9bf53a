#pragma once
/// Modules: `portico::module<Parts...>` with parts in any order, each optional:
///   providers<...>    what this module constructs (see providers.hpp)
///   controllers<...>  HTTP controllers (singletons constructed in this module)
///   gateways<...>     Socket.IO gateways (singletons constructed in this module)
///   imports<M...>     modules whose EXPORTED providers this module may inject
///   exports<...>      keys of this module's providers that importers may inject, or imported
///                     modules whose exports are re-exported
/// A module sees its own providers and what its direct imports export; nothing else.

#include <cstddef>
#include <type_traits>

#include "errors.hpp"
#include "providers.hpp"
#include "type_list.hpp"

namespace portico {

template <class... T>
struct controllers {};
template <class... T>
struct gateways {};
template <class... M>
struct imports {};
template <class... T>
struct exports {};
template <class... Parts>
struct module {};

/// Test-time replacement: every provider of `Key` in the graph constructs `Implementation`
/// instead (same scope, dependencies resolved in the module that declared the provider).
template <class Key, class Implementation>
struct override {};

namespace framework::detail {

template <class Part>
struct part_lists {
  /// Not a module part: report it once, give empty lists so nothing else fails.
  static constexpr bool valid = false;
  using providers = type_list<>;
  using controllers = type_list<>;
  using gateways = type_list<>;
  using imports = type_list<>;
  using exports = type_list<>;
};
struct empty_parts {
  static constexpr bool valid = true;
  using providers = type_list<>;
  using controllers = type_list<>;
  using gateways = type_list<>;
  using imports = type_list<>;
  using exports = type_list<>;
};
template <class... T>
struct part_lists<portico::providers<T...>> : empty_parts {
  using providers = type_list<T...>;
};
template <class... T>
struct part_lists<portico::controllers<T...>> : empty_parts {
  using controllers = type_list<T...>;
};
template <class... T>
struct part_lists<portico::gateways<T...>> : empty_parts {
  using gateways = type_list<T...>;
};
template <class... T>
struct part_lists<portico::imports<T...>> : empty_parts {
  using imports = type_list<T...>;
};
template <class... T>
struct part_lists<portico::exports<T...>> : empty_parts {
  using exports = type_list<T...>;
};

/// Replaces a provider declaration by the first matching override, keeping its scope.
template <class Decl, class... Overrides>
struct apply_overrides {
  using type = Decl;
};
template <class Decl, class K, class Impl, class... Rest>
struct apply_overrides<Decl, portico::override<K, Impl>, Rest...> {
  using type = std::conditional_t<
      std::is_same_v<key_of_t<Decl>, K>,
      typename with_scope<decl_traits<Decl>::scope, portico::bind<K, Impl>>::type,
      typename apply_overrides<Decl, Rest...>::type>;
};

/// A module is portico::module<Parts...> or a class derived from it (`struct AuthModule :
/// portico::module<...> {};` gives diagnostics a readable name).
template <class... Parts>
type_list<Parts...> module_parts(const portico::module<Parts...>*);

template <class M, class = void>
struct is_module : std::false_type {};
template <class M>
struct is_module<M, std::void_t<decltype(module_parts(static_cast<const M*>(nullptr)))>> : std::true_type {};

template <class Module, class Parts = decltype(module_parts(static_cast<const Module*>(nullptr)))>
struct module_info;

/// The parts of a module, as declared.
template <class Module, class... Parts>
struct module_info<Module, type_list<Parts...>> {
  using module = Module;
  /// The first part that is not a module part (void when all are).
  using invalid_part = typename list_at<first_true({!part_lists<Parts>::valid..., true}),
                                        type_list<Parts..., void>>::type;
  using declared = concat_t<type_list<>, typename part_lists<Parts>::providers...>;
  using providers = declared;
  using controllers = concat_t<type_list<>, typename part_lists<Parts>::controllers...>;
  using gateways = concat_t<type_list<>, typename part_lists<Parts>::gateways...>;
  using components = concat_t<gateways, controllers>;
  using imports = concat_t<type_list<>, typename part_lists<Parts>::imports...>;
  using exports = concat_t<type_list<>, typename part_lists<Parts>::exports...>;
};

template <class List, class... Overrides>
struct rewrite_providers;
template <class... D, class... Overrides>
struct rewrite_providers<type_list<D...>, Overrides...> {
  using type = type_list<typename apply_overrides<D, Overrides...>::type...>;
};

/// module_info with overrides applied to the provider list.
template <class Module, class... Overrides>
struct module_view : module_info<Module> {
  using providers = typename rewrite_providers<typename module_info<Module>::declared, Overrides...>::type;
  static constexpr std::size_t provider_count = providers::size;
  static constexpr std::size_t slot_count = provider_count + module_info<Module>::components::size;
};

// ---- the module graph: every module reachable through imports, each once, root first ----

template <class Visited, class Pending>
struct collect_modules;
template <class... V>
struct collect_modules<type_list<V...>, type_list<>> {
  using type = type_list<V...>;
};
template <bool Seen, class Visited, class M, class Rest>
struct collect_step;
template <class... V, class M, class... R>
struct collect_step<true, type_list<V...>, M, type_list<R...>>
    : collect_modules<type_list<V...>, type_list<R...>> {};
template <class... V, class M, class... R>
struct collect_step<false, type_list<V...>, M, type_list<R...>>
    : collect_modules<type_list<V..., M>, concat_t<typename module_info<M>::imports, type_list<R...>>> {};
template <class... V, class M, class... R>
struct collect_modules<type_list<V...>, type_list<M, R...>>
    : collect_step<contains_v<M, V...>, type_list<V...>, M, type_list<R...>> {};

template <class Root>
using all_modules_t = typename collect_modules<type_list<>, type_list<Root>>::type;

template <class Modules, class... Overrides>
struct all_components;
template <class... M, class... Overrides>
struct all_components<type_list<M...>, Overrides...> {
  using gateways = concat_t<type_list<>, typename module_info<M>::gateways...>;
  using controllers = concat_t<type_list<>, typename module_info<M>::controllers...>;
};

// ---- lookup of a key from a module ----

template <class K, class List>
struct key_index;
template <class K, class... D>
struct key_index<K, type_list<D...>> {
  static constexpr std::size_t value = first_true({std::is_same_v<K, key_of_t<D>>..., false});
  static constexpr bool found = value < sizeof...(D);
};

template <class K, class Module, class Ov>
struct exported_by;

/// Whether Module exports K: it provides K and lists it in exports, or it re-exports an
/// imported module that exports K.
template <class K, class Module, class... Ov>
struct exported_by<K, Module, type_list<Ov...>> {
  using view = module_view<Module, Ov...>;
  template <class E>
  static constexpr bool via(E*) {
    if constexpr (std::is_same_v<E, K>) {
      return key_index<K, typename view::providers>::found;
    } else if constexpr (is_module<E>::value) {
      return list_contains<E, typename view::imports>::value && exported_by<K, E, type_list<Ov...>>::value;
    } else {
      return false;
    }
  }
  template <class... E>
  static constexpr bool any(type_list<E...>*) {
    return (via(static_cast<E*>(nullptr)) || ...);
  }
  static constexpr bool value = any(static_cast<typename view::exports*>(nullptr));
};

enum class lookup_status { found, not_exported, missing };

template <class K, class Module, class Ov>
struct lookup;

template <class K, class Module, class... Ov>
struct lookup<K, Module, type_list<Ov...>> {
  using view = module_view<Module, Ov...>;
  using own = key_index<K, typename view::providers>;

  template <class... I>
  static constexpr std::size_t first_exporting(type_list<I...>*) {
    return first_true({exported_by<K, I, type_list<Ov...>>::value..., false});
  }
  template <class... I>
  static constexpr std::size_t first_hiding(type_list<I...>*) {
    return first_true({key_index<K, typename module_view<I, Ov...>::providers>::found..., false});
  }
  static constexpr std::size_t exporting = first_exporting(static_cast<typename view::imports*>(nullptr));
  static constexpr std::size_t hiding = first_hiding(static_cast<typename view::imports*>(nullptr));
  static constexpr std::size_t import_count = view::imports::size;

  static constexpr lookup_status status = own::found                  ? lookup_status::found
                                          : exporting < import_count   ? lookup_status::found
                                          : hiding < import_count      ? lookup_status::not_exported
                                                                       : lookup_status::missing;

  template <bool Own, bool Exported, class = void>
  struct where {
    using owner = Module;  // unused when not found
    static constexpr std::size_t index = 0;
    using hidden_in = Module;
  };
  template <bool E, class V>
  struct where<true, E, V> {
    using owner = Module;
    static constexpr std::size_t index = own::value;
    using hidden_in = Module;
  };
  template <class V>
  struct where<false, true, V> {
    using from = typename list_at<exporting, typename view::imports>::type;
    using inner = lookup<K, from, type_list<Ov...>>;
    using owner = typename inner::owner;
    static constexpr std::size_t index = inner::index;
    using hidden_in = Module;
  };
  template <class V>
  struct where<false, false, V> {
    using owner = Module;
    static constexpr std::size_t index = 0;
    using hidden_in = typename list_at<(hiding < import_count ? hiding : 0),
                                       concat_t<typename view::imports, type_list<Module>>>::type;
  };
  using located = where<own::found, (exporting < import_count)>;
  /// The module whose provider is used, and its index in that module's provider list.
  using owner = typename located::owner;
  static constexpr std::size_t index = located::index;
  /// For lookup_status::not_exported: the imported module that provides K without exporting it.
  using hidden_in = typename located::hidden_in;
};

}  // namespace framework::detail
}  // namespace portico
