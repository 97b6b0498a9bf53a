// Typed mapping: decoding (success and error lists) and encoding of every supported type.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "portico/json/json.hpp"

namespace json = portico::json;
using loc_t = std::vector<json::path_element>;

namespace shop {

struct item {
  std::string name;
  std::uint8_t qty = 0;
  double price = 0;
};
PORTICO_FIELDS(item, name, qty, price)

struct address {
  std::string street;
  std::optional<std::string> city;
};
PORTICO_FIELDS(address, street, city)

struct order {
  std::vector<item> items;
  std::optional<address> ship_to;
  std::map<std::string, int> tags;
};
PORTICO_FIELDS(order, items, ship_to, tags)

enum class level : std::uint8_t { low = 1, high = 9 };

struct renamed {
  int user_id = 0;
  std::string display_name;
};
PORTICO_FIELDS(renamed, (user_id, "userId"), (display_name, "displayName"))

struct upload {
  std::string filename;
  json::binary data;
  std::vector<json::binary> parts;
};
PORTICO_FIELDS(upload, filename, data, parts)

struct envelope {
  std::string kind;
  json::raw body;
};
PORTICO_FIELDS(envelope, kind, body)

struct peek {
  const json::value* any = nullptr;
};
PORTICO_FIELDS(peek, any)

struct wide {
  int f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12, f13;
  int f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26;
};
PORTICO_FIELDS(wide, f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12, f13, f14, f15,
               f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26)

}  // namespace shop

// PORTICO_FIELDS also works for a struct in the global namespace and for a nested struct.
struct global_point {
  int x = 0, y = 0;
};
PORTICO_FIELDS(global_point, x, y)

namespace geo {
struct shape {
  struct corner {
    double lat = 0;
  };
  std::vector<corner> corners;
};
PORTICO_FIELDS(shape::corner, lat)
PORTICO_FIELDS(shape, corners)
}  // namespace geo

namespace {

template <class T>
json::error_list decode_text(const std::string& text, T& out) {
  json::error_list errs;
  json::from_string(text, out, errs);
  return errs;
}

template <class T>
bool decodes(const std::string& text, T& out) {
  json::error_list errs;
  bool ok = json::from_string(text, out, errs);
  INFO(json::to_string(errs));
  CHECK(ok == errs.empty());
  return ok;
}

/// Decodes `text` as T and returns the single error (test fails if there is not exactly one).
template <class T>
json::error one_error(const std::string& text) {
  T out{};
  json::error_list errs;
  CHECK_FALSE(json::from_string(text, out, errs));
  INFO(text << " -> " << json::to_string(errs));
  REQUIRE(errs.size() == 1);
  return errs[0];
}

}  // namespace

TEST_CASE("strings decode from JSON strings only, keeping embedded NULs", "[json][decode]") {
  std::string s;
  REQUIRE(decodes(R"("h\u00e9llo")", s));
  CHECK(s == "h\xc3\xa9llo");
  REQUIRE(decodes(R"("a\u0000b")", s));
  CHECK(s == std::string("a\0b", 3));
  for (const char* bad : {"1", "null", "true", "[]", "{}"}) {
    auto e = one_error<std::string>(bad);
    CHECK(e.type == "string_type");
    CHECK(e.loc.empty());
  }
}

TEST_CASE("integers are range checked for their C++ type", "[json][decode]") {
  std::int8_t i8 = 0;
  REQUIRE(decodes("-128", i8));
  CHECK(i8 == -128);
  REQUIRE(decodes("127", i8));
  CHECK(i8 == 127);
  CHECK(one_error<std::int8_t>("128").type == "int_range");
  CHECK(one_error<std::int8_t>("128").msg == "integer out of range [-128, 127]");
  CHECK(one_error<std::int8_t>("-129").type == "int_range");

  std::uint8_t u8 = 0;
  REQUIRE(decodes("255", u8));
  CHECK(u8 == 255);
  CHECK(one_error<std::uint8_t>("-1").type == "int_range");
  CHECK(one_error<std::uint8_t>("256").msg == "integer out of range [0, 255]");

  std::int64_t i64 = 0;
  REQUIRE(decodes("-9223372036854775808", i64));
  CHECK(i64 == std::numeric_limits<std::int64_t>::min());
  REQUIRE(decodes("9223372036854775807", i64));
  CHECK(i64 == std::numeric_limits<std::int64_t>::max());
  CHECK(one_error<std::int64_t>("9223372036854775808").type == "int_range");
  CHECK(one_error<std::int64_t>("-1e19").type == "int_range");  // -2^63-1 rounds to -2^63 as a double
  CHECK(one_error<std::int64_t>("1e300").type == "int_range");

  std::uint64_t u64 = 0;
  REQUIRE(decodes("18446744073709551615", u64));
  CHECK(u64 == std::numeric_limits<std::uint64_t>::max());
  CHECK(one_error<std::uint64_t>("18446744073709551616").type == "int_range");
  CHECK(one_error<std::uint64_t>("-1").type == "int_range");

  int i = 0;
  REQUIRE(decodes("3.0", i));  // JSON has one number type; an integral double is an integer
  CHECK(i == 3);
  REQUIRE(decodes("-2e3", i));
  CHECK(i == -2000);
  CHECK(one_error<int>("3.5").type == "int_from_float");
  CHECK(one_error<int>("2147483648").type == "int_range");
  CHECK(one_error<int>("2147483648.0").type == "int_range");
  for (const char* bad : {"\"3\"", "true", "null", "[1]", "{}"})
    CHECK(one_error<int>(bad).type == "int_type");

  unsigned short us = 0;
  REQUIRE(decodes("65535", us));
  CHECK(us == 65535);
  CHECK(one_error<unsigned short>("65536").type == "int_range");
}

TEST_CASE("enums decode and encode as their underlying integer", "[json][decode][encode]") {
  shop::level l{};
  REQUIRE(decodes("9", l));
  CHECK(l == shop::level::high);
  CHECK(one_error<shop::level>("300").type == "int_range");
  CHECK(json::to_string(shop::level::low) == "1");
}

TEST_CASE("floating point accepts any JSON number; float checks its range", "[json][decode]") {
  double d = 0;
  REQUIRE(decodes("1.25", d));
  CHECK(d == 1.25);
  REQUIRE(decodes("-7", d));
  CHECK(d == -7.0);
  REQUIRE(decodes("1e300", d));
  CHECK(d == 1e300);
  float f = 0;
  REQUIRE(decodes("0.5", f));
  CHECK(f == 0.5f);
  CHECK(one_error<float>("1e300").type == "float_range");
  for (const char* bad : {"\"1.5\"", "false", "null", "[]"})
    CHECK(one_error<double>(bad).type == "float_type");
}

TEST_CASE("bool is strict: only true and false", "[json][decode]") {
  bool b = false;
  REQUIRE(decodes("true", b));
  CHECK(b);
  REQUIRE(decodes("false", b));
  CHECK_FALSE(b);
  for (const char* bad : {"1", "0", "\"true\"", "null"})
    CHECK(one_error<bool>(bad).type == "bool_type");
}

TEST_CASE("optional: missing or null is nullopt, otherwise the value must fit", "[json][decode]") {
  shop::address a;
  a.city = "stale";  // decoding must reset a field that is absent now
  REQUIRE(decodes(R"({"street":"Main"})", a));
  CHECK(a.street == "Main");
  CHECK_FALSE(a.city.has_value());
  REQUIRE(decodes(R"({"street":"Main","city":null})", a));
  CHECK_FALSE(a.city.has_value());
  REQUIRE(decodes(R"({"street":"Main","city":"Oslo"})", a));
  CHECK(a.city == std::optional<std::string>("Oslo"));

  auto e = one_error<shop::address>(R"({"street":"Main","city":5})");
  CHECK(e.loc == loc_t{"city"});
  CHECK(e.type == "string_type");

  std::optional<int> top;
  REQUIRE(decodes("null", top));
  CHECK_FALSE(top);
  REQUIRE(decodes("4", top));
  CHECK(top == 4);
}

TEST_CASE("structs: required fields, extra keys ignored, every problem reported", "[json][decode]") {
  shop::item it;
  REQUIRE(decodes(R"({"name":"pen","qty":3,"price":1.5,"colour":"blue"})", it));
  CHECK(it.name == "pen");
  CHECK(it.qty == 3);
  CHECK(it.price == 1.5);

  auto errs = decode_text(R"({"qty":300,"price":"free"})", it);
  REQUIRE(errs.size() == 3);
  CHECK(errs[0].loc == loc_t{"name"});
  CHECK(errs[0].type == "missing");
  CHECK(errs[0].msg == "field required");
  CHECK(errs[1].loc == loc_t{"qty"});
  CHECK(errs[1].type == "int_range");
  CHECK(errs[2].loc == loc_t{"price"});
  CHECK(errs[2].type == "float_type");

  for (const char* bad : {"[]", "\"x\"", "null", "1"}) {
    auto e = one_error<shop::item>(bad);
    CHECK(e.type == "model_type");
    CHECK(e.loc.empty());
  }
}

TEST_CASE("nested locations name every step: keys and indices", "[json][decode]") {
  shop::order o;
  auto errs = decode_text(
      R"({"items":[{"name":"a","qty":1,"price":1},{"name":"b","qty":2,"price":2},{"qty":3,"price":3}],)"
      R"("ship_to":{"street":7},"tags":{"x":1,"y":"two"}})",
      o);
  REQUIRE(errs.size() == 3);
  CHECK(errs[0].loc == loc_t{"items", 2, "name"});
  CHECK(errs[0].type == "missing");
  CHECK(errs[1].loc == loc_t{"ship_to", "street"});
  CHECK(errs[1].type == "string_type");
  CHECK(errs[2].loc == loc_t{"tags", "y"});
  CHECK(errs[2].type == "int_type");
  CHECK(json::to_string(errs) ==
        R"([{"loc":["items",2,"name"],"msg":"field required","type":"missing"},)"
        R"({"loc":["ship_to","street"],"msg":"value is not a valid string","type":"string_type"},)"
        R"({"loc":["tags","y"],"msg":"value is not a valid integer","type":"int_type"}])");
}

TEST_CASE("error locations start where the caller has pushed", "[json][decode]") {
  // A server decoding event arguments reports them as ["data", <argument index>, ...].
  json::document doc;
  REQUIRE(json::parse(R"(["hello", {"name":"x","qty":-1,"price":0}])", doc));
  json::error_list errs;
  json::error_list::scope data(errs, "data");
  shop::item it;
  {
    json::error_list::scope arg(errs, std::size_t{1});
    CHECK_FALSE(json::decode(doc[1], it, errs));
  }
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].loc == loc_t{"data", 1, "qty"});
}

TEST_CASE("vectors, fixed arrays and tuples", "[json][decode]") {
  std::vector<int> v{9, 9, 9, 9};
  REQUIRE(decodes("[1,2,3]", v));
  CHECK(v == std::vector<int>{1, 2, 3});  // replaced, not appended
  REQUIRE(decodes("[]", v));
  CHECK(v.empty());
  std::vector<bool> vb;
  REQUIRE(decodes("[true,false,true]", vb));
  CHECK(vb == std::vector<bool>{true, false, true});
  CHECK(one_error<std::vector<int>>("{}").type == "list_type");
  auto e = one_error<std::vector<int>>(R"([1,2,"3"])");
  CHECK(e.loc == loc_t{2});

  std::vector<std::vector<std::string>> nested;
  auto errs = decode_text(R"([["a"],["b",null]])", nested);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].loc == loc_t{1, 1});

  std::array<int, 3> a{};
  REQUIRE(decodes("[4,5,6]", a));
  CHECK(a == std::array<int, 3>{4, 5, 6});
  CHECK(one_error<std::array<int, 3>>("[1,2]").type == "too_short");
  CHECK(one_error<std::array<int, 3>>("[1,2,3,4]").type == "too_long");
  CHECK(one_error<std::array<int, 3>>("7").type == "list_type");

  std::tuple<std::string, int, bool> t;
  REQUIRE(decodes(R"(["x",2,true])", t));
  CHECK(t == std::make_tuple(std::string("x"), 2, true));
  CHECK(one_error<std::tuple<int, int>>("[1]").msg == "expected 2 items, got 1");
  CHECK(one_error<std::tuple<int, int>>("[1,2,3]").type == "too_long");
  CHECK(one_error<std::tuple<int, int>>("{}").type == "tuple_type");
  auto te = one_error<std::tuple<int, std::string>>(R"([1,2])");
  CHECK(te.loc == loc_t{1});
  CHECK(te.type == "string_type");
}

TEST_CASE("maps with string keys: std::map and std::unordered_map", "[json][decode]") {
  std::map<std::string, double> m{{"old", 1}};
  REQUIRE(decodes(R"({"a":1,"b":2.5})", m));
  CHECK(m == std::map<std::string, double>{{"a", 1}, {"b", 2.5}});
  std::unordered_map<std::string, std::vector<int>> um;
  REQUIRE(decodes(R"({"x":[1],"y":[]})", um));
  CHECK(um.size() == 2);
  CHECK(um.at("x") == std::vector<int>{1});
  CHECK(one_error<std::map<std::string, int>>("[]").type == "dict_type");
  auto e = one_error<std::unordered_map<std::string, std::vector<int>>>(R"({"k":[1,"no"]})");
  CHECK(e.loc == loc_t{"k", 1});
  // Duplicate keys: the first one wins, for maps as for struct fields.
  std::map<std::string, int> dup;
  REQUIRE(decodes(R"({"k":1,"k":2})", dup));
  CHECK(dup.at("k") == 1);
  CHECK(one_error<std::map<std::string, int>>(R"({"k":"first","k":2})").loc == loc_t{"k"});
  shop::item it;
  REQUIRE(decodes(R"({"name":"first","qty":1,"price":1,"name":"second"})", it));
  CHECK(it.name == "first");
}

TEST_CASE("PORTICO_FIELDS renames with (member, \"key\")", "[json][decode][encode]") {
  shop::renamed r;
  REQUIRE(decodes(R"({"userId":7,"displayName":"Ann"})", r));
  CHECK(r.user_id == 7);
  CHECK(r.display_name == "Ann");
  CHECK(json::to_string(r) == R"({"userId":7,"displayName":"Ann"})");
  auto errs = decode_text(R"({"user_id":7,"displayName":"Ann"})", r);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].loc == loc_t{"userId"});
}

TEST_CASE("structs with 26 fields", "[json][decode][encode]") {
  shop::wide w{};
  w.f01 = 1;
  w.f13 = 13;
  w.f26 = 26;
  const std::string text = json::to_string(w);
  CHECK(text.rfind(R"({"f01":1,"f02":0,)", 0) == 0);
  CHECK(text.find(R"("f13":13)") != std::string::npos);
  CHECK(text.find(R"("f26":26})") != std::string::npos);
  shop::wide back{};
  REQUIRE(decodes(text, back));
  CHECK(back.f01 == 1);
  CHECK(back.f13 == 13);
  CHECK(back.f26 == 26);
  auto errs = decode_text("{}", back);
  CHECK(errs.size() == 26);
  CHECK(errs[25].loc == loc_t{"f26"});
}

TEST_CASE("binary fields resolve placeholders through the decode context", "[json][binary]") {
  std::vector<json::binary> attachments{json::binary("first"), json::binary(std::string("\0\1\2", 3)),
                                        json::binary("third")};
  json::decode_context ctx{&attachments};
  json::document doc;
  REQUIRE(json::parse(R"({"filename":"f.bin","data":{"_placeholder":true,"num":1},)"
                      R"("parts":[{"_placeholder":true,"num":2},{"num":0,"_placeholder":true}]})",
                      doc));
  shop::upload u;
  json::error_list errs;
  REQUIRE(json::decode(doc, u, ctx, errs));
  CHECK(u.data.bytes == std::string("\0\1\2", 3));
  REQUIRE(u.parts.size() == 2);
  CHECK(u.parts[0].bytes == "third");
  CHECK(u.parts[1].bytes == "first");

  SECTION("a placeholder beyond the received attachments is an error") {
    std::vector<json::binary> two(attachments.begin(), attachments.begin() + 2);
    json::decode_context short_ctx{&two};
    errs.clear();
    CHECK_FALSE(json::decode(doc, u, short_ctx, errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].loc == loc_t{"parts", 0});
    CHECK(errs[0].type == "binary_missing");
    CHECK(errs[0].msg == "binary attachment 2 was not received");
  }
  SECTION("no attachments at all") {
    errs.clear();
    CHECK_FALSE(json::decode(doc, u, errs));
    CHECK(errs.size() == 3);
    for (const auto& e : errs) CHECK(e.type == "binary_missing");
  }
  SECTION("anything but a placeholder is binary_type") {
    for (const char* bad : {R"("Zm9v")", R"({"_placeholder":true})", R"({"_placeholder":false,"num":0})",
                            R"({"_placeholder":true,"num":-1})", R"({"_placeholder":true,"num":0,"x":1})",
                            "[1,2]", "null"}) {
      json::binary b;
      json::document d;
      REQUIRE(json::parse(bad, d));
      errs.clear();
      CHECK_FALSE(json::decode(d, b, ctx, errs));
      REQUIRE(errs.size() == 1);
      CHECK(errs[0].type == "binary_type");
    }
  }
}

TEST_CASE("binary fields encode as numbered placeholders and collect their bytes", "[json][binary]") {
  shop::upload u{"f", json::binary("AAA"), {json::binary("BB"), json::binary("C")}};
  json::encode_context ctx;
  ctx.attachments.push_back("earlier argument");  // numbering continues across arguments
  const std::string text = json::to_string(u, ctx);
  CHECK(text == R"({"filename":"f","data":{"_placeholder":true,"num":1},"parts":[)"
                R"({"_placeholder":true,"num":2},{"_placeholder":true,"num":3}]})");
  REQUIRE(ctx.attachments.size() == 4);
  CHECK(ctx.attachments[1] == "AAA");
  CHECK(ctx.attachments[2] == "BB");
  CHECK(ctx.attachments[3] == "C");

  // Round trip: what was encoded decodes back with the collected bytes as attachments.
  std::vector<json::binary> received;
  for (auto sv : ctx.attachments) received.emplace_back(std::string(sv));
  json::decode_context dctx{&received};
  json::document doc;
  REQUIRE(json::parse(text, doc));
  shop::upload back;
  json::error_list errs;
  REQUIRE(json::decode(doc, back, dctx, errs));
  CHECK(back.data == u.data);
  CHECK(back.parts == u.parts);
}

TEST_CASE("raw keeps an owned deep copy that outlives the parsed buffer", "[json][raw]") {
  shop::envelope env;
  {
    std::string frame = R"({"kind":"k","body":{"list":[1,"two",{"three":null}],"s":"text"}})";
    json::document doc;
    REQUIRE(json::parse_insitu(frame, doc));
    json::error_list errs;
    REQUIRE(json::decode(doc, env, errs));
    frame.assign(frame.size(), 'X');  // the in-situ strings are gone now
  }
  CHECK(env.kind == "k");
  CHECK(env.body.str() == R"({"list":[1,"two",{"three":null}],"s":"text"})");
  shop::envelope copy = env;
  CHECK(copy.body == env.body);
  CHECK(json::to_string(copy) == R"({"kind":"k","body":{"list":[1,"two",{"three":null}],"s":"text"}})");

  json::raw scalar;
  REQUIRE(decodes("\"just a string\"", scalar));
  CHECK(scalar->IsString());
  CHECK(json::to_string(json::raw()) == "null");
  CHECK(json::raw::parse("[1, 2]").str() == "[1,2]");
}

TEST_CASE("const value* is a borrowed view into the decoded DOM", "[json][raw]") {
  json::document doc;
  REQUIRE(json::parse(R"({"any":[true,{"x":1}]})", doc));
  shop::peek p;
  json::error_list errs;
  REQUIRE(json::decode(doc, p, errs));
  REQUIRE(p.any != nullptr);
  CHECK(p.any == &doc["any"]);
  CHECK(json::to_string(p) == R"({"any":[true,{"x":1}]})");
  errs.clear();
  CHECK_FALSE(json::decode(json::document().SetObject(), p, errs));
  CHECK(errs[0].type == "missing");
  CHECK(json::to_string(shop::peek{}) == R"({"any":null})");
}

TEST_CASE("error lists are capped so hostile input cannot grow them without bound", "[json][decode]") {
  std::string text = "[";
  for (int i = 0; i < 5000; ++i) text += i ? ",\"x\"" : "\"x\"";
  text += "]";
  std::vector<int> v;
  json::error_list errs(10);
  CHECK_FALSE(json::from_string(text, v, errs));
  CHECK(errs.size() == 10);
  CHECK(errs.full());
  CHECK(errs[9].loc == loc_t{9});
  json::error_list unlimited(100000);
  CHECK_FALSE(json::from_string(text, v, unlimited));
  CHECK(unlimited.size() == 5000);
  CHECK_FALSE(unlimited.truncated());
}

TEST_CASE("from_string reports unparsable text as json_invalid", "[json][decode]") {
  auto e = one_error<shop::item>(R"({"name":)");
  CHECK(e.type == "json_invalid");
  CHECK(e.loc.empty());
  CHECK(e.msg.find("offset 8") != std::string::npos);
}

TEST_CASE("encoding scalars, strings and containers", "[json][encode]") {
  CHECK(json::to_string(true) == "true");
  CHECK(json::to_string(std::int8_t{-5}) == "-5");
  CHECK(json::to_string(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
  CHECK(json::to_string(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615");
  CHECK(json::to_string(1.5) == "1.5");
  CHECK(json::to_string(2.5f) == "2.5");
  CHECK(json::to_string(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(json::to_string(std::vector<double>{1, std::numeric_limits<double>::infinity()}) == "[1.0,null]");
  CHECK(json::to_string(std::string("q\"\\\n\x01")) == R"("q\"\\\n\u0001")");
  CHECK(json::to_string(std::string("a\0b", 3)) == R"("a\u0000b")");
  CHECK(json::to_string("literal") == R"("literal")");
  CHECK(json::to_string(std::string_view("view")) == R"("view")");
  CHECK(json::to_string(static_cast<const char*>(nullptr)) == "null");
  CHECK(json::to_string(std::optional<int>()) == "null");
  CHECK(json::to_string(std::vector<std::optional<int>>{1, std::nullopt}) == "[1,null]");
  CHECK(json::to_string(std::vector<bool>{true, false}) == "[true,false]");
  CHECK(json::to_string(std::array<int, 2>{3, 4}) == "[3,4]");
  CHECK(json::to_string(std::make_tuple(1, std::string("a"), false)) == R"([1,"a",false])");
  CHECK(json::to_string(std::map<std::string, int>{{"b", 2}, {"a", 1}}) == R"({"a":1,"b":2})");
  CHECK(json::to_string(std::vector<int>{}) == "[]");
  CHECK(json::to_string(std::map<std::string, int>{}) == "{}");
}

TEST_CASE("encoding structs: declaration order, empty optionals omitted", "[json][encode]") {
  shop::order o;
  o.items.push_back({"pen", 2, 0.5});
  o.tags["gift"] = 1;
  CHECK(json::to_string(o) == R"({"items":[{"name":"pen","qty":2,"price":0.5}],"tags":{"gift":1}})");
  o.ship_to = shop::address{"Main", std::nullopt};
  CHECK(json::to_string(o) ==
        R"({"items":[{"name":"pen","qty":2,"price":0.5}],"ship_to":{"street":"Main"},"tags":{"gift":1}})");
}

TEST_CASE("encode_to appends after what is already in the buffer", "[json][encode]") {
  std::string packet = "42[\"ev\",";
  json::encode_context ctx;
  json::encode_to(packet, shop::address{"s", std::string("c")}, ctx);
  packet += "]";
  CHECK(packet == R"(42["ev",{"street":"s","city":"c"}])");
}

TEST_CASE("round trip: encode, parse in situ, decode gives the same value", "[json][roundtrip]") {
  shop::order o;
  o.items = {{"a", 0, 0}, {"\xe2\x82\xac uro \"q\"", 255, -1e-9}, {"", 17, 1e300}};
  o.ship_to = shop::address{"Street \\ 1", std::string("City")};
  o.tags = {{"", 0}, {"neg", -2147483647 - 1}, {"unicode \xf0\x9f\x98\x80", 2147483647}};
  std::string text = json::to_string(o);
  json::document doc;
  REQUIRE(json::parse_insitu(text, doc));
  shop::order back;
  json::error_list errs;
  REQUIRE(json::decode(doc, back, errs));
  REQUIRE(back.items.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back.items[i].name == o.items[i].name);
    CHECK(back.items[i].qty == o.items[i].qty);
    CHECK(back.items[i].price == o.items[i].price);
  }
  REQUIRE(back.ship_to);
  CHECK(back.ship_to->street == o.ship_to->street);
  CHECK(back.ship_to->city == o.ship_to->city);
  CHECK(back.tags == o.tags);
  CHECK(json::to_string(back) == json::to_string(o));
}

TEST_CASE("error lists decode back from their JSON form (client side)", "[json][errors]") {
  json::error_list errs;
  errs.push("data");
  errs.push(std::size_t{0});
  errs.add("field required", "missing");
  errs.pop();
  errs.pop();
  errs.add("top", "value_error");
  const std::string text = json::to_string(errs);
  CHECK(text == R"([{"loc":["data",0],"msg":"field required","type":"missing"},)"
                R"({"loc":[],"msg":"top","type":"value_error"}])");
  json::error_list back, problems;
  REQUIRE(json::from_string(text, back, problems));
  REQUIRE(back.size() == 2);
  CHECK(back[0].loc == loc_t{"data", 0});
  CHECK(back[0].msg == "field required");
  CHECK(back[1].type == "value_error");
  CHECK_FALSE(json::from_string(R"([{"loc":[true],"msg":"m","type":"t"}])", back, problems));
  CHECK(problems[0].loc == loc_t{0, "loc", 0});
}

TEST_CASE("decode_arguments maps event data onto handler parameters", "[json][decode]") {
  json::document doc;
  REQUIRE(json::parse(R"(["order",{"name":"pen","qty":2,"price":1},"note",99])", doc));
  json::decode_context ctx;
  json::error_list errs;

  std::tuple<shop::item, std::string> two;
  REQUIRE(json::decode_arguments(doc, 1, two, ctx, errs));
  CHECK(std::get<0>(two).name == "pen");
  CHECK(std::get<1>(two) == "note");  // the extra trailing 99 is ignored

  std::tuple<shop::item, std::string, int, std::optional<int>> four;
  std::get<3>(four) = 5;
  REQUIRE(json::decode_arguments(doc, 1, four, ctx, errs));
  CHECK(std::get<2>(four) == 99);
  CHECK_FALSE(std::get<3>(four).has_value());  // absent optional argument

  std::tuple<std::string, int, int, std::string> wrong;
  {
    json::error_list::scope data(errs, "data");
    CHECK_FALSE(json::decode_arguments(doc, 1, wrong, ctx, errs));
  }
  REQUIRE(errs.size() == 3);
  CHECK(errs[0].loc == loc_t{"data", 0});
  CHECK(errs[0].type == "string_type");
  CHECK(errs[1].loc == loc_t{"data", 1});
  CHECK(errs[1].type == "int_type");
  CHECK(errs[2].loc == loc_t{"data", 3});
  CHECK(errs[2].type == "missing");

  errs.clear();
  std::tuple<> none;
  CHECK(json::decode_arguments(doc, 1, none, ctx, errs));
  std::tuple<int> one;
  CHECK_FALSE(json::decode_arguments(doc[1], 0, one, ctx, errs));  // an object, not an array
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].type == "list_type");
}

TEST_CASE("PORTICO_FIELDS in the global namespace and on nested structs", "[json][decode][encode]") {
  global_point p;
  REQUIRE(decodes(R"({"x":1,"y":-2})", p));
  CHECK(json::to_string(p) == R"({"x":1,"y":-2})");
  geo::shape s;
  auto errs = decode_text(R"({"corners":[{"lat":1},{"lat":"n"}]})", s);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].loc == loc_t{"corners", 1, "lat"});
  s.corners = {{0.25}};
  CHECK(json::to_string(s) == R"({"corners":[{"lat":0.25}]})");
}

namespace {
struct unmapped {};
}  // namespace

TEST_CASE("is_decodable_v / is_encodable_v follow json::decode and json::encode", "[json][typed]") {
  STATIC_REQUIRE(json::is_decodable_v<shop::order>);
  STATIC_REQUIRE(json::is_encodable_v<std::vector<std::optional<shop::item>>>);
  STATIC_REQUIRE(json::is_encodable_v<std::tuple<int, std::string, std::map<std::string, double>>>);
  STATIC_REQUIRE(json::is_encodable_v<const char*>);
  STATIC_REQUIRE(json::is_encodable_v<char[4]>);
  STATIC_REQUIRE(json::is_encodable_v<std::nullptr_t>);
  STATIC_REQUIRE_FALSE(json::is_decodable_v<std::nullptr_t>);  // nothing to decode into
  STATIC_REQUIRE_FALSE(json::is_decodable_v<unmapped>);
  STATIC_REQUIRE_FALSE(json::is_encodable_v<std::map<std::string, unmapped>>);
  STATIC_REQUIRE_FALSE(json::is_decodable_v<std::vector<unmapped>>);
}

TEST_CASE("json::encoded is written as is, inside containers too", "[json][typed]") {
  STATIC_REQUIRE(json::is_encodable_v<json::encoded>);
  STATIC_REQUIRE_FALSE(json::is_decodable_v<json::encoded>);
  CHECK(json::to_string(json::encoded{R"({"a":[1,2]})"}) == R"({"a":[1,2]})");
  std::vector<json::encoded> v{{"1"}, {R"("x")"}};
  CHECK(json::to_string(v) == R"([1,"x"])");
}
