// The code shown in docs/json.md: each `// [doc:NAME]` region is a snippet of the page, verbatim
// (scripts/doc_snippets checks it), compiled and run here.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "portico/json/json.hpp"

namespace json = portico::json;

// [doc:declare]
namespace chat {

struct message {
  std::string room;
  std::string text;
  std::optional<std::string> reply_to;  // optional: may be missing or null
  std::vector<std::string> mentions;
};
PORTICO_FIELDS(message, room, text, (reply_to, "replyTo"), mentions)

}  // namespace chat
// [/doc]

// [doc:adapter]
namespace chat {
enum class mood { happy, grumpy };
}

namespace portico::json {
template <>
struct adapter<chat::mood> {
  static bool decode(const value& v, chat::mood& out, decode_context&, error_list& errs) {
    const std::string_view s = v.IsString() ? v.GetString() : "";
    if (s == "happy") out = chat::mood::happy;
    else if (s == "grumpy") out = chat::mood::grumpy;
    else {
      errs.add("expected \"happy\" or \"grumpy\"", "enum");
      return false;
    }
    return true;
  }
  static void encode(writer& w, const chat::mood& m, encode_context&) {
    w.String(m == chat::mood::happy ? "happy" : "grumpy");
  }
};
}  // namespace portico::json
// [/doc]

TEST_CASE("docs: decoding with an error list", "[json][docs]") {
  std::string reply;
  // [doc:decode]
  std::string frame = R"({"room":"lobby","mentions":["ann",7]})";  // owned by the packet
  json::document doc;
  json::parse_error perr;
  REQUIRE(json::parse_insitu(frame, doc, &perr));  // strings now point into `frame`

  chat::message msg;
  json::error_list errs;
  json::decode_context ctx;  // ctx.attachments: binary attachments of the packet, if any
  if (!json::decode(doc, msg, ctx, errs)) reply = json::to_string(errs);

  CHECK(reply ==
        R"([{"loc":["text"],"msg":"field required","type":"missing"},)"
        R"({"loc":["mentions",1],"msg":"value is not a valid string","type":"string_type"}])");
  // [/doc]
}

TEST_CASE("docs: encoding", "[json][docs]") {
  // [doc:encode]
  chat::message msg{"lobby", "hi", std::nullopt, {"ann"}};
  CHECK(json::to_string(msg) == R"({"room":"lobby","text":"hi","mentions":["ann"]})");

  std::string packet = "42[\"message\",";  // append to a buffer that already has a header
  json::encode_context ctx;                 // collects the bytes of json::binary values
  json::encode_to(packet, msg, ctx);
  packet += ']';
  // [/doc]
  CHECK(packet == R"(42["message",{"room":"lobby","text":"hi","mentions":["ann"]}])");
  CHECK(ctx.attachments.empty());
}

TEST_CASE("docs: the adapter customization point", "[json][docs]") {
  // [doc:use-adapter]
  std::vector<chat::mood> moods;
  json::error_list errs;
  CHECK(json::from_string(R"(["happy","grumpy"])", moods, errs));
  CHECK(json::to_string(moods) == R"(["happy","grumpy"])");

  CHECK_FALSE(json::from_string(R"(["happy","sleepy"])", moods, errs));
  CHECK(json::to_string(errs) ==
        R"([{"loc":[1],"msg":"expected \"happy\" or \"grumpy\"","type":"enum"}])");
  // [/doc]
}
