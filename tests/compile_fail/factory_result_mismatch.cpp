// expect: portico_error_factory_result_is_not<Connection, int>
#include "portico/framework/di.hpp"

struct Connection {};
int open_connection() { return 42; }
using App = portico::module<portico::providers<portico::factory<Connection, &open_connection>>>;

void use() {
  portico::container<App> c;
  c.get<Connection&>();
}
