// net::request_parser: requests split at every byte, several in one buffer, limits and framing
// errors with the status each one answers.
#include <catch2/catch.hpp>

#include <portico/net/request_parser.hpp>
// Also in net_test.cpp: two translation units with every net header prove them link-safe
// (header-only: everything inline).
#include <portico/net/host.hpp>

#include <string>

using portico::net::request_limits;
using portico::net::request_parser;
using state = request_parser::state;

TEST_CASE("a request fed one byte at a time is parsed like one fed at once", "[net][parser]") {
  const std::string raw =
      "POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Type:  text/plain \r\n"
      "Content-Length: 5\r\n\r\nhello";
  request_parser p;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    REQUIRE(p.current() != state::done);
    REQUIRE(p.feed(raw.data() + i, 1) == 1);
  }
  REQUIRE(p.current() == state::done);
  auto r = p.take();
  CHECK(r.method() == "POST");
  CHECK(r.path() == "/socket.io/");
  CHECK(r.query() == "EIO=4&transport=polling");
  CHECK(r.header("content-type") == "text/plain");
  CHECK(r.header("CONTENT-LENGTH") == "5");
  CHECK(r.body() == "hello");
  CHECK(r.keep_alive());
  CHECK(p.current() == state::idle);
}

TEST_CASE("two requests in one buffer: the parser stops at the end of the first", "[net][parser]") {
  const std::string raw = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.0\r\n\r\n";
  request_parser p;
  std::size_t k = p.feed(raw.data(), raw.size());
  REQUIRE(p.current() == state::done);
  CHECK(p.take().target() == "/a");
  REQUIRE(p.feed(raw.data() + k, raw.size() - k) == raw.size() - k);
  REQUIRE(p.current() == state::done);
  auto b = p.take();
  CHECK(b.target() == "/b");
  CHECK(b.minor_version() == 0);
  CHECK_FALSE(b.keep_alive());
}

TEST_CASE("keep-alive follows the version and the Connection header", "[net][parser]") {
  auto parse = [](const std::string& raw) {
    request_parser p;
    p.feed(raw.data(), raw.size());
    REQUIRE(p.current() == state::done);
    return p.take();
  };
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n").keep_alive());
  CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive());
  CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n")
            .is_websocket_upgrade());
}

TEST_CASE("malformed or oversized requests fail with the status to answer", "[net][parser]") {
  request_limits lim;
  lim.max_header_bytes = 100;
  lim.max_headers = 3;
  lim.max_body_bytes = 10;
  auto status = [&](const std::string& raw) {
    request_parser p(lim);
    p.feed(raw.data(), raw.size());
    return p.current() == state::failed ? p.error_status() : 0;
  };
  CHECK(status("hello there\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\n\r\n") == 400);  // no Host
  CHECK(status("GET / HTTP/2.0\r\nHost: x\r\n\r\n") == 505);
  CHECK(status("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(200, 'a') + "\r\n\r\n") == 431);
  CHECK(status("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(200, 'a')) == 431);  // before the end
  CHECK(status("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n") == 431);
  CHECK(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n") == 413);
  CHECK(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") == 411);
  CHECK(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
  CHECK(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
}

#include <portico/net/deadline_wheel.hpp>

#include <vector>

namespace {
struct probe final : portico::net::deadline_entry {
  std::vector<int>* fired;
  int id;
  probe(std::vector<int>& f, int i) : fired(&f), id(i) {}
  void on_deadline() override { fired->push_back(id); }
};
}  // namespace

TEST_CASE("deadline wheel: fires due entries once, re-arm moves, disarm and destruction cancel", "[net][wheel]") {
  using ms = std::chrono::milliseconds;
  portico::net::deadline_wheel w(ms(100), 4);
  std::vector<int> fired;
  probe a(fired, 1), b(fired, 2), c(fired, 3);
  w.arm(a, ms(100));   // 1 tick
  w.arm(b, ms(250));   // rounds up to 3 ticks
  w.arm(c, ms(1000));  // 10 ticks: goes round the 4-slot wheel
  {
    probe gone(fired, 4);
    w.arm(gone, ms(100));
  }  // destroyed while armed: never fires
  w.advance();
  CHECK(fired == std::vector<int>{1});
  CHECK_FALSE(a.armed());
  w.arm(b, ms(500));  // re-armed later: not at tick 3
  w.advance();
  w.advance();
  CHECK(fired == std::vector<int>{1});
  for (int i = 0; i < 4; ++i) w.advance();  // tick 7 (b at 2 + 5)
  CHECK(fired == std::vector<int>{1, 2});
  w.disarm(c);
  for (int i = 0; i < 10; ++i) w.advance();
  CHECK(fired == std::vector<int>{1, 2});
}
