// expect: portico_error_singleton_depends_on_per_connection<ChatStore, Session>
// The transient Formatter would be owned by the singleton ChatStore, and with it the Session.
#include "portico/framework/di.hpp"

struct Session {};
struct Formatter {
  explicit Formatter(Session&) {}
};
struct ChatStore {
  explicit ChatStore(Formatter) {}
};
using App = portico::module<
    portico::providers<ChatStore, portico::transient<Formatter>, portico::per_connection<Session>>>;

void use(portico::connection_scope& scope) {
  portico::container<App> c;
  c.get<ChatStore&>(scope);
}
