#pragma once
/// An incremental HTTP/1.x request parser: feed it whatever the socket gave, it says how much it
/// took and whether a request is complete. Bodies need Content-Length: a chunked request body is
/// refused with 411 (Length Required), any other Transfer-Encoding with 501; Engine.IO clients
/// and browsers' fetch/XHR always send a length.

#include <cstddef>
#include <cstring>
#include <string_view>

#include "request.hpp"

namespace portico::net {

struct request_limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1000000;
};

class request_parser {
 public:
  enum class state { idle, head, body, done, failed };

  explicit request_parser(request_limits l = {}) : limits_(l) {}

  state current() const noexcept { return state_; }
  /// A request has begun (some of it arrived) and is not complete yet.
  bool in_progress() const noexcept { return state_ == state::head || state_ == state::body; }
  /// After `failed`: the status to answer (400, 411, 413, 431, 501, 505) and why (for the log).
  int error_status() const noexcept { return status_; }
  const char* error_reason() const noexcept { return reason_; }

  /// The request being read (its head is complete once the state is `body`).
  const request& partial() const noexcept { return req_; }

  /// Takes bytes of [p, p+n) up to the end of one request; returns how many. Stops early at
  /// `done` or `failed` (the rest belongs to the next request, or to nobody).
  std::size_t feed(const char* p, std::size_t n) {
    std::size_t used = 0;
    if (state_ == state::idle) {
      // RFC 9112 2.2: empty lines before a request line are ignored.
      while (used < n && (p[used] == '\r' || p[used] == '\n')) ++used;
      if (used == n) return used;
      state_ = state::head;
    }
    if (state_ == state::head) {
      std::string& h = req_.head_;
      const std::size_t before = h.size();
      const std::size_t cap = limits_.max_header_bytes + 4;  // the head plus its blank line
      const std::size_t take = std::min(n - used, cap - before);
      h.append(p + used, take);
      std::size_t end = h.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
      if (end == std::string::npos) {
        used += take;
        if (h.size() >= cap) fail(431, "request head larger than max_header_bytes");
        return used;
      }
      if (end > limits_.max_header_bytes) return fail(431, "request head larger than max_header_bytes"), used + take;
      end += 4;
      used += take - (h.size() - end);
      h.resize(end);
      if (!parse_head()) return used;
      if (body_left_ == 0) {
        state_ = state::done;
        return used;
      }
      state_ = state::body;
      req_.body_.reserve(body_left_);
    }
    if (state_ == state::body) {
      const std::size_t k = std::min(n - used, body_left_);
      req_.body_.append(p + used, k);
      used += k;
      body_left_ -= k;
      if (body_left_ == 0) state_ = state::done;
    }
    return used;
  }

  /// The complete request (state `done`); the parser is then ready for the next one.
  request take() {
    request r = std::move(req_);
    reset();
    return r;
  }
  void reset() {
    req_ = request();
    state_ = state::idle;
    body_left_ = 0;
    status_ = 0;
    reason_ = "";
  }

 private:
  static bool tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  }
  void fail(int status, const char* why) noexcept {
    state_ = state::failed;
    status_ = status;
    reason_ = why;
  }

  bool parse_head() {
    const std::string& h = req_.head_;
    using span = request::span;
    auto sp = [](std::size_t a, std::size_t b) { return span{static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b - a)}; };
    // Request line: method SP target SP HTTP/1.x CRLF
    std::size_t i = 0;
    while (i < h.size() && tchar(h[i])) ++i;
    if (i == 0 || i >= h.size() || h[i] != ' ') return fail(400, "malformed request line"), false;
    req_.method_ = sp(0, i);
    const std::size_t t0 = ++i;
    while (i < h.size() && static_cast<unsigned char>(h[i]) > ' ' && h[i] != 0x7f) ++i;
    if (i == t0 || i >= h.size() || h[i] != ' ') return fail(400, "malformed request target"), false;
    req_.target_ = sp(t0, i);
    ++i;
    const std::size_t eol = h.find("\r\n", i);
    std::string_view version(h.data() + i, eol - i);
    if (version == "HTTP/1.1") req_.minor_ = 1;
    else if (version == "HTTP/1.0") req_.minor_ = 0;
    else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.') return fail(505, "unsupported HTTP version"), false;
    else return fail(400, "malformed HTTP version"), false;
    // Header fields: name ":" OWS value OWS CRLF, until the empty line.
    i = eol + 2;
    while (i + 2 <= h.size() && !(h[i] == '\r' && h[i + 1] == '\n')) {
      const std::size_t le = h.find("\r\n", i);
      if (req_.fields_.size() == limits_.max_headers) return fail(431, "more header fields than max_headers"), false;
      std::size_t c = i;
      while (c < le && tchar(h[c])) ++c;
      if (c == i || c == le || h[c] != ':') return fail(400, "malformed header field"), false;  // also obs-fold
      std::size_t v0 = c + 1, v1 = le;
      while (v0 < v1 && (h[v0] == ' ' || h[v0] == '\t')) ++v0;
      while (v1 > v0 && (h[v1 - 1] == ' ' || h[v1 - 1] == '\t')) --v1;
      for (std::size_t k = v0; k < v1; ++k) {
        const unsigned char ch = static_cast<unsigned char>(h[k]);
        if ((ch < ' ' && ch != '\t') || ch == 0x7f) return fail(400, "control character in header value"), false;
      }
      req_.fields_.push_back({sp(i, c), sp(v0, v1)});
      i = le + 2;
    }
    if (req_.minor_ == 1 && !req_.has_header("host")) return fail(400, "HTTP/1.1 request without Host"), false;
    // Framing (RFC 9112 6): no Transfer-Encoding with Content-Length (smuggling), lengths agree.
    const bool te = req_.has_header("transfer-encoding");
    bool have_len = false;
    std::size_t len = 0;
    for (std::size_t k = 0; k < req_.header_count(); ++k) {
      auto f = req_.header_at(k);
      if (!portico::detail::iequals(f.first, "content-length")) continue;
      std::size_t v = 0;
      if (f.second.empty()) return fail(400, "malformed Content-Length"), false;
      for (char ch : f.second) {
        if (ch < '0' || ch > '9' || v > (std::size_t(-1) - 9) / 10) return fail(400, "malformed Content-Length"), false;
        v = v * 10 + static_cast<std::size_t>(ch - '0');
      }
      if (have_len && v != len) return fail(400, "conflicting Content-Length"), false;
      have_len = true;
      len = v;
    }
    if (te) {
      if (have_len) return fail(400, "Transfer-Encoding with Content-Length"), false;
      if (req_.header_has_token("transfer-encoding", "chunked"))
        return fail(411, "chunked request body (send Content-Length)"), false;
      return fail(501, "unsupported Transfer-Encoding"), false;
    }
    if (len > limits_.max_body_bytes) return fail(413, "request body larger than max_body_bytes"), false;
    body_left_ = len;
    req_.keep_alive_ = req_.minor_ == 1 ? !req_.header_has_token("connection", "close")
                                        : req_.header_has_token("connection", "keep-alive");
    return true;
  }

  request_limits limits_;
  request req_;
  state state_ = state::idle;
  std::size_t body_left_ = 0;
  int status_ = 0;
  const char* reason_ = "";
};

}  // namespace portico::net
