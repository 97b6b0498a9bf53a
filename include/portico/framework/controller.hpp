#pragma once
/// Declaring a controller: HTTP routes and plain WebSocket routes under a prefix, on a class the
/// DI container constructs (Ellar's `@Controller('/car')`).
///
///     struct CarController : portico::controller<CarController> {
///       static constexpr auto options = portico::controller_options{"/car"};
///       using guards = portico::guards<NotBanned>;           // every route of the class
///       explicit CarController(Pages& pages);                 // injected
///       http::response index(std::string name);
///       template <class Routes> void routes(Routes& r) {       // called once by the app
///         r.get("/ws-index", &CarController::index, http::query<std::string>("name", "John"));
///         r.ws("/live-support", &CarController::chat, portico::guards<AdminGuard>{});
///       }
///     };
///
/// `Routes` is `portico::controller_routes<...>`: get/post/put/patch/del/ws with the signatures
/// of `http::route_group`, taking member function pointers or any callable, and optionally
/// `portico::guards<...>{}`, `portico::filters<...>{}`, `portico::interceptors<...>{}` values right
/// after the handler (route policies, any order). Guards run global -> class -> route before
/// the handler (before the 101 for a ws route), constructed through the container as seen from
/// the controller's module, with `portico::http_context`. Then interceptors (global, class, then
/// route; plain and deferred routes) around the handler; filters (route, class, then global) map
/// what a guard, an interceptor or the handler throws to a response (docs/guards.md).
/// Guards get no connection scope: one that injects a per_connection provider is a compile error
/// (`portico_error_used_without_connection_depends_on_per_connection<Guard, Provider>`).

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../http/exception.hpp"
#include "../http/router.hpp"
#include "exception_host.hpp"
#include "filters.hpp"
#include "gateway.hpp"
#include "global_policies.hpp"
#include "guards.hpp"
#include "http_context.hpp"
#include "interceptors.hpp"

namespace portico {

/// Where a controller's routes live. A literal type, so it can be a `static constexpr` member.
struct controller_options {
  std::string_view prefix = {};  ///< prepended to every route pattern ("/car")

  constexpr controller_options() = default;
  constexpr controller_options(std::string_view p) : prefix(p) {}
};

/// Optional base of a controller (documents intent; the app accepts any class listed in
/// `portico::controllers<...>` that has a `routes(Routes&)` member).
template <class Derived>
struct controller {};

/// Thrown by a guard or a handler: the request is answered with that status and
/// `{"detail": ...}` (a ws upgrade is refused with it). See http/exception.hpp.
using http_exception = http::http_exception;

namespace framework::detail {

template <class C, class = void>
struct controller_options_of {
  static constexpr controller_options value{};
};
template <class C>
struct controller_options_of<C, std::void_t<decltype(C::options)>> {
  static constexpr controller_options value = C::options;
};

template <class C, class R, class = void>
struct has_routes : std::false_type {};
template <class C, class R>
struct has_routes<C, R, std::void_t<decltype(std::declval<C&>().routes(std::declval<R&>()))>> : std::true_type {};

/// A member function pointer bound to the controller instance. SFINAE-friendly, so the router's
/// "does it take http::request& first?" test sees the member's real signature.
template <class C, class Fn>
struct bound_member {
  C* self;
  Fn fn;
  template <class... A>
  auto operator()(A&&... a) const -> decltype((std::declval<C&>().*std::declval<Fn&>())(std::forward<A>(a)...)) {
    return (self->*fn)(std::forward<A>(a)...);
  }
};

template <class C, class F>
auto bind_handler(C* self, F f) {
  if constexpr (std::is_member_function_pointer_v<F>) return bound_member<C, F>{self, f};
  else return f;
}

/// How filters and interceptors of a route are built (no connection scope) and how a filter
/// answers: one that sends no response passes the exception on (`throw;`).
template <class Container, class Module>
struct http_policy_env {
  Container& c;
  http_context& ctx;
  std::optional<http::response> answer;
  template <class T>
  T make() {
    return c.template make_unscoped<T, Module>();
  }
  template <class F, class E>
  void handle(F& f, const E& ex) {
    http_exception_host host(ctx);
    f.catch_exception(ex, host);
    if (!host.answered()) throw;
    answer = std::move(*host.response());
  }
};

/// One guard of an HTTP route: built without a connection scope (none exists for a request).
template <class G, class Module, class Container>
bool run_http_guard(Container& c, http_context& ctx) {
  if constexpr (!has_can_activate<G, http_context>::value) {
    static_cast<void>(c), static_cast<void>(ctx);
    return raise_portico_error_guard_without_can_activate<bool, G, http_context>();
  } else {
    return static_cast<bool>(c.template make_unscoped<G, Module>().can_activate(ctx));
  }
}

/// The chain in order; the first refusal (false or an exception) stops it.
template <class Module, class Container, class... G>
bool run_http_guards(Container& c, http_context& ctx, guards<G...>*) {
  return (run_http_guard<G, Module>(c, ctx) && ...);
}

}  // namespace framework::detail

/// The `Routes` a controller's `routes()` receives: routes added here are served under the
/// controller's prefix with its guards.
template <class Container, class C, class Global>
class controller_routes {
 public:
  using container_type = Container;
  using controller_type = C;
  using module = typename Container::template module_of_t<C>;

  /// Which kind of route a call adds (policies differ: interceptors wrap plain and deferred routes).
  enum class route_kind { plain, deferred, ws };

  controller_routes(Container& c, C& self, http::route_group group) : container_(&c), self_(&self), group_(std::move(group)) {}

  template <class F, class... A>
  http::route& get(std::string pattern, F f, A... args) {
    return add("GET", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& post(std::string pattern, F f, A... args) {
    return add("POST", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& put(std::string pattern, F f, A... args) {
    return add("PUT", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& patch(std::string pattern, F f, A... args) {
    return add("PATCH", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& del(std::string pattern, F f, A... args) {
    return add("DELETE", std::move(pattern), std::move(f), std::move(args)...);
  }

  /// Deferred routes: `f(http::responder, params...)` answers later with responder.send(), from
  /// any thread (see http::route_builder::add_deferred).
  template <class F, class... A>
  http::route& get_deferred(std::string pattern, F f, A... args) {
    return add_deferred("GET", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& post_deferred(std::string pattern, F f, A... args) {
    return add_deferred("POST", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& add_deferred(std::string method, std::string pattern, F f, A... args) {
    return peel<route_kind::deferred, framework::detail::policy_set<>>(std::move(method), std::move(pattern),
                                                                       std::move(f), std::move(args)...);
  }

  /// Plain mode: `f(const http::websocket_ptr&, params...)`; event mode: an `http::ws_events<Body, T...>`.
  template <class F, class... A>
  http::ws_route& ws(std::string pattern, F f, A... args) {
    return peel<route_kind::ws, framework::detail::policy_set<>>(std::string(), std::move(pattern), std::move(f),
                                                                 std::move(args)...);
  }

  C& controller() const noexcept { return *self_; }
  Container& container() const noexcept { return *container_; }

 private:
  template <class F, class... A>
  http::route& add(std::string method, std::string pattern, F f, A... args) {
    return peel<route_kind::plain, framework::detail::policy_set<>>(std::move(method), std::move(pattern), std::move(f),
                                                                    std::move(args)...);
  }

  /// Moves the leading guards/filters/interceptors values into Set; the rest are parameters.
  template <route_kind Kind, class Set, class F, class... A>
  decltype(auto) peel(std::string method, std::string pattern, F f, A... args) {
    if constexpr (sizeof...(A) > 0)
      return peel_first<Kind, Set>(std::move(method), std::move(pattern), std::move(f), std::move(args)...);
    else
      return finish<Kind, Set>(std::move(method), std::move(pattern), std::move(f));
  }
  template <route_kind Kind, class Set, class F, class First, class... Rest>
  decltype(auto) peel_first(std::string method, std::string pattern, F f, First first, Rest... rest) {
    if constexpr (framework::detail::is_policy_list<First>::value)
      return peel<Kind, typename Set::template plus<First>>(std::move(method), std::move(pattern), std::move(f),
                                                            std::move(rest)...);
    else
      return finish<Kind, Set>(std::move(method), std::move(pattern), std::move(f), std::move(first), std::move(rest)...);
  }

  template <route_kind Kind, class Set, class F, class... P>
  decltype(auto) finish(std::string method, std::string pattern, F f, P... params) {
    auto h = framework::detail::bind_handler(self_, std::move(f));
    if constexpr (Kind == route_kind::ws) {
      static_assert(std::is_same_v<typename Set::interceptors_type, interceptors<>>,
                    "portico: interceptors apply to plain HTTP routes, not to ws routes");
      http::ws_route& r = group_.ws(std::move(pattern), std::move(h), std::move(params)...);
      protect<Set>(r, true);
      return r;
    } else if constexpr (Kind == route_kind::deferred) {
      http::route& r = group_.add_deferred(std::move(method), std::move(pattern), std::move(h), std::move(params)...);
      protect<Set>(r, false);
      wrap_deferred<Set>(r);
      return r;
    } else {
      http::route& r = group_.add(std::move(method), std::move(pattern), std::move(h), std::move(params)...);
      protect<Set>(r, false);
      wrap<Set>(r);
      return r;
    }
  }

  /// The app's guards, filters and interceptors (Global: `guards<...>` or `global_policies<...>`).
  using global_set = framework::detail::globals_of_t<Global>;
  template <class Set>
  using chain_guards = combine_guards_t<typename global_set::guards_type, guards_of_t<C>, typename Set::guards_type>;
  /// The route's filters first, then the class's, then the app's that serve routes.
  template <class Set>
  using chain_filters = combine_filters_t<typename Set::filters_type, filters_of_t<C>,
                                          serving_t<typename global_set::filters_type, http_exception_host>>;
  /// The app's interceptors first (outermost), then the class's, then the route's.
  template <class Set>
  using chain_interceptors =
      combine_interceptors_t<typename global_set::interceptors_type, interceptors_of_t<C>, typename Set::interceptors_type>;
  using env_type = framework::detail::http_policy_env<Container, module>;

  /// One check per route running the whole guard chain (inside the filters when there are
  /// some: NestJS's order); none when both are empty. The router maps what escapes it:
  /// http_exception -> its status, other exceptions -> 500 + log line.
  template <class Set, class R>
  void protect(R& route, bool websocket) {
    using guards_list = chain_guards<Set>;
    using filters_list = chain_filters<Set>;
    if constexpr (!filters_valid<filters_list, http_exception_host>()) {
      static_cast<void>(check_filters<filters_list, http_exception_host>());
    } else if constexpr (!std::is_same_v<filters_list, filters<>> && !std::is_same_v<guards_list, guards<>>) {
      Container* c = container_;
      route.check([c, websocket](const http::request& req) -> std::optional<http::response> {
        http_context ctx(req, websocket);
        env_type env{*c, ctx, std::nullopt};
        run_with_filters<filters_list>(env, [&] {
          if (!framework::detail::run_http_guards<module>(*c, ctx, static_cast<guards_list*>(nullptr)))
            throw http_exception(403, "Forbidden");
        });
        return std::move(env.answer);
      });
    } else if constexpr (!std::is_same_v<guards_list, guards<>>) {
      Container* c = container_;
      route.check([c, websocket](const http::request& req) -> std::optional<http::response> {
        http_context ctx(req, websocket);
        if (framework::detail::run_http_guards<module>(*c, ctx, static_cast<guards_list*>(nullptr))) return std::nullopt;
        return http::error(403, "Forbidden");
      });
    } else {
      static_cast<void>(route), static_cast<void>(websocket);
    }
  }

  /// The handler inside the route's interceptors and filters; untouched when it has neither.
  template <class Set>
  void wrap(http::route& route) {
    using filters_list = chain_filters<Set>;
    using interceptors_list = chain_interceptors<Set>;
    if constexpr (!interceptors_valid<interceptors_list, http_context, http::response>()) {
      static_cast<void>(check_interceptors<interceptors_list, http_context, http::response>());
    } else if constexpr (filters_valid<filters_list, http_exception_host>() &&
                         !(std::is_same_v<filters_list, filters<>> && std::is_same_v<interceptors_list, interceptors<>>)) {
      Container* c = container_;
      route.handler = [c, inner = std::move(route.handler)](http::request& req) -> http::response {
        http_context ctx(req, false);
        env_type env{*c, ctx, std::nullopt};
        http::response out;
        run_with_filters<filters_list>(env, [&] {
          run_with_interceptors<interceptors_list>(env, ctx, out, [&](http::response& r) { r = inner(req); });
        });
        if (env.answer) return std::move(*env.answer);
        return out;
      };
    } else {
      static_cast<void>(route);
    }
  }

  /// A deferred route inside its interceptors (the `after`s run when the responder answers,
  /// on that thread) and filters (what `before` or the handler throws at once; what an `after`
  /// throws is mapped as the router maps it: http_exception -> its status, else 500).
  template <class Set>
  void wrap_deferred(http::route& route) {
    using filters_list = chain_filters<Set>;
    using interceptors_list = chain_interceptors<Set>;
    if constexpr (!interceptors_valid<interceptors_list, http_context, http::response>()) {
      static_cast<void>(check_interceptors<interceptors_list, http_context, http::response>());
    } else if constexpr (filters_valid<filters_list, http_exception_host>() &&
                         !std::is_same_v<interceptors_list, interceptors<>>) {
      struct call {  // one request: outlives the handler's return until the answer
        explicit call(const http::request& r) : req(r), ctx(req, false) {}
        http::request req;  // a copy: the router's is gone when a late answer comes
        http_context ctx;
        http::response result;
        deferred_interceptors<interceptors_list, http_context, http::response> chain;
        std::atomic<bool> failed{false};  // an exception answered: no `after` runs
      };
      Container* c = container_;
      route.deferred = [c, inner = std::move(route.deferred)](http::request& req, http::responder rsp) {
        auto st = std::make_shared<call>(req);
        auto finish = [st, rsp] {
          try {
            st->chain.after(st->ctx, st->result);
          } catch (const http_exception& e) {
            st->result = e.to_response();
          } catch (...) {
            st->result = http::error(500, "Internal Server Error");
          }
          rsp.send(std::move(st->result));
        };
        env_type env{*c, st->ctx, std::nullopt};
        bool proceed = false;
        try {
          run_with_filters<filters_list>(env, [&] {
            proceed = st->chain.before(env, st->ctx, st->result);
            if (!proceed) return;
            http::responder later([st, finish](http::response r) {
              if (st->failed.load()) return;
              st->result = std::move(r);
              finish();
            });
            try {
              inner(req, later);
            } catch (...) {
              st->failed = true;  // `later` dies unanswered below: its 500 must not run the `after`s
              throw;
            }
          });
        } catch (...) {
          st->failed = true;
          throw;
        }
        if (env.answer) {
          st->failed = true;
          rsp.send(std::move(*env.answer));
        } else if (!proceed) {
          finish();
        }
      };
    } else {
      static_cast<void>(route);
    }
  }

  Container* container_;
  C* self_;
  http::route_group group_;
};

namespace framework::detail {

/// Lets controller C add its routes to `r` (called once, when the app is built).
template <class Global, class C, class Container>
void install_controller(Container& c, http::router& r) {
  using routes_t = controller_routes<Container, C, Global>;
  static_assert(has_routes<C, routes_t>::value,
                "portico: a controller declares its routes in `template <class Routes> void routes(Routes& r)`");
  C& self = c.template component<C>();
  routes_t routes(c, self, r.group(std::string(controller_options_of<C>::value.prefix)));
  self.routes(routes);
}

}  // namespace framework::detail

}  // namespace portico
