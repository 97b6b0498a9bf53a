// expect: portico_error_filter_cannot_catch<HttpFilter, std::runtime_error, portico::ws_exception_host>
// expect: declare_catch_exception_taking_this_exception_by_const_ref_and_this_host_by_ref
// A controller's filter declared on a gateway class: it serves neither the gateway's handlers
// (ws_exception_host) nor its CONNECT (connect_exception_host).
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct HttpFilter {
  void catch_exception(const std::runtime_error&, portico::http_exception_host&) {}
};
struct Room : portico::gateway<Room> {
  using filters = portico::filters<HttpFilter>;
  int move(int x) { return x; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
