// Exception filters and interceptors (issue 15) through real loopback sockets: a gateway with a
// class filter, handler filters (ack, disconnect, an injected service), interceptors (a result
// transformed, a cache short-circuiting the handler), the order of guards, interceptors, handler
// and filters recorded and asserted; a controller with a filter (custom status, body, header)
// and an interceptor adding a header. The regions between `// [doc:NAME]` and `// [/doc]` are
// shown verbatim in docs/guards.md (checked by tests/docs).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "portico/framework/framework.hpp"
#include "portico/json/encode.hpp"
#include "portico/testing/testing.hpp"

using namespace std::chrono_literals;
namespace http = portico::http;
namespace pc = portico::client;

namespace filters_test {

/// What ran, in order (handlers, guards, interceptors and filters append to it).
struct Trail {
  std::mutex mu;
  std::vector<std::string> steps;
  void add(std::string s) {
    std::lock_guard<std::mutex> g(mu);
    steps.push_back(std::move(s));
  }
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> g(mu);
    auto out = std::move(steps);
    steps.clear();
    return out;
  }
};

// [doc:filters]
struct OutOfStock : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Problem {
  std::string kind;
  std::string message;
};
PORTICO_FIELDS(Problem, kind, message)

struct Wording {  // a service a filter injects
  std::string apology = "sorry: ";
};

/// Class level: OutOfStock becomes the `error` event with a payload of our choice.
struct OutOfStockToErrorEvent {
  explicit OutOfStockToErrorEvent(Trail& t) : trail(t) {}
  void catch_exception(const OutOfStock& e, portico::ws_exception_host& host) {
    trail.add("filter:class");
    host.error(Problem{"out_of_stock", e.what()});
  }
  Trail& trail;
};

/// Handler level, tried first: the same exception answered through the ack.
struct OutOfStockToAck {
  explicit OutOfStockToAck(Wording& w) : wording(w) {}
  void catch_exception(const OutOfStock& e, portico::ws_exception_host& host) {
    host.ack(Problem{"out_of_stock", wording.apology + e.what()});
  }
  Wording& wording;
};

/// Handler level: a client over its quota is disconnected.
struct DisconnectOnQuota {
  void catch_exception(const QuotaExceeded&, portico::ws_exception_host& host) { host.disconnect(); }
};

/// Several types, tried in order; it throws a ws_exception, which the built-in mapping answers.
struct Translate {
  using catches = portico::catches<std::invalid_argument, std::domain_error>;
  void catch_exception(const std::invalid_argument& e, portico::ws_exception_host&) {
    throw portico::ws_exception(4001, e.what());
  }
  void catch_exception(const std::domain_error& e, portico::ws_exception_host&) {
    throw portico::ws_exception(4002, e.what());
  }
};
// [/doc]

// [doc:interceptors]
/// Class level: runs around every handler of the gateway (logging, timing).
struct Timing {
  explicit Timing(Trail& t) : trail(t) {}
  void before(portico::gateway_context&) {
    trail.add("timing:before");
    start = std::chrono::steady_clock::now();
  }
  void after(portico::gateway_context&, portico::handler_result& r) {
    elapsed = std::chrono::steady_clock::now() - start;  // one instance from before to after
    trail.add("timing:after " + r.json());
  }
  Trail& trail;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::duration elapsed{};
};

/// Handler level: transforms the handler's value.
struct Doubling {
  void after(portico::gateway_context&, portico::handler_result& r) {
    if (r.has_value()) r.set(r.get<int>() * 2);
  }
};

/// Handler level: answers from the cache without running the handler.
struct CacheStore {
  std::mutex mu;
  std::map<std::string, std::string> json_by_key;
};
struct Caching {
  explicit Caching(CacheStore& s) : store(s) {}
  bool before(portico::gateway_context& ctx, portico::handler_result& r) {
    if (ctx.args()->size() == 0) return true;  // nothing to key on
    key = portico::json::stringify((*ctx.args())[0]);
    std::lock_guard<std::mutex> g(store.mu);
    auto it = store.json_by_key.find(key);
    if (it == store.json_by_key.end()) return true;  // run the handler
    r.set_json(it->second);
    return false;  // answered: the handler does not run
  }
  void after(portico::gateway_context&, portico::handler_result& r) {
    std::lock_guard<std::mutex> g(store.mu);
    if (r.has_value()) store.json_by_key.emplace(key, r.json());
  }
  CacheStore& store;
  std::string key;
};
// [/doc]

/// A handler guard that records itself and throws for a negative argument.
struct Recording {
  explicit Recording(Trail& t) : trail(t) {}
  bool can_activate(portico::execution_context& ctx) {
    trail.add("guard");
    if (ctx.args() && ctx.args()->size() > 0 && (*ctx.args())[0].IsInt() && (*ctx.args())[0].GetInt() < -100)
      throw OutOfStock("refused by the guard");
    return true;
  }
  Trail& trail;
};

/// The inner interceptor of `twice`: records what it sees.
struct Inner {
  explicit Inner(Trail& t) : trail(t) {}
  void before(portico::gateway_context&) { trail.add("inner:before"); }
  void after(portico::gateway_context&, portico::handler_result& r) { trail.add("inner:after " + r.json()); }
  Trail& trail;
};

// [doc:gateway]
struct ShopGateway : portico::gateway<ShopGateway> {
  static constexpr auto options = portico::gateway_options{"/shop", "/"};
  using filters = portico::filters<OutOfStockToErrorEvent>;  // every handler
  using interceptors = portico::interceptors<Timing>;        // every handler

  explicit ShopGateway(Trail& t) : trail(t) {}

  void buy(std::string item) { throw OutOfStock(item); }
  int reserve(std::string item) { throw OutOfStock(item); }
  void spam() { throw QuotaExceeded("too many"); }
  int twice(int n) {
    trail.add("handler");
    if (n < 0) throw OutOfStock("negative");
    return n;
  }
  std::string price(std::string item) {
    ++price_runs;
    return item + ": 3 EUR";
  }
  void crash() { throw std::runtime_error("not for the client"); }
  void convert(int n) {
    if (n == 1) throw std::invalid_argument("one");
    throw std::domain_error("other");
  }

  static constexpr auto events = portico::events(
      PORTICO_SUBSCRIBE(buy),
      portico::subscribe("reserve", &ShopGateway::reserve, portico::filters<OutOfStockToAck>{}),
      portico::subscribe("spam", &ShopGateway::spam, portico::filters<DisconnectOnQuota>{}),
      portico::subscribe("twice", &ShopGateway::twice, portico::guards<Recording>{},
                         portico::interceptors<Inner, Doubling>{}),
      portico::subscribe("price", &ShopGateway::price, portico::interceptors<Caching>{}),
      PORTICO_SUBSCRIBE(crash), portico::subscribe("convert", &ShopGateway::convert, portico::filters<Translate>{}));

  Trail& trail;
  std::atomic<int> price_runs{0};
};

using ShopModule = portico::module<portico::providers<Trail, Wording, CacheStore>, portico::gateways<ShopGateway>>;
// [/doc]

using shop_test = portico::testing::test_app<ShopModule>;

/// The ack's first value as JSON text, or the ack status.
template <class... A>
std::string ack_json(portico::testing::run_context& ctx, const char* event, const A&... a) {
  auto reply = std::make_shared<std::promise<std::string>>();
  ctx.socket().emit_with_ack(event, [reply](pc::ack_result& r) {
    reply->set_value(r.ok() ? (r.args().size() ? portico::json::stringify(r.args()[0]) : "(none)") : pc::to_string(r.status));
  }, 3s, a...);
  auto f = reply->get_future();
  return f.wait_for(4s) == std::future_status::ready ? f.get() : "no answer";
}

struct inbox {
  std::mutex mu;
  std::vector<std::string> items;
  void add(std::string s) {
    std::lock_guard<std::mutex> g(mu);
    items.push_back(std::move(s));
  }
  std::vector<std::string> all() {
    std::lock_guard<std::mutex> g(mu);
    return items;
  }
};

Trail& trail_of(portico::testing::run_context& ctx) {
  return ctx.app<shop_test::app_type>().container().get<Trail&>();
}

}  // namespace filters_test

using namespace filters_test;

TEST_CASE("a class filter maps its exception to the error event with its payload", "[filters]") {
  inbox errors;
  shop_test t;
  t.options().metrics = true;  // handler exceptions are counted (docs/metrics.md)
  auto ctx = t.run_with_server();
  ctx.socket().on("error", [&](pc::event& e) { errors.add(portico::json::stringify(e.args()[0])); });
  REQUIRE(ctx.connect());
  ctx.socket().emit("buy", "tea");
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 1; }, 3s));
  CHECK(errors.all()[0] == R"({"kind":"out_of_stock","message":"tea"})");
  // Other exceptions keep the built-in mapping (the default filter; test apps run in debug mode,
  // so the reason is the exception's message).
  CHECK(ack_json(ctx, "crash") == R"({"error":{"code":1011,"reason":"not for the client"}})");
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 2; }, 3s));
  CHECK(errors.all()[1] == R"({"code":1011,"reason":"not for the client"})");
  // The crash reached the built-in mapping: one handler exception; the filtered one is not.
  CHECK(ctx.app<shop_test::app_type>().server().metrics().errors.handler_exception == 1);
}

TEST_CASE("a handler filter is tried first and answers through the ack with an injected service", "[filters]") {
  inbox errors;
  auto ctx = shop_test{}.run_with_server();
  ctx.socket().on("error", [&](pc::event& e) { errors.add(portico::json::stringify(e.args()[0])); });
  REQUIRE(ctx.connect());
  CHECK(ack_json(ctx, "reserve", "tea") == R"({"kind":"out_of_stock","message":"sorry: tea"})");
  // The class filter did not run: no error event came before this later answer (one socket,
  // packets in order).
  CHECK(ack_json(ctx, "twice", 1) == "2");
  CHECK(errors.all().empty());
}

TEST_CASE("a filter catches several types in order; what it throws goes on to the built-in mapping", "[filters]") {
  auto ctx = shop_test{}.run_with_server();
  REQUIRE(ctx.connect());
  CHECK(ack_json(ctx, "convert", 1) == R"({"error":{"code":4001,"reason":"one"}})");
  CHECK(ack_json(ctx, "convert", 2) == R"({"error":{"code":4002,"reason":"other"}})");
}

TEST_CASE("a filter disconnects the client", "[filters]") {
  std::atomic<bool> gone{false};
  auto ctx = shop_test{}.run_with_server();
  ctx.socket().on_disconnect([&](const std::string&) { gone = true; });
  REQUIRE(ctx.connect());
  ctx.socket().emit("spam");
  CHECK(ctx.wait_until([&] { return gone.load(); }, 3s));
}

TEST_CASE("guards, interceptors, handler, filters run in the documented order", "[filters][interceptors]") {
  auto ctx = shop_test{}.run_with_server();
  REQUIRE(ctx.connect());
  Trail& trail = trail_of(ctx);
  trail.take();

  // guard -> before (class, then handler) -> handler -> after (handler, then class); the
  // Doubling interceptor (inside Inner) doubled the value before Inner saw it.
  CHECK(ack_json(ctx, "twice", 21) == "42");
  CHECK(trail.take() == std::vector<std::string>{"guard", "timing:before", "inner:before", "handler", "inner:after 42",
                                                 "timing:after 42"});

  // The handler throws: no `after` runs; the class filter gets the exception.
  inbox errors;
  ctx.socket().on("error", [&](pc::event& e) { errors.add(portico::json::stringify(e.args()[0])); });
  ctx.socket().emit("twice", -1);
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 1; }, 3s));
  CHECK(errors.all()[0] == R"({"kind":"out_of_stock","message":"negative"})");
  CHECK(trail.take() == std::vector<std::string>{"guard", "timing:before", "inner:before", "handler", "filter:class"});

  // A guard's exception goes through the filters too (nothing else runs).
  ctx.socket().emit("twice", -200);
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 2; }, 3s));
  CHECK(errors.all()[1] == R"({"kind":"out_of_stock","message":"refused by the guard"})");
  CHECK(trail.take() == std::vector<std::string>{"guard", "filter:class"});

  // A payload that does not validate: the built-in 1007 answer, no interceptor hook after it.
  CHECK(ack_json(ctx, "twice", "x").find(R"("code":1007)") != std::string::npos);
  CHECK(trail.take() == std::vector<std::string>{"guard", "timing:before", "inner:before"});
}

TEST_CASE("an interceptor short-circuits the handler with a cached result", "[interceptors]") {
  auto ctx = shop_test{}.run_with_server();
  REQUIRE(ctx.connect());
  auto& gw = ctx.app<shop_test::app_type>().container().component<ShopGateway>();
  CHECK(ack_json(ctx, "price", "tea") == R"("tea: 3 EUR")");
  CHECK(gw.price_runs == 1);
  CHECK(ack_json(ctx, "price", "tea") == R"("tea: 3 EUR")");  // from the cache
  CHECK(gw.price_runs == 1);
  CHECK(ack_json(ctx, "price", "milk") == R"("milk: 3 EUR")");
  CHECK(gw.price_runs == 2);
  // Without an ack the (cached) value is emitted back on the same event, as a handler's is.
  std::promise<std::string> back;
  ctx.socket().on("price", [&](pc::event& e) { back.set_value(portico::json::stringify(e.args()[0])); });
  ctx.socket().emit("price", "tea");
  auto f = back.get_future();
  REQUIRE(f.wait_for(3s) == std::future_status::ready);
  CHECK(f.get() == R"("tea: 3 EUR")");
  CHECK(gw.price_runs == 2);
}

// ---------------------------------------------------------------------------------------------
// Controllers.

namespace filters_test {

// [doc:http]
struct Teapot : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Maps Teapot to 418 with a body and a header of its own.
struct TeapotFilter {
  void catch_exception(const Teapot& e, portico::http_exception_host& host) {
    http::response r = http::json(Problem{"teapot", e.what()}, 418);
    r.set_header("X-Problem", "teapot");
    host.send(std::move(r));
  }
};

/// Adds a header to every answer of the class and counts the handler calls it wraps.
struct ServedBy {
  void after(portico::http_context&, http::response& r) { r.set_header("X-Served-By", "portico"); }
};

/// Refuses with an exception the filter maps.
struct NoTeaGuard {
  bool can_activate(portico::http_context& ctx) {
    if (ctx.query("drink") == "tea") throw Teapot("no tea at the door");
    return true;
  }
};

struct KitchenController : portico::controller<KitchenController> {
  static constexpr auto options = portico::controller_options{"/kitchen"};
  using filters = portico::filters<TeapotFilter>;
  using interceptors = portico::interceptors<ServedBy>;

  std::string brew(std::string drink) {
    if (drink == "coffee") throw Teapot("I'm a teapot");
    return drink + " ready";
  }
  template <class Routes>
  void routes(Routes& r) {
    r.get("/brew", &KitchenController::brew, portico::guards<NoTeaGuard>{}, http::query<std::string>("drink"));
  }
};
using KitchenModule = portico::module<portico::controllers<KitchenController>>;
// [/doc]

/// Route level, tried before the class's: sends nothing, so the exception goes on.
struct Seen {
  std::atomic<int> teapots{0};
};
struct Silent {
  explicit Silent(Seen& s) : seen(s) {}
  void catch_exception(const Teapot&, portico::http_exception_host&) { ++seen.teapots; }
  Seen& seen;
};
struct KettleController : KitchenController {
  static constexpr auto options = portico::controller_options{"/kettle"};
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [](std::string d) { return KitchenController{}.brew(d); }, portico::filters<Silent>{},
          http::query<std::string>("drink"));
  }
};
using KettleModule = portico::module<portico::providers<Seen>, portico::controllers<KettleController>>;

/// HTTP order: a guard, a class and a route interceptor, the handler, recorded in the Trail.
struct HttpGuard {
  explicit HttpGuard(Trail& t) : trail(t) {}
  bool can_activate(portico::http_context&) {
    trail.add("guard");
    return true;
  }
  Trail& trail;
};
struct HttpOuter {
  explicit HttpOuter(Trail& t) : trail(t) {}
  void before(portico::http_context&) { trail.add("outer:before"); }
  void after(portico::http_context&, http::response& r) { trail.add("outer:after " + std::to_string(r.status)); }
  Trail& trail;
};
/// Answers 304 without the handler when the client says it has the page.
struct NotModified {
  explicit NotModified(Trail& t) : trail(t) {}
  bool before(portico::http_context& ctx, http::response& r) {
    trail.add("cache:before");
    if (ctx.header("if-none-match") != "v1") return true;
    r = http::response{304, {}, {}};
    return false;
  }
  void after(portico::http_context&, http::response& r) {
    trail.add("cache:after");
    r.set_header("ETag", "v1");
  }
  Trail& trail;
};
struct PageController {
  using interceptors = portico::interceptors<HttpOuter>;
  explicit PageController(Trail& t) : trail(t) {}
  std::string page() {
    trail.add("handler");
    return "the page";
  }
  template <class Routes>
  void routes(Routes& r) {
    r.get("/page", &PageController::page, portico::interceptors<NotModified>{}, portico::guards<HttpGuard>{});
  }
  Trail& trail;
};
using PageModule = portico::module<portico::providers<Trail>, portico::controllers<PageController>>;

}  // namespace filters_test

TEST_CASE("controller filter maps an exception to a custom response; an interceptor adds a header",
          "[filters][interceptors][controller]") {
  auto ctx = portico::testing::test_app<KitchenModule>{}.run_with_server();
  auto c = ctx.http();
  auto ok = c.get("/kitchen/brew?drink=water");
  CHECK(ok.status == 200);
  CHECK(ok.body == R"("water ready")");
  CHECK(ok.header("x-served-by") == "portico");

  auto pot = c.get("/kitchen/brew?drink=coffee");  // the handler throws
  CHECK(pot.status == 418);
  CHECK(pot.body == R"({"kind":"teapot","message":"I'm a teapot"})");
  CHECK(pot.header("x-problem") == "teapot");
  CHECK(pot.header("x-served-by").empty());  // an exception skips the `after` hooks

  auto door = c.get("/kitchen/brew?drink=tea");  // the guard throws: filtered as well
  CHECK(door.status == 418);
  CHECK(door.body == R"({"kind":"teapot","message":"no tea at the door"})");

  CHECK(c.get("/kitchen/brew").status == 422);  // validation keeps its answer
}

TEST_CASE("a route filter that sends nothing passes the exception on to the class filter", "[filters][controller]") {
  auto ctx = portico::testing::test_app<KettleModule>{}.run_with_server();
  auto pot = ctx.http().get("/kettle?drink=coffee");
  CHECK(pot.status == 418);  // the class's TeapotFilter answered
  CHECK(pot.body == R"({"kind":"teapot","message":"I'm a teapot"})");
  CHECK(ctx.app<portico::testing::test_app<KettleModule>::app_type>().container().get<Seen&>().teapots == 1);
}

TEST_CASE("HTTP: guards, interceptors (class, route), handler, in order; a short-circuit skips the handler",
          "[interceptors][controller]") {
  using page_test = portico::testing::test_app<PageModule>;
  auto ctx = page_test{}.run_with_server();
  Trail& trail = ctx.app<page_test::app_type>().container().get<Trail&>();
  auto c = ctx.http();

  auto full = c.get("/page");
  CHECK(full.status == 200);
  CHECK(full.body == R"("the page")");
  CHECK(full.header("etag") == "v1");
  CHECK(trail.take() ==
        std::vector<std::string>{"guard", "outer:before", "cache:before", "handler", "cache:after", "outer:after 200"});

  auto cached = c.get("/page", {{"If-None-Match", "v1"}});
  CHECK(cached.status == 304);
  CHECK(cached.header("etag") == "v1");
  CHECK(trail.take() ==
        std::vector<std::string>{"guard", "outer:before", "cache:before", "cache:after", "outer:after 304"});
}

// ---------------------------------------------------------------------------------------------
// App-wide filters and interceptors (NestJS useGlobalFilters / useGlobalInterceptors).

namespace filters_test {

// [doc:global]
/// Tried after the handler's and the class's filters, for gateways and controllers alike.
struct Fallback {
  using catches = portico::catches<std::runtime_error>;
  explicit Fallback(Trail& t) : trail(t) {}
  void catch_exception(const std::runtime_error& e, portico::ws_exception_host& host) {
    trail.add("filter:global");
    host.error(Problem{"fallback", e.what()});
  }
  void catch_exception(const std::runtime_error& e, portico::http_exception_host& host) {
    trail.add("filter:global");
    host.send(http::json(Problem{"fallback", e.what()}, 503));
  }
  Trail& trail;
};

/// Around every handler and route, outside the class's and the handler's interceptors.
struct Metrics {
  explicit Metrics(Trail& t) : trail(t) {}
  void before(portico::gateway_context&) { trail.add("global:before"); }
  void after(portico::gateway_context&, portico::handler_result& r) { trail.add("global:after " + r.json()); }
  void before(portico::http_context&) { trail.add("global:before"); }
  void after(portico::http_context&, http::response& r) { trail.add("global:after " + std::to_string(r.status)); }
  Trail& trail;
};

using ShopApp = portico::app<ShopModule>::with_global_filters<Fallback>::with_global_interceptors<Metrics>;
// [/doc]

struct BrokenController {
  explicit BrokenController(Trail& t) : trail(t) {}
  std::string boom() {
    trail.add("handler");
    throw std::runtime_error("kaput");
  }
  template <class Routes>
  void routes(Routes& r) {
    r.get("/boom", &BrokenController::boom);
  }
  Trail& trail;
};
/// A deferred route: the answer comes from another thread; the `after` hooks run then.
struct LaterController {
  using interceptors = portico::interceptors<HttpOuter>;
  explicit LaterController(Trail& t) : trail(t) {}
  ~LaterController() {
    for (auto& t : threads) t.join();
  }
  void later(http::responder rsp) {
    trail.add("handler");
    std::lock_guard<std::mutex> g(mu);
    threads.emplace_back([rsp] { rsp.send(http::text("later")); });
  }
  template <class Routes>
  void routes(Routes& r) {
    r.get_deferred("/later", &LaterController::later, portico::interceptors<NotModified>{});
  }
  Trail& trail;
  std::mutex mu;
  std::vector<std::thread> threads;
};
using GlobalHttpModule = portico::module<portico::providers<Trail>,
                                         portico::controllers<PageController, BrokenController, KitchenController, LaterController>>;

}  // namespace filters_test

TEST_CASE("global filters and interceptors: outermost around every gateway handler", "[filters][interceptors][global]") {
  using global_shop = portico::testing::test_app<ShopModule>::with_global_filters<Fallback>::with_global_interceptors<Metrics>;
  static_assert(std::is_same_v<global_shop::app_type, ShopApp>, "test_app spells the app's globals the same way");
  inbox errors;
  auto ctx = global_shop{}.run_with_server();
  ctx.socket().on("error", [&](pc::event& e) { errors.add(portico::json::stringify(e.args()[0])); });
  REQUIRE(ctx.connect());
  Trail& trail = ctx.app<global_shop::app_type>().container().get<Trail&>();
  trail.take();

  CHECK(ack_json(ctx, "twice", 21) == "42");
  CHECK(trail.take() == std::vector<std::string>{"guard", "global:before", "timing:before", "inner:before", "handler",
                                                 "inner:after 42", "timing:after 42", "global:after 42"});

  // The class filter is tried before the global one: OutOfStock stays the class's answer.
  ctx.socket().emit("twice", -1);
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 1; }, 3s));
  CHECK(errors.all()[0] == R"({"kind":"out_of_stock","message":"negative"})");
  CHECK(trail.take() ==
        std::vector<std::string>{"guard", "global:before", "timing:before", "inner:before", "handler", "filter:class"});

  // What no handler or class filter catches reaches the global one before the built-in mapping.
  ctx.socket().emit("crash");
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 2; }, 3s));
  CHECK(errors.all()[1] == R"({"kind":"fallback","message":"not for the client"})");
  CHECK(trail.take() == std::vector<std::string>{"global:before", "timing:before", "filter:global"});

  // What a handler filter throws goes on to the class's, then the global filters (a
  // ws_exception is a std::runtime_error: Fallback words it too).
  ctx.socket().emit("convert", 1);
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 3; }, 3s));
  CHECK(errors.all()[2] == R"({"kind":"fallback","message":"one"})");
}

TEST_CASE("global filters and interceptors: outermost around every controller route", "[filters][interceptors][global][controller]") {
  using global_http = portico::testing::test_app<GlobalHttpModule>::with_global_interceptors<Metrics>::with_global_filters<Fallback>;
  auto ctx = global_http{}.run_with_server();
  Trail& trail = ctx.app<global_http::app_type>().container().get<Trail&>();
  auto c = ctx.http();

  CHECK(c.get("/page").status == 200);
  CHECK(trail.take() == std::vector<std::string>{"guard", "global:before", "outer:before", "cache:before", "handler",
                                                 "cache:after", "outer:after 200", "global:after 200"});

  auto boom = c.get("/boom");  // no route or class filter: the global one answers
  CHECK(boom.status == 503);
  CHECK(boom.body == R"({"kind":"fallback","message":"kaput"})");
  CHECK(trail.take() == std::vector<std::string>{"global:before", "handler", "filter:global"});

  auto pot = c.get("/kitchen/brew?drink=coffee");  // the class filter comes first
  CHECK(pot.status == 418);
  CHECK(trail.take() == std::vector<std::string>{"global:before"});

  // A deferred route: the same order, the `after` hooks when the answer comes.
  auto later = c.get("/later");
  CHECK(later.status == 200);
  CHECK(later.body == "later");
  CHECK(later.header("etag") == "v1");
  CHECK(trail.take() == std::vector<std::string>{"global:before", "outer:before", "cache:before", "handler",
                                                 "cache:after", "outer:after 200", "global:after 200"});
  auto cached = c.get("/later", {{"If-None-Match", "v1"}});  // short-circuit: no handler
  CHECK(cached.status == 304);
  CHECK(trail.take() == std::vector<std::string>{"global:before", "outer:before", "cache:before", "cache:after",
                                                 "outer:after 304", "global:after 304"});
}

// ---------------------------------------------------------------------------------------------
// Filters at CONNECT: a class guard's refusal, an exception of on_connected.

namespace filters_test {

struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct DoorProblem {
  int code = 0;
};
PORTICO_FIELDS(DoorProblem, code)

/// The class guard: auth {door: "closed"} is refused, {door: "refused"} throws.
struct Door {
  bool can_activate(portico::execution_context& ctx) {
    const auto& a = ctx.auth();
    const std::string door = a.IsObject() && a.HasMember("door") && a["door"].IsString() ? a["door"].GetString() : "";
    if (door == "refused") throw Refused("at the door");
    return door != "closed";
  }
};

// [doc:connect]
/// Handlers: the `error` event; CONNECT: the connect_error's message and data.
struct RefusedFilter {
  using catches = portico::catches<Refused>;
  void catch_exception(const Refused& e, portico::ws_exception_host& host) { host.error(Problem{"refused", e.what()}); }
  void catch_exception(const Refused& e, portico::connect_exception_host& host) {
    host.refuse("refused", Problem{"refused", e.what()});
  }
};

/// CONNECT only (handlers do not try it): a guard's `false` arrives as ws_exception(1008).
struct DoorWording {
  void catch_exception(const portico::ws_exception& e, portico::connect_exception_host& host) {
    host.refuse("the door is closed", DoorProblem{e.code()});
  }
};

struct DoorGateway : portico::gateway<DoorGateway> {
  static constexpr auto options = portico::gateway_options{"/door", "/"};
  using guards = portico::guards<Door>;
  using filters = portico::filters<RefusedFilter, DoorWording>;

  void on_connected(portico::gateway_context& ctx) {
    if (ctx.auth().IsObject() && ctx.auth().HasMember("late")) throw Refused("in on_connected");
  }
  void knock() { throw Refused("nobody home"); }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(knock));
};
// [/doc]

using DoorModule = portico::module<portico::gateways<DoorGateway>>;

/// The connect_error of a client with this auth: "message data", or "connected".
std::string connect_answer(portico::testing::run_context& ctx, const std::string& auth) {
  auto c = ctx.new_client_context();
  auto got = std::make_shared<std::promise<std::string>>();
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto answer = [got, once](std::string s) {
    if (!once->exchange(true)) got->set_value(std::move(s));
  };
  c.socket().set_auth_json(auth);
  c.socket().on_connect_error([answer](const pc::connect_error& e) { answer(e.message + " " + e.data_json); });
  c.socket().on_connect([answer] { answer("connected"); });
  c.client().connect(c.url());
  auto f = got->get_future();
  return f.wait_for(4s) == std::future_status::ready ? f.get() : "no answer";
}

}  // namespace filters_test

TEST_CASE("filters word the connect_error of a class guard refusal and of on_connected", "[filters][connect]") {
  auto ctx = portico::testing::test_app<DoorModule>{}.run_with_server();
  CHECK(connect_answer(ctx, R"({"door":"closed"})") == R"(the door is closed {"code":1008})");
  CHECK(connect_answer(ctx, R"({"door":"refused"})") == R"(refused {"kind":"refused","message":"at the door"})");
  CHECK(connect_answer(ctx, R"({"late":true})") == R"(refused {"kind":"refused","message":"in on_connected"})");
  CHECK(connect_answer(ctx, R"({"door":"open"})") == "connected");
  // Handlers keep their own answer: the CONNECT-only filter is not tried there.
  inbox errors;
  ctx.socket().on("error", [&](pc::event& e) { errors.add(portico::json::stringify(e.args()[0])); });
  REQUIRE(ctx.connect());
  ctx.socket().emit("knock");
  REQUIRE(ctx.wait_until([&] { return errors.all().size() == 1; }, 3s));
  CHECK(errors.all()[0] == R"({"kind":"refused","message":"nobody home"})");
}
