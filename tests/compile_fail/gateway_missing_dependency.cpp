// expect: portico_error_no_provider_for<ChatStore>
// expect: add_it_to_portico_providers
#include "portico/framework/di.hpp"

struct ChatStore {};
struct EventGateway {
  explicit EventGateway(ChatStore&) {}
};
using App = portico::module<portico::gateways<EventGateway>>;

void use() {
  portico::container<App> c;
  c.instantiate();
}
