#pragma once
/// engineio::socket (one Engine.IO session) is declared with the server that owns it.
#include "server.hpp"
