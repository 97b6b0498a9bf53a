// expect: portico_error_inject_list_does_not_match_a_constructor_of<Service>
#include "portico/framework/di.hpp"

struct Config {};
struct Logger {};
struct Service {
  explicit Service(Config&) {}
  using inject = portico::inject<Logger&>;
};
using App = portico::module<portico::providers<Config, Logger, Service>>;

void use() {
  portico::container<App> c;
  c.get<Service&>();
}
