#pragma once
// Throwaway certificates for the client TLS tests (tls_tests.cpp, tls_app_test.cpp): made by
// tests/support/make_certs.sh (PORTICO_MAKE_CERTS) in a fresh temp dir, removed with the object.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "peer_process.hpp"  // env()

namespace {

/// A fresh temp dir of throwaway certificates (see make_certs.sh), removed with the object.
class cert_dir {
 public:
  cert_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "portico-tls-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    INFO("PORTICO_MAKE_CERTS=" << env("PORTICO_MAKE_CERTS"));
    REQUIRE_FALSE(env("PORTICO_MAKE_CERTS").empty());
    const std::string cmd = "'" + env("PORTICO_MAKE_CERTS") + "' '" + dir_ + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  ~cert_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string operator()(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

}  // namespace
