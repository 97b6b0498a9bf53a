// portico::detail::run_user_code (portico/detail/user_code.hpp): the one policy for user code on
// portico's threads: what it throws is logged once at error level and reported as false.
#include <catch2/catch.hpp>

#include "../../include/portico/detail/user_code.hpp"

#include <stdexcept>
#include <string>
#include <vector>

using portico::detail::log_user_code_exception;
using portico::detail::run_user_code;

namespace {
struct captured {
  portico::logger log{"test", portico::log_level::trace};
  std::vector<std::pair<portico::log_level, std::string>> lines;
  captured() {
    log.set_sink([this](portico::log_level l, std::string_view m) { lines.emplace_back(l, std::string(m)); });
  }
};
}  // namespace

TEST_CASE("run_user_code: success runs the code and logs nothing", "[detail][user_code]") {
  captured c;
  int runs = 0, named = 0;
  CHECK(run_user_code(c.log, [&] { ++named; return std::string("handler"); }, [&] { ++runs; }));
  CHECK(runs == 1);
  CHECK(named == 0);  // the name is built only for a failure
  CHECK(c.lines.empty());
}

TEST_CASE("run_user_code: a std::exception is one error line with its what()", "[detail][user_code]") {
  captured c;
  CHECK_FALSE(run_user_code(c.log, "event handler 'chat'", [] { throw std::runtime_error("boom"); }));
  REQUIRE(c.lines.size() == 1);
  CHECK(c.lines[0].first == portico::log_level::error);
  CHECK(c.lines[0].second == "event handler 'chat' threw: boom");
}

TEST_CASE("run_user_code: anything else thrown is caught too", "[detail][user_code]") {
  captured c;
  CHECK_FALSE(run_user_code(&c.log, [] { return std::string("ws handler /x"); }, [] { throw 42; }));
  REQUIRE(c.lines.size() == 1);
  CHECK(c.lines[0].second == "ws handler /x threw a non-standard exception");
}

TEST_CASE("run_user_code: no logger swallows silently; a throwing sink stays inside", "[detail][user_code]") {
  CHECK_FALSE(run_user_code(nullptr, "task", [] { throw std::runtime_error("x"); }));
  portico::logger log("test");
  log.set_sink([](portico::log_level, std::string_view) { throw std::runtime_error("sink down"); });
  CHECK_FALSE(run_user_code(log, "task", [] { throw std::runtime_error("x"); }));
  auto nothing = [] {};
  static_assert(noexcept(run_user_code(nullptr, "task", nothing)));
}

TEST_CASE("log_user_code_exception ends a ladder that mapped some exceptions first", "[detail][user_code]") {
  captured c;
  try {
    throw std::logic_error("unmapped");
  } catch (const std::invalid_argument&) {
    FAIL("not this one");
  } catch (...) {
    log_user_code_exception(&c.log, "handler GET /x");
  }
  REQUIRE(c.lines.size() == 1);
  CHECK(c.lines[0].second == "handler GET /x threw: unmapped");
}
