// expect: portico_error_override_matches_no_provider<AuthService>
#include "portico/framework/di.hpp"

struct AuthService {
  virtual ~AuthService() = default;
};
struct FakeAuth : AuthService {};
struct Config {};
using App = portico::module<portico::providers<Config>>;

void use() {
  portico::container<App, portico::override<AuthService, FakeAuth>> c;  // a typo'd test double
}
