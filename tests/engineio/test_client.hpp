#pragma once
// Tiny blocking HTTP and WebSocket clients over POSIX sockets, for loopback tests only.
// Every read has a timeout so a broken server fails a test instead of hanging it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_client {

using headers_t = std::vector<std::pair<std::string, std::string>>;

/// `rcvbuf` > 0 shrinks the socket's receive buffer (before connecting, so the window is small
/// from the start): a client that does not read then fills the server's queues quickly.
inline int connect_loopback(std::uint16_t port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

inline bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads what is available within `timeout_ms`; 0 = EOF, -1 = error, -2 = timeout.
inline int read_some(int fd, std::string& into, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r == 0) return -2;
  if (r < 0) return -1;
  char buf[8192];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0) return -1;
  into.append(buf, static_cast<std::size_t>(n));
  return static_cast<int>(n);
}

inline std::string lower(std::string s) {
  for (auto& c : s) c = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  return s;
}

struct http_response {
  int status = 0;  ///< 0 = no (complete) response
  headers_t headers;
  std::string body;
  std::string header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == lower(std::string(name))) return v;
    return {};
  }
};

/// Parses status line and headers of `raw`; returns the offset of the body or npos.
inline std::size_t parse_head(const std::string& raw, int& status, headers_t& headers) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return end;
  auto sp = raw.find(' ');
  status = std::atoi(raw.c_str() + sp + 1);
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    auto eol = raw.find("\r\n", pos);
    auto colon = raw.find(':', pos);
    if (colon != std::string::npos && colon < eol) {
      std::string v = raw.substr(colon + 1, eol - colon - 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      headers.emplace_back(lower(raw.substr(pos, colon - pos)), v);
    }
    pos = eol + 2;
  }
  return end + 4;
}

/// HEAD answers and 1xx/204/304 have no body whatever their Content-Length says (RFC 9112 6.3):
/// such a response is complete at its head (a keep-alive server, net::host, does not close after it).
inline bool bodiless(std::string_view method, int status) {
  return method == "HEAD" || status < 200 || status == 204 || status == 304;
}

/// One request on a fresh connection, read until the body is complete (Content-Length) or EOF.
inline http_response http(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = {}, const headers_t& extra = {}, int timeout_ms = 5000) {
  http_response res;
  int fd = connect_loopback(port);
  if (fd < 0) return res;
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (auto& [k, v] : extra) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  write_all(fd, req);
  std::string raw;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t body_at = std::string::npos;
  long long length = -1;
  for (;;) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) break;
    int n = read_some(fd, raw, left);
    if (body_at == std::string::npos) {
      res.headers.clear();
      body_at = parse_head(raw, res.status, res.headers);
      if (body_at != std::string::npos) {
        auto cl = res.header("content-length");
        if (!cl.empty()) length = std::atoll(cl.c_str());
      }
    }
    if (body_at != std::string::npos && bodiless(method, res.status)) {
      length = 0;
      break;
    }
    if (body_at != std::string::npos && length >= 0 && raw.size() - body_at >= static_cast<std::size_t>(length)) break;
    if (n == 0 || n == -1 || n == -2) break;
  }
  ::close(fd);
  if (body_at == std::string::npos) {
    res.status = 0;
    return res;
  }
  res.body = raw.substr(body_at, length >= 0 ? static_cast<std::size_t>(length) : std::string::npos);
  return res;
}

/// What the server wrote in answer to raw bytes, up to its closing the connection.
struct raw_answer {
  std::string status_line;  ///< e.g. "HTTP/1.1 400 Bad Request"; empty if none came
  int status = 0;
  headers_t headers;
  std::string body;  ///< every byte after the head, whatever Content-Length says
  bool closed = false;  ///< the server closed the connection within the timeout
  std::string header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == lower(std::string(name))) return v;
    return {};
  }
};

/// Sends `request` exactly as given (malformed on purpose) and reads until the server closes.
/// Once a whole response (head + Content-Length body) is in, it waits `close_grace_ms` more for
/// the close: a server that keeps the connection alive (net::host) is not waited on for the
/// whole timeout, and one that closes after an error does so with its last bytes.
inline raw_answer raw_exchange(std::uint16_t port, std::string_view request, int timeout_ms = 5000,
                               int close_grace_ms = 1000) {
  raw_answer a;
  int fd = connect_loopback(port);
  if (fd < 0) return a;
  write_all(fd, request);
  std::string raw;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool complete = false;
  for (;;) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) break;
    int n = read_some(fd, raw, left);
    if (n == 0 || n == -1) {
      a.closed = true;
      break;
    }
    if (n == -2) break;
    if (!complete) {
      int status = 0;
      headers_t h;
      auto body_at = parse_head(raw, status, h);
      if (body_at == std::string::npos) continue;
      long long length = 0;
      for (auto& [k, v] : h)
        if (k == "content-length") length = std::atoll(v.c_str());
      if (bodiless(request.substr(0, request.find(' ')), status)) length = 0;
      if (raw.size() - body_at < static_cast<std::size_t>(length)) continue;
      complete = true;
      deadline = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(close_grace_ms));
    }
  }
  ::close(fd);
  auto body_at = parse_head(raw, a.status, a.headers);
  if (body_at == std::string::npos) return a;
  a.status_line = raw.substr(0, raw.find("\r\n"));
  a.body = raw.substr(body_at);
  return a;
}

struct ws_frame {
  int opcode = 0;  ///< 1 text, 2 binary, 8 close
  std::string payload;
};

/// A blocking RFC 6455 client: masked frames out, unfragmented frames in.
class ws_client {
 public:
  ws_client() = default;
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;
  ~ws_client() { disconnect(); }

  /// Returns the HTTP status of the handshake (101 on success, 0 if no answer).
  int connect(std::uint16_t port, const std::string& target, const headers_t& extra = {}, int timeout_ms = 5000,
              int rcvbuf = 0) {
    fd_ = connect_loopback(port, rcvbuf);
    if (fd_ < 0) return 0;
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n";
    for (auto& [k, v] : extra) req += k + ": " + v + "\r\n";
    req += "\r\n";
    write_all(fd_, req);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      headers_t h;
      int status = 0;
      auto at = parse_head(buf_, status, h);
      if (at != std::string::npos) {
        buf_.erase(0, at);
        status_ = status;
        return status;
      }
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0 || read_some(fd_, buf_, left) <= 0) return 0;
    }
  }

  bool send_text(std::string_view s) { return send_frame(1, s); }
  bool send_binary(std::string_view s) { return send_frame(2, s); }
  bool send_close() { return send_frame(8, std::string_view("\x03\xe8", 2)); }

  /// Next data or close frame (pings are answered), or nullopt on timeout / EOF.
  std::optional<ws_frame> recv(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (auto f = parse_frame()) {
        if (f->opcode == 9) {
          send_frame(10, f->payload);
          continue;
        }
        if (f->opcode == 8) closed_ = true;
        return f;
      }
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) return std::nullopt;
      int n = read_some(fd_, buf_, left);
      if (n == 0 || n == -1) {
        eof_ = true;
        return std::nullopt;
      }
    }
  }

  /// Text of the next data frame ("" on timeout or close).
  std::string recv_text(int timeout_ms = 5000) {
    auto f = recv(timeout_ms);
    return f && f->opcode == 1 ? f->payload : std::string();
  }

  /// True once the server closed (close frame or EOF) within `timeout_ms`, skipping data frames.
  bool wait_closed(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_ && !eof_) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) return false;
      recv(left);
    }
    return true;
  }

  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool send_frame(int opcode, std::string_view payload) {
    if (fd_ < 0) return false;
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    std::size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xFF));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF));
    }
    unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(reinterpret_cast<char*>(key), 4);
    for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
    return write_all(fd_, f);
  }

  std::optional<ws_frame> parse_frame() {
    if (buf_.size() < 2) return std::nullopt;
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(buf_[i]); };
    std::size_t len = b(1) & 0x7F, at = 2;
    if (len == 126) {
      if (buf_.size() < 4) return std::nullopt;
      len = (std::size_t(b(2)) << 8) | b(3);
      at = 4;
    } else if (len == 127) {
      if (buf_.size() < 10) return std::nullopt;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + i);
      at = 10;
    }
    if (buf_.size() < at + len) return std::nullopt;
    ws_frame f{b(0) & 0x0F, buf_.substr(at, len)};
    buf_.erase(0, at + len);
    return f;
  }

  int fd_ = -1;
  int status_ = 0;
  bool closed_ = false, eof_ = false;
  std::string buf_;
};

/// The sid of an open packet body `0{"sid":"...",...}` (v4) or `NN:0{...}` (v3).
inline std::string sid_of(const std::string& open_body) {
  auto k = open_body.find("\"sid\":\"");
  if (k == std::string::npos) return {};
  k += 7;
  return open_body.substr(k, open_body.find('"', k) - k);
}

}  // namespace test_client
