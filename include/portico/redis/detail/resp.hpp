#pragma once
/// hiredis glue: command formatting and a reply reader whose memory is bounded.
///
/// hiredis 0.14 allocates an array's element table as soon as it reads `*<n>`, and buffers a bulk
/// string until it is complete. Both are charged to a per-reply budget here, so a hostile or broken
/// server cannot make a connection allocate more than about twice `max_reply_bytes`.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

namespace portico::redis::detail {

/// Appends the RESP encoding of `args` (binary-safe) to `out`.
inline void append_command(std::string& out, const std::string_view* args, std::size_t n) {
  constexpr std::size_t inline_args = 8;
  const char* argv_small[inline_args];
  std::size_t lens_small[inline_args];
  std::string argv_big, lens_big;  // heap fallback for long commands, rare
  const char** argv = argv_small;
  std::size_t* lens = lens_small;
  if (n > inline_args) {
    argv_big.resize(n * sizeof(const char*));
    lens_big.resize(n * sizeof(std::size_t));
    argv = reinterpret_cast<const char**>(argv_big.data());
    lens = reinterpret_cast<std::size_t*>(lens_big.data());
  }
  for (std::size_t i = 0; i < n; ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  char* cmd = nullptr;
  int len = redisFormatCommandArgv(&cmd, static_cast<int>(n), argv, lens);
  if (len < 0 || !cmd) throw std::bad_alloc();
  out.append(cmd, static_cast<std::size_t>(len));
  redisFreeCommand(cmd);
}

/// What the reply being parsed has cost so far.
struct reply_budget {
  std::size_t used = 0;
  std::size_t limit = 0;
  bool exceeded = false;
};

/// The budget charged by the object functions below; set only around redisReaderGetReply on the
/// connection's thread (hiredis gives the object functions no per-reader pointer we can rely on).
inline thread_local reply_budget* current_budget = nullptr;

inline const redisReplyObjectFunctions& hiredis_functions() {
  static const redisReplyObjectFunctions fns = [] {
    redisReplyObjectFunctions f{};
    if (redisReader* r = redisReaderCreate()) {
      f = *r->fn;
      redisReaderFree(r);
    }
    return f;
  }();
  return fns;
}

inline bool charge(std::size_t n) noexcept {
  reply_budget* b = current_budget;
  if (!b) return true;
  b->used += n;
  if (b->used > b->limit) b->exceeded = true;
  return !b->exceeded;
}

// A null return makes hiredis fail the reader with "Out of memory"; the budget says why.
inline void* budget_string(const redisReadTask* t, char* s, std::size_t len) {
  return charge(sizeof(redisReply) + len + 1) ? hiredis_functions().createString(t, s, len) : nullptr;
}
inline void* budget_array(const redisReadTask* t, int n) {
  std::size_t count = n > 0 ? static_cast<std::size_t>(n) : 0;
  return charge(sizeof(redisReply) + count * sizeof(redisReply*)) ? hiredis_functions().createArray(t, n)
                                                                   : nullptr;
}
inline void* budget_integer(const redisReadTask* t, long long v) {
  return charge(sizeof(redisReply)) ? hiredis_functions().createInteger(t, v) : nullptr;
}
inline void* budget_nil(const redisReadTask* t) {
  return charge(sizeof(redisReply)) ? hiredis_functions().createNil(t) : nullptr;
}
inline void budget_free(void* p) { hiredis_functions().freeObject(p); }

inline redisReplyObjectFunctions* budget_functions() {
  static redisReplyObjectFunctions fns = {budget_string, budget_array, budget_integer, budget_nil,
                                          budget_free};
  return &fns;
}

/// One redisReader with a bounded reply size.
class reader {
 public:
  explicit reader(std::size_t max_reply_bytes) { budget_.limit = max_reply_bytes; reset(); }
  ~reader() { if (r_) redisReaderFree(r_); }
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  /// Fresh state for a new TCP connection.
  void reset() {
    if (r_) redisReaderFree(r_);
    hiredis_functions();  // before swapping the table in
    r_ = redisReaderCreateWithFunctions(budget_functions());
    if (!r_) throw std::bad_alloc();
    budget_.used = 0;
    budget_.exceeded = false;
  }

  void feed(const char* data, std::size_t n) {
    if (redisReaderFeed(r_, data, n) != REDIS_OK) budget_.exceeded = true;  // only fails on OOM
  }

  enum class result { reply, need_more, error };

  /// Next complete reply into `out` (free it with freeReplyObject), or why not.
  result next(redisReply*& out) {
    out = nullptr;
    void* p = nullptr;
    current_budget = &budget_;
    int rc = redisReaderGetReply(r_, &p);
    current_budget = nullptr;
    if (rc != REDIS_OK || budget_.exceeded) {
      if (p) freeReplyObject(p);
      return result::error;
    }
    if (!p) {
      // Bytes buffered for an incomplete reply count too (a bulk string is buffered whole).
      if (r_->len - r_->pos > budget_.limit) {
        budget_.exceeded = true;
        return result::error;
      }
      return result::need_more;
    }
    budget_.used = 0;
    out = static_cast<redisReply*>(p);
    return result::reply;
  }

  /// After result::error: true when the reply was over the limit, else a protocol error.
  bool over_limit() const noexcept { return budget_.exceeded; }
  const char* error() const noexcept { return r_->errstr; }

 private:
  redisReader* r_ = nullptr;
  reply_budget budget_;
};

}  // namespace portico::redis::detail
