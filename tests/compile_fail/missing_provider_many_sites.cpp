// expect: portico_error_no_provider_for<AuthService>
// Requested by three constructors, in two modules and two forms: still exactly one error.
#include "portico/framework/di.hpp"

struct AuthService {};
struct Login {
  explicit Login(AuthService&) {}
};
struct Logout {
  explicit Logout(const AuthService&) {}
};
struct Tokens {
  explicit Tokens(AuthService&) {}
};
struct TokensModule : portico::module<portico::providers<Tokens>, portico::exports<Tokens>> {};
using App = portico::module<portico::imports<TokensModule>, portico::providers<Login, Logout>>;

void use() {
  portico::container<App> c;
  c.get<Login&>();
  c.get<Logout&>();
  c.get<Tokens&>();
}
