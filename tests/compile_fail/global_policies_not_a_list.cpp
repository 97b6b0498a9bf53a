// expect: portico::global_policies<...>: give portico::guards<...>, portico::filters<...> or portico::interceptors<...> lists only
// An app-wide policy bundle holding a filter type itself instead of a portico::filters<...> list.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Fallback {
  void catch_exception(const std::runtime_error&, portico::ws_exception_host&) {}
};
struct Room : portico::gateway<Room> {
  int move(int x) { return x; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App, portico::global_policies<Fallback>> app; }
