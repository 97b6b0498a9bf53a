// expect: portico_error_ambiguous_constructor_of<EventGateway>
#include "portico/framework/di.hpp"

struct ChatStore {};
struct Config {};
struct EventGateway {
  explicit EventGateway(ChatStore&) {}
  EventGateway(ChatStore&, Config&) {}
};
using App = portico::module<portico::providers<ChatStore, Config>, portico::gateways<EventGateway>>;

void use() {
  portico::container<App> c;
  c.component<EventGateway>();
}
