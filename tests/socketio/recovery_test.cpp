// Connection state recovery over real loopback sockets, at the packet level: the pid in the
// CONNECT answer, offsets on recoverable events only, the replay, the limits, the pluggable store.
// (socket.io-client 4.8 and the C++ client run the same scenario: tests/interop/node/recovery.test.js,
// tests/client/client_tests.cpp "[recovery]".)
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "portico/socketio/server.hpp"
#include "sio_client.hpp"

using namespace std::chrono_literals;
namespace sio = portico::socketio;
namespace json = portico::json;
using sio_test::client;

namespace {

sio::server_options recovery_options(std::size_t max_packets = 100) {
  sio::server_options o;
  o.engine.threads = 2;
  o.connection_state_recovery.enabled = true;
  o.connection_state_recovery.max_stored_packets = max_packets;
  return o;
}

struct running {
  sio::server& io;
  explicit running(sio::server& s) : io(s) {
    io.log().set_level(portico::log_level::off);
    io.engine().log().set_level(portico::log_level::off);
    io.listen("127.0.0.1", 0);
    io.start();
  }
  ~running() { io.stop(); }
  std::uint16_t port() const { return io.port(); }
};

template <class F>
bool eventually(F f, std::chrono::milliseconds t = 3000ms) {
  auto end = std::chrono::steady_clock::now() + t;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

/// Member `key` of the JSON object after the packet type ('0' + `{...}`).
std::string member(const std::string& packet, const char* key) {
  json::document d;
  if (packet.empty() || !json::parse(packet.substr(1), d) || !d.IsObject()) return "";
  auto it = d.FindMember(key);
  return it != d.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

/// The last argument of EVENT packet `packet` ("2[...]") when it is a string.
std::string offset_of(const std::string& packet) {
  json::document d;
  if (packet.size() < 2 || !json::parse(packet.substr(1), d) || !d.IsArray() || d.Size() < 2) return "";
  const auto& last = d[d.Size() - 1];
  return last.IsString() ? last.GetString() : "";
}

/// `packet` without its offset argument: `2["m",1]` for `2["m",1,"<offset>"]`.
std::string without_offset(const std::string& packet) {
  std::string off = offset_of(packet);
  auto at = packet.rfind(",\"" + off + "\"]");
  return off.empty() || at == std::string::npos ? packet : packet.substr(0, at) + "]";
}

/// A server whose "/" sockets join "r" on connect and note whether they were recovered.
struct fixture {
  sio::server io;
  std::atomic<int> middleware_runs{0}, recovered_connects{0};
  explicit fixture(sio::server_options o) : io(std::move(o)) {
    io.use([this](sio::socket&, sio::connect_request&) { ++middleware_runs; });
    io.on_connect([this](sio::socket& s) {
      if (s.recovered()) ++recovered_connects;
      else s.join("r");
    });
    io.on("set", [](sio::socket& s, const sio::args& a) {
      s.save_session(a.at(0).value());
      return true;
    });
    io.on("get", [](sio::socket& s, const sio::args&) { return s.get_session(); });
  }
};

}  // namespace

TEST_CASE("recovery on: pid in the CONNECT answer, offsets on recoverable events only", "[socketio][recovery]") {
  fixture f(recovery_options());
  running srv(f.io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string ans = c.connect();
  std::string sid = member(ans, "sid"), pid = member(ans, "pid");
  CHECK(pid.size() == 20);
  CHECK(pid != sid);
  auto s = f.io.get_socket(sid);
  REQUIRE(s);
  CHECK_FALSE(s->recovered());

  s->emit("direct", 1);
  std::string p = c.next_text();
  CHECK(without_offset(p) == R"(2["direct",1])");
  CHECK_FALSE(offset_of(p).empty());
  f.io.to("r").emit("room", 2);
  std::string q = c.next_text();
  CHECK(without_offset(q) == R"(2["room",2])");
  CHECK(offset_of(q) != offset_of(p));
  // Volatile broadcasts and emits asking for an ack are not recoverable (as Node): no offset.
  f.io.of("/").volatile_().emit("vol", 3);
  CHECK(c.next_text() == R"(2["vol",3])");
  s->emit_with_ack("ask", [](sio::ack_status, const sio::args&) {}, 5s, 4);
  CHECK(c.next_text() == R"(20["ask",4])");
}

TEST_CASE("recovery off: no pid, no offset", "[socketio][recovery]") {
  sio::server_options o;
  o.engine.threads = 2;
  sio::server io(o);
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string ans = c.connect();
  CHECK(member(ans, "pid").empty());
  io.emit("m", 1);
  CHECK(c.next_text() == R"(2["m",1])");
}

TEST_CASE("a lost connection is recovered: same sid, rooms, session, missed packets in order", "[socketio][recovery]") {
  fixture f(recovery_options());
  running srv(f.io);
  std::string sid, pid, last;
  {
    client c(srv.port());
    REQUIRE(c.wait_open());
    std::string ans = c.connect();
    sid = member(ans, "sid");
    pid = member(ans, "pid");
    c.send(R"(20["set",{"user":"ann"}])");
    CHECK(c.next_text() == "30[true]");
    f.io.to("r").emit("m", 0);
    std::string p = c.next_text();
    REQUIRE(without_offset(p) == R"(2["m",0])");
    last = offset_of(p);
    c.close();  // the transport goes away without a namespace DISCONNECT
  }
  REQUIRE(eventually([&] { return f.io.of("/").size() == 0; }));
  f.io.to("r").emit("m", 1);
  f.io.emit("all", 2);
  f.io.to("other").emit("m", 99);  // not for it
  f.io.to("r").except(sid).emit("m", 98);  // not for it either
  f.io.to("r").emit("m", 3);

  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string ans = c.connect("/", R"({"pid":")" + pid + R"(","offset":")" + last + R"("})");
  CHECK(member(ans, "sid") == sid);
  CHECK(member(ans, "pid") == pid);
  CHECK(without_offset(c.next_text()) == R"(2["m",1])");
  CHECK(without_offset(c.next_text()) == R"(2["all",2])");
  CHECK(without_offset(c.next_text()) == R"(2["m",3])");
  c.send(R"(21["get"])");
  CHECK(c.next_text() == R"(31[{"user":"ann"}])");
  auto s = f.io.get_socket(sid);
  REQUIRE(s);
  CHECK(s->recovered());
  CHECK(f.recovered_connects == 1);
  CHECK(f.middleware_runs == 1);  // skip_middlewares: `use()` ran for the first connection only
  auto rooms = s->rooms();
  CHECK(std::find(rooms.begin(), rooms.end(), "r") != rooms.end());
  f.io.to("r").emit("m", 4);
  CHECK(without_offset(c.next_text()) == R"(2["m",4])");

  SECTION("the session is restored once") {
    client d(srv.port());
    REQUIRE(d.wait_open());
    CHECK(member(d.connect("/", R"({"pid":")" + pid + R"(","offset":")" + last + R"("})"), "sid") != sid);
  }
}

TEST_CASE("not recovered: client disconnect, unknown offset, missed packets over the limit", "[socketio][recovery]") {
  fixture f(recovery_options(2));
  running srv(f.io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string ans = c.connect();
  std::string sid = member(ans, "sid"), pid = member(ans, "pid");
  f.io.to("r").emit("m", 0);
  std::string last = offset_of(c.next_text());
  REQUIRE_FALSE(last.empty());
  auto auth = [&](const std::string& off) { return R"({"pid":")" + pid + R"(","offset":")" + off + R"("})"; };

  SECTION("a client namespace disconnect keeps nothing") {
    c.send("1");
    REQUIRE(eventually([&] { return f.io.of("/").size() == 0; }));
    std::string again = c.connect("/", auth(last));
    CHECK(member(again, "sid") != sid);
    CHECK(member(again, "pid") != pid);
  }
  SECTION("more missed packets than max_stored_packets") {
    c.close();
    REQUIRE(eventually([&] { return f.io.of("/").size() == 0; }));
    for (int i = 1; i <= 3; ++i) f.io.to("r").emit("m", i);
    client d(srv.port());
    REQUIRE(d.wait_open());
    CHECK(member(d.connect("/", auth(last)), "sid") != sid);
    CHECK(f.recovered_connects == 0);
  }
  SECTION("an offset this server never wrote") {
    c.close();
    REQUIRE(eventually([&] { return f.io.of("/").size() == 0; }));
    client d(srv.port());
    REQUIRE(d.wait_open());
    CHECK(member(d.connect("/", auth("nope")), "sid") != sid);
  }
}

TEST_CASE("a reconnect after max_disconnection_duration is a fresh session", "[socketio][recovery]") {
  auto o = recovery_options();
  o.connection_state_recovery.max_disconnection_duration = 200ms;
  fixture f(std::move(o));
  running srv(f.io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string ans = c.connect();
  std::string sid = member(ans, "sid"), pid = member(ans, "pid");
  f.io.emit("m", 0);
  std::string last = offset_of(c.next_text());
  c.close();
  REQUIRE(eventually([&] { return f.io.of("/").size() == 0; }));
  std::this_thread::sleep_for(600ms);
  client d(srv.port());
  REQUIRE(d.wait_open());
  CHECK(member(d.connect("/", R"({"pid":")" + pid + R"(","offset":")" + last + R"("})"), "sid") != sid);
}

namespace {
/// A store that counts what it is asked, over the default one.
struct counting_store : sio::memory_session_store {
  std::atomic<int>* persisted;
  counting_store(const sio::recovery_options& o, std::atomic<int>* p) : memory_session_store(o), persisted(p) {}
  void persist(sio::recovery_session s) override {
    ++*persisted;
    memory_session_store::persist(std::move(s));
  }
};
}  // namespace

TEST_CASE("the session store is pluggable", "[socketio][recovery]") {
  std::atomic<int> persisted{0};
  auto o = recovery_options();
  o.session_store_factory = [&](const std::string&, const sio::recovery_options& r) {
    return std::make_unique<counting_store>(r, &persisted);
  };
  fixture f(std::move(o));
  running srv(f.io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string ans = c.connect();
  std::string sid = member(ans, "sid"), pid = member(ans, "pid");
  f.io.emit("m", 0);
  std::string last = offset_of(c.next_text());
  c.close();
  REQUIRE(eventually([&] { return persisted.load() == 1; }));
  client d(srv.port());
  REQUIRE(d.wait_open());
  CHECK(member(d.connect("/", R"({"pid":")" + pid + R"(","offset":")" + last + R"("})"), "sid") == sid);
}
