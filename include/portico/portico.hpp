#pragma once
/// The umbrella header: everything a portico user needs.
#include "version.hpp"
#include "log.hpp"
#include "json/json.hpp"
#include "engineio/server.hpp"
#include "socketio/server.hpp"
#include "framework/framework.hpp"
