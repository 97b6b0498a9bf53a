// Connection state recovery end to end, in one process: a server that numbers its news, and a
// C++ client that loses its connection, misses some news, and gets them back on reconnection
// with the same socket id. Exits 0 when every number arrived once, in order.
//
//   recovery            (listens on an ephemeral loopback port, runs a few seconds)
//
// With socket.io-client in a browser or node, the same server works unchanged: the client keeps
// the `pid` and the last offset and sends them back by itself (docs/socketio.md).
#include <portico/portico.hpp>
#include <portico/client/client.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sio = portico::socketio;
namespace pc = portico::client;
using namespace std::chrono_literals;

int main() {
  sio::server_options so;
  so.engine.threads = 1;
  so.connection_state_recovery.enabled = true;  // pid, offsets, sessions kept 2 minutes
  sio::server io(so);
  io.on_connect([](sio::socket& s) {
    std::printf("server: %s %s\n", s.sid().c_str(), s.recovered() ? "recovered" : "new");
    if (!s.recovered()) s.join("news");  // a recovered socket is back in its rooms
  });
  io.on("drop_me", [](sio::socket& s, const sio::args&) { s.close_connection(); });
  io.listen("127.0.0.1", 0);
  io.start();

  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> got;
  int connects = 0;
  pc::options co;
  co.reconnection = false;  // reconnect by hand below, after the news went out
  pc::client c(co);
  pc::socket& s = c.socket();
  s.on("news", [&](pc::event& e) {  // args: the number, then the offset (a string)
    std::lock_guard<std::mutex> l(mu);
    got.push_back(e.args()[0].GetInt());
    cv.notify_all();
  });
  s.on_connect([&] {
    std::lock_guard<std::mutex> l(mu);
    ++connects;
    cv.notify_all();
  });
  auto wait = [&](auto pred) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, 5s, pred);
  };
  c.connect("http://127.0.0.1:" + std::to_string(io.port()));
  if (!wait([&] { return connects == 1; })) return 1;
  const std::string sid = s.sid();

  io.to("news").emit("news", 1);
  if (!wait([&] { return got.size() == 1; })) return 1;
  s.emit("drop_me");  // the server closes the connection: a lost transport, not a disconnect
  for (int i = 0; i < 250 && s.connected(); ++i) std::this_thread::sleep_for(20ms);
  for (int i = 0; i < 250 && io.of("/").size() != 0; ++i) std::this_thread::sleep_for(20ms);  // the server noticed
  for (int n = 2; n <= 4; ++n) io.to("news").emit("news", n);  // missed by the client
  s.connect();
  if (!wait([&] { return connects == 2 && got.size() == 4; })) return 1;
  io.to("news").emit("news", 5);
  if (!wait([&] { return got.size() == 5; })) return 1;

  bool ok = s.recovered() && s.sid() == sid && got == std::vector<int>{1, 2, 3, 4, 5};
  std::printf("client: recovered=%d same sid=%d news:", s.recovered(), s.sid() == sid);
  for (int n : got) std::printf(" %d", n);
  std::printf("\n");
  c.disconnect();
  io.stop();
  return ok ? 0 : 1;
}
