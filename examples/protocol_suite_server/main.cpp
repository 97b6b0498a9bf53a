// Conformance server for the official test suites (socketio/engine.io-protocol and
// socketio/socket.io-protocol, folder test-suite/).
//   protocol_suite_server [--port 3000] [--host 127.0.0.1] [--ping-interval 300] [--ping-timeout 200]
//                         [--connect-timeout 1000] [--engine-only]
#include "engine_only.hpp"
#include "socketio_mode.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  unsigned short port = 3000;
  long ping_interval = 300, ping_timeout = 200, connect_timeout = 1000;
  bool engine_only = false;
  std::string host = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") port = static_cast<unsigned short>(std::atoi(value()));
    else if (a == "--host") host = value();
    else if (a == "--ping-interval") ping_interval = std::atol(value());
    else if (a == "--ping-timeout") ping_timeout = std::atol(value());
    else if (a == "--connect-timeout") connect_timeout = std::atol(value());
    else if (a == "--engine-only") engine_only = true;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (engine_only) return run_engine_only(host, port, ping_interval, ping_timeout);
  return run_socketio(host, port, ping_interval, ping_timeout, connect_timeout);
}
