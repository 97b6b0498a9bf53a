// libFuzzer target: the Socket.IO decoder (include/portico/socketio/codec.hpp) fed a sequence of
// Engine.IO messages, as one connection would. The input is split at '\n'; a message starting with
// 'B' is a binary message (the bytes after the 'B'), any other is a text packet. Invariants beyond
// "no crash": a completed packet re-encodes to text that decodes to the same header and payload
// shape, and binary placeholders resolve to attachments that were received.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "portico/socketio/binary.hpp"
#include "portico/socketio/codec.hpp"

namespace sio = portico::socketio;
namespace json = portico::json;

namespace {

void check_round_trip(const sio::packet& p) {
  sio::encoded e = sio::encode(p);
  if (e.binaries.size() != p.attachments.size()) __builtin_trap();
  sio::packet q;
  if (sio::decode(e.text, q) != sio::errc::ok) __builtin_trap();
  if (q.type != p.type || q.id != p.id || q.namespace_name() != p.namespace_name() || q.has_data() != p.has_data() ||
      q.attachments_expected != p.attachments_expected || q.data().GetType() != p.data().GetType())
    __builtin_trap();
  if (p.is_event() && q.event_name() != p.event_name()) __builtin_trap();
  if (p.has_data()) {
    sio::reconstructed r = sio::reconstruct(p.data(), p.attachments);
    sio::deconstructed d = sio::deconstruct(r);
    // RapidJSON's own parse, not json::parse: the Socket.IO decoder does not validate UTF-8
    // (json::parse does), so a string it accepted may hold bytes json::parse refuses.
    json::document doc;
    doc.Parse(d.json.data(), d.json.size());
    if (doc.HasParseError()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sio::decoder dec(8);  // a small attachment limit, so the fuzzer reaches it
  std::size_t completed = 0;
  for (;;) {
    const std::size_t nl = in.find('\n');
    const std::string_view msg = in.substr(0, nl);
    sio::decoder::status s;
    if (!msg.empty() && msg[0] == 'B') s = dec.add_binary(std::string(msg.substr(1)));
    else s = dec.add_text(std::string(msg));
    if (s == sio::decoder::status::ready) {
      const sio::packet& p = dec.current();
      if (!p.complete()) __builtin_trap();
      check_round_trip(p);
      if (++completed > 64) break;
    } else if (s == sio::decoder::status::error) {
      if (dec.error() == sio::errc::ok || dec.awaiting()) __builtin_trap();
      (void)sio::describe(dec.error());
      dec.reset();
    }
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  return 0;
}
