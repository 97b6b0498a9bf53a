// What the snippets of docs/deployment.md take for granted: an app module with one gateway.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <portico/portico.hpp>

namespace doc_deployment {

struct ChatGateway : portico::gateway<ChatGateway> {
  static constexpr auto options = portico::gateway_options{"/socket.io", "/"};
  std::string echo(const std::string& text) { return text; }
  static constexpr auto events = portico::events(PORTICO_SUBSCRIBE(ChatGateway, echo));
};
using AppModule = portico::module<portico::gateways<ChatGateway>>;

}  // namespace doc_deployment
