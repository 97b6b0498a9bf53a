// portico::client over TLS against a real peer: npm socket.io 4.8 on https.createServer
// (tls_server.js), with certificates made for this run by tests/support/make_certs.sh.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "portico/client/tls.hpp"
#include "cert_dir.hpp"
#include "peer_process.hpp"

namespace pc = portico::client;
using namespace std::chrono_literals;

namespace {

/// tls_server.js serving certificate `name` (server, other, wrong-host) plus `extra` arguments.
std::unique_ptr<peer_process> start_tls_server(const cert_dir& certs, const std::string& name,
                                               std::vector<std::string> extra = {}) {
  REQUIRE_FALSE(env("PORTICO_NODE").empty());
  std::vector<std::string> argv{env("PORTICO_NODE"), env("PORTICO_TLS_SERVER"), "--port", "0", "--max-seconds", "60",
                                "--cert", certs(name + ".pem"), "--key", certs(name + ".key")};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<peer_process>(std::move(argv));
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

/// What a socket reports: "connect", "connect_error:<message>", "answer:<n>".
struct watch {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;

  explicit watch(pc::socket& s) {
    s.on_connect([this] { note("connect"); });
    s.on_connect_error([this](const pc::connect_error& e) { note("connect_error:" + e.message); });
    s.on("answer", [this](pc::event& e) { note("answer:" + std::to_string(e.args()[0].GetInt())); });
  }
  void note(std::string what) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(std::move(what));
    cv.notify_all();
  }
  /// The first report starting with one of `prefixes`, or "" after `t`.
  std::string wait(std::vector<std::string> prefixes, std::chrono::milliseconds t = 10s) {
    std::unique_lock<std::mutex> l(mu);
    std::string found;
    cv.wait_for(l, t, [&] {
      for (const auto& s : seen)
        for (const auto& p : prefixes)
          if (s.rfind(p, 0) == 0) return found = s, true;
      return false;
    });
    return found;
  }
};

/// Sends `event` with `arg` and waits for the ack; its first argument as JSON text ("" on failure).
template <class... A>
std::string call(pc::socket& s, const std::string& event, const A&... a) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto f = done->get_future();
  s.emit_with_ack(
      event,
      [done](pc::ack_result& r) {
        std::string text;
        if (r.ok() && r.args().size() > 0) {
          portico::json::string_sink sink{&text};
          portico::json::writer w(sink);
          r.args()[0].Accept(w);
        }
        done->set_value(text);
      },
      10s, a...);
  return f.wait_for(15s) == std::future_status::ready ? f.get() : std::string();
}

pc::options tls_client_options(const cert_dir& certs, const std::string& transports) {
  pc::options o;
  o.transports = split(transports);
  o.reconnection = false;
  o.open_timeout = 10s;
  o.tls.ca_file = certs("ca.pem");
  return o;
}

std::string url(const std::string& host, int port) { return "https://" + host + ":" + std::to_string(port); }

}  // namespace

TEST_CASE("TLS: polling, websocket and the upgrade against npm socket.io over https", "[tls]") {
  const std::string transports = GENERATE(as<std::string>{}, "websocket", "polling", "polling,websocket");
  // 127.0.0.1 is checked against the certificate's IP SAN, localhost against its DNS SAN (and sent as SNI).
  const std::string host = GENERATE(as<std::string>{}, "127.0.0.1", "localhost");
  INFO("transports " << transports << ", host " << host);
  cert_dir certs;
  auto srv = start_tls_server(certs, "server");

  pc::client c(tls_client_options(certs, transports));
  watch w(c.socket());
  c.socket().on("question", [](pc::event& e) { return e.args()[0].GetInt() * 2; });
  c.connect(url(host, srv->port()));
  REQUIRE(w.wait({"connect"}) == "connect");

  if (transports == "polling,websocket") {
    // The upgrade happens over TLS too: the server sees the websocket in the end.
    std::string seen;
    for (int i = 0; i < 100 && seen != "\"websocket\""; ++i) {
      seen = call(c.socket(), "transport");
      if (seen != "\"websocket\"") std::this_thread::sleep_for(100ms);
    }
    CHECK(seen == "\"websocket\"");
    CHECK(c.transport() == "websocket");
  }

  const std::string hello = call(c.socket(), "hello", "over tls");
  CHECK(hello.find(R"("echo":"over tls")") != std::string::npos);
  CHECK(hello.find(transports == "polling" ? R"("transport":"polling")" : R"("transport":"websocket")") !=
        std::string::npos);
  if (host == "localhost") CHECK(hello.find(R"("servername":"localhost")") != std::string::npos);
  CHECK(hello.find(R"("client_cn":"")") != std::string::npos);

  // The server asks with an ack, the client's handler answers, the server reports the answer.
  c.socket().emit("ask", 21);
  CHECK(w.wait({"answer:"}) == "answer:42");
}

TEST_CASE("TLS over IPv6 loopback: https://[::1] is checked against the IP SAN ::1", "[tls]") {
  const std::string transports = GENERATE(as<std::string>{}, "websocket", "polling");
  INFO("transports " << transports);
  cert_dir certs;
  auto srv = start_tls_server(certs, "server", {"--host", "::1"});
  pc::client c(tls_client_options(certs, transports));
  watch w(c.socket());
  c.connect(url("[::1]", srv->port()));
  REQUIRE(w.wait({"connect"}) == "connect");
  CHECK(call(c.socket(), "hello", "v6").find(R"("echo":"v6")") != std::string::npos);
}

TEST_CASE("TLS: a certificate from another CA fails the connect with a verification error", "[tls]") {
  const std::string transports = GENERATE(as<std::string>{}, "websocket", "polling");
  INFO("transports " << transports);
  cert_dir certs;
  auto srv = start_tls_server(certs, "other");
  pc::client c(tls_client_options(certs, transports));
  watch w(c.socket());
  c.connect(url("127.0.0.1", srv->port()));
  const std::string r = w.wait({"connect"});
  CHECK(r == "connect_error:tls error: certificate verify failed (unable to get local issuer certificate)");
  CHECK_FALSE(c.socket().connected());
}

TEST_CASE("TLS: a certificate for another host name fails the connect", "[tls]") {
  const std::string transports = GENERATE(as<std::string>{}, "websocket", "polling");
  const std::string host = GENERATE(as<std::string>{}, "127.0.0.1", "localhost");
  INFO("transports " << transports << ", host " << host);
  cert_dir certs;
  auto srv = start_tls_server(certs, "wrong-host");  // signed by our CA, names not-this-host.invalid only
  pc::client c(tls_client_options(certs, transports));
  watch w(c.socket());
  c.connect(url(host, srv->port()));
  const std::string r = w.wait({"connect"});
  CHECK(r == std::string("connect_error:tls error: certificate verify failed (") +
                 (host == "localhost" ? "hostname mismatch)" : "IP address mismatch)"));
  CHECK_FALSE(c.socket().connected());
}

TEST_CASE("TLS: verify = false connects to any server and warns once per client", "[tls]") {
  const std::string transports = GENERATE(as<std::string>{}, "websocket", "polling,websocket");
  INFO("transports " << transports);
  cert_dir certs;
  auto srv = start_tls_server(certs, "other");  // a CA the client does not trust
  std::mutex mu;
  std::vector<std::string> lines;
  portico::logger log("test");
  log.set_sink([&](portico::log_level, std::string_view m) {
    std::lock_guard<std::mutex> l(mu);
    lines.emplace_back(m);
  });
  pc::options o = tls_client_options(certs, transports);
  o.tls.verify = false;
  o.tls.ca_file = certs("no-such-file.pem");  // not read when nothing is verified
  o.log = &log;
  pc::client c(o);
  watch w(c.socket());
  c.connect(url("127.0.0.1", srv->port()));
  REQUIRE(w.wait({"connect"}) == "connect");
  CHECK(call(c.socket(), "hello", 1).find(R"("echo":1)") != std::string::npos);
  c.disconnect();
  c.connect(url("localhost", srv->port()));  // again, to another host name: no second warning
  for (int i = 0; i < 300 && !c.socket().connected(); ++i) std::this_thread::sleep_for(50ms);  // 15 s: loaded CI
  CHECK(c.socket().connected());
  std::lock_guard<std::mutex> l(mu);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("tls_options::verify is false") != std::string::npos);
}

TEST_CASE("TLS: a client certificate for servers that ask for one", "[tls]") {
  const std::string transports = GENERATE(as<std::string>{}, "websocket", "polling");
  INFO("transports " << transports);
  cert_dir certs;
  auto srv = start_tls_server(certs, "server", {"--client-ca", certs("ca.pem")});
  {
    pc::options o = tls_client_options(certs, transports);
    o.tls.cert_file = certs("client.pem");
    o.tls.key_file = certs("client.key");
    pc::client c(o);
    watch w(c.socket());
    c.connect(url("127.0.0.1", srv->port()));
    REQUIRE(w.wait({"connect"}) == "connect");
    CHECK(call(c.socket(), "hello", 1).find(R"("client_cn":"portico test client")") != std::string::npos);
  }
  pc::client without(tls_client_options(certs, transports));
  watch w(without.socket());
  without.connect(url("127.0.0.1", srv->port()));
  CHECK(w.wait({"connect"}).rfind("connect_error:", 0) == 0);
}

TEST_CASE("TLS: unusable certificate options throw from connect", "[tls]") {
  cert_dir certs;
  {
    pc::options o;
    o.tls.ca_file = certs("no-such-file.pem");
    pc::client c(o);
    try {
      c.connect("https://127.0.0.1:1");
      FAIL("connect should have thrown");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("tls_options::ca_file") != std::string::npos);
    }
  }
  pc::options o;
  o.tls.ca_file = certs("ca.pem");
  o.tls.cert_file = certs("client.pem");  // without its key
  CHECK_THROWS_AS(pc::client(o).connect("wss://127.0.0.1:1"), std::invalid_argument);
}

TEST_CASE("TLS: the example of docs/client.md", "[tls]") {
  cert_dir certs;
  auto srv = start_tls_server(certs, "server");
  const std::string ca_pem = certs("ca.pem");
  const int port = srv->port();
  std::promise<void> up;
  // [doc:tls-client]
  namespace pc = portico::client;
  pc::options opts;
  opts.transports = {"polling", "websocket"};
  opts.tls.ca_file = ca_pem;  // the CA to trust; without it, the system's store
  pc::client io(opts);
  io.socket().on_connect([&up] { up.set_value(); });
  io.socket().on_connect_error([](const pc::connect_error& e) {
    // e.g. "tls error: certificate verify failed (hostname mismatch)"
    std::fprintf(stderr, "%s\n", e.message.c_str());
  });
  io.connect("https://localhost:" + std::to_string(port));  // SNI and host check: "localhost"
  // [/doc]
  CHECK(up.get_future().wait_for(10s) == std::future_status::ready);
}
