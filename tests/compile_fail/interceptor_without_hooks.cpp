// expect: portico_error_interceptor_without_before_or_after<Logging, portico::gateway_context>
// expect: declare_before_taking_the_context_or_after_taking_the_context_and_the_result
// An interceptor whose hooks take the wrong parameters: it has neither hook for a gateway.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Logging {
  void before() {}       // no context
  void after(int&) {}    // no context, no result
};
struct Room : portico::gateway<Room> {
  int move(int x) { return x; }
  static constexpr auto events =
      portico::events(portico::subscribe("move", &Room::move, portico::interceptors<Logging>{}));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
