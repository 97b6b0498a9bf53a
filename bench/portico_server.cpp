// Benchmark peer: a portico Socket.IO server with the events the load generator drives.
//   echo   -> acks its first argument
//   join   -> joins room "bench", acks true
//   fanout -> emits its first argument to room "bench"
// Usage: portico_server [--port P] [--threads T] [--hosted]   (prints "PORT <n>" once listening)
//   --hosted  served by a net::host (server_options::engine.use_host: sockets portico owns, HTTP/1.1
//             keep-alive for long-polling), as portico::app serves gateways, instead of
//             websocketpp's own endpoint.
// PORTICO_BENCH_METRICS=1 in the environment turns the per-worker counters on (docs/metrics.md),
// so bench/callgrind-echo and bench/callgrind-fanout can measure their cost.
#include <portico/socketio/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sio = portico::socketio;

int main(int argc, char** argv) {
  unsigned port = 0, threads = 1;
  bool hosted = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--port") && i + 1 < argc) port = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--hosted")) hosted = true;
  }
  sio::server_options o;
  o.engine.threads = threads;
  o.engine.use_host = hosted;
  const char* m = std::getenv("PORTICO_BENCH_METRICS");
  o.engine.metrics = m && *m && *m != '0';
  sio::server io(o);
  io.on("echo", [](sio::event& e) { e.ack(e.args().at(0)); });
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
