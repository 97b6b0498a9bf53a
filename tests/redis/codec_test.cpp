// redis/codec.hpp and redis/channels.hpp: every payload captured from Node's redis-adapter,
// redis-emitter and sharded adapter (tests/redis/vectors.jsonl, see the spec's §8) decodes into
// its fields and re-encodes byte for byte; conversions to and from portico's Socket.IO frames;
// hostile messages are refused without crashing.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "portico/redis/channels.hpp"
#include "portico/redis/codec.hpp"
#include "portico/socketio/socket.hpp"

using namespace portico;
using namespace portico::redis;

namespace {

std::string unhex(std::string_view h) {
  std::string s;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) s.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return s;
}

struct vector_entry {
  std::string file, step, cmd, channel, format, bytes;
};

const std::vector<vector_entry>& captured() {
  static const std::vector<vector_entry> all = [] {
    std::vector<vector_entry> v;
    std::ifstream in(PORTICO_REDIS_VECTORS);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      rapidjson::Document d;
      d.Parse(line.c_str());
      vector_entry e{d["file"].GetString(), d["step"].GetString(), d["cmd"].GetString(),
                     d["channel"].GetString(), d["format"].GetString(), unhex(d["hex"].GetString())};
      v.push_back(std::move(e));
    }
    return v;
  }();
  return all;
}

const vector_entry& find(std::string_view file, std::string_view step, std::string_view channel_prefix,
                         std::size_t nth = 0) {
  for (const auto& e : captured())
    if (e.file == file && e.step == step && e.channel.compare(0, channel_prefix.size(), channel_prefix) == 0 &&
        nth-- == 0)
      return e;
  FAIL("no vector " << file << " " << step << " " << channel_prefix);
  throw 0;
}

bool is_request(const vector_entry& e) { return e.channel.find("-request#") != std::string::npos; }
bool is_response(const vector_entry& e) { return e.channel.find("-response#") != std::string::npos; }

std::vector<std::string> strs(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

/// Full classic payload around a `data` part (the spec's edge-type vectors, uid 5SCEaB).
std::string edge_payload(const std::string& data_hex) {
  return unhex("93a6" "354353456142" "83a474797065" "02" "a464617461" + data_hex +
               "a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380");
}

std::string socketio_text(const std::string& bytes, std::string_view nsp = "/") {
  classic_broadcast b;
  REQUIRE(decode(bytes, b) == codec_errc::ok);
  return to_socketio(b.pkt, nsp).text;
}

}  // namespace

TEST_CASE("every captured payload decodes and re-encodes byte for byte", "[redis][codec]") {
  const auto& all = captured();
  REQUIRE(all.size() == 125);
  std::size_t msgpack = 0, json = 0;
  for (const auto& e : all) {
    INFO(e.file << " " << e.step << " " << e.cmd << " " << e.channel << " " << e.format);
    // The run with the classic adapter's `parser: JSON` writes broadcasts, BROADCAST and
    // BROADCAST_ACK as JSON; the emitter in that run kept msgpack.
    const auto parser = e.file == "json" && e.format != "msgpack" ? classic_parser::json : classic_parser::msgpack;
    std::string again;
    if (e.cmd == "SPUBLISH") {
      cluster_message m;
      REQUIRE(decode(e.bytes, m) == codec_errc::ok);
      again = encode(m);
    } else if (is_request(e)) {
      classic_request m;
      REQUIRE(decode(e.bytes, m) == codec_errc::ok);
      again = encode(m, parser);
    } else if (is_response(e)) {
      classic_response m;
      REQUIRE(decode(e.bytes, m) == codec_errc::ok);
      again = encode(m, parser);
    } else {
      classic_broadcast m;
      REQUIRE(decode(e.bytes, m) == codec_errc::ok);
      again = encode(m, parser);
    }
    CHECK(again == e.bytes);
    (e.format == "msgpack" ? msgpack : json)++;
  }
  CHECK(msgpack == 40);  // the issue's "all 40 captured payloads round-trip byte for byte"
  CHECK(json == 85);
}

TEST_CASE("classic broadcasts decode into their fields (spec §8)", "[redis][codec]") {
  SECTION("broadcast to all") {
    const auto& e = find("classic", "01-broadcast-all", "socket.io#");
    classic_broadcast b;
    REQUIRE(decode(e.bytes, b) == codec_errc::ok);
    CHECK(b.uid == "F1Fwbh");
    CHECK(b.pkt.type == 2);
    CHECK(b.pkt.nsp == std::optional<std::string>("/"));
    CHECK(!b.pkt.id);
    CHECK(b.pkt.data.json == R"(["hello","world"])");
    CHECK(b.pkt.data.attachments.empty());
    CHECK(b.opts.rooms.empty());
    CHECK(b.opts.except.empty());
    CHECK(b.opts.with_flags);
    CHECK(!b.opts.emitter_order);
    CHECK(to_socketio(b.pkt, "/").text == R"(2["hello","world"])");
  }
  SECTION("one room, except, two rooms, socket.broadcast") {
    classic_broadcast b;
    REQUIRE(decode(find("classic", "02-broadcast-room", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.opts.rooms == strs({"room1"}));
    CHECK(b.pkt.data.json == R"(["room-event",{"x":1}])");
    REQUIRE(decode(find("classic", "03-broadcast-except", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.opts.except == strs({"room1"}));
    CHECK(b.pkt.data.json == R"(["except-event",42])");
    REQUIRE(decode(find("classic", "04-broadcast-2rooms", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.opts.rooms == strs({"room1", "room2"}));
    REQUIRE(decode(find("classic", "07-socket-broadcast", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.opts.except == strs({"x1_kN9_GPzFowxhiAAAA"}));
  }
  SECTION("binary: bin values become attachments, numbered as socket.io-parser numbers them") {
    classic_broadcast b;
    REQUIRE(decode(find("classic", "05-broadcast-binary", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.pkt.data.attachments == strs({"\x01\x02\x03", "hi"}));
    auto enc = to_socketio(b.pkt, "/");
    // What the Node receiver sent its client for the same message.
    CHECK(enc.text ==
          R"(52-["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}])");
    CHECK(enc.binaries == strs({"\x01\x02\x03", "hi"}));
  }
  SECTION("flags") {
    classic_broadcast b;
    REQUIRE(decode(find("classic", "06-broadcast-flags", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.opts.flags.volatile_ == std::optional<bool>(true));
    CHECK(b.opts.flags.compress == std::optional<bool>(false));
    CHECK(!b.opts.flags.timeout);
    REQUIRE(decode(find("classic", "18-remote-socket-emit", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.opts.flags.expect_single_response == std::optional<bool>(true));
    CHECK(b.opts.rooms == strs({"ai07KmVaWR97o6gAAAAB"}));
  }
  SECTION("scalar types render as JSON.stringify renders them") {
    CHECK(socketio_text(find("classic", "08-types", "socket.io#").bytes) ==
          "2[\"types\",null,true,false,-1,-200,255,65536,8589934592,1.5,\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\",[],{},"
          "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]");
  }
  SECTION("namespace /chat") {
    const auto& e = find("classic", "09-namespace-chat", "socket.io#");
    classic_broadcast b;
    REQUIRE(decode(e.bytes, b) == codec_errc::ok);
    CHECK(b.uid == "pNX1sr");
    CHECK(b.pkt.nsp == std::optional<std::string>("/chat"));
    CHECK(to_socketio(b.pkt, "/chat").text == R"(2/chat,["nsp-ev",1])");
  }
  SECTION("emitter: uid \"emitter\", opts keys rooms, flags, except") {
    classic_broadcast b;
    REQUIRE(decode(find("classic", "21-emitter-flags-except", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.uid == "emitter");
    CHECK(b.opts.emitter_order);
    CHECK(b.opts.except == strs({"roomX"}));
    CHECK(b.opts.flags.volatile_ == std::optional<bool>(true));
    CHECK(b.opts.flags.compress == std::optional<bool>(true));
    REQUIRE(decode(find("classic", "23-emitter-binary", "socket.io#").bytes, b) == codec_errc::ok);
    auto enc = to_socketio(std::move(b.pkt), "/");
    CHECK(enc.text == R"(51-["em-bin",{"_placeholder":true,"num":0}])");
    CHECK(enc.binaries == strs({"\xde\xad"}));
  }
  SECTION("parser: JSON (Buffers arrive as plain objects)") {
    classic_broadcast b;
    REQUIRE(decode(find("json", "05-broadcast-binary", "socket.io#").bytes, b) == codec_errc::ok);
    CHECK(b.uid == "WCjqIi");
    CHECK(b.pkt.data.attachments.empty());
    CHECK(b.pkt.data.json == R"(["bin",{"type":"Buffer","data":[1,2,3]},{"nested":{"type":"Buffer","data":[104,105]}}])");
  }
}

TEST_CASE("edge-type vectors: dates, NaN, undefined, big integers (spec §8)", "[redis][codec]") {
  CHECK(socketio_text(edge_payload("92a6646174652d73d6ff65920080")) == R"(2["date-s","2024-01-01T00:00:00.000Z"])");
  CHECK(socketio_text(edge_payload("92a7646174652d6d73d7ff1d5353006592a940")) ==
        R"(2["date-ms","2024-01-01T12:00:00.123Z"])");
  CHECK(socketio_text(edge_payload("94a76e616e2d696e66cb7ff8000000000000cb7ff0000000000000cbbfb999999999999a")) ==
        R"(2["nan-inf",null,null,-0.1])");
  CHECK(socketio_text(edge_payload("93a5756e64656692c00181a16202")) == R"(2["undef",[null,1],{"b":2}])");
  CHECK(socketio_text(edge_payload("93a3626967cf0020000000000002d3ffffff0000000000")) ==
        R"(2["big",9007199254740994,-1099511627776])");
  CHECK(socketio_text(edge_payload("92a27538c4020102")) == R"(51-["u8",{"_placeholder":true,"num":0}])");
  // 96-bit timestamp before 1970 and one outside Date's range (toJSON gives null).
  CHECK(socketio_text(edge_payload("92a164c70cff00000000ffffffffffffffff")) == R"(2["d","1969-12-31T23:59:59.000Z"])");
  CHECK(socketio_text(edge_payload("92a164c70cff000000007fffffffffffffff")) == R"(2["d",null])");
  // Invalid UTF-8 in a str is repaired as Node's decoder repairs it.
  CHECK(socketio_text(edge_payload("92a173a261ff")) == "2[\"s\",\"a\xEF\xBF\xBD\"]");
}

TEST_CASE("classic requests and responses decode into their fields (spec §8)", "[redis][codec]") {
  SECTION("serverSideEmit with ack and its answer") {
    classic_request r;
    REQUIRE(decode(find("classic", "11-serverSideEmitWithAck", "socket.io-request").bytes, r) == codec_errc::ok);
    CHECK(r.type == request_type::server_side_emit);
    CHECK(r.uid == std::optional<std::string>("F1Fwbh"));
    CHECK(r.request_id.has_value());
    REQUIRE(r.data);
    CHECK(r.data->json == R"(["sse-ack","q"])");
    classic_response a;
    REQUIRE(decode(find("classic", "11-serverSideEmitWithAck", "socket.io-response").bytes, a) == codec_errc::ok);
    CHECK(a.type == std::optional<request_type>(request_type::server_side_emit));
    CHECK(a.request_id == *r.request_id);
    REQUIRE(a.data);
    CHECK(a.data->json == R"("pong-from-B")");
  }
  SECTION("fetchSockets and the answer with handshake, rooms, data") {
    classic_request r;
    REQUIRE(decode(find("classic", "12-fetchSockets", "socket.io-request").bytes, r) == codec_errc::ok);
    CHECK(r.type == request_type::remote_fetch);
    REQUIRE(r.opts);
    CHECK(!r.opts->with_flags);
    classic_response a;
    REQUIRE(decode(find("classic", "12-fetchSockets", "socket.io-response").bytes, a) == codec_errc::ok);
    CHECK(a.request_id == *r.request_id);
    REQUIRE(a.sockets);
    REQUIRE(a.sockets->size() == 1);
    const auto& s = a.sockets->front();
    CHECK(s.id == "ai07KmVaWR97o6gAAAAB");
    CHECK(s.rooms == strs({"ai07KmVaWR97o6gAAAAB", "room1"}));
    CHECK(s.data.json == R"({"user":"bob","n":7})");
    CHECK(s.handshake.json.find(R"("address":"127.0.0.1","xdomain":false,"secure":false,"issued":1796176754014)") !=
          std::string::npos);
  }
  SECTION("allRooms") {
    classic_response a;
    REQUIRE(decode(find("classic", "14-allRooms", "socket.io-response").bytes, a) == codec_errc::ok);
    REQUIRE(a.rooms);
    CHECK(*a.rooms == strs({"ai07KmVaWR97o6gAAAAB", "room1"}));
  }
  SECTION("broadcast with ack: BROADCAST (msgpack), client count (JSON), ack (msgpack)") {
    classic_request r;
    REQUIRE(decode(find("classic", "15-broadcast-with-ack", "socket.io-request").bytes, r) == codec_errc::ok);
    CHECK(r.type == request_type::broadcast);
    CHECK(r.request_id == std::optional<std::string>("bLzMlo"));
    REQUIRE(r.pkt);
    REQUIRE(r.opts);
    CHECK(r.opts->flags.timeout == std::optional<std::uint64_t>(2000));
    // Each receiver allocates its own ack id: both Node servers sent this to their client.
    CHECK(to_socketio(*r.pkt, "/", 0).text == R"(20["ack-bcast","please"])");
    classic_response c, a;
    REQUIRE(decode(find("classic", "15-broadcast-with-ack", "socket.io-response", 0).bytes, c) == codec_errc::ok);
    CHECK(c.type == std::optional<request_type>(request_type::broadcast_client_count));
    CHECK(c.client_count == std::optional<std::uint64_t>(1));
    REQUIRE(decode(find("classic", "15-broadcast-with-ack", "socket.io-response", 1).bytes, a) == codec_errc::ok);
    CHECK(a.type == std::optional<request_type>(request_type::broadcast_ack));
    REQUIRE(a.ack);
    CHECK(a.ack->json == R"("ack-from-cB")");
  }
  SECTION("socketsJoin / socketsLeave / disconnectSockets, and the emitter's (no uid)") {
    classic_request r;
    REQUIRE(decode(R"({"uid":"F1Fwbh","type":3,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]})", r) ==
            codec_errc::ok);
    CHECK(r.type == request_type::remote_leave);
    CHECK(r.opts->rooms == strs({"room1"}));
    CHECK(*r.rooms == strs({"room3"}));
    REQUIRE(decode(R"({"type":4,"opts":{"rooms":["nobody-room"],"except":[]},"close":true})", r) == codec_errc::ok);
    CHECK(r.type == request_type::remote_disconnect);
    CHECK(!r.uid);
    CHECK(r.close == std::optional<bool>(true));
  }
  SECTION("SOCKETS (type 0): answered only, with a list of sids") {
    classic_request r;
    const std::string req = R"({"uid":"cppuid","requestId":"q1","type":0,"rooms":["room1"]})";
    REQUIRE(decode(req, r) == codec_errc::ok);
    CHECK(r.type == request_type::sockets);
    CHECK(*r.rooms == strs({"room1"}));
    CHECK(encode(r) == req);
    classic_response a;
    const std::string res = R"({"requestId":"q1","sockets":["ai07KmVaWR97o6gAAAAB"]})";
    REQUIRE(decode(res, a) == codec_errc::ok);
    REQUIRE(a.sids);
    CHECK(*a.sids == strs({"ai07KmVaWR97o6gAAAAB"}));
    CHECK(!a.sockets);
    CHECK(encode(a) == res);
  }
  SECTION("answers built from scratch are what Node sent") {
    classic_response c;
    c.type = request_type::broadcast_client_count;
    c.request_id = "bLzMlo";
    c.client_count = 1;
    CHECK(encode(c) == R"({"type":8,"requestId":"bLzMlo","clientCount":1})");
    classic_response a;
    a.type = request_type::broadcast_ack;
    a.request_id = "bLzMlo";
    a.ack = payload{R"("ack-from-cB")", {}};
    CHECK(encode(a) == unhex("83a47479706509a9726571756573744964a6624c7a4d6c6fa67061636b6574ab61636b2d66726f6d2d6342"));
    classic_response rooms;
    rooms.request_id = "lAzAWZ";
    rooms.rooms = strs({"ai07KmVaWR97o6gAAAAB", "room1"});
    CHECK(encode(rooms) == R"({"requestId":"lAzAWZ","rooms":["ai07KmVaWR97o6gAAAAB","room1"]})");
  }
}

TEST_CASE("sharded messages decode into their fields (spec §8)", "[redis][codec]") {
  cluster_message m;
  REQUIRE(decode(find("sharded", "05-broadcast-binary", "socket.io#").bytes, m) == codec_errc::ok);
  CHECK(m.type == cluster_type::broadcast);
  CHECK(m.uid == "35038863e72a3bd0");
  CHECK(m.nsp == "/");
  REQUIRE(m.pkt);
  CHECK(!m.pkt->nsp);
  CHECK(to_socketio(*m.pkt, m.nsp).text == R"(51-["bin",{"_placeholder":true,"num":0}])");

  // Without binary the same message is JSON.
  m.pkt->data = payload{R"(["hello","world"])", {}};
  CHECK(encode(m) ==
        R"({"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"35038863e72a3bd0","nsp":"/"})");

  REQUIRE(decode(R"({"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"3488b99c8fee46cd"},"uid":"35038863e72a3bd0","nsp":"/"})",
                 m) == codec_errc::ok);
  CHECK(m.type == cluster_type::fetch_sockets);
  CHECK(m.request_id == std::optional<std::string>("3488b99c8fee46cd"));

  cluster_message ack;
  ack.type = cluster_type::broadcast_client_count;
  ack.uid = "f1fd47dacc692ff7";
  ack.nsp = "/";
  ack.request_id = "9ec9fd6cee8fc61a";
  ack.client_count = 1;
  CHECK(encode(ack) ==
        R"({"type":11,"data":{"requestId":"9ec9fd6cee8fc61a","clientCount":1},"uid":"f1fd47dacc692ff7","nsp":"/"})");

  cluster_message hb;
  hb.type = cluster_type::heartbeat;
  hb.uid = "u";
  hb.nsp = "/";
  CHECK(encode(hb) == R"({"type":2,"uid":"u","nsp":"/"})");
  REQUIRE(decode(encode(hb), m) == codec_errc::ok);
  CHECK(m.type == cluster_type::heartbeat);
}

TEST_CASE("a portico broadcast becomes the msgpack Node expects (spec §7.2)", "[redis][codec]") {
  // What socketio's emitter hands the adapter for io.to("room1").emit("bin", <010203>, -200).
  auto frame = socketio::detail::encode_event("/", socketio::no_ack, "bin", json::binary("\x01\x02\x03", 3), -200);
  REQUIRE(frame->text == R"(51-["bin",{"_placeholder":true,"num":0},-200])");
  classic_broadcast b;
  b.uid = "cppuid";
  b.pkt = packet_from_socketio(frame->text, frame->binaries);
  b.opts.rooms = strs({"room1"});
  // A Node server delivered exactly this message to its client in room1.
  CHECK(encode(b) == unhex("93a663707075696483a47479706502a46461746193a362696ec403010203d1ff38a36e7370a12f83a5726f6f6d"
                           "7391a5726f6f6d31a665786365707490a5666c61677380"));
  CHECK(classic_channels::for_broadcast(default_prefix, "/", b.opts.rooms) == "socket.io#/#room1#");

  auto chat = socketio::detail::encode_event("/chat", socketio::no_ack, "nsp-ev", 1);
  b.uid = "pNX1sr";
  b.pkt = packet_from_socketio(chat->text, chat->binaries);
  b.opts.rooms.clear();
  CHECK(encode(b) == find("classic", "09-namespace-chat", "socket.io#").bytes);
}

TEST_CASE("channel names of both modes", "[redis][channels]") {
  using namespace classic_channels;
  CHECK(broadcast("socket.io", "/") == "socket.io#/#");
  CHECK(room("socket.io", "/", "room1") == "socket.io#/#room1#");
  CHECK(pattern("socket.io", "/chat") == "socket.io#/chat#*");
  CHECK(request("socket.io", "/") == "socket.io-request#/#");
  CHECK(response("socket.io", "/") == "socket.io-response#/#");
  CHECK(specific_response("socket.io", "/", "NKhFtd") == "socket.io-response#/#NKhFtd#");
  CHECK(for_broadcast("socket.io", "/", strs({"a", "b"})) == "socket.io#/#");
  CHECK(room_of("socket.io#/#room1#", "socket.io", "/") == std::optional<std::string_view>("room1"));
  CHECK(room_of("socket.io#/#", "socket.io", "/") == std::optional<std::string_view>(""));
  CHECK(!room_of("socket.io#/chat#x#", "socket.io", "/"));
  CHECK(!room_of("other#/#", "socket.io", "/"));
  CHECK(sharded_channels::main("socket.io", "/") == "socket.io#/#");
  CHECK(sharded_channels::response("socket.io", "/", "35038863e72a3bd0") == "socket.io#/#35038863e72a3bd0#");
  CHECK(sharded_channels::room("socket.io", "/", "room3") == "socket.io#/#room3#");
  // Every captured broadcast went to the channel these builders name.
  for (const auto& e : captured()) {
    if (e.cmd != "PUBLISH" || is_request(e) || is_response(e)) continue;
    classic_broadcast b;
    REQUIRE(decode(e.bytes, b) == codec_errc::ok);
    CHECK(for_broadcast(default_prefix, *b.pkt.nsp, b.opts.rooms) == e.channel);
  }
}

TEST_CASE("hostile messages are refused, never crash", "[redis][codec][hostile]") {
  classic_broadcast b;
  classic_request r;
  classic_response a;
  cluster_message m;
  auto all_refuse = [&](const std::string& bytes) {
    return decode(bytes, b) != codec_errc::ok && decode(bytes, r) != codec_errc::ok &&
           decode(bytes, a) != codec_errc::ok && decode(bytes, m) != codec_errc::ok;
  };
  SECTION("every strict prefix of every captured payload") {
    for (const auto& e : captured())
      for (std::size_t n = 0; n < e.bytes.size(); ++n) {
        INFO(e.step << " cut at " << n);
        CHECK(all_refuse(e.bytes.substr(0, n)));
      }
  }
  SECTION("huge declared sizes") {
    CHECK(decode(unhex("dd7fffffff"), b) == codec_errc::bad_msgpack);          // array32
    CHECK(decode(unhex("df7fffffff"), b) == codec_errc::bad_msgpack);          // map32
    CHECK(decode(unhex("93a1" "78" "db7fffffff"), b) == codec_errc::bad_msgpack);  // str32
    CHECK(decode(unhex("93a1" "78" "c67fffffff"), b) == codec_errc::bad_msgpack);  // bin32
    CHECK(decode(unhex("93a1" "78" "c97fffffff01"), b) == codec_errc::bad_msgpack);  // ext32
  }
  SECTION("deep nesting") {
    CHECK(decode(std::string(100000, '\x91') + "\xc0", b) == codec_errc::too_deep);
    CHECK(decode("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", r) == codec_errc::too_deep);
    limits small;
    small.max_depth = 4;
    CHECK(decode(find("classic", "05-broadcast-binary", "socket.io#").bytes, b, small) == codec_errc::ok);
    small.max_depth = 2;
    CHECK(decode(find("classic", "05-broadcast-binary", "socket.io#").bytes, b, small) == codec_errc::too_deep);
  }
  SECTION("bounds: size and attachments") {
    limits small;
    small.max_message_bytes = 16;
    CHECK(decode(find("classic", "01-broadcast-all", "socket.io#").bytes, b, small) == codec_errc::too_large);
    std::string eleven = "9ca173";  // ["s", 11 x <bin 00>]
    for (int i = 0; i < 11; ++i) eleven += "c40100";
    CHECK(decode(edge_payload(eleven), b) == codec_errc::too_many_attachments);
    small = limits{};
    small.max_attachments = 20;
    CHECK(decode(edge_payload(eleven), b, small) == codec_errc::ok);
    CHECK(b.pkt.data.attachments.size() == 11);
  }
  SECTION("wrong types and shapes") {
    CHECK(decode(unhex("9301c0c0"), b) == codec_errc::wrong_shape);  // uid not a string
    CHECK(decode(edge_payload("c0"), b) == codec_errc::wrong_shape);  // data nil
    CHECK(decode(edge_payload("90"), b) == codec_errc::wrong_shape);  // no event name
    CHECK(decode(edge_payload("92a178d40500"), b) == codec_errc::unsupported_value);  // ext type 5
    CHECK(decode(edge_payload("92a1788101c0"), b) == codec_errc::unsupported_value);  // int map key
    CHECK(decode(R"({"type":"1","uid":"x","requestId":"y"})", r) == codec_errc::wrong_shape);
    CHECK(decode(R"({"type":42,"uid":"x","requestId":"y"})", r) == codec_errc::unknown_type);
    CHECK(decode(R"({"uid":"x","type":2,"opts":{"rooms":[],"except":[]}})", r) == codec_errc::wrong_shape);
    CHECK(decode(R"({"uid":"x","type":2,"opts":{"rooms":[{}],"except":[]},"rooms":[]})", r) == codec_errc::wrong_shape);
    CHECK(decode(R"({"type":8,"requestId":"x"})", a) == codec_errc::wrong_shape);
    CHECK(decode(R"({"type":3,"data":{"packet":{"type":2,"data":["e"]}},"uid":"u","nsp":"/"})", m) ==
          codec_errc::wrong_shape);  // no opts
    CHECK(decode(R"({"type":1,"uid":"u","nsp":"/"} x)", m) == codec_errc::bad_json);
    CHECK(decode(R"({"type":1,"uid":"u","nsp":"/","n":1e400})", m) == codec_errc::bad_json);
    CHECK(decode(std::string("{\"type\":1,\"uid\":\"\xff\",\"nsp\":\"/\"}"), m) == codec_errc::bad_json);
    CHECK(decode(find("classic", "01-broadcast-all", "socket.io#").bytes + "\xc0", b) == codec_errc::bad_msgpack);
    CHECK(decode("", b) == codec_errc::bad_msgpack);
  }
  SECTION("random bytes and mutated captures") {
    std::mt19937 rng(13);
    std::size_t ok = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string bytes;
      if (i % 2) {
        bytes.resize(rng() % 64);
        for (auto& c : bytes) c = static_cast<char>(rng());
      } else {
        bytes = captured()[rng() % captured().size()].bytes;
        for (int k = 0, n = 1 + rng() % 4; k < n; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      }
      // Whatever decodes must encode again without trouble.
      if (decode(bytes, b) == codec_errc::ok) ok += !encode(b).empty();
      if (decode(bytes, r) == codec_errc::ok) ok += !encode(r).empty();
      if (decode(bytes, a) == codec_errc::ok) ok += !encode(a).empty();
      if (decode(bytes, m) == codec_errc::ok) ok += !encode(m).empty();
    }
    CHECK(ok > 0);  // some mutations (inside strings) stay valid
  }
}
