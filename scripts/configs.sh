# Sourced by scripts/test and scripts/demo: the build configurations, defined once.
# shellcheck shell=bash

# compiler and meson options of one configuration
config_cxx() {
  case "$1" in gcc|asan) echo g++ ;; clang17|clang20) echo clang++ ;; *) return 1 ;; esac
}
config_opts() {
  # Optimisation only where it buys something: -O2 for gcc (the demo and the interop peers use
  # this build); -O0 elsewhere, which compiles the websocketpp-heavy tests 2-5x faster. -g1 keeps
  # file:line in sanitizer reports at a fraction of -g's cost. compile_fail runs g++ and clang++
  # itself: gcc (C++17) and clang20 (C++20) cover it, clang17 and asan would only repeat it.
  # clang17 builds the examples against the generated single header (single_include/) instead
  # of include/, as a single-header user would.
  local fast="-Doptimization=0 -Ddebug=false"
  case "$1" in
    gcc) echo "-Dcpp_std=c++17 -Doptimization=2 -Ddebug=false -Db_sanitize=none -Dinterop=true -Dexamples=true -Dcompile_fail=true" ;;
    clang17) echo "-Dcpp_std=c++17 $fast -Db_sanitize=none -Dinterop=false -Dexamples=true -Dcompile_fail=false -Dsingle_header=true" ;;
    clang20) echo "-Dcpp_std=c++20 $fast -Db_sanitize=none -Dinterop=false -Dexamples=true -Dcompile_fail=true" ;;
    asan) echo "-Dcpp_std=c++17 $fast -Dcpp_args=-g1 -Db_sanitize=address,undefined -Db_lundef=false" \
               "-Dinterop=false -Dexamples=false -Dcompile_fail=false" ;;
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
