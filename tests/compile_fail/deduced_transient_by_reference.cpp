// expect: portico_error_cannot_inject_constructor_of<Panel>
// expect: inject_transient_providers_by_value_or_std_shared_ptr
#include "portico/framework/di.hpp"

struct Widget {};
struct Panel {
  explicit Panel(Widget&) {}
};
using App = portico::module<portico::providers<portico::transient<Widget>, Panel>>;

void use() {
  portico::container<App> c;
  c.get<Panel&>();
}
