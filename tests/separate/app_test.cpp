// A user's TU in the separately compiled mode: it includes the umbrella as any app does, and
// generates none of the Socket.IO server's or websocketpp's code (src.cpp has it). The test talks
// to the app over 127.0.0.1 with long-polling requests, as a Socket.IO client does.
#include <portico/portico.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

struct HelloGateway : portico::gateway<HelloGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/"};
  std::string hello(const std::string& who) { return "hello, " + who; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(HelloGateway, hello));
};

/// One HTTP/1.1 request on its own connection; returns the body.
std::string http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body = "") {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (method == "POST") req += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  asio::write(s, asio::buffer(req));
  std::string out;
  asio::error_code ec;
  char buf[4096];
  for (;;) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  auto p = out.find("\r\n\r\n");
  return p == std::string::npos ? out : out.substr(p + 4);
}

}  // namespace

TEST_CASE("an app built in the separately compiled mode serves a Socket.IO client", "[separate]") {
  portico::app<portico::module<portico::gateways<HelloGateway>>> app;
  app.listen("127.0.0.1", 0);  // binds and starts the servers' threads; no run() needed
  const auto port = app.port();

  const std::string open = http(port, "GET", "/socket.io/?EIO=4&transport=polling");
  REQUIRE(open.rfind("0{\"sid\":\"", 0) == 0);
  const std::string sid = open.substr(9, open.find('"', 9) - 9);
  const std::string q = "/socket.io/?EIO=4&transport=polling&sid=" + sid;

  CHECK(http(port, "POST", q, "40") == "ok");
  CHECK(http(port, "GET", q).rfind("40{\"sid\":\"", 0) == 0);
  CHECK(http(port, "POST", q, "421[\"hello\",\"world\"]") == "ok");
  CHECK(http(port, "GET", q) == "431[\"hello, world\"]");

  app.stop();
}
