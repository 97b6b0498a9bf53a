// A user's program against the *installed* portico: encodes a Socket.IO EVENT with an ack id on
// namespace /chat, frames it as an Engine.IO message, and prints it with the library version.
#include <portico/portico.hpp>

#include <cstdio>
#include <string>

int main() {
  portico::json::document args;
  if (!portico::json::parse(R"(["hello","world"])", args)) return 1;
  const std::string sio = portico::socketio::encode(portico::socketio::packet_type::event, "/chat", &args, 7);
  const std::string frame = portico::engineio::encode(portico::engineio::packet_type::message, sio);
  std::printf("portico %d.%d.%d\n%s\n", PORTICO_VERSION_MAJOR, PORTICO_VERSION_MINOR, PORTICO_VERSION_PATCH,
              frame.c_str());
  return 0;
}
