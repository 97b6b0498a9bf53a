// portico::redis::adapter: two portico servers in this process, each with its own Redis
// connections, on one private redis-server. Broadcasts cross exactly once, rooms/except are kept,
// binary crosses, server_count sees both, a Redis outage is counted and survived.
#include <catch2/catch.hpp>

#include <portico/client/simple_client.hpp>
#include <portico/redis/adapter.hpp>
#include <portico/redis/session_store.hpp>
#include <portico/socketio/server.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "redis_server.hpp"

namespace sio = portico::socketio;
using namespace std::chrono_literals;

// A named namespace, not an anonymous one: tests/redis/cluster_tests.cpp compiles this file in
// one TU with the other cluster tests.
namespace redis_adapter_test {

sio::server_options member_options(std::uint16_t redis_port,
                                  std::chrono::milliseconds requests_timeout = std::chrono::seconds(5)) {
  sio::server_options o;
  portico::redis::cluster_options c;
  c.port = redis_port;
  c.requests_timeout = requests_timeout;
  c.connection.reconnect_max = std::chrono::milliseconds(200);
  o.adapter_factory = portico::redis::classic_adapter_factory(c);
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

/// Polls (bounded) until both servers' request channels count `n` subscribers.
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


TEST_CASE("redis adapter: two portico servers on one Redis share broadcasts, rooms and except", "[redis]") {
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
  const auto wait = std::chrono::seconds(5);

  // A room of server B, broadcast from A: B's client only.
  a.to("room-b").emit("to-b", "r1");
  auto m = cb.receive(wait);
  CHECK(m.event == "to-b");
  CHECK(text_arg(m) == "r1");

  // The whole namespace from A: each client once (A's own echo from Redis is ignored).
  a.emit("all", "x");
  m = ca.receive(wait);
  CHECK(m.event == "all");
  m = cb.receive(wait);
  CHECK(m.event == "all");

  // except a room: B's client is left out, A's gets it.
  a.except("room-b").emit("not-b", "e");
  m = ca.receive(wait);
  CHECK(m.event == "not-b");

  // Binary from B to A's room.
  b.to("room-a").emit("blob", portico::json::binary(std::string("\x00\xff\x01", 3)));
  m = ca.receive(wait);
  REQUIRE(m.event == "blob");
  const portico::json::binary* blob = m.args().at(0).binary();
  REQUIRE(blob);
  CHECK(blob->bytes == std::string("\x00\xff\x01", 3));

  // A local() broadcast does not cross; then a marker: the next message of each client is the
  // marker, so nothing above arrived twice and nothing excluded arrived at all.
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

  // The cluster counts (docs/metrics.md): A published its three broadcasts, B received them
  // (and its own "end" and "blob" back, which it ignores); nothing lost, no request timed out.
  sio::metrics_snapshot ma = a.metrics(), mb = b.metrics();
  REQUIRE(ma.has_cluster);
  CHECK(ma.cluster.messages_published >= 3);
  CHECK(mb.cluster.messages_received >= 3);
  CHECK(mb.cluster.messages_published >= 2);
  CHECK(ma.cluster.publishes_lost == 0);
  CHECK(ma.cluster.request_timeouts == 0);
  CHECK(a.metrics_text().find("portico_cluster_messages_total{direction=\"published\"} ") != std::string::npos);

  // Redis stopped: a publish is counted as lost (and logged), local delivery goes on.
  auto& adapter_a = dynamic_cast<portico::redis::adapter&>(a.of("/").get_adapter());
  auto lost_before = adapter_a.lost_publishes();
  redis.stop();
  bool counted = false;
  for (int i = 0; i < 100 && !counted; ++i) {
    a.to("room-x").emit("while-down", 0);
    std::this_thread::sleep_for(50ms);
    counted = adapter_a.lost_publishes() > lost_before;
  }
  CHECK(counted);
  CHECK(a.metrics().cluster.publishes_lost >= 1);

  // Restarted on the same port: both members resubscribe and broadcasts cross again.
  redis.start();
  REQUIRE(wait_count(a, b, 2));
  a.to("room-b").emit("after-restart", "ok");
  m = cb.receive(wait);
  CHECK(m.event == "after-restart");

  ca.disconnect();
  cb.disconnect();
}

TEST_CASE("redis adapter: a malformed message on a channel is ignored, the member keeps working", "[redis]") {
  portico_test::redis_server redis;
  sio::server a(member_options(redis.port()));
  a.listen("127.0.0.1", 0);
  a.start();
  struct stop_one {
    sio::server& a;
    ~stop_one() { a.stop(); }
  } stopper{a};

  // A plain command connection standing in for a broken member.
  asio::io_context io;
  portico::redis::options ro;
  ro.port = redis.port();
  portico::redis::connection raw(io, ro);
  bool up = false;
  raw.on_state([&](portico::redis::state s) { up = s == portico::redis::state::up; });
  raw.start();
  for (int i = 0; i < 500 && !up; ++i) io.run_for(10ms);
  REQUIRE(up);
  for (int i = 0; i < 200 && server_count(a) != 1; ++i) std::this_thread::sleep_for(20ms);

  portico::client::simple_client ca;
  ca.connect("http://127.0.0.1:" + std::to_string(a.port()));
  int published = 0;
  for (const char* bad : {"\x93\xa1", "not msgpack", "{\"uid\":1}"})
    raw.publish("socket.io#/#", bad, [&](std::string_view, portico::redis::reply) { ++published; });
  raw.publish("socket.io-request#/#", "{broken", [&](std::string_view, portico::redis::reply) { ++published; });
  for (int i = 0; i < 500 && published < 4; ++i) io.run_for(10ms);
  REQUIRE(published == 4);

  a.emit("still-alive", 1);
  auto m = ca.receive(std::chrono::seconds(5));
  CHECK(m.event == "still-alive");
  CHECK_THROWS_AS(ca.receive(300ms), portico::client::timeout_error);
  ca.disconnect();
}

TEST_CASE("redis adapter: server_side_emit reaches the other server's listener, with and without ack", "[redis]") {
  portico_test::redis_server redis;
  sio::server a(member_options(redis.port(), 500ms));
  sio::server b(member_options(redis.port()));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> heard_a, heard_b;
  auto listen = [&](std::vector<std::string>& heard, std::string who) {
    return [&heard, &mu, &cv, who](const sio::args& args) {
      std::lock_guard<std::mutex> g(mu);
      heard.push_back(std::string(args.at(0).str()));
      cv.notify_all();
      return who + ":" + std::string(args.at(0).str());
    };
  };
  a.of("/").on_server_event("hello", listen(heard_a, "a"));
  // A listener that throws is logged, not fatal: B still answers the next request below.
  b.of("/").on_server_event("bad", [](const sio::args&) -> std::string { throw std::runtime_error("boom"); });
  b.of("/").on_server_event("hello", listen(heard_b, "b"));
  for (sio::server* s : {&a, &b}) {
    s->listen("127.0.0.1", 0);
    s->start();
  }
  struct stop_both {
    sio::server &a, &b;
    ~stop_both() { a.stop(); b.stop(); }
  } stopper{a, b};
  REQUIRE(wait_count(a, b, 2));

  // Without ack: B's listener hears it, A's own does not.
  a.of("/").server_side_emit("hello", "one");
  {
    std::unique_lock<std::mutex> l(mu);
    REQUIRE(cv.wait_for(l, 10s, [&] { return !heard_b.empty(); }));
    CHECK(heard_b == std::vector<std::string>{"one"});
  }

  a.of("/").server_side_emit("bad", 42);

  // With ack: exactly the other server answers, with its listener's value.
  bool done = false, complete = false;
  std::vector<std::string> answers;
  a.of("/").server_side_emit_with_ack("hello", [&](bool ok, const sio::args& responses) {
    std::lock_guard<std::mutex> g(mu);
    complete = ok;
    for (std::size_t i = 0; i < responses.size(); ++i) answers.push_back(std::string(responses.at(i).str()));
    done = true;
    cv.notify_all();
  }, "two");
  std::unique_lock<std::mutex> l(mu);
  REQUIRE(cv.wait_for(l, 10s, [&] { return done; }));
  CHECK(complete);
  CHECK(answers == std::vector<std::string>{"b:two"});
  CHECK(heard_a.empty());

  // B's listener throws: no answer, A's request times out (requests_timeout) and is counted.
  CHECK(a.metrics().cluster.request_timeouts == 0);
  done = false;
  a.of("/").server_side_emit_with_ack("bad", [&](bool ok, const sio::args&) {
    std::lock_guard<std::mutex> g(mu);
    complete = ok;
    done = true;
    cv.notify_all();
  }, 1);
  REQUIRE(cv.wait_for(l, 10s, [&] { return done; }));
  CHECK_FALSE(complete);
  CHECK(a.metrics().cluster.request_timeouts == 1);
}

TEST_CASE("redis adapter: server_side_emit_with_ack alone completes at once with no answers", "[redis]") {
  sio::server solo;  // memory adapter: no other server
  bool called = false, complete = false;
  std::size_t n = 99;
  solo.of("/").server_side_emit_with_ack("hello", [&](bool ok, const sio::args& r) {
    called = true;
    complete = ok;
    n = r.size();
  });
  CHECK(called);
  CHECK(complete);
  CHECK(n == 0);
}

TEST_CASE("redis adapter: fetch_sockets lists both servers' sockets with handshake and session", "[redis]") {
  portico_test::redis_server redis;
  sio::server a(member_options(redis.port()));
  sio::server b(member_options(redis.port()));
  b.on_connect([](sio::socket& s) {
    s.join("room-b");
    s.save_session(std::map<std::string, std::string>{{"user", "bob"}});
  });
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
  portico::client::simple_options ob;
  ob.client.query["who"] = "bob";
  ob.auth_json = R"({"token":"t1"})";
  cb.connect("http://127.0.0.1:" + std::to_string(b.port()), ob);
  REQUIRE(a.of("/").size() == 1);
  REQUIRE(b.of("/").size() == 1);

  std::mutex mu;
  std::condition_variable cv;
  bool done = false, complete = false;
  std::vector<sio::socket_info> got;
  a.of("/").fetch_sockets([&](bool ok, std::vector<sio::socket_info> v) {
    std::lock_guard<std::mutex> g(mu);
    complete = ok;
    got = std::move(v);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(mu);
  REQUIRE(cv.wait_for(l, 10s, [&] { return done; }));
  CHECK(complete);
  REQUIRE(got.size() == 2);
  const sio::socket_info& remote = got[1];  // local sockets first, then the other servers'
  CHECK(remote.rooms.size() == 2);
  portico::json::document hs, data;
  REQUIRE(portico::json::parse(remote.handshake, hs));
  REQUIRE(portico::json::parse(remote.data, data));
  CHECK(std::string(hs["query"]["who"].GetString()) == "bob");
  CHECK(std::string(hs["auth"]["token"].GetString()) == "t1");
  CHECK(std::string(hs["address"].GetString()) == "127.0.0.1");
  CHECK(hs["issued"].IsInt64());
  CHECK(std::string(data["user"].GetString()) == "bob");
  CHECK(got[0].handshake.find("\"query\"") != std::string::npos);

  // Only room-b: A's socket is left out.
  done = false;
  l.unlock();
  a.of("/").to("room-b").fetch_sockets([&](bool ok, std::vector<sio::socket_info> v) {
    std::lock_guard<std::mutex> g(mu);
    complete = ok;
    got = std::move(v);
    done = true;
    cv.notify_all();
  });
  l.lock();
  REQUIRE(cv.wait_for(l, 10s, [&] { return done; }));
  CHECK(complete);
  REQUIRE(got.size() == 1);
  CHECK(got[0].rooms.size() == 2);
}

// --- redis::session_store (connection state recovery across members), without servers ---

namespace {
portico::engineio::frame_ptr frame(std::string text, std::vector<std::string> bins = {}) {
  auto f = std::make_shared<portico::engineio::frame>();
  f->text = std::move(text);
  f->binaries = std::move(bins);
  return f;
}
sio::broadcast_options to(std::vector<std::string> rooms, std::vector<std::string> except = {}) {
  sio::broadcast_options o;
  o.rooms = std::move(rooms);
  o.except = std::move(except);
  return o;
}
}  // namespace

TEST_CASE("redis session_store: one member persists, another restores with the missed packets",
          "[redis][session_store]") {
  portico_test::redis_server redis;
  portico::redis::session_store_options so;
  so.connection.port = redis.port();
  sio::recovery_options r;
  r.enabled = true;
  r.max_stored_packets = 3;
  portico::redis::session_store a(so, "/", r), b(so, "/", r);

  // offsets are shared: the two members count on one counter
  CHECK(a.next_offset() == "1");
  a.store("1", to({}), frame("2[\"all\",\"1\"]"));
  CHECK(b.next_offset() == "2");
  b.store("2", to({"r"}), frame("51-[\"bin\",{\"_placeholder\":true,\"num\":0},\"2\"]", {std::string("\x00\xff", 2)}));
  CHECK(a.next_offset() == "3");
  a.store("3", to({"other"}), frame("2[\"not-mine\",\"3\"]"));
  CHECK(b.next_offset() == "4");
  b.store("4", to({}, {"r"}), frame("2[\"except-r\",\"4\"]"));

  sio::recovery_session s;
  s.sid = "sid1";
  s.pid = "pid1";
  s.rooms = {"sid1", "r"};
  s.data = R"({"user":"ann"})";
  a.persist(s);
  CHECK_FALSE(b.restore("unknown", "1"));
  auto got = b.restore("pid1", "1");
  REQUIRE(got);
  CHECK(got->sid == "sid1");
  CHECK(got->rooms == std::vector<std::string>{"sid1", "r"});
  CHECK(got->data == R"({"user":"ann"})");
  REQUIRE(got->missed.size() == 1);  // "r" only: not "other", not the one excepting "r"
  CHECK(got->missed[0]->text == "51-[\"bin\",{\"_placeholder\":true,\"num\":0},\"2\"]");
  CHECK(got->missed[0]->binaries == std::vector<std::string>{std::string("\x00\xff", 2)});
  CHECK_FALSE(a.restore("pid1", "1"));  // taken once

  // refused: a malformed offset, an offset beyond the counter, packets trimmed away
  a.persist(s);
  CHECK_FALSE(b.restore("pid1", "x1"));
  a.persist(s);
  CHECK_FALSE(b.restore("pid1", "99"));
  for (int i = 0; i < 3; ++i) {
    auto off = a.next_offset();
    a.store(off, to({}), frame("2[\"more\",\"" + off + "\"]"));
  }
  a.persist(s);
  CHECK_FALSE(b.restore("pid1", "1"));  // 6 packets after it, 3 kept
  a.persist(s);
  auto recent = b.restore("pid1", "5");
  REQUIRE(recent);
  CHECK(recent->missed.size() == 2);
}

TEST_CASE("redis session_store: Redis unreachable costs no crash and recovers nothing", "[redis][session_store]") {
  portico::redis::session_store_options so;
  so.connection.port = portico_test::redis_server::free_port();  // nobody listens
  so.connection.connect_timeout = std::chrono::milliseconds(500);
  sio::recovery_options r;
  portico::redis::session_store a(so, "/", r);
  CHECK(a.next_offset() == "0");
  a.store("0", to({}), frame("2[\"x\",\"0\"]"));
  sio::recovery_session s;
  s.pid = "p";
  a.persist(s);
  CHECK_FALSE(a.restore("p", "0"));
}

}  // namespace redis_adapter_test
