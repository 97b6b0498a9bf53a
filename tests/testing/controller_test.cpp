// Controllers (issue 5): HTTP and WebSocket routes on classes the DI container constructs, their
// guards (global -> class -> route) at the request and before the 101, hosted by portico::app
// beside gateways or alone, stopped with 1001 for ws route clients. Real loopback HTTP and
// WebSocket clients from portico::testing. The regions between `// [doc:NAME]` and `// [/doc]`
// are shown verbatim in docs/http.md (meson test http_controller_docs).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "portico/client/simple_client.hpp"
#include "portico/framework/framework.hpp"
#include "portico/testing/testing.hpp"

using namespace std::chrono_literals;
namespace http = portico::http;
namespace pc = portico::client;
using portico::testing::http_client;

namespace {

// [doc:controller]
struct Car {
  int id = 0;
  std::string name;
};
PORTICO_FIELDS(Car, id, name)

struct Garage {  // a provider the controller injects
  virtual ~Garage() = default;
  virtual std::string owner_of(int id) { return id == 7 ? "Ada" : "nobody"; }
};
struct Tokens {  // a provider a guard injects
  std::string admin = "s3cret";
};

/// Class guard: `false` answers 403 {"detail":"Forbidden"}.
struct NotBanned {
  bool can_activate(portico::http_context& ctx) { return ctx.header("x-banned").empty(); }
};

/// Route guard that chooses its answer: 401 {"detail":"Unauthorized"}.
struct AdminGuard {
  explicit AdminGuard(Tokens& t) : tokens(t) {}
  bool can_activate(portico::http_context& ctx) {
    if (ctx.header("x-token") != tokens.admin) throw portico::http_exception(401, "Unauthorized");
    return true;
  }
  Tokens& tokens;
};

struct CarController : portico::controller<CarController> {
  static constexpr auto options = portico::controller_options{"/car"};
  using guards = portico::guards<NotBanned>;  // every route of the class

  explicit CarController(Garage& g) : garage(g) {}

  Car find(int id) { return Car{id, garage.owner_of(id)}; }
  http::response add(Car car) {
    ++runs;
    if (car.id <= 0) throw portico::http_exception(409, "ids start at 1");
    return http::json(car, 201);
  }
  void live_support(const http::websocket_ptr& ws, std::string name) {  // plain mode
    ++runs;
    ws->accept();
    ws->send_text("Welcome " + name);
    ws->on_text([name](http::websocket& w, std::string&& text) { w.send_text(name + ": " + text); });
  }

  template <class Routes>
  void routes(Routes& r) {
    r.get("/{id}", &CarController::find, http::path<int>("id"));
    r.post("/", &CarController::add, portico::guards<AdminGuard>{}, http::body<Car>());
    r.ws("/live-support", &CarController::live_support, http::query<std::string>("name", "John"));

    http::ws_events<Car> lookup;  // event mode: each JSON message decoded into a Car
    lookup.encoding = http::ws_encoding::json;
    lookup.on_message = [this](http::websocket& ws, Car&& car) { ws.send_json(find(car.id)); };
    r.ws("/lookup", lookup, portico::guards<AdminGuard>{});

    r.get("/runs", [this] { return std::map<std::string, int>{{"runs", runs.load()}}; });  // any callable
  }

  Garage& garage;
  std::atomic<int> runs{0};  // handler calls, read by the tests
};

using CarModule = portico::module<portico::providers<Garage, Tokens>, portico::controllers<CarController>>;
// [/doc]

using car_test = portico::testing::test_app<CarModule>;

int runs_of(const http_client& c) {
  auto r = c.get("/car/runs");
  REQUIRE(r.status == 200);
  return std::stoi(r.body.substr(r.body.find(':') + 1));
}

}  // namespace

TEST_CASE("controller routes: injected provider, typed parameters, 422, handler exceptions", "[controller]") {
  auto ctx = car_test{}.run_with_server();  // a module with controllers only
  http_client c = ctx.http();

  auto got = c.get("/car/7");
  CHECK(got.status == 200);
  CHECK(got.body == R"({"id":7,"name":"Ada"})");
  CHECK(c.get("/car/8").body == R"({"id":8,"name":"nobody"})");

  auto bad = c.get("/car/seven");
  CHECK(bad.status == 422);
  CHECK(bad.body.find(R"("loc":["path","id"])") != std::string::npos);

  const std::map<std::string, std::string> admin{{"X-Token", "s3cret"}};
  auto added = c.post("/car", R"({"id":3,"name":"Bo"})", admin);
  CHECK(added.status == 201);
  CHECK(added.body == R"({"id":3,"name":"Bo"})");
  auto invalid = c.post("/car", R"({"id":"x","name":"Bo"})", admin);
  CHECK(invalid.status == 422);
  CHECK(invalid.body.find(R"("loc":["body","id"])") != std::string::npos);
  auto chosen = c.post("/car", R"({"id":0,"name":"Bo"})", admin);  // the handler throws http_exception
  CHECK(chosen.status == 409);
  CHECK(chosen.body == R"({"detail":"ids start at 1"})");

  CHECK(c.get("/car/7/wheels").status == 404);
  CHECK(c.request("DELETE", "/car/7", {}, {}, 2s).status == 405);
  CHECK(c.get("/car/").status == 405);  // "/car" takes POST only
}

TEST_CASE("class and route guards refuse HTTP requests before the handler", "[controller][guards]") {
  auto ctx = car_test{}.run_with_server();
  http_client c = ctx.http();

  auto banned = c.get("/car/7", {{"X-Banned", "1"}});
  CHECK(banned.status == 403);
  CHECK(banned.body == R"({"detail":"Forbidden"})");

  auto anonymous = c.post("/car", R"({"id":3,"name":"Bo"})");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.body == R"({"detail":"Unauthorized"})");
  CHECK(c.post("/car", R"({"id":3,"name":"Bo"})", {{"X-Token", "wrong"}}).status == 401);
  // Class guards run before route guards: a banned admin gets the class guard's answer.
  CHECK(c.post("/car", R"({"id":3,"name":"Bo"})", {{"X-Token", "s3cret"}, {"X-Banned", "1"}}).status == 403);
  // Guards run before the parameters are decoded: an invalid body does not reach 422.
  CHECK(c.post("/car", "not json").status == 401);
  CHECK(runs_of(c) == 0);

  CHECK(c.post("/car", R"({"id":3,"name":"Bo"})", {{"X-Token", "s3cret"}}).status == 201);
  CHECK(runs_of(c) == 1);
}

TEST_CASE("guards on ws routes answer the upgrade before the 101", "[controller][guards][websocket]") {
  auto ctx = car_test{}.run_with_server();

  auto banned = ctx.websocket_connect("/car/live-support?name=Ann", {{"X-Banned", "1"}});
  CHECK(banned.status() == 403);
  CHECK_FALSE(banned.is_open());
  auto anonymous = ctx.websocket_connect("/car/lookup");
  CHECK(anonymous.status() == 401);
  CHECK(runs_of(ctx.http()) == 0);  // the plain handler never ran

  auto chat = ctx.websocket_connect("/car/live-support?name=Ann");
  REQUIRE(chat.status() == 101);
  CHECK(chat.receive_text() == "Welcome Ann");
  chat.send_text("my order is late");
  CHECK(chat.receive_text() == "Ann: my order is late");
  CHECK(runs_of(ctx.http()) == 1);

  auto lookup = ctx.websocket_connect("/car/lookup", {{"X-Token", "s3cret"}});
  REQUIRE(lookup.status() == 101);
  lookup.send_json(Car{7, ""});
  CHECK(lookup.receive_text() == R"({"id":7,"name":"Ada"})");
  lookup.send_text("{not json");
  REQUIRE(lookup.wait_closed());
  CHECK(lookup.close_code() == 1003);
}

namespace {

struct FakeGarage : Garage {
  std::string owner_of(int) override { return "the fake"; }
};

// ---- guard order, global guards, exceptions, per-connection providers ----

/// Records which guard ran, in order (a provider the guards inject).
struct GuardLog {
  std::mutex mu;
  std::vector<std::string> seen;
  void add(std::string s) {
    std::lock_guard<std::mutex> g(mu);
    seen.push_back(std::move(s));
  }
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> g(mu);
    return std::exchange(seen, {});
  }
};

/// Logs its name and refuses when the request's x-refuse header names it.
template <char Level>
struct Audit {
  explicit Audit(GuardLog& l) : log(l) {}
  bool can_activate(portico::http_context& ctx) {
    const std::string me(1, Level);
    log.add(me + (ctx.is_websocket() ? ":ws" : ":http"));
    return ctx.header("x-refuse") != me;
  }
  /// Also a gateway guard: a global guard runs at Socket.IO handshakes too.
  bool can_activate(portico::gateway_context&) {
    log.add(std::string(1, Level) + ":sio");
    return true;
  }
  GuardLog& log;
};
using GlobalAudit = Audit<'g'>;
using ClassAudit = Audit<'c'>;
using RouteAudit = Audit<'r'>;

struct Exploding {
  bool can_activate(portico::http_context&) { throw std::runtime_error("secret internals"); }
};

struct AuditController {
  static constexpr auto options = portico::controller_options{"/audit"};
  using guards = portico::guards<ClassAudit>;
  template <class Routes>
  void routes(Routes& r) {
    r.get("/open", [this] { return http::text("open " + std::to_string(++runs)); }, portico::guards<RouteAudit>{});
    feed = &r.ws("/ws", [this](const http::websocket_ptr& ws) {
      ++runs;
      ws->accept();
    }, portico::guards<RouteAudit>{});  // the route is also the broadcast handle of its clients
    r.get_deferred("/later", [](http::responder rsp, int n) { rsp.send(http::text(std::to_string(2 * n))); },
                   portico::guards<RouteAudit>{}, http::query<int>("n", 1));
    r.get("/explode", [this] { return http::text(std::to_string(++runs)); }, portico::guards<Exploding>{});
  }
  std::atomic<int> runs{0};
  http::ws_route* feed = nullptr;
};

struct EchoGateway : portico::gateway<EchoGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/"};
  std::string echo(const std::string& text) { return "echo " + text; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(EchoGateway, echo));
};

using AuditModule = portico::module<portico::providers<GuardLog>,
                                    portico::controllers<AuditController>, portico::gateways<EchoGateway>>;

}  // namespace

TEST_CASE("a controller test replaces a provider with a fake", "[controller][overrides]") {
  auto ctx = car_test::with_overrides<portico::override<Garage, FakeGarage>>{}.run_with_server();
  CHECK(ctx.http().get("/car/7").body == R"({"id":7,"name":"the fake"})");
}

TEST_CASE("global, class and route guards run in that order, on HTTP and ws routes", "[controller][guards]") {
  portico::app<AuditModule>::with_global_guards<GlobalAudit> app;
  app.listen("127.0.0.1", 0);
  http_client c(app.port());
  auto& log = app.container().get<GuardLog&>();
  auto& ctrl = app.container().component<AuditController>();

  CHECK(c.get("/audit/open").body == "open 1");
  CHECK(log.take() == std::vector<std::string>{"g:http", "c:http", "r:http"});
  CHECK(c.get("/audit/open", {{"x-refuse", "g"}}).status == 403);
  CHECK(log.take() == std::vector<std::string>{"g:http"});
  CHECK(c.get("/audit/open", {{"x-refuse", "c"}}).status == 403);
  CHECK(log.take() == std::vector<std::string>{"g:http", "c:http"});
  CHECK(c.get("/audit/open", {{"x-refuse", "r"}}).status == 403);
  CHECK(log.take() == std::vector<std::string>{"g:http", "c:http", "r:http"});
  CHECK(ctrl.runs == 1);
  // Deferred routes too.
  CHECK(c.get("/audit/later?n=21").body == "42");
  CHECK(log.take() == std::vector<std::string>{"g:http", "c:http", "r:http"});
  CHECK(c.get("/audit/later?n=21", {{"x-refuse", "r"}}).status == 403);
  log.take();

  // The same chain at the handshake of a ws route; a refusal is the upgrade's answer.
  {
    auto refused = portico::testing::websocket_connect(app.port(), "/audit/ws", {{"x-refuse", "r"}});
    CHECK(refused.status() == 403);
    CHECK(log.take() == std::vector<std::string>{"g:ws", "c:ws", "r:ws"});
    CHECK(ctrl.runs == 1);
    auto ok = portico::testing::websocket_connect(app.port(), "/audit/ws");
    CHECK(ok.status() == 101);
    CHECK(ctrl.runs == 2);
    log.take();
    REQUIRE(ctrl.feed != nullptr);  // the controller broadcasts to the clients of its route
    for (int i = 0; i < 1000 && ctrl.feed->size() == 0; ++i) std::this_thread::sleep_for(2ms);  // registered after the 101
    REQUIRE(ctrl.feed->size() == 1);
    ctrl.feed->broadcast_text("news");
    CHECK(ok.receive_text() == "news");
  }

  // The global guard also runs at the Socket.IO handshake of the app's gateway (same port);
  // class and route guards of the controller do not.
  {
    pc::simple_client sio;
    sio.connect("http://127.0.0.1:" + std::to_string(app.port()));
    CHECK(log.take() == std::vector<std::string>{"g:sio"});
  }

  // Any other exception from a guard: 500 that says nothing of it; the handler does not run.
  auto exploded = c.get("/audit/explode");
  CHECK(exploded.status == 500);
  CHECK(exploded.body == R"({"detail":"Internal Server Error"})");
  CHECK(ctrl.runs == 2);
  app.stop();
}

TEST_CASE("gateways and controllers share one port; stop() closes ws route clients with 1001",
          "[controller][gateway][websocket]") {
  using both = portico::testing::test_module<portico::gateways<EchoGateway>, portico::controllers<CarController>,
                                             portico::providers<Garage, Tokens>>;
  std::optional<portico::testing::run_context> ctx;
  ctx.emplace(both{}.run_with_server());

  REQUIRE(ctx->connect());  // Socket.IO on /socket.io/ ...
  auto reply = std::make_shared<std::promise<std::string>>();
  ctx->socket().emit_with_ack("echo", [reply](pc::ack_result& r) {
    reply->set_value(r.ok() ? std::string(r.args()[0].GetString()) : pc::to_string(r.status));
  }, 2s, "hi");
  auto answer = reply->get_future();
  REQUIRE(answer.wait_for(3s) == std::future_status::ready);
  CHECK(answer.get() == "echo hi");

  CHECK(ctx->http().get("/car/7").body == R"({"id":7,"name":"Ada"})");  // ... and HTTP on the same port
  auto chat = ctx->websocket_connect("/car/live-support");
  REQUIRE(chat.status() == 101);
  CHECK(chat.receive_text() == "Welcome John");

  ctx.reset();  // stops the app: the plain WebSocket client is told 1001 (going away)
  REQUIRE(chat.wait_closed());
  CHECK(chat.close_code() == 1001);
  CHECK(chat.close_reason() == "server shutting down");
}

TEST_CASE("an app with controllers only: stop() closes ws route clients with 1001", "[controller][websocket]") {
  std::optional<portico::testing::run_context> ctx;
  ctx.emplace(car_test{}.run_with_server());
  auto a = ctx->websocket_connect("/car/live-support?name=A");
  auto b = ctx->websocket_connect("/car/live-support?name=B");
  REQUIRE(a.status() == 101);
  REQUIRE(b.status() == 101);
  CHECK(a.receive_text() == "Welcome A");
  CHECK(b.receive_text() == "Welcome B");

  ctx.reset();
  REQUIRE(a.wait_closed());
  REQUIRE(b.wait_closed());
  CHECK(a.close_code() == 1001);
  CHECK(b.close_code() == 1001);
}
