// expect: portico_error_interceptor_before_with_result_must_return_bool<Cache, portico::http_context>
// expect: return_false_from_before_to_answer_with_the_result_without_the_handler
// before(ctx, result) decides whether the handler runs: it must say so.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Cache {
  void before(portico::http_context&, portico::http::response&) {}
};
struct CarController : portico::controller<CarController> {
  using interceptors = portico::interceptors<Cache>;
  template <class Routes>
  void routes(Routes& r) {
    r.get("/", [] { return portico::http::text("car"); });
  }
};
using App = portico::module<portico::controllers<CarController>>;

void use() { portico::app<App> app; }
