// expect: portico_error_interceptor_without_before_or_after<HttpTiming, portico::gateway_context>
// expect: declare_before_taking_the_context_or_after_taking_the_context_and_the_result
// An app-wide interceptor written for controllers only, in an app with a gateway: global
// interceptors wrap every handler and route, so it needs a hook for the gateway context too.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct HttpTiming {
  void before(portico::http_context&) {}
};
struct Room : portico::gateway<Room> {
  int move(int x) { return x; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App>::with_global_interceptors<HttpTiming> app; }
