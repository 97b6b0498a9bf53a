// Ellar's Socket.IO gateway walkthrough, in portico: echo, a typed body, the context,
// ws_response, connect/disconnect, an exception reported on `error`, class and handler guards.
//
// Run it, then from node (npm socket.io-client):
//   const { io } = require('socket.io-client');
//   const s = io('http://127.0.0.1:8000/events', { auth: { token: 'let-me-in' } });
//   s.on('welcome', console.log);                       // sent by on_connected
//   s.emitWithAck('echo', 'hi').then(console.log);      // -> "hi"
//   s.emitWithAck('events', { data: 'x' }).then(console.log);   // -> { data: 'x' }
//   s.emit('events', { data: 'x' }); s.on('events', console.log); // no ack: sent back on 'events'
//   s.on('error', console.error); s.emit('events', { data: 42 }); // -> { code: 1007, reason: [...] }
//   s.emit('too_big');                                  // -> { code: 1009, reason: 'Message is too big' }
// Without the token the CONNECT is refused: connect_error { message, data: { code, reason } }.
#include <portico/portico.hpp>  // the umbrella: the examples also build against the single header

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

struct MessageBody {
  std::string data;
};
PORTICO_FIELDS(MessageBody, data)

struct Config {
  std::string token = "let-me-in";
};

/// A provider: who is allowed in.
struct AuthService {
  explicit AuthService(const Config& c) : token(c.token) {}
  bool verify(const portico::json::value& auth) const {
    if (!auth.IsObject() || !auth.HasMember("token") || !auth["token"].IsString()) return false;
    return token == auth["token"].GetString();
  }
  bool is_admin(const portico::json::value& auth) const {
    return auth.IsObject() && auth.HasMember("admin") && auth["admin"].IsTrue();
  }
  std::string token;
};

/// Class guard: checked once, at the namespace CONNECT (auth payload and handshake available).
struct TokenGuard {
  explicit TokenGuard(AuthService& auth) : auth(auth) {}
  bool can_activate(portico::execution_context& ctx) { return auth.verify(ctx.auth()); }
  AuthService& auth;
};

/// Handler guard: checked before `announce` on every message.
struct AdminGuard {
  explicit AdminGuard(AuthService& auth) : auth(auth) {}
  bool can_activate(portico::execution_context& ctx) {
    if (!auth.is_admin(ctx.auth())) throw portico::ws_exception(4003, "admins only");
    return true;
  }
  AuthService& auth;
};

struct EventGateway : portico::gateway<EventGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/events"};
  using guards = portico::guards<TokenGuard>;

  explicit EventGateway(AuthService& auth) : auth(auth) {}

  /// Echo: the same data back (the ack when asked, else emitted back on 'echo').
  std::string echo(const std::string& data) { return data; }

  /// A typed body: validated; a bad one gets `error` {code: 1007, reason: [...]}.
  MessageBody handle_event(const MessageBody& body) { return body; }

  /// The context: server, sid, namespace, handshake.
  void whoami(portico::gateway_context& ctx) {
    ctx.server().of(ctx.namespace_name()).to(ctx.sid()).emit(
        "my_custom_event", std::string(ctx.sid()) + " from " + ctx.remote_address());
  }

  /// ws_response: choose the event name (and optionally the room).
  portico::ws_response reply(const MessageBody& body) { return portico::ws_response{"events", body}; }

  /// Everyone connected hears it; only admins may send it.
  portico::ws_response announce(const MessageBody& body) { return portico::ws_response{"news", body}.to("everyone"); }

  /// An exception for the client: `error` {code: 1009, reason: "Message is too big"}.
  void too_big() { throw portico::ws_exception(portico::ws_code::message_too_big, "Message is too big"); }

  void on_connected(portico::gateway_context& ctx) {
    ctx.join("everyone");
    ctx.emit("welcome", MessageBody{"Connected"});
    ++online;
  }
  void on_disconnected(portico::gateway_context&) {
    --online;
    std::printf("client disconnected (%d online)\n", online.load());
    std::fflush(stdout);
  }

  static constexpr auto events = portico::events(
      PORTICO_SUBSCRIBE(EventGateway, echo),
      portico::subscribe("events", &EventGateway::handle_event),
      PORTICO_SUBSCRIBE(EventGateway, whoami),
      PORTICO_SUBSCRIBE(EventGateway, reply),
      portico::subscribe("announce", &EventGateway::announce, portico::guards<AdminGuard>{}),
      PORTICO_SUBSCRIBE(EventGateway, too_big));

  AuthService& auth;
  std::atomic<int> online{0};
};

using AppModule = portico::module<portico::providers<portico::value<Config>, AuthService>,
                                  portico::gateways<EventGateway>>;

int main(int argc, char** argv) {
  // `events_gateway [PORT]` (default 8000); `--port N` as the test harness passes it works too.
  std::uint16_t port = 8000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    else if (i == 1 && a[0] != '-') port = static_cast<std::uint16_t>(std::atoi(argv[i]));
  }
  portico::app<AppModule> app;
  app.listen("127.0.0.1", port);
  std::printf("LISTENING %u: http://127.0.0.1:%u/socket.io/ namespace /events (Ctrl-C stops it)\n",
              static_cast<unsigned>(app.port()), static_cast<unsigned>(app.port()));
  std::fflush(stdout);
  app.run();
}
