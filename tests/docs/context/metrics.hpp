// What the snippets of docs/metrics.md take for granted.
#pragma once

#include <cstdio>
#include <string>

#include <portico/portico.hpp>

namespace doc_metrics {
namespace sio = portico::socketio;
}  // namespace doc_metrics
