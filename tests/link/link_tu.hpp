#pragma once
// What each translation unit of the link test exposes to the other. Both TUs include the umbrella
// header (plus the codec headers, whichever the umbrella does not pull in yet) and use the same
// inline functions; a header that defines a non-inline function or variable breaks the link.
#include <string>

#include <rapidjson/document.h>

namespace link_test {
using placeholder_check = bool (*)(const rapidjson::Value&) noexcept;

/// The address of an inline function as seen from that TU: one address program-wide.
placeholder_check first_tu_is_placeholder();
placeholder_check second_tu_is_placeholder();

/// `["<event>",<placeholder>]`, written with the JSON writer as compiled in that TU.
std::string first_tu_encode(const std::string& event);
std::string second_tu_encode(const std::string& event);

/// An Engine.IO message frame carrying a Socket.IO EVENT `["<event>","<text>"]` to /chat, ack 7.
std::string first_tu_frame(const std::string& event, const std::string& text);
std::string second_tu_frame(const std::string& event, const std::string& text);

/// Decodes such a frame back: "<nsp>|<ack id>|<event>|<text>", or "error" on any decode error.
std::string first_tu_read(const std::string& frame);
std::string second_tu_read(const std::string& frame);
}  // namespace link_test
