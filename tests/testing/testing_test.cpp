// portico::testing: Ellar's two gateway tests ported to C++, plus overrides, config values,
// wait_until, several clients, HTTP routes and shutdown when a test fails. The regions between
// `// [doc:NAME]` and `// [/doc]` are shown verbatim in docs/testing.md (checked by meson test).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "portico/framework/framework.hpp"
#include "portico/json/encode.hpp"
#include "portico/testing/testing.hpp"

using namespace std::chrono_literals;
namespace pc = portico::client;

namespace {

// [doc:gateway]
struct MessageData {
  std::string data;
};
PORTICO_FIELDS(MessageData, data)

struct Greeting {
  std::string data;
  int count = 0;
};
PORTICO_FIELDS(Greeting, data, count)

struct EventGateway : portico::gateway<EventGateway> {
  static constexpr auto options = portico::gateway_options{"/ws", "/"};

  portico::ws_response my_event(const MessageData& message, portico::gateway_context& ctx) {
    return portico::ws_response{"my_response", message}.to(ctx.sid());
  }
  void my_broadcast_event(const MessageData& message, portico::gateway_context& ctx) {
    ctx.get_namespace().emit("my_response", message);  // everyone, the sender included
  }
  void on_connected(portico::gateway_context& ctx) { ctx.emit("my_response", Greeting{"Connected", 0}); }
  void on_disconnected() { ++disconnects; }

  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(EventGateway, my_event),
                                                 PORTICO_SUBSCRIBE(EventGateway, my_broadcast_event));
  static inline std::atomic<int> disconnects{0};
};
// [/doc]

/// Collects what a client receives; handlers run on the client's thread, the test reads it.
struct inbox {
  mutable std::mutex mu;
  std::vector<std::string> items;
  void add(std::string s) {
    std::lock_guard<std::mutex> g(mu);
    items.push_back(std::move(s));
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(mu);
    return items.size();
  }
  std::vector<std::string> all() const {
    std::lock_guard<std::mutex> g(mu);
    return items;
  }
};

}  // namespace

// [doc:ellar-tests]
using test_client = portico::testing::test_module<portico::gateways<EventGateway>>;

TEST_CASE("test_socket_connection_work", "[testing][ellar]") {
  std::vector<std::string> my_response_message;  // declared before ctx: its handlers use them
  std::atomic<bool> connected_called{false}, disconnected_called{false};
  {
    auto ctx = test_client{}.run_with_server();
    pc::socket& sio = ctx.socket();
    sio.on("my_response", [&](pc::event& e) { my_response_message.push_back(portico::json::stringify(e.args()[0])); });
    sio.on_disconnect([&](const std::string&) { disconnected_called = true; });
    sio.on_connect([&] {
      sio.emit("my_event", MessageData{"I'm connected!"});
      connected_called = true;
    });
    REQUIRE(ctx.connect("/ws/"));
    ctx.wait();
  }  // the client disconnects, the server stops: the client's thread is joined

  REQUIRE(my_response_message.size() == 2);
  CHECK(my_response_message == std::vector<std::string>{R"({"data":"Connected","count":0})",
                                                        R"({"data":"I'm connected!"})"});
  CHECK((disconnected_called && connected_called));
}

TEST_CASE("test_broadcast_work", "[testing][ellar]") {
  std::vector<std::string> sio_1_response_message, sio_2_response_message;
  {
    auto ctx = test_client{}.run_with_server();
    auto ctx_2 = ctx.new_client_context();
    ctx.socket().on("my_response", [&](pc::event& e) {
      sio_1_response_message.push_back(portico::json::stringify(e.args()[0]));
    });
    ctx_2.socket().on("my_response", [&](pc::event& e) {
      sio_2_response_message.push_back(portico::json::stringify(e.args()[0]));
    });
    REQUIRE(ctx.connect("/ws/"));
    REQUIRE(ctx_2.connect("/ws/"));

    ctx.socket().emit("my_broadcast_event", MessageData{"Testing Broadcast"});  // both receive it

    ctx.wait();
    ctx_2.wait();
  }

  REQUIRE(sio_1_response_message.size() == 2);
  CHECK(sio_1_response_message == std::vector<std::string>{R"({"data":"Connected","count":0})",
                                                           R"({"data":"Testing Broadcast"})"});
  REQUIRE(sio_2_response_message.size() == 2);
  CHECK(sio_2_response_message == std::vector<std::string>{R"({"data":"Connected","count":0})",
                                                           R"({"data":"Testing Broadcast"})"});
}
// [/doc]

// ---------------------------------------------------------------------------------------------
// Overrides and config values.

namespace {

// [doc:overrides]
struct Config {
  std::string greeting = "Hello";
};

struct Greeter {  // the production service: an interface and its implementation
  virtual ~Greeter() = default;
  virtual std::string greet(const std::string& name) = 0;
};
struct ConfiguredGreeter : Greeter {
  explicit ConfiguredGreeter(const Config& c) : c(c) {}
  std::string greet(const std::string& name) override { return c.greeting + ", " + name; }
  const Config& c;
};

struct GreetGateway : portico::gateway<GreetGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/greet"};
  explicit GreetGateway(Greeter& g) : greeter(g) {}
  std::string greet(const std::string& name) { return greeter.greet(name); }  // answers the ack
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(GreetGateway, greet));
  Greeter& greeter;
};

using GreetModule = portico::module<
    portico::providers<portico::value<Config>, portico::bind<Greeter, ConfiguredGreeter>>,
    portico::gateways<GreetGateway>>;

struct FakeGreeter : Greeter {  // the fake a test swaps in
  std::string greet(const std::string& name) override { return "fake greeting for " + name; }
};

TEST_CASE("a test replaces a provider with a fake", "[testing][overrides]") {
  using with_fake = portico::testing::test_app<GreetModule>::with_overrides<portico::override<Greeter, FakeGreeter>>;
  auto ctx = with_fake{}.run_with_server();
  REQUIRE(ctx.connect());  // the first gateway's path and namespace: /socket.io/, /greet

  auto reply = std::make_shared<std::promise<std::string>>();
  ctx.socket().emit_with_ack("greet", [reply](pc::ack_result& r) {
    reply->set_value(r.ok() ? std::string(r.args()[0].GetString()) : pc::to_string(r.status));
  }, 2s, "ada");
  auto answer = reply->get_future();
  REQUIRE(answer.wait_for(3s) == std::future_status::ready);
  CHECK(answer.get() == "fake greeting for ada");
}

TEST_CASE("config values reach the providers", "[testing][overrides]") {
  portico::testing::test_app<GreetModule> app{Config{"Bonjour"}};
  auto copy = app;  // a test app is a recipe: copies start equal apps
  auto ctx = copy.run_with_server();
  REQUIRE(ctx.connect());
  std::atomic<bool> answered{false};
  std::string text;
  ctx.socket().emit_with_ack("greet", [&](pc::ack_result& r) {
    if (r.ok()) text = r.args()[0].GetString();
    answered = true;
  }, 2s, "ada");
  REQUIRE(ctx.wait_until([&] { return answered.load(); }));
  CHECK(text == "Bonjour, ada");
}
// [/doc]

}  // namespace

// ---------------------------------------------------------------------------------------------
// wait_until, several clients, other namespaces, refusals.

TEST_CASE("wait_until returns as soon as the condition holds, false after the timeout", "[testing]") {
  auto ctx = test_client{}.run_with_server();
  inbox got;
  ctx.socket().on("my_response", [&](pc::event& e) { got.add(portico::json::stringify(e.args()[0])); });
  REQUIRE(ctx.connect("/ws/"));
  const auto start = std::chrono::steady_clock::now();
  CHECK(ctx.wait_until([&] { return got.size() == 1; }, 3s));  // the greeting
  CHECK(std::chrono::steady_clock::now() - start < 2s);

  const auto before = std::chrono::steady_clock::now();
  CHECK_FALSE(ctx.wait_until([&] { return got.size() == 2; }, 200ms));  // nothing else comes
  const auto waited = std::chrono::steady_clock::now() - before;
  CHECK(waited >= 200ms);
  CHECK(waited < 1500ms);
}

TEST_CASE("two clients: a broadcast from the second reaches both, my_event only its sender", "[testing]") {
  auto ctx = test_client{}.run_with_server();
  auto other = ctx.new_client_context();
  inbox one, two;
  ctx.socket().on("my_response", [&](pc::event& e) { one.add(portico::json::stringify(e.args()[0])); });
  other.socket().on("my_response", [&](pc::event& e) { two.add(portico::json::stringify(e.args()[0])); });
  REQUIRE(ctx.connect("/ws/"));
  REQUIRE(other.connect("/ws/"));
  REQUIRE(ctx.wait_until([&] { return one.size() == 1 && two.size() == 1; }));
  CHECK(ctx.socket().sid() != other.socket().sid());

  other.socket().emit("my_event", MessageData{"only me"});
  other.socket().emit("my_broadcast_event", MessageData{"all"});
  REQUIRE(ctx.wait_until([&] { return one.size() == 2 && two.size() == 3; }));
  ctx.wait(100ms);  // nothing more arrives
  CHECK(one.all().back() == R"({"data":"all"})");
  CHECK(two.all() == std::vector<std::string>{R"({"data":"Connected","count":0})", R"({"data":"only me"})",
                                              R"({"data":"all"})"});
}

TEST_CASE("app_options.metrics serves the Prometheus text on the app's port", "[testing][metrics]") {
  test_client t;
  t.options().metrics = true;
  auto ctx = t.run_with_server();
  inbox got;
  ctx.socket().on("my_response", [&](pc::event& e) { got.add(portico::json::stringify(e.args()[0])); });
  REQUIRE(ctx.connect("/ws/"));
  ctx.socket().emit("my_event", MessageData{"counted"});
  REQUIRE(ctx.wait_until([&] { return got.size() == 2; }));

  auto r = ctx.http().get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body.find("# TYPE portico_connects_total counter\nportico_connects_total 1\n") != std::string::npos);
  CHECK(r.body.find("portico_sockets{namespace=\"/\"} 1\n") != std::string::npos);
  auto m = ctx.app<test_client::app_type>().server().metrics();
  CHECK(m.enabled);
  CHECK(m.connects == 1);
  CHECK(m.packets_in >= 2);  // the CONNECT and the event
  CHECK(m.packets_out >= 3);  // the CONNECT answer and two my_response
  CHECK(m.connections_polling + m.connections_websocket == 1);
}

TEST_CASE("connect returns false when the namespace does not exist", "[testing]") {
  auto ctx = test_client{}.run_with_server();
  std::atomic<bool> refused{false};
  ctx.socket("/nowhere").on_connect_error([&](const pc::connect_error&) { refused = true; });
  portico::testing::connect_options o;
  o.path = "/ws/";
  o.nsp = "/nowhere";
  o.timeout = 1s;
  CHECK_FALSE(ctx.connect(o));
  CHECK(refused.load());
}

TEST_CASE("handshake options are fixed once the client exists", "[testing]") {
  auto ctx = test_client{}.run_with_server();
  ctx.socket();  // creates the client with the defaults
  portico::testing::connect_options o;
  o.headers["X-Test"] = "1";
  CHECK_THROWS_AS(ctx.prepare(o), std::logic_error);
}

namespace {
/// What the gateway saw of each handshake (a singleton the test reads through the app).
struct Seen {
  std::mutex mu;
  std::vector<std::string> users;
};
struct WhoGateway : portico::gateway<WhoGateway> {
  static constexpr auto options = portico::gateway_options{"/who", "/me"};
  explicit WhoGateway(Seen& s) : seen(s) {}
  void on_connected(portico::gateway_context& ctx) {
    std::string token = ctx.auth().IsObject() && ctx.auth().HasMember("token") ? ctx.auth()["token"].GetString() : "";
    std::lock_guard<std::mutex> g(seen.mu);
    seen.users.push_back(std::string(ctx.header("x-user")) + "/" + token);
  }
  static constexpr auto events = portico::events();
  Seen& seen;
};
using who_test = portico::testing::test_module<portico::providers<Seen>, portico::gateways<WhoGateway>>;
}  // namespace

TEST_CASE("connect sends headers and auth; the test reads providers through the app", "[testing]") {
  auto ctx = who_test{}.run_with_server();
  CHECK(ctx.url() == "http://127.0.0.1:" + std::to_string(ctx.port()));
  REQUIRE(ctx.connect("/who", "/me", {{"X-User", "ada"}}, R"({"token":"t1"})"));
  auto second = ctx.new_client_context();
  portico::testing::connect_options o;  // defaults: the first gateway's path and namespace
  o.auth_json = R"({"token":"t2"})";
  REQUIRE(second.connect(o));
  Seen& seen = ctx.app<who_test::app_type>().container().get<Seen&>();
  std::lock_guard<std::mutex> g(seen.mu);
  CHECK(seen.users == std::vector<std::string>{"ada/t1", "/t2"});
}

namespace {
struct Credentials {
  std::string user;
  int level = 0;
};
PORTICO_FIELDS(Credentials, user, level)

struct Profile {
  std::string user;
  std::vector<std::string> rooms;
};
PORTICO_FIELDS(Profile, user, rooms)

struct ProfileGateway : portico::gateway<ProfileGateway> {
  static constexpr auto options = portico::gateway_options{"/profile", "/"};
  void on_connected(portico::gateway_context& ctx) {
    auto creds = ctx.auth_as<Credentials>();  // a bad auth refuses the CONNECT (1007 + error list)
    ctx.save_session(Profile{creds.user, {}});
  }
  Profile enter(const std::string& room, portico::gateway_context& ctx) {
    auto p = ctx.session<Profile>();
    p.rooms.push_back(room);
    ctx.save_session(p);
    return p;
  }
  /// Asks the client a question and answers the caller's ack with the client's answer.
  void ask(const std::string& question, portico::gateway_context& ctx) {
    ctx.emit_with_ack(
        "question",
        [ack = ctx.take_ack()](portico::socketio::ack_status st, const portico::socketio::args& r) mutable {
          if (st == portico::socketio::ack_status::ok) ack(r[0]);
          else ack(portico::socketio::to_string(st));
        },
        std::chrono::milliseconds(1000), question);
  }
  /// Asks two questions and answers the caller once both are in: "a|b", a missing one as its status.
  void ask_two(const std::string& first, const std::string& second, portico::gateway_context& ctx) {
    portico::ack_join both(2, [ack = ctx.take_ack()](std::vector<portico::ack_reply>& r) mutable {
      std::string out;
      for (auto& one : r)
        out += (out.empty() ? "" : "|") +
               (one.ok() ? std::string(one.values[0].GetString()) : portico::socketio::to_string(one.status));
      ack(out);
    });
    ctx.emit_with_ack("question", both.slot(0), std::chrono::milliseconds(1000), first);
    ctx.emit_with_ack("question", both.slot(1), std::chrono::milliseconds(1000), second);
  }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(ProfileGateway, enter),
                                                 PORTICO_SUBSCRIBE(ProfileGateway, ask),
                                                 PORTICO_SUBSCRIBE(ProfileGateway, ask_two));
};
using profile_test = portico::testing::test_module<portico::gateways<ProfileGateway>>;

std::string ack_text(portico::testing::run_context& ctx, const char* event, const std::string& arg) {
  auto reply = std::make_shared<std::promise<std::string>>();
  ctx.socket().emit_with_ack(event, [reply](pc::ack_result& r) {
    reply->set_value(r.ok() ? portico::json::stringify(r.args()[0]) : pc::to_string(r.status));
  }, 2s, arg);
  auto f = reply->get_future();
  return f.wait_for(3s) == std::future_status::ready ? f.get() : "no answer";
}
}  // namespace

namespace {
/// A guard that validates the auth as a typed value: a bad one refuses with 1007 and the list.
struct CredentialsGuard {
  bool can_activate(portico::execution_context& ctx) {
    return !ctx.at_connect() || ctx.auth_as<Credentials>().level >= 1;
  }
};
struct GuardedGateway : portico::gateway<GuardedGateway> {
  static constexpr auto options = portico::gateway_options{"/guarded", "/"};
  using guards = portico::guards<CredentialsGuard>;
  static constexpr auto events = portico::events();
};
using guarded_test = portico::testing::test_module<portico::gateways<GuardedGateway>>;

std::string refusal(portico::testing::run_context& ctx, const char* auth) {
  auto got = std::make_shared<std::promise<std::string>>();
  ctx.socket("/").on_connect_error([got](const pc::connect_error& e) {
    try {
      got->set_value(e.message + " " + e.data_json);
    } catch (const std::future_error&) {  // a retry refused again
    }
  });
  portico::testing::connect_options o;
  o.path = "/guarded";
  o.auth_json = auth;
  o.timeout = 2s;
  if (ctx.connect(o)) return "connected";
  auto f = got->get_future();
  return f.wait_for(2s) == std::future_status::ready ? f.get() : "no connect_error";
}
}  // namespace

TEST_CASE("auth_as in a guard: a bad payload refuses with 1007, a good one reaches the guard's decision",
          "[testing][typed]") {
  {
    auto ctx = guarded_test{}.run_with_server();
    CHECK(refusal(ctx, R"({"user":"ada","level":1})") == "connected");
  }
  {
    auto ctx = guarded_test{}.run_with_server();
    CHECK(refusal(ctx, R"({"user":"ada","level":0})") ==
          R"(Forbidden {"code":1008,"reason":"Forbidden"})");
  }
  {
    auto ctx = guarded_test{}.run_with_server();
    CHECK(refusal(ctx, R"({"user":["ada"],"level":1})") ==
          R"(Invalid auth {"code":1007,"reason":[{"loc":["user"],"msg":"value is not a valid string","type":"string_type"}]})");
  }
}

TEST_CASE("auth_as and the typed session: decoded auth, a session kept across events", "[testing][typed]") {
  auto ctx = profile_test{}.run_with_server();
  REQUIRE(ctx.connect("/profile", "/", {}, R"({"user":"ada","level":2})"));
  CHECK(ack_text(ctx, "enter", "lobby") == R"({"user":"ada","rooms":["lobby"]})");
  CHECK(ack_text(ctx, "enter", "kitchen") == R"({"user":"ada","rooms":["lobby","kitchen"]})");
}

TEST_CASE("gateway_context::emit_with_ack and ack_join: the client's answers, or timeout", "[testing][typed]") {
  auto ctx = profile_test{}.run_with_server();
  REQUIRE(ctx.connect("/profile", "/", {}, R"({"user":"ada","level":1})"));
  ctx.socket().on("question", [](pc::event& e) {  // registered before anything asks
    std::string q = e.args()[0].GetString();
    if (q != "silence") e.ack("answer to " + q);
  });
  CHECK(ack_text(ctx, "ask", "life") == R"("answer to life")");
  CHECK(ack_text(ctx, "ask", "silence") == R"("timeout")");

  // ack_join: both answers in one callback, in slot order; a missing one is its status.
  auto reply = std::make_shared<std::promise<std::string>>();
  ctx.socket().emit_with_ack("ask_two", [reply](pc::ack_result& r) {
    reply->set_value(r.ok() ? portico::json::stringify(r.args()[0]) : pc::to_string(r.status));
  }, 3s, "x", "silence");
  auto f = reply->get_future();
  REQUIRE(f.wait_for(4s) == std::future_status::ready);
  CHECK(f.get() == R"("answer to x|timeout")");
}

TEST_CASE("a bad auth payload refuses the CONNECT with 1007 and the error list", "[testing][typed]") {
  auto ctx = profile_test{}.run_with_server();
  std::mutex mu;
  std::string message, data;
  ctx.socket("/").on_connect_error([&](const pc::connect_error& e) {
    std::lock_guard<std::mutex> g(mu);
    message = e.message;
    data = e.data_json;
  });
  portico::testing::connect_options o;
  o.path = "/profile";
  o.auth_json = R"({"level":"high"})";
  o.timeout = 2s;
  CHECK_FALSE(ctx.connect(o));
  std::lock_guard<std::mutex> g(mu);
  CHECK(message == "Invalid auth");
  CHECK(data == R"({"code":1007,"reason":[{"loc":["user"],"msg":"field required","type":"missing"},)"
                R"({"loc":["level"],"msg":"value is not a valid integer","type":"int_type"}]})");
}

TEST_CASE("no auth at all is refused too", "[testing][typed]") {
  auto ctx = profile_test{}.run_with_server();
  std::atomic<bool> refused{false};
  ctx.socket("/").on_connect_error([&](const pc::connect_error& e) { refused = e.message == "Invalid auth"; });
  portico::testing::connect_options o;
  o.path = "/profile";
  o.timeout = 2s;
  CHECK_FALSE(ctx.connect(o));
  CHECK(refused.load());
}

namespace {
struct NewsGateway : portico::gateway<NewsGateway> {
  static constexpr auto options = portico::gateway_options{"/news", "/"};
  void after_init(portico::socketio::nsp& n) { init_namespace = n.namespace_name(); }
  static constexpr auto events = portico::events();
  std::string init_namespace;  ///< set by after_init
};
/// A provider that emits with no socket in hand.
struct Newsroom {
  explicit Newsroom(portico::namespace_handle<NewsGateway>& h) : news(h) {}
  void publish(const std::string& text) { news.emit("news", text); }
  portico::namespace_handle<NewsGateway>& news;
};
using news_module = portico::module<portico::providers<portico::namespace_handle<NewsGateway>, Newsroom>,
                                    portico::gateways<NewsGateway>>;
}  // namespace

TEST_CASE("after_init runs when the app is built, before listen; the namespace handle is bound then", "[testing][handle]") {
  portico::app<news_module> app;
  CHECK(app.container().component<NewsGateway>().init_namespace == "/");
  auto& h = app.container().get<portico::namespace_handle<NewsGateway>&>();
  CHECK(h.ready());
  CHECK(&h.get() == &app.server("/news").of("/"));
  CHECK_NOTHROW(app.container().get<Newsroom&>().publish("nobody listens yet"));  // no client: a no-op
}

TEST_CASE("a namespace handle used with no app is a clear error", "[testing][handle]") {
  portico::namespace_handle<NewsGateway> h;
  CHECK_FALSE(h.ready());
  CHECK_THROWS_AS(h.emit("news", "x"), std::logic_error);
  CHECK_THROWS_AS(h.get(), std::logic_error);
}

TEST_CASE("a provider emits through the injected namespace handle to connected clients", "[testing][handle]") {
  auto ctx = portico::testing::test_app<news_module>{}.run_with_server();
  REQUIRE(ctx.connect("/news", "/"));
  inbox got;
  ctx.socket().on("news", [&](pc::event& e) { got.add(e.args()[0].GetString()); });
  ctx.app<portico::testing::test_app<news_module>::app_type>().container().get<Newsroom&>().publish("extra");
  REQUIRE(ctx.wait_until([&] { return got.size() == 1; }));
  CHECK(got.all() == std::vector<std::string>{"extra"});
}

// ---------------------------------------------------------------------------------------------
// Shutdown.

TEST_CASE("a failing test still shuts everything down", "[testing][shutdown]") {
  const int before = EventGateway::disconnects.load();
  std::uint16_t port = 0;
  const auto start = std::chrono::steady_clock::now();
  auto failing_test = [&] {
    auto ctx = test_client{}.run_with_server();
    port = ctx.port();
    REQUIRE(ctx.connect("/ws/"));
    throw std::runtime_error("an assertion failed here");  // what a failed REQUIRE does
  };
  CHECK_THROWS_WITH(failing_test(), "an assertion failed here");
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(EventGateway::disconnects.load() == before + 1);  // the server saw the client leave
  // The port is closed: nothing listens any more.
  CHECK_THROWS_AS(portico::testing::http_client(port).get("/", {}, 1s), std::runtime_error);
}

TEST_CASE("a context destroyed while its client is mid-connect ends promptly", "[testing][shutdown]") {
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    {
      auto ctx = test_client{}.run_with_server();
      auto second = ctx.new_client_context();
      second.socket().on("my_response", [](pc::event&) {});
      second.client().connect(second.url());  // not waited for
      ctx.client().connect(ctx.url());
    }
    CHECK(std::chrono::steady_clock::now() - start < 3s);
  }
}

TEST_CASE("a second context outliving the first sees the server go away", "[testing][shutdown]") {
  std::atomic<bool> gone{false};
  auto make = [&] {
    auto ctx = test_client{}.run_with_server();
    auto other = ctx.new_client_context();
    other.socket().on_disconnect([&](const std::string&) { gone = true; });
    REQUIRE(other.connect("/ws/"));
    return other;  // ctx ends here: the server stops
  };
  auto other = make();
  CHECK(other.wait_until([&] { return gone.load(); }, 3s));
}

// ---------------------------------------------------------------------------------------------
// HTTP routes.

namespace {
struct Car {
  int id = 0;
  std::string name;
};
PORTICO_FIELDS(Car, id, name)
}  // namespace

// [doc:http]
TEST_CASE("HTTP routes are served beside the gateways", "[testing][http]") {
  namespace http = portico::http;
  test_client app;
  app.routes([](http::router& r) {
    r.get("/car/{id}", [](int id, std::string name) { return Car{id, name}; }, http::path<int>("id"),
          http::query<std::string>("name", "John"));
    r.post("/car", [](Car c) { return Car{c.id + 1, c.name}; }, http::body<Car>());
  });
  auto ctx = app.run_with_server();
  portico::testing::http_client http_client(ctx);

  auto got = http_client.get("/car/7?name=Ada");
  CHECK(got.status == 200);
  CHECK(got.body == R"({"id":7,"name":"Ada"})");
  CHECK(got.header("content-type").find("application/json") == 0);

  auto posted = http_client.post("/car", R"({"id":1,"name":"Bo"})");
  CHECK(posted.status == 200);
  CHECK(posted.body == R"({"id":2,"name":"Bo"})");

  CHECK(http_client.post("/car", R"({"id":"x"})").status == 422);
  CHECK(http_client.get("/nothing-here").status == 404);
  REQUIRE(ctx.connect("/ws/"));  // and the gateway works on the same port
}
// [/doc]

// [doc:websocket]
TEST_CASE("websocket_connect talks to a ws_route: echo, guard, close codes", "[testing][http][websocket]") {
  namespace http = portico::http;
  auto last_close = std::make_shared<std::atomic<int>>(0);
  test_client app;
  app.routes([last_close](http::router& r) {
    r.ws("/car/live-support", [last_close](const http::websocket_ptr& ws, std::string name) {
      ws->accept();
      ws->send_text("Welcome " + name);
      ws->on_text([name](http::websocket& w, std::string&& data) {
        if (data == "bye") w.close(4000, "bye " + name);
        else w.send_json(Car{static_cast<int>(data.size()), name});
      });
      ws->on_close([last_close](http::websocket&, int code, const std::string&) { last_close->store(code); });
    }, http::query<std::string>("name", "John"))
        .check(http::guard([](const http::request& req) { return req.header("x-banned") == nullptr; }));
  });
  auto ctx = app.run_with_server();

  auto ws = ctx.websocket_connect("/car/live-support?name=Ada");
  REQUIRE(ws.status() == 101);
  CHECK(ws.receive_text() == "Welcome Ada");
  ws.send_text("late");
  CHECK(ws.receive_text() == R"({"id":4,"name":"Ada"})");
  ws.send_json(std::string("x"));  // a JSON string frame: "\"x\"" is 3 bytes
  CHECK(ws.receive_text() == R"({"id":3,"name":"Ada"})");
  ws.send_text("bye");  // the server closes
  REQUIRE(ws.wait_closed());
  CHECK(ws.close_code() == 4000);
  CHECK(ws.close_reason() == "bye Ada");
  CHECK_THROWS_AS(ws.receive_text(100ms), std::runtime_error);

  auto john = ctx.websocket_connect("/car/live-support");
  CHECK(john.receive_text() == "Welcome John");
  CHECK_THROWS_AS(john.receive_text(100ms), std::runtime_error);  // nothing more was sent
  REQUIRE(john.close(4001));  // the client closes: the route sees its code
  CHECK(ctx.wait_until([&] { return last_close->load() == 4001; }));

  auto banned = ctx.websocket_connect("/car/live-support", {{"X-Banned", "1"}});
  CHECK(banned.status() == 403);
  CHECK_FALSE(banned.is_open());
  CHECK(ctx.websocket_connect("/car/elsewhere").status() == 404);
}
// [/doc]

// ---------------------------------------------------------------------------------------------
// Controllers (docs/http.md, "Controllers"): a module with controllers only, with a fake.

namespace {

// [doc:controller]
struct Clock {
  virtual ~Clock() = default;
  virtual std::string now() { return "real time"; }
};
struct FakeClock : Clock {
  std::string now() override { return "12:00"; }
};

struct TimeController : portico::controller<TimeController> {
  static constexpr auto options = portico::controller_options{"/time"};
  explicit TimeController(Clock& c) : clock(c) {}
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [this] { return portico::http::text(clock.now()); });
    r.ws("/feed", [this](const portico::http::websocket_ptr& ws) {
      ws->accept();
      ws->send_text(clock.now());
    });
  }
  Clock& clock;
};

TEST_CASE("a controller tested with a fake provider", "[testing][controller]") {
  using time_test = portico::testing::test_module<portico::controllers<TimeController>, portico::providers<Clock>>;
  auto ctx = time_test::with_overrides<portico::override<Clock, FakeClock>>{}.run_with_server();

  auto page = ctx.http().get("/time");  // same as http_client(ctx).get(...)
  CHECK(page.status == 200);
  CHECK(page.body == "12:00");

  auto feed = ctx.websocket_connect("/time/feed");
  REQUIRE(feed.status() == 101);
  CHECK(feed.receive_text() == "12:00");
}
// [/doc]

}  // namespace

namespace {
/// A gateway that allows long-polling only (socket.io's `transports: ['polling']`).
struct PollingGateway : portico::gateway<PollingGateway> {
  static constexpr auto options =
      portico::gateway_options{"/poll", "/"}.with_transports(portico::transports::polling);
  std::string echo(const std::string& s) { return s; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(PollingGateway, echo));
};
}  // namespace

TEST_CASE("a polling-only gateway, tested over long-polling, with the app's server limits", "[testing][polling]") {
  portico::testing::test_module<portico::gateways<PollingGateway>> t;
  t.options().server.engine.max_payload = 2000;  // app_options::server reaches the gateway's server
  auto ctx = t.run_with_server();
  portico::testing::connect_options o;
  o.transports = {"polling"};
  ctx.prepare(o);  // before ctx.socket(): the client is built with these options
  std::atomic<bool> disconnected{false};
  ctx.socket().on_disconnect([&](const std::string&) { disconnected = true; });
  REQUIRE(ctx.connect(o));
  CHECK(ctx.client().transport() == "polling");

  std::mutex mu;
  std::string answer;
  ctx.socket().emit_with_ack("echo", [&](pc::ack_result& r) {
    std::lock_guard<std::mutex> g(mu);
    answer = r.ok() ? std::string(r.args().at(0).str()) : "?";
  }, 2s, std::string(500, 'a'));
  REQUIRE(ctx.wait_until([&] { std::lock_guard<std::mutex> g(mu); return !answer.empty(); }));
  CHECK(answer == std::string(500, 'a'));

  // Over the 2000-byte limit: the server refuses the POST (413) and ends the session.
  ctx.socket().emit("echo", std::string(10000, 'b'));
  CHECK(ctx.wait_until([&] { return disconnected.load(); }, 3000ms));
}

// ---------------------------------------------------------------------------------------------
// Several I/O workers and the worker pool at once (the ThreadSanitizer configuration runs this:
// docs/design.md, "Running the sanitizers").

namespace {

/// Hands every event to the pool, which acks it, emits to the sender and broadcasts.
struct PoolGateway : portico::gateway<PoolGateway> {
  static constexpr auto options = portico::gateway_options{"/pool", "/"};
  void crunch(int n, portico::gateway_context& ctx) {
    ctx.offload([ack = ctx.take_ack(), s = ctx.socket().shared_from_this(), n]() mutable {
      s->emit("crunched", n);
      s->get_namespace().emit("tick", n);
      ack(n * 2);
    });
  }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(PoolGateway, crunch));
};

}  // namespace

TEST_CASE("offloaded work acks, emits and broadcasts from the pool with several I/O workers", "[testing][offload]") {
  portico::testing::test_module<portico::gateways<PoolGateway>> module;
  module.options().io_threads = 2;
  module.options().worker_threads = 2;
  constexpr int kClients = 3, kEvents = 20;
  struct seen {  // declared before the clients: their handlers write here until they are gone
    std::mutex mu;
    std::vector<int> acks, crunched, ticks;
  };
  std::vector<seen> got(kClients);
  auto first = module.run_with_server();
  std::vector<portico::testing::run_context> contexts;
  for (int i = 1; i < kClients; ++i) contexts.push_back(first.new_client_context());
  std::vector<portico::testing::run_context*> all{&first};
  for (auto& c : contexts) all.push_back(&c);

  for (int i = 0; i < kClients; ++i) {
    auto& g = got[std::size_t(i)];
    all[std::size_t(i)]->socket().on("crunched", [&g](pc::event& e) {
      std::lock_guard<std::mutex> l(g.mu);
      g.crunched.push_back(e.args()[0].GetInt());
    });
    all[std::size_t(i)]->socket().on("tick", [&g](pc::event& e) {
      std::lock_guard<std::mutex> l(g.mu);
      g.ticks.push_back(e.args()[0].GetInt());
    });
    REQUIRE(all[std::size_t(i)]->connect("/pool/"));
  }
  for (int k = 0; k < kEvents; ++k)
    for (int i = 0; i < kClients; ++i) {
      auto& g = got[std::size_t(i)];
      all[std::size_t(i)]->socket().emit_with_ack("crunch", [&g](pc::ack_result& r) {
        std::lock_guard<std::mutex> l(g.mu);
        g.acks.push_back(r.ok() ? r.args()[0].GetInt() : -1);
      }, 5s, i * 1000 + k);
    }
  auto sorted = [](std::vector<int> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  REQUIRE(first.wait_until([&] {
    for (auto& g : got) {
      std::lock_guard<std::mutex> l(g.mu);
      if (g.acks.size() < kEvents || g.crunched.size() < kEvents || g.ticks.size() < kClients * kEvents) return false;
    }
    return true;
  }, 10s));
  std::vector<int> every_tick;
  for (int i = 0; i < kClients; ++i)
    for (int k = 0; k < kEvents; ++k) every_tick.push_back(i * 1000 + k);
  for (int i = 0; i < kClients; ++i) {
    auto& g = got[std::size_t(i)];
    std::lock_guard<std::mutex> l(g.mu);
    std::vector<int> mine, doubled;
    for (int k = 0; k < kEvents; ++k) {
      mine.push_back(i * 1000 + k);
      doubled.push_back(2 * (i * 1000 + k));
    }
    CHECK(sorted(g.acks) == doubled);
    CHECK(sorted(g.crunched) == mine);
    CHECK(sorted(g.ticks) == every_tick);
  }
}
