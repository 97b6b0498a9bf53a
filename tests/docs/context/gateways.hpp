// What the snippets of docs/gateways.md take for granted.
#pragma once

#include <portico/portico.hpp>

namespace doc_gateways {

struct ChatStore {};
struct AuthService {};
struct TokenGuard {
  bool can_activate(portico::execution_context& ctx) { return !ctx.sid().empty(); }
};
struct AdminGuard {
  bool can_activate(portico::execution_context& ctx) { return ctx.query("admin") == "1"; }
};
inline int expensive(int n) { return n * n; }

}  // namespace doc_gateways
