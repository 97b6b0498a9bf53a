// expect: portico_error_handler_parameter_cannot_be_decoded<Room, const Point
// expect: declare_PORTICO_FIELDS_for_it
// The gateway layer includes the server: the flags every portico user compiles with (meson.build).
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Point {  // no PORTICO_FIELDS: the registry cannot decode it from a message
  int x, y;
};
struct Room {
  void move(const Point& p) { static_cast<void>(p); }
  static constexpr auto events = portico::events(portico::subscribe("move", &Room::move));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
