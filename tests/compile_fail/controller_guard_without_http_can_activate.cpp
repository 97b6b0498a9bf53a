// expect: portico_error_guard_without_can_activate<GatewayOnlyGuard, portico::http_context>
// expect: declare_bool_can_activate
// A gateway guard used on a controller route: it has no can_activate(portico::http_context&).
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct GatewayOnlyGuard {
  bool can_activate(portico::gateway_context&) { return true; }
};
struct CarController : portico::controller<CarController> {
  static constexpr auto options = portico::controller_options{"/car"};
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [] { return portico::http::text("car"); }, portico::guards<GatewayOnlyGuard>{});
  }
};
using App = portico::module<portico::controllers<CarController>>;

void use() { portico::app<App> app; }
