// expect: portico_error_not_a_value_provider<Config>
// expect: declare_it_as_portico_value
#include "portico/framework/di.hpp"

struct Config {
  int port = 0;
};
using App = portico::module<portico::providers<Config>>;  // a plain provider, not value<Config>

void use() {
  portico::container<App> c{Config{8000}};
}
