// The Redis connection layer against a private redis-server (tests/redis/redis_server.hpp) and,
// for hostile replies, against a fake server on a loopback port.
#include <catch2/catch.hpp>

#include <portico/redis/connection.hpp>
#include <portico/redis/subscriber.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis_server.hpp"

using namespace std::chrono_literals;
namespace redis = portico::redis;
using portico_test::redis_server;

namespace {

// Runs the io_context until `done` holds or `limit` passes; returns `done()`.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 15s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  return done();
}

void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

// Collects log lines (the sink may run on any thread).
struct captured_log {
  portico::logger log{"portico.redis"};
  std::mutex mu;
  std::vector<std::string> lines;
  captured_log() {
    log.set_sink([this](portico::log_level, std::string_view m) {
      std::lock_guard<std::mutex> g(mu);
      lines.emplace_back(m);
    });
  }
  std::size_t count(std::string_view needle) {
    std::lock_guard<std::mutex> g(mu);
    std::size_t n = 0;
    for (auto& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
};

redis::options opts(std::uint16_t port, portico::logger* log = nullptr) {
  redis::options o;
  o.port = port;
  o.log = log;
  return o;
}

struct received {
  redis::subscription kind;
  std::string pattern, channel, payload;
};

// A subscriber whose messages land in a vector.
struct listening {
  redis::subscriber sub;
  std::vector<received> got;
  std::vector<redis::state> states;
  listening(asio::io_context& io, redis::options o) : sub(io, std::move(o)) {
    sub.on_message([this](const redis::message& m) {
      got.push_back({m.kind, std::string(m.pattern), std::string(m.channel), std::string(m.payload)});
    });
    sub.on_state([this](redis::state s) { states.push_back(s); });
  }
};

}  // namespace

TEST_CASE("redis: publish and subscribe round trip, binary payloads with NUL bytes", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::connection pub(io, opts(server.port()));
  listening s(io, opts(server.port()));
  s.sub.subscribe("socket.io-request#/#");
  pub.start();
  s.sub.start();
  REQUIRE(run_until(io, [&] { return pub.current() == redis::state::up && s.sub.current() == redis::state::up; }));

  const std::string payload("\x93\x00\xff\r\n$3\r\n\x00z", 11);
  long long receivers = -1;
  std::string error = "not called";
  pub.publish("socket.io-request#/#", payload, [&](std::string_view e, redis::reply r) {
    error = std::string(e);
    receivers = r.integer();
  });
  REQUIRE(run_until(io, [&] { return s.got.size() == 1 && receivers >= 0; }));
  CHECK(error.empty());
  CHECK(receivers == 1);
  CHECK(s.got[0].kind == redis::subscription::channel);
  CHECK(s.got[0].channel == "socket.io-request#/#");
  CHECK(s.got[0].payload == payload);
  CHECK(s.got[0].payload.size() == 11);

  // Subscribing while up (a room created later) is sent at once and confirmed.
  std::vector<std::string> confirmed;
  s.sub.on_subscribed([&](redis::subscription, std::string_view name) { confirmed.emplace_back(name); });
  s.sub.subscribe("socket.io#/#late#");
  s.sub.subscribe("socket.io#/#late#");  // a repeat is not sent again
  REQUIRE(run_until(io, [&] { return confirmed.size() == 1; }));
  pub.publish("socket.io#/#late#", "late");
  REQUIRE(run_until(io, [&] { return s.got.size() == 2; }));
  CHECK(s.got[1].channel == "socket.io#/#late#");
  CHECK(s.got[1].payload == "late");
  run_for(io, 50ms);
  CHECK(confirmed == std::vector<std::string>{"socket.io#/#late#"});
}

TEST_CASE("redis: psubscribe delivers the pattern and the concrete channel", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::connection pub(io, opts(server.port()));
  listening s(io, opts(server.port()));
  std::vector<std::string> confirmed;
  s.sub.on_subscribed([&](redis::subscription k, std::string_view name) {
    if (k == redis::subscription::pattern) confirmed.emplace_back(name);
  });
  s.sub.psubscribe("socket.io#/#*");
  pub.start();
  s.sub.start();
  REQUIRE(run_until(io, [&] { return pub.current() == redis::state::up && s.sub.current() == redis::state::up; }));
  CHECK(confirmed == std::vector<std::string>{"socket.io#/#*"});

  pub.publish("socket.io#/#room1#", "r1");
  pub.publish("socket.io#/chat#", "not matched");  // another namespace: not delivered
  pub.publish("socket.io#/#", "main");
  REQUIRE(run_until(io, [&] { return s.got.size() >= 2 && pub.pending() == 0; }));
  run_for(io, 100ms);  // let a wrongly delivered third message show up
  REQUIRE(s.got.size() == 2);
  CHECK(s.got[0].kind == redis::subscription::pattern);
  CHECK(s.got[0].pattern == "socket.io#/#*");
  CHECK(s.got[0].channel == "socket.io#/#room1#");
  CHECK(s.got[0].payload == "r1");
  CHECK(s.got[1].channel == "socket.io#/#");
  CHECK(s.got[1].payload == "main");

  // Unsubscribed patterns stop delivering.
  s.sub.punsubscribe("socket.io#/#*");
  long long n = -1;
  pub.publish("socket.io#/#room1#", "after", [&](std::string_view, redis::reply r) { n = r.integer(); });
  REQUIRE(run_until(io, [&] { return n >= 0; }));
  CHECK(n == 0);
  CHECK(s.sub.subscriptions(redis::subscription::pattern).empty());
}

TEST_CASE("redis: pipelined commands are answered in order, errors included", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::connection c(io, opts(server.port()));
  c.start();
  REQUIRE(run_until(io, [&] { return c.current() == redis::state::up; }));

  std::vector<std::string> answers;
  for (int i = 0; i < 200; ++i) {
    std::string v = std::to_string(i);
    if (i == 100) {
      c.command({"NO-SUCH-COMMAND"}, [&](std::string_view e, redis::reply r) {
        CHECK(r.is_error());
        answers.push_back("error:" + std::string(e.substr(0, 3)));
      });
    }
    c.command({"ECHO", v}, [&](std::string_view e, redis::reply r) {
      CHECK(e.empty());
      answers.emplace_back(r.str());
    });
  }
  CHECK(c.pending() == 201);
  REQUIRE(run_until(io, [&] { return answers.size() == 201; }));
  for (int i = 0, k = 0; i < 200; ++i, ++k) {
    if (i == 100) CHECK(answers[k++] == "error:ERR");
    CHECK(answers[k] == std::to_string(i));
  }
  CHECK(c.pending() == 0);
}

TEST_CASE("redis: PUBSUB NUMSUB and SHARDNUMSUB count subscribers", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::connection c(io, opts(server.port()));
  listening a(io, opts(server.port())), b(io, opts(server.port()));
  a.sub.subscribe("socket.io-request#/#");
  b.sub.subscribe("socket.io-request#/#");
  b.sub.ssubscribe("socket.io#/#");
  c.start();
  a.sub.start();
  b.sub.start();
  REQUIRE(run_until(io, [&] {
    return c.current() == redis::state::up && a.sub.current() == redis::state::up &&
           b.sub.current() == redis::state::up;
  }));

  std::vector<std::pair<std::string, long long>> numsub;
  long long shard = -1;
  c.command({"PUBSUB", "NUMSUB", "socket.io-request#/#", "nobody"}, [&](std::string_view e, redis::reply r) {
    CHECK(e.empty());
    REQUIRE(r.size() == 4);
    for (std::size_t i = 0; i + 1 < r.size(); i += 2) numsub.emplace_back(std::string(r[i].str()), r[i + 1].integer());
  });
  c.command({"PUBSUB", "SHARDNUMSUB", "socket.io#/#"}, [&](std::string_view e, redis::reply r) {
    CHECK(e.empty());
    shard = r[1].integer();
  });
  REQUIRE(run_until(io, [&] { return shard >= 0 && numsub.size() == 2; }));
  CHECK(numsub[0] == std::make_pair(std::string("socket.io-request#/#"), 2LL));
  CHECK(numsub[1] == std::make_pair(std::string("nobody"), 0LL));
  CHECK(shard == 1);
}

TEST_CASE("redis: SSUBSCRIBE receives SPUBLISH (sharded pub/sub, Redis 7)", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::connection pub(io, opts(server.port()));
  listening s(io, opts(server.port()));
  s.sub.ssubscribe("socket.io#/#");
  s.sub.ssubscribe("socket.io#/#35038863e72a3bd0#");
  pub.start();
  s.sub.start();
  REQUIRE(run_until(io, [&] { return pub.current() == redis::state::up && s.sub.current() == redis::state::up; }));

  const std::string msgpack("\x84\xa4type\x03\xc4\x00", 10);
  long long n = -1;
  pub.spublish("socket.io#/#35038863e72a3bd0#", msgpack, [&](std::string_view, redis::reply r) { n = r.integer(); });
  pub.publish("socket.io#/#", "plain PUBLISH does not reach shard subscribers");
  pub.spublish("socket.io#/#", "{}");
  REQUIRE(run_until(io, [&] { return s.got.size() >= 2 && pub.pending() == 0; }));
  run_for(io, 100ms);
  REQUIRE(s.got.size() == 2);
  CHECK(n == 1);
  CHECK(s.got[0].kind == redis::subscription::shard);
  CHECK(s.got[0].channel == "socket.io#/#35038863e72a3bd0#");
  CHECK(s.got[0].payload == msgpack);
  CHECK(s.got[1].channel == "socket.io#/#");
  CHECK(s.got[1].payload == "{}");
}

TEST_CASE("redis: a reply over max_reply_bytes closes the connection with one log line, then it reconnects", "[redis]") {
  redis_server server;
  asio::io_context io;
  captured_log cap;
  auto o = opts(server.port(), &cap.log);
  o.max_reply_bytes = 4096;
  redis::connection c(io, o);
  std::vector<redis::state> states;
  c.on_state([&](redis::state s) { states.push_back(s); });
  c.start();
  REQUIRE(run_until(io, [&] { return c.current() == redis::state::up; }));

  std::string big(100000, 'x');
  std::string set_error = "not called", get_error = "not called";
  c.command({"SET", "big", big}, [&](std::string_view e, redis::reply) { set_error = std::string(e); });
  c.command({"GET", "big"}, [&](std::string_view e, redis::reply r) {
    get_error = std::string(e);
    CHECK(r.is_nil());
  });
  REQUIRE(run_until(io, [&] { return get_error != "not called"; }));
  CHECK(set_error.empty());  // the command may be larger than the limit; only replies are bounded
  CHECK(get_error.find("max_reply_bytes") != std::string::npos);
  CHECK(cap.count("reply larger than max_reply_bytes (4096)") == 1);

  REQUIRE(run_until(io, [&] { return c.current() == redis::state::up; }));
  REQUIRE(states.size() >= 3);
  CHECK(states[0] == redis::state::up);
  CHECK(states[1] == redis::state::down);
  CHECK(states[2] == redis::state::up);
  std::string small;
  c.command({"STRLEN", "big"}, [&](std::string_view, redis::reply r) { small = std::to_string(r.integer()); });
  REQUIRE(run_until(io, [&] { return !small.empty(); }));
  CHECK(small == "100000");
  CHECK(cap.count("reconnected after") == 1);
}

namespace {

// A fake "Redis" that answers anything with `bytes`, on each connection, and counts connections.
struct hostile_server {
  asio::ip::tcp::acceptor acceptor;
  std::string bytes;
  int connections = 0;
  hostile_server(asio::io_context& io, std::string b)
      : acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), bytes(std::move(b)) {
    accept();
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  void accept() {
    acceptor.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket s) {
      if (ec) return;
      ++connections;
      auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
      auto buf = std::make_shared<std::array<char, 4096>>();
      sock->async_read_some(asio::buffer(*buf), [this, sock, buf](const asio::error_code& e, std::size_t) {
        if (e) return;
        asio::async_write(*sock, asio::buffer(bytes), [sock](const asio::error_code&, std::size_t) {
          // Keep the socket open: the client must be the one that gives up.
          auto keep = std::make_shared<std::array<char, 64>>();
          sock->async_read_some(asio::buffer(*keep), [sock, keep](const asio::error_code&, std::size_t) {});
        });
      });
      accept();
    });
  }
};

}  // namespace

TEST_CASE("redis: hostile replies are refused without a crash or a large allocation", "[redis]") {
  struct hostile_case {
    const char* name;
    std::string bytes;
    const char* log;
  };
  std::vector<hostile_case> cases = {
      // hiredis 0.14 would calloc 2^31 pointers for this header without the budget.
      {"huge array header", "*2147483647\r\n", "reply larger than max_reply_bytes"},
      {"nested arrays over the budget", "*8000\r\n*8000\r\n*8000\r\n", "reply larger than max_reply_bytes"},
      {"huge bulk string", "$999999999999\r\n" + std::string(70000, 'b'), "reply larger than max_reply_bytes"},
      {"endless status line", "+" + std::string(70000, 'a'), "reply larger than max_reply_bytes"},
      {"not RESP", "?garbage\r\n", "protocol error"},
  };
  for (auto& hc : cases) {
    SECTION(hc.name) {
      asio::io_context io;
      hostile_server fake(io, hc.bytes);
      captured_log cap;
      auto o = opts(fake.port(), &cap.log);
      o.max_reply_bytes = 64 * 1024;
      o.reconnect_initial = 50ms;
      o.reconnect_max = 50ms;
      redis::connection c(io, o);
      c.start();
      REQUIRE(run_until(io, [&] { return c.current() == redis::state::up; }));
      std::string error;
      c.command({"GET", "k"}, [&](std::string_view e, redis::reply) { error = std::string(e); });
      REQUIRE(run_until(io, [&] { return !error.empty(); }));
      CHECK(error.find(hc.log) != std::string::npos);
      CHECK(cap.count(hc.log) == 1);
      // It reconnects (and is refused again on its next command, but keeps running).
      REQUIRE(run_until(io, [&] { return fake.connections >= 2 && c.current() == redis::state::up; }));
    }
  }
}

TEST_CASE("redis: a server that accepts but never answers AUTH is given up after connect_timeout", "[redis]") {
  asio::io_context io;
  hostile_server silent(io, "");
  captured_log cap;
  auto o = opts(silent.port(), &cap.log);
  o.password = "x";
  o.connect_timeout = 200ms;
  o.reconnect_initial = 20ms;
  o.reconnect_max = 20ms;
  redis::connection c(io, o);
  std::vector<redis::state> states;
  c.on_state([&](redis::state s) { states.push_back(s); });
  c.start();
  REQUIRE(run_until(io, [&] { return silent.connections >= 3; }));
  CHECK(states == std::vector<redis::state>{redis::state::down});
  CHECK(cap.count("unreachable: connect timeout, retrying") == 1);
  CHECK(cap.lines.size() == 1);
}

TEST_CASE("redis: AUTH and SELECT after connecting; a wrong password is logged and retried", "[redis]") {
  redis_server server({"--requirepass", "s3cret"});
  asio::io_context io;
  auto o = opts(server.port());
  o.password = "s3cret";
  o.db = 3;
  redis::connection c3(io, o);
  o.db = 0;
  redis::connection c0(io, o);
  c3.start();
  c0.start();
  REQUIRE(run_until(io, [&] { return c3.current() == redis::state::up && c0.current() == redis::state::up; }));
  std::string set, in3 = "-", in0 = "-";
  c3.command({"SET", "k", "v"}, [&](std::string_view e, redis::reply) { set = e.empty() ? "ok" : std::string(e); });
  c3.command({"GET", "k"}, [&](std::string_view, redis::reply r) { in3 = r.is_nil() ? "nil" : std::string(r.str()); });
  c0.command({"GET", "k"}, [&](std::string_view, redis::reply r) { in0 = r.is_nil() ? "nil" : std::string(r.str()); });
  REQUIRE(run_until(io, [&] { return in3 != "-" && in0 != "-"; }));
  CHECK(set == "ok");
  CHECK(in3 == "v");
  CHECK(in0 == "nil");

  captured_log cap;
  auto bad = opts(server.port(), &cap.log);
  bad.password = "wrong";
  bad.reconnect_initial = 20ms;
  bad.reconnect_max = 40ms;
  redis::connection c(io, bad);
  std::vector<redis::state> states;
  c.on_state([&](redis::state s) { states.push_back(s); });
  c.start();
  REQUIRE(run_until(io, [&] { return !states.empty(); }));
  run_for(io, 300ms);  // several refused attempts
  CHECK(states == std::vector<redis::state>{redis::state::down});
  CHECK(cap.count("AUTH/SELECT refused") == 1);
  CHECK(cap.lines.size() == 1);
}

TEST_CASE("redis: Redis stopped and restarted: down/up, commands fail while down, subscriptions restored, one line per outage", "[redis]") {
  redis_server server;
  asio::io_context io;
  captured_log cap;
  redis::connection pub(io, opts(server.port(), &cap.log));
  listening s(io, opts(server.port(), &cap.log));
  std::vector<redis::state> pub_states;
  pub.on_state([&](redis::state st) { pub_states.push_back(st); });
  s.sub.subscribe("socket.io-request#/#");
  s.sub.psubscribe("socket.io#/#*");
  s.sub.ssubscribe("socket.io#/#");
  pub.start();
  s.sub.start();
  REQUIRE(run_until(io, [&] { return pub.current() == redis::state::up && s.sub.current() == redis::state::up; }));

  // A command waiting for its reply when the server goes away fails with an error too.
  server.stop();
  REQUIRE(run_until(io, [&] { return pub.current() == redis::state::down && s.sub.current() == redis::state::down; }));

  // While down: commands fail at once (posted, not queued), however many.
  int failed = 0;
  std::string why;
  for (int i = 0; i < 5; ++i)
    pub.publish("socket.io-request#/#", "lost", [&](std::string_view e, redis::reply r) {
      CHECK(r.is_nil());
      why = std::string(e);
      failed += !e.empty();
    });
  CHECK(pub.pending() == 0);
  REQUIRE(run_until(io, [&] { return failed == 5; }, 2s));
  CHECK(why.find("not connected") != std::string::npos);
  run_for(io, 800ms);  // several failed reconnect attempts: still one line each
  CHECK(cap.count("unreachable") == 2);
  CHECK(cap.count("redis command 127.0.0.1:" + std::to_string(server.port()) + " unreachable") == 1);
  CHECK(cap.count("redis subscriber 127.0.0.1:" + std::to_string(server.port()) + " unreachable") == 1);

  server.start();
  REQUIRE(run_until(io, [&] { return pub.current() == redis::state::up && s.sub.current() == redis::state::up; }, 30s));
  CHECK(pub_states == std::vector<redis::state>{redis::state::up, redis::state::down, redis::state::up});
  CHECK(s.states == std::vector<redis::state>{redis::state::up, redis::state::down, redis::state::up});
  CHECK(cap.count("reconnected after") == 2);

  // Every kind of subscription was restored before `up` was reported.
  pub.publish("socket.io-request#/#", "one");
  pub.publish("socket.io#/#room#", "two");
  pub.spublish("socket.io#/#", "three");
  REQUIRE(run_until(io, [&] { return s.got.size() == 3; }));
  CHECK(s.got[0].payload == "one");
  CHECK(s.got[1].payload == "two");
  CHECK(s.got[1].pattern == "socket.io#/#*");
  CHECK(s.got[2].payload == "three");
  CHECK(s.got[2].kind == redis::subscription::shard);
  CHECK(cap.count("unreachable") == 2);
}

TEST_CASE("redis: pending callbacks fail when the connection is closed or lost", "[redis]") {
  redis_server server;
  asio::io_context io;
  auto c = std::make_unique<redis::connection>(io, opts(server.port()));
  c->start();
  REQUIRE(run_until(io, [&] { return c->current() == redis::state::up; }));
  std::vector<std::string> errors;
  // BLPOP waits server-side, so its reply is still pending when we close.
  c->command({"BLPOP", "nothing", "5"}, [&](std::string_view e, redis::reply) { errors.emplace_back(e); });
  run_for(io, 50ms);
  CHECK(c->pending() == 1);
  c.reset();  // closes
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "redis connection closed");
}

TEST_CASE("redis: an owner that closes the connection from a failed command's callback hears nothing more", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::connection c(io, opts(server.port()));
  std::vector<redis::state> states;
  c.on_state([&](redis::state s) { states.push_back(s); });
  c.start();
  REQUIRE(run_until(io, [&] { return c.current() == redis::state::up; }));
  std::string error;
  c.command({"BLPOP", "nothing", "5"}, [&](std::string_view e, redis::reply) {
    error = std::string(e);
    c.close();
  });
  run_for(io, 50ms);
  server.stop();
  REQUIRE(run_until(io, [&] { return !error.empty(); }));
  CHECK(error.find("unavailable") != std::string::npos);
  CHECK(c.current() == redis::state::closed);
  run_for(io, 300ms);  // no reconnect attempt, no late notification
  CHECK(states == std::vector<redis::state>{redis::state::up});
}
