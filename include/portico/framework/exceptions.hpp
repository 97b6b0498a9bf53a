#pragma once
/// Errors a gateway reports to its client.
///
/// `throw portico::ws_exception(code, reason)` from a handler or a guard sends the `error` event
/// `{"code": code, "reason": reason}` to the sender (the reason may be any JSON value: a string,
/// a PORTICO_FIELDS struct, a vector...). Validation failures use 1007 with the error list as the
/// reason; any other exception becomes 1011 "Something went wrong" (see docs/gateways.md).

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "../json/encode.hpp"
#include "../json/value.hpp"
#include "../socketio/args.hpp"

namespace portico {

/// WebSocket close codes used as error codes (RFC 6455 numbering, as Ellar and NestJS do).
namespace ws_code {
inline constexpr int invalid_payload = 1007;    ///< the message did not validate
inline constexpr int policy_violation = 1008;   ///< a guard refused
inline constexpr int message_too_big = 1009;
inline constexpr int internal_error = 1011;     ///< an unexpected exception
}  // namespace ws_code

namespace framework::detail {

/// JSON text that is written verbatim as one emit argument (already encoded once).
using json_text = json::encoded;

/// Encodes one value (string, number, struct, DOM...) to JSON text with the emit rules.
template <class T>
std::string to_json_text(const T& v) {
  std::string out;
  json::encode_context ctx;
  json::encode_to(out, v, ctx);
  return out;
}

/// The JSON text of a value kept for later (a ws_response's data, an interceptor's result):
/// binary values are refused, since nothing would keep their bytes alive; `who` names the API.
template <class T>
std::string to_json_text_without_binary(const T& v, const char* who) {
  std::string out;
  json::encode_context ctx;
  json::encode_to(out, v, ctx);
  if (!ctx.attachments.empty())
    throw std::invalid_argument(std::string(who) + ": binary values are not supported; emit them through the context");
  return out;
}

/// `{"code":code,"reason":reason}` with the reason already encoded.
inline std::string error_object(int code, std::string_view reason_json) {
  std::string out = "{\"code\":";
  out += std::to_string(code);
  out += ",\"reason\":";
  out += reason_json;
  out += '}';
  return out;
}

}  // namespace framework::detail

/// An error meant for the client: becomes the `error` event (and the error ack, if one was asked).
class ws_exception : public std::runtime_error {
 public:
  /// `reason` is any JSON-encodable value; a string reason is also `what()`.
  template <class Reason>
  ws_exception(int code, const Reason& reason)
      : std::runtime_error(describe(reason)), code_(code), reason_json_(framework::detail::to_json_text(reason)) {}
  /// With a message of its own (`what()`, the connect_error message when refusing a CONNECT).
  template <class Reason>
  ws_exception(int code, const std::string& message, const Reason& reason)
      : std::runtime_error(message), code_(code), reason_json_(framework::detail::to_json_text(reason)) {}

  int code() const noexcept { return code_; }
  /// The reason as JSON text (a string reason is quoted).
  const std::string& reason_json() const noexcept { return reason_json_; }
  /// `{"code":...,"reason":...}`: what the client receives.
  std::string body() const { return framework::detail::error_object(code_, reason_json_); }

 private:
  template <class Reason>
  static std::string describe(const Reason& r) {
    if constexpr (std::is_convertible_v<const Reason&, std::string_view>) return std::string(std::string_view(r));
    else return framework::detail::to_json_text(r);
  }
  int code_;
  std::string reason_json_;
};

}  // namespace portico
