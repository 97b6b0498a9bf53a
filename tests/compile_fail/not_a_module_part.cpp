// expect: portico_error_not_a_module_part<Config,
// expect: use_portico_providers_controllers_gateways_imports_or_exports
#include "portico/framework/di.hpp"

struct Config {};
using App = portico::module<portico::providers<>, Config>;  // meant portico::providers<Config>

void use() {
  portico::container<App> c;
}
