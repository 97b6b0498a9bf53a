// A user's program against the installed Redis layer (pkg-config portico-redis / CMake
// portico::redis): formats a binary-safe command with hiredis and builds both connection roles.
#include <portico/redis/connection.hpp>
#include <portico/redis/subscriber.hpp>

#include <cstdio>
#include <string>
#include <string_view>

int main() {
  asio::io_context io;
  portico::redis::connection pub(io, {});
  portico::redis::subscriber sub(io, {});
  sub.subscribe("socket.io#/#");
  std::string out;
  std::string_view args[] = {"PUBLISH", "ch", std::string_view("a\0b", 3)};
  portico::redis::detail::append_command(out, args, 3);
  std::printf("redis %s %zu bytes, %s\n", portico::redis::to_string(pub.current()), out.size(),
              out.compare(out.size() - 5, 5, std::string("a\0b\r\n", 5)) == 0 ? "binary-safe" : "broken");
  return 0;
}
