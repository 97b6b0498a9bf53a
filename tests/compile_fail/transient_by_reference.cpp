// expect: portico_error_transient_injected_by_reference<Widget>
// expect: inject_it_by_value_or_as_std_shared_ptr
#include "portico/framework/di.hpp"

struct Widget {};
struct Panel {
  explicit Panel(Widget&) {}
  using inject = portico::inject<Widget&>;
};
using App = portico::module<portico::providers<portico::transient<Widget>, Panel>>;

void use() {
  portico::container<App> c;
  c.get<Panel&>();
}
