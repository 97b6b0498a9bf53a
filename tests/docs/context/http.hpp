// What the snippets of docs/http.md take for granted.
#pragma once

#include <portico/portico.hpp>

#include <map>
#include <string>

namespace doc_http {
namespace http = portico::http;

/// Stands for the user's own thread pool in the deferred-route snippet.
struct report_pool {
  template <class F>
  void submit(F f) {
    f();
  }
};
inline std::map<std::string, int> build_report(int id) { return {{"id", id}}; }

namespace car {
struct chat {
  std::string text;
};
PORTICO_FIELDS(chat, text)
}  // namespace car

/// The module of the Controllers section (its controller is shown in full there, from the tests).
struct CarController : portico::controller<CarController> {
  static constexpr auto options = portico::controller_options{"/car"};
  template <class Routes>
  void routes(Routes& r) {
    r.get("/ping", [] { return std::string("pong"); });
  }
};
using CarModule = portico::module<portico::controllers<CarController>>;

}  // namespace doc_http
