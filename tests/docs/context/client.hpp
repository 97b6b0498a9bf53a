// What the snippets of docs/client.md take for granted.
#pragma once

#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <string>

#include <portico/client/client.hpp>
#include <portico/client/simple_client.hpp>
