// net::host over real loopback sockets: keep-alive, pipelining, limits, deadlines, binding,
// IPv6, mounting, WebSocket through a mount (echo, close, 1007, broadcast, high-water mark) and
// answers sent later from another thread.
#include <catch2/catch.hpp>

#include <portico/net/host.hpp>

#include "loopback.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace net = portico::net;
using net_test::client;

namespace {

/// Log lines captured from a host (the tests check that bad input says why, once).
struct log_capture {
  std::mutex mu;
  std::vector<std::string> lines;
  void attach(portico::logger& l) {
    l.set_sink([this](portico::log_level, std::string_view m) {
      std::lock_guard<std::mutex> g(mu);
      lines.emplace_back(m);
    });
  }
  bool contains(const std::string& s) {
    std::lock_guard<std::mutex> g(mu);
    for (auto& l : lines)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
};

net::host_options test_options() {
  net::host_options o;
  o.threads = 2;
  o.tick = std::chrono::milliseconds(50);
  return o;
}

/// Answers "<method> <target> <body>".
void echo_request(net::request req, net::response res) {
  res.header("Content-Type", "text/plain").send(std::string(req.method()) + " " + std::string(req.target()) + " " + req.body());
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

/// Waits (bounded) until `f()` holds.
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 1000; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

}  // namespace

TEST_CASE("keep-alive: several requests on one connection, then Connection: close ends it", "[net][http]") {
  net::host h(test_options());
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  for (int i = 0; i < 3; ++i) {
    c.send(get("/n" + std::to_string(i)));
    auto r = c.response();
    REQUIRE(r.status == 200);
    CHECK(r.body == "GET /n" + std::to_string(i) + " ");
    CHECK(r.header("connection").empty());
  }
  c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
  CHECK(c.response().body == "POST /p body");
  c.send(get("/last", "Connection: close\r\n"));
  auto r = c.response();
  CHECK(r.status == 200);
  CHECK(r.header("connection") == "close");
  CHECK(c.closed_by_server());
}

TEST_CASE("Expect: 100-continue gets the interim answer before the body is sent", "[net][http]") {
  net::host h(test_options());
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  auto interim = c.response(true);
  CHECK(interim.status == 100);
  c.send("abc");
  auto r = c.response();
  CHECK(r.status == 200);
  CHECK(r.body == "POST /up abc");
}

TEST_CASE("HTTP/1.0 closes after one answer unless it asks for keep-alive", "[net][http]") {
  net::host h(test_options());
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client a(port);
  a.send("GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = a.response();
  CHECK(r.header("connection") == "keep-alive");
  a.send("GET /two HTTP/1.0\r\n\r\n");
  r = a.response();
  CHECK(r.body == "GET /two ");
  CHECK(r.header("connection") == "close");
  CHECK(a.closed_by_server());
}

TEST_CASE("pipelined requests are answered in order, even when the first answers later", "[net][http]") {
  net::host h(test_options());
  std::vector<std::thread> later;
  std::mutex mu;
  h.mount("/slow", [&](net::request req, net::response res) {
    std::lock_guard<std::mutex> g(mu);
    later.emplace_back([res = std::move(res), t = std::string(req.target())]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      res.send("slow " + t);
    });
  });
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send(get("/slow/1") + get("/fast/2") + "POST /fast/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz");
  CHECK(c.response().body == "slow /slow/1");
  CHECK(c.response().body == "GET /fast/2 ");
  CHECK(c.response().body == "POST /fast/3 z");
  c.send(get("/fast/4"));
  CHECK(c.response().body == "GET /fast/4 ");
  for (auto& t : later) t.join();
}

TEST_CASE("a full pipeline pauses reading and resumes as answers go out", "[net][http]") {
  auto o = test_options();
  o.max_pipelined = 2;
  net::host h(o);
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  std::string burst;
  for (int i = 0; i < 20; ++i) burst += get("/r" + std::to_string(i));
  c.send(burst);
  for (int i = 0; i < 20; ++i) REQUIRE(c.response().body == "GET /r" + std::to_string(i) + " ");
}

TEST_CASE("limits: oversize head 431, oversize body 413, garbage 400, chunked 411, each closes", "[net][http][limits]") {
  auto o = test_options();
  o.max_header_bytes = 1024;
  o.max_body_bytes = 100;
  net::host h(o);
  log_capture logs;
  logs.attach(h.log());
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  struct row {
    std::string bytes;
    int status;
    std::string log;
  };
  const std::vector<row> rows = {
      {get("/", "X-Big: " + std::string(4000, 'a') + "\r\n"), 431, "431"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'b'), 413, "413"},
      {"\x16\x03\x01 not http at all\r\n\r\n", 400, "400"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411, "411"},
  };
  for (auto& r : rows) {
    client c(port);
    c.send(get("/before"));  // an earlier good request on the same connection is still answered
    c.send(r.bytes);
    CHECK(c.response().status == 200);
    auto res = c.response();
    CHECK(res.status == r.status);
    CHECK(res.header("connection") == "close");
    CHECK(c.closed_by_server());
    CHECK(eventually([&] { return logs.contains("net: " + r.log); }));
  }
}

TEST_CASE("slowloris: a client dribbling its headers is cut off at the request deadline", "[net][http][timeouts]") {
  auto o = test_options();
  o.request_timeout = std::chrono::milliseconds(300);
  net::host h(o);
  log_capture logs;
  logs.attach(h.log());
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n");
  bool cut = false;
  for (int i = 0; i < 200 && !cut; ++i) {  // up to 20 s of dribbling; the deadline is 0.3 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (c.readable()) break;
    try {
      c.send("X-Drip-" + std::to_string(i) + ": y\r\n");
    } catch (const std::exception&) {
      cut = true;  // reset by the closed server
    }
  }
  if (!cut) {
    auto r = c.response();
    CHECK(r.status == 408);
    CHECK(r.header("connection") == "close");
    CHECK(c.closed_by_server());
  }
  CHECK(logs.contains("request_timeout"));
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout", "[net][http][timeouts]") {
  auto o = test_options();
  o.idle_timeout = std::chrono::milliseconds(200);
  net::host h(o);
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send(get("/"));
  CHECK(c.response().status == 200);
  CHECK(c.closed_by_server());
  CHECK(eventually([&] { return h.connection_count() == 0; }));
}

TEST_CASE("binding a port in use is an error", "[net][listen]") {
  net::host a(test_options());
  auto port = a.listen("127.0.0.1", 0);
  a.start();
  net::host b(test_options());
  CHECK_THROWS_AS(b.listen("127.0.0.1", port), std::system_error);
  CHECK_THROWS_AS(a.listen("127.0.0.1", port), std::system_error);
}

TEST_CASE("IPv4 and IPv6 on one port, both served", "[net][listen]") {
  net::host h(test_options());
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.listen("::1", port);
  h.start();
  REQUIRE(h.local_endpoints().size() == 2);
  CHECK(h.local_endpoints()[1].address().is_v6());
  client v4(port, "127.0.0.1");
  client v6(port, "::1");
  v6.send(get("/six"));
  auto r = v6.response();
  CHECK(r.status == 200);
  CHECK(r.body == "GET /six ");
  v4.send(get("/four"));
  CHECK(v4.response().body == "GET /four ");
}

TEST_CASE("mounting: the longest prefix wins, no match is 404", "[net][mount]") {
  net::host h(test_options());
  h.mount("/api/", [](net::request req, net::response res) { res.send("api " + std::string(req.path())); });
  h.mount("/api/admin/", [](net::request req, net::response res) { res.send("admin " + std::string(req.path())); });
  h.mount("/socket.io/", [](net::request req, net::response res) { res.send("engine " + std::string(req.query())); });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send(get("/api/admin/users") + get("/api/items") + get("/socket.io/?EIO=4") + get("/elsewhere"));
  CHECK(c.response().body == "admin /api/admin/users");
  CHECK(c.response().body == "api /api/items");
  CHECK(c.response().body == "engine EIO=4");
  auto r = c.response();
  CHECK(r.status == 404);
  c.send("HEAD /api/x HTTP/1.1\r\nHost: x\r\n\r\n" + get("/api/y"));
  r = c.response(true);  // HEAD: the length of the body, not the body
  CHECK(r.status == 200);
  CHECK(r.header("content-length") == "10");
  CHECK(c.response().body == "api /api/y");
}

TEST_CASE("a handler that throws answers 500 and the connection goes on", "[net][http]") {
  net::host h(test_options());
  log_capture logs;
  logs.attach(h.log());
  h.mount("/boom", [](net::request, net::response) { throw std::runtime_error("kaboom"); });
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send(get("/boom") + get("/ok"));
  CHECK(c.response().status == 500);
  CHECK(c.response().body == "GET /ok ");
  CHECK(logs.contains("kaboom"));
}

TEST_CASE("an answer sent later from another thread (long-poll) reaches the client", "[net][http]") {
  net::host h(test_options());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<net::response> parked;
  h.mount("/poll", [&](net::request, net::response res) {
    std::lock_guard<std::mutex> g(mu);
    parked.push_back(std::move(res));
    cv.notify_all();
  });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send(get("/poll"));
  {
    std::unique_lock<std::mutex> g(mu);
    REQUIRE(cv.wait_for(g, std::chrono::seconds(10), [&] { return !parked.empty(); }));
    CHECK(parked.front().connection_open());
    parked.front().header("Content-Type", "text/plain; charset=UTF-8").send("6");
  }
  auto r = c.response();
  CHECK(r.status == 200);
  CHECK(r.body == "6");
  CHECK(r.header("content-type") == "text/plain; charset=UTF-8");
}

TEST_CASE("a parked answer learns that its client left (on_abort), sending it then does nothing", "[net][http]") {
  net::host h(test_options());
  std::mutex mu;
  std::vector<net::response> parked;
  std::atomic<int> aborted{0};
  h.mount("/poll", [&](net::request, net::response res) {
    res.on_abort([&] { ++aborted; });
    std::lock_guard<std::mutex> g(mu);
    parked.push_back(std::move(res));
  });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  {
    client c(port);
    c.send(get("/poll"));
    REQUIRE(eventually([&] {
      std::lock_guard<std::mutex> g(mu);
      return parked.size() == 1;
    }));
    CHECK(aborted == 0);
  }  // the client goes away
  CHECK(eventually([&] { return aborted == 1; }));
  std::lock_guard<std::mutex> g(mu);
  CHECK_FALSE(parked.front().connection_open());
  parked.front().send("too late");
  CHECK(aborted == 1);
}

namespace {

/// Echoes every message back as it came; remembers the close code.
struct echo_ws final : net::websocket_handler {
  std::atomic<int> closed{0};
  std::atomic<int> opened{0};
  void on_open(const net::websocket&) override { ++opened; }
  void on_message(const net::websocket& ws, std::string& payload, bool binary) override { ws.send(payload, binary); }
  void on_close(std::uint16_t code, std::string_view) override { closed = code; }
};

}  // namespace

TEST_CASE("websocket through a mount: text, binary, close handshake, invalid UTF-8 -> 1007", "[net][websocket]") {
  net::host h(test_options());
  auto handler = std::make_shared<echo_ws>();
  std::atomic<int> upgrades{0};
  h.mount("/ws/", [](net::request, net::response res) { res.status(400).send("websocket only"); },
          [&](const net::request& req) {
            ++upgrades;
            return req.query() == "ok" ? net::upgrade::to(handler) : net::upgrade::refuse(403);
          });
  auto port = h.listen("127.0.0.1", 0);
  h.start();

  {
    client refused(port);
    CHECK(refused.ws_handshake("/ws/?no") == 403);
    client nowhere(port);
    CHECK(nowhere.ws_handshake("/elsewhere") == 404);
  }

  client c(port);
  REQUIRE(c.ws_handshake("/ws/?ok") == 101);
  c.ws_send(0x1, "hello");
  auto f = c.ws_read();
  CHECK(f.opcode == 0x1);
  CHECK(f.payload == "hello");
  c.ws_send(0x2, std::string("\x00\xff\x01", 3) + std::string(300, 'y'));
  f = c.ws_read();
  CHECK(f.opcode == 0x2);
  CHECK(f.payload == std::string("\x00\xff\x01", 3) + std::string(300, 'y'));
  c.ws_close(1000);
  f = c.ws_read();
  CHECK(f.opcode == 0x8);
  CHECK(f.close_code() == 1000);
  CHECK(c.closed_by_server());
  c.close();
  CHECK(eventually([&] { return handler->closed == 1000; }));

  handler->closed = 0;
  client bad(port);
  REQUIRE(bad.ws_handshake("/ws/?ok") == 101);
  bad.ws_send(0x1, "\xc3\x28 not utf-8");
  f = bad.ws_read();
  CHECK(f.opcode == 0x8);
  CHECK(f.close_code() == 1007);
  bad.ws_close(1007);
  CHECK(bad.closed_by_server());
  bad.close();
  CHECK(eventually([&] { return handler->closed == 1007; }));
  CHECK(eventually([&] { return h.connection_count() == 0; }));
}

TEST_CASE("an upgrade websocketpp finds invalid is refused with 400", "[net][websocket]") {
  net::host h(test_options());
  auto handler = std::make_shared<echo_ws>();
  h.mount("/", nullptr, [&](const net::request&) { return net::upgrade::to(handler); });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  c.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
  CHECK(c.response().status == 400);  // no Sec-WebSocket-Key
  CHECK(c.closed_by_server());
  CHECK(handler->opened == 0);
}

TEST_CASE("python's http.client keeps one connection for several requests", "[net][http][python]") {
  if (!std::filesystem::exists("/usr/bin/python3")) {
    WARN("no /usr/bin/python3: skipped");
    return;
  }
  net::host h(test_options());
  std::mutex mu;
  std::vector<std::uint16_t> peers;
  h.mount("/", [&](net::request req, net::response res) {
    {
      std::lock_guard<std::mutex> g(mu);
      peers.push_back(req.remote_endpoint().port());
    }
    res.send(std::string(req.method()) + ":" + req.body());
  });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  const std::string script =
      "import http.client,sys\n"
      "c=http.client.HTTPConnection('127.0.0.1'," + std::to_string(port) + ",timeout=10)\n"
      "out=[]\n"
      "for i in range(3):\n"
      "  c.request('POST','/x',body='b%d'%i)\n"
      "  r=c.getresponse(); out.append(r.read().decode())\n"
      "c.request('GET','/y'); out.append(c.getresponse().read().decode())\n"
      "print(','.join(out))\n";
  const std::string cmd = "/usr/bin/python3 -c \"" + script + "\"";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    CHECK(::pclose(p) == 0);
  }
  CHECK(out == "POST:b0,POST:b1,POST:b2,GET:\n");
  std::lock_guard<std::mutex> g(mu);
  REQUIRE(peers.size() == 4);
  CHECK(std::count(peers.begin(), peers.end(), peers.front()) == 4);  // one connection
}

TEST_CASE("a server-initiated close: clean with a client that answers, cut off after the deadline without", "[net][websocket]") {
  auto o = test_options();
  o.websocket_close_timeout = std::chrono::milliseconds(200);
  net::host h(o);
  struct closer final : net::websocket_handler {
    std::atomic<int> closed{0};
    void on_message(const net::websocket& ws, std::string& payload, bool) override { ws.close(4000, payload); }
    void on_close(std::uint16_t code, std::string_view) override { closed = code; }
  };
  auto handler = std::make_shared<closer>();
  h.mount("/", nullptr, [&](const net::request&) { return net::upgrade::to(handler); });
  auto port = h.listen("127.0.0.1", 0);
  h.start();

  client polite(port);
  REQUIRE(polite.ws_handshake("/") == 101);
  polite.ws_send(0x1, "bye");
  auto f = polite.ws_read();
  CHECK(f.opcode == 0x8);
  CHECK(f.close_code() == 4000);
  CHECK(f.payload.substr(2) == "bye");
  polite.ws_close(4000);
  CHECK(polite.closed_by_server());
  polite.close();
  CHECK(eventually([&] { return handler->closed == 4000; }));

  client wordy(port);  // a reason longer than a close frame can carry is cut, not dropped
  REQUIRE(wordy.ws_handshake("/") == 101);
  std::string long_reason;
  for (int i = 0; i < 70; ++i) long_reason += "\xc3\xa9";  // 140 bytes of "é"
  wordy.ws_send(0x1, long_reason);
  f = wordy.ws_read();
  CHECK(f.opcode == 0x8);
  CHECK(f.close_code() == 4000);
  CHECK(f.payload.size() == 2 + 122);  // 61 whole characters
  wordy.ws_close(4000);
  CHECK(wordy.closed_by_server());
  wordy.close();

  client silent(port);
  REQUIRE(silent.ws_handshake("/") == 101);
  silent.ws_send(0x1, "bye");
  f = silent.ws_read();
  CHECK(f.opcode == 0x8);
  CHECK(silent.closed_by_server());  // never answered: the close deadline ends it
  CHECK(eventually([&] { return h.connection_count() == 0; }));
}

TEST_CASE("curl sends two requests on one connection and gets both answers", "[net][http][curl]") {
  if (!std::filesystem::exists("/usr/bin/curl")) {
    WARN("no /usr/bin/curl: skipped");
    return;
  }
  net::host h(test_options());
  std::mutex mu;
  std::vector<std::uint16_t> peers;
  h.mount("/", [&](net::request req, net::response res) {
    {
      std::lock_guard<std::mutex> g(mu);
      peers.push_back(req.remote_endpoint().port());
    }
    res.send(std::string(req.path()) + "\n");
  });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string cmd = "/usr/bin/curl -s --max-time 10 " + base + "/first " + base + "/second";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    CHECK(::pclose(p) == 0);
  }
  CHECK(out == "/first\n/second\n");
  std::lock_guard<std::mutex> g(mu);
  REQUIRE(peers.size() == 2);
  CHECK(peers[0] == peers[1]);  // curl reused the connection
}

TEST_CASE("one shared frame broadcast to several connections", "[net][websocket]") {
  net::host h(test_options());
  struct room final : net::websocket_handler {
    std::mutex mu;
    std::vector<net::websocket> members;
    void on_open(const net::websocket& ws) override {
      std::lock_guard<std::mutex> g(mu);
      members.push_back(ws);
    }
    /// Relays to everyone from the I/O thread (recipients there directly, the others posted).
    void on_message(const net::websocket&, std::string& payload, bool) override {
      std::vector<net::websocket> all;
      {
        std::lock_guard<std::mutex> g(mu);
        all = members;
      }
      net::send_all(all, net::make_frame("relay: " + payload));
    }
  };
  auto r = std::make_shared<room>();
  h.mount("/", nullptr, [&](const net::request&) { return net::upgrade::to(r); });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<client>(port));
    REQUIRE(clients.back()->ws_handshake("/") == 101);
  }
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g(r->mu);
    return r->members.size() == 5;
  }));
  auto frame = net::make_frame("to everyone");
  const std::string large(1000, 'L');
  auto frame2 = net::make_frame(large, true);
  {
    std::lock_guard<std::mutex> g(r->mu);
    for (auto& ws : r->members) ws.send(frame);  // one by one
    net::send_all(r->members, frame2);            // grouped per I/O thread (both threads here)
  }
  {
    std::lock_guard<std::mutex> g(r->mu);
    r->members.front().send_text("just you, from another thread");
  }
  for (auto& c : clients) {
    auto f = c->ws_read();
    CHECK(f.opcode == 0x1);
    CHECK(f.payload == "to everyone");
    f = c->ws_read();
    CHECK(f.opcode == 0x2);
    CHECK(f.payload == large);
  }
  auto f = clients.front()->ws_read();
  CHECK(f.payload == "just you, from another thread");
  clients.back()->ws_send(0x1, "hi all");
  for (auto& c : clients) CHECK(c->ws_read().payload == "relay: hi all");
  CHECK(eventually([&] { return frame.use_count() == 1; }));  // released once written
}

TEST_CASE("a connection beyond max_output_bytes is closed with a log line", "[net][websocket]") {
  auto o = test_options();
  o.max_output_bytes = 64 * 1024;
  net::host h(o);
  log_capture logs;
  logs.attach(h.log());
  struct flood final : net::websocket_handler {
    std::atomic<int> closed{0};
    void on_open(const net::websocket& ws) override {
      const std::string chunk(16 * 1024, 'f');
      for (int i = 0; i < 10; ++i) ws.send_text(chunk);
    }
    void on_message(const net::websocket&, std::string&, bool) override {}
    void on_close(std::uint16_t code, std::string_view) override { closed = code; }
  };
  auto f = std::make_shared<flood>();
  h.mount("/", nullptr, [&](const net::request&) { return net::upgrade::to(f); });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  REQUIRE(c.ws_handshake("/") == 101);
  CHECK(eventually([&] { return f->closed == 1006; }));
  CHECK(logs.contains("max_output_bytes"));
}

TEST_CASE("a close to a client that does not read ends within websocket_close_timeout", "[net][websocket]") {
  // The close frame sits behind megabytes the client never takes: the write cannot complete, so
  // only the close deadline ends the connection (it once waited forever: websocketpp is done
  // inside close() already, and the deadline was armed only while it was not).
  auto o = test_options();
  o.max_output_bytes = 64 * 1024 * 1024;
  o.websocket_close_timeout = std::chrono::milliseconds(300);
  net::host h(o);
  log_capture logs;
  logs.attach(h.log());
  struct hoarder final : net::websocket_handler {
    std::atomic<int> closed{0};
    void on_open(const net::websocket& ws) override {
      const std::string chunk(64 * 1024, 'h');
      for (int i = 0; i < 256; ++i) ws.send_text(chunk);  // 16 MB: more than any socket buffer
    }
    void on_message(const net::websocket& ws, std::string&, bool) override { ws.close(1008, "send buffer full"); }
    void on_close(std::uint16_t code, std::string_view) override { closed = code; }
  };
  auto handler = std::make_shared<hoarder>();
  h.mount("/", nullptr, [&](const net::request&) { return net::upgrade::to(handler); });
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client c(port);
  REQUIRE(c.ws_handshake("/") == 101);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server's write is under way
  c.ws_send(0x1, "close me");
  CHECK(eventually([&] { return handler->closed != 0; }));
  CHECK(handler->closed == 1008);
  CHECK(eventually([&] { return h.connection_count() == 0; }));
  CHECK(logs.contains("the peer does not read"));
}

TEST_CASE("stop closes websockets with 1001 and idle HTTP connections, then returns", "[net][stop]") {
  net::host h(test_options());
  auto handler = std::make_shared<echo_ws>();
  h.mount("/ws", nullptr, [&](const net::request&) { return net::upgrade::to(handler); });
  h.mount("/", echo_request);
  auto port = h.listen("127.0.0.1", 0);
  h.start();
  client idle(port);
  idle.send(get("/"));
  CHECK(idle.response().status == 200);
  client ws(port);
  REQUIRE(ws.ws_handshake("/ws") == 101);
  REQUIRE(eventually([&] { return handler->opened == 1; }));
  std::thread stopper([&] { h.stop(); });
  auto f = ws.ws_read();
  CHECK(f.opcode == 0x8);
  CHECK(f.close_code() == 1001);
  ws.ws_close(1001);
  CHECK(ws.closed_by_server());
  ws.close();
  CHECK(idle.closed_by_server());
  stopper.join();
  CHECK(handler->closed == 1001);
}
