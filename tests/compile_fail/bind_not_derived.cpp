// expect: portico_error_bind_implementation_does_not_derive_from_interface<IAuth, TokenAuth>
#include "portico/framework/di.hpp"

struct IAuth {
  virtual ~IAuth() = default;
};
struct TokenAuth {};  // forgot ": IAuth"
using App = portico::module<portico::providers<portico::bind<IAuth, TokenAuth>>>;

void use() {
  portico::container<App> c;
  c.get<IAuth&>();
}
