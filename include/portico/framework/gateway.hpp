#pragma once
/// Declaring a gateway: its options, its event table, its guards.
///
///     struct EventGateway : portico::gateway<EventGateway> {
///       static constexpr auto options = portico::gateway_options{"/socket.io", "/events"};
///       using guards = portico::guards<TokenGuard>;          // at the namespace CONNECT
///       using filters = portico::filters<MyErrorFilter>;     // exceptions of every handler
///       using interceptors = portico::interceptors<Timing>;  // around every handler
///       MessageBody handle_event(const MessageBody& body);
///       static constexpr auto events = portico::events(
///           portico::subscribe("events", &EventGateway::handle_event));
///     };
///
/// Everything here is constexpr data read by the app when it builds its servers: the event table
/// is a tuple of (name, member function pointer, handler guards, filters, interceptors), so each handler is called
/// directly, never through a table of type-erased callables of its own.

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "filters.hpp"
#include "guards.hpp"
#include "interceptors.hpp"

namespace portico {

/// Which Engine.IO transports a path accepts.
enum class transports : unsigned { polling = 1, websocket = 2, polling_and_websocket = 3 };

/// Where a gateway listens and how its server behaves. A literal type, so it can be a
/// `static constexpr` member. Gateways on one path share one Socket.IO server: the app merges
/// their options (see docs/gateways.md, "Several gateways").
struct gateway_options {
  std::string_view path = "/socket.io";   ///< HTTP path of the Socket.IO server
  std::string_view namespace_name = "/";  ///< the Socket.IO namespace of this gateway ("chat" = "/chat")
  transports transport = transports::polling_and_websocket;
  std::string_view cors_origins = {};     ///< comma-separated allowed origins, "*" for any; empty: no CORS
  long ping_interval_ms = 0;              ///< 0: the server default (25000)
  long ping_timeout_ms = 0;               ///< 0: the server default (20000)
  bool disconnect_on_error = false;       ///< after sending an `error` event, disconnect the client

  constexpr gateway_options() = default;
  constexpr gateway_options(std::string_view p, std::string_view nsp = "/") : path(p), namespace_name(nsp) {}

  constexpr gateway_options with_transports(transports t) const {
    gateway_options o = *this;
    o.transport = t;
    return o;
  }
  constexpr gateway_options with_cors(std::string_view origins) const {
    gateway_options o = *this;
    o.cors_origins = origins;
    return o;
  }
  constexpr gateway_options with_ping(long interval_ms, long timeout_ms) const {
    gateway_options o = *this;
    o.ping_interval_ms = interval_ms;
    o.ping_timeout_ms = timeout_ms;
    return o;
  }
  constexpr gateway_options with_disconnect_on_error(bool yes = true) const {
    gateway_options o = *this;
    o.disconnect_on_error = yes;
    return o;
  }
  /// `namespace_name` as the server names it: empty is "/", a missing leading '/' is added.
  std::string normalized_namespace() const {
    if (namespace_name.empty()) return "/";
    return std::string(namespace_name.front() == '/' ? "" : "/") + std::string(namespace_name);
  }
};

/// Optional base of a gateway (documents intent; the app accepts any class listed in
/// `portico::gateways<...>`).
template <class Derived>
struct gateway {
  /// The gateway's own type: lets `PORTICO_SUBSCRIBE(member)` omit the class name.
  using portico_gateway_type = Derived;
};

/// One entry of a gateway's event table. `name == nullptr` is the catch-all.
template <class Fn, class Guards, class Filters = filters<>, class Interceptors = interceptors<>>
struct subscription {
  const char* name;
  Fn fn;
  using handler_guards = Guards;
  using handler_filters = Filters;
  using handler_interceptors = Interceptors;
  using function = Fn;
};

namespace framework::detail {

template <class P>
struct is_policy_list : std::false_type {};
template <class... T>
struct is_policy_list<guards<T...>> : std::true_type {};
template <class... T>
struct is_policy_list<filters<T...>> : std::true_type {};
template <class... T>
struct is_policy_list<interceptors<T...>> : std::true_type {};

/// The guards<...>, filters<...> and interceptors<...> values given after a handler, each kind
/// concatenated in the order given.
template <class... P>
struct policy_set {
  static_assert((is_policy_list<P>::value && ...),
                "portico: after the handler, give portico::guards<...>{}, portico::filters<...>{} or "
                "portico::interceptors<...>{} values only");
  template <template <class...> class Kind, class T>
  struct keep {
    using type = type_list<>;
  };
  template <template <class...> class Kind, class... T>
  struct keep<Kind, Kind<T...>> {
    using type = type_list<T...>;
  };
  using guards_type = rename_t<portico::guards, concat_t<typename keep<portico::guards, P>::type...>>;
  using filters_type = rename_t<portico::filters, concat_t<typename keep<portico::filters, P>::type...>>;
  using interceptors_type = rename_t<portico::interceptors, concat_t<typename keep<portico::interceptors, P>::type...>>;
  template <class Q>
  using plus = policy_set<P..., Q>;
};

template <class Fn, class... P>
using subscription_for = subscription<Fn, typename policy_set<P...>::guards_type, typename policy_set<P...>::filters_type,
                                      typename policy_set<P...>::interceptors_type>;

}  // namespace framework::detail

/// Subscribes member function `fn` to event `name`, with optional handler policies after it:
/// `portico::guards<AdminGuard>{}` (checked before it on every message),
/// `portico::filters<F...>{}` (tried before the class's filters on an exception),
/// `portico::interceptors<I...>{}` (inside the class's interceptors), in any order.
template <class Fn, class... P>
constexpr framework::detail::subscription_for<Fn, P...> subscribe(const char* name, Fn fn, P...) {
  static_assert(std::is_member_function_pointer_v<Fn>,
                "portico::subscribe(name, &Gateway::member): the handler must be a member function of the gateway");
  return {name, fn};
}

/// The catch-all: events of the namespace that have no subscription of their own
/// (`ctx.event()` says which).
template <class Fn, class... P>
constexpr framework::detail::subscription_for<Fn, P...> subscribe_any(Fn fn, P...) {
  static_assert(std::is_member_function_pointer_v<Fn>,
                "portico::subscribe_any(&Gateway::member): the handler must be a member function of the gateway");
  return {nullptr, fn};
}

/// The event table of a gateway: `static constexpr auto events = portico::events(...);`.
template <class... S>
constexpr std::tuple<S...> events(S... s) {
  return std::tuple<S...>{s...};
}

/// One entry of a gateway's server-event table: `fn(const socketio::args&)` runs when another
/// server of the cluster calls `server_side_emit(name, ...)` on the gateway's namespace; what it
/// returns (if not void) is the answer to a `server_side_emit_with_ack`.
template <class Fn>
struct server_subscription {
  const char* name;
  Fn fn;
};

/// Subscribes member function `fn` to server event `name` (Node's `io.on(name, ...)` for
/// `serverSideEmit`): `static constexpr auto server_events = portico::events(
/// portico::on_server_event("hello", &Gateway::hello));`. It runs on the cluster adapter's thread
/// (no gateway_context: there is no client); keep it short.
template <class Fn>
constexpr server_subscription<Fn> on_server_event(const char* name, Fn fn) {
  static_assert(std::is_member_function_pointer_v<Fn>,
                "portico::on_server_event(name, &Gateway::member): the handler must be a member function of the gateway");
  return {name, fn};
}

/// Subscribes a member under its own name: `PORTICO_SUBSCRIBE(EventGateway, handle_event)`.
/// Inside a class deriving from `portico::gateway<Self>`, `PORTICO_SUBSCRIBE(handle_event)` says the
/// same (a class template names itself: its base is dependent).
#define PORTICO_SUBSCRIBE(...) \
  PORTICO_DETAIL_SUBSCRIBE_PICK(__VA_ARGS__, PORTICO_DETAIL_SUBSCRIBE2, PORTICO_DETAIL_SUBSCRIBE1, )(__VA_ARGS__)
#define PORTICO_DETAIL_SUBSCRIBE_PICK(a, b, chosen, ...) chosen
#define PORTICO_DETAIL_SUBSCRIBE2(Gateway, member) ::portico::subscribe(#member, &Gateway::member)
#define PORTICO_DETAIL_SUBSCRIBE1(member) ::portico::subscribe(#member, &portico_gateway_type::member)

namespace framework::detail {

template <class G, class = void>
struct options_of {
  static constexpr gateway_options value{};
};
template <class G>
struct options_of<G, std::void_t<decltype(G::options)>> {
  static constexpr gateway_options value = G::options;
};

template <class G, class = void>
struct events_of {
  using type = std::tuple<>;
  static constexpr type value{};
};
template <class G>
struct events_of<G, std::void_t<decltype(G::events)>> {
  using type = std::remove_cv_t<decltype(G::events)>;
  static constexpr const type& value = G::events;
};

template <class G, class = void>
struct server_events_of {
  using type = std::tuple<>;
  static constexpr type value{};
};
template <class G>
struct server_events_of<G, std::void_t<decltype(G::server_events)>> {
  using type = std::remove_cv_t<decltype(G::server_events)>;
  static constexpr const type& value = G::server_events;
};

}  // namespace framework::detail

}  // namespace portico
