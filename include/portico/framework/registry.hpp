#pragma once
/// The typed event registry: how a gateway's member functions become Socket.IO handlers.
///
/// Each subscription is installed in its namespace's handler table as one small callable that
/// holds a pointer to the gateway's binding; the socketio server finds it with one hash lookup
/// of the event name, and the callable calls the member function directly (its address is a
/// compile-time constant). Parameters are decoded into locals; nothing is allocated by the
/// registry itself per message.
///
/// Parameters, by their declared type (see docs/gateways.md):
///   gateway_context& / socketio::socket& / socketio::event&   the context, injected
///   portico::ack_handle                                       the ack, taken over (answer later)
///   const socketio::args&                                     every argument, raw
///   const json::value&                                        the next argument, raw JSON view
///   T& (non-const reference, any other T)                     a provider, injected by the container
///                                                             (a decodable T that no provider
///                                                             supplies is a payload taken by
///                                                             mistake: a compile error says so)
///   anything else (by value or const&)                        the next argument, decoded with
///                                                             json::decode (structs, strings,
///                                                             numbers, vectors, optional, binary...)
/// Return: void; ws_response (emitted as it says); socketio::payload (the ack, several values);
/// any other value: the ack if the client asked for one, else emitted back to the sender on the
/// same event name.

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../json/decode.hpp"
#include "../json/encode.hpp"
#include "../json/error_format.hpp"
#include "../log.hpp"
#include "context.hpp"
#include "di/errors.hpp"
#include "di/module.hpp"
#include "di/type_list.hpp"
#include "exception_host.hpp"
#include "exceptions.hpp"
#include "filters.hpp"
#include "gateway.hpp"
#include "global_policies.hpp"
#include "guards.hpp"
#include "handler_result.hpp"
#include "interceptors.hpp"
#include "ws_response.hpp"

PORTICO_DI_DIAGNOSTIC(portico_error_handler_parameter_cannot_be_decoded,
                      declare_PORTICO_FIELDS_for_it_or_take_gateway_context_or_a_provider_by_non_const_reference)
PORTICO_DI_DIAGNOSTIC(portico_error_handler_result_cannot_be_encoded,
                      return_void_or_ws_response_or_a_JSON_encodable_value)
PORTICO_DI_DIAGNOSTIC(portico_error_handler_payload_by_non_const_reference,
                      take_payloads_by_value_or_const_ref_a_non_const_ref_asks_for_a_provider)

namespace portico::framework::detail {

template <class T>
using remove_cvref_t = std::remove_cv_t<std::remove_reference_t<T>>;

/// Whether json::decode has a mapping for T (asked first: json::decode itself static_asserts,
/// which would bury the readable diagnostic).
template <class T>
constexpr bool is_decodable() {
  return json::is_decodable_v<T>;
}

/// Whether a handler's return value can be sent (ack or emit).
template <class R>
constexpr bool is_sendable() {
  using D = remove_cvref_t<R>;
  if constexpr (std::is_void_v<R> || std::is_same_v<D, ws_response> || std::is_same_v<D, socketio::payload>) return true;
  else if constexpr (std::is_base_of_v<json::value, D>) return true;  // a DOM, sent as is
  else return json::is_encodable_v<D>;
}

enum class param_kind { context, socket, event, ack, raw_args, json_view, inject, payload, invalid };

template <class P>
constexpr param_kind kind_of() {
  using D = remove_cvref_t<P>;
  constexpr bool mutable_ref = std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>;
  if constexpr (std::is_same_v<D, gateway_context>) return param_kind::context;
  else if constexpr (std::is_same_v<D, socketio::socket>) return param_kind::socket;
  else if constexpr (std::is_same_v<D, socketio::event>) return param_kind::event;
  else if constexpr (std::is_same_v<D, ack_handle>) return param_kind::ack;
  else if constexpr (std::is_same_v<D, socketio::args>) return param_kind::raw_args;
  else if constexpr (std::is_same_v<D, json::value> && std::is_reference_v<P>) return param_kind::json_view;
  else if constexpr (mutable_ref && std::is_class_v<D>) return param_kind::inject;
  else if constexpr (!std::is_reference_v<P> || std::is_const_v<std::remove_reference_t<P>>)
    return is_decodable<D>() ? param_kind::payload : param_kind::invalid;
  else return param_kind::invalid;
}

template <class P>
constexpr bool takes_argument() {
  return kind_of<P>() == param_kind::payload || kind_of<P>() == param_kind::json_view;
}

/// Pieces of a member function pointer type.
template <class Fn>
struct member_traits;
template <class Fn>
struct member_traits<const Fn> : member_traits<Fn> {};
#define PORTICO_MEMBER_TRAITS(qual)                        \
  template <class R, class C, class... A>                  \
  struct member_traits<R (C::*)(A...) qual> {              \
    using result = R;                                      \
    using owner = C;                                       \
    using params = type_list<A...>;                        \
  };
PORTICO_MEMBER_TRAITS()
PORTICO_MEMBER_TRAITS(const)
PORTICO_MEMBER_TRAITS(noexcept)
PORTICO_MEMBER_TRAITS(const noexcept)
#undef PORTICO_MEMBER_TRAITS

/// Which providers a gateway's handlers can inject: its module and the container's overrides.
/// `no_providers` (the default) answers only what the parameter types alone tell.
struct no_providers {};
template <class Module, class Overrides>
struct providers_of {};

template <class D, class Module, class Ov>
constexpr bool payload_missing(providers_of<Module, Ov>*) {
  return lookup<D, Module, Ov>::status == lookup_status::missing;
}

/// `std::string& who`: a non-const reference reads as a DI request, but to a type a message
/// can carry and that no provider supplies, it is a payload taken by the wrong kind of reference.
template <class P, class Providers>
constexpr bool payload_by_mutable_ref(Providers*) {
  using D = remove_cvref_t<P>;
  constexpr bool mutable_ref = std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>;
  if constexpr (!mutable_ref || kind_of<P>() == param_kind::context || kind_of<P>() == param_kind::socket ||
                kind_of<P>() == param_kind::event || !is_decodable<D>()) {
    return false;
  } else if constexpr (!std::is_class_v<D>) {
    return true;  // `int&`: never a provider
  } else if constexpr (std::is_same_v<Providers, no_providers>) {
    return false;
  } else {
    return payload_missing<D>(static_cast<Providers*>(nullptr));
  }
}

/// Index of the first parameter that cannot be served (sizeof...(A) when all can).
template <class... A, class Providers = no_providers>
constexpr std::size_t first_invalid_param(type_list<A...>*, Providers* = nullptr) {
  constexpr bool bad[] = {(kind_of<A>() == param_kind::invalid ||
                           payload_by_mutable_ref<A>(static_cast<Providers*>(nullptr)))...,
                          false};
  for (std::size_t i = 0; i < sizeof...(A); ++i)
    if (bad[i]) return i;
  return sizeof...(A);
}

/// Which received argument the K-th parameter reads.
template <std::size_t K, class... A>
constexpr std::size_t argument_index() {
  constexpr bool takes[] = {takes_argument<A>()..., false};
  std::size_t n = 0;
  for (std::size_t i = 0; i < K; ++i) n += takes[i] ? 1 : 0;
  return n;
}

/// Whether a handler can be served (no diagnostic).
template <class G, class Fn, class Providers = no_providers>
constexpr bool handler_ok() {
  using T = member_traits<Fn>;
  using params = typename T::params;
  return first_invalid_param(static_cast<params*>(nullptr), static_cast<Providers*>(nullptr)) == params::size &&
         is_sendable<typename T::result>();
}

/// Raises the readable diagnostic for the first problem of a handler.
template <class G, class Fn, class Providers = no_providers>
bool check_handler() {
  using T = member_traits<Fn>;
  using params = typename T::params;
  constexpr std::size_t bad = first_invalid_param(static_cast<params*>(nullptr), static_cast<Providers*>(nullptr));
  if constexpr (bad < params::size) {
    using P = typename list_at<bad, params>::type;
    if constexpr (payload_by_mutable_ref<P>(static_cast<Providers*>(nullptr)))
      return raise_portico_error_handler_payload_by_non_const_reference<bool, G, P>();
    else
      return raise_portico_error_handler_parameter_cannot_be_decoded<bool, G, P>();
  } else if constexpr (!is_sendable<typename T::result>()) {
    return raise_portico_error_handler_result_cannot_be_encoded<bool, G, typename T::result>();
  } else {
    return true;
  }
}

struct no_slot {};
template <class P>
using slot_t = std::conditional_t<kind_of<P>() == param_kind::payload, remove_cvref_t<P>, no_slot>;

/// Decodes argument `idx` into `out`; a missing argument is `missing` unless optional.
template <class T>
bool decode_argument(const socketio::args& a, std::size_t idx, T& out, json::decode_context& dctx,
                     json::error_list& errs) {
  json::error_list::scope at(errs, idx);
  if (idx >= a.size()) {
    if constexpr (json::detail::is_optional<T>::value) {
      out.reset();
      return true;
    } else {
      errs.add("field required", "missing");
      return false;
    }
  }
  return json::decode(a[idx], out, dctx, errs);
}

/// The gateway's binding as the registry needs it (see app.hpp): container, gateway instance,
/// runtime, options. `B` provides: container_type, module, gateway_type, container, gateway,
/// options, log, debug.
template <class P, std::size_t Idx, class B>
decltype(auto) argument_for(B& b, socketio::event& e, gateway_context& ctx, slot_t<P>& slot) {
  constexpr param_kind k = kind_of<P>();
  using D = remove_cvref_t<P>;
  if constexpr (k == param_kind::context) return (ctx);
  else if constexpr (k == param_kind::socket) return (e.socket());
  else if constexpr (k == param_kind::event) return (e);
  else if constexpr (k == param_kind::ack) return e.take_ack();
  else if constexpr (k == param_kind::raw_args) return (e.args());
  else if constexpr (k == param_kind::json_view) return (e.args()[Idx]);
  else if constexpr (k == param_kind::inject)
    return b.container->template get_from<typename B::module, D&>(&ctx.scope());
  else if constexpr (std::is_reference_v<P>) return static_cast<const D&>(slot);
  else return static_cast<D&&>(slot);  // by value: the decoded local is moved in
}

/// Sends `{"code","reason"}` as the `error` event and, when one was asked, as the error ack
/// `{"error":{"code","reason"}}`; disconnects when the gateway says so.
template <class B>
void report_error(B& b, socketio::socket& s, socketio::event* e, int code, std::string_view reason_json) {
  const std::string body = error_object(code, reason_json);
  s.emit("error", json_text{body});
  if (e && e->wants_ack()) e->ack(json_text{"{\"error\":" + body + "}"});
  if (b.options.disconnect_on_error) s.disconnect();
}

/// The 1011 reason: the real message only when debug is on.
template <class B>
std::string internal_reason(B& b, const char* what) {
  return b.debug ? to_json_text(std::string_view(what)) : std::string("\"Something went wrong\"");
}

inline void emit_response(socketio::socket& s, const ws_response& r) {
  const bool has_data = !r.data_json().empty();
  if (r.rooms().empty() && r.excepted().empty()) {
    if (has_data) s.emit(r.event(), json_text{r.data_json()});
    else s.emit(r.event());
    return;
  }
  socketio::emitter em(s.get_namespace());
  for (const auto& room : r.rooms()) em.to(room);
  for (const auto& x : r.excepted()) em.except(x);
  if (has_data) em.emit(r.event(), json_text{r.data_json()});
  else em.emit(r.event());
}

/// What a handler's value becomes.
template <class R>
void send_result(socketio::event& e, R&& r) {
  using D = remove_cvref_t<R>;
  if constexpr (std::is_same_v<D, ws_response>) {
    emit_response(e.socket(), r);
  } else if constexpr (std::is_same_v<D, socketio::payload>) {
    e.ack(static_cast<const socketio::payload&>(r));
  } else if (e.wants_ack()) {
    e.ack(r);
  } else {
    e.socket().emit(e.name(), r);
  }
}

/// A value kept for the interceptors: ws_response and payload answer at once (see handler_result.hpp).
template <class R>
void capture_result(socketio::event& e, handler_result& out, R&& r) {
  using D = remove_cvref_t<R>;
  if constexpr (std::is_same_v<D, ws_response> || std::is_same_v<D, socketio::payload>) send_result(e, std::forward<R>(r));
  else out.set(r);
}

/// What the interceptors left, sent as the handler's own value would have been.
inline void send_handler_result(socketio::event& e, const handler_result& r) {
  if (!r.has_value()) return;
  if (e.wants_ack()) e.ack(json_text{r.json()});
  else e.socket().emit(e.name(), json_text{r.json()});
}

/// Decodes the parameters and calls `Fn` on the gateway; `reply(value)` takes its result. A
/// payload that does not validate is reported at once, or thrown (`Throw`: the handler has
/// filters or interceptors, which see it as NestJS's pipes' exception).
template <auto Fn, bool Throw, class B, class Reply, class... A, std::size_t... K>
void invoke_handler(B& b, socketio::event& e, gateway_context& ctx, Reply&& reply, type_list<A...>*,
                    std::index_sequence<K...>) {
  using R = typename member_traits<decltype(Fn)>::result;
  std::tuple<slot_t<A>...> slots;
  if constexpr ((takes_argument<A>() || ...)) {
    thread_local json::error_list errs;  // reused: its buffers stay allocated
    errs.clear();
    const socketio::args& a = e.args();
    json::decode_context dctx = a.context();
    bool ok = true;
    (([&] {
       if constexpr (kind_of<A>() == param_kind::payload)
         ok = decode_argument(a, argument_index<K, A...>(), std::get<K>(slots), dctx, errs) && ok;
     }()),
     ...);
    if (!ok) {
      if constexpr (Throw) throw ws_exception(ws_code::invalid_payload, "Invalid payload", json_text{json::to_string(errs)});
      report_error(b, e.socket(), &e, ws_code::invalid_payload, json::to_string(errs));
      return;
    }
  }
  if constexpr (std::is_void_v<R>) {
    (b.gateway->*Fn)(argument_for<A, argument_index<K, A...>()>(b, e, ctx, std::get<K>(slots))...);
    static_cast<void>(reply);
  } else {
    reply((b.gateway->*Fn)(argument_for<A, argument_index<K, A...>()>(b, e, ctx, std::get<K>(slots))...));
  }
  static_cast<void>(slots);
}

/// Runs `f`; maps a ws_exception to its code, anything else to 1011 plus a log line.
template <class B, class F>
void with_error_mapping(B& b, socketio::socket& s, socketio::event* e, std::string_view what, F&& f) {
  try {
    f();
  } catch (const ws_exception& ex) {
    report_error(b, s, e, ex.code(), ex.reason_json());
  } catch (const std::exception& ex) {
    s.engine()->count(socketio::metrics_slots::handler_exceptions);  // docs/metrics.md
    b.log->error([&] { return "gateway handler '" + std::string(what) + "' threw: " + ex.what(); });
    report_error(b, s, e, ws_code::internal_error, internal_reason(b, ex.what()));
  } catch (...) {
    s.engine()->count(socketio::metrics_slots::handler_exceptions);
    b.log->error([&] { return "gateway handler '" + std::string(what) + "' threw a non-exception"; });
    report_error(b, s, e, ws_code::internal_error, internal_reason(b, "unknown exception"));
  }
}

/// How filters and interceptors of a gateway handler are built (through the container, with
/// the client's scope) and how a filter is handed its host.
template <class B>
struct ws_policy_env {
  B& b;
  gateway_context& ctx;
  socketio::event& e;
  template <class T>
  T make() {
    return b.container->template make<T, typename B::module>(&ctx.scope());
  }
  template <class F, class E>
  void handle(F& f, const E& ex) {
    ws_exception_host host(ctx, e, b.options.disconnect_on_error);
    f.catch_exception(ex, host);
  }
};

/// How filters at a gateway's CONNECT are built (with the client's new scope) and answer: one
/// that refuses nothing passes the exception on.
template <class B>
struct connect_policy_env {
  B& b;
  gateway_context& ctx;
  socketio::connect_request& r;
  connection_scope* scope;
  template <class T>
  T make() {
    return b.container->template make<T, typename B::module>(scope);
  }
  template <class F, class E>
  void handle(F& f, const E& ex) {
    connect_exception_host host(ctx, r);
    f.catch_exception(ex, host);
    if (!host.answered()) throw;
  }
};

template <class G, std::size_t I>
using subscription_at_t = remove_cvref_t<decltype(std::get<I>(G::events))>;

/// The class's filters, then the app's (`Global`: a policy_set, see global_policies.hpp). Each
/// serves handlers (`ws_exception_host`), CONNECT (`connect_exception_host`), or both; the
/// app's may also serve only routes (`http_exception_host`).
template <class G, class Global>
using outer_filters_t = combine_filters_t<filters_of_t<G>, typename Global::filters_type>;
/// Filters of subscription S of G: the handler's first, then the class's and the app's that
/// serve handlers.
template <class G, class S, class Global = policy_set<>>
using handler_filters_t =
    combine_filters_t<typename S::handler_filters, serving_t<outer_filters_t<G, Global>, ws_exception_host>>;
/// Filters at G's CONNECT: the class's and the app's that serve it.
template <class G, class Global>
using connect_filters_t = serving_t<outer_filters_t<G, Global>, connect_exception_host>;
/// Class filters that serve neither handlers nor CONNECT, and app-wide ones that serve nothing.
template <class G, class Global>
using useless_filters_t =
    combine_filters_t<serving_none_t<filters_of_t<G>, ws_exception_host, connect_exception_host>,
                      serving_none_t<typename Global::filters_type, ws_exception_host, connect_exception_host,
                                     http_exception_host>>;
/// Interceptors of subscription S of G: the app's first (outermost), then the class's, then the handler's.
template <class G, class S, class Global = policy_set<>>
using handler_interceptors_t =
    combine_interceptors_t<typename Global::interceptors_type, interceptors_of_t<G>, typename S::handler_interceptors>;

/// The member function of subscription I of G (a variable: lambdas use it without capturing).
template <class G, std::size_t I>
inline constexpr auto handler_fn = std::get<I>(G::events).fn;

/// The handler guards of subscription I; a refusal by `false` is thrown as 1008 "Forbidden".
template <class B, std::size_t I>
void run_handler_guards(B& b, gateway_context& ctx) {
  using handler_guards = typename subscription_at_t<typename B::gateway_type, I>::handler_guards;
  if constexpr (!std::is_same_v<handler_guards, portico::guards<>>) {
    if (!run_guards<handler_guards, typename B::module>(*b.container, ctx, &ctx.scope()))
      throw ws_exception(ws_code::policy_violation, "Forbidden");
  } else {
    static_cast<void>(b), static_cast<void>(ctx);
  }
}

/// Decodes and calls the handler of subscription I; `reply(value)` takes its value.
template <class B, std::size_t I, bool Throw, class Reply>
void call_handler(B& b, socketio::event& e, gateway_context& ctx, Reply&& reply) {
  using G = typename B::gateway_type;
  using params = typename member_traits<decltype(handler_fn<G, I>)>::params;
  invoke_handler<handler_fn<G, I>, Throw>(b, e, ctx, std::forward<Reply>(reply), static_cast<params*>(nullptr),
                                          std::make_index_sequence<params::size>{});
}

/// The handler of subscription I of the gateway bound by B, in the order of docs/guards.md:
/// handler guards, interceptors' `before` (class, then handler), decode and call, interceptors'
/// `after` (reverse), the reply; an exception anywhere goes to the filters (handler, then
/// class), then to the built-in mapping. With no filter and no interceptor declared this is
/// the plain call: nothing of them is built (the same machine code as without the feature).
template <class B, std::size_t I>
void dispatch(B& b, socketio::event& e) {
  using G = typename B::gateway_type;
  using chain_filters = handler_filters_t<G, subscription_at_t<G, I>, typename B::global_policies>;
  using chain_interceptors = handler_interceptors_t<G, subscription_at_t<G, I>, typename B::global_policies>;
  gateway_context ctx(b, e.socket(), &e);
  with_error_mapping(b, e.socket(), &e, e.name(), [&] {
    if constexpr (std::is_same_v<chain_filters, portico::filters<>> &&
                  std::is_same_v<chain_interceptors, portico::interceptors<>>) {
      run_handler_guards<B, I>(b, ctx);
      call_handler<B, I, false>(b, e, ctx, [&e](auto&& v) { send_result(e, std::forward<decltype(v)>(v)); });
    } else {
      ws_policy_env<B> env{b, ctx, e};
      run_with_filters<chain_filters>(env, [&] {
        run_handler_guards<B, I>(b, ctx);
        if constexpr (std::is_same_v<chain_interceptors, portico::interceptors<>>) {
          call_handler<B, I, true>(b, e, ctx, [&e](auto&& v) { send_result(e, std::forward<decltype(v)>(v)); });
        } else {
          handler_result result;
          run_with_interceptors<chain_interceptors>(env, ctx, result, [&](handler_result& r) {
            call_handler<B, I, true>(b, e, ctx, [&](auto&& v) { capture_result(e, r, std::forward<decltype(v)>(v)); });
          });
          send_handler_result(e, result);
        }
      });
    }
  });
}

/// Whether the filters and interceptors of subscription S of G (with the app's) fit a gateway handler.
template <class G, class S, class Global>
constexpr bool policies_ok() {
  return filters_valid<handler_filters_t<G, S, Global>, ws_exception_host>() &&
         interceptors_valid<handler_interceptors_t<G, S, Global>, gateway_context, handler_result>();
}
/// The diagnostic for the first misused filter or interceptor of S.
template <class G, class S, class Global>
bool check_policies() {
  if constexpr (!filters_valid<handler_filters_t<G, S, Global>, ws_exception_host>())
    return check_filters<handler_filters_t<G, S, Global>, ws_exception_host>();
  else if constexpr (!interceptors_valid<handler_interceptors_t<G, S, Global>, gateway_context, handler_result>())
    return check_interceptors<handler_interceptors_t<G, S, Global>, gateway_context, handler_result>();
  else
    return true;
}

template <class G, class Providers, class Global, std::size_t... I>
constexpr bool events_ok(std::index_sequence<I...>) {
  return std::is_same_v<useless_filters_t<G, Global>, portico::filters<>> &&
         ((handler_ok<G, decltype(std::get<I>(G::events).fn), Providers>() &&
           policies_ok<G, subscription_at_t<G, I>, Global>()) &&
          ...);
}
template <class G, class Providers, class Global, std::size_t... I>
bool report_events(std::index_sequence<I...>) {
  if constexpr (!std::is_same_v<useless_filters_t<G, Global>, portico::filters<>>)
    return check_filters<useless_filters_t<G, Global>, ws_exception_host>();  // names the filter
  else
    return ((check_handler<G, decltype(std::get<I>(G::events).fn), Providers>() &&
             check_policies<G, subscription_at_t<G, I>, Global>()) &&
            ...);
}

/// Whether every subscription of G can be served (Providers: `providers_of<its module,
/// overrides>`; Global: the app's policy_set).
template <class G, class Providers = no_providers, class Global = policy_set<>>
constexpr bool gateway_ok() {
  using E = typename events_of<G>::type;
  return events_ok<G, Providers, Global>(std::make_index_sequence<std::tuple_size_v<E>>{});
}
/// The diagnostic for the first subscription of G that cannot be served (one error; the
/// dispatch code of a bad gateway is never instantiated, so nothing cascades).
template <class G, class Providers = no_providers, class Global = policy_set<>>
void report_gateway() {
  using E = typename events_of<G>::type;
  static_cast<void>(report_events<G, Providers, Global>(std::make_index_sequence<std::tuple_size_v<E>>{}));
}

/// Installs subscriptions I... of the gateway bound by `b` on namespace `n`.
template <class B, std::size_t... I>
void install_events(B& b, socketio::nsp& n, std::index_sequence<I...>) {
  using G = typename B::gateway_type;
  B* bp = &b;
  (([&] {
     const char* name = std::get<I>(G::events).name;
     auto thunk = [bp](socketio::event& e) { dispatch<B, I>(*bp, e); };
     if (name) n.on(name, thunk);
     else n.on_any(thunk);
   }()),
   ...);
  static_cast<void>(bp), static_cast<void>(n);
}

}  // namespace portico::framework::detail
