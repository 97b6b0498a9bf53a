// A service with no socket in hand reaches the whole cluster (issue 13, item 5): `Newsroom`, a DI
// provider holding the gateway's `namespace_handle`, is injected into the gateway's constructor;
// two portico::app members on one private redis-server (classic, then sharded). What the
// Newsroom of app A does reaches the client connected to app B: emit, to(room), sockets_join,
// fetch_sockets, server_side_emit_with_ack, all_rooms, disconnect_sockets.
#include <catch2/catch.hpp>

#include <portico/client/simple_client.hpp>
#include <portico/portico.hpp>
#include <portico/redis/cluster.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"

namespace sio = portico::socketio;
using namespace std::chrono_literals;

// A named namespace, not an anonymous one: tests/redis/cluster_tests.cpp compiles this file in
// one TU with the other cluster tests.
namespace redis_provider_test {

struct NewsGateway;

/// The service: only the namespace handle, no socket.
struct Newsroom {
  explicit Newsroom(portico::namespace_handle<NewsGateway>& h) : ns(h) {}
  void flash(const std::string& text) { ns.emit("news", text); }
  portico::namespace_handle<NewsGateway>& ns;
};

struct NewsGateway : portico::gateway<NewsGateway> {
  /// The provider, injected into the gateway's constructor.
  explicit NewsGateway(Newsroom& n) : newsroom(n) {}
  /// Another member's server_side_emit("who").
  std::string who(const sio::args&) { return "member"; }
  static constexpr auto events = portico::events();
  static constexpr auto server_events = portico::events(portico::on_server_event("who", &NewsGateway::who));
  Newsroom& newsroom;
};

using NewsModule = portico::module<portico::providers<portico::namespace_handle<NewsGateway>, Newsroom>,
                                   portico::gateways<NewsGateway>>;

portico::app_options member_options(std::uint16_t redis_port, bool sharded) {
  portico::app_options o;
  o.io_threads = 1;
  o.worker_threads = 1;
  portico::redis::cluster_options c;
  c.port = redis_port;
  c.requests_timeout = 5s;
  c.connection.reconnect_max = 200ms;
  if (sharded) portico::redis::use_cluster(o, portico::redis::sharded_options{c, portico::redis::subscription_mode::dynamic});
  else portico::redis::use_cluster(o, c);
  return o;
}

/// Runs `start(done)` and waits (bounded) for `done` to be called; false on timeout.
template <class Result>
bool await(std::function<void(std::function<void(Result)>)> start, Result& out) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  start([&](Result r) {
    std::lock_guard<std::mutex> g(mu);
    out = std::move(r);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(mu);
  return cv.wait_for(l, 15s, [&] { return done; });
}

std::size_t cluster_sockets(Newsroom& n) {
  std::size_t count = 0;
  await<std::size_t>([&](std::function<void(std::size_t)> done) {
    n.ns.fetch_sockets([done](bool, std::vector<sio::socket_info> v) { done(v.size()); });
  }, count);
  return count;
}

std::string text_arg(const portico::client::message& m) {
  const auto& v = m.args()[0];
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
}

void run_cluster(bool sharded) {
  portico_test::redis_server redis;
  portico::app<NewsModule> a(member_options(redis.port(), sharded));
  portico::app<NewsModule> b(member_options(redis.port(), sharded));
  a.listen("127.0.0.1", 0);
  b.listen("127.0.0.1", 0);
  struct stop_both {
    portico::app<NewsModule>&a, &b;
    ~stop_both() { a.stop(); b.stop(); }
  } stopper{a, b};
  // The provider the gateway of A was built with (one singleton per app).
  Newsroom& newsroom = a.container().component<NewsGateway>().newsroom;
  REQUIRE(&newsroom == &a.container().get<Newsroom&>());

  portico::client::simple_client on_b;
  on_b.connect("http://127.0.0.1:" + std::to_string(b.port()));
  const std::string sid = on_b.sid();
  // fetch_sockets from the service: B's client, once both members' subscriptions are in place.
  std::size_t seen = 0;
  for (int i = 0; i < 200 && (seen = cluster_sockets(newsroom)) != 1; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(seen == 1);

  // emit from the service of A: the client on B receives it.
  newsroom.flash("from-a");
  auto m = on_b.receive(10s);
  CHECK(m.event == "news");
  CHECK(text_arg(m) == "from-a");

  // server_side_emit_with_ack from the service: B's gateway answers.
  std::vector<std::string> answers;
  REQUIRE(await<std::vector<std::string>>([&](std::function<void(std::vector<std::string>)> done) {
    newsroom.ns.server_side_emit_with_ack("who", [done](bool complete, const sio::args& r) {
      std::vector<std::string> v{complete ? "complete" : "partial"};
      for (std::size_t i = 0; i < r.size(); ++i) v.emplace_back(r.at(i).str());
      done(v);
    });
  }, answers));
  CHECK(answers == std::vector<std::string>{"complete", "member"});

  // sockets_join from the service moves B's client into "vip"; all_rooms sees it; to("vip") reaches it.
  newsroom.ns.in(sid).sockets_join({"vip"});
  std::vector<std::string> rooms;
  for (int i = 0; i < 100; ++i) {
    REQUIRE(await<std::vector<std::string>>([&](std::function<void(std::vector<std::string>)> done) {
      newsroom.ns.all_rooms([done](bool, std::vector<std::string> r) { done(std::move(r)); });
    }, rooms));
    if (std::find(rooms.begin(), rooms.end(), "vip") != rooms.end()) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK((rooms == std::vector<std::string>{sid, "vip"} || rooms == std::vector<std::string>{"vip", sid}));
  newsroom.ns.to("vip").emit("vip-news", "v1");
  m = on_b.receive(10s);
  CHECK(m.event == "vip-news");

  // disconnect_sockets(false) from the service: B's client leaves the namespace.
  newsroom.ns.in("vip").disconnect_sockets(false);
  for (int i = 0; i < 200 && on_b.connected(); ++i) std::this_thread::sleep_for(50ms);
  CHECK_FALSE(on_b.connected());
  CHECK(on_b.disconnect_reason() == "io server disconnect");
}


TEST_CASE("cluster provider: a service injected into a gateway reaches the other member (classic)", "[redis]") {
  run_cluster(false);
}

TEST_CASE("cluster provider: a service injected into a gateway reaches the other member (sharded)", "[redis]") {
  run_cluster(true);
}

TEST_CASE("cluster provider: without a cluster the same calls act on this server", "[redis]") {
  portico::app<NewsModule> solo;
  solo.listen("127.0.0.1", 0);
  struct stop_one {
    portico::app<NewsModule>& a;
    ~stop_one() { a.stop(); }
  } stopper{solo};
  Newsroom& newsroom = solo.container().get<Newsroom&>();
  portico::client::simple_client c;
  c.connect("http://127.0.0.1:" + std::to_string(solo.port()));
  const std::string sid = c.sid();
  newsroom.ns.in(sid).sockets_join({"here"});
  std::vector<std::string> rooms;
  bool complete = false;
  newsroom.ns.all_rooms([&](bool ok, std::vector<std::string> r) {  // no other server: at once
    complete = ok;
    rooms = std::move(r);
  });
  CHECK(complete);
  CHECK((rooms == std::vector<std::string>{sid, "here"} || rooms == std::vector<std::string>{"here", sid}));
  newsroom.ns.in("here").sockets_leave({"here"});
  newsroom.ns.all_rooms([&](bool, std::vector<std::string> r) { rooms = std::move(r); });
  CHECK(rooms == std::vector<std::string>{sid});
  newsroom.ns.disconnect_sockets(true);  // close: the connection goes
  for (int i = 0; i < 200 && c.connected(); ++i) std::this_thread::sleep_for(50ms);
  CHECK_FALSE(c.connected());
  CHECK(c.disconnect_reason() == "transport close");
}

}  // namespace redis_provider_test
