// expect: portico_error_filter_without_catch_exception<NotAFilter>
// expect: declare_void_catch_exception_taking_const_E_ref_and_the_host_ref_or_using_catches
// A class listed as a filter that says nothing about what it catches.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct NotAFilter {
  void handle(const std::exception&, portico::ws_exception_host&) {}  // wrong name
};
struct Room : portico::gateway<Room> {
  using filters = portico::filters<NotAFilter>;
  void move() {}
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
