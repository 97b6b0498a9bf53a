// Socket.IO server over real loopback sockets: namespaces, connect/refusal, events, acks both
// ways, binary, rooms and targeting, sessions, disconnects, malformed input, shutdown.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <chrono>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../engineio/test_client.hpp"
#include "portico/socketio/server.hpp"
#include "sio_client.hpp"

using namespace std::chrono_literals;
namespace sio = portico::socketio;
using sio_test::client;
using sio_test::sid_of;

namespace {

sio::server_options test_options() {
  sio::server_options o;
  o.engine.threads = 2;
  o.connect_timeout = std::chrono::milliseconds(3000);
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

std::string str(const portico::json::value& v) {
  std::string s;
  portico::json::string_sink sink{&s};
  portico::json::writer w(sink);
  v.Accept(w);
  return s;
}

}  // namespace

TEST_CASE("connect to the main and a custom namespace; connect emits follow the CONNECT answer",
          "[socketio][server]") {
  sio::server io(test_options());
  std::string seen_auth, seen_query, seen_url, seen_host, seen_remote;
  std::chrono::system_clock::time_point seen_time;
  std::mutex mu;
  io.on_connect([&](sio::socket& s, sio::connect_request& r) {
    {
      std::lock_guard<std::mutex> g(mu);
      seen_auth = str(r.auth());
      seen_query = std::string(r.handshake().query_param("EIO"));
      seen_url = r.handshake().url;
      seen_host = std::string(r.handshake().header("host"));
      seen_remote = r.handshake().remote_address;
      seen_time = r.handshake().time;
    }
    s.emit("welcome", s.sid());
  });
  io.of("/admin").on_connect([](sio::socket& s) { s.emit("hi", s.namespace_name()); });
  io.on("auth", [](sio::socket& s, const sio::args&) -> const portico::json::value& { return s.auth(); });  // kept after CONNECT
  running srv(io);

  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string ans = c.connect("/", R"({"token":"123"})");
  REQUIRE(ans.rfind("0{\"sid\":\"", 0) == 0);
  std::string sid = sid_of(ans);
  CHECK(sid.size() == 20);
  CHECK(c.next_text() == "2[\"welcome\",\"" + sid + "\"]");
  {
    std::lock_guard<std::mutex> g(mu);
    CHECK(seen_auth == R"({"token":"123"})");
    CHECK(seen_query == "4");
    CHECK(seen_url.rfind("/socket.io/?", 0) == 0);
    CHECK(seen_host.find("127.0.0.1") != std::string::npos);
    CHECK(seen_remote.find("127.0.0.1") != std::string::npos);
    auto age = std::chrono::system_clock::now() - seen_time;
    CHECK(age >= std::chrono::seconds(0));
    CHECK(age < std::chrono::seconds(60));
  }

  std::string ans2 = c.connect("/admin");
  CHECK(ans2.rfind("0/admin,{\"sid\":\"", 0) == 0);
  CHECK(sid_of(ans2) != sid);
  CHECK(c.next_text() == R"(2/admin,["hi","/admin"])");
  CHECK(io.of("/admin").size() == 1);
  CHECK(io.of("/").size() == 1);
  c.send(R"(25["auth"])");
  CHECK(c.next_text() == R"(35[{"token":"123"}])");
}

TEST_CASE("sockets_join/leave, all_rooms and disconnect_sockets act on this server without a cluster", "[socketio][server]") {
  sio::server io(test_options());
  io.of("/admin");
  running srv(io);
  client a(srv.port()), b(srv.port());
  REQUIRE(a.wait_open());
  REQUIRE(b.wait_open());
  std::string sa = sid_of(a.connect()), sb = sid_of(b.connect());
  std::string sa_admin = sid_of(a.connect("/admin"));
  REQUIRE(!sa_admin.empty());

  // in(room).sockets_join: only the room's sockets move.
  io.of("/").in(sa).sockets_join({"red", "blue"});
  CHECK(io.to("red").sids() == std::vector<std::string>{sa});
  std::vector<std::string> rooms;
  bool complete = false;
  io.of("/").all_rooms([&](bool c, std::vector<std::string> r) {  // alone: at once
    complete = c;
    rooms = std::move(r);
  });
  std::vector<std::string> want{"blue", "red", sa, sb};
  std::sort(want.begin(), want.end());
  CHECK(complete);
  CHECK(rooms == want);
  io.of("/").sockets_leave(sio::broadcast_options{}, {"blue"});
  CHECK(io.to("blue").sids().empty());
  CHECK(io.to("red").sids() == std::vector<std::string>{sa});

  // disconnect_sockets(false): DISCONNECT for "/" only; the connection and "/admin" stay.
  io.of("/").in("red").disconnect_sockets(false);
  CHECK(a.next_text() == "1");
  REQUIRE(eventually([&] { return io.of("/").size() == 1; }));
  CHECK(b.quiet_for(100ms));
  CHECK(io.of("/admin").size() == 1);
  io.of("/admin").emit("still", 1);  // same connection, other namespace: still served
  CHECK(a.next_text() == R"(2/admin,["still",1])");
  CHECK_FALSE(a.closed());
  // disconnect_sockets(true): the whole connection closes.
  io.of("/").disconnect_sockets(true);
  CHECK(b.wait_closed());
  CHECK(eventually([&] { return io.of("/").size() == 0; }));
  CHECK_FALSE(a.closed());
}

TEST_CASE("unknown namespaces are refused exactly like the reference server", "[socketio][server]") {
  sio::server io(test_options());
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  CHECK(c.connect("/nope") == R"(4/nope,{"message":"Invalid namespace"})");
  c.send("0/random");  // no trailing comma, as the official test-suite sends it
  CHECK(c.next_text() == R"(4/random,{"message":"Invalid namespace"})");
  // the connection stays usable
  CHECK(c.connect("/").rfind("0{", 0) == 0);
}

TEST_CASE("dynamic namespaces by regex and predicate, and the catch-all", "[socketio][server]") {
  sio::server io(test_options());
  io.of(std::regex("^/room-[0-9]+$")).on("ping", [](sio::socket& s, const sio::args&) {
    return s.namespace_name();
  });
  io.of([](std::string_view n) { return n.rfind("/p-", 0) == 0; }).on_connect([](sio::socket& s) {
    s.emit("pred", s.namespace_name());
  });
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  CHECK(c.connect("/room-12").rfind("0/room-12,{\"sid\"", 0) == 0);
  c.send(R"(2/room-12,7["ping"])");
  CHECK(c.next_text() == R"(3/room-12,7["/room-12"])");
  CHECK(c.connect("/room-x") == R"(4/room-x,{"message":"Invalid namespace"})");
  CHECK(c.connect("/p-a").rfind("0/p-a,", 0) == 0);
  CHECK(c.next_text() == R"(2/p-a,["pred","/p-a"])");
  REQUIRE(io.find("/room-12") != nullptr);

  sio::server any(test_options());
  any.of_any().on_connect([](sio::socket& s) { s.emit("in", s.namespace_name()); });
  running srv2(any);
  client d(srv2.port());
  REQUIRE(d.wait_open());
  CHECK(d.connect("/whatever").rfind("0/whatever,", 0) == 0);
  CHECK(d.next_text() == R"(2/whatever,["in","/whatever"])");
  CHECK(d.connect("/").rfind("0{", 0) == 0);  // "/" is static and always there
}

TEST_CASE("a connect handler or middleware refuses with a message and data", "[socketio][server]") {
  sio::server io(test_options());
  std::atomic<int> connect_calls{0};
  io.use([](sio::socket&, sio::connect_request& r) {
    if (r.auth().IsObject() && r.auth().HasMember("token") && r.auth()["token"] == "bad") {
      std::map<std::string, int> data{{"code", 42}};
      r.refuse("not authorized", data);
    }
  });
  io.on_connect([&](sio::socket& s, sio::connect_request& r) {
    ++connect_calls;
    if (r.auth().IsNull()) r.refuse("auth required");
    else s.emit("never-seen-if-refused");
  });
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  CHECK(c.connect("/", R"({"token":"bad"})") == R"(4{"message":"not authorized","data":{"code":42}})");
  CHECK(connect_calls == 0);  // the middleware stopped the chain
  CHECK(c.connect("/") == R"(4{"message":"auth required"})");
  CHECK(c.quiet_for(200ms));  // the refused handler's emit was dropped
  CHECK(io.of("/").size() == 0);
  CHECK(c.connect("/", R"({"token":"ok"})").rfind("0{", 0) == 0);
  CHECK(c.next_text() == R"(2["never-seen-if-refused"])");
}

TEST_CASE("a deferred connect is answered later from another thread; the I/O thread stays free",
          "[socketio][server][defer]") {
  auto o = test_options();
  o.engine.threads = 1;  // one I/O thread: a blocking middleware would stall the "release" event
  sio::server io(o);
  std::mutex mu;
  std::vector<sio::connect_deferral> waiting;
  std::atomic<int> after_calls{0};
  io.of("/slow").use([&](sio::socket&, sio::connect_request& r) {
    auto d = r.defer();
    CHECK(r.defer());  // the same deferral again
    std::lock_guard<std::mutex> g(mu);
    waiting.push_back(d);
  });
  io.of("/slow").on_connect([&](sio::socket& s, sio::connect_request&) {
    ++after_calls;
    s.emit("welcome");
  });
  io.on("release", [&](sio::socket&, const sio::args& a) {  // answers the waiting connects from a thread
    std::vector<sio::connect_deferral> v;
    {
      std::lock_guard<std::mutex> g(mu);
      v.swap(waiting);
    }
    const bool ok = a[0].IsBool() && a[0].GetBool();
    std::thread([v, ok]() mutable {
      for (auto& d : v) {
        if (ok) d.accept();
        else d.refuse("no entry");
        d.accept();  // a second answer is ignored
      }
    }).detach();
    return true;
  });
  io.of("/dropped").use([](sio::socket&, sio::connect_request& r) { (void)r.defer(); });  // never answered
  io.of("/both").use([](sio::socket&, sio::connect_request& r) {
    auto d = r.defer();
    r.refuse("at once");  // refusing in the handler wins over the deferral
    d.accept();
  });
  running srv(io);
  client slow(srv.port()), other(srv.port());
  REQUIRE(slow.wait_open());
  REQUIRE(other.wait_open());
  slow.send("0/slow,");
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return waiting.size() == 1;
  }));
  CHECK(slow.quiet_for(100ms));  // no answer yet
  slow.send("0/slow,");           // a second CONNECT while the first waits: invalid state
  CHECK(slow.wait_closed(3s));
  client a(srv.port()), b(srv.port());
  REQUIRE(a.wait_open());
  REQUIRE(b.wait_open());
  a.send("0/slow,");
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return waiting.size() == 2;  // the closed connection's deferral is still held, answered as a no-op
  }));
  // the only I/O thread serves another connection while a's CONNECT waits
  REQUIRE(other.connect("/").rfind("0{", 0) == 0);
  other.send(R"(21["release",true])");
  CHECK(other.next_text() == "31[true]");
  CHECK(a.next_text().rfind("0/slow,{\"sid\":", 0) == 0);
  CHECK(a.next_text() == R"(2/slow,["welcome"])");
  CHECK(after_calls == 1);
  CHECK(io.of("/slow").size() == 1);
  b.send("0/slow,");
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return waiting.size() == 1;
  }));
  other.send(R"(22["release",false])");
  CHECK(other.next_text() == "32[true]");
  CHECK(b.next_text() == R"(4/slow,{"message":"no entry"})");
  CHECK(after_calls == 1);
  CHECK(b.connect("/dropped") == R"(4/dropped,{"message":"internal error"})");
  CHECK(b.connect("/both") == R"(4/both,{"message":"at once"})");
  CHECK(b.quiet_for(100ms));
  CHECK(io.of("/slow").size() == 1);
}

TEST_CASE("connect_timeout closes sessions that never connect to a namespace", "[socketio][server]") {
  auto o = test_options();
  o.connect_timeout = 300ms;
  sio::server io(o);
  running srv(io);
  client idle(srv.port()), active(srv.port());
  REQUIRE(idle.wait_open());
  REQUIRE(active.wait_open());
  REQUIRE(active.connect("/").rfind("0{", 0) == 0);
  CHECK(idle.wait_closed(3s));
  CHECK_FALSE(active.closed());
}

TEST_CASE("events: named, message, catch-all, multiple args, return value as ack", "[socketio][server]") {
  sio::server io(test_options());
  io.on("sum", [](sio::socket&, const sio::args& a) { return a[0].GetInt() + a[1].GetInt(); });
  io.on("message", [](sio::socket& s, const sio::args& a) { s.emit("message-back", a); });
  io.on("pair", [](sio::event& e) { e.ack(sio::payload("a", 2)); });
  io.on("later", [](sio::event& e) {
    auto ack = e.take_ack();
    std::thread([ack]() mutable { ack("from another thread"); }).detach();
  });
  io.on("silent", [](sio::socket&, const sio::args&) {});
  io.on_any([](sio::event& e) {
    e.socket().emit("unknown", e.name(), static_cast<std::uint64_t>(e.args().size()));
  });
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  REQUIRE(c.connect().rfind("0{", 0) == 0);

  c.send(R"(21["sum",2,40])");
  CHECK(c.next_text() == "31[42]");
  c.send(R"(2["message",1,"2",{"3":[true]}])");
  CHECK(c.next_text() == R"(2["message-back",1,"2",{"3":[true]}])");
  c.send(R"(25["pair"])");
  CHECK(c.next_text() == R"(35["a",2])");
  c.send(R"(26["later"])");
  CHECK(c.next_text() == R"(36["from another thread"])");
  c.send(R"(27["silent"])");
  CHECK(c.quiet_for(150ms));  // a void handler does not ack by itself
  c.send(R"(2["what",1,2,3])");
  CHECK(c.next_text() == R"(2["unknown","what",3])");
  c.send(R"(2/admin,["sum",1,1])");  // not connected to /admin: closed, like the reference server
  CHECK(c.wait_closed());
}

TEST_CASE("binary arguments anywhere, both directions", "[socketio][server]") {
  sio::server io(test_options());
  io.on("echo", [](sio::socket& s, const sio::args& a) { s.emit("echo", a); });
  io.on("size", [](sio::socket&, const sio::args& a) {
    auto* b = a.at(1).binary();
    return b ? static_cast<std::uint64_t>(b->size()) : 0;
  });
  io.on("make", [](sio::socket&, const sio::args&) {
    return sio::payload("blob", portico::json::binary(std::string("\x00\xff", 2)));
  });
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  REQUIRE(c.connect().rfind("0{", 0) == 0);

  c.send(R"(52-["echo",{"a":{"_placeholder":true,"num":1}},[{"_placeholder":true,"num":0}]])");
  c.send_binary(std::string("\x01\x02\x03", 3));
  c.send_binary(std::string("\x04\x05", 2));
  CHECK(c.next_text() == R"(52-["echo",{"a":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1}]])");
  auto b0 = c.next(), b1 = c.next();
  REQUIRE(b0);
  REQUIRE(b1);
  CHECK(b0->binary);
  CHECK(b0->data == std::string("\x04\x05", 2));
  CHECK(b1->data == std::string("\x01\x02\x03", 3));

  c.send(R"(51-9["size","x",{"_placeholder":true,"num":0}])");
  c.send_binary(std::string(1000, 'z'));
  CHECK(c.next_text() == "39[1000]");

  c.send(R"(24["make"])");
  CHECK(c.next_text() == R"(61-4["blob",{"_placeholder":true,"num":0}])");
  auto b = c.next();
  REQUIRE(b);
  CHECK(b->data == std::string("\x00\xff", 2));
}

TEST_CASE("server emit with ack: answer, timeout, disconnect; never dropped", "[socketio][server]") {
  sio::server io(test_options());
  std::mutex mu;
  std::vector<std::string> results;
  auto record = [&](sio::ack_status st, const sio::args& a) {
    std::lock_guard<std::mutex> g(mu);
    results.push_back(std::string(sio::to_string(st)) + (a.empty() ? "" : ":" + str(a[0])));
  };
  io.on("ask", [&](sio::socket& s, const sio::args& a) {
    s.emit_with_ack("question", record, std::chrono::milliseconds(a[0].GetInt()), "q");
  });
  running srv(io);
  auto count = [&] {
    std::lock_guard<std::mutex> g(mu);
    return results.size();
  };

  client c(srv.port());
  REQUIRE(c.wait_open());
  REQUIRE(c.connect().rfind("0{", 0) == 0);
  c.send(R"(2["ask",5000])");
  std::string q = c.next_text();
  REQUIRE(q.rfind("2", 0) == 0);
  std::string id = q.substr(1, q.find('[') - 1);
  CHECK(q.substr(q.find('[')) == R"(["question","q"])");
  c.send("3" + id + R"(["yes",1])");
  REQUIRE(eventually([&] { return count() == 1; }));
  c.send("3" + id + R"(["again"])");  // a second ack for the same id is ignored

  c.send(R"(2["ask",100])");
  REQUIRE(c.next_text().find("question") != std::string::npos);
  REQUIRE(eventually([&] { return count() == 2; }));

  c.send(R"(2["ask",10000])");
  REQUIRE(c.next_text().find("question") != std::string::npos);
  c.close();
  REQUIRE(eventually([&] { return count() == 3; }));
  std::this_thread::sleep_for(100ms);
  std::lock_guard<std::mutex> g(mu);
  REQUIRE(results.size() == 3);
  CHECK(results[0] == "ok:\"yes\"");
  CHECK(results[1] == "timeout");
  CHECK(results[2] == "disconnected");
}

TEST_CASE("rooms and emit targeting", "[socketio][server]") {
  sio::server io(test_options());
  std::mutex mu;
  std::vector<std::string> disconnecting_rooms;
  io.on("join", [](sio::socket& s, const sio::args& a) { s.join(std::string(a.at(0).str())); return true; });
  io.on("leave", [](sio::socket& s, const sio::args& a) { s.leave(std::string(a.at(0).str())); return true; });
  io.on("to", [](sio::socket& s, const sio::args& a) { s.to(std::string(a.at(0).str())).emit("msg", a.at(1)); return true; });
  io.on("rooms", [](sio::socket& s, const sio::args&) {
    auto r = s.rooms();
    std::sort(r.begin(), r.end());
    return r;
  });
  io.on_disconnecting([&](sio::socket& s, std::string_view) {
    auto r = s.rooms();
    std::sort(r.begin(), r.end());
    std::lock_guard<std::mutex> g(mu);
    for (auto& x : r) disconnecting_rooms.push_back(x);
  });
  running srv(io);

  client a(srv.port()), b(srv.port()), c(srv.port());
  for (auto* x : {&a, &b, &c}) REQUIRE(x->wait_open());
  std::string sa = sid_of(a.connect()), sb = sid_of(b.connect()), sc = sid_of(c.connect());
  a.send(R"(21["join","red"])");
  b.send(R"(21["join","red"])");
  c.send(R"(21["join","blue"])");
  CHECK(a.next_text() == "31[true]");
  CHECK(b.next_text() == "31[true]");
  CHECK(c.next_text() == "31[true]");

  a.send(R"(22["rooms"])");
  std::vector<std::string> expect{"red", sa};
  std::sort(expect.begin(), expect.end());
  CHECK(a.next_text() == "32[[\"" + expect[0] + "\",\"" + expect[1] + "\"]]");

  // socket.to(room) excludes the sender
  a.send(R"(23["to","red","hello"])");
  CHECK(a.next_text() == "33[true]");
  CHECK(b.next_text() == R"(2["msg","hello"])");
  CHECK(c.quiet_for(100ms));
  CHECK(a.quiet_for(50ms));

  // namespace emits: several rooms (deduplicated), except by sid and by room, to one sid
  io.to("red").to("blue").emit("multi", 1);
  CHECK(a.next_text() == R"(2["multi",1])");
  CHECK(b.next_text() == R"(2["multi",1])");
  CHECK(c.next_text() == R"(2["multi",1])");
  CHECK(a.quiet_for(50ms));
  io.to("red").except(sb).emit("skip", 2);
  CHECK(a.next_text() == R"(2["skip",2])");
  CHECK(b.quiet_for(100ms));
  io.except("red").emit("not-red");
  CHECK(c.next_text() == R"(2["not-red"])");
  CHECK(a.quiet_for(50ms));
  io.to(sc).emit("direct");
  CHECK(c.next_text() == R"(2["direct"])");
  io.emit("all", "x");
  for (auto* x : {&a, &b, &c}) CHECK(x->next_text() == R"(2["all","x"])");
  io.of("/").volatile_().emit("vol");
  for (auto* x : {&a, &b, &c}) CHECK(x->next_text() == R"(2["vol"])");
  CHECK(io.to("red").sids().size() == 2);

  // leave and close_room
  b.send(R"(24["leave","red"])");
  CHECK(b.next_text() == "34[true]");
  io.to("red").emit("after-leave");
  CHECK(a.next_text() == R"(2["after-leave"])");
  CHECK(b.quiet_for(100ms));
  io.of("/").close_room("red");
  io.to("red").emit("closed");
  CHECK(a.quiet_for(100ms));
  CHECK(io.of("/").rooms(sa) == std::vector<std::string>{sa});

  // disconnecting still sees the rooms
  c.close();
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return !disconnecting_rooms.empty();
  }));
  {
    std::lock_guard<std::mutex> g(mu);
    std::vector<std::string> want{"blue", sc};
    std::sort(want.begin(), want.end());
    CHECK(disconnecting_rooms == want);
  }
  CHECK(eventually([&] { return io.of("/").size() == 2; }));
}

TEST_CASE("sessions per sid and namespace", "[socketio][server]") {
  sio::server io(test_options());
  io.on("set", [](sio::socket& s, const sio::args& a) {
    s.save_session(a[0]);
    return true;
  });
  io.on("get", [](sio::socket& s, const sio::args&) { return s.get_session(); });
  io.on("bump", [](sio::socket& s, const sio::args&) {
    return s.with_session([](portico::json::document& d) {
      if (!d.IsObject()) d.SetObject();
      if (!d.HasMember("n")) d.AddMember("n", 0, d.GetAllocator());
      d["n"].SetInt(d["n"].GetInt() + 1);
      return d["n"].GetInt();
    });
  });
  io.of("/admin").on("get", [](sio::socket& s, const sio::args&) { return s.get_session(); });
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string sid = sid_of(c.connect());
  c.connect("/admin");
  c.send(R"(21["get"])");
  CHECK(c.next_text() == "31[null]");
  c.send(R"(22["set",{"user":"ann"}])");
  CHECK(c.next_text() == "32[true]");
  c.send(R"(23["get"])");
  CHECK(c.next_text() == R"(33[{"user":"ann"}])");
  c.send(R"(2/admin,4["get"])");
  CHECK(c.next_text() == "3/admin,4[null]");  // per namespace
  CHECK(str(io.get_session(sid)) == R"({"user":"ann"})");
  c.send(R"(25["bump"])");
  CHECK(c.next_text() == "35[1]");
  c.send(R"(26["bump"])");
  CHECK(c.next_text() == "36[2]");

  // gone after disconnect: a new connection to "/" starts empty
  c.send("1");
  CHECK(eventually([&] { return io.of("/").size() == 0; }));
  CHECK(io.get_session(sid).IsNull());
  c.connect("/");
  c.send(R"(27["get"])");
  CHECK(c.next_text() == "37[null]");
}

TEST_CASE("server-initiated disconnects: one namespace, or the whole connection", "[socketio][server]") {
  sio::server io(test_options());
  std::atomic<int> disconnects{0};
  std::string last_reason;
  std::mutex mu;
  io.on("disconnect_me", [](sio::socket& s, const sio::args&) { s.disconnect(); });
  io.on("drop_me", [](sio::socket& s, const sio::args&) { s.close_connection(); });
  io.on_disconnect([&](sio::socket&, std::string_view reason) {
    std::lock_guard<std::mutex> g(mu);
    last_reason = std::string(reason);
    ++disconnects;
  });
  io.of("/admin").on("ping", [](sio::socket&, const sio::args&) { return "pong"; });
  running srv(io);

  client c(srv.port());
  REQUIRE(c.wait_open());
  std::string sid = sid_of(c.connect());
  c.connect("/admin");
  c.send(R"(2["disconnect_me"])");
  CHECK(c.next_text() == "1");
  REQUIRE(eventually([&] { return disconnects == 1; }));
  {
    std::lock_guard<std::mutex> g(mu);
    CHECK(last_reason == "server namespace disconnect");
  }
  c.send(R"(2/admin,1["ping"])");  // the other namespace still works
  CHECK(c.next_text() == R"(3/admin,1["pong"])");
  CHECK_FALSE(c.closed());

  std::string sid2 = sid_of(c.connect());
  CHECK(sid2 != sid);
  CHECK(io.disconnect(sid2));  // by sid, from a non-worker thread
  CHECK(c.next_text() == "1");
  CHECK_FALSE(io.disconnect("no-such-sid"));

  c.connect();
  c.send(R"(2["drop_me"])");
  CHECK(c.wait_closed());
  REQUIRE(eventually([&] { return disconnects == 3; }));
  {
    std::lock_guard<std::mutex> g(mu);
    CHECK(last_reason == "forced close");  // the server goes on: not "server shutting down"
  }

  client d(srv.port());
  REQUIRE(d.wait_open());
  d.connect();
  io.stop();
  REQUIRE(eventually([&] { return disconnects == 4; }));
  std::lock_guard<std::mutex> g(mu);
  CHECK(last_reason == "server shutting down");
}

TEST_CASE("malformed packets close only that client", "[socketio][server]") {
  sio::server io(test_options());
  io.on("ping", [](sio::socket&, const sio::args&) { return "pong"; });
  running srv(io);
  client good(srv.port());
  REQUIRE(good.wait_open());
  REQUIRE(good.connect().rfind("0{", 0) == 0);

  const std::vector<std::string> bad = {
      "abc", "9", R"(2["connect"])", R"(2[])", R"(2{"a":1})", R"(2["x")", "2", "5-[\"a\"]",
      R"(51-["a",{"_placeholder":true,"num":3}])", R"(2x,["a"])", R"(0[1])", "1{}", R"(4{"message":"x"})",
      std::string("2") + std::string(3000, '['),
      R"(2/elsewhere,["ping"])",  // a namespace it is not connected to
      "0",                         // a second CONNECT to "/"
      "1/admin,",                  // DISCONNECT from a namespace it is not in
      R"(3/admin,1[])",
  };
  for (const auto& p : bad) {
    client c(srv.port());
    REQUIRE(c.wait_open());
    REQUIRE(c.connect().rfind("0{", 0) == 0);
    c.send(p);
    INFO("packet: " << p.substr(0, 30));
    CHECK(c.wait_closed(3s));
  }
  {
    client c(srv.port());  // a binary attachment nobody announced
    REQUIRE(c.wait_open());
    c.send_binary("zz");
    CHECK(c.wait_closed(3s));
  }
  {
    client c(srv.port());  // text while attachments were expected
    REQUIRE(c.wait_open());
    REQUIRE(c.connect().rfind("0{", 0) == 0);
    c.send(R"(51-["a",{"_placeholder":true,"num":0}])");
    c.send(R"(2["ping"])");
    CHECK(c.wait_closed(3s));
  }
  good.send(R"(21["ping"])");
  CHECK(good.next_text() == R"(31["pong"])");
  CHECK_FALSE(good.closed());
}

TEST_CASE("attachments over max_attachments or max_packet_bytes close the connection", "[socketio][server]") {
  sio::server io(test_options());  // the defaults: 10 attachments, engine.max_payload (1 MB) per packet
  std::atomic<int> handled{0};
  io.on("up", [&](sio::socket&, const sio::args& a) { handled += static_cast<int>(a.size()); });
  running srv(io);
  std::mutex mu;
  std::vector<std::string> lines;
  io.log().set_level(portico::log_level::info);
  io.log().set_sink([&](portico::log_level, std::string_view m) {
    std::lock_guard<std::mutex> g(mu);
    lines.emplace_back(m);
  });
  auto logged = [&](std::string_view needle) {
    return eventually([&] {
      std::lock_guard<std::mutex> g(mu);
      return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != l.npos; });
    });
  };
  auto header = [](std::size_t n) {
    std::string h = "5" + std::to_string(n) + "-[\"up\"";
    for (std::size_t i = 0; i < n; ++i) h += ",{\"_placeholder\":true,\"num\":" + std::to_string(i) + "}";
    return h + "]";
  };
  client good(srv.port());
  REQUIRE(good.wait_open());
  REQUIRE(good.connect().rfind("0{", 0) == 0);

  SECTION("11 attachments announced") {
    client c(srv.port());
    REQUIRE(c.wait_open());
    REQUIRE(c.connect().rfind("0{", 0) == 0);
    c.send(header(11));
    CHECK(c.wait_closed(3s));
    CHECK(logged("above max_attachments"));
  }
  SECTION("two attachments of 600 KB: refused at the second, before the packet completes") {
    client c(srv.port());
    REQUIRE(c.wait_open());
    REQUIRE(c.connect().rfind("0{", 0) == 0);
    c.send(header(3));
    c.send_binary(std::string(600000, 'x'));
    c.send_binary(std::string(600000, 'y'));
    CHECK(c.wait_closed(3s));
    CHECK(logged("above max_packet_bytes"));
  }
  // The other client is unaffected, and 10 attachments within the bytes are accepted.
  good.send(header(10));
  for (int i = 0; i < 10; ++i) good.send_binary(std::string(1000, 'z'));
  CHECK(eventually([&] { return handled.load() == 10; }));
  CHECK_FALSE(good.closed());
}

TEST_CASE("emits from any thread, and clean shutdown fails pending acks", "[socketio][server]") {
  auto io = std::make_unique<sio::server>(test_options());
  std::atomic<int> disconnected{0};
  std::atomic<int> ack_failed{0};
  io->on("ask", [&](sio::socket& s, const sio::args&) {
    s.emit_with_ack("q", [&](sio::ack_status st, const sio::args&) {
      if (st == sio::ack_status::disconnected) ++ack_failed;
    }, 60s);
  });
  io->on_disconnect([&](sio::socket&, std::string_view) { ++disconnected; });
  auto srv = std::make_unique<running>(*io);
  client c(srv->port());
  REQUIRE(c.wait_open());
  std::string sid = sid_of(c.connect());
  std::thread t([&] { io->get_socket(sid)->emit("from-thread", 7); });
  t.join();
  CHECK(c.next_text() == R"(2["from-thread",7])");
  c.send(R"(2["ask"])");
  CHECK(c.next_text().find("\"q\"") != std::string::npos);
  srv.reset();  // stop()
  CHECK(disconnected == 1);
  CHECK(ack_failed == 1);
  CHECK(c.wait_closed(3s));
  io.reset();
}

TEST_CASE("exceptions in user handlers do not take the server down", "[socketio][server]") {
  sio::server io(test_options());
  io.use([](sio::socket&, sio::connect_request& r) {
    if (r.auth().IsObject() && r.auth().HasMember("boom")) throw std::runtime_error("boom");
  });
  io.on("throw", [](sio::socket&, const sio::args&) -> int { throw std::runtime_error("x"); });
  io.on("ok", [](sio::socket&, const sio::args&) { return 1; });
  io.on_disconnect([](sio::socket&, std::string_view) { throw 42; });
  running srv(io);
  client c(srv.port());
  REQUIRE(c.wait_open());
  CHECK(c.connect("/", R"({"boom":1})") == R"(4{"message":"internal error"})");
  REQUIRE(c.connect("/").rfind("0{", 0) == 0);
  c.send(R"(21["throw"])");
  c.send(R"(22["ok"])");
  CHECK(c.next_text() == "32[1]");  // no ack for the handler that threw, the next one works
  c.send("1");                        // the disconnect handler throws too
  client d(srv.port());
  REQUIRE(d.wait_open());
  CHECK(d.connect("/").rfind("0{", 0) == 0);
}

TEST_CASE("broadcasts from a foreign thread interleave safely with client traffic", "[socketio][server]") {
  auto o = test_options();
  sio::server io(o);
  std::atomic<int> handled{0};
  io.on("hit", [&](sio::socket& s, const sio::args& a) {
    ++handled;
    s.broadcast().emit("peer", a[0]);
  });
  running srv(io);
  constexpr int kClients = 3, kBroadcasts = 100, kHits = 50;
  std::vector<std::unique_ptr<client>> cs;
  for (int i = 0; i < kClients; ++i) {
    cs.push_back(std::make_unique<client>(srv.port()));
    REQUIRE(cs.back()->wait_open());
    REQUIRE(cs.back()->connect().rfind("0{", 0) == 0);
  }
  std::thread t([&] {
    for (int i = 0; i < kBroadcasts; ++i) io.emit("tick", i);
  });
  for (int i = 0; i < kHits; ++i) cs[0]->send(R"(2["hit",)" + std::to_string(i) + "]");
  t.join();
  REQUIRE(eventually([&] { return handled == kHits; }, 5000ms));
  // every client sees all ticks in order; the others also see every peer message in order
  for (int k = 0; k < kClients; ++k) {
    int ticks = 0, peers = 0;
    bool in_order = true;
    int want_tick = 0, want_peer = 0;
    while (ticks < kBroadcasts || (k != 0 && peers < kHits)) {
      std::string m = cs[k]->next_text(3000ms);
      if (m.empty()) break;
      if (m.rfind(R"(2["tick",)", 0) == 0) {
        in_order = in_order && m == R"(2["tick",)" + std::to_string(want_tick++) + "]";
        ++ticks;
      } else if (m.rfind(R"(2["peer",)", 0) == 0) {
        in_order = in_order && m == R"(2["peer",)" + std::to_string(want_peer++) + "]";
        ++peers;
      }
    }
    CHECK(ticks == kBroadcasts);
    CHECK(peers == (k == 0 ? 0 : kHits));
    CHECK(in_order);
  }
  CHECK(cs[0]->quiet_for(100ms));
}

TEST_CASE("disconnecting from inside handlers runs the disconnect procedure once", "[socketio][server]") {
  sio::server io(test_options());
  std::atomic<int> disconnecting{0}, disconnected{0}, acks_failed{0};
  io.on_connect([&](sio::socket& s, sio::connect_request& r) {
    if (!r.auth().IsObject()) return;
    if (r.auth().HasMember("leave")) {
      s.emit_with_ack("q", [&](sio::ack_status st, const sio::args&) {
        if (st == sio::ack_status::disconnected) ++acks_failed;
      }, 60s);
      s.disconnect();
    }
    if (r.auth().HasMember("drop")) s.close_connection();
  });
  io.on_disconnecting([&](sio::socket& s, std::string_view) {
    ++disconnecting;
    s.disconnect();  // re-entrant: ignored
  });
  io.on_disconnect([&](sio::socket&, std::string_view) { ++disconnected; });
  io.on("bye", [](sio::socket& s, const sio::args&) { s.disconnect(); });
  running srv(io);

  client a(srv.port());
  REQUIRE(a.wait_open());
  a.send(R"(0{"leave":1})");
  CHECK(a.quiet_for(200ms));  // never accepted: no CONNECT answer, no emits
  CHECK(acks_failed == 1);
  CHECK(io.of("/").size() == 0);

  client b(srv.port());
  REQUIRE(b.wait_open());
  b.send(R"(0{"drop":1})");
  CHECK(b.wait_closed());
  CHECK(io.of("/").size() == 0);

  REQUIRE(a.connect().rfind("0{", 0) == 0);
  a.send(R"(2["bye"])");
  CHECK(a.next_text() == "1");
  REQUIRE(eventually([&] { return disconnected == 1; }));
  std::this_thread::sleep_for(50ms);
  CHECK(disconnecting == 1);
  CHECK(disconnected == 1);
  CHECK(io.of("/").size() == 0);
}

TEST_CASE("a client that does not read is disconnected with 'transport error'; volatile emits skip it",
          "[socketio][server]") {
  sio::server_options o = test_options();
  o.engine.max_buffered_bytes = 64 * 1024;
  sio::server io(o);
  std::mutex mu;
  std::map<std::string, std::string> reasons;  // sid -> disconnect reason
  std::vector<std::string> lines;
  io.on("join", [](sio::socket& s, const sio::args&) {
    s.join("room");
    return true;
  });
  io.on_disconnect([&](sio::socket& s, std::string_view reason) {
    std::lock_guard<std::mutex> g(mu);
    reasons[s.sid()] = std::string(reason);
  });
  running srv(io);
  io.engine().log().set_level(portico::log_level::info);
  io.engine().log().set_sink([&](portico::log_level, std::string_view m) {
    std::lock_guard<std::mutex> g(mu);
    lines.emplace_back(m);
  });

  client good(srv.port());
  REQUIRE(good.wait_open());
  REQUIRE(good.connect().rfind("0{", 0) == 0);
  good.send(R"(21["join"])");
  REQUIRE(good.next_text() == "31[true]");

  // The attacker: a raw websocket with a tiny receive window that reads its way into the room,
  // then reads nothing more, only writing a pong now and then.
  test_client::ws_client bad;
  REQUIRE(bad.connect(srv.port(), "/socket.io/?EIO=4&transport=websocket", {}, 5000, 4096) == 101);
  REQUIRE(bad.recv_text().rfind("0{", 0) == 0);
  REQUIRE(bad.send_text("40"));
  auto answer = bad.recv_text();
  REQUIRE(answer.rfind("40{", 0) == 0);
  auto bad_sid = sid_of(answer.substr(1));
  REQUIRE(bad.send_text(R"(421["join"])"));
  REQUIRE(bad.recv_text() == "431[true]");

  const std::string big(16000, 'x');
  const std::string expected = R"(2["big",")" + big + R"("])";
  std::size_t wmem = 4 * 1024 * 1024;
  {
    std::ifstream f("/proc/sys/net/ipv4/tcp_wmem");
    std::size_t low = 0, def = 0, max = 0;
    if (f >> low >> def >> max && max > 0) wmem = max;
  }
  const std::size_t flood = (wmem + 2 * 1024 * 1024) / big.size();
  for (std::size_t i = 0; i < flood; ++i) {
    io.of("/").volatile_().to("room").emit("big", big);
    REQUIRE(good.next_text() == expected);
    if (i % 64 == 0) bad.send_text("3");
  }
  {
    std::lock_guard<std::mutex> g(mu);
    CHECK(reasons.count(bad_sid) == 0);  // volatile emits over its limit were dropped
  }
  auto gone = [&] {
    std::lock_guard<std::mutex> g(mu);
    return reasons.count(bad_sid) == 1;
  };
  std::size_t n = 0;
  for (; n < flood && !gone(); ++n) {
    io.to("room").emit("big", big);
    REQUIRE(good.next_text() == expected);  // the client that reads gets every emit
  }
  CHECK(n < flood);
  REQUIRE(eventually([&] { return gone(); }));
  std::lock_guard<std::mutex> g(mu);
  CHECK(reasons[bad_sid] == "transport error");
  CHECK(std::any_of(lines.begin(), lines.end(),
                    [](const std::string& l) { return l.find("transport error: send buffer full") != l.npos; }));
  CHECK(reasons.size() == 1);  // the good client is still connected
}

namespace {
/// What a broadcast-with-ack callback saw: its status and each response as JSON text.
struct ack_record {
  std::mutex mu;
  std::vector<std::string> statuses;
  std::vector<std::string> responses;  // of the first call
  std::vector<std::string> blobs;      // binary parts of the first call's responses
  sio::ack_callback callback() {
    return [this](sio::ack_status st, const sio::args& r) {
      std::lock_guard<std::mutex> g(mu);
      if (statuses.empty()) {
        for (std::size_t i = 0; i < r.size(); ++i) {
          responses.push_back(str(r[i]));
          if (auto* b = r.at(i).binary()) blobs.push_back(b->bytes);
        }
        std::sort(responses.begin(), responses.end());  // arrival order varies across connections
      }
      statuses.push_back(sio::to_string(st));
    };
  }
  std::size_t calls() {
    std::lock_guard<std::mutex> g(mu);
    return statuses.size();
  }
};

/// The ack id of an EVENT text `2<id>[...]` (main namespace, no attachments).
std::string ack_id_of(const std::string& event) { return event.substr(1, event.find('[') - 1); }
}  // namespace

TEST_CASE("broadcast with ack: one callback with every client's first ack argument", "[socketio][server][broadcast-ack]") {
  sio::server io(test_options());
  io.on("join", [](sio::socket& s, const sio::args& a) { s.join(std::string(a.at(0).str())); return true; });
  running srv(io);
  client a(srv.port()), b(srv.port()), c(srv.port()), d(srv.port());
  for (auto* x : {&a, &b, &c, &d}) REQUIRE(x->wait_open());
  for (auto* x : {&a, &b, &c, &d}) REQUIRE(x->connect().rfind("0{", 0) == 0);
  for (auto* x : {&a, &b, &c}) {
    x->send(R"(21["join","r"])");
    REQUIRE(x->next_text() == "31[true]");
  }

  ack_record rec;
  io.to("r").emit_with_ack("q", rec.callback(), 10s, "hi", 2);
  std::string qa = a.next_text(), qb = b.next_text(), qc = c.next_text();
  REQUIRE(qa.rfind("2", 0) == 0);
  CHECK(qa.substr(qa.find('[')) == R"(["q","hi",2])");
  CHECK(qb == qa);  // one frame for every recipient: the ack id is the same
  CHECK(qc == qa);
  CHECK(d.quiet_for(100ms));  // not in the room
  std::string id = ack_id_of(qa);
  a.send("3" + id + R"(["A"])");
  b.send("3" + id + R"(["B",{"more":1}])");  // several ack arguments: the first one counts
  CHECK(rec.calls() == 0);                   // c has not answered yet
  CHECK(a.quiet_for(100ms));
  c.send("3" + id + "[]");  // no argument: null
  REQUIRE(eventually([&] { return rec.calls() == 1; }));
  c.send("3" + id + R"(["again"])");  // late duplicates are ignored
  c.send(R"(22["join","x"])");         // handled after the duplicate (same connection, in order)
  CHECK(c.next_text() == "32[true]");
  std::lock_guard<std::mutex> g(rec.mu);
  CHECK(rec.statuses == std::vector<std::string>{"ok"});
  CHECK(rec.responses == (std::vector<std::string>{"\"A\"", "\"B\"", "null"}));
}

TEST_CASE("broadcast with ack: timeout reports the answers that came; empty room at once", "[socketio][server][broadcast-ack]") {
  sio::server io(test_options());
  io.on("join", [](sio::socket& s, const sio::args& a) { s.join(std::string(a.at(0).str())); return true; });
  running srv(io);
  client a(srv.port()), b(srv.port()), c(srv.port());
  for (auto* x : {&a, &b, &c}) REQUIRE(x->wait_open());
  for (auto* x : {&a, &b, &c}) REQUIRE(x->connect().rfind("0{", 0) == 0);
  for (auto* x : {&a, &b, &c}) {
    x->send(R"(21["join","r"])");
    REQUIRE(x->next_text() == "31[true]");
  }

  SECTION("one client never answers") {
    ack_record rec;
    io.to("r").emit_with_ack("q", rec.callback(), 2000ms);
    std::string q = a.next_text();
    REQUIRE(b.next_text() == q);
    REQUIRE(c.next_text() == q);
    a.send("3" + ack_id_of(q) + "[1]");
    b.send("3" + ack_id_of(q) + "[2]");
    for (auto* x : {&a, &b}) {  // their answers are in once these round trips are done
      x->send(R"(22["join","x"])");
      REQUIRE(x->next_text() == "32[true]");
    }
    REQUIRE(eventually([&] { return rec.calls() == 1; }, 10s));
    c.send("3" + ack_id_of(q) + "[3]");  // too late
    CHECK(c.quiet_for(100ms));
    std::lock_guard<std::mutex> g(rec.mu);
    CHECK(rec.statuses == std::vector<std::string>{"timeout"});
    CHECK(rec.responses == (std::vector<std::string>{"1", "2"}));
  }
  SECTION("nobody in the room: the callback runs before emit_with_ack returns") {
    ack_record rec;
    io.to("empty").emit_with_ack("q", rec.callback(), 60s);
    CHECK(rec.calls() == 1);
    std::lock_guard<std::mutex> g(rec.mu);
    CHECK(rec.statuses == std::vector<std::string>{"ok"});
    CHECK(rec.responses.empty());
    CHECK(a.quiet_for(50ms));
  }
  SECTION("a recipient that disconnects ends its wait") {
    ack_record rec;
    io.to("r").emit_with_ack("q", rec.callback(), 60s);
    std::string q = a.next_text();
    REQUIRE(b.next_text() == q);
    REQUIRE(c.next_text() == q);
    a.send("3" + ack_id_of(q) + R"(["a"])");
    b.send("3" + ack_id_of(q) + R"(["b"])");
    c.close();
    REQUIRE(eventually([&] { return rec.calls() == 1; }, 10s));  // long before the 60 s deadline
    std::lock_guard<std::mutex> g(rec.mu);
    CHECK(rec.statuses == std::vector<std::string>{"disconnected"});
    CHECK(rec.responses == (std::vector<std::string>{"\"a\"", "\"b\""}));
  }
}

TEST_CASE("broadcast with ack: except, from a socket, namespaces, binary both ways", "[socketio][server][broadcast-ack]") {
  sio::server io(test_options());
  ack_record from_socket;
  io.on("join", [](sio::socket& s, const sio::args& a) { s.join(std::string(a.at(0).str())); return true; });
  io.on("ask-room", [&](sio::socket& s, const sio::args&) { s.to("r").emit_with_ack("poll", from_socket.callback(), 10s); });
  io.of("/admin").on_connect([](sio::socket& s) { s.join("r"); });
  running srv(io);
  client a(srv.port()), b(srv.port()), c(srv.port());
  for (auto* x : {&a, &b, &c}) REQUIRE(x->wait_open());
  REQUIRE(a.connect().rfind("0{", 0) == 0);
  std::string sb = sid_of(b.connect());
  REQUIRE(c.connect().rfind("0{", 0) == 0);
  for (auto* x : {&a, &b, &c}) {
    x->send(R"(21["join","r"])");
    REQUIRE(x->next_text() == "31[true]");
  }

  // except: b is left out and not waited for
  ack_record rec;
  io.to("r").except(sb).emit_with_ack("q", rec.callback(), 10s);
  std::string q = a.next_text();
  REQUIRE(c.next_text() == q);
  CHECK(b.quiet_for(100ms));
  a.send("3" + ack_id_of(q) + R"(["a"])");
  c.send("3" + ack_id_of(q) + R"(["c"])");
  REQUIRE(eventually([&] { return rec.calls() == 1; }));
  {
    std::lock_guard<std::mutex> g(rec.mu);
    CHECK(rec.statuses == std::vector<std::string>{"ok"});
    CHECK(rec.responses == (std::vector<std::string>{"\"a\"", "\"c\""}));
  }

  // socket.to(room): the sender is not asked
  a.send(R"(2["ask-room"])");
  std::string poll = b.next_text();
  REQUIRE(c.next_text() == poll);
  CHECK(poll.substr(poll.find('[')) == R"(["poll"])");
  CHECK(a.quiet_for(100ms));
  b.send("3" + ack_id_of(poll) + "[true]");
  c.send("3" + ack_id_of(poll) + "[false]");
  REQUIRE(eventually([&] { return from_socket.calls() == 1; }));
  {
    std::lock_guard<std::mutex> g(from_socket.mu);
    CHECK(from_socket.responses == (std::vector<std::string>{"false", "true"}));
  }

  // another namespace: its own rooms, its header
  REQUIRE(a.connect("/admin").rfind("0/admin,", 0) == 0);
  ack_record admin;
  io.of("/admin").to("r").emit_with_ack("q", admin.callback(), 10s);
  std::string qa = a.next_text();
  REQUIRE(qa.rfind("2/admin,", 0) == 0);
  CHECK(b.quiet_for(50ms));
  std::string aid = qa.substr(8, qa.find('[') - 8);
  a.send("3/admin," + aid + "[7]");
  REQUIRE(eventually([&] { return admin.calls() == 1; }));
  {
    std::lock_guard<std::mutex> g(admin.mu);
    CHECK(admin.responses == std::vector<std::string>{"7"});
  }

  // binary: the event carries a blob; answers carry blobs, renumbered in the responses
  ack_record bin;
  io.to("r").emit_with_ack("bin", bin.callback(), 10s, portico::json::binary(std::string("\x01\x02", 2)));
  for (auto* x : {&a, &b, &c}) {
    std::string t = x->next_text();
    REQUIRE(t.rfind("51-", 0) == 0);
    CHECK(t.substr(t.find('[')) == R"(["bin",{"_placeholder":true,"num":0}])");
    auto blob = x->next();
    REQUIRE(blob);
    CHECK(blob->data == std::string("\x01\x02", 2));
    std::string id = t.substr(3, t.find('[') - 3);
    x->send("61-" + id + R"([{"_placeholder":true,"num":0}])");
    x->send_binary(x == &a ? "A" : x == &b ? "B" : "C");
  }
  REQUIRE(eventually([&] { return bin.calls() == 1; }));
  std::lock_guard<std::mutex> g(bin.mu);
  CHECK(bin.statuses == std::vector<std::string>{"ok"});
  REQUIRE(bin.responses.size() == 3);
  CHECK(bin.responses[0] == R"({"_placeholder":true,"num":0})");
  CHECK(bin.responses[2] == R"({"_placeholder":true,"num":2})");
  std::sort(bin.blobs.begin(), bin.blobs.end());
  CHECK(bin.blobs == (std::vector<std::string>{"A", "B", "C"}));
}

namespace {
/// Stands in for a cluster adapter: one other server, which reached one client that answers
/// "remote" (or nobody answers when `remote_answers` is false).
struct two_server_adapter : sio::memory_adapter {
  using memory_adapter::memory_adapter;
  bool remote_answers = true;
  sio::broadcast_options seen;
  void server_count(std::function<void(std::size_t)> done) override { done(2); }
  void broadcast_with_ack(const sio::outgoing_packet& p, const sio::broadcast_options& opts,
                          const std::shared_ptr<sio::ack_collector>& acks) override {
    seen = opts;
    memory_adapter::broadcast_with_ack(p, opts, acks);
    acks->client_count(1);
    if (!remote_answers) return;
    sio::packet remote;
    REQUIRE(sio::decode(R"(30["remote"])", remote) == sio::errc::ok);
    acks->response(sio::args(remote));
  }
};
}  // namespace

TEST_CASE("broadcast with ack: an adapter adds other servers' counts and answers", "[socketio][server][broadcast-ack]") {
  two_server_adapter* cluster = nullptr;
  auto o = test_options();
  o.adapter_factory = [&](const std::string&, sio::adapter::deliver_fn deliver) {
    auto a = std::make_unique<two_server_adapter>(std::move(deliver));
    cluster = a.get();
    return a;
  };
  sio::server io(o);
  io.on("sync", [](sio::socket&, const sio::args&) { return true; });
  running srv(io);
  client a(srv.port());
  REQUIRE(a.wait_open());
  REQUIRE(a.connect().rfind("0{", 0) == 0);
  REQUIRE(cluster);

  ack_record rec;
  io.emit_with_ack("q", rec.callback(), 10s);
  std::string q = a.next_text();
  CHECK(cluster->seen.timeout == 10s);  // forwarded for the other servers (socket.io's flags.timeout)
  CHECK(rec.calls() == 0);              // the local client has not answered yet
  a.send("3" + ack_id_of(q) + R"(["local"])");
  REQUIRE(eventually([&] { return rec.calls() == 1; }));
  {
    std::lock_guard<std::mutex> g(rec.mu);
    CHECK(rec.statuses == std::vector<std::string>{"ok"});
    CHECK(rec.responses == (std::vector<std::string>{"\"local\"", "\"remote\""}));
  }

  // The other server's client never answers: the local answer alone does not complete it.
  cluster->remote_answers = false;
  ack_record partial;
  io.emit_with_ack("q", partial.callback(), 1000ms);
  q = a.next_text();
  a.send("3" + ack_id_of(q) + R"(["local"])");
  a.send(R"(29["sync"])");  // the answer is in once this round trip is done
  REQUIRE(a.next_text() == "39[true]");
  REQUIRE(eventually([&] { return partial.calls() == 1; }, 10s));
  std::lock_guard<std::mutex> g(partial.mu);
  CHECK(partial.statuses == std::vector<std::string>{"timeout"});
  CHECK(partial.responses == std::vector<std::string>{"\"local\""});
}

TEST_CASE("broadcast with ack: shutdown ends a pending one with 'disconnected'", "[socketio][server][broadcast-ack]") {
  auto io = std::make_unique<sio::server>(test_options());
  io->on("sync", [](sio::socket&, const sio::args&) { return true; });
  auto srv = std::make_unique<running>(*io);
  client a(srv->port()), b(srv->port());
  for (auto* x : {&a, &b}) REQUIRE(x->wait_open());
  for (auto* x : {&a, &b}) REQUIRE(x->connect().rfind("0{", 0) == 0);
  ack_record rec;
  io->emit_with_ack("q", rec.callback(), 60s);
  std::string q = a.next_text();
  REQUIRE(b.next_text() == q);
  a.send("3" + ack_id_of(q) + "[1]");
  a.send(R"(29["sync"])");  // answered after the ack before it was handled (same connection, in order)
  REQUIRE(a.next_text() == "39[true]");
  CHECK(rec.calls() == 0);
  srv.reset();  // stop(): b never answered
  REQUIRE(rec.calls() == 1);
  std::lock_guard<std::mutex> g(rec.mu);
  CHECK(rec.statuses == std::vector<std::string>{"disconnected"});
  CHECK(rec.responses == std::vector<std::string>{"1"});
}

TEST_CASE("allow_eio3: Socket.IO protocol v4 on Engine.IO v3 sessions, v5 unchanged", "[socketio][server][eio3]") {
  auto o = test_options();
  o.allow_eio3 = true;
  sio::server io(o);
  CHECK(io.options().engine.allow_eio3);  // the Socket.IO option turns the Engine.IO one on
  auto guard = [](sio::socket&, sio::connect_request& r) {
    if (r.auth().IsObject() && r.auth().HasMember("token") && r.auth()["token"] == "bad")
      r.refuse("not authorized", std::map<std::string, int>{{"code", 42}});
  };
  auto welcome = [](sio::socket& s, sio::connect_request& r) {
    s.emit("welcome", s.sid(), s.engine()->sid(), str(r.auth()));
  };
  io.use(guard);
  io.on_connect(welcome);
  io.of("/admin").use(guard);
  io.of("/admin").on_connect(welcome);
  io.of("/admin").on("ack", [](sio::event& e) { e.ack(e.args()); });
  running srv(io);

  // "/" is joined at the handshake: `40`, no payload; the auth is the query without EIO/transport
  client c(srv.port(), "/socket.io/", "EIO=3&transport=websocket&user=ann&n=1&n=2");
  REQUIRE(c.wait_open());
  CHECK(c.next_text() == "0");
  std::string w = c.next_text();
  std::regex root_welcome(R"re(2\["welcome","([^"]+)","([^"]+)","\{\\"user\\":\\"ann\\",\\"n\\":\\"2\\"\}"\])re");
  std::smatch m;
  REQUIRE(std::regex_match(w, m, root_welcome));
  CHECK(m[1] == m[2]);  // a v2 client's socket id on "/" is its Engine.IO sid
  const std::string esid = m[2];
  CHECK(io.of("/").size() == 1);

  // a namespace CONNECT carries its query in the namespace field; the answer has no payload
  c.send("0/admin?x=1&y=a%20b,");
  CHECK(c.next_text() == "0/admin,");
  CHECK(c.next_text() == "2/admin,[\"welcome\",\"/admin#" + esid + "\",\"" + esid + R"(","{\"x\":\"1\",\"y\":\"a b\"}"])");
  c.send(R"(2/admin,4["ack","a",1])");
  CHECK(c.next_text() == R"(3/admin,4["a",1])");
  c.send("51-/admin,5[\"ack\",{\"_placeholder\":true,\"num\":0}]");
  c.send_binary(std::string("\x04\x01\x02", 3));  // v3 binary frame: type byte, then the bytes
  CHECK(c.next_text() == R"(61-/admin,5[{"_placeholder":true,"num":0}])");
  auto bin = c.next();
  REQUIRE(bin);
  CHECK(bin->binary);
  CHECK(bin->data == std::string("\x04\x01\x02", 3));

  // refusals carry the message only: `44"message"` on "/", `44/nsp,"message"` elsewhere
  client bad(srv.port(), "/socket.io/", "EIO=3&transport=websocket&token=bad");
  REQUIRE(bad.wait_open());
  CHECK(bad.next_text() == R"(4"not authorized")");
  bad.send("0/admin?token=bad,");
  CHECK(bad.next_text() == R"(4/admin,"not authorized")");
  bad.send("0/nope,");
  CHECK(bad.next_text() == R"(4/nope,"Invalid namespace")");
  bad.send("0/admin,");  // the connection stays usable
  CHECK(bad.next_text() == "0/admin,");
  CHECK(io.of("/").size() == 1);

  // a second CONNECT to "/" is the wrong state, as in Node: the connection closes
  c.send("0");
  CHECK(c.wait_closed());

  // protocol v5 clients on the same server are untouched
  client v5(srv.port());
  REQUIRE(v5.wait_open());
  CHECK(v5.quiet_for(200ms));  // nothing without a CONNECT
  std::string ans = v5.connect("/admin", R"({"token":"bad"})");
  CHECK(ans == R"(4/admin,{"message":"not authorized","data":{"code":42}})");
  ans = v5.connect("/");
  REQUIRE(ans.rfind("0{\"sid\":\"", 0) == 0);
  CHECK(sid_of(ans).size() == 20);
}

TEST_CASE("allow_eio3: a connect handler on \"/\" may close the connection during the handshake",
          "[socketio][server][eio3]") {
  auto o = test_options();
  o.allow_eio3 = true;
  sio::server io(o);
  std::atomic<int> disconnects{0};
  std::atomic<bool> left{false};
  io.on_connect([&](sio::socket& s, sio::connect_request& r) {
    if (r.handshake().query_param("close") == "1") s.close_connection();
    else if (r.handshake().query_param("leave") == "1" && !left.exchange(true)) s.disconnect();  // the first time
  });
  io.on_disconnect([&](sio::socket&, std::string_view) { ++disconnects; });
  running srv(io);
  client closing(srv.port(), "/socket.io/", "EIO=3&transport=websocket&close=1");
  CHECK(closing.wait_closed());
  client leaving(srv.port(), "/socket.io/", "EIO=3&transport=websocket&leave=1");
  REQUIRE(leaving.wait_open());
  CHECK(leaving.quiet_for(300ms));  // disconnected inside its connect handler: no CONNECT answer
  leaving.send("0/,");               // "/" again, now accepted
  CHECK(leaving.next_text() == "0");
  // polling: the handshake response still arrives, the session is gone
  auto r = test_client::http(srv.port(), "GET", "/socket.io/?EIO=3&transport=polling&close=1");
  CHECK(r.status == 200);
  CHECK(io.of("/").size() == 1);
  CHECK(disconnects == 0);
}

namespace {
/// Records every observer hook as one line.
struct recording_observer : sio::observer {
  std::mutex mu;
  std::vector<std::string> lines;
  void add(std::string l) {
    std::lock_guard<std::mutex> g(mu);
    lines.push_back(std::move(l));
  }
  bool has(const std::string& l) {
    std::lock_guard<std::mutex> g(mu);
    return std::find(lines.begin(), lines.end(), l) != lines.end();
  }
  void connected(sio::socket& s) override { add("connected " + s.namespace_name()); }
  void disconnecting(sio::socket& s, std::string_view reason) override {
    auto r = s.rooms();
    for (auto& x : r)
      if (x == s.sid()) x = "SELF";  // before sorting: a random sid may sort after "red"
    std::sort(r.begin(), r.end());
    std::string rooms;
    for (auto& x : r) rooms += x + ",";
    add("disconnecting " + std::string(reason) + " " + rooms);
  }
  void room_joined(sio::nsp& n, const std::string&, const std::string& room) override { add("joined " + n.namespace_name() + " " + room); }
  void room_left(sio::nsp& n, const std::string&, const std::string& room) override { add("left " + n.namespace_name() + " " + room); }
  void event_received(sio::socket&, const sio::packet& p) override { add("received " + str(p.data())); }
  void event_sent(sio::socket&, std::string_view text) override { add("sent " + std::string(text)); }
};
}  // namespace

TEST_CASE("an observer sees connections, rooms, events in and out, and disconnects with the rooms",
          "[socketio][server][observer]") {
  sio::server io(test_options());
  recording_observer obs;
  io.set_observer(&obs);
  io.on("join", [](sio::socket& s, const sio::args& a) {
    s.join(std::string(a.at(0).str()));
    s.emit("joined", a.at(0));
    return true;
  });
  io.on("leave", [](sio::socket& s, const sio::args& a) {
    s.get_namespace().leave_room(s.sid(), std::string(a.at(0).str()));
    return true;
  });
  running srv(io);

  client c(srv.port());
  REQUIRE(c.wait_open());
  REQUIRE(c.connect("/").rfind("0{", 0) == 0);
  CHECK(eventually([&] { return obs.has("connected /"); }));
  c.send(R"(21["join","red"])");
  CHECK(c.next_text() == R"(2["joined","red"])");
  CHECK(c.next_text() == "31[true]");
  CHECK(obs.has(R"(received ["join","red"])"));
  CHECK(obs.has("joined / red"));
  CHECK(obs.has(R"(sent 2["joined","red"])"));
  c.send(R"(22["join","blue"])");
  CHECK(c.next_text() == R"(2["joined","blue"])");
  CHECK(c.next_text() == "32[true]");
  c.send(R"(23["leave","blue"])");
  CHECK(c.next_text() == "33[true]");
  CHECK(obs.has("left / blue"));
  c.send("1");  // DISCONNECT from "/": the rooms are still visible to the hook
  CHECK(eventually([&] { return obs.has("disconnecting client namespace disconnect SELF,red,"); }));
}
