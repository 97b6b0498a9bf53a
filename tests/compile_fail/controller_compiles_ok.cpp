// expect-success
// Control for the controller snippet: the same controller with an HTTP guard compiles.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct HttpGuard {
  bool can_activate(portico::gateway_context&) { return true; }
  bool can_activate(portico::http_context&) { return true; }
};
struct CarController : portico::controller<CarController> {
  static constexpr auto options = portico::controller_options{"/car"};
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [] { return portico::http::text("car"); }, portico::guards<HttpGuard>{});
  }
};
using App = portico::module<portico::controllers<CarController>>;

void use() { portico::app<App> app; }
