#pragma once
/// One HTTP/1.x request as the host hands it to a mounted handler: the raw head is kept in one
/// string (one allocation) and the method, target and header fields are views into it; the body
/// is its own string (movable out).

#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/ascii.hpp"

namespace portico::net {

class request_parser;

class request {
 public:
  std::string_view method() const noexcept { return view(method_); }
  /// The request target as sent ("/socket.io/?EIO=4&transport=polling").
  std::string_view target() const noexcept { return view(target_); }
  /// The target up to '?'.
  std::string_view path() const noexcept {
    auto t = target();
    return t.substr(0, t.find('?'));
  }
  /// The target after '?' ("" when there is none).
  std::string_view query() const noexcept {
    auto t = target();
    auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  }
  /// 0 for HTTP/1.0, 1 for HTTP/1.1.
  int minor_version() const noexcept { return minor_; }

  /// The first field named `name` (any case), "" when absent.
  std::string_view header(std::string_view name) const noexcept {
    for (auto& f : fields_)
      if (portico::detail::iequals(view(f.first), name)) return view(f.second);
    return {};
  }
  bool has_header(std::string_view name) const noexcept {
    for (auto& f : fields_)
      if (portico::detail::iequals(view(f.first), name)) return true;
    return false;
  }
  /// Does the comma-separated field `name` list `token` (any case)? ("Connection: keep-alive, Upgrade")
  bool header_has_token(std::string_view name, std::string_view token) const noexcept {
    for (auto& f : fields_) {
      if (!portico::detail::iequals(view(f.first), name)) continue;
      std::string_view v = view(f.second);
      while (!v.empty()) {
        auto c = v.find(',');
        std::string_view t = v.substr(0, c);
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        if (portico::detail::iequals(t, token)) return true;
        if (c == std::string_view::npos) break;
        v.remove_prefix(c + 1);
      }
    }
    return false;
  }
  std::size_t header_count() const noexcept { return fields_.size(); }
  std::pair<std::string_view, std::string_view> header_at(std::size_t i) const noexcept {
    return {view(fields_[i].first), view(fields_[i].second)};
  }

  const std::string& body() const noexcept { return body_; }
  std::string& body() noexcept { return body_; }

  /// Whether the connection stays open after the answer (HTTP/1.1 unless `Connection: close`;
  /// HTTP/1.0 only with `Connection: keep-alive`).
  bool keep_alive() const noexcept { return keep_alive_; }
  /// `Upgrade: websocket` with `Connection: upgrade`.
  bool is_websocket_upgrade() const noexcept {
    return header_has_token("upgrade", "websocket") && header_has_token("connection", "upgrade");
  }

  /// The request head exactly as received, up to and including the blank line.
  const std::string& raw_head() const noexcept { return head_; }

  const asio::ip::tcp::endpoint& remote_endpoint() const noexcept { return remote_; }
  void set_remote_endpoint(const asio::ip::tcp::endpoint& e) { remote_ = e; }
  /// The I/O thread's io_context the request arrived on (its connection lives there): a mounted
  /// handler that keeps per-thread state (timers, sessions) finds its thread by it.
  asio::io_context* io_context() const noexcept { return io_; }
  void set_io_context(asio::io_context* io) noexcept { io_ = io; }

 private:
  friend class request_parser;
  struct span {
    std::uint32_t pos = 0, len = 0;
  };
  std::string_view view(span s) const noexcept { return std::string_view(head_).substr(s.pos, s.len); }

  std::string head_;
  span method_, target_;
  std::vector<std::pair<span, span>> fields_;
  std::string body_;
  int minor_ = 1;
  bool keep_alive_ = true;
  asio::ip::tcp::endpoint remote_;
  asio::io_context* io_ = nullptr;
};

}  // namespace portico::net
