// The python-socketio tutorial on portico's Socket.IO server: connect/disconnect
// handlers that read the handshake ("environ"), handlers named after their event, a catch-all,
// rooms, emits to one sid, sessions, and static files served on the same port.
//
//   rooms_sessions [--port 8000] [--host 127.0.0.1] [--static DIR] [--max-seconds N]
//
// Events on "/" (every one answers the client's ack when it asks for one):
//   message(text)            -> emits `message` "echo: <text>" back (python: @sio.on("message"))
//   get_users()              -> ack: the `username` query parameter of every connected client
//   enter_room({room})       -> ack: rooms(sid) afterwards        (sio.enter_room)
//   leave_room({room})       -> ack: rooms(sid) afterwards        (sio.leave_room)
//   close_room({room})       -> ack: true                         (sio.close_room)
//   rooms()                  -> ack: rooms(sid)                   (sio.rooms)
//   room_message({room,text})-> `room_message` to the whole room  (sio.emit(..., room=room))
//   whisper({to,text})       -> `whisper` to the sid `to` only    (sio.emit(..., to=sid))
//   set_name(name) / get_name() -> session save / get             (sio.save_session / get_session)
//   visit()                  -> ack: a per-session counter, via the scoped accessor (sio.session)
//   anything else            -> the catch-all: ack {"event": name}, and `caught` to the sender
// A client connecting with `?banned=1` is refused (the connect handler returning False).
#include <portico/portico.hpp>  // the umbrella: the examples also build against the single header

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#ifndef PORTICO_ROOMS_STATIC
#define PORTICO_ROOMS_STATIC "static"
#endif
#ifndef PORTICO_ROOMS_ASSETS
#define PORTICO_ROOMS_ASSETS "tests/interop/node_modules/socket.io-client/dist"
#endif

namespace sio = portico::socketio;
namespace json = portico::json;
using fields = std::map<std::string, std::string>;

namespace {

sio::server* g_io = nullptr;  ///< the handlers below are free functions, like the tutorial's

void log_line(const std::string& text) {
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

/// A string member of an object argument, or the argument itself when it is a string.
std::string text_of(const json::value& v, const char* key) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

/// Room names are user input: short, no control characters.
bool valid_room(const std::string& room) {
  if (room.empty() || room.size() > 64) return false;
  for (unsigned char c : room)
    if (c < 0x20) return false;
  return true;
}

/// {"key": "text"} as a session document.
json::document string_object(const char* key, const std::string& text) {
  json::document d;
  d.SetObject();
  d.AddMember(json::value(key, d.GetAllocator()),
              json::value(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), d.GetAllocator()),
              d.GetAllocator());
  return d;
}

// --- `def connect(sid, environ)` / `def disconnect(sid)` --------------------------------------

void connect(sio::socket& s, sio::connect_request& r) {
  const auto& environ = r.handshake();
  if (environ.query_param("banned") == "1") return r.refuse("banned", fields{{"reason", "banned=1 in the query"}});
  std::string username(environ.query_param("username"));
  if (username.size() > 32) username.resize(32);
  if (!username.empty()) s.save_session(string_object("username", username));
  log_line("connect " + s.sid() + " from " + environ.remote_address + " username=" + username +
           " user-agent=" + std::string(environ.header("user-agent")));
  // What the server saw, so the client can check it.
  s.emit("welcome", fields{{"sid", s.sid()},
                           {"remote_address", environ.remote_address},
                           {"username", username},
                           {"x-demo", std::string(environ.header("X-Demo"))},
                           {"transport", environ.transport}});
}

void disconnect(sio::socket& s, std::string_view reason) {
  log_line("disconnect " + s.sid() + " (" + std::string(reason) + ")");
}

// --- handlers named after their event (`@sio.event`) -----------------------------------------

/// `@sio.event` for C++: the event name is the function's name.
#define PORTICO_EVENT(ns, fn) (ns).on(#fn, fn)

/// `@sio.on("message")`: the event name is given, the function is named freely.
std::string incoming_message(sio::socket& s, const sio::args& a) {
  std::string text = text_of(a[0], "text");
  log_line("message from " + s.sid() + ": " + text);
  s.emit("message", "echo: " + text);
  return "received";
}

std::vector<std::string> get_users(sio::socket&, const sio::args&) {
  std::vector<std::string> names;
  for (auto& sid : sio::emitter(g_io->of("/")).sids()) {
    auto session = g_io->get_session(sid);
    std::string name = text_of(session, "username");
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

std::vector<std::string> enter_room(sio::socket& s, const sio::args& a) {
  std::string room = text_of(a[0], "room");
  if (valid_room(room)) g_io->of("/").enter_room(s.sid(), room);
  return g_io->of("/").rooms(s.sid());
}

std::vector<std::string> leave_room(sio::socket& s, const sio::args& a) {
  std::string room = text_of(a[0], "room");
  if (valid_room(room)) g_io->of("/").leave_room(s.sid(), room);
  return g_io->of("/").rooms(s.sid());
}

bool close_room(sio::socket&, const sio::args& a) {
  std::string room = text_of(a[0], "room");
  if (!valid_room(room)) return false;
  g_io->of("/").close_room(room);
  return true;
}

std::vector<std::string> rooms(sio::socket& s, const sio::args&) { return g_io->of("/").rooms(s.sid()); }

bool room_message(sio::socket& s, const sio::args& a) {
  std::string room = text_of(a[0], "room"), text = text_of(a[0], "text");
  if (!valid_room(room)) return false;
  // like sio.emit(..., room=room): the sender hears it too when it is in the room
  g_io->of("/").to(room).emit("room_message", fields{{"room", room}, {"from", s.sid()}, {"text", text}});
  return true;
}

bool whisper(sio::socket& s, const sio::args& a) {
  std::string to = text_of(a[0], "to");
  if (!g_io->of("/").get_socket(to)) return false;
  g_io->to(to).emit("whisper", fields{{"from", s.sid()}, {"text", text_of(a[0], "text")}});
  return true;
}

bool set_name(sio::socket& s, const sio::args& a) {
  std::string name = text_of(a[0], "name");
  if (name.empty() || name.size() > 32) return false;
  // save_session replaces the whole session; keep the username from the handshake
  auto session = s.get_session();
  if (!session.IsObject()) session.SetObject();
  json::value v(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), session.GetAllocator());
  // HasMember/operator[]: comparing RapidJSON's mutable member iterators warns under C++20
  if (session.HasMember("name")) session["name"] = v;
  else session.AddMember("name", v, session.GetAllocator());
  s.save_session(session);
  return true;
}

std::string get_name(sio::socket& s, const sio::args&) { return text_of(s.get_session(), "name"); }

int visit(sio::socket& s, const sio::args&) {
  return s.with_session([](json::document& d) {
    if (!d.IsObject()) d.SetObject();
    if (!d.HasMember("visits") || !d["visits"].IsInt()) {
      d.RemoveMember("visits");
      d.AddMember("visits", 1, d.GetAllocator());
      return 1;
    }
    auto& visits = d["visits"];
    visits.SetInt(visits.GetInt() + 1);
    return visits.GetInt();
  });
}

/// `@sio.on("*")`: every event without its own handler.
void catch_all(sio::event& e) {
  std::string name(e.name());
  log_line("catch_all " + name + " from " + e.socket().sid() + ": " + json::stringify(e.args()[0]));
  e.socket().emit("caught", name, e.args().at(0));
  e.ack(fields{{"event", name}});
}

void register_handlers(sio::server& io) {
  io.on_connect(connect);
  io.on_disconnect(disconnect);
  io.on("message", incoming_message);
  PORTICO_EVENT(io, get_users);
  PORTICO_EVENT(io, enter_room);
  PORTICO_EVENT(io, leave_room);
  PORTICO_EVENT(io, close_room);
  PORTICO_EVENT(io, rooms);
  PORTICO_EVENT(io, room_message);
  PORTICO_EVENT(io, whisper);
  PORTICO_EVENT(io, set_name);
  PORTICO_EVENT(io, get_name);
  PORTICO_EVENT(io, visit);
  io.on_any(catch_all);
}

struct options {
  std::string host = "127.0.0.1";
  unsigned port = 8000;
  std::filesystem::path static_dir = PORTICO_ROOMS_STATIC;
  std::filesystem::path client_js = std::filesystem::path(PORTICO_ROOMS_ASSETS) / "socket.io.min.js";
  long max_seconds = 0;  ///< 0: until SIGINT/SIGTERM
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: rooms_sessions [--port N] [--host ADDR] [--static DIR] [--max-seconds N]\n");
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
    else if (a == "--static") o.static_dir = value();
    else if (a == "--max-seconds") o.max_seconds = std::strtol(value().c_str(), nullptr, 10);
    else if (a == "--help" || a == "-h") usage(0);
    else usage(2);
  }
  if (o.port > 65535) usage(2);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);
  if (!std::filesystem::is_regular_file(opt.static_dir / "index.html")) {
    std::fprintf(stderr, "rooms_sessions: missing %s\n", (opt.static_dir / "index.html").c_str());
    return 1;
  }

  portico::stop_signals signals;  // before any server thread: they all inherit the blocked mask

  // static_files = {"/": "static/index.html"}; the router outlives the server.
  portico::http::router pages;
  pages.static_files("/", opt.static_dir);
  // The page's client bundle, when scripts/setup installed it (the Socket.IO part works without).
  if (std::filesystem::is_regular_file(opt.client_js))
    pages.static_files("/socket.io.min.js", opt.client_js, "text/javascript; charset=utf-8");

  sio::server_options so;
  so.engine.threads = 1;
  sio::server io(so);
  g_io = &io;
  register_handlers(io);
  portico::http::serve(io.engine(), pages);

  io.listen(opt.host, static_cast<std::uint16_t>(opt.port));
  unsigned port = io.engine().port();
  io.start();
  std::printf("rooms_sessions: open http://%s:%u/ (Ctrl-C stops it)\nLISTENING %u\n", opt.host.c_str(), port, port);
  std::fflush(stdout);

  signals.wait(std::chrono::seconds(opt.max_seconds));  // SIGINT/SIGTERM, or --max-seconds
  log_line("rooms_sessions: stopping");
  io.stop();
  g_io = nullptr;
  return 0;
}
