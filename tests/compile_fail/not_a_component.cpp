// expect: portico_error_not_a_component<EventGateway>
#include "portico/framework/di.hpp"

struct EventGateway {};
using App = portico::module<portico::providers<>>;

void use() {
  portico::container<App> c;
  c.component<EventGateway>();
}
