// What the snippets of docs/guards.md take for granted.
#pragma once

#include <portico/portico.hpp>

namespace doc_guards {

struct AuthService {
  bool verify(const portico::json::value& auth) const {
    return auth.HasMember("token") && auth["token"].IsString();
  }
};

}  // namespace doc_guards
