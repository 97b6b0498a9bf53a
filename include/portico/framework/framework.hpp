#pragma once
/// The framework layer in one include: DI, guards, gateways, the typed event registry, the app.
#include "app.hpp"
#include "context.hpp"
#include "di.hpp"
#include "exceptions.hpp"
#include "gateway.hpp"
#include "guards.hpp"
#include "registry.hpp"
#include "worker_pool.hpp"
#include "ws_response.hpp"
