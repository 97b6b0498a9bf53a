// First of the two translation units: includes the umbrella header and defines first_tu_*.
// The forward declarations come first: they must agree with the definitions.
#include <portico/fwd.hpp>
#include <portico/portico.hpp>
#include <portico/engineio/codec.hpp>
#include <portico/socketio/codec.hpp>

#include <catch2/catch.hpp>

#include "link_tu.hpp"

#define LINK_TU first_tu
#include "link_tu.inc"

TEST_CASE("inline functions have one address across translation units", "[link]") {
  CHECK(link_test::first_tu_is_placeholder() == link_test::second_tu_is_placeholder());
}

TEST_CASE("both translation units encode the same bytes", "[link]") {
  CHECK(link_test::first_tu_encode("ev") == link_test::second_tu_encode("ev"));
  CHECK(link_test::first_tu_encode("ev") == R"(["ev",{"_placeholder":true,"num":0}])");
  CHECK(link_test::first_tu_frame("msg", "hi") == R"(42/chat,7["msg","hi"])");
  CHECK(link_test::first_tu_frame("msg", "hi") == link_test::second_tu_frame("msg", "hi"));
}
