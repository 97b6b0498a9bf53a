// The Flask-SocketIO chat tutorial on portico's Socket.IO server: the page and the official
// socket.io-client bundle are served by the server itself (same port, no CDN).
//
//   chat [--port 8000] [--host 127.0.0.1] [--cors ORIGIN]... [--static DIR] [--client-js FILE]
//        [--max-seconds N] [--allow-eio3] [--metrics] [--tls-cert FILE --tls-key FILE]
//
// --tls-cert / --tls-key (PEM: the certificate then its intermediates / its private key) serve the
// page, the bundle and Socket.IO over https:// and wss:// on --port instead of plain HTTP (built
// with OpenSSL: meson's portico_tls_dep). Plain or TLS, connections are kept alive (HTTP/1.1).
// --metrics counts per I/O worker and serves GET /metrics in the Prometheus text format
// (docs/metrics.md): connections by transport, sockets and rooms per namespace, packets, bytes...
// --allow-eio3 also serves socket.io-client 2.x apps (Engine.IO v3, Socket.IO protocol v4) next to
// the page's 4.x bundle, in the same rooms.
//
// Namespaces: "/" (the tutorial's first steps: unnamed `message`, `user-connected`, and its rooms:
// `join-room`/`leave-room` -> `new-user` to the room; `echo` acks its argument), "/user" (`my response` on connect,
// `user-connected` answered with `new-user` + an ack callback) and "/chat" (the tutorial's simple
// chat app: `message` -> `new-message` to everyone; and the page's rooms: `join`, `leave`, `text`
// -> `chat` to the room, `whoami`, connect/disconnect announcements).
#include <portico/portico.hpp>  // the umbrella: the examples also build against the single header
#if PORTICO_CHAT_TLS
#include <portico/net/tls.hpp>  // https/wss: the one header that needs OpenSSL
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <exception>
#include <system_error>
#include <vector>

#ifndef PORTICO_CHAT_STATIC
#define PORTICO_CHAT_STATIC "static"
#endif
#ifndef PORTICO_CHAT_ASSETS
#define PORTICO_CHAT_ASSETS "tests/interop/node_modules/socket.io-client/dist"
#endif

namespace sio = portico::socketio;
using fields = std::map<std::string, std::string>;

namespace {

/// A string member of a JSON object argument ("" when absent or not a string): the page sends
/// small objects such as {"room": "lobby", "name": "ann"}.
std::string field(const portico::json::value& v, const char* key) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

/// What `join` keeps per client and namespace: the typed session.
struct chat_session {
  std::string name;
};
PORTICO_FIELDS(chat_session, name)

/// The display name saved by `join` (the sid until the user picked one).
std::string name_of(sio::socket& s) {
  std::string n = s.session<chat_session>().name;
  return n.empty() ? s.sid() : n;
}

/// Room names are user input: keep them short and free of control characters.
bool valid_room(const std::string& room) {
  if (room.empty() || room.size() > 64) return false;
  for (unsigned char c : room)
    if (c < 0x20) return false;
  return true;
}

/// Cuts `s` to at most `n` characters, never inside one: half a character is invalid UTF-8
/// (the server would send it as U+FFFD) and not what the user typed.
void truncate_chars(std::string& s, std::size_t n) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && chars++ == n) {  // a character starts here
      s.resize(i);
      return;
    }
}

void log_line(const std::string& text) {
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

/// The tutorial's server code, one namespace at a time.
void register_handlers(sio::server& io) {
  // "/": the first steps of the tutorial — unnamed `message` (socket.send) and a custom event.
  io.on_connect([](sio::socket& s) { log_line("connect / " + s.sid()); });
  io.on("message", [](sio::socket& s, const sio::args& a) {
    log_line("message from " + s.sid() + ": " + portico::json::stringify(a[0]));
    s.send(a.at(0));  // echoes through the unnamed event, like flask_socketio.send
  });
  // `echo`: the ack carries the argument back (a quick check for any client, 2.x included).
  io.on("echo", [](sio::socket&, const sio::args& a) { return a.at(0); });
  io.on("user-connected", [](sio::socket& s, const sio::args& a) {
    log_line("user-connected on / from " + s.sid() + ": " + portico::json::stringify(a[0]));
  });
  // The tutorial's rooms, named as its client emits them: `join-room` {id, roomName, username}
  // tells the room, the newcomer included, in `new-user` {message}; `leave-room` {username, room}
  // tells the ones who stay (the tutorial reads `room` there, `roomName` is taken as well).
  auto& root = io.of("/");
  io.on("join-room", [&root](sio::socket& s, const sio::args& a) {
    std::string room = field(a[0], "roomName"), name = field(a[0], "username");
    if (!valid_room(room)) return log_line("join-room from " + s.sid() + ": invalid room");
    truncate_chars(name, 32);
    s.join(room);
    root.to(room).emit("new-user", fields{{"message", name + " Joined the room."}});
  });
  io.on("leave-room", [&root](sio::socket& s, const sio::args& a) {
    std::string room = field(a[0], "room"), name = field(a[0], "username");
    if (room.empty()) room = field(a[0], "roomName");
    if (!valid_room(room)) return log_line("leave-room from " + s.sid() + ": invalid room");
    truncate_chars(name, 32);
    s.leave(room);
    root.to(room).emit("new-user", fields{{"message", name + " has left the room."}});
  });
  io.on_disconnect([](sio::socket& s, std::string_view reason) {
    log_line("disconnect / " + s.sid() + " (" + std::string(reason) + ")");
  });

  // "/user": `user-connected` is answered with `new-user`, whose ack callback logs the receipt
  // (the tutorial's `emit('new-user', data, callback=...)`); the others hear about the newcomer.
  auto& user = io.of("/user");
  user.on_connect([](sio::socket& s) { s.emit("my response", fields{{"data", "Connected"}}); });
  user.on("user-connected", [](sio::socket& s, const sio::args& a) {
    log_line("user-connected on /user from " + s.sid() + ": " + portico::json::stringify(a[0]));
    s.emit_with_ack(
        "new-user",
        [sid = s.sid()](sio::ack_status st, const sio::args&) {
          log_line(std::string("new-user to ") + sid + ": " +
                   (st == sio::ack_status::ok ? "message was received" : sio::to_string(st)));
        },
        std::chrono::seconds(10), a.at(0));
    s.broadcast().emit("user-connected", a.at(0));
  });

  // "/chat": rooms. Every handler's return value is the ACK the page waits for.
  auto& chat = io.of("/chat");
  chat.on_connect([](sio::socket& s) {
    log_line("connect /chat " + s.sid());
    s.emit("status", fields{{"msg", "connected as " + s.sid()}});
  });
  // The tutorial's chat app: whatever `message` carries (its client's socket.send on connect and
  // the text box) goes back as `new-message` to everyone on "/chat", the sender included.
  chat.on("message", [&chat](sio::socket&, const sio::args& a) { chat.emit("new-message", a.at(0)); });
  chat.on("join", [&chat](sio::socket& s, const sio::args& a) -> fields {
    std::string room = field(a[0], "room"), name = field(a[0], "name");
    if (!valid_room(room)) return {{"error", "invalid room"}};
    if (!name.empty()) {
      truncate_chars(name, 32);
      s.save_session(chat_session{name});
    }
    s.join(room);
    s.to(room).emit("status", fields{{"msg", name_of(s) + " has entered " + room}, {"room", room}});
    auto members = chat.to(room).sids().size();
    return {{"room", room}, {"members", std::to_string(members)}};
  });
  chat.on("leave", [](sio::socket& s, const sio::args& a) -> fields {
    std::string room = field(a[0], "room");
    if (!valid_room(room)) return {{"error", "invalid room"}};
    s.to(room).emit("status", fields{{"msg", name_of(s) + " has left " + room}, {"room", room}});
    s.leave(room);
    return {{"room", room}};
  });
  chat.on("text", [&chat](sio::socket& s, const sio::args& a) -> fields {
    std::string room = field(a[0], "room"), msg = field(a[0], "msg");
    if (!valid_room(room) || msg.empty()) return {{"error", "room and msg are required"}};
    truncate_chars(msg, 2000);
    auto rooms = s.rooms();
    if (std::find(rooms.begin(), rooms.end(), room) == rooms.end()) return {{"error", "join " + room + " first"}};
    // to the whole room, the sender included: everyone renders the same transcript
    chat.to(room).emit("chat", fields{{"room", room}, {"name", name_of(s)}, {"msg", msg}});
    return {{"ok", "true"}};
  });
  chat.on("broadcast", [](sio::socket& s, const sio::args& a) {
    s.broadcast().emit("status", fields{{"msg", name_of(s) + " says to everyone: " + field(a[0], "msg")}});
    return true;
  });
  chat.on("whoami", [](sio::socket& s, const sio::args&) -> fields { return {{"sid", s.sid()}, {"name", name_of(s)}}; });
  chat.on_disconnect([&chat](sio::socket& s, std::string_view reason) {
    log_line("disconnect /chat " + s.sid() + " (" + std::string(reason) + ")");
    chat.to("lobby").emit("status", fields{{"msg", name_of(s) + " disconnected"}});
  });
}

struct options {
  std::string host = "127.0.0.1";
  unsigned port = 8000;
  std::vector<std::string> cors;
  std::filesystem::path static_dir = PORTICO_CHAT_STATIC;
  std::filesystem::path client_js = std::filesystem::path(PORTICO_CHAT_ASSETS) / "socket.io.min.js";
  long max_seconds = 0;  ///< 0: until SIGINT/SIGTERM
  bool allow_eio3 = false;  ///< also socket.io-client 2.x
  bool metrics = false;     ///< GET /metrics
  std::string tls_cert, tls_key;  ///< both or neither: https/wss
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: chat [--port N] [--host ADDR] [--cors ORIGIN]... [--static DIR] [--client-js FILE]"
               " [--max-seconds N] [--allow-eio3] [--metrics] [--tls-cert FILE --tls-key FILE]\n");
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
    else if (a == "--cors") o.cors.push_back(value());
    else if (a == "--static") o.static_dir = value();
    else if (a == "--client-js") o.client_js = value();
    else if (a == "--max-seconds") o.max_seconds = std::strtol(value().c_str(), nullptr, 10);
    else if (a == "--allow-eio3") o.allow_eio3 = true;
    else if (a == "--metrics") o.metrics = true;
    else if (a == "--tls-cert") o.tls_cert = value();
    else if (a == "--tls-key") o.tls_key = value();
    else if (a == "--help" || a == "-h") usage(0);
    else usage(2);
  }
  if (o.port > 65535 || o.tls_cert.empty() != o.tls_key.empty()) usage(2);
#if !PORTICO_CHAT_TLS
  if (!o.tls_cert.empty()) {
    std::fprintf(stderr, "chat: built without TLS (OpenSSL was not found)\n");
    std::exit(2);
  }
#endif
  if (o.cors.empty()) o.cors.push_back("*");  // the tutorial's cors_allowed_origins='*'
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);
  for (auto& f : {opt.static_dir / "index.html", opt.client_js})
    if (!std::filesystem::is_regular_file(f)) {
      std::fprintf(stderr, "chat: missing %s (run scripts/setup for the socket.io-client bundle)\n", f.c_str());
      return 1;
    }

  portico::stop_signals signals;  // before any server thread: they all inherit the blocked mask

  // The router outlives the server: the workers call into it until stop() returns.
  portico::http::router pages;
  sio::server_options so;
  so.engine.cors.allowed_origins = opt.cors;
  so.engine.threads = 1;
  so.allow_eio3 = opt.allow_eio3;
  so.engine.metrics = opt.metrics;  // counts per I/O worker, summed by metrics_text()
  sio::server io(so);
  if (opt.metrics)
    pages.get("/metrics", [&io] {
      return portico::http::content(io.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    });
  pages.static_files("/", opt.static_dir);
  pages.static_files("/socket.io.min.js", opt.client_js, "text/javascript; charset=utf-8");
  register_handlers(io);

  // One host serves the page, the bundle and Socket.IO on one port, with HTTP/1.1 keep-alive.
  portico::net::host_options ho;
  ho.threads = 1;
  portico::net::host host(ho);
  auto routes = portico::http::router::handler(pages);
  host.mount("/", routes);
  io.engine().mount(host, routes);
  unsigned port;
  const bool tls = !opt.tls_cert.empty();
  try {
#if PORTICO_CHAT_TLS
    if (tls) {
      portico::net::tls_options to;
      to.cert_chain_file = opt.tls_cert;
      to.private_key_file = opt.tls_key;
      port = host.listen_tls(opt.host, static_cast<std::uint16_t>(opt.port), to);
    } else
#endif
      port = host.listen(opt.host, static_cast<std::uint16_t>(opt.port));
  } catch (const std::exception& e) {  // port in use (system_error), unusable certificate or key
    std::fprintf(stderr, "chat: %s\n", e.what());
    return 1;
  }
  io.start();
  host.start();
  std::printf("chat: open %s://%s:%u/ (Ctrl-C stops it)\nLISTENING %u\n", tls ? "https" : "http", opt.host.c_str(),
              port, port);
  std::fflush(stdout);

  signals.wait(std::chrono::seconds(opt.max_seconds));  // SIGINT/SIGTERM, or --max-seconds
  log_line("chat: stopping");
  io.stop();
  host.stop();
  // Keep-alive made visible: long-polling clients reuse connections (tests count them).
  log_line("chat: " + std::to_string(host.accepted_count()) + " connections accepted");
  return 0;
}
