// Benchmark peer for the cross-process fan-out: bench/portico_server.cpp's "join" and "fanout"
// on a portico socketio::server that is a member of a classic Redis-adapter cluster.
//   join   -> joins room "bench", acks true
//   fanout -> emits its first argument to room "bench", cluster-wide
// Usage: portico_cluster_server --redis-port R [--port P] [--threads T]   (prints "PORT <n>")
#include <portico/redis/adapter.hpp>
#include <portico/socketio/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sio = portico::socketio;

int main(int argc, char** argv) {
  unsigned port = 0, threads = 1, redis_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--redis-port")) redis_port = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  if (!redis_port || redis_port > 65535) {
    std::fprintf(stderr, "usage: portico_cluster_server --redis-port R [--port P] [--threads T]\n");
    return 2;
  }
  portico::redis::cluster_options c;
  c.port = static_cast<std::uint16_t>(redis_port);
  sio::server_options o;
  o.engine.threads = threads;
  o.adapter_factory = portico::redis::classic_adapter_factory(c);
  sio::server io(o);
  io.on("join", [](sio::socket& s, const sio::args&) {
    s.join("bench");
    return true;
  });
  io.on("fanout", [&io](sio::socket&, const sio::args& a) { io.to("bench").emit("fanout", a.at(0)); });
  io.listen("127.0.0.1", static_cast<std::uint16_t>(port));
  std::printf("PORT %u\n", static_cast<unsigned>(io.port()));
  std::fflush(stdout);
  io.run();
}
