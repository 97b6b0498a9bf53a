// portico load generator (issue 8): drives any Socket.IO v5 / Engine.IO v4 server over websocket,
// or a plain WebSocket echo server (--mode raw), from a few threads with many connections each.
//
// It speaks just enough of RFC 6455 for a client (masked frames out, unmasked in, ping -> pong,
// close), Engine.IO v4 (open, ping -> pong, message) and Socket.IO v5 (CONNECT, EVENT, ACK) to
// measure; it is not a general client. One JSON line per result goes to stdout.
//
// Scenarios:
//   echo     N clients, K acked "echo" events in flight each (closed loop), or --rate R msg/s in
//            total (open loop, latency from the intended send time): msg/s, RTT percentiles.
//   fanout   N receivers join room "bench"; one emitter sends "fanout" broadcasts with a window
//            of W broadcasts not yet delivered to everyone: deliveries/s, latency from the
//            timestamp in the payload.
//            With --port2, receivers alternate between the two servers (cross-process fan-out
//            through a cluster bus); the emitter stays on --port.
//   idle     connect N clients, hold them (answering pings): server RSS per connection.
//   connrate C connectors in a loop: connect + websocket upgrade + Engine.IO open (+ Socket.IO
//            CONNECT), then reset: completed handshakes/s.
//   poll     N Engine.IO long-polling clients (no upgrade): handshake GET, POST "40", GET the
//            CONNECT; then round trips: POST an acked "echo" event, GET until its ACK arrives.
//            One request in flight per client, on a kept-alive connection unless the server
//            answers `Connection: close` (then a TCP connection per request: counted).
//   http     N clients, one GET --path (/hello) in flight each, keep-alive as in `poll`:
//            requests/s, and TCP connections per request.
// Server CPU comes from /proc/<pid>/stat (--server-pid, plus --server-pid2: the sum of both),
// the generator's own from getrusage; --bus-pid reports a third process (redis-server) apart.
#include <asio.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using tcp = asio::ip::tcp;

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // shared by all processes: payload timestamps compare
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct options {
  std::string host = "127.0.0.1", path, scenario = "echo", mode = "sio", label = "server";
  unsigned short port = 0, port2 = 0;
  int clients = 100, inflight = 1, threads = 1, payload = 100, window = 4, concurrency = 64;
  double rate = 0, duration = 5, warmup = 1, hold = 2;
  int server_pid = 0, server_pid2 = 0, bus_pid = 0;
};
options opt;

/// Phase flags shared by every worker; written by the main thread only.
std::atomic<std::int64_t> window_start{INT64_MAX}, window_end{INT64_MAX};
std::atomic<bool> stopping{false};
std::atomic<int> ready_count{0}, joined_count{0}, failed_count{0};
std::atomic<bool> first_error_taken{false};
std::string first_error;  ///< written once (guarded by first_error_taken), printed on failure

bool in_window(std::int64_t t) {
  return t >= window_start.load(std::memory_order_relaxed) && t < window_end.load(std::memory_order_relaxed);
}

struct worker;
struct conn;

/// Per-thread results (only its own thread writes them).
struct stats {
  std::uint64_t done = 0, errors = 0, sent = 0;
  std::uint64_t http_requests = 0, tcp_connects = 0;  ///< inside the window (http and poll)
  std::vector<std::int64_t> lat;  ///< ns, completions inside the measuring window
  void record(std::int64_t t0, std::int64_t t1) {
    if (!in_window(t1)) return;
    ++done;
    lat.push_back(t1 - t0);
  }
};

struct hconn;
struct worker {
  asio::io_context io{1};
  std::vector<std::unique_ptr<conn>> conns;
  std::vector<std::unique_ptr<hconn>> hconns;
  stats st;
  std::size_t rr = 0;  ///< round robin cursor of the open-loop sender
  std::vector<conn*> dirty;
};
std::vector<std::unique_ptr<worker>> workers;

std::string pad_text;  ///< filler that makes the JSON argument about opt.payload bytes

enum class role { echo, receiver, emitter, idle, connector };

/// Fan-out bookkeeping: deliveries per broadcast, so the emitter knows when one has reached
/// every receiver. Indexed by seq modulo the ring size (the window is far smaller).
constexpr std::size_t fan_ring = 4096;
std::atomic<int> fan_count[fan_ring];
conn* fan_emitter = nullptr;
void emitter_completed();

struct conn {
  worker& w;
  tcp::socket sock;
  role r;
  std::vector<char> in;
  std::size_t in_len = 0;
  std::string out, writing_buf, frag;
  bool writing = false, is_dirty = false, closed = false, upgraded = false, ready = false;
  std::uint64_t next_id = 0;
  std::deque<std::pair<std::uint64_t, std::int64_t>> pending;  ///< ack id (raw: seq) -> send time
  std::int64_t t_start = 0;
  std::uint32_t mask;
  unsigned short port = opt.port;

  conn(worker& wk, role ro) : w(wk), sock(wk.io), r(ro) {
    static std::atomic<std::uint32_t> seed{0x9e3779b9u};
    mask = seed.fetch_add(0x61c88647u) | 0x01010101u;
  }

  void start() {
    t_start = now_ns();
    in.resize(4096);
    tcp::endpoint ep(asio::ip::make_address(opt.host), port);
    sock.async_connect(ep, [this](const asio::error_code& ec) {
      if (ec) return fail("connect", ec);
      sock.set_option(tcp::no_delay(true));
      std::string req = "GET " + opt.path + " HTTP/1.1\r\nHost: " + opt.host + ":" + std::to_string(port) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
      out += req;
      flush();
      read();
    });
  }

  void fail(const char* what = "protocol", const asio::error_code& ec = {}) {
    if (closed) return;
    if (!first_error_taken.exchange(true)) first_error = std::string(what) + (ec ? ": " + ec.message() : "");
    ++failed_count;
    ++w.st.errors;
    close();
  }
  void close() {
    if (closed) return;
    closed = true;
    asio::error_code ec;
    sock.set_option(asio::socket_base::linger(true, 0), ec);  // RST: no TIME_WAIT pile-up
    sock.close(ec);
    std::vector<char>().swap(in);
    std::string().swap(out);
    if (ready) --ready_count;
    ready = false;
  }

  // --- output ---
  void mark_dirty() {
    if (!is_dirty) {
      is_dirty = true;
      w.dirty.push_back(this);
    }
  }
  void send_frame(int opcode, const char* p, std::size_t n) {
    char h[14];
    std::size_t hl = 0;
    h[hl++] = char(0x80 | opcode);
    if (n < 126) {
      h[hl++] = char(0x80 | n);
    } else if (n < 65536) {
      h[hl++] = char(0x80 | 126);
      h[hl++] = char(n >> 8);
      h[hl++] = char(n);
    } else {
      h[hl++] = char(0x80 | 127);
      for (int i = 7; i >= 0; --i) h[hl++] = char(std::uint64_t(n) >> (8 * i));
    }
    std::memcpy(h + hl, &mask, 4);
    hl += 4;
    out.append(h, hl);
    std::size_t base = out.size();
    out.append(p, n);
    const unsigned char* m = reinterpret_cast<const unsigned char*>(&mask);
    for (std::size_t i = 0; i < n; ++i) out[base + i] = char(out[base + i] ^ m[i & 3]);
    mark_dirty();
  }
  void send_text(const std::string& s) { send_frame(1, s.data(), s.size()); }
  void flush() {
    is_dirty = false;
    if (writing || out.empty() || closed) return;
    writing = true;
    writing_buf.swap(out);
    asio::async_write(sock, asio::buffer(writing_buf), [this](const asio::error_code& ec, std::size_t) {
      writing = false;
      writing_buf.clear();
      if (ec) return fail("write", ec);
      if (!out.empty()) flush();
    });
  }

  // --- input ---
  void read() {
    if (closed) return;
    if (in.size() - in_len < 2048) in.resize(in.size() * 2);
    sock.async_read_some(asio::buffer(in.data() + in_len, in.size() - in_len),
                         [this](const asio::error_code& ec, std::size_t n) {
                           if (closed) return;
                           if (ec) return fail(upgraded ? "read" : "read (upgrade)", ec);
                           in_len += n;
                           parse();
                           for (conn* c : w.dirty) c->flush();
                           w.dirty.clear();
                           if (!closed) read();
                         });
  }
  void parse() {
    std::size_t pos = 0;
    if (!upgraded) {
      std::string_view v(in.data(), in_len);
      auto e = v.find("\r\n\r\n");
      if (e == std::string_view::npos) return;
      if (v.substr(0, 12) != "HTTP/1.1 101") return fail("upgrade refused");
      upgraded = true;
      pos = e + 4;
      if (opt.mode == "raw") became_ready();
    }
    while (!closed && in_len - pos >= 2) {
      auto* b = reinterpret_cast<const unsigned char*>(in.data() + pos);
      std::size_t avail = in_len - pos, hl = 2;
      std::uint64_t len = b[1] & 0x7f;
      if (len == 126) {
        if (avail < 4) break;
        len = (std::uint64_t(b[2]) << 8) | b[3];
        hl = 4;
      } else if (len == 127) {
        if (avail < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
        hl = 10;
      }
      if (b[1] & 0x80) hl += 4;  // servers do not mask; tolerate it anyway by skipping the key
      if (avail < hl + len) {
        if (in.size() < pos + hl + len + 2048) in.resize(pos + hl + len + 2048);
        break;
      }
      frame(b[0] & 0x0f, (b[0] & 0x80) != 0, in.data() + pos + hl, std::size_t(len));
      pos += hl + std::size_t(len);
    }
    if (closed) return;
    if (pos) {
      std::memmove(in.data(), in.data() + pos, in_len - pos);
      in_len -= pos;
    }
  }
  void frame(int op, bool fin, const char* p, std::size_t n) {
    switch (op) {
      case 0:  // continuation
        frag.append(p, n);
        if (fin) {
          std::string m;
          m.swap(frag);
          message(m.data(), m.size());
        }
        return;
      case 1:
      case 2:
        if (!fin) {
          frag.assign(p, n);
          return;
        }
        return message(p, n);
      case 8: return fail("close frame");
      case 9: return send_frame(10, p, n);
      default: return;
    }
  }

  // --- protocol ---
  void message(const char* p, std::size_t n) {
    std::int64_t t = now_ns();
    if (opt.mode == "raw") {
      if (pending.empty()) return void(++w.st.errors);
      w.st.record(pending.front().second, t);
      pending.pop_front();
      return after_reply();
    }
    if (n == 0) return;
    switch (p[0]) {
      case '0':  // Engine.IO open -> Socket.IO CONNECT to "/"
        send_text("40");
        return;
      case '2':  // Engine.IO ping
        send_text("3");
        return;
      case '1': return fail("engine.io close");
      case '4': break;
      default: return;
    }
    if (n < 2) return;
    switch (p[1]) {
      case '0': became_ready(); return;
      case '4': fail("connect_error"); return;
      case '1': fail("socket.io disconnect"); return;
      case '3': {  // ACK: 3<id>[...]
        std::uint64_t id = 0;
        std::size_t i = 2;
        while (i < n && p[i] >= '0' && p[i] <= '9') id = id * 10 + std::uint64_t(p[i++] - '0');
        return on_ack(id, t);
      }
      case '2': return on_event(p + 2, n - 2, t);
      default: return;
    }
  }

  void became_ready() {
    ready = true;
    ++ready_count;
    switch (r) {
      case role::echo:
        if (opt.rate <= 0)
          for (int i = 0; i < opt.inflight; ++i) send_echo(now_ns());
        return;
      case role::receiver: {
        std::string m = "42" + std::to_string(next_id) + "[\"join\"]";
        pending.emplace_back(next_id++, now_ns());
        send_text(m);
        return;
      }
      case role::connector:
        w.st.record(t_start, now_ns());
        close();
        return restart_connector();
      default: return;
    }
  }
  void restart_connector();

  void send_echo(std::int64_t t) {
    if (stopping.load(std::memory_order_relaxed) || closed) return;
    std::uint64_t id = next_id++;
    char buf[64];
    std::string m;
    if (opt.mode == "raw") {
      std::snprintf(buf, sizeof buf, "[\"echo\",{\"seq\":%" PRIu64 ",\"pad\":\"", id);
    } else {
      std::snprintf(buf, sizeof buf, "42%" PRIu64 "[\"echo\",{\"seq\":%" PRIu64 ",\"pad\":\"", id, id);
    }
    m.reserve(opt.payload + 48);
    m += buf;
    m += pad_text;
    m += "\"}]";
    pending.emplace_back(id, t);
    ++w.st.sent;
    send_text(m);
  }
  void after_reply() {
    if (r == role::echo && opt.rate <= 0) send_echo(now_ns());
  }
  void on_ack(std::uint64_t id, std::int64_t t) {
    auto it = pending.begin();
    while (it != pending.end() && it->first != id) ++it;
    if (it == pending.end()) return void(++w.st.errors);
    std::int64_t t0 = it->second;
    pending.erase(it);
    if (r == role::receiver) {
      ++joined_count;
      return;
    }
    w.st.record(t0, t);
    after_reply();
  }
  void on_event(const char* p, std::size_t n, std::int64_t t) {
    if (r != role::receiver) return;
    std::string_view v(p, n);
    auto s = v.find("\"seq\":"), ts = v.find("\"t\":");
    if (s == std::string_view::npos || ts == std::string_view::npos) return void(++w.st.errors);
    std::uint64_t seq = std::strtoull(p + s + 6, nullptr, 10);
    std::int64_t t0 = std::strtoll(p + ts + 4, nullptr, 10);
    w.st.record(t0, t);
    if (fan_count[seq % fan_ring].fetch_add(1, std::memory_order_acq_rel) + 1 == opt.clients) {
      fan_count[seq % fan_ring].store(0, std::memory_order_relaxed);
      asio::post(fan_emitter->w.io, emitter_completed);
    }
  }

  std::uint64_t fan_seq = 0;
  void send_broadcast() {
    if (stopping.load(std::memory_order_relaxed) || closed) return;
    char buf[96];
    std::snprintf(buf, sizeof buf, "42[\"fanout\",{\"seq\":%" PRIu64 ",\"t\":%" PRId64 ",\"pad\":\"", fan_seq++,
                  now_ns());
    std::string m = buf;
    m += pad_text;
    m += "\"}]";
    ++w.st.sent;
    send_text(m);
  }
};

void emitter_completed() {
  fan_emitter->send_broadcast();
  fan_emitter->flush();
}

void conn::restart_connector() {
  if (stopping.load(std::memory_order_relaxed)) return;
  auto c = std::make_unique<conn>(w, role::connector);
  conn* raw = c.get();
  w.conns.push_back(std::move(c));
  raw->start();
}

/// Open-loop sender: every tick, sends what the offered rate says is due by now, round robin
/// over ready connections, each stamped with its intended send time.
struct pacer {
  worker& w;
  asio::steady_timer timer;
  double rate;  ///< per worker, msg/s
  std::int64_t t0 = 0;
  std::uint64_t sent = 0;
  pacer(worker& wk, double r) : w(wk), timer(wk.io), rate(r) {}
  void start() {
    t0 = now_ns();
    tick();
  }
  void tick() {
    if (stopping.load(std::memory_order_relaxed)) return;
    std::int64_t t = now_ns();
    std::uint64_t due = std::uint64_t(double(t - t0) * rate / 1e9);
    std::size_t n = w.conns.size(), misses = 0;
    while (sent < due && n && misses < n) {
      conn* c = w.conns[w.rr++ % n].get();
      if (!c->ready || c->closed) {
        ++misses;
        continue;
      }
      misses = 0;
      c->send_echo(t0 + std::int64_t(double(sent) * 1e9 / rate));
      ++sent;
    }
    for (conn* c : w.dirty) c->flush();
    w.dirty.clear();
    timer.expires_after(std::chrono::microseconds(250));
    timer.async_wait([this](const asio::error_code& ec) {
      if (!ec) tick();
    });
  }
};

/// HTTP/1.1 client of the `poll` and `http` scenarios. One request in flight; the connection is
/// kept for the next request unless the response says `Connection: close` (or is HTTP/1.0 without
/// keep-alive): then it is reset after the response and the next request opens a new one, so a
/// server without keep-alive pays (and is charged for) a TCP connection per request.
struct hconn {
  worker& w;
  tcp::socket sock;
  bool polling;  ///< Engine.IO long-polling client (else plain GETs of opt.path)
  std::string in, req;
  std::size_t body_at = 0, body_len = 0;
  bool connected = false, closed = false, ready = false, until_eof = false, server_closes = false;
  std::int64_t t0 = 0;  ///< start of the current round trip (poll) or request (http)
  enum class phase { open, connect_post, connect_get, echo_post, echo_get } ph = phase::open;
  std::string sid;
  bool pong_due = false, acked = false;
  std::uint64_t next_id = 0;

  hconn(worker& wk, bool p) : w(wk), sock(wk.io), polling(p) {}

  void start() {
    in.reserve(4096);
    if (polling) return get(opt.path);
    t0 = now_ns();
    get(opt.path);
  }
  std::string host_line() const { return "Host: " + opt.host + ":" + std::to_string(opt.port) + "\r\n"; }
  std::string sid_path() const { return opt.path + "&sid=" + sid; }
  void get(const std::string& target) {
    send("GET " + target + " HTTP/1.1\r\n" + host_line() + "Connection: keep-alive\r\nAccept: */*\r\n\r\n");
  }
  void post(const std::string& target, const std::string& body) {
    send("POST " + target + " HTTP/1.1\r\n" + host_line() +
         "Connection: keep-alive\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  void send(std::string r) {
    if (closed) return;
    req = std::move(r);
    if (in_window(now_ns())) ++w.st.http_requests;
    if (connected) return write();
    if (in_window(now_ns())) ++w.st.tcp_connects;
    tcp::endpoint ep(asio::ip::make_address(opt.host), opt.port);
    sock.async_connect(ep, [this](const asio::error_code& ec) {
      if (ec) return fail("connect", ec);
      sock.set_option(tcp::no_delay(true));
      connected = true;
      write();
    });
  }
  void write() {
    in.clear();
    body_at = body_len = 0;
    until_eof = server_closes = false;
    asio::async_write(sock, asio::buffer(req), [this](const asio::error_code& ec, std::size_t) {
      if (ec) return fail("write", ec);
      read();
    });
  }
  void read() {
    std::size_t have = in.size();
    in.resize(have + 4096);
    sock.async_read_some(asio::buffer(&in[have], 4096), [this, have](const asio::error_code& ec, std::size_t n) {
      in.resize(have + n);
      if (ec) {
        if (ec == asio::error::eof && until_eof && body_at) return complete();
        return fail(body_at ? "read (body)" : "read (response)", ec);
      }
      if (!body_at && !parse_head()) return;
      if (!until_eof && in.size() >= body_at + body_len) return complete();
      read();
    });
  }
  static bool has_token(std::string_view v, std::string_view tok) {
    auto lower = [](char c) { return char(c >= 'A' && c <= 'Z' ? c + 32 : c); };
    for (std::size_t i = 0; i + tok.size() <= v.size(); ++i) {
      std::size_t k = 0;
      while (k < tok.size() && lower(v[i + k]) == tok[k]) ++k;
      if (k == tok.size()) return true;
    }
    return false;
  }
  /// False while the head is incomplete (or on a protocol error, after fail()).
  bool parse_head() {
    std::string_view v(in);
    auto e = v.find("\r\n\r\n");
    if (e == std::string_view::npos) return false;
    if (v.substr(0, 5) != "HTTP/") return fail("not HTTP"), false;
    bool http10 = v.substr(0, 8) == "HTTP/1.0", keep_alive = false, have_len = false;
    std::size_t pos = v.find("\r\n") + 2;
    while (pos < e) {
      std::size_t eol = v.find("\r\n", pos);
      std::string_view line = v.substr(pos, eol - pos);
      pos = eol + 2;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
      if (name.size() == 14 && has_token(name, "content-length")) {
        body_len = std::strtoull(std::string(value).c_str(), nullptr, 10);
        have_len = true;
      } else if (name.size() == 10 && has_token(name, "connection")) {
        if (has_token(value, "close")) server_closes = true;
        if (has_token(value, "keep-alive")) keep_alive = true;
      } else if (name.size() == 17 && has_token(name, "transfer-encoding") && has_token(value, "chunked")) {
        return fail("chunked responses are not supported"), false;
      }
    }
    if (http10 && !keep_alive) server_closes = true;
    if (!have_len) {
      if (!server_closes) return fail("response without length on a kept connection"), false;
      until_eof = true;
    }
    body_at = e + 4;
    return true;
  }
  void complete() {
    int status = std::atoi(in.c_str() + 9);
    std::string_view body(in);
    body = body.substr(body_at, until_eof ? std::string_view::npos : body_len);
    if (server_closes) reset_socket();
    if (status != 200) return fail(("HTTP " + std::to_string(status)).c_str());
    if (!polling) {
      w.st.record(t0, now_ns());
      if (!ready) became_ready();
      if (stopping.load(std::memory_order_relaxed)) return;
      t0 = now_ns();
      return get(opt.path);
    }
    on_poll_response(body);
  }
  void reset_socket() {
    asio::error_code ec;
    sock.set_option(asio::socket_base::linger(true, 0), ec);  // RST: no TIME_WAIT pile-up
    sock.close(ec);
    connected = false;
  }
  void became_ready() {
    ready = true;
    ++ready_count;
  }
  void fail(const char* what, const asio::error_code& ec = {}) {
    if (closed) return;
    if (!first_error_taken.exchange(true)) first_error = std::string(what) + (ec ? ": " + ec.message() : "");
    ++failed_count;
    ++w.st.errors;
    closed = true;
    if (ready) --ready_count;
    ready = false;
    reset_socket();
  }

  // --- Engine.IO long-polling ---
  void on_poll_response(std::string_view body) {
    switch (ph) {
      case phase::open: {
        auto k = body.find("\"sid\":\"");
        if (body.empty() || body[0] != '0' || k == std::string_view::npos) return fail("engine.io open");
        auto q = body.find('"', k + 7);
        sid.assign(body.substr(k + 7, q - (k + 7)));
        ph = phase::connect_post;
        return post(sid_path(), "40");
      }
      case phase::connect_post:
      case phase::echo_post:
        if (body != "ok") return fail("POST not ok");
        ph = ph == phase::connect_post ? phase::connect_get : phase::echo_get;
        return get(sid_path());
      case phase::connect_get:
      case phase::echo_get: break;
    }
    // A GET's payload: packets separated by 0x1e.
    while (!body.empty()) {
      auto sep = body.find('\x1e');
      std::string_view pk = body.substr(0, sep);
      body = sep == std::string_view::npos ? std::string_view() : body.substr(sep + 1);
      if (pk == "2") pong_due = true;
      else if (pk.size() >= 2 && pk[0] == '4' && pk[1] == '0') {
        if (!ready) became_ready();
      } else if (pk.size() >= 3 && pk[0] == '4' && pk[1] == '3') {
        std::uint64_t id = std::strtoull(std::string(pk.substr(2, 20)).c_str(), nullptr, 10);
        if (ph == phase::echo_get && id + 1 == next_id) acked = true;
        else ++w.st.errors;
      } else if (pk.size() >= 1 && pk[0] == '1') return fail("engine.io close");
      else if (pk.size() >= 2 && pk[0] == '4' && (pk[1] == '4' || pk[1] == '1')) return fail("socket.io refused");
    }
    if (ph == phase::connect_get && !ready) return get(sid_path());
    if (ph == phase::echo_get && !acked) return get(sid_path());
    if (ph == phase::echo_get) w.st.record(t0, now_ns());
    if (stopping.load(std::memory_order_relaxed)) return;
    send_echo();
  }
  void send_echo() {
    acked = false;
    ph = phase::echo_post;
    t0 = now_ns();
    char buf[80];
    std::uint64_t id = next_id++;
    std::snprintf(buf, sizeof buf, "%s42%" PRIu64 "[\"echo\",{\"seq\":%" PRIu64 ",\"pad\":\"",
                  pong_due ? "3\x1e" : "", id, id);
    pong_due = false;
    std::string m = buf;
    m += pad_text;
    m += "\"}]";
    ++w.st.sent;
    post(sid_path(), m);
  }
};

// --- measuring the processes ---
double self_cpu_s() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double process_cpu_s(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return -1;
  std::istringstream is(s.substr(rp + 2));
  std::string field;
  unsigned long long ut = 0, stt = 0;
  for (int i = 3; i <= 15 && is >> field; ++i) {  // fields 14 and 15: utime, stime (ticks)
    if (i == 14) ut = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stt = std::strtoull(field.c_str(), nullptr, 10);
  }
  return double(ut + stt) / double(sysconf(_SC_CLK_TCK));
}
/// Both servers' CPU when there are two (a cluster): what serving the clients cost in total.
double server_cpu_s() {
  if (!opt.server_pid) return -1;
  return process_cpu_s(opt.server_pid) + (opt.server_pid2 ? process_cpu_s(opt.server_pid2) : 0);
}
double bus_cpu_s() { return opt.bus_pid ? process_cpu_s(opt.bus_pid) : -1; }
long server_rss_kb() {
  if (!opt.server_pid) return -1;
  std::ifstream f("/proc/" + std::to_string(opt.server_pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::microseconds(std::int64_t(s * 1e6))); }

bool wait_for(const std::atomic<int>& v, int target, double timeout_s) {
  std::int64_t end = now_ns() + std::int64_t(timeout_s * 1e9);
  while (v.load() + failed_count.load() < target && now_ns() < end) sleep_s(0.005);
  return v.load() >= target;
}

/// Starts `n` connections of role `r` spread over the workers, at most `opt.concurrency`
/// handshakes outstanding at a time (a burst of 10k SYNs would overflow the listen backlog).
void connect_all(int n, role r) {
  int base = ready_count.load();
  for (int i = 0; i < n; ++i) {
    while (i - (ready_count.load() - base) - failed_count.load() >= opt.concurrency) sleep_s(0.0005);
    worker& w = *workers[std::size_t(i) % workers.size()];
    unsigned short port = opt.port2 && i % 2 ? opt.port2 : opt.port;
    asio::post(w.io, [&w, r, port] {  // the worker's list is touched on its own thread only
      w.conns.push_back(std::make_unique<conn>(w, r));
      w.conns.back()->port = port;
      w.conns.back()->start();
    });
  }
}

struct percentiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
percentiles summarize(std::vector<std::int64_t>& v) {
  percentiles r;
  if (v.empty()) return r;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return double(v[std::min(v.size() - 1, std::size_t(q * double(v.size())))]) / 1e3; };
  r.p50 = at(0.5);
  r.p99 = at(0.99);
  r.p999 = at(0.999);
  r.max = double(v.back()) / 1e3;
  long double s = 0;
  for (auto x : v) s += x;
  r.mean = double(s / v.size()) / 1e3;
  return r;
}

void usage() {
  std::fprintf(stderr,
               "usage: loadgen --port P [--scenario echo|fanout|idle|connrate|poll|http] [--mode sio|raw]\n"
               "  [--clients N] [--inflight K] [--rate R] [--duration S] [--warmup S] [--threads T]\n"
               "  [--payload BYTES] [--window W] [--concurrency C] [--hold S] [--server-pid PID]\n"
               "  [--port2 P --server-pid2 PID] [--bus-pid PID]\n"
               "  [--label NAME] [--path TARGET (default by scenario)]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--host") opt.host = v;
    else if (a == "--port") opt.port = static_cast<unsigned short>(std::atoi(v));
    else if (a == "--path") opt.path = v;
    else if (a == "--scenario") opt.scenario = v;
    else if (a == "--mode") opt.mode = v;
    else if (a == "--label") opt.label = v;
    else if (a == "--clients") opt.clients = std::atoi(v);
    else if (a == "--inflight") opt.inflight = std::atoi(v);
    else if (a == "--threads") opt.threads = std::max(1, std::atoi(v));
    else if (a == "--payload") opt.payload = std::atoi(v);
    else if (a == "--window") opt.window = std::atoi(v);
    else if (a == "--concurrency") opt.concurrency = std::max(1, std::atoi(v));
    else if (a == "--rate") opt.rate = std::atof(v);
    else if (a == "--duration") opt.duration = std::atof(v);
    else if (a == "--warmup") opt.warmup = std::atof(v);
    else if (a == "--hold") opt.hold = std::atof(v);
    else if (a == "--server-pid") opt.server_pid = std::atoi(v);
    else if (a == "--port2") opt.port2 = static_cast<unsigned short>(std::atoi(v));
    else if (a == "--server-pid2") opt.server_pid2 = std::atoi(v);
    else if (a == "--bus-pid") opt.bus_pid = std::atoi(v);
    else usage();
  }
  if (!opt.port) usage();
  if (opt.path.empty()) {
    if (opt.scenario == "http") opt.path = "/hello";
    else if (opt.scenario == "poll") opt.path = "/socket.io/?EIO=4&transport=polling";
    else opt.path = opt.mode == "raw" ? "/" : "/socket.io/?EIO=4&transport=websocket";
  }
  // The JSON argument {"seq":N,"pad":"..."} should be about opt.payload bytes.
  pad_text.assign(std::size_t(std::max(1, opt.payload - 24)), 'x');

  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  for (int i = 0; i < opt.threads; ++i) workers.push_back(std::make_unique<worker>());
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers) {
    guards.push_back(asio::make_work_guard(w->io));
    threads.emplace_back([&w] { w->io.run(); });
  }
  auto report_errors = [] {
    if (failed_count.load())
      std::fprintf(stderr, "loadgen: %d connection(s) failed; first: %s\n", failed_count.load(), first_error.c_str());
  };
  auto finish = [&](int rc) {
    report_errors();
    stopping = true;
    sleep_s(0.05);
    for (auto& w : workers) w->io.stop();
    for (auto& t : threads) t.join();
    std::fflush(stdout);
    std::_Exit(rc);  // sockets die with the process; no teardown to wait for
  };

  const std::string& sc = opt.scenario;
  double cpu0 = 0, scpu0 = 0, wall0 = 0, cpu1 = 0, scpu1 = 0, wall1 = 0, bcpu0 = 0, bcpu1 = 0, s2cpu0 = 0, s2cpu1 = 0;
  auto open_window = [&] {
    cpu0 = self_cpu_s();
    scpu0 = server_cpu_s();
    bcpu0 = bus_cpu_s();
    s2cpu0 = opt.server_pid2 ? process_cpu_s(opt.server_pid2) : 0;
    wall0 = double(now_ns()) / 1e9;
    window_start = now_ns();
  };
  auto close_window = [&] {
    window_end = now_ns();
    cpu1 = self_cpu_s();
    scpu1 = server_cpu_s();
    bcpu1 = bus_cpu_s();
    s2cpu1 = opt.server_pid2 ? process_cpu_s(opt.server_pid2) : 0;
    wall1 = double(now_ns()) / 1e9;
  };
  auto merged = [&] {
    stats all;
    for (auto& w : workers) {
      all.done += w->st.done;
      all.errors += w->st.errors;
      all.sent += w->st.sent;
      all.http_requests += w->st.http_requests;
      all.tcp_connects += w->st.tcp_connects;
      all.lat.insert(all.lat.end(), w->st.lat.begin(), w->st.lat.end());
    }
    return all;
  };
  auto common = [&](std::uint64_t done) {
    double wall = wall1 - wall0, lcpu = cpu1 - cpu0, scpu = scpu1 - scpu0;
    std::printf("\"label\":\"%s\",\"scenario\":\"%s\",\"mode\":\"%s\",\"clients\":%d,\"threads\":%d,"
                "\"wall_s\":%.3f,\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_util\":%.3f,\"server_cpu_s\":%.3f,"
                "\"server_cpu_util\":%.3f,\"server_cpu_us_per_op\":%.3f,\"errors\":%d",
                opt.label.c_str(), sc.c_str(), opt.mode.c_str(), opt.clients, opt.threads, wall, lcpu,
                wall > 0 ? lcpu / wall : 0, opt.server_pid ? scpu : -1, opt.server_pid && wall > 0 ? scpu / wall : -1,
                opt.server_pid && done ? scpu * 1e6 / double(done) : -1, failed_count.load());
    // The second server's share: what receiving from the bus costs (it has no emitter).
    if (opt.server_pid2) std::printf(",\"servers\":2,\"server2_cpu_s\":%.3f", s2cpu1 - s2cpu0);
    if (opt.bus_pid)
      std::printf(",\"bus_cpu_s\":%.3f,\"bus_cpu_us_per_op\":%.3f", bcpu1 - bcpu0,
                  done ? (bcpu1 - bcpu0) * 1e6 / double(done) : -1);
  };

  if (sc == "echo") {
    connect_all(opt.clients, role::echo);
    if (!wait_for(ready_count, opt.clients, 30)) {
      std::fprintf(stderr, "loadgen: only %d/%d clients connected\n", ready_count.load(), opt.clients);
      finish(1);
    }
    std::vector<std::unique_ptr<pacer>> pacers;
    if (opt.rate > 0)
      for (auto& w : workers) {
        pacers.push_back(std::make_unique<pacer>(*w, opt.rate / double(workers.size())));
        pacer* p = pacers.back().get();
        asio::post(w->io, [p] { p->start(); });
      }
    sleep_s(opt.warmup);
    open_window();
    sleep_s(opt.duration);
    close_window();
    stopping = true;
    sleep_s(0.1);
    for (auto& w : workers) w->io.stop();
    for (auto& t : threads) t.join();
    stats all = merged();
    percentiles p = summarize(all.lat);
    std::printf("{");
    common(all.done);
    std::printf(",\"inflight\":%d,\"offered_rate\":%.0f,\"msgs\":%" PRIu64 ",\"msg_per_s\":%.0f,\"p50_us\":%.1f,"
                "\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"payload\":%d,"
                "\"proto_errors\":%" PRIu64 "}\n",
                opt.rate > 0 ? 0 : opt.inflight, opt.rate, all.done, double(all.done) / (wall1 - wall0), p.p50, p.p99,
                p.p999, p.max, p.mean, opt.payload, all.errors);
    std::fflush(stdout);
    report_errors();
    std::_Exit(0);
  } else if (sc == "fanout") {
    connect_all(opt.clients, role::receiver);
    if (!wait_for(joined_count, opt.clients, 60)) {
      std::fprintf(stderr, "loadgen: only %d/%d receivers joined\n", joined_count.load(), opt.clients);
      finish(1);
    }
    worker& w0 = *workers[0];
    std::atomic<bool> emitter_up{false};
    asio::post(w0.io, [&] {
      auto c = std::make_unique<conn>(w0, role::emitter);
      fan_emitter = c.get();
      w0.conns.push_back(std::move(c));
      fan_emitter->start();
      emitter_up = true;
    });
    while (!emitter_up) sleep_s(0.001);
    if (!wait_for(ready_count, opt.clients + 1, 30)) {
      std::fprintf(stderr, "loadgen: the emitter did not connect\n");
      finish(1);
    }
    asio::post(w0.io, [] {
      for (int i = 0; i < opt.window; ++i) fan_emitter->send_broadcast();
      fan_emitter->flush();
    });
    sleep_s(opt.warmup);
    open_window();
    sleep_s(opt.duration);
    close_window();
    stopping = true;
    sleep_s(0.1);
    for (auto& w : workers) w->io.stop();
    for (auto& t : threads) t.join();
    stats all = merged();
    percentiles p = summarize(all.lat);
    std::printf("{");
    common(all.done);
    std::printf(",\"window\":%d,\"deliveries\":%" PRIu64 ",\"deliveries_per_s\":%.0f,\"broadcasts_per_s\":%.1f,"
                "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"payload\":%d,\"proto_errors\":%" PRIu64 "}\n",
                opt.window, all.done, double(all.done) / (wall1 - wall0),
                double(all.done) / (wall1 - wall0) / opt.clients, p.p50, p.p99, p.max, opt.payload, all.errors);
    std::fflush(stdout);
    report_errors();
    std::_Exit(0);
  } else if (sc == "idle") {
    long rss0 = server_rss_kb();
    std::int64_t t0 = now_ns();
    connect_all(opt.clients, role::idle);
    bool ok = wait_for(ready_count, opt.clients, 120);
    double conn_s = double(now_ns() - t0) / 1e9;
    sleep_s(1.0);  // let the server finish post-handshake work (timers, buffers)
    long rss1 = server_rss_kb();
    sleep_s(opt.hold);
    long rss2 = server_rss_kb();
    std::printf("{\"label\":\"%s\",\"scenario\":\"idle\",\"mode\":\"%s\",\"clients\":%d,\"connected\":%d,"
                "\"connect_s\":%.3f,\"rss_empty_kb\":%ld,\"rss_connected_kb\":%ld,\"rss_after_hold_kb\":%ld,"
                "\"rss_per_conn_kb\":%.2f,\"errors\":%d}\n",
                opt.label.c_str(), opt.mode.c_str(), opt.clients, ready_count.load(), conn_s, rss0, rss1, rss2,
                ready_count.load() ? double(std::max(rss1, rss2) - rss0) / ready_count.load() : -1,
                failed_count.load());
    finish(ok ? 0 : 1);
  } else if (sc == "connrate") {
    for (auto& w : workers) {
      worker* wp = w.get();
      int per = std::max(1, opt.concurrency / int(workers.size()));
      asio::post(w->io, [wp, per] {
        for (int i = 0; i < per; ++i) {
          auto c = std::make_unique<conn>(*wp, role::connector);
          conn* raw = c.get();
          wp->conns.push_back(std::move(c));
          raw->start();
        }
      });
    }
    sleep_s(opt.warmup);
    open_window();
    sleep_s(opt.duration);
    close_window();
    stopping = true;
    sleep_s(0.1);
    for (auto& w : workers) w->io.stop();
    for (auto& t : threads) t.join();
    stats all = merged();
    percentiles p = summarize(all.lat);
    std::printf("{");
    common(all.done);
    std::printf(",\"concurrency\":%d,\"handshakes\":%" PRIu64 ",\"conn_per_s\":%.0f,\"p50_us\":%.1f,"
                "\"p99_us\":%.1f,\"max_us\":%.1f}\n",
                opt.concurrency, all.done, double(all.done) / (wall1 - wall0), p.p50, p.p99, p.max);
    std::fflush(stdout);
    report_errors();
    std::_Exit(0);
  } else if (sc == "poll" || sc == "http") {
    bool polling = sc == "poll";
    for (int i = 0; i < opt.clients; ++i) {
      while (i - ready_count.load() - failed_count.load() >= opt.concurrency) sleep_s(0.0005);
      worker& w = *workers[std::size_t(i) % workers.size()];
      asio::post(w.io, [&w, polling] {
        w.hconns.push_back(std::make_unique<hconn>(w, polling));
        w.hconns.back()->start();
      });
    }
    if (!wait_for(ready_count, opt.clients, 30)) {
      std::fprintf(stderr, "loadgen: only %d/%d clients ready\n", ready_count.load(), opt.clients);
      finish(1);
    }
    sleep_s(opt.warmup);
    open_window();
    sleep_s(opt.duration);
    close_window();
    stopping = true;
    sleep_s(0.1);
    for (auto& w : workers) w->io.stop();
    for (auto& t : threads) t.join();
    stats all = merged();
    percentiles p = summarize(all.lat);
    double wall = wall1 - wall0;
    std::printf("{");
    common(all.done);
    std::printf(",\"ops\":%" PRIu64 ",\"ops_per_s\":%.0f,\"%s\":%.0f,\"http_requests\":%" PRIu64
                ",\"tcp_connects\":%" PRIu64 ",\"connects_per_request\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                "\"max_us\":%.1f,\"payload\":%d,\"proto_errors\":%" PRIu64 "}\n",
                all.done, double(all.done) / wall, polling ? "round_trips_per_s" : "requests_per_s",
                double(all.done) / wall, all.http_requests, all.tcp_connects,
                all.http_requests ? double(all.tcp_connects) / double(all.http_requests) : 0.0, p.p50, p.p99, p.max,
                opt.payload, all.errors);
    std::fflush(stdout);
    report_errors();
    std::_Exit(0);
  }
  usage();
}
