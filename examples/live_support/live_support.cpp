// Ellar's live-support car controller on portico: a controller constructed by
// the DI container (it injects the page templates), a guard as a policy type, hosted by
// portico::app: an HTML page plus the live-support WebSocket route in plain mode and in event
// mode, all on one port.
//
//   live_support [--port 8000] [--host 127.0.0.1] [--templates DIR] [--max-seconds N]
//
// Routes:  GET /car/ws-index?name=Ann          the page (opens /car/live-support?name=Ann)
//          WS  /car/live-support?name=Ann      plain mode; "bye" ends with 1000
//          WS  /car/live-support-events?name=  event mode (text only: bytes are closed with 1003)
//          GET /car/last-close                 {"code": N}, the last close code event mode saw
//          any route with ?banned=1            403 (the NotBanned guard; before the 101 for ws)
// Prints "LISTENING <port>"; SIGINT/SIGTERM close WebSocket clients with 1001 and exit 0.
#include <portico/portico.hpp>  // the umbrella: the examples also build against the single header

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#ifndef PORTICO_LIVE_SUPPORT_TEMPLATES
#define PORTICO_LIVE_SUPPORT_TEMPLATES "templates"
#endif

namespace http = portico::http;

namespace {

std::string complaint_reply(const std::string& data) {
  return "We have received you complain:<br><br><strong>\"" + data + "\"</strong><br><br>We shall get back to you.";
}

std::string welcome(const std::string& name) {
  return "Welcome " + name + " to our live support room!\nHow can we help you?";
}

/// Where the templates are (a `portico::value` provider: the command line fills it).
struct Settings {
  std::string templates = PORTICO_LIVE_SUPPORT_TEMPLATES;
};

/// The page templates, loaded once (Ellar's template engine provider).
struct Pages {
  explicit Pages(const Settings& s) : templates(s.templates) {}
  http::templates templates;
};

/// A request flagged as banned is refused (403), a WebSocket before its 101.
struct NotBanned {
  bool can_activate(portico::http_context& ctx) { return ctx.request().query_param("banned") == nullptr; }
};

struct CarController : portico::controller<CarController> {
  static constexpr auto options = portico::controller_options{"/car"};
  using guards = portico::guards<NotBanned>;

  explicit CarController(Pages& p) : pages(p) {}

  http::response index(std::string name) {  // Ellar's @get('/ws-index') + @render
    return pages.templates.page("ws-index.html",
                                std::map<std::string, std::string>{{"title", "Live Support"}, {"name", name}});
  }

  /// Plain mode: the handler accepts, greets and runs the conversation itself.
  void live_support(const http::websocket_ptr& ws, std::string name) {
    ws->accept();
    ws->send_text(welcome(name));
    ws->on_text([name](http::websocket& w, std::string&& data) {
      if (data == "bye") w.close(http::close_code::normal, "Goodbye " + name);
      else w.send_text(complaint_reply(data));
    });
  }

  std::map<std::string, int> last_close() {
    std::lock_guard<std::mutex> g(mu);
    return {{"code", last_close_code}};
  }

  template <class Routes>
  void routes(Routes& r) {
    r.get("/ws-index", &CarController::index, http::query<std::string>("name", "John"));
    r.ws("/live-support", &CarController::live_support, http::query<std::string>("name", "John"));

    // Event mode (Ellar's use_extra_handler=True, encoding='text'): bytes are refused with 1003.
    // The handshake's `name` is declared as for the plain route; on_connect receives it.
    http::ws_events<std::string, std::string> events;
    events.encoding = http::ws_encoding::text;
    events.on_connect = [](http::websocket& ws, std::string name) {
      ws.accept();
      ws.send_text(welcome(name));
    };
    events.on_message = [](http::websocket& ws, std::string&& data) { ws.send_text(complaint_reply(data)); };
    events.on_disconnect = [this](http::websocket&, int code) {
      std::lock_guard<std::mutex> g(mu);
      last_close_code = code;
    };
    r.ws("/live-support-events", events, http::query<std::string>("name", "John"));
    r.get("/last-close", &CarController::last_close);
  }

  Pages& pages;
  std::mutex mu;
  int last_close_code = 0;
};

using CarModule = portico::module<portico::providers<portico::value<Settings>, Pages>,
                                  portico::controllers<CarController>>;

struct options {
  std::string host = "127.0.0.1";
  unsigned port = 8000;
  std::string templates = PORTICO_LIVE_SUPPORT_TEMPLATES;
  long max_seconds = 0;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: live_support [--port N] [--host ADDR] [--templates DIR] [--max-seconds N]\n");
  std::exit(code);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--port") o.port = static_cast<unsigned>(std::strtoul(value().c_str(), nullptr, 10));
    else if (a == "--host") o.host = value();
    else if (a == "--templates") o.templates = value();
    else if (a == "--max-seconds") o.max_seconds = std::strtol(value().c_str(), nullptr, 10);
    else if (a == "--help" || a == "-h") usage(0);
    else usage(2);
  }
  if (o.port > 65535) usage(2);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);

  portico::stop_signals signals;  // before any server thread: they all inherit the blocked mask

  portico::app_options ao;
  ao.io_threads = 1;
  ao.worker_threads = 1;
  portico::app<CarModule> app(ao, Settings{opt.templates});  // builds the controller and its routes
  app.listen(opt.host, static_cast<std::uint16_t>(opt.port));
  const unsigned port = app.port();
  std::printf("live_support: open http://%s:%u/car/ws-index?name=Ellar (Ctrl-C stops it)\nLISTENING %u\n",
              opt.host.c_str(), port, port);
  std::fflush(stdout);

  signals.wait(std::chrono::seconds(opt.max_seconds));  // SIGINT/SIGTERM, or --max-seconds
  app.stop();  // ws route clients get 1001 (going away)
  return 0;
}
