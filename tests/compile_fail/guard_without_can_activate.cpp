// expect: portico_error_guard_without_can_activate<TokenGuard, execution_context>
// expect: declare_bool_can_activate
#include "portico/framework/di.hpp"

struct execution_context {};
struct TokenGuard {
  bool can_activate(int) { return true; }  // wrong parameter
};
using App = portico::module<portico::providers<>>;

bool use(execution_context& ctx) {
  portico::container<App> c;
  return portico::run_guards<portico::guards<TokenGuard>>(c, ctx);
}
