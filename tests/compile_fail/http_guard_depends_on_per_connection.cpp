// expect: portico_error_used_without_connection_depends_on_per_connection<SessionGuard, Session>
// expect: inject_singletons_or_transients_only
// An HTTP request has no connection scope: a guard of a controller route cannot inject a
// per-connection provider.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Session {};
struct SessionGuard {
  explicit SessionGuard(Session&) {}
  bool can_activate(portico::http_context&) { return true; }
};
struct CarController : portico::controller<CarController> {
  static constexpr auto options = portico::controller_options{"/car"};
  using guards = portico::guards<SessionGuard>;
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [] { return portico::http::text("car"); });
    r.get("/other", [] { return portico::http::text("other"); });
  }
};
using App = portico::module<portico::providers<portico::per_connection<Session>>, portico::controllers<CarController>>;

void use() { portico::app<App> app; }
