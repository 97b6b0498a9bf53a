// Bounded soak test (issue 12): thousands of clients against one multi-worker Socket.IO server, in
// rounds, in one process (server workers and the client io_context on separate threads).
//
// Each round: C websocket clients and P long-polling clients connect and join a room ("r<i % rooms>",
// plus "all", joined on connect). A foreign thread then broadcasts B events round-robin over the
// rooms and "all", each carrying its room and a per-room sequence number. Meanwhile:
//   - slow consumers (small SO_RCVBUF) stop reading for a while, then catch up;
//   - leavers drop their connection abruptly (half RST, half FIN), without a Socket.IO disconnect;
//   - half of the polling clients upgrade to websocket while broadcasts flow (the websocket may land
//     on another worker: the session migrates).
// Every client that stayed must have received every broadcast to its rooms, in order, exactly once.
// Then everyone leaves; once the server has no session left, malloc_trim(0) and the process RSS and
// heap in use (mallinfo2) are measured. The run fails if anything was lost, if the heap after a
// round is not back near the baseline, or if it grows from round 2 on.
//
// Usage: soak [--clients N] [--polling N] [--rounds N] [--workers N] [--rooms N] [--broadcasts N]
//             [--interval-us N] [--pad N] [--slow PERMILLE] [--leave PERMILLE] [--timeout S]
#include <portico/socketio/server.hpp>

#include <asio.hpp>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct settings {
  int clients = 2000;      ///< websocket clients per round
  int polling = 100;       ///< long-polling clients per round (half of them upgrade)
  int rounds = 4;
  int workers = 4;         ///< server I/O workers
  int rooms = 10;
  int broadcasts = 600;    ///< per round, round-robin over the rooms and "all"
  int interval_us = 5000;  ///< between two broadcasts
  int pad = 200;           ///< bytes of padding per broadcast
  int slow = 50;           ///< per mille of websocket clients that pause reading
  int leave = 100;         ///< per mille of websocket clients that drop their connection mid-round
  int timeout = 170;       ///< seconds for the whole run (a watchdog ends it)
};
settings cfg;

// ------------------------------------------------------------------ the shared view of a round

/// What the orchestrator (main thread) and the clients (client thread) share during a round.
struct round_state {
  std::uint16_t port = 0;
  std::string path;
  std::atomic<int> joined{0};    ///< clients whose join was acknowledged
  std::atomic<int> complete{0};  ///< staying clients that have every broadcast
  std::atomic<int> failed{0};    ///< clients that saw a protocol error, a loss or a reordering
  std::atomic<int> migrated{0};  ///< polling clients whose upgrade completed
  std::atomic<int> finished{0};  ///< clients done leaving
  std::vector<long> expected;    ///< broadcasts per target; written before `expected_set` (release)
  std::atomic<bool> expected_set{false};
  std::mutex mu;
  std::string first_error;  ///< guarded by mu
  void fail(const std::string& why) {
    if (failed.fetch_add(1) == 0) {
      std::lock_guard<std::mutex> g(mu);
      first_error = why;
    }
  }
};

std::string target_name(int t) { return t == cfg.rooms ? "all" : "r" + std::to_string(t); }

// ------------------------------------------------------------------ one client

enum class kind { websocket, polling, migrating };
enum class role { stay, slow, leave_rst, leave_fin };

/// One Socket.IO client: websocket, long-polling, or long-polling that upgrades. It speaks just
/// enough RFC 6455 (masked frames out, unmasked in), Engine.IO v4 and Socket.IO v5 for the soak.
/// Everything runs on the single client thread.
class client : public std::enable_shared_from_this<client> {
 public:
  client(asio::io_context& ioc, round_state& rs, int index, kind k, role r)
      : ioc_(ioc), rs_(rs), index_(index), kind_(k), role_(r), room_(index % cfg.rooms),
        last_(std::size_t(cfg.rooms) + 1, 0), timer_(ioc) {}

  void start() {
    if (kind_ == kind::websocket) open_ws(false);
    else http("GET", "", [self = shared_from_this()](std::string body) { self->on_payload(body); });
  }
  /// Broadcasting starts: slow consumers pause, leavers and migrating clients pick their moment.
  void broadcasting(std::chrono::milliseconds span, std::mt19937& rng) {
    if (left_ || broken_) return;
    auto at = std::chrono::milliseconds(std::uniform_int_distribution<long>(0, long(span.count()))(rng));
    auto self = shared_from_this();
    if (role_ == role::slow) {
      paused_ = true;
      timer_.expires_after(span / 2 + at / 2);
      timer_.async_wait([self](const asio::error_code&) {
        self->paused_ = false;
        if (!self->reading_ && self->ws_) self->read_ws();
      });
    } else if (role_ == role::leave_rst || role_ == role::leave_fin || kind_ == kind::migrating) {
      timer_.expires_after(at);
      timer_.async_wait([self](const asio::error_code& ec) {
        if (ec) return;
        if (self->kind_ == kind::migrating) self->open_ws(true);
        else self->drop();
      });
    }
  }
  void check_complete() {
    if (counted_complete_ || !staying() || !rs_.expected_set.load(std::memory_order_acquire)) return;
    if (last_[std::size_t(room_)] == rs_.expected[std::size_t(room_)] &&
        last_[std::size_t(cfg.rooms)] == rs_.expected[std::size_t(cfg.rooms)]) {
      counted_complete_ = true;
      rs_.complete.fetch_add(1);
    }
  }
  /// The polite end of a round: a Socket.IO disconnect, then the Engine.IO / websocket close.
  void leave() {
    if (left_) return;
    left_ = true;
    if (broken_) return finish();
    if (ws_ && ws_ready_) {
      send_ws(1, "41");
      send_ws(8, std::string("\x03\xe8", 2));  // close 1000
      closing_ = true;
    } else {
      http("POST", std::string("41\x1e") + "1", [self = shared_from_this()](std::string) { self->finish(); });
    }
  }
  bool staying() const { return (role_ == role::stay || role_ == role::slow) && !broken_; }
  /// Called once every staying client has its last broadcasts: a gap means a lost broadcast.
  void check_gaps() {
    if (staying() && !missing_.empty()) fail("lost " + missing_.front() + " (" + std::to_string(missing_.size()) + " lost)");
  }

 private:
  // ---------------------------------------------------------------- Engine.IO / Socket.IO
  void fail(const std::string& why) {
    if (broken_) return;
    broken_ = true;
    static const char* const kinds[] = {"websocket", "polling", "migrating"};
    rs_.fail("client " + std::to_string(index_) + " (" + kinds[int(kind_)] +
             (kind_ == kind::migrating ? std::string(ws_ready_ ? ", upgrade started" : "") +
                                             (probe_ok_ ? ", probe answered" : "") + (upgrading_ ? "" : ", upgraded")
                                       : std::string()) +
             "): " + why);
    if (ws_) {
      asio::error_code ec;
      ws_->close(ec);
    }
    finish();
  }
  void finish() {
    if (finished_) return;
    finished_ = true;
    rs_.finished.fetch_add(1);
  }
  void send_eio(std::string p) {
    if (ws_ && ws_ready_ && !upgrading_) return send_ws(1, p);
    http("POST", std::move(p), [](std::string) {});
  }
  void on_payload(const std::string& body) {
    std::size_t at = 0;
    while (at <= body.size()) {
      auto end = body.find('\x1e', at);
      if (end == std::string::npos) end = body.size();
      if (end > at) on_packet(std::string_view(body).substr(at, end - at));
      at = end + 1;
    }
  }
  void on_packet(std::string_view p) {
    switch (p[0]) {
      case '0': {  // open
        if (kind_ == kind::websocket) return send_eio("40");
        auto k = p.find("\"sid\":\"");
        if (k == std::string_view::npos) return fail("open packet without sid");
        sid_ = std::string(p.substr(k + 7, p.find('"', k + 7) - (k + 7)));
        send_eio("40");
        return poll();
      }
      case '2': return send_eio("3");
      case '3':
        if (p == "3probe") return probe_answered();
        return;
      case '6': return;
      case '4': return on_socketio(p.substr(1));
      case '1':
        if (!left_) fail("server closed the session");
        return;
      default: return fail("unexpected packet " + std::string(p.substr(0, 20)));
    }
  }
  void on_socketio(std::string_view p) {
    if (p.rfind("0{", 0) == 0) return send_eio("421[\"join\",\"" + target_name(room_) + "\"]");
    if (p.rfind("31[", 0) == 0) {
      rs_.joined.fetch_add(1);
      return;
    }
    if (p.rfind("2[\"b\",\"", 0) == 0) {
      auto name_end = p.find('"', 7);
      auto name = p.substr(7, name_end - 7);
      int t = name == "all" ? cfg.rooms : std::atoi(std::string(name.substr(1)).c_str());
      long seq = std::atol(std::string(p.substr(name_end + 2, 12)).c_str());
      if (t != cfg.rooms && t != room_) return fail("broadcast to " + std::string(name) + " reached room " + target_name(room_));
      auto& last = last_[std::size_t(t)];
      history_ += " " + std::string(name) + ":" + std::to_string(seq) + (via_ws_ ? "w" : "p");
      if (history_.size() > 400) history_.erase(0, history_.size() - 400);
      if (seq <= last) {
        bool was_missing = std::find(missing_.begin(), missing_.end(), std::string(name) + " " + std::to_string(seq)) != missing_.end();
        return fail(std::string(name) + ": got " + std::to_string(seq) + (via_ws_ ? " over websocket" : " over polling") +
                    " after " + std::to_string(last) + (last_via_ws_[std::size_t(t)] ? " over websocket" : " over polling") +
                    (was_missing ? " (late, not lost)" : " (twice)") + "; received:" + history_);
      }
      for (long m = last + 1; m < seq; ++m) missing_.push_back(std::string(name) + " " + std::to_string(m));
      last = seq;
      last_via_ws_[std::size_t(t)] = via_ws_;
      return check_complete();
    }
    fail("unexpected Socket.IO packet " + std::string(p.substr(0, 20)));
  }

  // ---------------------------------------------------------------- long-polling
  std::string query() const {
    std::string q = rs_.path + "?EIO=4&transport=polling";
    if (!sid_.empty()) q += "&sid=" + sid_;
    return q;
  }
  void poll() {
    if (left_ || broken_ || upgrading_ || ws_ready_) return;
    get_in_flight_ = true;
    http("GET", "", [self = shared_from_this()](std::string body) {
      self->get_in_flight_ = false;
      self->via_ws_ = false;
      self->on_payload(body);
      if (self->upgrading_ && self->probe_ok_) return self->complete_upgrade();
      if (self->left_) return;
      self->poll();
    });
  }
  /// One HTTP request on its own connection (the server closes plain HTTP after one response).
  template <class F>
  void http(const char* method, std::string body, F done) {
    struct exchange {
      explicit exchange(asio::io_context& ioc) : sock(ioc) {}
      tcp::socket sock;
      std::string out, in;
    };
    auto x = std::make_shared<exchange>(ioc_);
    x->out = std::string(method) + " " + query() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (*method == 'P') x->out += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    x->out += "\r\n" + body;
    auto self = shared_from_this();
    x->sock.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), rs_.port),
                          [self, x, done](const asio::error_code& ec) mutable {
      if (ec) return self->fail("HTTP connect: " + ec.message());
      asio::async_write(x->sock, asio::buffer(x->out), [self, x, done](const asio::error_code& ec, std::size_t) mutable {
        if (ec) return self->fail("HTTP write: " + ec.message());
        asio::async_read(x->sock, asio::dynamic_buffer(x->in), [self, x, done](const asio::error_code& ec, std::size_t) mutable {
          if (ec && ec != asio::error::eof) return self->fail("HTTP read: " + ec.message());
          auto head = x->in.find("\r\n\r\n");
          if (x->in.rfind("HTTP/1.1 200", 0) != 0 || head == std::string::npos)
            return self->fail("HTTP answer: " + x->in.substr(0, 60));
          done(x->in.substr(head + 4));
        });
      });
    });
  }

  // ---------------------------------------------------------------- websocket
  void open_ws(bool upgrade) {
    if (left_ || broken_) return;
    upgrading_ = upgrade;
    ws_ = std::make_unique<tcp::socket>(ioc_);
    ws_->open(tcp::v4());
    if (role_ == role::slow) ws_->set_option(asio::socket_base::receive_buffer_size(4096));
    std::string q = rs_.path + "?EIO=4&transport=websocket";
    if (upgrade) q += "&sid=" + sid_;
    ws_out_.push_back("GET " + q + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    auto self = shared_from_this();
    ws_->async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), rs_.port), [self](const asio::error_code& ec) {
      if (ec) return self->fail("websocket connect: " + ec.message());
      self->write_ws();
      self->read_ws();
    });
  }
  void send_ws(int opcode, const std::string& payload) {
    std::string f;
    f.push_back(char(0x80 | opcode));
    if (payload.size() < 126) {
      f.push_back(char(0x80 | payload.size()));
    } else {
      f.push_back(char(0x80 | 126));
      f.push_back(char(payload.size() >> 8));
      f.push_back(char(payload.size() & 0xff));
    }
    f.append(4, '\0');  // masking key 0: the payload goes out as is
    f += payload;
    ws_out_.push_back(std::move(f));
    if (!writing_) write_ws();
  }
  void write_ws() {
    if (ws_out_.empty() || !ws_ || broken_) {
      if (closing_ && ws_out_.empty() && ws_) {
        asio::error_code ec;
        ws_->shutdown(tcp::socket::shutdown_send, ec);
      }
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(*ws_, asio::buffer(ws_out_.front()), [self](const asio::error_code& ec, std::size_t) {
      self->writing_ = false;
      if (ec) {
        if (!self->left_) self->fail("websocket write: " + ec.message());
        return;
      }
      self->ws_out_.pop_front();
      self->write_ws();
    });
  }
  void read_ws() {
    if (paused_ || !ws_) return;
    reading_ = true;
    auto self = shared_from_this();
    ws_->async_read_some(asio::buffer(buf_), [self](const asio::error_code& ec, std::size_t n) {
      self->reading_ = false;
      if (ec) {
        if (self->left_) return self->finish();
        return self->fail("websocket read: " + ec.message());
      }
      self->ws_in_.append(self->buf_.data(), n);
      if (!self->parse_ws()) return;
      self->read_ws();
    });
  }
  /// False when the connection is done with.
  bool parse_ws() {
    if (!ws_ready_) {
      auto head = ws_in_.find("\r\n\r\n");
      if (head == std::string::npos) return true;
      if (ws_in_.rfind("HTTP/1.1 101", 0) != 0) {
        fail("websocket handshake: " + ws_in_.substr(0, 60));
        return false;
      }
      ws_in_.erase(0, head + 4);
      ws_ready_ = true;
      if (upgrading_) {
        history_ += " [probe]";
        send_ws(1, "2probe");
      }
    }
    std::size_t at = 0;
    for (;;) {
      if (ws_in_.size() - at < 2) break;
      auto b0 = std::uint8_t(ws_in_[at]), b1 = std::uint8_t(ws_in_[at + 1]);
      std::size_t len = b1 & 0x7f, hdr = 2;
      if (len == 126) {
        if (ws_in_.size() - at < 4) break;
        len = (std::size_t(std::uint8_t(ws_in_[at + 2])) << 8) | std::uint8_t(ws_in_[at + 3]);
        hdr = 4;
      } else if (len == 127) {
        if (ws_in_.size() - at < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | std::uint8_t(ws_in_[at + 2 + std::size_t(i)]);
        hdr = 10;
      }
      if (ws_in_.size() - at < hdr + len) break;
      std::string_view payload(ws_in_.data() + at + hdr, len);
      at += hdr + len;
      int op = b0 & 0x0f;
      if (op == 1) {
        via_ws_ = true;
        on_packet(payload);
      }
      else if (op == 9) send_ws(10, std::string(payload));
      else if (op == 8) {
        if (!left_) fail("websocket closed by the server");
        else finish();
        return false;
      }
      if (broken_) return false;
    }
    ws_in_.erase(0, at);
    return true;
  }
  void probe_answered() {
    probe_ok_ = true;
    if (!get_in_flight_) complete_upgrade();
  }
  /// The polling transport is paused (no GET in flight): switch, as socket.io-client does.
  void complete_upgrade() {
    if (!upgrading_ || !probe_ok_) return;
    upgrading_ = false;
    history_ += " [upgrade]";
    send_ws(1, "5");
    rs_.migrated.fetch_add(1);
  }
  /// An abrupt leave: no Socket.IO disconnect, no close frame.
  void drop() {
    left_ = true;
    if (ws_) {
      asio::error_code ec;
      if (role_ == role::leave_rst) ws_->set_option(asio::socket_base::linger(true, 0), ec);
      ws_->close(ec);
    }
    finish();
  }

  asio::io_context& ioc_;
  round_state& rs_;
  int index_;
  kind kind_;
  role role_;
  int room_;
  std::vector<long> last_;  ///< last sequence number seen per target
  std::vector<std::string> missing_;  ///< "<room> <seq>" skipped so far
  std::string history_;               ///< the last receipts, for the report of a failure
  std::vector<bool> last_via_ws_ = std::vector<bool>(std::size_t(cfg.rooms) + 1, false);
  asio::steady_timer timer_;
  std::string sid_;
  std::unique_ptr<tcp::socket> ws_;
  std::array<char, 16384> buf_{};
  std::string ws_in_;
  std::deque<std::string> ws_out_;
  bool writing_ = false, reading_ = false, paused_ = false, ws_ready_ = false, closing_ = false;
  bool upgrading_ = false, probe_ok_ = false, get_in_flight_ = false;
  bool left_ = false, broken_ = false, finished_ = false, counted_complete_ = false, via_ws_ = false;
};

// ------------------------------------------------------------------ measuring

struct memory {
  double rss_mb = 0, heap_mb = 0;
};
memory measure() {
  malloc_trim(0);
  memory m;
  long pages = 0, resident = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> pages >> resident;
  m.rss_mb = double(resident) * double(sysconf(_SC_PAGESIZE)) / 1048576.0;
  struct mallinfo2 mi = mallinfo2();
  m.heap_mb = double(mi.uordblks + mi.hblkhd) / 1048576.0;
  return m;
}
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

template <class P>
bool wait_until(P pred, std::chrono::seconds limit) {
  auto end = steady::now() + limit;
  while (!pred()) {
    if (steady::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

struct round_result {
  bool ok = false;
  std::string error;
  int staying = 0, complete = 0, migrated = 0;
  long deliveries = 0;
  double seconds = 0, peak_mb = 0;
  memory after;
};

round_result run_round(portico::socketio::server& io, int round) {
  round_result res;
  auto t0 = steady::now();
  round_state rs;
  rs.port = io.port();
  rs.path = io.engine().options().path;
  rs.expected.assign(std::size_t(cfg.rooms) + 1, 0);
  std::mt19937 rng(std::uint32_t(1234 + round));
  asio::io_context ioc(1);
  std::vector<std::shared_ptr<client>> clients;
  const int total = cfg.clients + cfg.polling;
  for (int i = 0; i < total; ++i) {
    kind k = i < cfg.clients ? kind::websocket : ((i - cfg.clients) % 2 ? kind::migrating : kind::polling);
    role r = role::stay;
    if (k == kind::websocket) {
      int d = int(std::uint32_t(i * 7919 + round) % 1000);
      if (d < cfg.leave / 2) r = role::leave_rst;
      else if (d < cfg.leave) r = role::leave_fin;
      else if (d < cfg.leave + cfg.slow) r = role::slow;
    }
    clients.push_back(std::make_shared<client>(ioc, rs, i, k, r));
    res.staying += r == role::stay || r == role::slow;
  }
  auto fail = [&](std::string why) {
    res.error = std::move(why);
    ioc.stop();
    return res;
  };
  auto guard = asio::make_work_guard(ioc);
  std::thread client_thread([&] { ioc.run(); });
  struct joiner {
    std::thread& t;
    ~joiner() { if (t.joinable()) t.join(); }
  } join_client{client_thread};
  auto on_clients = [&](auto f) {
    std::atomic<bool> done{false};
    asio::post(ioc, [&] { f(); done = true; });
    wait_until([&] { return done.load(); }, 30s);
  };

  // 1. connect and join, at most 200 handshakes in flight (the listen backlog is 1024)
  reset_peak();
  for (int i = 0; i < total; i += 200) {
    on_clients([&] { for (int j = i; j < std::min(total, i + 200); ++j) clients[std::size_t(j)]->start(); });
    if (!wait_until([&] { return rs.joined.load() + rs.failed.load() >= std::min(total, i + 200); }, 60s))
      return fail("clients did not join in 60 s: " + std::to_string(rs.joined.load()) + " joined");
  }
  if (rs.failed) return fail("joining: " + rs.first_error);
  if (io.engine().session_count() != std::size_t(total))
    return fail("server has " + std::to_string(io.engine().session_count()) + " sessions for " + std::to_string(total));

  // 2. broadcasts from a foreign thread, while clients pause, drop and migrate
  auto span = std::chrono::milliseconds(std::int64_t(cfg.broadcasts) * cfg.interval_us / 1000);
  on_clients([&] { for (auto& c : clients) c->broadcasting(span, rng); });
  std::vector<long> sent(std::size_t(cfg.rooms) + 1, 0);
  std::string pad(std::size_t(cfg.pad), 'x');
  auto next = steady::now();
  for (int b = 0; b < cfg.broadcasts; ++b) {
    int t = b % (cfg.rooms + 1);
    auto name = target_name(t);
    io.to(name).emit("b", name, ++sent[std::size_t(t)], pad);
    next += std::chrono::microseconds(cfg.interval_us);
    std::this_thread::sleep_until(next);
  }
  rs.expected = sent;
  rs.expected_set.store(true, std::memory_order_release);
  on_clients([&] { for (auto& c : clients) c->check_complete(); });
  wait_until([&] { return rs.complete.load() + rs.failed.load() >= res.staying; }, 60s);
  on_clients([&] { for (auto& c : clients) c->check_gaps(); });
  res.complete = rs.complete;
  res.migrated = rs.migrated;
  for (int i = 0; i < total; ++i)
    if (clients[std::size_t(i)]->staying()) res.deliveries += sent[std::size_t(i % cfg.rooms)] + sent.back();
  if (rs.failed) return fail(std::to_string(rs.failed.load()) + " clients failed; first: " + rs.first_error);
  if (res.complete != res.staying)
    return fail(std::to_string(res.staying - res.complete) + " staying clients still miss broadcasts after 60 s");
  res.peak_mb = peak_rss_mb();

  // 3. everyone leaves; the server must drop every session
  on_clients([&] { for (auto& c : clients) c->leave(); });
  if (!wait_until([&] { return io.engine().session_count() == 0; }, 30s))
    return fail(std::to_string(io.engine().session_count()) + " sessions left on the server 30 s after the clients left");
  if (!wait_until([&] { return rs.finished.load() >= total; }, 30s))
    return fail(std::to_string(total - rs.finished.load()) + " clients did not finish leaving");
  guard.reset();
  ioc.stop();
  client_thread.join();
  clients.clear();
  res.seconds = seconds_since(t0);
  res.after = measure();
  res.ok = true;
  return res;
}

int usage() {
  std::fprintf(stderr,
               "usage: soak [--clients N] [--polling N] [--rounds N] [--workers N] [--rooms N] [--broadcasts N]\n"
               "            [--interval-us N] [--pad N] [--slow PERMILLE] [--leave PERMILLE] [--timeout S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  struct flag {
    const char* name;
    int* value;
  } flags[] = {{"--clients", &cfg.clients}, {"--polling", &cfg.polling}, {"--rounds", &cfg.rounds},
               {"--workers", &cfg.workers}, {"--rooms", &cfg.rooms}, {"--broadcasts", &cfg.broadcasts},
               {"--interval-us", &cfg.interval_us}, {"--pad", &cfg.pad}, {"--slow", &cfg.slow},
               {"--leave", &cfg.leave}, {"--timeout", &cfg.timeout}};
  for (int i = 1; i < argc; ++i) {
    bool known = false;
    for (auto& f : flags)
      if (std::strcmp(argv[i], f.name) == 0 && i + 1 < argc) {
        *f.value = std::atoi(argv[++i]);
        known = true;
      }
    if (!known) return usage();
  }
  if (cfg.rounds < 1 || cfg.rooms < 1 || cfg.clients < 0 || cfg.polling < 0 || cfg.workers < 1) return usage();

  // Two descriptors per client (its end and the server's), plus polling requests in flight.
  const rlim_t need = rlim_t(cfg.clients + cfg.polling) * 2 + 2 * rlim_t(cfg.polling) + 256;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < need) {
    lim.rlim_cur = std::min(need, lim.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < need) {
    std::fprintf(stderr, "soak: needs %lu file descriptors, the hard limit is %lu\n", (unsigned long)need,
                 (unsigned long)lim.rlim_max);
    return 2;
  }

  // The watchdog: the run is bounded whatever happens.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(cfg.timeout));
    std::fprintf(stderr, "soak: FAILED: still running after %d s\n", cfg.timeout);
    std::fflush(stderr);
    std::_Exit(1);
  }).detach();

  auto start = steady::now();
  portico::socketio::server_options o;
  o.engine.threads = unsigned(cfg.workers);
  o.engine.stop_grace = 500ms;
  portico::socketio::server io(o);
  std::atomic<int> warnings{0};
  io.log().set_level(portico::log_level::warn);
  io.engine().log().set_level(portico::log_level::warn);
  auto count = [&](portico::log_level, std::string_view) { warnings.fetch_add(1); };
  io.log().set_sink(count);
  io.engine().log().set_sink(count);
  io.on_connect([](portico::socketio::socket& s) { s.join("all"); });
  io.on("join", [](portico::socketio::socket& s, const portico::socketio::args& a) {
    s.join(a[0].IsString() ? a[0].GetString() : "");
    return 1;
  });
  io.listen("127.0.0.1", 0);
  io.start();
  std::this_thread::sleep_for(100ms);
  memory baseline = measure();
  std::printf("soak: %d websocket + %d polling clients, %d rounds, %d workers, %d rooms, %d broadcasts per round, "
              "fd limit %lu\n",
              cfg.clients, cfg.polling, cfg.rounds, cfg.workers, cfg.rooms, cfg.broadcasts, (unsigned long)lim.rlim_cur);
  std::printf("baseline: rss %.1f MB, heap in use %.1f MB\n", baseline.rss_mb, baseline.heap_mb);
  std::fflush(stdout);

  std::vector<round_result> results;
  bool ok = true;
  for (int r = 1; r <= cfg.rounds && ok; ++r) {
    auto res = run_round(io, r);
    if (!res.ok) {
      std::printf("round %d: FAILED: %s\n", r, res.error.c_str());
      ok = false;
      break;
    }
    std::printf("round %d: %.1f s, %d staying (%d complete, %d migrated), %ld deliveries checked, peak rss %.1f MB, "
                "after: rss %.1f MB, heap in use %.1f MB\n",
                r, res.seconds, res.staying, res.complete, res.migrated, res.deliveries, res.peak_mb,
                res.after.rss_mb, res.after.heap_mb);
    std::fflush(stdout);
    results.push_back(res);
  }

  // Memory: back near the baseline after every round (generous: allocator caches, per-thread
  // arenas), and no growth from round 2 on (round 1 warms the caches).
  const double near_mb = 32, growth_mb = 16, heap_near_mb = 8, heap_growth_mb = 2;
  for (std::size_t i = 0; ok && i < results.size(); ++i) {
    const auto& m = results[i].after;
    if (m.rss_mb > baseline.rss_mb + near_mb || m.heap_mb > baseline.heap_mb + heap_near_mb) {
      std::printf("round %zu: FAILED: memory not back near the baseline\n", i + 1);
      ok = false;
    }
    if (i >= 1 && (m.rss_mb > results[1].after.rss_mb + growth_mb || m.heap_mb > results[1].after.heap_mb + heap_growth_mb)) {
      std::printf("round %zu: FAILED: memory grew since round 2\n", i + 1);
      ok = false;
    }
  }
  io.stop();
  std::printf("soak: %s in %.1f s (%d warnings logged by the server)\n", ok ? "passed" : "FAILED", seconds_since(start),
              warnings.load());
  return ok ? 0 : 1;
}
