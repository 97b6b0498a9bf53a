// The host layer's echo (include/portico/net/): websocketpp's protocol on sockets portico owns,
// one I/O thread; compared with raw_echo (websocketpp's own Asio transport) in bench/run.
// Usage: host_echo [--port P]   (prints "PORT <n>" once listening)
#include <portico/net/host.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
struct echo final : portico::net::websocket_handler {
  void on_message(const portico::net::websocket& ws, std::string& payload, bool binary) override {
    ws.send(payload, binary);
  }
};
}  // namespace

int main(int argc, char** argv) {
  unsigned port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned>(std::atoi(argv[i + 1]));
  portico::net::host_options o;
  o.threads = 1;
  portico::net::host h(o);
  auto e = std::make_shared<echo>();
  h.mount("/", nullptr, [e](const portico::net::request&) { return portico::net::upgrade::to(e); });
  std::printf("PORT %u\n", static_cast<unsigned>(h.listen("127.0.0.1", static_cast<std::uint16_t>(port))));
  std::fflush(stdout);
  sigset_t s;  // blocked before the I/O thread starts, so only sigwait sees them
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  h.start();
  int sig = 0;
  sigwait(&s, &sig);
  h.stop();
}
