// Benchmark peer: a portico Socket.IO server with the events the load generator drives.
//   echo   -> acks its first argument
//   join   -> joins room "bench", acks true
//   fanout -> emits its first argument to room "bench"
// Usage: portico_server [--port P] [--threads T]   (prints "PORT <n>" once listening)
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
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  sio::server_options o;
  o.engine.threads = threads;
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
