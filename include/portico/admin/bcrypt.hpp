#pragma once
/// Password checks against a bcrypt hash (`$2a$`, `$2b$`, `$2y$`, as bcryptjs and htpasswd
/// write them), through crypt_rn(3) of libxcrypt (Debian's libcrypt1, <crypt.h> from
/// libcrypt-dev): link with -lcrypt. No hashing code of our own. crypt_rn rather than crypt_r:
/// it returns null on failure instead of a "*0" token, and AddressSanitizer defines a crypt_r
/// interceptor that satisfies the link, so with --as-needed (meson's default) libcrypt was
/// dropped and the interceptor's "real" crypt_r was address 0.

#include <crypt.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace portico::admin {

/// Whether `hash` is a bcrypt hash crypt(3) accepts as a setting.
inline bool is_bcrypt_hash(const std::string& hash) {
  if (hash.size() != 60 || hash.compare(0, 2, "$2") != 0) return false;
  auto data = std::make_unique<crypt_data>();  // ~32 KB: not on an I/O thread's stack
  const char* out = crypt_rn("", hash.c_str(), data.get(), sizeof(crypt_data));
  return out && out[0] != '*' && std::strlen(out) == hash.size();
}

/// Whether `password` hashes to `hash`; false for a hash that is not bcrypt. Costs what the
/// hash's cost factor says (tens of milliseconds at 10). Compares in constant time.
inline bool bcrypt_matches(std::string_view password, const std::string& hash) {
  if (hash.size() != 60 || hash.compare(0, 2, "$2") != 0) return false;
  if (password.find('\0') != std::string_view::npos) return false;  // crypt(3) would cut it
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(std::string(password).c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (!out || std::strlen(out) != hash.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < hash.size(); ++i) diff |= static_cast<unsigned char>(out[i] ^ hash[i]);
  return diff == 0;
}

}  // namespace portico::admin
