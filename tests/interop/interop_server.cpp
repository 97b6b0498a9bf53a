// interop_server: the portico Socket.IO server the interop tests drive with real clients
// (npm socket.io-client 4.8, Debian python3-socketio 5.7).
//
// Usage: interop_server [--port N] [--max-seconds S] [--ping-interval MS] [--ping-timeout MS] [--allow-eio3]
//                       [--recovery-ms MS] [--metrics] [--hosted] [--tls-cert FILE --tls-key FILE]
//   --port          0 (default) = ephemeral; prints "LISTENING <port>" on stdout when ready.
//   --max-seconds   exits after this many seconds (default 120); also exits on SIGTERM/SIGINT.
//   --allow-eio3    also serves socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4): its auth
//                   is its query (the handshake's on "/"), a refusal carries the message only.
//   --recovery-ms   turns connection state recovery on, sessions kept MS milliseconds.
//   --metrics       counts (server_options::engine.metrics) and answers GET /metrics with the
//                   Prometheus text (server::metrics_text()).
//   --hosted        the engine mounted on a net::host (keep-alive) instead of its own listen().
//   --tls-cert/--tls-key  (PEM files) hosted, over https:// and wss:// (host.listen_tls): how a
//                   bare socketio::server serves TLS. Only when built with OpenSSL
//                   (PORTICO_INTEROP_TLS, meson's portico_tls_dep).
//   INTEROP_DEBUG=1 in the environment: the engine and the host log at trace level (stderr).
//
// Behaviour contract (namespaces "/" and "/admin" behave the same; any other namespace is
// refused with CONNECT_ERROR {"message":"Invalid namespace"}):
//   connect        auth is an object with token == "bad" -> refused with message "not authorized"
//                  and data {"code":42}; otherwise accepted, then emits `welcome`
//                  {"sid": <sid>, "auth": <auth payload or null>} (an empty object counts as
//                  null: python-socketio sends {} when it has no auth, socket.io-client sends none).
//   echo (...)     emits `echo` back to the sender with the same args (binary included).
//   ack (...)      acks with the same args.
//   join (room)    joins room, acks true.       leave (room)  leaves room, acks true.
//   to_room (room, msg)  emits `room_msg` (msg) to everyone in room except the sender, acks true.
//   broadcast (msg)      emits `broadcast` (msg) to everyone in the namespace, sender included.
//   ask (x)        emits `question` (x) to the sender with an ack callback (timeout 5 s); when the
//                  client acks with args A, emits `answer` with A; on timeout emits `answer` "timeout".
//   poll_room (room, timeout_ms, x)  emits `room_poll` (x) to everyone in room (sender included
//                  when a member) asking each for an ack within timeout_ms; then acks the caller
//                  with (status, [first ack argument of each client that answered]), status
//                  "ok", "timeout" or "disconnected" (a broadcast with ack).
//   drop_me        closes the sender's whole Engine.IO connection (the client reconnects by itself).
//   disconnect_me  disconnects the sender's socket from the namespace only.
//   rooms          acks with the sender's rooms, sorted.
//   session_set (obj)  saves obj as the session, acks true.  session_get  acks the session or null.
//   transport      acks the Engine.IO transport of the sender: "polling" or "websocket".
//   recovered      acks whether connection state recovery restored the sender's socket.
//   throw          the handler throws (a handler exception: logged, counted, no answer).
//   any other event E with args -> emits `unknown` with (E, [args...]).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "portico/net/host.hpp"
#include "portico/socketio/server.hpp"
#if PORTICO_INTEROP_TLS
#include "portico/net/tls.hpp"
#endif

namespace sio = portico::socketio;
namespace json = portico::json;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

void install(sio::nsp& n) {
  n.on_connect([](sio::socket& s, sio::connect_request& r) {
    const json::value& auth = r.auth();
    if (auth.IsObject()) {
      auto t = auth.FindMember("token");
      if (t != auth.MemberEnd() && t->value.IsString() && std::strcmp(t->value.GetString(), "bad") == 0) {
        json::document data;
        data.SetObject();
        data.AddMember("code", 42, data.GetAllocator());
        r.refuse("not authorized", data);
        return;
      }
    }
    json::document welcome;
    welcome.SetObject();
    auto& a = welcome.GetAllocator();
    welcome.AddMember("sid", json::value(s.sid().c_str(), static_cast<rapidjson::SizeType>(s.sid().size()), a), a);
    bool none = auth.IsNull() || (auth.IsObject() && auth.MemberCount() == 0);
    welcome.AddMember("auth", none ? json::value() : json::copy(auth, a), a);
    s.emit("welcome", welcome);
  });
  n.on("echo", [](sio::socket& s, const sio::args& a) { s.emit("echo", a); });
  n.on("ack", [](sio::event& e) { e.ack(e.args()); });
  n.on("join", [](sio::socket& s, const sio::args& a) {
    s.join(std::string(a.at(0).str()));
    return true;
  });
  n.on("leave", [](sio::socket& s, const sio::args& a) {
    s.leave(std::string(a.at(0).str()));
    return true;
  });
  n.on("to_room", [](sio::socket& s, const sio::args& a) {
    s.to(std::string(a.at(0).str())).emit("room_msg", a.at(1));
    return true;
  });
  n.on("broadcast", [](sio::socket& s, const sio::args& a) { s.get_namespace().emit("broadcast", a.at(0)); });
  n.on("ask", [](sio::socket& s, const sio::args& a) {
    std::weak_ptr<sio::socket> w = s.shared_from_this();
    s.emit_with_ack(
        "question",
        [w](sio::ack_status st, const sio::args& answer) {
          auto self = w.lock();
          if (!self) return;
          if (st == sio::ack_status::ok) self->emit("answer", answer);
          else if (st == sio::ack_status::timeout) self->emit("answer", "timeout");
        },
        std::chrono::seconds(5), a.at(0));
  });
  n.on("poll_room", [](sio::event& e) {
    const auto& a = e.args();
    auto reply = e.take_ack();
    auto timeout = std::chrono::milliseconds(a[1].IsInt() ? a[1].GetInt() : 1000);
    e.socket().get_namespace().to(std::string(a.at(0).str())).emit_with_ack(
        "room_poll",
        [reply](sio::ack_status st, const sio::args& responses) mutable {
          reply(sio::to_string(st), sio::as_array{responses});
        },
        timeout, a.at(2));
  });
  n.on("drop_me", [](sio::socket& s, const sio::args&) { s.close_connection(); });
  n.on("disconnect_me", [](sio::socket& s, const sio::args&) { s.disconnect(); });
  n.on("rooms", [](sio::socket& s, const sio::args&) {
    auto r = s.rooms();
    std::sort(r.begin(), r.end());
    return r;
  });
  n.on("session_set", [](sio::socket& s, const sio::args& a) {
    s.save_session(a[0]);
    return true;
  });
  n.on("session_get", [](sio::socket& s, const sio::args&) { return s.get_session(); });
  n.on("transport", [](sio::socket& s, const sio::args&) { return std::string(s.engine()->transport()); });
  n.on("throw", [](sio::socket&, const sio::args&) { throw std::runtime_error("thrown on purpose"); });
  n.on("recovered", [](sio::socket& s, const sio::args&) { return s.recovered(); });
  n.on_any([](sio::event& e) { e.socket().emit("unknown", e.name(), sio::as_array{e.args()}); });
}

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 0;
  long max_seconds = 120;
  long ping_interval = 25000, ping_timeout = 20000;
  bool allow_eio3 = false;
  long recovery_ms = 0;
  bool metrics = false;
  bool hosted = false;
  std::string tls_cert, tls_key;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto value = [&]() -> long {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << f << "\n";
        std::exit(2);
      }
      return std::strtol(argv[++i], nullptr, 10);
    };
    if (f == "--port") port = static_cast<unsigned>(value());
    else if (f == "--max-seconds") max_seconds = value();
    else if (f == "--ping-interval") ping_interval = value();
    else if (f == "--ping-timeout") ping_timeout = value();
    else if (f == "--allow-eio3") allow_eio3 = true;
    else if (f == "--recovery-ms") recovery_ms = value();
    else if (f == "--metrics") metrics = true;
    else if (f == "--hosted") hosted = true;
    else if (f == "--tls-cert" && i + 1 < argc) tls_cert = argv[++i];
    else if (f == "--tls-key" && i + 1 < argc) tls_key = argv[++i];
    else {
      std::cerr << "unknown flag " << f << "\n";
      return 2;
    }
  }
  if (tls_cert.empty() != tls_key.empty()) {
    std::cerr << "--tls-cert and --tls-key go together\n";
    return 2;
  }
#if !PORTICO_INTEROP_TLS
  if (!tls_cert.empty()) {
    std::cerr << "built without TLS (OpenSSL not found)\n";
    return 2;
  }
#endif
  hosted = hosted || !tls_cert.empty();
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  sio::server_options o;
  o.engine.ping_interval = std::chrono::milliseconds(ping_interval);
  o.engine.ping_timeout = std::chrono::milliseconds(ping_timeout);
  o.engine.cors.allowed_origins = {"*"};  // the browser test loads its page from elsewhere
  o.allow_eio3 = allow_eio3;
  o.connection_state_recovery.enabled = recovery_ms > 0;
  o.connection_state_recovery.max_disconnection_duration = std::chrono::milliseconds(recovery_ms);
  o.engine.metrics = metrics;
  sio::server io(o);
  if (std::getenv("INTEROP_DEBUG")) io.engine().log().set_level(portico::log_level::trace);
  if (metrics && !hosted)
    io.engine().on_http([&io](const portico::engineio::http_connection_ptr& con) {
      if (con->get_request().get_method() != "GET" || con->get_resource() != "/metrics") return false;
      con->set_status(websocketpp::http::status_code::ok);
      con->replace_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      con->set_body(io.metrics_text());
      return true;
    });
  install(io.of("/"));
  install(io.of("/admin"));

  // Hosted: a net::host owns the port and the engine is mounted on it (as portico::app does);
  // requests outside /socket.io/ go to `rest` (/metrics, else 404).
  std::unique_ptr<portico::net::host> host;
  if (hosted) {
    portico::net::host_options ho;
    ho.max_body_bytes = std::max<std::size_t>(ho.max_body_bytes, o.engine.max_payload * 2 + 1024);
    ho.max_message_bytes = o.engine.max_payload;
    ho.stop_timeout = o.engine.stop_grace;
    host = std::make_unique<portico::net::host>(ho);
    if (std::getenv("INTEROP_DEBUG")) host->log().set_level(portico::log_level::trace);
    auto rest = std::make_shared<portico::net::function_handler>([&io, metrics](portico::net::request req, portico::net::response res) {
      if (metrics && req.method() == "GET" && req.path() == "/metrics")
        res.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8").send(io.metrics_text());
      else res.status(404).send("Not Found");
    });
    host->mount("/", rest);
    io.engine().mount(*host, rest);
  }
  unsigned bound = 0;
  try {
    if (!host) {
      io.listen("127.0.0.1", static_cast<std::uint16_t>(port));
      bound = io.port();
    } else if (tls_cert.empty()) {
      bound = host->listen("127.0.0.1", static_cast<std::uint16_t>(port));
    } else {
#if PORTICO_INTEROP_TLS
      portico::net::tls_options tls;
      tls.cert_chain_file = tls_cert;
      tls.private_key_file = tls_key;
      bound = host->listen_tls("127.0.0.1", static_cast<std::uint16_t>(port), tls);
#endif
    }
    io.start();
    if (host) host->start();
  } catch (const std::exception& e) {
    std::cerr << "cannot listen: " << e.what() << "\n";
    return 1;
  }
  std::printf("LISTENING %u\n", bound);
  std::fflush(stdout);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  while (!g_stop.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  io.stop();
  if (host) host->stop();
  return 0;
}
