// What the snippets of docs/scaling.md take for granted.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <portico/portico.hpp>
