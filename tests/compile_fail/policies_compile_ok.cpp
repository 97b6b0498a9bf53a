// expect-success
// Control for the filter and interceptor snippets: the same shapes, correct, compile.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Both {  // one filter for gateways and controllers: says what it catches
  using catches = portico::catches<std::runtime_error>;
  void catch_exception(const std::runtime_error&, portico::ws_exception_host&) {}
  void catch_exception(const std::runtime_error&, portico::http_exception_host&) {}
};
struct Logging {
  void before(portico::gateway_context&) {}
  void after(portico::http_context&, portico::http::response&) {}
};
struct Room : portico::gateway<Room> {
  using filters = portico::filters<Both>;
  int move(int x) { return x; }
  static constexpr auto events =
      portico::events(portico::subscribe("move", &Room::move, portico::interceptors<Logging>{}));
};
struct CarController : portico::controller<CarController> {
  using interceptors = portico::interceptors<Logging>;
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [] { return portico::http::text("car"); }, portico::filters<Both>{});
  }
};
using App = portico::module<portico::gateways<Room>, portico::controllers<CarController>>;

void use() { portico::app<App> app; }
