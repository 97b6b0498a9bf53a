#pragma once
/// What a request on the engine path does: a handshake opens a session (polling or websocket), a
/// polling GET or POST goes to its session's home worker, a websocket for a known sid becomes
/// that session's upgrade probe. Requests outside the path go to the layer above (on_http,
/// on_websocket) or get a 404.
#include "../socket.hpp"
#include "core.hpp"
#include "links.hpp"
#include "worker.hpp"
#include "ws_config.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

namespace portico::engineio::detail {

inline void core::insert(const socket_ptr& s) {
  std::lock_guard<std::mutex> g(table_mu);
  table[s->sid()] = s;
}

// ---------------------------------------------------------------- HTTP

inline void core::handle_http(worker& w, websocketpp::connection_hdl hdl) {
  auto con = w.ep.get_con_from_hdl(hdl);
  // websocketpp ends every plain HTTP connection after one response: say so, so that
  // keep-alive clients do not try to reuse it.
  con->replace_header("Connection", "close");
  parsed_request r;
  parse(con->get_resource(), r);
  if (!path_matches(r.path)) {
    if (on_http && on_http(con)) return;
    con->set_status(websocketpp::http::status_code::not_found);
    con->replace_header("Content-Type", "text/plain");
    con->set_body("Not Found");
    return;
  }
  const std::string& method = con->get_request().get_method();
  if (method == "OPTIONS") {  // CORS preflight
    if (!answer_preflight(opts.cors, con)) refuse_http(con, http_error::forbidden, "origin not allowed");
    return;
  }
  if (!check_request(con, r, false)) return;

  if (r.sid.empty()) {  // a new polling session
    if (stopping) {
      con->set_status(websocketpp::http::status_code::service_unavailable);
      return;
    }
    auto s = std::make_shared<socket>(shared_from_this(), &w, register_session_sid(), make_handshake(con, r, r.protocol));
    std::string json = open_packet_json(s->sid(), opts.websocket && opts.allow_upgrades);
    std::string body;
    if (r.protocol == 3) append_payload_packet_v3(body, packet_type::open, json);
    else encode_to(body, packet_type::open, json);
    con->set_status(websocketpp::http::status_code::ok);
    con->replace_header("Content-Type", "text/plain; charset=UTF-8");
    con->set_body(body);
    insert(s);
    log.debug([&] { return "open " + s->sid() + " (polling) from " + s->handshake().remote_address; });
    s->start(transport_kind::polling, ws_link());
    return;
  }

  auto s = find(r.sid);
  if (!s) {
    refuse_http(con, http_error::unknown_sid);
    return;
  }
  if (method != "GET" && method != "POST") {
    refuse_http(con, http_error::bad_request, "method not allowed on a session");
    return;
  }
  if (r.transport != "polling" || s->transport_flag_.load() != int(transport_kind::polling)) {
    refuse_http(con, http_error::bad_request, "transport mismatch");
    return;
  }
  con->defer_http_response();
  if (method == "GET") {
    s->post([s, con, wp = &w, b64 = r.b64] { s->on_poll(poll_reply(con, wp), b64); });
  } else {
    bool binary = con->get_request_header("Content-Type").rfind("application/octet-stream", 0) == 0;
    std::string body = con->get_request_body();
    s->post([s, con, wp = &w, body = std::move(body), binary]() mutable {
      s->on_post(poll_reply(con, wp), std::move(body), binary);
    });
  }
}

inline void core::handle_failed_http(worker& w, websocketpp::connection_hdl hdl) {
  websocketpp::lib::error_code ec;
  auto con = w.ep.get_con_from_hdl(hdl, ec);
  if (ec || !con || con->get_response_code() != websocketpp::http::status_code::request_entity_too_large) return;
  if (con->get_request().get_method() != "POST") return;
  parsed_request r;
  parse(con->get_request().get_uri(), r);  // the handshake never got to set the connection's URI
  if (!path_matches(r.path) || r.sid.empty()) return;
  auto s = find(r.sid);
  if (!s) return;
  std::string length = con->get_request_header("Content-Length");
  length.erase(std::find_if(length.begin(), length.end(), [](char c) { return c < '0' || c > '9'; }), length.end());
  s->post([s, length = std::move(length)] {
    if (s->closed_ || s->transport_ != transport_kind::polling) return;
    s->close_with(close_reason::payload_too_large, "POST body of " + length + " bytes");
  });
}

// ---------------------------------------------------------------- WebSocket

inline bool core::validate_ws(worker& w, websocketpp::connection_hdl hdl) {
  auto con = w.ep.get_con_from_hdl(hdl);
  parsed_request r;
  parse(con->get_resource(), r);
  if (!path_matches(r.path)) {
    if (on_websocket) return on_websocket(con);  // plain WebSocket routes (portico::http)
    con->set_status(websocketpp::http::status_code::not_found);
    return false;
  }
  if (!check_request(con, r, true)) return false;
  // Prepared frames are hybi13 framing (also that of drafts 7 and 8).
  const std::string& version = con->get_request_header("Sec-WebSocket-Version");
  if (version != "13" && version != "8" && version != "7") {
    refuse_http(con, http_error::bad_request, "unsupported websocket version");
    return false;
  }
  const void* id = con.get();
  core* self = this;  // connections die with the workers, which the core owns
  if (r.sid.empty()) {
    auto s = std::make_shared<socket>(shared_from_this(), &w, register_session_sid(), make_handshake(con, r, r.protocol));
    std::weak_ptr<socket> weak = s;
    con->set_open_handler([self, s, &w, b64 = r.b64](websocketpp::connection_hdl h) {
      auto c = w.ep.get_con_from_hdl(h);
      if (self->stopping) {
        c->close(websocketpp::close::status::going_away, "");
        return;
      }
      self->insert(s);
      self->log.debug([&] { return "open " + s->sid() + " (websocket) from " + s->handshake().remote_address; });
      ws_link link(c, &w);
      link.b64 = b64;
      s->start(transport_kind::websocket, std::move(link));
    });
    attach_ws_handlers(con, weak, id);
    return true;
  }
  auto s = find(r.sid);
  if (!s) {
    refuse_http(con, http_error::unknown_sid);
    return false;
  }
  if (!opts.allow_upgrades) {
    refuse_http(con, http_error::bad_request, "upgrades are disabled");
    return false;
  }
  // Like the reference server, a websocket for a session that already upgraded (or is
  // upgrading) is accepted and closed right away by on_probe_open.
  std::weak_ptr<socket> weak = s;
  con->set_open_handler([weak, &w, b64 = r.b64](websocketpp::connection_hdl h) {
    auto c = w.ep.get_con_from_hdl(h);
    auto s2 = weak.lock();
    if (!s2) {
      c->close(websocketpp::close::status::normal, "");
      return;
    }
    ws_link link(c, &w);
    link.b64 = b64;
    s2->post([s2, link = std::move(link)]() mutable { s2->on_probe_open(std::move(link)); });
  });
  attach_ws_handlers(con, weak, id);
  return true;
}

inline void core::attach_ws_handlers(const ws_connection_ptr& con, const std::weak_ptr<socket>& weak, const void* id) {
  con->set_message_handler([weak, id](websocketpp::connection_hdl, ws_message_ptr msg) {
    if (auto s = weak.lock()) {
      const bool binary = msg->get_opcode() == websocketpp::frame::opcode::binary;
      if (s->on_home_worker()) s->handle_ws_frame(id, binary, std::move(msg->get_raw_payload()));
      else
        s->post([s, id, binary, msg = std::move(msg)]() mutable {
          s->handle_ws_frame(id, binary, std::move(msg->get_raw_payload()));
        });
    }
  });
  auto closed = [weak, id](websocketpp::close::status::value local_code) {
    if (auto s = weak.lock()) {
      if (s->on_home_worker()) s->on_ws_closed(id, local_code);
      else s->post([s, id, local_code] { s->on_ws_closed(id, local_code); });
    }
  };
  ws_connection_ptr::weak_type wc = con;
  con->set_close_handler([closed, wc](websocketpp::connection_hdl) {
    auto c = wc.lock();
    closed(c ? c->get_local_close_code() : websocketpp::close::status::blank);
  });
  con->set_fail_handler([closed](websocketpp::connection_hdl) { closed(websocketpp::close::status::blank); });
}

}  // namespace portico::engineio::detail
