// expect: portico_error_no_provider_for<AuthService>
// expect: add_it_to_portico_providers_of_the_module_or_import_a_module_that_exports_it
#include "portico/framework/di.hpp"

struct AuthService {};
struct ChatStore {
  explicit ChatStore(AuthService&) {}
};
using App = portico::module<portico::providers<ChatStore>>;

void use() {
  portico::container<App> c;
  c.get<ChatStore&>();
}
