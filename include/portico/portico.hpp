#pragma once
/// The umbrella header: everything a portico server needs. The client
/// (<portico/client/client.hpp>) and the testing module (<portico/testing/testing.hpp>) are
/// separate includes: a server should not compile a websocketpp client it does not use.
/// A gateway-only app can include <portico/gateways.hpp> instead (no HTTP layer: faster builds).
#include "gateways.hpp"
#include "http/http.hpp"
