// expect: portico_error_filter_cannot_catch<GatewayFilter, std::runtime_error, portico::http_exception_host>
// expect: declare_catch_exception_taking_this_exception_by_const_ref_and_this_host_by_ref
// A gateway filter on a controller route: it has no catch_exception for the HTTP host.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct GatewayFilter {
  void catch_exception(const std::runtime_error&, portico::ws_exception_host&) {}
};
struct CarController : portico::controller<CarController> {
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [] { return portico::http::text("car"); }, portico::filters<GatewayFilter>{});
  }
};
using App = portico::module<portico::controllers<CarController>>;

void use() { portico::app<App> app; }
