// libFuzzer target: the Engine.IO decoders (include/portico/engineio/codec.hpp). The first byte
// picks what the rest is: a websocket text frame, a v3 binary frame, a v4 polling payload, a v3
// text payload, a v3 binary (XHR2) payload, or base64. Invariants beyond "no crash": decoded
// packets re-encode to payloads that decode to the same packets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "portico/engineio/codec.hpp"

namespace eio = portico::engineio;

namespace {

void check_payload_v4(const std::vector<eio::packet>& packets) {
  std::string body;
  for (auto& p : packets) {
    // A text packet holding the record separator cannot be framed in a v4 payload.
    if (!p.binary && p.data.find(eio::record_separator) != std::string::npos) return;
    eio::append_payload_packet(body, p.type, p.data, p.binary);
  }
  std::vector<eio::packet> again;
  if (eio::decode_payload(body, again) != eio::errc::ok || again != packets) __builtin_trap();
}

void check_binary_payload_v3(const std::vector<eio::packet>& packets) {
  std::string body;
  for (auto& p : packets) eio::append_binary_payload_packet_v3(body, p.type, p.data, p.binary);
  std::vector<eio::packet> again;
  if (eio::decode_binary_payload_v3(body, again) != eio::errc::ok || again != packets) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view in(input);
  std::vector<eio::packet> packets;
  switch (data[0] % 6) {
    case 0: {
      eio::packet_view v;
      if (eio::decode(in, v) == eio::errc::ok) {
        if (v.data.size() + 1 != in.size()) __builtin_trap();
        if (eio::encode(v.type, v.data) != in) __builtin_trap();
      }
      break;
    }
    case 1: {
      eio::packet_view v;
      if (eio::decode_binary_v3(in, v) == eio::errc::ok && eio::encode_binary_v3(v.data, v.type) != in)
        __builtin_trap();
      break;
    }
    case 2:
      if (eio::decode_payload(in, packets) == eio::errc::ok) check_payload_v4(packets);
      break;
    case 3:
      if (eio::decode_payload_v3(in, packets) == eio::errc::ok) {
        (void)eio::utf16_length(in);
        std::string body;
        for (auto& p : packets) eio::append_payload_packet_v3(body, p.type, p.data, p.binary);
      }
      break;
    case 4:
      if (eio::decode_binary_payload_v3(in, packets) == eio::errc::ok) check_binary_payload_v3(packets);
      break;
    case 5: {
      std::string bytes;
      if (eio::base64_decode_to(bytes, in)) {
        std::string back;
        if (!eio::base64_decode_to(back, eio::base64_encode(bytes)) || back != bytes) __builtin_trap();
      }
      break;
    }
  }
  return 0;
}
