// libFuzzer target: what portico does with an HTTP request, without sockets. The input is raw
// request bytes; websocketpp's parser (the one the server runs) reads them, then portico's code
// runs on the result as on a live connection: the Engine.IO request parsing (path, query, EIO,
// transport, sid), and the HTTP router (matching, typed path/query/header/body parameters, 404,
// 405, static files). Invariants beyond "no crash": a router answer is a known status with a
// reason phrase, and the static file server never leaves its directory.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "portico/http/http.hpp"

namespace http = portico::http;
namespace eio = portico::engineio;
namespace fs = std::filesystem;

namespace fuzz_http {

struct car {
  std::string model;
  int year = 0;
  std::optional<std::string> color;
  std::vector<std::string> tags;
};
PORTICO_FIELDS(car, model, year, color, tags)

fs::path static_dir;

http::router& app() {
  static http::router r = [] {
    http::router r;
    auto cars = r.group("/car");
    cars.get("/{id}", [](int id, int limit, std::string color) { return http::text(std::to_string(id + limit) + color); },
             http::path<int>("id"), http::query<int>("limit", 10), http::query<std::string>("color", "red"));
    cars.get("/{id}/owner", [](long id, std::string token) { return http::text(std::to_string(id) + token); },
             http::path<long>("id"), http::header<std::string>("X-Token"));
    cars.get("/flags", [](bool a, std::optional<double> b, std::uint8_t c) {
      return http::text(std::string(a ? "y" : "n") + (b ? std::to_string(*b) : "") + std::to_string(c));
    }, http::query<bool>("a", false), http::query<std::optional<double>>("b"), http::query<std::uint8_t>("c", 0));
    cars.post("", [](car c) { return http::json(c, 201); }, http::body<car>());
    cars.put("/{id}", [](std::int64_t, car) {}, http::path<std::int64_t>("id"), http::body<car>());
    cars.del("/{id}", [](float) { throw http::http_exception(409, "busy"); }, http::path<float>("id"));
    r.get("/boom", []() -> http::response { throw std::runtime_error("handler failure"); });
    r.static_files("/static", static_dir);
    return r;
  }();
  return r;
}

eio::detail::core& engine() {
  static eio::detail::core c{eio::server_options{}};
  return c;
}

void cleanup() {
  std::error_code ec;
  fs::remove_all(static_dir, ec);
}

}  // namespace fuzz_http

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace fuzz_http;
  static_dir = fs::temp_directory_path() / ("portico-fuzz-static-" + std::to_string(::getpid()));
  fs::create_directories(static_dir / "sub");
  std::ofstream(static_dir / "index.html") << "<p>index</p>";
  std::ofstream(static_dir / "a.txt") << "a";
  std::ofstream(static_dir / "sub" / "b.json") << "{}";
  std::atexit(cleanup);
  app().log().set_level(portico::log_level::off);  // "handler threw" lines, one per input
  engine().log.set_level(portico::log_level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  websocketpp::http::parser::request parsed;
  try {
    parsed.consume(reinterpret_cast<const char*>(data), size);
  } catch (const websocketpp::http::exception&) {
    return 0;  // the server answers 400 itself
  }
  if (!parsed.ready()) return 0;

  // Engine.IO: what handle_http / handle_upgrade read from the resource.
  eio::detail::parsed_request er;
  eio::detail::core::parse(parsed.get_uri(), er);
  auto& core = fuzz_http::engine();
  (void)core.path_matches(er.path);
  (void)core.protocol_of(er.eio);
  (void)core.transport_enabled(er.transport);
  if (!er.sid.empty() && core.find(er.sid)) __builtin_trap();  // no session exists

  // The router, with the request built as router::request_of builds it from a connection.
  http::request req;
  req.method = parsed.get_method();
  req.set_target(parsed.get_uri());
  for (auto& [k, v] : parsed.get_headers()) {
    std::string name = k;
    for (auto& c : name) c = portico::detail::lower_ascii(c);
    req.headers.emplace_back(std::move(name), v);
  }
  req.body = parsed.get_body();
  req.remote_address = "127.0.0.1";
  http::response res = fuzz_http::app().handle(req);
  if (std::string(http::reason_phrase(res.status)) == "Unknown") __builtin_trap();
  if (res.status == 200 && req.path.rfind("/static", 0) == 0 && res.body != "<p>index</p>" && res.body != "a" &&
      res.body != "{}")
    __builtin_trap();  // served something that is not one of the three files
  return 0;
}
