// The one TU of a program that compiles portico's separately compiled part
// (PORTICO_SEPARATE_COMPILATION; docs/compile-time.md). bench/compile/measure times it.
#include <portico/impl/src.hpp>
