// The one TU of the program that compiles portico's out-of-line part (separately compiled mode).
#include <portico/impl/src.hpp>
