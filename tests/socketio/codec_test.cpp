// Socket.IO v5 codec: golden vectors from the socket.io-protocol README, round trips of every
// packet type, binary placeholders, and a malformed-input table.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "portico/json/encode.hpp"
#include "portico/socketio/args.hpp"
#include "portico/socketio/binary.hpp"
#include "portico/socketio/codec.hpp"

namespace demo {
struct point {
  int x = 0;
  int y = 0;
  std::string label;
};
PORTICO_FIELDS(point, x, y, label)
}  // namespace demo

using namespace portico;
using namespace portico::socketio;

namespace {

std::string to_json(const json::value& v) {
  std::string s;
  json::string_sink sink{&s};
  json::writer w(sink);
  v.Accept(w);
  return s;
}

packet decode_ok(const std::string& text) {
  packet p;
  errc e = decode(text, p);
  INFO(text << " -> " << describe(e));
  REQUIRE(e == errc::ok);
  return p;
}

}  // namespace

TEST_CASE("README examples decode to the documented fields", "[socketio][codec]") {
  SECTION("CONNECT to the main namespace") {
    auto p = decode_ok("0");
    CHECK(p.type == packet_type::connect);
    CHECK(p.namespace_name() == "/");
    CHECK_FALSE(p.has_data());
    CHECK_FALSE(p.has_id());
  }
  SECTION("CONNECT answer of a custom namespace") {
    auto p = decode_ok(R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})");
    CHECK(p.type == packet_type::connect);
    CHECK(p.namespace_name() == "/admin");
    REQUIRE(p.data().IsObject());
    CHECK(std::string(p.data()["sid"].GetString()) == "oSO0OpakMV_3jnilAAAA");
  }
  SECTION("CONNECT_ERROR") {
    auto p = decode_ok(R"(4{"message":"Not authorized"})");
    CHECK(p.type == packet_type::connect_error);
    CHECK(std::string(p.data()["message"].GetString()) == "Not authorized");
  }
  SECTION("EVENT main namespace") {
    auto p = decode_ok(R"(2["foo"])");
    CHECK(p.type == packet_type::event);
    CHECK(p.event_name() == "foo");
    CHECK(p.arg_count() == 0);
  }
  SECTION("EVENT custom namespace") {
    auto p = decode_ok(R"(2/admin,["bar"])");
    CHECK(p.namespace_name() == "/admin");
    CHECK(p.event_name() == "bar");
  }
  SECTION("BINARY_EVENT with one attachment") {
    auto p = decode_ok(R"(51-["baz",{"_placeholder":true,"num":0}])");
    CHECK(p.type == packet_type::binary_event);
    CHECK(p.attachments_expected == 1);
    CHECK(p.event_name() == "baz");
    CHECK(json::is_placeholder(p.arg(0)));
  }
  SECTION("BINARY_EVENT with two attachments in a namespace") {
    auto p = decode_ok(R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
    CHECK(p.attachments_expected == 2);
    CHECK(p.namespace_name() == "/admin");
    CHECK(p.arg_count() == 2);
  }
  SECTION("EVENT with ack id") {
    auto p = decode_ok(R"(212["foo"])");
    CHECK(p.id == 12);
    CHECK(p.event_name() == "foo");
  }
  SECTION("ACK in a namespace") {
    auto p = decode_ok(R"(3/admin,13["bar"])");
    CHECK(p.type == packet_type::ack);
    CHECK(p.namespace_name() == "/admin");
    CHECK(p.id == 13);
    CHECK(p.arg_count() == 1);
    CHECK(std::string(p.arg(0).GetString()) == "bar");
  }
  SECTION("BINARY_ACK") {
    auto p = decode_ok(R"(61-15["bar",{"_placeholder":true,"num":0}])");
    CHECK(p.type == packet_type::binary_ack);
    CHECK(p.id == 15);
    CHECK(p.attachments_expected == 1);
    CHECK(p.arg_count() == 2);
  }
  SECTION("BINARY_ACK from the sample session") {
    auto p = decode_ok(R"(61-/admin,1[{"_placeholder":true,"num":0}])");
    CHECK(p.namespace_name() == "/admin");
    CHECK(p.id == 1);
  }
  SECTION("DISCONNECT main and custom namespace") {
    CHECK(decode_ok("1").type == packet_type::disconnect);
    auto p = decode_ok("1/admin,");
    CHECK(p.type == packet_type::disconnect);
    CHECK(p.namespace_name() == "/admin");
  }
  SECTION("namespace without trailing comma (as the test-suite sends it)") {
    auto p = decode_ok("0/random");
    CHECK(p.namespace_name() == "/random");
    CHECK_FALSE(p.has_data());
  }
  SECTION("CONNECT with auth") {
    auto p = decode_ok(R"(0/custom,{"token":"abc"})");
    CHECK(p.namespace_name() == "/custom");
    CHECK(std::string(p.data()["token"].GetString()) == "abc");
  }
  SECTION("CONNECT_ERROR with a string payload (v4 servers)") {
    auto p = decode_ok(R"(4"Not authorized")");
    CHECK(p.data().IsString());
  }
}

TEST_CASE("every README example and packet type round-trips byte for byte", "[socketio][codec]") {
  const std::vector<std::string> vectors = {
      "0",
      "0/admin,",
      R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})",
      R"(0{"token":"123"})",
      "1",
      "1/admin,",
      R"(2["foo"])",
      R"(2/admin,["bar"])",
      R"(212["foo"])",
      R"(2/admin,13["foo",1,{"a":[true,null,2.5]}])",
      R"(3/admin,13["bar"])",
      R"(312[])",
      R"(4{"message":"Not authorized"})",
      R"(4/admin,{"message":"Invalid namespace"})",
      R"(51-["baz",{"_placeholder":true,"num":0}])",
      R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
      R"(451-["baz",{"_placeholder":true,"num":0}])" + std::string(),  // see below: engine prefix stripped
      R"(61-15["bar",{"_placeholder":true,"num":0}])",
      R"(61-/admin,1[{"_placeholder":true,"num":0}])",
  };
  for (std::string v : vectors) {
    if (v.rfind("45", 0) == 0) v.erase(0, 1);  // "451-[...]" on the wire is Engine.IO '4' + "51-[...]"
    packet p;
    REQUIRE(decode(v, p) == errc::ok);
    for (std::size_t i = 0; i < p.attachments_expected; ++i) p.attachments.emplace_back(std::string("\x01\x02"));
    auto e = encode(p);
    CHECK(e.text == v);
    CHECK(e.binaries.size() == p.attachments_expected);
  }
}

TEST_CASE("packet_writer writes header then JSON once, switching to BINARY_* for blobs", "[socketio][codec]") {
  SECTION("plain event in the main namespace") {
    packet_writer pw(packet_type::event, "/");
    auto& w = pw.writer();
    w.StartArray();
    detail::write_args(w, pw.context(), "hello", 1, true, nullptr, 2.5, std::string("x"));
    w.EndArray();
    CHECK(pw.finish() == R"(2["hello",1,true,null,2.5,"x"])");
    CHECK(pw.type() == packet_type::event);
  }
  SECTION("event with ack id in a namespace, with the Engine.IO prefix") {
    packet_writer pw(packet_type::event, "/admin", 13, "4");
    pw.writer().StartArray();
    detail::write_args(pw.writer(), pw.context(), "foo");
    pw.writer().EndArray();
    CHECK(pw.finish() == R"(42/admin,13["foo"])");
  }
  SECTION("binary anywhere makes a BINARY_EVENT with the count (README example)") {
    json::binary blob(std::string("\x01\x02\x03\x04", 4));
    packet_writer pw(packet_type::event, "/", no_ack, "4");
    pw.writer().StartArray();
    detail::write_args(pw.writer(), pw.context(), "baz", blob);
    pw.writer().EndArray();
    CHECK(pw.finish() == R"(451-["baz",{"_placeholder":true,"num":0}])");
    REQUIRE(pw.context().attachments.size() == 1);
    CHECK(pw.context().attachments[0] == blob.view());
  }
  SECTION("nested blobs in a namespace ack") {
    json::binary a(std::string("\x01\x02", 2)), b(std::string("\x03\x04", 2));
    std::vector<json::binary> blobs{a, b};
    packet_writer pw(packet_type::ack, "/admin", 7);
    pw.writer().StartArray();
    detail::write_args(pw.writer(), pw.context(), blobs);
    pw.writer().EndArray();
    CHECK(pw.finish() == R"(62-/admin,7[[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]])");
    CHECK(pw.type() == packet_type::binary_ack);
  }
  SECTION("CONNECT_ERROR with message and data") {
    packet_writer pw(packet_type::connect_error, "/admin");
    auto& w = pw.writer();
    w.StartObject();
    w.Key("message");
    w.String("Invalid namespace");
    w.EndObject();
    CHECK(pw.finish() == R"(4/admin,{"message":"Invalid namespace"})");
  }
}

TEST_CASE("decoder collects the attachments that follow a binary header", "[socketio][codec]") {
  decoder d;
  REQUIRE(d.add_text(R"(52-/admin,3["baz",{"_placeholder":true,"num":1},{"x":{"_placeholder":true,"num":0}}])") ==
          decoder::status::awaiting_attachments);
  CHECK(d.awaiting());
  REQUIRE(d.add_binary(std::string("\x01\x02", 2)) == decoder::status::awaiting_attachments);
  REQUIRE(d.add_binary(std::string("\x03\x04", 2)) == decoder::status::ready);
  packet p = d.take();
  CHECK(p.namespace_name() == "/admin");
  CHECK(p.id == 3);
  args a(p);
  REQUIRE(a.size() == 2);
  REQUIRE(a.at(0).binary() != nullptr);
  CHECK(a.at(0).binary()->bytes == std::string("\x03\x04", 2));
  CHECK(resolve(a[1]["x"], a.context())->bytes == std::string("\x01\x02", 2));

  SECTION("a received value is re-emitted with its placeholders renumbered") {
    packet_writer pw(packet_type::event, "/");
    pw.writer().StartArray();
    detail::write_args(pw.writer(), pw.context(), "echo", a.at(1), a.at(0));
    pw.writer().EndArray();
    CHECK(pw.finish() == R"(52-["echo",{"x":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}])");
    REQUIRE(pw.context().attachments.size() == 2);
    CHECK(pw.context().attachments[0] == std::string_view("\x01\x02", 2));
    CHECK(pw.context().attachments[1] == std::string_view("\x03\x04", 2));
  }
  SECTION("a whole args view spreads into the outgoing arguments") {
    packet_writer pw(packet_type::event, "/");
    pw.writer().StartArray();
    detail::write_args(pw.writer(), pw.context(), "echo", a);
    pw.writer().EndArray();
    CHECK(pw.finish() == R"(52-["echo",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}])");
    CHECK(pw.context().attachments[0] == std::string_view("\x03\x04", 2));
  }
  SECTION("after a complete packet, the next text is accepted") {
    CHECK(d.add_text(R"(2["next"])") == decoder::status::ready);
    CHECK(d.current().event_name() == "next");
  }
}

TEST_CASE("decoder refuses out-of-order messages", "[socketio][codec]") {
  decoder d;
  CHECK(d.add_binary("zz") == decoder::status::error);
  CHECK(d.error() == errc::unexpected_binary);
  decoder d2;
  REQUIRE(d2.add_text(R"(51-["a",{"_placeholder":true,"num":0}])") == decoder::status::awaiting_attachments);
  CHECK(d2.add_text(R"(2["b"])") == decoder::status::error);
  CHECK(d2.error() == errc::unexpected_text);
}

TEST_CASE("decoder bounds the attachments of one packet: count and bytes", "[socketio][codec]") {
  auto header = [](std::size_t n) {
    std::string h = std::to_string(n) + "-[\"a\"";
    for (std::size_t i = 0; i < n; ++i) h += ",{\"_placeholder\":true,\"num\":" + std::to_string(i) + "}";
    return "5" + h + "]";
  };
  SECTION("by default 10 attachments, as socket.io-parser") {
    decoder ok;
    CHECK(ok.add_text(header(10)) == decoder::status::awaiting_attachments);
    decoder d;
    CHECK(d.add_text(header(11)) == decoder::status::error);
    CHECK(d.error() == errc::bad_attachments);
  }
  SECTION("by default 1 MB of text and attachments, refused as soon as the total passes it") {
    decoder d;
    REQUIRE(d.add_text(header(3)) == decoder::status::awaiting_attachments);
    REQUIRE(d.add_binary(std::string(400000, 'x')) == decoder::status::awaiting_attachments);
    REQUIRE(d.add_binary(std::string(400000, 'y')) == decoder::status::awaiting_attachments);
    CHECK(d.add_binary(std::string(400000, 'z')) == decoder::status::error);
    CHECK(d.error() == errc::packet_too_large);
    CHECK_FALSE(d.awaiting());
    d.reset();  // the connection is closed in practice; the decoder itself is reusable
    REQUIRE(d.add_text(header(1)) == decoder::status::awaiting_attachments);
    CHECK(d.add_binary(std::string(900000, 'x')) == decoder::status::ready);
  }
  SECTION("configured limits; the text counts too") {
    decoder d(2, 100);
    CHECK(d.add_text(header(3)) == decoder::status::error);
    CHECK(d.error() == errc::bad_attachments);
    decoder t(2, 100);
    CHECK(t.add_text("2[\"" + std::string(120, 'a') + "\"]") == decoder::status::error);
    CHECK(t.error() == errc::packet_too_large);
    decoder b(2, 100);
    std::string h = header(2);  // 68 bytes
    REQUIRE(b.add_text(h) == decoder::status::awaiting_attachments);
    REQUIRE(b.add_binary(std::string(100 - h.size() - 1, 'x')) == decoder::status::awaiting_attachments);
    CHECK(b.add_binary("xx") == decoder::status::error);
    CHECK(b.error() == errc::packet_too_large);
    decoder exact(2, 100);
    REQUIRE(exact.add_text(h) == decoder::status::awaiting_attachments);
    REQUIRE(exact.add_binary(std::string(100 - h.size() - 1, 'x')) == decoder::status::awaiting_attachments);
    CHECK(exact.add_binary("x") == decoder::status::ready);  // exactly the limit
  }
}

TEST_CASE("reconstruct and deconstruct are inverse", "[socketio][binary]") {
  packet p = decode_ok(R"(52-["baz",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0},"s"]])");
  p.attachments.emplace_back(std::string("AA"));
  p.attachments.emplace_back(std::string("B\0B", 3));
  auto r = reconstruct(p.data(), p.attachments);
  REQUIRE(r.doc.IsArray());
  CHECK(r.is_binary(r.doc[1]));
  CHECK(std::string(r.doc[1].GetString(), r.doc[1].GetStringLength()) == std::string("B\0B", 3));
  CHECK(r.is_binary(r.doc[2][0]));
  CHECK_FALSE(r.is_binary(r.doc[2][1]));
  auto d = deconstruct(r);
  CHECK(d.json == R"(["baz",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1},"s"]])");
  REQUIRE(d.attachments.size() == 2);
  CHECK(d.attachments[0] == std::string("B\0B", 3));
  CHECK(d.attachments[1] == "AA");
}

TEST_CASE("payload pre-encodes ack values", "[socketio][args]") {
  payload none;
  CHECK(none.json().empty());
  payload p("a", 1, json::binary(std::string("zz")));
  CHECK(p.json() == R"(["a",1,{"_placeholder":true,"num":0}])");
  REQUIRE(p.attachments().size() == 1);
  CHECK(p.attachments()[0] == "zz");
}

TEST_CASE("a default-constructed arg is JSON null: readable and emitted as null", "[socketio][args]") {
  arg none;
  CHECK(none.is_null());
  CHECK(none.value().IsNull());
  CHECK_FALSE(none.is_string());
  CHECK(none.str().empty());
  CHECK(none.binary() == nullptr);
  CHECK(payload(none).json() == "[null]");

  arg cleared{nullptr, {}};  // a null pointer set by hand reads the same
  CHECK(cleared.is_null());
  CHECK(cleared.str().empty());
  CHECK(payload(cleared).json() == "[null]");

  // An optional argument forwarded with one code path: present, or null.
  auto forward = [](const packet& p) {
    args a(p);
    arg second;
    if (a.size() > 1) second = a.at(1);
    return payload(a.at(0), second).json();
  };
  CHECK(forward(decode_ok(R"(2["e","x",7])")) == R"(["x",7])");
  CHECK(forward(decode_ok(R"(2["e","x"])")) == R"(["x",null])");
}

TEST_CASE("received packets survive being moved (in-situ DOM)", "[socketio][codec]") {
  std::vector<packet> v;
  for (int i = 0; i < 50; ++i) {
    packet p;
    REQUIRE(decode(R"(2["e","s)" + std::to_string(i) + R"("])", p) == errc::ok);
    v.push_back(std::move(p));
  }
  for (int i = 0; i < 50; ++i) CHECK(std::string(v[i].arg(0).GetString()) == "s" + std::to_string(i));
  CHECK(to_json(v[49].data()) == R"(["e","s49"])");
}

TEST_CASE("lone surrogate escapes from a JS client arrive as U+FFFD instead of closing it", "[socketio][codec]") {
  const std::string fffd = "\xEF\xBF\xBD";
  auto p = decode_ok(R"(2["chat","hi \udd00",{"k\ud800":"\ud83d\ude00"}])");
  CHECK(std::string(p.arg(0).GetString(), p.arg(0).GetStringLength()) == "hi " + fffd);
  CHECK(std::string(p.arg(1)[("k" + fffd).c_str()].GetString()) == "\xF0\x9F\x98\x80");
}

TEST_CASE("malformed packets are errors, never crashes", "[socketio][codec]") {
  struct bad {
    std::string text;
    errc expected;
  };
  std::string deep(5000, '[');
  const std::vector<bad> table = {
      {"", errc::empty_packet},
      {"7", errc::bad_type},
      {"a", errc::bad_type},
      {"abc", errc::bad_type},
      {"-1", errc::bad_type},
      {"5", errc::bad_attachments},
      {"5-[\"a\"]", errc::bad_attachments},
      {"5x-[\"a\"]", errc::bad_attachments},
      {"51[\"a\"]", errc::bad_attachments},
      {"599999999999-[\"a\"]", errc::bad_attachments},
      {"2admin,[\"a\"]", errc::bad_namespace},
      {"299999999999999999999[\"a\"]", errc::bad_ack_id},
      {"2[\"a\"", errc::bad_json},
      {"2[\"a\"]garbage", errc::bad_json},
      {"2{", errc::bad_json},
      {"2", errc::invalid_payload},
      {"2[]", errc::invalid_payload},
      {"2{}", errc::invalid_payload},
      {"2\"foo\"", errc::invalid_payload},
      {"2[1]", errc::invalid_payload},
      {"2[null]", errc::invalid_payload},
      {"2[\"connect\"]", errc::reserved_event},
      {"2[\"connect_error\"]", errc::reserved_event},
      {"2[\"disconnect\"]", errc::reserved_event},
      {"2[\"disconnecting\"]", errc::reserved_event},
      {"2[\"newListener\"]", errc::reserved_event},
      {"2[\"removeListener\"]", errc::reserved_event},
      {"3", errc::invalid_payload},
      {"31", errc::invalid_payload},
      {"31{}", errc::invalid_payload},
      {"0[]", errc::invalid_payload},
      {"0\"x\"", errc::invalid_payload},
      {"0null", errc::invalid_payload},
      {"1{}", errc::invalid_payload},
      {"1/admin,\"x\"", errc::invalid_payload},
      {"4", errc::invalid_payload},
      {"4[]", errc::invalid_payload},
      {"41", errc::invalid_payload},
      {"51-[\"a\",{\"_placeholder\":true,\"num\":1}]", errc::bad_placeholder},
      {"61-1[{\"_placeholder\":true,\"num\":5}]", errc::bad_placeholder},
      {"2" + deep, errc::too_deep},
      {std::string("2[\"a\0\"", 6), errc::bad_json},
      // Garbage hidden behind a NUL byte: RapidJSON stops reading at the NUL.
      {std::string("2[\"a\"]\0garbage", 14), errc::bad_json},
      {std::string("2[\"a\"]\0", 7), errc::bad_json},
      {std::string("2/admin,1[\"a\"] \0]", 17), errc::bad_json},
      {std::string("0{\"token\":\"t\"}\0{\"x\":1}", 22), errc::bad_json},
      // A number that overflows a double (RapidJSON made infinity of it; it cannot be re-sent).
      {"2[\"e\",10e308]", errc::bad_json},
      {"3/admin,1[-3114561e308]", errc::bad_json},
  };
  for (const auto& b : table) {
    packet p;
    errc e = decode(b.text, p);
    INFO("input: " << b.text.substr(0, 40) << " got " << describe(e));
    CHECK(e == b.expected);
    CHECK(std::string(describe(e)).size() > 0);
  }
}

TEST_CASE("typed emit arguments go through json::encode (PORTICO_FIELDS)", "[socketio][args]") {
  packet_writer pw(packet_type::event, "/");
  pw.writer().StartArray();
  std::vector<demo::point> pts{{1, 2, "a"}, {3, 4, "b"}};
  detail::write_args(pw.writer(), pw.context(), "pt", demo::point{5, 6, "c"}, 7, pts, std::optional<int>(), 0.5);
  pw.writer().EndArray();
  CHECK(pw.finish() ==
        R"(2["pt",{"x":5,"y":6,"label":"c"},7,[{"x":1,"y":2,"label":"a"},{"x":3,"y":4,"label":"b"}],null,0.5])");
}

TEST_CASE("non-finite numbers are written as null, like JSON.stringify", "[socketio][args]") {
  payload p(1.0 / 0.0, std::nan(""), 1.5);
  CHECK(p.json() == "[null,null,1.5]");
}

TEST_CASE("a decoded packet owns its DOM: kept after the decoder moves on, read on another thread",
          "[socketio][codec]") {
  decoder dec;
  std::vector<packet> kept;
  for (int i = 0; i < 50; ++i) {
    std::string big(i * 40, 'x');  // some payloads outgrow the parser's reusable work stack
    std::string text = "2" + std::to_string(i) + "[\"ev\",{\"i\":" + std::to_string(i) + ",\"s\":\"" + big +
                       "\",\"deep\":[[[[{\"k\":\"v\"}]]]]}]";
    REQUIRE(dec.add_text(std::move(text)) == decoder::status::ready);
    kept.push_back(dec.take());
  }
  std::thread reader([&] {
    for (int i = 0; i < 50; ++i) {
      const packet& p = kept[static_cast<std::size_t>(i)];
      CHECK(p.id == static_cast<std::uint64_t>(i));
      CHECK(p.event_name() == "ev");
      CHECK(p.arg(0)["i"].GetInt() == i);
      CHECK(p.arg(0)["s"].GetStringLength() == static_cast<unsigned>(i * 40));
      CHECK(std::string(p.arg(0)["deep"][0][0][0][0]["k"].GetString()) == "v");
    }
  });
  reader.join();
  // Moving a packet keeps its DOM valid (the pool and the text buffer move with it).
  packet moved = std::move(kept[7]);
  CHECK(moved.arg(0)["i"].GetInt() == 7);
}

TEST_CASE("an invalid payload after valid ones leaves earlier packets intact", "[socketio][codec]") {
  packet good;
  REQUIRE(decode("2[\"a\",\"first\"]", good) == errc::ok);
  packet bad;
  CHECK(decode("2[\"a\",{\"unterminated\":", bad) == errc::bad_json);
  CHECK_FALSE(bad.has_data());
  CHECK(std::string(good.arg(0).GetString()) == "first");
}
