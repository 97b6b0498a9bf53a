#pragma once
/// The wire format of validation errors: an error_list encodes (and decodes, for clients) as
/// `[{"loc":["items",2,"name"],"msg":"field required","type":"missing"}]`.

#include <cstddef>
#include <string>

#include "decode.hpp"
#include "encode.hpp"
#include "errors.hpp"
#include "fields.hpp"

namespace portico::json {

PORTICO_FIELDS(error, loc, msg, type)

/// A location step is a JSON string (key) or a non-negative integer (index).
template <>
struct adapter<path_element> {
  static bool decode(const value& v, path_element& out, decode_context&, error_list& errs) {
    if (v.IsString()) {
      out = path_element(std::string(v.GetString(), v.GetStringLength()));
      return true;
    }
    if (v.IsUint64()) {
      out = path_element(static_cast<std::size_t>(v.GetUint64()));
      return true;
    }
    errs.add("value is not a valid location step (string or index)", "value_error");
    return false;
  }
  static void encode(writer& w, const path_element& p, encode_context&) {
    if (p.is_index)
      w.Uint64(p.index);
    else
      w.String(p.key.data(), static_cast<rapidjson::SizeType>(p.key.size()));
  }
};

template <>
struct adapter<error_list> {
  static bool decode(const value& v, error_list& out, decode_context& ctx, error_list& errs) {
    std::vector<error> items;
    if (!json::decode(v, items, ctx, errs)) return false;
    out.clear();
    for (auto& e : items) out.append(std::move(e));
    return true;
  }
  static void encode(writer& w, const error_list& l, encode_context& ctx) {
    json::encode(w, l.errors(), ctx);
  }
};

}  // namespace portico::json
