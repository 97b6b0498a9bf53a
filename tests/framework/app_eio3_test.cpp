// app_options::allow_eio3 reaches every gateway path's server: a protocol v4 client (Engine.IO v3)
// is in "/" from the handshake, and gateway guards see its CONNECT query as the auth.
// One listen(): every gateway path and the controllers on one port, with keep-alive.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <system_error>

#include "../socketio/sio_client.hpp"
#include "portico/framework/framework.hpp"

namespace {

struct QueryTokenGuard {
  bool can_activate(portico::execution_context& ctx) {
    const auto& a = ctx.auth();
    return a.IsObject() && a.HasMember("token") && a["token"] == "ok";
  }
};

struct LegacyGateway : portico::gateway<LegacyGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/chat"};
  using guards = portico::guards<QueryTokenGuard>;
  std::string whoami(portico::gateway_context& ctx) { return ctx.sid(); }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(LegacyGateway, whoami));
};

using LegacyModule = portico::module<portico::gateways<LegacyGateway>>;

}  // namespace

TEST_CASE("app_options::allow_eio3 serves protocol v4 clients on the gateways", "[framework][eio3]") {
  portico::app_options o;
  o.io_threads = 1;
  o.allow_eio3 = true;
  portico::app<LegacyModule> app(o);
  app.listen("127.0.0.1", 0);

  sio_test::client c(app.port(), "/socket.io/", "EIO=3&transport=websocket");
  REQUIRE(c.wait_open());
  CHECK(c.next_text() == "0");  // "/" joined at the handshake
  c.send("0/chat?token=ok,");
  CHECK(c.next_text() == "0/chat,");
  c.send(R"(2/chat,1["whoami"])");
  std::string who = c.next_text();
  CHECK(who.rfind(R"(3/chat,1["/chat#)", 0) == 0);

  sio_test::client refused(app.port(), "/socket.io/", "EIO=3&transport=websocket");
  REQUIRE(refused.wait_open());
  CHECK(refused.next_text() == "0");
  refused.send("0/chat?token=no,");
  std::string answer = refused.next_text();
  CHECK(answer.rfind(R"(4/chat,")", 0) == 0);  // the message only, as a JSON string
  app.stop();

  // off by default: Engine.IO v3 is refused at the handshake
  portico::app_options d;
  d.io_threads = 1;
  portico::app<LegacyModule> plain(d);
  plain.listen("127.0.0.1", 0);
  sio_test::client old(plain.port(), "/socket.io/", "EIO=3&transport=websocket");
  CHECK_FALSE(old.wait_open(std::chrono::milliseconds(2000)));
  plain.stop();
}

namespace {

struct FirstGateway : portico::gateway<FirstGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io"};
  std::string whoami() { return "first"; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(FirstGateway, whoami));
};
struct SecondGateway : portico::gateway<SecondGateway> {
  static constexpr auto options = portico::gateway_options{"/second"};
  std::string whoami() { return "second"; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(SecondGateway, whoami));
};
struct PingController : portico::controller<PingController> {
  static constexpr auto options = portico::controller_options{"/api"};
  std::map<std::string, int> ping() { return {{"pong", 1}}; }
  template <class Routes>
  void routes(Routes& r) {
    r.get("/ping", &PingController::ping);
  }
};
using OnePortModule =
    portico::module<portico::gateways<FirstGateway, SecondGateway>, portico::controllers<PingController>>;

/// Two GETs written on one connection (pipelined), read until both answers are in.
std::string two_requests_one_connection(std::uint16_t port, const std::string& target) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  asio::write(s, asio::buffer(req + req));
  std::string got;
  char buf[4096];
  asio::error_code ec;
  while (!ec) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    got.append(buf, n);
    std::size_t answers = 0;
    for (auto at = got.find("HTTP/1.1 "); at != std::string::npos; at = got.find("HTTP/1.1 ", at + 1)) ++answers;
    if (answers == 2 && got.size() > got.rfind("\r\n\r\n") + 4) break;
  }
  return got;
}

}  // namespace

TEST_CASE("one listen() serves every gateway path and the controllers on one port", "[framework][host]") {
  portico::app_options o;
  o.io_threads = 1;
  portico::app<OnePortModule> app(o);
  app.listen("127.0.0.1", 0);
  CHECK(app.port("/second") == app.port());

  for (auto [path, name] : {std::pair<const char*, const char*>{"/socket.io/", "first"}, {"/second/", "second"}}) {
    sio_test::client c(app.port(), path);
    REQUIRE(c.wait_open());
    c.send("0");
    CHECK(c.next_text().rfind("0{", 0) == 0);
    c.send(R"(21["whoami"])");
    CHECK(c.next_text() == std::string(R"(31[")") + name + R"("])");
  }

  // A controller on the same port; two requests on one connection, both answered, kept open.
  std::string both = two_requests_one_connection(app.port(), "/api/ping");
  CHECK(both.find("HTTP/1.1 200 OK") == 0);
  CHECK(both.find("HTTP/1.1 200 OK", 1) != std::string::npos);
  CHECK(both.find("Connection: close") == std::string::npos);
  CHECK(both.find(R"({"pong":1})") != std::string::npos);

  // A second app cannot take the port (no SO_REUSEPORT): listen() throws.
  portico::app<OnePortModule> second(o);
  CHECK_THROWS_AS(second.listen("127.0.0.1", app.port()), std::system_error);
  app.stop();
}
