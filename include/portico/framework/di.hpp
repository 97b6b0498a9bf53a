#pragma once
/// The compile-time dependency injection of the framework layer (see docs/dependency-injection.md).

#include "di/connection_scope.hpp"
#include "di/constructor.hpp"
#include "di/container.hpp"
#include "di/errors.hpp"
#include "di/inject.hpp"
#include "di/module.hpp"
#include "di/providers.hpp"
#include "di/scopes.hpp"
#include "di/type_list.hpp"
#include "guards.hpp"
