#pragma once
/// What a gateway handler answered, as the interceptors around it see it.
///
/// Only built when a handler has interceptors: the handler's value is encoded once into JSON
/// text here, the interceptors read or replace it, and the last one's version is sent as the
/// handler's value would have been (the ack if the client asked for one, else emitted back to
/// the sender on the same event). A `void` handler leaves it empty, and empty sends nothing.
/// A handler returning `ws_response` or `socketio::payload` answers by itself (before the
/// `after` hooks run); they then see an empty result.

#include <stdexcept>
#include <string>
#include <utility>

#include "../json/decode.hpp"
#include "../json/encode.hpp"
#include "../json/error_format.hpp"
#include "../socketio/args.hpp"
#include "exceptions.hpp"

namespace portico {

class handler_result {
 public:
  /// A value was answered (by the handler or an interceptor).
  bool has_value() const noexcept { return has_; }
  /// The value as JSON text; empty when there is none.
  const std::string& json() const noexcept { return json_; }

  /// Replaces the value (any JSON-encodable type; binary values are not supported here).
  template <class T>
  void set(const T& v) {
    json_ = framework::detail::to_json_text_without_binary(v, "portico::handler_result");
    has_ = true;
  }
  /// Replaces the value with JSON text already encoded (e.g. from a cache).
  void set_json(std::string text) {
    json_ = std::move(text);
    has_ = true;
  }
  /// The value decoded as T; throws std::invalid_argument when it does not decode.
  template <class T>
  T get() const {
    T out{};
    json::error_list errs;
    if (!json::from_string(json_, out, errs))
      throw std::invalid_argument("portico::handler_result: " + json::to_string(errs));
    return out;
  }
  /// No value: nothing is sent.
  void reset() noexcept {
    json_.clear();
    has_ = false;
  }

 private:
  std::string json_;
  bool has_ = false;
};

}  // namespace portico
