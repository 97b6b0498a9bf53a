// expect: portico_error_ambiguous_constructor_of<ChatStore>
// expect: declare_using_inject_equals_portico_inject
#include "portico/framework/di.hpp"

struct Config {};
struct Logger {};
struct ChatStore {
  explicit ChatStore(Config&) {}
  ChatStore(Config&, Logger&) {}
};
using App = portico::module<portico::providers<Config, Logger, ChatStore>>;

void use() {
  portico::container<App> c;
  c.get<ChatStore&>();
}
