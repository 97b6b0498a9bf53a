// What the snippets of docs/socketio.md take for granted.
#pragma once

#include <portico/socketio/server.hpp>

#include <string>
#include <thread>

namespace doc_socketio {
namespace sio = portico::socketio;
}  // namespace doc_socketio
