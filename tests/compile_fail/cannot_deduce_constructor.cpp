// expect: portico_error_cannot_deduce_constructor_of<ChatStore>
// expect: declare_using_inject_equals_portico_inject
#include "portico/framework/di.hpp"

struct Config {};
struct Logger {};
struct ChatStore {  // two constructors of the same arity: the probe cannot pick one
  explicit ChatStore(Config&) {}
  explicit ChatStore(Logger&) {}
};
using App = portico::module<portico::providers<Config, Logger, ChatStore>>;

void use() {
  portico::container<App> c;
  c.get<ChatStore&>();
}
