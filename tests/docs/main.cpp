// The documentation's C++ snippets, compiled by the units scripts/doc_snippets generates from the
// pages. Building this executable is the first test; running it lists what was compiled and runs
// the pages' runtime checks (tests/docs/checks/).
#include <cstdio>
#include <exception>

#include "registry.hpp"

int main() {
  const auto& entries = doc_snippets::all();
  for (const auto& e : entries) std::printf("compiled: %s %s\n", e.page, e.name);
  std::printf("%zu snippets compiled\n", entries.size());
  int failed = 0;
  for (const auto& c : doc_snippets::all_checks()) {
    try {
      c.run();
      std::printf("ok: %s\n", c.name);
    } catch (const std::exception& e) {
      std::printf("FAILED: %s: %s\n", c.name, e.what());
      ++failed;
    }
  }
  std::printf("%zu checks, %d failed\n", doc_snippets::all_checks().size(), failed);
  return entries.empty() || failed ? 1 : 0;
}
