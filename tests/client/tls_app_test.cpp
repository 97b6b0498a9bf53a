// portico::client over TLS against a portico::app served with app.listen_tls: the app side of
// https/wss (the client against npm socket.io over TLS is tls_tests.cpp). A TU of its own: the
// framework is instantiated here only.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "portico/client/tls.hpp"
#include "portico/framework/framework.hpp"
#include "portico/net/tls.hpp"

#include "cert_dir.hpp"

namespace pc = portico::client;
using namespace std::chrono_literals;

namespace {

struct tls_hello_gateway : portico::gateway<tls_hello_gateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/"};
  std::string hello(const std::string& who) { return "hello, " + who; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(tls_hello_gateway, hello));
};
using tls_hello_app = portico::app<portico::module<portico::gateways<tls_hello_gateway>>>;

/// `event` with `arg`, acked: the ack's first argument as a string ("" on failure or timeout).
std::string ask(pc::socket& s, const std::string& event, const std::string& arg) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto f = done->get_future();
  s.emit_with_ack(
      event,
      [done](pc::ack_result& r) {
        done->set_value(r.ok() && r.args().size() > 0 && r.args()[0].IsString() ? r.args()[0].GetString() : "");
      },
      10s, arg);
  return f.wait_for(15s) == std::future_status::ready ? f.get() : std::string();
}

}  // namespace

TEST_CASE("TLS: portico::client reaches a portico::app served by app.listen_tls", "[tls][app]") {
  const std::string transports = GENERATE(as<std::string>{}, "websocket", "polling", "polling,websocket");
  INFO("transports " << transports);
  cert_dir certs;
  const std::string cert_pem = certs("server.pem"), key_pem = certs("server.key");
  // [doc:tls-app]
  tls_hello_app app;               // portico::app<portico::module<portico::gateways<...>>>
  portico::net::tls_options tls;  // <portico/net/tls.hpp>: link portico_tls_dep
  tls.cert_chain_file = cert_pem;
  tls.private_key_file = key_pem;
  app.listen_tls("127.0.0.1", 0, tls);  // https:// and wss://: every gateway path, the routes
  // [/doc]
  REQUIRE(app.port() != 0);
  const std::string url = "https://localhost:" + std::to_string(app.port());

  pc::options o;
  o.transports.clear();
  for (std::size_t at = 0;;) {
    const auto comma = transports.find(',', at);
    o.transports.push_back(transports.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  o.reconnection = false;
  o.open_timeout = 10s;
  o.tls.ca_file = certs("ca.pem");  // verification is on by default: the app's certificate chains to it
  pc::client c(o);
  auto connected = std::make_shared<std::promise<std::string>>();
  c.socket().on_connect([connected] {
    try {
      connected->set_value("connect");
    } catch (const std::future_error&) {
    }
  });
  c.socket().on_connect_error([connected](const pc::connect_error& e) {
    try {
      connected->set_value("connect_error: " + e.message);
    } catch (const std::future_error&) {
    }
  });
  auto result = connected->get_future();
  c.connect(url);
  REQUIRE(result.wait_for(15s) == std::future_status::ready);
  REQUIRE(result.get() == "connect");
  CHECK(ask(c.socket(), "hello", "tls") == "hello, tls");
  if (transports == "polling,websocket") {
    for (int i = 0; i < 100 && c.transport() != "websocket"; ++i) std::this_thread::sleep_for(50ms);
    CHECK(c.transport() == "websocket");  // the upgrade went over TLS too
    CHECK(ask(c.socket(), "hello", "wss") == "hello, wss");
  }

  SECTION("a client trusting another CA is refused; the app goes on") {
    pc::options other = o;
    other.tls.ca_file = certs("other-ca.pem");
    pc::client stranger(other);
    auto refused = std::make_shared<std::promise<std::string>>();
    auto settle = [refused](const char* what) {
      try {
        refused->set_value(what);
      } catch (const std::future_error&) {
      }
    };
    stranger.socket().on_connect([settle] { settle("connect"); });
    stranger.socket().on_connect_error([settle](const pc::connect_error&) { settle("connect_error"); });
    auto f = refused->get_future();
    stranger.connect(url);
    REQUIRE(f.wait_for(15s) == std::future_status::ready);
    CHECK(f.get() == "connect_error");
    CHECK(ask(c.socket(), "hello", "still") == "hello, still");
  }
  c.disconnect();
}
