// expect: portico_error_handler_payload_by_non_const_reference<Room, Point
// expect: take_payloads_by_value_or_const_ref
// A PORTICO_FIELDS type that no provider supplies, taken by non-const reference: a payload.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Point {
  int x, y;
};
PORTICO_FIELDS(Point, x, y)
struct Room {
  void move(portico::gateway_context&, Point& p) { static_cast<void>(p); }
  static constexpr auto events = portico::events(portico::subscribe("move", &Room::move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
