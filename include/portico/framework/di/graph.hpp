#pragma once
/// The dependency graph of a container, analysed at compile time before any construction code is
/// instantiated, and independently of the path by which a provider is reached: each provider is
/// analysed once. (Carrying the resolution path through the instantiations would instantiate a
/// provider once per path, which grows exponentially with shared dependencies.)
///
/// A node is a provider in its owning module; a root (gateway, controller, guard) is analysed
/// the same way. Direct dependencies come from an inject list or a factory signature, or, for a
/// deduced constructor, from a binary search per constructor position over the provider keys of
/// the graph with probes that accept only a range of keys. The edges go into constexpr arrays,
/// and a constexpr depth-first search finds cycles and singletons that reach per-connection
/// providers. Parameters that no provider answers are left out: resolving them reports the
/// missing provider.

#include <array>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "constructor.hpp"
#include "inject.hpp"
#include "module.hpp"
#include "providers.hpp"
#include "scopes.hpp"
#include "type_list.hpp"

namespace portico::framework::detail {

template <class Module, class Decl, scope_kind Scope>
struct node {
  using module = Module;
  using decl = Decl;
  using key = key_of_t<Decl>;
  static constexpr scope_kind scope = Scope;
};

/// The node of the provider of K that Module sees (void when none is visible).
template <class K, class Module, class Ov, bool Found = lookup<K, Module, Ov>::status == lookup_status::found>
struct provider_node {
  using type = void;
};
template <class K, class Module, class... Ov>
struct provider_node<K, Module, type_list<Ov...>, true> {
  using found = lookup<K, Module, type_list<Ov...>>;
  using owner = typename found::owner;
  using decl = typename list_at<found::index, typename module_view<owner, Ov...>::providers>::type;
  using type = node<owner, decl, decl_traits<decl>::scope>;
};

template <class R>
struct request_key {
  using type = std::remove_cv_t<std::remove_reference_t<R>>;
};
template <class T>
struct request_key<std::shared_ptr<T>> {
  using type = std::remove_cv_t<T>;
};
template <class T>
struct request_key<std::unique_ptr<T>> {
  using type = std::remove_cv_t<T>;
};
template <class R>
using request_key_t = typename request_key<std::remove_cv_t<std::remove_reference_t<R>>>::type;

// ---- which key a deduced constructor parameter asks for ----

/// Numbers the keys of a graph (Keys::size for a type that is not a key). Probes name this
/// class, not the key pack itself, so each probe instantiation stays small.
template <class Keys>
struct key_numbers;
template <class... Keys>
struct key_numbers<type_list<Keys...>> {
  static constexpr std::size_t size = sizeof...(Keys);
  template <class U>
  static constexpr std::size_t of = index_of_v<U, Keys...>;
};

/// Converts only to the keys numbered [Lo, Hi) (as K&, const K&, K, or a smart pointer to K).
template <class Owner, class Numbers, std::size_t Lo, std::size_t Hi>
struct range_probe {
  template <class U>
  static constexpr bool accepts = !std::is_same_v<U, Owner> && Numbers::template of<U> >= Lo && Numbers::template of<U> < Hi;

  template <class U, std::enable_if_t<!is_smart_pointer<std::remove_cv_t<U>>::value && accepts<std::remove_cv_t<U>>, int> = 0>
  operator U&() const;
  template <class U, std::enable_if_t<is_smart_pointer<U>::value && accepts<request_key_t<U>>, int> = 0>
  operator U() const;
};

template <class Impl, std::size_t Position, class Numbers, std::size_t Lo, std::size_t Hi, std::size_t... J>
constexpr bool position_takes(std::index_sequence<J...>) {
  return std::is_constructible_v<Impl, std::conditional_t<J == Position, range_probe<Impl, Numbers, Lo, Hi>, probe<Impl>>...>;
}

/// Binary search of the key a constructor position asks for: about 2*log2(keys) probes.
/// value: its number, or Numbers::size when the parameter is not a key of the graph.
template <class Impl, std::size_t Position, std::size_t Arity, class Numbers, std::size_t Lo, std::size_t Hi,
          bool Here = position_takes<Impl, Position, Numbers, Lo, Hi>(std::make_index_sequence<Arity>{}),
          bool Single = (Hi - Lo == 1)>
struct find_key {
  static constexpr std::size_t value = Numbers::size;  // not in this range
};
template <class Impl, std::size_t Position, std::size_t Arity, class Numbers, std::size_t Lo, std::size_t Hi>
struct find_key<Impl, Position, Arity, Numbers, Lo, Hi, true, true> {
  static constexpr std::size_t value = Lo;
};
template <class Impl, std::size_t Position, std::size_t Arity, class Numbers, std::size_t Lo, std::size_t Hi>
struct find_key<Impl, Position, Arity, Numbers, Lo, Hi, true, false> {
  static constexpr std::size_t mid = Lo + (Hi - Lo) / 2;
  static constexpr std::size_t left = find_key<Impl, Position, Arity, Numbers, Lo, mid>::value;
  static constexpr std::size_t value =
      left < Numbers::size ? left : find_key<Impl, Position, Arity, Numbers, mid, Hi>::value;
};

template <class Impl, std::size_t Arity, class AllKeys, class Positions = std::make_index_sequence<Arity>>
struct deduced_keys;
template <class Impl, std::size_t Arity, class... K, std::size_t... P>
struct deduced_keys<Impl, Arity, type_list<K...>, std::index_sequence<P...>> {
  using numbers = key_numbers<type_list<K...>>;
  template <std::size_t Position>
  static constexpr std::size_t at = sizeof...(K) == 0 ? 0 : find_key<Impl, Position, Arity, numbers, 0, sizeof...(K)>::value;
  template <std::size_t Index>
  using key_list = std::conditional_t<(Index < sizeof...(K)), type_list<type_at_t<(Index < sizeof...(K) ? Index : 0), K..., void>>,
                                      type_list<>>;
  using type = concat_t<type_list<>, key_list<at<P>>...>;
};

/// The keys Impl's constructor asks for (empty when it has none the container can call).
template <class Impl, class AllKeys, bool Listed = has_inject_list<Impl>::value>
struct constructor_keys {
  template <class... R>
  static type_list<request_key_t<R>...> keys(type_list<R...>*);
  using type = decltype(keys(static_cast<typename Impl::inject::requests*>(nullptr)));
};
template <class Impl, class AllKeys>
struct constructor_keys<Impl, AllKeys, false> {
  static constexpr ctor_info info = constructor_of<Impl>::info;
  using type = std::conditional_t<std::is_abstract_v<Impl> || info.status != ctor_status::found, type_list<>,
                                  typename deduced_keys<Impl, info.status == ctor_status::found ? info.arity : 0,
                                                        AllKeys>::type>;
};

template <class Decl, class AllKeys, provider_kind Kind = decl_traits<Decl>::kind>
struct decl_keys {
  using type = typename constructor_keys<typename decl_traits<Decl>::impl, AllKeys>::type;
};
template <class Decl, class AllKeys>
struct decl_keys<Decl, AllKeys, provider_kind::value> {
  using type = type_list<>;
};
template <class Decl, class AllKeys>
struct decl_keys<Decl, AllKeys, provider_kind::factory> {
  using signature = factory_signature<std::remove_cv_t<decltype(decl_traits<Decl>::fn)>>;
  template <class... R>
  static type_list<request_key_t<R>...> keys(type_list<R...>*);
  using type = decltype(keys(static_cast<typename signature::args*>(nullptr)));
};

// ---- the graph of one container ----

/// Outcome of the analysis below one entry point.
template <std::size_t N>
struct verdict {
  bool cycle = false;
  std::size_t cycle_length = 0;             // nodes on the path, the first repeated at the end
  std::array<std::size_t, N + 1> cycle_path{};
  bool widening = false;                    // a singleton reaches a per-connection provider
  std::size_t widening_from = 0;            // the singleton: index, or N for the entry itself (a root)
  std::size_t widening_to = 0;               // the per-connection provider it reaches
};

template <class Modules, class Ov>
struct graph;

template <class... M, class... Ov>
struct graph<type_list<M...>, type_list<Ov...>> {
  using overrides = type_list<Ov...>;

  template <class... D>
  static type_list<key_of_t<D>...> keys_of(type_list<D...>*);
  /// Every key provided somewhere in the graph: the candidates for a deduced parameter.
  using all_keys = concat_t<type_list<>, decltype(keys_of(static_cast<typename module_view<M, Ov...>::providers*>(nullptr)))...>;

  template <class Module, class... D>
  static type_list<node<Module, D, decl_traits<D>::scope>...> module_nodes(type_list<D...>*);
  /// Every provider of every module: the nodes, numbered in this order.
  using all_nodes =
      concat_t<type_list<>, decltype(module_nodes<M>(static_cast<typename module_view<M, Ov...>::providers*>(nullptr)))...>;
  static constexpr std::size_t size = all_nodes::size;

  template <class Module, class... K>
  static concat_t<type_list<>, std::conditional_t<std::is_void_v<typename provider_node<K, Module, overrides>::type>, type_list<>,
                                                  type_list<typename provider_node<K, Module, overrides>::type>>...>
      nodes_of(type_list<K...>*);

  /// Direct dependencies of a node (a provider or a root), as nodes.
  template <class Node>
  struct deps {
    using keys = typename decl_keys<typename Node::decl, all_keys>::type;
    using type = decltype(nodes_of<typename Node::module>(static_cast<keys*>(nullptr)));
  };

  template <class X, class... A>
  static constexpr std::size_t number_in(type_list<A...>*) {
    return index_of_v<X, A...>;
  }
  template <class X>
  static constexpr std::size_t number_of = number_in<X>(static_cast<all_nodes*>(nullptr));

  template <class... D>
  static constexpr std::array<std::size_t, sizeof...(D)> numbers(type_list<D...>*) {
    return {{number_of<D>...}};
  }
  template <class Node>
  static constexpr auto dep_numbers = numbers(static_cast<typename deps<Node>::type*>(nullptr));

  template <class... X>
  static constexpr std::size_t count_edges(type_list<X...>*) {
    return (deps<X>::type::size + ... + 0);
  }
  static constexpr std::size_t edge_count = count_edges(static_cast<all_nodes*>(nullptr));

  /// The whole graph as arrays: edges of node i are edge[offset[i] .. offset[i+1]).
  struct table {
    std::array<std::size_t, size + 1> offset{};
    std::array<std::size_t, (edge_count > 0 ? edge_count : 1)> edge{};
    std::array<scope_kind, (size > 0 ? size : 1)> scope{};
  };

  template <std::size_t K>
  static constexpr void add_node(table& t, std::size_t& pos, std::size_t i, scope_kind sc,
                                 const std::array<std::size_t, K>& ds) {
    t.offset[i] = pos;
    t.scope[i] = sc;
    for (std::size_t d : ds) t.edge[pos++] = d;
  }
  template <class... X>
  static constexpr table build(type_list<X...>*) {
    table t{};
    std::size_t pos = 0;
    std::size_t i = 0;
    ((add_node(t, pos, i++, X::scope, dep_numbers<X>)), ...);
    t.offset[size] = pos;
    return t;
  }
  static constexpr table edges = build(static_cast<all_nodes*>(nullptr));

  /// Depth-first search from `start`: finds a cycle (as a path) and marks what is reachable.
  template <std::size_t S>
  static constexpr verdict<size> analyse(const std::array<std::size_t, S>& start, bool root_singleton) {
    verdict<size> v{};
    std::array<int, (size > 0 ? size : 1)> color{};  // 0 unseen, 1 on the current path, 2 done
    std::array<std::size_t, size + 1> stack{};
    std::array<std::size_t, size + 1> next{};
    for (std::size_t s : start) {
      if (color[s] != 0) continue;
      std::size_t top = 0;
      stack[0] = s;
      next[0] = edges.offset[s];
      color[s] = 1;
      while (true) {
        std::size_t at = stack[top];
        if (next[top] < edges.offset[at + 1]) {
          std::size_t to = edges.edge[next[top]++];
          if (color[to] == 1) {
            std::size_t from = 0;
            while (stack[from] != to) ++from;
            // Rotate so the cycle starts at its lowest-numbered node: every entry point that
            // meets this cycle reports it identically (one diagnostic).
            std::size_t length = top - from + 1;
            std::size_t low = from;
            for (std::size_t k = from; k <= top; ++k)
              if (stack[k] < stack[low]) low = k;
            for (std::size_t k = 0; k < length; ++k) v.cycle_path[k] = stack[from + (low - from + k) % length];
            v.cycle_path[length] = v.cycle_path[0];
            v.cycle_length = length + 1;
            v.cycle = true;
            return v;
          }
          if (color[to] == 0) {
            color[to] = 1;
            ++top;
            stack[top] = to;
            next[top] = edges.offset[to];
          }
        } else {
          color[at] = 2;
          if (top == 0) break;
          --top;
        }
      }
    }
    // Scope widening: a singleton (the root itself, then reachable providers) that depends on a
    // per-connection provider directly is the clearest culprit; else one that reaches one.
    for (int pass = 0; pass < 2 && !v.widening; ++pass) {
      if (root_singleton) {
        std::size_t found = size;
        if (pass == 0) {
          for (std::size_t d : start)
            if (edges.scope[d] == scope_kind::per_connection) found = d;
        } else {
          found = reach_per_connection(start.data(), S);
        }
        if (found < size) {
          v.widening = true;
          v.widening_from = size;
          v.widening_to = found;
          break;
        }
      }
      for (std::size_t n = 0; n < size && !v.widening; ++n) {
        if (color[n] != 2 || edges.scope[n] != scope_kind::singleton) continue;
        std::size_t found = size;
        if (pass == 0) {
          for (std::size_t e = edges.offset[n]; e < edges.offset[n + 1]; ++e)
            if (edges.scope[edges.edge[e]] == scope_kind::per_connection) found = edges.edge[e];
        } else {
          found = reach_per_connection(&edges.edge[0] + edges.offset[n], edges.offset[n + 1] - edges.offset[n]);
        }
        if (found < size) {
          v.widening = true;
          v.widening_from = n;
          v.widening_to = found;
        }
      }
    }
    return v;
  }

  /// A per-connection node reachable from the given nodes (size when none).
  static constexpr std::size_t reach_per_connection(const std::size_t* from, std::size_t count) {
    std::array<bool, (size > 0 ? size : 1)> seen{};
    std::array<std::size_t, (size > 0 ? size : 1)> todo{};
    std::size_t pending = 0;
    for (std::size_t k = 0; k < count; ++k)
      if (!seen[from[k]]) {
        seen[from[k]] = true;
        todo[pending++] = from[k];
      }
    while (pending > 0) {
      std::size_t at = todo[--pending];
      if (edges.scope[at] == scope_kind::per_connection) return at;
      for (std::size_t e = edges.offset[at]; e < edges.offset[at + 1]; ++e) {
        std::size_t to = edges.edge[e];
        if (!seen[to]) {
          seen[to] = true;
          todo[pending++] = to;
        }
      }
    }
    return size;
  }

  /// What an entry point (a resolution from outside the container) must check before it builds.
  /// Entry is a provider node, or a root (a gateway, controller or guard) that is not one.
  template <class Entry>
  struct check {
    static constexpr std::size_t number = number_of<Entry>;
    static constexpr bool is_root = number >= size;
    static constexpr auto start() {
      if constexpr (is_root) {
        return dep_numbers<Entry>;
      } else {
        return std::array<std::size_t, 1>{{number}};
      }
    }
    static constexpr verdict<size> result = analyse(start(), is_root && Entry::scope == scope_kind::singleton);
    static constexpr bool ok = !result.cycle && !result.widening;
  };
};

}  // namespace portico::framework::detail
