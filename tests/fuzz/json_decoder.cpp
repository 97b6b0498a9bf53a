// libFuzzer target: json::parse_insitu / json::parse on arbitrary bytes, then the typed decoder
// (PORTICO_FIELDS with nested, optional, vector, map, tuple, raw and binary fields) on the DOM.
// Invariants beyond "no crash": both parsers agree, what parses re-parses after stringify, and
// whatever the typed decoder accepts encodes and decodes again.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "portico/json/json.hpp"

namespace json = portico::json;

namespace fuzz_json {

struct item {
  std::string sku;
  std::int32_t qty = 0;
  std::optional<double> price;
  std::optional<bool> gift;
};
PORTICO_FIELDS(item, sku, qty, price, gift)

struct order {
  std::uint64_t id = 0;
  std::vector<item> items;
  std::map<std::string, std::vector<std::int16_t>> tags;
  std::optional<item> featured;
  json::binary receipt;
  std::tuple<int, std::string> pair;
  json::raw extra;
  float ratio = 0;
};
PORTICO_FIELDS(order, id, items, tags, featured, receipt, pair, extra, ratio)

}  // namespace fuzz_json

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Exactly `size` bytes on the heap (capacity == size when the string is long): AddressSanitizer
  // sees any read past the terminator.
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string buf(text.data(), text.size());
  json::document insitu;
  json::parse_error err;
  const bool insitu_ok = json::parse_insitu(buf, insitu, &err);
  if (!insitu_ok && err.offset > size) __builtin_trap();
  json::document copied;
  const bool copy_ok = json::parse(text, copied);
  if (insitu_ok != copy_ok) __builtin_trap();
  if (!insitu_ok) return 0;

  const std::string printed = json::stringify(insitu);
  if (printed != json::stringify(copied)) __builtin_trap();
  json::document again;
  if (!json::parse(printed, again)) __builtin_trap();

  // The typed decoder, with two attachments for placeholders {"_placeholder":true,"num":0|1}.
  const std::vector<json::binary> attachments = {json::binary(std::string("\x00\xff", 2)), json::binary()};
  json::decode_context ctx;
  ctx.attachments = &attachments;
  json::error_list errs;
  fuzz_json::order o;
  if (!json::decode(insitu, o, ctx, errs)) {
    if (errs.empty()) __builtin_trap();  // a refusal always says why
    (void)json::to_string(errs);
    return 0;
  }
  json::encode_context ectx;
  const std::string encoded = json::to_string(o, ectx);
  std::vector<json::binary> blobs;
  for (auto b : ectx.attachments) blobs.emplace_back(std::string(b));
  json::decode_context ctx2;
  ctx2.attachments = &blobs;
  json::document doc2;
  if (!json::parse(encoded, doc2)) __builtin_trap();
  fuzz_json::order o2;
  json::error_list errs2;
  if (!json::decode(doc2, o2, ctx2, errs2)) __builtin_trap();
  if (o2.receipt.bytes != o.receipt.bytes || o2.items.size() != o.items.size()) __builtin_trap();
  return 0;
}
