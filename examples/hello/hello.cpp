// The smallest portico server: one Socket.IO event that answers with a greeting.
// Try it with any Socket.IO client, e.g. in node:
//   const s = require('socket.io-client').io('http://127.0.0.1:8000');
//   s.emitWithAck('hello', 'world').then(console.log);   // -> "hello, world"
#include <portico/portico.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const std::uint16_t port = argc > 1 ? static_cast<std::uint16_t>(std::atoi(argv[1])) : 8000;
  portico::socketio::server io;
  io.on("hello", [](portico::socketio::socket&, const portico::socketio::args& a) {
    const auto& who = a[0];
    return std::string("hello, ") + (who.IsString() ? who.GetString() : "stranger");
  });
  io.listen("127.0.0.1", port);
  std::printf("portico hello: Socket.IO server on http://127.0.0.1:%u/socket.io/ (Ctrl-C stops it)\n",
              static_cast<unsigned>(io.port()));
  std::fflush(stdout);
  io.run();
}
