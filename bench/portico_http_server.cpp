// Benchmark peer: portico's HTTP router with one GET route returning a short JSON body (the
// typed value is encoded by the router, as a controller's would be), served on the Engine.IO
// server's endpoint like every portico HTTP route today. Compare bench/node_http_server.js.
//   GET /hello -> 200 {"message":"hello","n":<requests so far>}
// Usage: portico_http_server [--port P] [--hosted]   (prints "PORT <n>" once listening)
//   --hosted  the router mounted on a net::host (one I/O thread, HTTP/1.1 keep-alive), as
//             portico::app serves controllers, instead of websocketpp's endpoint (a connection
//             per request).
#include <portico/http/http.hpp>
#include <portico/net/host.hpp>
#include <portico/json/fields.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

struct hello_reply {
  std::string message;
  long n = 0;
};
PORTICO_FIELDS(hello_reply, message, n)

int main(int argc, char** argv) {
  unsigned port = 0;
  bool hosted = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--port") && i + 1 < argc) port = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--hosted")) hosted = true;
  }
  std::atomic<long> served{0};
  portico::http::router r;  // outlives the server: its worker calls into it until exit
  r.get("/hello", [&served] { return hello_reply{"hello", ++served}; });
  if (hosted) {
    sigset_t sigs;  // blocked before the I/O thread starts, so only sigwait sees them
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    portico::net::host_options ho;
    ho.threads = 1;
    portico::net::host h(ho);
    h.mount("/", portico::http::router::handler(r));
    std::printf("PORT %u\n", static_cast<unsigned>(h.listen("127.0.0.1", static_cast<std::uint16_t>(port))));
    std::fflush(stdout);
    h.start();
    int sig = 0;
    sigwait(&sigs, &sig);
    h.stop();
    return 0;
  }
  portico::engineio::server_options o;
  o.threads = 1;
  portico::engineio::server s(o);
  portico::http::serve(s, r);
  s.listen("127.0.0.1", static_cast<std::uint16_t>(port));
  std::printf("PORT %u\n", static_cast<unsigned>(s.port()));
  std::fflush(stdout);
  s.run();
}
