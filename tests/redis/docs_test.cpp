// The code shown in docs/scaling.md about the Redis layer: each `// [doc:NAME]` region is a
// snippet of the page, verbatim (scripts/doc_snippets checks it), compiled and run here (the
// docs' own generated unit does not link hiredis). Two app members on a private redis-server
// (classic, then sharded) and the external emitter reaching their clients.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <portico/client/simple_client.hpp>
#include <portico/portico.hpp>
#include <portico/redis/cluster.hpp>
#include <portico/redis/emitter.hpp>
#include <portico/redis/sharded_adapter.hpp>

#include "redis_server.hpp"

// Named: tests/redis/cluster_tests.cpp compiles this file in one TU with the other cluster tests.
namespace redis_docs_test {

// [doc:cluster-gateway]
struct RoomGateway : portico::gateway<RoomGateway> {
  explicit RoomGateway(portico::namespace_handle<RoomGateway>& self) : self(self) {}

  bool join(const std::string& room, portico::gateway_context& ctx) {
    ctx.join(room);
    return true;
  }
  /// Every member of the room, on every server of the cluster.
  void say(const std::string& room, const std::string& text, portico::gateway_context& ctx) {
    ctx.get_namespace().to(room).emit("said", text);
  }
  /// The sockets of the namespace on every server (REMOTE_FETCH to the others).
  void online(portico::ack_handle reply) {
    self.fetch_sockets([reply](bool complete, std::vector<portico::socketio::socket_info> all) mutable {
      reply(all.size(), complete);
    });
  }
  /// The other servers' answers to server_side_emit_with_ack("whoami").
  void servers(portico::ack_handle reply) {
    self.server_side_emit_with_ack("whoami", [reply](bool, const portico::socketio::args& answers) mutable {
      reply(answers.size());
    });
  }
  /// Another server's server_side_emit("whoami"): the returned value is the answer.
  std::string whoami(const portico::socketio::args&) { return "portico"; }

  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(join), PORTICO_SUBSCRIBE(say),
                                                 PORTICO_SUBSCRIBE(online), PORTICO_SUBSCRIBE(servers));
  static constexpr auto server_events = portico::events(portico::on_server_event("whoami", &RoomGateway::whoami));

  portico::namespace_handle<RoomGateway>& self;
};

using RoomModule = portico::module<portico::providers<portico::namespace_handle<RoomGateway>>,
                                   portico::gateways<RoomGateway>>;
// [/doc]

// [doc:use-cluster]
portico::app_options member_options(const std::string& redis_host, std::uint16_t redis_port) {
  portico::app_options o;
  portico::redis::cluster_options c;  // classic mode: Node's createAdapter
  c.host = redis_host;
  c.port = redis_port;
  c.requests_timeout = std::chrono::seconds(2);  // fetch_sockets, server_side_emit_with_ack
  portico::redis::use_cluster(o, c);
  return o;
}
// [/doc]

// [doc:sharded]
portico::app_options sharded_member_options(const std::string& redis_host, std::uint16_t redis_port) {
  portico::app_options o;
  portico::redis::sharded_options c;  // cluster_options + mode: Node's createShardedAdapter
  c.host = redis_host;
  c.port = redis_port;
  c.mode = portico::redis::subscription_mode::dynamic;  // Node's subscriptionMode (the default)
  o.server.adapter_factory = portico::redis::sharded_adapter_factory(c);
  return o;
}
// [/doc]

// [doc:emitter]
/// A process that runs no Socket.IO server (a worker, a cron job).
bool publish_news(std::uint16_t redis_port, const std::string& text) {
  portico::redis::emitter_options eo;
  eo.port = redis_port;                    // host 127.0.0.1, key "socket.io"
  portico::redis::emitter em(eo);          // one connection, on a thread of its own
  if (!em.wait_connected(std::chrono::seconds(5))) return false;
  em.to("lobby").emit("news", text);                      // namespace "/", room "lobby"
  em.of("/").except("muted").volatile_().emit("tick", 42);
  em.of("/").in("lobby").sockets_join({"newsletter"});    // REMOTE_JOIN on every server
  em.server_side_emit("reload", "config.json");           // every server's on_server_event
  return em.flush(std::chrono::seconds(5)) && em.lost_publishes() == 0;
}
// [/doc]

namespace {

using namespace std::chrono_literals;

std::string text_of(const portico::client::message& m) {
  return m.args().size() && m.args()[0].IsString() ? m.args()[0].GetString() : "";
}

/// The next `event` a client receives, skipping others (bounded).
portico::client::message next(portico::client::simple_client& c, const std::string& event) {
  for (int i = 0; i < 10; ++i) {
    portico::client::message m = c.receive(5s);
    if (m.event == event) return m;
  }
  FAIL("no " << event);
  return {};
}

template <class Options>
void two_members(Options options, bool emitter_too) {
  portico_test::redis_server redis;
  portico::app<RoomModule> a(options("127.0.0.1", redis.port())), b(options("127.0.0.1", redis.port()));
  a.listen("127.0.0.1", 0);
  b.listen("127.0.0.1", 0);
  portico::client::simple_client ca, cb;
  ca.connect("http://127.0.0.1:" + std::to_string(a.port()));
  cb.connect("http://127.0.0.1:" + std::to_string(b.port()));
  REQUIRE(ca.call("join", 5s, "lobby").args()[0].GetBool());
  REQUIRE(cb.call("join", 5s, "lobby").args()[0].GetBool());

  // Both members subscribed: each counts both sockets, and hears the other server.
  std::uint64_t online = 0;
  for (int i = 0; i < 100 && online != 2; ++i) {
    auto r = ca.call("online", 5s);
    online = r.args()[0].GetUint64();
    if (online != 2) std::this_thread::sleep_for(100ms);
  }
  REQUIRE(online == 2);
  CHECK(ca.call("servers", 5s).args()[0].GetUint64() == 1);

  cb.emit("say", "lobby", "from b");
  CHECK(text_of(next(ca, "said")) == "from b");
  CHECK(text_of(next(cb, "said")) == "from b");

  if (emitter_too) {
    REQUIRE(publish_news(redis.port(), "extra"));
    CHECK(text_of(next(ca, "news")) == "extra");
    CHECK(text_of(next(cb, "news")) == "extra");
  }
  ca.disconnect();
  cb.disconnect();
  a.stop();
  b.stop();
}

}  // namespace

TEST_CASE("docs/scaling.md: two classic members and the emitter on one Redis", "[redis][docs]") {
  two_members(&member_options, true);
}

TEST_CASE("docs/scaling.md: two sharded members on one Redis", "[redis][docs]") {
  two_members(&sharded_member_options, false);
}

}  // namespace redis_docs_test
