// libFuzzer target: the handshake of a ws route (include/portico/http/router.hpp), without
// sockets. The input is a raw upgrade request read by websocketpp's parser (as the server does);
// portico then finds the ws route for the path (path parameters percent-decoded) and decodes the
// typed handshake parameters (path, query, header; required, defaulted, optional) the way
// handle_upgrade does, and a text-encoded event-mode frame (the request body stands in for it) is
// converted by from_text. Invariants beyond "no crash": a refused handshake is a 403 whose body
// lists the errors; an accepted one ran the handler once.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "portico/http/http.hpp"

namespace http = portico::http;

namespace fuzz_ws {

int handled = 0;

struct route_set {
  http::router router;
  http::detail::ws_handler room, user, plain;
};

route_set& routes() {
  static route_set s = [] {
    route_set s;
    auto noop = [](const http::websocket_ptr&) {};
    s.router.group("/rooms").ws("/{room}", noop);
    s.router.ws("/users/{id}/feed/{kind}", noop);
    s.router.ws("/live", noop);
    s.room = http::detail::typed_ws_handler(
        [](const http::websocket_ptr&, std::string room, std::string user, std::optional<std::int64_t> since) {
          ++handled;
          (void)room, (void)user, (void)since;
        },
        http::path<std::string>("room"), http::header<std::string>("X-User", "anon"),
        http::query<std::optional<std::int64_t>>("since"));
    s.user = http::detail::typed_ws_handler(
        [](const http::websocket_ptr&, std::uint32_t id, std::string kind, bool compact, double ratio, std::int8_t level) {
          ++handled;
          (void)id, (void)kind, (void)compact, (void)ratio, (void)level;
        },
        http::path<std::uint32_t>("id"), http::path<std::string>("kind"), http::query<bool>("compact", false),
        http::query<double>("ratio"), http::header<std::int8_t>("X-Level", 0));
    s.plain = http::detail::typed_ws_handler([](const http::websocket_ptr&, std::string token) { ++handled; (void)token; },
                                             http::query<std::string>("token"));
    return s;
  }();
  return s;
}

template <class T>
void frame_as(const std::string& text) {
  portico::json::error_list errs;
  T out{};
  if (!http::detail::from_text(text, out, errs) && errs.empty()) __builtin_trap();
}

}  // namespace fuzz_ws

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  websocketpp::http::parser::request parsed;
  try {
    parsed.consume(reinterpret_cast<const char*>(data), size);
  } catch (const websocketpp::http::exception&) {
    return 0;
  }
  if (!parsed.ready()) return 0;

  http::request req;
  req.method = parsed.get_method();
  req.set_target(parsed.get_uri());
  for (auto& [k, v] : parsed.get_headers()) {
    std::string name = k;
    for (auto& c : name) c = portico::detail::lower_ascii(c);
    req.headers.emplace_back(std::move(name), v);
  }

  auto& s = fuzz_ws::routes();
  http::ws_route* r = s.router.find_ws(req.path, &req.path_params);
  if (r) {
    const std::string& pattern = r->pattern();
    http::detail::ws_handler& h = pattern == "/rooms/{room}" ? s.room : pattern == "/live" ? s.plain : s.user;
    const int before = fuzz_ws::handled;
    std::optional<http::response> refused = h(req, nullptr);
    if (refused) {
      if (refused->status != 403 || refused->body.find("\"loc\"") == std::string::npos) __builtin_trap();
      if (fuzz_ws::handled != before) __builtin_trap();
    } else if (fuzz_ws::handled != before + 1) {
      __builtin_trap();
    }
  } else if (!req.path_params.empty()) {
    __builtin_trap();  // parameters of a route that did not match
  }

  // A text-encoded event-mode frame: the body plays the frame's text.
  const std::string& frame = parsed.get_body();
  fuzz_ws::frame_as<int>(frame);
  fuzz_ws::frame_as<std::uint64_t>(frame);
  fuzz_ws::frame_as<double>(frame);
  fuzz_ws::frame_as<bool>(frame);
  fuzz_ws::frame_as<std::optional<float>>(frame);
  return 0;
}
