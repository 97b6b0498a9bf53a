// The tutorial's SimpleClient part in C++: connect, receive, emit, call with an ack.
// Runs every feature of the rooms_sessions server once and checks each answer.
//
//   rooms_sessions_client http://127.0.0.1:PORT
//
// Prints one "ok <step>" or "FAIL <step>: why" line per step; exits 0 only if every step passed.
#include <portico/client/simple_client.hpp>
#include <portico/json/dom.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <vector>

namespace pc = portico::client;
namespace json = portico::json;
using namespace std::chrono_literals;

namespace {

int failures = 0;

void check(bool ok, const std::string& step, const std::string& why = {}) {
  if (ok) std::printf("ok %s\n", step.c_str());
  else {
    ++failures;
    std::printf("FAIL %s%s%s\n", step.c_str(), why.empty() ? "" : ": ", why.c_str());
  }
  std::fflush(stdout);
}

std::string member(const json::value& v, const char* key) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return it->value.GetString();
}

/// The string elements of an array argument.
std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  if (v.IsArray())
    for (auto& e : v.GetArray())
      if (e.IsString()) out.emplace_back(e.GetString());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// The next event called `name` (other events, e.g. broadcasts, are skipped).
pc::message expect(pc::simple_client& sc, const std::string& name) {
  for (;;) {
    pc::message m = sc.receive(3s);
    if (m.event == name) return m;
    std::printf("  (skipped %s)\n", m.event.c_str());
  }
}

void run(const std::string& url) {
  pc::simple_client sc;
  pc::simple_options o;
  o.client.query["username"] = "cpp";  // what the server's connect handler reads from environ
  o.client.headers["X-Demo"] = "rooms";
  sc.connect(url, o);
  check(sc.connected() && !sc.sid().empty(), "connect");
  const std::string sid = sc.sid();

  // connect(sid, environ): the server echoes what it saw in the handshake
  {
    pc::message w = expect(sc, "welcome");
    const auto& v = w.args()[0];
    check(member(v, "sid") == sid, "welcome.sid", member(v, "sid") + " != " + sid);
    check(member(v, "username") == "cpp", "environ query", member(v, "username"));
    check(member(v, "x-demo") == "rooms", "environ header", member(v, "x-demo"));
    check(member(v, "remote_address") == "127.0.0.1", "environ remote address", member(v, "remote_address"));
  }

  // @sio.on("message"): emit, then receive the echo
  sc.emit("message", "hello");
  {
    pc::message m = expect(sc, "message");
    check(m.args()[0].IsString() && std::string(m.args()[0].GetString()) == "echo: hello", "emit + receive message",
          json::stringify(m.args()[0]));
  }

  // @sio.event def get_users: call with an ack
  {
    pc::ack_result r = sc.call("get_users", 3s);
    check(r.ok() && contains(strings(r.args()[0]), "cpp"), "call get_users", json::stringify(r.args()[0]));
  }

  // rooms: enter, emit to the room, rooms(sid), leave, close
  {
    pc::ack_result r = sc.call("enter_room", 3s, std::map<std::string, std::string>{{"room", "lobby"}});
    auto rooms = strings(r.args()[0]);
    check(r.ok() && contains(rooms, "lobby") && contains(rooms, sid), "enter_room", json::stringify(r.args()[0]));

    sc.emit("room_message", std::map<std::string, std::string>{{"room", "lobby"}, {"text", "hi room"}});
    pc::message m = expect(sc, "room_message");
    check(member(m.args()[0], "text") == "hi room" && member(m.args()[0], "from") == sid, "emit to room",
          json::stringify(m.args()[0]));

    r = sc.call("leave_room", 3s, std::map<std::string, std::string>{{"room", "lobby"}});
    rooms = strings(r.args()[0]);
    check(r.ok() && !contains(rooms, "lobby") && contains(rooms, sid), "leave_room", json::stringify(r.args()[0]));

    sc.call("enter_room", 3s, std::map<std::string, std::string>{{"room", "doomed"}});
    r = sc.call("close_room", 3s, std::map<std::string, std::string>{{"room", "doomed"}});
    check(r.ok() && r.args()[0].IsBool() && r.args()[0].GetBool(), "close_room");
    r = sc.call("rooms", 3s);
    rooms = strings(r.args()[0]);
    check(r.ok() && !contains(rooms, "doomed") && contains(rooms, sid), "rooms after close_room",
          json::stringify(r.args()[0]));
  }

  // emit(..., to=sid): whisper to ourselves
  {
    pc::ack_result r = sc.call("whisper", 3s, std::map<std::string, std::string>{{"to", sid}, {"text", "psst"}});
    pc::message m = expect(sc, "whisper");
    check(r.ok() && member(m.args()[0], "text") == "psst" && member(m.args()[0], "from") == sid, "emit to sid",
          json::stringify(m.args()[0]));
    r = sc.call("whisper", 3s, std::map<std::string, std::string>{{"to", "nobody"}, {"text", "x"}});
    check(r.ok() && r.args()[0].IsBool() && !r.args()[0].GetBool(), "emit to unknown sid refused");
  }

  // sessions: save/get, and the scoped accessor
  {
    pc::ack_result r = sc.call("get_name", 3s);
    check(r.ok() && r.args()[0].IsString() && std::string(r.args()[0].GetString()).empty(), "get_name before set");
    r = sc.call("set_name", 3s, std::map<std::string, std::string>{{"name", "Ann"}});
    check(r.ok() && r.args()[0].IsBool() && r.args()[0].GetBool(), "save_session");
    r = sc.call("get_name", 3s);
    check(r.ok() && r.args()[0].IsString() && std::string(r.args()[0].GetString()) == "Ann", "get_session",
          json::stringify(r.args()[0]));
    r = sc.call("get_users", 3s);  // set_name kept the username saved by connect
    check(r.ok() && contains(strings(r.args()[0]), "cpp"), "session keeps username", json::stringify(r.args()[0]));
    pc::ack_result v1 = sc.call("visit", 3s);
    pc::ack_result v2 = sc.call("visit", 3s);
    check(v1.ok() && v2.ok() && v1.args()[0].IsInt() && v2.args()[0].IsInt() && v1.args()[0].GetInt() == 1 &&
              v2.args()[0].GetInt() == 2,
          "session scoped accessor");
  }

  // @sio.on("*"): an event without a handler
  {
    pc::ack_result r = sc.call("no_such_event", 3s, 42);
    check(r.ok() && member(r.args()[0], "event") == "no_such_event", "catch-all ack", json::stringify(r.args()[0]));
    pc::message m = expect(sc, "caught");
    check(m.args()[0].IsString() && std::string(m.args()[0].GetString()) == "no_such_event" && m.args()[1].IsInt() &&
              m.args()[1].GetInt() == 42,
          "catch-all emit");
  }

  sc.disconnect();
  check(!sc.connected(), "disconnect");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: rooms_sessions_client http://127.0.0.1:PORT\n");
    return 2;
  }
  try {
    run(argv[1]);
  } catch (const std::exception& e) {
    check(false, "exception", e.what());
  }
  std::printf("%s (%d failed)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
