#pragma once
// Socket.IO mode of the conformance server (the server contract of socketio/socket.io-protocol's
// test-suite): namespaces "/" and "/custom"; on connect emit `auth` with the CONNECT payload
// ({} when none); `message` -> `message-back` with the same arguments; `message-with-ack` -> ack
// with the same arguments. Runs until SIGINT/SIGTERM.
#include <portico/portico.hpp>  // the umbrella: the examples also build against the single header

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "engine_only.hpp"  // block_termination_signals()

inline int run_socketio(const std::string& host, unsigned short port, long ping_interval_ms, long ping_timeout_ms,
                        long connect_timeout_ms) {
  namespace sio = portico::socketio;
  sigset_t signals = block_termination_signals();

  sio::server_options o;
  o.engine.ping_interval = std::chrono::milliseconds(ping_interval_ms);
  o.engine.ping_timeout = std::chrono::milliseconds(ping_timeout_ms);
  o.engine.cors.allowed_origins = {"*"};
  o.connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
  sio::server io(o);
  io.log().set_level(portico::log_level::info);

  for (const char* name : {"/", "/custom"}) {
    io.of(name)
        .on_connect([](sio::socket& s, sio::connect_request& r) {
          if (r.auth().IsNull()) s.emit("auth", portico::json::value(rapidjson::kObjectType));
          else s.emit("auth", r.auth());
        })
        .on("message", [](sio::socket& s, const sio::args& a) { s.emit("message-back", a); })
        .on("message-with-ack", [](sio::event& e) { e.ack(e.args()); });
  }

  io.listen(host, port);
  io.start();
  std::printf("socket.io server listening on %s:%u\n", host.c_str(), unsigned(io.port()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  io.stop();
  return 0;
}

inline int run_socketio(unsigned short port, long ping_interval_ms, long ping_timeout_ms, long connect_timeout_ms) {
  return run_socketio("127.0.0.1", port, ping_interval_ms, ping_timeout_ms, connect_timeout_ms);
}
