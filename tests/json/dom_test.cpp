// DOM helpers (parse, stringify, copy) and hostile input: nothing may crash, errors are reported.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "portico/json/json.hpp"

namespace json = portico::json;

namespace hostile {

struct leaf {
  std::string s;
  std::int16_t n = 0;
  std::optional<bool> flag;
};
PORTICO_FIELDS(leaf, s, n, flag)

struct node {
  std::vector<leaf> leaves;
  std::map<std::string, std::vector<double>> series;
  std::optional<leaf> extra;
  json::binary blob;
  json::raw anything;
  std::tuple<int, std::string> pair;
  float ratio = 0;
};
PORTICO_FIELDS(node, leaves, series, extra, blob, anything, pair, ratio)

}  // namespace hostile

TEST_CASE("parse_insitu keeps strings inside the caller's buffer", "[json][dom]") {
  std::string buf = R"({"greeting":"hello","list":["a","b"]})";
  const char* begin = buf.data();
  const char* end = buf.data() + buf.size();
  json::document doc;
  REQUIRE(json::parse_insitu(buf, doc));
  const char* s = doc["greeting"].GetString();
  CHECK(std::string(s) == "hello");
  CHECK((s >= begin && s < end));  // no copy was made
  CHECK(std::string(doc["list"][1].GetString()) == "b");
}

TEST_CASE("parse errors carry an offset and a message; the document is left null", "[json][dom]") {
  struct bad_case {
    std::string text;
    std::size_t offset;
    const char* message_part;
  };
  const std::vector<bad_case> cases = {
      {R"({"a":})", 5, "Invalid value"},
      {"[1,2", 4, ""},
      {"", 0, "empty"},
      {"[1] [2]", 4, "root"},
      {std::string("[1]\0[2]", 7), 3, "NUL"},
      {std::string("\"a\xff\"", 4), 2, "encoding"},
      {"1e400", 0, "too big"},
      {"{\"a\" 1}", 5, ""},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    std::string buf = c.text;
    json::document doc;
    doc.SetObject();
    json::parse_error err;
    CHECK_FALSE(json::parse_insitu(buf, doc, &err));
    CHECK(doc.IsNull());
    CHECK(err.offset == c.offset);
    CHECK(std::string(err.message).find(c.message_part) != std::string::npos);
    json::document doc2;
    json::parse_error err2;
    CHECK_FALSE(json::parse(c.text, doc2, &err2));
    CHECK(err2.offset == c.offset);
  }
}

TEST_CASE("lone surrogate escapes are read as U+FFFD, pairs and escaped backslashes are kept", "[json][dom]") {
  // A JavaScript string may hold a lone surrogate and JSON.stringify escapes it; RapidJSON alone
  // refused "\ud800" and turned "\udc00" into bytes that are not UTF-8.
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(["\ud800"])", fffd},
      {R"(["\udc00"])", fffd},
      {R"(["hi \udd00!"])", "hi " + fffd + "!"},
      {R"(["\ud800\ud800x"])", fffd + fffd + "x"},
      {R"(["\udbff"])", fffd},
      {R"(["\ud83d\ude00"])", "\xF0\x9F\x98\x80"},       // a pair stays one character
      {R"(["\\ud800"])", "\\ud800"},                      // an escaped backslash, not an escape
      {R"(["\\\udc00"])", "\\" + fffd},
      {R"(["\u00e9\ud800\u0041"])", "\xC3\xA9" + fffd + "A"},
  };
  for (const auto& c : cases) {
    INFO(c.first);
    std::string buf = c.first;
    json::document doc;
    REQUIRE(json::parse_insitu(buf, doc));
    CHECK(std::string(doc[0].GetString(), doc[0].GetStringLength()) == c.second);
    json::document doc2;
    REQUIRE(json::parse(c.first, doc2));
    CHECK(std::string(doc2[0].GetString(), doc2[0].GetStringLength()) == c.second);
  }
  std::string key = R"({"a\udfffb":1})";
  json::document doc;
  REQUIRE(json::parse_insitu(key, doc));
  CHECK(doc.HasMember(("a" + fffd + "b").c_str()));
  json::parse_error err;
  CHECK_FALSE(json::parse(R"(["\ud800)", doc, &err));  // still an unterminated string
}

TEST_CASE("parse_insitu stays inside the buffer when the text ends in a truncated UTF-8 sequence",
          "[json][dom]") {
  // RapidJSON's UTF-8 validation takes the continuation bytes a lead byte announces without
  // looking at them: it used to read (and rewrite) up to 2 bytes past the terminator, which
  // AddressSanitizer reports when the string's heap block ends right after its terminator.
  const std::vector<std::string> tails = {"\xF0", "\xF0\x9F", "\xF0\x9F\x98", "\xE2", "\xE2\x82", "\xC3",
                                          "\xF4\x8F\xBF"};
  for (const auto& tail : tails) {
    for (const std::string& head : {std::string("\"0123456789abcdef"), std::string("[\"0123456789abcdef")}) {
      const std::string text = head + tail;
      INFO(text);
      std::string buf(text.data(), text.size());  // capacity == size: nothing spare past the NUL
      json::document doc;
      json::parse_error err;
      CHECK_FALSE(json::parse_insitu(buf, doc, &err));
      CHECK(std::string(err.message).find("encoding") != std::string::npos);
      CHECK(err.offset == head.size());
      json::document doc2;
      CHECK_FALSE(json::parse(text, doc2));
    }
  }
  // The same sequences complete and followed by the closing quote are fine.
  std::string ok = "[\"0123456789abcdef\xF0\x9F\x98\x80\"]";
  json::document doc;
  REQUIRE(json::parse_insitu(ok, doc));
  CHECK(std::string(doc[0].GetString()) == "0123456789abcdef\xF0\x9F\x98\x80");
}

TEST_CASE("numbers beyond a double's range are refused, not turned into infinity", "[json][dom]") {
  // RapidJSON refuses 1e400 itself but made infinity of these; stringify then stopped there.
  const std::vector<std::string> texts = {"10e308", "[3114561e308]", "{\"a\":-2e308}", "1" + std::string(400, '0')};
  for (const auto& text : texts) {
    INFO(text);
    std::string buf = text;
    json::document doc;
    json::parse_error err;
    CHECK_FALSE(json::parse_insitu(buf, doc, &err));
    CHECK(doc.IsNull());
    CHECK(std::string(err.message).find("too big") != std::string::npos);
    CHECK_FALSE(json::parse(text, doc, &err));
    CHECK(std::string(err.message).find("too big") != std::string::npos);
  }
  json::document doc;
  REQUIRE(json::parse("[1.7976931348623157e308,-4.9e-324,1e-400]", doc));
  CHECK(json::parse(json::stringify(doc), doc));
}

TEST_CASE("nesting depth is bounded, and deep input never overflows the stack", "[json][dom]") {
  auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  json::document doc;
  json::parse_error err;
  CHECK(json::parse(nested(json::default_max_depth), doc, &err));
  CHECK_FALSE(json::parse(nested(json::default_max_depth + 1), doc, &err));
  CHECK(std::string(err.message) == "Nesting too deep.");
  CHECK_FALSE(json::parse(nested(10), doc, &err, 9));
  CHECK(json::parse(nested(10), doc, &err, 10));
  // A million open brackets: rejected quickly, without recursion.
  std::string deep(1000000, '[');
  CHECK_FALSE(json::parse_insitu(deep, doc, &err));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  CHECK_FALSE(json::parse(objects, doc, &err));
  CHECK(std::string(err.message) == "Nesting too deep.");
}

TEST_CASE("parse copies from a string_view that is not NUL-terminated", "[json][dom]") {
  const std::string big = R"([1,"two"]GARBAGE)";
  json::document doc;
  REQUIRE(json::parse(std::string_view(big).substr(0, 9), doc));
  CHECK(json::stringify(doc) == R"([1,"two"])");
}

TEST_CASE("stringify writes compact JSON", "[json][dom]") {
  json::document doc;
  REQUIRE(json::parse(R"( { "a" : [ 1 , 2.5 , "x\u0001" , null , true ] , "b" : { } } )", doc));
  CHECK(json::stringify(doc) == R"({"a":[1,2.5,"x\u0001",null,true],"b":{}})");
}

TEST_CASE("copy makes a DOM independent of the source buffer", "[json][dom]") {
  std::string buf = R"({"name":"original","tags":["x","y"],"n":-3})";
  json::document src;
  REQUIRE(json::parse_insitu(buf, src));
  json::document dst;
  json::copy(src["tags"], dst);
  json::document other;
  other.SetObject();
  json::value moved = json::copy(src, other.GetAllocator());
  other.AddMember("inner", moved, other.GetAllocator());
  std::memset(&buf[0], 'Z', buf.size());  // clobber the in-situ strings
  CHECK(json::stringify(dst) == R"(["x","y"])");
  CHECK(json::stringify(other) == R"({"inner":{"name":"original","tags":["x","y"],"n":-3}})");
}

TEST_CASE("hostile input table: every decode either succeeds or reports errors", "[json][hostile]") {
  const std::vector<std::string> inputs = {
      "", "null", "0", "-0", "1e308", "-1e308", "1e-400", "18446744073709551616", "\"\"", "[]", "{}",
      R"({"leaves":null})",
      R"({"leaves":[null,1,"s",[],{}],"series":[],"extra":5,"blob":"b","anything":{},"pair":{},"ratio":"r"})",
      R"({"leaves":[{"s":1,"n":99999,"flag":"yes"}],"series":{"a":[1,"x",null,{}]},"pair":[1],"ratio":1e39})",
      R"({"leaves":[{"s":"","n":-32768}],"series":{"":[]},"blob":{"_placeholder":true,"num":4294967295},)"
      R"("anything":[[[[]]]],"pair":[2147483648,"x"],"ratio":-3.4e38})",
      R"({"leaves":[{"s":"ok","n":1.5}],"series":{},"blob":{"_placeholder":true,"num":0},"anything":0,)"
      R"("pair":[-1,""],"ratio":0})",
      R"({"leaves":[],"series":{},"blob":{"_placeholder":true,"num":0},"anything":null,"pair":[0,""],"ratio":0})",
      std::string("{\"leaves\":[{\"s\":\"a\0b\"}]}", 21),
      "{\"leaves\":[{\"s\":\"\xc3\x28\"}]}",
      std::string(300, '[') + std::string(300, ']'),
      "[" + std::string(200, '{') ,
      "{\"a\":" + std::string(5000, '['),
      "\"\\uDFFF\"",
      "nul", "tru", "[1,]", "{\"a\":1,}", "01", "-", "1.", ".5", "+1", "0x10", "NaN", "Infinity", "'s'",
  };
  std::vector<json::binary> attachments{json::binary("only one")};
  json::decode_context ctx{&attachments};
  int succeeded = 0;
  for (const auto& text : inputs) {
    INFO(text.substr(0, 80));
    hostile::node n;
    json::error_list errs;
    const bool ok = json::from_string(text, n, errs);
    CHECK(ok == errs.empty());
    if (ok) ++succeeded;
    std::string buf = text;
    json::document doc;
    if (json::parse_insitu(buf, doc)) {
      json::error_list errs2;
      const bool ok2 = json::decode(doc, n, ctx, errs2);
      CHECK(ok2 == errs2.empty());
      CHECK(json::to_string(errs2).front() == '[');
      if (ok2) ++succeeded;
    }
  }
  CHECK(succeeded == 1);  // only the fully valid one, and only with the attachment present
}

TEST_CASE("wrong types at every level of a valid document are all caught", "[json][hostile]") {
  // Take a valid document, replace one value at a time (at every depth) with every JSON kind.
  const std::string valid =
      R"({"leaves":[{"s":"a","n":1,"flag":true}],"series":{"k":[1.5]},"extra":{"s":"e","n":2},)"
      R"("blob":{"_placeholder":true,"num":0},"anything":{"x":[1]},"pair":[1,"p"],"ratio":0.5})";
  const std::vector<std::string> replacements = {"null",  "true", "0",  "-1", "1.5", "\"s\"", "[]",
                                                 "{}",    "1e308", "-1e308", "18446744073709551616",
                                                 "[[[[[]]]]]", R"({"_placeholder":true,"num":7})"};
  std::vector<json::binary> attachments{json::binary("x")};
  json::decode_context ctx{&attachments};
  {
    json::document doc;
    REQUIRE(json::parse(valid, doc));
    hostile::node n;
    json::error_list errs;
    REQUIRE(json::decode(doc, n, ctx, errs));
  }
  // Every value position in `valid` starts after ':' or '[' or ','; splice a replacement there.
  int positions = 0, failures = 0;
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const char c = valid[i];
    if (c != ':' && c != '[' && c != ',') continue;
    if (c == ',' && valid[i + 1] == '"' && valid.find("\":", i + 1) < valid.find_first_of(",}]", i + 1))
      continue;  // a ',' before a key, not before a value
    json::document probe;
    // Find the extent of the value starting at i+1 by parsing progressively.
    std::size_t end = i + 1;
    for (; end <= valid.size(); ++end) {
      if (json::parse(std::string_view(valid).substr(i + 1, end - i - 1), probe)) {
        const char next = end < valid.size() ? valid[end] : '\0';
        if (next == ',' || next == '}' || next == ']') break;
      }
    }
    if (end > valid.size()) continue;
    ++positions;
    for (const auto& r : replacements) {
      const std::string text = valid.substr(0, i + 1) + r + valid.substr(end);
      INFO(text);
      json::document doc;
      REQUIRE(json::parse(text, doc));
      hostile::node n;
      json::error_list errs;
      const bool ok = json::decode(doc, n, ctx, errs);
      CHECK(ok == errs.empty());
      if (!ok) ++failures;
    }
  }
  CHECK(positions >= 15);
  CHECK(failures > positions * 5);
}

TEST_CASE("random byte mutations of a valid payload never crash parse or decode", "[json][hostile]") {
  const std::string valid =
      R"({"leaves":[{"s":"a\u00e9\n","n":-12,"flag":false},{"s":"","n":32767}],"series":{"k":[1.5,-2e-3]},)"
      R"("extra":{"s":"e","n":2},"blob":{"_placeholder":true,"num":0},"anything":{"x":[1,{"y":null}]},)"
      R"("pair":[1,"p"],"ratio":0.5})";
  const char alphabet[] = "{}[]\",:0123456789-+.eE\\utrfalsn \x00\xff\xc3";
  std::vector<json::binary> attachments{json::binary("x")};
  json::decode_context ctx{&attachments};
  std::uint32_t seed = 12345;
  auto next = [&seed] {  // small deterministic LCG: the same cases on every run
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  int parsed = 0, decoded = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = valid;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = next() % text.size();
      const char c = alphabet[next() % (sizeof(alphabet) - 1)];
      switch (next() % 3) {
        case 0: text[pos] = c; break;
        case 1: text.insert(pos, 1, c); break;
        default: text.erase(pos, 1 + next() % 8); break;
      }
      if (text.empty()) text = "0";
    }
    json::document doc;
    if (!json::parse_insitu(text, doc)) continue;
    ++parsed;
    hostile::node n;
    json::error_list errs;
    const bool ok = json::decode(doc, n, ctx, errs);
    CHECK(ok == errs.empty());
    if (ok) {
      ++decoded;
      // Whatever decoded must encode to valid JSON again.
      std::string again = json::to_string(n);
      json::document doc2;
      CHECK(json::parse_insitu(again, doc2));
    }
  }
  CHECK(parsed > 100);  // the mutations must exercise the decoder, not only the parser
  CHECK(decoded > 10);
}

namespace {
/// JSON string escaping written out by hand: the reference the writer must agree with.
std::string reference_quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (c < 0x20) {
      const char* hex = "0123456789ABCDEF";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}
}  // namespace

TEST_CASE("strings of every length are written whole, escapes at any position", "[json][dom]") {
  // Lengths cross the writer's 16-byte scan steps and the sink's internal buffer (a few hundred
  // bytes); one special character is placed at each position in turn.
  const char specials[] = {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\xc3'};
  for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 31u, 33u, 239u, 240u, 241u, 600u}) {
    std::string base(len, 'a');
    for (std::size_t i = 0; i < len; ++i) base[i] = static_cast<char>('a' + i % 26);
    CHECK(json::stringify(json::value(base.data(), static_cast<rapidjson::SizeType>(base.size()))) ==
          reference_quoted(base));
    for (char sp : specials) {
      for (std::size_t at : {std::size_t{0}, len / 2, len ? len - 1 : 0}) {
        if (at >= len) continue;
        std::string s = base;
        s[at] = sp;
        INFO("length " << len << ", character " << int(static_cast<unsigned char>(sp)) << " at " << at);
        CHECK(json::stringify(json::value(s.data(), static_cast<rapidjson::SizeType>(s.size()))) ==
              reference_quoted(s));
      }
    }
  }
}

TEST_CASE("encode_to appends after existing text, and the text is complete on return", "[json][dom]") {
  std::string out = "42[";
  std::vector<std::string> words(50, std::string(30, 'w'));  // ~1.6 KB: several sink flushes
  json::encode_context ctx;
  json::encode_to(out, words, ctx);
  REQUIRE(out.size() == 3 + 2 + 50 * 32 + 49);
  CHECK(out.compare(0, 5, "42[[\"") == 0);
  CHECK(out.back() == ']');
  json::document d;
  REQUIRE(json::parse(std::string_view(out).substr(3), d));
  CHECK(d.Size() == 50);
}
