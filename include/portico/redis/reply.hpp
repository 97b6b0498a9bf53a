#pragma once
/// A read-only view of one Redis reply (RESP2, as parsed by hiredis's redisReader).
///
/// Views are valid only during the callback that receives them: the reply is freed when it returns.
/// Strings are byte views (binary-safe, may contain NUL bytes).
#include <hiredis/hiredis.h>

#include <cstddef>
#include <string_view>

namespace portico::redis {

class reply {
 public:
  enum class type { nil = 0, string = 1, array = 2, integer = 3, status = 5, error = 6 };

  /// A null `r` reads as nil (what a command failed by the connection receives).
  explicit reply(const redisReply* r = nullptr) noexcept : r_(r) {}

  type kind() const noexcept {
    if (!r_) return type::nil;
    switch (r_->type) {
      case REDIS_REPLY_STRING: return type::string;
      case REDIS_REPLY_ARRAY: return type::array;
      case REDIS_REPLY_INTEGER: return type::integer;
      case REDIS_REPLY_STATUS: return type::status;
      case REDIS_REPLY_ERROR: return type::error;
      default: return type::nil;
    }
  }
  bool is_nil() const noexcept { return kind() == type::nil; }
  bool is_error() const noexcept { return kind() == type::error; }

  /// Bytes of a string, status or error reply; empty otherwise.
  std::string_view str() const noexcept {
    auto k = kind();
    if (k != type::string && k != type::status && k != type::error) return {};
    return {r_->str, static_cast<std::size_t>(r_->len)};
  }
  /// Value of an integer reply; 0 otherwise.
  long long integer() const noexcept { return kind() == type::integer ? r_->integer : 0; }
  /// Number of elements of an array reply; 0 otherwise.
  std::size_t size() const noexcept { return kind() == type::array ? r_->elements : 0; }
  /// Element `i` of an array reply; nil when out of range.
  reply operator[](std::size_t i) const noexcept {
    return i < size() ? reply(r_->element[i]) : reply();
  }

 private:
  const redisReply* r_;
};

}  // namespace portico::redis
