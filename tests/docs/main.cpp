// The documentation's C++ snippets, compiled by the units scripts/doc_snippets generates from the
// pages. Building this executable is the test; running it lists what was compiled.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "registry.hpp"

int main(int argc, char** argv) {
  const auto& entries = doc_snippets::all();
  for (const auto& e : entries) std::printf("compiled: %s %s\n", e.page, e.name);
  std::printf("%zu snippets compiled\n", entries.size());
  // The expected count (from `scripts/doc_snippets check`) guards against a unit left out of the build.
  if (argc > 1 && std::to_string(entries.size()) != argv[1]) {
    std::printf("expected %s snippets\n", argv[1]);
    return 1;
  }
  return entries.empty() ? 1 : 0;
}
