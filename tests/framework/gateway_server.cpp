// The server the gateway end-to-end tests (node/gateways.test.js) drive with real
// socket.io-client 4.8 peers: several gateways of one app, guards, errors, scopes.
//
// Usage: gateway_server [--port N] [--max-seconds S] [--debug]
//   prints "LISTENING <port>" when ready; exits on SIGTERM/SIGINT or after S seconds (default 120).
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "portico/framework/framework.hpp"

namespace demo {

struct MessageBody {
  std::string data;
};
PORTICO_FIELDS(MessageBody, data)

struct Point {
  int x;
  int y;
  std::optional<std::string> label;
};
PORTICO_FIELDS(Point, x, y, label)

struct Stats {
  long event_runs;
  long connects;
  long disconnects;
  long live_sessions;
  long sessions_created;
  long guarded_runs;
};
PORTICO_FIELDS(Stats, event_runs, connects, disconnects, live_sessions, sessions_created, guarded_runs)

struct Config {
  std::string secret = "s3cret";
};

struct AuthService {
  explicit AuthService(const Config& c) : secret(c.secret) {}
  virtual ~AuthService() = default;
  virtual bool verify(std::string_view token) const { return token == secret; }
  std::string secret;
};

/// Counters the tests read through the /admin gateway.
struct ChatStore {
  std::atomic<long> event_runs{0}, connects{0}, disconnects{0}, guarded_runs{0};
  std::mutex mu;
  std::map<std::string, std::string> reasons;  ///< sid -> on_disconnected reason, on /bye and /strict

  void record(const std::string& sid, std::string_view nsp, std::string_view reason) {
    {
      std::lock_guard<std::mutex> g(mu);
      reasons[sid] = std::string(reason);
    }
    // Read by the stop test after the process exits (nothing is left to ask then).
    std::printf("DISCONNECTED %.*s %s %.*s\n", int(nsp.size()), nsp.data(), sid.c_str(), int(reason.size()),
                reason.data());
    std::fflush(stdout);
  }
  std::string reason_of(const std::string& sid) {
    std::lock_guard<std::mutex> g(mu);
    auto it = reasons.find(sid);
    return it == reasons.end() ? std::string() : it->second;
  }
};

/// One per client connection (per_connection scope): counts live instances.
inline std::atomic<long> g_live_sessions{0}, g_sessions_created{0};
struct Session {
  Session() {
    ++g_live_sessions;
    ++g_sessions_created;
  }
  ~Session() { --g_live_sessions; }
  Session(const Session&) = delete;
  int visits = 0;
};

inline std::string_view auth_string(const portico::execution_context& ctx, const char* key) {
  const auto& a = ctx.auth();
  if (!a.IsObject()) return {};
  auto it = a.FindMember(key);
  if (it == a.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

/// Class guard: at the handshake. No token: refused (false); a wrong token: ws_exception 4003.
struct TokenGuard {
  explicit TokenGuard(AuthService& auth) : auth(auth) {}
  bool can_activate(portico::execution_context& ctx) {
    auto token = auth_string(ctx, "token");
    if (token.empty()) return false;
    if (!auth.verify(token)) throw portico::ws_exception(4003, "bad token");
    return true;
  }
  AuthService& auth;
};

/// Global guard (the app's): runs first at every gateway's CONNECT.
struct BanGuard {
  bool can_activate(portico::execution_context& ctx) {
    if (auth_string(ctx, "banned") == "yes") throw portico::ws_exception(4030, "banned");
    return true;
  }
};

/// Handler guard: only clients whose auth says role "admin".
struct AdminGuard {
  bool can_activate(portico::execution_context& ctx) { return auth_string(ctx, "role") == "admin"; }
};

struct EventGateway : portico::gateway<EventGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/events"};
  using guards = portico::guards<TokenGuard>;
  explicit EventGateway(ChatStore& store) : store(store) {}

  MessageBody handle_event(const MessageBody& body) {
    ++store.event_runs;
    return body;
  }
  portico::ws_response broadcast(const MessageBody& body, portico::gateway_context&) {
    ++store.event_runs;
    ++store.guarded_runs;
    return portico::ws_response{"news", body}.to("room1");
  }
  std::string join(const std::string& room, portico::gateway_context& ctx) {
    ++store.event_runs;
    ctx.join(room);
    return "joined " + room;
  }
  int add(int a, int b, std::optional<int> c) {
    ++store.event_runs;
    return a + b + c.value_or(0);
  }
  Point move(Point p, int dx) {
    ++store.event_runs;
    p.x += dx;
    return p;
  }
  portico::json::raw raw(const portico::json::value& v) {
    ++store.event_runs;
    return portico::json::raw(v);
  }
  std::size_t blob(const portico::json::binary& b) {
    ++store.event_runs;
    return b.size();
  }
  int visit(Session& session) {  // per-connection provider, injected
    ++store.event_runs;
    return ++session.visits;
  }
  void boom() {
    ++store.event_runs;
    throw std::runtime_error("secret detail");
  }
  void too_big() {
    ++store.event_runs;
    throw portico::ws_exception(portico::ws_code::message_too_big, "Message is too big");
  }
  void rich_error() {
    ++store.event_runs;
    throw portico::ws_exception(4000, MessageBody{"structured"});
  }
  void slow(int n, portico::gateway_context& ctx) {
    ++store.event_runs;
    ctx.offload([ack = ctx.take_ack(), n]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ack(n * 2);
    });
  }
  /// Asks everyone else in `room` (a broadcast with ack); acks the caller with the status and the
  /// answers once they are all in, or at the 4 s deadline.
  void poll(const std::string& room, portico::gateway_context& ctx) {
    ++store.event_runs;
    ctx.to(room).emit_with_ack(
        "poll",
        [ack = ctx.take_ack()](portico::socketio::ack_status st, const portico::socketio::args& r) mutable {
          ack(portico::socketio::to_string(st), portico::socketio::as_array{r});
        },
        std::chrono::seconds(4), ctx.sid());
  }
  /// The handshake as the context shows it.
  std::string where(portico::gateway_context& ctx) {
    ++store.event_runs;
    return std::string(ctx.query("tag")) + "|" + std::string(ctx.header("X-Test")) + "|" + ctx.remote_address() + "|" +
           ctx.namespace_name() + "|" + std::string(ctx.event()) + "|" + (ctx.wants_ack() ? "ack" : "no-ack");
  }
  void anything(portico::gateway_context& ctx) {
    ++store.event_runs;
    ctx.emit("unknown", std::string(ctx.event()));
  }
  bool on_connected(portico::gateway_context& ctx) {
    if (auth_string(ctx, "refuse") == "yes") return false;
    if (auth_string(ctx, "refuse") == "throw") throw portico::ws_exception(4010, "not today");
    ++store.connects;
    ctx.join("all");
    ctx.emit("welcome", ctx.sid());
    return true;
  }
  void on_disconnected(portico::gateway_context&) { ++store.disconnects; }

  static constexpr auto events = portico::events(
      portico::subscribe("events", &EventGateway::handle_event),
      portico::subscribe("broadcast", &EventGateway::broadcast, portico::guards<AdminGuard>{}),
      PORTICO_SUBSCRIBE(EventGateway, join), PORTICO_SUBSCRIBE(EventGateway, add),
      PORTICO_SUBSCRIBE(EventGateway, move), PORTICO_SUBSCRIBE(EventGateway, raw),
      PORTICO_SUBSCRIBE(EventGateway, blob), PORTICO_SUBSCRIBE(EventGateway, visit),
      PORTICO_SUBSCRIBE(EventGateway, boom), PORTICO_SUBSCRIBE(EventGateway, too_big),
      PORTICO_SUBSCRIBE(EventGateway, rich_error), PORTICO_SUBSCRIBE(EventGateway, slow),
      PORTICO_SUBSCRIBE(EventGateway, where), PORTICO_SUBSCRIBE(EventGateway, poll),
      portico::subscribe_any(&EventGateway::anything));

  ChatStore& store;
};

struct Credentials {
  std::string user;
  int level = 0;
};
PORTICO_FIELDS(Credentials, user, level)

/// Typed auth (a bad one refuses the CONNECT) and a typed session.
struct TypedGateway {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/typed"};
  void after_init(portico::socketio::nsp& n) { initialized = n.namespace_name(); }
  void on_connected(portico::gateway_context& ctx) {
    ctx.save_session(ctx.auth_as<Credentials>());
    ctx.emit("welcome", ctx.sid());
  }
  /// The session as saved at connect, and the namespace after_init saw.
  std::map<std::string, std::string> me(portico::gateway_context& ctx) {
    auto c = ctx.session<Credentials>();
    return {{"user", c.user}, {"level", std::to_string(c.level)}, {"init", initialized}};
  }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(TypedGateway, me));
  std::string initialized;
};

/// Emits to /typed with no socket in hand (through the injected namespace handle).
struct Announcer {
  explicit Announcer(portico::namespace_handle<TypedGateway>& h) : typed(h) {}
  void announce(const std::string& text) { typed.emit("announcement", text); }
  portico::namespace_handle<TypedGateway>& typed;
};

/// A second namespace on the same path, without guards: exposes the counters.
struct AdminGateway {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/admin"};
  AdminGateway(ChatStore& store, Announcer& announcer) : store(store), announcer(announcer) {}
  void on_connected(portico::gateway_context& ctx) { ctx.emit("welcome", ctx.sid()); }
  /// Makes the Announcer emit to every /typed client.
  bool announce(const std::string& text) {
    announcer.announce(text);
    return true;
  }
  Stats stats() {
    return Stats{store.event_runs.load(), store.connects.load(),  store.disconnects.load(),
                 g_live_sessions.load(),  g_sessions_created.load(), store.guarded_runs.load()};
  }
  /// The reason /bye or /strict gave `on_disconnected` for a client, "" while none.
  std::string reason(const std::string& sid) { return store.reason_of(sid); }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(AdminGateway, stats),
                                                 PORTICO_SUBSCRIBE(AdminGateway, reason),
                                                 PORTICO_SUBSCRIBE(AdminGateway, announce));
  ChatStore& store;
  Announcer& announcer;
};

/// Server-side ends of a client, and the reason `on_disconnected` gets for each.
struct ByeGateway {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/bye"};
  explicit ByeGateway(ChatStore& store) : store(store) {}
  void on_connected(portico::gateway_context& ctx) { ctx.emit("welcome", ctx.sid()); }
  void leave(portico::gateway_context& ctx) { ctx.disconnect(); }
  void drop(portico::gateway_context& ctx) { ctx.socket().close_connection(); }
  void on_disconnected(portico::gateway_context& ctx, portico::disconnect_reason reason) {
    store.record(ctx.sid(), ctx.namespace_name(), reason.text());
  }
  static constexpr auto events =
      portico::events(PORTICO_SUBSCRIBE(ByeGateway, leave), PORTICO_SUBSCRIBE(ByeGateway, drop));
  ChatStore& store;
};

/// Errors disconnect the client here.
struct StrictGateway {
  static constexpr auto options =
      portico::gateway_options{"/socket.io", "/strict"}.with_disconnect_on_error();
  explicit StrictGateway(ChatStore& store) : store(store) {}
  void on_connected(portico::gateway_context& ctx) { ctx.emit("welcome", ctx.sid()); }
  void fail() { throw portico::ws_exception(4400, "strict"); }
  /// The reason as a plain string_view (the other accepted form).
  void on_disconnected(portico::gateway_context& ctx, std::string_view reason) {
    store.record(ctx.sid(), ctx.namespace_name(), reason);
  }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(StrictGateway, fail));
  ChatStore& store;
};

/// Exception filters and interceptors (docs/guards.md) seen by a real client.
struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// Class level: Refused -> the `error` event {"data": "refused: <what>"} in a handler; at the
/// CONNECT, the connect_error "refused" with the data {"data": "<what>"} (one overload per host).
struct RefusedToErrorEvent {
  using catches = portico::catches<Refused>;
  void catch_exception(const Refused& e, portico::ws_exception_host& host) {
    host.error(MessageBody{std::string("refused: ") + e.what()});
  }
  void catch_exception(const Refused& e, portico::connect_exception_host& host) {
    host.refuse("refused", MessageBody{e.what()});
  }
};
struct DoorProblem {
  int code = 0;
};
PORTICO_FIELDS(DoorProblem, code)
/// Class level, CONNECT only (handlers keep the built-in mapping): the guards' refusals worded.
struct DoorWording {
  void catch_exception(const portico::ws_exception& e, portico::connect_exception_host& host) {
    host.refuse("the door is closed", DoorProblem{e.code()});
  }
};
/// The class guard of PolicyGateway: auth {door: "closed"} is refused, {door: "refused"} throws.
struct PolicyDoor {
  bool can_activate(portico::execution_context& ctx) {
    const std::string door(auth_string(ctx, "door"));
    if (door == "refused") throw Refused("at the door");
    return door != "closed";
  }
};
/// Handler level, tried first: Refused -> the ack {"data": "<what>"}.
struct RefusedToAck {
  void catch_exception(const Refused& e, portico::ws_exception_host& host) { host.ack(MessageBody{e.what()}); }
};
/// Upper-cases the handler's answer.
struct Shout {
  void after(portico::gateway_context&, portico::handler_result& r) {
    if (!r.has_value()) return;
    auto m = r.get<MessageBody>();
    for (auto& c : m.data) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    r.set(m);
  }
};
struct PolicyGateway {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/policies"};
  using guards = portico::guards<PolicyDoor>;
  using filters = portico::filters<RefusedToErrorEvent, DoorWording>;
  void on_connected(portico::gateway_context& ctx) {
    const std::string door(auth_string(ctx, "door"));
    if (door == "late") throw Refused("in on_connected");
    if (door == "broken") throw std::runtime_error("not for the client");
    ctx.emit("welcome", ctx.sid());
  }
  void refuse(const MessageBody& m) { throw Refused(m.data); }
  MessageBody refuse_ack(const MessageBody& m) { throw Refused(m.data); }
  MessageBody shout(const MessageBody& m) { return m; }
  static constexpr auto events =
      portico::events(portico::subscribe("refuse", &PolicyGateway::refuse),
                      portico::subscribe("refuse_ack", &PolicyGateway::refuse_ack, portico::filters<RefusedToAck>{}),
                      portico::subscribe("shout", &PolicyGateway::shout, portico::interceptors<Shout>{}));
};

using AppModule = portico::module<
    portico::providers<portico::value<Config>, AuthService, ChatStore, portico::per_connection<Session>,
                       portico::namespace_handle<TypedGateway>, Announcer>,
    portico::gateways<EventGateway, AdminGateway, StrictGateway, ByeGateway, TypedGateway, PolicyGateway>>;

}  // namespace demo

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  unsigned port = 0;
  long max_seconds = 120;
  portico::app_options opts;
  opts.io_threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--port" && i + 1 < argc) port = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (f == "--max-seconds" && i + 1 < argc) max_seconds = std::atol(argv[++i]);
    else if (f == "--debug") opts.debug = true;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  portico::app<demo::AppModule>::with_global_guards<demo::BanGuard> app(opts);
  app.listen("127.0.0.1", static_cast<std::uint16_t>(port));
  std::printf("LISTENING %u\n", static_cast<unsigned>(app.port()));
  std::fflush(stdout);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  while (!g_stop.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  app.stop();
  return 0;
}
