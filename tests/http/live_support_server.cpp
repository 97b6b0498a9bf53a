// Seed 001's car controller as a portico program: an HTML page, the live-support WebSocket
// route in plain mode and in event mode, next to Engine.IO on the same port.
// Usage: http_live_support_server <templates dir> [port]   (prints "listening on 127.0.0.1:PORT",
// serves until SIGTERM/SIGINT)
#include "portico/http/http.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <pthread.h>

namespace http = portico::http;

namespace {

std::string complaint_reply(const std::string& data) {
  return "We have received you complain:<br><br><strong>\"" + data + "\"</strong><br><br>We shall get back to you.";
}

std::string welcome(const std::string& name) {
  return "Welcome " + name + " to our live support room!\nHow can we help you?";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <templates dir> [port]\n", argv[0]);
    return 2;
  }
  // Workers inherit the blocked signals, so only sigwait() below sees SIGTERM.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  http::templates pages(argv[1]);
  std::mutex mu;
  int last_close = 0;  // the last close code seen by the event-mode route

  http::router router;
  auto car = router.group("/car");

  car.get("/ws-index", [&](std::string name) {
    return pages.page("ws-index.html", std::map<std::string, std::string>{{"title", "Live Support"}, {"name", name}});
  }, http::query<std::string>("name", "John"));

  // Plain mode: the handler accepts, greets and runs the conversation.
  car.ws("/live-support", [](const http::websocket_ptr& ws, std::string name) {
    ws->accept();
    ws->send_text(welcome(name));
    ws->on_text([](http::websocket& w, std::string&& data) { w.send_text(complaint_reply(data)); });
  }, http::query<std::string>("name", "John"))
      .check(http::guard([](const http::request& req) { return req.query_param("banned") == nullptr; }));

  // Event mode (Ellar's use_extra_handler=True, encoding='text').
  http::ws_events<std::string> events;
  events.encoding = http::ws_encoding::text;
  events.on_connect = [](http::websocket& ws) {
    ws.accept();
    ws.send_text(welcome("John"));
  };
  events.on_message = [](http::websocket& ws, std::string&& data) { ws.send_text(complaint_reply(data)); };
  events.on_disconnect = [&](http::websocket&, int code) {
    std::lock_guard<std::mutex> g(mu);
    last_close = code;
  };
  car.ws("/live-support-events", events);
  car.get("/last-close", [&] {
    std::lock_guard<std::mutex> g(mu);
    return std::map<std::string, int>{{"code", last_close}};
  });

  portico::engineio::server_options opts;
  opts.threads = 2;
  portico::engineio::server srv(opts);
  srv.on_message([](const portico::engineio::socket_ptr& s, portico::engineio::message&& m) {
    if (m.binary) s->send_binary(std::move(m.data));
    else s->send(std::move(m.data));
  });
  http::serve(srv, router);
  srv.listen("127.0.0.1", static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 0));
  srv.start();
  std::printf("listening on 127.0.0.1:%u\n", unsigned(srv.port()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  router.close_websockets();  // 1001 to plain WebSocket clients; stop() closes Engine.IO's
  srv.stop();
  return 0;
}
