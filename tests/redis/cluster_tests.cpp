// The Redis cluster tests in one translation unit: each file instantiates the same servers,
// adapters, app and client, which is most of its compile time (about 35 s each at -O0 when they
// were five programs). Each file keeps its own named namespace; meson runs each file's cases as
// its own test (redis_adapter, redis_sharded_adapter, ...) by test-name filter.
#include "adapter_test.cpp"
#include "docs_test.cpp"
#include "emitter_test.cpp"
#include "provider_test.cpp"
#include "sharded_adapter_test.cpp"
