#pragma once
/// The engine as a handler mounted on a `net::host`: polling requests are answered through
/// `net::response` (the host keeps the connection alive between them), upgrades become a
/// `net::websocket_handler` whose frames websocketpp's protocol processor decodes on the host's
/// socket. Sessions live on the host's I/O threads (one engine worker per host thread).
/// Requests outside the engine path go to the fallback handler (the HTTP router), or get a 404.
#include "../../net/handler.hpp"
#include "../socket.hpp"
#include "core.hpp"
#include "links.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace portico::engineio::detail {

/// What the checks of a request need of it, on a host.
struct host_exchange {
  core& c;
  const net::request& req;
  std::string& fields;  ///< CORS header fields ("Name: value\r\n")
  int& status;          ///< the refusal, when refused
  std::string& body;
  std::string_view method() const { return req.method(); }
  bool cors() const {
    return cors_fields(c.opts.cors, req.header("origin"), [&](std::string_view n, std::string_view v) {
      fields.append(n.data(), n.size());
      fields += ": ";
      fields.append(v.data(), v.size());
      fields += "\r\n";
    });
  }
  void refuse(http_error e, const char* why) const {
    status = e == http_error::forbidden ? 403 : 400;
    body = error_body(e);
    c.log.info([&] {
      return "refused " + remote_of(req) + " " + std::string(req.method()) + " " +
             portico::detail::printable(std::string(req.target())) + ": " + std::to_string(status) + " " +
             (why ? why : http_error_message(e));
    });
  }

  static std::string remote_of(const net::request& req) {
    asio::error_code ec;
    auto a = req.remote_endpoint().address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a.to_string(ec);
  }
};

/// Answers `res` with the header fields of `fields` ("Name: value\r\n" lines).
inline void send_with_fields(net::response& res, int status, const std::string& fields, std::string body,
                             const char* content_type) {
  poll_reply reply(std::move(res), fields);
  reply.send(status, std::move(body), content_type);
}

inline struct handshake host_handshake(const net::request& req, const parsed_request& r, int protocol) {
  struct handshake h;
  h.url = std::string(req.target());
  h.query_string = r.query_string;
  h.remote_address = host_exchange::remote_of(req);
  h.transport = std::string(r.transport);
  std::size_t size = 0;
  for (std::size_t i = 0; i < req.header_count(); ++i) {
    auto [k, v] = req.header_at(i);
    size += k.size() + v.size() + 2;
  }
  h.reserve_headers(size);
  for (std::size_t i = 0; i < req.header_count(); ++i) {
    auto [k, v] = req.header_at(i);
    h.add_header(k, v);
  }
  h.query = r.query;
  h.time = std::chrono::system_clock::now();
  h.protocol = protocol;
  return h;
}

/// A session's WebSocket (or its upgrade probe) on a host connection.
class host_ws final : public net::websocket_handler {
 public:
  /// `fresh`: a new websocket session (`s` opens on open); otherwise a probe of `s`.
  host_ws(std::shared_ptr<core> c, socket_ptr s, worker* w, bool fresh, bool b64)
      : core_(std::move(c)), pending_(fresh ? s : nullptr), weak_(s), w_(w), b64_(b64) {}

  void on_open(const net::websocket& ws) override {
    id_ = ws.id();
    ws_link link(ws, w_);
    link.b64 = b64_;
    if (auto s = std::move(pending_)) {
      pending_.reset();
      if (core_->stopping) return ws.close(1001);
      core_->insert(s);
      core_->log.debug([&] { return "open " + s->sid() + " (websocket) from " + s->handshake().remote_address; });
      s->start(transport_kind::websocket, std::move(link));
      return;
    }
    auto s = weak_.lock();
    if (!s) return ws.close(1000);
    // Directly when at home: the probe's first frame may be read in this same turn, and it runs
    // directly too.
    if (s->on_home_worker()) return s->on_probe_open(std::move(link));
    s->post([s, link = std::move(link)]() mutable { s->on_probe_open(std::move(link)); });
  }
  void on_message(const net::websocket& ws, std::string& payload, bool binary) override {
    auto s = weak_.lock();
    if (!s) return;
    const void* id = ws.id();
    if (s->on_home_worker()) s->handle_ws_frame(id, binary, std::move(payload));
    else s->post([s, id, binary, p = std::move(payload)]() mutable { s->handle_ws_frame(id, binary, std::move(p)); });
  }
  void on_close(std::uint16_t code, std::string_view) override {
    pending_.reset();
    auto s = weak_.lock();
    if (!s) return;
    const void* id = id_;
    if (s->on_home_worker()) s->on_ws_closed(id, code);
    else s->post([s, id, code] { s->on_ws_closed(id, code); });
  }

 private:
  std::shared_ptr<core> core_;
  socket_ptr pending_;  ///< a fresh session until it opens
  std::weak_ptr<socket> weak_;
  worker* w_;
  bool b64_;
  const void* id_ = nullptr;
};

class host_handler final : public net::handler {
 public:
  host_handler(std::shared_ptr<core> c, std::shared_ptr<net::handler> fallback)
      : core_(std::move(c)), fallback_(std::move(fallback)) {}

  void on_request(net::request req, net::response res) override {
    core& c = *core_;
    parsed_request r;
    core::parse(std::string(req.target()), r);
    if (!c.path_matches(r.path)) {
      if (fallback_) return fallback_->on_request(std::move(req), std::move(res));
      return res.status(404).header("Content-Type", "text/plain").send("Not Found");
    }
    std::string fields, body;
    int status = 0;
    host_exchange x{c, req, fields, status, body};
    const std::string_view method = req.method();
    if (method == "OPTIONS") {  // CORS preflight
      if (!x.cors()) {
        x.refuse(http_error::forbidden, "origin not allowed");
        return send_with_fields(res, status, {}, std::move(body), "application/json");
      }
      fields += "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n";
      auto rh = req.header("access-control-request-headers");
      if (!rh.empty()) fields += "Access-Control-Allow-Headers: " + std::string(rh) + "\r\n";
      return send_with_fields(res, 204, fields, {}, "text/plain");
    }
    if (!c.check(x, r, false)) return send_with_fields(res, status, fields, std::move(body), "application/json");
    worker* w = c.hosted_worker(*req.io_context());
    if (r.sid.empty()) {  // a new polling session
      if (c.stopping) return res.status(503).send();
      auto s = std::make_shared<socket>(core_, w, c.register_session_sid(), host_handshake(req, r, r.protocol));
      std::string json = c.open_packet_json(s->sid(), c.opts.websocket && c.opts.allow_upgrades);
      std::string open;
      if (r.protocol == 3) append_payload_packet_v3(open, packet_type::open, json);
      else encode_to(open, packet_type::open, json);
      send_with_fields(res, 200, fields, std::move(open), "text/plain; charset=UTF-8");
      c.insert(s);
      c.log.debug([&] { return "open " + s->sid() + " (polling) from " + s->handshake().remote_address; });
      s->start(transport_kind::polling, ws_link());
      return;
    }
    auto s = c.find(r.sid);
    if (!s) {
      x.refuse(http_error::unknown_sid, nullptr);
      return send_with_fields(res, status, fields, std::move(body), "application/json");
    }
    if (method != "GET" && method != "POST") {
      x.refuse(http_error::bad_request, "method not allowed on a session");
      return send_with_fields(res, status, fields, std::move(body), "application/json");
    }
    if (r.transport != "polling" || s->transport_flag_.load() != int(transport_kind::polling)) {
      x.refuse(http_error::bad_request, "transport mismatch");
      return send_with_fields(res, status, fields, std::move(body), "application/json");
    }
    // socket::post takes a std::function (copyable): the one-shot answer rides in a shared_ptr.
    auto reply = std::make_shared<poll_reply>(std::move(res), std::move(fields));
    if (method == "GET") {
      s->post([s, reply, b64 = r.b64] { s->on_poll(std::move(*reply), b64); });
    } else {
      const bool binary = req.header("content-type").substr(0, 24) == "application/octet-stream";
      s->post([s, reply, binary, b = std::move(req.body())]() mutable { s->on_post(std::move(*reply), std::move(b), binary); });
    }
  }

  net::upgrade on_upgrade(const net::request& req) override {
    core& c = *core_;
    parsed_request r;
    core::parse(std::string(req.target()), r);
    if (!c.path_matches(r.path)) {
      if (fallback_) return fallback_->on_upgrade(req);
      return net::upgrade::refuse(404, "Not Found");
    }
    std::string fields, body;
    int status = 0;
    host_exchange x{c, req, fields, status, body};
    if (!c.check(x, r, true)) return net::upgrade::refuse(status, std::move(body));
    const std::string_view version = req.header("sec-websocket-version");
    if (version != "13" && version != "8" && version != "7") {
      x.refuse(http_error::bad_request, "unsupported websocket version");
      return net::upgrade::refuse(status, std::move(body));
    }
    worker* w = c.hosted_worker(*req.io_context());
    if (r.sid.empty()) {
      if (c.stopping) return net::upgrade::refuse(503);
      auto s = std::make_shared<socket>(core_, w, c.register_session_sid(), host_handshake(req, r, r.protocol));
      return net::upgrade::to(std::make_shared<host_ws>(core_, std::move(s), w, true, r.b64));
    }
    auto s = c.find(r.sid);
    if (!s) {
      x.refuse(http_error::unknown_sid, nullptr);
      return net::upgrade::refuse(status, std::move(body));
    }
    if (!c.opts.allow_upgrades) {
      x.refuse(http_error::bad_request, "upgrades are disabled");
      return net::upgrade::refuse(status, std::move(body));
    }
    // Like the reference server, a websocket for a session that already upgraded (or is
    // upgrading) is accepted and closed right away by on_probe_open.
    return net::upgrade::to(std::make_shared<host_ws>(core_, std::move(s), w, false, r.b64));
  }

 private:
  std::shared_ptr<core> core_;
  std::shared_ptr<net::handler> fallback_;
};

}  // namespace portico::engineio::detail
