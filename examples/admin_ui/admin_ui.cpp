// A small rooms gateway watched by the official Socket.IO admin UI (@socket.io/admin-ui): the
// UI's files are served by the app itself on /admin/, and its admin namespace is enabled from
// app_options.
//
//   admin_ui [--port 8000] [--host 127.0.0.1] [--admin-ui DIR]
//            (--admin-user NAME --admin-password-hash BCRYPT | --no-auth)
//            [--read-only] [--production] [--max-seconds N]
//            [--session-ttl-ms N] [--max-sessions N]
//
// Open http://HOST:PORT/admin/, log in with the server URL http://HOST:PORT and the user's
// password. DIR is the npm package's ui/dist (scripts/setup installs it under
// tests/interop/node_modules/@socket.io/admin-ui/ui/dist).
//
// Events on "/": join({room}) and leave({room}) answer the socket's rooms; echo(x) answers x;
// greet(name) emits `greeting` "hello, NAME" back.
#include <portico/admin/admin_ui.hpp>
#include <portico/portico.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct RoomBody {
  std::string room;
};
PORTICO_FIELDS(RoomBody, room)

struct RoomsGateway : portico::gateway<RoomsGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/"};

  std::vector<std::string> join(const RoomBody& b, portico::gateway_context& ctx) {
    ctx.join(b.room);
    return ctx.socket().rooms();
  }
  std::vector<std::string> leave(const RoomBody& b, portico::gateway_context& ctx) {
    ctx.leave(b.room);
    return ctx.socket().rooms();
  }
  std::string echo(const std::string& x) { return x; }
  void greet(const std::string& who, portico::gateway_context& ctx) { ctx.emit("greeting", "hello, " + who); }

  static constexpr auto events = portico::events(
      PORTICO_SUBSCRIBE(RoomsGateway, join), PORTICO_SUBSCRIBE(RoomsGateway, leave),
      PORTICO_SUBSCRIBE(RoomsGateway, echo), PORTICO_SUBSCRIBE(RoomsGateway, greet));
};

[[noreturn]] static void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: admin_ui [--port N] [--host ADDR] [--admin-ui DIR] (--admin-user NAME "
               "--admin-password-hash BCRYPT | --no-auth) [--read-only] [--production] [--max-seconds N] "
               "[--session-ttl-ms N] [--max-sessions N]\n");
  std::exit(code);
}

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned long port = 8000;
  long max_seconds = 0;
  portico::admin_ui_options admin;  // namespace "/admin", development mode, read-write
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--port") port = std::strtoul(value().c_str(), nullptr, 10);
    else if (a == "--host") host = value();
    else if (a == "--admin-ui") admin.ui_dir = value();
    else if (a == "--admin-user") admin.username = value();
    else if (a == "--admin-password-hash") admin.password_hash = value();
    else if (a == "--no-auth") admin.no_auth = true;
    else if (a == "--read-only") admin.read_only = true;
    else if (a == "--production") admin.mode = portico::admin_ui_options::run_mode::production;
    else if (a == "--max-seconds") max_seconds = std::strtol(value().c_str(), nullptr, 10);
    else if (a == "--session-ttl-ms") admin.session_ttl = std::chrono::milliseconds(std::strtol(value().c_str(), nullptr, 10));
    else if (a == "--max-sessions") admin.max_sessions = std::strtoul(value().c_str(), nullptr, 10);
    else if (a == "--help" || a == "-h") usage(0);
    else usage(2);
  }
  if (port > 65535) usage(2);

  portico::stop_signals signals;  // before any server thread: they all inherit the blocked mask
  // [doc:admin-ui-app]
  portico::app_options opts;
  opts.io_threads = 1;
  // `admin` is a portico::admin_ui_options: user name, bcrypt hash, ui_dir (served on /admin)
  opts.admin_ui = portico::admin_ui::install(admin);
  // [/doc]
  std::unique_ptr<portico::gateway_app<RoomsGateway>> app_ptr;
  try {
    app_ptr = std::make_unique<portico::gateway_app<RoomsGateway>>(opts);  // checks the hash
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "admin_ui: %s\n", e.what());
    return 2;
  }
  auto& app = *app_ptr;
  app.listen(host, static_cast<std::uint16_t>(port));
  std::printf("admin_ui: open http://%s:%u/admin/ (server URL http://%s:%u)\nLISTENING %u\n", host.c_str(),
              static_cast<unsigned>(app.port()), host.c_str(), static_cast<unsigned>(app.port()),
              static_cast<unsigned>(app.port()));
  std::fflush(stdout);
  signals.wait(std::chrono::seconds(max_seconds));  // SIGINT/SIGTERM, or --max-seconds
  app.stop();
  return 0;
}
