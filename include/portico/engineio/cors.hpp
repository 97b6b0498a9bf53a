#pragma once
/// CORS on the engine path: which origins may use the server, the headers that say so, and the
/// answer to a preflight.
#include "detail/ws_config.hpp"
#include "options.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace portico::engineio::detail {

inline bool origin_allowed(const cors_options& cors, std::string_view origin) {
  if (cors.allow) return cors.allow(origin);
  for (auto& o : cors.allowed_origins)
    if (o == "*" || o == origin) return true;
  return false;
}

/// The CORS header fields for a request from `origin`, through `set(name, value)`; false if the
/// origin is refused.
template <class Set>
bool cors_fields(const cors_options& cors, std::string_view origin, Set&& set) {
  if (!cors.enabled()) return true;
  if (origin.empty()) return true;  // not a cross-origin browser request
  if (!origin_allowed(cors, origin)) return false;
  bool star = !cors.allow && !cors.credentials &&
              std::find(cors.allowed_origins.begin(), cors.allowed_origins.end(), "*") != cors.allowed_origins.end();
  set("Access-Control-Allow-Origin", star ? std::string_view("*") : origin);
  if (!star) set("Vary", "Origin");
  if (cors.credentials) set("Access-Control-Allow-Credentials", "true");
  return true;
}

/// CORS headers for an allowed origin; false if the origin is refused.
inline bool apply_cors(const cors_options& cors, const ws_connection_ptr& con) {
  return cors_fields(cors, con->get_request_header("Origin"), [&](std::string_view n, std::string_view v) {
    if (n == "Vary") con->append_header(std::string(n), std::string(v));
    else con->replace_header(std::string(n), std::string(v));
  });
}

/// Answers a CORS preflight (OPTIONS); false, with nothing set, if the origin is refused.
inline bool answer_preflight(const cors_options& cors, const ws_connection_ptr& con) {
  if (!apply_cors(cors, con)) return false;
  con->replace_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
  const std::string& rh = con->get_request_header("Access-Control-Request-Headers");
  if (!rh.empty()) con->replace_header("Access-Control-Allow-Headers", rh);
  con->set_status(websocketpp::http::status_code::no_content);
  return true;
}

}  // namespace portico::engineio::detail
