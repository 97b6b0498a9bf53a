// expect: portico_error_no_provider_for<AuthService>
#include "portico/framework/di.hpp"

struct execution_context {};
struct AuthService {};
struct TokenGuard {
  explicit TokenGuard(AuthService&) {}
  bool can_activate(execution_context&) { return true; }
};
using App = portico::module<portico::providers<>>;

bool use(execution_context& ctx) {
  portico::container<App> c;
  return portico::run_guards<portico::guards<TokenGuard>>(c, ctx);
}
