# Sourced by scripts/test and scripts/demo: the build configurations, defined once.
# shellcheck shell=bash

# compiler and meson options of one configuration
config_cxx() {
  case "$1" in gcc|asan|tsan|demo|soak) echo g++ ;; clang) echo clang++ ;; *) return 1 ;; esac
}
config_opts() {
  # The test configurations compile at -O0: the websocketpp-heavy test TUs compile 2.4x faster
  # than at -O2 (36 s against 88 s for tests/socketio/server_test.cpp), and optimised code is
  # measured by bench/ instead. -g1 keeps file:line in sanitizer reports at a fraction of -g's
  # cost. compile_fail: gcc checks the snippets with g++ in C++17, clang with clang++ in C++20
  # (websocketpp 0.8.2 is not C++20 with g++ 12); asan would only repeat them.
  # Two language modes, one clang build: `clang` compiles the test suite in C++20 and the examples
  # in C++17 against the generated single header (examples/meson.build), as a single-header user
  # would; gcc compiles everything in C++17 against include/. (Until December 2026 clang built
  # the whole suite twice, C++17 and C++20: a quarter of the CI time for no failure ever seen in
  # only one of the two.) clang also builds the libFuzzer targets of tests/fuzz and runs suite
  # `fuzz` (each corpus once plus a short fuzz run per target, tests 2 at a time).
  # asan builds the tests of the layers that parse what peers send and the framework's dispatch
  # only (-Dtests_scope=input, tests/meson.build): the sanitizer build was a third of the CI time.
  # `demo` is scripts/demo's optimised build of the main example, not a test configuration.
  # `tsan` (ThreadSanitizer, scripts/tsan) is not in scripts/test's default list: -O1 (TSan at -O0
  # is several times slower to run), test suite only; docs/design.md "Running the sanitizers".
  # `soak` is scripts/soak's optimised build of tests/soak alone, not a test configuration.
  local fast="-Doptimization=0 -Ddebug=false"
  case "$1" in
    gcc) echo "-Dcpp_std=c++17 $fast -Db_sanitize=none -Dinterop=true -Dexamples=true -Dcompile_fail=true" ;;
    clang) echo "-Dcpp_std=c++20 $fast -Db_sanitize=none -Dinterop=false -Dexamples=true -Dcompile_fail=true -Dsingle_header=true -Dfuzz=true" ;;
    asan) echo "-Dcpp_std=c++17 $fast -Dcpp_args=-g1 -Db_sanitize=address,undefined -Db_lundef=false -Dtests_scope=input" \
               "-Dinterop=false -Dexamples=false -Dcompile_fail=false" ;;
    tsan) echo "-Dcpp_std=c++17 -Doptimization=1 -Ddebug=false -Dcpp_args=-g1 -Db_sanitize=thread -Db_lundef=false" \
               "-Dinterop=false -Dexamples=false -Dcompile_fail=false" ;;
    soak) echo "-Dcpp_std=c++17 -Doptimization=2 -Ddebug=false -Db_sanitize=none -Dtests=false -Dexamples=false -Dinterop=false -Dcompile_fail=false -Dsoak=true" ;;
    demo) echo "-Dcpp_std=c++17 -Doptimization=2 -Ddebug=false -Db_sanitize=none -Dtests=false -Dexamples=true -Dinterop=false -Dcompile_fail=false" ;;
  esac
}

# Configures $dir; reuses an existing configuration (options re-applied), wipes a broken one, and
# starts over when the directory was configured with another compiler.
configure() {
  local name=$1 dir=$2 cxx opts
  cxx=$(config_cxx "$name") || return 1
  opts=$(config_opts "$name")
  if [ -f "$dir/meson-private/coredata.dat" ] && [ "$(cat "$dir/.portico-cxx" 2>/dev/null)" = "$cxx" ]; then
    # shellcheck disable=SC2086
    CXX=$cxx meson setup --reconfigure "$dir" $opts && return 0
    echo "reconfiguring $dir failed: wiping it"
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$cxx" > "$dir/.portico-cxx"
  # shellcheck disable=SC2086
  CXX=$cxx meson setup "$dir" $opts
}
