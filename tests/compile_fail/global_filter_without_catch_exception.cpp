// expect: portico_error_filter_without_catch_exception<Fallback>
// expect: declare_void_catch_exception_taking_const_E_ref_and_the_host_ref_or_using_catches
// An app-wide filter whose method is misnamed: it catches nothing anywhere.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Fallback {
  void on_exception(const std::runtime_error&, portico::ws_exception_host&) {}
};
struct Room : portico::gateway<Room> {
  int move(int x) { return x; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App>::with_global_filters<Fallback> app; }
