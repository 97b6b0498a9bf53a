// portico::redis::sharded_adapter: two portico servers in this process in sharded mode
// (SPUBLISH/SSUBSCRIBE) on one private redis-server. Broadcasts cross exactly once, rooms/except are
// kept, binary crosses, server_count is SHARDNUMSUB, room channels follow the local rooms.
#include <catch2/catch.hpp>

#include <portico/client/simple_client.hpp>
#include <portico/redis/sharded_adapter.hpp>
#include <portico/socketio/server.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "redis_server.hpp"

namespace sio = portico::socketio;
using namespace std::chrono_literals;

// A named namespace, not an anonymous one: tests/redis/cluster_tests.cpp compiles this file in
// one TU with the other cluster tests.
namespace redis_sharded_adapter_test {

sio::server_options member_options(std::uint16_t redis_port,
                                   portico::redis::subscription_mode mode = portico::redis::subscription_mode::dynamic) {
  sio::server_options o;
  portico::redis::sharded_options c;
  c.port = redis_port;
  c.mode = mode;
  c.connection.reconnect_max = std::chrono::milliseconds(200);
  o.adapter_factory = portico::redis::sharded_adapter_factory(c);
  o.engine.threads = 1;
  o.engine.metrics = true;  // the cluster counts (docs/metrics.md) are checked below
  return o;
}

std::size_t server_count(sio::server& s) {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t n = 0;
  bool done = false;
  s.of("/").get_adapter().server_count([&](std::size_t c) {
    std::lock_guard<std::mutex> g(mu);
    n = c;
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(mu);
  cv.wait_for(l, 10s, [&] { return done; });
  return n;
}

bool wait_count(sio::server& a, sio::server& b, std::size_t n) {
  for (int i = 0; i < 200; ++i) {
    if (server_count(a) == n && server_count(b) == n) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string text_arg(const portico::client::message& m) {
  const auto& v = m.args()[0];
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
}

/// PUBSUB SHARDNUMSUB of one channel, through a connection of its own.
struct shard_probe {
  asio::io_context io;
  portico::redis::connection conn;
  explicit shard_probe(std::uint16_t port) : conn(io, [port] {
      portico::redis::options o;
      o.port = port;
      return o;
    }()) {
    bool up = false;
    conn.on_state([&](portico::redis::state s) { up = s == portico::redis::state::up; });
    conn.start();
    for (int i = 0; i < 500 && !up; ++i) io.run_for(10ms);
  }
  long long count(const std::string& channel) {
    long long n = -1;
    conn.command({"PUBSUB", "SHARDNUMSUB", channel}, [&](std::string_view err, portico::redis::reply r) {
      n = err.empty() && r.size() == 2 ? r[1].integer() : -2;
    });
    for (int i = 0; i < 500 && n == -1; ++i) io.run_for(10ms);
    return n;
  }
  /// Polls (bounded) until `channel` has `n` shard subscribers.
  bool wait(const std::string& channel, long long n) {
    for (int i = 0; i < 200; ++i) {
      if (count(channel) == n) return true;
      std::this_thread::sleep_for(25ms);
    }
    return false;
  }
};


TEST_CASE("sharded adapter: two portico servers share broadcasts, rooms, except and binary", "[redis]") {
  portico_test::redis_server redis;
  sio::server a(member_options(redis.port()));
  sio::server b(member_options(redis.port()));
  a.on_connect([](sio::socket& s) { s.join("room-a"); });
  b.on_connect([](sio::socket& s) { s.join("room-b"); });
  for (sio::server* s : {&a, &b}) {
    s->listen("127.0.0.1", 0);
    s->start();
  }
  struct stop_both {
    sio::server &a, &b;
    ~stop_both() { a.stop(); b.stop(); }
  } stopper{a, b};
  REQUIRE(wait_count(a, b, 2));

  portico::client::simple_client ca, cb;
  ca.connect("http://127.0.0.1:" + std::to_string(a.port()));
  cb.connect("http://127.0.0.1:" + std::to_string(b.port()));
  shard_probe probe(redis.port());
  // Each server's room has its own shard channel once its client joined it.
  REQUIRE(probe.wait("socket.io#/#room-b#", 1));
  REQUIRE(probe.wait("socket.io#/#room-a#", 1));
  const auto wait = std::chrono::seconds(5);

  // A room of server B, broadcast from A (on the room's channel): B's client only.
  a.to("room-b").emit("to-b", "r1");
  auto m = cb.receive(wait);
  CHECK(m.event == "to-b");
  CHECK(text_arg(m) == "r1");

  // The whole namespace from A: each client once (A's own echo is ignored).
  a.emit("all", "x");
  m = ca.receive(wait);
  CHECK(m.event == "all");
  m = cb.receive(wait);
  CHECK(m.event == "all");

  // Two rooms (main channel): each client once.
  b.to("room-a").to("room-b").emit("two-rooms", 2);
  m = ca.receive(wait);
  CHECK(m.event == "two-rooms");
  m = cb.receive(wait);
  CHECK(m.event == "two-rooms");

  // except a room: B's client is left out, A's gets it.
  a.except("room-b").emit("not-b", "e");
  m = ca.receive(wait);
  CHECK(m.event == "not-b");

  // Binary from B to A's room (msgpack on the wire).
  b.to("room-a").emit("blob", portico::json::binary(std::string("\x00\xff\x01", 3)));
  m = ca.receive(wait);
  REQUIRE(m.event == "blob");
  const portico::json::binary* blob = m.args().at(0).binary();
  REQUIRE(blob);
  CHECK(blob->bytes == std::string("\x00\xff\x01", 3));

  // local() does not cross; then a marker: nothing above arrived twice or where excluded.
  sio::emitter(a.of("/")).local().emit("local-only", 1);
  m = ca.receive(wait);
  CHECK(m.event == "local-only");
  b.emit("end", "z");
  m = ca.receive(wait);
  CHECK(m.event == "end");
  m = cb.receive(wait);
  CHECK(m.event == "end");
  CHECK_THROWS_AS(ca.receive(300ms), portico::client::timeout_error);
  CHECK_THROWS_AS(cb.receive(300ms), portico::client::timeout_error);

  // The cluster counts: A's three broadcasts published, B received them; nothing lost.
  sio::metrics_snapshot ma = a.metrics(), mb = b.metrics();
  REQUIRE(ma.has_cluster);
  CHECK(ma.cluster.messages_published >= 3);
  CHECK(mb.cluster.messages_received >= 3);
  CHECK(ma.cluster.publishes_lost == 0);

  ca.disconnect();
  cb.disconnect();
  // The last local member left: the room channels are unsubscribed.
  CHECK(probe.wait("socket.io#/#room-b#", 0));
  CHECK(probe.wait("socket.io#/#room-a#", 0));
}

TEST_CASE("sharded adapter: a room joined after start gets its channel, left rooms lose it", "[redis]") {
  portico_test::redis_server redis;
  sio::server a(member_options(redis.port()));
  sio::server b(member_options(redis.port()));
  b.on("join", [](sio::socket& s, const sio::args& args) { s.join(std::string(args.at(0).str())); });
  b.on("leave", [](sio::socket& s, const sio::args& args) { s.leave(std::string(args.at(0).str())); });
  b.on_connect([](sio::socket& s) { s.emit("ready"); });
  for (sio::server* s : {&a, &b}) {
    s->listen("127.0.0.1", 0);
    s->start();
  }
  struct stop_both {
    sio::server &a, &b;
    ~stop_both() { a.stop(); b.stop(); }
  } stopper{a, b};
  REQUIRE(wait_count(a, b, 2));
  shard_probe probe(redis.port());

  portico::client::simple_client cb;
  cb.connect("http://127.0.0.1:" + std::to_string(b.port()));
  REQUIRE(cb.receive(5s).event == "ready");
  CHECK(probe.count("socket.io#/#late#") == 0);
  // "dynamic": a socket's private room gets no channel.
  CHECK(probe.count("socket.io#/#" + std::string(cb.sid()) + "#") == 0);

  cb.emit("join", "late");
  REQUIRE(probe.wait("socket.io#/#late#", 1));
  a.to("late").emit("late-ev", "hi");
  auto m = cb.receive(5s);
  CHECK(m.event == "late-ev");
  CHECK(text_arg(m) == "hi");

  cb.emit("leave", "late");
  REQUIRE(probe.wait("socket.io#/#late#", 0));
  a.to("late").emit("late-ev", "gone");
  a.emit("marker", 1);
  CHECK(cb.receive(5s).event == "marker");
  cb.disconnect();
}

TEST_CASE("sharded adapter: static mode uses the main channel only", "[redis]") {
  portico_test::redis_server redis;
  auto mode = portico::redis::subscription_mode::static_;
  sio::server a(member_options(redis.port(), mode));
  sio::server b(member_options(redis.port(), mode));
  b.on_connect([](sio::socket& s) { s.join("room-b"); });
  for (sio::server* s : {&a, &b}) {
    s->listen("127.0.0.1", 0);
    s->start();
  }
  struct stop_both {
    sio::server &a, &b;
    ~stop_both() { a.stop(); b.stop(); }
  } stopper{a, b};
  REQUIRE(wait_count(a, b, 2));
  portico::client::simple_client cb;
  cb.connect("http://127.0.0.1:" + std::to_string(b.port()));
  a.to("room-b").emit("to-b", "s");
  auto m = cb.receive(5s);
  CHECK(m.event == "to-b");
  shard_probe probe(redis.port());
  CHECK(probe.count("socket.io#/#room-b#") == 0);
  cb.disconnect();
}

TEST_CASE("sharded adapter: dynamic_private mode gives a socket's own room a channel", "[redis]") {
  portico_test::redis_server redis;
  auto mode = portico::redis::subscription_mode::dynamic_private;
  sio::server a(member_options(redis.port(), mode));
  sio::server b(member_options(redis.port(), mode));
  for (sio::server* s : {&a, &b}) {
    s->listen("127.0.0.1", 0);
    s->start();
  }
  struct stop_both {
    sio::server &a, &b;
    ~stop_both() { a.stop(); b.stop(); }
  } stopper{a, b};
  REQUIRE(wait_count(a, b, 2));
  shard_probe probe(redis.port());
  portico::client::simple_client cb;
  cb.connect("http://127.0.0.1:" + std::to_string(b.port()));
  const std::string sid = cb.sid();
  REQUIRE(sid.size() == 20);
  REQUIRE(probe.wait("socket.io#/#" + sid + "#", 1));
  // To one socket of the other server, through that socket's own channel.
  a.to(sid).emit("to-you", "p");
  auto m = cb.receive(5s);
  CHECK(m.event == "to-you");
  cb.disconnect();
  CHECK(probe.wait("socket.io#/#" + sid + "#", 0));
}

TEST_CASE("sharded adapter: malformed messages are ignored, the member keeps working", "[redis]") {
  portico_test::redis_server redis;
  sio::server a(member_options(redis.port()));
  a.on_connect([](sio::socket& s) { s.join("room-a"); });
  a.listen("127.0.0.1", 0);
  a.start();
  struct stop_one {
    sio::server& a;
    ~stop_one() { a.stop(); }
  } stopper{a};
  shard_probe probe(redis.port());
  REQUIRE(probe.wait("socket.io#/#", 1));
  portico::client::simple_client ca;
  ca.connect("http://127.0.0.1:" + std::to_string(a.port()));
  REQUIRE(probe.wait("socket.io#/#room-a#", 1));
  int published = 0;
  auto count = [&](std::string_view, portico::redis::reply) { ++published; };
  for (const char* bad : {"\x93\xa1", "{broken", "{\"type\":3,\"uid\":\"x\",\"nsp\":\"/\"}",
                          "{\"type\":99,\"uid\":\"x\",\"nsp\":\"/\"}", "{\"type\":12,\"data\":{},\"uid\":\"x\",\"nsp\":\"/\"}"})
    probe.conn.spublish("socket.io#/#", bad, count);
  probe.conn.spublish("socket.io#/#room-a#", "nonsense", count);
  for (int i = 0; i < 500 && published < 6; ++i) probe.io.run_for(10ms);
  REQUIRE(published == 6);
  // A well-formed message from a foreign member (a Node-written JSON broadcast) still arrives.
  probe.conn.spublish("socket.io#/#room-a#",
                      "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"from-node\",1]},"
                      "\"opts\":{\"rooms\":[\"room-a\"],\"except\":[],\"flags\":{}}},\"uid\":\"0123456789abcdef\",\"nsp\":\"/\"}",
                      count);
  for (int i = 0; i < 500 && published < 7; ++i) probe.io.run_for(10ms);
  auto m = ca.receive(5s);
  CHECK(m.event == "from-node");
  a.emit("still-alive", 1);
  m = ca.receive(5s);
  CHECK(m.event == "still-alive");
  CHECK_THROWS_AS(ca.receive(300ms), portico::client::timeout_error);
  ca.disconnect();
}

}  // namespace redis_sharded_adapter_test
