// expect-success
// Control: the flags and include paths the suite uses compile a correct program.
#include "portico/framework/di.hpp"

struct Config {};
struct Service {
  explicit Service(Config&) {}
};
using App = portico::module<portico::providers<Config, Service>>;

void use() {
  portico::container<App> c;
  c.instantiate();
  c.get<Service&>();
}
