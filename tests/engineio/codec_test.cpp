// Engine.IO codec: the examples of the protocol README, v3 payload vectors, malformed input.
#include <catch2/catch.hpp>

#include "../../include/portico/engineio/codec.hpp"
#include "../../include/portico/log.hpp"

#include <string>
#include <vector>

using namespace portico::engineio;
using namespace std::string_literals;

namespace {
std::vector<packet> payload(std::string_view body) {
  std::vector<packet> out;
  errc e = decode_payload(body, out);
  INFO(describe(e));
  REQUIRE(e == errc::ok);
  return out;
}
std::vector<packet> payload_v3(std::string_view body) {
  std::vector<packet> out;
  errc e = decode_payload_v3(body, out);
  INFO(describe(e));
  REQUIRE(e == errc::ok);
  return out;
}
packet text(packet_type t, std::string d = {}) { return packet{t, false, std::move(d)}; }
packet bin(std::string d) { return packet{packet_type::message, true, std::move(d)}; }
}  // namespace

TEST_CASE("base64 round trips and matches RFC 4648 vectors", "[engineio][codec]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("\x01\x02\x03\x04"s) == "AQIDBA==");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string back;
  REQUIRE(base64_decode_to(back, base64_encode(all)));
  CHECK(back == all);
  std::string unpadded;
  REQUIRE(base64_decode_to(unpadded, "Zm9vYg"));
  CHECK(unpadded == "foob");
  for (const char* bad : {"Zm9v!", "Z", "Zm9vY", "Zg=", "=Zg=", "Zm9v====", "Z===", "Zm 9v"}) {
    std::string out = "keep";
    INFO(bad);
    CHECK_FALSE(base64_decode_to(out, bad));
    CHECK(out == "keep");
  }
}

TEST_CASE("single packets decode into views of the frame", "[engineio][codec]") {
  packet_view v;
  std::string frame = "4hello";
  REQUIRE(decode(frame, v) == errc::ok);
  CHECK(v.type == packet_type::message);
  CHECK_FALSE(v.binary);
  CHECK(v.data == "hello");
  CHECK(v.data.data() == frame.data() + 1);  // a view, not a copy

  REQUIRE(decode("2probe", v) == errc::ok);
  CHECK(v.type == packet_type::ping);
  CHECK(v.data == "probe");
  REQUIRE(decode("3probe", v) == errc::ok);
  CHECK(v.type == packet_type::pong);
  REQUIRE(decode("5", v) == errc::ok);
  CHECK(v.type == packet_type::upgrade);
  CHECK(v.data.empty());
  REQUIRE(decode("6", v) == errc::ok);
  CHECK(v.type == packet_type::noop);
  REQUIRE(decode("1", v) == errc::ok);
  CHECK(v.type == packet_type::close);
  REQUIRE(decode("4€", v) == errc::ok);
  CHECK(v.data == "€");

  CHECK(encode(packet_type::message, "hello") == "4hello");
  CHECK(encode(packet_type::ping, "probe") == "2probe");
  CHECK(encode(packet_type::pong, "probe") == "3probe");
  CHECK(encode(packet_type::upgrade) == "5");
  CHECK(encode(packet_type::noop) == "6");
}

TEST_CASE("v3 binary websocket frames carry the type as a byte", "[engineio][codec]") {
  // README v3: 4|0|1|2|3|4|5 is a message with bytes 0..5
  std::string frame = "\x04\x00\x01\x02\x03\x04\x05"s;
  packet_view v;
  REQUIRE(decode_binary_v3(frame, v) == errc::ok);
  CHECK(v.type == packet_type::message);
  CHECK(v.binary);
  CHECK(v.data == "\x00\x01\x02\x03\x04\x05"s);
  CHECK(encode_binary_v3("\x00\x01\x02\x03\x04\x05"s) == frame);
  CHECK(decode_binary_v3("\x09"s, v) == errc::unknown_packet_type);
}

TEST_CASE("open packet carries the handshake fields", "[engineio][codec]") {
  open_info o;
  o.sid = "lv_VI97HAXpY6yYWAAAC";
  o.upgrades = {"websocket"};
  CHECK(encode_open(o) ==
        R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");
  o.upgrades.clear();
  o.ping_interval = 300;
  o.ping_timeout = 200;
  CHECK(open_json(o) == R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})");
}

TEST_CASE("v4 polling payloads from the protocol README", "[engineio][codec]") {
  CHECK(payload("4hello\x1e"
                "2\x1e"
                "4world") ==
        std::vector<packet>{text(packet_type::message, "hello"), text(packet_type::ping), text(packet_type::message, "world")});
  CHECK(payload("4hello\x1e"
                "bAQIDBA==") == std::vector<packet>{text(packet_type::message, "hello"), bin("\x01\x02\x03\x04")});
  CHECK(payload("4test1\x1e"
                "4test2\x1e"
                "4test3")
            .size() == 3);
  CHECK(payload("3") == std::vector<packet>{text(packet_type::pong)});
  CHECK(payload("b") == std::vector<packet>{bin("")});

  std::string body;
  append_payload_packet(body, packet_type::message, "hello");
  append_payload_packet(body, packet_type::ping, "");
  append_payload_packet(body, packet_type::message, "world");
  CHECK(body == "4hello\x1e"
                "2\x1e"
                "4world");
  body.clear();
  append_payload_packet(body, packet_type::message, "hello");
  append_payload_packet(body, packet_type::message, "\x01\x02\x03\x04", true);
  CHECK(body == "4hello\x1e"
                "bAQIDBA==");
}

TEST_CASE("v3 text payloads count UTF-16 code units", "[engineio][codec]") {
  CHECK(utf16_length("hello") == 5);
  CHECK(utf16_length("€") == 1);       // 3 bytes, one unit
  CHECK(utf16_length("é") == 1);       // 2 bytes
  CHECK(utf16_length("\xF0\x9F\x98\x80") == 2);  // U+1F600: a surrogate pair in JavaScript

  // README v3: [message "hello", message "€"] -> 6:4hello2:4€
  std::string body;
  append_payload_packet_v3(body, packet_type::message, "hello");
  append_payload_packet_v3(body, packet_type::message, "€");
  CHECK(body == "6:4hello2:4€");
  CHECK(payload_v3(body) == std::vector<packet>{text(packet_type::message, "hello"), text(packet_type::message, "€")});

  // README v3: [message "€", message <01 02 03 04>] without XHR2 -> 2:4€10:b4AQIDBA==
  body.clear();
  append_payload_packet_v3(body, packet_type::message, "€");
  append_payload_packet_v3(body, packet_type::message, "\x01\x02\x03\x04", true);
  CHECK(body == "2:4€10:b4AQIDBA==");
  CHECK(payload_v3(body) == std::vector<packet>{text(packet_type::message, "€"), bin("\x01\x02\x03\x04")});

  // astral characters: 4 bytes, 2 units
  body.clear();
  append_payload_packet_v3(body, packet_type::message, "a\xF0\x9F\x98\x80");
  CHECK(body == "4:4a\xF0\x9F\x98\x80");
  CHECK(payload_v3("4:4a\xF0\x9F\x98\x80" "1:2") ==
        std::vector<packet>{text(packet_type::message, "a\xF0\x9F\x98\x80"), text(packet_type::ping)});
  CHECK(payload_v3("1:6") == std::vector<packet>{text(packet_type::noop)});
  CHECK(payload_v3("6:2probe") == std::vector<packet>{text(packet_type::ping, "probe")});
}

TEST_CASE("v3 text payloads: invalid UTF-8 counts as the U+FFFD it is repaired to, both ways", "[engineio][codec]") {
  // each maximal invalid subpart is one unit; an encoded surrogate (ED A0..BF xx) is one unit
  CHECK(utf16_length("a\xFF" "b") == 3);
  CHECK(utf16_length("\x80\x80") == 2);                // lone continuation bytes
  CHECK(utf16_length("\xED\xB4\x80") == 1);           // what RapidJSON makes of "\udd00"
  CHECK(utf16_length("x\xF0\x9F\x98") == 2);          // a truncated 4-byte sequence: one U+FFFD
  CHECK(utf16_length("\xF0\x80\x80\x80") == 4);      // overlong: four subparts
  // whatever the encoder writes, the decoder reads back unchanged
  const std::string odd[] = {"a\xFF" "b", "\x80\x80", "\xED\xB4\x80!", "x\xF0\x9F\x98", "\xF0\x80\x80\x80",
                             "\xC3", "\xE2\x82\xE2\x82\xAC", "\xF4\x90\x80\x80\xF0\x9F\x98\x80"};
  for (const auto& data : odd) {
    std::string body;
    append_payload_packet_v3(body, packet_type::message, data);
    append_payload_packet_v3(body, packet_type::message, "next");
    INFO("payload " << body);
    CHECK(payload_v3(body) == std::vector<packet>{text(packet_type::message, data), text(packet_type::message, "next")});
  }
}

TEST_CASE("v3 binary (XHR2) payloads", "[engineio][codec]") {
  // README v3: buffer <00 04 ff 34 e2 82 ac 01 05 ff 04 01 02 03 04>
  const std::string expected = "\x00\x04\xff\x34\xe2\x82\xac\x01\x05\xff\x04\x01\x02\x03\x04"s;
  std::string body;
  append_binary_payload_packet_v3(body, packet_type::message, "€", false);
  append_binary_payload_packet_v3(body, packet_type::message, "\x01\x02\x03\x04", true);
  CHECK(body == expected);
  std::vector<packet> out;
  REQUIRE(decode_binary_payload_v3(expected, out) == errc::ok);
  CHECK(out == std::vector<packet>{text(packet_type::message, "€"), bin("\x01\x02\x03\x04")});

  // multi-digit lengths are written digit by digit
  body.clear();
  append_binary_payload_packet_v3(body, packet_type::message, std::string(11, 'x'), false);
  CHECK(body.substr(0, 4) == "\x00\x01\x02\xff"s);
}

TEST_CASE("malformed input gives an error value, never a crash", "[engineio][codec]") {
  packet_view v;
  CHECK(decode("", v) == errc::empty_packet);
  CHECK(decode("abc", v) == errc::unknown_packet_type);
  CHECK(decode("7", v) == errc::unknown_packet_type);
  CHECK(decode("/x", v) == errc::unknown_packet_type);
  CHECK(decode_binary_v3("", v) == errc::empty_packet);

  struct row {
    std::string body;
    errc v4;
  };
  const std::vector<row> v4_rows = {
      {"", errc::empty_payload},
      {"abc", errc::unknown_packet_type},
      {"4hello\x1e", errc::empty_packet},
      {"\x1e"
       "4hello",
       errc::empty_packet},
      {"4a\x1e\x1e"
       "4b",
       errc::empty_packet},
      {"b!!!!", errc::invalid_base64},
      {"4ok\x1e"
       "9",
       errc::unknown_packet_type},
  };
  for (const auto& r : v4_rows) {
    std::vector<packet> out;
    INFO("v4 body: " << r.body);
    CHECK(decode_payload(r.body, out) == r.v4);
  }

  const std::vector<std::pair<std::string, errc>> v3_rows = {
      {"", errc::empty_payload},
      {"abc", errc::invalid_length},
      {":4hello", errc::invalid_length},
      {"6", errc::invalid_length},
      {"6:4hell", errc::truncated_payload},
      {"99999999999:4", errc::invalid_length},
      {"0:", errc::empty_packet},
      {"1:9", errc::unknown_packet_type},
      {"2:b4", errc::ok},
      {"1:b", errc::empty_packet},
      {"3:b4!", errc::invalid_base64},
      {"2:4\xF0\x9F\x98\x80", errc::invalid_utf8},  // the length splits a surrogate pair
      {"3:4\xE2\x82", errc::truncated_payload},
      {"6:4hello7", errc::invalid_length},
  };
  for (const auto& [body, e] : v3_rows) {
    std::vector<packet> out;
    INFO("v3 body: " << body);
    CHECK(decode_payload_v3(body, out) == e);
  }

  const std::vector<std::pair<std::string, errc>> xhr2_rows = {
      {"", errc::empty_payload},
      {"\x02\x01\xff"
       "4"s,
       errc::invalid_length},
      {"\x00\xff"
       "4"s,
       errc::invalid_length},
      {"\x00\x05\xff"
       "4"s,
       errc::truncated_payload},
      {"\x00\x01"s, errc::invalid_length},
      {"\x00\x0a\xff"
       "4"s,
       errc::invalid_length},
      {"\x01\x01\xff\x09"s, errc::unknown_packet_type},
      {"\x00\x01\xff"
       "x"s,
       errc::unknown_packet_type},
  };
  for (const auto& [body, e] : xhr2_rows) {
    std::vector<packet> out;
    CHECK(decode_binary_payload_v3(body, out) == e);
  }
  for (errc e : {errc::ok, errc::empty_packet, errc::unknown_packet_type, errc::invalid_base64, errc::empty_payload,
                 errc::invalid_length, errc::truncated_payload, errc::invalid_utf8}) {
    CHECK(std::string(describe(e)).size() > 1);
  }
}

TEST_CASE("decoding arbitrary bytes never crashes", "[engineio][codec]") {
  // Deterministic pseudo-random bodies through every decoder: only error values may come out.
  std::uint32_t x = 12345;
  for (int i = 0; i < 3000; ++i) {
    std::string body;
    int len = static_cast<int>(x % 24);
    for (int k = 0; k < len; ++k) {
      x = x * 1103515245u + 12345u;
      const char pool[] = "0123456789:b\x1e\xff\x00\x01\x04=A+/\xF0\x9F\xE2\x82";
      body.push_back(pool[(x >> 16) % (sizeof(pool) - 1)]);
    }
    x = x * 1103515245u + 12345u;
    std::vector<packet> out;
    (void)decode_payload(body, out);
    (void)decode_payload_v3(body, out);
    (void)decode_binary_payload_v3(body, out);
    packet_view v;
    (void)decode(body, v);
  }
  SUCCEED("no crash");
}

TEST_CASE("logger filters by level and routes to the sink", "[log]") {
  portico::logger log("test", portico::log_level::info);
  std::vector<std::pair<portico::log_level, std::string>> lines;
  log.set_sink([&](portico::log_level l, std::string_view m) { lines.emplace_back(l, std::string(m)); });
  int built = 0;
  log.debug([&] { ++built; return std::string("hidden"); });
  log.info([&] { ++built; return std::string("shown"); });
  log.warn("warned");
  log.trace("nope");
  CHECK(built == 1);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].first == portico::log_level::info);
  CHECK(lines[0].second == "shown");
  CHECK(lines[1].second == "warned");
  log.set_level(portico::log_level::off);
  log.error("silenced");
  CHECK(lines.size() == 2);
}
