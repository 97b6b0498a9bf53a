#pragma once
/// The framework layer in one include: DI, guards, gateways, controllers, the typed event
/// registry, the app.
#include "ack_join.hpp"
#include "app.hpp"
#include "context.hpp"
#include "controller.hpp"
#include "di.hpp"
#include "disconnect_reason.hpp"
#include "exceptions.hpp"
#include "gateway.hpp"
#include "guards.hpp"
#include "http_context.hpp"
#include "namespace_handle.hpp"
#include "registry.hpp"
#include "worker_pool.hpp"
#include "ws_response.hpp"
