// expect: portico_error_abstract_provider<IAuth>
// expect: bind_it_to_an_implementation
#include "portico/framework/di.hpp"

struct IAuth {
  virtual ~IAuth() = default;
  virtual bool check() = 0;
};
using App = portico::module<portico::providers<IAuth>>;

void use() {
  portico::container<App> c;
  c.get<IAuth&>();
}
