// expect: portico_error_dependency_cycle<A, B, A>
// expect: break_the_cycle
#include "portico/framework/di.hpp"

struct B;
struct A {
  explicit A(B&) {}
};
struct B {
  explicit B(A&) {}
};
using App = portico::module<portico::providers<A, B>>;

void use() {
  portico::container<App> c;
  c.get<A&>();
}
