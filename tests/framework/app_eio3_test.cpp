// app_options::allow_eio3 reaches every gateway path's server: a protocol v4 client (Engine.IO v3)
// is in "/" from the handshake, and gateway guards see its CONNECT query as the auth.
#include <catch2/catch.hpp>

#include <string>

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
