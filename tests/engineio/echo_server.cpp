// Engine.IO echo server for the interop scripts: prints "listening on HOST:PORT" and serves
// until SIGTERM. Usage: engineio_echo_server [port]  (0 = ephemeral)
#include "../../examples/protocol_suite_server/engine_only.hpp"

#include <cstdlib>

int main(int argc, char** argv) {
  unsigned short port = argc > 1 ? static_cast<unsigned short>(std::atoi(argv[1])) : 0;
  return run_engine_only("127.0.0.1", port, 25000, 20000);
}
