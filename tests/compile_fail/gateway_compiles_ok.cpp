// expect-success
// Control for the gateway snippets: the same handler shapes with a JSON mapping compile.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Point {
  int x, y;
};
PORTICO_FIELDS(Point, x, y)
struct Room {
  Point move(const Point& p, portico::gateway_context&) { return p; }
  static constexpr auto events = portico::events(portico::subscribe("move", &Room::move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
