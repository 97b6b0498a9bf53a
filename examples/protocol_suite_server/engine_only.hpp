#pragma once
// Engine-only mode of the conformance server: pure Engine.IO on /engine.io/, echoing every
// text and binary message, configured like the reference server of the engine.io-protocol
// test suite (maxPayload 1e6, CORS "*").
#include <portico/portico.hpp>  // the umbrella: the examples also build against the single header

#include <csignal>
#include <cstdio>
#include <string>

/// Blocks SIGINT/SIGTERM in the calling thread (and the workers it starts) so that
/// wait_for_termination() can receive them synchronously.
inline sigset_t block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

inline int run_engine_only(const std::string& host, unsigned short port, long ping_interval_ms, long ping_timeout_ms) {
  using namespace portico::engineio;
  sigset_t signals = block_termination_signals();

  server_options o;
  o.path = "/engine.io/";
  o.ping_interval = std::chrono::milliseconds(ping_interval_ms);
  o.ping_timeout = std::chrono::milliseconds(ping_timeout_ms);
  o.max_payload = 1000000;
  o.cors.allowed_origins = {"*"};
  server srv(o);
  srv.log().set_level(portico::log_level::info);
  srv.on_message([](const socket_ptr& s, message&& m) {
    if (m.binary) s->send_binary(std::move(m.data));
    else s->send(std::move(m.data));
  });
  srv.listen(host, port);
  srv.start();
  std::printf("engine.io echo server listening on %s:%u\n", host.c_str(), unsigned(srv.port()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  srv.stop();
  return 0;
}

inline int run_engine_only(unsigned short port, long ping_interval_ms, long ping_timeout_ms) {
  return run_engine_only("127.0.0.1", port, ping_interval_ms, ping_timeout_ms);
}
