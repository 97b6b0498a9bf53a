// A portico server that is a member of a classic Redis-adapter cluster, driven by
// tests/redis/node/mixed_cluster.test.js beside a Node socket.io server on the same Redis.
// Usage: redis_cluster_member --redis PORT [--port N] [--max-seconds S] [--sharded] [--admin ID]
//   --sharded: sharded mode (createShardedAdapter, "dynamic" subscriptions) instead of classic.
//   --admin ID: the admin UI's namespace "/admin" (no auth, server id ID), where built with it.
//   --recovery: connection state recovery with the Redis session store (a client may recover
//   on another member).
//   prints "LISTENING <port>" when ready; exits after S seconds (default 120) or on SIGTERM.
// Events (every one acked): join(room) -> true; to_room(room, event, arg) -> true (broadcast
// from this server); ask_room(room, arg) -> [status, answers] of a broadcast with ack "q" to
// the room (3 s); server_count() -> the adapter's count; ask_servers(arg) -> [complete, answers]
// of server_side_emit_with_ack("ping-node", arg); tell_servers(arg) -> true after
// server_side_emit("note", arg); last_note() -> the last "note" another server sent.
// set_data(obj) -> true after saving obj as the socket's session; get_data() -> it as JSON text; fetch_all() -> [complete,
// ids] of fetch_sockets over the cluster. kick(room[, close]) -> true after
// in(room).disconnect_sockets(close, default true) on every server. room_join(room, r) /
// room_leave(room, r) -> true after in(room).sockets_join/leave([r]) cluster-wide. all_rooms() ->
// [complete, sorted rooms of the cluster]. my_rooms() -> this socket's sorted rooms. Namespace
// "/other" exists (no handlers).
// Server-side listener: "hello"(arg) answers "portico:" + arg.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#ifdef PORTICO_MEMBER_ADMIN
#include <portico/admin/admin_ui.hpp>
#endif
#include <portico/redis/adapter.hpp>
#include <portico/redis/session_store.hpp>
#include <portico/redis/sharded_adapter.hpp>
#include <portico/socketio/server.hpp>

namespace sio = portico::socketio;

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  unsigned port = 0, redis_port = 0;
  long max_seconds = 120;
  bool sharded = false, recovery = false;
  std::string admin_id;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--sharded") {
      sharded = true;
      continue;
    }
    if (f == "--recovery") {
      recovery = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "missing value for " << f << "\n";
      return 2;
    }
    if (f == "--admin") {
      admin_id = argv[++i];
      continue;
    }
    long v = std::strtol(argv[++i], nullptr, 10);
    if (f == "--port") port = static_cast<unsigned>(v);
    else if (f == "--redis") redis_port = static_cast<unsigned>(v);
    else if (f == "--max-seconds") max_seconds = v;
    else {
      std::cerr << "unknown flag " << f << "\n";
      return 2;
    }
  }
  if (!redis_port) {
    std::cerr << "--redis PORT is required\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  sio::server_options o;
  portico::redis::sharded_options c;
  c.port = static_cast<std::uint16_t>(redis_port);
  c.connection.reconnect_max = std::chrono::milliseconds(300);
  o.adapter_factory = sharded ? portico::redis::sharded_adapter_factory(c)
                              : portico::redis::classic_adapter_factory(c);
  o.engine.threads = 2;
  if (recovery) {
    o.connection_state_recovery.enabled = true;
    portico::redis::session_store_options so;
    so.connection.host = c.host;
    so.connection.port = c.port;
    o.session_store_factory = portico::redis::session_store_factory(so);
  }
  sio::server io(o);
  auto& n = io.of("/");
  n.on("join", [](sio::socket& s, const sio::args& a) {
    s.join(std::string(a.at(0).str()));
    return true;
  });
  n.on("to_room", [](sio::socket& s, const sio::args& a) {
    s.get_namespace().to(std::string(a.at(0).str())).emit(a.at(1).str(), a.at(2));
    return true;
  });
  n.on("ask_room", [](sio::event& e) {
    auto reply = e.take_ack();
    e.socket().get_namespace().to(std::string(e.args().at(0).str())).emit_with_ack(
        "q",
        [reply](sio::ack_status st, const sio::args& responses) mutable {
          reply(sio::to_string(st), sio::as_array{responses});
        },
        std::chrono::seconds(3), e.args().at(1));
  });
  std::mutex note_mu;
  std::string last_note;
  n.on_server_event("hello", [](const sio::args& a) { return "portico:" + std::string(a.at(0).str()); });
  n.on_server_event("note", [&](const sio::args& a) {
    std::lock_guard<std::mutex> g(note_mu);
    last_note = std::string(a.at(0).str());
  });
  n.on("last_note", [&](sio::socket&, const sio::args&) {
    std::lock_guard<std::mutex> g(note_mu);
    return last_note;
  });
  n.on("tell_servers", [](sio::socket& s, const sio::args& a) {
    s.get_namespace().server_side_emit("note", a.at(0));
    return true;
  });
  n.on("ask_servers", [](sio::event& e) {
    auto reply = e.take_ack();
    e.socket().get_namespace().server_side_emit_with_ack(
        "ping-node", [reply](bool complete, const sio::args& answers) mutable {
          reply(complete, sio::as_array{answers});
        },
        e.args().at(0));
  });
  n.on("set_data", [](sio::socket& s, const sio::args& a) {
    s.save_session(a[0]);
    return true;
  });
  n.on("get_data", [](sio::socket& s, const sio::args&) {  // the socket's session as JSON text
    auto d = s.get_session();
    return d.IsNull() ? std::string("null") : portico::json::stringify(d);
  });
  n.on("fetch_all", [](sio::event& e) {
    auto reply = e.take_ack();
    e.socket().get_namespace().fetch_sockets([reply](bool complete, std::vector<sio::socket_info> v) mutable {
      std::vector<std::string> ids;
      for (auto& i : v) ids.push_back(i.id);
      reply(complete, ids);
    });
  });
  n.on("kick", [](sio::socket& s, const sio::args& a) {
    // Without a second argument, or with true: close the connections; with false: leave "/" only.
    s.get_namespace().in(std::string(a.at(0).str())).disconnect_sockets(!a[1].IsBool() || a[1].GetBool());
    return true;
  });
  n.on("room_join", [](sio::socket& s, const sio::args& a) {  // in(room).sockets_join([other])
    s.get_namespace().in(std::string(a.at(0).str())).sockets_join({std::string(a.at(1).str())});
    return true;
  });
  n.on("room_leave", [](sio::socket& s, const sio::args& a) {  // in(room).sockets_leave([other])
    s.get_namespace().in(std::string(a.at(0).str())).sockets_leave({std::string(a.at(1).str())});
    return true;
  });
  n.on("all_rooms", [](sio::event& e) {
    auto reply = e.take_ack();
    e.socket().get_namespace().all_rooms([reply](bool complete, std::vector<std::string> rooms) mutable {
      reply(complete, rooms);
    });
  });
  n.on("my_rooms", [](sio::socket& s, const sio::args&) {
    auto r = s.rooms();
    std::sort(r.begin(), r.end());
    return r;
  });
  io.of("/other");  // a second namespace: disconnect_sockets(false) on "/" must leave it connected
  n.on("server_count", [](sio::event& e) {
    auto reply = e.take_ack();
    e.socket().get_namespace().get_adapter().server_count([reply](std::size_t k) mutable { reply(k); });
  });
#ifdef PORTICO_MEMBER_ADMIN
  std::unique_ptr<portico::admin_ui> admin;
  if (!admin_id.empty()) {
    portico::admin_ui_options ao;
    ao.no_auth = true;
    ao.server_id = admin_id;
    ao.stats_interval = std::chrono::milliseconds(500);
    admin = std::make_unique<portico::admin_ui>(io, ao);
  }
#else
  if (!admin_id.empty()) {
    std::cerr << "built without the admin UI\n";
    return 2;
  }
#endif
  try {
    io.listen("127.0.0.1", static_cast<std::uint16_t>(port));
    io.start();
  } catch (const std::exception& e) {
    std::cerr << "cannot listen: " << e.what() << "\n";
    return 1;
  }
  std::printf("LISTENING %u\n", static_cast<unsigned>(io.port()));
  std::fflush(stdout);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  while (!g_stop.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  io.stop();
#ifdef PORTICO_MEMBER_ADMIN
  admin.reset();  // after the server stopped
#endif
  return 0;
}
