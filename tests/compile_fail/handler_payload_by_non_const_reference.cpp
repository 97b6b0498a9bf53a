// expect: portico_error_handler_payload_by_non_const_reference<Room, std::
// expect: take_payloads_by_value_or_const_ref
// `std::string& who` reads as a DI request; the diagnostic says it is a payload taken by the
// wrong kind of reference (not "add a provider for std::string").
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

#include <string>

struct Room {
  std::string hello(std::string& who) { return "hello " + who; }
  static constexpr auto events = portico::events(portico::subscribe("hello", &Room::hello));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
