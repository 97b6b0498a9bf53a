// Second of the two translation units: includes the umbrella header and defines second_tu_*.
#include <portico/portico.hpp>
#include <portico/engineio/codec.hpp>
#include <portico/socketio/codec.hpp>

#include <catch2/catch.hpp>

#include "link_tu.hpp"

#define LINK_TU second_tu
#include "link_tu.inc"

TEST_CASE("a placeholder written in one TU is recognised in the other", "[link]") {
  portico::json::document doc;
  const std::string text = link_test::first_tu_encode("ev");
  doc.Parse(text.c_str(), text.size());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(link_test::second_tu_is_placeholder()(doc[1]));
  CHECK_FALSE(link_test::second_tu_is_placeholder()(doc[0]));
}

TEST_CASE("a frame encoded in one TU decodes in the other", "[link]") {
  CHECK(link_test::second_tu_read(link_test::first_tu_frame("msg", "hello")) == "/chat|7|msg|hello");
  CHECK(link_test::first_tu_read(link_test::second_tu_frame("msg", "héllo")) == "/chat|7|msg|héllo");
  CHECK(link_test::first_tu_read("4" R"(2/chat,7["msg")") == "error");  // truncated JSON
  CHECK(link_test::second_tu_read("x") == "error");
}
