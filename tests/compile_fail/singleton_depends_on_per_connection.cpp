// expect: portico_error_singleton_depends_on_per_connection<ChatStore, Session>
#include "portico/framework/di.hpp"

struct Session {};
struct ChatStore {  // a singleton would outlive the connection it captured
  explicit ChatStore(Session&) {}
};
using App = portico::module<portico::providers<ChatStore, portico::per_connection<Session>>>;

void use(portico::connection_scope& scope) {
  portico::container<App> c;
  c.get<ChatStore&>(scope);
}
