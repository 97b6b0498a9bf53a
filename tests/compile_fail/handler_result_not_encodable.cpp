// expect: portico_error_handler_result_cannot_be_encoded<Room, Point>
// expect: return_void_or_ws_response_or_a_JSON_encodable_value
// The gateway layer includes the server: the flags every portico user compiles with (meson.build).
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

struct Point {  // no PORTICO_FIELDS: it cannot be sent back as an ack or an event
  int x, y;
};
struct Room {
  Point where() { return {1, 2}; }
  static constexpr auto events = portico::events(portico::subscribe("where", &Room::where));
};
using App = portico::module<portico::gateways<Room>>;

void use() { portico::app<App> app; }
