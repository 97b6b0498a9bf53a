// expect: portico_error_dependency_cycle<Users, Mailer, Users>
#include "portico/framework/di.hpp"

struct Users;
struct Mailer {
  explicit Mailer(Users&) {}
};
Mailer make_mailer(Users& u) { return Mailer{u}; }
struct Users {
  explicit Users(Mailer&) {}
};
struct MailModule;
struct UsersModule : portico::module<portico::providers<Users>, portico::exports<Users>,
                                     portico::imports<MailModule>> {};
struct MailModule : portico::module<portico::providers<portico::factory<Mailer, &make_mailer>>,
                                    portico::exports<Mailer>, portico::imports<UsersModule>> {};

void use() {
  portico::container<UsersModule> c;
  c.get<Users&>();
}
