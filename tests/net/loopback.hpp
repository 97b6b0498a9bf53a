#pragma once
// A blocking loopback client for the host tests: raw HTTP/1.1 bytes in and out, and a minimal
// RFC 6455 client side (masked frames) for the WebSocket cases. Every read is bounded by a
// receive timeout so a broken server fails the test instead of hanging it.
#include <asio.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <portico/detail/http_response.hpp>

namespace net_test {

class client {
 public:
  explicit client(std::uint16_t port, const char* address = "127.0.0.1") : sock_(io_) {
    sock_.connect(asio::ip::tcp::endpoint(asio::ip::make_address(address), port));
    sock_.set_option(asio::ip::tcp::no_delay(true));
    timeval tv{10, 0};  // generous: no timing is asserted, a hang just fails
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  /// Bytes wait to be read.
  bool readable() {
    asio::error_code ec;
    return !buf_.empty() || sock_.available(ec) > 0;
  }

  /// Closes this side (the server's lingering close then ends at once).
  void close() {
    asio::error_code ec;
    sock_.close(ec);
  }

  void send(const std::string& bytes) { asio::write(sock_, asio::buffer(bytes)); }

  /// One response: head, then Content-Length bytes of body (none for an answer to HEAD);
  /// status 0 on EOF / timeout.
  portico::detail::http_response response(bool head_only = false) {
    for (;;) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        portico::detail::http_response r;
        r.status = std::stoi(buf_.substr(9, 3));
        for (std::size_t pos = buf_.find("\r\n"); pos < end;) {
          const std::size_t next = buf_.find("\r\n", pos + 2);
          std::string line = buf_.substr(pos + 2, next - pos - 2);
          pos = next;
          const auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string name = line.substr(0, colon);
          for (auto& ch : name) ch = portico::detail::lower_ascii(ch);
          r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        }
        const std::string cl = r.header("content-length");
        const std::size_t total = end + 4 + (head_only || cl.empty() ? 0 : std::stoul(cl));
        if (buf_.size() >= total) {
          r.body = buf_.substr(end + 4, total - end - 4);
          buf_.erase(0, total);
          return r;
        }
      }
      if (!fill()) return {};
    }
  }

  /// Reads until the server closes; true when it did (false: timeout or reset).
  bool closed_by_server() {
    while (fill()) {
    }
    return eof_;
  }

  /// Raw bytes received so far and not consumed.
  std::string& buffer() { return buf_; }

  // --- WebSocket (client side) ---
  /// Sends the upgrade and reads the 101; returns its status.
  int ws_handshake(const std::string& path) {
    send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    auto end = std::string::npos;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return 0;
    auto r = portico::detail::parse_http_response(std::string_view(buf_).substr(0, end + 4));
    buf_.erase(0, end + 4);
    return r.status;
  }

  /// A masked client frame (fin set).
  void ws_send(std::uint8_t opcode, const std::string& payload) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    if (payload.size() < 126) {
      f += static_cast<char>(0x80 | payload.size());
    } else {
      f += static_cast<char>(0x80 | 126);
      f += static_cast<char>((payload.size() >> 8) & 0xff);
      f += static_cast<char>(payload.size() & 0xff);
    }
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    send(f);
  }
  void ws_close(std::uint16_t code) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xff);
    ws_send(0x8, p);
  }

  struct frame {
    int opcode = -1;  ///< -1: none (EOF / timeout)
    std::string payload;
    /// For a close frame: its status code.
    int close_code() const {
      return payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]) : 0;
    }
  };
  /// One server frame (unmasked, unfragmented).
  frame ws_read() {
    for (;;) {
      if (buf_.size() >= 2) {
        auto b = [&](std::size_t i) { return static_cast<unsigned char>(buf_[i]); };
        std::size_t len = b(1) & 0x7f, off = 2;
        if (len == 126 && buf_.size() >= 4) {
          len = (std::size_t(b(2)) << 8) | b(3);
          off = 4;
        } else if (len == 127 && buf_.size() >= 10) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | b(std::size_t(i));
          off = 10;
        }
        if ((b(1) & 0x7f) < 126 || off > 2) {
          if (buf_.size() >= off + len) {
            frame f{b(0) & 0x0f, buf_.substr(off, len)};
            buf_.erase(0, off + len);
            return f;
          }
        }
      }
      if (!fill()) return {};
    }
  }

 private:
  bool fill() {
    char tmp[16384];
    asio::error_code ec;
    std::size_t n = sock_.read_some(asio::buffer(tmp), ec);
    if (ec) {
      eof_ = ec == asio::error::eof;
      return false;
    }
    buf_.append(tmp, n);
    return true;
  }

  asio::io_context io_;
  asio::ip::tcp::socket sock_;
  std::string buf_;
  bool eof_ = false;
};

}  // namespace net_test
