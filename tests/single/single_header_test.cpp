// Compiled against single_include/ only: proves the generated header stands on its own.
#include <portico/portico.hpp>

#include <catch2/catch.hpp>

#include <string>

#ifndef PORTICO_SINGLE_HEADER
#error "this test must see single_include/portico/portico.hpp, not include/portico/portico.hpp"
#endif

TEST_CASE("single header carries the project version", "[single]") {
  const std::string v = std::to_string(PORTICO_VERSION_MAJOR) + "." + std::to_string(PORTICO_VERSION_MINOR) + "." +
                        std::to_string(PORTICO_VERSION_PATCH);
  CHECK(v == PORTICO_EXPECTED_VERSION);
}

TEST_CASE("single header: binary placeholders round-trip through the JSON writer", "[single]") {
  namespace json = portico::json;
  std::string out;
  json::string_sink sink{&out};
  json::writer w(sink);
  json::encode_context ctx;
  const json::binary blob(std::string("\x00\xff\x10", 3));
  w.StartArray();
  w.String("upload");
  json::write_placeholder(w, ctx, blob.view());
  w.EndArray();

  CHECK(out == R"(["upload",{"_placeholder":true,"num":0}])");
  REQUIRE(ctx.attachments.size() == 1);
  CHECK(ctx.attachments[0] == blob.view());

  json::document doc;
  doc.Parse(out.c_str(), out.size());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(json::is_placeholder(doc[1]));
  CHECK_FALSE(json::is_placeholder(doc[0]));
}

namespace single_test {
struct greeting {
  std::string name;
  int times;
};
PORTICO_FIELDS(greeting, name, times)
}  // namespace single_test

TEST_CASE("single header: typed decoding of a PORTICO_FIELDS struct, with located errors", "[single]") {
  namespace json = portico::json;
  std::string good = R"({"name":"ann","times":3})";
  json::document doc;
  json::parse_error perr;
  REQUIRE(json::parse_insitu(good, doc, &perr));
  single_test::greeting g;
  json::error_list errs;
  json::decode_context ctx;
  REQUIRE(json::decode(doc, g, ctx, errs));
  CHECK(g.name == "ann");
  CHECK(g.times == 3);

  std::string bad = R"({"times":"x"})";
  json::document doc2;
  REQUIRE(json::parse_insitu(bad, doc2, &perr));
  json::error_list errs2;
  single_test::greeting g2;
  CHECK_FALSE(json::decode(doc2, g2, ctx, errs2));
  CHECK(json::to_string(errs2) == R"([{"loc":["name"],"msg":"field required","type":"missing"},)"
                                  R"({"loc":["times"],"msg":"value is not a valid integer","type":"int_type"}])");
}

TEST_CASE("single header: Engine.IO and Socket.IO codecs", "[single]") {
  CHECK(portico::engineio::encode(portico::engineio::packet_type::message, "hi") == "4hi");

  portico::socketio::packet p;
  REQUIRE(portico::socketio::decode(R"(51-["baz",{"_placeholder":true,"num":0}])", p) ==
          portico::socketio::errc::ok);
  CHECK(p.type == portico::socketio::packet_type::binary_event);
  CHECK(p.attachments_expected == 1);
  CHECK(p.event_name() == "baz");
  CHECK(portico::json::is_placeholder(p.arg(0)));

  portico::socketio::packet bad;
  CHECK(portico::socketio::decode(R"(2/admin,["connect"])", bad) != portico::socketio::errc::ok);  // reserved name
}
