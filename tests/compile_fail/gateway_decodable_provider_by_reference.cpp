// expect-success
// Control for handler_payload_by_non_const_reference: a decodable type that IS a provider (here
// imported from another module) is still injected by non-const reference, and std::string is a
// payload by value or const&.
#define ASIO_STANDALONE
#define RAPIDJSON_HAS_STDSTRING 1
#define _WEBSOCKETPP_CPP11_STL_
#include "portico/framework/framework.hpp"

#include <string>

struct Settings {
  std::string motd = "hi";
};
PORTICO_FIELDS(Settings, motd)
using SettingsModule = portico::module<portico::providers<Settings>, portico::exports<Settings>>;
struct Room {
  std::string hello(const std::string& who, Settings& s, std::string tail) { return s.motd + who + tail; }
  static constexpr auto events = portico::events(portico::subscribe("hello", &Room::hello));
};
using App = portico::module<portico::imports<SettingsModule>, portico::gateways<Room>>;

void use() { portico::app<App> app; }
