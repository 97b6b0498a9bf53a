#pragma once
/// The two ends a session talks through, whichever transport carries them: a pending polling
/// answer (`poll_reply`) and a WebSocket (`ws_link`). Each is either a connection of websocketpp's
/// own Asio endpoint (the server listening by itself) or a connection of a `net::host` the engine
/// is mounted on (one port shared with other handlers, HTTP/1.1 keep-alive).
#include "../../net/response.hpp"
#include "../../net/websocket.hpp"
#include "http_error.hpp"
#include "worker.hpp"
#include "ws_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace portico::engineio::detail {

/// A polling GET or POST waiting for its answer (one-shot).
struct poll_reply {
  ws_connection_ptr con;  ///< websocketpp: a deferred HTTP response, sent on `w`
  worker* w = nullptr;
  net::response res;      ///< net::host: sent from any thread
  std::string cors;       ///< net::host: the CORS header fields of the request (already checked)

  poll_reply() = default;
  poll_reply(ws_connection_ptr c, worker* wk) : con(std::move(c)), w(wk) {}
  poll_reply(net::response r, std::string cors_fields) : res(std::move(r)), cors(std::move(cors_fields)) {}

  explicit operator bool() const noexcept { return con || res.pending(); }

  void send(int status, std::string body, const char* content_type) {
    if (con) {
      auto c = std::move(con);
      con.reset();
      auto run = [c, status, body = std::move(body), content_type] {
        c->set_status(static_cast<websocketpp::http::status_code::value>(status));
        c->replace_header("Content-Type", content_type);
        c->set_body(body);
        websocketpp::lib::error_code ec;
        c->send_http_response(ec);
      };
      if (w->running_here()) run();
      else asio::post(w->ioc, std::move(run));
      return;
    }
    if (!res.pending()) return;
    res.status(status).header("Content-Type", content_type);
    append_fields(cors);
    res.send(std::move(body));
  }
  void send_error(http_error e) {
    send(e == http_error::forbidden ? 403 : 400, error_body(e), "application/json");
  }

 private:
  /// "Name: value\r\n" lines kept from the request's checks.
  void append_fields(const std::string& f) {
    std::size_t at = 0;
    while (at < f.size()) {
      auto end = f.find("\r\n", at);
      if (end == std::string::npos) end = f.size();
      auto colon = f.find(':', at);
      if (colon != std::string::npos && colon < end)
        res.header(std::string_view(f).substr(at, colon - at), std::string_view(f).substr(colon + 2, end - colon - 2));
      at = end + 2;
    }
  }
};

/// A session's WebSocket (or upgrade probe). Used on its own worker (`w`).
struct ws_link {
  ws_connection_ptr con;  ///< websocketpp's Asio endpoint
  net::websocket net;     ///< a net::host connection
  worker* w = nullptr;    ///< the thread the connection lives on
  bool b64 = false;       ///< v3: the request asked for base64 binary (`b4` text frames)

  ws_link() = default;
  ws_link(ws_connection_ptr c, worker* wk) : con(std::move(c)), w(wk) {}
  ws_link(net::websocket n, worker* wk) : net(std::move(n)), w(wk) {}

  explicit operator bool() const noexcept { return con || net; }
  const void* id() const noexcept { return con ? static_cast<const void*>(con.get()) : net.id(); }
  void reset() { *this = ws_link(); }

  /// Sends one message (framed here, or by websocketpp).
  void send(bool binary, std::string payload) const {
    if (net) return net.send(payload, binary);
    if (con) send_prepared(prepared_frame(binary ? websocketpp::frame::opcode::binary : websocketpp::frame::opcode::text,
                                          std::move(payload)));
  }
  /// websocketpp only: a message prepared once for many recipients.
  void send_prepared(ws_message_ptr m) const {
    if (!con) return;
    if (w->running_here()) {
      con->send(m);
    } else {
      asio::post(w->ioc, [c = con, m = std::move(m)] { c->send(m); });
    }
  }
  void close(std::uint16_t code = 1000) const {
    if (net) return net.close(code);
    if (!con) return;
    auto run = [c = con, code] {
      websocketpp::lib::error_code ec;
      c->close(static_cast<websocketpp::close::status::value>(code), "", ec);
    };
    if (w->running_here()) run();
    else asio::post(w->ioc, run);
  }
  /// Bytes queued and not yet written, on the link's own thread (0 elsewhere, where it cannot be
  /// read).
  std::size_t buffered() const {
    if (!w || !w->running_here()) return 0;
    if (net) return net.buffered_amount();
    return con ? con->get_buffered_amount() : 0;
  }
};

}  // namespace portico::engineio::detail
