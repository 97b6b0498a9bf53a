// app_options::server.connection_state_recovery reaches the gateways: a recovered client keeps its
// sid, `ctx.recovered()` is true in on_connected, and (skip_middlewares) the guards do not run again.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "../socketio/sio_client.hpp"
#include "portico/framework/framework.hpp"

namespace {

std::atomic<int> guard_runs{0}, recovered_connects{0};

struct CountingGuard {
  bool can_activate(portico::execution_context&) {
    ++guard_runs;
    return true;
  }
};

struct RecoveryGateway : portico::gateway<RecoveryGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/"};
  using guards = portico::guards<CountingGuard>;
  void on_connected(portico::gateway_context& ctx) {
    if (ctx.recovered()) ++recovered_connects;
    else ctx.emit("hello", 1);
  }
  std::string whoami(portico::gateway_context& ctx) { return ctx.sid(); }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(RecoveryGateway, whoami));
};

using RecoveryModule = portico::module<portico::gateways<RecoveryGateway>>;

std::string member(const std::string& packet, const char* key) {
  portico::json::document d;
  if (packet.empty() || !portico::json::parse(packet.substr(1), d) || !d.IsObject()) return "";
  auto it = d.FindMember(key);
  return it != d.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

}  // namespace

TEST_CASE("connection state recovery on the gateways: ctx.recovered(), guards skipped", "[framework][recovery]") {
  portico::app_options o;
  o.io_threads = 1;
  o.server.connection_state_recovery.enabled = true;
  portico::app<RecoveryModule> app(o);
  app.listen("127.0.0.1", 0);

  std::string sid, pid, offset;
  {
    sio_test::client c(app.port());
    REQUIRE(c.wait_open());
    std::string ans = c.connect();
    sid = member(ans, "sid");
    pid = member(ans, "pid");
    REQUIRE_FALSE(pid.empty());
    std::string hello = c.next_text();  // 2["hello",1,"<offset>"]
    auto q = hello.rfind(",\"");
    REQUIRE(q != std::string::npos);
    offset = hello.substr(q + 2, hello.size() - q - 4);
    c.close();
  }
  CHECK(guard_runs == 1);
  sio_test::client c(app.port());
  REQUIRE(c.wait_open());
  std::string ans;
  int fresh = 0;
  // The server may notice the lost connection a moment after the client: until then the pid is
  // not restorable yet, and the client gets a fresh socket (bounded retries).
  for (int i = 0; i < 50; ++i) {
    ans = c.connect("/", R"({"pid":")" + pid + R"(","offset":")" + offset + R"("})");
    if (member(ans, "sid") == sid) break;
    ++fresh;
    c.send("1");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(member(ans, "sid") == sid);
  CHECK(recovered_connects == 1);
  CHECK(guard_runs == 1 + fresh);  // not for the recovered socket
  c.send(R"(20["whoami"])");
  CHECK(c.next_text() == "30[\"" + sid + "\"]");
  app.stop();
}
