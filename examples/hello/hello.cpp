// The smallest portico app: one gateway, one event, answered with a greeting.
// Try it with any Socket.IO client, e.g. in node:
//   const s = require('socket.io-client').io('http://127.0.0.1:8000');
//   s.emitWithAck('hello', 'world').then(console.log);   // -> "hello, world"
#include <portico/gateways.hpp>  // the umbrella minus the HTTP layer: faster to compile

#include <cstdio>
#include <cstdlib>
#include <string>

struct HelloGateway : portico::gateway<HelloGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/"};
  std::string hello(const std::string& who) { return "hello, " + who; }   // the ack
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(HelloGateway, hello));
};

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8000);
  portico::app<portico::module<portico::gateways<HelloGateway>>> app;
  app.listen("127.0.0.1", port);
  std::printf("portico hello: Socket.IO on http://127.0.0.1:%u/socket.io/ (Ctrl-C stops it)\n",
              static_cast<unsigned>(app.port()));
  std::fflush(stdout);
  app.run();
}
