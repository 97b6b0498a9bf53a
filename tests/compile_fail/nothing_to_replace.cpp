// expect: portico_error_nothing_to_replace_for<AuthService>
#include <memory>

#include "portico/framework/di.hpp"

struct AuthService {};
using App = portico::module<portico::providers<>>;

void use() {
  portico::container<App> c;
  c.replace<AuthService>(std::make_shared<AuthService>());
}
