// The admin UI's password check (portico/admin/bcrypt.hpp, crypt_r of libxcrypt) against bcrypt
// vectors of the crypt_blowfish test set, each also confirmed by bcryptjs (another
// implementation) before it was written here; the $2b$ and $2y$ spellings of the same hash.
#include <catch2/catch.hpp>

#include <string>

#include "portico/admin/bcrypt.hpp"

using portico::admin::bcrypt_matches;
using portico::admin::is_bcrypt_hash;

TEST_CASE("bcrypt: known hashes match their password and nothing else", "[admin][bcrypt]") {
  struct vec {
    const char* hash;
    const char* password;
  };
  const vec vectors[] = {
      {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
      {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"},
      {"$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"},
      {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""},
      {"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
      {"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
  };
  for (const auto& v : vectors) {
    INFO(v.hash);
    CHECK(is_bcrypt_hash(v.hash));
    CHECK(bcrypt_matches(v.password, v.hash));
    CHECK_FALSE(bcrypt_matches(std::string(v.password) + "x", v.hash));
  }
  CHECK_FALSE(bcrypt_matches("U*V", vectors[0].hash));
}

TEST_CASE("bcrypt: what is not a bcrypt hash is refused, never matched", "[admin][bcrypt]") {
  for (const char* h : {"", "plaintext", "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0",  // md5-crypt
                        "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",  // one short
                        "$2b$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",  // cost 99
                        "$2q$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}) {
    INFO(h);
    CHECK_FALSE(is_bcrypt_hash(h));
    CHECK_FALSE(bcrypt_matches("", h));
    CHECK_FALSE(bcrypt_matches("U*U", h));
  }
  // a NUL byte would cut the password short in crypt(3): refused rather than matched on "U*U"
  CHECK_FALSE(bcrypt_matches(std::string("U*U\0tail", 8), "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}
