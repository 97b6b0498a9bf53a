#pragma once
/// The HTTP request and response types of the websocketpp configuration: websocketpp's parser
/// plus the framing checks it leaves out, and status lines that always carry a reason phrase.
/// Being the parser, they cover every request on the port (Engine.IO, HTTP routes, plain
/// WebSocket routes) before any handler runs.
#include "../../detail/http_status.hpp"

#include <websocketpp/http/request.hpp>
#include <websocketpp/http/response.hpp>

#include <cstddef>
#include <string>
#include <utility>

namespace portico::engineio::detail {

/// A request whose framing is unambiguous, or a refusal: websocketpp answers the thrown
/// http::exception (status and reason phrase) and reads no further, like nginx does.
///   - HTTP/1.x only: another version is 505, a malformed one 400 (websocketpp takes anything);
///   - Content-Length is one decimal number: repeated headers (websocketpp joins them into
///     "5, 7" and reads the first) or anything else is 400;
///   - Transfer-Encoding is not decoded by websocketpp (the body would be read as empty, the
///     chunks left on the wire): with Content-Length 400 (RFC 9112 6.3), alone 411.
class checked_request : public websocketpp::http::parser::request {
 public:
  using base = websocketpp::http::parser::request;

  std::size_t consume(const char* buf, std::size_t len) {
    try {
      std::size_t n = base::consume(buf, len);
      // The head is complete once the body is awaited or the request is ready: check it before
      // waiting for a body whose length is in question.
      if (!checked_ && (ready() || m_body_bytes_needed > 0)) {
        checked_ = true;
        check_framing();
      }
      return n;
    } catch (const websocketpp::http::exception& e) {
      if (refusal_.empty()) refusal_ = e.what();
      throw;
    }
  }

  /// Why the parser refused the request (empty if it did not), for the log line.
  const std::string& refusal() const { return refusal_; }

  /// The peer's address, noted when the connection is accepted: a refusal is logged after
  /// websocketpp shut the socket down, when the socket can no longer tell.
  void note_peer(std::string address) const { peer_ = std::move(address); }
  const std::string& peer() const { return peer_; }

 private:
  [[noreturn]] void refuse(websocketpp::http::status_code::value status, std::string why) {
    refusal_ = std::move(why);
    throw websocketpp::http::exception(refusal_, status, portico::detail::reason_phrase(status));
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  void check_framing() {
    using sc = websocketpp::http::status_code::value;
    const std::string& v = get_version();
    if (v.size() != 8 || v.compare(0, 5, "HTTP/") != 0 || !digit(v[5]) || v[6] != '.' || !digit(v[7]))
      refuse(sc::bad_request, "malformed HTTP version");
    if (v[5] != '1') refuse(sc::http_version_not_supported, v + " not supported");

    auto cl = m_headers.find("Content-Length");
    bool has_te = m_headers.find("Transfer-Encoding") != m_headers.end();
    if (cl != m_headers.end()) {
      if (has_te) refuse(sc::bad_request, "both Content-Length and Transfer-Encoding");
      const std::string& n = cl->second;
      if (n.find(',') != std::string::npos) refuse(sc::bad_request, "conflicting Content-Length headers");
      if (n.empty() || n.size() > 18) refuse(sc::bad_request, "invalid Content-Length");
      for (char c : n)
        if (!digit(c)) refuse(sc::bad_request, "invalid Content-Length");
    } else if (has_te) {
      refuse(sc::length_required, "Transfer-Encoding is not supported");
    }
  }

  std::string refusal_;
  mutable std::string peer_;  // websocketpp hands out the request as const only
  bool checked_ = false;
};

/// A response whose status line always has its standard reason phrase (websocketpp writes an
/// empty one for its parse errors, "Unknown" for codes it does not list). Every answer but a 101
/// ends its connection (websocketpp serves one request per connection), which it says, also on
/// the refusals websocketpp writes by itself.
class phrased_response : public websocketpp::http::parser::response {
 public:
  using base = websocketpp::http::parser::response;

  void set_status(websocketpp::http::status_code::value code) { set_status(code, std::string()); }
  void set_status(websocketpp::http::status_code::value code, const std::string& msg) {
    base::set_status(code, msg.empty() ? std::string(portico::detail::reason_phrase(code)) : msg);
    if (code != websocketpp::http::status_code::switching_protocols) replace_header("Connection", "close");
  }
};

}  // namespace portico::engineio::detail
