// expect: portico_error_singleton_depends_on_per_connection<EventGateway, Session>
// A gateway is a singleton: it must not keep one connection's Session.
#include "portico/framework/di.hpp"

struct Session {};
struct EventGateway {
  explicit EventGateway(Session&) {}
};
using App = portico::module<portico::providers<portico::per_connection<Session>>, portico::gateways<EventGateway>>;

void use() {
  portico::container<App> c;
  c.component<EventGateway>();
}
