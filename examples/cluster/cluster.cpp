// examples/cluster: one member of a Socket.IO cluster on Redis (@socket.io/redis-adapter's classic
// protocol, or with --sharded its sharded one: Redis 7, every member sharded too). Start two or
// more on one Redis; clients on any member see the whole cluster.
// Usage: cluster --port P --redis HOST:PORT [--sharded]   (prints "LISTENING <port>" when ready)
// Written with the framework: a gateway (portico::app), redis::use_cluster, a server event
// declared on the gateway, namespace_handle's fetch_sockets, server_side_emit_with_ack and
// in(room).disconnect_sockets.
// Namespace "/", events (see README.md for the contract):
//   join(room) -> ack true              say(room, msg) -> "said"(msg) to the room, cluster-wide
//   say_all(msg) -> "said"(msg) to all  count() -> ack: sockets in the whole cluster
//   ping_servers() -> ack: sorted answers of the other servers to server_side_emit("hello")
//   ask_all(room) -> ack: sorted answers to "question" broadcast with ack to the room (2 s)
//   kick_room(room) -> ack true; the room's connections are closed on every server
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <portico/portico.hpp>
#include <portico/redis/cluster.hpp>

namespace sio = portico::socketio;

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

/// The string answers, sorted (so that the order servers or clients answer in does not show).
std::vector<std::string> sorted_strings(const sio::args& a) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a.size(); ++i) out.emplace_back(a.at(i).str());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

struct ClusterGateway : portico::gateway<ClusterGateway> {
  /// The gateway's own namespace, for the cluster-wide requests (no socket needed).
  explicit ClusterGateway(portico::namespace_handle<ClusterGateway>& self) : self(self) {}

  bool join(const std::string& room, portico::gateway_context& ctx) {
    ctx.join(room);
    return true;
  }
  void say(const sio::args& a, portico::gateway_context& ctx) {
    ctx.get_namespace().to(std::string(a.at(0).str())).emit("said", a.at(1));
  }
  void say_all(const sio::args& a) { self.emit("said", a.at(0)); }
  void count(portico::ack_handle reply) {
    self.fetch_sockets([reply](bool, std::vector<sio::socket_info> v) mutable { reply(v.size()); });
  }
  void ping_servers(portico::ack_handle reply) {
    self.server_side_emit_with_ack(
        "hello", [reply](bool, const sio::args& answers) mutable { reply(sorted_strings(answers)); });
  }
  void ask_all(const std::string& room, portico::ack_handle reply) {
    self.to(room).emit_with_ack(
        "question", [reply](sio::ack_status, const sio::args& answers) mutable { reply(sorted_strings(answers)); },
        std::chrono::seconds(2));
  }
  bool kick_room(const std::string& room) {
    self.in(room).disconnect_sockets(true);  // true: close the connections, on every member
    return true;
  }
  /// Another member's server_side_emit("hello", ...): every portico member answers "portico".
  std::string hello(const sio::args&) { return "portico"; }

  static constexpr auto events = portico::events(
      PORTICO_SUBSCRIBE(join), PORTICO_SUBSCRIBE(say), PORTICO_SUBSCRIBE(say_all), PORTICO_SUBSCRIBE(count),
      PORTICO_SUBSCRIBE(ping_servers), PORTICO_SUBSCRIBE(ask_all), PORTICO_SUBSCRIBE(kick_room));
  static constexpr auto server_events = portico::events(portico::on_server_event("hello", &ClusterGateway::hello));

  portico::namespace_handle<ClusterGateway>& self;
};

using ClusterModule = portico::module<portico::providers<portico::namespace_handle<ClusterGateway>>,
                                      portico::gateways<ClusterGateway>>;

int main(int argc, char** argv) {
  unsigned port = 0;
  std::string redis_host = "127.0.0.1";
  unsigned redis_port = 0;
  bool sharded = false;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--sharded") {
      sharded = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "missing value for " << f << "\n";
      return 2;
    }
    std::string v = argv[++i];
    if (f == "--port") {
      port = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
    } else if (f == "--redis") {
      auto colon = v.rfind(':');
      if (colon != std::string::npos) {
        redis_host = v.substr(0, colon);
        v = v.substr(colon + 1);
      }
      redis_port = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
    } else {
      std::cerr << "unknown flag " << f << "\n";
      return 2;
    }
  }
  if (!redis_port || redis_port > 65535 || port > 65535) {
    std::cerr << "usage: cluster --port P --redis HOST:PORT [--sharded]\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  portico::app_options o;
  portico::redis::cluster_options c;
  c.host = redis_host;
  c.port = static_cast<std::uint16_t>(redis_port);
  if (sharded)  // Node's default subscription mode: one channel per room with local members
    portico::redis::use_cluster(o, portico::redis::sharded_options{c, portico::redis::subscription_mode::dynamic});
  else
    portico::redis::use_cluster(o, c);
  portico::app<ClusterModule> app(o);
  try {
    app.listen("127.0.0.1", static_cast<std::uint16_t>(port));
  } catch (const std::exception& e) {
    std::cerr << "cannot listen: " << e.what() << "\n";
    return 1;
  }
  std::printf("LISTENING %u\n", static_cast<unsigned>(app.port()));
  std::fflush(stdout);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  app.stop();
  return 0;
}
