#pragma once
/// Everything a real-time server needs: Engine.IO, Socket.IO, the JSON mapping and the
/// framework (DI, guards, gateways, the app), without the HTTP layer (router, templates,
/// static files, <filesystem>). A gateway-only app compiles faster with this include than with
/// the umbrella <portico/portico.hpp>, which adds the HTTP layer.
#include "version.hpp"
#include "log.hpp"
#include "json/json.hpp"
#include "engineio/server.hpp"
#include "socketio/server.hpp"
#include "framework/framework.hpp"
