// A program that includes RapidJSON before portico: portico's RapidJSON configuration
// (json/rapidjson.hpp) then cannot apply, and everything must still compile and work.
#include <rapidjson/document.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>

#include <string>

#include "portico/json/json.hpp"
#include "portico/socketio/codec.hpp"

TEST_CASE("RapidJSON included before portico: parse and write still work", "[json][config]") {
  rapidjson::Document mine;  // the user's own use of RapidJSON
  mine.Parse("{\"k\":[1,2]}");
  REQUIRE(mine.IsObject());
  CHECK(portico::json::stringify(mine) == "{\"k\":[1,2]}");

  portico::socketio::packet p;
  REQUIRE(portico::socketio::decode("2[\"ev\",{\"text\":\"a fairly long string, longer than sixteen bytes\"}]", p) ==
          portico::socketio::errc::ok);
  CHECK(p.event_name() == "ev");
  CHECK(std::string(p.arg(0)["text"].GetString()) == "a fairly long string, longer than sixteen bytes");
}
