// expect: portico_error_provider_not_exported<AuthService, AuthModule>
// expect: add_it_to_portico_exports_of_that_module
#include "portico/framework/di.hpp"

struct AuthService {};
struct AuthModule : portico::module<portico::providers<AuthService>> {};  // exports nothing
struct ChatStore {
  explicit ChatStore(AuthService&) {}
};
struct App : portico::module<portico::imports<AuthModule>, portico::providers<ChatStore>> {};

void use() {
  portico::container<App> c;
  c.get<ChatStore&>();
}
