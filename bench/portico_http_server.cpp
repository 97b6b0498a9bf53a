// Benchmark peer: portico's HTTP router with one GET route returning a short JSON body (the
// typed value is encoded by the router, as a controller's would be), served on the Engine.IO
// server's endpoint like every portico HTTP route today. Compare bench/node_http_server.js.
//   GET /hello -> 200 {"message":"hello","n":<requests so far>}
// Usage: portico_http_server [--port P]   (prints "PORT <n>" once listening)
#include <portico/http/http.hpp>
#include <portico/json/fields.hpp>

#include <atomic>
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
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned>(std::atoi(argv[i + 1]));
  std::atomic<long> served{0};
  portico::http::router r;  // outlives the server: its worker calls into it until exit
  r.get("/hello", [&served] { return hello_reply{"hello", ++served}; });
  portico::engineio::server_options o;
  o.threads = 1;
  portico::engineio::server s(o);
  portico::http::serve(s, r);
  s.listen("127.0.0.1", static_cast<std::uint16_t>(port));
  std::printf("PORT %u\n", static_cast<unsigned>(s.port()));
  std::fflush(stdout);
  s.run();
}
