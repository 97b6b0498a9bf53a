#pragma once
/// The umbrella header: everything a portico user needs.
#include "version.hpp"
#include "json/value.hpp"
