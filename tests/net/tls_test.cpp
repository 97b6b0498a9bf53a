// net::host over TLS (net/tls.hpp) with real peers on loopback: curl over https with keep-alive,
// portico::client over wss, plain HTTP / garbage / a silent client to the TLS port (each closed,
// the others unaffected), a client trusting another CA, client certificates. Certificates are
// made for each run by tests/support/make_certs.sh (openssl CLI).
#include <catch2/catch.hpp>

#include <portico/client/tls.hpp>
#include <portico/net/tls.hpp>

#include "loopback.hpp"

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace net = portico::net;
namespace pc = portico::client;
using namespace std::chrono_literals;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

/// A fresh temp dir of throwaway certificates (see make_certs.sh), removed with the object.
class cert_dir {
 public:
  cert_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "portico-net-tls-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    REQUIRE_FALSE(env("PORTICO_MAKE_CERTS").empty());
    const std::string cmd = "'" + env("PORTICO_MAKE_CERTS") + "' '" + dir_ + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  ~cert_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string operator()(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

struct log_capture {
  std::mutex mu;
  std::vector<std::string> lines;
  void attach(portico::logger& l) {
    l.set_sink([this](portico::log_level, std::string_view m) {
      std::lock_guard<std::mutex> g(mu);
      lines.emplace_back(m);
    });
  }
  bool contains(const std::string& s) {
    std::lock_guard<std::mutex> g(mu);
    for (auto& l : lines)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
};

template <class F>
bool eventually(F f) {
  for (int i = 0; i < 1000; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

net::host_options test_options() {
  net::host_options o;
  o.threads = 2;
  o.tick = 50ms;
  return o;
}

net::tls_options server_tls(const cert_dir& certs) {
  net::tls_options t;
  t.cert_chain_file = certs("server.pem");
  t.private_key_file = certs("server.key");
  return t;
}

/// Answers "<path> <client port>" (the port tells which connection carried the request), and
/// " <body size>" when the request has a body.
void whoami(net::request req, net::response res) {
  std::string a = std::string(req.path()) + " " + std::to_string(req.remote_endpoint().port());
  if (!req.body().empty()) a += " " + std::to_string(req.body().size());
  res.header("Content-Type", "text/plain").send(a);
}

/// Runs `cmd`; its stdout, and its exit status in `status`.
std::string run(const std::string& cmd, int& status) {
  std::string out;
  status = -1;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int st = ::pclose(p);
    status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  return out;
}

/// A blocking HTTPS client (keep-alive): Asio's SSL client, verifying against `ca` and "localhost".
class tls_client {
 public:
  tls_client(std::uint16_t port, const std::string& ca, const std::string& cert = {}, const std::string& key = {})
      : ctx_(asio::ssl::context::tls_client) {
    ctx_.load_verify_file(ca);
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    if (!cert.empty()) {
      ctx_.use_certificate_chain_file(cert);
      ctx_.use_private_key_file(key, asio::ssl::context::pem);
    }
    s_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, ctx_);  // after the context is set up
    s_->set_verify_callback(asio::ssl::host_name_verification("localhost"));
    SSL_set_tlsext_host_name(s_->native_handle(), "localhost");
    s_->next_layer().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  asio::error_code handshake() {
    asio::error_code ec;
    s_->handshake(asio::ssl::stream_base::client, ec);
    return ec;
  }
  /// Reads until the server ends the connection; true when it sent close_notify first (a clean
  /// TLS close: Asio reports eof, not stream_truncated).
  bool closed_cleanly() {
    char tmp[1024];
    asio::error_code ec;
    while (!ec) s_->read_some(asio::buffer(tmp), ec);
    return ec == asio::error::eof;
  }
  /// GET `path`; the body of the answer ("" when the connection failed).
  std::string get(const std::string& path, const std::string& extra = {}, const std::string& body = {}) {
    asio::error_code ec;
    const std::string req = (body.empty() ? "GET " : "POST ") + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra +
                            (body.empty() ? "" : "Content-Length: " + std::to_string(body.size()) + "\r\n") + "\r\n" + body;
    asio::write(*s_, asio::buffer(req), ec);
    if (ec) return {};
    const std::size_t head = asio::read_until(*s_, asio::dynamic_buffer(buf_), "\r\n\r\n", ec);
    if (ec) return {};
    std::string lower = buf_.substr(0, head);
    for (auto& ch : lower) ch = portico::detail::lower_ascii(ch);
    const auto at = lower.find("\r\ncontent-length: ");
    const std::string cl = at == std::string::npos ? std::string() : lower.substr(at + 18, lower.find('\r', at + 2) - at - 18);
    if (cl.empty()) {
      UNSCOPED_INFO("unexpected response: " << buf_);
      return {};
    }
    const std::size_t len = std::stoul(cl);
    if (buf_.size() < head + len) asio::read(*s_, asio::dynamic_buffer(buf_), asio::transfer_exactly(head + len - buf_.size()), ec);
    if (ec) return {};
    std::string answer = buf_.substr(head, len);
    buf_.erase(0, head + len);
    return answer;
  }

 private:
  asio::io_context io_;
  asio::ssl::context ctx_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> s_;
  std::string buf_;
};

/// Just enough Engine.IO 4 / Socket.IO 5 over a websocket for portico::client: the open packet,
/// the namespace connect, and every event acknowledged with its own arguments.
class eio_echo final : public net::websocket_handler {
 public:
  void on_open(const net::websocket& ws) override {
    ws.send_text(R"(0{"sid":"tls-test","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");
  }
  void on_message(const net::websocket& ws, std::string& m, bool) override {
    if (m.rfind("40", 0) == 0) return ws.send_text(R"(40{"sid":"tls-test-socket"})");
    if (m.rfind("42", 0) != 0) return;
    const auto bracket = m.find('[');
    if (bracket == std::string::npos || bracket == 2) return;  // no ack id
    ws.send_text("43" + m.substr(2, bracket - 2) + m.substr(bracket));
  }
};

/// A client of `url` with `ca`; "connect", or "connect_error:<message>".
std::string connect_client(pc::client& io, const std::string& url) {
  auto seen = std::make_shared<std::promise<std::string>>();
  auto once = std::make_shared<std::once_flag>();
  io.socket().on_connect([seen, once] { std::call_once(*once, [&] { seen->set_value("connect"); }); });
  io.socket().on_connect_error([seen, once](const pc::connect_error& e) {
    std::call_once(*once, [&] { seen->set_value("connect_error:" + e.message); });
  });
  auto f = seen->get_future();
  io.connect(url);
  return f.wait_for(15s) == std::future_status::ready ? f.get() : std::string("timeout");
}

pc::options client_options(const std::string& ca) {
  pc::options o;
  o.transports = {"websocket"};
  o.reconnection = false;
  o.open_timeout = 10s;
  o.tls.ca_file = ca;
  return o;
}

}  // namespace

TEST_CASE("https: curl --cacert sends two requests on one TLS connection, both answered", "[net][tls][curl]") {
  REQUIRE_FALSE(env("PORTICO_CURL").empty());
  cert_dir certs;
  net::host h(test_options());
  h.mount("/", whoami);
  const auto tls_port = h.listen_tls("127.0.0.1", 0, server_tls(certs));
  const auto plain_port = h.listen("127.0.0.1", 0);  // the same mounts, plain
  h.start();
  int status = 0;
  const std::string base = "https://localhost:" + std::to_string(tls_port);
  const std::string out = run("'" + env("PORTICO_CURL") + "' -sS --max-time 10 --cacert '" + certs("ca.pem") + "' " +
                                  base + "/first -w '\\n' " + base + "/second",
                              status);
  CHECK(status == 0);
  const auto nl = out.find('\n');
  REQUIRE(nl != std::string::npos);
  const std::string first = out.substr(0, nl), second = out.substr(nl + 1, out.size() - nl - 2);
  CHECK(first.rfind("/first ", 0) == 0);
  CHECK(second.rfind("/second ", 0) == 0);
  CHECK(first.substr(7) == second.substr(8));  // the same client port: curl reused the connection

  const std::string plain = run("'" + env("PORTICO_CURL") + "' -sS --max-time 10 http://127.0.0.1:" +
                                    std::to_string(plain_port) + "/plain", status);
  CHECK(status == 0);
  CHECK(plain.rfind("/plain ", 0) == 0);
}

TEST_CASE("wss: portico::client connects to a websocket mount over TLS and gets its acks", "[net][tls][client]") {
  cert_dir certs;
  net::host h(test_options());
  h.mount("/socket.io/", nullptr, [](const net::request&) { return net::upgrade::to(std::make_shared<eio_echo>()); });
  const auto port = h.listen_tls("127.0.0.1", 0, server_tls(certs));
  h.start();
  // Both names the certificate carries: the DNS SAN (and SNI) and the IP SAN.
  const std::string host = GENERATE(as<std::string>{}, "localhost", "127.0.0.1");
  pc::client io(client_options(certs("ca.pem")));
  REQUIRE(connect_client(io, "https://" + host + ":" + std::to_string(port)) == "connect");
  std::promise<std::string> acked;
  io.socket().emit_with_ack(
      "echo",
      [&](pc::ack_result& r) {
        acked.set_value(r.ok() && r.args().size() == 2 && r.args()[1].IsInt() ? std::to_string(r.args()[1].GetInt()) : "?");
      },
      10s, 42);
  auto f = acked.get_future();
  REQUIRE(f.wait_for(15s) == std::future_status::ready);
  CHECK(f.get() == "42");
  io.disconnect();
}

TEST_CASE("TLS: a client trusting another CA fails verification; the host goes on", "[net][tls][client]") {
  cert_dir certs;
  net::host h(test_options());
  log_capture logs;
  logs.attach(h.log());
  h.mount("/", whoami);
  h.mount("/socket.io/", nullptr, [](const net::request&) { return net::upgrade::to(std::make_shared<eio_echo>()); });
  const auto port = h.listen_tls("127.0.0.1", 0, server_tls(certs));
  h.start();
  {
    pc::client io(client_options(certs("other-ca.pem")));
    const std::string r = connect_client(io, "https://localhost:" + std::to_string(port));
    CHECK(r.rfind("connect_error:tls error: certificate verify failed", 0) == 0);
    io.disconnect();
  }
  int status = 0;
  run("'" + env("PORTICO_CURL") + "' -sS --max-time 10 --cacert '" + certs("other-ca.pem") + "' https://localhost:" +
          std::to_string(port) + "/ 2>/dev/null",
      status);
  CHECK(status == 60);  // curl: peer certificate cannot be authenticated with known CA certificates
  CHECK(eventually([&] { return logs.contains("net: TLS handshake with 127.0.0.1:"); }));
  tls_client good(port, certs("ca.pem"));
  REQUIRE_FALSE(good.handshake());
  CHECK(good.get("/after").rfind("/after ", 0) == 0);
}

TEST_CASE("TLS: plain HTTP, garbage and a silent client on the TLS port are closed; others go on", "[net][tls][limits]") {
  cert_dir certs;
  net::host h(test_options());
  log_capture logs;
  logs.attach(h.log());
  h.mount("/", whoami);
  auto tls = server_tls(certs);
  tls.handshake_timeout = 300ms;
  const auto port = h.listen_tls("127.0.0.1", 0, tls);
  h.start();

  tls_client good(port, certs("ca.pem"));
  REQUIRE_FALSE(good.handshake());
  const std::string before = good.get("/before");
  REQUIRE(before.rfind("/before ", 0) == 0);

  SECTION("plain HTTP") {
    net_test::client c(port);
    c.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    c.closed_by_server();
    CHECK(c.buffer().find("HTTP/1.1") == std::string::npos);  // no answer in clear
    CHECK(eventually([&] { return logs.contains("net: TLS handshake with 127.0.0.1:"); }));
  }
  SECTION("garbage") {
    net_test::client c(port);
    c.send(std::string(300, '\x16') + "\x03\x03\xff\xff garbage");
    c.closed_by_server();
    CHECK(eventually([&] { return logs.contains("net: TLS handshake with 127.0.0.1:"); }));
  }
  SECTION("a client that connects and sends nothing (or half a ClientHello) until handshake_timeout") {
    net_test::client silent(port);
    net_test::client half(port);
    half.send(std::string("\x16\x03\x01\x02\x00\x01", 6));
    CHECK(silent.closed_by_server());
    CHECK(half.closed_by_server());
    CHECK(logs.contains("not complete within handshake_timeout"));
  }
  // A body of many TLS records (and many reads) arrives whole.
  const std::string big(200000, 'x');
  CHECK(good.get("/body", {}, big) ==
        "/body " + before.substr(8) + " 200000");
  // The connection made before is untouched: the same connection answers again.
  const std::string after = good.get("/after");
  REQUIRE(after.rfind("/after ", 0) == 0);
  CHECK(after.substr(7) == before.substr(8));
  CHECK(h.connection_count() == 1);
}

TEST_CASE("TLS: a closing connection sends close_notify after its last answer", "[net][tls][http]") {
  cert_dir certs;
  net::host h(test_options());
  h.mount("/", whoami);
  // Answered later from another thread, with the connection closing: the close begins while the
  // connection is waiting for input.
  h.mount("/later", [](net::request, net::response res) {
    std::thread([r = std::move(res)]() mutable {
      std::this_thread::sleep_for(100ms);
      r.close_connection().send("later");
    }).detach();
  });
  const auto port = h.listen_tls("127.0.0.1", 0, server_tls(certs));
  h.start();
  {
    tls_client c(port, certs("ca.pem"));
    REQUIRE_FALSE(c.handshake());
    CHECK(c.get("/now", "Connection: close\r\n").rfind("/now ", 0) == 0);
    CHECK(c.closed_cleanly());
  }
  {
    tls_client c(port, certs("ca.pem"));
    REQUIRE_FALSE(c.handshake());
    CHECK(c.get("/later") == "later");
    CHECK(c.closed_cleanly());
  }
  CHECK(eventually([&] { return h.connection_count() == 0; }));
}

TEST_CASE("TLS: with ca_file a client needs a certificate of that CA", "[net][tls][mtls]") {
  cert_dir certs;
  net::host h(test_options());
  log_capture logs;
  logs.attach(h.log());
  h.mount("/", whoami);
  auto tls = server_tls(certs);
  tls.ca_file = certs("ca.pem");
  const auto port = h.listen_tls("127.0.0.1", 0, tls);
  h.start();
  tls_client with(port, certs("ca.pem"), certs("client.pem"), certs("client.key"));
  REQUIRE_FALSE(with.handshake());
  CHECK(with.get("/mtls").rfind("/mtls ", 0) == 0);
  // TLS 1.3: the server checks the client's certificate after the client's handshake returns;
  // the refusal shows on the first exchange.
  tls_client without(port, certs("ca.pem"));
  const bool refused = without.handshake() || without.get("/mtls").empty();
  CHECK(refused);
  CHECK(eventually([&] { return logs.contains("net: TLS handshake with 127.0.0.1:"); }));
}

TEST_CASE("TLS: unusable options throw, naming the option", "[net][tls]") {
  cert_dir certs;
  net::host h(test_options());
  auto tls = server_tls(certs);
  tls.private_key_file = certs("other.key");  // not the key of server.pem
  CHECK_THROWS_WITH(h.listen_tls("127.0.0.1", 0, tls), Catch::Contains("private_key_file"));
  tls = server_tls(certs);
  tls.cert_chain_file = certs("missing.pem");
  CHECK_THROWS_WITH(h.listen_tls("127.0.0.1", 0, tls), Catch::Contains("cert_chain_file"));
  tls = server_tls(certs);
  tls.ciphers = "NO-SUCH-CIPHER";
  CHECK_THROWS_WITH(h.listen_tls("127.0.0.1", 0, tls), Catch::Contains("ciphers"));
}

TEST_CASE("TLS: the example of docs/deployment.md", "[net][tls][docs]") {
  cert_dir certs;
  const std::string cert_pem = certs("server.pem"), key_pem = certs("server.key");
  // [doc:tls-host]
  namespace net = portico::net;
  net::host h;
  h.mount("/", [](net::request, net::response res) { res.send("hello over TLS\n"); });
  net::tls_options tls;
  tls.cert_chain_file = cert_pem;  // the certificate, then its intermediates
  tls.private_key_file = key_pem;
  const auto port = h.listen_tls("127.0.0.1", 0, tls);  // https:// and wss://
  h.listen("127.0.0.1", 0);                             // plain HTTP too: the same mounts
  h.start();
  // [/doc]
  int status = 0;
  CHECK(run("'" + env("PORTICO_CURL") + "' -sS --max-time 10 --cacert '" + certs("ca.pem") + "' https://localhost:" +
                std::to_string(port) + "/",
            status) == "hello over TLS\n");
  CHECK(status == 0);
  h.stop();
}
