#pragma once
/// The umbrella header: everything a portico server needs. The client
/// (<portico/client/client.hpp>) and the testing module (<portico/testing/testing.hpp>) are
/// separate includes: a server should not compile a websocketpp client it does not use.
#include "version.hpp"
#include "log.hpp"
#include "stop_signals.hpp"
#include "json/json.hpp"
#include "engineio/server.hpp"
#include "socketio/server.hpp"
#include "http/http.hpp"
#include "framework/framework.hpp"
