// portico::redis::emitter: the bytes are @socket.io/redis-emitter 5.1's (captures of
// specs/redis-adapter.md), and a portico server with the classic adapter delivers what an emitter
// with no server publishes: rooms, except, binary, sockets_join, disconnect_sockets; a publish
// while Redis is down is reported, not dropped silently.
#include <catch2/catch.hpp>

#include <portico/client/simple_client.hpp>
#include <portico/redis/adapter.hpp>
#include <portico/redis/emitter.hpp>
#include <portico/socketio/server.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "redis_server.hpp"

namespace sio = portico::socketio;
namespace rd = portico::redis;
using namespace std::chrono_literals;

// A named namespace, not an anonymous one: tests/redis/cluster_tests.cpp compiles this file in
// one TU with the other cluster tests.
namespace redis_emitter_test {

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += d[c >> 4], out += d[c & 15];
  return out;
}

std::string text_arg(const portico::client::message& m) {
  const auto& v = m.args()[0];
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
}


TEST_CASE("redis emitter: the bytes and channels of @socket.io/redis-emitter 5.1", "[redis]") {
  auto p = rd::emit_target().emit_message("em", 1);
  REQUIRE(p);
  CHECK(p->channel == "socket.io#/#");
  CHECK(hex(p->payload) ==
        "93a7656d697474657283a47479706502a46461746192a2656d01a36e7370a12f83a5726f6f6d7390a5666c61677380a66578636570"
        "7490");

  p = rd::emit_target().to("room1").emit_message("em-room", "r");
  REQUIRE(p);
  CHECK(p->channel == "socket.io#/#room1#");
  CHECK(hex(p->payload) ==
        "93a7656d697474657283a47479706502a46461746192a7656d2d726f6f6da172a36e7370a12f83a5726f6f6d7391a5726f6f6d31a566"
        "6c61677380a665786365707490");

  p = rd::emit_target().volatile_().compress(true).except("roomX").emit_message("em-flags", 2);
  REQUIRE(p);
  CHECK(p->channel == "socket.io#/#");
  CHECK(hex(p->payload) ==
        "93a7656d697474657283a47479706502a46461746192a8656d2d666c61677302a36e7370a12f83a5726f6f6d7390a5666c61677382a8"
        "766f6c6174696c65c3a8636f6d7072657373c3a665786365707491a5726f6f6d58");

  p = rd::emit_target("chat").emit_message("em-chat", 3);  // "/" prefixed, as Node's of()
  REQUIRE(p);
  CHECK(p->channel == "socket.io#/chat#");
  CHECK(hex(p->payload) ==
        "93a7656d697474657283a47479706502a46461746192a7656d2d6368617403a36e7370a52f6368617483a5726f6f6d7390a5666c6167"
        "7380a665786365707490");

  p = rd::emit_target().emit_message("em-bin", portico::json::binary(std::string("\xde\xad", 2)));
  REQUIRE(p);
  CHECK(p->channel == "socket.io#/#");
  CHECK(hex(p->payload) ==
        "93a7656d697474657283a47479706502a46461746192a6656d2d62696ec402deada36e7370a12f83a5726f6f6d7390a5666c61677380"
        "a665786365707490");

  auto q = rd::emit_target().server_side_emit_message("em-sse", "z");
  CHECK(q.channel == "socket.io-request#/#");
  CHECK(q.payload == R"({"uid":"emitter","type":6,"data":["em-sse","z"]})");

  q = rd::emit_target().in("room1").sockets_join_message({"room9"});
  CHECK(q.channel == "socket.io-request#/#");
  CHECK(q.payload == R"({"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room9"]})");

  q = rd::emit_target().sockets_leave_message({"room9"});
  CHECK(q.payload == R"({"type":3,"opts":{"rooms":[],"except":[]},"rooms":["room9"]})");

  q = rd::emit_target().in("nobody-room").disconnect_sockets_message(true);
  CHECK(q.payload == R"({"type":4,"opts":{"rooms":["nobody-room"],"except":[]},"close":true})");

  q = rd::emit_target("/chat", "app").except("x").disconnect_sockets_message(false);
  CHECK(q.channel == "app-request#/chat#");
  CHECK(q.payload == R"({"type":4,"opts":{"rooms":[],"except":["x"]},"close":false})");

  // Reserved names are refused, as by the Node emitter.
  CHECK_FALSE(rd::emit_target().emit_message("connect", 1));
  CHECK_FALSE(rd::emit_target().emit_message("disconnect"));
}

TEST_CASE("redis emitter: a portico server with the classic adapter delivers what it publishes", "[redis]") {
  portico_test::redis_server redis;
  sio::server_options o;
  rd::cluster_options c;
  c.port = redis.port();
  c.connection.reconnect_max = 200ms;
  o.adapter_factory = rd::classic_adapter_factory(c);
  o.engine.threads = 1;
  sio::server s(o);
  std::atomic<int> n{0};
  s.on_connect([&](sio::socket& sock) { sock.join(n++ == 0 ? "r1" : "r2"); });
  s.listen("127.0.0.1", 0);
  s.start();
  struct stop_one {
    sio::server& s;
    ~stop_one() { s.stop(); }
  } stopper{s};

  rd::emitter_options eo;
  eo.port = redis.port();
  eo.connection.reconnect_max = 200ms;
  rd::emitter em(eo);
  REQUIRE(em.wait_connected(10s));
  // The server subscribes asynchronously: wait (bounded) until its request channel has a subscriber.
  bool subscribed = false;
  for (int i = 0; i < 200 && !subscribed; ++i) {
    std::promise<std::size_t> count;
    s.of("/").get_adapter().server_count([&](std::size_t k) { count.set_value(k); });
    subscribed = count.get_future().get() == 1;
    if (!subscribed) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(subscribed);

  portico::client::simple_client c1, c2;
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port());
  c1.connect(url);  // joins r1
  c2.connect(url);  // joins r2
  const auto wait = 5s;

  // A room emit reaches exactly the room's client; the publish outcome is reported.
  std::promise<std::string> outcome;
  CHECK(em.to("r2").on_published([&](std::string_view e) { outcome.set_value(std::string(e)); }).emit("to-r2", "a"));
  CHECK(outcome.get_future().get().empty());
  auto m = c2.receive(wait);
  CHECK(m.event == "to-r2");
  CHECK(text_arg(m) == "a");

  // except: everyone but r1's client.
  em.except("r1").emit("not-r1", "b");
  m = c2.receive(wait);
  CHECK(m.event == "not-r1");

  // Binary crosses.
  em.to("r1").emit("blob", portico::json::binary(std::string("\x00\xff\x01", 3)));
  m = c1.receive(wait);
  REQUIRE(m.event == "blob");
  const portico::json::binary* blob = m.args().at(0).binary();
  REQUIRE(blob);
  CHECK(blob->bytes == std::string("\x00\xff\x01", 3));

  // sockets_join (c2 by its sid), then a room emit reaches it. The join is applied when the
  // server reads the request, before the later broadcast on the same Redis connection.
  em.in(c2.sid()).sockets_join({"joined"});
  em.to("joined").emit("to-joined", "c");
  m = c2.receive(wait);
  CHECK(m.event == "to-joined");

  // A reserved name is refused at once.
  CHECK_FALSE(em.emit("disconnect", 1));

  // Marker: each client's next message is it, so nothing above reached a wrong client or twice.
  em.emit("end", "z");
  CHECK(c1.receive(wait).event == "end");
  CHECK(c2.receive(wait).event == "end");

  // disconnect_sockets(true) on r1: c1 is disconnected, c2 is not.
  em.in("r1").disconnect_sockets(true);
  for (int i = 0; i < 200 && c1.connected(); ++i) std::this_thread::sleep_for(25ms);
  CHECK_FALSE(c1.connected());
  em.emit("after", 1);
  CHECK(c2.receive(wait).event == "after");
  CHECK_THROWS_AS(c2.receive(300ms), portico::client::timeout_error);
  CHECK(em.flush(5s));
  CHECK(em.lost_publishes() == 0);

  // Redis down: the publish is reported as failed and counted, not dropped silently.
  redis.stop();
  std::string error;
  for (int i = 0; i < 100 && error.empty(); ++i) {
    std::promise<std::string> r;
    em.to("r2").on_published([&](std::string_view e) { r.set_value(std::string(e)); }).emit("while-down", i);
    auto f = r.get_future();
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    error = f.get();
    if (error.empty()) std::this_thread::sleep_for(50ms);
  }
  CHECK_FALSE(error.empty());
  CHECK(em.lost_publishes() >= 1);
  c2.disconnect();
}

}  // namespace redis_emitter_test
