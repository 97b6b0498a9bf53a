// expect: portico_error_unique_ptr_of_shared_instance<Config>
#include <memory>

#include "portico/framework/di.hpp"

struct Config {};
struct Service {
  explicit Service(std::unique_ptr<Config>) {}
};
using App = portico::module<portico::providers<Config, Service>>;

void use() {
  portico::container<App> c;
  c.get<Service&>();
}
