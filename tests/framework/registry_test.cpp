// Unit tests of the typed event registry and the app's wiring: parameter classification,
// argument decoding and its error list, error bodies, ws_response, options merged per path,
// overrides. End to end with real clients: node/gateways.test.js.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "portico/framework/framework.hpp"

namespace reg {

struct Body {
  std::string data;
};
PORTICO_FIELDS(Body, data)

struct NoMapping {
  int x;
};

struct Store {
  int n = 0;
};

namespace fw = portico::framework::detail;

struct Auth {
  virtual ~Auth() = default;
  virtual bool ok() const { return false; }
};
struct FakeAuth : Auth {
  bool ok() const override { return true; }
};

struct AGateway {
  static constexpr auto options = portico::gateway_options{"/a", "/one"};
  explicit AGateway(Store& s) : store(s) {}
  Body echo(const Body& b) { return b; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(AGateway, echo));
  Store& store;
};
struct BGateway {
  static constexpr auto options =
      portico::gateway_options{"/a/", "two"}.with_transports(portico::transports::websocket).with_cors("http://x, http://y");
};
struct CGateway {
  static constexpr auto options = portico::gateway_options{"/b"}.with_ping(1000, 500);
  explicit CGateway(Auth& a) : auth(a) {}
  Auth& auth;
};
struct Clash {
  static constexpr auto options = portico::gateway_options{"/a", "/one"};
};

using Module = portico::module<portico::providers<Store, Auth>, portico::gateways<AGateway, BGateway, CGateway>>;
using ClashModule = portico::module<portico::gateways<AGateway, Clash>, portico::providers<Store>>;

/// Decodes the arguments of a packet text the way a handler with parameters A... would.
struct received {
  portico::socketio::packet p;
  explicit received(std::string text) { REQUIRE(portico::socketio::decode(std::move(text), p) == portico::socketio::errc{}); }
  portico::socketio::args args() const { return portico::socketio::args(p); }
};

}  // namespace reg

using namespace reg;
using fw::param_kind;

TEST_CASE("registry: parameter kinds follow the declared type", "[gateway][registry]") {
  STATIC_REQUIRE(fw::kind_of<portico::gateway_context&>() == param_kind::context);
  STATIC_REQUIRE(fw::kind_of<portico::socketio::socket&>() == param_kind::socket);
  STATIC_REQUIRE(fw::kind_of<portico::ack_handle>() == param_kind::ack);
  STATIC_REQUIRE(fw::kind_of<const portico::socketio::args&>() == param_kind::raw_args);
  STATIC_REQUIRE(fw::kind_of<const portico::json::value&>() == param_kind::json_view);
  STATIC_REQUIRE(fw::kind_of<Store&>() == param_kind::inject);        // mutable reference: a provider
  STATIC_REQUIRE(fw::kind_of<const Body&>() == param_kind::payload);  // const reference: the message
  STATIC_REQUIRE(fw::kind_of<Body>() == param_kind::payload);
  STATIC_REQUIRE(fw::kind_of<std::string>() == param_kind::payload);
  STATIC_REQUIRE(fw::kind_of<std::optional<int>>() == param_kind::payload);
  STATIC_REQUIRE(fw::kind_of<std::vector<Body>>() == param_kind::payload);
  STATIC_REQUIRE(fw::kind_of<const portico::json::binary&>() == param_kind::payload);
  STATIC_REQUIRE(fw::kind_of<NoMapping>() == param_kind::invalid);
  STATIC_REQUIRE(fw::kind_of<std::vector<NoMapping>>() == param_kind::invalid);
  STATIC_REQUIRE(fw::kind_of<int*>() == param_kind::invalid);
  STATIC_REQUIRE(fw::is_sendable<Body>());
  STATIC_REQUIRE(fw::is_sendable<portico::ws_response>());
  STATIC_REQUIRE(fw::is_sendable<const char*>());
  STATIC_REQUIRE_FALSE(fw::is_sendable<NoMapping>());
}

TEST_CASE("registry: received arguments are numbered past the injected parameters", "[gateway][registry]") {
  // handler(gateway_context&, const Body&, Store&, int, const json::value&)
  using ctx = portico::gateway_context&;
  CHECK(fw::argument_index<1, ctx, const Body&, Store&, int, const portico::json::value&>() == 0);
  CHECK(fw::argument_index<3, ctx, const Body&, Store&, int, const portico::json::value&>() == 1);
  CHECK(fw::argument_index<4, ctx, const Body&, Store&, int, const portico::json::value&>() == 2);
  using bad = fw::type_list<int, NoMapping, std::string>;
  CHECK(fw::first_invalid_param(static_cast<bad*>(nullptr)) == 1);
}

TEST_CASE("registry: a payload type by non-const reference is a mistake unless a provider supplies it",
          "[gateway][registry]") {
  using mod = fw::providers_of<Module, fw::type_list<>>;
  constexpr mod* in_module = nullptr;
  STATIC_REQUIRE(fw::payload_by_mutable_ref<std::string&>(in_module));  // no provider of std::string
  STATIC_REQUIRE(fw::payload_by_mutable_ref<Body&>(in_module));
  STATIC_REQUIRE(fw::payload_by_mutable_ref<int&>(in_module));
  STATIC_REQUIRE_FALSE(fw::payload_by_mutable_ref<Store&>(in_module));      // a provider, not decodable
  STATIC_REQUIRE_FALSE(fw::payload_by_mutable_ref<const Body&>(in_module));  // a payload, rightly taken
  STATIC_REQUIRE_FALSE(fw::payload_by_mutable_ref<Body>(in_module));
  STATIC_REQUIRE_FALSE(fw::payload_by_mutable_ref<portico::gateway_context&>(in_module));
  // A decodable type that a provider supplies stays a DI request.
  using with_body = fw::providers_of<portico::module<portico::providers<Body>>, fw::type_list<>>;
  STATIC_REQUIRE_FALSE(fw::payload_by_mutable_ref<Body&>(static_cast<with_body*>(nullptr)));
  STATIC_REQUIRE(fw::kind_of<Body&>() == param_kind::inject);
  using params = fw::type_list<portico::gateway_context&, Store&, std::string&>;
  CHECK(fw::first_invalid_param(static_cast<params*>(nullptr), in_module) == 2);
  CHECK(fw::first_invalid_param(static_cast<params*>(nullptr)) == 3);  // without the module: no verdict on classes
}

namespace reg {
struct ReasonOnly {
  void on_disconnected(portico::disconnect_reason) {}
};
struct ReasonAsText {
  void on_disconnected(portico::gateway_context&, std::string_view) {}
};
struct ContextOnly {
  void on_disconnected(portico::gateway_context&) {}
};
}  // namespace reg

TEST_CASE("on_disconnected: the reason is an optional parameter, disconnect_reason or string_view",
          "[gateway][registry]") {
  STATIC_REQUIRE(fw::has_on_disconnected_reason<ReasonOnly>::value);
  STATIC_REQUIRE(fw::has_on_disconnected_ctx_reason<ReasonAsText>::value);
  STATIC_REQUIRE_FALSE(fw::has_on_disconnected_ctx_reason<ContextOnly>::value);
  STATIC_REQUIRE(fw::has_on_disconnected_ctx<ContextOnly>::value);  // still called, without the reason

  constexpr portico::disconnect_reason stop("server shutting down");
  STATIC_REQUIRE(stop == "server shutting down");
  STATIC_REQUIRE(stop.by_server());
  STATIC_REQUIRE(portico::disconnect_reason("forced close").by_server());
  STATIC_REQUIRE(portico::disconnect_reason("server namespace disconnect").by_server());
  STATIC_REQUIRE_FALSE(portico::disconnect_reason("transport close").by_server());
  STATIC_REQUIRE_FALSE(portico::disconnect_reason("client namespace disconnect").by_server());
  CHECK(std::string(std::string_view(stop)) == "server shutting down");
}

TEST_CASE("registry: typed decoding of arguments, with located errors", "[gateway][registry]") {
  received r(R"(2["events",{"data":"hi"},7])");
  auto a = r.args();
  auto dctx = a.context();
  portico::json::error_list errs;
  Body body;
  int n = 0;
  std::optional<int> missing_optional = 3;
  CHECK(fw::decode_argument(a, 0, body, dctx, errs));
  CHECK(fw::decode_argument(a, 1, n, dctx, errs));
  CHECK(fw::decode_argument(a, 2, missing_optional, dctx, errs));
  CHECK(body.data == "hi");
  CHECK(n == 7);
  CHECK_FALSE(missing_optional);
  CHECK(errs.empty());

  received bad(R"(2["events",{"data":5}])");
  auto b = bad.args();
  auto bctx = b.context();
  CHECK_FALSE(fw::decode_argument(b, 0, body, bctx, errs));
  CHECK_FALSE(fw::decode_argument(b, 1, n, bctx, errs));
  CHECK(portico::json::to_string(errs) ==
        R"([{"loc":[0,"data"],"msg":"value is not a valid string","type":"string_type"},)"
        R"({"loc":[1],"msg":"field required","type":"missing"}])");
}

TEST_CASE("errors: ws_exception carries any JSON reason", "[gateway][errors]") {
  portico::ws_exception text(1009, "Message is too big");
  CHECK(text.body() == R"({"code":1009,"reason":"Message is too big"})");
  CHECK(std::string(text.what()) == "Message is too big");
  portico::ws_exception structured(4000, Body{"x"});
  CHECK(structured.body() == R"({"code":4000,"reason":{"data":"x"}})");
  portico::ws_exception list(4001, std::vector<int>{1, 2});
  CHECK(list.reason_json() == "[1,2]");
}

TEST_CASE("ws_response: data encoded once, targets recorded", "[gateway][ws_response]") {
  auto r = portico::ws_response{"news", Body{"hello"}}.to("room1").to("sid42").except("me");
  CHECK(r.event() == "news");
  CHECK(r.data_json() == R"({"data":"hello"})");
  CHECK(r.rooms() == std::vector<std::string>{"room1", "sid42"});
  CHECK(r.excepted() == std::vector<std::string>{"me"});
  CHECK(portico::ws_response{"ping"}.data_json().empty());
  CHECK_THROWS_AS((portico::ws_response{"blob", portico::json::binary{std::string("\x01\x02")}}), std::invalid_argument);
}

TEST_CASE("app: one server per path, gateway options merged, namespaces installed", "[gateway][app]") {
  portico::app<Module> app;
  CHECK(app.paths() == std::vector<std::string>{"/a/", "/b/"});
  auto& a = app.server("/a");
  CHECK(a.options().engine.path == "/a/");
  CHECK_FALSE(a.options().engine.polling);  // BGateway asks for websocket only: the path follows
  CHECK(a.options().engine.websocket);
  CHECK(a.options().engine.cors.allowed_origins == std::vector<std::string>{"http://x", "http://y"});
  CHECK(a.find("/one") != nullptr);
  CHECK(a.find("/two") != nullptr);
  auto& b = app.server("/b/");
  CHECK(b.options().engine.ping_interval == std::chrono::milliseconds(1000));
  CHECK(b.options().engine.ping_timeout == std::chrono::milliseconds(500));
  CHECK(b.find("/") != nullptr);
  CHECK(&app.server() == &a);
  CHECK_THROWS_AS(app.server("/nowhere"), std::out_of_range);
}

namespace {
/// The short spellings: PORTICO_SUBSCRIBE(member) and gateway_app<G>.
struct ShortGateway : portico::gateway<ShortGateway> {
  static constexpr auto options = portico::gateway_options{"/short", "/s"};
  int twice(int x) { return 2 * x; }
  std::string hello() { return "hi"; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(twice), PORTICO_SUBSCRIBE(ShortGateway, hello));
};
}  // namespace

TEST_CASE("app: PORTICO_SUBSCRIBE(member) and gateway_app<G>, the short spellings", "[gateway][app]") {
  STATIC_REQUIRE(std::is_same_v<portico::gateway_app<ShortGateway>,
                                portico::app<portico::module<portico::gateways<ShortGateway>>>>);
  constexpr auto& ev = ShortGateway::events;
  CHECK(std::string(std::get<0>(ev).name) == "twice");
  CHECK(std::get<0>(ev).fn == &ShortGateway::twice);
  CHECK(std::string(std::get<1>(ev).name) == "hello");
  portico::gateway_app<ShortGateway> app;
  CHECK(app.paths() == std::vector<std::string>{"/short/"});
  CHECK(app.server().find("/s") != nullptr);
}

TEST_CASE("app: two gateways on one namespace of one path is an error", "[gateway][app]") {
  CHECK_THROWS_AS(portico::app<ClashModule>{}, std::logic_error);
}

TEST_CASE("app: tests override providers without touching the module", "[gateway][app]") {
  portico::app<Module>::with_overrides<portico::override<Auth, FakeAuth>> app;
  CHECK(app.container().component<CGateway>().auth.ok());
  portico::app<Module> production;
  CHECK_FALSE(production.container().component<CGateway>().auth.ok());
}

namespace {
/// A gateway's server events (another cluster member's server_side_emit) and its namespace_handle.
struct Notes {
  std::vector<std::string> v;
};
struct ServerEventsGateway : portico::gateway<ServerEventsGateway> {
  static constexpr auto options = portico::gateway_options{"/srv", "/cluster"};
  explicit ServerEventsGateway(Notes& n) : notes(n.v) {}
  std::string hello(const portico::socketio::args& a) { return "hi " + std::string(a.at(0).str()); }
  void note(const portico::socketio::args& a) { notes.emplace_back(a.at(0).str()); }
  static constexpr auto events = portico::events();
  static constexpr auto server_events = portico::events(portico::on_server_event("hello", &ServerEventsGateway::hello),
                                                        portico::on_server_event("note", &ServerEventsGateway::note));
  std::vector<std::string>& notes;
};
using ServerEventsModule = portico::module<portico::providers<Notes, portico::namespace_handle<ServerEventsGateway>>,
                                           portico::gateways<ServerEventsGateway>>;

portico::socketio::packet server_packet(std::string text) {
  portico::socketio::packet p;
  REQUIRE(portico::socketio::decode(std::move(text), p) == portico::socketio::errc::ok);
  return p;
}
}  // namespace

TEST_CASE("app: a gateway's server_events become its namespace's on_server_event listeners", "[gateway][app]") {
  portico::app<ServerEventsModule> app;
  auto* n = app.server().find("/cluster");
  REQUIRE(n != nullptr);
  CHECK(n->server_event(server_packet("2/cluster,[\"hello\",\"b\"]")) == std::optional<std::string>("\"hi b\""));
  CHECK(n->server_event(server_packet("2/cluster,[\"note\",\"n1\"]")) == std::nullopt);  // void: no answer
  CHECK(n->server_event(server_packet("2/cluster,[\"other\"]")) == std::nullopt);
  CHECK(app.container().get<Notes&>().v == std::vector<std::string>{"n1"});

  // namespace_handle reaches the cluster requests; with one server (memory adapter) they answer at once.
  auto& h = app.container().get<portico::namespace_handle<ServerEventsGateway>&>();
  bool sse = false, fetched = false;
  h.server_side_emit_with_ack("hello", [&](bool complete, const portico::socketio::args& answers) {
    sse = complete && answers.empty();
  });
  h.fetch_sockets([&](bool complete, std::vector<portico::socketio::socket_info> v) { fetched = complete && v.empty(); });
  h.server_side_emit("note", "nobody hears it");  // no other server: a no-op, not an error
  CHECK(sse);
  CHECK(fetched);
}
