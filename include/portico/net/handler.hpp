#pragma once
/// A mounted handler: what `host::mount(prefix, ...)` serves under a path prefix. Requests
/// arrive on the I/O thread of their connection; the handler answers through `response`, then
/// or later.

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "request.hpp"
#include "response.hpp"
#include "websocket.hpp"

namespace portico::net {

/// A mount's answer to an upgrade request: a handler for the WebSocket, or a refusal.
struct upgrade {
  std::shared_ptr<websocket_handler> accept;  ///< set: the connection becomes this WebSocket
  int status = 404;                            ///< otherwise: the refusal's HTTP status and body
  std::string body;

  static upgrade to(std::shared_ptr<websocket_handler> h) {
    upgrade u;
    u.accept = std::move(h);
    return u;
  }
  static upgrade refuse(int status, std::string body = {}) {
    upgrade u;
    u.status = status;
    u.body = std::move(body);
    return u;
  }
};

class handler {
 public:
  virtual ~handler() = default;
  /// A complete request (not an upgrade). An exception answers 500 (if `res` was not sent).
  virtual void on_request(request req, response res) = 0;
  /// A request with `Upgrade: websocket`. The default refuses with 404.
  virtual upgrade on_upgrade(const request& req) {
    (void)req;
    return {};
  }
};

/// A handler made of functions (either may be empty: no requests -> 404, no upgrades -> 404).
class function_handler final : public handler {
 public:
  using request_fn = std::function<void(request, response)>;
  using upgrade_fn = std::function<upgrade(const request&)>;
  explicit function_handler(request_fn on_request, upgrade_fn on_upgrade = {})
      : request_(std::move(on_request)), upgrade_(std::move(on_upgrade)) {}

  void on_request(request req, response res) override {
    if (request_) request_(std::move(req), std::move(res));
    else res.status(404).send("Not Found");
  }
  upgrade on_upgrade(const request& req) override { return upgrade_ ? upgrade_(req) : upgrade{}; }

 private:
  request_fn request_;
  upgrade_fn upgrade_;
};

}  // namespace portico::net
