// expect: portico_error_dependency_cycle<Users, Mailer, Audit, Users>
// One cycle met from several entry points (instantiate() resolves all three) is one error.
#include "portico/framework/di.hpp"

struct Audit;
struct Mailer {
  explicit Mailer(Audit&) {}
};
struct Users {
  explicit Users(Mailer&) {}
};
struct Audit {
  explicit Audit(Users&) {}
};
using App = portico::module<portico::providers<Users, Mailer, Audit>>;

void use() {
  portico::container<App> c;
  c.instantiate();
}
