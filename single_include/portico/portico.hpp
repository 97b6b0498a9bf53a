// portico 0.1.0 -- single-header edition.
// GENERATED FILE, do not edit: produced by scripts/amalgamate from include/portico/portico.hpp.
// Edit the headers under include/portico/ and run scripts/amalgamate (or `ninja amalgamate`).
// Needs on the include path: standalone Asio, websocketpp, RapidJSON (see README.md).
#pragma once
#define PORTICO_SINGLE_HEADER 1

// ---- begin portico/portico.hpp ----
/// The umbrella header: everything a portico server needs. The client
/// (<portico/client/client.hpp>) and the testing module (<portico/testing/testing.hpp>) are
/// separate includes: a server should not compile a websocketpp client it does not use.
// ---- begin portico/version.hpp ----
#define PORTICO_VERSION_MAJOR 0
#define PORTICO_VERSION_MINOR 1
#define PORTICO_VERSION_PATCH 0
// ---- end portico/version.hpp ----
// ---- begin portico/log.hpp ----
/// A small levelled logger shared by every layer.
///
/// Messages are plain strings built by the caller. To keep disabled levels
/// cheap, guard expensive formatting with `enabled(level)` or use the
/// overloads taking a callable that builds the string only when needed:
///
///     log.info("closing " + sid);                       // always builds the string
///     log.debug([&] { return "frame " + describe(f); }); // built only if debug is on
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace portico {

enum class log_level { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

inline const char* to_string(log_level l) noexcept {
  switch (l) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "?";
}

class logger {
 public:
  using level = log_level;
  using sink_type = std::function<void(level, std::string_view)>;

  /// `name` prefixes every line of the default sink ("[portico.engineio] warn: ...").
  explicit logger(std::string name = "portico", level min = level::warn)
      : name_(std::move(name)), min_(min) {}

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  void set_level(level l) noexcept { min_.store(l, std::memory_order_relaxed); }
  level get_level() const noexcept { return min_.load(std::memory_order_relaxed); }
  bool enabled(level l) const noexcept {
    return l != level::off && l >= min_.load(std::memory_order_relaxed);
  }

  /// Replace the sink (thread-safe). An empty function restores the stderr sink.
  /// The sink may be called from any I/O thread, concurrently.
  void set_sink(sink_type s) {
    auto p = s ? std::make_shared<const sink_type>(std::move(s)) : nullptr;
    std::lock_guard<std::mutex> g(mu_);
    sink_ = std::move(p);
  }

  void write(level l, std::string_view msg) const {
    if (!enabled(l)) return;
    std::shared_ptr<const sink_type> s;
    {
      std::lock_guard<std::mutex> g(mu_);
      s = sink_;
    }
    if (s) {
      (*s)(l, msg);
    } else {
      // One fprintf per line so concurrent lines do not interleave mid-line.
      std::fprintf(stderr, "[%s] %s: %.*s\n", name_.c_str(), to_string(l),
                   static_cast<int>(msg.size()), msg.data());
    }
  }

  /// Lazily built message: `f` is only called when the level is enabled.
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void write(level l, F&& f) const {
    if (!enabled(l)) return;
    const auto& m = f();
    write(l, std::string_view(m));
  }

  void trace(std::string_view m) const { write(level::trace, m); }
  void debug(std::string_view m) const { write(level::debug, m); }
  void info(std::string_view m) const { write(level::info, m); }
  void warn(std::string_view m) const { write(level::warn, m); }
  void error(std::string_view m) const { write(level::error, m); }

  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void trace(F&& f) const { write(level::trace, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void debug(F&& f) const { write(level::debug, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void info(F&& f) const { write(level::info, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void warn(F&& f) const { write(level::warn, std::forward<F>(f)); }
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  void error(F&& f) const { write(level::error, std::forward<F>(f)); }

  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::atomic<level> min_;
  mutable std::mutex mu_;
  std::shared_ptr<const sink_type> sink_;
};

}  // namespace portico
// ---- end portico/log.hpp ----
// ---- begin portico/stop_signals.hpp ----
/// Ending a server process cleanly on SIGINT / SIGTERM (Ctrl-C, `systemctl stop`, `docker stop`).
///
///     portico::stop_signals signals;   // first: before any server thread exists
///     app.listen("0.0.0.0", 8000);
///     signals.wait();                  // returns on SIGINT or SIGTERM
///     app.stop();                      // disconnect handlers run, clients see a clean close
///
/// The constructor blocks both signals in the calling thread, so every thread started later
/// (I/O workers, timers, pools) inherits the mask and none is interrupted; `wait` then takes
/// them synchronously, so nothing runs in signal-handler context. POSIX only.

#include <cerrno>
#include <chrono>
#include <csignal>

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace portico {

class stop_signals {
 public:
  stop_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }

  /// Blocks until SIGINT or SIGTERM arrives (returns its number) or `limit` has passed (returns
  /// 0). A zero limit waits for a signal only (examples use a limit for `--max-seconds`).
  int wait(std::chrono::milliseconds limit = std::chrono::milliseconds::zero()) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int sig = -1;
      if (limit.count() <= 0) {
        sig = sigwaitinfo(&set_, nullptr);
      } else {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return 0;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        timespec t{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        sig = sigtimedwait(&set_, nullptr, &t);
        if (sig < 0 && errno == EAGAIN) return 0;
      }
      if (sig == SIGINT || sig == SIGTERM) return sig;
      // EINTR (another signal's handler ran): keep waiting.
    }
  }

 private:
  sigset_t set_;
};

}  // namespace portico
// ---- end portico/stop_signals.hpp ----
// ---- begin portico/json/json.hpp ----
/// portico::json: payload types, typed mapping (PORTICO_FIELDS, adapter<T>), decoding with
/// pydantic-style error lists, encoding straight into the output string. See docs/json.md.

// ---- begin portico/json/value.hpp ----
/// The payload representation shared by every layer (see docs/design.md, "Payload representation").
/// Received JSON is a RapidJSON DOM parsed once, in situ, over a buffer the packet owns; outgoing
/// JSON is written once with a rapidjson::Writer. Binary blobs travel beside the JSON as
/// `binary`, referenced from the JSON by `{"_placeholder":true,"num":n}`.

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// ---- begin portico/json/rapidjson.hpp ----
/// The one place where portico includes RapidJSON, so its build switches are set consistently.
///
/// RAPIDJSON_SSE2: RapidJSON scans strings and whitespace 16 bytes at a time when it is defined.
/// Every x86-64 CPU has SSE2 (`__SSE2__`), so it is switched on there, unless:
/// - the program already included a RapidJSON header (the include guards keep the first
///   configuration: everything still compiles and works, only without the SIMD scans; define
///   RAPIDJSON_SSE2 or RAPIDJSON_SSE42 yourself before that first include to get them);
/// - the user chose already (RAPIDJSON_SSE2 / RAPIDJSON_SSE42 defined: left as they are);
/// - AddressSanitizer or ThreadSanitizer is on: the aligned 16-byte loads may read past the end
///   of a string within its 16-byte block, which is harmless but reported as a heap overflow (or,
///   by TSan, as a read of a freed neighbour).

#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2) && !defined(RAPIDJSON_SSE42) && !defined(RAPIDJSON_READER_H_)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PORTICO_RAPIDJSON_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PORTICO_RAPIDJSON_ASAN 1
#endif
#endif
#ifndef PORTICO_RAPIDJSON_ASAN
#define RAPIDJSON_SSE2
#endif
#undef PORTICO_RAPIDJSON_ASAN
#endif

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
// ---- end portico/json/rapidjson.hpp ----

namespace portico::json {

using value = rapidjson::Value;
using document = rapidjson::Document;
using allocator = rapidjson::Document::AllocatorType;

/// Appends to a std::string (the packet being built), so the JSON lands in its final buffer.
/// Characters are collected in a small inline buffer and appended in blocks: a per-character
/// std::string::push_back is an out-of-line call in RapidJSON's string writer. The string holds
/// everything written once the writer finishes a top-level value (it calls Flush()), or after an
/// explicit Flush(), or when the sink is destroyed.
class string_sink {
 public:
  using Ch = char;
  string_sink(std::string* out) noexcept : out_(out) {}  // NOLINT: `string_sink sink{&s}`
  string_sink(const string_sink&) = delete;              // a writer keeps a pointer to its sink
  string_sink& operator=(const string_sink&) = delete;
  ~string_sink() { Flush(); }

  void Put(char c) {
    if (n_ == sizeof(buf_)) Flush();
    buf_[n_++] = c;
  }
  /// Appends `n` characters at once.
  void write(const char* p, std::size_t n) {
    if (n <= sizeof(buf_) - n_) {
      std::memcpy(buf_ + n_, p, n);
      n_ += n;
      return;
    }
    Flush();
    out_->append(p, n);
  }
  void Flush() {
    if (n_ == 0) return;
    out_->append(buf_, n_);
    n_ = 0;
  }

 private:
  std::string* out_;
  std::size_t n_ = 0;
  char buf_[240];
};
using writer = rapidjson::Writer<string_sink>;

/// RapidJSON's writers and parsers allocate a (stateless) CrtAllocator object for their work
/// stacks unless they are given one: `writer w(sink, &json::crt_allocator())` saves that malloc.
inline rapidjson::CrtAllocator& crt_allocator() noexcept {
  static rapidjson::CrtAllocator a;
  return a;
}

}  // namespace portico::json

/// RapidJSON's stream extension points for the sink. Before a string the writer reserves its
/// worst case (6 bytes per character, as if each needed an escape); the sink's bounds check is
/// one inline compare, cheaper than honouring that, so PutReserve does nothing and PutUnsafe is
/// the checked Put.
namespace rapidjson {
template <>
inline void PutReserve(portico::json::string_sink&, std::size_t) {}
template <>
inline void PutUnsafe(portico::json::string_sink& s, char c) {
  s.Put(c);
}

/// Copies each run of characters that need no escaping in one go (RapidJSON does that only for
/// its own StringBuffer); the writer then escapes the character the run stopped at.
template <>
inline bool Writer<portico::json::string_sink>::ScanWriteUnescapedString(StringStream& is, size_t length) {
  const char* p = is.src_;
  const char* end = is.head_ + length;
#ifdef RAPIDJSON_SSE2
  // 16 characters per step; unaligned loads that never reach past `end`.
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1F);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                                     _mm_cmpeq_epi8(_mm_max_epu8(x, control), control));  // x <= 0x1F
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) {
      p += __builtin_ctz(static_cast<unsigned>(mask));
      break;
    }
    p += 16;
  }
#endif
  while (p != end && static_cast<unsigned char>(*p) >= 0x20 && *p != '"' && *p != '\\') ++p;
  os_->write(is.src_, static_cast<std::size_t>(p - is.src_));
  is.src_ = p;
  return p != end;
}
}  // namespace rapidjson

namespace portico::json {

/// A binary attachment: owns its bytes (moved from the websocket frame or the user's buffer).
struct binary {
  std::string bytes;
  binary() = default;
  explicit binary(std::string b) : bytes(std::move(b)) {}
  binary(const void* data, std::size_t n) : bytes(static_cast<const char*>(data), n) {}
  std::string_view view() const noexcept { return bytes; }
  std::size_t size() const noexcept { return bytes.size(); }
  friend bool operator==(const binary& a, const binary& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const binary& a, const binary& b) { return !(a == b); }
};

/// What typed decoding needs besides the DOM: the attachments placeholders point to.
struct decode_context {
  const std::vector<binary>* attachments = nullptr;
};

/// What typed encoding collects besides the JSON text: the blobs placeholders were written for.
/// Pointers stay valid for the duration of one encode call (emit encodes synchronously).
struct encode_context {
  std::vector<std::string_view> attachments;
};

/// True for `{"_placeholder":true,"num":n}` with an integral n.
inline bool is_placeholder(const value& v) noexcept {
  if (!v.IsObject() || v.MemberCount() != 2) return false;
  auto p = v.FindMember("_placeholder");
  auto n = v.FindMember("num");
  return p != v.MemberEnd() && p->value.IsBool() && p->value.GetBool() && n != v.MemberEnd() &&
         n->value.IsUint();
}

/// Writes the placeholder for the next attachment and records the bytes.
inline void write_placeholder(writer& w, encode_context& ctx, std::string_view bytes) {
  w.StartObject();
  w.Key("_placeholder", 12);
  w.Bool(true);
  w.Key("num", 3);
  w.Uint(static_cast<unsigned>(ctx.attachments.size()));
  w.EndObject();
  ctx.attachments.push_back(bytes);
}

}  // namespace portico::json
// ---- end portico/json/value.hpp ----
// ---- begin portico/json/errors.hpp ----
/// Validation errors of typed decoding, in the spirit of pydantic:
/// `[{"loc":["items",2,"name"],"msg":"field required","type":"missing"}]`.
///
/// Error types produced by portico::json (the "type" field; stable, clients may switch on them):
///   missing           a required field is absent ("field required")
///   string_type       expected a JSON string
///   int_type          expected a JSON number that is an integer
///   int_from_float    a number with a fractional part where an integer is expected
///   int_range         an integer outside the range of the C++ type (msg names the range)
///   float_type        expected a JSON number
///   float_range       a number too large for `float`
///   bool_type         expected true or false
///   list_type         expected a JSON array (std::vector, std::array)
///   tuple_type        expected a JSON array (std::tuple)
///   too_short         fixed-size array/tuple with too few items
///   too_long          fixed-size array/tuple with too many items
///   dict_type         expected a JSON object (map types)
///   model_type        expected a JSON object (PORTICO_FIELDS structs)
///   binary_type       expected a `{"_placeholder":true,"num":n}` object
///   binary_missing    the placeholder points to an attachment that was not received
///   json_invalid      the text did not parse (from_string only; msg has the offset)
///   value_error       free for adapters (user-defined validation)

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>


namespace portico::json {

/// One step of an error location: an object key or an array index.
struct path_element {
  std::string key;
  std::size_t index = 0;
  bool is_index = false;

  path_element() = default;
  path_element(std::string k) : key(std::move(k)) {}
  path_element(std::string_view k) : key(k) {}
  path_element(const char* k) : key(k) {}
  template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  path_element(I i) : index(static_cast<std::size_t>(i)), is_index(true) {}

  friend bool operator==(const path_element& a, const path_element& b) {
    return a.is_index == b.is_index && (a.is_index ? a.index == b.index : a.key == b.key);
  }
  friend bool operator!=(const path_element& a, const path_element& b) { return !(a == b); }
};

/// One validation failure: where (loc), what a human reads (msg), what a program matches (type).
struct error {
  std::vector<path_element> loc;
  std::string msg;
  std::string type;
};

/// The errors of one decode, plus the location decoding is currently at.
/// Decoders push a key/index while they descend, so `add` only records the failure; the path is
/// copied into an owning `error` only when something fails (the success path never allocates).
/// Errors are capped (`max_errors`, default 100) so a hostile array of a million wrong items
/// cannot make the error list itself the attack; decoders stop early once `full()`.
class error_list {
 public:
  explicit error_list(std::size_t max_errors = 100) : max_(max_errors == 0 ? 1 : max_errors) {}

  /// Records a failure at the current location.
  void add(std::string msg, std::string type) {
    if (errors_.size() >= max_) {
      truncated_ = true;
      return;
    }
    error e;
    e.loc.reserve(path_.size());
    for (const auto& p : path_)
      e.loc.push_back(p.is_index ? path_element(p.index) : path_element(p.key));
    e.msg = std::move(msg);
    e.type = std::move(type);
    errors_.push_back(std::move(e));
  }

  /// Descends into a key. The key's characters must outlive the matching pop() (decoders pass
  /// field names, which are literals, or keys of the DOM being decoded).
  void push(std::string_view key) { path_.push_back({key, 0, false}); }
  /// Descends into an array index.
  void push(std::size_t index) { path_.push_back({{}, index, true}); }
  void pop() noexcept {
    if (!path_.empty()) path_.pop_back();
  }

  /// RAII push/pop.
  struct scope {
    error_list& list;
    template <class K>
    scope(error_list& l, K k) : list(l) { list.push(k); }
    ~scope() { list.pop(); }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
  };

  bool full() const noexcept { return errors_.size() >= max_; }
  /// True when errors were dropped because the cap was reached.
  bool truncated() const noexcept { return truncated_; }
  bool empty() const noexcept { return errors_.empty(); }
  std::size_t size() const noexcept { return errors_.size(); }
  const error& operator[](std::size_t i) const { return errors_[i]; }
  auto begin() const noexcept { return errors_.begin(); }
  auto end() const noexcept { return errors_.end(); }
  const std::vector<error>& errors() const noexcept { return errors_; }
  /// Appends an already located error (e.g. one decoded from a peer's error list).
  void append(error e) {
    if (errors_.size() >= max_) {
      truncated_ = true;
      return;
    }
    errors_.push_back(std::move(e));
  }
  /// Forgets errors and location, keeps the cap.
  void clear() noexcept {
    errors_.clear();
    path_.clear();
    truncated_ = false;
  }

 private:
  struct step {
    std::string_view key;
    std::size_t index;
    bool is_index;
  };
  std::vector<error> errors_;
  std::vector<step> path_;
  std::size_t max_;
  bool truncated_ = false;
};

}  // namespace portico::json
// ---- end portico/json/errors.hpp ----
// ---- begin portico/json/fields.hpp ----
/// Declaring the JSON shape of a type: `PORTICO_FIELDS` for plain structs, `adapter<T>` for the rest.

#include <string_view>
#include <tuple>
#include <type_traits>


namespace portico::json {

/// The customization point for types that are not plain structs (strong ids, enums as strings,
/// third-party types). Specialise it in namespace portico::json with exactly these two members:
///
///     template <> struct portico::json::adapter<my::color> {
///       static bool decode(const value& v, my::color& out, decode_context& ctx, error_list& errs);
///       static void encode(writer& w, const my::color& c, encode_context& ctx);
///     };
///
/// `decode` reports failures with `errs.add(msg, type)` (the location is already set) and returns
/// false; it may call `json::decode` for nested values. `encode` writes exactly one JSON value.
/// An adapter wins over every built-in mapping, so it can also override how e.g. an enum maps.
template <class T, class Enable = void>
struct adapter {
  static constexpr bool portico_unspecialised = true;
};

namespace detail {

template <class T, class = void>
struct has_adapter : std::true_type {};
template <class T>
struct has_adapter<T, std::void_t<decltype(adapter<T>::portico_unspecialised)>> : std::false_type {};

/// One declared field: its JSON name and the member it maps to.
template <class C, class M>
struct field {
  std::string_view name;
  M C::*member;
};
template <class C, class M>
constexpr field<C, M> make_field(std::string_view name, M C::*member) noexcept {
  return {name, member};
}

/// Found by ADL only; this declaration just gives unqualified lookup something to not match.
void portico_fields(...) = delete;

template <class T, class = void>
struct has_fields : std::false_type {};
template <class T>
struct has_fields<T, std::void_t<decltype(portico_fields(static_cast<const T*>(nullptr)))>>
    : std::true_type {};

template <class T>
constexpr auto fields_of() noexcept {
  return portico_fields(static_cast<const T*>(nullptr));
}

}  // namespace detail
}  // namespace portico::json

/// Declares the JSON fields of a struct, once, right after it, at namespace scope in the
/// struct's own namespace (found by ADL). Up to 32 fields. Each field is either a member name,
/// mapped to a key of the same name, or `(member, "jsonName")` to map it to another key:
///
///     struct user { std::string name; int user_id; std::optional<std::string> email; };
///     PORTICO_FIELDS(user, name, (user_id, "userId"), email)
///
/// Decoding: every field must be present unless its type is std::optional (missing or null ->
/// nullopt); keys not declared are ignored. Encoding writes fields in declaration order and
/// omits optional fields that are empty.
#define PORTICO_FIELDS(Type, ...)                                                       \
  [[maybe_unused]] inline constexpr auto portico_fields(const Type*) noexcept {         \
    return ::std::make_tuple(PORTICO_JSON_DETAIL_FOR_EACH(PORTICO_JSON_DETAIL_FIELD, Type, \
                                                          __VA_ARGS__));                \
  }

// --- preprocessor machinery (not part of the API) ---
#define PORTICO_JSON_DETAIL_CAT(a, b) PORTICO_JSON_DETAIL_CAT_(a, b)
#define PORTICO_JSON_DETAIL_CAT_(a, b) a##b
#define PORTICO_JSON_DETAIL_SECOND(a, b, ...) b
#define PORTICO_JSON_DETAIL_IS_PAREN(x) PORTICO_JSON_DETAIL_IS_PAREN_(PORTICO_JSON_DETAIL_PROBE x)
#define PORTICO_JSON_DETAIL_IS_PAREN_(...) PORTICO_JSON_DETAIL_SECOND(__VA_ARGS__, 0, ~)
#define PORTICO_JSON_DETAIL_PROBE(...) ~, 1
#define PORTICO_JSON_DETAIL_UNPAREN(...) __VA_ARGS__

#define PORTICO_JSON_DETAIL_FIELD(Type, x) \
  PORTICO_JSON_DETAIL_CAT(PORTICO_JSON_DETAIL_FIELD_, PORTICO_JSON_DETAIL_IS_PAREN(x))(Type, x)
#define PORTICO_JSON_DETAIL_FIELD_0(Type, m) ::portico::json::detail::make_field(#m, &Type::m)
#define PORTICO_JSON_DETAIL_FIELD_1(Type, p) \
  PORTICO_JSON_DETAIL_FIELD_1_(Type, PORTICO_JSON_DETAIL_UNPAREN p)
#define PORTICO_JSON_DETAIL_FIELD_1_(Type, ...) PORTICO_JSON_DETAIL_FIELD_2(Type, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_FIELD_2(Type, m, n) ::portico::json::detail::make_field(n, &Type::m)

#define PORTICO_JSON_DETAIL_FOR_EACH(M, T, ...)                                   \
  PORTICO_JSON_DETAIL_CAT(PORTICO_JSON_DETAIL_EACH_, PORTICO_JSON_DETAIL_NARGS(__VA_ARGS__)) \
  (M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_NARGS(...) PORTICO_JSON_DETAIL_NARGS_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define PORTICO_JSON_DETAIL_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define PORTICO_JSON_DETAIL_EACH_1(M, T, x) M(T, x)
#define PORTICO_JSON_DETAIL_EACH_2(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_1(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_3(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_2(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_4(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_3(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_5(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_4(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_6(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_5(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_7(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_6(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_8(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_7(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_9(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_8(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_10(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_9(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_11(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_10(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_12(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_11(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_13(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_12(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_14(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_13(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_15(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_14(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_16(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_15(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_17(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_16(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_18(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_17(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_19(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_18(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_20(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_19(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_21(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_20(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_22(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_21(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_23(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_22(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_24(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_23(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_25(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_24(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_26(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_25(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_27(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_26(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_28(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_27(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_29(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_28(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_30(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_29(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_31(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_30(M, T, __VA_ARGS__)
#define PORTICO_JSON_DETAIL_EACH_32(M, T, x, ...) M(T, x), PORTICO_JSON_DETAIL_EACH_31(M, T, __VA_ARGS__)
// ---- end portico/json/fields.hpp ----
// ---- begin portico/json/dom.hpp ----
/// Parsing, printing and copying whole DOM values. Parsing bounds the nesting depth and never
/// recurses (RapidJSON's iterative parser), so hostile input cannot overflow the stack, and the
/// recursive walks elsewhere (stringify, copy, typed decoding of `raw`) stay bounded too.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// ---- begin portico/json/surrogates.hpp ----
/// Lone UTF-16 surrogate escapes in JSON text ("\ud800" without its low half, or "\udc00" alone).
/// JavaScript strings may hold them, so a stock JS client sends them (JSON.stringify escapes them);
/// RapidJSON 1.1 refuses a lone high one and turns a lone low one into bytes that are not UTF-8.
/// Both are rewritten to "\ufffd" before parsing (same length, so in place): a handler then only
/// ever sees valid UTF-8, a browser never receives invalid text back, and the sender is not
/// dropped for a string its own language allows (Node keeps such strings; U+FFFD is the closest
/// UTF-8 can carry).

#include <cstddef>
#include <cstring>

namespace portico::json::detail {

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The code unit of the `\uXXXX` escape at `p` (6 chars available), or -1.
inline long escape_unit(const char* p) noexcept {
  if (p[0] != '\\' || p[1] != 'u') return -1;
  long v = 0;
  for (int i = 2; i < 6; ++i) {
    int d = hex_digit(p[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/// Finds the first lone surrogate escape in `text[0, n)`, or returns n. Text without a
/// backslash costs one memchr.
inline std::size_t find_lone_surrogate_escape(const char* text, std::size_t n) noexcept {
  const char* end = text + n;
  for (const char* p = text; (p = static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p))));) {
    if (end - p < 6) return n;  // too short for \uXXXX: the parser judges the rest
    long u = escape_unit(p);
    if (u < 0) {
      p += 2;  // another escape (\\, \", \n ...): skip both characters
      continue;
    }
    if (u >= 0xD800 && u <= 0xDBFF) {  // a high half must be followed by a low half
      long low = end - p >= 12 ? escape_unit(p + 6) : -1;
      if (low >= 0xDC00 && low <= 0xDFFF) {
        p += 12;
        continue;
      }
      return static_cast<std::size_t>(p - text);
    }
    if (u >= 0xDC00 && u <= 0xDFFF) return static_cast<std::size_t>(p - text);
    p += 6;
  }
  return n;
}

/// Rewrites every lone surrogate escape of `text[0, n)` to "\ufffd", in place; returns how many.
inline std::size_t replace_lone_surrogate_escapes(char* text, std::size_t n) noexcept {
  std::size_t count = 0;
  for (std::size_t at = find_lone_surrogate_escape(text, n); at < n;
       at += 6, at += find_lone_surrogate_escape(text + at, n - at)) {
    std::memcpy(text + at + 2, "fffd", 4);
    ++count;
  }
  return count;
}

}  // namespace portico::json::detail
// ---- end portico/json/surrogates.hpp ----

namespace portico::json {

/// Nesting depth parse_insitu/parse accept by default (objects + arrays).
inline constexpr std::size_t default_max_depth = 256;

/// Why a parse failed: byte offset into the text and a static English message.
struct parse_error {
  std::size_t offset = 0;
  const char* message = "";
};

namespace detail {

/// Forwards SAX events to a document, refusing nesting deeper than `max_depth`.
/// With `copy_strings`, every string is copied into the document's allocator (used for deep
/// copies: an in-situ DOM's strings point into the frame and must not be shared); without it
/// (parsing text), values no JSON text may produce are refused too.
struct building_handler {
  document& doc;
  std::size_t max_depth;
  bool copy_strings;
  std::size_t depth = 0;
  bool too_deep = false;
  bool too_big = false;

  using Ch = char;
  using size_type = rapidjson::SizeType;
  bool Null() { return doc.Null(); }
  bool Bool(bool b) { return doc.Bool(b); }
  bool Int(int i) { return doc.Int(i); }
  bool Uint(unsigned u) { return doc.Uint(u); }
  bool Int64(std::int64_t i) { return doc.Int64(i); }
  bool Uint64(std::uint64_t u) { return doc.Uint64(u); }
  /// RapidJSON 1.1 refuses 1e400 but turns 10e308 into infinity, which no JSON can carry back
  /// out (the writer stops there): refused alike.
  bool Double(double d) {
    if (copy_strings || std::isfinite(d)) return doc.Double(d);
    too_big = true;
    return false;
  }
  bool RawNumber(const Ch* s, size_type n, bool copy) { return doc.RawNumber(s, n, copy || copy_strings); }
  bool String(const Ch* s, size_type n, bool copy) { return doc.String(s, n, copy || copy_strings); }
  bool Key(const Ch* s, size_type n, bool copy) { return doc.Key(s, n, copy || copy_strings); }
  bool StartObject() { return enter() && doc.StartObject(); }
  bool EndObject(size_type n) {
    --depth;
    return doc.EndObject(n);
  }
  bool StartArray() { return enter() && doc.StartArray(); }
  bool EndArray(size_type n) {
    --depth;
    return doc.EndArray(n);
  }
  bool enter() {
    if (++depth > max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  }
};

/// RapidJSON's in-situ stream, but bounded: it never moves past `end`, where it reads NUL.
/// InsituStringStream knows no length and trusts the terminator, yet RapidJSON 1.1's UTF-8
/// validation takes the 1-3 continuation bytes a lead byte announces without looking at them, so
/// a text ending in a truncated sequence ("\xF0" + NUL) made it read and rewrite up to 2 bytes past
/// the terminator. Writes past `end` are dropped: they only happen on such a doomed parse.
struct bounded_insitu_stream {
  using Ch = char;
  bounded_insitu_stream(char* begin, std::size_t length) : src_(begin), head_(begin), end_(begin + length) {}
  Ch Peek() const { return src_ != end_ ? *src_ : '\0'; }
  Ch Take() { return src_ != end_ ? *src_++ : '\0'; }
  std::size_t Tell() const { return static_cast<std::size_t>(src_ - head_); }
  void Put(Ch c) {
    if (dst_ != end_) *dst_++ = c;
  }
  Ch* PutBegin() { return dst_ = src_; }
  std::size_t PutEnd(Ch* begin) const { return static_cast<std::size_t>(dst_ - begin); }
  void Flush() {}

  char* src_;
  char* dst_ = nullptr;
  char* head_;
  char* end_;
};

template <unsigned Flags, class Stream>
bool parse_stream(Stream& in, std::size_t length, document& doc, parse_error* err,
                  std::size_t max_depth) {
  building_handler h{doc, max_depth, false};
  rapidjson::ParseResult result;
  bool trailing_nul = false;
  auto generate = [&](document&) {
    rapidjson::Reader reader;
    result = reader.Parse<Flags | rapidjson::kParseIterativeFlag |
                          rapidjson::kParseValidateEncodingFlag>(in, h);
    // RapidJSON stops at the first NUL byte; anything after it would be silently ignored.
    if (!result.IsError() && in.Tell() != length) trailing_nul = true;
    return !result.IsError() && !trailing_nul;
  };
  doc.SetNull();
  doc.Populate(generate);
  if (!result.IsError() && !trailing_nul) return true;
  doc.SetNull();
  if (err) {
    if (trailing_nul) {
      err->offset = in.Tell();
      err->message = "NUL byte inside the JSON text.";
    } else if (h.too_deep) {
      err->offset = result.Offset();
      err->message = "Nesting too deep.";
    } else if (h.too_big) {
      err->offset = result.Offset();
      err->message = rapidjson::GetParseError_En(rapidjson::kParseErrorNumberTooBig);
    } else {
      err->offset = result.Offset();
      err->message = rapidjson::GetParseError_En(result.Code());
    }
  }
  return false;
}

}  // namespace detail

/// Parses `buf` in place: strings in `doc` point into `buf`, which must therefore outlive `doc`
/// and must not be modified meanwhile. This is how received packets are parsed (once, no copy).
/// Invalid UTF-8, trailing garbage, NUL bytes, numbers beyond a double's range and nesting deeper
/// than `max_depth` are errors; a lone surrogate escape ("\udc00") is read as U+FFFD (it is
/// rewritten to "\ufffd" in `buf`, see surrogates.hpp).
/// On failure `doc` is null and `err` (if given) says where and why.
inline bool parse_insitu(std::string& buf, document& doc, parse_error* err = nullptr,
                         std::size_t max_depth = default_max_depth) {
  detail::replace_lone_surrogate_escapes(&buf[0], buf.size());
  detail::bounded_insitu_stream in(&buf[0], buf.size());
  return detail::parse_stream<rapidjson::kParseInsituFlag>(in, buf.size(), doc, err, max_depth);
}

/// Parses a copy of `text` into `doc` (strings are copied into doc's allocator); the same rules
/// as parse_insitu.
inline bool parse(std::string_view text, document& doc, parse_error* err = nullptr,
                  std::size_t max_depth = default_max_depth) {
  if (detail::find_lone_surrogate_escape(text.data(), text.size()) != text.size()) {
    std::string repaired(text);  // rare: only text with a lone surrogate escape is copied
    detail::replace_lone_surrogate_escapes(&repaired[0], repaired.size());
    rapidjson::MemoryStream in(repaired.data(), repaired.size());
    return detail::parse_stream<rapidjson::kParseDefaultFlags>(in, repaired.size(), doc, err, max_depth);
  }
  rapidjson::MemoryStream in(text.data(), text.size());
  return detail::parse_stream<rapidjson::kParseDefaultFlags>(in, text.size(), doc, err, max_depth);
}

/// Serialises a DOM value to compact JSON. Non-finite doubles (only possible in hand-built DOMs:
/// the parsers refuse numbers that overflow)
/// cannot be represented; the output is then truncated at that point, so do not store them.
inline std::string stringify(const value& v) {
  std::string out;
  {
    string_sink sink{&out};
    writer w(sink);
    v.Accept(w);
  }  // the sink flushes what a failed Accept left in it
  return out;
}

/// Deep copy of `v` whose strings all live in `into`'s allocator (unlike RapidJSON's CopyFrom,
/// which keeps pointing at constant/in-situ strings): safe to keep after the source buffer dies.
inline void copy(const value& v, document& into) {
  detail::building_handler h{into, static_cast<std::size_t>(-1), true};
  auto generate = [&](document&) { return v.Accept(h); };
  into.Populate(generate);
}

/// Deep copy of `v` allocated in `alloc` (e.g. to insert it into another document).
inline value copy(const value& v, allocator& alloc) {
  document tmp(&alloc);
  copy(v, tmp);
  value out;
  out.Swap(static_cast<value&>(tmp));
  return out;
}

}  // namespace portico::json
// ---- end portico/json/dom.hpp ----
// ---- begin portico/json/raw.hpp ----
/// Untyped JSON inside typed structs.

#include <string>
#include <string_view>
#include <utility>


namespace portico::json {

/// An owned JSON value of any shape: a field "whatever the client sent". Decoding deep-copies
/// the value (strings included) into the raw's own document, so it outlives the packet it came
/// from and can be stored, copied and re-emitted. Encoding writes it back verbatim.
/// For a zero-copy view instead, use a `const json::value*` field: it points into the decoded
/// DOM and is valid only while that DOM (and its in-situ buffer) lives.
class raw {
 public:
  raw() = default;  ///< JSON null
  explicit raw(const value& v) { copy(v, doc_); }
  raw(const raw& o) { copy(o.get(), doc_); }
  raw(raw&&) noexcept = default;
  raw& operator=(const raw& o) {
    if (this != &o) {
      document d;
      copy(o.get(), d);
      doc_.Swap(d);
    }
    return *this;
  }
  raw& operator=(raw&&) noexcept = default;
  ~raw() = default;

  /// Parses `text` into a new raw; on failure the raw is null and `err` says why.
  static raw parse(std::string_view text, parse_error* err = nullptr) {
    raw r;
    json::parse(text, r.doc_, err);
    return r;
  }

  const value& get() const noexcept { return doc_; }
  const value* operator->() const noexcept { return &doc_; }
  const value& operator*() const noexcept { return doc_; }
  /// The owning document, to build or edit the value in place.
  document& doc() noexcept { return doc_; }
  std::string str() const { return stringify(doc_); }

  friend bool operator==(const raw& a, const raw& b) { return a.doc_ == b.doc_; }
  friend bool operator!=(const raw& a, const raw& b) { return !(a == b); }

 private:
  document doc_;
};

}  // namespace portico::json
// ---- end portico/json/raw.hpp ----
// ---- begin portico/json/decode.hpp ----
/// Typed decoding: DOM value -> C++ value, collecting path-tracked errors instead of throwing.
///
/// Supported: bool; every integer type (range-checked; integral doubles such as 3.0 accepted);
/// enums (as their underlying integer; use an adapter for names); float, double, long double;
/// std::string; std::optional<T> (missing or null -> nullopt); std::vector<T>; std::array<T, N>
/// and std::tuple<...> (JSON arrays of exactly that length); maps with std::string keys
/// (std::map, std::unordered_map, ...); PORTICO_FIELDS structs; json::binary (from a placeholder
/// resolved through decode_context::attachments); json::raw (owned deep copy of anything);
/// `const json::value*` (borrowed view of anything); any type with a json::adapter.
/// Keys not declared are ignored; when a key occurs twice in an object, the first one is used.
/// On failure the output is left valid but partly assigned; use it only when decode returned true.

#include <array>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>


namespace portico::json {

template <class T>
bool decode(const value& v, T& out, decode_context& ctx, error_list& errs);

namespace detail {

template <class T>
struct always_false : std::false_type {};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

/// Any associative container keyed by std::string (std::map, std::unordered_map, ...), detected
/// by shape so this header need not include <map>/<unordered_map>.
template <class T, class = void>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<T, std::void_t<typename T::key_type, typename T::mapped_type>>
    : std::is_same<typename T::key_type, std::string> {};

inline std::string_view key_view(const value& k) {
  return std::string_view(k.GetString(), k.GetStringLength());
}

inline value::ConstMemberIterator find_member(const value& obj, std::string_view name) {
  value key(rapidjson::StringRef(name.data(), name.size()));
  return obj.FindMember(key);
}

inline bool fail(error_list& errs, std::string msg, const char* type) {
  errs.add(std::move(msg), type);
  return false;
}

template <class I>
bool decode_integer(const value& v, I& out, error_list& errs) {
  using lim = std::numeric_limits<I>;
  if (v.IsInt64()) {  // every integer in [-2^63, 2^63)
    const std::int64_t x = v.GetInt64();
    bool fits;
    if constexpr (std::is_signed_v<I>)
      fits = x >= static_cast<std::int64_t>(lim::min()) && x <= static_cast<std::int64_t>(lim::max());
    else
      fits = x >= 0 && static_cast<std::uint64_t>(x) <= static_cast<std::uint64_t>(lim::max());
    if (fits) {
      out = static_cast<I>(x);
      return true;
    }
  } else if (v.IsUint64()) {  // [2^63, 2^64)
    const std::uint64_t x = v.GetUint64();
    if (x <= static_cast<std::uint64_t>(lim::max())) {
      out = static_cast<I>(x);
      return true;
    }
  } else if (v.IsNumber()) {
    const double d = v.GetDouble();
    if (!(std::trunc(d) == d))  // also rejects NaN and infinities of hand-built DOMs
      return fail(errs, "value is not a valid integer (it has a fractional part)", "int_from_float");
    // [min, 2^digits) is exactly representable as doubles, so the cast below cannot overflow.
    const double lo = static_cast<double>(lim::min());
    const double hi = std::ldexp(1.0, lim::digits);
    if (d >= lo && d < hi) {
      if (d < 0)
        out = static_cast<I>(static_cast<std::int64_t>(d));
      else
        out = static_cast<I>(static_cast<std::uint64_t>(d));
      return true;
    }
  } else {
    return fail(errs, "value is not a valid integer", "int_type");
  }
  std::string msg = "integer out of range [";
  if constexpr (std::is_signed_v<I>)
    msg += std::to_string(static_cast<long long>(lim::min()));
  else
    msg += "0";
  msg += ", ";
  msg += std::to_string(static_cast<unsigned long long>(lim::max()));
  msg += "]";
  return fail(errs, std::move(msg), "int_range");
}

template <class F>
bool decode_floating(const value& v, F& out, error_list& errs) {
  if (!v.IsNumber()) return fail(errs, "value is not a valid number", "float_type");
  const double d = v.GetDouble();
  if constexpr (std::is_same_v<F, float>) {
    // Converting an out-of-range double to float is undefined behaviour.
    if (std::isfinite(d) && std::fabs(d) > static_cast<double>(FLT_MAX))
      return fail(errs, "number out of range for a 32-bit float", "float_range");
  }
  out = static_cast<F>(d);
  return true;
}

template <class T>
bool decode_object(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!v.IsObject()) return fail(errs, "value is not a valid object", "model_type");
  bool ok = true;
  std::apply(
      [&](const auto&... f) {
        // Every field is visited (no short-circuit) so one response lists all problems.
        ((ok &= [&](const auto& fd) {
           auto& member = out.*(fd.member);
           using M = std::remove_reference_t<decltype(member)>;
           auto it = find_member(v, fd.name);
           if (it == v.MemberEnd()) {
             if constexpr (is_optional<M>::value) {
               member.reset();
               return true;
             } else {
               error_list::scope at(errs, fd.name);
               return fail(errs, "field required", "missing");
             }
           }
           error_list::scope at(errs, fd.name);
           return json::decode(it->value, member, ctx, errs);
         }(f)),
         ...);
      },
      fields_of<T>());
  return ok;
}

template <class T>
bool decode_list(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!v.IsArray()) return fail(errs, "value is not a valid list", "list_type");
  using E = typename T::value_type;
  out.clear();
  const std::size_t n = v.Size();
  out.reserve(n < 1024 ? n : 1024);  // the DOM size is attacker-chosen; grow past this as items decode
  bool ok = true;
  for (std::size_t i = 0; i < n && !errs.full(); ++i) {
    error_list::scope at(errs, i);
    if constexpr (std::is_same_v<E, bool>) {  // vector<bool> has no addressable elements
      bool b = false;
      ok &= json::decode(v[static_cast<rapidjson::SizeType>(i)], b, ctx, errs);
      out.push_back(b);
    } else {
      out.emplace_back();
      ok &= json::decode(v[static_cast<rapidjson::SizeType>(i)], out.back(), ctx, errs);
    }
  }
  return ok && out.size() == n;
}

inline bool check_length(const value& v, std::size_t n, error_list& errs, const char* type) {
  if (!v.IsArray())
    return fail(errs, std::string("value is not a valid ") + (type[0] == 'l' ? "list" : "tuple"),
                type);
  if (v.Size() == n) return true;
  std::string msg = "expected " + std::to_string(n) + " items, got " + std::to_string(v.Size());
  return fail(errs, std::move(msg), v.Size() < n ? "too_short" : "too_long");
}

template <class T>
bool decode_array(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!check_length(v, out.size(), errs, "list_type")) return false;
  bool ok = true;
  for (std::size_t i = 0; i < out.size() && !errs.full(); ++i) {
    error_list::scope at(errs, i);
    ok &= json::decode(v[static_cast<rapidjson::SizeType>(i)], out[i], ctx, errs);
  }
  return ok;
}

template <class T, std::size_t... I>
bool decode_tuple(const value& v, T& out, decode_context& ctx, error_list& errs,
                  std::index_sequence<I...>) {
  if (!check_length(v, sizeof...(I), errs, "tuple_type")) return false;
  bool ok = true;
  ((ok &= [&] {
     error_list::scope at(errs, I);
     return json::decode(v[static_cast<rapidjson::SizeType>(I)], std::get<I>(out), ctx, errs);
   }()),
   ...);
  return ok;
}

template <class T>
bool decode_map(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if (!v.IsObject()) return fail(errs, "value is not a valid object", "dict_type");
  out.clear();
  bool ok = true;
  for (auto it = v.MemberBegin(); it != v.MemberEnd() && !errs.full(); ++it) {
    const std::string_view key = key_view(it->name);
    auto slot = out.try_emplace(std::string(key));
    if (!slot.second) continue;  // duplicate key: the first one wins, as for struct fields
    error_list::scope at(errs, key);
    ok &= json::decode(it->value, slot.first->second, ctx, errs);
  }
  return ok;
}

inline bool decode_binary(const value& v, binary& out, const decode_context& ctx, error_list& errs) {
  if (!is_placeholder(v))
    return fail(errs, "value is not a binary attachment placeholder", "binary_type");
  const unsigned num = find_member(v, "num")->value.GetUint();
  if (!ctx.attachments || num >= ctx.attachments->size())
    return fail(errs, "binary attachment " + std::to_string(num) + " was not received",
                "binary_missing");
  out = (*ctx.attachments)[num];
  return true;
}

template <class T>
constexpr bool decodable();
template <class... T>
constexpr bool all_decodable(std::tuple<T...>*) {
  return (decodable<T>() && ...);
}
/// Mirrors the branches of json::decode below (keep them in step).
template <class T>
constexpr bool decodable() {
  if constexpr (has_adapter<T>::value || has_fields<T>::value) return true;
  else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) return true;
  else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, binary> || std::is_same_v<T, raw> ||
                     std::is_same_v<T, const value*>)
    return true;
  else if constexpr (is_optional<T>::value || is_vector<T>::value || is_std_array<T>::value)
    return decodable<typename T::value_type>();
  else if constexpr (is_tuple<T>::value) return all_decodable(static_cast<T*>(nullptr));
  else if constexpr (is_string_map<T>::value)
    return std::is_same_v<typename T::key_type, std::string> && decodable<typename T::mapped_type>();
  else return false;
}

}  // namespace detail

/// Whether `json::decode` has a mapping for T (so callers can give their own diagnostic
/// instead of decode's static_assert).
template <class T>
inline constexpr bool is_decodable_v = detail::decodable<T>();

/// Decodes `v` into `out`. Returns false (and appends to `errs`, located relative to the
/// location `errs` is at) when `v` does not fit. Never throws on bad input (only std::bad_alloc).
template <class T>
bool decode(const value& v, T& out, decode_context& ctx, error_list& errs) {
  if constexpr (detail::has_adapter<T>::value) {
    return adapter<T>::decode(v, out, ctx, errs);
  } else if constexpr (detail::has_fields<T>::value) {
    return detail::decode_object(v, out, ctx, errs);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.IsBool()) return detail::fail(errs, "value is not a valid boolean", "bool_type");
    out = v.GetBool();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    return detail::decode_integer(v, out, errs);
  } else if constexpr (std::is_enum_v<T>) {
    std::underlying_type_t<T> u{};
    if (!detail::decode_integer(v, u, errs)) return false;
    out = static_cast<T>(u);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    return detail::decode_floating(v, out, errs);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.IsString()) return detail::fail(errs, "value is not a valid string", "string_type");
    out.assign(v.GetString(), v.GetStringLength());
    return true;
  } else if constexpr (std::is_same_v<T, binary>) {
    return detail::decode_binary(v, out, ctx, errs);
  } else if constexpr (std::is_same_v<T, raw>) {
    out = raw(v);
    return true;
  } else if constexpr (std::is_same_v<T, const value*>) {
    out = &v;
    return true;
  } else if constexpr (detail::is_optional<T>::value) {
    if (v.IsNull()) {
      out.reset();
      return true;
    }
    out.emplace();
    return json::decode(v, *out, ctx, errs);
  } else if constexpr (detail::is_vector<T>::value) {
    return detail::decode_list(v, out, ctx, errs);
  } else if constexpr (detail::is_std_array<T>::value) {
    return detail::decode_array(v, out, ctx, errs);
  } else if constexpr (detail::is_tuple<T>::value) {
    return detail::decode_tuple(v, out, ctx, errs, std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (detail::is_string_map<T>::value) {
    return detail::decode_map(v, out, ctx, errs);
  } else {
    static_assert(detail::always_false<T>::value,
                  "portico::json: no JSON mapping for this type; declare PORTICO_FIELDS(Type, ...) "
                  "after it or specialise portico::json::adapter<Type>");
    return false;
  }
}

/// Decodes the elements of `arr` from index `first` on into the elements of the tuple `out`
/// (handler arguments: `["event", a, b]` with first = 1). Errors are located by argument index
/// (0 = arr[first]). Unlike a std::tuple value, the length is lenient the way JavaScript calls
/// are: absent trailing arguments decode as nullopt when optional (else "missing"), and extra
/// arguments are ignored.
template <class Tuple>
bool decode_arguments(const value& arr, std::size_t first, Tuple& out, decode_context& ctx,
                      error_list& errs) {
  if (!arr.IsArray()) return detail::fail(errs, "value is not a valid list", "list_type");
  bool ok = true;
  std::apply(
      [&](auto&... elems) {
        [[maybe_unused]] std::size_t i = 0;  // unused for an empty tuple
        ((ok &= [&](auto& elem) {
           using E = std::remove_reference_t<decltype(elem)>;
           error_list::scope at(errs, i);
           const std::size_t pos = first + i++;
           if (pos >= arr.Size()) {
             if constexpr (detail::is_optional<E>::value) {
               elem.reset();
               return true;
             } else {
               return detail::fail(errs, "field required", "missing");
             }
           }
           return json::decode(arr[static_cast<rapidjson::SizeType>(pos)], elem, ctx, errs);
         }(elems)),
         ...);
      },
      out);
  return ok;
}

/// Decoding without binary attachments (a placeholder then fails with "binary_missing").
template <class T>
bool decode(const value& v, T& out, error_list& errs) {
  decode_context ctx;
  return json::decode(v, out, ctx, errs);
}

/// Parses `text` and decodes it: a parse failure is one "json_invalid" error at the root.
template <class T>
bool from_string(std::string_view text, T& out, error_list& errs) {
  document doc;
  parse_error perr;
  if (!parse(text, doc, &perr)) {
    errs.add("invalid JSON at offset " + std::to_string(perr.offset) + ": " + perr.message,
             "json_invalid");
    return false;
  }
  return json::decode(doc, out, errs);
}

}  // namespace portico::json
// ---- end portico/json/decode.hpp ----
// ---- begin portico/json/encode.hpp ----
/// Typed encoding: C++ value -> JSON text, written once, straight into the output string by a
/// rapidjson::Writer (no DOM in between). Binary blobs become placeholders and are collected in
/// the encode context, in order, so the caller can send them as attachments.
///
/// Encodable: everything decode.hpp decodes, plus std::string_view and C strings. Details:
/// non-finite floating point writes null (as JSON.stringify does); an empty std::optional writes
/// null, except as a struct field, where the key is omitted; a null `const json::value*` writes
/// null.

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>


namespace portico::json {

/// JSON text that is already encoded, written as is as one value (no parse, no copy). The text
/// must be one valid JSON value: it is not checked.
struct encoded {
  std::string_view text;
};

template <class T>
void encode(writer& w, const T& x, encode_context& ctx);

namespace detail {

inline void write_string(writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

template <class T>
void encode_object(writer& w, const T& x, encode_context& ctx) {
  w.StartObject();
  std::apply(
      [&](const auto&... f) {
        (
            [&](const auto& fd) {
              const auto& member = x.*(fd.member);
              using M = std::remove_cv_t<std::remove_reference_t<decltype(member)>>;
              if constexpr (is_optional<M>::value) {
                if (!member) return;
              }
              w.Key(fd.name.data(), static_cast<rapidjson::SizeType>(fd.name.size()));
              json::encode(w, member, ctx);
            }(f),
            ...);
      },
      fields_of<T>());
  w.EndObject();
}

template <class T, std::size_t... I>
void encode_tuple(writer& w, const T& x, encode_context& ctx, std::index_sequence<I...>) {
  w.StartArray();
  (json::encode(w, std::get<I>(x), ctx), ...);
  w.EndArray();
}

template <class T>
constexpr bool encodable();
template <class... T>
constexpr bool all_encodable(std::tuple<T...>*) {
  return (encodable<T>() && ...);
}
/// Mirrors the branches of json::encode below (keep them in step).
template <class T>
constexpr bool encodable() {
  if constexpr (has_adapter<T>::value || has_fields<T>::value) return true;
  else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::nullptr_t> ||
                     std::is_same_v<T, encoded>)
    return true;
  else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
                     std::is_same_v<T, const char*> || std::is_same_v<T, char*> || std::is_same_v<T, binary> ||
                     std::is_same_v<T, raw> || std::is_same_v<T, value> || std::is_same_v<T, document> ||
                     std::is_same_v<T, const value*>)
    return true;
  else if constexpr (std::is_array_v<T>) return std::is_same_v<std::remove_extent_t<T>, char>;
  else if constexpr (is_optional<T>::value || is_vector<T>::value || is_std_array<T>::value)
    return encodable<typename T::value_type>();
  else if constexpr (is_tuple<T>::value) return all_encodable(static_cast<T*>(nullptr));
  else if constexpr (is_string_map<T>::value) return encodable<typename T::mapped_type>();
  else return false;
}

}  // namespace detail

/// Whether `json::encode` has a mapping for T (so callers can give their own diagnostic
/// instead of encode's static_assert).
template <class T>
inline constexpr bool is_encodable_v = detail::encodable<T>();

/// Writes `x` as exactly one JSON value. Placeholders for `binary` values are numbered from
/// ctx.attachments.size(), so several arguments can share one context.
template <class T>
void encode(writer& w, const T& x, encode_context& ctx) {
  if constexpr (detail::has_adapter<T>::value) {
    adapter<T>::encode(w, x, ctx);
  } else if constexpr (detail::has_fields<T>::value) {
    detail::encode_object(w, x, ctx);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.Bool(x);
  } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
    w.Null();
  } else if constexpr (std::is_same_v<T, encoded>) {
    w.RawValue(x.text.data(), x.text.size(), rapidjson::kObjectType);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    w.Int64(static_cast<std::int64_t>(x));
  } else if constexpr (std::is_integral_v<T>) {
    w.Uint64(static_cast<std::uint64_t>(x));
  } else if constexpr (std::is_enum_v<T>) {
    json::encode(w, static_cast<std::underlying_type_t<T>>(x), ctx);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isfinite(x))
      w.Double(static_cast<double>(x));
    else
      w.Null();
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
    detail::write_string(w, x);
  } else if constexpr (std::is_same_v<T, const char*> || std::is_same_v<T, char*>) {
    if (x)
      detail::write_string(w, x);
    else
      w.Null();
  } else if constexpr (std::is_array_v<T> && std::is_same_v<std::remove_extent_t<T>, char>) {
    std::size_t n = 0;
    while (n < std::extent_v<T> && x[n] != '\0') ++n;
    detail::write_string(w, std::string_view(x, n));
  } else if constexpr (std::is_same_v<T, binary>) {
    write_placeholder(w, ctx, x.view());
  } else if constexpr (std::is_same_v<T, raw>) {
    x.get().Accept(w);
  } else if constexpr (std::is_same_v<T, value> || std::is_same_v<T, document>) {
    x.Accept(w);
  } else if constexpr (std::is_same_v<T, const value*>) {
    if (x)
      x->Accept(w);
    else
      w.Null();
  } else if constexpr (detail::is_optional<T>::value) {
    if (x)
      json::encode(w, *x, ctx);
    else
      w.Null();
  } else if constexpr (detail::is_vector<T>::value || detail::is_std_array<T>::value) {
    w.StartArray();
    for (const auto& e : x) json::encode(w, static_cast<const typename T::value_type&>(e), ctx);
    w.EndArray();
  } else if constexpr (detail::is_tuple<T>::value) {
    detail::encode_tuple(w, x, ctx, std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (detail::is_string_map<T>::value) {
    w.StartObject();
    for (const auto& kv : x) {
      w.Key(kv.first.data(), static_cast<rapidjson::SizeType>(kv.first.size()));
      json::encode(w, kv.second, ctx);
    }
    w.EndObject();
  } else {
    static_assert(detail::always_false<T>::value,
                  "portico::json: no JSON mapping for this type; declare PORTICO_FIELDS(Type, ...) "
                  "after it or specialise portico::json::adapter<Type>");
  }
}

/// Encoding when the caller does not need the attachments (placeholders are still written).
template <class T>
void encode(writer& w, const T& x) {
  encode_context ctx;
  json::encode(w, x, ctx);
}

/// Appends the JSON text of `x` to `out` (e.g. after a packet header already in `out`).
template <class T>
void encode_to(std::string& out, const T& x, encode_context& ctx) {
  string_sink sink{&out};
  writer w(sink);
  json::encode(w, x, ctx);
  sink.Flush();
}

/// The JSON text of `x`; `binary` values are collected in `ctx`.
template <class T>
std::string to_string(const T& x, encode_context& ctx) {
  std::string out;
  encode_to(out, x, ctx);
  return out;
}

/// The JSON text of `x` (placeholders written for `binary` values, their bytes not kept).
template <class T>
std::string to_string(const T& x) {
  encode_context ctx;
  return to_string(x, ctx);
}

}  // namespace portico::json
// ---- end portico/json/encode.hpp ----
// ---- begin portico/json/error_format.hpp ----
/// The wire format of validation errors: an error_list encodes (and decodes, for clients) as
/// `[{"loc":["items",2,"name"],"msg":"field required","type":"missing"}]`.

#include <cstddef>
#include <string>


namespace portico::json {

PORTICO_FIELDS(error, loc, msg, type)

/// A location step is a JSON string (key) or a non-negative integer (index).
template <>
struct adapter<path_element> {
  static bool decode(const value& v, path_element& out, decode_context&, error_list& errs) {
    if (v.IsString()) {
      out = path_element(std::string(v.GetString(), v.GetStringLength()));
      return true;
    }
    if (v.IsUint64()) {
      out = path_element(static_cast<std::size_t>(v.GetUint64()));
      return true;
    }
    errs.add("value is not a valid location step (string or index)", "value_error");
    return false;
  }
  static void encode(writer& w, const path_element& p, encode_context&) {
    if (p.is_index)
      w.Uint64(p.index);
    else
      w.String(p.key.data(), static_cast<rapidjson::SizeType>(p.key.size()));
  }
};

template <>
struct adapter<error_list> {
  static bool decode(const value& v, error_list& out, decode_context& ctx, error_list& errs) {
    std::vector<error> items;
    if (!json::decode(v, items, ctx, errs)) return false;
    out.clear();
    for (auto& e : items) out.append(std::move(e));
    return true;
  }
  static void encode(writer& w, const error_list& l, encode_context& ctx) {
    json::encode(w, l.errors(), ctx);
  }
};

}  // namespace portico::json
// ---- end portico/json/error_format.hpp ----
// ---- end portico/json/json.hpp ----
// ---- begin portico/engineio/server.hpp ----
/// Engine.IO server: HTTP long-polling and WebSocket transports on websocketpp + standalone Asio.
///
/// Threading (docs/design.md): `threads` workers, each one io_context + one thread + one
/// websocketpp endpoint (lock-free config) listening on the same port with SO_REUSEPORT.
/// A session lives on its *home* worker; all its state is touched only there. Requests and
/// frames that arrive elsewhere are posted home; HTTP responses are posted back to the worker
/// that owns the HTTP connection. When a session upgrades to a WebSocket accepted by another
/// worker, its home moves to that worker so websocket traffic never hops threads.
// ---- begin portico/detail/ascii.hpp ----
/// ASCII case folding for protocol tokens (header names, methods, file extensions): locale-free,
/// unlike std::tolower; protocol text made printable for log lines.

#include <algorithm>
#include <string>
#include <string_view>

namespace portico::detail {

inline char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

/// `s` for a log line: control bytes (a lone LF in a request target could forge a line) as \xNN.
inline std::string printable(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace portico::detail
// ---- end portico/detail/ascii.hpp ----
// ---- begin portico/detail/random.hpp ----
/// Unpredictable bytes and ids for everything a client can present back as a credential
/// (Engine.IO sids, Socket.IO socket ids). The kernel's generator (getrandom(2), else
/// /dev/urandom) is a CSPRNG; bytes are read in blocks into a per-thread buffer so an id costs
/// no syscall. There is deliberately no fallback to a non-cryptographic generator: if the
/// kernel gives nothing, random_bytes throws.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

namespace portico::detail {

namespace random_impl {

/// Fills [p, p+n) from /dev/urandom (kernels without getrandom, non-Linux systems).
inline void urandom_fill(unsigned char* p, std::size_t n) {
  int fd;
  do fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "portico: cannot open /dev/urandom");
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "portico: cannot read /dev/urandom");
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  ::close(fd);
}

/// Fills [p, p+n) from the kernel CSPRNG; throws std::system_error when it cannot.
inline void os_fill(unsigned char* p, std::size_t n) {
#if defined(__linux__) && defined(SYS_getrandom)
  while (n > 0) {
    long r = ::syscall(SYS_getrandom, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSYS) return urandom_fill(p, n);  // kernel older than 3.17
      throw std::system_error(errno, std::generic_category(), "portico: getrandom failed");
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
#else
  urandom_fill(p, n);
#endif
}

/// Per-thread block of kernel randomness. `pid` makes a forked child discard what it inherited,
/// so parent and child never hand out the same bytes.
struct pool {
  static constexpr std::size_t size = 512;
  unsigned char buf[size];
  std::size_t used = size;  // empty
  pid_t pid = 0;
};

}  // namespace random_impl

/// n bytes from the kernel CSPRNG (through the per-thread buffer).
inline void random_bytes(void* out, std::size_t n) {
  thread_local random_impl::pool pl;
  auto* dst = static_cast<unsigned char*>(out);
  pid_t now = ::getpid();
  if (pl.pid != now) {
    pl.used = random_impl::pool::size;
    pl.pid = now;
  }
  while (n > 0) {
    if (pl.used == random_impl::pool::size) {
      random_impl::os_fill(pl.buf, random_impl::pool::size);
      pl.used = 0;
    }
    std::size_t k = random_impl::pool::size - pl.used;
    if (k > n) k = n;
    std::memcpy(dst, pl.buf + pl.used, k);
    std::memset(pl.buf + pl.used, 0, k);  // handed-out bytes do not linger in the buffer
    pl.used += k;
    dst += k;
    n -= k;
  }
}

/// A session / socket id: 15 random bytes (120 bits) as 20 base64url characters, the shape of
/// the reference server's base64id.
inline std::string random_id() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char b[15];
  random_bytes(b, sizeof b);
  std::string s(20, '\0');
  for (int i = 0, o = 0; i < 15; i += 3, o += 4) {
    std::uint32_t v = (std::uint32_t(b[i]) << 16) | (std::uint32_t(b[i + 1]) << 8) | b[i + 2];
    s[o] = alphabet[(v >> 18) & 63];
    s[o + 1] = alphabet[(v >> 12) & 63];
    s[o + 2] = alphabet[(v >> 6) & 63];
    s[o + 3] = alphabet[v & 63];
  }
  return s;
}

}  // namespace portico::detail
// ---- end portico/detail/random.hpp ----
// ---- begin portico/detail/utf8.hpp ----
/// UTF-8 validation and repair. Browsers close a websocket on a text frame that is not UTF-8,
/// so text that reaches a client must be valid; text from clients is repaired the way Node
/// decodes it. Repair writes U+FFFD for each maximal invalid subpart (WHATWG decoder, Node's
/// Buffer.toString), except an encoded UTF-16 surrogate (ED A0..BF xx, what RapidJSON makes of a
/// lone `\udc00` escape), which is one code unit and becomes one U+FFFD, as when a JavaScript
/// string holding a lone surrogate is encoded. Valid text is never copied.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace portico::detail {

/// One step of decoding: `size` bytes consumed; `valid` false means they stand for one U+FFFD.
struct utf8_step {
  std::size_t size;
  bool valid;
};

/// Decodes the sequence at p (p < end).
inline utf8_step utf8_next(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return {1, true};
  std::size_t need;  // continuation bytes
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return {1, false};  // continuation byte, C0/C1, F5..FF
  }
  const std::size_t avail = static_cast<std::size_t>(end - p) - 1;
  if (c == 0xED && avail >= 2 && p[1] >= 0xA0 && p[1] <= 0xBF && (p[2] & 0xC0) == 0x80)
    return {3, false};  // an encoded surrogate: one code unit, one U+FFFD
  if (avail < 1 || p[1] < lo || p[1] > hi) return {1, false};
  for (std::size_t i = 2; i <= need; ++i)
    if (i > avail || (p[i] & 0xC0) != 0x80) return {i, false};
  return {need + 1, true};
}

/// Offset of the first byte of the first invalid sequence, or npos when `s` is valid UTF-8.
inline std::size_t utf8_first_invalid(std::string_view s) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = b;
  const auto* end = b + s.size();
  constexpr std::uint64_t high = 0x8080808080808080ull;
  while (p < end) {
    // ASCII fast path: 16 bytes per step while no byte has its top bit set
    if (end - p >= 16) {
      std::uint64_t w0, w1;
      std::memcpy(&w0, p, 8);
      std::memcpy(&w1, p + 8, 8);
      if (!((w0 | w1) & high)) {
        p += 16;
        continue;
      }
    } else if (end - b >= 16) {
      // the tail: one overlapping look at the last 16 bytes (those before `p` are known valid)
      std::uint64_t w0, w1;
      std::memcpy(&w0, end - 16, 8);
      std::memcpy(&w1, end - 8, 8);
      if (!((w0 | w1) & high)) return std::string_view::npos;
    }
    // then byte by byte up to the end of this block, the common 2- and 3-byte forms inline
    const auto* stop = end - p > 16 ? p + 16 : end;
    while (p < stop) {
      const unsigned char c = *p;
      if (c < 0x80) {
        ++p;
      } else if (c >= 0xC2 && c <= 0xDF && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
        p += 2;
      } else if (c >= 0xE1 && c <= 0xEC && end - p >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
        p += 3;
      } else {
        utf8_step st = utf8_next(p, end);
        if (!st.valid) return static_cast<std::size_t>(p - b);
        p += st.size;
      }
    }
  }
  return std::string_view::npos;
}

inline bool utf8_valid(std::string_view s) noexcept { return utf8_first_invalid(s) == std::string_view::npos; }

/// `s` with each invalid sequence replaced by U+FFFD, appended to `out`.
inline void utf8_repair_to(std::string& out, std::string_view s) {
  static constexpr char replacement[] = "\xEF\xBF\xBD";
  std::size_t bad = utf8_first_invalid(s);
  if (bad == std::string_view::npos) {
    out.append(s);
    return;
  }
  out.reserve(out.size() + s.size() + 8);
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = b + s.size();
  std::size_t i = 0;
  while (bad != std::string_view::npos) {
    out.append(s.data() + i, bad - i);
    utf8_step st = utf8_next(b + bad, end);
    out.append(replacement, 3);
    i = bad + st.size;
    std::size_t next = utf8_first_invalid(s.substr(i));
    bad = next == std::string_view::npos ? next : i + next;
  }
  out.append(s.data() + i, s.size() - i);
}

/// Repairs `s` in place; a valid string is left untouched (no allocation). True if it changed.
inline bool utf8_repair(std::string& s) {
  if (utf8_valid(s)) return false;
  std::string fixed;
  utf8_repair_to(fixed, s);
  s.swap(fixed);
  return true;
}

/// The byte length of the longest prefix of `s` holding at most `max_chars` characters (an
/// invalid sequence counts as the one U+FFFD it stands for), so a cut never splits a character.
inline std::size_t utf8_prefix_chars(std::string_view s, std::size_t max_chars) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = b + s.size();
  std::size_t i = 0;
  for (std::size_t n = 0; n < max_chars && i < s.size(); ++n) i += utf8_next(b + i, end).size;
  return i;
}

}  // namespace portico::detail
// ---- end portico/detail/utf8.hpp ----
// ---- begin portico/engineio/close_reason.hpp ----
/// Why a session closed (server::on_close), with the names the reference server uses.
namespace portico::engineio {

enum class close_reason {
  transport_close,    ///< the client went away (socket closed)
  transport_error,    ///< protocol misuse on the transport (e.g. a second concurrent GET)
  ping_timeout,
  parse_error,        ///< a malformed packet
  server_close,       ///< socket::close()
  client_close,       ///< the client sent a close packet
  payload_too_large,
  forced,             ///< server::stop()
};

inline const char* to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::transport_close: return "transport close";
    case close_reason::transport_error: return "transport error";
    case close_reason::ping_timeout: return "ping timeout";
    case close_reason::parse_error: return "parse error";
    case close_reason::server_close: return "server close";
    case close_reason::client_close: return "client close";
    case close_reason::payload_too_large: return "payload too large";
    case close_reason::forced: return "forced close";
  }
  return "?";
}

}  // namespace portico::engineio
// ---- end portico/engineio/close_reason.hpp ----
// ---- begin portico/engineio/codec.hpp ----
/// Engine.IO packet and payload codec (protocol v4, and v3 for old clients).
///
/// Pure: no I/O, no threads, no exceptions. Decoders return an `errc`; the
/// server turns any error into "close this client" plus one log line.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::engineio {

enum class packet_type : std::uint8_t { open = 0, close = 1, ping = 2, pong = 3, message = 4, upgrade = 5, noop = 6 };

inline const char* to_string(packet_type t) noexcept {
  switch (t) {
    case packet_type::open: return "open";
    case packet_type::close: return "close";
    case packet_type::ping: return "ping";
    case packet_type::pong: return "pong";
    case packet_type::message: return "message";
    case packet_type::upgrade: return "upgrade";
    case packet_type::noop: return "noop";
  }
  return "?";
}

/// Why a frame or payload could not be decoded.
enum class errc {
  ok = 0,
  empty_packet,          ///< a packet without even a type
  unknown_packet_type,   ///< type outside '0'..'6'
  invalid_base64,        ///< a `b` packet whose data is not base64
  empty_payload,         ///< a polling body with no packet at all
  invalid_length,        ///< v3: missing, non-numeric or oversized length prefix
  truncated_payload,     ///< v3: the length runs past the end of the body
  invalid_utf8,          ///< v3: a length that splits a character
};

inline const char* describe(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::empty_packet: return "empty packet";
    case errc::unknown_packet_type: return "unknown packet type";
    case errc::invalid_base64: return "invalid base64 in binary packet";
    case errc::empty_payload: return "empty payload";
    case errc::invalid_length: return "invalid packet length in payload";
    case errc::truncated_payload: return "payload shorter than its packet lengths";
    case errc::invalid_utf8: return "packet length splits a UTF-8 character";
  }
  return "unknown error";
}

/// A decoded packet that points into the buffer it was decoded from.
struct packet_view {
  packet_type type = packet_type::noop;
  bool binary = false;
  std::string_view data;
};

/// A decoded packet that owns its data (payload decoding has to un-base64).
struct packet {
  packet_type type = packet_type::noop;
  bool binary = false;
  std::string data;
  bool operator==(const packet& o) const { return type == o.type && binary == o.binary && data == o.data; }
};

// ---------------------------------------------------------------------------
// base64 (RFC 4648, standard alphabet, padded on output, padding optional on input)

namespace detail {
inline constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline int b64_value(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace detail

inline std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

inline void base64_encode_to(std::string& out, std::string_view in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t n = in.size(), i = 0;
  std::size_t at = out.size();
  out.resize(at + base64_encoded_size(n));
  char* o = &out[at];
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8) | p[i + 2];
    *o++ = detail::b64_alphabet[(v >> 18) & 63];
    *o++ = detail::b64_alphabet[(v >> 12) & 63];
    *o++ = detail::b64_alphabet[(v >> 6) & 63];
    *o++ = detail::b64_alphabet[v & 63];
  }
  if (n - i == 1) {
    std::uint32_t v = std::uint32_t(p[i]) << 16;
    *o++ = detail::b64_alphabet[(v >> 18) & 63];
    *o++ = detail::b64_alphabet[(v >> 12) & 63];
    *o++ = '=';
    *o++ = '=';
  } else if (n - i == 2) {
    std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8);
    *o++ = detail::b64_alphabet[(v >> 18) & 63];
    *o++ = detail::b64_alphabet[(v >> 12) & 63];
    *o++ = detail::b64_alphabet[(v >> 6) & 63];
    *o++ = '=';
  }
}

inline std::string base64_encode(std::string_view in) {
  std::string s;
  base64_encode_to(s, in);
  return s;
}

/// Appends the decoded bytes to `out`; false (and `out` unchanged) on bad input.
inline bool base64_decode_to(std::string& out, std::string_view in) {
  std::size_t n = in.size();
  std::size_t pad = 0;
  while (n > 0 && pad < 2 && in[n - 1] == '=') { --n; ++pad; }
  if (pad && (n + pad) % 4 != 0) return false;  // padding only completes a quantum
  if (n % 4 == 1) return false;
  const std::size_t at = out.size();
  out.reserve(at + n / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int v = detail::b64_value(static_cast<unsigned char>(in[i]));
    if (v < 0) { out.resize(at); return false; }
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero for a canonical encoding; we stay lenient like browsers.
  return true;
}

// ---------------------------------------------------------------------------
// single packets (websocket frames)

inline char type_char(packet_type t) noexcept { return static_cast<char>('0' + static_cast<int>(t)); }

/// Decodes one text packet ("4hello", "2probe", "6"). `out.data` views into `frame`.
inline errc decode(std::string_view frame, packet_view& out) noexcept {
  if (frame.empty()) return errc::empty_packet;
  unsigned char c = static_cast<unsigned char>(frame[0]);
  if (c < '0' || c > '6') return errc::unknown_packet_type;
  out.type = static_cast<packet_type>(c - '0');
  out.binary = false;
  out.data = frame.substr(1);
  return errc::ok;
}

/// v3 binary websocket frame: the first byte is the packet type as a number (4), then the bytes.
/// v4 binary frames carry no type byte: they are always whole messages.
inline errc decode_binary_v3(std::string_view frame, packet_view& out) noexcept {
  if (frame.empty()) return errc::empty_packet;
  unsigned char c = static_cast<unsigned char>(frame[0]);
  if (c > 6) return errc::unknown_packet_type;
  out.type = static_cast<packet_type>(c);
  out.binary = true;
  out.data = frame.substr(1);
  return errc::ok;
}

inline void encode_to(std::string& out, packet_type t, std::string_view data = {}) {
  out.reserve(out.size() + 1 + data.size());
  out.push_back(type_char(t));
  out.append(data);
}

/// The text frame of one packet: type digit then data.
inline std::string encode(packet_type t, std::string_view data = {}) {
  std::string s;
  encode_to(s, t, data);
  return s;
}

/// v3 binary websocket frame: type byte then raw bytes.
inline std::string encode_binary_v3(std::string_view bytes, packet_type t = packet_type::message) {
  std::string s;
  s.reserve(bytes.size() + 1);
  s.push_back(static_cast<char>(t));
  s.append(bytes);
  return s;
}

// ---------------------------------------------------------------------------
// open packet

struct open_info {
  std::string_view sid;
  std::vector<std::string_view> upgrades;
  long long ping_interval = 25000;
  long long ping_timeout = 20000;
  long long max_payload = 1000000;
};

namespace detail {
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') { out.push_back('\\'); out.push_back(ch); }
    else if (c < 0x20) { out += "\\u00"; out.push_back(hex[c >> 4]); out.push_back(hex[c & 15]); }
    else out.push_back(ch);
  }
  out.push_back('"');
}
}  // namespace detail

/// The JSON body of the open packet (without the leading '0').
inline std::string open_json(const open_info& o) {
  std::string s;
  s.reserve(128);
  s += "{\"sid\":";
  detail::append_json_string(s, o.sid);
  s += ",\"upgrades\":[";
  for (std::size_t i = 0; i < o.upgrades.size(); ++i) {
    if (i) s.push_back(',');
    detail::append_json_string(s, o.upgrades[i]);
  }
  s += "],\"pingInterval\":" + std::to_string(o.ping_interval);
  s += ",\"pingTimeout\":" + std::to_string(o.ping_timeout);
  s += ",\"maxPayload\":" + std::to_string(o.max_payload);
  s.push_back('}');
  return s;
}

/// The open packet as a text frame: `0{"sid":...}`.
inline std::string encode_open(const open_info& o) { return encode(packet_type::open, open_json(o)); }

// ---------------------------------------------------------------------------
// polling payloads, v4: packets joined by the record separator, binary as `b<base64>`

inline constexpr char record_separator = '\x1e';

/// Appends one packet to a v4 payload under construction.
inline void append_payload_packet(std::string& body, packet_type t, std::string_view data, bool binary = false) {
  if (!body.empty()) body.push_back(record_separator);
  if (binary) {
    body.push_back('b');
    base64_encode_to(body, data);
  } else {
    encode_to(body, t, data);
  }
}

/// Decodes a v4 polling payload into owned packets. On error `out` holds the packets before the bad one.
inline errc decode_payload(std::string_view body, std::vector<packet>& out) {
  if (body.empty()) return errc::empty_payload;
  std::size_t pos = 0;
  for (;;) {
    std::size_t end = body.find(record_separator, pos);
    std::string_view part = body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    packet p;
    if (!part.empty() && part[0] == 'b') {
      p.type = packet_type::message;
      p.binary = true;
      if (!base64_decode_to(p.data, part.substr(1))) return errc::invalid_base64;
    } else {
      packet_view v;
      if (errc e = decode(part, v); e != errc::ok) return e;
      p.type = v.type;
      p.data.assign(v.data.data(), v.data.size());
    }
    out.push_back(std::move(p));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return errc::ok;
}

// ---------------------------------------------------------------------------
// polling payloads, v3 text: `<length>:<packet>` where length counts UTF-16 code units
// (JavaScript string length), binary as `<length>:b<type><base64>`

/// Number of UTF-16 code units of a UTF-8 string: characters above U+FFFF count twice. Invalid
/// bytes count as the U+FFFD they are repaired to (portico/detail/utf8.hpp), so the encoder and
/// the decoder (utf8_prefix_bytes) agree on any input, and with a JavaScript peer, which counts
/// after decoding.
inline std::size_t utf16_length(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t n = 0;
  while (p < end) {
    if (*p < 0x80) {
      ++n;
      ++p;
      continue;
    }
    portico::detail::utf8_step st = portico::detail::utf8_next(p, end);
    n += st.valid && st.size == 4 ? 2 : 1;
    p += st.size;
  }
  return n;
}

namespace detail {
/// Byte length of the prefix of `s` spanning `units` UTF-16 code units (counted as by
/// utf16_length), npos if it runs past the end, npos - 1 if it ends inside a surrogate pair.
inline std::size_t utf8_prefix_bytes(std::string_view s, std::size_t units) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = b + s.size();
  std::size_t i = 0;
  while (units > 0) {
    if (i >= s.size()) return std::string_view::npos;
    portico::detail::utf8_step st = portico::detail::utf8_next(b + i, end);
    std::size_t u = st.valid && st.size == 4 ? 2 : 1;
    if (u > units) return std::string_view::npos - 1;  // would split a surrogate pair
    units -= u;
    i += st.size;
  }
  return i;
}
}  // namespace detail

inline void append_payload_packet_v3(std::string& body, packet_type t, std::string_view data, bool binary = false) {
  if (binary) {
    body += std::to_string(2 + base64_encoded_size(data.size()));
    body.push_back(':');
    body.push_back('b');
    body.push_back(type_char(t));
    base64_encode_to(body, data);
  } else {
    body += std::to_string(1 + utf16_length(data));
    body.push_back(':');
    encode_to(body, t, data);
  }
}

/// v3 base64 binary as one text packet, `b<type><base64>`: what a v3 client that asked for `b64`
/// sends and expects, in polling payloads and also as websocket text frames.
inline std::string encode_base64_v3(std::string_view bytes, packet_type t = packet_type::message) {
  std::string out;
  out.reserve(2 + base64_encoded_size(bytes.size()));
  out.push_back('b');
  out.push_back(type_char(t));
  base64_encode_to(out, bytes);
  return out;
}

/// Decodes a `b<type><base64>` text packet into binary `out`.
inline errc decode_base64_v3(std::string_view text, packet& out) {
  if (text.size() < 2 || text[0] != 'b') return errc::empty_packet;
  packet_view v;
  if (errc e = decode(text.substr(1, 1), v); e != errc::ok) return e;
  out.type = v.type;
  out.binary = true;
  out.data.clear();
  if (!base64_decode_to(out.data, text.substr(2))) return errc::invalid_base64;
  return errc::ok;
}

inline errc decode_payload_v3(std::string_view body, std::vector<packet>& out) {
  if (body.empty()) return errc::empty_payload;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t units = 0, digits = 0;
    while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') {
      if (++digits > 9) return errc::invalid_length;
      units = units * 10 + std::size_t(body[pos] - '0');
      ++pos;
    }
    if (digits == 0 || pos >= body.size() || body[pos] != ':') return errc::invalid_length;
    ++pos;
    std::string_view rest = body.substr(pos);
    std::size_t bytes = detail::utf8_prefix_bytes(rest, units);
    if (bytes == std::string_view::npos) return errc::truncated_payload;
    if (bytes == std::string_view::npos - 1) return errc::invalid_utf8;
    std::string_view part = rest.substr(0, bytes);
    pos += bytes;
    packet p;
    if (!part.empty() && part[0] == 'b') {
      if (part.size() < 2) return errc::empty_packet;
      packet_view v;
      if (errc e = decode(part.substr(1, 1), v); e != errc::ok) return e;
      p.type = v.type;
      p.binary = true;
      if (!base64_decode_to(p.data, part.substr(2))) return errc::invalid_base64;
    } else {
      packet_view v;
      if (errc e = decode(part, v); e != errc::ok) return e;
      p.type = v.type;
      p.data.assign(v.data.data(), v.data.size());
    }
    out.push_back(std::move(p));
  }
  return errc::ok;
}

// ---------------------------------------------------------------------------
// polling payloads, v3 binary (XHR2): per packet `<0|1><length digits as bytes 0-9><0xFF><packet>`
// where a string packet (0) is `<type char><utf-8 text>` and a binary one (1) is `<type byte><bytes>`;
// lengths count bytes, type included.

inline void append_binary_payload_packet_v3(std::string& body, packet_type t, std::string_view data, bool binary) {
  body.push_back(binary ? '\x01' : '\x00');
  for (char d : std::to_string(data.size() + 1)) body.push_back(static_cast<char>(d - '0'));
  body.push_back('\xff');
  body.push_back(binary ? static_cast<char>(t) : type_char(t));
  body.append(data);
}

inline errc decode_binary_payload_v3(std::string_view body, std::vector<packet>& out) {
  if (body.empty()) return errc::empty_payload;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto kind = static_cast<unsigned char>(body[pos++]);
    if (kind > 1) return errc::invalid_length;
    std::size_t len = 0, digits = 0;
    while (pos < body.size() && static_cast<unsigned char>(body[pos]) != 0xFF) {
      auto d = static_cast<unsigned char>(body[pos]);
      if (d > 9 || ++digits > 9) return errc::invalid_length;
      len = len * 10 + d;
      ++pos;
    }
    if (digits == 0 || pos >= body.size()) return errc::invalid_length;
    ++pos;  // 0xFF
    if (len > body.size() - pos) return errc::truncated_payload;
    std::string_view part = body.substr(pos, len);
    pos += len;
    packet_view v;
    if (kind == 1) {
      if (errc e = decode_binary_v3(part, v); e != errc::ok) return e;
    } else {
      if (errc e = decode(part, v); e != errc::ok) return e;
    }
    out.push_back(packet{v.type, v.binary, std::string(v.data)});
  }
  return errc::ok;
}

}  // namespace portico::engineio
// ---- end portico/engineio/codec.hpp ----
// ---- begin portico/engineio/cors.hpp ----
/// CORS on the engine path: which origins may use the server, the headers that say so, and the
/// answer to a preflight.
// ---- begin portico/engineio/detail/ws_config.hpp ----
/// The websocketpp configuration of one worker: lock-free (each endpoint lives on one thread),
/// logging compiled out, a 1 KB read buffer instead of websocketpp's 16 KB default, strict request
/// framing and reason phrases (http_message.hpp).
#if defined(ASIO_NO_DEPRECATED)
#error "websocketpp 0.8.2 uses asio::io_service: build portico without ASIO_NO_DEPRECATED"
#endif

// ---- begin portico/engineio/detail/http_message.hpp ----
/// The HTTP request and response types of the websocketpp configuration: websocketpp's parser
/// plus the framing checks it leaves out, and status lines that always carry a reason phrase.
/// Being the parser, they cover every request on the port (Engine.IO, HTTP routes, plain
/// WebSocket routes) before any handler runs.
// ---- begin portico/detail/http_status.hpp ----
/// Reason phrases of HTTP status codes (RFC 9110 and the IANA registry): every status line portico
/// writes carries one, including those websocketpp writes itself (it sends parse errors with an
/// empty phrase and does not know 422).

namespace portico::detail {

inline const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
  }
  // An unregistered code still gets a phrase: that of its class.
  switch (status / 100) {
    case 1: return "Informational";
    case 2: return "Success";
    case 3: return "Redirection";
    case 4: return "Client Error";
    case 5: return "Server Error";
  }
  return "Unknown";
}

}  // namespace portico::detail
// ---- end portico/detail/http_status.hpp ----

#include <websocketpp/http/request.hpp>
#include <websocketpp/http/response.hpp>

#include <cstddef>
#include <string>
#include <utility>

namespace portico::engineio::detail {

/// A request whose framing is unambiguous, or a refusal: websocketpp answers the thrown
/// http::exception (status and reason phrase) and reads no further, like nginx does.
///   - HTTP/1.x only: another version is 505, a malformed one 400 (websocketpp takes anything);
///   - Content-Length is one decimal number: repeated headers (websocketpp joins them into
///     "5, 7" and reads the first) or anything else is 400;
///   - Transfer-Encoding is not decoded by websocketpp (the body would be read as empty, the
///     chunks left on the wire): with Content-Length 400 (RFC 9112 6.3), alone 411.
class checked_request : public websocketpp::http::parser::request {
 public:
  using base = websocketpp::http::parser::request;

  std::size_t consume(const char* buf, std::size_t len) {
    try {
      std::size_t n = base::consume(buf, len);
      // The head is complete once the body is awaited or the request is ready: check it before
      // waiting for a body whose length is in question.
      if (!checked_ && (ready() || m_body_bytes_needed > 0)) {
        checked_ = true;
        check_framing();
      }
      return n;
    } catch (const websocketpp::http::exception& e) {
      if (refusal_.empty()) refusal_ = e.what();
      throw;
    }
  }

  /// Why the parser refused the request (empty if it did not), for the log line.
  const std::string& refusal() const { return refusal_; }

  /// The peer's address, noted when the connection is accepted: a refusal is logged after
  /// websocketpp shut the socket down, when the socket can no longer tell.
  void note_peer(std::string address) const { peer_ = std::move(address); }
  const std::string& peer() const { return peer_; }

 private:
  [[noreturn]] void refuse(websocketpp::http::status_code::value status, std::string why) {
    refusal_ = std::move(why);
    throw websocketpp::http::exception(refusal_, status, portico::detail::reason_phrase(status));
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  void check_framing() {
    using sc = websocketpp::http::status_code::value;
    const std::string& v = get_version();
    if (v.size() != 8 || v.compare(0, 5, "HTTP/") != 0 || !digit(v[5]) || v[6] != '.' || !digit(v[7]))
      refuse(sc::bad_request, "malformed HTTP version");
    if (v[5] != '1') refuse(sc::http_version_not_supported, v + " not supported");

    auto cl = m_headers.find("Content-Length");
    bool has_te = m_headers.find("Transfer-Encoding") != m_headers.end();
    if (cl != m_headers.end()) {
      if (has_te) refuse(sc::bad_request, "both Content-Length and Transfer-Encoding");
      const std::string& n = cl->second;
      if (n.find(',') != std::string::npos) refuse(sc::bad_request, "conflicting Content-Length headers");
      if (n.empty() || n.size() > 18) refuse(sc::bad_request, "invalid Content-Length");
      for (char c : n)
        if (!digit(c)) refuse(sc::bad_request, "invalid Content-Length");
    } else if (has_te) {
      refuse(sc::length_required, "Transfer-Encoding is not supported");
    }
  }

  std::string refusal_;
  mutable std::string peer_;  // websocketpp hands out the request as const only
  bool checked_ = false;
};

/// A response whose status line always has its standard reason phrase (websocketpp writes an
/// empty one for its parse errors, "Unknown" for codes it does not list). Every answer but a 101
/// ends its connection (websocketpp serves one request per connection), which it says, also on
/// the refusals websocketpp writes by itself.
class phrased_response : public websocketpp::http::parser::response {
 public:
  using base = websocketpp::http::parser::response;

  void set_status(websocketpp::http::status_code::value code) { set_status(code, std::string()); }
  void set_status(websocketpp::http::status_code::value code, const std::string& msg) {
    base::set_status(code, msg.empty() ? std::string(portico::detail::reason_phrase(code)) : msg);
    if (code != websocketpp::http::status_code::switching_protocols) replace_header("Connection", "close");
  }
};

}  // namespace portico::engineio::detail
// ---- end portico/engineio/detail/http_message.hpp ----

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/logger/stub.hpp>
#include <websocketpp/server.hpp>

namespace portico::engineio::detail {

struct ws_config : websocketpp::config::asio {
  using type = ws_config;
  using base = websocketpp::config::asio;

  using concurrency_type = websocketpp::concurrency::none;
  using request_type = checked_request;   ///< framing checks before any handler
  using response_type = phrased_response;  ///< status lines with reason phrases
  using message_type = base::message_type;
  using con_msg_manager_type = base::con_msg_manager_type;
  using endpoint_msg_manager_type = base::endpoint_msg_manager_type;
  using alog_type = websocketpp::log::stub;
  using elog_type = websocketpp::log::stub;
  using rng_type = base::rng_type;

  struct transport_config : base::transport_config {
    using concurrency_type = type::concurrency_type;
    using alog_type = type::alog_type;
    using elog_type = type::elog_type;
    using request_type = type::request_type;
    using response_type = type::response_type;
    using socket_type = websocketpp::transport::asio::basic_socket::endpoint;
    static const bool enable_multithreading = false;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;

  static const bool enable_multithreading = false;
  /// The buffer is part of every connection object, idle or not: 1 KB holds a typical
  /// handshake and a burst of small frames; longer requests and frames just take more reads
  /// (websocketpp copies frames into the message anyway). 4 KB cost 3 KB more per connection.
  static const std::size_t connection_read_buffer_size = 1024;
};

using ws_endpoint = websocketpp::server<ws_config>;
using ws_connection_ptr = ws_endpoint::connection_ptr;
using ws_message_ptr = ws_config::message_type::ptr;

/// A server-to-client frame (unmasked, hybi13) built once; websocketpp sends prepared
/// messages as they are, so one can be queued on many connections without re-framing.
inline ws_message_ptr prepared_frame(websocketpp::frame::opcode::value op, std::string payload) {
  auto m = std::make_shared<ws_config::message_type>(ws_config::con_msg_manager_type::ptr(), op, 0);
  websocketpp::frame::basic_header h(op, payload.size(), true, false);
  websocketpp::frame::extended_header e(payload.size());
  m->set_header(websocketpp::frame::prepare_header(h, e));
  m->get_raw_payload() = std::move(payload);
  m->set_prepared(true);
  return m;
}

}  // namespace portico::engineio::detail

// The separately compiled mode declares websocketpp's instantiations for ws_config extern.
// ---- begin portico/engineio/detail/ws_instances.hpp ----
/// websocketpp's class templates for the Engine.IO transport config (ws_config.hpp), declared
/// `extern template` in the separately compiled mode: a TU then parses them but generates none of
/// their (out-of-line, non-inline) member functions; <portico/impl/src.hpp> instantiates them once
/// (PORTICO_WS_INSTANCES(template) there). Header-only (the default): nothing here.
// ---- begin portico/config.hpp ----
/// Build-mode switches shared by every layer.
///
/// portico is header-only by default. Defining `PORTICO_SEPARATE_COMPILATION` project-wide (for
/// every TU that includes portico) switches to the separately compiled mode, in the spirit of
/// Asio's `ASIO_SEPARATE_COMPILATION`: the heavy fixed parts (websocketpp's endpoint, connection
/// and processors for portico's transport config, and the non-template Socket.IO server code)
/// are then compiled once, in the one TU of the program that includes <portico/impl/src.hpp>,
/// instead of in every TU (docs/compile-time.md).
///
/// `PORTICO_DECL` marks a function whose definition lives in an `impl/*.ipp` file: `inline` in
/// the header-only mode (the .ipp is included by its header), nothing in the separate mode (the
/// .ipp is compiled once by <portico/impl/src.hpp>).
#define PORTICO_CONFIG_INCLUDED 1

#if defined(PORTICO_SEPARATE_COMPILATION) && defined(PORTICO_SINGLE_HEADER)
#error "PORTICO_SEPARATE_COMPILATION needs include/ (<portico/impl/src.hpp>), not the single header"
#endif

#if defined(PORTICO_SEPARATE_COMPILATION)
#define PORTICO_HEADER_ONLY 0
#define PORTICO_DECL
#else
#define PORTICO_HEADER_ONLY 1
#define PORTICO_DECL inline
#endif

/// Whether this TU compiles the `impl/*.ipp` definitions: every TU in the header-only mode, only
/// the one that includes <portico/impl/src.hpp> (which defines PORTICO_SOURCE first) otherwise.
/// Each header includes its .ipp unconditionally and the .ipp tests this, so that the single
/// header (scripts/amalgamate) can paste it.
#if PORTICO_HEADER_ONLY || defined(PORTICO_SOURCE)
#define PORTICO_COMPILE_IMPL 1
#else
#define PORTICO_COMPILE_IMPL 0
#endif
// ---- end portico/config.hpp ----

/// One list for both sides: `extern template` (declaration) and `template` (definition).
#define PORTICO_WS_INSTANCES(kw)                                                                  \
  kw class websocketpp::transport::asio::endpoint<portico::engineio::detail::ws_config::transport_config>;   \
  kw class websocketpp::transport::asio::connection<portico::engineio::detail::ws_config::transport_config>; \
  kw class websocketpp::endpoint<websocketpp::connection<portico::engineio::detail::ws_config>,             \
                                 portico::engineio::detail::ws_config>;                                     \
  kw class websocketpp::server<portico::engineio::detail::ws_config>;                                       \
  kw class websocketpp::connection<portico::engineio::detail::ws_config>;                                   \
  kw class websocketpp::processor::processor<portico::engineio::detail::ws_config>;                         \
  kw class websocketpp::processor::hybi00<portico::engineio::detail::ws_config>;                            \
  kw class websocketpp::processor::hybi13<portico::engineio::detail::ws_config>;                            \
  kw class websocketpp::processor::hybi08<portico::engineio::detail::ws_config>;                            \
  kw class websocketpp::processor::hybi07<portico::engineio::detail::ws_config>;

#if !PORTICO_HEADER_ONLY && !defined(PORTICO_SOURCE)
PORTICO_WS_INSTANCES(extern template)
#endif
// ---- end portico/engineio/detail/ws_instances.hpp ----
// ---- end portico/engineio/detail/ws_config.hpp ----
// ---- begin portico/engineio/options.hpp ----
/// What an Engine.IO server is configured with: paths, transports, heartbeat, limits, CORS, threads.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::engineio {

struct cors_options {
  /// Empty: no CORS headers and no origin check. {"*"}: any origin.
  std::vector<std::string> allowed_origins;
  /// Optional predicate; when set it decides instead of the list.
  std::function<bool(std::string_view origin)> allow;
  bool credentials = false;
  bool enabled() const { return !allowed_origins.empty() || static_cast<bool>(allow); }
};

struct server_options {
  std::string path = "/engine.io/";
  bool polling = true, websocket = true, allow_upgrades = true;
  std::chrono::milliseconds ping_interval{25000}, ping_timeout{20000};
  std::size_t max_payload = 1000000;
  /// Bytes queued for one client and not yet written (websocket: websocketpp's send queue;
  /// polling: packets awaiting a GET). A client that does not read would otherwise grow the
  /// server without bound: past it a droppable (volatile) frame is dropped for that client, and
  /// anything else closes the session (transport error, "send buffer full"). 0: no limit.
  std::size_t max_buffered_bytes = 4 * 1024 * 1024;
  bool allow_eio3 = false;
  cors_options cors;
  /// Count sessions, packets, bytes and errors per worker (docs/metrics.md). Off: each counting
  /// site is one null-pointer test.
  bool metrics = false;
  unsigned threads = 0;  ///< 0 = std::thread::hardware_concurrency()
  /// How long stop() lets close frames and pending responses drain before cutting connections.
  std::chrono::milliseconds stop_grace{1000};
  /// listen() serves through a net::host the server owns (HTTP/1.1 keep-alive, no SO_REUSEPORT:
  /// a port in use throws) instead of websocketpp's own endpoint. The on_http / on_websocket hooks
  /// (websocketpp connections) are not called then: mount handler() on your own host with a
  /// fallback handler instead. Off by default while the endpoint path is retired.
  bool use_host = false;
  /// Per-connection read buffer. websocketpp fixes it at compile time (detail::ws_config),
  /// so it is a constant here: 1 KB instead of websocketpp's 16 KB default.
  static constexpr std::size_t read_buffer_size = detail::ws_config::connection_read_buffer_size;
};

}  // namespace portico::engineio
// ---- end portico/engineio/options.hpp ----

#include <algorithm>
#include <string>
#include <string_view>

namespace portico::engineio::detail {

inline bool origin_allowed(const cors_options& cors, std::string_view origin) {
  if (cors.allow) return cors.allow(origin);
  for (auto& o : cors.allowed_origins)
    if (o == "*" || o == origin) return true;
  return false;
}

/// The CORS header fields for a request from `origin`, through `set(name, value)`; false if the
/// origin is refused.
template <class Set>
bool cors_fields(const cors_options& cors, std::string_view origin, Set&& set) {
  if (!cors.enabled()) return true;
  if (origin.empty()) return true;  // not a cross-origin browser request
  if (!origin_allowed(cors, origin)) return false;
  bool star = !cors.allow && !cors.credentials &&
              std::find(cors.allowed_origins.begin(), cors.allowed_origins.end(), "*") != cors.allowed_origins.end();
  set("Access-Control-Allow-Origin", star ? std::string_view("*") : origin);
  if (!star) set("Vary", "Origin");
  if (cors.credentials) set("Access-Control-Allow-Credentials", "true");
  return true;
}

/// CORS headers for an allowed origin; false if the origin is refused.
inline bool apply_cors(const cors_options& cors, const ws_connection_ptr& con) {
  return cors_fields(cors, con->get_request_header("Origin"), [&](std::string_view n, std::string_view v) {
    if (n == "Vary") con->append_header(std::string(n), std::string(v));
    else con->replace_header(std::string(n), std::string(v));
  });
}

/// Answers a CORS preflight (OPTIONS); false, with nothing set, if the origin is refused.
inline bool answer_preflight(const cors_options& cors, const ws_connection_ptr& con) {
  if (!apply_cors(cors, con)) return false;
  con->replace_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
  const std::string& rh = con->get_request_header("Access-Control-Request-Headers");
  if (!rh.empty()) con->replace_header("Access-Control-Allow-Headers", rh);
  con->set_status(websocketpp::http::status_code::no_content);
  return true;
}

}  // namespace portico::engineio::detail
// ---- end portico/engineio/cors.hpp ----
// ---- begin portico/net/host.hpp ----
/// The host: owns the I/O threads (one io_context each), the listening sockets (IPv4 and IPv6,
/// several at once) and the accepted connections, and serves mounted handlers by path prefix on
/// every one of them. Binding an address in use is an error (SO_REUSEADDR for TIME_WAIT only,
/// never SO_REUSEPORT: a second process cannot silently share the port).
///
///     net::host h;
///     h.mount("/socket.io/", engine);           // longest prefix wins; nothing matches -> 404
///     auto port = h.listen("127.0.0.1", 0);
///     h.listen("::1", port);
///     h.start();
///     ...
///     h.stop();                                   // graceful, bounded by stop_timeout

#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>

#include <algorithm>
#include <functional>
#include <future>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

// ---- begin portico/net/connection.hpp ----
/// One accepted TCP connection: HTTP/1.1 (keep-alive, ordered pipelining, limits, deadlines) and,
/// after an upgrade, a WebSocket whose protocol websocketpp runs (iostream transport) while the
/// host keeps the socket. Lives on one I/O thread; answers and sends from other threads are posted
/// to it.
///
/// Reading: wait for readiness, then drain the socket into the worker's shared buffer until
/// EAGAIN (Asio's epoll is edge-triggered: waiting before draining would lose the edge). Writing:
/// everything produced in one read batch (answers, frames) is queued and written with one gathered
/// async_write; further output queues behind it (one write in flight, appends coalesced).

#include <asio/post.hpp>
#include <asio/write.hpp>
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

// ---- begin portico/net/deadline_wheel.hpp ----
/// A coarse timing wheel: one per I/O thread, one Asio timer for all of that thread's
/// connections. A connection is an intrusive entry (two pointers and a tick count, no
/// allocation to arm or disarm), so an idle connection costs no timer object of its own.
/// Not thread-safe: every entry belongs to the wheel's thread.

#include <chrono>
#include <cstdint>
#include <vector>

namespace portico::net {

namespace detail {
/// A node of a circular doubly linked list; a lone node has null links.
struct wheel_link {
  wheel_link* prev = nullptr;
  wheel_link* next = nullptr;
  void unlink() noexcept {
    if (!next) return;
    prev->next = next;
    next->prev = prev;
    prev = next = nullptr;
  }
  void link_before(wheel_link& head) noexcept {
    next = &head;
    prev = head.prev;
    head.prev->next = this;
    head.prev = this;
  }
};
}  // namespace detail

/// Something with at most one deadline. Destroying an armed entry disarms it.
class deadline_entry : private detail::wheel_link {
 public:
  deadline_entry() = default;
  deadline_entry(const deadline_entry&) = delete;
  deadline_entry& operator=(const deadline_entry&) = delete;
  virtual ~deadline_entry() { unlink(); }

  bool armed() const noexcept { return next != nullptr; }

 protected:
  /// Called on the wheel's thread once the deadline has passed (the entry is disarmed first).
  virtual void on_deadline() = 0;

 private:
  friend class deadline_wheel;
  std::uint64_t due_ = 0;
};

class deadline_wheel {
 public:
  /// `tick`: the resolution; `slots`: buckets (a deadline further out than slots * tick goes
  /// round the wheel again).
  explicit deadline_wheel(std::chrono::milliseconds tick, std::size_t slots = 64)
      : tick_(tick.count() > 0 ? tick : std::chrono::milliseconds(1)), heads_(slots ? slots : 1) {
    for (auto& h : heads_) h.next = h.prev = &h;
  }
  deadline_wheel(const deadline_wheel&) = delete;
  deadline_wheel& operator=(const deadline_wheel&) = delete;
  ~deadline_wheel() {
    for (auto& h : heads_)
      while (h.next != &h) h.next->unlink();
  }

  std::chrono::milliseconds resolution() const noexcept { return tick_; }

  /// (Re)arms `e` to fire `after` from now, rounded up to whole ticks (at least one).
  void arm(deadline_entry& e, std::chrono::milliseconds after) noexcept {
    e.unlink();
    auto ticks = static_cast<std::uint64_t>((after.count() + tick_.count() - 1) / tick_.count());
    e.due_ = now_ + (ticks ? ticks : 1);
    e.link_before(heads_[e.due_ % heads_.size()]);
  }
  void disarm(deadline_entry& e) noexcept { e.unlink(); }

  /// Advances one tick and fires what is due. The owner calls this every `resolution()`.
  void advance() {
    ++now_;
    detail::wheel_link& head = heads_[now_ % heads_.size()];
    if (head.next == &head) return;
    // Detach the bucket first: callbacks may arm or destroy entries (also ones in this bucket).
    detail::wheel_link due;
    due.next = head.next;
    due.prev = head.prev;
    due.next->prev = &due;
    due.prev->next = &due;
    head.next = head.prev = &head;
    while (due.next != &due) {
      auto* e = static_cast<deadline_entry*>(due.next);
      e->unlink();
      if (e->due_ > now_) {
        e->link_before(heads_[e->due_ % heads_.size()]);
        continue;
      }
      e->on_deadline();
    }
  }

 private:
  std::chrono::milliseconds tick_;
  std::vector<detail::wheel_link> heads_;
  std::uint64_t now_ = 0;
};

}  // namespace portico::net
// ---- end portico/net/deadline_wheel.hpp ----
// ---- begin portico/net/request_parser.hpp ----
/// An incremental HTTP/1.x request parser: feed it whatever the socket gave, it says how much it
/// took and whether a request is complete. Bodies need Content-Length: a chunked request body is
/// refused with 411 (Length Required), any other Transfer-Encoding with 501; Engine.IO clients
/// and browsers' fetch/XHR always send a length.

#include <cstddef>
#include <cstring>
#include <string_view>

// ---- begin portico/net/request.hpp ----
/// One HTTP/1.x request as the host hands it to a mounted handler: the raw head is kept in one
/// string (one allocation) and the method, target and header fields are views into it; the body
/// is its own string (movable out).

#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


namespace portico::net {

class request_parser;

class request {
 public:
  std::string_view method() const noexcept { return view(method_); }
  /// The request target as sent ("/socket.io/?EIO=4&transport=polling").
  std::string_view target() const noexcept { return view(target_); }
  /// The target up to '?'.
  std::string_view path() const noexcept {
    auto t = target();
    return t.substr(0, t.find('?'));
  }
  /// The target after '?' ("" when there is none).
  std::string_view query() const noexcept {
    auto t = target();
    auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  }
  /// 0 for HTTP/1.0, 1 for HTTP/1.1.
  int minor_version() const noexcept { return minor_; }

  /// The first field named `name` (any case), "" when absent.
  std::string_view header(std::string_view name) const noexcept {
    for (auto& f : fields_)
      if (portico::detail::iequals(view(f.first), name)) return view(f.second);
    return {};
  }
  bool has_header(std::string_view name) const noexcept {
    for (auto& f : fields_)
      if (portico::detail::iequals(view(f.first), name)) return true;
    return false;
  }
  /// Does the comma-separated field `name` list `token` (any case)? ("Connection: keep-alive, Upgrade")
  bool header_has_token(std::string_view name, std::string_view token) const noexcept {
    for (auto& f : fields_) {
      if (!portico::detail::iequals(view(f.first), name)) continue;
      std::string_view v = view(f.second);
      while (!v.empty()) {
        auto c = v.find(',');
        std::string_view t = v.substr(0, c);
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        if (portico::detail::iequals(t, token)) return true;
        if (c == std::string_view::npos) break;
        v.remove_prefix(c + 1);
      }
    }
    return false;
  }
  std::size_t header_count() const noexcept { return fields_.size(); }
  std::pair<std::string_view, std::string_view> header_at(std::size_t i) const noexcept {
    return {view(fields_[i].first), view(fields_[i].second)};
  }

  const std::string& body() const noexcept { return body_; }
  std::string& body() noexcept { return body_; }

  /// Whether the connection stays open after the answer (HTTP/1.1 unless `Connection: close`;
  /// HTTP/1.0 only with `Connection: keep-alive`).
  bool keep_alive() const noexcept { return keep_alive_; }
  /// `Upgrade: websocket` with `Connection: upgrade`.
  bool is_websocket_upgrade() const noexcept {
    return header_has_token("upgrade", "websocket") && header_has_token("connection", "upgrade");
  }

  /// The request head exactly as received, up to and including the blank line.
  const std::string& raw_head() const noexcept { return head_; }

  const asio::ip::tcp::endpoint& remote_endpoint() const noexcept { return remote_; }
  void set_remote_endpoint(const asio::ip::tcp::endpoint& e) { remote_ = e; }
  /// The I/O thread's io_context the request arrived on (its connection lives there): a mounted
  /// handler that keeps per-thread state (timers, sessions) finds its thread by it.
  asio::io_context* io_context() const noexcept { return io_; }
  void set_io_context(asio::io_context* io) noexcept { io_ = io; }

 private:
  friend class request_parser;
  struct span {
    std::uint32_t pos = 0, len = 0;
  };
  std::string_view view(span s) const noexcept { return std::string_view(head_).substr(s.pos, s.len); }

  std::string head_;
  span method_, target_;
  std::vector<std::pair<span, span>> fields_;
  std::string body_;
  int minor_ = 1;
  bool keep_alive_ = true;
  asio::ip::tcp::endpoint remote_;
  asio::io_context* io_ = nullptr;
};

}  // namespace portico::net
// ---- end portico/net/request.hpp ----

namespace portico::net {

struct request_limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_body_bytes = 1000000;
};

class request_parser {
 public:
  enum class state { idle, head, body, done, failed };

  explicit request_parser(request_limits l = {}) : limits_(l) {}

  state current() const noexcept { return state_; }
  /// A request has begun (some of it arrived) and is not complete yet.
  bool in_progress() const noexcept { return state_ == state::head || state_ == state::body; }
  /// After `failed`: the status to answer (400, 411, 413, 431, 501, 505) and why (for the log).
  int error_status() const noexcept { return status_; }
  const char* error_reason() const noexcept { return reason_; }

  /// The request being read (its head is complete once the state is `body`).
  const request& partial() const noexcept { return req_; }

  /// Takes bytes of [p, p+n) up to the end of one request; returns how many. Stops early at
  /// `done` or `failed` (the rest belongs to the next request, or to nobody).
  std::size_t feed(const char* p, std::size_t n) {
    std::size_t used = 0;
    if (state_ == state::idle) {
      // RFC 9112 2.2: empty lines before a request line are ignored.
      while (used < n && (p[used] == '\r' || p[used] == '\n')) ++used;
      if (used == n) return used;
      state_ = state::head;
    }
    if (state_ == state::head) {
      std::string& h = req_.head_;
      const std::size_t before = h.size();
      const std::size_t cap = limits_.max_header_bytes + 4;  // the head plus its blank line
      const std::size_t take = std::min(n - used, cap - before);
      h.append(p + used, take);
      std::size_t end = h.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
      if (end == std::string::npos) {
        used += take;
        if (h.size() >= cap) fail(431, "request head larger than max_header_bytes");
        return used;
      }
      if (end > limits_.max_header_bytes) return fail(431, "request head larger than max_header_bytes"), used + take;
      end += 4;
      used += take - (h.size() - end);
      h.resize(end);
      if (!parse_head()) return used;
      if (body_left_ == 0) {
        state_ = state::done;
        return used;
      }
      state_ = state::body;
      req_.body_.reserve(body_left_);
    }
    if (state_ == state::body) {
      const std::size_t k = std::min(n - used, body_left_);
      req_.body_.append(p + used, k);
      used += k;
      body_left_ -= k;
      if (body_left_ == 0) state_ = state::done;
    }
    return used;
  }

  /// The complete request (state `done`); the parser is then ready for the next one.
  request take() {
    request r = std::move(req_);
    reset();
    return r;
  }
  void reset() {
    req_ = request();
    state_ = state::idle;
    body_left_ = 0;
    status_ = 0;
    reason_ = "";
  }

 private:
  static bool tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  }
  void fail(int status, const char* why) noexcept {
    state_ = state::failed;
    status_ = status;
    reason_ = why;
  }

  bool parse_head() {
    const std::string& h = req_.head_;
    using span = request::span;
    auto sp = [](std::size_t a, std::size_t b) { return span{static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b - a)}; };
    // Request line: method SP target SP HTTP/1.x CRLF
    std::size_t i = 0;
    while (i < h.size() && tchar(h[i])) ++i;
    if (i == 0 || i >= h.size() || h[i] != ' ') return fail(400, "malformed request line"), false;
    req_.method_ = sp(0, i);
    const std::size_t t0 = ++i;
    while (i < h.size() && static_cast<unsigned char>(h[i]) > ' ' && h[i] != 0x7f) ++i;
    if (i == t0 || i >= h.size() || h[i] != ' ') return fail(400, "malformed request target"), false;
    req_.target_ = sp(t0, i);
    ++i;
    const std::size_t eol = h.find("\r\n", i);
    std::string_view version(h.data() + i, eol - i);
    if (version == "HTTP/1.1") req_.minor_ = 1;
    else if (version == "HTTP/1.0") req_.minor_ = 0;
    else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.') return fail(505, "unsupported HTTP version"), false;
    else return fail(400, "malformed HTTP version"), false;
    // Header fields: name ":" OWS value OWS CRLF, until the empty line.
    i = eol + 2;
    while (i + 2 <= h.size() && !(h[i] == '\r' && h[i + 1] == '\n')) {
      const std::size_t le = h.find("\r\n", i);
      if (req_.fields_.size() == limits_.max_headers) return fail(431, "more header fields than max_headers"), false;
      std::size_t c = i;
      while (c < le && tchar(h[c])) ++c;
      if (c == i || c == le || h[c] != ':') return fail(400, "malformed header field"), false;  // also obs-fold
      std::size_t v0 = c + 1, v1 = le;
      while (v0 < v1 && (h[v0] == ' ' || h[v0] == '\t')) ++v0;
      while (v1 > v0 && (h[v1 - 1] == ' ' || h[v1 - 1] == '\t')) --v1;
      for (std::size_t k = v0; k < v1; ++k) {
        const unsigned char ch = static_cast<unsigned char>(h[k]);
        if ((ch < ' ' && ch != '\t') || ch == 0x7f) return fail(400, "control character in header value"), false;
      }
      req_.fields_.push_back({sp(i, c), sp(v0, v1)});
      i = le + 2;
    }
    if (req_.minor_ == 1 && !req_.has_header("host")) return fail(400, "HTTP/1.1 request without Host"), false;
    // Framing (RFC 9112 6): no Transfer-Encoding with Content-Length (smuggling), lengths agree.
    const bool te = req_.has_header("transfer-encoding");
    bool have_len = false;
    std::size_t len = 0;
    for (std::size_t k = 0; k < req_.header_count(); ++k) {
      auto f = req_.header_at(k);
      if (!portico::detail::iequals(f.first, "content-length")) continue;
      std::size_t v = 0;
      if (f.second.empty()) return fail(400, "malformed Content-Length"), false;
      for (char ch : f.second) {
        if (ch < '0' || ch > '9' || v > (std::size_t(-1) - 9) / 10) return fail(400, "malformed Content-Length"), false;
        v = v * 10 + static_cast<std::size_t>(ch - '0');
      }
      if (have_len && v != len) return fail(400, "conflicting Content-Length"), false;
      have_len = true;
      len = v;
    }
    if (te) {
      if (have_len) return fail(400, "Transfer-Encoding with Content-Length"), false;
      if (req_.header_has_token("transfer-encoding", "chunked"))
        return fail(411, "chunked request body (send Content-Length)"), false;
      return fail(501, "unsupported Transfer-Encoding"), false;
    }
    if (len > limits_.max_body_bytes) return fail(413, "request body larger than max_body_bytes"), false;
    body_left_ = len;
    req_.keep_alive_ = req_.minor_ == 1 ? !req_.header_has_token("connection", "close")
                                        : req_.header_has_token("connection", "keep-alive");
    return true;
  }

  request_limits limits_;
  request req_;
  state state_ = state::idle;
  std::size_t body_left_ = 0;
  int status_ = 0;
  const char* reason_ = "";
};

}  // namespace portico::net
// ---- end portico/net/request_parser.hpp ----
// ---- begin portico/net/response.hpp ----
/// The answer to one HTTP request: a one-shot handle a mounted handler may send at once or keep
/// and send later from any thread (a long-poll). Answers go out in request order even when
/// pipelined requests are answered out of order. A handle dropped without `send` answers 500,
/// so a forgotten request cannot stall the connection's pipeline.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace portico::net {

namespace detail {
/// Where an answer goes: the connection that read the request (callable from any thread).
class answer_sink {
 public:
  virtual ~answer_sink() = default;
  virtual void answer(std::uint64_t seq, int status, std::string fields, std::string body,
                      std::shared_ptr<const std::string> shared_body, bool close) = 0;
  /// Whether the connection can still take the answer (false once it closed).
  virtual bool open() const noexcept = 0;
  /// Runs `f` on the connection's thread if it closes before answer `seq` is sent.
  virtual void on_abort(std::uint64_t seq, std::function<void()> f) = 0;
};
}  // namespace detail

class response {
 public:
  response() = default;
  response(std::shared_ptr<detail::answer_sink> sink, std::uint64_t seq) : sink_(std::move(sink)), seq_(seq) {}
  response(response&& o) noexcept { *this = std::move(o); }
  response& operator=(response&& o) noexcept {
    if (this != &o) {
      abandon();
      sink_ = std::move(o.sink_);
      seq_ = o.seq_;
      status_ = o.status_;
      fields_ = std::move(o.fields_);
      close_ = o.close_;
    }
    return *this;
  }
  response(const response&) = delete;
  response& operator=(const response&) = delete;
  ~response() { abandon(); }

  response& status(int s) noexcept {
    status_ = s;
    return *this;
  }
  int status() const noexcept { return status_; }

  /// Adds a header field. Content-Length and Connection are the host's: do not set them.
  /// CR and LF are dropped from name and value (no response splitting).
  response& header(std::string_view name, std::string_view value) {
    append_clean(name);
    fields_ += ": ";
    append_clean(value);
    fields_ += "\r\n";
    return *this;
  }
  /// Closes the connection once this answer is written.
  response& close_connection() noexcept {
    close_ = true;
    return *this;
  }

  /// Sends the answer (once; later calls do nothing). Callable from any thread.
  void send(std::string body = {}) { finish(std::move(body), nullptr); }
  /// Sends a shared immutable body (a cached page): no copy per response.
  void send(std::shared_ptr<const std::string> body) { finish({}, std::move(body)); }

  /// `f` runs (on the connection's I/O thread) if the client goes away before this answer is
  /// sent: a long-poll learns that its request is gone. Set it before `send`; callable from any
  /// thread.
  response& on_abort(std::function<void()> f) {
    if (sink_) sink_->on_abort(seq_, std::move(f));
    return *this;
  }

  /// Not yet sent.
  bool pending() const noexcept { return sink_ != nullptr; }
  /// The client is still connected (a long-poll can stop waiting when it is not).
  bool connection_open() const noexcept { return sink_ && sink_->open(); }

 private:
  void append_clean(std::string_view s) {
    for (char c : s)
      if (c != '\r' && c != '\n') fields_ += c;
  }
  void finish(std::string body, std::shared_ptr<const std::string> shared) {
    if (!sink_) return;
    auto sink = std::move(sink_);
    sink_ = nullptr;
    sink->answer(seq_, status_, std::move(fields_), std::move(body), std::move(shared), close_);
  }
  void abandon() noexcept {
    if (!sink_) return;
    try {
      status_ = 500;
      fields_.clear();
      finish({}, nullptr);
    } catch (...) {
      sink_ = nullptr;
    }
  }

  std::shared_ptr<detail::answer_sink> sink_;
  std::uint64_t seq_ = 0;
  int status_ = 200;
  std::string fields_;
  bool close_ = false;
};

}  // namespace portico::net
// ---- end portico/net/response.hpp ----
// ---- begin portico/net/websocket.hpp ----
/// What a mounted handler sees of an accepted WebSocket: a `websocket` handle to send, close and
/// share pre-framed messages, and a `websocket_handler` the host calls with the connection's
/// events. All events run on the connection's I/O thread; the handle may be used from any thread
/// (off that thread a send is posted to it, with a copy of the payload).

#include <cstdint>
#include <functional>
#include <vector>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <websocketpp/frame.hpp>

namespace portico::net {

/// A server-to-client frame (unmasked) encoded once and shared: sending it to N connections
/// queues the same bytes N times by reference, with no framing or copy per recipient.
using shared_frame = std::shared_ptr<const std::string>;

/// Frames `payload` once (text or binary), for `websocket::send(shared_frame)`.
inline shared_frame make_frame(std::string_view payload, bool binary = false) {
  namespace fr = websocketpp::frame;
  const auto op = binary ? fr::opcode::binary : fr::opcode::text;
  fr::basic_header h(op, payload.size(), true, false);
  fr::extended_header e(payload.size());
  std::string header = fr::prepare_header(h, e);
  auto s = std::make_shared<std::string>();
  s->reserve(header.size() + payload.size());
  s->append(header);
  s->append(payload.data(), payload.size());
  return s;
}

namespace detail {
/// The connection behind a `websocket` handle (callable from any thread).
class ws_sink {
 public:
  virtual ~ws_sink() = default;
  virtual void ws_send(std::string_view payload, bool binary) = 0;
  virtual void ws_send(shared_frame frame) = 0;
  virtual void ws_close(std::uint16_t code, std::string_view reason) = 0;
  virtual bool ws_open() const noexcept = 0;
  /// Bytes queued and not yet taken by the kernel (on the connection's thread).
  virtual std::size_t ws_buffered() const noexcept = 0;
  /// The I/O thread the connection lives on (an identity for grouping), whether the caller runs
  /// on it, and a way to run `f` there.
  virtual const void* ws_home() const noexcept = 0;
  virtual bool ws_on_home() const noexcept = 0;
  virtual void ws_post(std::function<void()> f) = 0;
};
}  // namespace detail

/// A handle on one WebSocket connection; copies refer to the same connection. Sends after the
/// connection closed are dropped.
class websocket {
 public:
  websocket() = default;
  explicit websocket(std::shared_ptr<detail::ws_sink> s) : sink_(std::move(s)) {}

  /// Text goes out as given: the caller sends valid UTF-8 (the layers above repair at their
  /// boundary; a browser drops a connection on one invalid text frame).
  void send_text(std::string_view payload) const { send(payload, false); }
  void send_binary(std::string_view payload) const { send(payload, true); }
  void send(std::string_view payload, bool binary) const {
    if (sink_) sink_->ws_send(payload, binary);
  }
  /// Queues a frame made once by `make_frame` (a broadcast).
  void send(const shared_frame& frame) const {
    if (sink_ && frame) sink_->ws_send(frame);
  }
  /// Starts the close handshake (1000 = normal closure); a reason beyond 123 bytes is cut.
  void close(std::uint16_t code = 1000, std::string_view reason = {}) const {
    if (sink_) sink_->ws_close(code, reason);
  }
  /// Open: the handshake is done and no close has begun.
  bool is_open() const noexcept { return sink_ && sink_->ws_open(); }
  explicit operator bool() const noexcept { return sink_ != nullptr; }

  /// Bytes queued for this connection and not yet taken by the kernel: read it on the
  /// connection's I/O thread (a handler's events), elsewhere it is only a hint. A sender that
  /// bounds its client's backlog below max_output_bytes (drop or close first) reads it.
  std::size_t buffered_amount() const noexcept { return sink_ ? sink_->ws_buffered() : 0; }

  /// Identity, for keeping handles in sets.
  const void* id() const noexcept { return sink_.get(); }

 private:
  template <class Range>
  friend void send_all(const Range& sockets, const shared_frame& frame);
  std::shared_ptr<detail::ws_sink> sink_;
};

/// Queues one shared frame on many connections (a broadcast): recipients on the caller's I/O
/// thread directly, the others with one posted job per I/O thread rather than one per recipient.
template <class Range>
void send_all(const Range& sockets, const shared_frame& frame) {
  if (!frame) return;
  std::vector<std::pair<const void*, std::vector<websocket>>> away;  // per I/O thread
  for (const websocket& ws : sockets) {
    if (!ws.sink_) continue;
    if (ws.sink_->ws_on_home()) {
      ws.sink_->ws_send(frame);
      continue;
    }
    const void* home = ws.sink_->ws_home();
    auto it = away.begin();
    while (it != away.end() && it->first != home) ++it;
    if (it == away.end()) it = away.insert(away.end(), {home, {}});
    it->second.push_back(ws);
  }
  for (auto& group : away) {
    auto first = group.second.front().sink_;
    first->ws_post([list = std::move(group.second), frame] {
      for (auto& ws : list) ws.send(frame);
    });
  }
}

/// The events of one WebSocket connection, on its I/O thread.
class websocket_handler {
 public:
  virtual ~websocket_handler() = default;
  /// The handshake is done; `ws` may be kept to send later.
  virtual void on_open(const websocket& ws) { (void)ws; }
  /// One complete message; `payload` may be moved from.
  virtual void on_message(const websocket& ws, std::string& payload, bool binary) = 0;
  /// Exactly once per opened connection: the close code received (or sent on a protocol
  /// error; 1006 when the TCP connection just ended).
  virtual void on_close(std::uint16_t code, std::string_view reason) {
    (void)code;
    (void)reason;
  }
};

}  // namespace portico::net
// ---- end portico/net/websocket.hpp ----
// ---- begin portico/net/worker.hpp ----
/// One I/O thread of a host: its io_context, deadline wheel, shared read buffer, websocketpp
/// endpoint and the list of its connections. Everything here is touched only on that thread
/// (except `io`, which any thread may post to, and `stopped`).

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

// ---- begin portico/net/detail/ws_config.hpp ----
/// websocketpp as a protocol engine only: the iostream transport (the host owns the socket and
/// feeds bytes in; websocketpp hands framed bytes back synchronously), lock-free (each endpoint
/// lives on one I/O thread), logging compiled out.
#if defined(ASIO_NO_DEPRECATED)
#error "websocketpp 0.8.2 uses asio::io_service: build portico without ASIO_NO_DEPRECATED"
#endif

#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/logger/stub.hpp>
#include <websocketpp/server.hpp>

namespace portico::net::detail {

struct ws_config : websocketpp::config::core {
  using type = ws_config;
  using base = websocketpp::config::core;
  using concurrency_type = websocketpp::concurrency::none;
  using request_type = base::request_type;
  using response_type = base::response_type;
  using message_type = base::message_type;
  using con_msg_manager_type = base::con_msg_manager_type;
  using endpoint_msg_manager_type = base::endpoint_msg_manager_type;
  using alog_type = websocketpp::log::stub;
  using elog_type = websocketpp::log::stub;
  using rng_type = base::rng_type;
  struct transport_config : base::transport_config {
    using concurrency_type = type::concurrency_type;
    using alog_type = type::alog_type;
    using elog_type = type::elog_type;
    using request_type = type::request_type;
    using response_type = type::response_type;
  };
  using transport_type = websocketpp::transport::iostream::endpoint<transport_config>;
  /// Still an array inside every connection object; with this transport it only bounds how much
  /// one read_some() consumes (the host loops). Measured (bench/host_echo, 100-byte echo): 128
  /// saves 0.37 KB per connection but costs ~0.3 µs per message (a websocketpp read cycle per
  /// call); 512 takes a typical read batch in one call.
  static const std::size_t connection_read_buffer_size = 512;
};

using ws_endpoint = websocketpp::server<ws_config>;
using ws_connection_ptr = ws_endpoint::connection_ptr;

}  // namespace portico::net::detail
// ---- end portico/net/detail/ws_config.hpp ----
// ---- begin portico/net/handler.hpp ----
/// A mounted handler: what `host::mount(prefix, ...)` serves under a path prefix. Requests
/// arrive on the I/O thread of their connection; the handler answers through `response`, then
/// or later.

#include <functional>
#include <memory>
#include <string>
#include <utility>


namespace portico::net {

/// A mount's answer to an upgrade request: a handler for the WebSocket, or a refusal.
struct upgrade {
  std::shared_ptr<websocket_handler> accept;  ///< set: the connection becomes this WebSocket
  int status = 404;                            ///< otherwise: the refusal's HTTP status and body
  std::string body;

  static upgrade to(std::shared_ptr<websocket_handler> h) {
    upgrade u;
    u.accept = std::move(h);
    return u;
  }
  static upgrade refuse(int status, std::string body = {}) {
    upgrade u;
    u.status = status;
    u.body = std::move(body);
    return u;
  }
};

class handler {
 public:
  virtual ~handler() = default;
  /// A complete request (not an upgrade). An exception answers 500 (if `res` was not sent).
  virtual void on_request(request req, response res) = 0;
  /// A request with `Upgrade: websocket`. The default refuses with 404.
  virtual upgrade on_upgrade(const request& req) {
    (void)req;
    return {};
  }
};

/// A handler made of functions (either may be empty: no requests -> 404, no upgrades -> 404).
class function_handler final : public handler {
 public:
  using request_fn = std::function<void(request, response)>;
  using upgrade_fn = std::function<upgrade(const request&)>;
  explicit function_handler(request_fn on_request, upgrade_fn on_upgrade = {})
      : request_(std::move(on_request)), upgrade_(std::move(on_upgrade)) {}

  void on_request(request req, response res) override {
    if (request_) request_(std::move(req), std::move(res));
    else res.status(404).send("Not Found");
  }
  upgrade on_upgrade(const request& req) override { return upgrade_ ? upgrade_(req) : upgrade{}; }

 private:
  request_fn request_;
  upgrade_fn upgrade_;
};

}  // namespace portico::net
// ---- end portico/net/handler.hpp ----
// ---- begin portico/net/options.hpp ----
/// Options of a `net::host`: threads, HTTP limits, deadlines and WebSocket limits. Every option has
/// a default a public server can run with; tests shorten the deadlines.

#include <chrono>
#include <cstddef>

namespace portico::net {

struct host_options {
  /// I/O threads, each with its own io_context; accepted connections are spread round-robin.
  /// 0 = std::thread::hardware_concurrency().
  unsigned threads = 0;

  /// Request line + headers of one request, in bytes; more -> 431 and close.
  std::size_t max_header_bytes = 16 * 1024;
  /// Header lines of one request; more -> 431 and close.
  std::size_t max_headers = 100;
  /// Content-Length of one request body; more -> 413 and close (checked before the body is read).
  std::size_t max_body_bytes = 1000000;
  /// Requests of one connection received but not yet answered (pipelining); beyond it the host
  /// stops reading that connection until answers go out.
  std::size_t max_pipelined = 16;

  /// Granularity of every deadline below: one coarse timer per thread ticks at this rate, so a
  /// deadline fires up to one tick late.
  std::chrono::milliseconds tick{1000};
  /// From the first byte of a request (or the accept) to its complete head and body
  /// (slowloris guard); on expiry the connection is closed (408 when nothing was answered yet).
  std::chrono::milliseconds request_timeout{10000};
  /// A keep-alive connection with no request in progress is closed after this.
  std::chrono::milliseconds idle_timeout{30000};
  /// From the upgrade request to the open WebSocket.
  std::chrono::milliseconds websocket_handshake_timeout{10000};
  /// From a close frame sent (or a protocol error) to the TCP close.
  std::chrono::milliseconds websocket_close_timeout{5000};
  /// After the last answer on a closing connection (or a finished WebSocket close), how long to
  /// wait for the client's FIN before closing: closing with unread input would reset the
  /// connection and could destroy that answer before the client reads it.
  std::chrono::milliseconds linger_timeout{2000};
  /// How long `host::stop()` waits for connections to finish before closing them.
  std::chrono::milliseconds stop_timeout{2000};

  /// Largest WebSocket message accepted (websocketpp closes with 1009 beyond it).
  std::size_t max_message_bytes = 1000000;
  /// Bytes queued for one connection (not yet taken by the kernel); beyond it the client is
  /// too slow and its connection is closed, with a log line.
  std::size_t max_output_bytes = 4 * 1024 * 1024;
};

}  // namespace portico::net
// ---- end portico/net/options.hpp ----

namespace portico::net {

namespace detail {
/// The mounts of a host, longest prefix first (fixed once the host runs).
struct mount_table {
  std::vector<std::pair<std::string, std::shared_ptr<handler>>> mounts;
  handler* find(std::string_view path) const noexcept {
    for (auto& m : mounts)
      if (path.substr(0, m.first.size()) == m.first) return m.second.get();
    return nullptr;
  }
};

class connection_base;
}  // namespace detail

struct worker {
  /// Reads drain the socket into this one buffer; a connection keeps bytes of its own only
  /// while a request is incomplete, so an idle connection holds no read buffer.
  static constexpr std::size_t read_buffer_size = 64 * 1024;

  worker(const host_options& o, const detail::mount_table& m, portico::logger& l)
      : io(1), opts(o), mounts(m), log(l), wheel(o.tick), ticker(io), grace(io), read_buf(new char[read_buffer_size]) {
    ws.clear_access_channels(websocketpp::log::alevel::all);
    ws.clear_error_channels(websocketpp::log::elevel::all);
    ws.set_max_message_size(o.max_message_bytes);
  }

  asio::io_context io;
  const host_options& opts;
  const detail::mount_table& mounts;
  portico::logger& log;
  deadline_wheel wheel;
  asio::steady_timer ticker;  ///< advances the wheel every opts.tick
  asio::steady_timer grace;   ///< stop(): closes what is still open after opts.stop_timeout
  std::unique_ptr<char[]> read_buf;
  detail::ws_endpoint ws;
  /// Live connections (intrusive list, for stop()).
  detail::connection_base* first = nullptr;
  std::size_t connections = 0;
  bool stopping = false;
  /// Set once the thread has ended: late answers from other threads are dropped.
  std::atomic<bool> stopped{false};
  std::thread thread;
  /// Connections with broadcast frames to write at the end of this turn, drained by one posted
  /// job (connection.hpp, after_broadcast_queue). Last: destroyed before what connections use.
  std::vector<std::shared_ptr<detail::connection_base>> flush_due, flush_draining;
};

}  // namespace portico::net
// ---- end portico/net/worker.hpp ----

namespace portico::net::detail {

/// Runs the flushes after_broadcast_queue held for the end of this turn.
inline void flush_due_connections(worker& w);

/// What a worker's list of live connections needs of any connection, whatever its stream.
class connection_base {
 public:
  virtual ~connection_base() = default;
  virtual void begin_stop() = 0;
  virtual void terminate() = 0;
  /// Writes what after_broadcast_queue held for the end of the turn (worker::flush_due).
  virtual void flush_turn() = 0;
  connection_base* next_connection() const noexcept { return next_; }

  // The worker's intrusive list (touched on its thread only).
  connection_base* prev_ = nullptr;
  connection_base* next_ = nullptr;
};

/// A plain TCP stream: read by waiting for readiness and draining the non-blocking socket into
/// the worker's shared buffer (no read buffer per connection), written with gathered writes.
class plain_stream {
 public:
  /// No handshake; reads drain the socket itself (see basic_connection::read_ready).
  static constexpr bool drains_socket = true;
  explicit plain_stream(asio::ip::tcp::socket s) : sock_(std::move(s)) {}
  asio::ip::tcp::socket& socket() noexcept { return sock_; }

 private:
  asio::ip::tcp::socket sock_;
};

/// `Stream` is plain_stream or (net/tls.hpp) tls_stream: a template parameter rather than a
/// virtual byte stream, so the plain path compiles to exactly what it was before TLS existed.
/// A stream with `drains_socket == false` provides async_handshake, async_read_some (into its
/// own buffer), async_write (one contiguous buffer) and async_shutdown.
template <class Stream>
class basic_connection final : public connection_base,
                               public deadline_entry,
                               public answer_sink,
                               public ws_sink,
                               public std::enable_shared_from_this<basic_connection<Stream>> {
 public:
  using tcp = asio::ip::tcp;
  using std::enable_shared_from_this<basic_connection<Stream>>::shared_from_this;

  template <class... StreamArgs>
  basic_connection(std::shared_ptr<worker> w, StreamArgs&&... stream_args)
      : keep_(std::move(w)),
        w_(*keep_),
        stream_(std::forward<StreamArgs>(stream_args)...),
        parser_(request_limits{w_.opts.max_header_bytes, w_.opts.max_headers, w_.opts.max_body_bytes}) {}

  ~basic_connection() override {
    if (con_ && !ws_down_) {
      dead_ = true;
      con_->eof();  // breaks websocketpp's connection <-> read handler cycle
    }
    unregister();
  }

  /// On the worker's thread, right after accept.
  void start() {
    asio::error_code ec;
    remote_ = stream_.socket().remote_endpoint(ec);
    stream_.socket().set_option(tcp::no_delay(true), ec);
    stream_.socket().non_blocking(true, ec);
    next_ = w_.first;
    if (next_) next_->prev_ = this;
    w_.first = this;
    linked_ = true;
    ++w_.connections;
    if constexpr (Stream::drains_socket) {
      set_deadline(kind::request, w_.opts.request_timeout);
      read_ready();
    } else {
      // TLS: the handshake under its own deadline (a client that connects and sends nothing, or
      // a handshake byte at a time, is closed by it); HTTP starts once it is done.
      set_deadline(kind::handshake, stream_.handshake_timeout());
      stream_.async_handshake([self = shared_from_this()](const asio::error_code& e) {
        if (self->dead_) return;
        if (e) {
          // Plain HTTP to a TLS port, garbage, a client that rejects the certificate: this
          // connection only.
          self->w_.log.warn([&] { return "net: TLS handshake with " + self->peer() + " failed: " + e.message(); });
          return self->terminate();
        }
        self->set_deadline(kind::request, self->w_.opts.request_timeout);
        self->arm_wait();
      });
    }
  }

  /// host::stop(): HTTP connections finish the answers they owe, then close; WebSockets get a
  /// 1001 close frame.
  void begin_stop() override {
    if (dead_) return;
    if (mode_ == mode::websocket) {
      if (ws_is_open_) ws_close(1001, "server stopping");
      // A close already under way (a handler's, just before stop) finishes under its deadline
      // and the stop grace: terminating here would drop its close frame unsent.
      else if (!ws_opened_) terminate();
      return;
    }
    stop_parsing_ = true;
    held_.clear();
    if (slots_.empty() && !writing_ && out_.empty()) terminate();
  }

  /// Closes the socket now (no more output); idempotent.
  void terminate() override {
    if (dead_) return;
    dead_ = true;
    ws_is_open_ = false;
    w_.wheel.disarm(*this);
    if (con_ && !ws_down_) {
      in_batch_ = true;
      con_->eof();  // websocketpp ends the connection (its callbacks see dead_)
      in_batch_ = false;
    }
    notify_ws_close();
    // on_close was the handler's last event: let it go (it may hold handles to this connection).
    wsh_.reset();
    self_handle_ = websocket();
    asio::error_code ec;
    stream_.socket().close(ec);
    abort_pending();
    slots_.clear();
    held_.clear();
    out_.clear();
    unregister();
  }

  bool open() const noexcept override { return !dead_; }

  void on_abort(std::uint64_t seq, std::function<void()> f) override {
    if (w_.stopped) return;
    if (!on_thread()) {
      asio::post(w_.io, [self = shared_from_this(), seq, f = std::move(f)]() mutable { self->on_abort(seq, std::move(f)); });
      return;
    }
    for (auto& x : slots_)
      if (x.seq == seq && !x.ready) {
        x.abort = std::move(f);
        return;
      }
    if (dead_ && f) f();  // already gone
  }

  // --- answers (any thread) ---
  void answer(std::uint64_t seq, int status, std::string fields, std::string body,
              std::shared_ptr<const std::string> shared, bool close) override {
    if (w_.stopped) return;
    if (!on_thread()) {
      asio::post(w_.io, [self = shared_from_this(), seq, status, f = std::move(fields), b = std::move(body),
                         s = std::move(shared), close]() mutable {
        self->answer(seq, status, std::move(f), std::move(b), std::move(s), close);
      });
      return;
    }
    if (dead_ || mode_ != mode::http) return;
    slot* s = nullptr;
    for (auto& x : slots_)
      if (x.seq == seq) s = &x;
    if (!s || s->ready) return;
    s->ready = true;
    s->abort = nullptr;
    if (close || w_.stopping) s->close = true;
    std::string& h = s->head;
    h.reserve(64 + fields.size());
    h += s->minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
    h += std::to_string(status);
    h += ' ';
    h += portico::detail::reason_phrase(status);
    h += "\r\n";
    h += fields;
    const bool bodiless = status < 200 || status == 204 || status == 304;
    if (!bodiless) {
      h += "Content-Length: ";
      h += std::to_string(shared ? shared->size() : body.size());
      h += "\r\n";
    }
    if (s->close) h += "Connection: close\r\n";
    else if (s->minor == 0) h += "Connection: keep-alive\r\n";
    h += "\r\n";
    if (!s->head_only && !bodiless) {
      s->body = std::move(body);
      s->shared = std::move(shared);
    }
    release_ready();
    if (!in_batch_) after_output();
  }

  // --- WebSocket handle (any thread) ---
  void ws_send(std::string_view payload, bool binary) override {
    if (!on_thread()) {
      if (w_.stopped) return;
      asio::post(w_.io, [self = shared_from_this(), p = std::string(payload), binary] { self->ws_send(p, binary); });
      return;
    }
    if (!ws_is_open_ || overflow_ || con_->get_state() != websocketpp::session::state::open) return;
    // Server frames are unmasked and websocketpp keeps no state about outgoing data frames, so
    // the host frames them itself straight into the output queue (one copy, no message object).
    namespace fr = websocketpp::frame;
    const auto op = binary ? fr::opcode::binary : fr::opcode::text;
    fr::basic_header bh(op, payload.size(), true, false);
    fr::extended_header eh(payload.size());
    const std::size_t hl = fr::get_header_len(bh);
    char head[fr::BASIC_HEADER_LENGTH + fr::MAX_EXTENDED_HEADER_LENGTH];
    head[0] = static_cast<char>(bh.b0);
    head[1] = static_cast<char>(bh.b1);
    std::memcpy(head + fr::BASIC_HEADER_LENGTH, eh.bytes, hl - fr::BASIC_HEADER_LENGTH);
    queue_copy(head, hl, payload.data(), payload.size());
  }
  void ws_send(shared_frame frame) override {
    if (!on_thread()) {
      if (w_.stopped) return;
      asio::post(w_.io, [self = shared_from_this(), f = std::move(frame)]() mutable { self->ws_send(std::move(f)); });
      return;
    }
    if (!ws_is_open_ || overflow_ || con_->get_state() != websocketpp::session::state::open) return;
    out_bytes_ += frame->size();
    out_.push_back(piece{std::string(), std::move(frame)});
    after_broadcast_queue();
  }
  void ws_close(std::uint16_t code, std::string_view reason) override {
    if (!on_thread()) {
      if (w_.stopped) return;
      asio::post(w_.io, [self = shared_from_this(), code, r = std::string(reason)] { self->ws_close(code, r); });
      return;
    }
    if (!ws_is_open_ || !con_) return;
    ws_is_open_ = false;
    // A close reason is at most 123 bytes (RFC 6455 5.5); cut at a UTF-8 character boundary.
    if (reason.size() > websocketpp::frame::limits::close_reason_size) {
      reason = reason.substr(0, websocketpp::frame::limits::close_reason_size);
      std::size_t end = reason.size();
      while (end > 0 && (static_cast<unsigned char>(reason[end - 1]) & 0xC0) == 0x80) --end;
      if (end > 0 && static_cast<unsigned char>(reason[end - 1]) >= 0xC0) --end;  // its lead byte
      reason = reason.substr(0, end);
    }
    websocketpp::lib::error_code ec;
    con_->close(code, std::string(reason), ec);
    arm_close_deadline();
    if (!in_batch_) after_output();
  }
  bool ws_open() const noexcept override { return ws_is_open_; }
  std::size_t ws_buffered() const noexcept override { return out_bytes_; }
  const void* ws_home() const noexcept override { return &w_; }
  bool ws_on_home() const noexcept override { return on_thread(); }
  void ws_post(std::function<void()> f) override {
    if (!w_.stopped) asio::post(w_.io, std::move(f));
  }

 private:
  enum class mode : unsigned char { http, websocket };
  enum class kind : unsigned char { none, handshake, request, idle, ws_handshake, ws_close, linger };

  /// One request's place in the pipeline; answered slots leave from the front, in order.
  struct slot {
    std::uint64_t seq = 0;
    int minor = 1;
    bool ready = false, close = false, head_only = false;
    std::string head, body;
    std::shared_ptr<const std::string> shared;
    std::function<void()> abort;  ///< response::on_abort
  };
  /// A piece of output: owned bytes (coalesced appends) or a shared frame/body.
  struct piece {
    std::string own;
    std::shared_ptr<const std::string> shared;
    asio::const_buffer buffer() const noexcept {
      return shared ? asio::buffer(*shared) : asio::buffer(own);
    }
  };

  void push_slot() {
    slot s;
    s.seq = next_seq_++;
    slots_.push_back(std::move(s));
  }

  bool on_thread() const noexcept { return w_.io.get_executor().running_in_this_thread(); }

  void set_deadline(kind k, std::chrono::milliseconds after) {
    deadline_ = k;
    if (k == kind::none) w_.wheel.disarm(*this);
    else w_.wheel.arm(*this, after);
  }

  void on_deadline() override {
    auto self = shared_from_this();
    const kind k = deadline_;
    deadline_ = kind::none;
    switch (k) {
      case kind::request:
        w_.log.warn([&] { return "net: request from " + peer() + " not complete within request_timeout: closing"; });
        if (mode_ == mode::http && slots_.empty() && !writing_ && out_.empty()) {
          parser_.reset();
          stop_parsing_ = true;
          push_slot();
          answer(slots_.back().seq, 408, "Content-Type: text/plain\r\n", "Request Timeout", nullptr, true);
          return;
        }
        break;
      case kind::handshake:
        w_.log.warn([&] { return "net: TLS handshake with " + peer() + " not complete within handshake_timeout: closing"; });
        break;
      case kind::idle: break;
      case kind::ws_handshake:
        w_.log.warn([&] { return "net: websocket handshake from " + peer() + " timed out"; });
        break;
      case kind::ws_close:
        if (ws_down_)  // not a slow goodbye: megabytes the peer never took
          w_.log.warn([&] {
            return "net: websocket close with " + peer() +
                   ": last frames not taken within websocket_close_timeout (the peer does not read)";
          });
        else
          w_.log.info([&] { return "net: websocket close handshake with " + peer() + " timed out"; });
        break;
      case kind::linger:
      case kind::none: break;
    }
    terminate();
  }

  // --- reading ---
  bool read_paused() const noexcept {
    if (dead_) return true;
    if (lingering_) return false;
    if (mode_ == mode::websocket) return ws_down_;
    return stop_parsing_ || !held_.empty() || slots_.size() >= w_.opts.max_pipelined;
  }

  void read_ready() {
    if constexpr (!Stream::drains_socket) {
      return arm_wait();  // the stream reads asynchronously: nothing to drain
    }
    auto self = shared_from_this();
    in_batch_ = true;
    char* buf = w_.read_buf.get();
    while (!read_paused()) {
      asio::error_code ec;
      const std::size_t n = stream_.socket().read_some(asio::buffer(buf, worker::read_buffer_size), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        in_batch_ = false;
        on_eof();
        return;
      }
      if (!lingering_) consume(buf, n);
      if (n < worker::read_buffer_size) break;
    }
    in_batch_ = false;
    after_output();
  }

  void arm_wait() {
    if (dead_ || waiting_) return;
    if (read_paused()) {
      was_paused_ = true;
      return;
    }
    if constexpr (!Stream::drains_socket) {
      // One asynchronous read at a time into the stream's own buffer (decrypted bytes cannot go
      // to the worker's shared one: a read may complete in a later turn). While lingering the
      // stream's shutdown does the reading.
      if (lingering_) return;
      waiting_ = true;
      stream_.async_read_some([self = shared_from_this()](const asio::error_code& ec, const char* p, std::size_t n) {
        self->waiting_ = false;
        if (self->dead_) return;
        if (self->lingering_) return self->close_tls();  // cancelled (or input nobody reads)
        if (ec) {
          self->w_.log.debug([&] { return "net: TLS read from " + self->peer() + " ended: " + ec.message(); });
          return self->on_eof();
        }
        self->in_batch_ = true;
        self->consume(p, n);
        self->in_batch_ = false;
        self->after_output();
      });
      return;
    }
    waiting_ = true;
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](const asio::error_code& ec) {
      self->waiting_ = false;
      if (ec) {
        if (ec != asio::error::operation_aborted) self->terminate();
        return;
      }
      self->read_ready();
    });
  }

  void on_eof() {
    if (mode_ == mode::websocket && con_ && !ws_down_ && !dead_) {
      in_batch_ = true;
      con_->eof();
      in_batch_ = false;
    }
    terminate();
  }

  void consume(const char* p, std::size_t n) {
    while (n > 0 && !dead_) {
      if (mode_ == mode::websocket) return feed_ws(p, n);
      if (stop_parsing_) return;  // bytes after a closing request or an error are nobody's
      if (!held_.empty() || slots_.size() >= w_.opts.max_pipelined) {
        held_.append(p, n);  // resumed once answers go out
        return;
      }
      const std::size_t k = parser_.feed(p, n);
      p += k;
      n -= k;
      if (parser_.current() == request_parser::state::failed) return reject();
      if (parser_.current() == request_parser::state::body && !continued_) expect_continue();
      if (parser_.current() == request_parser::state::done) {
        continued_ = false;
        dispatch(parser_.take());
      }
    }
  }

  /// `Expect: 100-continue` (curl for bodies over 1 KB): say go ahead, unless earlier answers are
  /// still owed (an interim answer must not overtake them; the client then sends after its own
  /// short wait).
  void expect_continue() {
    continued_ = true;
    if (!slots_.empty() || parser_.partial().minor_version() == 0 ||
        !portico::detail::iequals(parser_.partial().header("expect"), "100-continue"))
      return;
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    out_.push_back(piece{std::string(interim, sizeof interim - 1), nullptr});
    out_bytes_ += sizeof interim - 1;
  }

  void reject() {
    const int status = parser_.error_status();
    w_.log.warn([&] { return "net: " + std::to_string(status) + " to " + peer() + ": " + parser_.error_reason(); });
    parser_.reset();
    stop_parsing_ = true;
    held_.clear();
    push_slot();
    answer(slots_.back().seq, status, "Content-Type: text/plain\r\n", portico::detail::reason_phrase(status), nullptr, true);
  }

  void dispatch(request r) {
    ++served_;
    r.set_remote_endpoint(remote_);
    r.set_io_context(&w_.io);
    handler* h = w_.mounts.find(r.path());
    slot s;
    s.seq = next_seq_++;
    s.minor = r.minor_version();
    s.close = !r.keep_alive() || w_.stopping;
    s.head_only = r.method() == "HEAD";
    if (s.close) stop_parsing_ = true;
    if (r.is_websocket_upgrade()) {
      upgrade u;
      if (!slots_.empty()) {
        u.status = 400;
        u.body = "upgrade behind unanswered requests";
      } else if (h) {
        try {
          u = h->on_upgrade(r);
        } catch (const std::exception& e) {
          w_.log.error(std::string("net: upgrade handler threw: ") + e.what());
          u = upgrade{nullptr, 500, {}};
        } catch (...) {
          u = upgrade{nullptr, 500, {}};
        }
      }
      if (u.accept) return start_websocket(std::move(r), std::move(u.accept));
      slots_.push_back(std::move(s));
      return answer(slots_.back().seq, u.status, "Content-Type: text/plain\r\n", std::move(u.body), nullptr, false);
    }
    const std::uint64_t seq = s.seq;
    slots_.push_back(std::move(s));
    if (!h) return answer(seq, 404, "Content-Type: text/plain\r\n", "Not Found", nullptr, false);
    try {
      h->on_request(std::move(r), response(shared_from_this(), seq));
    } catch (const std::exception& e) {
      // The response was a parameter: destroyed by now, it answered 500 if unsent.
      w_.log.error(std::string("net: request handler threw: ") + e.what());
    } catch (...) {
      w_.log.error("net: request handler threw");
    }
  }

  // --- WebSocket ---
  void start_websocket(request r, std::shared_ptr<websocket_handler> h) {
    mode_ = mode::websocket;
    wsh_ = std::move(h);
    con_ = w_.ws.get_connection();
    basic_connection* self = this;
    using hdl = websocketpp::connection_hdl;
    con_->set_write_handler([self](hdl, const char* p, std::size_t n) {
      self->queue_copy(p, n, nullptr, 0);
      return websocketpp::lib::error_code();
    });
    con_->set_vector_write_handler([self](hdl, const std::vector<websocketpp::transport::buffer>& bufs) {
      for (auto& b : bufs) self->queue_copy(b.buf, b.len, nullptr, 0);
      return websocketpp::lib::error_code();
    });
    // The close handshake is over (or the protocol failed): write what is queued, then close.
    con_->set_shutdown_handler([self](hdl) {
      self->ws_down_ = true;
      self->ws_is_open_ = false;
      self->closing_ = true;
      self->arm_close_deadline();
      if (!self->dead_ && !self->in_batch_)
        asio::post(self->w_.io, [s = self->shared_from_this()] { s->after_output(); });
      return websocketpp::lib::error_code();
    });
    con_->set_open_handler([self](hdl) {
      self->ws_opened_ = self->ws_is_open_ = true;
      self->set_deadline(kind::none, {});
      release_handshake(*self->con_);
      self->self_handle_ = websocket(self->shared_from_this());
      self->guarded([&] { self->wsh_->on_open(self->self_handle_); });
    });
    con_->set_message_handler([self](hdl, detail::ws_endpoint::message_ptr m) {
      if (self->dead_) return;
      const bool binary = m->get_opcode() == websocketpp::frame::opcode::binary;
      self->guarded([&] { self->wsh_->on_message(self->self_handle_, m->get_raw_payload(), binary); });
    });
    // The code the peer sent; when it sent none (websocketpp failed the connection: 1002, 1007,
    // 1009 are terminal there, the TCP connection is dropped after the close frame) the one sent.
    con_->set_close_handler([self](hdl) {
      namespace cs = websocketpp::close::status;
      const auto remote = self->con_->get_remote_close_code();
      const bool got = remote != cs::no_status && remote != cs::abnormal_close && remote != cs::blank;
      self->close_code_ = got ? remote : self->con_->get_local_close_code();
      self->close_reason_ = got ? self->con_->get_remote_close_reason() : self->con_->get_local_close_reason();
    });
    con_->set_fail_handler([self](hdl) {
      self->close_code_ = self->con_->get_local_close_code();
      self->close_reason_ = self->con_->get_local_close_reason();
    });
    set_deadline(kind::ws_handshake, w_.opts.websocket_handshake_timeout);
    con_->start();
    feed_ws(r.raw_head().data(), r.raw_head().size());
    if (!r.body().empty()) feed_ws(r.body().data(), r.body().size());
  }

  /// websocketpp keeps the handshake's parsed request and response (header maps, body, raw
  /// text) for the connection's whole life, though after the open only its failure log reads
  /// them (bench/README.md, idle memory: ~0.9 KB per connection with a bare client's headers,
  /// several KB with a browser's). The handler has the host's own request. The objects are not
  /// const, only the accessors are: resetting them through the reference is well defined.
  template <class Con>
  static void release_handshake(Con& c) {
    using request_type = typename Con::request_type;
    using response_type = typename Con::response_type;
    const_cast<request_type&>(c.get_request()) = request_type();
    const_cast<response_type&>(c.get_response()) = response_type();
  }

  /// The client left: tell the handlers still holding unanswered requests (once each).
  void abort_pending() {
    for (auto& x : slots_) {
      if (x.ready || !x.abort) continue;
      auto f = std::move(x.abort);
      x.abort = nullptr;
      try {
        f();
      } catch (const std::exception& e) {
        w_.log.error(std::string("net: on_abort threw: ") + e.what());
      } catch (...) {
        w_.log.error("net: on_abort threw");
      }
    }
  }

  /// Runs user code; an exception closes the WebSocket with 1011 and is logged once.
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      w_.log.error(std::string("net: websocket handler threw: ") + e.what());
      ws_close(1011, "internal error");
    } catch (...) {
      w_.log.error("net: websocket handler threw");
      ws_close(1011, "internal error");
    }
  }

  /// websocketpp takes at most connection_read_buffer_size per call, and 0 once it stops reading.
  void feed_ws(const char* p, std::size_t n) {
    while (n && !dead_ && !ws_down_) {
      const std::size_t k = con_->read_some(p, n);
      if (k == 0) {
        // After failing a connection (invalid UTF-8 -> 1007, bad frame -> 1002) websocketpp has
        // sent its close frame and reads no more: the host finishes the close (flush, half-close,
        // wait for the peer's FIN under the linger deadline).
        if (con_->get_state() == websocketpp::session::state::closing) {
          close_code_ = con_->get_local_close_code();
          close_reason_ = con_->get_local_close_reason();
          ws_down_ = closing_ = true;
          ws_is_open_ = false;
        }
        break;
      }
      p += k;
      n -= k;
    }
    if (!dead_ && (ws_down_ || con_->get_state() == websocketpp::session::state::closing)) arm_close_deadline();
  }

  /// A closing WebSocket has websocket_close_timeout for the closing handshake and its last
  /// frames. Also once websocketpp is done (ws_down_, sometimes already inside con_->close()):
  /// the close frame may sit behind output a peer that does not read never takes, and the
  /// write would wait forever (seen as a 1008 "send buffer full" that never ended).
  void arm_close_deadline() {
    if (dead_ || lingering_ || deadline_ == kind::ws_close) return;
    set_deadline(kind::ws_close, w_.opts.websocket_close_timeout);
  }

  void notify_ws_close() {
    if (!ws_opened_ || close_notified_) return;
    close_notified_ = true;
    std::uint16_t code = close_code_;
    if (code == websocketpp::close::status::no_status || code == websocketpp::close::status::blank) code = 1006;
    guarded([&] { wsh_->on_close(code, close_reason_); });
  }

  // --- writing ---
  /// Appends [a, a+an) + [b, b+bn) to the output, into the last owned piece when it has room.
  void queue_copy(const char* a, std::size_t an, const char* b, std::size_t bn) {
    if (dead_ || overflow_) return;
    if (out_.empty() || out_.back().shared || out_.back().own.size() >= 64 * 1024) out_.emplace_back();
    std::string& s = out_.back().own;
    s.append(a, an);
    if (bn) s.append(b, bn);
    out_bytes_ += an + bn;
    after_queue();
  }

  void after_queue() {
    if (out_bytes_ > w_.opts.max_output_bytes && !overflow_) {
      overflow_ = true;
      w_.log.warn([&] {
        return "net: " + peer() + " does not read: " + std::to_string(out_bytes_) +
               " bytes queued (max_output_bytes); closing";
      });
      // Possibly inside a websocketpp callback: close from a fresh stack.
      asio::post(w_.io, [self = shared_from_this()] { self->terminate(); });
      return;
    }
    if (!in_batch_) flush();
  }

  /// A broadcast frame queued from outside this connection's own read batch: written at the end
  /// of this event-loop turn, so the frames of one turn leave in one gathered write (a
  /// broadcaster's read batch often holds several events: writing the first at once sent two
  /// writes per four frames; bench/README.md). Other output is written at once, as before.
  void after_broadcast_queue() {
    if (out_bytes_ > w_.opts.max_output_bytes || in_batch_ || writing_ || w_.stopped) return after_queue();
    if (flush_posted_) return;
    flush_posted_ = true;
    // One job per worker and turn drains every connection due (a broadcast to 1000 receivers
    // posted 1000 jobs before).
    w_.flush_due.push_back(shared_from_this());
    if (w_.flush_due.size() == 1) asio::post(w_.io, [&w = w_] { flush_due_connections(w); });
  }

  void flush_turn() override {
    flush_posted_ = false;
    flush();
  }

  /// Answered slots at the front go to the output, in request order.
  void release_ready() {
    while (!slots_.empty() && slots_.front().ready) {
      slot s = std::move(slots_.front());
      slots_.erase(slots_.begin());
      out_bytes_ += s.head.size() + s.body.size() + (s.shared ? s.shared->size() : 0);
      out_.push_back(piece{std::move(s.head), nullptr});
      if (!s.body.empty()) out_.push_back(piece{std::move(s.body), nullptr});
      if (s.shared && !s.shared->empty()) out_.push_back(piece{std::string(), std::move(s.shared)});
      if (s.close) {
        closing_ = stop_parsing_ = true;
        slots_.clear();
        held_.clear();
        break;
      }
    }
  }

  /// After a read batch, a write or an answer from outside one: write, re-arm the deadline,
  /// resume a paused pipeline, wait for input.
  void after_output() {
    if (dead_) return;
    flush();
    if (dead_) return;
    update_deadline();
    if (mode_ == mode::http && !stop_parsing_ && !held_.empty() && slots_.size() < w_.opts.max_pipelined) {
      std::string bytes = std::move(held_);
      held_.clear();
      in_batch_ = true;
      consume(bytes.data(), bytes.size());
      in_batch_ = false;
      return after_output();
    }
    if (was_paused_ && !waiting_ && !read_paused()) {
      // Bytes that arrived while paused had their edge reported already: drain before waiting.
      was_paused_ = false;
      return read_ready();
    }
    arm_wait();
  }

  void flush() {
    if (writing_ || dead_) return;
    if (out_.empty()) {
      if (closing_ && !lingering_) begin_linger();
      return;
    }
    writing_ = true;
    inflight_.swap(out_);
    if constexpr (!Stream::drains_socket) {
      // TLS writes one buffer per record: gather the pieces into one buffer (a copy is cheap
      // next to the encryption) rather than one record per piece.
      std::string& all = stream_.write_buffer();
      all.clear();
      for (auto& p : inflight_) all.append(static_cast<const char*>(p.buffer().data()), p.buffer().size());
      stream_.async_write([self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        self->writing_ = false;
        self->out_bytes_ -= std::min(n, self->out_bytes_);
        self->inflight_.clear();
        self->stream_.release_write_buffer();
        if (ec) {
          self->w_.log.debug([&] { return "net: TLS write to " + self->peer() + " failed: " + ec.message(); });
          return self->terminate();
        }
        self->after_output();
      });
      return;
    }
    bufs_.clear();
    for (auto& p : inflight_) bufs_.push_back(p.buffer());
    asio::async_write(stream_.socket(), bufs_, [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      self->writing_ = false;
      self->out_bytes_ -= std::min(n, self->out_bytes_);
      self->inflight_.clear();
      if (ec) return self->terminate();
      self->after_output();
    });
  }

  /// Half-close and read until the peer closes (bounded): closing with unread input would reset
  /// the connection and could destroy the last answer before the client reads it.
  void begin_linger() {
    lingering_ = true;
    held_.clear();
    set_deadline(kind::linger, w_.opts.linger_timeout);
    if constexpr (!Stream::drains_socket) {
      // TLS: close_notify, then read until the peer's (the stream's shutdown does both). A read
      // in progress is cancelled first (its handler then calls close_tls): one reader at a time.
      if (waiting_) {
        asio::error_code ec;
        stream_.socket().cancel(ec);
      } else {
        close_tls();
      }
      return;
    }
    asio::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  /// The end of a lingering TLS connection: close_notify both ways (bounded by the linger
  /// deadline), then close.
  void close_tls() {
    if constexpr (!Stream::drains_socket) {
      if (dead_ || tls_closing_) return;
      tls_closing_ = true;
      stream_.async_shutdown([self = shared_from_this()](const asio::error_code&) { self->terminate(); });
    }
  }

  void update_deadline() {
    if (dead_ || lingering_ || mode_ == mode::websocket) return;
    if (parser_.in_progress()) {
      if (deadline_ != kind::request) set_deadline(kind::request, w_.opts.request_timeout);
    } else if (slots_.empty() && !writing_ && out_.empty()) {
      // Before the first request the accept's request deadline stands.
      if (deadline_ != kind::idle && served_ > 0) set_deadline(kind::idle, w_.opts.idle_timeout);
    } else if (deadline_ != kind::none) {
      set_deadline(kind::none, {});  // the handler has the request (it may be a long-poll)
    }
  }

  void unregister() noexcept {
    if (!linked_) return;
    linked_ = false;
    if (prev_) prev_->next_ = next_;
    else w_.first = next_;
    if (next_) next_->prev_ = prev_;
    prev_ = next_ = nullptr;
    --w_.connections;
    if (w_.stopping && w_.connections == 0) {  // host::stop() waits for this
      w_.ticker.cancel();
      w_.grace.cancel();
    }
  }

  std::string peer() const {
    asio::error_code ec;
    return remote_.address().to_string(ec) + ":" + std::to_string(remote_.port());
  }

  std::shared_ptr<worker> keep_;
  worker& w_;
  Stream stream_;
  tcp::endpoint remote_;
  request_parser parser_;
  std::vector<slot> slots_;
  std::string held_;  ///< input behind a full pipeline
  std::vector<piece> out_, inflight_;
  std::vector<asio::const_buffer> bufs_;
  std::size_t out_bytes_ = 0;
  std::uint64_t next_seq_ = 0, served_ = 0;

  ws_connection_ptr con_;
  std::shared_ptr<websocket_handler> wsh_;
  websocket self_handle_;  ///< reset on terminate (it keeps this connection alive)
  std::string close_reason_;
  std::uint16_t close_code_ = 1006;

  std::atomic<bool> dead_{false};
  std::atomic<bool> ws_is_open_{false};
  mode mode_ = mode::http;
  kind deadline_ = kind::none;
  bool in_batch_ = false, waiting_ = false, writing_ = false, was_paused_ = false;
  bool stop_parsing_ = false, closing_ = false, lingering_ = false, overflow_ = false, linked_ = false;
  bool ws_down_ = false, ws_opened_ = false, close_notified_ = false, continued_ = false, tls_closing_ = false;
  bool flush_posted_ = false;  ///< a flush at the end of this turn is queued (after_broadcast_queue)
};

using connection = basic_connection<plain_stream>;

inline void flush_due_connections(worker& w) {
  // Swapped out first: a flush may queue the next turn's work (the list keeps its capacity).
  w.flush_draining.swap(w.flush_due);
  for (auto& c : w.flush_draining) c->flush_turn();
  w.flush_draining.clear();
}

}  // namespace portico::net::detail
// ---- end portico/net/connection.hpp ----

namespace portico::net {

struct tls_options;  // <portico/net/tls.hpp>

class host {
 public:
  using tcp = asio::ip::tcp;

  explicit host(host_options o = {}) : opts_(std::move(o)), log_("portico.net") {
    unsigned n = opts_.threads ? opts_.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_shared<worker>(opts_, mounts_, log_));
  }
  host(const host&) = delete;
  host& operator=(const host&) = delete;
  ~host() { stop(); }

  const host_options& options() const noexcept { return opts_; }
  portico::logger& log() noexcept { return log_; }

  /// Serves `h` for every request whose path starts with `prefix` ("/" = everything). The longest
  /// matching prefix wins. Mount before start().
  void mount(std::string prefix, std::shared_ptr<handler> h) {
    if (started_) throw std::logic_error("portico::net::host: mount() after start()");
    auto& m = mounts_.mounts;
    m.erase(std::remove_if(m.begin(), m.end(), [&](auto& e) { return e.first == prefix; }), m.end());
    m.emplace_back(std::move(prefix), std::move(h));
    std::stable_sort(m.begin(), m.end(), [](auto& a, auto& b) { return a.first.size() > b.first.size(); });
  }
  void mount(std::string prefix, function_handler::request_fn on_request, function_handler::upgrade_fn on_upgrade = {}) {
    mount(std::move(prefix), std::make_shared<function_handler>(std::move(on_request), std::move(on_upgrade)));
  }

  /// Listens on `address` ("127.0.0.1", "::1", "0.0.0.0", "::"; "" = "0.0.0.0") and `port`
  /// (0 = ephemeral); returns the bound port. An IPv6 socket is IPv6-only, so "::" and "0.0.0.0"
  /// can both listen on one port. Throws std::system_error (e.g. address in use).
  std::uint16_t listen(const std::string& address, std::uint16_t port) {
    return listen_with(address, port, [](const std::shared_ptr<worker>& w, tcp::socket s) {
      std::make_shared<detail::connection>(w, std::move(s))->start();
    });
  }

  /// Like listen(), but the listener speaks TLS: https:// and wss:// on it, the same mounts.
  /// Defined in <portico/net/tls.hpp> (which declares tls_options): only programs that include it
  /// link OpenSSL. Throws std::invalid_argument naming an option whose file cannot be used.
  inline std::uint16_t listen_tls(const std::string& address, std::uint16_t port, const tls_options& tls);

  /// Makes and starts the connection of an accepted socket, on the worker's thread.
  using spawn_fn = std::function<void(const std::shared_ptr<worker>&, tcp::socket)>;

  /// listen() with the connection type of `spawn` (plain, TLS).
  std::uint16_t listen_with(const std::string& address, std::uint16_t port, spawn_fn spawn) {
    if (stopped_) throw std::logic_error("portico::net::host: listen() after stop()");
    const auto addr = asio::ip::make_address(address.empty() ? "0.0.0.0" : address);
    const tcp::endpoint where(addr, port);
    auto& w = *workers_[acceptors_.size() % workers_.size()];
    auto a = std::make_unique<listener>(w.io, std::move(spawn));
    a->acceptor.open(where.protocol());
    if (addr.is_v6()) a->acceptor.set_option(asio::ip::v6_only(true));
    a->acceptor.set_option(tcp::acceptor::reuse_address(true));  // TIME_WAIT only: not SO_REUSEPORT
    asio::error_code ec;
    a->acceptor.bind(where, ec);
    if (ec) {
      log_.error("net: cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
      throw std::system_error(ec, "portico::net::host::listen " + address + ":" + std::to_string(port));
    }
    a->acceptor.listen(asio::socket_base::max_listen_connections);
    const std::uint16_t bound = a->acceptor.local_endpoint().port();
    acceptors_.push_back(std::move(a));
    if (started_) {
      listener* l = acceptors_.back().get();
      asio::post(l->acceptor.get_executor(), [this, l] { accept(*l); });
    }
    return bound;
  }

  /// Where the host listens (in listen() order).
  std::vector<tcp::endpoint> local_endpoints() const {
    std::vector<tcp::endpoint> r;
    for (auto& a : acceptors_) {
      asio::error_code ec;
      r.push_back(a->acceptor.local_endpoint(ec));
    }
    return r;
  }

  /// Starts the I/O threads.
  void start() {
    if (started_ || stopped_) return;
    started_ = true;
    for (auto& a : acceptors_) {
      listener* l = a.get();
      asio::post(l->acceptor.get_executor(), [this, l] { accept(*l); });
    }
    for (auto& wp : workers_) {
      worker* w = wp.get();
      tick(*w);
      w->thread = std::thread([w] { w->io.run(); });
    }
  }

  /// Stops accepting, lets HTTP connections finish the answers they owe and sends WebSockets a
  /// 1001 close, then closes whatever is left after opts.stop_timeout and joins the threads.
  /// Idempotent; not from an I/O thread of this host.
  void stop() {
    if (stopped_) return;
    for (auto& w : workers_)
      if (w->thread.get_id() == std::this_thread::get_id())
        throw std::logic_error("portico::net::host::stop() called from one of its I/O threads");
    stopped_ = true;
    if (!started_) return;
    for (auto& a : acceptors_) {
      listener* l = a.get();
      asio::post(l->acceptor.get_executor(), [l] {
        asio::error_code ec;
        l->acceptor.close(ec);
        l->retry.cancel();
      });
    }
    for (auto& wp : workers_) {
      worker* w = wp.get();
      asio::post(w->io, [w] {
        w->stopping = true;
        for (detail::connection_base* c = w->first; c;) {
          detail::connection_base* next = c->next_connection();
          c->begin_stop();
          c = next;
        }
        w->grace.expires_after(w->opts.stop_timeout);
        w->grace.async_wait([w](const asio::error_code& ec) {
          if (ec) return;
          while (w->first) w->first->terminate();
        });
        drained(*w);
      });
    }
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
      w->stopped = true;
      // Answers posted while the thread was ending hold their connection (which holds the
      // worker): run them out now; they see `stopped` and drop what they carry.
      w->io.restart();
      w->io.poll();
    }
  }

  /// Connections accepted since the host was made (for tests and metrics: keep-alive shows as
  /// fewer connections than requests).
  std::size_t accepted_count() const noexcept { return accepted_.load(std::memory_order_relaxed); }

  /// Live connections (HTTP and WebSocket), summed over threads; for tests and metrics (waits
  /// for each I/O thread: not from one of them).
  std::size_t connection_count() {
    std::size_t n = 0;
    for (auto& wp : workers_) {
      worker* w = wp.get();
      if (!started_ || stopped_) {
        n += w->connections;
        continue;
      }
      std::promise<std::size_t> p;
      auto f = p.get_future();
      asio::post(w->io, [w, &p] { p.set_value(w->connections); });
      n += f.get();
    }
    return n;
  }

 private:
  struct listener {
    listener(asio::io_context& io, spawn_fn s) : acceptor(io), retry(io), spawn(std::move(s)) {}
    tcp::acceptor acceptor;
    asio::steady_timer retry;  ///< after an accept error (EMFILE): try again shortly
    spawn_fn spawn;
  };

  /// Accepted sockets are spread over the threads round-robin.
  void accept(listener& l) {
    auto& target = workers_[next_worker_++ % workers_.size()];
    l.acceptor.async_accept(target->io, [this, &l, target](const asio::error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
      if (ec) {
        log_.warn("net: accept failed: " + ec.message());
        l.retry.expires_after(std::chrono::milliseconds(100));
        l.retry.async_wait([this, &l](const asio::error_code& e) {
          if (!e && l.acceptor.is_open()) accept(l);
        });
        return;
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      asio::post(target->io, [target, &l, sock = std::move(s)]() mutable {
        if (target->stopping) return;
        l.spawn(target, std::move(sock));
      });
      accept(l);
    });
  }

  /// The wheel's timer; once stopping and without connections, it stops and the thread ends.
  void tick(worker& w) {
    w.ticker.expires_after(w.wheel.resolution());
    w.ticker.async_wait([this, &w](const asio::error_code& ec) {
      if (ec) return;
      w.wheel.advance();
      if (!drained(w)) tick(w);
    });
  }
  static bool drained(worker& w) {
    if (!w.stopping || w.connections) return false;
    w.ticker.cancel();
    w.grace.cancel();
    return true;
  }

  host_options opts_;
  portico::logger log_;
  detail::mount_table mounts_;
  std::vector<std::shared_ptr<worker>> workers_;
  std::vector<std::unique_ptr<listener>> acceptors_;
  std::atomic<std::size_t> next_worker_{0};
  std::atomic<std::size_t> accepted_{0};
  bool started_ = false, stopped_ = false;
};

}  // namespace portico::net
// ---- end portico/net/host.hpp ----
// ---- begin portico/engineio/detail/core.hpp ----
/// The state an Engine.IO server shares with its sessions and workers: options, handlers, the
/// session table, and the checks and answers of requests on the engine path. What a request
/// then does with a session is in requests.hpp.
// ---- begin portico/engineio/handshake.hpp ----
/// The first request of a session as handlers see it (engineio::handshake), and the parsing of
/// every request's URL: query string, url-decoding, the Engine.IO parameters.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::engineio {

/// What the first HTTP request of a session carried.
struct handshake {
  std::string url, query_string, remote_address, transport;
  std::vector<std::pair<std::string, std::string>> query;    ///< url-decoded
  std::chrono::system_clock::time_point time;
  int protocol = 4;  ///< 3 or 4

  /// The request header `name` (any case); empty when absent.
  std::string_view header(std::string_view name) const {
    std::string_view rest = raw_headers_;
    while (!rest.empty()) {
      std::size_t colon = rest.find(':'), end = rest.find('\n');
      std::string_view key = rest.substr(0, colon);
      if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
            return a == (b >= 'A' && b <= 'Z' ? char(b - 'A' + 'a') : b);
          }))
        return rest.substr(colon + 1, end - colon - 1);
      rest.remove_prefix(end + 1);
    }
    return {};
  }
  /// Every request header, names lower-cased, sorted by name (built on each call).
  std::vector<std::pair<std::string, std::string>> headers() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::string_view rest = raw_headers_;
    while (!rest.empty()) {
      std::size_t colon = rest.find(':'), end = rest.find('\n');
      out.emplace_back(rest.substr(0, colon), rest.substr(colon + 1, end - colon - 1));
      rest.remove_prefix(end + 1);
    }
    return out;
  }
  void reserve_headers(std::size_t bytes) { raw_headers_.reserve(bytes); }
  /// Records one header (the name is lower-cased). Used by the server while building the handshake.
  void add_header(std::string_view name, std::string_view value) {
    for (char c : name) raw_headers_.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
    raw_headers_.push_back(':');
    for (char c : value) raw_headers_.push_back(c == '\n' ? ' ' : c);
    raw_headers_.push_back('\n');
  }
  std::string_view query_param(std::string_view name) const {
    for (auto& [k, v] : query)
      if (k == name) return v;
    return {};
  }

 private:
  /// "name:value\n" per header in one string: one allocation per session instead of two
  /// strings per header (this struct lives as long as the connection).
  std::string raw_headers_;
};

namespace detail {

inline std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out.push_back(' ');
    else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else out.push_back(s[i]);
  }
  return out;
}

inline std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos) out.emplace_back(url_decode(part), std::string());
      else out.emplace_back(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

/// What one request asks for, parsed once.
struct parsed_request {
  std::string path, query_string;
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view eio, transport, sid;
  bool b64 = false;
  int protocol = 0;
};

/// Fills `r` from a request target ("/engine.io/?EIO=4&transport=polling&sid=...").
inline void parse_request(const std::string& resource, parsed_request& r) {
  auto q = resource.find('?');
  r.path = resource.substr(0, q);
  if (q != std::string::npos) r.query_string = resource.substr(q + 1);
  r.query = parse_query(r.query_string);
  for (auto& [k, v] : r.query) {
    if (k == "EIO") r.eio = v;
    else if (k == "transport") r.transport = v;
    else if (k == "sid") r.sid = v;
    else if (k == "b64") r.b64 = !v.empty() && v != "0" && v != "false";
  }
}

}  // namespace detail
}  // namespace portico::engineio
// ---- end portico/engineio/handshake.hpp ----
// ---- begin portico/engineio/message.hpp ----
/// What travels through a session: a received message, and a pre-encoded frame to send.

#include <memory>
#include <string>
#include <vector>

namespace portico::engineio {

/// A received message, moved out of the websocket frame or polling payload.
struct message {
  bool binary = false;
  std::string data;
};

/// A pre-encoded broadcast unit: one Engine.IO message text (without the leading '4') plus
/// binary messages sent right after it. Immutable and shared by all recipients.
struct frame {
  std::string text;
  std::vector<std::string> binaries;
  /// A volatile emit: dropped for a recipient whose send buffer is over max_buffered_bytes,
  /// instead of closing that session.
  bool droppable = false;
};
using frame_ptr = std::shared_ptr<const frame>;

namespace detail {

/// `f`, or a copy whose text is repaired when it is not valid UTF-8: every text frame the engine
/// sends passes here once (browsers close a websocket on an invalid text frame).
inline frame_ptr valid_utf8_frame(frame_ptr f) {
  if (!f || portico::detail::utf8_valid(f->text)) return f;
  auto copy = std::make_shared<frame>(*f);
  portico::detail::utf8_repair(copy->text);
  return copy;
}

}  // namespace detail
}  // namespace portico::engineio
// ---- end portico/engineio/message.hpp ----
// ---- begin portico/engineio/detail/http_error.hpp ----
/// The refusals of a request on the engine path: the reference server's codes and JSON bodies.
#include <string>

namespace portico::engineio::detail {

/// The reference server's error codes and messages (engine.io `Server.errors`).
enum class http_error { unknown_transport = 0, unknown_sid = 1, bad_handshake_method = 2, bad_request = 3, forbidden = 4, unsupported_protocol_version = 5 };

inline const char* http_error_message(http_error e) {
  switch (e) {
    case http_error::unknown_transport: return "Transport unknown";
    case http_error::unknown_sid: return "Session ID unknown";
    case http_error::bad_handshake_method: return "Bad handshake method";
    case http_error::bad_request: return "Bad request";
    case http_error::forbidden: return "Forbidden";
    case http_error::unsupported_protocol_version: return "Unsupported protocol version";
  }
  return "Bad request";
}

inline std::string error_body(http_error e) {
  return "{\"code\":" + std::to_string(int(e)) + ",\"message\":\"" + http_error_message(e) + "\"}";
}

}  // namespace portico::engineio::detail
// ---- end portico/engineio/detail/http_error.hpp ----
// ---- begin portico/engineio/detail/worker.hpp ----
/// One worker: an io_context, the thread that runs it and the websocketpp endpoint listening on
/// it. A session lives on one worker at a time (its home); the server starts, drains and joins
/// the workers.
// ---- begin portico/detail/user_code.hpp ----
/// One policy for running user code (handlers, callbacks, tasks) on a thread portico owns: what
/// it throws is logged once at error level and reported as `false`; it never reaches the loop
/// that called it, so one bad handler cannot take an I/O thread (and every session on it) down.
///
/// Code that turns an exception into an answer for the client (the router's http_exception, the
/// framework's exception filters) catches that first and leaves the rest to this.

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

namespace portico::detail {

/// The one log line of a failure; `error` is the exception's what(), null for a non-standard one.
template <class W>
void log_user_code_failure(const logger* log, W& what, const char* error) noexcept {
  if (!log) return;
  try {  // logging may throw (allocation, a user sink): never out of here
    log->error([&] {
      std::string line;
      if constexpr (std::is_invocable_v<W&>) line = what();
      else line = std::string(what);
      return error ? line + " threw: " + error : line + " threw a non-standard exception";
    });
  } catch (...) {
  }
}

/// For the `catch (...)` that ends a ladder whose first clauses map some exceptions to an answer:
/// logs the exception in flight as run_user_code does.
template <class W>
void log_user_code_exception(const logger* log, W&& what) noexcept {
  try {
    throw;
  } catch (const std::exception& e) {
    log_user_code_failure(log, what, e.what());
  } catch (...) {
    log_user_code_failure(log, what, nullptr);
  }
}

/// Runs `f`; false when it threw. `what` names the code in the log line ("event handler 'chat'"):
/// a string, or a callable returning one, built only when something was thrown (nothing to pay
/// on the hot path). `log` may be null: then the failure is swallowed silently.
template <class W, class F>
bool run_user_code(const logger* log, W&& what, F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return true;
  } catch (...) {
    log_user_code_exception(log, what);
  }
  return false;
}

template <class W, class F>
bool run_user_code(const logger& log, W&& what, F&& f) noexcept {
  return run_user_code(&log, std::forward<W>(what), std::forward<F>(f));
}

}  // namespace portico::detail
// ---- end portico/detail/user_code.hpp ----
// ---- begin portico/engineio/metrics.hpp ----
/// Per-worker counters (docs/metrics.md): each I/O worker owns one block of counters that only
/// its own thread writes, with a relaxed load and store (a plain `add` on x86 and ARM: no lock
/// prefix, no shared cache line between workers); a reader on any thread sums the blocks with
/// relaxed loads. A count may lag by the writes still in flight on another core, which a scrape
/// cannot tell from having come a microsecond earlier. Counts made on a thread that is not a
/// worker (a user's thread, a timer thread) go to one shared block with `fetch_add`: those are
/// never on the per-message path.
///
/// The block is a fixed array of slots; this layer uses `eio::*`, the layers above number theirs
/// from `first_upper_slot` (socketio/metrics.hpp), so engineio stays ignorant of them.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace portico::engineio::metrics {

constexpr unsigned slot_count = 32;
constexpr unsigned first_upper_slot = 12;

/// Engine.IO's slots.
namespace eio {
enum : unsigned {
  sessions_opened = 0,  ///< handshakes accepted (any transport)
  upgrades,             ///< polling sessions upgraded to websocket
  packets_in,           ///< Engine.IO packets received (message, ping, pong, close, ...)
  packets_out,          ///< Engine.IO packets queued for a client (broadcast: one per recipient)
  bytes_in,             ///< payload bytes received: websocket frames, POST bodies
  bytes_out,            ///< bytes queued for clients: websocket frames, GET bodies
  send_queue_overflows, ///< sends refused by max_buffered_bytes (dropped or closed)
  parse_errors,         ///< sessions closed for a malformed Engine.IO payload
  oversize_payloads,    ///< sessions closed for a message or POST over max_payload
  ping_timeouts,        ///< sessions closed because the client stopped answering pings
  transport_errors,     ///< sessions closed for a transport error (send buffer full, ...)
};
static_assert(transport_errors < first_upper_slot, "engineio slots overlap the upper layers'");
}  // namespace eio

/// One worker's counters. Cache-line aligned so that two workers never write the same line.
struct alignas(64) counters {
  std::array<std::atomic<std::int64_t>, slot_count> v{};
  /// Only on the thread that owns the block.
  void add(unsigned i, std::int64_t n = 1) noexcept {
    v[i].store(v[i].load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  /// From any thread (the shared block).
  void add_shared(unsigned i, std::int64_t n = 1) noexcept { v[i].fetch_add(n, std::memory_order_relaxed); }
  std::int64_t get(unsigned i) const noexcept { return v[i].load(std::memory_order_relaxed); }
};

/// The blocks of one server: one per worker plus the shared one. Blocks are added as workers
/// are made, never removed: by listen() before the workers run, and, mounted on a net::host, by
/// the first request a host thread brings. A fixed table with a published count lets a reader
/// sum while a block is added. Past `max_workers` threads a worker's counts are not kept.
class registry {
 public:
  static constexpr unsigned max_workers = 256;
  explicit registry(unsigned workers = 0) {
    for (unsigned i = 0; i < workers; ++i) add_worker();
  }
  /// A new worker's block (null past max_workers: that worker counts nothing).
  counters* add_worker() {
    std::lock_guard<std::mutex> g(add_mu_);
    unsigned n = count_.load(std::memory_order_relaxed);
    if (n == max_workers) return nullptr;
    blocks_[n] = std::make_unique<counters>();
    count_.store(n + 1, std::memory_order_release);
    return blocks_[n].get();
  }
  counters* worker(unsigned i) noexcept { return i < workers() ? blocks_[i].get() : nullptr; }
  counters& shared() noexcept { return shared_; }
  std::size_t workers() const noexcept { return count_.load(std::memory_order_acquire); }
  /// The sum over the workers and the shared block.
  std::int64_t sum(unsigned i) const noexcept {
    std::int64_t s = shared_.get(i);
    const std::size_t n = workers();
    for (std::size_t k = 0; k < n; ++k) s += blocks_[k]->get(i);
    return s;
  }
  std::array<std::int64_t, slot_count> sums() const noexcept {
    std::array<std::int64_t, slot_count> out{};
    for (unsigned i = 0; i < slot_count; ++i) out[i] = sum(i);
    return out;
  }

 private:
  std::array<std::unique_ptr<counters>, max_workers> blocks_;
  std::atomic<unsigned> count_{0};
  std::mutex add_mu_;
  counters shared_;
};

}  // namespace portico::engineio::metrics
// ---- end portico/engineio/metrics.hpp ----

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace portico::engineio::detail {

struct worker {
  explicit worker(unsigned i) : index(i), own_ioc(1), ioc(own_ioc) {}
  /// A thread of a net::host the engine is mounted on: the host runs `io`; no endpoint listens.
  worker(unsigned i, asio::io_context& io) : index(i), own_ioc(1), ioc(io), hosted(true) {}
  unsigned index;
  mutable asio::io_context own_ioc;  // declared before `ep`: the endpoint's acceptor must die first
  asio::io_context& ioc;             ///< own_ioc, or the host thread's
  bool hosted = false;
  ws_endpoint ep;
  std::thread thread;
  /// This worker's counters, written only on its thread; null when metrics are off.
  metrics::counters* stats = nullptr;
  bool running_here() const { return ioc.get_executor().running_in_this_thread(); }
  /// Runs the io_context until it is stopped or out of work (the worker's thread). What a
  /// handler throws loses that handler's work, never the worker and the sessions on it.
  void run(const portico::logger& log) {
    while (!portico::detail::run_user_code(log, "a handler on an Engine.IO worker", [this] { ioc.run(); })) {
    }
  }
};

/// Waits until every worker has run the tasks queued so far (or the deadline passes).
inline void barrier(const std::vector<std::unique_ptr<worker>>& workers,
                    std::chrono::steady_clock::time_point deadline) {
  auto left = std::make_shared<std::pair<std::mutex, std::size_t>>();
  auto cv = std::make_shared<std::condition_variable>();
  left->second = workers.size();
  for (auto& w : workers)
    asio::post(w->ioc, [left, cv] {
      std::lock_guard<std::mutex> g(left->first);
      if (--left->second == 0) cv->notify_all();
    });
  std::unique_lock<std::mutex> g(left->first);
  cv->wait_until(g, deadline, [&] { return left->second == 0; });
}

}  // namespace portico::engineio::detail
// ---- end portico/engineio/detail/worker.hpp ----

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace portico::engineio {

class socket;  // socket.hpp
using socket_ptr = std::shared_ptr<socket>;
using http_connection_ptr = detail::ws_connection_ptr;

namespace detail {

/// State shared by all workers. Sessions keep it alive through shared_ptr.
struct core : std::enable_shared_from_this<core> {
  explicit core(server_options o) : opts(std::move(o)), log("portico.engineio") {}

  server_options opts;
  portico::logger log;
  std::function<void(const socket_ptr&)> on_open;
  std::function<void(const socket_ptr&, message&&)> on_message;
  std::function<void(const socket_ptr&, close_reason)> on_close;
  std::function<bool(const http_connection_ptr&)> on_http;
  std::function<bool(const ws_connection_ptr&)> on_websocket;
  std::function<void()> on_stop;  ///< closes what on_websocket accepted (plain ws routes)

  std::vector<std::unique_ptr<worker>> workers;
  std::unique_ptr<metrics::registry> stats;  ///< opts.metrics: one block per worker (listen())
  std::mutex table_mu;
  std::unordered_map<std::string, socket_ptr> table;
  std::atomic<bool> stopping{false};
  std::atomic<bool> destroyed{false};  ///< workers are gone: sockets kept by users go inert

  socket_ptr find(std::string_view sid) {
    std::lock_guard<std::mutex> g(table_mu);
    auto it = table.find(std::string(sid));
    return it == table.end() ? nullptr : it->second;
  }
  void erase(const std::string& sid) {
    std::lock_guard<std::mutex> g(table_mu);
    table.erase(sid);
  }
  std::string register_session_sid() {
    // sids are random; the loop only guards against the astronomically unlikely collision
    for (;;) {
      std::string s = portico::detail::random_id();
      std::lock_guard<std::mutex> g(table_mu);
      if (!table.count(s)) return s;
    }
  }
  void insert(const socket_ptr& s);

  bool transport_enabled(std::string_view t) const {
    return (t == "polling" && opts.polling) || (t == "websocket" && opts.websocket);
  }
  std::string open_packet_json(const std::string& sid, bool upgrades) const {
    open_info oi;
    oi.sid = sid;
    if (upgrades) oi.upgrades.push_back("websocket");
    oi.ping_interval = opts.ping_interval.count();
    oi.ping_timeout = opts.ping_timeout.count();
    oi.max_payload = static_cast<long long>(opts.max_payload);
    return open_json(oi);
  }
  /// detail::parse_request (handshake.hpp).
  static void parse(const std::string& resource, parsed_request& r) { parse_request(resource, r); }

  bool path_matches(std::string_view path) const {
    std::string_view p = opts.path;
    if (path == p) return true;
    if (!p.empty() && p.back() == '/' && path == p.substr(0, p.size() - 1)) return true;
    return false;
  }

  int protocol_of(std::string_view eio) const {
    if (eio == "4") return 4;
    if (eio == "3" && opts.allow_eio3) return 3;
    return 0;
  }

  static std::string remote_of(const ws_connection_ptr& con) {
    asio::error_code ec;
    auto ep = con->get_raw_socket().remote_endpoint(ec);
    if (ec) return {};
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a.to_string();
  }

  struct handshake make_handshake(const ws_connection_ptr& con, const parsed_request& r, int protocol) const {
    struct handshake h;
    h.url = con->get_resource();
    h.query_string = r.query_string;
    h.remote_address = remote_of(con);
    h.transport = std::string(r.transport);
    const auto& headers = con->get_request().get_headers();
    std::size_t size = 0;
    for (auto& [k, v] : headers) size += k.size() + v.size() + 2;
    h.reserve_headers(size);
    for (auto& [k, v] : headers) h.add_header(k, v);
    h.query = r.query;
    h.time = std::chrono::system_clock::now();
    h.protocol = protocol;
    return h;
  }

  void refuse_http(const ws_connection_ptr& con, http_error e, const char* why = nullptr) {
    auto status = e == http_error::forbidden ? websocketpp::http::status_code::forbidden
                                             : websocketpp::http::status_code::bad_request;
    con->set_status(status);
    con->replace_header("Content-Type", "application/json");
    con->set_body(error_body(e));
    log.info([&] {
      return "refused " + remote_of(con) + " " + con->get_request().get_method() + " " +
             portico::detail::printable(con->get_resource()) + ": " +
             std::to_string(int(status)) + " " + (why ? why : http_error_message(e));
    });
  }

  /// What the checks of a request need of it, on websocketpp's endpoint.
  struct asio_exchange {
    core& c;
    const ws_connection_ptr& con;
    const std::string& method() const { return con->get_request().get_method(); }
    bool cors() const { return apply_cors(c.opts.cors, con); }
    void refuse(http_error e, const char* why) const { c.refuse_http(con, e, why); }
  };

  /// Common checks of a request on the engine path; returns false after filling the refusal.
  bool check_request(const ws_connection_ptr& con, parsed_request& r, bool is_websocket) {
    return check(asio_exchange{*this, con}, r, is_websocket);
  }
  template <class X>
  bool check(const X& x, parsed_request& r, bool is_websocket) {
    if (!transport_enabled(r.transport)) {
      x.refuse(http_error::unknown_transport, nullptr);
      return false;
    }
    if (!x.cors()) {
      x.refuse(http_error::forbidden, "origin not allowed");
      return false;
    }
    r.protocol = protocol_of(r.eio);
    if (r.protocol == 0) {
      x.refuse(http_error::unsupported_protocol_version, nullptr);
      return false;
    }
    if (r.sid.empty()) {
      if (x.method() != "GET") {
        x.refuse(http_error::bad_handshake_method, nullptr);
        return false;
      }
      if (!is_websocket && r.transport == "websocket") {
        x.refuse(http_error::bad_request, "websocket transport without an upgrade");
        return false;
      }
    }
    // An upgrade speaks only the websocket transport: a "polling" one would start a websocket
    // session (or probe) that calls itself polling. Node accepts and closes it at once.
    if (is_websocket && r.transport != "websocket") {
      x.refuse(http_error::bad_request, "websocket upgrade for the polling transport");
      return false;
    }
    return true;
  }

  /// A HEAD response has the headers of the answer to GET, never a body (RFC 9110 9.3.2); runs
  /// after every plain HTTP handler (Engine.IO, routes, the 404).
  static void drop_head_body(const ws_connection_ptr& con) {
    if (con->get_request().get_method() != "HEAD") return;
    const std::string& body = con->get_response().get_body();
    if (body.empty()) return;  // none, or deferred (the router answers HEAD itself)
    std::string length = std::to_string(body.size());
    con->set_body("");
    con->replace_header("Content-Length", length);
  }

  /// One log line for a request refused before any handler ran: by the parser (malformed, or
  /// detail::checked_request) or by websocketpp's handshake checks (a bad upgrade). Refusals of
  /// handlers (`rejected`) are logged where they happen; no status means no request came.
  void log_early_refusal(const ws_connection_ptr& con) {
    auto ec = con->get_ec();
    auto status = con->get_response().get_status_code();
    if (int(status) < 400 || ec == websocketpp::error::make_error_code(websocketpp::error::rejected)) return;
    log.info([&] {
      const auto& req = con->get_request();
      const std::string& remote = req.peer();
      return "refused " + (remote.empty() ? std::string("?") : remote) + " " + req.get_method() + " " +
             portico::detail::printable(req.get_uri()) + ": " + std::to_string(int(status)) + " " +
             portico::detail::printable(req.refusal().empty() ? ec.message() : req.refusal());
    });
  }

  // ---------------------------------------------------------------- HTTP (requests.hpp)

  void handle_http(worker& w, websocketpp::connection_hdl hdl);

  /// websocketpp answers a request whose Content-Length passes max_http_body_size with 413
  /// itself, before the HTTP handler runs: such a POST closes its polling session all the same,
  /// like a body within that cap but over max_payload (on_post).
  void handle_failed_http(worker& w, websocketpp::connection_hdl hdl);

  /// Sends a deferred HTTP response, on the worker that owns the connection.
  static void respond(const ws_connection_ptr& con, worker* w, websocketpp::http::status_code::value status,
                      std::string body, const char* content_type) {
    auto run = [con, status, body = std::move(body), content_type] {
      con->set_status(status);
      con->replace_header("Content-Type", content_type);
      con->set_body(body);
      websocketpp::lib::error_code ec;
      con->send_http_response(ec);
    };
    if (w->running_here()) run();
    else asio::post(w->ioc, std::move(run));
  }

  static void respond_error(const ws_connection_ptr& con, worker* w, http_error e) {
    respond(con, w,
            e == http_error::forbidden ? websocketpp::http::status_code::forbidden
                                       : websocketpp::http::status_code::bad_request,
            error_body(e), "application/json");
  }

  // ---------------------------------------------------------------- net::host (host_handler.hpp)
  /// The engine's worker for a thread of the host it is mounted on (made on first use).
  worker* hosted_worker(asio::io_context& io) {
    std::lock_guard<std::mutex> g(hosted_mu);
    for (auto& w : hosted)
      if (&w->ioc == &io) return w.get();
    hosted.push_back(std::make_unique<worker>(static_cast<unsigned>(hosted.size()), io));
    if (stats) hosted.back()->stats = stats->add_worker();
    return hosted.back().get();
  }
  std::mutex hosted_mu;
  std::vector<std::unique_ptr<worker>> hosted;  ///< never shrinks while sessions may point here

  // ---------------------------------------------------------------- WebSocket (requests.hpp)
  bool validate_ws(worker& w, websocketpp::connection_hdl hdl);
  void attach_ws_handlers(const ws_connection_ptr& con, const std::weak_ptr<socket>& weak, const void* id);

  /// The one log line of a session's close (defined with the socket).
  void dispatch_close_log(const socket& s, close_reason r, std::string_view detail);
};

}  // namespace detail
}  // namespace portico::engineio
// ---- end portico/engineio/detail/core.hpp ----
// ---- begin portico/engineio/detail/host_handler.hpp ----
/// The engine as a handler mounted on a `net::host`: polling requests are answered through
/// `net::response` (the host keeps the connection alive between them), upgrades become a
/// `net::websocket_handler` whose frames websocketpp's protocol processor decodes on the host's
/// socket. Sessions live on the host's I/O threads (one engine worker per host thread).
/// Requests outside the engine path go to the fallback handler (the HTTP router), or get a 404.
// ---- begin portico/engineio/socket.hpp ----
/// engineio::socket, one Engine.IO session: its home worker, heartbeat, send buffers and their
/// limit, the polling requests it answers, its upgrade to websocket, and its close.
// ---- begin portico/engineio/detail/links.hpp ----
/// The two ends a session talks through, whichever transport carries them: a pending polling
/// answer (`poll_reply`) and a WebSocket (`ws_link`). Each is either a connection of websocketpp's
/// own Asio endpoint (the server listening by itself) or a connection of a `net::host` the engine
/// is mounted on (one port shared with other handlers, HTTP/1.1 keep-alive).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace portico::engineio::detail {

/// A polling GET or POST waiting for its answer (one-shot).
struct poll_reply {
  ws_connection_ptr con;  ///< websocketpp: a deferred HTTP response, sent on `w`
  worker* w = nullptr;
  net::response res;      ///< net::host: sent from any thread
  std::string cors;       ///< net::host: the CORS header fields of the request (already checked)

  poll_reply() = default;
  poll_reply(ws_connection_ptr c, worker* wk) : con(std::move(c)), w(wk) {}
  poll_reply(net::response r, std::string cors_fields) : res(std::move(r)), cors(std::move(cors_fields)) {}

  explicit operator bool() const noexcept { return con || res.pending(); }

  void send(int status, std::string body, const char* content_type) {
    if (con) {
      auto c = std::move(con);
      con.reset();
      auto run = [c, status, body = std::move(body), content_type] {
        c->set_status(static_cast<websocketpp::http::status_code::value>(status));
        c->replace_header("Content-Type", content_type);
        c->set_body(body);
        websocketpp::lib::error_code ec;
        c->send_http_response(ec);
      };
      if (w->running_here()) run();
      else asio::post(w->ioc, std::move(run));
      return;
    }
    if (!res.pending()) return;
    res.status(status).header("Content-Type", content_type);
    append_fields(cors);
    res.send(std::move(body));
  }
  void send_error(http_error e) {
    send(e == http_error::forbidden ? 403 : 400, error_body(e), "application/json");
  }

 private:
  /// "Name: value\r\n" lines kept from the request's checks.
  void append_fields(const std::string& f) {
    std::size_t at = 0;
    while (at < f.size()) {
      auto end = f.find("\r\n", at);
      if (end == std::string::npos) end = f.size();
      auto colon = f.find(':', at);
      if (colon != std::string::npos && colon < end)
        res.header(std::string_view(f).substr(at, colon - at), std::string_view(f).substr(colon + 2, end - colon - 2));
      at = end + 2;
    }
  }
};

/// A session's WebSocket (or upgrade probe). Used on its own worker (`w`).
struct ws_link {
  ws_connection_ptr con;  ///< websocketpp's Asio endpoint
  net::websocket net;     ///< a net::host connection
  worker* w = nullptr;    ///< the thread the connection lives on
  bool b64 = false;       ///< v3: the request asked for base64 binary (`b4` text frames)

  ws_link() = default;
  ws_link(ws_connection_ptr c, worker* wk) : con(std::move(c)), w(wk) {}
  ws_link(net::websocket n, worker* wk) : net(std::move(n)), w(wk) {}

  explicit operator bool() const noexcept { return con || net; }
  const void* id() const noexcept { return con ? static_cast<const void*>(con.get()) : net.id(); }
  void reset() { *this = ws_link(); }

  /// Sends one message (framed here, or by websocketpp).
  void send(bool binary, std::string payload) const {
    if (net) return net.send(payload, binary);
    if (con) send_prepared(prepared_frame(binary ? websocketpp::frame::opcode::binary : websocketpp::frame::opcode::text,
                                          std::move(payload)));
  }
  /// websocketpp only: a message prepared once for many recipients.
  void send_prepared(ws_message_ptr m) const {
    if (!con) return;
    if (w->running_here()) {
      con->send(m);
    } else {
      asio::post(w->ioc, [c = con, m = std::move(m)] { c->send(m); });
    }
  }
  void close(std::uint16_t code = 1000) const {
    if (net) return net.close(code);
    if (!con) return;
    auto run = [c = con, code] {
      websocketpp::lib::error_code ec;
      c->close(static_cast<websocketpp::close::status::value>(code), "", ec);
    };
    if (w->running_here()) run();
    else asio::post(w->ioc, run);
  }
  /// Bytes queued and not yet written, on the link's own thread (0 elsewhere, where it cannot be
  /// read).
  std::size_t buffered() const {
    if (!w || !w->running_here()) return 0;
    if (net) return net.buffered_amount();
    return con ? con->get_buffered_amount() : 0;
  }
};

}  // namespace portico::engineio::detail
// ---- end portico/engineio/detail/links.hpp ----

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::engineio {

namespace detail {
class host_handler;
class host_ws;
enum class transport_kind : int { polling = 0, websocket = 1 };

/// What a send does when the client's send buffer is over max_buffered_bytes.
enum class when_full : std::uint8_t {
  close,  ///< close the session (the default)
  drop,   ///< drop the packet (volatile)
  send,   ///< send anyway (a part of a packet already checked as a whole)
};

/// One queued outgoing packet of a polling session.
struct outgoing {
  packet_type type;
  bool binary;
  std::string data;
};
}  // namespace detail

/// One Engine.IO session.
class socket : public std::enable_shared_from_this<socket> {
 public:
  const std::string& sid() const { return sid_; }
  const struct handshake& handshake() const { return hs_; }
  int protocol() const { return hs_.protocol; }

  /// Thread-safe: runs on the home worker, posting there when called elsewhere.
  void send(std::string text);
  void send_binary(std::string bytes);
  void send(frame_ptr f);
  /// Idempotent and thread-safe; on_close fires once.
  void close();
  /// False while a polling session has no pending GET (volatile emits may be dropped).
  bool writable() const { return writable_.load(std::memory_order_relaxed); }
  bool closed() const { return closed_flag_.load(std::memory_order_acquire); }

  bool on_home_worker() const;
  /// Runs `f` on the home worker (re-posted if the session moved meanwhile).
  void post(std::function<void()> f);

  /// The layer above hangs its per-connection state here.
  std::shared_ptr<void> user;

  std::string_view transport() const {
    return transport_flag_.load(std::memory_order_relaxed) == int(detail::transport_kind::websocket) ? "websocket"
                                                                                                      : "polling";
  }

  /// Adds `n` to counter `slot` (metrics.hpp) when metrics are on; from any thread (the home
  /// worker's block on the home worker, else the shared one). For the layers above.
  void count(unsigned slot, std::int64_t n = 1) const;

  /// Sessions are created by the server.
  socket(std::shared_ptr<detail::core> c, detail::worker* home, std::string sid, struct handshake hs)
      : core_(std::move(c)), home_(home), sid_(std::move(sid)), hs_(std::move(hs)) {}

 private:
  friend struct detail::core;
  friend class detail::host_handler;
  friend class detail::host_ws;
  friend class server;
  using con_ptr = detail::ws_connection_ptr;

  // --- everything below runs on the home worker only ---
  /// The home worker's counters, null when metrics are off: one test per counting site.
  metrics::counters* stats() const noexcept { return home_.load(std::memory_order_relaxed)->stats; }
  void start(detail::transport_kind t, detail::ws_link ws);
  void send_packet(packet_type t, std::string data, bool binary, detail::when_full full = detail::when_full::close);
  /// True when `size` more bytes would pass max_buffered_bytes over `queued` ones (a first
  /// message always fits): then the session closes, unless the packet may be dropped.
  bool send_refused(std::size_t queued, std::size_t size, detail::when_full full);
  /// What websocketpp has queued for the websocket (0 off its worker, where it cannot be read).
  std::size_t ws_buffered() const { return ws_.buffered(); }
  void send_frame_here(const frame_ptr& f);
  void flush_poll();
  void respond_get(std::string body, bool binary_body);
  void handle_packet(packet_type t, bool binary, std::string data);
  void handle_ws_frame(const void* con_id, bool binary, std::string raw);
  void handle_probe_frame(bool binary, const std::string& raw);
  /// close_with during an upgrade: the probe stays until the client's next frame on it, 2 s at most.
  void close_probe_later();
  void on_poll(detail::poll_reply reply, bool b64);
  void on_post(detail::poll_reply reply, std::string body, bool binary_body);
  void on_probe_open(detail::ws_link link);
  /// `local_code`: the close code we sent (websocketpp sends 1009 / 1007 on its own).
  void on_ws_closed(const void* con_id, std::uint16_t local_code);
  void post_to_home(std::function<void()> f, bool passed_on);
  void release_after_old_queue(detail::worker* old_home, detail::worker* new_home, bool last);
  /// Posts from other threads register while they pick the home and queue on it, so a home move
  /// knows when everything aimed at the old home is queued there. Returns the slot to release.
  unsigned register_post() {
    unsigned slot = moved_.load();
    posting_[slot].fetch_add(1);
    return slot;
  }
  void unregister_post(unsigned slot) { posting_[slot].fetch_sub(1); }
  void release_held();
  void complete_upgrade();
  void abort_probe(const char* why);
  void arm_heartbeat(std::chrono::milliseconds d, bool waiting_pong) {
    arm_heartbeat_at(std::chrono::steady_clock::now() + d, waiting_pong);
  }
  void arm_heartbeat_at(std::chrono::steady_clock::time_point at, bool waiting_pong);
  bool pong_overdue() const { return awaiting_pong_ && std::chrono::steady_clock::now() >= heartbeat_at_; }
  /// `detail` says what went wrong, for the one log line of this close.
  void close_with(close_reason r, std::string_view detail = {});
  std::string single_packet_payload(packet_type t) const;

  std::shared_ptr<detail::core> core_;
  std::atomic<detail::worker*> home_;
  std::string sid_;
  struct handshake hs_;
  bool poll_b64_ = false;  ///< the pending v3 GET asked for base64 binary
  bool ws_b64_ = false;    ///< v3: the websocket's request asked for base64 binary (`b4` text frames)

  std::atomic<bool> writable_{false};
  std::atomic<bool> closed_flag_{false};
  std::atomic<int> transport_flag_{0};
  std::atomic<bool> upgrading_flag_{false};
  std::atomic<bool> moving_{false};  ///< home moved; the old home's queue is not passed on yet
  std::atomic<unsigned> moved_{0};   ///< 1 once the home moved (a session moves at most once)
  std::atomic<int> posting_[2] = {{0}, {0}};  ///< posts picking the home, before / after the move

  bool open_ = false;
  bool closed_ = false;
  detail::transport_kind transport_ = detail::transport_kind::polling;
  bool upgrading_ = false;
  std::vector<detail::outgoing> buffer_;
  std::size_t buffer_bytes_ = 0;  ///< the data bytes in buffer_ (kept as packets come and go)
  detail::poll_reply poll_get_;
  detail::ws_link ws_;
  detail::worker* ws_worker_ = nullptr;  ///< ws_.w, kept while ws_ is reset (the home move compares it)
  detail::ws_link probe_;
  std::unique_ptr<asio::steady_timer> timer_;
  std::uint64_t timer_gen_ = 0;
  std::unique_ptr<asio::steady_timer> probe_timer_;  ///< aborts an upgrade that never completes
  bool awaiting_pong_ = false;
  std::chrono::steady_clock::time_point heartbeat_at_;  ///< when the timer is due (scheduled, not actual)
  /// After a client's close packet over polling, the sid answers one more GET with noop:
  /// that GET may have been sent before the close but reached the session after it.
  bool linger_ = false;
  packet_type linger_packet_ = packet_type::noop;  ///< what the lingering sid answers its last GET with
  // A home move (complete_upgrade) keeps the order of what was sent to the session:
  detail::worker* prev_home_ = nullptr;      ///< the home before the move (written before moving_)
  bool passing_on_ = false;                  ///< (new home) running what the old home passed on
  std::vector<std::function<void()>> held_;  ///< (new home) posted there directly during the move
};

// socket_ptr is declared with the core (detail/core.hpp), whose handlers take it.

namespace detail {

inline void core::dispatch_close_log(const socket& s, close_reason r, std::string_view detail) {
  bool abnormal = r == close_reason::parse_error || r == close_reason::payload_too_large ||
                  r == close_reason::transport_error;
  auto text = [&] {
    return "closed " + s.sid() + " (" + std::string(s.transport()) + ", " + s.handshake().remote_address +
           "): " + to_string(r) + (detail.empty() ? "" : ": ") + std::string(detail);
  };
  if (abnormal) log.warn(text);
  else log.info(text);
}

}  // namespace detail

inline void socket::count(unsigned slot, std::int64_t n) const {
  auto* reg = core_->stats.get();
  if (!reg) return;
  if (on_home_worker()) stats()->add(slot, n);
  else reg->shared().add_shared(slot, n);
}

inline bool socket::on_home_worker() const {
  // passing_on_ is read on the home's own thread only (short-circuit).
  return !core_->destroyed.load(std::memory_order_acquire) && home_.load(std::memory_order_acquire)->running_here() &&
         (!moving_.load(std::memory_order_acquire) || passing_on_);
}

inline void socket::post(std::function<void()> f) {
  if (core_->destroyed.load(std::memory_order_acquire)) return;
  if (moving_.load(std::memory_order_acquire)) {
    // On the new home, held at once: a detour through its queue would let what is queued there
    // already (the next broadcast's job) overtake it once the hold ends.
    if (home_.load(std::memory_order_acquire)->running_here() && !passing_on_) return held_.push_back(std::move(f));
    // What the old home posts was queued there before the move.
    if (prev_home_->running_here()) return post_to_home(std::move(f), true);
  }
  post_to_home(std::move(f), false);
}

inline void socket::post_to_home(std::function<void()> f, bool passed_on) {
  auto self = shared_from_this();
  unsigned slot = register_post();
  asio::post(home_.load()->ioc, [self, f = std::move(f), passed_on]() mutable {
    if (self->core_->destroyed.load(std::memory_order_acquire)) return;
    if (!self->home_.load(std::memory_order_acquire)->running_here())  // queued before the home moved
      return self->post_to_home(std::move(f), true);
    if (!self->moving_.load(std::memory_order_acquire)) return f();
    if (!passed_on) return self->held_.push_back(std::move(f));  // waits for what the old home passes on
    self->passing_on_ = true;
    f();
    self->passing_on_ = false;
  });
  unregister_post(slot);
}

/// Runs on the old home behind everything queued there, including posts that picked the old home
/// before the move and were still queuing, then releases the new home.
inline void socket::release_after_old_queue(detail::worker* old_home, detail::worker* new_home, bool last) {
  auto self = shared_from_this();
  asio::post(old_home->ioc, [self, old_home, new_home, last] {
    if (self->core_->destroyed.load(std::memory_order_acquire)) return;
    if (self->posting_[0].load() != 0 || !last)
      return self->release_after_old_queue(old_home, new_home, self->posting_[0].load() == 0);
    asio::post(new_home->ioc, [self] { self->release_held(); });
  });
}

inline void socket::release_held() {
  moving_.store(false, std::memory_order_release);
  auto held = std::move(held_);
  held_.clear();
  for (auto& f : held) f();
}

inline void socket::send(std::string text) {
  portico::detail::utf8_repair(text);  // browsers drop the connection on invalid UTF-8
  if (on_home_worker()) return send_packet(packet_type::message, std::move(text), false);
  auto self = shared_from_this();
  post([self, t = std::move(text)]() mutable { self->send_packet(packet_type::message, std::move(t), false); });
}

inline void socket::send_binary(std::string bytes) {
  if (on_home_worker()) return send_packet(packet_type::message, std::move(bytes), true);
  auto self = shared_from_this();
  post([self, b = std::move(bytes)]() mutable { self->send_packet(packet_type::message, std::move(b), true); });
}

inline void socket::send(frame_ptr f) {
  f = detail::valid_utf8_frame(std::move(f));
  if (on_home_worker()) return send_frame_here(f);
  auto self = shared_from_this();
  post([self, f = std::move(f)] { self->send_frame_here(f); });
}

inline void socket::close() {
  if (closed()) return;
  if (on_home_worker()) return close_with(close_reason::server_close);
  auto self = shared_from_this();
  post([self] { self->close_with(close_reason::server_close); });
}

inline void socket::start(detail::transport_kind t, detail::ws_link ws) {
  transport_ = t;
  transport_flag_ = int(t);
  open_ = true;
  if (t == detail::transport_kind::websocket) {
    ws_ = std::move(ws);
    ws_worker_ = home_.load();
    ws_b64_ = hs_.protocol == 3 && ws_.b64;
    writable_ = true;
    std::string json = core_->open_packet_json(sid_, false);
    ws_.send(false, encode(packet_type::open, json));
  }
  timer_ = std::make_unique<asio::steady_timer>(home_.load()->ioc);
  if (auto* m = stats()) m->add(metrics::eio::sessions_opened);
  if (hs_.protocol == 3) arm_heartbeat(core_->opts.ping_interval + core_->opts.ping_timeout, true);
  else arm_heartbeat(core_->opts.ping_interval, false);
  if (core_->on_open) core_->on_open(shared_from_this());
}

inline void socket::arm_heartbeat_at(std::chrono::steady_clock::time_point at, bool waiting_pong) {
  if (closed_ || !timer_) return;
  awaiting_pong_ = waiting_pong;
  heartbeat_at_ = at;
  auto gen = ++timer_gen_;
  timer_->expires_at(at);
  std::weak_ptr<socket> weak = shared_from_this();
  timer_->async_wait([weak, gen](const asio::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s || gen != s->timer_gen_ || s->closed_) return;
    if (s->awaiting_pong_) {
      s->close_with(close_reason::ping_timeout);
      return;
    }
    s->send_packet(packet_type::ping, std::string(), false);
    // The pong deadline counts from when the ping was due, so a busy worker does not
    // stretch the client's allowance.
    s->arm_heartbeat_at(s->heartbeat_at_ + s->core_->opts.ping_timeout, true);
  });
}

inline bool socket::send_refused(std::size_t queued, std::size_t size, detail::when_full full) {
  const std::size_t max = core_->opts.max_buffered_bytes;
  if (max == 0 || queued == 0 || queued + size <= max || full == detail::when_full::send) return false;
  if (auto* m = stats()) m->add(metrics::eio::send_queue_overflows);
  if (full == detail::when_full::close) close_with(close_reason::transport_error, "send buffer full");
  return true;
}

inline void socket::send_packet(packet_type t, std::string data, bool binary, detail::when_full full) {
  if (closed_) return;
  if (transport_ == detail::transport_kind::websocket) {
    if (send_refused(ws_buffered(), data.size() + 1, full)) return;
    if (auto* m = stats()) {
      m->add(metrics::eio::packets_out);
      m->add(metrics::eio::bytes_out, std::int64_t(data.size() + 1));
    }
    if (binary && hs_.protocol == 3 && ws_b64_) {
      ws_.send(false, encode_base64_v3(data, t));
    } else if (binary) {
      if (hs_.protocol == 3) data = encode_binary_v3(data, t);
      ws_.send(true, std::move(data));
    } else {
      data.insert(data.begin(), type_char(t));
      ws_.send(false, std::move(data));
    }
    return;
  }
  if (send_refused(buffer_bytes_, data.size(), full)) return;
  if (auto* m = stats()) m->add(metrics::eio::packets_out);
  buffer_bytes_ += data.size();
  buffer_.push_back(detail::outgoing{t, binary, std::move(data)});
  flush_poll();
}

inline void socket::send_frame_here(const frame_ptr& f) {
  if (closed_ || !f) return;
  std::size_t size = f->text.size() + 1;
  for (auto& b : f->binaries) size += b.size();
  if (send_refused(transport_ == detail::transport_kind::websocket ? ws_buffered() : buffer_bytes_, size,
                   f->droppable ? detail::when_full::drop : detail::when_full::close))
    return;
  if (transport_ == detail::transport_kind::websocket && hs_.protocol == 4) {
    if (auto* m = stats()) {
      m->add(metrics::eio::packets_out, std::int64_t(1 + f->binaries.size()));
      m->add(metrics::eio::bytes_out, std::int64_t(size));
    }
    std::string t;
    t.reserve(f->text.size() + 1);
    t.push_back('4');
    t += f->text;
    ws_.send(false, std::move(t));
    for (auto& b : f->binaries) ws_.send(true, b);
    return;
  }
  // Checked as a whole above: the parts of one packet are never split by the limit.
  send_packet(packet_type::message, f->text, false, detail::when_full::send);
  for (auto& b : f->binaries) send_packet(packet_type::message, b, true, detail::when_full::send);
}

inline std::string socket::single_packet_payload(packet_type t) const {
  std::string body;
  if (hs_.protocol == 3) append_payload_packet_v3(body, t, {});
  else encode_to(body, t);
  return body;
}

inline void socket::respond_get(std::string body, bool binary_body) {
  auto reply = std::move(poll_get_);
  poll_get_ = detail::poll_reply();
  writable_ = false;
  reply.send(200, std::move(body), binary_body ? "application/octet-stream" : "text/plain; charset=UTF-8");
}

inline void socket::flush_poll() {
  if (!poll_get_ || buffer_.empty()) return;
  std::string body;
  bool xhr2 = false;
  if (hs_.protocol == 3 && !poll_b64_)
    xhr2 = std::any_of(buffer_.begin(), buffer_.end(), [](const detail::outgoing& o) { return o.binary; });
  for (auto& o : buffer_) {
    if (hs_.protocol == 4) append_payload_packet(body, o.type, o.data, o.binary);
    else if (xhr2) append_binary_payload_packet_v3(body, o.type, o.data, o.binary);
    else append_payload_packet_v3(body, o.type, o.data, o.binary);
  }
  buffer_.clear();
  buffer_bytes_ = 0;
  if (auto* m = stats()) m->add(metrics::eio::bytes_out, std::int64_t(body.size()));
  respond_get(std::move(body), xhr2);
}

inline void socket::on_poll(detail::poll_reply reply, bool b64) {
  if (!closed_ && pong_overdue()) close_with(close_reason::ping_timeout);  // timer not run yet
  if (closed_ && linger_) {
    linger_ = false;
    core_->erase(sid_);
    return reply.send(200, single_packet_payload(linger_packet_), "text/plain; charset=UTF-8");
  }
  if (closed_ || transport_ != detail::transport_kind::polling) {
    core_->log.info("refused GET on " + sid_ + ": " + (closed_ ? "session closed" : "session upgraded"));
    return reply.send_error(closed_ ? detail::http_error::unknown_sid : detail::http_error::bad_request);
  }
  if (poll_get_) {
    reply.send_error(detail::http_error::bad_request);
    close_with(close_reason::transport_error, "second concurrent GET");
    return;
  }
  poll_get_ = std::move(reply);
  poll_b64_ = b64;
  writable_ = !upgrading_;
  if (!buffer_.empty()) flush_poll();
  else if (upgrading_) respond_get(single_packet_payload(packet_type::noop), false);
}

inline void socket::on_post(detail::poll_reply reply, std::string body, bool binary_body) {
  if (!closed_ && pong_overdue()) close_with(close_reason::ping_timeout);  // timer not run yet
  if (closed_ || transport_ != detail::transport_kind::polling) {
    core_->log.info("refused POST on " + sid_ + ": " + (closed_ ? "session closed" : "session upgraded"));
    return reply.send_error(closed_ ? detail::http_error::unknown_sid : detail::http_error::bad_request);
  }
  if (body.size() > core_->opts.max_payload) {
    reply.send(413, "", "text/plain");
    close_with(close_reason::payload_too_large, "POST body of " + std::to_string(body.size()) + " bytes");
    return;
  }
  // Text is repaired before decoding (as Node decodes the body to a string first), so v3
  // lengths count the same characters the client counted and handlers only see UTF-8.
  bool repaired = !binary_body && portico::detail::utf8_repair(body);
  std::vector<packet> packets;
  errc e = hs_.protocol == 4 ? decode_payload(body, packets)
           : binary_body     ? decode_binary_payload_v3(body, packets)
                             : decode_payload_v3(body, packets);
  if (e != errc::ok) {
    reply.send_error(detail::http_error::bad_request);
    close_with(close_reason::parse_error, std::string("malformed payload: ") + describe(e));
    return;
  }
  if (auto* m = stats()) {
    m->add(metrics::eio::packets_in, std::int64_t(packets.size()));
    m->add(metrics::eio::bytes_in, std::int64_t(body.size()));
  }
  if (binary_body)  // v3 XHR2 payload: its string packets are text
    for (auto& p : packets) repaired |= !p.binary && portico::detail::utf8_repair(p.data);
  if (repaired) core_->log.info("replaced invalid UTF-8 in a POST from " + sid_ + " by U+FFFD");
  reply.send(200, "ok", "text/html");
  for (auto& p : packets) {
    if (closed_) break;
    handle_packet(p.type, p.binary, std::move(p.data));
  }
}

inline void socket::handle_packet(packet_type t, bool binary, std::string data) {
  switch (t) {
    case packet_type::message:
      if (core_->on_message) core_->on_message(shared_from_this(), message{binary, std::move(data)});
      break;
    case packet_type::pong:
      if (hs_.protocol == 4 && awaiting_pong_) arm_heartbeat(core_->opts.ping_interval, false);
      break;
    case packet_type::ping:
      if (hs_.protocol == 3) {  // v3: the client pings, we answer and restart its timeout
        send_packet(packet_type::pong, std::move(data), false);
        arm_heartbeat(core_->opts.ping_interval + core_->opts.ping_timeout, true);
      }
      break;
    case packet_type::close:
      close_with(close_reason::client_close);
      break;
    default:  // open, upgrade, noop: nothing to do on an established transport
      break;
  }
}

inline void socket::handle_ws_frame(const void* con_id, bool binary, std::string raw) {
  if (closed_) {
    // A probe kept open by close_with: its client switched to it (the frame is its "5"): the
    // close frame now reaches the client's transport, which reports "transport close".
    if (probe_ && con_id == probe_.id()) {
      probe_.close();
      probe_.reset();
    }
    return;
  }
  if (probe_ && con_id == probe_.id()) return handle_probe_frame(binary, raw);
  if (!ws_ || con_id != ws_.id()) return;  // a stale connection
  if (auto* m = stats()) {
    m->add(metrics::eio::packets_in);
    m->add(metrics::eio::bytes_in, std::int64_t(raw.size()));
  }
  if (raw.size() > core_->opts.max_payload) return close_with(close_reason::payload_too_large, "websocket message");
  if (binary) {
    if (hs_.protocol == 3) {
      packet_view v;
      if (errc e = decode_binary_v3(raw, v); e != errc::ok)
        return close_with(close_reason::parse_error, std::string("malformed binary packet: ") + describe(e));
      auto type = v.type;
      std::string data = std::move(raw);
      data.erase(0, 1);
      return handle_packet(type, true, std::move(data));
    }
    return handle_packet(packet_type::message, true, std::move(raw));
  }
  if (hs_.protocol == 3 && !raw.empty() && raw[0] == 'b') {  // v3 base64 binary in a text frame
    packet p;
    if (errc e = decode_base64_v3(raw, p); e != errc::ok)
      return close_with(close_reason::parse_error, std::string("malformed base64 packet: ") + describe(e));
    return handle_packet(p.type, true, std::move(p.data));
  }
  packet_view v;
  if (errc e = decode(raw, v); e != errc::ok) {
    return close_with(close_reason::parse_error, std::string("malformed packet: ") + describe(e));
  }
  auto type = v.type;
  std::string data = std::move(raw);  // the frame's buffer becomes the message: no copy
  data.erase(0, 1);
  handle_packet(type, false, std::move(data));
}

inline void socket::on_probe_open(detail::ws_link link) {
  if (closed_ || transport_ != detail::transport_kind::polling || upgrading_) return link.close();
  probe_ = std::move(link);
  upgrading_ = true;
  upgrading_flag_ = true;
  // Like the reference server's upgradeTimeout: a probe that never completes is dropped.
  probe_timer_ = std::make_unique<asio::steady_timer>(home_.load()->ioc);
  probe_timer_->expires_after(std::chrono::seconds(10));
  std::weak_ptr<socket> weak = shared_from_this();
  const void* id = probe_.id();
  probe_timer_->async_wait([weak, id](const asio::error_code& ec) {
    auto s = weak.lock();
    if (ec || !s || s->closed_ || !s->probe_ || s->probe_.id() != id) return;
    s->abort_probe("upgrade timeout");
  });
}

inline void socket::abort_probe(const char* why) {
  core_->log.info("upgrade of " + sid_ + " aborted: " + why);
  auto c = std::move(probe_);
  probe_.reset();
  upgrading_ = false;
  upgrading_flag_ = false;
  if (probe_timer_) probe_timer_->cancel();
  if (poll_get_) writable_ = true;
  c.close();
}

inline void socket::handle_probe_frame(bool binary, const std::string& raw) {
  packet_view v;
  bool text = !binary;
  if (text && decode(raw, v) == errc::ok && v.type == packet_type::ping && v.data == "probe") {
    probe_.send(false, "3probe");
    if (poll_get_ && buffer_.empty()) respond_get(single_packet_payload(packet_type::noop), false);
    return;
  }
  if (text && decode(raw, v) == errc::ok && v.type == packet_type::upgrade) return complete_upgrade();
  // anything else aborts the upgrade, not the session
  abort_probe("unexpected packet on the probe");
}

inline void socket::complete_upgrade() {
  if (probe_timer_) probe_timer_->cancel();
  probe_timer_.reset();  // on the old home, where it was created
  if (poll_get_) respond_get(single_packet_payload(packet_type::noop), false);
  ws_ = std::move(probe_);
  probe_.reset();
  ws_worker_ = ws_.w;
  ws_b64_ = hs_.protocol == 3 && ws_.b64;
  upgrading_ = false;
  upgrading_flag_ = false;
  transport_ = detail::transport_kind::websocket;
  transport_flag_ = int(detail::transport_kind::websocket);
  writable_ = true;
  auto pending = std::move(buffer_);
  buffer_.clear();
  buffer_bytes_ = 0;
  if (auto* m = stats()) m->add(metrics::eio::upgrades);
  auto finish = [this, pending = std::move(pending)]() mutable {
    for (auto& o : pending) send_packet(o.type, std::move(o.data), o.binary);
    arm_heartbeat(core_->opts.ping_interval, false);
  };
  if (ws_worker_ == home_.load()) return finish();
  // Move home to the websocket's worker so its frames never hop threads.
  ++timer_gen_;
  if (timer_) timer_->cancel();
  timer_ = std::make_unique<asio::steady_timer>(ws_worker_->ioc);
  // Nothing sent to the session may overtake what was sent before the move. On the new home, in
  // this order: the flush of what was buffered during the upgrade; what was queued on the old
  // home before the move, passed on by it in order; then what was posted to the new home
  // directly meanwhile (held; on_home_worker() is false there until then).
  prev_home_ = home_.load();
  moving_.store(true, std::memory_order_release);
  auto self = shared_from_this();
  detail::worker* old_home = prev_home_;
  detail::worker* new_home = ws_worker_;
  asio::post(new_home->ioc, [self, finish = std::move(finish)]() mutable {
    self->passing_on_ = true;
    finish();
    self->passing_on_ = false;
  });
  home_.store(new_home);
  moved_.store(1);
  release_after_old_queue(old_home, new_home, false);
}

inline void socket::on_ws_closed(const void* con_id, std::uint16_t local_code) {
  if (probe_ && con_id == probe_.id()) {
    probe_.reset();
    if (probe_timer_) probe_timer_->cancel();
    if (closed_) return;
    upgrading_ = false;
    upgrading_flag_ = false;
    if (poll_get_) writable_ = true;
    return;
  }
  if (ws_ && con_id == ws_.id()) {
    ws_.reset();  // already closed: nothing to send
    if (local_code == websocketpp::close::status::message_too_big) close_with(close_reason::payload_too_large);
    else if (local_code == websocketpp::close::status::invalid_payload)
      close_with(close_reason::parse_error, "text frame is not UTF-8 (closed with 1007)");
    else close_with(close_reason::transport_close);
  }
}

inline void socket::close_with(close_reason r, std::string_view detail) {
  if (closed_) return;
  closed_ = true;
  closed_flag_.store(true, std::memory_order_release);
  writable_ = false;
  ++timer_gen_;
  if (timer_) timer_->cancel();
  if (probe_timer_) probe_timer_->cancel();
  // A polling client learns of the close only from its next GET: keep the sid for a moment so
  // that GET is answered (noop after the client's own close, a close packet after ours) rather
  // than with "Session ID unknown", which clients report as a transport error.
  const bool polite = r == close_reason::client_close || r == close_reason::server_close;
  // Mid-upgrade with no GET to answer, the client may have paused its polling after the probe's
  // pong: closing the probe now would leave it paused for good (engine.io-client drops a failed
  // probe and never resumes polling; seen as a client that never reconnects). Like the reference
  // server, the upgrade may finish and the new transport is closed then (or in 2 s).
  const bool finish_upgrade = upgrading_ && probe_ && !poll_get_ && probe_timer_ && !core_->stopping;
  if (polite && transport_ == detail::transport_kind::polling && !poll_get_ && timer_ && !core_->stopping) {
    linger_ = true;
    linger_packet_ = r == close_reason::client_close ? packet_type::noop : packet_type::close;
    timer_->expires_after(std::chrono::seconds(1));
    std::weak_ptr<socket> weak = shared_from_this();
    timer_->async_wait([weak](const asio::error_code& ec) {
      auto s = weak.lock();
      if (ec || !s || !s->linger_) return;
      s->linger_ = false;
      s->core_->erase(s->sid_);
    });
  } else {
    core_->erase(sid_);
  }
  core_->dispatch_close_log(*this, r, detail);
  if (auto* m = stats()) {
    switch (r) {
      case close_reason::parse_error: m->add(metrics::eio::parse_errors); break;
      case close_reason::payload_too_large: m->add(metrics::eio::oversize_payloads); break;
      case close_reason::ping_timeout: m->add(metrics::eio::ping_timeouts); break;
      case close_reason::transport_error: m->add(metrics::eio::transport_errors); break;
      default: break;
    }
  }

  if (poll_get_) {
    // The client asked to close: end its pending GET quietly; otherwise tell it with a close packet.
    respond_get(single_packet_payload(r == close_reason::client_close ? packet_type::noop : packet_type::close), false);
  }
  buffer_.clear();
  buffer_bytes_ = 0;
  // Over websocket the close frame alone says it (as the reference server does): a `1` packet
  // first would make python-engineio treat the drop as final and never reconnect.
  ws_.close();
  ws_.reset();
  if (finish_upgrade) {
    close_probe_later();
  } else {
    probe_.close();
    probe_.reset();
  }
  if (open_ && core_->on_close) core_->on_close(shared_from_this(), r);
}

inline void socket::close_probe_later() {
  probe_timer_->expires_after(std::chrono::seconds(2));
  const void* id = probe_.id();
  probe_timer_->async_wait([self = shared_from_this(), id](const asio::error_code& ec) {
    if (ec || !self->probe_ || self->probe_.id() != id) return;
    self->probe_.close();
    self->probe_.reset();
  });
}

}  // namespace portico::engineio
// ---- end portico/engineio/socket.hpp ----

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace portico::engineio::detail {

/// What the checks of a request need of it, on a host.
struct host_exchange {
  core& c;
  const net::request& req;
  std::string& fields;  ///< CORS header fields ("Name: value\r\n")
  int& status;          ///< the refusal, when refused
  std::string& body;
  std::string_view method() const { return req.method(); }
  bool cors() const {
    return cors_fields(c.opts.cors, req.header("origin"), [&](std::string_view n, std::string_view v) {
      fields.append(n.data(), n.size());
      fields += ": ";
      fields.append(v.data(), v.size());
      fields += "\r\n";
    });
  }
  void refuse(http_error e, const char* why) const {
    status = e == http_error::forbidden ? 403 : 400;
    body = error_body(e);
    c.log.info([&] {
      return "refused " + remote_of(req) + " " + std::string(req.method()) + " " +
             portico::detail::printable(std::string(req.target())) + ": " + std::to_string(status) + " " +
             (why ? why : http_error_message(e));
    });
  }

  static std::string remote_of(const net::request& req) {
    asio::error_code ec;
    auto a = req.remote_endpoint().address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a.to_string(ec);
  }
};

/// Answers `res` with the header fields of `fields` ("Name: value\r\n" lines).
inline void send_with_fields(net::response& res, int status, const std::string& fields, std::string body,
                             const char* content_type) {
  poll_reply reply(std::move(res), fields);
  reply.send(status, std::move(body), content_type);
}

inline struct handshake host_handshake(const net::request& req, const parsed_request& r, int protocol) {
  struct handshake h;
  h.url = std::string(req.target());
  h.query_string = r.query_string;
  h.remote_address = host_exchange::remote_of(req);
  h.transport = std::string(r.transport);
  std::size_t size = 0;
  for (std::size_t i = 0; i < req.header_count(); ++i) {
    auto [k, v] = req.header_at(i);
    size += k.size() + v.size() + 2;
  }
  h.reserve_headers(size);
  for (std::size_t i = 0; i < req.header_count(); ++i) {
    auto [k, v] = req.header_at(i);
    h.add_header(k, v);
  }
  h.query = r.query;
  h.time = std::chrono::system_clock::now();
  h.protocol = protocol;
  return h;
}

/// A session's WebSocket (or its upgrade probe) on a host connection.
class host_ws final : public net::websocket_handler {
 public:
  /// `fresh`: a new websocket session (`s` opens on open); otherwise a probe of `s`.
  host_ws(std::shared_ptr<core> c, socket_ptr s, worker* w, bool fresh, bool b64)
      : core_(std::move(c)), pending_(fresh ? s : nullptr), weak_(s), w_(w), b64_(b64) {}

  void on_open(const net::websocket& ws) override {
    id_ = ws.id();
    ws_link link(ws, w_);
    link.b64 = b64_;
    if (auto s = std::move(pending_)) {
      pending_.reset();
      if (core_->stopping) return ws.close(1001);
      core_->insert(s);
      core_->log.debug([&] { return "open " + s->sid() + " (websocket) from " + s->handshake().remote_address; });
      s->start(transport_kind::websocket, std::move(link));
      return;
    }
    auto s = weak_.lock();
    if (!s) return ws.close(1000);
    // Directly when at home: the probe's first frame may be read in this same turn, and it runs
    // directly too.
    if (s->on_home_worker()) return s->on_probe_open(std::move(link));
    s->post([s, link = std::move(link)]() mutable { s->on_probe_open(std::move(link)); });
  }
  void on_message(const net::websocket& ws, std::string& payload, bool binary) override {
    auto s = weak_.lock();
    if (!s) return;
    const void* id = ws.id();
    if (s->on_home_worker()) s->handle_ws_frame(id, binary, std::move(payload));
    else s->post([s, id, binary, p = std::move(payload)]() mutable { s->handle_ws_frame(id, binary, std::move(p)); });
  }
  void on_close(std::uint16_t code, std::string_view) override {
    pending_.reset();
    auto s = weak_.lock();
    if (!s) return;
    const void* id = id_;
    if (s->on_home_worker()) s->on_ws_closed(id, code);
    else s->post([s, id, code] { s->on_ws_closed(id, code); });
  }

 private:
  std::shared_ptr<core> core_;
  socket_ptr pending_;  ///< a fresh session until it opens
  std::weak_ptr<socket> weak_;
  worker* w_;
  bool b64_;
  const void* id_ = nullptr;
};

class host_handler final : public net::handler {
 public:
  host_handler(std::shared_ptr<core> c, std::shared_ptr<net::handler> fallback)
      : core_(std::move(c)), fallback_(std::move(fallback)) {}

  void on_request(net::request req, net::response res) override {
    core& c = *core_;
    parsed_request r;
    core::parse(std::string(req.target()), r);
    if (!c.path_matches(r.path)) {
      if (fallback_) return fallback_->on_request(std::move(req), std::move(res));
      return res.status(404).header("Content-Type", "text/plain").send("Not Found");
    }
    std::string fields, body;
    int status = 0;
    host_exchange x{c, req, fields, status, body};
    const std::string_view method = req.method();
    if (method == "OPTIONS") {  // CORS preflight
      if (!x.cors()) {
        x.refuse(http_error::forbidden, "origin not allowed");
        return send_with_fields(res, status, {}, std::move(body), "application/json");
      }
      fields += "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n";
      auto rh = req.header("access-control-request-headers");
      if (!rh.empty()) fields += "Access-Control-Allow-Headers: " + std::string(rh) + "\r\n";
      return send_with_fields(res, 204, fields, {}, "text/plain");
    }
    if (!c.check(x, r, false)) return send_with_fields(res, status, fields, std::move(body), "application/json");
    worker* w = c.hosted_worker(*req.io_context());
    if (r.sid.empty()) {  // a new polling session
      if (c.stopping) return res.status(503).send();
      auto s = std::make_shared<socket>(core_, w, c.register_session_sid(), host_handshake(req, r, r.protocol));
      std::string json = c.open_packet_json(s->sid(), c.opts.websocket && c.opts.allow_upgrades);
      std::string open;
      if (r.protocol == 3) append_payload_packet_v3(open, packet_type::open, json);
      else encode_to(open, packet_type::open, json);
      send_with_fields(res, 200, fields, std::move(open), "text/plain; charset=UTF-8");
      c.insert(s);
      c.log.debug([&] { return "open " + s->sid() + " (polling) from " + s->handshake().remote_address; });
      s->start(transport_kind::polling, ws_link());
      return;
    }
    auto s = c.find(r.sid);
    if (!s) {
      x.refuse(http_error::unknown_sid, nullptr);
      return send_with_fields(res, status, fields, std::move(body), "application/json");
    }
    if (method != "GET" && method != "POST") {
      x.refuse(http_error::bad_request, "method not allowed on a session");
      return send_with_fields(res, status, fields, std::move(body), "application/json");
    }
    if (r.transport != "polling" || s->transport_flag_.load() != int(transport_kind::polling)) {
      x.refuse(http_error::bad_request, "transport mismatch");
      return send_with_fields(res, status, fields, std::move(body), "application/json");
    }
    // socket::post takes a std::function (copyable): the one-shot answer rides in a shared_ptr.
    auto reply = std::make_shared<poll_reply>(std::move(res), std::move(fields));
    if (method == "GET") {
      s->post([s, reply, b64 = r.b64] { s->on_poll(std::move(*reply), b64); });
    } else {
      const bool binary = req.header("content-type").substr(0, 24) == "application/octet-stream";
      s->post([s, reply, binary, b = std::move(req.body())]() mutable { s->on_post(std::move(*reply), std::move(b), binary); });
    }
  }

  net::upgrade on_upgrade(const net::request& req) override {
    core& c = *core_;
    parsed_request r;
    core::parse(std::string(req.target()), r);
    if (!c.path_matches(r.path)) {
      if (fallback_) return fallback_->on_upgrade(req);
      return net::upgrade::refuse(404, "Not Found");
    }
    std::string fields, body;
    int status = 0;
    host_exchange x{c, req, fields, status, body};
    if (!c.check(x, r, true)) return net::upgrade::refuse(status, std::move(body));
    const std::string_view version = req.header("sec-websocket-version");
    if (version != "13" && version != "8" && version != "7") {
      x.refuse(http_error::bad_request, "unsupported websocket version");
      return net::upgrade::refuse(status, std::move(body));
    }
    worker* w = c.hosted_worker(*req.io_context());
    if (r.sid.empty()) {
      if (c.stopping) return net::upgrade::refuse(503);
      auto s = std::make_shared<socket>(core_, w, c.register_session_sid(), host_handshake(req, r, r.protocol));
      return net::upgrade::to(std::make_shared<host_ws>(core_, std::move(s), w, true, r.b64));
    }
    auto s = c.find(r.sid);
    if (!s) {
      x.refuse(http_error::unknown_sid, nullptr);
      return net::upgrade::refuse(status, std::move(body));
    }
    if (!c.opts.allow_upgrades) {
      x.refuse(http_error::bad_request, "upgrades are disabled");
      return net::upgrade::refuse(status, std::move(body));
    }
    // Like the reference server, a websocket for a session that already upgraded (or is
    // upgrading) is accepted and closed right away by on_probe_open.
    return net::upgrade::to(std::make_shared<host_ws>(core_, std::move(s), w, false, r.b64));
  }

 private:
  std::shared_ptr<core> core_;
  std::shared_ptr<net::handler> fallback_;
};

}  // namespace portico::engineio::detail
// ---- end portico/engineio/detail/host_handler.hpp ----
// ---- begin portico/engineio/detail/requests.hpp ----
/// What a request on the engine path does: a handshake opens a session (polling or websocket), a
/// polling GET or POST goes to its session's home worker, a websocket for a known sid becomes
/// that session's upgrade probe. Requests outside the path go to the layer above (on_http,
/// on_websocket) or get a 404.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

namespace portico::engineio::detail {

inline void core::insert(const socket_ptr& s) {
  std::lock_guard<std::mutex> g(table_mu);
  table[s->sid()] = s;
}

// ---------------------------------------------------------------- HTTP

inline void core::handle_http(worker& w, websocketpp::connection_hdl hdl) {
  auto con = w.ep.get_con_from_hdl(hdl);
  // websocketpp ends every plain HTTP connection after one response: say so, so that
  // keep-alive clients do not try to reuse it.
  con->replace_header("Connection", "close");
  parsed_request r;
  parse(con->get_resource(), r);
  if (!path_matches(r.path)) {
    if (on_http && on_http(con)) return;
    con->set_status(websocketpp::http::status_code::not_found);
    con->replace_header("Content-Type", "text/plain");
    con->set_body("Not Found");
    return;
  }
  const std::string& method = con->get_request().get_method();
  if (method == "OPTIONS") {  // CORS preflight
    if (!answer_preflight(opts.cors, con)) refuse_http(con, http_error::forbidden, "origin not allowed");
    return;
  }
  if (!check_request(con, r, false)) return;

  if (r.sid.empty()) {  // a new polling session
    if (stopping) {
      con->set_status(websocketpp::http::status_code::service_unavailable);
      return;
    }
    auto s = std::make_shared<socket>(shared_from_this(), &w, register_session_sid(), make_handshake(con, r, r.protocol));
    std::string json = open_packet_json(s->sid(), opts.websocket && opts.allow_upgrades);
    std::string body;
    if (r.protocol == 3) append_payload_packet_v3(body, packet_type::open, json);
    else encode_to(body, packet_type::open, json);
    con->set_status(websocketpp::http::status_code::ok);
    con->replace_header("Content-Type", "text/plain; charset=UTF-8");
    con->set_body(body);
    insert(s);
    log.debug([&] { return "open " + s->sid() + " (polling) from " + s->handshake().remote_address; });
    s->start(transport_kind::polling, ws_link());
    return;
  }

  auto s = find(r.sid);
  if (!s) {
    refuse_http(con, http_error::unknown_sid);
    return;
  }
  if (method != "GET" && method != "POST") {
    refuse_http(con, http_error::bad_request, "method not allowed on a session");
    return;
  }
  if (r.transport != "polling" || s->transport_flag_.load() != int(transport_kind::polling)) {
    refuse_http(con, http_error::bad_request, "transport mismatch");
    return;
  }
  con->defer_http_response();
  if (method == "GET") {
    s->post([s, con, wp = &w, b64 = r.b64] { s->on_poll(poll_reply(con, wp), b64); });
  } else {
    bool binary = con->get_request_header("Content-Type").rfind("application/octet-stream", 0) == 0;
    std::string body = con->get_request_body();
    s->post([s, con, wp = &w, body = std::move(body), binary]() mutable {
      s->on_post(poll_reply(con, wp), std::move(body), binary);
    });
  }
}

inline void core::handle_failed_http(worker& w, websocketpp::connection_hdl hdl) {
  websocketpp::lib::error_code ec;
  auto con = w.ep.get_con_from_hdl(hdl, ec);
  if (ec || !con || con->get_response_code() != websocketpp::http::status_code::request_entity_too_large) return;
  if (con->get_request().get_method() != "POST") return;
  parsed_request r;
  parse(con->get_request().get_uri(), r);  // the handshake never got to set the connection's URI
  if (!path_matches(r.path) || r.sid.empty()) return;
  auto s = find(r.sid);
  if (!s) return;
  std::string length = con->get_request_header("Content-Length");
  length.erase(std::find_if(length.begin(), length.end(), [](char c) { return c < '0' || c > '9'; }), length.end());
  s->post([s, length = std::move(length)] {
    if (s->closed_ || s->transport_ != transport_kind::polling) return;
    s->close_with(close_reason::payload_too_large, "POST body of " + length + " bytes");
  });
}

// ---------------------------------------------------------------- WebSocket

inline bool core::validate_ws(worker& w, websocketpp::connection_hdl hdl) {
  auto con = w.ep.get_con_from_hdl(hdl);
  parsed_request r;
  parse(con->get_resource(), r);
  if (!path_matches(r.path)) {
    if (on_websocket) return on_websocket(con);  // plain WebSocket routes (portico::http)
    con->set_status(websocketpp::http::status_code::not_found);
    return false;
  }
  if (!check_request(con, r, true)) return false;
  // Prepared frames are hybi13 framing (also that of drafts 7 and 8).
  const std::string& version = con->get_request_header("Sec-WebSocket-Version");
  if (version != "13" && version != "8" && version != "7") {
    refuse_http(con, http_error::bad_request, "unsupported websocket version");
    return false;
  }
  const void* id = con.get();
  core* self = this;  // connections die with the workers, which the core owns
  if (r.sid.empty()) {
    auto s = std::make_shared<socket>(shared_from_this(), &w, register_session_sid(), make_handshake(con, r, r.protocol));
    std::weak_ptr<socket> weak = s;
    con->set_open_handler([self, s, &w, b64 = r.b64](websocketpp::connection_hdl h) {
      auto c = w.ep.get_con_from_hdl(h);
      if (self->stopping) {
        c->close(websocketpp::close::status::going_away, "");
        return;
      }
      self->insert(s);
      self->log.debug([&] { return "open " + s->sid() + " (websocket) from " + s->handshake().remote_address; });
      ws_link link(c, &w);
      link.b64 = b64;
      s->start(transport_kind::websocket, std::move(link));
    });
    attach_ws_handlers(con, weak, id);
    return true;
  }
  auto s = find(r.sid);
  if (!s) {
    refuse_http(con, http_error::unknown_sid);
    return false;
  }
  if (!opts.allow_upgrades) {
    refuse_http(con, http_error::bad_request, "upgrades are disabled");
    return false;
  }
  // Like the reference server, a websocket for a session that already upgraded (or is
  // upgrading) is accepted and closed right away by on_probe_open.
  std::weak_ptr<socket> weak = s;
  con->set_open_handler([weak, &w, b64 = r.b64](websocketpp::connection_hdl h) {
    auto c = w.ep.get_con_from_hdl(h);
    auto s2 = weak.lock();
    if (!s2) {
      c->close(websocketpp::close::status::normal, "");
      return;
    }
    ws_link link(c, &w);
    link.b64 = b64;
    s2->post([s2, link = std::move(link)]() mutable { s2->on_probe_open(std::move(link)); });
  });
  attach_ws_handlers(con, weak, id);
  return true;
}

inline void core::attach_ws_handlers(const ws_connection_ptr& con, const std::weak_ptr<socket>& weak, const void* id) {
  con->set_message_handler([weak, id](websocketpp::connection_hdl, ws_message_ptr msg) {
    if (auto s = weak.lock()) {
      const bool binary = msg->get_opcode() == websocketpp::frame::opcode::binary;
      if (s->on_home_worker()) s->handle_ws_frame(id, binary, std::move(msg->get_raw_payload()));
      else
        s->post([s, id, binary, msg = std::move(msg)]() mutable {
          s->handle_ws_frame(id, binary, std::move(msg->get_raw_payload()));
        });
    }
  });
  auto closed = [weak, id](websocketpp::close::status::value local_code) {
    if (auto s = weak.lock()) {
      if (s->on_home_worker()) s->on_ws_closed(id, local_code);
      else s->post([s, id, local_code] { s->on_ws_closed(id, local_code); });
    }
  };
  ws_connection_ptr::weak_type wc = con;
  con->set_close_handler([closed, wc](websocketpp::connection_hdl) {
    auto c = wc.lock();
    closed(c ? c->get_local_close_code() : websocketpp::close::status::blank);
  });
  con->set_fail_handler([closed](websocketpp::connection_hdl) { closed(websocketpp::close::status::blank); });
}

}  // namespace portico::engineio::detail
// ---- end portico/engineio/detail/requests.hpp ----

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portico::engineio {
class server {
 public:
  explicit server(server_options o = {}) : core_(std::make_shared<detail::core>(std::move(o))) {}
  ~server() {
    stop();
    // Destroying the workers destroys what is still queued on them, which breaks the
    // session -> core -> worker -> queued handler -> session cycles.
    core_->destroyed = true;
    core_->workers.clear();
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Handlers run on the session's home worker. Set them before start().
  void on_open(std::function<void(const socket_ptr&)> f) { core_->on_open = std::move(f); }
  void on_message(std::function<void(const socket_ptr&, message&&)> f) { core_->on_message = std::move(f); }
  void on_close(std::function<void(const socket_ptr&, close_reason)> f) { core_->on_close = std::move(f); }
  /// Plain HTTP requests outside `path`: return true when handled (response set or deferred);
  /// otherwise the server answers 404.
  void on_http(std::function<bool(const http_connection_ptr&)> f) { core_->on_http = std::move(f); }
  /// WebSocket upgrades outside `path`, from websocketpp's validate handler: return false to
  /// refuse with the status set on the connection (websocketpp answers 400 if none), true to
  /// accept after setting the connection's open/message/close handlers.
  void on_websocket(std::function<bool(const http_connection_ptr&)> f) { core_->on_websocket = std::move(f); }
  /// Runs once at the start of stop(), before the sessions close: the owner of the connections
  /// on_websocket accepted closes them here (they are not Engine.IO sessions).
  void on_stop(std::function<void()> f) { core_->on_stop = std::move(f); }

  /// The engine as a handler to mount on a `net::host` at options().path (and the same path
  /// without its trailing slash): polling with HTTP/1.1 keep-alive, WebSockets on the host's
  /// connections, other paths on one port with the engine. Requests outside the engine path go to
  /// `fallback` (404 without one). Either this or listen(), not both. The host must be stopped
  /// before the server is destroyed.
  std::shared_ptr<net::handler> handler(std::shared_ptr<net::handler> fallback = nullptr) {
    // The host's threads become workers on their first request; each gets its block then.
    if (core_->opts.metrics && !core_->stats) core_->stats = std::make_unique<metrics::registry>();
    return std::make_shared<detail::host_handler>(core_, std::move(fallback));
  }
  /// Mounts handler() on `h` at the engine path (both spellings of it).
  void mount(net::host& h, std::shared_ptr<net::handler> fallback = nullptr) {
    auto hd = handler(std::move(fallback));
    std::string p = core_->opts.path;
    if (p.size() > 1 && p.back() == '/') h.mount(p.substr(0, p.size() - 1), hd);
    h.mount(p, hd);
  }

  const server_options& options() const { return core_->opts; }
  portico::logger& log() { return core_->log; }

  /// Binds every worker to host:port (port 0 = ephemeral, shared by all workers).
  void listen(const std::string& host, std::uint16_t port) {
    auto& c = *core_;
    if (c.opts.use_host) {
      if (!host_) {
        net::host_options ho;
        ho.threads = c.opts.threads;
        // As websocketpp's endpoint allowed: a polling POST carries up to twice max_payload.
        ho.max_body_bytes = std::max<std::size_t>(ho.max_body_bytes, c.opts.max_payload * 2 + 1024);
        ho.max_message_bytes = c.opts.max_payload;
        ho.stop_timeout = c.opts.stop_grace;
        host_ = std::make_unique<net::host>(ho);
        mount(*host_);
      }
      const std::uint16_t bound = host_->listen(host, port);
      if (!port_) port_ = bound;
      return;
    }
    unsigned n = c.opts.threads ? c.opts.threads : std::max(1u, std::thread::hardware_concurrency());
    asio::ip::address addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host);
    for (unsigned i = 0; i < n; ++i) {
      auto w = std::make_unique<detail::worker>(i);
      setup_endpoint(*w);
      asio::ip::tcp::endpoint ep(addr, port);
      w->ep.listen(ep);
      if (port == 0) {
        asio::error_code ec;
        port = w->ep.get_local_endpoint(ec).port();
      }
      c.workers.push_back(std::move(w));
    }
    port_ = port;
    if (c.opts.metrics) {
      if (!c.stats) c.stats = std::make_unique<metrics::registry>();
      for (auto& w : c.workers)
        if (!w->stats) w->stats = c.stats->add_worker();
    }
    for (auto& w : c.workers) w->ep.start_accept();
  }

  std::uint16_t port() const { return port_; }

  /// Runs the workers on background threads.
  void start() {
    if (host_) host_->start();
    if (started_.exchange(true)) return;
    for (auto& wp : core_->workers) guards_.emplace_back(wp->ioc.get_executor());
    for (auto& wp : core_->workers) {
      auto* w = wp.get();
      {
        std::lock_guard<std::mutex> g(run_mu_);
        ++running_;
      }
      w->thread = std::thread([this, w] {
        w->run(core_->log);
        std::lock_guard<std::mutex> g(run_mu_);
        --running_;
        run_cv_.notify_all();
      });
    }
  }

  /// start() and block until stop().
  void run() {
    start();
    {
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait(g, [&] { return stop_requested_ || stopped_; });
    }
    stop();
  }

  /// Idempotent and thread-safe: stop accepting, close every session, join the threads.
  /// Called from a handler (a worker thread) it only initiates; the destructor joins.
  void stop() {
    auto& c = *core_;
    if (!c.stopping.exchange(true)) {
      for (auto& w : c.workers) {
        asio::post(w->ioc, [wp = w.get()] {
          websocketpp::lib::error_code ec;
          wp->ep.stop_listening(ec);
        });
      }
      if (c.on_stop) c.on_stop();
      std::vector<socket_ptr> all;
      {
        std::lock_guard<std::mutex> g(c.table_mu);
        for (auto& kv : c.table) all.push_back(kv.second);
      }
      for (auto& s : all) {
        auto sp = s;
        s->post([sp] { sp->close_with(close_reason::forced); });
      }
      {
        std::lock_guard<std::mutex> g(run_mu_);
        stop_requested_ = true;
      }
      run_cv_.notify_all();
    }
    bool on_worker = false;
    for (auto& w : c.workers) on_worker = on_worker || w->running_here();
    if (on_worker) return;
    std::lock_guard<std::mutex> join_guard(join_mu_);
    if (started_ && !stopped_) {
      // Two rounds through every worker: the first runs the closes, the second the HTTP
      // responses and close frames they posted to other workers.
      auto deadline = std::chrono::steady_clock::now() + c.opts.stop_grace;
      detail::barrier(c.workers, deadline);
      detail::barrier(c.workers, deadline);
      // Deferred HTTP connections are not asio work: the guards kept the workers alive until
      // here. Now let run() return once the remaining connections have finished closing.
      for (auto& g : guards_) g.reset();
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait_until(g, deadline, [&] { return running_ == 0; });
    }
    for (auto& w : c.workers) w->ioc.stop();
    for (auto& w : c.workers)
      if (w->thread.joinable()) w->thread.join();
    if (host_) {
      try {
        host_->stop();  // answers the closed sessions' last requests, sends their close frames
      } catch (const std::logic_error&) {
        return;  // on one of its threads (a handler): the destructor or run() stops it
      }
    }
    {
      std::lock_guard<std::mutex> g(c.table_mu);
      c.table.clear();  // breaks session <-> core cycles of sessions that never closed
    }
    {
      std::lock_guard<std::mutex> g(run_mu_);
      stopped_ = true;
    }
    run_cv_.notify_all();
  }

  /// Sends one frame to many sockets: one post per foreign worker; the websocket frames are
  /// made once per broadcast (a host connection queues the same bytes by reference) or, on
  /// websocketpp's endpoint, once per worker as prepared messages.
  void send_many(frame_ptr f, const std::vector<socket_ptr>& to) {
    if (!f || to.empty()) return;
    f = detail::valid_utf8_frame(std::move(f));  // once per broadcast, not per recipient
    std::unordered_map<detail::worker*, std::vector<socket_ptr>> groups;
    std::vector<std::pair<socket*, unsigned>> registered;  // until the jobs are queued (home moves)
    registered.reserve(to.size());
    bool hosted_ws = false;
    for (auto& s : to)
      if (s && !s->closed()) {
        registered.emplace_back(s.get(), s->register_post());
        auto* home = s->home_.load();
        hosted_ws = hosted_ws || home->hosted;
        groups[home].push_back(s);
      }
    // Framed once for every host connection of this broadcast, whatever its thread.
    std::shared_ptr<std::vector<net::shared_frame>> framed;
    if (hosted_ws) {
      framed = std::make_shared<std::vector<net::shared_frame>>();
      std::string t;
      t.reserve(f->text.size() + 1);
      t.push_back('4');
      t += f->text;
      framed->push_back(net::make_frame(t, false));
      for (auto& b : f->binaries) framed->push_back(net::make_frame(b, true));
    }
    for (auto& [w, list] : groups) {
      auto job = [f, framed, list = std::move(list), w = w]() {
        detail::ws_message_ptr text;
        std::vector<detail::ws_message_ptr> bins;
        std::vector<net::websocket> hosted;
        std::size_t size = f->text.size() + 1;  // what one recipient's send buffer grows by
        for (auto& b : f->binaries) size += b.size();
        const auto full = f->droppable ? detail::when_full::drop : detail::when_full::close;
        std::int64_t sent = 0;  // counted once per batch, below
        for (auto& s : list) {
          if (!s->on_home_worker()) {  // moved meanwhile
            s->send(f);
            continue;
          }
          if (s->closed_) continue;
          if (s->transport_ == detail::transport_kind::websocket && s->hs_.protocol == 4 && s->ws_worker_ == w) {
            if (s->ws_.net) {
              if (!s->send_refused(s->ws_.buffered(), size, full)) {
                hosted.push_back(s->ws_.net);
                ++sent;
              }
              continue;
            }
            if (!text) {
              std::string t;
              t.reserve(f->text.size() + 1);
              t.push_back('4');
              t += f->text;
              text = detail::prepared_frame(websocketpp::frame::opcode::text, std::move(t));
              for (auto& b : f->binaries) bins.push_back(detail::prepared_frame(websocketpp::frame::opcode::binary, b));
            }
            if (s->send_refused(s->ws_.buffered(), size, full)) continue;
            s->ws_.send_prepared(text);
            for (auto& b : bins) s->ws_.send_prepared(b);
            ++sent;
          } else {
            s->send_frame_here(f);
          }
        }
        if (framed)
          for (auto& fr : *framed) net::send_all(hosted, fr);
        if (auto* m = w->stats; m && sent) {
          m->add(metrics::eio::packets_out, sent * std::int64_t(1 + f->binaries.size()));
          m->add(metrics::eio::bytes_out, sent * std::int64_t(size));
        }
      };
      if (w->running_here()) job();
      else asio::post(w->ioc, std::move(job));
    }
    for (auto& [s, slot] : registered) s->unregister_post(slot);
  }

  /// The open session with this sid, or null.
  socket_ptr find(std::string_view sid) const { return core_->find(sid); }

  /// Adds `n` to counter `slot` (metrics.hpp) when metrics are on, from any thread: the block of
  /// the worker running it, else the shared one. For counts with no session at hand (rare paths).
  void count(unsigned slot, std::int64_t n = 1) const {
    auto* reg = core_->stats.get();
    if (!reg) return;
    for (auto& w : core_->workers)
      if (w->running_here() && w->stats) return w->stats->add(slot, n);
    {
      std::lock_guard<std::mutex> g(core_->hosted_mu);
      for (auto& w : core_->hosted)
        if (w->running_here() && w->stats) return w->stats->add(slot, n);
    }
    reg->shared().add_shared(slot, n);
  }
  /// The counters (opts.metrics, after listen() or handler()), or null.
  const metrics::registry* counters() const noexcept { return core_->stats.get(); }
  /// Open sessions by transport: {polling, websocket} (a scan of the session table).
  std::pair<std::size_t, std::size_t> sessions_by_transport() const {
    std::lock_guard<std::mutex> g(core_->table_mu);
    std::size_t polling = 0, ws = 0;
    for (auto& kv : core_->table) {
      if (kv.second->closed()) continue;  // lingering for a polling client's last GET
      if (kv.second->transport_flag_.load(std::memory_order_relaxed) == int(detail::transport_kind::websocket)) ++ws;
      else ++polling;
    }
    return {polling, ws};
  }

  /// Number of open sessions (for tests and metrics).
  std::size_t session_count() const {
    std::lock_guard<std::mutex> g(core_->table_mu);
    return core_->table.size();
  }

 private:
  void setup_endpoint(detail::worker& w) {
    auto& c = *core_;
    auto& ep = w.ep;
    ep.init_asio(&w.ioc);
    ep.set_reuse_addr(true);
    ep.set_listen_backlog(1024);
    ep.set_max_message_size(c.opts.max_payload);
    ep.set_max_http_body_size(c.opts.max_payload * 2 + 1024);
    ep.set_close_handshake_timeout(static_cast<long>(std::max<long long>(200, c.opts.stop_grace.count())));
    ep.set_tcp_pre_bind_handler([](std::shared_ptr<asio::ip::tcp::acceptor> a) {
      asio::error_code ec;
      a->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
      return websocketpp::lib::error_code();
    });
    ep.set_socket_init_handler([](websocketpp::connection_hdl, asio::ip::tcp::socket& s) {
      asio::error_code ec;
      s.set_option(asio::ip::tcp::no_delay(true), ec);
    });
    detail::core* core = core_.get();  // not shared: the core owns the endpoint
    detail::worker* wp = &w;
    ep.set_http_handler([core, wp](websocketpp::connection_hdl h) {
      core->handle_http(*wp, h);
      detail::core::drop_head_body(wp->ep.get_con_from_hdl(h));
    });
    ep.set_tcp_post_init_handler([wp](websocketpp::connection_hdl h) {
      auto con = wp->ep.get_con_from_hdl(h);
      con->get_request().note_peer(detail::core::remote_of(con));
    });
    // A request refused before any handler ran: one log line, and a POST too big for websocketpp
    // closes its polling session.
    ep.set_fail_handler([core, wp](websocketpp::connection_hdl h) {
      core->log_early_refusal(wp->ep.get_con_from_hdl(h));
      core->handle_failed_http(*wp, h);
    });
    ep.set_validate_handler([core, wp](websocketpp::connection_hdl h) { return core->validate_ws(*wp, h); });
  }

  std::shared_ptr<detail::core> core_;
  std::unique_ptr<net::host> host_;  ///< options().use_host
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards_;
  std::uint16_t port_ = 0;
  std::atomic<bool> started_{false};
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  std::mutex join_mu_;
  unsigned running_ = 0;
  bool stop_requested_ = false;
  bool stopped_ = false;
};

}  // namespace portico::engineio
// ---- end portico/engineio/server.hpp ----
// ---- begin portico/socketio/server.hpp ----
/// The Socket.IO v5 server on top of `portico::engineio::server`.
///
///     portico::socketio::server io;
///     io.on_connect([](socketio::socket& s, socketio::connect_request& r) {
///       if (r.auth().IsNull()) r.refuse("no auth", 42);
///     });
///     io.on("chat", [](socketio::socket& s, const socketio::args& a) {
///       s.to("lobby").emit("chat", a.at(0));
///       return true;                                  // becomes the ACK
///     });
///     io.listen("127.0.0.1", 3000);
///     io.run();
///
/// Per message: the Engine.IO message is decoded in place (one in-situ JSON parse), the event
/// name is looked up once, the handler runs on the connection's home worker. No global lock:
/// per-connection state lives on the home worker; rooms are guarded per namespace.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

// ---- begin portico/socketio/adapter.hpp ----
/// Rooms bookkeeping and broadcast delivery for one namespace.
///
/// The server never walks rooms itself: it encodes a broadcast once and hands the adapter the
/// encoded frame plus the packet's parts. `memory_adapter` delivers locally; a cluster adapter
/// (e.g. one speaking @socket.io/redis-adapter's pub/sub format) would derive from it, deliver
/// locally the same way and publish `{type, nsp, data}` plus the options to the other nodes —
/// which is why `outgoing_packet` keeps the payload JSON and attachments beside the frame.
///
/// Broadcasts with ack (`broadcast_with_ack`) follow socket.io-adapter's `broadcastWithAck`:
/// every server reports how many clients it sent to, and every client's answer goes to one
/// `ack_collector`; a cluster adapter adds its remote servers' counts and answers
/// (BROADCAST_CLIENT_COUNT / BROADCAST_ACK) to the same collector.

// ---- begin portico/socketio/metrics.hpp ----
/// The numbers of one Socket.IO server (docs/metrics.md): `metrics_snapshot`, what
/// `server::metrics()` returns for users who export elsewhere, and `render_prometheus`, its
/// Prometheus text exposition (format 0.0.4) that the framework serves on `/metrics`.
///
/// Counters are per I/O worker and summed on read (engineio/metrics.hpp); gauges (connections,
/// namespaces, sockets, rooms, pending acks) are counted from the server's tables on read, so
/// they cost nothing between scrapes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <initializer_list>
#include <utility>
#include <vector>

namespace portico::socketio {

namespace metrics_slots {
using engineio::metrics::first_upper_slot;
/// Socket.IO's slots in the per-worker blocks.
enum : unsigned {
  connects = first_upper_slot,  ///< namespace connections accepted
  connects_refused,              ///< refused by a middleware / guard (CONNECT_ERROR)
  invalid_namespace,             ///< CONNECT to a namespace that does not exist
  invalid_packets,               ///< connections closed for a malformed Socket.IO packet
  invalid_state,                 ///< connections closed for a packet out of place
  handler_exceptions,            ///< user code (handlers, middlewares, ack callbacks) that threw
  acks_requested,                ///< emits with an ack callback (per socket)
  acks_timed_out,                ///< ack callbacks that got `timeout`
  end
};
static_assert(end <= engineio::metrics::slot_count, "too many slots");
}  // namespace metrics_slots

/// What a Redis (or other cluster) adapter counted; present only when the adapter has a cluster.
struct cluster_metrics {
  std::int64_t messages_published = 0;  ///< messages published to the bus (confirmed by it)
  std::int64_t messages_received = 0;   ///< messages received from the bus
  std::int64_t publishes_lost = 0;      ///< publishes the bus refused (down)
  std::int64_t request_timeouts = 0;    ///< cluster requests (acks, fetch_sockets, ...) that timed out
};

struct metrics_snapshot {
  struct namespace_stats {
    std::string name;
    std::size_t sockets = 0;
    std::size_t rooms = 0;  ///< rooms with a member on this server (a socket's own room included)
  };
  bool enabled = false;  ///< false: server_options::metrics is off, counters are all 0

  // Engine.IO
  std::size_t connections_polling = 0, connections_websocket = 0;  ///< open sessions now
  std::int64_t handshakes = 0, upgrades = 0;
  std::int64_t packets_in = 0, packets_out = 0, bytes_in = 0, bytes_out = 0;
  std::int64_t send_queue_overflows = 0;

  // Socket.IO
  std::vector<namespace_stats> namespaces;
  std::int64_t connects = 0, connects_refused = 0;
  std::size_t acks_pending = 0;
  std::int64_t acks_requested = 0, acks_timed_out = 0;

  /// Errors by kind (Prometheus label `kind`).
  struct errors_t {
    std::int64_t parse_error = 0;        ///< malformed Engine.IO payload
    std::int64_t payload_too_large = 0;  ///< message / POST over max_payload
    std::int64_t ping_timeout = 0;
    std::int64_t transport_error = 0;    ///< send buffer full, second GET, ...
    std::int64_t invalid_packet = 0;     ///< malformed Socket.IO packet
    std::int64_t invalid_state = 0;      ///< packet out of place
    std::int64_t invalid_namespace = 0;
    std::int64_t handler_exception = 0;
  } errors;

  bool has_cluster = false;
  cluster_metrics cluster;

  /// Fills the counters from summed per-worker slots.
  void take_counters(const std::array<std::int64_t, engineio::metrics::slot_count>& s) {
    namespace e = engineio::metrics::eio;
    namespace m = metrics_slots;
    handshakes = s[e::sessions_opened];
    upgrades = s[e::upgrades];
    packets_in = s[e::packets_in];
    packets_out = s[e::packets_out];
    bytes_in = s[e::bytes_in];
    bytes_out = s[e::bytes_out];
    send_queue_overflows = s[e::send_queue_overflows];
    errors.parse_error = s[e::parse_errors];
    errors.payload_too_large = s[e::oversize_payloads];
    errors.ping_timeout = s[e::ping_timeouts];
    errors.transport_error = s[e::transport_errors];
    connects = s[m::connects];
    connects_refused = s[m::connects_refused];
    errors.invalid_namespace = s[m::invalid_namespace];
    errors.invalid_packet = s[m::invalid_packets];
    errors.invalid_state = s[m::invalid_state];
    errors.handler_exception = s[m::handler_exceptions];
    acks_requested = s[m::acks_requested];
    acks_timed_out = s[m::acks_timed_out];
  }
};

namespace detail {
/// A label value escaped as the exposition format asks (backslash, double quote, newline).
inline void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

class prom_writer {
 public:
  explicit prom_writer(std::string& out, std::string_view prefix) : out_(out), prefix_(prefix) {}
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    put_name();
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    put_name();
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  /// One sample of the current family; `labels` as {name, value} pairs.
  void sample(std::int64_t v, std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {}) {
    put_name();
    if (labels.size()) {
      out_ += '{';
      bool first = true;
      for (auto& [k, val] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        append_label_value(out_, val);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += std::to_string(v);
    out_ += '\n';
  }

 private:
  void put_name() {
    out_ += prefix_;
    out_ += '_';
    out_ += name_;
  }
  std::string& out_;
  std::string_view prefix_, name_;
};
}  // namespace detail

/// The Prometheus text exposition (format 0.0.4, `Content-Type: text/plain; version=0.0.4`) of
/// `m`; every family name starts with `prefix` + "_".
inline std::string render_prometheus(const metrics_snapshot& m, std::string_view prefix = "portico") {
  std::string out;
  out.reserve(4096);
  detail::prom_writer w(out, prefix);
  using i64 = std::int64_t;
  w.family("connections", "gauge", "Open Engine.IO connections by transport.");
  w.sample(i64(m.connections_polling), {{"transport", "polling"}});
  w.sample(i64(m.connections_websocket), {{"transport", "websocket"}});
  w.family("handshakes_total", "counter", "Engine.IO handshakes accepted.");
  w.sample(m.handshakes);
  w.family("upgrades_total", "counter", "Connections upgraded from polling to websocket.");
  w.sample(m.upgrades);
  w.family("packets_total", "counter", "Engine.IO packets received (in) and queued for clients (out).");
  w.sample(m.packets_in, {{"direction", "in"}});
  w.sample(m.packets_out, {{"direction", "out"}});
  w.family("bytes_total", "counter", "Engine.IO payload bytes received (in) and queued for clients (out).");
  w.sample(m.bytes_in, {{"direction", "in"}});
  w.sample(m.bytes_out, {{"direction", "out"}});
  w.family("send_queue_overflows_total", "counter",
           "Sends refused because the client's send buffer was over max_buffered_bytes.");
  w.sample(m.send_queue_overflows);
  w.family("namespaces", "gauge", "Socket.IO namespaces.");
  w.sample(i64(m.namespaces.size()));
  w.family("sockets", "gauge", "Connected Socket.IO sockets by namespace.");
  for (auto& n : m.namespaces) w.sample(i64(n.sockets), {{"namespace", n.name}});
  w.family("rooms", "gauge", "Rooms with a member on this server by namespace (each socket's own room included).");
  for (auto& n : m.namespaces) w.sample(i64(n.rooms), {{"namespace", n.name}});
  w.family("connects_total", "counter", "Namespace connections accepted.");
  w.sample(m.connects);
  w.family("connects_refused_total", "counter", "Namespace connections refused by a middleware or guard.");
  w.sample(m.connects_refused);
  w.family("acks_pending", "gauge", "Ack callbacks waiting for their client.");
  w.sample(i64(m.acks_pending));
  w.family("acks_requested_total", "counter", "Emits to one socket with an ack callback.");
  w.sample(m.acks_requested);
  w.family("acks_timed_out_total", "counter", "Ack callbacks that timed out.");
  w.sample(m.acks_timed_out);
  w.family("errors_total", "counter", "Errors by kind.");
  const auto& e = m.errors;
  w.sample(e.parse_error, {{"kind", "parse_error"}});
  w.sample(e.payload_too_large, {{"kind", "payload_too_large"}});
  w.sample(e.ping_timeout, {{"kind", "ping_timeout"}});
  w.sample(e.transport_error, {{"kind", "transport_error"}});
  w.sample(e.invalid_packet, {{"kind", "invalid_packet"}});
  w.sample(e.invalid_state, {{"kind", "invalid_state"}});
  w.sample(e.invalid_namespace, {{"kind", "invalid_namespace"}});
  w.sample(e.handler_exception, {{"kind", "handler_exception"}});
  if (m.has_cluster) {
    w.family("cluster_messages_total", "counter", "Messages published to and received from the cluster bus.");
    w.sample(m.cluster.messages_published, {{"direction", "published"}});
    w.sample(m.cluster.messages_received, {{"direction", "received"}});
    w.family("cluster_publishes_lost_total", "counter", "Publishes the cluster bus refused.");
    w.sample(m.cluster.publishes_lost);
    w.family("cluster_request_timeouts_total", "counter", "Cluster requests that timed out.");
    w.sample(m.cluster.request_timeouts);
  }
  return out;
}

}  // namespace portico::socketio
// ---- end portico/socketio/metrics.hpp ----

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

// ---- begin portico/socketio/args.hpp ----
/// Event arguments in both directions.
///
/// Outgoing: every argument is written once, straight into the packet string, by
/// `portico::json::encode` (the one encoding path: basic types, containers, PORTICO_FIELDS types,
/// `json::adapter` specialisations). Received arguments (`arg`, `args`) can be emitted again as
/// they are, blobs included.
///
/// Incoming: `args` is a view over a received packet's DOM; it lives as long as the handler call.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// ---- begin portico/socketio/binary.hpp ----
/// Binary attachments: `{"_placeholder":true,"num":n}` in the JSON, bytes beside it.
///
/// The hot path keeps placeholders in the received DOM and resolves them on demand through a
/// `json::decode_context`. `write_value` re-serialises a received value for an outgoing packet,
/// renumbering its placeholders into the new packet's attachments (echoing a blob costs no copy
/// of the bytes until the transport frames them). `reconstruct`/`deconstruct` give users and tests
/// a DOM where blobs are inline.

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

// ---- begin portico/socketio/codec.hpp ----
/// Socket.IO v5 packet codec: pure functions over strings, no I/O.
///
/// Wire format (one Engine.IO message each, plus binary messages for attachments):
///   <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
///
/// A received packet owns its text and parses its JSON payload once, in situ, so strings in the
/// DOM point into that text (see docs/design.md, "Payload representation"). Placeholders for
/// binary attachments stay in the DOM; `binary.hpp` resolves or rewrites them.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


namespace portico::socketio {

enum class packet_type : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

inline const char* to_string(packet_type t) noexcept {
  switch (t) {
    case packet_type::connect: return "CONNECT";
    case packet_type::disconnect: return "DISCONNECT";
    case packet_type::event: return "EVENT";
    case packet_type::ack: return "ACK";
    case packet_type::connect_error: return "CONNECT_ERROR";
    case packet_type::binary_event: return "BINARY_EVENT";
    case packet_type::binary_ack: return "BINARY_ACK";
  }
  return "?";
}

inline constexpr bool is_binary(packet_type t) noexcept {
  return t == packet_type::binary_event || t == packet_type::binary_ack;
}

/// Why a packet was refused. Decoding never throws: the server turns any of these into
/// "close this client" plus one log line.
enum class errc {
  ok = 0,
  empty_packet,
  bad_type,
  bad_attachments,        ///< count missing, not digits, no '-', or above the decoder's limit
  bad_namespace,          ///< a namespace must start with '/'
  bad_ack_id,             ///< digits that do not fit an integer
  bad_json,               ///< the payload is not valid JSON
  too_deep,               ///< JSON nesting deeper than the decoder accepts
  invalid_payload,        ///< valid JSON, wrong shape for the packet type
  reserved_event,         ///< an EVENT named connect, disconnect, ...
  bad_placeholder,        ///< a placeholder refers to an attachment that does not exist
  unexpected_binary,      ///< a binary message arrived while no attachment was expected
  unexpected_text,        ///< a text packet arrived while attachments were still expected
  packet_too_large,       ///< text + attachments of one packet above the decoder's byte limit
};

inline const char* describe(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::empty_packet: return "empty packet";
    case errc::bad_type: return "unknown packet type";
    case errc::bad_attachments: return "illegal attachments count (malformed or above max_attachments)";
    case errc::bad_namespace: return "namespace must start with '/'";
    case errc::bad_ack_id: return "illegal ack id";
    case errc::bad_json: return "payload is not valid JSON";
    case errc::too_deep: return "payload nested too deeply";
    case errc::invalid_payload: return "invalid payload for packet type";
    case errc::reserved_event: return "reserved event name";
    case errc::bad_placeholder: return "placeholder refers to a missing attachment";
    case errc::unexpected_binary: return "binary attachment without a pending binary packet";
    case errc::unexpected_text: return "text packet while attachments were expected";
    case errc::packet_too_large: return "packet and attachments above max_packet_bytes";
  }
  return "?";
}

/// Event names a peer may not emit (they are lifecycle events on the receiving side).
inline bool is_reserved_event(std::string_view name) noexcept {
  return name == "connect" || name == "connect_error" || name == "disconnect" ||
         name == "disconnecting" || name == "newListener" || name == "removeListener";
}

/// Ack ids are JavaScript numbers on the other side: keep them exactly representable.
inline constexpr std::uint64_t max_ack_id = (std::uint64_t{1} << 53) - 1;
inline constexpr std::uint64_t no_ack = ~std::uint64_t{0};

namespace detail {

/// Frees a pool allocator made by `make_dom_pool`.
struct dom_pool_delete {
  void operator()(json::allocator* a) const noexcept {
    std::destroy_at(a);
    ::operator delete(a);
  }
};
using dom_pool_ptr = std::unique_ptr<json::allocator, dom_pool_delete>;

/// The memory pool of one received DOM, allocated together with its first chunk: one malloc for
/// a typical packet (a separate pool object and chunk would be two).
inline dom_pool_ptr make_dom_pool(std::size_t first_chunk) {
  void* mem = ::operator new(sizeof(json::allocator) + first_chunk);
  char* chunk = static_cast<char*>(mem) + sizeof(json::allocator);
  return dom_pool_ptr(new (mem) json::allocator(chunk, first_chunk));
}

}  // namespace detail

/// A received packet. Owns its text; the JSON payload (if any) is a DOM parsed in situ over it,
/// whose nodes live in the packet's own pool, so a packet can be kept (and handed to another
/// thread) after its handler returns. It must not be copied (it is movable: the text's heap
/// buffer and the pool move with it).
class packet {
 public:
  packet() = default;
  packet(packet&&) = default;
  packet& operator=(packet&&) = default;
  packet(const packet&) = delete;
  packet& operator=(const packet&) = delete;

  packet_type type = packet_type::connect;
  std::uint64_t id = no_ack;        ///< ack id, `no_ack` when absent
  std::size_t attachments_expected = 0;
  std::vector<json::binary> attachments;

  bool has_id() const noexcept { return id != no_ack; }
  /// "/" when the packet named no namespace.
  std::string_view namespace_name() const noexcept {
    if (nsp_len_ == 0) return std::string_view("/", 1);
    return std::string_view(text_.data() + nsp_pos_, nsp_len_);
  }
  [[deprecated("use namespace_name()")]] std::string_view nsp() const noexcept { return namespace_name(); }
  bool has_data() const noexcept { return has_data_; }
  /// The payload; a Null value when absent.
  const json::value& data() const noexcept { return root_; }

  /// EVENT / BINARY_EVENT: the event name (first array element).
  std::string_view event_name() const noexcept {
    if (!root_.IsArray() || root_.Empty() || !root_[0].IsString()) return {};
    return std::string_view(root_[0].GetString(), root_[0].GetStringLength());
  }
  /// The arguments of an event (after the name) or of an ack (all elements).
  std::size_t arg_count() const noexcept {
    if (!root_.IsArray()) return 0;
    std::size_t n = root_.Size();
    return is_event() ? (n ? n - 1 : 0) : n;
  }
  const json::value& arg(std::size_t i) const noexcept {
    return root_[static_cast<rapidjson::SizeType>(is_event() ? i + 1 : i)];
  }
  bool is_event() const noexcept {
    return type == packet_type::event || type == packet_type::binary_event;
  }
  bool complete() const noexcept { return attachments.size() == attachments_expected; }
  json::decode_context context() const noexcept { return json::decode_context{&attachments}; }

 private:
  friend errc decode(std::string text, packet& out, std::size_t max_attachments);
  std::string text_;
  std::size_t nsp_pos_ = 0, nsp_len_ = 0;
  bool has_data_ = false;
  detail::dom_pool_ptr pool_;  ///< before root_: outlives it
  json::value root_;
};

namespace detail {

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// RapidJSON's writer recurses, so a hostile `[[[[...` must be refused before anyone serialises
/// it back. Only texts longer than the limit can be that deep, so short packets skip the scan.
inline bool nesting_within(std::string_view s, std::size_t max_depth) noexcept {
  if (s.size() <= max_depth) return true;
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth) --depth;
  }
  return true;
}

inline bool is_plain_object(const json::value& v) noexcept { return v.IsObject(); }

/// Every placeholder in `v` refers to one of the `count` attachments.
inline bool placeholders_within(const json::value& v, std::size_t count) noexcept {
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (!placeholders_within(e, count)) return false;
  } else if (v.IsObject()) {
    if (json::is_placeholder(v)) return v["num"].GetUint() < count;
    for (const auto& m : v.GetObject())
      if (!placeholders_within(m.value, count)) return false;
  }
  return true;
}

/// The v5 validity rules, per packet type, for a payload that is present.
inline errc check_payload(packet_type t, const json::value& v) noexcept {
  switch (t) {
    case packet_type::connect:
      return is_plain_object(v) ? errc::ok : errc::invalid_payload;
    case packet_type::disconnect:
      return errc::invalid_payload;  // DISCONNECT carries no payload
    case packet_type::connect_error:
      return (v.IsString() || is_plain_object(v)) ? errc::ok : errc::invalid_payload;
    case packet_type::event:
    case packet_type::binary_event:
      if (!v.IsArray() || v.Empty() || !v[0].IsString()) return errc::invalid_payload;
      if (is_reserved_event(std::string_view(v[0].GetString(), v[0].GetStringLength())))
        return errc::reserved_event;
      return errc::ok;
    case packet_type::ack:
    case packet_type::binary_ack:
      return v.IsArray() ? errc::ok : errc::invalid_payload;
  }
  return errc::bad_type;
}

/// Parses the `length` bytes at `text` (NUL-terminated) in situ into `root`, nodes allocated in
/// `pool`. The parser's work stack is per thread and reused (RapidJSON would allocate and free
/// one per document): it lives in a pool over a thread-local buffer, emptied after every parse.
inline bool parse_payload(char* text, std::size_t length, json::allocator& pool, json::value& root) {
  struct scratch {
    char buffer[4096];
    json::allocator stack_pool{buffer, sizeof(buffer)};
  };
  thread_local scratch tls;
  using parser = rapidjson::GenericDocument<rapidjson::UTF8<>, json::allocator, json::allocator>;
  /// RapidJSON 1.1 turns 10e308 into infinity, which no packet can carry back out: refused.
  struct finite_parser : parser {
    using parser::parser;
    bool Double(double d) { return std::isfinite(d) && parser::Double(d); }
  };
  bool ok = false;
  json::detail::replace_lone_surrogate_escapes(text, length);  // "\udd00" from a JS client -> U+FFFD
  {
    finite_parser doc(&pool, 1024, &tls.stack_pool);
    // Not json::parse_insitu's bounded stream: this one keeps RapidJSON's SSE2 string scan. With
    // kParseValidateEncodingFlag it would read past the terminator (see json/dom.hpp).
    rapidjson::InsituStringStream in(text);
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, json::allocator> reader(&tls.stack_pool);
    // Iterative: a hostile payload cannot exhaust the stack; trailing garbage is an error.
    auto generate = [&](parser&) {
      return ok = !reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag>(in, doc).IsError();
    };
    doc.Populate(generate);
    // RapidJSON stops at the first NUL byte: one before `length` hides garbage after it.
    ok = ok && in.Tell() == length;
    if (ok) root.Swap(doc);
  }
  tls.stack_pool.Clear();
  return ok;
}

}  // namespace detail

/// Deepest JSON nesting a received payload may have.
inline constexpr std::size_t max_json_depth = 256;

/// Most binary attachments one packet may announce (socket.io-parser's `maxAttachments`).
inline constexpr std::size_t default_max_attachments = 10;
/// Most bytes one packet may carry, text and attachments together: Engine.IO's default
/// max_payload, so one packet costs no more memory than one message.
inline constexpr std::size_t default_max_packet_bytes = 1000000;

/// Decodes one text packet. On success `out` holds the header and the parsed payload; for a
/// BINARY_* packet `out.attachments_expected` says how many binary messages must follow.
inline errc decode(std::string text, packet& out, std::size_t max_attachments = default_max_attachments) {
  out = packet{};
  const std::size_t n = text.size();
  if (n == 0) return errc::empty_packet;
  std::size_t i = 0;
  char c = text[i++];
  if (c < '0' || c > '6') return errc::bad_type;
  out.type = static_cast<packet_type>(c - '0');

  if (is_binary(out.type)) {
    std::size_t start = i;
    std::uint64_t count = 0;
    while (i < n && detail::is_digit(text[i])) {
      count = count * 10 + static_cast<std::uint64_t>(text[i] - '0');
      if (count > max_attachments) return errc::bad_attachments;
      ++i;
    }
    if (i == start || i >= n || text[i] != '-') return errc::bad_attachments;
    ++i;
    out.attachments_expected = static_cast<std::size_t>(count);
  }

  if (i < n && text[i] == '/') {
    std::size_t start = i;
    while (i < n && text[i] != ',') ++i;
    out.nsp_pos_ = start;
    out.nsp_len_ = i - start;
    if (i < n) ++i;  // the ',' (absent when the namespace ends the packet: "40/admin")
  } else if (i < n && text[i] != '[' && text[i] != '{' && text[i] != '"' && !detail::is_digit(text[i])) {
    // Anything else where a namespace could start is a namespace not starting with '/'.
    std::size_t comma = text.find(',', i);
    if (comma != std::string::npos && comma > i) return errc::bad_namespace;
  }

  if (i < n && detail::is_digit(text[i])) {
    std::uint64_t id = 0;
    while (i < n && detail::is_digit(text[i])) {
      id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
      if (id > max_ack_id) return errc::bad_ack_id;
      ++i;
    }
    out.id = id;
  }

  if (i < n) {
    std::string_view json(text.data() + i, n - i);
    if (!detail::nesting_within(json, max_json_depth)) return errc::too_deep;
    // Small strings live inside the std::string object; force a heap buffer so the in-situ
    // DOM's pointers survive moving the packet.
    if (text.capacity() < 64) text.reserve(64);
    out.text_ = std::move(text);
    char* p = out.text_.data() + i;
    // The first pool chunk is sized to the payload (a DOM node is 16 bytes, at most one per
    // 2 bytes of JSON text) instead of RapidJSON's 64 KB default.
    std::size_t chunk = (n - i) * 8;
    if (chunk < 256) chunk = 256;
    if (chunk > 65536) chunk = 65536;
    out.pool_ = detail::make_dom_pool(chunk);
    if (!detail::parse_payload(p, n - i, *out.pool_, out.root_)) return errc::bad_json;
    out.has_data_ = true;
    errc e = detail::check_payload(out.type, out.root_);
    if (e != errc::ok) return e;
    if (out.attachments_expected && !detail::placeholders_within(out.root_, out.attachments_expected))
      return errc::bad_placeholder;
  } else {
    out.text_ = std::move(text);
    if (out.type == packet_type::event || out.type == packet_type::binary_event ||
        out.type == packet_type::ack || out.type == packet_type::binary_ack ||
        out.type == packet_type::connect_error)
      return errc::invalid_payload;  // these carry a mandatory payload
  }
  return errc::ok;
}

/// Writes a packet header into `out` (which may already hold the Engine.IO '4' prefix).
inline void write_header(std::string& out, packet_type t, std::string_view nsp, std::uint64_t id = no_ack,
                         std::size_t attachments = 0) {
  out.push_back(static_cast<char>('0' + static_cast<int>(t)));
  if (is_binary(t)) {
    out += std::to_string(attachments);
    out.push_back('-');
  }
  if (!nsp.empty() && nsp != "/") {
    out.append(nsp.data(), nsp.size());
    out.push_back(',');
  }
  if (id != no_ack) out += std::to_string(id);
}

/// An outgoing packet: the text and the binary messages that follow it.
struct encoded {
  std::string text;
  std::vector<std::string> binaries;
};

/// Builds one outgoing packet: header first, then JSON written straight into the same string.
/// When binary attachments were written, `finish()` turns EVENT/ACK into BINARY_EVENT/BINARY_ACK
/// and inserts the count (one small memmove, only for binary packets).
class packet_writer {
 public:
  /// `json_size_hint`: the expected size of the JSON that follows, to allocate the text once.
  packet_writer(packet_type t, std::string_view nsp, std::uint64_t id = no_ack, std::string prefix = {},
                std::size_t json_size_hint = 0)
      : out_(std::move(prefix)), type_(t), sink_{&out_}, w_(sink_, &json::crt_allocator()) {
    type_pos_ = out_.size();
    out_.reserve(out_.size() + 24 + nsp.size() + json_size_hint);  // 24: type, id, separators
    write_header(out_, t, nsp, id);
  }
  json::writer& writer() noexcept { return w_; }
  json::encode_context& context() noexcept { return ctx_; }
  std::string& text() noexcept {
    sink_.Flush();
    return out_;
  }

  /// Completes the header; the attachments' bytes are in `context().attachments`.
  std::string& finish() {
    sink_.Flush();
    std::size_t n = ctx_.attachments.size();
    if (n && !is_binary(type_)) {
      if (type_ == packet_type::event) type_ = packet_type::binary_event;
      else if (type_ == packet_type::ack) type_ = packet_type::binary_ack;
      out_[type_pos_] = static_cast<char>('0' + static_cast<int>(type_));
      out_.insert(type_pos_ + 1, std::to_string(n) + "-");
    }
    return out_;
  }
  packet_type type() const noexcept { return type_; }

  packet_writer(const packet_writer&) = delete;  // the writer points at out_
  packet_writer& operator=(const packet_writer&) = delete;

 private:
  std::string out_;
  packet_type type_;
  std::size_t type_pos_ = 0;
  json::string_sink sink_;
  json::writer w_;
  json::encode_context ctx_;
};

/// Encodes a header plus an optional DOM payload as is (placeholders included): the inverse of
/// `decode` for tests and tools. `attachments` is the count written in the header of BINARY_*.
inline std::string encode(packet_type t, std::string_view nsp, const json::value* data,
                          std::uint64_t id = no_ack, std::size_t attachments = 0) {
  std::string out;
  write_header(out, t, nsp, id, attachments);
  if (data) {
    json::string_sink sink{&out};
    json::writer w(sink);
    data->Accept(w);
  }
  return out;
}

/// Re-encodes a received packet (round trip): same header, same payload, same attachments.
inline encoded encode(const packet& p) {
  encoded e;
  e.text = encode(p.type, p.namespace_name(), p.has_data() ? &p.data() : nullptr, p.id, p.attachments_expected);
  for (const auto& b : p.attachments) e.binaries.push_back(b.bytes);
  return e;
}

/// Collects a packet and the binary attachments that follow a BINARY_EVENT / BINARY_ACK header.
/// One per connection; feed it every Engine.IO message in order.
class decoder {
 public:
  enum class status { ready, awaiting_attachments, error };

  /// `max_packet_bytes` bounds the text plus the attachments of one packet, checked as each
  /// part arrives: a peer cannot make the decoder hold more than that before refusing.
  explicit decoder(std::size_t max_attachments = default_max_attachments,
                   std::size_t max_packet_bytes = default_max_packet_bytes)
      : max_attachments_(max_attachments), max_packet_bytes_(max_packet_bytes) {}

  status add_text(std::string text) {
    if (pending_) return fail(errc::unexpected_text);
    if (text.size() > max_packet_bytes_) return fail(errc::packet_too_large);
    bytes_ = text.size();
    errc e = decode(std::move(text), current_, max_attachments_);
    if (e != errc::ok) return fail(e);
    if (current_.attachments_expected == 0) return status::ready;
    current_.attachments.reserve(current_.attachments_expected);
    pending_ = true;
    return status::awaiting_attachments;
  }

  status add_binary(std::string bytes) {
    if (!pending_) return fail(errc::unexpected_binary);
    if (bytes.size() > max_packet_bytes_ - bytes_) return fail(errc::packet_too_large);
    bytes_ += bytes.size();
    current_.attachments.emplace_back(std::move(bytes));
    if (!current_.complete()) return status::awaiting_attachments;
    pending_ = false;
    return status::ready;
  }

  /// The packet completed by the last `ready` status.
  packet& current() noexcept { return current_; }
  packet take() { return std::move(current_); }
  errc error() const noexcept { return error_; }
  bool awaiting() const noexcept { return pending_; }
  void reset() {
    pending_ = false;
    error_ = errc::ok;
    bytes_ = 0;
    current_ = packet{};
  }

 private:
  status fail(errc e) {
    error_ = e;
    pending_ = false;
    current_ = packet{};  // the parts collected so far are freed at once
    return status::error;
  }
  std::size_t max_attachments_;
  std::size_t max_packet_bytes_;
  std::size_t bytes_ = 0;  ///< text + attachments of the packet being collected
  bool pending_ = false;
  errc error_ = errc::ok;
  packet current_;
};

}  // namespace portico::socketio
// ---- end portico/socketio/codec.hpp ----

namespace portico::socketio {

/// The attachment a placeholder stands for, or nullptr when `v` is not a resolvable placeholder.
inline const json::binary* resolve(const json::value& v, const json::decode_context& ctx) noexcept {
  if (!ctx.attachments || !json::is_placeholder(v)) return nullptr;
  unsigned n = v["num"].GetUint();
  return n < ctx.attachments->size() ? &(*ctx.attachments)[n] : nullptr;
}

/// Writes a received value into an outgoing packet. Placeholders that resolve through `from` are
/// written as new placeholders of `to` (their bytes are referenced, not copied).
inline void write_value(json::writer& w, const json::value& v, const json::decode_context& from,
                        json::encode_context& to) {
  if (!from.attachments || from.attachments->empty()) {
    v.Accept(w);
    return;
  }
  if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) write_value(w, e, from, to);
    w.EndArray(v.Size());
  } else if (v.IsObject()) {
    if (const json::binary* b = resolve(v, from)) {
      json::write_placeholder(w, to, b->view());
      return;
    }
    w.StartObject();
    for (const auto& m : v.GetObject()) {
      w.Key(m.name.GetString(), m.name.GetStringLength());
      write_value(w, m.value, from, to);
    }
    w.EndObject(v.MemberCount());
  } else {
    v.Accept(w);
  }
}

/// A DOM with binary blobs inline: each blob is a string node holding the bytes, and
/// `binary_nodes` lists which string nodes are blobs (JSON has no binary type of its own).
struct reconstructed {
  json::document doc;
  std::unordered_set<const json::value*> binary_nodes;
  bool is_binary(const json::value& v) const { return binary_nodes.count(&v) != 0; }
};

namespace detail {
inline void rebuild(json::value& dst, const json::value& src, const json::decode_context& ctx,
                    json::allocator& a, std::unordered_set<const json::value*>& marks) {
  if (const json::binary* b = resolve(src, ctx)) {
    dst.SetString(b->bytes.data(), static_cast<rapidjson::SizeType>(b->bytes.size()), a);
    marks.insert(&dst);
  } else if (src.IsArray()) {
    dst.SetArray();
    dst.Reserve(src.Size(), a);
    for (const auto& e : src.GetArray()) {
      dst.PushBack(json::value(), a);
      rebuild(dst[dst.Size() - 1], e, ctx, a, marks);
    }
  } else if (src.IsObject()) {
    dst.SetObject();
    for (const auto& m : src.GetObject()) {
      json::value key(m.name.GetString(), m.name.GetStringLength(), a);
      dst.AddMember(key, json::value(), a);
      rebuild((dst.MemberEnd() - 1)->value, m.value, ctx, a, marks);
    }
  } else {
    dst = json::copy(src, a);
  }
}

inline void strip(json::writer& w, const json::value& v, const reconstructed& r, json::encode_context& ctx) {
  if (r.is_binary(v)) {
    json::write_placeholder(w, ctx, std::string_view(v.GetString(), v.GetStringLength()));
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) strip(w, e, r, ctx);
    w.EndArray(v.Size());
  } else if (v.IsObject()) {
    w.StartObject();
    for (const auto& m : v.GetObject()) {
      w.Key(m.name.GetString(), m.name.GetStringLength());
      strip(w, m.value, r, ctx);
    }
    w.EndObject(v.MemberCount());
  } else {
    v.Accept(w);
  }
}
}  // namespace detail

/// Replaces every placeholder of `data` by the attachment's bytes (a copy: this is for users who
/// want a self-contained tree; the server's hot path never calls it).
inline reconstructed reconstruct(const json::value& data, const std::vector<json::binary>& attachments) {
  reconstructed r;
  json::decode_context ctx{&attachments};
  detail::rebuild(r.doc, data, ctx, r.doc.GetAllocator(), r.binary_nodes);
  return r;
}

/// The inverse of `reconstruct`: JSON text with placeholders plus the attachments in order.
struct deconstructed {
  std::string json;
  std::vector<std::string> attachments;
};

inline deconstructed deconstruct(const reconstructed& r) {
  deconstructed d;
  json::string_sink sink{&d.json};
  json::writer w(sink);
  json::encode_context ctx;
  detail::strip(w, r.doc, r, ctx);
  for (auto bytes : ctx.attachments) d.attachments.emplace_back(bytes);
  return d;
}

}  // namespace portico::socketio
// ---- end portico/socketio/binary.hpp ----

namespace portico::socketio {

/// One received argument with the attachments its placeholders point to.
///
/// A default-constructed `arg` (like `args::at` past the end) is JSON null, never a dangling
/// pointer: `value()` is a null value, `is_null()` true, `is_string()` false, `str()` empty,
/// `binary()` nullptr, and emitting it writes `null`. So an optional argument is forwarded with
/// one code path: `socketio::arg a; if (cond) a = e.args().at(1); s.emit("x", a);`.
struct arg {
  const json::value* v = &null_value();  ///< never read directly: a nullptr set here reads as null too
  json::decode_context ctx{};
  const json::value& value() const noexcept { return v ? *v : null_value(); }
  /// Whether the argument is JSON null (also a default-constructed or missing one).
  bool is_null() const noexcept { return value().IsNull(); }
  /// The blob when this argument is a (resolvable) placeholder.
  const json::binary* binary() const noexcept { return resolve(value(), ctx); }
  bool is_string() const noexcept { return value().IsString(); }
  std::string_view str() const noexcept {
    const json::value& x = value();
    return x.IsString() ? std::string_view(x.GetString(), x.GetStringLength()) : std::string_view{};
  }
  static const json::value& null_value() noexcept {
    static const json::value null;
    return null;
  }
};

/// The arguments of a received event (after its name) or ack.
class args {
 public:
  args() = default;
  explicit args(const packet& p) noexcept : p_(&p) {}
  std::size_t size() const noexcept { return p_ ? p_->arg_count() : 0; }
  bool empty() const noexcept { return size() == 0; }
  /// Bounds-checked: a missing argument reads as JSON null.
  const json::value& operator[](std::size_t i) const noexcept {
    static const json::value null_value;
    return i < size() ? p_->arg(i) : null_value;
  }
  socketio::arg at(std::size_t i) const noexcept { return socketio::arg{&(*this)[i], context()}; }
  json::decode_context context() const noexcept {
    return p_ ? p_->context() : json::decode_context{};
  }
  const std::vector<json::binary>& attachments() const noexcept {
    static const std::vector<json::binary> none;
    return p_ ? p_->attachments : none;
  }
  const packet* raw() const noexcept { return p_; }

 private:
  const packet* p_ = nullptr;
};

/// Writes received arguments as one JSON array argument (instead of spreading them).
struct as_array {
  const args& a;
};

}  // namespace portico::socketio

namespace portico::json {

/// A received argument written again: its placeholders renumbered into the outgoing packet and
/// its blobs attached. As a handler parameter it is the raw argument with its attachments.
template <>
struct adapter<socketio::arg> {
  static void encode(writer& w, const socketio::arg& a, encode_context& ctx) {
    socketio::write_value(w, a.value(), a.ctx, ctx);
  }
  static bool decode(const value& v, socketio::arg& out, decode_context& ctx, error_list&) {
    out = socketio::arg{&v, ctx};
    return true;
  }
};

/// Received arguments written as one JSON array.
template <>
struct adapter<socketio::as_array> {
  static void encode(writer& w, const socketio::as_array& x, encode_context& ctx) {
    w.StartArray();
    for (std::size_t i = 0; i < x.a.size(); ++i) adapter<socketio::arg>::encode(w, x.a.at(i), ctx);
    w.EndArray(static_cast<rapidjson::SizeType>(x.a.size()));
  }
};

}  // namespace portico::json

namespace portico::socketio {

namespace detail {

/// Writes one emit argument: the JSON layer's one encoding path (`json::encode`), which also
/// knows `arg` and `as_array` (adapters above) and any PORTICO_FIELDS type or `json::adapter`.
template <class T>
void write_arg(json::writer& w, json::encode_context& c, const T& v) {
  json::encode(w, v, c);
}

/// Roughly the JSON text size of `v`, to allocate an outgoing packet once (strings counted
/// without escapes, 20 bytes per number).
inline std::size_t value_json_size(const json::value& v) noexcept {
  std::size_t n = 2;  // brackets, braces or quotes
  if (v.IsString()) return n + v.GetStringLength();
  if (v.IsArray()) {
    for (const auto& e : v.GetArray()) n += value_json_size(e) + 1;
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) n += m.name.GetStringLength() + 4 + value_json_size(m.value);
  } else {
    n = 20;  // number, true, false, null
  }
  return n;
}

template <class T>
std::size_t estimated_arg_size(const T& v) noexcept {
  if constexpr (std::is_same_v<T, arg>) {
    return value_json_size(v.value());
  } else if constexpr (std::is_same_v<T, args>) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < v.size(); ++i) n += value_json_size(v[i]) + 1;
    return n;
  } else if constexpr (std::is_base_of_v<json::value, T>) {
    return value_json_size(v);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string_view(v).size() + 3;
  } else {
    return 32;  // numbers, and a guess for structs (the string grows if it is short)
  }
}

/// The expected JSON size of an argument list `[a, b, ...]`.
template <class... A>
std::size_t args_json_size(const A&... a) noexcept {
  return 2 + (std::size_t{0} + ... + (estimated_arg_size(a) + 1));
}

/// A whole `args` spreads into several arguments (echoing "the same args").
inline void write_args_one(json::writer& w, json::encode_context& c, const args& a) {
  for (std::size_t i = 0; i < a.size(); ++i) write_arg(w, c, a.at(i));
}
template <class T>
void write_args_one(json::writer& w, json::encode_context& c, const T& v) {
  write_arg(w, c, v);
}

template <class... A>
void write_args(json::writer& w, json::encode_context& c, const A&... a) {
  (write_args_one(w, c, a), ...);
}

}  // namespace detail

/// Arguments encoded ahead of time, e.g. an ack reply with several values:
/// `return socketio::payload(a, b);`. Encoded once; the ACK packet is its header followed by
/// this text, without re-parsing.
class payload {
 public:
  payload() = default;
  template <class... A>
  explicit payload(const A&... a) {
    json::string_sink sink{&json_};
    json::writer w(sink);
    json::encode_context ctx;
    w.StartArray();
    detail::write_args(w, ctx, a...);
    w.EndArray();
    // The context only references bytes; a payload outlives its arguments, so own them.
    for (auto b : ctx.attachments) attachments_.emplace_back(b);
  }
  /// `[...]` with placeholders numbered from 0.
  const std::string& json() const noexcept { return json_; }
  const std::vector<std::string>& attachments() const noexcept { return attachments_; }

 private:
  std::string json_;
  std::vector<std::string> attachments_;
};


}  // namespace portico::socketio
// ---- end portico/socketio/args.hpp ----

namespace portico::socketio {

class nsp;

/// Who a broadcast goes to. A socket's sid is also a room holding only that socket.
struct broadcast_options {
  std::vector<std::string> rooms;   ///< empty: every socket of the namespace
  std::vector<std::string> except;  ///< rooms (or sids) to leave out
  bool volatile_ = false;           ///< skip recipients whose transport is not writable now
  bool local = false;               ///< cluster adapters: do not forward to other nodes
  /// Broadcast with ack: how long the sender waits for answers (cluster adapters forward it as
  /// socket.io's `flags.timeout`); zero for plain broadcasts.
  std::chrono::milliseconds timeout{0};
};

/// A broadcast, encoded once.
struct outgoing_packet {
  packet_type type = packet_type::event;
  std::string_view nsp;
  engineio::frame_ptr frame;  ///< the Socket.IO packet text (no Engine.IO prefix) + attachments
  std::uint64_t id = no_ack;  ///< broadcast with ack: the ack id written in `frame` (namespace-wide)
};

/// Where the answers to one broadcast with ack go. Thread-safe: called from any thread.
class ack_collector {
 public:
  virtual ~ack_collector() = default;
  /// Before the packet goes to local socket `sid`: starts waiting for its answer. False when
  /// that socket is already gone (the adapter then skips it).
  virtual bool expect(const std::string& sid) = 0;
  /// One server (this one, or a remote one) sent the packet to `n` clients. Called exactly once
  /// per server, also with 0.
  virtual void client_count(std::size_t n) = 0;
  /// A remote client's answer (its ack arguments; local answers arrive through `expect`).
  virtual void response(const args& a) = 0;
};

/// One socket as fetch_sockets reports it (socket.io's RemoteSocket: id, handshake, rooms, data).
struct socket_info {
  std::string id;
  std::vector<std::string> rooms;
  std::string handshake = "{}";  ///< JSON: headers, time, address, xdomain, secure, issued, url, query, auth
  std::string data = "{}";       ///< JSON: the socket's session (socket.io's `socket.data`)
};

class adapter {
 public:
  /// Hands one frame to many Engine.IO sockets (the server's `send_many`).
  using deliver_fn =
      std::function<void(const engineio::frame_ptr&, const std::vector<engineio::socket_ptr>&)>;

  virtual ~adapter() = default;
  /// A socket connected to the namespace: it joins its own room.
  virtual void add_socket(const std::string& sid, engineio::socket_ptr engine) = 0;
  /// The socket left the namespace: it leaves every room.
  virtual void remove_socket(const std::string& sid) = 0;
  virtual void join(const std::string& sid, const std::string& room) = 0;
  virtual void leave(const std::string& sid, const std::string& room) = 0;
  /// Every socket leaves `room`.
  virtual void close_room(const std::string& room) = 0;
  virtual std::vector<std::string> rooms_of(const std::string& sid) const = 0;
  /// The sids a broadcast with these options would reach (locally).
  virtual std::vector<std::string> sids(const broadcast_options& opts) const = 0;
  virtual void broadcast(const outgoing_packet& p, const broadcast_options& opts) = 0;
  /// Like `broadcast`, for a packet that asks for an ack (`p.id`): calls `acks->expect(sid)`
  /// for each local recipient before sending to it, then `acks->client_count(local recipients)`.
  virtual void broadcast_with_ack(const outgoing_packet& p, const broadcast_options& opts,
                                  const std::shared_ptr<ack_collector>& acks) = 0;
  /// How many servers will report a client count for a broadcast with ack, this one included
  /// (a cluster adapter asks its peers, e.g. PUBSUB NUMSUB, and may answer later).
  virtual void server_count(std::function<void(std::size_t)> done) { done(1); }
  /// The namespace this adapter serves, once it exists (before any socket joins). A cluster
  /// adapter uses it to deliver what other servers send with the namespace's own machinery
  /// (e.g. broadcasts with ack: local ack ids and answers).
  virtual void bind(nsp&) {}
  /// The other servers' answers to a server-side emit with ack: `complete` false when the
  /// cluster's timeout came first; `responses[i]` is one server's answer.
  using server_ack_fn = std::function<void(bool complete, const args& responses)>;
  /// Sends the event `p` (`[event, ...args]`) to the namespace's server-side listeners of every
  /// other server of a cluster; with `cb`, collects one answer per other server. Alone: no
  /// other server, so `cb(true, {})` at once.
  virtual void server_side_emit(const outgoing_packet& p, server_ack_fn cb) {
    (void)p;
    if (cb) cb(true, args{});
  }
  /// The matching sockets of the other servers (`complete` false when the cluster's timeout came
  /// first). Alone: none, at once.
  using fetch_fn = std::function<void(bool complete, std::vector<socket_info> sockets)>;
  virtual void fetch_remote_sockets(const broadcast_options& opts, fetch_fn done) {
    (void)opts;
    done(true, {});
  }
  /// The other servers' sockets that `opts` selects join `rooms` (socket.io's `socketsJoin`
  /// beyond this server; `nsp::sockets_join` applies it here). Alone: nothing to do.
  virtual void remote_join(const broadcast_options& opts, const std::vector<std::string>& rooms) {
    (void)opts, (void)rooms;
  }
  /// Like `remote_join`, leaving `rooms` (socket.io's `socketsLeave`).
  virtual void remote_leave(const broadcast_options& opts, const std::vector<std::string>& rooms) {
    (void)opts, (void)rooms;
  }
  /// The other servers disconnect the sockets `opts` selects: `close` closes their connections,
  /// otherwise they leave this namespace only (socket.io's `disconnectSockets(close)`).
  virtual void remote_disconnect(const broadcast_options& opts, bool close) { (void)opts, (void)close; }
  /// The rooms of the other servers, socket ids included (`complete` false when the cluster's
  /// timeout came first). Alone: none, at once.
  using rooms_fn = std::function<void(bool complete, std::vector<std::string> rooms)>;
  virtual void fetch_remote_rooms(rooms_fn done) { done(true, {}); }
  /// A cluster adapter's counts (metrics.hpp); false (the default): no cluster.
  virtual bool cluster_counts(cluster_metrics& out) const {
    (void)out;
    return false;
  }
  /// This server's rooms, each socket's own room (its sid) included, as socket.io's `adapter.rooms`.
  virtual std::vector<std::string> local_rooms() const {
    std::unordered_set<std::string> all;
    for (const auto& sid : sids(broadcast_options{}))
      for (auto& r : rooms_of(sid)) all.insert(std::move(r));
    return {all.begin(), all.end()};
  }
};

/// The default adapter: rooms in memory, one mutex per namespace (unrelated namespaces never
/// contend; a socket's own messages never touch it).
class memory_adapter : public adapter {
 public:
  explicit memory_adapter(deliver_fn deliver) : deliver_(std::move(deliver)) {}

  void add_socket(const std::string& sid, engineio::socket_ptr engine) override {
    std::lock_guard<std::mutex> g(mu_);
    auto& m = members_[sid];
    m.engine = std::move(engine);
    m.rooms.insert(sid);
    rooms_[sid].insert(sid);
  }

  void remove_socket(const std::string& sid) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = members_.find(sid);
    if (it == members_.end()) return;
    for (const auto& r : it->second.rooms) erase_from_room(r, sid);
    members_.erase(it);
  }

  void join(const std::string& sid, const std::string& room) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = members_.find(sid);
    if (it == members_.end()) return;
    if (it->second.rooms.insert(room).second) rooms_[room].insert(sid);
  }

  void leave(const std::string& sid, const std::string& room) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = members_.find(sid);
    if (it == members_.end()) return;
    if (it->second.rooms.erase(room)) erase_from_room(room, sid);
  }

  void close_room(const std::string& room) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    for (const auto& sid : it->second) {
      auto m = members_.find(sid);
      if (m != members_.end()) m->second.rooms.erase(room);
    }
    rooms_.erase(it);
  }

  std::vector<std::string> rooms_of(const std::string& sid) const override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> out;
    auto it = members_.find(sid);
    if (it != members_.end()) out.assign(it->second.rooms.begin(), it->second.rooms.end());
    return out;
  }

  std::vector<std::string> local_rooms() const override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> out;
    out.reserve(rooms_.size());
    for (const auto& kv : rooms_) out.push_back(kv.first);
    return out;
  }

  std::vector<std::string> sids(const broadcast_options& opts) const override {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> g(mu_);
    select(opts, [&](const std::string& sid, const member&) { out.push_back(sid); });
    return out;
  }

  void broadcast(const outgoing_packet& p, const broadcast_options& opts) override {
    std::vector<engineio::socket_ptr> to;
    {
      std::lock_guard<std::mutex> g(mu_);
      to.reserve(opts.rooms.empty() ? members_.size() : 8);
      select(opts, [&](const std::string&, const member& m) {
        if (!opts.volatile_ || m.engine->writable()) to.push_back(m.engine);
      });
    }
    if (!to.empty()) deliver_(p.frame, to);
  }

  void broadcast_with_ack(const outgoing_packet& p, const broadcast_options& opts,
                          const std::shared_ptr<ack_collector>& acks) override {
    std::vector<std::pair<std::string, engineio::socket_ptr>> picked;
    {
      std::lock_guard<std::mutex> g(mu_);
      select(opts, [&](const std::string& sid, const member& m) {
        if (!opts.volatile_ || m.engine->writable()) picked.emplace_back(sid, m.engine);
      });
    }
    // Outside the lock: `expect` takes the namespace's and the socket's locks.
    std::vector<engineio::socket_ptr> to;
    to.reserve(picked.size());
    for (auto& r : picked)
      if (acks->expect(r.first)) to.push_back(std::move(r.second));
    if (!to.empty()) deliver_(p.frame, to);
    acks->client_count(to.size());
  }

 protected:
  struct member {
    engineio::socket_ptr engine;
    std::unordered_set<std::string> rooms;
  };

  /// Closes the Engine.IO connections of the sockets `opts` selects (for a cluster adapter whose
  /// namespace is not bound: it has the connections, not the Socket.IO sockets).
  void close_connections(const broadcast_options& opts) {
    std::vector<engineio::socket_ptr> to_close;
    {
      std::lock_guard<std::mutex> g(mu_);
      select(opts, [&](const std::string&, const member& m) { to_close.push_back(m.engine); });
    }
    for (auto& e : to_close) e->close();  // thread-safe: runs on each socket's home worker
  }

  /// Calls `f` once per selected member. Caller holds the mutex.
  template <class F>
  void select(const broadcast_options& opts, F&& f) const {
    std::unordered_set<std::string_view> excluded;
    for (const auto& r : opts.except) {
      auto it = rooms_.find(r);
      if (it != rooms_.end())
        for (const auto& sid : it->second) excluded.insert(sid);
    }
    auto visit = [&](const std::string& sid) {
      if (!excluded.empty() && excluded.count(sid)) return;
      auto m = members_.find(sid);
      if (m != members_.end()) f(m->first, m->second);
    };
    if (opts.rooms.empty()) {
      for (const auto& kv : members_)
        if (excluded.empty() || !excluded.count(kv.first)) f(kv.first, kv.second);
    } else if (opts.rooms.size() == 1) {
      auto it = rooms_.find(opts.rooms.front());
      if (it != rooms_.end())
        for (const auto& sid : it->second) visit(sid);
    } else {
      std::unordered_set<std::string_view> seen;
      for (const auto& r : opts.rooms) {
        auto it = rooms_.find(r);
        if (it == rooms_.end()) continue;
        for (const auto& sid : it->second)
          if (seen.insert(sid).second) visit(sid);
      }
    }
  }

  void erase_from_room(const std::string& room, const std::string& sid) {
    auto r = rooms_.find(room);
    if (r == rooms_.end()) return;
    r->second.erase(sid);
    if (r->second.empty()) rooms_.erase(r);
  }

  deliver_fn deliver_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, member> members_;
  std::unordered_map<std::string, std::unordered_set<std::string>> rooms_;
};

}  // namespace portico::socketio
// ---- end portico/socketio/adapter.hpp ----
// ---- begin portico/socketio/detail/timers.hpp ----
/// One background thread for the Socket.IO layer's deadlines (ack timeouts, connect timeouts).
///
/// The Engine.IO layer does not lend its io_contexts, and these deadlines are rare compared to
/// messages, so a single sorted queue is enough. Callbacks run on the timer thread and must only
/// post work elsewhere (to a socket's home worker) or be trivially short.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace portico::socketio::detail {

class timers {
 public:
  using clock = std::chrono::steady_clock;
  using id = std::uint64_t;

  timers() = default;
  timers(const timers&) = delete;
  timers& operator=(const timers&) = delete;
  ~timers() { stop(); }

  /// Schedules `f` after `d`; returns an id for `cancel`. Starts the thread on first use.
  id after(std::chrono::milliseconds d, std::function<void()> f) {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_) return 0;
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    id i = ++next_;
    auto when = clock::now() + d;
    queue_.emplace(std::make_pair(when, i), std::move(f));
    index_.emplace(i, when);
    cv_.notify_one();
    return i;
  }

  /// Returns true when the callback had not run yet (and now never will).
  bool cancel(id i) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = index_.find(i);
    if (it == index_.end()) return false;
    queue_.erase(std::make_pair(it->second, i));
    index_.erase(it);
    return true;
  }

  /// Drops pending callbacks and joins the thread. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
      queue_.clear();
      index_.clear();
      cv_.notify_all();
    }
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stopping_) {
      if (queue_.empty()) {
        cv_.wait(lk);
        continue;
      }
      auto first = queue_.begin();
      const clock::time_point when = first->first.first;  // a copy: cancel() may erase the node while we wait
      if (when > clock::now()) {
        cv_.wait_until(lk, when);
        continue;
      }
      auto f = std::move(first->second);
      index_.erase(first->first.second);
      queue_.erase(first);
      lk.unlock();
      f();
      lk.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<clock::time_point, id>, std::function<void()>> queue_;
  std::unordered_map<id, clock::time_point> index_;
  id next_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace portico::socketio::detail
// ---- end portico/socketio/detail/timers.hpp ----
// ---- begin portico/socketio/namespace.hpp ----
/// A namespace: its handlers, its sockets, its adapter (rooms), and broadcast emitters.
///
/// Handlers are registered before `server::start()` and only read afterwards, so the message
/// path reads them without a lock. Dynamic namespaces (created on demand by a predicate, a regex
/// or the catch-all) share their parent's handler table.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

// ---- begin portico/socketio/recovery.hpp ----
/// Connection state recovery (socket.io 4.6+'s `connectionStateRecovery`): what a namespace keeps
/// so that a client whose transport died gets its socket back.
///
/// With recovery on, the CONNECT answer carries a private session id (`pid`), and every event
/// Node would make recoverable (broadcasts and emits to one socket, without ack, not volatile)
/// carries an offset as its last argument and is kept in the namespace's `session_store`. When a
/// socket's connection is lost (not a client or server namespace disconnect), its session (sid,
/// pid, rooms, session data) is kept for `max_disconnection_duration`. A client that comes back
/// with `{pid, offset}` in its CONNECT payload gets the same sid, rooms and data, and the packets
/// after `offset` that its rooms selected, in order.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>


namespace portico::socketio {

struct recovery_options {
  /// Off by default: no pid, no offsets, nothing stored (one branch per emit).
  bool enabled = false;
  /// How long a lost session waits for its client (Node's default: 2 minutes).
  std::chrono::milliseconds max_disconnection_duration{120000};
  /// A recovered socket skips the `use()` middlewares (its connect handlers still run), as
  /// Node's `skipMiddlewares`; gateways skip their guards.
  bool skip_middlewares = true;
  /// Most recoverable packets a namespace keeps (besides the time window); a client whose
  /// offset fell out of them is not recovered (it gets a fresh session; one log line).
  std::size_t max_stored_packets = 10000;
};

/// One socket's state while its client is away.
struct recovery_session {
  std::string sid, pid;
  std::vector<std::string> rooms;  ///< its own room (sid) included
  std::string data;                ///< the session as JSON text; empty: none
  std::vector<engineio::frame_ptr> missed;  ///< filled by `restore`: the packets to replay, in order
};

/// Where a namespace keeps lost sessions and recoverable packets. One per namespace, built by
/// `server_options::session_store_factory`; called from any thread.
class session_store {
 public:
  virtual ~session_store() = default;
  /// The offset of the next recoverable packet. The namespace calls it, encodes the packet with
  /// it and calls `store` under one lock, so offsets are stored in delivery order.
  virtual std::string next_offset() = 0;
  /// A recoverable packet (written with `offset`) and who it went to.
  virtual void store(const std::string& offset, const broadcast_options& to, engineio::frame_ptr f) = 0;
  /// A socket lost its connection: keep its session for the window.
  virtual void persist(recovery_session s) = 0;
  /// The session `pid` (forgotten here), with the packets after `offset` it missed; none when
  /// unknown, expired, or some of its missed packets are gone.
  virtual std::optional<recovery_session> restore(const std::string& pid, const std::string& offset) = 0;
};

/// The default store: one log of recoverable packets per namespace, bounded by time and count,
/// replayed filtered by the session's rooms (socket.io-adapter's SessionAwareAdapter).
class memory_session_store : public session_store {
 public:
  explicit memory_session_store(recovery_options o)
      : opts_(o), prefix_(portico::detail::random_id().substr(0, 8) + "-"), log_("portico.socketio") {}

  std::string next_offset() override {
    std::lock_guard<std::mutex> g(mu_);
    return prefix_ + std::to_string(next_seq_++);
  }

  void store(const std::string& offset, const broadcast_options& to, engineio::frame_ptr f) override {
    auto seq = parse(offset);
    if (!seq) return;
    auto now = clock::now();
    std::lock_guard<std::mutex> g(mu_);
    packets_.push_back(entry{*seq, now, to.rooms, to.except, std::move(f)});
    while (!packets_.empty() &&
           (packets_.size() > opts_.max_stored_packets || packets_.front().at + opts_.max_disconnection_duration < now)) {
      dropped_upto_ = packets_.front().seq + 1;
      packets_.pop_front();
    }
  }

  void persist(recovery_session s) override {
    auto now = clock::now();
    std::lock_guard<std::mutex> g(mu_);
    if (now >= next_sweep_) {  // expired sessions go at most a few times per window
      for (auto it = sessions_.begin(); it != sessions_.end();)
        it = it->second.until < now ? sessions_.erase(it) : std::next(it);
      next_sweep_ = now + opts_.max_disconnection_duration / 4;
    }
    auto pid = s.pid;
    sessions_[std::move(pid)] = kept{now + opts_.max_disconnection_duration, std::move(s)};
  }

  std::optional<recovery_session> restore(const std::string& pid, const std::string& offset) override {
    auto seq = parse(offset);
    std::lock_guard<std::mutex> g(mu_);
    auto it = sessions_.find(pid);
    if (it == sessions_.end()) return std::nullopt;
    kept k = std::move(it->second);
    sessions_.erase(it);
    if (k.until < clock::now()) return std::nullopt;
    // Every packet after `offset` must still be here (the one at `offset` may be gone).
    if (!seq || *seq >= next_seq_ || *seq + 1 < dropped_upto_) {
      log_.info([&] { return "session " + k.s.sid + " not recovered: offset " + offset + " is unknown or its missed packets exceeded max_stored_packets"; });
      return std::nullopt;
    }
    for (const auto& p : packets_)
      if (p.seq > *seq && selects(p, k.s.rooms)) k.s.missed.push_back(p.frame);
    return std::move(k.s);
  }

 private:
  using clock = std::chrono::steady_clock;
  struct entry {
    std::uint64_t seq;
    clock::time_point at;
    std::vector<std::string> rooms, except;
    engineio::frame_ptr frame;
  };
  struct kept {
    clock::time_point until;
    recovery_session s;
  };

  std::optional<std::uint64_t> parse(std::string_view offset) const {
    if (offset.size() <= prefix_.size() || offset.substr(0, prefix_.size()) != prefix_) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : offset.substr(prefix_.size())) {
      if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
  }
  /// Would a socket in `rooms` have received `p`?
  static bool selects(const entry& p, const std::vector<std::string>& rooms) {
    auto has = [](const std::vector<std::string>& set, const std::string& r) {
      for (const auto& x : set)
        if (x == r) return true;
      return false;
    };
    bool in = p.rooms.empty();
    for (const auto& r : rooms) {
      if (has(p.except, r)) return false;
      if (!in && has(p.rooms, r)) in = true;
    }
    return in;
  }

  recovery_options opts_;
  std::string prefix_;  ///< random per store: another server's (or a previous run's) offsets never parse
  portico::logger log_;
  std::mutex mu_;
  std::uint64_t next_seq_ = 0, dropped_upto_ = 0;
  std::deque<entry> packets_;
  std::unordered_map<std::string, kept> sessions_;
  clock::time_point next_sweep_{};
};

}  // namespace portico::socketio
// ---- end portico/socketio/recovery.hpp ----
// ---- begin portico/socketio/socket.hpp ----
/// One client's connection to one namespace (python-socketio's `sid`, socket.io's `Socket`).
///
/// Threading: the server calls handlers on the connection's home worker. `emit`, `join`,
/// `leave`, `rooms`, the session and `disconnect` may be called from any thread: emits are
/// encoded on the caller's thread and handed to the Engine.IO socket (which posts to its home
/// worker), rooms live in the namespace's adapter (its own mutex), acks and the session have a
/// small per-socket mutex nobody else contends on.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

// ---- begin portico/socketio/ack_status.hpp ----
/// How an emit with an ack ended. One enum for the server side (socketio::socket) and the client
/// (portico::client), so code that handles both does not convert between twins.

namespace portico::socketio {

enum class ack_status { ok, timeout, disconnected };

inline const char* to_string(ack_status s) noexcept {
  switch (s) {
    case ack_status::ok: return "ok";
    case ack_status::timeout: return "timeout";
    case ack_status::disconnected: return "disconnected";
  }
  return "?";
}

}  // namespace portico::socketio
// ---- end portico/socketio/ack_status.hpp ----
// ---- begin portico/socketio/observer.hpp ----
/// A watcher of one Socket.IO server's sockets, rooms and events (the admin UI's
/// instrumentation, include/portico/admin/). Unset, every hook costs one null pointer check.
///
/// Set it with `server::set_observer` before `start()`; it must stay alive until the server has
/// stopped. Hooks run on the socket's home worker, except room changes and sent events, which
/// run on the thread that made them: an observer is thread-safe and quick.

#include <string>
#include <string_view>

namespace portico::socketio {

class socket;
class nsp;
class packet;
class server;

class observer {
 public:
  virtual ~observer() = default;
  /// `s` was accepted on its namespace (its CONNECT answer is on its way).
  virtual void connected(socket& s) { (void)s; }
  /// `s` is leaving its namespace for `reason` (before its disconnect handlers; its rooms are
  /// still there).
  virtual void disconnecting(socket& s, std::string_view reason) { (void)s, (void)reason; }
  /// Socket `sid` of `n` joined or left `room` (socket::join/leave, nsp::enter_room/leave_room).
  virtual void room_joined(nsp& n, const std::string& sid, const std::string& room) { (void)n, (void)sid, (void)room; }
  virtual void room_left(nsp& n, const std::string& sid, const std::string& room) { (void)n, (void)sid, (void)room; }
  /// An EVENT from the client, before its handler runs (`p.data()` is `[name, ...args]`).
  virtual void event_received(socket& s, const packet& p) { (void)s, (void)p; }
  /// An EVENT emitted to this one socket (`socket::emit`, `emit_with_ack`; not broadcasts):
  /// `packet_text` is the encoded Socket.IO packet.
  virtual void event_sent(socket& s, std::string_view packet_text) { (void)s, (void)packet_text; }
};

namespace detail {
/// The server's observer or null (defined in server.hpp, where the server is complete).
inline observer* observer_of(const server& srv) noexcept;
}  // namespace detail

}  // namespace portico::socketio
// ---- end portico/socketio/observer.hpp ----

namespace portico::socketio {

class nsp;
class server;
class socket;
class emitter;
class session_store;

/// Called exactly once per emit with ack: with the client's ack arguments, or with a timeout or
/// disconnected status and empty arguments.
using ack_callback = std::function<void(ack_status, const args&)>;

namespace detail {

/// Encodes EVENT `name` with `a...` into a broadcast-ready frame (binary parts copied once).
template <class... A>
std::shared_ptr<engineio::frame> encode_event(std::string_view nsp, std::uint64_t id, std::string_view name,
                                              const A&... a) {
  packet_writer pw(packet_type::event, nsp, id);
  auto& w = pw.writer();
  w.StartArray();
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  write_args(w, pw.context(), a...);
  w.EndArray();
  auto f = std::make_shared<engineio::frame>();
  f->text = std::move(pw.finish());
  f->binaries.reserve(pw.context().attachments.size());
  for (auto b : pw.context().attachments) f->binaries.emplace_back(b);
  return f;
}

/// The ACK packet `id` with `a...`, text allocated once (sized from the arguments).
template <class... A>
packet_writer& write_ack(packet_writer& pw, const A&... a) {
  auto& w = pw.writer();
  w.StartArray();
  write_args(w, pw.context(), a...);
  w.EndArray();
  pw.finish();
  return pw;
}

inline engineio::frame_ptr encode_ack_payload(std::string_view nsp, std::uint64_t id, const payload& p) {
  auto f = std::make_shared<engineio::frame>();
  write_header(f->text, p.attachments().empty() ? packet_type::ack : packet_type::binary_ack, nsp, id,
               p.attachments().size());
  if (p.json().empty()) f->text += "[]";
  else f->text += p.json();
  f->binaries = p.attachments();
  return f;
}

struct client;
class broadcast_acks;
struct paused_connect;
}  // namespace detail

/// Sends the ACK of one received event, now or later, from any thread; at most once.
class ack_sender {
 public:
  ack_sender() = default;
  ack_sender(std::weak_ptr<socket> s, std::uint64_t id) : s_(std::move(s)), id_(id) {}
  explicit operator bool() const noexcept { return id_ != no_ack; }
  template <class... A>
  void operator()(const A&... a);
  void send(const payload& p);

 private:
  std::weak_ptr<socket> s_;
  std::uint64_t id_ = no_ack;
};

class socket : public std::enable_shared_from_this<socket> {
 public:
  socket(nsp& n, std::string sid, engineio::socket_ptr engine, class server& srv)
      : nsp_(&n), server_(&srv), sid_(std::move(sid)), engine_(std::move(engine)) {}
  socket(const socket&) = delete;
  socket& operator=(const socket&) = delete;

  /// This socket's id in its namespace (also the name of its own room).
  const std::string& sid() const noexcept { return sid_; }
  const std::string& namespace_name() const noexcept;
  class nsp& get_namespace() noexcept { return *nsp_; }
  class server& server() noexcept { return *server_; }
  [[deprecated("use server()")]] class server& get_server() noexcept { return *server_; }
  const engineio::handshake& handshake() const { return engine_->handshake(); }
  /// The Engine.IO session under this socket (shared by every namespace of the client).
  const engineio::socket_ptr& engine() const noexcept { return engine_; }
  bool connected() const noexcept {
    return accepted_.load(std::memory_order_acquire) && state_.load(std::memory_order_acquire) != state::disconnected;
  }
  /// The CONNECT payload (`auth`); null when the client sent none.
  const json::value& auth() const noexcept { return auth_; }
  /// Connection state recovery gave this socket back its previous sid, rooms, session and
  /// missed packets (socket.io's `socket.recovered`).
  bool recovered() const noexcept { return recovered_; }

  /// Emits EVENT `name` to this client. Thread-safe.
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    if (store_) return emit_recoverable(name, a...);
    auto f = detail::encode_event(namespace_name(), no_ack, name, a...);
    if (observer* o = detail::observer_of(*server_)) o->event_sent(*this, f->text);
    send_frame(std::move(f));
  }
  /// `emit("message", a...)`, python-socketio's `send`.
  template <class... A>
  void send(const A&... a) {
    emit("message", a...);
  }
  /// Emits with an ack request: `cb` runs once, with the client's answer, or with
  /// `ack_status::timeout` after `timeout`, or `ack_status::disconnected`. Thread-safe.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
    std::uint64_t id = next_ack_id();
    auto f = detail::encode_event(namespace_name(), id, name, a...);
    if (!register_ack(id, std::move(cb), timeout)) return;
    if (observer* o = detail::observer_of(*server_)) o->event_sent(*this, f->text);
    send_frame(std::move(f));
  }

  /// Broadcast from this socket: to everyone in `room` but this socket.
  emitter to(std::string room);
  /// Broadcast to the whole namespace but this socket.
  emitter broadcast();

  void join(const std::string& room);
  void leave(const std::string& room);
  std::vector<std::string> rooms() const;

  /// The session: one JSON document per socket, gone after disconnect.
  json::document get_session() const {
    std::lock_guard<std::mutex> g(mu_);
    json::document d;
    json::copy(session_, d);
    return d;
  }
  void save_session(const json::value& v) {
    std::lock_guard<std::mutex> g(mu_);
    json::document d;
    json::copy(v, d);  // deep: in-situ strings are references into the packet
    session_.Swap(d);
  }
  /// The session decoded as `T` (a PORTICO_FIELDS struct, a map...; decoded under the session
  /// lock, no copy of the document). A session never saved (null) gives `T{}`; one that does not
  /// decode as `T` is a server bug: std::runtime_error with the error list.
  template <class T>
  T session() const {
    T out{};
    json::error_list errs;
    std::lock_guard<std::mutex> g(mu_);
    if (session_.IsNull() && !json::detail::is_optional<T>::value) return out;
    if (!json::decode(session_, out, errs))
      throw std::runtime_error("portico: session of " + sid() + " is not the type asked for: " + json::to_string(errs));
    return out;
  }
  /// Replaces the session with `v` encoded as JSON (any encodable type; binary members are not
  /// kept). A JSON DOM value is stored as it is (deep copy).
  template <class T>
  void save_session(const T& v) {
    if constexpr (std::is_base_of_v<json::value, T>) {
      save_session(static_cast<const json::value&>(v));
    } else {
      json::document d;
      if (!json::parse(json::to_string(v), d)) throw std::logic_error("portico: save_session: value did not encode");
      std::lock_guard<std::mutex> g(mu_);
      session_.Swap(d);
    }
  }
  /// Scoped accessor: `f(json::document&)` runs under the session lock; changes are kept.
  template <class F>
  decltype(auto) with_session(F&& f) {
    std::lock_guard<std::mutex> g(mu_);
    return f(session_);
  }

  /// Server-initiated disconnect from this namespace (sends DISCONNECT). Thread-safe. Reasons:
  /// "server namespace disconnect" here, "io server disconnect" at the client.
  void disconnect();
  /// Closes the whole Engine.IO connection (every namespace of this client). Thread-safe.
  /// Reasons: "forced close" here, "transport close" at the client.
  void close_connection() { engine_->close(); }

  /// Hands a pre-encoded packet to the transport (buffered while the connect handlers run, so
  /// their emits follow the CONNECT answer). Thread-safe.
  void send_frame(engineio::frame_ptr f) {
    if (state_.load(std::memory_order_acquire) != state::connected) {
      std::lock_guard<std::mutex> g(mu_);
      auto s = state_.load(std::memory_order_acquire);
      if (s == state::connecting) {
        pending_.push_back(std::move(f));
        return;
      }
      if (s == state::disconnected) return;
    }
    engine_->send(std::move(f));
  }
  /// Like send_frame, for a packet meant for this client only: once connected, the text goes to
  /// the transport as it is, without a shared frame around it. Thread-safe.
  void send_text(std::string text) {
    if (state_.load(std::memory_order_acquire) == state::connected) return engine_->send(std::move(text));
    auto f = std::make_shared<engineio::frame>();
    f->text = std::move(text);
    send_frame(std::move(f));
  }

 private:
  friend class server;
  friend class nsp;
  friend class ack_sender;
  friend struct detail::paused_connect;
  friend class detail::broadcast_acks;
  enum class state { connecting, connected, disconnected };

  /// Ack ids come from the namespace's counter (like socket.io's `nsp._ids`), so a broadcast
  /// with ack carries one id that is free in every recipient: its frame is encoded once.
  std::uint64_t next_ack_id() noexcept;
  /// `emit` with connection state recovery on: the event carries an offset and is stored.
  template <class... A>
  void emit_recoverable(std::string_view name, const A&... a);
  bool register_ack(std::uint64_t id, ack_callback cb, std::chrono::milliseconds timeout);
  /// Waits for ack `id` without a timer of its own (a broadcast keeps one deadline for all);
  /// false, without calling `cb`, when already disconnected.
  bool expect_ack(std::uint64_t id, ack_callback cb) {
    std::lock_guard<std::mutex> g(mu_);
    if (state_.load() == state::disconnected) return false;
    acks_[id].cb = std::move(cb);
    return true;
  }
  /// Forgets ack `id` without calling its callback (its broadcast is over).
  void drop_ack(std::uint64_t id) {
    std::lock_guard<std::mutex> g(mu_);
    acks_.erase(id);
  }
  /// Runs the callback of ack `id` (if still pending) with `status`.
  void complete_ack(std::uint64_t id, ack_status status, const args& a);
  /// Fails every pending ack with `disconnected`.
  void fail_acks();

  /// CONNECT accepted: answer, then flush what the handlers emitted.
  /// The buffered emits go out one turn of the home worker later, so the transport writes the
  /// CONNECT answer on its own, as the reference server does (the official test-suite reads
  /// the answer and the first event with separate listeners and loses a coalesced second one).
  void accept(engineio::frame_ptr connect_answer) {
    std::lock_guard<std::mutex> g(mu_);
    accepted_.store(true, std::memory_order_release);
    engine_->send(std::move(connect_answer));
    // Missed packets go at once, before anything emitted after the restore.
    for (auto& f : replay_) engine_->send(std::move(f));
    replay_.clear();
    if (pending_.empty()) {
      state_.store(state::connected, std::memory_order_release);
      return;
    }
    auto self = shared_from_this();
    engine_->post([self] {
      std::lock_guard<std::mutex> g(self->mu_);
      if (self->state_.load() != state::connecting) return;
      for (auto& f : self->pending_) self->engine_->send(std::move(f));
      self->pending_.clear();
      self->state_.store(state::connected, std::memory_order_release);
    });
  }
  /// Returns false when already disconnected.
  bool mark_disconnected() {
    std::lock_guard<std::mutex> g(mu_);
    if (state_.load() == state::disconnected) return false;
    state_.store(state::disconnected, std::memory_order_release);
    pending_.clear();
    return true;
  }

  nsp* nsp_;
  class server* server_;
  std::string sid_;
  engineio::socket_ptr engine_;
  detail::dom_pool_ptr auth_pool_;  ///< before auth_: outlives it
  json::value auth_;                ///< deep copy of the CONNECT payload; null when none
  std::atomic<state> state_{state::connecting};
  std::atomic<bool> accepted_{false};  ///< the CONNECT answer was sent
  std::atomic<bool> closing_{false};   ///< the disconnect procedure has started (runs once)
  session_store* store_ = nullptr;     ///< connection state recovery on: the namespace's store
  std::string pid_;                    ///< recovery's private session id (empty when off)
  bool recovered_ = false;
  std::vector<engineio::frame_ptr> replay_;  ///< recovered: the missed packets, sent after CONNECT

  mutable std::mutex mu_;  ///< acks, session, pending frames
  struct pending_ack {
    ack_callback cb;
    std::uint64_t timer = 0;
  };
  std::unordered_map<std::uint64_t, pending_ack> acks_;
  json::document session_;
  std::vector<engineio::frame_ptr> pending_;
};

using socket_ptr = std::shared_ptr<socket>;

namespace detail {
/// Encodes ACK `id` with `a...` and sends it to `s`.
template <class... A>
void send_ack(socket& s, std::uint64_t id, const A&... a) {
  packet_writer pw(packet_type::ack, s.namespace_name(), id, {}, args_json_size(a...));
  write_ack(pw, a...);
  const auto& blobs = pw.context().attachments;
  if (blobs.empty()) return s.send_text(std::move(pw.text()));
  auto f = std::make_shared<engineio::frame>();
  f->text = std::move(pw.text());
  for (auto b : blobs) f->binaries.emplace_back(b);
  s.send_frame(std::move(f));
}
}  // namespace detail

template <class... A>
void ack_sender::operator()(const A&... a) {
  if (id_ == no_ack) return;
  if (auto s = s_.lock()) detail::send_ack(*s, id_, a...);
  id_ = no_ack;
}

inline void ack_sender::send(const payload& p) {
  if (id_ == no_ack) return;
  if (auto s = s_.lock()) s->send_frame(detail::encode_ack_payload(s->namespace_name(), id_, p));
  id_ = no_ack;
}

/// One received EVENT while its handler runs.
class event {
 public:
  event(socketio::socket& s, std::string_view name, const socketio::args& a, std::uint64_t id) noexcept
      : socket_(s), name_(name), args_(a), id_(id) {}
  socketio::socket& socket() noexcept { return socket_; }
  std::string_view name() const noexcept { return name_; }
  const socketio::args& args() const noexcept { return args_; }
  /// The client asked for an acknowledgement and it was not sent yet.
  bool wants_ack() const noexcept { return id_ != no_ack; }
  template <class... A>
  void ack(const A&... a) {
    if (id_ == no_ack) return;
    detail::send_ack(socket_, id_, a...);
    id_ = no_ack;
  }
  void ack(const payload& p) {
    if (id_ == no_ack) return;
    socket_.send_frame(detail::encode_ack_payload(socket_.namespace_name(), id_, p));
    id_ = no_ack;
  }
  /// Takes over the acknowledgement, to answer later (from any thread).
  ack_sender take_ack() {
    ack_sender a(socket_.weak_from_this(), id_);
    id_ = no_ack;
    return a;
  }

 private:
  socketio::socket& socket_;
  std::string_view name_;
  const socketio::args& args_;
  std::uint64_t id_;
};

}  // namespace portico::socketio
// ---- end portico/socketio/socket.hpp ----

namespace portico::socketio {

namespace detail {
/// A connect waiting on a `connect_deferral`: the socket, where its handler chain goes on, and
/// the outcome the deferral's owner set (read on the home worker after the post that carries it).
struct paused_connect {
  socket_ptr s;
  std::atomic<std::size_t> next{0};  ///< the handler after the one that deferred
  std::atomic<bool> done{false};
  bool refused = false;
  std::string message;
  paused_connect() = default;
  paused_connect(const paused_connect&) = delete;
  paused_connect& operator=(const paused_connect&) = delete;
  /// Dropped without an answer: refused, so the client does not wait for its timeout.
  ~paused_connect();
  /// Sets the outcome and hands the rest of the connect to the socket's home worker (once).
  static void complete(const std::shared_ptr<paused_connect>& p, bool refused, std::string message);
};
}  // namespace detail

/// The answer to a CONNECT that a middleware or connect handler deferred
/// (`connect_request::defer()`), given later from any thread, once: `accept()` runs the rest
/// of the handler chain and answers CONNECT; `refuse(message)` answers CONNECT_ERROR. The
/// I/O thread is free meanwhile (for slow checks: a password hash, a remote auth service).
/// Copies share one answer; the first one given counts. Dropped unanswered: refused with
/// "internal error". A connection that closes meanwhile makes the answer a no-op.
class connect_deferral {
 public:
  connect_deferral() = default;
  void accept() {
    if (p_) detail::paused_connect::complete(p_, false, {});
  }
  void refuse(std::string message) {
    if (p_) detail::paused_connect::complete(p_, true, std::move(message));
  }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  friend class connect_request;
  explicit connect_deferral(std::shared_ptr<detail::paused_connect> p) : p_(std::move(p)) {}
  std::shared_ptr<detail::paused_connect> p_;
};

/// What a connect handler or middleware sees, and how it refuses.
class connect_request {
 public:
  connect_request(socketio::socket& s, const json::value& auth) noexcept : socket_(s), auth_(auth) {}

  /// Answer later: the handler returns, the I/O thread goes on with other work, and the
  /// returned deferral (usable from any thread) accepts or refuses the CONNECT. The handlers
  /// after this one run when it accepts, on the socket's thread. Emits on the socket meanwhile
  /// follow the CONNECT answer, as from a handler. Calling it again returns the same deferral.
  connect_deferral defer();
  bool deferred() const noexcept { return paused_ != nullptr; }
  socketio::socket& socket() noexcept { return socket_; }
  /// The CONNECT payload; null when the client sent none.
  const json::value& auth() const noexcept { return auth_; }
  const engineio::handshake& handshake() const { return socket_.handshake(); }

  /// Refuse: the client receives CONNECT_ERROR `{"message": message}`.
  void refuse(std::string message) {
    refused_ = true;
    message_ = std::move(message);
    data_.clear();
  }
  /// Refuse with data: the client receives `{"message": message, "data": data}`.
  template <class T>
  void refuse(std::string message, const T& data) {
    refuse(std::move(message));
    json::encode_context ctx;
    json::encode_to(data_, data, ctx);
  }
  bool refused() const noexcept { return refused_; }
  const std::string& message() const noexcept { return message_; }
  /// The refusal's data as JSON text (empty when none).
  const std::string& data_json() const noexcept { return data_; }

 private:
  friend class server;
  socketio::socket& socket_;
  const json::value& auth_;
  bool refused_ = false;
  std::string message_, data_;
  std::shared_ptr<detail::paused_connect> paused_;
};

using connect_handler = std::function<void(socket&, connect_request&)>;
using disconnect_handler = std::function<void(socket&, std::string_view reason)>;
using event_handler = std::function<void(event&)>;

namespace detail {

/// Sends the handler's return value as the ACK (if the client asked and none was sent).
template <class R>
void ack_with(event& e, R&& r) {
  if (!e.wants_ack()) return;
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, payload>) e.ack(static_cast<const payload&>(r));
  else e.ack(r);
}

/// Adapts the handler shapes users write: `f(event&)` or `f(socket&, const args&)`, returning
/// void (ack by hand, if at all) or a value (sent as the ACK; `payload` for several values).
template <class F>
event_handler wrap_event(F f) {
  return [f = std::move(f)](event& e) mutable {
    if constexpr (std::is_invocable_v<F&, event&>) {
      using R = std::invoke_result_t<F&, event&>;
      if constexpr (std::is_void_v<R>) f(e);
      else ack_with(e, f(e));
    } else {
      static_assert(std::is_invocable_v<F&, socket&, const args&>,
                    "an event handler takes (event&) or (socket&, const args&)");
      using R = std::invoke_result_t<F&, socket&, const args&>;
      if constexpr (std::is_void_v<R>) f(e.socket(), e.args());
      else ack_with(e, f(e.socket(), e.args()));
    }
  };
}

template <class F>
connect_handler wrap_connect(F f) {
  if constexpr (std::is_invocable_v<F&, socket&, connect_request&>) {
    return connect_handler(std::move(f));
  } else {
    static_assert(std::is_invocable_v<F&, socket&>, "a connect handler takes (socket&, connect_request&) or (socket&)");
    return [f = std::move(f)](socket& s, connect_request&) mutable { f(s); };
  }
}

/// Handler table of a namespace (shared by the dynamic namespaces of one parent).
struct handlers {
  std::vector<connect_handler> middlewares;  ///< `use()` then `on_connect()`, in order
  std::vector<bool> from_use;  ///< per middleware: added by `use()` (a recovered socket may skip it)
  std::unordered_map<std::string, event_handler> events;
  event_handler any;
  disconnect_handler disconnecting, disconnected;
  /// Server-side listeners (events from other servers): the answer as JSON text, or none.
  std::unordered_map<std::string, std::function<std::optional<std::string>(const args&)>> server_events;
};

/// Collects the answers to one broadcast with ack and runs the user's callback once:
/// `ok` when every expected client answered, `disconnected` when some local recipients left
/// before answering and all others answered, `timeout` at the deadline. `responses[i]` is the
/// first ack argument of the i-th client to answer (socket.io's `responses` array), its binary
/// parts renumbered into one list. Built in one ACK packet, handed to the callback as `args`.
class broadcast_acks final : public ack_collector, public std::enable_shared_from_this<broadcast_acks> {
 public:
  broadcast_acks(nsp& n, std::uint64_t id, ack_callback cb)
      : nsp_(&n), id_(id), cb_(std::move(cb)), out_(packet_type::ack, "/", 0) {
    out_.writer().StartArray();
  }
  bool expect(const std::string& sid) override;
  void client_count(std::size_t n) override {
    std::unique_lock<std::mutex> lk(mu_);
    ++servers_reported_;
    clients_expected_ += n;
    settle(lk);
  }
  void response(const args& a) override {
    std::unique_lock<std::mutex> lk(mu_);
    if (done_) return;
    if (a.empty()) out_.writer().Null();
    else detail::write_arg(out_.writer(), out_.context(), a.at(0));
    // The answer's packet dies after this call: own its blobs (the views are never read again).
    auto& at = out_.context().attachments;
    for (std::size_t i = blobs_.size(); i < at.size(); ++i) {
      blobs_.emplace_back(at[i]);
      at[i] = std::string_view();
    }
    ++answered_;
    settle(lk);
  }
  /// A local recipient disconnected before answering.
  void lost() {
    std::unique_lock<std::mutex> lk(mu_);
    ++lost_;
    settle(lk);
  }
  void servers(std::size_t n) {
    std::unique_lock<std::mutex> lk(mu_);
    servers_expected_ = n;
    servers_known_ = true;
    settle(lk);
  }
  /// Arms the deadline (before the packet goes out).
  void start(std::chrono::milliseconds timeout);

 private:
  /// Finishes when complete. Called with `lk` held; releases it.
  void settle(std::unique_lock<std::mutex>& lk) {
    if (done_ || !servers_known_ || servers_reported_ < servers_expected_ ||
        answered_ + lost_ < clients_expected_)
      return;
    finish(lk, lost_ ? ack_status::disconnected : ack_status::ok);
  }
  void finish(std::unique_lock<std::mutex>& lk, ack_status st);
  void on_timeout();

  nsp* nsp_;
  std::uint64_t id_;
  ack_callback cb_;
  std::mutex mu_;
  packet_writer out_;               ///< the responses, as the payload of an ACK packet
  std::vector<std::string> blobs_;  ///< their binary parts, owned
  std::vector<std::weak_ptr<socket>> waiting_;  ///< local recipients (to forget the ack at the deadline)
  std::size_t servers_expected_ = 0, servers_reported_ = 0, clients_expected_ = 0, answered_ = 0, lost_ = 0;
  bool servers_known_ = false, done_ = false;
  std::uint64_t timer_ = 0;
};

}  // namespace detail

class nsp {
 public:
  nsp(class server& srv, std::string name, std::shared_ptr<detail::handlers> h, std::unique_ptr<adapter> a)
      : server_(&srv), name_(std::move(name)), handlers_(std::move(h)), adapter_(std::move(a)) {}
  nsp(const nsp&) = delete;
  nsp& operator=(const nsp&) = delete;

  const std::string& namespace_name() const noexcept { return name_; }
  [[deprecated("use namespace_name()")]] const std::string& name() const noexcept { return name_; }

  /// Middleware: runs before the connect handler, may refuse.
  template <class F>
  nsp& use(F f) {
    handlers_->middlewares.push_back(detail::wrap_connect(std::move(f)));
    handlers_->from_use.push_back(true);
    return *this;
  }
  /// The connect handler (python-socketio's `connect`): may refuse; its emits follow the CONNECT answer.
  template <class F>
  nsp& on_connect(F f) {
    handlers_->middlewares.push_back(detail::wrap_connect(std::move(f)));
    handlers_->from_use.push_back(false);
    return *this;
  }
  nsp& on_disconnecting(disconnect_handler f) {
    handlers_->disconnecting = std::move(f);
    return *this;
  }
  nsp& on_disconnect(disconnect_handler f) {
    handlers_->disconnected = std::move(f);
    return *this;
  }
  /// Handler for event `name` (`message` for `send`).
  template <class F>
  nsp& on(std::string name, F f) {
    handlers_->events[std::move(name)] = detail::wrap_event(std::move(f));
    return *this;
  }
  /// Catch-all: events without a handler of their own; `event::name()` says which.
  template <class F>
  nsp& on_any(F f) {
    handlers_->any = detail::wrap_event(std::move(f));
    return *this;
  }

  // --- emitting to many (encoded once, delivered by the adapter) ---
  emitter to(std::string room);
  emitter in(std::string room);  ///< the same as `to`
  emitter except(std::string room_or_sid);
  emitter volatile_();
  template <class... A>
  void emit(std::string_view name, const A&... a);
  template <class... A>
  void send(const A&... a) {
    emit("message", a...);
  }
  /// Every socket of the namespace, with an ack: see `emitter::emit_with_ack`.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a);

  // --- other servers of a cluster (socket.io's serverSideEmit; a no-op with one server) ---
  /// Listener for `name` sent by another server's `server_side_emit`. `f(const args&)` may
  /// return a value: the answer to a server_side_emit with ack (void: no answer, the caller
  /// then waits for its timeout, as with Node). Runs on the cluster adapter's thread.
  template <class F>
  nsp& on_server_event(std::string name, F f) {
    handlers_->server_events[std::move(name)] = [f = std::move(f)](const args& a) mutable -> std::optional<std::string> {
      using R = std::invoke_result_t<F&, const args&>;
      if constexpr (std::is_void_v<R>) {
        f(a);
        return std::nullopt;
      } else {
        std::string out;
        json::encode_context ctx;
        json::encode_to(out, f(a), ctx);
        return out;
      }
    };
    return *this;
  }
  /// Runs the listener of event packet `p` (from another server); its answer, if any.
  std::optional<std::string> server_event(const packet& p) {
    auto it = handlers_->server_events.find(std::string(p.event_name()));
    if (it == handlers_->server_events.end()) return std::nullopt;
    const args a(p);
    return it->second(a);
  }
  /// `name` with `a...` to the server-side listeners of every other server.
  template <class... A>
  void server_side_emit(std::string_view name, const A&... a) {
    adapter_->server_side_emit(server_packet(name, a...), nullptr);
  }
  /// Like `server_side_emit`, `cb(complete, responses)` once every other server answered
  /// (`complete` true) or at the cluster's requests timeout with the answers that came.
  template <class... A>
  void server_side_emit_with_ack(std::string_view name, adapter::server_ack_fn cb, const A&... a) {
    adapter_->server_side_emit(server_packet(name, a...), std::move(cb));
  }

  /// Every matching socket of the cluster (socket.io's `fetchSockets`): this server's, then the
  /// other servers' answers; `done(complete, sockets)` once all answered or at the timeout.
  void fetch_sockets(const broadcast_options& opts, adapter::fetch_fn done);
  void fetch_sockets(adapter::fetch_fn done) { fetch_sockets(broadcast_options{}, std::move(done)); }
  /// This server's matching sockets with their handshake and session, as JSON.
  std::vector<socket_info> local_sockets(const broadcast_options& opts) const;

  // --- acting on the sockets of every server (socket.io's socketsJoin/Leave, disconnectSockets, allRooms) ---
  /// The sockets `opts` selects, on every server of the cluster, join `rooms` (Node's
  /// `io.in(room).socketsJoin(rooms)`): here at once, on the others when the request reaches
  /// them. With `opts.local`, or without a cluster, this server only. Thread-safe.
  void sockets_join(const broadcast_options& opts, const std::vector<std::string>& rooms);
  /// Like `sockets_join`, leaving `rooms` (Node's `socketsLeave`).
  void sockets_leave(const broadcast_options& opts, const std::vector<std::string>& rooms);
  /// Disconnects the sockets `opts` selects on every server (Node's `disconnectSockets(close)`):
  /// `close` false sends them DISCONNECT and they leave this namespace (the connection and its
  /// other namespaces stay); `close` true closes their whole connection. Thread-safe.
  void disconnect_sockets(const broadcast_options& opts, bool close = false);
  void disconnect_sockets(bool close = false) { disconnect_sockets(broadcast_options{}, close); }
  /// Every room of the namespace on every server, socket ids' own rooms included, sorted and
  /// unique (Node's `io.of(nsp).adapter.allRooms()`): `done(complete, rooms)` once every other
  /// server answered (`complete` true) or at the cluster's requests timeout. Alone: at once.
  void all_rooms(adapter::rooms_fn done);

  // --- rooms and sockets ---
  void enter_room(const std::string& sid, const std::string& room) {
    adapter_->join(sid, room);
    if (observer* o = detail::observer_of(*server_)) o->room_joined(*this, sid, room);
  }
  void leave_room(const std::string& sid, const std::string& room) {
    adapter_->leave(sid, room);
    if (observer* o = detail::observer_of(*server_)) o->room_left(*this, sid, room);
  }
  void close_room(const std::string& room) { adapter_->close_room(room); }
  std::vector<std::string> rooms(const std::string& sid) const { return adapter_->rooms_of(sid); }
  /// The connected socket with this sid, or null.
  socket_ptr get_socket(const std::string& sid) const {
    std::lock_guard<std::mutex> g(mu_);
    auto it = sockets_.find(sid);
    return it == sockets_.end() ? nullptr : it->second;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(mu_);
    return sockets_.size();
  }
  socketio::adapter& get_adapter() noexcept { return *adapter_; }
  class server& server() noexcept { return *server_; }
  [[deprecated("use server()")]] class server& get_server() noexcept { return *server_; }

 private:
  friend class server;
  friend class socket;
  friend class emitter;
  friend class detail::broadcast_acks;

  void add(const socket_ptr& s) {
    {
      std::lock_guard<std::mutex> g(mu_);
      sockets_[s->sid()] = s;
    }
    adapter_->add_socket(s->sid(), s->engine());
  }
  template <class... A>
  outgoing_packet server_packet(std::string_view name, const A&... a) {
    outgoing_packet p;
    p.nsp = name_;
    p.frame = detail::encode_event(name_, no_ack, name, a...);
    if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
    return p;
  }
  void remove(const std::string& sid) {
    adapter_->remove_socket(sid);
    std::lock_guard<std::mutex> g(mu_);
    sockets_.erase(sid);
  }

  class server* server_;
  std::string name_;
  std::shared_ptr<detail::handlers> handlers_;
  std::unique_ptr<adapter> adapter_;
  mutable std::mutex mu_;  ///< sockets_ only (connect/disconnect, lookups by sid)
  std::unordered_map<std::string, socket_ptr> sockets_;
  std::atomic<std::uint64_t> next_ack_id_{0};  ///< every ack id of the namespace (socket.io's `_ids`)
  std::unique_ptr<session_store> store_;  ///< connection state recovery on: lost sessions, stored packets
  std::mutex emit_mu_;  ///< recovery on: one recoverable emit at a time (offsets stored in delivery order)
};

/// Targets of one broadcast: `io.of("/chat").to("room").except(sid).emit("msg", x)`.
class emitter {
 public:
  explicit emitter(nsp& n) : nsp_(&n) {}
  emitter& to(std::string room) {
    opts_.rooms.push_back(std::move(room));
    return *this;
  }
  emitter& in(std::string room) { return to(std::move(room)); }
  emitter& except(std::string room_or_sid) {
    opts_.except.push_back(std::move(room_or_sid));
    return *this;
  }
  emitter& volatile_() {
    opts_.volatile_ = true;
    return *this;
  }
  emitter& local() {
    opts_.local = true;
    return *this;
  }
  /// Encodes once; every recipient gets the same frame.
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    outgoing_packet p;
    p.nsp = nsp_->namespace_name();
    if (auto* st = nsp_->store_.get(); st && !opts_.volatile_) {  // recoverable: with an offset, stored
      std::lock_guard<std::mutex> g(nsp_->emit_mu_);
      std::string off = st->next_offset();
      p.frame = detail::encode_event(nsp_->namespace_name(), no_ack, name, a..., std::string_view(off));
      if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
      st->store(off, opts_, p.frame);
      nsp_->adapter_->broadcast(p, opts_);
      return;
    }
    auto f = detail::encode_event(nsp_->namespace_name(), no_ack, name, a...);
    f->droppable = opts_.volatile_;  // dropped for a recipient whose send buffer is full
    p.frame = std::move(f);
    if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
    nsp_->adapter_->broadcast(p, opts_);
  }
  template <class... A>
  void send(const A&... a) {
    emit("message", a...);
  }
  /// Broadcast asking every recipient for an ack (socket.io's `timeout(t).emit(..., cb)`):
  /// `cb(status, responses)` runs exactly once — `ok` when all answered, `timeout` after
  /// `timeout` with the answers that came, `disconnected` when some recipients left before
  /// answering; at once with `ok` and no responses when nobody was reached. `responses[i]` is
  /// the first ack argument of each client that answered, in arrival order. Encoded once: one
  /// ack id from the namespace's counter is free in every recipient. Thread-safe.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
    outgoing_packet p;
    p.nsp = nsp_->namespace_name();
    p.id = nsp_->next_ack_id_.fetch_add(1, std::memory_order_relaxed);
    auto f = detail::encode_event(nsp_->namespace_name(), p.id, name, a...);
    f->droppable = opts_.volatile_;
    p.frame = std::move(f);
    if (!p.frame->binaries.empty()) p.type = packet_type::binary_event;
    opts_.timeout = timeout;
    auto acks = std::make_shared<detail::broadcast_acks>(*nsp_, p.id, std::move(cb));
    acks->start(timeout);
    nsp_->adapter_->server_count([acks](std::size_t n) { acks->servers(n); });
    nsp_->adapter_->broadcast_with_ack(p, opts_, acks);
  }
  /// The sids this emitter would reach.
  std::vector<std::string> sids() const { return nsp_->adapter_->sids(opts_); }
  /// The sockets this emitter would reach, on every server, join `rooms`: `nsp::sockets_join`.
  void sockets_join(const std::vector<std::string>& rooms) { nsp_->sockets_join(opts_, rooms); }
  /// ... leave `rooms`: `nsp::sockets_leave`.
  void sockets_leave(const std::vector<std::string>& rooms) { nsp_->sockets_leave(opts_, rooms); }
  /// ... are disconnected (`close`: their connections closed): `nsp::disconnect_sockets`.
  void disconnect_sockets(bool close = false) { nsp_->disconnect_sockets(opts_, close); }
  /// The sockets of the whole cluster this emitter would reach: see `nsp::fetch_sockets`.
  void fetch_sockets(adapter::fetch_fn done) { nsp_->fetch_sockets(opts_, std::move(done)); }
  const broadcast_options& options() const noexcept { return opts_; }

 private:
  nsp* nsp_;
  broadcast_options opts_;
};

inline emitter nsp::to(std::string room) { return emitter(*this).to(std::move(room)); }
inline emitter nsp::in(std::string room) { return emitter(*this).to(std::move(room)); }
inline emitter nsp::except(std::string room_or_sid) { return emitter(*this).except(std::move(room_or_sid)); }
inline emitter nsp::volatile_() { return emitter(*this).volatile_(); }
template <class... A>
void nsp::emit(std::string_view name, const A&... a) {
  emitter(*this).emit(name, a...);
}
template <class... A>
void nsp::emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
  emitter(*this).emit_with_ack(name, std::move(cb), timeout, a...);
}

namespace detail {
/// The handshake as Node's socket.io serialises it for other servers. `secure` is false: the
/// Engine.IO layer does not record TLS; `time` uses Date's toString format, in UTC.
inline std::string handshake_json(const socket& s) {
  const engineio::handshake& hs = s.handshake();
  std::string out;
  json::string_sink sink{&out};
  json::writer w(sink);
  auto str = [&w](std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); };
  w.StartObject();
  w.Key("headers");
  w.StartObject();
  for (const auto& h : hs.headers()) str(h.first), str(h.second);
  w.EndObject();
  std::time_t t = std::chrono::system_clock::to_time_t(hs.time);
  std::tm tm{};
#ifdef _WIN32
  gmtime_s(&tm, &t);
#else
  gmtime_r(&t, &tm);
#endif
  char when[96];
  std::size_t n = std::strftime(when, sizeof when, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
  w.Key("time"), str(std::string_view(when, n));
  w.Key("address"), str(hs.remote_address);
  w.Key("xdomain"), w.Bool(!hs.header("origin").empty());
  w.Key("secure"), w.Bool(false);
  w.Key("issued"), w.Int64(std::chrono::duration_cast<std::chrono::milliseconds>(hs.time.time_since_epoch()).count());
  w.Key("url"), str(hs.url);
  w.Key("query");
  w.StartObject();
  for (const auto& q : hs.query) str(q.first), str(q.second);
  w.EndObject();
  w.Key("auth");
  if (s.auth().IsObject()) s.auth().Accept(w);
  else w.StartObject(), w.EndObject();
  w.EndObject();
  sink.Flush();
  return out;
}
}  // namespace detail

inline std::vector<socket_info> nsp::local_sockets(const broadcast_options& opts) const {
  std::vector<socket_info> out;
  for (auto& sid : adapter_->sids(opts)) {
    socket_ptr s = get_socket(sid);
    if (!s) continue;  // left meanwhile
    socket_info i;
    i.rooms = adapter_->rooms_of(sid);
    i.handshake = detail::handshake_json(*s);
    json::document d = s->get_session();
    if (!d.IsNull()) i.data = json::stringify(d);
    i.id = std::move(sid);
    out.push_back(std::move(i));
  }
  return out;
}

inline void nsp::fetch_sockets(const broadcast_options& opts, adapter::fetch_fn done) {
  auto local = std::make_shared<std::vector<socket_info>>(local_sockets(opts));
  adapter_->fetch_remote_sockets(opts, [local, done = std::move(done)](bool complete, std::vector<socket_info> remote) {
    for (auto& r : remote) local->push_back(std::move(r));
    done(complete, std::move(*local));
  });
}

inline void nsp::sockets_join(const broadcast_options& opts, const std::vector<std::string>& rooms) {
  for (const auto& sid : adapter_->sids(opts))
    for (const auto& r : rooms) enter_room(sid, r);  // the observer sees it, as Node's "join-room"
  if (!opts.local) adapter_->remote_join(opts, rooms);
}

inline void nsp::sockets_leave(const broadcast_options& opts, const std::vector<std::string>& rooms) {
  for (const auto& sid : adapter_->sids(opts))
    for (const auto& r : rooms) leave_room(sid, r);
  if (!opts.local) adapter_->remote_leave(opts, rooms);
}

inline void nsp::disconnect_sockets(const broadcast_options& opts, bool close) {
  for (const auto& sid : adapter_->sids(opts)) {
    socket_ptr s = get_socket(sid);
    if (!s) continue;  // left meanwhile
    if (close) s->close_connection();
    else s->disconnect();
  }
  if (!opts.local) adapter_->remote_disconnect(opts, close);
}

inline void nsp::all_rooms(adapter::rooms_fn done) {
  auto local = std::make_shared<std::vector<std::string>>(adapter_->local_rooms());
  adapter_->fetch_remote_rooms([local, done = std::move(done)](bool complete, std::vector<std::string> remote) {
    local->insert(local->end(), std::make_move_iterator(remote.begin()), std::make_move_iterator(remote.end()));
    std::sort(local->begin(), local->end());
    local->erase(std::unique(local->begin(), local->end()), local->end());
    done(complete, std::move(*local));
  });
}

inline const std::string& socket::namespace_name() const noexcept { return nsp_->namespace_name(); }
inline std::uint64_t socket::next_ack_id() noexcept {
  return nsp_->next_ack_id_.fetch_add(1, std::memory_order_relaxed);
}
template <class... A>
void socket::emit_recoverable(std::string_view name, const A&... a) {
  std::lock_guard<std::mutex> g(nsp_->emit_mu_);
  std::string off = store_->next_offset();
  auto f = detail::encode_event(namespace_name(), no_ack, name, a..., std::string_view(off));
  broadcast_options to;
  to.rooms.push_back(sid_);
  store_->store(off, to, f);
  if (observer* o = detail::observer_of(*server_)) o->event_sent(*this, f->text);
  send_frame(std::move(f));
}
inline emitter socket::to(std::string room) { return nsp_->to(std::move(room)).except(sid_); }
inline emitter socket::broadcast() { return nsp_->except(sid_); }
inline void socket::join(const std::string& room) { nsp_->enter_room(sid_, room); }
inline void socket::leave(const std::string& room) { nsp_->leave_room(sid_, room); }
inline std::vector<std::string> socket::rooms() const { return nsp_->adapter_->rooms_of(sid_); }

}  // namespace portico::socketio
// ---- end portico/socketio/namespace.hpp ----

namespace portico::socketio {

struct server_options {
  /// Transport settings; `engine.path` defaults to "/socket.io/" here.
  engineio::server_options engine = default_engine();
  /// Sessions that connect to no namespace within this time are closed.
  std::chrono::milliseconds connect_timeout{45000};
  /// Most binary attachments one packet may announce (socket.io-parser's default); more closes
  /// the connection.
  std::size_t max_attachments = default_max_attachments;
  /// Most bytes of one packet, text and attachments together, counted as they arrive; more
  /// closes the connection. 0: `engine.max_payload`, so a packet costs no more than a message.
  std::size_t max_packet_bytes = 0;
  /// Builds the adapter of each namespace; default: `memory_adapter`.
  std::function<std::unique_ptr<adapter>(const std::string& nsp, adapter::deliver_fn)> adapter_factory;
  /// Serve socket.io-client 2.x and other Engine.IO v3 / Socket.IO protocol v4 clients, as Node's
  /// `allowEIO3` does (sets `engine.allow_eio3`; every Engine.IO v3 session speaks protocol v4).
  /// Off by default. What differs for those clients: docs/socketio.md, "Legacy clients".
  bool allow_eio3 = false;
  /// Connection state recovery (socket.io 4.6+), off by default: docs/socketio.md,
  /// "Connection state recovery".
  recovery_options connection_state_recovery;
  /// Builds the session store of each namespace when recovery is on; default: `memory_session_store`.
  std::function<std::unique_ptr<session_store>(const std::string& nsp, const recovery_options&)> session_store_factory;

  static engineio::server_options default_engine() {
    engineio::server_options o;
    o.path = "/socket.io/";
    return o;
  }
};

namespace detail {

/// Per Engine.IO connection state, hung on `engineio::socket::user`; touched only on the
/// connection's home worker.
struct client {
  std::weak_ptr<engineio::socket> engine;
  decoder dec;
  std::vector<socket_ptr> sockets;  ///< one per connected namespace (few: linear search)
  std::vector<socket_ptr> paused;   ///< CONNECTs waiting on a connect_deferral
  timers::id connect_timer = 0;
  bool ever_connected = false;
  bool v4 = false;  ///< an Engine.IO v3 session: Socket.IO protocol v4
  client(std::size_t max_attachments, std::size_t max_packet_bytes) : dec(max_attachments, max_packet_bytes) {}
  socket_ptr find(std::string_view nsp) const {
    for (const auto& s : sockets)
      if (s->namespace_name() == nsp) return s;
    return nullptr;
  }
  bool connecting(std::string_view nsp) const {
    for (const auto& s : paused)
      if (s->namespace_name() == nsp) return true;
    return false;
  }
  /// Removes `s` from the paused CONNECTs; false when it is not there (the connection closed).
  bool take_paused(const socket* s) {
    for (auto it = paused.begin(); it != paused.end(); ++it)
      if (it->get() == s) {
        paused.erase(it);
        return true;
      }
    return false;
  }
  void erase(const socket* s) {
    for (auto it = sockets.begin(); it != sockets.end(); ++it)
      if (it->get() == s) {
        sockets.erase(it);
        return;
      }
  }
};

/// The reason a namespace's disconnect handlers see, as Node's socket.io 4.8 names it:
/// closing one connection (socket::close_connection(), a malformed packet) is "forced close",
/// server::stop() is "server shutting down".
inline const char* reason_text(engineio::close_reason r) noexcept {
  switch (r) {
    case engineio::close_reason::transport_close: return "transport close";
    case engineio::close_reason::transport_error: return "transport error";
    case engineio::close_reason::ping_timeout: return "ping timeout";
    case engineio::close_reason::parse_error: return "parse error";
    case engineio::close_reason::server_close: return "forced close";
    case engineio::close_reason::client_close: return "transport close";
    case engineio::close_reason::payload_too_large: return "transport error";
    case engineio::close_reason::forced: return "server shutting down";
  }
  return "transport close";
}

}  // namespace detail

class server {
 public:
  explicit server(server_options o = {});
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  // --- namespaces ---
  /// The static namespace `name` (created on first use). "/" is always there.
  nsp& of(const std::string& name);
  /// A dynamic namespace family: any name `accept` returns true for is created on demand and
  /// shares the returned namespace's handlers (register them on it).
  nsp& of(std::function<bool(std::string_view)> accept);
  /// A dynamic namespace family by pattern: `of(std::regex("^/room-\\d+$"))` (include <regex>).
  /// A template, so that the TUs that never pass a regex do not compile <regex>.
  template <class Regex, std::enable_if_t<!std::is_convertible_v<const Regex&, std::string> &&
                                              !std::is_invocable_v<const Regex&, std::string_view>,
                                          int> = 0>
  nsp& of(const Regex& re) {
    // Unqualified: std::regex_match is found through the regex's namespace (ADL).
    return of([re](std::string_view n) { return regex_match(n.begin(), n.end(), re); });
  }
  /// Catch-all (python-socketio's `namespaces='*'`): every namespace not matched otherwise.
  nsp& of_any() {
    return of([](std::string_view) { return true; });
  }
  /// The namespace `name` if it exists now (static or already created dynamically).
  nsp* find(std::string_view name);

  // --- shortcuts on "/" ---
  template <class F>
  server& use(F f) {
    of("/").use(std::move(f));
    return *this;
  }
  template <class F>
  server& on_connect(F f) {
    of("/").on_connect(std::move(f));
    return *this;
  }
  server& on_disconnect(disconnect_handler f) {
    of("/").on_disconnect(std::move(f));
    return *this;
  }
  server& on_disconnecting(disconnect_handler f) {
    of("/").on_disconnecting(std::move(f));
    return *this;
  }
  template <class F>
  server& on(std::string name, F f) {
    of("/").on(std::move(name), std::move(f));
    return *this;
  }
  template <class F>
  server& on_any(F f) {
    of("/").on_any(std::move(f));
    return *this;
  }
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    of("/").emit(name, a...);
  }
  /// Every socket of "/", with an ack: see `emitter::emit_with_ack`.
  template <class... A>
  void emit_with_ack(std::string_view name, ack_callback cb, std::chrono::milliseconds timeout, const A&... a) {
    of("/").emit_with_ack(name, std::move(cb), timeout, a...);
  }
  emitter to(std::string room) { return of("/").to(std::move(room)); }
  emitter except(std::string room) { return of("/").except(std::move(room)); }

  // --- sockets by sid (any thread) ---
  socket_ptr get_socket(const std::string& sid, const std::string& nsp_name = "/");
  /// Server-initiated disconnect of one socket from its namespace.
  bool disconnect(const std::string& sid, const std::string& nsp_name = "/");
  json::document get_session(const std::string& sid, const std::string& nsp_name = "/");
  bool save_session(const std::string& sid, const json::value& v, const std::string& nsp_name = "/");

  // --- lifecycle ---
  void listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  void start();
  void run();
  /// Stops accepting, closes every session (disconnect handlers run with "server shutting
  /// down", pending acks fail with `disconnected`), joins the threads. Idempotent.
  void stop();

  /// Watches sockets, rooms and events (see observer.hpp); null (the default) to stop. Set
  /// before start(); `o` outlives the server's run.
  void set_observer(observer* o) noexcept { observer_ = o; }
  /// Calls `f(nsp&)` for each namespace that exists now (under the namespace table's lock).
  template <class F>
  void for_each_namespace(F&& f) {
    std::lock_guard<std::mutex> g(nsp_mu_);
    for (auto& kv : nsps_) f(*kv.second);
  }

  /// The server's numbers now (docs/metrics.md). Counters stay 0 unless
  /// `server_options::engine.metrics` is on; gauges are counted from the tables on each call
  /// (locks each namespace's tables briefly: for scrapes, not per message).
  metrics_snapshot metrics() {
    metrics_snapshot m;
    if (auto* reg = engine_.counters()) {
      m.enabled = true;
      m.take_counters(reg->sums());
    }
    auto [polling, ws] = engine_.sessions_by_transport();
    m.connections_polling = polling;
    m.connections_websocket = ws;
    std::vector<nsp*> all;
    for_each_namespace([&](nsp& n) { all.push_back(&n); });
    for (nsp* n : all) {
      metrics_snapshot::namespace_stats st;
      st.name = n->namespace_name();
      std::vector<socket_ptr> sockets;
      {
        std::lock_guard<std::mutex> g(n->mu_);
        sockets.reserve(n->sockets_.size());
        for (auto& kv : n->sockets_) sockets.push_back(kv.second);
      }
      st.sockets = sockets.size();
      for (auto& s : sockets) {
        std::lock_guard<std::mutex> g(s->mu_);
        m.acks_pending += s->acks_.size();
      }
      st.rooms = n->adapter_->local_rooms().size();
      if (!m.has_cluster && n->namespace_name() == "/") m.has_cluster = n->adapter_->cluster_counts(m.cluster);
      m.namespaces.push_back(std::move(st));
    }
    std::sort(m.namespaces.begin(), m.namespaces.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return m;
  }
  /// `metrics()` in the Prometheus text format (render_prometheus).
  std::string metrics_text(std::string_view prefix = "portico") { return render_prometheus(metrics(), prefix); }

  engineio::server& engine() noexcept { return engine_; }
  portico::logger& log() noexcept { return log_; }
  const server_options& options() const noexcept { return opts_; }

 private:
  friend class socket;
  friend class detail::broadcast_acks;
  friend observer* detail::observer_of(const server&) noexcept;
  struct parent {
    std::function<bool(std::string_view)> accept;
    std::shared_ptr<detail::handlers> handlers;
    std::unique_ptr<nsp> proto;
  };

  /// `allow_eio3` on either level turns on both.
  static server_options with_eio3(server_options o) {
    o.allow_eio3 = o.engine.allow_eio3 = o.allow_eio3 || o.engine.allow_eio3;
    return o;
  }

  std::unique_ptr<nsp> make_nsp(const std::string& name, std::shared_ptr<detail::handlers> h);

  nsp& static_nsp_locked(const std::string& name);

  /// The namespace a CONNECT names: static, else created for a matching dynamic parent.
  nsp* resolve_nsp(std::string_view name);

  static detail::client* client_of(const engineio::socket_ptr& e) {
    return static_cast<detail::client*>(e->user.get());
  }

  void on_open(const engineio::socket_ptr& e);

  void on_close(const engineio::socket_ptr& e, engineio::close_reason r);

  void on_message(const engineio::socket_ptr& e, engineio::message&& m);

  /// Like the reference server, a packet that does not fit the connection's state (anything but
  /// CONNECT for a namespace it is not in, a second CONNECT, a CONNECT_ERROR) closes the connection.
  void dispatch(const engineio::socket_ptr& e, detail::client& c, packet& p);

  void invalid_state(const engineio::socket_ptr& e, const packet& p);

  /// Protocol v4 has no CONNECT payload: the query is the auth, an object of strings (the last
  /// of repeated names wins). For "/" it is the handshake's, without Engine.IO's own parameters.
  static void set_auth_from_query(socket& s, const std::vector<std::pair<std::string, std::string>>& query,
                                  bool handshake);

  /// Protocol v4's CONNECT_ERROR: the message alone, as a JSON string (`44/chat,"message"`).
  static engineio::frame_ptr v4_connect_error(std::string_view nsp, std::string_view message);

  /// `set_auth(socket&)` fills the new socket's auth from what the CONNECT carried.
  template <class SetAuth>
  void handle_connect(const engineio::socket_ptr& e, detail::client& c, std::string_view name, SetAuth&& set_auth);
  /// The connect handlers of `s` from the `first`, then the answer; stops at a deferral (its
  /// answer comes back through `resume_connect` on this connection's home worker).
  void run_connect_chain(const engineio::socket_ptr& e, detail::client& c, const socket_ptr& s, std::size_t first,
                         connect_request& req);
  /// A socket whose CONNECT was refused, or whose connection went away before the answer.
  void abandon_connect(socket& s);
  /// A deferral's answer, on the connection's home worker.
  void resume_connect(const std::shared_ptr<detail::paused_connect>& p);
  friend struct detail::paused_connect;

  /// Recovery on: the session the CONNECT payload's `{pid, offset}` names, taken over by `s`
  /// (its sid); otherwise `s` gets a fresh pid.
  std::optional<recovery_session> recover(nsp& n, socket& s);

  void handle_event(socket& s, packet& p);

  /// User code must not take an I/O thread down: an exception is logged and reported as false.
  template <class F>
  bool guarded(const char* what, std::string_view name, F&& f) {
    bool ok = portico::detail::run_user_code(
        log_, [&] { return std::string(what) + " '" + std::string(name) + "'"; }, std::forward<F>(f));
    if (!ok) engine_.count(metrics_slots::handler_exceptions);
    return ok;
  }

  /// Common end of a namespace connection: `disconnecting` (rooms still visible), leave rooms,
  /// fail pending acks, `disconnect`.
  void finish_disconnect(socket& s, std::string_view reason, bool notify_client, bool recoverable = false);

  server_options opts_;
  engineio::server engine_;
  portico::logger log_;
  detail::timers timers_;
  std::mutex nsp_mu_;  ///< the namespace table (CONNECT only, never per message)
  std::unordered_map<std::string, std::unique_ptr<nsp>> nsps_;
  std::vector<parent> parents_;
  nsp* root_ = nullptr;  ///< "/", created first, never removed
  observer* observer_ = nullptr;
};

inline observer* detail::observer_of(const server& srv) noexcept { return srv.observer_; }

}  // namespace portico::socketio

// The out-of-line members (compiled here header-only; by <portico/impl/src.hpp> otherwise).
// ---- begin portico/socketio/impl/server.ipp ----
/// The out-of-line part of `portico::socketio::server` (and of the socket and broadcast-ack
/// members that need the server). <portico/socketio/server.hpp> includes it; the definitions
/// compile in every TU in the header-only mode (`PORTICO_DECL` is `inline`) and only in the TU of
/// <portico/impl/src.hpp> in the separately compiled mode (docs/compile-time.md).

#if PORTICO_COMPILE_IMPL
namespace portico::socketio {

PORTICO_DECL server::server(server_options o)
    : opts_(with_eio3(std::move(o))), engine_(opts_.engine), log_("portico.socketio") {
  engine_.on_open([this](const engineio::socket_ptr& s) { on_open(s); });
  engine_.on_message([this](const engineio::socket_ptr& s, engineio::message&& m) { on_message(s, std::move(m)); });
  engine_.on_close([this](const engineio::socket_ptr& s, engineio::close_reason r) { on_close(s, r); });
  std::lock_guard<std::mutex> g(nsp_mu_);
  root_ = &static_nsp_locked("/");
}

PORTICO_DECL server::~server() { stop(); }

PORTICO_DECL nsp& server::of(const std::string& name) {
  if (name == "/") return *root_;  // the common case takes no lock
  std::lock_guard<std::mutex> g(nsp_mu_);
  return static_nsp_locked(name);
}

PORTICO_DECL nsp& server::of(std::function<bool(std::string_view)> accept) {
  std::lock_guard<std::mutex> g(nsp_mu_);
  auto h = std::make_shared<detail::handlers>();
  parents_.push_back(parent{std::move(accept), h, make_nsp("(dynamic)", h)});
  return *parents_.back().proto;
}

PORTICO_DECL nsp* server::find(std::string_view name) {
  if (name == "/") return root_;
  std::lock_guard<std::mutex> g(nsp_mu_);
  auto it = nsps_.find(std::string(name));
  return it == nsps_.end() ? nullptr : it->second.get();
}

PORTICO_DECL socket_ptr server::get_socket(const std::string& sid, const std::string& nsp_name) {
  nsp* n = find(nsp_name);
  return n ? n->get_socket(sid) : nullptr;
}

PORTICO_DECL bool server::disconnect(const std::string& sid, const std::string& nsp_name) {
  auto s = get_socket(sid, nsp_name);
  if (s) s->disconnect();
  return s != nullptr;
}

PORTICO_DECL json::document server::get_session(const std::string& sid, const std::string& nsp_name) {
  auto s = get_socket(sid, nsp_name);
  return s ? s->get_session() : json::document();
}

PORTICO_DECL bool server::save_session(const std::string& sid, const json::value& v, const std::string& nsp_name) {
  auto s = get_socket(sid, nsp_name);
  if (s) s->save_session(v);
  return s != nullptr;
}

PORTICO_DECL void server::listen(const std::string& host, std::uint16_t port) { engine_.listen(host, port); }

PORTICO_DECL std::uint16_t server::port() const { return engine_.port(); }

PORTICO_DECL void server::start() { engine_.start(); }

PORTICO_DECL void server::run() { engine_.run(); }

PORTICO_DECL void server::stop() {
  timers_.stop();
  engine_.stop();
}

PORTICO_DECL std::unique_ptr<nsp> server::make_nsp(const std::string& name, std::shared_ptr<detail::handlers> h) {
  adapter::deliver_fn deliver = [this](const engineio::frame_ptr& f, const std::vector<engineio::socket_ptr>& to) {
    engine_.send_many(f, to);
  };
  std::unique_ptr<adapter> a = opts_.adapter_factory ? opts_.adapter_factory(name, std::move(deliver))
                                                     : std::make_unique<memory_adapter>(std::move(deliver));
  auto n = std::make_unique<nsp>(*this, name, std::move(h), std::move(a));
  if (const auto& r = opts_.connection_state_recovery; r.enabled)
    n->store_ = opts_.session_store_factory ? opts_.session_store_factory(name, r)
                                            : std::make_unique<memory_session_store>(r);
  n->get_adapter().bind(*n);
  return n;
}

PORTICO_DECL nsp& server::static_nsp_locked(const std::string& name) {
  auto it = nsps_.find(name);
  if (it != nsps_.end()) return *it->second;
  auto n = make_nsp(name, std::make_shared<detail::handlers>());
  auto& ref = *n;
  nsps_.emplace(name, std::move(n));
  return ref;
}

PORTICO_DECL nsp* server::resolve_nsp(std::string_view name) {
  std::lock_guard<std::mutex> g(nsp_mu_);
  std::string key(name);
  auto it = nsps_.find(key);
  if (it != nsps_.end()) return it->second.get();
  if (name == "/") return &static_nsp_locked(key);
  for (auto& p : parents_) {
    if (p.accept(name)) {
      auto n = make_nsp(key, p.handlers);
      auto* raw = n.get();
      nsps_.emplace(std::move(key), std::move(n));
      return raw;
    }
  }
  return nullptr;
}

PORTICO_DECL void server::on_open(const engineio::socket_ptr& e) {
  auto c = std::make_shared<detail::client>(
      opts_.max_attachments, opts_.max_packet_bytes ? opts_.max_packet_bytes : opts_.engine.max_payload);
  c->engine = e;
  std::weak_ptr<engineio::socket> w = e;
  c->connect_timer = timers_.after(opts_.connect_timeout, [w, this] {
    if (auto es = w.lock())
      es->post([es, this] {
        auto* cl = client_of(es);
        if (cl && !cl->ever_connected) {
          log_.info([&] { return "closing " + es->sid() + ": no namespace connected in time"; });
          es->close();
        }
      });
  });
  c->v4 = e->protocol() == 3;
  e->user = c;
  // Protocol v4: the client is in "/" from the handshake on, without asking (a refusal there
  // leaves the connection open for other namespaces, as in Node).
  if (c->v4) handle_connect(e, *c, "/", [&](socket& s) { set_auth_from_query(s, e->handshake().query, true); });
}

PORTICO_DECL void server::on_close(const engineio::socket_ptr& e, engineio::close_reason r) {
  auto keep = e->user;  // the client outlives this call even if a handler resets `user`
  auto* c = client_of(e);
  if (!c) return;
  timers_.cancel(c->connect_timer);
  auto sockets = std::move(c->sockets);
  c->sockets.clear();
  for (auto& s : c->paused) abandon_connect(*s);  // their deferral's answer finds no client
  c->paused.clear();
  // As Node, a lost connection keeps its sessions for recovery (a malformed packet does not).
  for (auto& s : sockets) finish_disconnect(*s, detail::reason_text(r), false, r != engineio::close_reason::parse_error);
  e->user.reset();
}

PORTICO_DECL void server::on_message(const engineio::socket_ptr& e, engineio::message&& m) {
  auto keep = e->user;  // a handler may close the connection (on_close resets `user`)
  auto* c = client_of(e);
  if (!c) return;
  auto st = m.binary ? c->dec.add_binary(std::move(m.data)) : c->dec.add_text(std::move(m.data));
  if (st == decoder::status::awaiting_attachments) return;
  if (st == decoder::status::error) {
    log_.info([&] { return "closing " + e->sid() + ": invalid packet (" + describe(c->dec.error()) + ")"; });
    e->count(metrics_slots::invalid_packets);
    c->dec.reset();
    e->close();
    return;
  }
  packet p = c->dec.take();
  dispatch(e, *c, p);
}

PORTICO_DECL void server::dispatch(const engineio::socket_ptr& e, detail::client& c, packet& p) {
  if (p.type == packet_type::connect && c.v4) {
    // Protocol v4: "/chat?x=1" carries the query the client's CONNECT has instead of a payload.
    std::string_view nsp = p.namespace_name(), query;
    if (auto q = nsp.find('?'); q != std::string_view::npos) {
      query = nsp.substr(q + 1);
      nsp = nsp.substr(0, q);
    }
    if (nsp.empty()) nsp = "/";
    if (c.find(nsp) || c.connecting(nsp)) return invalid_state(e, p);
    return handle_connect(e, c, nsp, [&](socket& s) {
      set_auth_from_query(s, engineio::detail::parse_query(query), false);
    });
  }
  if (p.type == packet_type::connect) {
    if (c.find(p.namespace_name()) || c.connecting(p.namespace_name())) return invalid_state(e, p);
    return handle_connect(e, c, p.namespace_name(), [&](socket& s) {
      if (!p.has_data()) return;
      // Deep (it outlives the packet), into a pool sized to the payload: a default document
      // would take RapidJSON's 64 KB first chunk for every authenticated connection.
      std::size_t chunk = std::min<std::size_t>(65536, detail::value_json_size(p.data()) * 9 + 256);
      s.auth_pool_ = detail::make_dom_pool(chunk);
      s.auth_ = json::copy(p.data(), *s.auth_pool_);
    });
  }
  auto s = c.find(p.namespace_name());
  if (!s || p.type == packet_type::connect_error) return invalid_state(e, p);
  switch (p.type) {
    case packet_type::disconnect:
      c.erase(s.get());
      finish_disconnect(*s, "client namespace disconnect", false);
      return;
    case packet_type::event:
    case packet_type::binary_event:
      handle_event(*s, p);
      return;
    case packet_type::ack:
    case packet_type::binary_ack:
      s->complete_ack(p.id, ack_status::ok, args(p));
      return;
    default:
      return;
  }
}

PORTICO_DECL void server::invalid_state(const engineio::socket_ptr& e, const packet& p) {
  log_.info([&] {
    return "closing " + e->sid() + ": " + to_string(p.type) + " for namespace " + std::string(p.namespace_name()) +
           " in the wrong state";
  });
  e->count(metrics_slots::invalid_state);
  e->close();
}

PORTICO_DECL void server::set_auth_from_query(socket& s, const std::vector<std::pair<std::string, std::string>>& query,
                                  bool handshake) {
  auto engine_param = [](const std::string& k) {
    return k == "EIO" || k == "transport" || k == "t" || k == "sid" || k == "b64" || k == "j";
  };
  std::size_t bytes = 0;
  for (const auto& kv : query) bytes += kv.first.size() + kv.second.size() + 32;
  s.auth_pool_ = detail::make_dom_pool(std::min<std::size_t>(65536, bytes * 2 + 256));
  auto& pool = *s.auth_pool_;
  s.auth_.SetObject();
  for (const auto& [k, v] : query) {
    if (handshake && engine_param(k)) continue;
    json::value val(v.data(), static_cast<rapidjson::SizeType>(v.size()), pool);
    auto it = s.auth_.FindMember(json::value(rapidjson::StringRef(k.data(), k.size())));
    if (it != s.auth_.MemberEnd()) it->value = std::move(val);
    else s.auth_.AddMember(json::value(k.data(), static_cast<rapidjson::SizeType>(k.size()), pool), std::move(val), pool);
  }
}

PORTICO_DECL engineio::frame_ptr server::v4_connect_error(std::string_view nsp, std::string_view message) {
  packet_writer pw(packet_type::connect_error, nsp);
  pw.writer().String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  auto f = std::make_shared<engineio::frame>();
  f->text = std::move(pw.finish());
  return f;
}

template <class SetAuth>
void server::handle_connect(const engineio::socket_ptr& e, detail::client& c, std::string_view name, SetAuth&& set_auth) {
  nsp* n = resolve_nsp(name);
  if (!n) {
    engineio::frame_ptr f;
    if (c.v4) {
      f = v4_connect_error(name, "Invalid namespace");
    } else {
      auto fr = std::make_shared<engineio::frame>();
      write_header(fr->text, packet_type::connect_error, name);
      fr->text += R"({"message":"Invalid namespace"})";
      f = std::move(fr);
    }
    e->send(std::move(f));
    e->count(metrics_slots::invalid_namespace);
    log_.info([&] { return "refused " + e->sid() + " on " + std::string(name) + ": invalid namespace"; });
    return;
  }
  c.ever_connected = true;
  timers_.cancel(c.connect_timer);
  // Protocol v4 clients compute their socket id themselves ("/chat#" + the Engine.IO sid).
  auto s = std::make_shared<socket>(*n, c.v4 ? (n->namespace_name() == "/" ? e->sid() : n->namespace_name() + "#" + e->sid())
                                              : portico::detail::random_id(),
                                    e, *this);
  set_auth(*s);
  std::optional<recovery_session> restored;
  if (n->store_ && !c.v4) restored = recover(*n, *s);
  n->adapter_->add_socket(s->sid(), e);  // rooms are usable from the connect handlers
  if (restored) {
    for (const auto& r : restored->rooms) n->adapter_->join(s->sid(), r);
    if (!restored->data.empty()) json::parse(restored->data, s->session_);
    s->replay_ = std::move(restored->missed);
  }
  connect_request req(*s, s->auth_);
  run_connect_chain(e, c, s, 0, req);
}

PORTICO_DECL void server::run_connect_chain(const engineio::socket_ptr& e, detail::client& c, const socket_ptr& s,
                                            std::size_t first, connect_request& req) {
  nsp* n = s->nsp_;
  auto handlers = n->handlers_;
  bool skip_use = s->recovered_ && opts_.connection_state_recovery.skip_middlewares;
  for (std::size_t i = first; !req.refused() && i < handlers->middlewares.size(); ++i) {
    if (skip_use && handlers->from_use[i]) continue;
    auto& h = handlers->middlewares[i];
    if (!guarded("connect handler", n->namespace_name(), [&] { h(*s, req); })) req.refuse("internal error");
    if (req.paused_ && !req.refused()) {
      req.paused_->next.store(i + 1);
      c.paused.push_back(s);
      return;
    }
  }
  if (req.paused_) req.paused_->done.store(true);  // refused as well as deferred: the refusal counts
  if (req.refused()) {
    abandon_connect(*s);
    e->count(metrics_slots::connects_refused);
    if (c.v4) {  // protocol v4 carries no data with a refusal
      e->send(v4_connect_error(n->namespace_name(), req.message()));
      log_.info([&] { return "refused " + e->sid() + " on " + n->namespace_name() + ": " + req.message(); });
      return;
    }
    auto f = std::make_shared<engineio::frame>();
    packet_writer pw(packet_type::connect_error, n->namespace_name());
    auto& w = pw.writer();
    w.StartObject();
    w.Key("message", 7);
    w.String(req.message().data(), static_cast<rapidjson::SizeType>(req.message().size()));
    if (!req.data_json().empty()) {
      w.Key("data", 4);
      w.RawValue(req.data_json().data(), req.data_json().size(), rapidjson::kObjectType);
    }
    w.EndObject();
    f->text = std::move(pw.finish());
    e->send(std::move(f));
    log_.info([&] { return "refused " + e->sid() + " on " + n->namespace_name() + ": " + req.message(); });
    return;
  }
  if (s->closing_.load() || e->closed()) {  // a handler disconnected it or closed the connection
    abandon_connect(*s);
    return;
  }
  {
    std::lock_guard<std::mutex> g(n->mu_);
    n->sockets_[s->sid()] = s;
  }
  c.sockets.push_back(s);
  auto f = std::make_shared<engineio::frame>();
  write_header(f->text, packet_type::connect, n->namespace_name());
  if (!c.v4) {  // protocol v4's CONNECT answer has no payload
    f->text += "{\"sid\":\"";
    f->text += s->sid();
    if (!s->pid_.empty()) {
      f->text += "\",\"pid\":\"";
      f->text += s->pid_;
    }
    f->text += "\"}";
  }
  s->accept(std::move(f));
  e->count(metrics_slots::connects);
  if (observer_) observer_->connected(*s);
}

PORTICO_DECL void server::abandon_connect(socket& s) {
  s.closing_.store(true);
  s.mark_disconnected();
  s.nsp_->adapter_->remove_socket(s.sid());
  s.fail_acks();
}

PORTICO_DECL void server::resume_connect(const std::shared_ptr<detail::paused_connect>& p) {
  const socket_ptr& s = p->s;
  engineio::socket_ptr e = s->engine();
  auto keep = e->user;
  auto* c = client_of(e);
  if (!c || !c->take_paused(s.get())) return;  // closed meanwhile: on_close abandoned it
  connect_request req(*s, s->auth_);
  if (p->refused) req.refuse(p->message.empty() ? std::string("internal error") : p->message);
  run_connect_chain(e, *c, s, p->next.load(), req);
}

PORTICO_DECL std::optional<recovery_session> server::recover(nsp& n, socket& s) {
  s.store_ = n.store_.get();
  std::optional<recovery_session> out;
  const json::value& a = s.auth_;
  if (a.IsObject()) {
    auto pid = a.FindMember("pid"), off = a.FindMember("offset");
    if (pid != a.MemberEnd() && off != a.MemberEnd() && pid->value.IsString() && off->value.IsString()) {
      std::string p(pid->value.GetString(), pid->value.GetStringLength());
      out = n.store_->restore(p, std::string(off->value.GetString(), off->value.GetStringLength()));
      if (out && n.get_socket(out->sid)) out.reset();  // never two sockets with one sid
      if (!out) log_.info([&] { return "connection state of " + n.namespace_name() + " not recovered for pid " + p; });
    }
  }
  if (!out) {
    s.pid_ = portico::detail::random_id();
    return out;
  }
  s.sid_ = out->sid;
  s.pid_ = out->pid;
  s.recovered_ = true;
  return out;
}

PORTICO_DECL void server::handle_event(socket& s, packet& p) {
  if (observer_) observer_->event_received(s, p);
  const auto& h = *s.nsp_->handlers_;
  std::string_view name = p.event_name();
  // Reuse one key buffer per thread: no allocation for the lookup.
  thread_local std::string key;
  key.assign(name.data(), name.size());
  auto it = h.events.find(key);
  const event_handler* f = it != h.events.end() ? &it->second : (h.any ? &h.any : nullptr);
  if (!f) {
    log_.debug([&] { return "no handler for event '" + key + "' on " + s.namespace_name(); });
    return;
  }
  args a(p);
  event ev(s, name, a, p.id);
  guarded("event handler", name, [&] { (*f)(ev); });
}

PORTICO_DECL void server::finish_disconnect(socket& s, std::string_view reason, bool notify_client, bool recoverable) {
  if (s.closing_.exchange(true)) return;  // once, even if a handler disconnects again
  auto keep = s.shared_from_this();
  if (!s.accepted_.load()) {  // still inside its connect handlers: handle_connect cleans up
    s.mark_disconnected();
    return;
  }
  auto& h = *s.nsp_->handlers_;
  if (observer_) observer_->disconnecting(s, reason);
  if (h.disconnecting) guarded("disconnecting handler", reason, [&] { h.disconnecting(s, reason); });
  std::optional<recovery_session> keep_for_recovery;
  if (recoverable && s.store_) {  // after `disconnecting`, as Node: what it changed is kept
    auto& rs = keep_for_recovery.emplace();
    rs.sid = s.sid();
    rs.pid = s.pid_;
    rs.rooms = s.rooms();
    std::lock_guard<std::mutex> g(s.mu_);
    if (!s.session_.IsNull()) rs.data = json::stringify(s.session_);
  }
  if (notify_client) {
    auto f = std::make_shared<engineio::frame>();
    write_header(f->text, packet_type::disconnect, s.namespace_name());
    s.engine_->send(std::move(f));
  }
  s.mark_disconnected();
  s.nsp_->remove(s.sid());
  // Restorable only once the sid is free: a client back at once must not find it taken.
  if (keep_for_recovery) s.store_->persist(std::move(*keep_for_recovery));
  s.fail_acks();
  if (h.disconnected) guarded("disconnect handler", reason, [&] { h.disconnected(s, reason); });
  {
    std::lock_guard<std::mutex> g(s.mu_);
    s.session_.SetNull();
  }
}

// --- deferred connects ---

PORTICO_DECL connect_deferral connect_request::defer() {
  if (!paused_) {
    paused_ = std::make_shared<detail::paused_connect>();
    paused_->s = socket_.shared_from_this();
  }
  return connect_deferral(paused_);
}

PORTICO_DECL void detail::paused_connect::complete(const std::shared_ptr<paused_connect>& p, bool refused,
                                                 std::string message) {
  if (p->done.exchange(true)) return;
  p->refused = refused;
  p->message = std::move(message);
  p->s->engine()->post([p] { p->s->server_->resume_connect(p); });
}

PORTICO_DECL detail::paused_connect::~paused_connect() {
  if (done.load() || !s) return;
  auto q = std::make_shared<paused_connect>();
  q->s = s;
  q->done.store(true);
  q->refused = true;
  q->message = "internal error";
  s->engine()->post([q] { q->s->server_->resume_connect(q); });
}

// --- socket members that need the server ---

PORTICO_DECL void socket::disconnect() {
  auto self = shared_from_this();
  auto run = [self] {
    if (auto* c = static_cast<detail::client*>(self->engine_->user.get())) c->erase(self.get());
    self->server_->finish_disconnect(*self, "server namespace disconnect", true);
  };
  if (engine_->on_home_worker()) run();
  else engine_->post(run);
}

PORTICO_DECL bool socket::register_ack(std::uint64_t id, ack_callback cb, std::chrono::milliseconds timeout) {
  std::weak_ptr<socket> w = weak_from_this();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (state_.load() == state::disconnected) {
      // Never silently dropped: the caller learns at once.
      cb(ack_status::disconnected, args());
      return false;
    }
    acks_[id].cb = std::move(cb);
  }
  engine_->count(metrics_slots::acks_requested);
  auto t = server_->timers_.after(timeout, [w, id] {
    if (auto s = w.lock()) {
      s->engine_->post([s, id] { s->complete_ack(id, ack_status::timeout, args()); });
    }
  });
  std::lock_guard<std::mutex> g(mu_);
  auto it = acks_.find(id);
  if (it != acks_.end()) it->second.timer = t;
  return true;
}

PORTICO_DECL void socket::complete_ack(std::uint64_t id, ack_status status, const args& a) {
  ack_callback cb;
  std::uint64_t timer = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = acks_.find(id);
    if (it == acks_.end()) return;
    cb = std::move(it->second.cb);
    timer = it->second.timer;
    acks_.erase(it);
  }
  if (status != ack_status::timeout && timer) server_->timers_.cancel(timer);
  if (status == ack_status::timeout) engine_->count(metrics_slots::acks_timed_out);
  if (cb) server_->guarded("ack callback", namespace_name(), [&] { cb(status, a); });
}

PORTICO_DECL void socket::fail_acks() {
  std::unordered_map<std::uint64_t, pending_ack> acks;
  {
    std::lock_guard<std::mutex> g(mu_);
    acks.swap(acks_);
  }
  for (auto& kv : acks) {
    if (kv.second.timer) server_->timers_.cancel(kv.second.timer);
    if (kv.second.cb)
      server_->guarded("ack callback", namespace_name(), [&] { kv.second.cb(ack_status::disconnected, args()); });
  }
}

// --- broadcast with ack ---

PORTICO_DECL bool detail::broadcast_acks::expect(const std::string& sid) {
  socket_ptr s = nsp_->get_socket(sid);
  if (!s) return false;
  // The socket holds the collector until it answers or leaves (no cycle: the collector holds
  // the sockets weakly), so the callback runs even when no timer could be armed (shutdown).
  auto self = shared_from_this();
  bool ok = s->expect_ack(id_, [self](ack_status st, const args& a) {
    if (st == ack_status::ok) self->response(a);
    else self->lost();
  });
  if (!ok) return false;
  std::lock_guard<std::mutex> g(mu_);
  waiting_.push_back(s);
  return true;
}

PORTICO_DECL void detail::broadcast_acks::start(std::chrono::milliseconds timeout) {
  // The timer holds the collector until the deadline (the sockets only hold weak references).
  auto self = shared_from_this();
  auto t = nsp_->server_->timers_.after(timeout, [self] { self->on_timeout(); });
  std::lock_guard<std::mutex> g(mu_);
  timer_ = t;
}

PORTICO_DECL void detail::broadcast_acks::on_timeout() {
  std::unique_lock<std::mutex> lk(mu_);
  if (done_) return;
  nsp_->server_->engine_.count(metrics_slots::acks_timed_out);
  timer_ = 0;
  // Timer-thread callbacks stay short: the user's callback runs on a recipient's worker.
  for (const auto& w : waiting_) {
    if (auto s = w.lock()) {
      lk.unlock();
      auto self = shared_from_this();
      s->engine()->post([self] {
        std::unique_lock<std::mutex> l(self->mu_);
        if (!self->done_) self->finish(l, ack_status::timeout);
      });
      return;
    }
  }
  finish(lk, ack_status::timeout);
}

PORTICO_DECL void detail::broadcast_acks::finish(std::unique_lock<std::mutex>& lk, ack_status st) {
  done_ = true;
  auto cb = std::move(cb_);
  auto waiting = std::move(waiting_);
  auto timer = timer_;
  out_.writer().EndArray();
  std::string text = std::move(out_.finish());
  auto blobs = std::move(blobs_);
  lk.unlock();
  auto& srv = *nsp_->server_;
  if (timer) srv.timers_.cancel(timer);
  // Late answers are not waited for any more (a no-op for the sockets that answered).
  if (st != ack_status::ok)
    for (const auto& w : waiting)
      if (auto s = w.lock()) s->drop_ack(id_);
  packet responses;
  if (decode(std::move(text), responses, blobs.size()) != errc::ok) {
    srv.log().error([] { return std::string("broadcast ack: responses do not decode"); });
    responses = packet();
  }
  for (auto& b : blobs) responses.attachments.emplace_back(std::move(b));
  if (cb) srv.guarded("ack callback", nsp_->namespace_name(), [&] { cb(st, args(responses)); });
}

}  // namespace portico::socketio

#endif  // PORTICO_COMPILE_IMPL
// ---- end portico/socketio/impl/server.ipp ----
// ---- end portico/socketio/server.hpp ----
// ---- begin portico/http/http.hpp ----
/// portico::http: plain HTTP routes, templates, static files and plain WebSocket routes served
/// by the Engine.IO server's endpoint (same port). See docs/http.md.
// ---- begin portico/http/exception.hpp ----
/// `throw http::http_exception(401, "Unauthorized")` from a handler or a check answers the
/// request with that status and `{"detail": "Unauthorized"}` (a WebSocket upgrade is refused
/// with it, before the 101). Any other exception is a 500 that leaks nothing.
// ---- begin portico/http/request.hpp ----
/// Plain HTTP request and response values, independent of the transport: the router fills a
/// `request` from a websocketpp connection and writes a `response` back to it.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

namespace detail {

using portico::detail::iequals;
using portico::detail::lower_ascii;

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decoding; `plus_is_space` only for query strings (form encoding).
inline std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) out.push_back(' ');
    else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
             hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else out.push_back(s[i]);
  }
  return out;
}

inline header_list parse_query(std::string_view q) {
  header_list out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos) out.emplace_back(percent_decode(part, true), std::string());
      else out.emplace_back(percent_decode(part.substr(0, eq), true), percent_decode(part.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace detail

/// One HTTP request (or WebSocket handshake). Header names are lower-cased; query values and
/// path parameters are percent-decoded.
struct request {
  std::string method;        ///< "GET", "POST", ... as sent
  std::string target;        ///< path and query as sent
  std::string path;          ///< raw (still percent-encoded) path
  std::string query_string;  ///< after '?', raw
  header_list query;
  header_list headers;
  header_list path_params;  ///< filled by the router from `{name}` segments
  std::string body;
  std::string remote_address;

  /// Splits `target` into path, query_string and query.
  void set_target(std::string t) {
    target = std::move(t);
    auto q = target.find('?');
    path = target.substr(0, q);
    query_string = q == std::string::npos ? std::string() : target.substr(q + 1);
    query = detail::parse_query(query_string);
  }

  /// First header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (detail::iequals(k, name)) return &v;
    return nullptr;
  }
  const std::string* query_param(std::string_view name) const {
    for (auto& [k, v] : query)
      if (k == name) return &v;
    return nullptr;
  }
  const std::string* path_param(std::string_view name) const {
    for (auto& [k, v] : path_params)
      if (k == name) return &v;
    return nullptr;
  }
};

/// The standard reason phrase of `status` (see portico/detail/http_status.hpp).
inline const char* reason_phrase(int status) noexcept { return portico::detail::reason_phrase(status); }

/// What a handler answers. Build one with json(), text(), html() or by hand.
struct response {
  int status = 200;
  header_list headers;
  std::string body;

  /// Replaces (or adds) a header.
  response& set_header(std::string name, std::string value) {
    for (auto& [k, v] : headers)
      if (detail::iequals(k, name)) {
        v = std::move(value);
        return *this;
      }
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  const std::string* header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (detail::iequals(k, name)) return &v;
    return nullptr;
  }
  response& with_status(int s) {
    status = s;
    return *this;
  }
};

/// A response with a body of that content type.
inline response content(std::string body, std::string content_type, int status = 200) {
  response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}
inline response text(std::string body, int status = 200) {
  return content(std::move(body), "text/plain; charset=utf-8", status);
}
inline response html(std::string body, int status = 200) {
  return content(std::move(body), "text/html; charset=utf-8", status);
}
/// JSON text already encoded.
inline response raw_json(std::string body, int status = 200) {
  return content(std::move(body), "application/json", status);
}
/// A typed value (PORTICO_FIELDS struct, vector, map, ...) encoded as JSON.
template <class T>
response json(const T& value, int status = 200) {
  return raw_json(portico::json::to_string(value), status);
}
/// `{"detail": "<message>"}`, the shape of every error the router produces itself.
inline response error(int status, std::string_view detail) {
  std::string body = "{\"detail\":";
  portico::json::string_sink sink{&body};
  portico::json::writer w(sink);
  w.String(detail.data(), static_cast<rapidjson::SizeType>(detail.size()));
  body += '}';
  return raw_json(std::move(body), status);
}
/// 422 `{"detail": [errors]}`.
inline response validation_error(const portico::json::error_list& errs) {
  return raw_json("{\"detail\":" + portico::json::to_string(errs) + "}", 422);
}
inline response redirect(std::string location, int status = 307) {
  response r;
  r.status = status;
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

}  // namespace portico::http
// ---- end portico/http/request.hpp ----

#include <stdexcept>
#include <string>
#include <utility>

namespace portico::http {

class http_exception : public std::runtime_error {
 public:
  /// `headers` are added to the answer (e.g. WWW-Authenticate with a 401).
  http_exception(int status, std::string detail, header_list headers = {})
      : std::runtime_error(detail), status_(status), detail_(std::move(detail)), headers_(std::move(headers)) {}

  int status() const noexcept { return status_; }
  const std::string& detail() const noexcept { return detail_; }
  /// What the client receives.
  response to_response() const {
    response r = error(status_, detail_);
    for (auto& [k, v] : headers_) r.set_header(k, v);
    return r;
  }

 private:
  int status_;
  std::string detail_;
  header_list headers_;
};

}  // namespace portico::http
// ---- end portico/http/exception.hpp ----
// ---- begin portico/http/params.hpp ----
/// Typed handler parameters: where a value comes from (path, query, header, JSON body) and
/// how its text becomes a C++ value. Every failure is recorded in a json::error_list located
/// FastAPI-style (`["query","limit"]`), so one 422 lists all problems of a request.

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace portico::http {

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Types from_text() converts (query/path/header values, text-encoded ws bodies).
template <class T>
struct is_text_value
    : std::bool_constant<std::is_same_v<T, std::string> || std::is_arithmetic_v<T>> {};
template <class T>
struct is_text_value<std::optional<T>> : is_text_value<T> {};

/// Text (a path segment, query value or header) to T. Supported: std::string, bool, integers,
/// floating point, std::optional of those.
template <class T>
bool from_text(std::string_view s, T& out, portico::json::error_list& errs) {
  if constexpr (std::is_same_v<T, std::string>) {
    out.assign(s.data(), s.size());
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    std::string l;
    for (char c : s) l.push_back(lower_ascii(c));
    if (l == "true" || l == "1" || l == "yes" || l == "on") out = true;
    else if (l == "false" || l == "0" || l == "no" || l == "off") out = false;
    else {
      errs.add("value could not be parsed to a boolean", "bool_parsing");
      return false;
    }
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    const char* b = s.data();
    const char* e = s.data() + s.size();
    if (b != e && *b == '+') ++b;
    auto [p, ec] = std::from_chars(b, e, out);
    if (ec == std::errc::result_out_of_range) {
      errs.add("integer out of range", "int_range");
      return false;
    }
    if (ec != std::errc() || p != e || b == e) {
      errs.add("value is not a valid integer", "int_parsing");
      return false;
    }
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    std::string copy(s);  // strtod needs a terminated string
    char* end = nullptr;
    double d = copy.empty() ? 0 : std::strtod(copy.c_str(), &end);
    if (copy.empty() || end != copy.c_str() + copy.size() || copy.find_first_of(" \t\n") != std::string::npos) {
      errs.add("value is not a valid number", "float_parsing");
      return false;
    }
    out = static_cast<T>(d);
    return true;
  } else if constexpr (is_optional<T>::value) {
    out.emplace();
    return from_text(s, *out, errs);
  } else {
    static_assert(!sizeof(T*), "portico::http: parameters from text support std::string, bool, integers, "
                               "floating point and std::optional of them");
    return false;
  }
}

/// Shared by query and header parameters: absent -> default, nullopt for optionals, else missing.
template <class T>
bool from_optional_text(const std::string* s, const std::optional<T>& def, T& out, portico::json::error_list& errs) {
  if (s) return from_text(*s, out, errs);
  if (def) {
    out = *def;
    return true;
  }
  if constexpr (is_optional<T>::value) {
    out.reset();
    return true;
  } else {
    errs.add("field required", "missing");
    return false;
  }
}

}  // namespace detail

/// `{name}` in the route pattern.
template <class T>
struct path_param {
  using type = T;
  std::string name;
  bool extract(const request& req, T& out, portico::json::error_list& errs) const {
    portico::json::error_list::scope a(errs, "path"), b(errs, std::string_view(name));
    const std::string* s = req.path_param(name);
    if (!s) {
      errs.add("field required", "missing");
      return false;
    }
    return detail::from_text(*s, out, errs);
  }
};

/// `?name=value`; without a default the parameter is required (unless T is std::optional).
template <class T>
struct query_param {
  using type = T;
  std::string name;
  std::optional<T> fallback;
  bool extract(const request& req, T& out, portico::json::error_list& errs) const {
    portico::json::error_list::scope a(errs, "query"), b(errs, std::string_view(name));
    return detail::from_optional_text(req.query_param(name), fallback, out, errs);
  }
};

/// A request header (name case-insensitive).
template <class T>
struct header_param {
  using type = T;
  std::string name;
  std::optional<T> fallback;
  bool extract(const request& req, T& out, portico::json::error_list& errs) const {
    portico::json::error_list::scope a(errs, "header"), b(errs, std::string_view(name));
    return detail::from_optional_text(req.header(name), fallback, out, errs);
  }
};

/// The request body as JSON, decoded through the typed mapping (PORTICO_FIELDS, adapters).
template <class T>
struct body_param {
  using type = T;
  bool extract(const request& req, T& out, portico::json::error_list& errs) const {
    portico::json::error_list::scope a(errs, "body");
    portico::json::document doc;
    portico::json::parse_error perr;
    if (!portico::json::parse(req.body, doc, &perr)) {
      errs.add("invalid JSON at offset " + std::to_string(perr.offset) + ": " + perr.message, "json_invalid");
      return false;
    }
    return portico::json::decode(doc, out, errs);
  }
};

template <class T>
path_param<T> path(std::string name) {
  return {std::move(name)};
}
template <class T>
query_param<T> query(std::string name) {
  return {std::move(name), std::nullopt};
}
template <class T, class D>
query_param<T> query(std::string name, D&& fallback) {
  return {std::move(name), T(std::forward<D>(fallback))};
}
template <class T>
header_param<T> header(std::string name) {
  return {std::move(name), std::nullopt};
}
template <class T, class D>
header_param<T> header(std::string name, D&& fallback) {
  return {std::move(name), T(std::forward<D>(fallback))};
}
template <class T>
body_param<T> body() {
  return {};
}

/// Decodes one parameter outside a handler (e.g. in an event-mode connect handler).
template <class P>
std::optional<typename P::type> param_value(const request& req, const P& p, portico::json::error_list& errs) {
  typename P::type v{};
  if (!p.extract(req, v, errs)) return std::nullopt;
  return v;
}

namespace detail {

/// Extracts every parameter (all of them, so the error list is complete).
template <class Params, class Values, std::size_t... I>
bool extract_all(const request& req, const Params& ps, Values& vs, portico::json::error_list& errs,
                 std::index_sequence<I...>) {
  bool ok = true;
  ((ok = std::get<I>(ps).extract(req, std::get<I>(vs), errs) && ok), ...);
  return ok;
}

}  // namespace detail

}  // namespace portico::http
// ---- end portico/http/params.hpp ----
// ---- begin portico/http/router.hpp ----
/// Routes plain HTTP requests and WebSocket upgrades (paths outside Engine.IO's) to handlers.
///
///   http::router r;
///   auto car = r.group("/car");
///   car.get("/{id}", [](int id, int limit) { return car_info{id, limit}; },
///           http::path<int>("id"), http::query<int>("limit", 10));
///
/// A handler takes the decoded parameters in order, optionally preceded by `http::request&`,
/// and returns an `http::response`, void (204) or any typed value (200 JSON). The router
/// answers by itself: 404 `{"detail":"Not Found"}`, 405 with Allow, 422 `{"detail":[errors]}`
/// when parameters do not validate, the chosen status when a handler or check throws
/// http_exception, 500 `{"detail":"Internal Server Error"}` when it throws anything else (the
/// message is logged, never sent).
// ---- begin portico/http/static_files.hpp ----
/// Static files, like python-socketio's `static_files`: URL prefix -> file or directory.
/// A directory serves index.html for "prefix/" and "prefix/sub/". Requests that try to leave
/// the mounted directory (`..`, `%2e%2e`, backslashes, empty segments, symlinks pointing out)
/// get 404; NUL bytes get 400. GET and HEAD only; ETag + If-None-Match gives 304.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace portico::http {

/// The Content-Type for a file name, from its extension (application/octet-stream if unknown).
inline std::string content_type_for(std::string_view filename) {
  auto dot = filename.rfind('.');
  std::string ext;
  if (dot != std::string_view::npos)
    for (char c : filename.substr(dot + 1)) ext.push_back(detail::lower_ascii(c));
  struct entry {
    const char* ext;
    const char* type;
  };
  static constexpr entry table[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
      {"map", "application/json"},          {"txt", "text/plain; charset=utf-8"},
      {"md", "text/markdown; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
      {"xml", "application/xml"},           {"svg", "image/svg+xml"},
      {"png", "image/png"},                 {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},               {"gif", "image/gif"},
      {"webp", "image/webp"},               {"avif", "image/avif"},
      {"ico", "image/vnd.microsoft.icon"},  {"woff", "font/woff"},
      {"woff2", "font/woff2"},              {"ttf", "font/ttf"},
      {"otf", "font/otf"},                  {"wasm", "application/wasm"},
      {"pdf", "application/pdf"},           {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},                 {"ogg", "audio/ogg"},
      {"mp4", "video/mp4"},                 {"webm", "video/webm"},
      {"zip", "application/zip"},           {"gz", "application/gzip"},
  };
  for (auto& e : table)
    if (ext == e.ext) return e.type;
  return "application/octet-stream";
}

class static_files {
 public:
  struct mount_point {
    std::string prefix;  ///< URL path, e.g. "/static" or "/"
    std::filesystem::path target;
    std::string content_type;  ///< forced type for a file mount (empty: by extension)
  };

  /// Maps `url` to a file or directory. Longer prefixes win.
  void mount(std::string url, std::filesystem::path target, std::string content_type = {}) {
    if (url.empty() || url.front() != '/') url.insert(url.begin(), '/');
    if (url.size() > 1 && url.back() == '/') url.pop_back();
    mounts_.push_back({std::move(url), std::move(target), std::move(content_type)});
    std::stable_sort(mounts_.begin(), mounts_.end(),
                     [](const mount_point& a, const mount_point& b) { return a.prefix.size() > b.prefix.size(); });
  }
  bool empty() const { return mounts_.empty(); }

  /// The response for `req`, or nullopt when no mount covers its path.
  std::optional<response> serve(const request& req) const {
    const std::string& raw = req.path;
    for (auto& m : mounts_) {
      std::string_view rest;
      if (raw == m.prefix) rest = {};
      else if (m.prefix == "/" && !raw.empty() && raw.front() == '/') rest = std::string_view(raw).substr(1);
      else if (raw.size() > m.prefix.size() && raw.compare(0, m.prefix.size(), m.prefix) == 0 &&
               raw[m.prefix.size()] == '/')
        rest = std::string_view(raw).substr(m.prefix.size() + 1);
      else continue;
      return serve_from(m, raw, rest, req);
    }
    return std::nullopt;
  }

 private:
  static std::optional<response> serve_from(const mount_point& m, const std::string& raw, std::string_view rest,
                                            const request& req) {
    if (req.method != "GET" && req.method != "HEAD") {
      auto r = error(405, "Method Not Allowed");
      r.set_header("Allow", "GET, HEAD");
      return r;
    }
    std::error_code ec;
    std::filesystem::path file;
    if (!std::filesystem::is_directory(m.target, ec)) {
      if (!rest.empty() || (raw.back() == '/' && raw != m.prefix)) return error(404, "Not Found");
      file = m.target;
    } else {
      if (raw.find("%00") != std::string::npos) return error(400, "Bad Request");
      std::string decoded = detail::percent_decode(rest, false);
      if (decoded.find('\0') != std::string::npos) return error(400, "Bad Request");
      if (decoded.find('\\') != std::string::npos) return error(404, "Not Found");
      // Every segment must be a plain name: no "", ".", "..", so nothing absolute or upward.
      std::filesystem::path rel;
      bool dir_request = decoded.empty() || decoded.back() == '/';
      std::string_view d(decoded);
      if (dir_request && !d.empty()) d.remove_suffix(1);
      while (!d.empty()) {
        auto slash = d.find('/');
        std::string_view seg = d.substr(0, slash);
        if (seg.empty() || seg == "." || seg == "..") return error(404, "Not Found");
        rel /= std::string(seg);
        if (slash == std::string_view::npos) break;
        d.remove_prefix(slash + 1);
        if (d.empty()) return error(404, "Not Found");  // "a//": an empty segment
      }
      file = m.target / rel;
      if (dir_request || std::filesystem::is_directory(file, ec)) file /= "index.html";
      // Symlinks inside the directory must not lead out of it.
      auto root = std::filesystem::weakly_canonical(m.target, ec);
      auto real = std::filesystem::weakly_canonical(file, ec);
      if (ec) return error(404, "Not Found");
      auto rs = root.native(), fs = real.native();
      if (fs.size() <= rs.size() || fs.compare(0, rs.size(), rs) != 0 || (rs.back() != '/' && fs[rs.size()] != '/'))
        return error(404, "Not Found");
    }
    if (!std::filesystem::is_regular_file(file, ec)) return error(404, "Not Found");
    auto size = std::filesystem::file_size(file, ec);
    if (ec) return error(404, "Not Found");
    auto mtime = std::filesystem::last_write_time(file, ec);
    char tag[64];
    std::snprintf(tag, sizeof tag, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(mtime.time_since_epoch().count()));
    response r;
    r.set_header("ETag", tag);
    if (const std::string* inm = req.header("if-none-match"); inm && etag_matches(*inm, tag)) {
      r.status = 304;
      return r;
    }
    std::ifstream f(file, std::ios::binary);
    if (!f) return error(404, "Not Found");
    std::ostringstream ss;
    ss << f.rdbuf();
    r.body = ss.str();
    r.set_header("Content-Type", m.content_type.empty() ? content_type_for(file.filename().string()) : m.content_type);
    return r;
  }

  static bool etag_matches(std::string_view list, std::string_view tag) {
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view one = list.substr(0, comma);
      while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
      while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
      if (one.substr(0, 2) == "W/") one.remove_prefix(2);
      if (one == "*" || one == tag) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    return false;
  }

  std::vector<mount_point> mounts_;
};

}  // namespace portico::http
// ---- end portico/http/static_files.hpp ----
// ---- begin portico/http/websocket.hpp ----
/// A plain WebSocket connection on a `ws_route` (not Engine.IO): the handler runs during the
/// handshake, before the 101 answer, so it decides there whether to accept. What it sends
/// before the connection is open is queued and flushed right after the 101.
///
/// Threading: the connection lives on one worker thread. Handlers run there; send() and
/// close() may be called from any thread (they post to that worker when needed).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portico::http {

/// Standard close codes used by ws routes.
namespace close_code {
inline constexpr int normal = 1000;
inline constexpr int going_away = 1001;
inline constexpr int unsupported_data = 1003;
inline constexpr int invalid_payload = 1007;  ///< a text frame that is not UTF-8
inline constexpr int abnormal = 1006;  ///< never sent: reported when the peer vanished
inline constexpr int policy_violation = 1008;
inline constexpr int internal_error = 1011;
}  // namespace close_code

/// A received data frame.
struct ws_message {
  bool binary = false;
  std::string data;
};

class websocket;
using websocket_ptr = std::shared_ptr<websocket>;

namespace detail {

using connection_ptr = portico::engineio::detail::ws_connection_ptr;

/// The open connections of one route, for broadcasts. Shared with its websockets so a
/// connection that outlives its router does not touch freed memory. Weak: the connection
/// (through its handlers) is what keeps a websocket alive.
struct ws_clients {
  std::mutex mu;
  std::unordered_map<const websocket*, std::weak_ptr<websocket>> open;
};

}  // namespace detail

class websocket : public std::enable_shared_from_this<websocket> {
 public:
  using message_handler = std::function<void(websocket&, ws_message&&)>;
  using close_handler = std::function<void(websocket&, int code, const std::string& reason)>;

  /// `max_buffered_bytes`: the most bytes queued for this client and not yet written (0: no
  /// limit); a send past it closes the connection with 1008 (the client does not read).
  websocket(const detail::connection_ptr& con, http::request req, std::shared_ptr<detail::ws_clients> clients,
            portico::logger* log, std::size_t max_buffered_bytes = 0)
      : con_(con),
        executor_(con->get_socket().get_executor()),
        home_(std::this_thread::get_id()),
        req_(std::move(req)),
        clients_(std::move(clients)),
        log_(log),
        max_buffered_(max_buffered_bytes) {}

  /// On a net::host connection: `io` is the connection's I/O thread (the caller's); the handle
  /// arrives with attach() once the upgrade is done.
  websocket(asio::io_context& io, http::request req, std::shared_ptr<detail::ws_clients> clients, portico::logger* log,
            std::size_t max_buffered_bytes = 0)
      : executor_(io.get_executor()),
        home_(std::this_thread::get_id()),
        req_(std::move(req)),
        clients_(std::move(clients)),
        log_(log),
        max_buffered_(max_buffered_bytes) {}

  ~websocket() {
    std::lock_guard<std::mutex> g(clients_->mu);
    clients_->open.erase(this);
  }
  websocket(const websocket&) = delete;
  websocket& operator=(const websocket&) = delete;

  /// The handshake request (path, query, headers, path parameters).
  const http::request& request() const { return req_; }

  /// Accepts the upgrade. Only meaningful inside the route handler / on_connect: a handler
  /// that returns without accepting refuses the upgrade with 403.
  void accept() {
    if (state_ == state::handshake) accepted_ = true;
  }
  bool accepted() const { return accepted_; }
  /// True between the 101 and the close.
  bool is_open() const { return state_ == state::open; }

  void send_text(std::string s) { send(websocketpp::frame::opcode::text, std::move(s)); }
  void send_bytes(std::string s) { send(websocketpp::frame::opcode::binary, std::move(s)); }
  /// A typed value as a JSON text frame.
  template <class T>
  void send_json(const T& v) {
    send_text(portico::json::to_string(v));
  }

  /// Closes with `code` and `reason` (reason cut to the 123 bytes a close frame allows).
  /// Before accept(): refuses the upgrade (403).
  void close(int code = close_code::normal, std::string reason = {}) {
    if (reason.size() > 123) reason.resize(123);
    run_here([self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->close_here(code, std::move(reason));
    });
  }

  /// Every data frame. Set it in the handler (or later, on the connection's thread).
  void on_message(message_handler f) { on_message_ = std::move(f); }
  /// Text frames only: a binary frame closes with 1003 (as Starlette's receive_text fails).
  void on_text(std::function<void(websocket&, std::string&&)> f) {
    on_message_ = [f = std::move(f)](websocket& ws, ws_message&& m) {
      if (m.binary) ws.close(close_code::unsupported_data, "Expected text websocket messages, but got bytes");
      else f(ws, std::move(m.data));
    };
  }
  /// Called once when the connection ends (1006 when the peer vanished without a close frame).
  void on_close(close_handler f) { on_close_ = std::move(f); }

  /// Arbitrary per-connection data for the application.
  std::shared_ptr<void> user_data;

  // ---- driven by the router (on the connection's thread) ----

  /// net::host: the connection's handle, before opened().
  void attach(const net::websocket& ws) { net_ = ws; }

  /// After the 101: registers the connection for broadcasts and flushes queued frames.
  void opened() {
    state_ = state::open;
    {
      std::lock_guard<std::mutex> g(clients_->mu);
      clients_->open[this] = shared_from_this();
    }
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [op, data] : pending) send_here(op, std::move(data));
    if (pending_close_) close_here(pending_close_->first, std::move(pending_close_->second));
  }

  void received(ws_message&& m) {
    if (state_ != state::open || !on_message_) return;
    if (!portico::detail::run_user_code(log_, [&] { return "ws handler on " + req_.path; },
                                        [&] { on_message_(*this, std::move(m)); }))
      close_here(close_code::internal_error, "");
  }

  void ended(int code, std::string reason) {
    if (state_ == state::closed) return;
    // Our own close reports our code, also when the peer never answered it (websocketpp then
    // says 1006): a client that does not read never answers a 1008 "send buffer full".
    if (state_ == state::closing && local_close_) {
      code = local_close_->first;
      reason = std::move(local_close_->second);
    }
    state_ = state::closed;
    {
      std::lock_guard<std::mutex> g(clients_->mu);
      clients_->open.erase(this);
    }
    if (on_close_)
      portico::detail::run_user_code(log_, [&] { return "ws close handler on " + req_.path; },
                                     [&] { on_close_(*this, code, reason); });
    on_message_ = nullptr;
    on_close_ = nullptr;  // may hold references back to this websocket
    net_ = net::websocket();
  }

  /// True once this side started the closing handshake.
  bool closing() const { return state_ == state::closing; }
  /// True when close() was called before accepting (the router then refuses the upgrade).
  bool refused() const { return refused_; }

 private:
  enum class state { handshake, open, closing, closed };

  template <class F>
  void run_here(F&& f) {
    if (std::this_thread::get_id() == home_) f();
    else asio::post(executor_, std::forward<F>(f));
  }

  void send(websocketpp::frame::opcode::value op, std::string s) {
    run_here([self = shared_from_this(), op, s = std::move(s)]() mutable { self->send_here(op, std::move(s)); });
  }

  void send_here(websocketpp::frame::opcode::value op, std::string s) {
    if (state_ == state::handshake) {
      if (accepted_) pending_.emplace_back(op, std::move(s));
      return;
    }
    if (state_ != state::open) return;
    if (net_) return send_net(op, std::move(s));
    auto con = con_.lock();
    if (!con) return;
    if (max_buffered_) {  // a first message always fits
      std::size_t queued = con->get_buffered_amount();
      if (queued && queued + s.size() > max_buffered_) {
        if (log_)
          log_->warn("ws " + req_.path + " from " + req_.remote_address + ": send buffer full (over " +
                     std::to_string(max_buffered_) + " bytes queued), closing with 1008");
        return close_here(close_code::policy_violation, "send buffer full");
      }
    }
    // websocketpp validates outgoing text and refuses invalid UTF-8 (browsers would close):
    // repair it then, so the valid path costs nothing more.
    auto ec = con->send(s, op);
    if (ec == websocketpp::processor::error::invalid_payload && op == websocketpp::frame::opcode::text) {
      if (log_) log_->warn("ws " + req_.path + ": sent text was not UTF-8, invalid bytes replaced by U+FFFD");
      portico::detail::utf8_repair(s);
      con->send(s, op);
    }
    // any other error means the connection is already closing
  }

  void send_net(websocketpp::frame::opcode::value op, std::string s) {
    if (max_buffered_) {  // a first message always fits
      std::size_t queued = net_.buffered_amount();
      if (queued && queued + s.size() > max_buffered_) {
        if (log_)
          log_->warn("ws " + req_.path + " from " + req_.remote_address + ": send buffer full (over " +
                     std::to_string(max_buffered_) + " bytes queued), closing with 1008");
        return close_here(close_code::policy_violation, "send buffer full");
      }
    }
    const bool binary = op == websocketpp::frame::opcode::binary;
    // Browsers close on invalid UTF-8 in a text frame: repair it (the host frames as given).
    if (!binary && portico::detail::utf8_repair(s) && log_)
      log_->warn("ws " + req_.path + ": sent text was not UTF-8, invalid bytes replaced by U+FFFD");
    net_.send(s, binary);
  }

  void close_here(int code, std::string reason) {
    if (state_ == state::handshake) {
      if (!accepted_) refused_ = true;
      else if (!pending_close_) pending_close_.emplace(code, std::move(reason));
      return;
    }
    if (state_ != state::open) return;
    state_ = state::closing;
    if (net_) {
      local_close_.emplace(code, reason);
      return net_.close(static_cast<std::uint16_t>(code), reason);
    }
    auto con = con_.lock();
    if (!con) return;
    local_close_.emplace(code, reason);
    websocketpp::lib::error_code ec;
    con->close(static_cast<websocketpp::close::status::value>(code), reason, ec);
  }

  std::weak_ptr<detail::connection_ptr::element_type> con_;  ///< weak: the connection owns us
  net::websocket net_;  ///< or a net::host connection (reset when it ends: it holds the connection)
  asio::ip::tcp::socket::executor_type executor_;
  std::thread::id home_;
  http::request req_;
  std::shared_ptr<detail::ws_clients> clients_;
  portico::logger* log_;
  std::size_t max_buffered_;
  std::atomic<state> state_{state::handshake};  ///< written on the home thread, read anywhere
  bool accepted_ = false, refused_ = false;
  std::vector<std::pair<websocketpp::frame::opcode::value, std::string>> pending_;
  std::optional<std::pair<int, std::string>> pending_close_;
  std::optional<std::pair<int, std::string>> local_close_;  ///< what close_here sent
  message_handler on_message_;
  close_handler on_close_;
};

/// The message format of an event-mode route (Ellar's `encoding`).
enum class ws_encoding { text, json, bytes };

/// Event mode (Ellar's `use_extra_handler=True`): the route decodes each frame into `Body`.
/// - text: text frames only; Body is std::string or anything a query parameter can be.
/// - json: text or binary frames holding JSON, decoded through the typed mapping.
/// - bytes: binary frames only; Body is std::string.
/// Wrong frame type -> close 1003; malformed JSON -> close 1003 "Malformed JSON data received.";
/// a Body that does not validate -> `{"code":1008,"errors":[...]}` then close 1008.
/// `Params` are the value types of the route's handshake parameters (`http::query<T>`, path,
/// header), in order: on_connect receives them decoded, as a plain ws handler does.
template <class Body, class... Params>
struct ws_events {
  ws_encoding encoding = ws_encoding::text;
  /// Default: accept. Not calling ws.accept() refuses the upgrade (403).
  std::function<void(websocket&, Params...)> on_connect;
  std::function<void(websocket&, Body&&)> on_message;
  /// The close code the client sent (1006 if it vanished).
  std::function<void(websocket&, int code)> on_disconnect;
};

/// Broadcast access to the clients of one route.
class ws_route_clients {
 public:
  explicit ws_route_clients(std::shared_ptr<detail::ws_clients> c) : c_(std::move(c)) {}
  std::vector<websocket_ptr> clients() const {
    std::lock_guard<std::mutex> g(c_->mu);
    std::vector<websocket_ptr> out;
    out.reserve(c_->open.size());
    for (auto& [k, v] : c_->open)
      if (auto ws = v.lock()) out.push_back(std::move(ws));
    return out;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(c_->mu);
    return c_->open.size();
  }
  void broadcast_text(const std::string& s) const {
    for (auto& ws : clients()) ws->send_text(s);
  }
  void broadcast_bytes(const std::string& s) const {
    for (auto& ws : clients()) ws->send_bytes(s);
  }
  template <class T>
  void broadcast_json(const T& v) const {
    broadcast_text(portico::json::to_string(v));
  }

 protected:
  std::shared_ptr<detail::ws_clients> c_;
};

}  // namespace portico::http
// ---- end portico/http/websocket.hpp ----

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace portico::http {

/// A check run before a route's handler (and before a WebSocket's 101): nullopt lets the
/// request through, a response refuses it with that response. Guards of the framework layer
/// plug in here.
using check_fn = std::function<std::optional<response>(const request&)>;

/// A check that refuses with 403 `{"detail":"Forbidden"}` when `allow` returns false.
inline check_fn guard(std::function<bool(const request&)> allow) {
  return [allow = std::move(allow)](const request& r) -> std::optional<response> {
    if (allow(r)) return std::nullopt;
    return error(403, "Forbidden");
  };
}

namespace detail {

struct segment {
  std::string text;
  bool param = false;
};

inline std::vector<segment> compile_pattern(std::string_view p) {
  std::vector<segment> out;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  while (!p.empty()) {
    auto slash = p.find('/');
    std::string_view s = p.substr(0, slash);
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') out.push_back({std::string(s.substr(1, s.size() - 2)), true});
    else out.push_back({std::string(s), false});
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

/// Raw path segments ("/a/b/" -> a, b). A trailing slash is not significant for routes.
inline std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (!p.empty() && p.back() == '/') p.remove_suffix(1);
  while (!p.empty()) {
    auto slash = p.find('/');
    out.push_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

inline bool match(const std::vector<segment>& pattern, const std::vector<std::string_view>& path, header_list* params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < path.size(); ++i)
    if (!pattern[i].param && pattern[i].text != path[i]) return false;
  if (params) {
    params->clear();
    for (std::size_t i = 0; i < path.size(); ++i)
      if (pattern[i].param) params->emplace_back(pattern[i].text, percent_decode(path[i], false));
  }
  return true;
}

/// Same length patterns: true when `a` has a literal where `b` first has a parameter.
inline bool more_specific(const std::vector<segment>& a, const std::vector<segment>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (a[i].param != b[i].param) return !a[i].param;
  return false;
}

template <class R>
response to_response(R&& r) {
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, response>) return std::forward<R>(r);
  else return http::json(r);
}

/// Wraps a typed handler into `response(request&)`.
template <class F, class... P>
std::function<response(request&)> typed_handler(F f, P... params) {
  return [f = std::move(f), ps = std::make_tuple(std::move(params)...)](request& req) mutable -> response {
    std::tuple<typename P::type...> values;
    portico::json::error_list errs;
    if (!extract_all(req, ps, values, errs, std::index_sequence_for<P...>{})) return validation_error(errs);
    return std::apply(
        [&](auto&... v) -> response {
          if constexpr (std::is_invocable_v<F&, request&, typename P::type&&...>) {
            using R = std::invoke_result_t<F&, request&, typename P::type&&...>;
            if constexpr (std::is_void_v<R>) {
              f(req, std::move(v)...);
              return response{204, {}, {}};
            } else return to_response(f(req, std::move(v)...));
          } else {
            static_assert(std::is_invocable_v<F&, typename P::type&&...>,
                          "portico::http: the handler must take the declared parameters in order "
                          "(optionally preceded by http::request&)");
            using R = std::invoke_result_t<F&, typename P::type&&...>;
            if constexpr (std::is_void_v<R>) {
              f(std::move(v)...);
              return response{204, {}, {}};
            } else return to_response(f(std::move(v)...));
          }
        },
        values);
  };
}

/// The conversation handler of a ws route, after parameters were decoded.
using ws_start = std::function<void(const websocket_ptr&)>;

/// Decodes the handshake parameters and runs the conversation handler; a response when the
/// parameters do not validate (the upgrade is then refused with 403 and the error list).
using ws_handler = std::function<std::optional<response>(request&, const websocket_ptr&)>;

template <class F, class... P>
ws_handler typed_ws_handler(F f, P... params) {
  return [f = std::move(f), ps = std::make_tuple(std::move(params)...)](
             request& req, const websocket_ptr& ws) mutable -> std::optional<response> {
    std::tuple<typename P::type...> values;
    portico::json::error_list errs;
    if (!extract_all(req, ps, values, errs, std::index_sequence_for<P...>{})) {
      auto r = validation_error(errs);
      r.status = 403;  // a handshake is refused, not "unprocessable"
      return r;
    }
    static_assert(std::is_invocable_v<F&, const websocket_ptr&, typename P::type&&...>,
                  "portico::http: a ws handler takes (const http::websocket_ptr&, parameters...)");
    std::apply([&](auto&... v) { f(ws, std::move(v)...); }, values);
    return std::nullopt;
  };
}

/// Decodes one event-mode frame into Body; false when the connection was closed instead.
template <class Body>
bool decode_ws_body(websocket& ws, ws_encoding enc, ws_message& m, Body& out) {
  portico::json::error_list errs;
  auto invalid = [&] {
    ws.send_text("{\"code\":1008,\"errors\":" + portico::json::to_string(errs) + "}");
    ws.close(close_code::policy_violation, "");
    return false;
  };
  if (enc != ws_encoding::json) {
    const bool want_binary = enc == ws_encoding::bytes;
    if (m.binary != want_binary) {
      ws.close(close_code::unsupported_data, want_binary ? "Expected bytes websocket messages, but got text"
                                                         : "Expected text websocket messages, but got bytes");
      return false;
    }
    if constexpr (std::is_same_v<Body, std::string>) {
      out = std::move(m.data);
      return true;
    } else if constexpr (std::is_same_v<Body, portico::json::binary>) {
      out = portico::json::binary{std::move(m.data)};
      return true;
    } else if constexpr (is_text_value<Body>::value) {
      portico::json::error_list::scope at(errs, "body");
      return from_text(m.data, out, errs) || invalid();
    }
    // Other bodies: the frame's text is JSON, as with the json encoding.
  }
  portico::json::document doc;
  if (!portico::json::parse(m.data, doc)) {
    ws.close(close_code::unsupported_data, "Malformed JSON data received.");
    return false;
  }
  portico::json::error_list::scope at(errs, "body");
  return portico::json::decode(doc, out, errs) || invalid();
}

}  // namespace detail

/// The answer channel of a deferred (asynchronous) route: call send() once, from any thread,
/// while the server runs. Copies share one answer; when the last copy is dropped without an
/// answer the client gets 500, so a forgotten path cannot hang the connection.
class responder {
 public:
  responder() = default;
  explicit responder(std::function<void(response)> deliver) : s_(std::make_shared<state>()) {
    s_->deliver = std::move(deliver);
  }
  /// Sends `r`; later calls are ignored.
  void send(response r) const {
    if (s_ && !s_->sent.exchange(true)) s_->deliver(std::move(r));
  }
  bool sent() const { return s_ && s_->sent.load(); }

 private:
  struct state {
    std::function<void(response)> deliver;
    std::atomic<bool> sent{false};
    ~state() {
      if (!sent.exchange(true) && deliver) deliver(error(500, "Internal Server Error"));
    }
  };
  std::shared_ptr<state> s_;
};

namespace detail {

template <class F, class... P>
std::function<void(request&, responder)> typed_async_handler(F f, P... params) {
  return [f = std::move(f), ps = std::make_tuple(std::move(params)...)](request& req, responder rsp) mutable {
    std::tuple<typename P::type...> values;
    portico::json::error_list errs;
    if (!extract_all(req, ps, values, errs, std::index_sequence_for<P...>{})) return rsp.send(validation_error(errs));
    static_assert(std::is_invocable_v<F&, responder, typename P::type&&...>,
                  "portico::http: a deferred handler takes (http::responder, parameters...)");
    std::apply([&](auto&... v) { f(std::move(rsp), std::move(v)...); }, values);
  };
}

}  // namespace detail

/// One HTTP route.
struct route {
  std::string method, pattern;
  std::vector<detail::segment> segments;
  std::function<response(request&)> handler;
  std::function<void(request&, responder)> deferred;  ///< set instead of `handler`
  std::vector<check_fn> checks;

  /// Adds a check (guard) run before the handler.
  route& check(check_fn c) {
    checks.push_back(std::move(c));
    return *this;
  }
};

/// One WebSocket route; also the broadcast handle for its clients.
class ws_route : public ws_route_clients {
 public:
  ws_route(std::string pattern, detail::ws_handler h)
      : ws_route_clients(std::make_shared<detail::ws_clients>()),
        pattern_(std::move(pattern)),
        segments_(detail::compile_pattern(pattern_)),
        handler_(std::move(h)) {}

  /// Adds a handshake check (guard): a refusal answers the upgrade before the 101.
  ws_route& check(check_fn c) {
    checks_.push_back(std::move(c));
    return *this;
  }
  const std::string& pattern() const { return pattern_; }

 private:
  friend class router;
  std::string pattern_;
  std::vector<detail::segment> segments_;
  detail::ws_handler handler_;
  std::vector<check_fn> checks_;
};

class router;

/// Routes sharing a path prefix (a controller's).
template <class Owner>
class route_builder {
 public:
  template <class F, class... P>
  route& get(std::string pattern, F f, P... params) {
    return add("GET", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& post(std::string pattern, F f, P... params) {
    return add("POST", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& put(std::string pattern, F f, P... params) {
    return add("PUT", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& patch(std::string pattern, F f, P... params) {
    return add("PATCH", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& del(std::string pattern, F f, P... params) {
    return add("DELETE", std::move(pattern), std::move(f), std::move(params)...);
  }
  /// Any method name (e.g. "OPTIONS").
  template <class F, class... P>
  route& add(std::string method, std::string pattern, F f, P... params) {
    return self().add_route(std::move(method), prefix() + pattern, detail::typed_handler(std::move(f), std::move(params)...));
  }

  /// A deferred route: `f(http::responder, params...)` answers later with responder.send(),
  /// from any thread (e.g. after asynchronous work). Checks and parameters work as usual.
  template <class F, class... P>
  route& add_deferred(std::string method, std::string pattern, F f, P... params) {
    auto& r = self().add_route(std::move(method), prefix() + pattern, nullptr);
    r.deferred = detail::typed_async_handler(std::move(f), std::move(params)...);
    return r;
  }
  template <class F, class... P>
  route& get_deferred(std::string pattern, F f, P... params) {
    return add_deferred("GET", std::move(pattern), std::move(f), std::move(params)...);
  }
  template <class F, class... P>
  route& post_deferred(std::string pattern, F f, P... params) {
    return add_deferred("POST", std::move(pattern), std::move(f), std::move(params)...);
  }

  /// Plain mode: `f(const websocket_ptr&, params...)` runs during the handshake; it must call
  /// ws->accept() (else 403), may send (queued until the 101) and sets ws->on_message/on_close.
  template <class F, class... P>
  ws_route& ws(std::string pattern, F f, P... params) {
    return self().add_ws_route(prefix() + pattern, detail::typed_ws_handler(std::move(f), std::move(params)...));
  }

  /// Event mode: see ws_events. `params` are validated at the handshake (403 with the error list
  /// when they fail, before on_connect); `ws_events<Body, T...>` receives their values in
  /// on_connect, `ws_events<Body>` may read them with http::param_value(ws.request(), ...).
  template <class Body, class... A, class... P>
  ws_route& ws(std::string pattern, ws_events<Body, A...> events, P... params) {
    static_assert(sizeof...(A) == 0 || std::is_same_v<std::tuple<A...>, std::tuple<typename P::type...>>,
                  "portico::http: ws_events<Body, T...> takes the value types of the route's parameters, in order");
    auto ev = std::make_shared<ws_events<Body, A...>>(std::move(events));
    auto start = [ev](const websocket_ptr& ws, typename P::type&&... v) {
      if (!ev->on_connect) ws->accept();
      else if constexpr (sizeof...(A) == 0) ev->on_connect(*ws);
      else ev->on_connect(*ws, std::move(v)...);
      ws->on_message([ev](websocket& w, ws_message&& m) {
        Body body{};
        if (!detail::decode_ws_body(w, ev->encoding, m, body)) return;
        if (ev->on_message) ev->on_message(w, std::move(body));
      });
      ws->on_close([ev](websocket& w, int code, const std::string&) {
        if (ev->on_disconnect) ev->on_disconnect(w, code);
      });
    };
    return ws(std::move(pattern), std::move(start), std::move(params)...);
  }

 private:
  Owner& self() { return static_cast<Owner&>(*this); }
  std::string prefix() { return self().prefix_; }
};

/// A prefix group of a router (Ellar's @Controller('/car')).
class route_group : public route_builder<route_group> {
 public:
  route_group(router& r, std::string prefix) : router_(&r), prefix_(std::move(prefix)) {}
  route_group group(const std::string& sub) { return route_group(*router_, prefix_ + sub); }

 private:
  friend class route_builder<route_group>;
  route& add_route(std::string method, std::string pattern, std::function<response(request&)> h);
  ws_route& add_ws_route(std::string pattern, detail::ws_handler h);
  router* router_;
  std::string prefix_;
};

class router : public route_builder<router> {
 public:
  router() : log_(std::make_shared<portico::logger>("portico.http")) {}

  /// Routes under `prefix` ("/car").
  route_group group(std::string prefix) { return route_group(*this, std::move(prefix)); }

  /// Serves a file or a directory under a URL prefix (after routes did not match).
  router& static_files(std::string url, std::filesystem::path target, std::string content_type = {}) {
    statics_.mount(std::move(url), std::move(target), std::move(content_type));
    return *this;
  }

  portico::logger& log() { return *log_; }
  /// The send-queue limit of each ws route client (websocket.hpp); http::serve() sets the
  /// engine's `max_buffered_bytes`.
  void set_max_buffered_bytes(std::size_t n) { max_buffered_bytes_ = n; }

  /// The answer to `req` (routes, then static files, then 404/405). A deferred route gets a
  /// responder from `defer` and the result is nullopt (then the responder answers).
  std::optional<response> dispatch(request& req, const std::function<responder()>& defer) {
    auto segs = detail::split_path(req.path);
    std::string allow;
    const bool head = req.method == "HEAD";
    route* best = nullptr;
    for (auto& r : routes_) {
      if (!detail::match(r->segments, segs, nullptr)) continue;
      if (r->method != req.method && !(head && r->method == "GET")) {
        if (allow.find(r->method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r->method;
        if (r->method == "GET" && allow.find("HEAD") == std::string::npos) allow += ", HEAD";
        continue;
      }
      // "/car/flags" beats "/car/{id}": the first literal segment decides; ties keep the
      // route registered first.
      if (!best || detail::more_specific(r->segments, best->segments)) best = r.get();
    }
    if (best) {
      route& r = *best;
      detail::match(r.segments, segs, &req.path_params);
      try {
        for (auto& c : r.checks)
          if (auto refused = c(req)) return std::move(*refused);
        if (!r.deferred) return r.handler(req);
        responder rsp = defer();  // from here on, only `rsp` may answer
        try {
          r.deferred(req, rsp);
        } catch (const http_exception& e) {
          rsp.send(e.to_response());
        } catch (...) {
          portico::detail::log_user_code_exception(log_.get(), [&] { return "handler " + r.method + " " + r.pattern; });
          rsp.send(error(500, "Internal Server Error"));
        }
        return std::nullopt;
      } catch (const http_exception& e) {
        return e.to_response();
      } catch (...) {
        portico::detail::log_user_code_exception(log_.get(), [&] { return "handler " + r.method + " " + r.pattern; });
      }
      return error(500, "Internal Server Error");
    }
    if (!allow.empty()) {
      auto r = error(405, "Method Not Allowed");
      r.set_header("Allow", allow);
      return r;
    }
    if (auto r = statics_.serve(req)) return std::move(*r);
    return error(404, "Not Found");
  }

  /// The answer to `req` without a connection (a deferred route must answer synchronously
  /// here, else 500).
  response handle(request& req) {
    auto slot = std::make_shared<std::optional<response>>();
    auto res = dispatch(req, [slot] { return responder([slot](response r) { *slot = std::move(r); }); });
    if (res) return std::move(*res);
    if (*slot) return std::move(**slot);
    return error(500, "Internal Server Error");
  }

  /// Closes every open WebSocket of every ws route. Any thread. http::serve() makes the
  /// engine's stop() call it (1001 "server shutting down").
  void close_websockets(int code = close_code::going_away, const std::string& reason = "server shutting down") {
    for (auto& r : ws_routes_)
      for (auto& ws : r->clients()) ws->close(code, reason);
  }

  /// Open WebSockets over all ws routes.
  std::size_t websocket_count() const {
    std::size_t n = 0;
    for (auto& r : ws_routes_) n += r->size();
    return n;
  }

  /// The ws route for `path`, or nullptr.
  ws_route* find_ws(const std::string& path, header_list* params) {
    auto segs = detail::split_path(path);
    for (auto& r : ws_routes_)
      if (detail::match(r->segments_, segs, params)) return r.get();
    return nullptr;
  }

  // ---- websocketpp glue (runs on the connection's worker thread) ----

  /// Answers a plain HTTP request on `con` (always handles it: unknown paths get 404).
  bool handle_http(const detail::connection_ptr& con) {
    request req = request_of(con);
    const bool head = req.method == "HEAD";
    auto res = dispatch(req, [&con, head] {
      con->defer_http_response();
      // Strong: while deferred, nothing else keeps the connection alive.
      auto executor = con->get_socket().get_executor();
      return responder([con, executor, head](response r) {
        asio::post(executor, [con, head, r = std::move(r)] {
          write(con, r, head);
          websocketpp::lib::error_code ec;
          con->send_http_response(ec);
        });
      });
    });
    if (res) write(con, *res, head);
    return true;
  }

  /// Decides a WebSocket upgrade on `con` (websocketpp's validate handler): false refuses it
  /// with the status set on `con`. On acceptance the connection's handlers are set here.
  bool handle_upgrade(const detail::connection_ptr& con) {
    request req = request_of(con);
    ws_route* r = find_ws(req.path, &req.path_params);  // first match
    if (!r) {
      write(con, error(404, "Not Found"), false);
      return false;
    }
    try {
      for (auto& c : r->checks_)
        if (auto refused = c(req)) {
          write(con, *refused, false);
          return false;
        }
      auto ws = std::make_shared<websocket>(con, req, r->c_, log_.get(), max_buffered_bytes_);
      if (auto refused = r->handler_(req, ws)) {
        log_->info("ws " + req.path + " refused: invalid handshake parameters");
        write(con, *refused, false);
        return false;
      }
      if (!ws->accepted() || ws->refused()) {
        write(con, error(403, "Forbidden"), false);
        return false;
      }
      auto log = log_;  // connections may outlive the router's logger otherwise
      con->set_open_handler([ws, log](websocketpp::connection_hdl) { ws->opened(); });
      con->set_message_handler([ws](websocketpp::connection_hdl, portico::engineio::detail::ws_message_ptr msg) {
        ws->received(ws_message{msg->get_opcode() == websocketpp::frame::opcode::binary, std::move(msg->get_raw_payload())});
      });
      std::weak_ptr<detail::connection_ptr::element_type> weak = con;
      con->set_close_handler([ws, weak, log](websocketpp::connection_hdl) {
        int code = close_code::abnormal;
        std::string reason;
        if (auto c = weak.lock()) {
          if (!ws->closing() && c->get_local_close_code() == websocketpp::close::status::invalid_payload) {
            // websocketpp refused a text frame that is not UTF-8 and closed with 1007
            log->warn("ws " + ws->request().path + ": text frame is not UTF-8, closed with 1007");
            ws->ended(close_code::invalid_payload, c->get_local_close_reason());
            return;
          }
          // Our own close reports our code; the peer's close reports the peer's code.
          code = ws->closing() ? c->get_local_close_code() : c->get_remote_close_code();
          reason = ws->closing() ? c->get_local_close_reason() : c->get_remote_close_reason();
          if (code == websocketpp::close::status::no_status) code = close_code::normal;
        }
        ws->ended(code, reason);
      });
      con->set_fail_handler([ws](websocketpp::connection_hdl) { ws->ended(close_code::abnormal, ""); });
      return true;
    } catch (const http_exception& e) {
      write(con, e.to_response(), false);
      return false;
    } catch (...) {
      portico::detail::log_user_code_exception(log_.get(), [&] { return "ws handler " + r->pattern(); });
    }
    write(con, error(500, "Internal Server Error"), false);
    return false;
  }

  // ---- net::host glue (runs on the connection's I/O thread) ----

  /// Answers a plain HTTP request of a net::host (always: unknown paths get 404). HEAD bodies,
  /// Content-Length and keep-alive are the host's.
  void handle_request(net::request&& nr, net::response res) {
    request req = request_of(nr);
    auto out = std::make_shared<net::response>(std::move(res));  // responder's function is copyable
    auto now = dispatch(req, [out] { return responder([out](response r) { write(*out, r); }); });
    if (now) write(*out, *now);
  }

  /// Decides a WebSocket upgrade of a net::host: a handler for the connection, or the refusal.
  net::upgrade handle_upgrade(const net::request& nr) {
    request req = request_of(nr);
    ws_route* r = find_ws(req.path, &req.path_params);  // first match
    auto refuse = [](const response& res) { return net::upgrade::refuse(res.status, res.body); };
    if (!r) return refuse(error(404, "Not Found"));
    try {
      for (auto& c : r->checks_)
        if (auto refused = c(req)) return refuse(*refused);
      auto ws = std::make_shared<websocket>(*nr.io_context(), req, r->c_, log_.get(), max_buffered_bytes_);
      if (auto refused = r->handler_(req, ws)) {
        log_->info("ws " + req.path + " refused: invalid handshake parameters");
        return refuse(*refused);
      }
      if (!ws->accepted() || ws->refused()) return refuse(error(403, "Forbidden"));
      return net::upgrade::to(std::make_shared<host_ws>(std::move(ws), log_));
    } catch (const http_exception& e) {
      return refuse(e.to_response());
    } catch (...) {
      portico::detail::log_user_code_exception(log_.get(), [&] { return "ws handler " + r->pattern(); });
    }
    return refuse(error(500, "Internal Server Error"));
  }

  /// The router as a handler to mount on a net::host (usually at "/"). `r` outlives the host's run.
  static std::shared_ptr<net::handler> handler(router& r) {
    return std::make_shared<net::function_handler>(
        [&r](net::request req, net::response res) { r.handle_request(std::move(req), std::move(res)); },
        [&r](const net::request& req) { return r.handle_upgrade(req); });
  }

  static request request_of(const net::request& nr) {
    request req;
    req.method = std::string(nr.method());
    req.set_target(std::string(nr.target()));
    req.headers.reserve(nr.header_count());
    for (std::size_t i = 0; i < nr.header_count(); ++i) {
      auto [k, v] = nr.header_at(i);
      std::string name(k);
      for (auto& c : name) c = detail::lower_ascii(c);
      req.headers.emplace_back(std::move(name), std::string(v));
    }
    req.body = nr.body();
    asio::error_code ec;
    const auto& ep = nr.remote_endpoint();
    req.remote_address = ep.address().to_string(ec) + ":" + std::to_string(ep.port());
    return req;
  }

  static void write(net::response& res, const response& r) {
    res.status(r.status);
    for (auto& [k, v] : r.headers)
      if (!detail::iequals(k, "content-length") && !detail::iequals(k, "connection")) res.header(k, v);
    res.send(r.body);
  }

  static request request_of(const detail::connection_ptr& con) {
    request req;
    const auto& hr = con->get_request();
    req.method = hr.get_method();
    req.set_target(con->get_resource());
    for (auto& [k, v] : hr.get_headers()) {
      std::string name = k;
      for (auto& c : name) c = detail::lower_ascii(c);
      req.headers.emplace_back(std::move(name), v);
    }
    req.body = hr.get_body();
    req.remote_address = con->get_remote_endpoint();
    return req;
  }

  static void write(const detail::connection_ptr& con, const response& r, bool head) {
    con->set_status(static_cast<websocketpp::http::status_code::value>(r.status), reason_phrase(r.status));
    for (auto& [k, v] : r.headers) con->replace_header(k, v);
    const bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
    if (head || no_body) {
      con->set_body("");
      if (!no_body) con->replace_header("Content-Length", std::to_string(r.body.size()));
    } else {
      con->set_body(r.body);
    }
  }

 private:
  friend class route_builder<router>;
  friend class route_group;
  route& add_route(std::string method, std::string pattern, std::function<response(request&)> h) {
    auto r = std::make_unique<route>();
    r->method = std::move(method);
    r->segments = detail::compile_pattern(pattern);
    r->pattern = std::move(pattern);
    r->handler = std::move(h);
    routes_.push_back(std::move(r));
    return *routes_.back();
  }
  ws_route& add_ws_route(std::string pattern, detail::ws_handler h) {
    ws_routes_.push_back(std::make_unique<ws_route>(std::move(pattern), std::move(h)));
    return *ws_routes_.back();
  }

  /// A ws route's connection on a net::host: the host's events drive the http::websocket.
  class host_ws final : public net::websocket_handler {
   public:
    host_ws(websocket_ptr ws, std::shared_ptr<portico::logger> log) : ws_(std::move(ws)), log_(std::move(log)) {}
    void on_open(const net::websocket& h) override {
      ws_->attach(h);
      ws_->opened();
    }
    void on_message(const net::websocket&, std::string& payload, bool binary) override {
      ws_->received(ws_message{binary, std::move(payload)});
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
      if (!ws_->closing() && code == close_code::invalid_payload)
        log_->warn("ws " + ws_->request().path + ": text frame is not UTF-8, closed with 1007");
      ws_->ended(code == 1005 ? close_code::normal : code, std::string(reason));
    }

   private:
    websocket_ptr ws_;
    std::shared_ptr<portico::logger> log_;
  };

  std::string prefix_;
  std::shared_ptr<portico::logger> log_;
  std::size_t max_buffered_bytes_ = 0;
  std::vector<std::unique_ptr<route>> routes_;
  std::vector<std::unique_ptr<ws_route>> ws_routes_;
  http::static_files statics_;
};

inline route& route_group::add_route(std::string method, std::string pattern, std::function<response(request&)> h) {
  return router_->add_route(std::move(method), std::move(pattern), std::move(h));
}
inline ws_route& route_group::add_ws_route(std::string pattern,
                                           detail::ws_handler h) {
  return router_->add_ws_route(std::move(pattern), std::move(h));
}

}  // namespace portico::http
// ---- end portico/http/router.hpp ----
// ---- begin portico/http/templates.hpp ----
/// HTML templates: a small, documented subset of Mustache, written here (no engine dependency).
///
///   {{name}}          value, HTML-escaped (& < > " ')
///   {{{name}}}        value, raw          ({{& name}} too)
///   {{a.b}}           dotted lookup; {{.}} is the current item of a section
///   {{#name}}..{{/name}}  section: repeated per array item, entered for an object, shown once
///                     for any other truthy value (not null/false/empty array)
///   {{^name}}..{{/name}}  inverted section: shown when the value is falsy or missing
///   {{json name}}     value as a JavaScript literal (JSON) for a <script> block: quotes
///                     included, `< > &` U+2028 U+2029 as \u escapes, missing -> null
///   {{! comment}}     dropped
/// Missing names render as empty text. A malformed template throws std::runtime_error.

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace portico::http {

inline std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

/// JSON text made safe inside an HTML <script> element: `<`, `>` and `&` (which could end the
/// script, "</script>", or open a comment) and U+2028/U+2029 (line breaks to older JavaScript)
/// become \u escapes. They occur only inside JSON strings, where the escape means the same.
inline std::string script_safe_json(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size() + 16);
  for (std::size_t i = 0; i < json_text.size(); ++i) {
    char c = json_text[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < json_text.size() && json_text[i + 1] == '\x80' &&
             (json_text[i + 2] == '\xA8' || json_text[i + 2] == '\xA9')) {
      out += json_text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

/// `v` as a JavaScript literal for a <script> element (what `{{json name}}` renders).
inline std::string script_literal(const portico::json::value& v) { return script_safe_json(portico::json::stringify(v)); }

namespace detail {

using json_value = portico::json::value;

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

inline const json_value* member(const json_value& v, std::string_view key) {
  if (!v.IsObject()) return nullptr;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) return &it->value;
  return nullptr;
}

/// Mustache lookup: the first name is searched from the innermost context outwards.
inline const json_value* lookup(const std::vector<const json_value*>& stack, std::string_view name) {
  if (name == ".") return stack.back();
  auto dot = name.find('.');
  std::string_view first = name.substr(0, dot);
  const json_value* v = nullptr;
  for (auto it = stack.rbegin(); it != stack.rend() && !v; ++it) v = member(**it, first);
  while (v && dot != std::string_view::npos) {
    name.remove_prefix(dot + 1);
    dot = name.find('.');
    v = member(*v, name.substr(0, dot));
  }
  return v;
}

inline bool truthy(const json_value* v) {
  if (!v || v->IsNull()) return false;
  if (v->IsBool()) return v->GetBool();
  if (v->IsArray()) return !v->Empty();
  return true;
}

inline std::string as_text(const json_value* v) {
  if (!v || v->IsNull()) return {};
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  return portico::json::stringify(*v);
}

/// Renders tmpl[pos, end) into out; returns where it stopped (at `end` or at a closing tag
/// named `closing`).
inline std::size_t render_range(std::string_view tmpl, std::size_t pos, std::string_view closing,
                                std::vector<const json_value*>& stack, std::string* out, int depth) {
  if (depth > 64) throw std::runtime_error("template: sections nested too deeply");
  for (;;) {
    auto open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      if (!closing.empty()) throw std::runtime_error("template: unclosed section '" + std::string(closing) + "'");
      if (out) out->append(tmpl.substr(pos));
      return tmpl.size();
    }
    if (out) out->append(tmpl.substr(pos, open - pos));
    bool triple = tmpl.compare(open, 3, "{{{") == 0;
    auto close = tmpl.find(triple ? "}}}" : "}}", open + (triple ? 3 : 2));
    if (close == std::string_view::npos) throw std::runtime_error("template: unclosed tag");
    std::string_view tag = tmpl.substr(open + (triple ? 3 : 2), close - open - (triple ? 3 : 2));
    pos = close + (triple ? 3 : 2);
    tag = trim(tag);
    if (triple) {
      if (out) out->append(as_text(lookup(stack, tag)));
      continue;
    }
    char kind = tag.empty() ? '\0' : tag.front();
    switch (kind) {
      case '!':
        continue;
      case '&':
        if (out) out->append(as_text(lookup(stack, trim(tag.substr(1)))));
        continue;
      case '/': {
        if (trim(tag.substr(1)) != closing) throw std::runtime_error("template: unexpected '{{" + std::string(tag) + "}}'");
        return open;
      }
      case '#':
      case '^': {
        std::string_view name = trim(tag.substr(1));
        const json_value* v = lookup(stack, name);
        // Find the end of the section once (rendering nothing), then render it as needed.
        std::size_t body = pos;
        std::size_t end_tag = render_range(tmpl, body, name, stack, nullptr, depth + 1);
        std::size_t after = tmpl.find("}}", end_tag) + 2;
        if (out) {
          if (kind == '^') {
            if (!truthy(v)) render_range(tmpl, body, name, stack, out, depth + 1);
          } else if (truthy(v)) {
            if (v->IsArray()) {
              for (auto& item : v->GetArray()) {
                stack.push_back(&item);
                render_range(tmpl, body, name, stack, out, depth + 1);
                stack.pop_back();
              }
            } else {
              stack.push_back(v);
              render_range(tmpl, body, name, stack, out, depth + 1);
              stack.pop_back();
            }
          }
        }
        pos = after;
        continue;
      }
      default:
        if (tag.size() > 5 && tag.compare(0, 5, "json ") == 0) {
          const json_value* v = lookup(stack, trim(tag.substr(5)));
          if (out) out->append(v ? script_literal(*v) : "null");
          continue;
        }
        if (out) out->append(html_escape(as_text(lookup(stack, tag))));
    }
  }
}

}  // namespace detail

/// Renders `tmpl` with the values of `ctx` (usually an object).
inline std::string render_template(std::string_view tmpl, const portico::json::value& ctx) {
  std::vector<const portico::json::value*> stack{&ctx};
  std::string out;
  out.reserve(tmpl.size());
  detail::render_range(tmpl, 0, {}, stack, &out, 0);
  return out;
}

/// Renders with plain string values.
inline std::string render_template(std::string_view tmpl, const std::map<std::string, std::string>& values) {
  portico::json::document doc;
  doc.SetObject();
  for (auto& [k, v] : values)
    doc.AddMember(portico::json::value(k.c_str(), doc.GetAllocator()), portico::json::value(v.c_str(), doc.GetAllocator()),
                  doc.GetAllocator());
  return render_template(tmpl, doc);
}

/// Renders with a typed value (a PORTICO_FIELDS struct, a map, ...), through its JSON form.
template <class T, class = std::enable_if_t<!std::is_same_v<T, portico::json::value> &&
                                            !std::is_same_v<T, portico::json::document> &&
                                            !std::is_same_v<T, std::map<std::string, std::string>>>>
std::string render_template(std::string_view tmpl, const T& values) {
  portico::json::document doc;
  portico::json::parse(portico::json::to_string(values), doc);
  return render_template(tmpl, static_cast<const portico::json::value&>(doc));
}

/// Template files of one directory, read once and cached (thread-safe).
class templates {
 public:
  explicit templates(std::filesystem::path dir) : dir_(std::move(dir)) {}

  /// The text of template `name` (relative to the directory; ".." is refused).
  std::string source(const std::string& name) const {
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = cache_.find(name);
      if (it != cache_.end()) return it->second;
    }
    if (name.empty() || name.find("..") != std::string::npos || name.front() == '/' || name.find('\0') != std::string::npos)
      throw std::runtime_error("template: bad name '" + name + "'");
    std::ifstream f(dir_ / name, std::ios::binary);
    if (!f) throw std::runtime_error("template: cannot read '" + name + "'");
    std::ostringstream ss;
    ss << f.rdbuf();
    std::lock_guard<std::mutex> g(mu_);
    return cache_.emplace(name, ss.str()).first->second;
  }

  template <class Values>
  std::string render(const std::string& name, const Values& values) const {
    return render_template(source(name), values);
  }
  /// An HTML response rendered from template `name`.
  template <class Values>
  response page(const std::string& name, const Values& values, int status = 200) const {
    return html(render(name, values), status);
  }

 private:
  std::filesystem::path dir_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::string> cache_;
};

}  // namespace portico::http
// ---- end portico/http/templates.hpp ----

namespace portico::http {

/// Serves `r` on `s`: every HTTP request and WebSocket upgrade outside the Engine.IO path goes
/// to the router. `r` must outlive `s` (or at least its running workers). s.stop() closes the
/// router's WebSocket clients with 1001 "server shutting down" before stopping. Call before
/// s.start(). The router's ws route clients get the engine's `max_buffered_bytes`.
inline void serve(portico::engineio::server& s, router& r) {
  r.set_max_buffered_bytes(s.options().max_buffered_bytes);
  s.on_http([&r](const portico::engineio::http_connection_ptr& con) { return r.handle_http(con); });
  s.on_websocket([&r](const portico::engineio::http_connection_ptr& con) { return r.handle_upgrade(con); });
  s.on_stop([&r] { r.close_websockets(); });
}

}  // namespace portico::http
// ---- end portico/http/http.hpp ----
// ---- begin portico/framework/framework.hpp ----
/// The framework layer in one include: DI, guards, filters, interceptors, gateways,
/// controllers, the typed event registry, the app.
// ---- begin portico/framework/ack_join.hpp ----
/// `portico::ack_join`: waits for several acks (to one client or several) and calls `done` once,
/// when the last one is in (answered, timed out or disconnected).
///
///     portico::ack_join both(2, [ack = ctx.take_ack()](std::vector<portico::ack_reply>& r) mutable {...});
///     ctx.emit_with_ack("q1", both.slot(0), 1s, ...);
///     ctx.emit_with_ack("q2", both.slot(1), 1s, ...);

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>


namespace portico {

/// One ack as the join keeps it: its status and its arguments (a JSON array, empty unless ok).
struct ack_reply {
  socketio::ack_status status = socketio::ack_status::timeout;
  json::document values;
  bool ok() const noexcept { return status == socketio::ack_status::ok; }
};

class ack_join {
 public:
  using done_fn = std::function<void(std::vector<ack_reply>&)>;

  /// `done` runs once, on the thread of the last callback, with the replies in slot order.
  ack_join(std::size_t count, done_fn done) : st_(std::make_shared<state>()) {
    st_->replies.resize(count);
    st_->filled.assign(count, false);
    st_->left = count;
    st_->done = std::move(done);
    if (count == 0) st_->done(st_->replies);
  }

  /// The callback for reply `i` (an `ack_callback`); a slot answered twice keeps its first reply.
  socketio::ack_callback slot(std::size_t i) const {
    if (i >= st_->replies.size()) throw std::out_of_range("portico::ack_join: no slot " + std::to_string(i));
    return [st = st_, i](socketio::ack_status s, const socketio::args& a) {
      json::document d;
      d.SetArray();
      for (std::size_t k = 0; k < a.size(); ++k) d.PushBack(json::copy(a[k], d.GetAllocator()), d.GetAllocator());
      std::unique_lock<std::mutex> g(st->mu);
      if (st->filled[i]) return;
      st->filled[i] = true;
      st->replies[i].status = s;
      st->replies[i].values.Swap(d);
      if (--st->left != 0) return;
      g.unlock();  // every slot is filled: no one else touches the replies
      st->done(st->replies);
    };
  }

 private:
  struct state {
    std::mutex mu;
    std::vector<ack_reply> replies;
    std::vector<bool> filled;
    std::size_t left = 0;
    done_fn done;
  };
  std::shared_ptr<state> st_;
};

}  // namespace portico
// ---- end portico/framework/ack_join.hpp ----
// ---- begin portico/framework/app.hpp ----
/// `portico::app<Module>`: the container, one Socket.IO server per gateway path, the gateways
/// installed as namespaces of those servers, and the controllers' routes on one HTTP router,
/// all served by one net::host on one port (HTTP/1.1 keep-alive).
///
///     int main() { portico::app<AppModule> app; app.listen("127.0.0.1", 8000); app.run(); }

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// ---- begin portico/framework/context.hpp ----
/// What a gateway handler, `on_connected`, `on_disconnected` and a guard see of the current
/// client: `portico::gateway_context` (guards take it as `portico::execution_context`).

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

// ---- begin portico/framework/di/connection_scope.hpp ----
/// The lifetime of `portico::per_connection<...>` providers.
///
/// The server layer creates one connection_scope when a client connects and destroys it (or calls
/// close()) at disconnect; it passes the scope to every resolution made for that client. Instances
/// are created on first use within the scope and destroyed, in reverse creation order, when the
/// scope closes. A scope is tied to the container that first uses it (using it with another one
/// throws std::logic_error), and is not thread-safe: use it from the connection's own thread (its
/// home worker).

#include <cstddef>

// ---- begin portico/framework/di/instance_table.hpp ----
/// Storage of created instances, type-erased by slot number (slot numbers are computed at compile
/// time by the container). Instances are destroyed in the reverse order of their creation, so an
/// instance never outlives what it was constructed with.

#include <cstddef>
#include <memory>
#include <vector>

namespace portico::framework::detail {

class instance_table {
 public:
  instance_table() = default;
  instance_table(const instance_table&) = delete;
  instance_table& operator=(const instance_table&) = delete;
  ~instance_table() { clear(); }

  const std::shared_ptr<void>* find(std::size_t slot) const noexcept {
    return slot < slots_.size() && slots_[slot] ? &slots_[slot] : nullptr;
  }

  void put(std::size_t slot, std::shared_ptr<void> instance) {
    if (slot >= slots_.size()) slots_.resize(slot + 1);
    slots_[slot] = std::move(instance);
    order_.push_back(slot);
  }

  std::size_t live() const noexcept { return order_.size(); }

  void clear() noexcept {
    while (!order_.empty()) {
      std::size_t slot = order_.back();
      order_.pop_back();
      // Move out first: a destructor that looks the table up again sees a consistent state.
      std::shared_ptr<void> doomed = std::move(slots_[slot]);
      doomed.reset();
    }
    slots_.clear();
  }

 private:
  std::vector<std::shared_ptr<void>> slots_;
  std::vector<std::size_t> order_;
};

}  // namespace portico::framework::detail
// ---- end portico/framework/di/instance_table.hpp ----

namespace portico {

class connection_scope {
 public:
  connection_scope() = default;
  connection_scope(const connection_scope&) = delete;
  connection_scope& operator=(const connection_scope&) = delete;
  ~connection_scope() { close(); }

  /// Destroys every per-connection instance of this connection (idempotent).
  void close() noexcept { table_.clear(); }

  /// Number of per-connection instances currently alive in this scope.
  std::size_t size() const noexcept { return table_.live(); }

 private:
  template <class Root, class... Overrides>
  friend class container;
  framework::detail::instance_table table_;
  const void* owner_ = nullptr;  // the container whose slot numbers fill table_
};

}  // namespace portico
// ---- end portico/framework/di/connection_scope.hpp ----
// ---- begin portico/framework/exceptions.hpp ----
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
// ---- end portico/framework/exceptions.hpp ----
// ---- begin portico/framework/worker_pool.hpp ----
/// A small pool of threads for slow handlers, so they never block an I/O thread.
///
///     void report(const Query& q, portico::gateway_context& ctx) {
///       ctx.offload([ack = ctx.take_ack(), q] () mutable {  // runs on a pool thread
///         ack(expensive(q));                                 // ack_sender is thread-safe
///       });
///     }


#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace portico {

class worker_pool {
 public:
  explicit worker_pool(unsigned threads = 2) : s_(std::make_shared<state>()) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) {
      threads_.emplace_back([s = s_] { work(*s); });
      ids_.push_back(threads_.back().get_id());
    }
  }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  /// Runs the queued tasks, then joins. From a pool task (the app destroyed by a slow handler)
  /// that task's own thread is detached instead: it only touches the shared state afterwards.
  ~worker_pool() {
    stop();
    std::lock_guard<std::mutex> g(join_mu_);
    for (auto& t : threads_)
      if (t.joinable()) t.detach();
  }

  /// Queues `f`; from any thread. Ignored once stop() has begun.
  void post(std::function<void()> f) {
    // Once the task is queued it may run and destroy this pool before we notify (ThreadSanitizer
    // saw it): from then on only the shared state, held here, is touched.
    auto s = s_;
    {
      std::lock_guard<std::mutex> g(s->mu);
      if (s->stopping) return;
      s->tasks.push_back(std::move(f));
    }
    s->cv.notify_one();
  }

  /// Finishes the queued tasks and joins the threads (idempotent). Called from a pool task, it
  /// joins the other threads and leaves the caller's own to a later stop() or the destructor.
  /// Safe to call from several threads at once (app::stop() from a signal thread while app::run()
  /// stops on its way out): each thread is joined by one caller, and a caller from outside the
  /// pool returns once every join is done.
  void stop() {
    {
      std::lock_guard<std::mutex> g(s_->mu);
      s_->stopping = true;
    }
    s_->cv.notify_all();
    const bool from_pool = is_pool_thread();
    std::unique_lock<std::mutex> g(join_mu_);
    for (;;) {
      std::vector<std::thread> mine;
      mine.swap(threads_);
      if (mine.empty()) {
        // Another caller is joining: wait for it, unless this is a pool thread (it may be the
        // very thread that caller is joining).
        if (joining_ == 0 || from_pool) return;
        joined_.wait(g);
        continue;
      }
      ++joining_;
      g.unlock();
      std::vector<std::thread> own;
      for (auto& t : mine) {
        if (!t.joinable()) continue;
        if (t.get_id() == std::this_thread::get_id()) own.push_back(std::move(t));
        else t.join();
      }
      g.lock();
      --joining_;
      for (auto& t : own) threads_.push_back(std::move(t));
      joined_.notify_all();
      if (!own.empty()) return;  // a pool thread: its own thread is left to a later stop()
    }
  }

 private:
  /// Shared with the threads, so a detached one never reads a destroyed pool.
  struct state {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> tasks;
    bool stopping = false;
  };

  static void work(state& s) {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock<std::mutex> g(s.mu);
        s.cv.wait(g, [&] { return s.stopping || !s.tasks.empty(); });
        if (s.tasks.empty()) return;
        f = std::move(s.tasks.front());
        s.tasks.pop_front();
      }
      // A task's failure is its own business (it holds the ack): no log; the pool keeps running.
      portico::detail::run_user_code(nullptr, "a worker pool task", f);
    }
  }

  bool is_pool_thread() const {
    for (auto& id : ids_)
      if (id == std::this_thread::get_id()) return true;
    return false;
  }

  std::shared_ptr<state> s_;
  std::vector<std::thread> threads_;  ///< not yet joined (guarded by join_mu_ once running)
  std::vector<std::thread::id> ids_;  ///< every pool thread, fixed at construction
  std::mutex join_mu_;
  std::condition_variable joined_;
  unsigned joining_ = 0;  ///< callers of stop() joining right now
};

}  // namespace portico
// ---- end portico/framework/worker_pool.hpp ----

namespace portico {

/// Answers a client's ack later, from any thread, at most once (`ack(values...)`).
using ack_handle = socketio::ack_sender;

namespace framework::detail {

/// The per-connection DI scopes of one gateway, by sid: opened at CONNECT, closed at
/// disconnect. Looked up only when a handler or guard needs the scope.
class connection_table {
 public:
  connection_scope& open(const std::string& sid) {
    auto s = std::make_unique<connection_scope>();
    auto* p = s.get();
    std::lock_guard<std::mutex> g(mu_);
    scopes_[sid] = std::move(s);
    return *p;
  }
  connection_scope* find(const std::string& sid) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = scopes_.find(sid);
    return it == scopes_.end() ? nullptr : it->second.get();
  }
  /// Destroys the scope's instances (outside the lock: their destructors are user code).
  void close(const std::string& sid) {
    std::unique_ptr<connection_scope> gone;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = scopes_.find(sid);
      if (it == scopes_.end()) return;
      gone = std::move(it->second);
      scopes_.erase(it);
    }
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(mu_);
    return scopes_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<connection_scope>> scopes_;
};

/// What the app shares with every context of one gateway.
struct gateway_runtime {
  socketio::server* server = nullptr;
  connection_table* connections = nullptr;
  worker_pool* pool = nullptr;
};

}  // namespace framework::detail

/// The current client (and message, inside a handler). Valid during the call it was given to;
/// copy what you need (the sid, an `ack_handle`) to use it later.
class gateway_context {
 public:
  gateway_context(const framework::detail::gateway_runtime& rt, socketio::socket& s, socketio::event* e = nullptr,
                  socketio::connect_request* r = nullptr) noexcept
      : rt_(&rt), socket_(&s), event_(e), request_(r) {}

  socketio::server& server() const noexcept { return *rt_->server; }
  socketio::socket& socket() const noexcept { return *socket_; }
  socketio::nsp& get_namespace() const noexcept { return socket_->get_namespace(); }
  const std::string& sid() const noexcept { return socket_->sid(); }
  const std::string& namespace_name() const noexcept { return socket_->namespace_name(); }

  /// The HTTP request that opened the connection: headers, query, remote address.
  const engineio::handshake& handshake() const { return socket_->handshake(); }
  std::string_view header(std::string_view name) const { return handshake().header(name); }
  std::string_view query(std::string_view name) const { return handshake().query_param(name); }
  const std::string& remote_address() const { return handshake().remote_address; }
  /// The CONNECT payload (socket.io-client's `auth`), null when none was sent.
  const json::value& auth() const noexcept { return socket_->auth(); }
  /// Connection state recovery restored this client's socket (same sid, rooms, session, missed
  /// packets replayed): socket.io's `socket.recovered`.
  bool recovered() const noexcept { return socket_->recovered(); }
  /// The CONNECT payload decoded as `T` (a PORTICO_FIELDS struct, a map, `std::optional<...>`
  /// when auth may be absent), validated like a typed event body. A bad payload throws
  /// `ws_exception(1007, "Invalid auth", <error list>)`: in a guard or `on_connected` the client
  /// is refused with `connect_error {message:"Invalid auth", data:{code:1007, reason:[...]}}`;
  /// in a handler it receives the `error` event, as for a bad body.
  template <class T>
  T auth_as() const {
    T out{};
    json::error_list errs;
    if (!json::decode(auth(), out, errs))
      throw ws_exception(ws_code::invalid_payload, "Invalid auth", framework::detail::json_text{json::to_string(errs)});
    return out;
  }

  /// Inside a handler: the event name; empty at connect and disconnect.
  std::string_view event() const noexcept { return event_ ? event_->name() : std::string_view{}; }
  /// Inside a handler: the raw arguments (null elsewhere).
  const socketio::args* args() const noexcept { return event_ ? &event_->args() : nullptr; }
  /// The client asked for an ack that was not sent yet.
  bool wants_ack() const noexcept { return event_ && event_->wants_ack(); }
  /// Takes over the ack to send it later (from any thread); the handler's return value is then
  /// no longer sent as the ack.
  ack_handle take_ack() { return event_ ? event_->take_ack() : ack_handle{}; }
  bool at_connect() const noexcept { return request_ != nullptr; }

  /// The per-connection DI scope of this client.
  connection_scope& scope() const {
    if (!scope_) scope_ = rt_->connections->find(sid());
    if (!scope_) throw std::logic_error("portico: no connection scope for " + sid());
    return *scope_;
  }

  // --- talking to the client and its rooms (thread-safe) ---
  template <class... A>
  void emit(std::string_view name, const A&... a) const {
    socket_->emit(name, a...);
  }
  /// Asks this client for an ack (the order and callback of `socketio::socket::emit_with_ack`):
  /// `cb(ack_status, const socketio::args&)` runs once, on an I/O thread, with the client's answer,
  /// or `timeout`, or `disconnected`. The socket need not be kept alive by the caller: a client
  /// that leaves first gives `disconnected`.
  template <class... A>
  void emit_with_ack(std::string_view name, socketio::ack_callback cb, std::chrono::milliseconds timeout,
                     const A&... a) const {
    socket_->emit_with_ack(name, std::move(cb), timeout, a...);
  }
  /// Everyone in `room` but this client.
  socketio::emitter to(std::string room) const { return socket_->to(std::move(room)); }
  /// Everyone in the namespace but this client.
  socketio::emitter broadcast() const { return socket_->broadcast(); }
  void join(const std::string& room) const { socket_->join(room); }
  void leave(const std::string& room) const { socket_->leave(room); }
  void disconnect() const { socket_->disconnect(); }

  // --- the session: one JSON document per client and namespace ---
  json::document get_session() const { return socket_->get_session(); }
  void save_session(const json::value& v) const { socket_->save_session(v); }
  /// The session decoded as `T`, and replaced by `v` encoded (see socketio::socket::session).
  template <class T>
  T session() const {
    return socket_->session<T>();
  }
  template <class T>
  void save_session(const T& v) const {
    socket_->save_session(v);
  }

  /// At connect (`on_connected`): refuse the client; it receives
  /// `connect_error {message, data:{code, reason}}`.
  template <class Reason>
  void refuse(int code, const Reason& reason) const {
    if (!request_) throw std::logic_error("portico: gateway_context::refuse outside on_connected");
    ws_exception e(code, reason);
    request_->refuse(e.what(), framework::detail::json_text{e.body()});
  }

  /// Runs `f` on the app's worker pool (off the I/O thread). Take what you need by value
  /// (e.g. `ctx.take_ack()`); the context itself is gone when `f` runs.
  template <class F>
  void offload(F&& f) const {
    if (rt_->pool) rt_->pool->post(std::forward<F>(f));
    else f();
  }

 private:
  const framework::detail::gateway_runtime* rt_;
  socketio::socket* socket_;
  socketio::event* event_;
  socketio::connect_request* request_;
  mutable connection_scope* scope_ = nullptr;
};

/// Guards receive the same context: at the handshake (`ctx.at_connect()`, auth and handshake
/// available) and before a handler (`ctx.event()`, `ctx.args()`).
using execution_context = gateway_context;

}  // namespace portico
// ---- end portico/framework/context.hpp ----
// ---- begin portico/framework/controller.hpp ----
/// Declaring a controller: HTTP routes and plain WebSocket routes under a prefix, on a class the
/// DI container constructs (Ellar's `@Controller('/car')`).
///
///     struct CarController : portico::controller<CarController> {
///       static constexpr auto options = portico::controller_options{"/car"};
///       using guards = portico::guards<NotBanned>;           // every route of the class
///       explicit CarController(Pages& pages);                 // injected
///       http::response index(std::string name);
///       template <class Routes> void routes(Routes& r) {       // called once by the app
///         r.get("/ws-index", &CarController::index, http::query<std::string>("name", "John"));
///         r.ws("/live-support", &CarController::chat, portico::guards<AdminGuard>{});
///       }
///     };
///
/// `Routes` is `portico::controller_routes<...>`: get/post/put/patch/del/ws with the signatures
/// of `http::route_group`, taking member function pointers or any callable, and optionally
/// `portico::guards<...>{}`, `portico::filters<...>{}`, `portico::interceptors<...>{}` values right
/// after the handler (route policies, any order). Guards run global -> class -> route before
/// the handler (before the 101 for a ws route), constructed through the container as seen from
/// the controller's module, with `portico::http_context`. Then interceptors (global, class, then
/// route; plain and deferred routes) around the handler; filters (route, class, then global) map
/// what a guard, an interceptor or the handler throws to a response (docs/guards.md).
/// Guards get no connection scope: one that injects a per_connection provider is a compile error
/// (`portico_error_used_without_connection_depends_on_per_connection<Guard, Provider>`).

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

// ---- begin portico/framework/exception_host.hpp ----
/// What an exception filter answers through (NestJS's `ArgumentsHost`).
///
/// `ws_exception_host`: inside a gateway handler (its guards, interceptors, decoding). The filter
/// chooses the answer: the `error` event with a payload of its own (`error(...)`), the ack when
/// the client asked for one (`ack(...)`), a disconnect, any emit, or the built-in answer
/// (`report(code, reason)`: `error` event `{code, reason}`, error ack, disconnect when the
/// gateway says so). Doing nothing swallows the exception.
///
/// `connect_exception_host`: at a gateway's CONNECT (class and app-wide guards, `on_connected`):
/// the filter words the refusal (`connect_error` message and data); the client is refused anyway.
///
/// `http_exception_host`: inside a controller route (its guards, interceptors, handler). The
/// filter answers with `send(response)`; one that sends nothing passes the exception on to the
/// next filter (finally the built-in mapping: http_exception -> its status, else 500).

#include <optional>
#include <string>
#include <string_view>
#include <utility>

// ---- begin portico/framework/http_context.hpp ----
/// What a guard of a controller route sees: the HTTP request (or the WebSocket handshake of a
/// ws route, before the 101). A guard class may serve gateways and controllers alike by
/// declaring both `can_activate(portico::gateway_context&)` and
/// `can_activate(portico::http_context&)`.

#include <string>
#include <string_view>


namespace portico {

class http_context {
 public:
  http_context(const http::request& r, bool websocket) noexcept : req_(&r), websocket_(websocket) {}

  /// The whole request: headers, query, path parameters, body.
  const http::request& request() const noexcept { return *req_; }
  const std::string& method() const noexcept { return req_->method; }
  /// The raw (percent-encoded) path, without the query.
  const std::string& path() const noexcept { return req_->path; }
  /// A header (case-insensitive name), a query parameter or a `{name}` path segment; empty when
  /// absent (use request() to tell absent from empty).
  std::string_view header(std::string_view name) const { return or_empty(req_->header(name)); }
  std::string_view query(std::string_view name) const { return or_empty(req_->query_param(name)); }
  std::string_view path_param(std::string_view name) const { return or_empty(req_->path_param(name)); }
  const std::string& remote_address() const noexcept { return req_->remote_address; }
  /// True for the handshake of a ws route: a refusal answers the upgrade, before the 101.
  bool is_websocket() const noexcept { return websocket_; }

 private:
  static std::string_view or_empty(const std::string* s) { return s ? std::string_view(*s) : std::string_view{}; }
  const http::request* req_;
  bool websocket_;
};

}  // namespace portico
// ---- end portico/framework/http_context.hpp ----

namespace portico {

class ws_exception_host {
 public:
  ws_exception_host(gateway_context& ctx, socketio::event& e, bool disconnect_on_error) noexcept
      : ctx_(&ctx), event_(&e), disconnect_on_error_(disconnect_on_error) {}

  /// The client and the message (sid, event name, arguments, emit, rooms...).
  gateway_context& context() const noexcept { return *ctx_; }
  /// The client asked for an ack that was not sent yet.
  bool wants_ack() const noexcept { return event_->wants_ack(); }
  /// Answers the client's ack with these values (nothing if it asked for none).
  template <class... A>
  void ack(const A&... values) {
    event_->ack(values...);
  }
  /// Sends the `error` event with `payload` (any JSON-encodable value), nothing else.
  template <class T>
  void error(const T& payload) {
    ctx_->emit("error", payload);
  }
  /// The built-in answer: `error` event `{"code","reason"}`, the error ack `{"error":{...}}` if
  /// one was asked, and a disconnect when the gateway's `disconnect_on_error` is set.
  template <class Reason>
  void report(int code, const Reason& reason) {
    const ws_exception ex(code, reason);
    const std::string body = ex.body();
    ctx_->emit("error", framework::detail::json_text{body});
    if (event_->wants_ack()) event_->ack(framework::detail::json_text{"{\"error\":" + body + "}"});
    if (disconnect_on_error_) ctx_->disconnect();
  }
  template <class... A>
  void emit(std::string_view name, const A&... a) {
    ctx_->emit(name, a...);
  }
  void disconnect() { ctx_->disconnect(); }

 private:
  gateway_context* ctx_;
  socketio::event* event_;
  bool disconnect_on_error_;
};

/// At a gateway's CONNECT (a class or app-wide guard's refusal, an exception of `on_connected`):
/// the filter words the `connect_error` the client sees (`err.message`, `err.data` in
/// socket.io-client). The client is refused whatever the filter does; one that refuses nothing
/// passes the exception on (finally the built-in answer: `{message, data: {code, reason}}`).
class connect_exception_host {
 public:
  connect_exception_host(gateway_context& ctx, socketio::connect_request& r) noexcept : ctx_(&ctx), request_(&r) {}

  /// The client (auth, handshake, sid, namespace).
  gateway_context& context() const noexcept { return *ctx_; }
  /// connect_error `{"message": message}`.
  void refuse(std::string message) {
    request_->refuse(std::move(message));
    answered_ = true;
  }
  /// connect_error `{"message": message, "data": data}` (data: any JSON-encodable value).
  template <class T>
  void refuse(std::string message, const T& data) {
    request_->refuse(std::move(message), data);
    answered_ = true;
  }
  /// The built-in answer: `{"message": reason text, "data": {"code", "reason"}}`.
  template <class Reason>
  void report(int code, const Reason& reason) {
    const ws_exception ex(code, reason);
    refuse(ex.what(), framework::detail::json_text{ex.body()});
  }
  bool answered() const noexcept { return answered_; }

 private:
  gateway_context* ctx_;
  socketio::connect_request* request_;
  bool answered_ = false;
};

class http_exception_host {
 public:
  explicit http_exception_host(http_context& ctx) noexcept : ctx_(&ctx) {}

  /// The request (headers, query, path parameters, body).
  http_context& context() const noexcept { return *ctx_; }
  /// The answer (status, headers, body); the last call wins.
  void send(http::response r) { response_ = std::move(r); }
  bool answered() const noexcept { return response_.has_value(); }
  std::optional<http::response>& response() noexcept { return response_; }

 private:
  http_context* ctx_;
  std::optional<http::response> response_;
};

}  // namespace portico
// ---- end portico/framework/exception_host.hpp ----
// ---- begin portico/framework/filters.hpp ----
/// Exception filters as policy types (NestJS `@UseFilters`, `@Catch`).
///
/// A filter is a class with `void catch_exception(const E&, Host&)`: `E` the exception type it
/// catches, `Host` what it answers through (`portico::ws_exception_host` for a gateway handler,
/// `portico::http_exception_host` for a controller route; see exception_host.hpp). A filter that
/// catches several types, or serves gateways and controllers alike (one overload per host),
/// says which types with `using catches = portico::catches<E1, E2>;`; otherwise the type is read
/// from its single `catch_exception`. Filters are constructed through the DI container when an
/// exception reaches them (never on the normal path), so they may inject providers.
///
/// Order: the handler's (route's) filters, then the class's, in list order; within a filter,
/// its `catches` in order. The first whose type matches handles the exception; one that throws
/// passes what it throws on to the next filters, then to the built-in mapping (the default
/// filter: docs/guards.md, "Exception filters").

#include <type_traits>
#include <utility>

// ---- begin portico/framework/di/errors.hpp ----
/// Compile-time diagnostics of the DI container.
///
/// A static_assert message is a plain string literal, so it cannot name the offending type; GCC
/// does not print the asserted expression either. Instead every misuse asks for a member type
/// that does not exist in a template named after the problem and instantiated with the types
/// involved. Both GCC and Clang then print ONE first error line that carries the type and the fix:
///
///   error: no type named 'add_it_to_portico_providers_of_the_module_or_import_a_module_that_exports_it'
///          in 'portico::portico_error_no_provider_for<AuthService>'
///
/// The raising function never returns, so the caller's code stays well-formed and no error
/// cascades from the failed resolution.

#include <stdexcept>

/// Declares the diagnostic template `name<T...>` and `portico::framework::detail::raise_<name><R, T...>()`.
/// The error is raised inside a static member function of a class template: compilers then
/// report it once per distinct set of types, however many call sites (and return types) reach it.
#define PORTICO_DI_DIAGNOSTIC(name, fix)                                             \
  namespace portico {                                                               \
  template <class... T>                                                             \
  struct name {};                                                                   \
  }                                                                                 \
  namespace portico::framework::detail {                                            \
  template <class... T>                                                             \
  struct report_##name {                                                            \
    [[noreturn]] static void now() {                                                \
      static_cast<void>(static_cast<typename ::portico::name<T...>::fix*>(nullptr)); \
      throw std::logic_error("unreachable: " #name);                               \
    }                                                                               \
  };                                                                                \
  template <class R, class... T>                                                    \
  [[noreturn]] R raise_##name() {                                                   \
    report_##name<T...>::now();                                                     \
  }                                                                                 \
  }

PORTICO_DI_DIAGNOSTIC(portico_error_no_provider_for,
                      add_it_to_portico_providers_of_the_module_or_import_a_module_that_exports_it)
PORTICO_DI_DIAGNOSTIC(portico_error_provider_not_exported,
                      add_it_to_portico_exports_of_that_module_to_make_it_visible_to_importers)
PORTICO_DI_DIAGNOSTIC(portico_error_dependency_cycle,
                      break_the_cycle_one_of_these_types_must_stop_injecting_the_next)
PORTICO_DI_DIAGNOSTIC(portico_error_ambiguous_constructor_of,
                      declare_using_inject_equals_portico_inject_of_the_parameters_to_use_inside_the_class)
PORTICO_DI_DIAGNOSTIC(portico_error_cannot_deduce_constructor_of,
                      declare_using_inject_equals_portico_inject_of_its_parameters_inside_the_class)
PORTICO_DI_DIAGNOSTIC(portico_error_inject_list_does_not_match_a_constructor_of,
                      make_its_using_inject_list_match_the_constructor_parameters)
PORTICO_DI_DIAGNOSTIC(portico_error_cannot_inject_constructor_of,
                      inject_transient_providers_by_value_or_std_shared_ptr_never_by_reference)
PORTICO_DI_DIAGNOSTIC(portico_error_abstract_provider,
                      bind_it_to_an_implementation_with_portico_bind_of_interface_and_implementation)
PORTICO_DI_DIAGNOSTIC(portico_error_bind_implementation_does_not_derive_from_interface,
                      make_the_implementation_derive_publicly_from_the_interface)
PORTICO_DI_DIAGNOSTIC(portico_error_transient_injected_by_reference,
                      inject_it_by_value_or_as_std_shared_ptr_or_std_unique_ptr)
PORTICO_DI_DIAGNOSTIC(portico_error_unique_ptr_of_shared_instance,
                      inject_a_reference_or_std_shared_ptr_or_make_the_provider_portico_transient)
PORTICO_DI_DIAGNOSTIC(portico_error_singleton_depends_on_per_connection,
                      make_the_dependent_portico_per_connection_too_or_inject_something_connection_independent)
PORTICO_DI_DIAGNOSTIC(portico_error_used_without_connection_depends_on_per_connection,
                      it_runs_with_no_connection_scope_eg_an_http_guard_so_inject_singletons_or_transients_only)
PORTICO_DI_DIAGNOSTIC(portico_error_factory_result_is_not,
                      return_the_type_or_a_std_unique_ptr_or_std_shared_ptr_of_it_from_the_factory)
PORTICO_DI_DIAGNOSTIC(portico_error_not_a_value_provider,
                      declare_it_as_portico_value_in_the_providers_of_a_module)
PORTICO_DI_DIAGNOSTIC(portico_error_nothing_to_replace_for,
                      replace_only_singleton_or_value_providers_declared_in_a_module)
PORTICO_DI_DIAGNOSTIC(portico_error_not_a_component,
                      add_it_to_portico_gateways_or_portico_controllers_of_a_module)
PORTICO_DI_DIAGNOSTIC(portico_error_guard_without_can_activate,
                      declare_bool_can_activate_taking_the_execution_context_by_reference)
PORTICO_DI_DIAGNOSTIC(portico_error_override_matches_no_provider,
                      override_only_keys_that_a_module_of_the_graph_provides)
PORTICO_DI_DIAGNOSTIC(portico_error_not_a_module_part,
                      use_portico_providers_controllers_gateways_imports_or_exports)
// ---- end portico/framework/di/errors.hpp ----
// ---- begin portico/framework/di/type_list.hpp ----
/// Type lists and the few operations the DI container needs. Everything is a fold or a single
/// pack expansion so that instantiation depth does not grow with the number of providers.

#include <cstddef>
#include <initializer_list>
#include <tuple>
#include <type_traits>

namespace portico::framework::detail {

template <class... T>
struct type_list {
  static constexpr std::size_t size = sizeof...(T);
};

/// Index of the first true flag, or the number of flags when none is set. Callers append a
/// `false` sentinel (an empty braced list has no type), so "not found" is any index >= their count.
constexpr std::size_t first_true(std::initializer_list<bool> flags) {
  std::size_t i = 0;
  for (bool f : flags) {
    if (f) return i;
    ++i;
  }
  return i;
}

constexpr std::size_t count_true(std::initializer_list<bool> flags) {
  std::size_t n = 0;
  for (bool f : flags) n += f ? 1 : 0;
  return n;
}

/// Index of T in Ts, or sizeof...(Ts) when absent.
template <class T, class... Ts>
inline constexpr std::size_t index_of_v =
    first_true({std::is_same_v<T, Ts>..., false}) < sizeof...(Ts) ? first_true({std::is_same_v<T, Ts>..., false})
                                                                   : sizeof...(Ts);

template <class T, class... Ts>
inline constexpr bool contains_v = (std::is_same_v<T, Ts> || ...);

template <class T, class List>
struct list_contains;
template <class T, class... Ts>
struct list_contains<T, type_list<Ts...>> : std::bool_constant<contains_v<T, Ts...>> {};

template <std::size_t I, class... Ts>
using type_at_t = std::tuple_element_t<I, std::tuple<Ts...>>;

template <std::size_t I, class List>
struct list_at;
template <std::size_t I, class... Ts>
struct list_at<I, type_list<Ts...>> {
  using type = type_at_t<I, Ts...>;
};

/// Concatenation as a fold over operator+ (declared only, used in decltype): no template
/// recursion, whatever the number of lists.
template <class... A, class... B>
type_list<A..., B...> operator+(type_list<A...>, type_list<B...>);

template <class... Lists>
struct concat {
  using type = decltype((type_list<>{} + ... + Lists{}));
};
template <class... Lists>
using concat_t = typename concat<Lists...>::type;

/// Re-labels a list: `rename_t<guards, type_list<A, B>>` is `guards<A, B>`.
template <template <class...> class To, class List>
struct rename;
template <template <class...> class To, template <class...> class From, class... Ts>
struct rename<To, From<Ts...>> {
  using type = To<Ts...>;
};
template <template <class...> class To, class List>
using rename_t = typename rename<To, List>::type;

template <class T>
struct dependent_false : std::false_type {};

}  // namespace portico::framework::detail
// ---- end portico/framework/di/type_list.hpp ----

PORTICO_DI_DIAGNOSTIC(portico_error_filter_without_catch_exception,
                      declare_void_catch_exception_taking_const_E_ref_and_the_host_ref_or_using_catches)
PORTICO_DI_DIAGNOSTIC(portico_error_filter_cannot_catch,
                      declare_catch_exception_taking_this_exception_by_const_ref_and_this_host_by_ref)

namespace portico {

/// `using filters = portico::filters<F...>;` in a gateway or controller, or
/// `portico::filters<F...>{}` after a handler in `subscribe(...)` / a route.
template <class... F>
struct filters {};

/// The exception types a filter catches: `using catches = portico::catches<E1, E2>;`.
template <class... E>
struct catches {};

namespace framework::detail {

template <class... Lists>
struct combine_filters {
  using type = rename_t<portico::filters, concat_t<rename_t<type_list, Lists>...>>;
};

template <class T, class = void>
struct filters_of {
  using type = portico::filters<>;
};
template <class T>
struct filters_of<T, std::void_t<typename T::filters>> {
  using type = typename T::filters;
};

/// The first parameter of a (non-overloaded) member function, without cv and reference.
template <class Fn>
struct first_param {
  using type = void;
};
#define PORTICO_FIRST_PARAM(qual)                                   \
  template <class R, class C, class A0, class... A>                 \
  struct first_param<R (C::*)(A0, A...) qual> {                     \
    using type = std::remove_cv_t<std::remove_reference_t<A0>>;    \
  };
PORTICO_FIRST_PARAM()
PORTICO_FIRST_PARAM(const)
PORTICO_FIRST_PARAM(noexcept)
PORTICO_FIRST_PARAM(const noexcept)
#undef PORTICO_FIRST_PARAM

template <class F, class = void>
struct deduced_catches {
  using type = void;
};
template <class F>
struct deduced_catches<F, std::void_t<decltype(&F::catch_exception)>> {
  using E = typename first_param<decltype(&F::catch_exception)>::type;
  using type = std::conditional_t<std::is_void_v<E>, void, portico::catches<E>>;
};

/// `F::catches`, else the type of its single `catch_exception`, else void (a misuse).
template <class F, class = void>
struct catches_of {
  using type = typename deduced_catches<F>::type;
};
template <class F>
struct catches_of<F, std::void_t<typename F::catches>> {
  using type = typename F::catches;
};

template <class F, class E, class Host, class = void>
struct can_catch : std::false_type {};
template <class F, class E, class Host>
struct can_catch<F, E, Host,
                 std::void_t<decltype(std::declval<F&>().catch_exception(std::declval<const E&>(), std::declval<Host&>()))>>
    : std::true_type {};

template <class F, class E, class Host>
constexpr bool check_one_catch() {
  if constexpr (can_catch<F, E, Host>::value) return true;
  else return raise_portico_error_filter_cannot_catch<bool, F, E, Host>();
}
template <class F, class Host, class... E>
constexpr bool check_catches(portico::catches<E...>*) {
  return (check_one_catch<F, E, Host>() && ...);
}

template <class F, class Host>
constexpr bool check_one_filter() {
  using C = typename catches_of<F>::type;
  if constexpr (std::is_void_v<C>) return raise_portico_error_filter_without_catch_exception<bool, F>();
  else return check_catches<F, Host>(static_cast<C*>(nullptr));
}

template <class Host, class... F>
constexpr bool check_filter_list(portico::filters<F...>*) {
  return (check_one_filter<F, Host>() && ...);
}

template <class F, class Host, class... E>
constexpr bool catches_valid(portico::catches<E...>*) {
  return (can_catch<F, E, Host>::value && ...);
}
template <class F, class Host>
constexpr bool filter_valid() {
  using C = typename catches_of<F>::type;
  if constexpr (std::is_void_v<C>) return false;
  else return catches_valid<F, Host>(static_cast<C*>(nullptr));
}
template <class Host, class... F>
constexpr bool filter_list_valid(portico::filters<F...>*) {
  return (filter_valid<F, Host>() && ...);
}

/// The filters of a list that can serve Host, in order.
template <class Host, class List>
struct serving;
template <class Host, class... F>
struct serving<Host, portico::filters<F...>> {
  using type = rename_t<portico::filters,
                        concat_t<type_list<>, std::conditional_t<filter_valid<F, Host>(), type_list<F>, type_list<>>...>>;
};

template <class F, class... Hosts>
constexpr bool serves_any() {
  return (filter_valid<F, Hosts>() || ...);
}
/// The filters of a list that serve none of Hosts (a misuse: they would never run).
template <class List, class... Hosts>
struct serving_none;
template <class... F, class... Hosts>
struct serving_none<portico::filters<F...>, Hosts...> {
  using type = rename_t<portico::filters,
                        concat_t<type_list<>, std::conditional_t<serves_any<F, Hosts...>(), type_list<>, type_list<F>>...>>;
};

/// `body()` with filter F's catch of E around it. `env.template make<F>()` constructs the
/// filter, `env.handle(f, ex)` calls it (and may rethrow).
template <class F, class E, class Env, class Body>
void catch_one(Env& env, Body& body) {
  try {
    body();
  } catch (const E& ex) {
    auto f = env.template make<F>();
    env.handle(f, ex);
  }
}

template <class F, class Env, class Body>
void catch_all_of(Env&, Body& body, portico::catches<>*) {
  body();
}
/// The first listed type is the innermost catch: it is tried first.
template <class F, class Env, class Body, class E, class... Rest>
void catch_all_of(Env& env, Body& body, portico::catches<E, Rest...>*) {
  auto inner = [&] { catch_one<F, E>(env, body); };
  catch_all_of<F>(env, inner, static_cast<portico::catches<Rest...>*>(nullptr));
}

template <class Env, class Body>
void filter_chain(Env&, Body& body, portico::filters<>*) {
  body();
}
/// Wraps the body in the first filter, then the result in the next: the first filter is tried first.
template <class Env, class Body, class F, class... Rest>
void filter_chain(Env& env, Body& body, portico::filters<F, Rest...>*) {
  auto inner = [&] { catch_all_of<F>(env, body, static_cast<typename catches_of<F>::type*>(nullptr)); };
  filter_chain(env, inner, static_cast<portico::filters<Rest...>*>(nullptr));
}

}  // namespace framework::detail

/// filters<handler..., class...>: the lists concatenated in the order given.
template <class... Lists>
using combine_filters_t = typename framework::detail::combine_filters<Lists...>::type;

/// `T::filters` when T declares it, else filters<>.
template <class T>
using filters_of_t = typename framework::detail::filters_of<T>::type;

/// The filters of List that can serve Host (class and app-wide lists hold filters for handlers,
/// CONNECT and routes; each place uses those that fit it).
template <class List, class Host>
using serving_t = typename framework::detail::serving<Host, List>::type;

/// The filters of List that serve none of Hosts.
template <class List, class... Hosts>
using serving_none_t = typename framework::detail::serving_none<List, Hosts...>::type;

/// Checks at compile time that every filter of List says what it catches and can take it with
/// Host; a misuse is one error naming the filter (and the exception type and host).
template <class List, class Host>
constexpr bool check_filters() {
  return framework::detail::check_filter_list<Host>(static_cast<List*>(nullptr));
}

/// Whether every filter of List can serve Host (no diagnostic).
template <class List, class Host>
constexpr bool filters_valid() {
  return framework::detail::filter_list_valid<Host>(static_cast<List*>(nullptr));
}

/// Runs `body()` with the filters of List around it (see the header comment); no filter: a
/// plain call.
template <class List, class Env, class Body>
void run_with_filters(Env& env, Body&& body) {
  framework::detail::filter_chain(env, body, static_cast<List*>(nullptr));
}

}  // namespace portico
// ---- end portico/framework/filters.hpp ----
// ---- begin portico/framework/gateway.hpp ----
/// Declaring a gateway: its options, its event table, its guards.
///
///     struct EventGateway : portico::gateway<EventGateway> {
///       static constexpr auto options = portico::gateway_options{"/socket.io", "/events"};
///       using guards = portico::guards<TokenGuard>;          // at the namespace CONNECT
///       using filters = portico::filters<MyErrorFilter>;     // exceptions of every handler
///       using interceptors = portico::interceptors<Timing>;  // around every handler
///       MessageBody handle_event(const MessageBody& body);
///       static constexpr auto events = portico::events(
///           portico::subscribe("events", &EventGateway::handle_event));
///     };
///
/// Everything here is constexpr data read by the app when it builds its servers: the event table
/// is a tuple of (name, member function pointer, handler guards, filters, interceptors), so each handler is called
/// directly, never through a table of type-erased callables of its own.

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

// ---- begin portico/framework/guards.hpp ----
/// Guards as policy types.
///
/// A guard is a class with `bool can_activate(Context&)` (Context is the execution context the
/// gateway layer passes: the handshake at connect, the message for a handler guard). Guards are
/// constructed through the DI container, so they may inject providers, including per-connection
/// ones; they are constructed for each check and should hold only references.
///
/// Order: global guards (the app's), then class guards (the gateway's `using guards = ...`), then
/// handler guards; the first refusal (false, or an exception) stops the chain. Duplicates are not
/// removed: a guard listed twice runs twice.

#include <type_traits>
#include <utility>


namespace portico {

template <class... G>
struct guards {};

namespace framework::detail {

template <class G, class Context, class = void>
struct has_can_activate : std::false_type {};
template <class G, class Context>
struct has_can_activate<G, Context, std::void_t<decltype(std::declval<G&>().can_activate(std::declval<Context&>()))>>
    : std::is_convertible<decltype(std::declval<G&>().can_activate(std::declval<Context&>())), bool> {};

template <class... Lists>
struct combine_guards {
  using type = rename_t<portico::guards, concat_t<rename_t<type_list, Lists>...>>;
};

template <class T, class = void>
struct guards_of {
  using type = portico::guards<>;
};
template <class T>
struct guards_of<T, std::void_t<typename T::guards>> {
  using type = typename T::guards;
};

template <class G, class Container, class Module, class Context>
bool run_one_guard(Container& c, Context& ctx, connection_scope* scope) {
  if constexpr (!has_can_activate<G, Context>::value) {
    static_cast<void>(c), static_cast<void>(ctx), static_cast<void>(scope);
    return raise_portico_error_guard_without_can_activate<bool, G, Context>();
  } else {
    return static_cast<bool>(c.template make<G, Module>(scope).can_activate(ctx));
  }
}

template <class Module, class Container, class Context, class... G>
bool run_guard_list(Container& c, Context& ctx, connection_scope* scope, portico::guards<G...>*) {
  static_cast<void>(c), static_cast<void>(ctx), static_cast<void>(scope);  // unused when the list is empty
  return (run_one_guard<G, Container, Module, Context>(c, ctx, scope) && ...);
}

template <class G, class Context>
constexpr bool check_one_guard() {
  if constexpr (has_can_activate<G, Context>::value) {
    return true;
  } else {
    return raise_portico_error_guard_without_can_activate<bool, G, Context>();
  }
}

template <class Context, class... G>
constexpr bool check_guard_list(portico::guards<G...>*) {
  return (check_one_guard<G, Context>() && ...);
}

}  // namespace framework::detail

/// guards<global..., class..., handler...>: the lists concatenated in the order given.
template <class... Lists>
using combine_guards_t = typename framework::detail::combine_guards<Lists...>::type;

/// `T::guards` when T declares it, else guards<>.
template <class T>
using guards_of_t = typename framework::detail::guards_of<T>::type;

/// Checks at compile time that every guard of List has `bool can_activate(Context&)`; a guard
/// that lacks it is a compile error naming it. Usable in a static_assert at registration.
template <class List, class Context>
constexpr bool check_guards() {
  return framework::detail::check_guard_list<Context>(static_cast<List*>(nullptr));
}

/// Constructs and runs each guard of List in order, resolving their dependencies from Module
/// (default: the container's root module); stops at the first refusal. Returns whether all
/// guards allowed. Exceptions thrown by a guard propagate (the gateway layer maps them).
template <class List, class Module = void, class Container, class Context>
bool run_guards(Container& c, Context& ctx, connection_scope* scope = nullptr) {
  using M = std::conditional_t<std::is_void_v<Module>, typename Container::root, Module>;
  return framework::detail::run_guard_list<M>(c, ctx, scope, static_cast<List*>(nullptr));
}

template <class List, class Module = void, class Container, class Context>
bool run_guards(Container& c, Context& ctx, connection_scope& scope) {
  return run_guards<List, Module>(c, ctx, &scope);
}

}  // namespace portico
// ---- end portico/framework/guards.hpp ----
// ---- begin portico/framework/interceptors.hpp ----
/// Interceptors as policy types (NestJS `@UseInterceptors`).
///
/// An interceptor is a class with one or both hooks around a handler:
///   void before(Context&)                      runs before the handler (logging, timing)
///   bool before(Context&, Result&)             false: the handler does not run and Result (set
///                                              here, e.g. from a cache) is the answer
///   void after(Context&, Result&)              runs after the handler; may replace Result
/// Context/Result: `portico::gateway_context` / `portico::handler_result` for a gateway handler,
/// `portico::http_context` / `http::response` for a controller route. One instance lives from its
/// `before` to its `after` (a member can hold a start time). Interceptors are constructed through
/// the DI container for each call, so they may inject providers (a cache, a metrics sink).
///
/// Order: class interceptors then handler interceptors for `before`, the reverse for `after`
/// (each wraps the next). A short-circuit by interceptor k skips the handler and the inner
/// interceptors; the `after` of the outer ones (0..k) still runs. An exception skips every
/// remaining hook and goes to the filters. No interceptor declared: nothing of this runs.

#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>


PORTICO_DI_DIAGNOSTIC(portico_error_interceptor_without_before_or_after,
                      declare_before_taking_the_context_or_after_taking_the_context_and_the_result)
PORTICO_DI_DIAGNOSTIC(portico_error_interceptor_before_with_result_must_return_bool,
                      return_false_from_before_to_answer_with_the_result_without_the_handler)

namespace portico {

/// `using interceptors = portico::interceptors<I...>;` in a gateway or controller, or
/// `portico::interceptors<I...>{}` after a handler in `subscribe(...)` / a route.
template <class... I>
struct interceptors {};

namespace framework::detail {

template <class... Lists>
struct combine_interceptors {
  using type = rename_t<portico::interceptors, concat_t<rename_t<type_list, Lists>...>>;
};

template <class T, class = void>
struct interceptors_of {
  using type = portico::interceptors<>;
};
template <class T>
struct interceptors_of<T, std::void_t<typename T::interceptors>> {
  using type = typename T::interceptors;
};

template <class I, class Ctx, class = void>
struct has_before : std::false_type {};
template <class I, class Ctx>
struct has_before<I, Ctx, std::void_t<decltype(std::declval<I&>().before(std::declval<Ctx&>()))>> : std::true_type {};

template <class I, class Ctx, class R, class = void>
struct has_before_result : std::false_type {};
template <class I, class Ctx, class R>
struct has_before_result<I, Ctx, R, std::void_t<decltype(std::declval<I&>().before(std::declval<Ctx&>(), std::declval<R&>()))>>
    : std::true_type {
  static constexpr bool returns_bool =
      std::is_convertible_v<decltype(std::declval<I&>().before(std::declval<Ctx&>(), std::declval<R&>())), bool>;
};

template <class I, class Ctx, class R, class = void>
struct has_after : std::false_type {};
template <class I, class Ctx, class R>
struct has_after<I, Ctx, R, std::void_t<decltype(std::declval<I&>().after(std::declval<Ctx&>(), std::declval<R&>()))>>
    : std::true_type {};

template <class I, class Ctx, class R>
constexpr bool check_one_interceptor() {
  if constexpr (!has_before<I, Ctx>::value && !has_before_result<I, Ctx, R>::value && !has_after<I, Ctx, R>::value)
    return raise_portico_error_interceptor_without_before_or_after<bool, I, Ctx>();
  else if constexpr (has_before_result<I, Ctx, R>::value && !has_before_result<I, Ctx, R>::returns_bool)
    return raise_portico_error_interceptor_before_with_result_must_return_bool<bool, I, Ctx>();
  else
    return true;
}

template <class I, class Ctx, class R>
constexpr bool interceptor_valid() {
  if constexpr (has_before_result<I, Ctx, R>::value) return has_before_result<I, Ctx, R>::returns_bool;
  else return has_before<I, Ctx>::value || has_after<I, Ctx, R>::value;
}
template <class Ctx, class R, class... I>
constexpr bool interceptor_list_valid(portico::interceptors<I...>*) {
  return (interceptor_valid<I, Ctx, R>() && ...);
}

template <class Ctx, class R, class... I>
constexpr bool check_interceptor_list(portico::interceptors<I...>*) {
  return (check_one_interceptor<I, Ctx, R>() && ...);
}

template <class Env, class Ctx, class R, class Call>
void intercept_chain(Env&, Ctx&, R& result, Call& call, portico::interceptors<>*) {
  call(result);
}
/// I's before, then the rest of the chain (the handler last), then I's after.
template <class Env, class Ctx, class R, class Call, class I, class... Rest>
void intercept_chain(Env& env, Ctx& ctx, R& result, Call& call, portico::interceptors<I, Rest...>*) {
  auto i = env.template make<I>();
  bool proceed = true;
  if constexpr (has_before_result<I, Ctx, R>::value) proceed = static_cast<bool>(i.before(ctx, result));
  else if constexpr (has_before<I, Ctx>::value) i.before(ctx);
  if (proceed) intercept_chain(env, ctx, result, call, static_cast<portico::interceptors<Rest...>*>(nullptr));
  if constexpr (has_after<I, Ctx, R>::value) i.after(ctx, result);
}

}  // namespace framework::detail

/// Interceptors around a handler that answers later (a deferred route): `before` constructs
/// each interceptor through `env` and runs its hook, in order, at once; `after` runs the
/// `after` hooks of those entered, in reverse, when the answer comes (from any thread). Same
/// order and short-circuit as run_with_interceptors; an interceptor must be move-constructible
/// here (it is kept until the answer).
template <class List, class Context, class Result>
class deferred_interceptors;
template <class Context, class Result, class... I>
class deferred_interceptors<interceptors<I...>, Context, Result> {
 public:
  /// false: an interceptor answered (`result`); the handler must not run.
  template <class Env>
  bool before(Env& env, Context& ctx, Result& result) {
    return before_from<0>(env, ctx, result);
  }
  void after(Context& ctx, Result& result) { after_down<sizeof...(I)>(ctx, result); }

 private:
  template <std::size_t K, class Env>
  bool before_from(Env& env, Context& ctx, Result& result) {
    if constexpr (K == sizeof...(I)) {
      static_cast<void>(env), static_cast<void>(ctx), static_cast<void>(result);
      return true;
    } else {
      using T = framework::detail::type_at_t<K, I...>;
      auto& slot = std::get<K>(instances_);
      slot.emplace(env.template make<T>());
      entered_ = K + 1;  // its `after` runs from here on, even if it answers itself
      bool proceed = true;
      if constexpr (framework::detail::has_before_result<T, Context, Result>::value)
        proceed = static_cast<bool>(slot->before(ctx, result));
      else if constexpr (framework::detail::has_before<T, Context>::value)
        slot->before(ctx);
      return proceed && before_from<K + 1>(env, ctx, result);
    }
  }
  template <std::size_t K>
  void after_down(Context& ctx, Result& result) {
    if constexpr (K > 0) {
      using T = framework::detail::type_at_t<K - 1, I...>;
      if constexpr (framework::detail::has_after<T, Context, Result>::value)
        if (K <= entered_) std::get<K - 1>(instances_)->after(ctx, result);
      after_down<K - 1>(ctx, result);
    } else {
      static_cast<void>(ctx), static_cast<void>(result);
    }
  }

  std::tuple<std::optional<I>...> instances_;
  std::size_t entered_ = 0;
};

/// interceptors<class..., handler...>: the lists concatenated in the order given.
template <class... Lists>
using combine_interceptors_t = typename framework::detail::combine_interceptors<Lists...>::type;

/// `T::interceptors` when T declares it, else interceptors<>.
template <class T>
using interceptors_of_t = typename framework::detail::interceptors_of<T>::type;

/// Checks at compile time that every interceptor of List has a hook for Context/Result.
template <class List, class Context, class Result>
constexpr bool check_interceptors() {
  return framework::detail::check_interceptor_list<Context, Result>(static_cast<List*>(nullptr));
}

/// Whether every interceptor of List can serve Context/Result (no diagnostic).
template <class List, class Context, class Result>
constexpr bool interceptors_valid() {
  return framework::detail::interceptor_list_valid<Context, Result>(static_cast<List*>(nullptr));
}

/// Runs `call(result)` (the handler, filling `result`) inside the interceptors of List.
/// `env.template make<I>()` constructs an interceptor.
template <class List, class Env, class Context, class Result, class Call>
void run_with_interceptors(Env& env, Context& ctx, Result& result, Call&& call) {
  framework::detail::intercept_chain(env, ctx, result, call, static_cast<List*>(nullptr));
}

}  // namespace portico
// ---- end portico/framework/interceptors.hpp ----

namespace portico {

/// Which Engine.IO transports a path accepts.
enum class transports : unsigned { polling = 1, websocket = 2, polling_and_websocket = 3 };

/// Where a gateway listens and how its server behaves. A literal type, so it can be a
/// `static constexpr` member. Gateways on one path share one Socket.IO server: the app merges
/// their options (see docs/gateways.md, "Several gateways").
struct gateway_options {
  std::string_view path = "/socket.io";   ///< HTTP path of the Socket.IO server
  std::string_view namespace_name = "/";  ///< the Socket.IO namespace of this gateway ("chat" = "/chat")
  transports transport = transports::polling_and_websocket;
  std::string_view cors_origins = {};     ///< comma-separated allowed origins, "*" for any; empty: no CORS
  long ping_interval_ms = 0;              ///< 0: the server default (25000)
  long ping_timeout_ms = 0;               ///< 0: the server default (20000)
  bool disconnect_on_error = false;       ///< after sending an `error` event, disconnect the client

  constexpr gateway_options() = default;
  constexpr gateway_options(std::string_view p, std::string_view nsp = "/") : path(p), namespace_name(nsp) {}

  constexpr gateway_options with_transports(transports t) const {
    gateway_options o = *this;
    o.transport = t;
    return o;
  }
  constexpr gateway_options with_cors(std::string_view origins) const {
    gateway_options o = *this;
    o.cors_origins = origins;
    return o;
  }
  constexpr gateway_options with_ping(long interval_ms, long timeout_ms) const {
    gateway_options o = *this;
    o.ping_interval_ms = interval_ms;
    o.ping_timeout_ms = timeout_ms;
    return o;
  }
  constexpr gateway_options with_disconnect_on_error(bool yes = true) const {
    gateway_options o = *this;
    o.disconnect_on_error = yes;
    return o;
  }
  /// `namespace_name` as the server names it: empty is "/", a missing leading '/' is added.
  std::string normalized_namespace() const {
    if (namespace_name.empty()) return "/";
    return std::string(namespace_name.front() == '/' ? "" : "/") + std::string(namespace_name);
  }
};

/// Optional base of a gateway (documents intent; the app accepts any class listed in
/// `portico::gateways<...>`).
template <class Derived>
struct gateway {
  /// The gateway's own type: lets `PORTICO_SUBSCRIBE(member)` omit the class name.
  using portico_gateway_type = Derived;
};

/// One entry of a gateway's event table. `name == nullptr` is the catch-all.
template <class Fn, class Guards, class Filters = filters<>, class Interceptors = interceptors<>>
struct subscription {
  const char* name;
  Fn fn;
  using handler_guards = Guards;
  using handler_filters = Filters;
  using handler_interceptors = Interceptors;
  using function = Fn;
};

namespace framework::detail {

template <class P>
struct is_policy_list : std::false_type {};
template <class... T>
struct is_policy_list<guards<T...>> : std::true_type {};
template <class... T>
struct is_policy_list<filters<T...>> : std::true_type {};
template <class... T>
struct is_policy_list<interceptors<T...>> : std::true_type {};

/// The guards<...>, filters<...> and interceptors<...> values given after a handler, each kind
/// concatenated in the order given.
template <class... P>
struct policy_set {
  static_assert((is_policy_list<P>::value && ...),
                "portico: after the handler, give portico::guards<...>{}, portico::filters<...>{} or "
                "portico::interceptors<...>{} values only");
  template <template <class...> class Kind, class T>
  struct keep {
    using type = type_list<>;
  };
  template <template <class...> class Kind, class... T>
  struct keep<Kind, Kind<T...>> {
    using type = type_list<T...>;
  };
  using guards_type = rename_t<portico::guards, concat_t<typename keep<portico::guards, P>::type...>>;
  using filters_type = rename_t<portico::filters, concat_t<typename keep<portico::filters, P>::type...>>;
  using interceptors_type = rename_t<portico::interceptors, concat_t<typename keep<portico::interceptors, P>::type...>>;
  template <class Q>
  using plus = policy_set<P..., Q>;
};

template <class Fn, class... P>
using subscription_for = subscription<Fn, typename policy_set<P...>::guards_type, typename policy_set<P...>::filters_type,
                                      typename policy_set<P...>::interceptors_type>;

}  // namespace framework::detail

/// Subscribes member function `fn` to event `name`, with optional handler policies after it:
/// `portico::guards<AdminGuard>{}` (checked before it on every message),
/// `portico::filters<F...>{}` (tried before the class's filters on an exception),
/// `portico::interceptors<I...>{}` (inside the class's interceptors), in any order.
template <class Fn, class... P>
constexpr framework::detail::subscription_for<Fn, P...> subscribe(const char* name, Fn fn, P...) {
  static_assert(std::is_member_function_pointer_v<Fn>,
                "portico::subscribe(name, &Gateway::member): the handler must be a member function of the gateway");
  return {name, fn};
}

/// The catch-all: events of the namespace that have no subscription of their own
/// (`ctx.event()` says which).
template <class Fn, class... P>
constexpr framework::detail::subscription_for<Fn, P...> subscribe_any(Fn fn, P...) {
  static_assert(std::is_member_function_pointer_v<Fn>,
                "portico::subscribe_any(&Gateway::member): the handler must be a member function of the gateway");
  return {nullptr, fn};
}

/// The event table of a gateway: `static constexpr auto events = portico::events(...);`.
template <class... S>
constexpr std::tuple<S...> events(S... s) {
  return std::tuple<S...>{s...};
}

/// One entry of a gateway's server-event table: `fn(const socketio::args&)` runs when another
/// server of the cluster calls `server_side_emit(name, ...)` on the gateway's namespace; what it
/// returns (if not void) is the answer to a `server_side_emit_with_ack`.
template <class Fn>
struct server_subscription {
  const char* name;
  Fn fn;
};

/// Subscribes member function `fn` to server event `name` (Node's `io.on(name, ...)` for
/// `serverSideEmit`): `static constexpr auto server_events = portico::events(
/// portico::on_server_event("hello", &Gateway::hello));`. It runs on the cluster adapter's thread
/// (no gateway_context: there is no client); keep it short.
template <class Fn>
constexpr server_subscription<Fn> on_server_event(const char* name, Fn fn) {
  static_assert(std::is_member_function_pointer_v<Fn>,
                "portico::on_server_event(name, &Gateway::member): the handler must be a member function of the gateway");
  return {name, fn};
}

/// Subscribes a member under its own name: `PORTICO_SUBSCRIBE(EventGateway, handle_event)`.
/// Inside a class deriving from `portico::gateway<Self>`, `PORTICO_SUBSCRIBE(handle_event)` says the
/// same (a class template names itself: its base is dependent).
#define PORTICO_SUBSCRIBE(...) \
  PORTICO_DETAIL_SUBSCRIBE_PICK(__VA_ARGS__, PORTICO_DETAIL_SUBSCRIBE2, PORTICO_DETAIL_SUBSCRIBE1, )(__VA_ARGS__)
#define PORTICO_DETAIL_SUBSCRIBE_PICK(a, b, chosen, ...) chosen
#define PORTICO_DETAIL_SUBSCRIBE2(Gateway, member) ::portico::subscribe(#member, &Gateway::member)
#define PORTICO_DETAIL_SUBSCRIBE1(member) ::portico::subscribe(#member, &portico_gateway_type::member)

namespace framework::detail {

template <class G, class = void>
struct options_of {
  static constexpr gateway_options value{};
};
template <class G>
struct options_of<G, std::void_t<decltype(G::options)>> {
  static constexpr gateway_options value = G::options;
};

template <class G, class = void>
struct events_of {
  using type = std::tuple<>;
  static constexpr type value{};
};
template <class G>
struct events_of<G, std::void_t<decltype(G::events)>> {
  using type = std::remove_cv_t<decltype(G::events)>;
  static constexpr const type& value = G::events;
};

template <class G, class = void>
struct server_events_of {
  using type = std::tuple<>;
  static constexpr type value{};
};
template <class G>
struct server_events_of<G, std::void_t<decltype(G::server_events)>> {
  using type = std::remove_cv_t<decltype(G::server_events)>;
  static constexpr const type& value = G::server_events;
};

}  // namespace framework::detail

}  // namespace portico
// ---- end portico/framework/gateway.hpp ----
// ---- begin portico/framework/global_policies.hpp ----
/// App-wide guards, filters and interceptors (NestJS `app.useGlobalGuards`,
/// `useGlobalFilters`, `useGlobalInterceptors`), declared as types on the app:
///
///     using App = portico::app<AppModule>::with_global_filters<ErrorsToProblem>
///                                         ::with_global_interceptors<Metrics>;
///
/// or in one list: `portico::app<AppModule, portico::global_policies<guards<G>, filters<F>,
/// interceptors<I>>>` (`app<M, guards<G...>>` still means global guards only). They apply to
/// every gateway handler and every controller route (and, for guards and the filters that serve
/// it, every gateway CONNECT), outermost: global guards run first, global interceptors wrap the
/// class's, global filters are tried last (after the handler's and the class's, before the
/// built-in mapping). Like global guards, they are constructed through the container as seen
/// from the module of the gateway or controller they serve (docs/guards.md, "Order").

#include <type_traits>


namespace portico {

/// A bundle of app-wide policy lists: `guards<...>`, `filters<...>`, `interceptors<...>`, in any
/// order, each kind concatenated in the order given.
template <class... P>
struct global_policies {};

namespace framework::detail {

/// The app's global parameter (`guards<...>` or `global_policies<...>`) as a policy_set.
template <class X>
struct globals_of {
  static_assert(sizeof(X) == 0,
                "portico::app<Root, Global>: Global is portico::guards<...> or portico::global_policies<...>");
  using type = policy_set<>;
};
template <class... G>
struct globals_of<portico::guards<G...>> {
  using type = policy_set<portico::guards<G...>>;
};
template <class... P>
struct globals_of<portico::global_policies<P...>> {
  static constexpr bool valid = (is_policy_list<P>::value && ...);
  static_assert(valid, "portico::global_policies<...>: give portico::guards<...>, portico::filters<...> or "
                       "portico::interceptors<...> lists only");
  using type = std::conditional_t<valid, policy_set<P...>, policy_set<>>;  // one error, not two
};
template <class X>
using globals_of_t = typename globals_of<X>::type;

/// Global plus one more list, appended.
template <class X, class Add>
struct add_global;
template <class... G, class Add>
struct add_global<portico::guards<G...>, Add> {
  using type = portico::global_policies<portico::guards<G...>, Add>;
};
template <class... G, class... H>
struct add_global<portico::guards<G...>, portico::guards<H...>> {
  using type = portico::guards<G..., H...>;  // guards only: the short spelling stays
};
template <class Add>
struct add_global<portico::guards<>, Add> {  // nothing yet: one spelling whatever the order
  using type = portico::global_policies<Add>;
};
template <class... H>
struct add_global<portico::guards<>, portico::guards<H...>> {
  using type = portico::guards<H...>;
};
template <class... P, class Add>
struct add_global<portico::global_policies<P...>, Add> {
  using type = portico::global_policies<P..., Add>;
};
template <class X, class Add>
using add_global_t = typename add_global<X, Add>::type;

/// Global plus several lists, appended in order.
template <class X, class... Add>
struct add_globals {
  using type = X;
};
template <class X, class A, class... Rest>
struct add_globals<X, A, Rest...> : add_globals<add_global_t<X, A>, Rest...> {};

}  // namespace framework::detail

}  // namespace portico
// ---- end portico/framework/global_policies.hpp ----

namespace portico {

/// Where a controller's routes live. A literal type, so it can be a `static constexpr` member.
struct controller_options {
  std::string_view prefix = {};  ///< prepended to every route pattern ("/car")

  constexpr controller_options() = default;
  constexpr controller_options(std::string_view p) : prefix(p) {}
};

/// Optional base of a controller (documents intent; the app accepts any class listed in
/// `portico::controllers<...>` that has a `routes(Routes&)` member).
template <class Derived>
struct controller {};

/// Thrown by a guard or a handler: the request is answered with that status and
/// `{"detail": ...}` (a ws upgrade is refused with it). See http/exception.hpp.
using http_exception = http::http_exception;

namespace framework::detail {

template <class C, class = void>
struct controller_options_of {
  static constexpr controller_options value{};
};
template <class C>
struct controller_options_of<C, std::void_t<decltype(C::options)>> {
  static constexpr controller_options value = C::options;
};

template <class C, class R, class = void>
struct has_routes : std::false_type {};
template <class C, class R>
struct has_routes<C, R, std::void_t<decltype(std::declval<C&>().routes(std::declval<R&>()))>> : std::true_type {};

/// A member function pointer bound to the controller instance. SFINAE-friendly, so the router's
/// "does it take http::request& first?" test sees the member's real signature.
template <class C, class Fn>
struct bound_member {
  C* self;
  Fn fn;
  template <class... A>
  auto operator()(A&&... a) const -> decltype((std::declval<C&>().*std::declval<Fn&>())(std::forward<A>(a)...)) {
    return (self->*fn)(std::forward<A>(a)...);
  }
};

template <class C, class F>
auto bind_handler(C* self, F f) {
  if constexpr (std::is_member_function_pointer_v<F>) return bound_member<C, F>{self, f};
  else return f;
}

/// How filters and interceptors of a route are built (no connection scope) and how a filter
/// answers: one that sends no response passes the exception on (`throw;`).
template <class Container, class Module>
struct http_policy_env {
  Container& c;
  http_context& ctx;
  std::optional<http::response> answer;
  template <class T>
  T make() {
    return c.template make_unscoped<T, Module>();
  }
  template <class F, class E>
  void handle(F& f, const E& ex) {
    http_exception_host host(ctx);
    f.catch_exception(ex, host);
    if (!host.answered()) throw;
    answer = std::move(*host.response());
  }
};

/// One guard of an HTTP route: built without a connection scope (none exists for a request).
template <class G, class Module, class Container>
bool run_http_guard(Container& c, http_context& ctx) {
  if constexpr (!has_can_activate<G, http_context>::value) {
    static_cast<void>(c), static_cast<void>(ctx);
    return raise_portico_error_guard_without_can_activate<bool, G, http_context>();
  } else {
    return static_cast<bool>(c.template make_unscoped<G, Module>().can_activate(ctx));
  }
}

/// The chain in order; the first refusal (false or an exception) stops it.
template <class Module, class Container, class... G>
bool run_http_guards(Container& c, http_context& ctx, guards<G...>*) {
  return (run_http_guard<G, Module>(c, ctx) && ...);
}

}  // namespace framework::detail

/// The `Routes` a controller's `routes()` receives: routes added here are served under the
/// controller's prefix with its guards.
template <class Container, class C, class Global>
class controller_routes {
 public:
  using container_type = Container;
  using controller_type = C;
  using module = typename Container::template module_of_t<C>;

  /// Which kind of route a call adds (policies differ: interceptors wrap plain and deferred routes).
  enum class route_kind { plain, deferred, ws };

  controller_routes(Container& c, C& self, http::route_group group) : container_(&c), self_(&self), group_(std::move(group)) {}

  template <class F, class... A>
  http::route& get(std::string pattern, F f, A... args) {
    return add("GET", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& post(std::string pattern, F f, A... args) {
    return add("POST", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& put(std::string pattern, F f, A... args) {
    return add("PUT", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& patch(std::string pattern, F f, A... args) {
    return add("PATCH", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& del(std::string pattern, F f, A... args) {
    return add("DELETE", std::move(pattern), std::move(f), std::move(args)...);
  }

  /// Deferred routes: `f(http::responder, params...)` answers later with responder.send(), from
  /// any thread (see http::route_builder::add_deferred).
  template <class F, class... A>
  http::route& get_deferred(std::string pattern, F f, A... args) {
    return add_deferred("GET", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& post_deferred(std::string pattern, F f, A... args) {
    return add_deferred("POST", std::move(pattern), std::move(f), std::move(args)...);
  }
  template <class F, class... A>
  http::route& add_deferred(std::string method, std::string pattern, F f, A... args) {
    return peel<route_kind::deferred, framework::detail::policy_set<>>(std::move(method), std::move(pattern),
                                                                       std::move(f), std::move(args)...);
  }

  /// Plain mode: `f(const http::websocket_ptr&, params...)`; event mode: an `http::ws_events<Body, T...>`.
  template <class F, class... A>
  http::ws_route& ws(std::string pattern, F f, A... args) {
    return peel<route_kind::ws, framework::detail::policy_set<>>(std::string(), std::move(pattern), std::move(f),
                                                                 std::move(args)...);
  }

  C& controller() const noexcept { return *self_; }
  Container& container() const noexcept { return *container_; }

 private:
  template <class F, class... A>
  http::route& add(std::string method, std::string pattern, F f, A... args) {
    return peel<route_kind::plain, framework::detail::policy_set<>>(std::move(method), std::move(pattern), std::move(f),
                                                                    std::move(args)...);
  }

  /// Moves the leading guards/filters/interceptors values into Set; the rest are parameters.
  template <route_kind Kind, class Set, class F, class... A>
  decltype(auto) peel(std::string method, std::string pattern, F f, A... args) {
    if constexpr (sizeof...(A) > 0)
      return peel_first<Kind, Set>(std::move(method), std::move(pattern), std::move(f), std::move(args)...);
    else
      return finish<Kind, Set>(std::move(method), std::move(pattern), std::move(f));
  }
  template <route_kind Kind, class Set, class F, class First, class... Rest>
  decltype(auto) peel_first(std::string method, std::string pattern, F f, First first, Rest... rest) {
    if constexpr (framework::detail::is_policy_list<First>::value)
      return peel<Kind, typename Set::template plus<First>>(std::move(method), std::move(pattern), std::move(f),
                                                            std::move(rest)...);
    else
      return finish<Kind, Set>(std::move(method), std::move(pattern), std::move(f), std::move(first), std::move(rest)...);
  }

  template <route_kind Kind, class Set, class F, class... P>
  decltype(auto) finish(std::string method, std::string pattern, F f, P... params) {
    auto h = framework::detail::bind_handler(self_, std::move(f));
    if constexpr (Kind == route_kind::ws) {
      static_assert(std::is_same_v<typename Set::interceptors_type, interceptors<>>,
                    "portico: interceptors apply to plain HTTP routes, not to ws routes");
      http::ws_route& r = group_.ws(std::move(pattern), std::move(h), std::move(params)...);
      protect<Set>(r, true);
      return r;
    } else if constexpr (Kind == route_kind::deferred) {
      http::route& r = group_.add_deferred(std::move(method), std::move(pattern), std::move(h), std::move(params)...);
      protect<Set>(r, false);
      wrap_deferred<Set>(r);
      return r;
    } else {
      http::route& r = group_.add(std::move(method), std::move(pattern), std::move(h), std::move(params)...);
      protect<Set>(r, false);
      wrap<Set>(r);
      return r;
    }
  }

  /// The app's guards, filters and interceptors (Global: `guards<...>` or `global_policies<...>`).
  using global_set = framework::detail::globals_of_t<Global>;
  template <class Set>
  using chain_guards = combine_guards_t<typename global_set::guards_type, guards_of_t<C>, typename Set::guards_type>;
  /// The route's filters first, then the class's, then the app's that serve routes.
  template <class Set>
  using chain_filters = combine_filters_t<typename Set::filters_type, filters_of_t<C>,
                                          serving_t<typename global_set::filters_type, http_exception_host>>;
  /// The app's interceptors first (outermost), then the class's, then the route's.
  template <class Set>
  using chain_interceptors =
      combine_interceptors_t<typename global_set::interceptors_type, interceptors_of_t<C>, typename Set::interceptors_type>;
  using env_type = framework::detail::http_policy_env<Container, module>;

  /// One check per route running the whole guard chain (inside the filters when there are
  /// some: NestJS's order); none when both are empty. The router maps what escapes it:
  /// http_exception -> its status, other exceptions -> 500 + log line.
  template <class Set, class R>
  void protect(R& route, bool websocket) {
    using guards_list = chain_guards<Set>;
    using filters_list = chain_filters<Set>;
    if constexpr (!filters_valid<filters_list, http_exception_host>()) {
      static_cast<void>(check_filters<filters_list, http_exception_host>());
    } else if constexpr (!std::is_same_v<filters_list, filters<>> && !std::is_same_v<guards_list, guards<>>) {
      Container* c = container_;
      route.check([c, websocket](const http::request& req) -> std::optional<http::response> {
        http_context ctx(req, websocket);
        env_type env{*c, ctx, std::nullopt};
        run_with_filters<filters_list>(env, [&] {
          if (!framework::detail::run_http_guards<module>(*c, ctx, static_cast<guards_list*>(nullptr)))
            throw http_exception(403, "Forbidden");
        });
        return std::move(env.answer);
      });
    } else if constexpr (!std::is_same_v<guards_list, guards<>>) {
      Container* c = container_;
      route.check([c, websocket](const http::request& req) -> std::optional<http::response> {
        http_context ctx(req, websocket);
        if (framework::detail::run_http_guards<module>(*c, ctx, static_cast<guards_list*>(nullptr))) return std::nullopt;
        return http::error(403, "Forbidden");
      });
    } else {
      static_cast<void>(route), static_cast<void>(websocket);
    }
  }

  /// The handler inside the route's interceptors and filters; untouched when it has neither.
  template <class Set>
  void wrap(http::route& route) {
    using filters_list = chain_filters<Set>;
    using interceptors_list = chain_interceptors<Set>;
    if constexpr (!interceptors_valid<interceptors_list, http_context, http::response>()) {
      static_cast<void>(check_interceptors<interceptors_list, http_context, http::response>());
    } else if constexpr (filters_valid<filters_list, http_exception_host>() &&
                         !(std::is_same_v<filters_list, filters<>> && std::is_same_v<interceptors_list, interceptors<>>)) {
      Container* c = container_;
      route.handler = [c, inner = std::move(route.handler)](http::request& req) -> http::response {
        http_context ctx(req, false);
        env_type env{*c, ctx, std::nullopt};
        http::response out;
        run_with_filters<filters_list>(env, [&] {
          run_with_interceptors<interceptors_list>(env, ctx, out, [&](http::response& r) { r = inner(req); });
        });
        if (env.answer) return std::move(*env.answer);
        return out;
      };
    } else {
      static_cast<void>(route);
    }
  }

  /// A deferred route inside its interceptors (the `after`s run when the responder answers,
  /// on that thread) and filters (what `before` or the handler throws at once; what an `after`
  /// throws is mapped as the router maps it: http_exception -> its status, else 500).
  template <class Set>
  void wrap_deferred(http::route& route) {
    using filters_list = chain_filters<Set>;
    using interceptors_list = chain_interceptors<Set>;
    if constexpr (!interceptors_valid<interceptors_list, http_context, http::response>()) {
      static_cast<void>(check_interceptors<interceptors_list, http_context, http::response>());
    } else if constexpr (filters_valid<filters_list, http_exception_host>() &&
                         !std::is_same_v<interceptors_list, interceptors<>>) {
      struct call {  // one request: outlives the handler's return until the answer
        explicit call(const http::request& r) : req(r), ctx(req, false) {}
        http::request req;  // a copy: the router's is gone when a late answer comes
        http_context ctx;
        http::response result;
        deferred_interceptors<interceptors_list, http_context, http::response> chain;
        std::atomic<bool> failed{false};  // an exception answered: no `after` runs
      };
      Container* c = container_;
      route.deferred = [c, inner = std::move(route.deferred)](http::request& req, http::responder rsp) {
        auto st = std::make_shared<call>(req);
        auto finish = [st, rsp] {
          try {
            st->chain.after(st->ctx, st->result);
          } catch (const http_exception& e) {
            st->result = e.to_response();
          } catch (...) {
            st->result = http::error(500, "Internal Server Error");
          }
          rsp.send(std::move(st->result));
        };
        env_type env{*c, st->ctx, std::nullopt};
        bool proceed = false;
        try {
          run_with_filters<filters_list>(env, [&] {
            proceed = st->chain.before(env, st->ctx, st->result);
            if (!proceed) return;
            http::responder later([st, finish](http::response r) {
              if (st->failed.load()) return;
              st->result = std::move(r);
              finish();
            });
            try {
              inner(req, later);
            } catch (...) {
              st->failed = true;  // `later` dies unanswered below: its 500 must not run the `after`s
              throw;
            }
          });
        } catch (...) {
          st->failed = true;
          throw;
        }
        if (env.answer) {
          st->failed = true;
          rsp.send(std::move(*env.answer));
        } else if (!proceed) {
          finish();
        }
      };
    } else {
      static_cast<void>(route);
    }
  }

  Container* container_;
  C* self_;
  http::route_group group_;
};

namespace framework::detail {

/// Lets controller C add its routes to `r` (called once, when the app is built).
template <class Global, class C, class Container>
void install_controller(Container& c, http::router& r) {
  using routes_t = controller_routes<Container, C, Global>;
  static_assert(has_routes<C, routes_t>::value,
                "portico: a controller declares its routes in `template <class Routes> void routes(Routes& r)`");
  C& self = c.template component<C>();
  routes_t routes(c, self, r.group(std::string(controller_options_of<C>::value.prefix)));
  self.routes(routes);
}

}  // namespace framework::detail

}  // namespace portico
// ---- end portico/framework/controller.hpp ----
// ---- begin portico/framework/detail/bare_engine.hpp ----
/// The app's calls into an Engine.IO server it holds itself (an app without gateways serves its
/// router on a bare one). Out of line in the separately compiled mode (PORTICO_DECL): `app<M>`
/// is a template every user TU instantiates, and calling engineio::server's inline members from
/// it would compile the whole Engine.IO server into each of them.

#include <cstdint>
#include <memory>
#include <string>

namespace portico::engineio {
class server;
}
namespace portico::http {
class router;
}

namespace portico::framework::detail {

struct engine_deleter {
  PORTICO_DECL void operator()(engineio::server* s) const noexcept;
};
using engine_ptr = std::unique_ptr<engineio::server, engine_deleter>;

PORTICO_DECL engine_ptr make_engine(const engineio::server_options& o);
PORTICO_DECL void engine_listen(engineio::server& e, const std::string& host, std::uint16_t port);
PORTICO_DECL std::uint16_t engine_port(const engineio::server& e);
PORTICO_DECL void engine_start(engineio::server& e);
PORTICO_DECL void engine_run(engineio::server& e);
PORTICO_DECL void engine_stop(engineio::server& e);
/// http::serve(e, r): the router answers e's plain HTTP requests and WebSocket routes.
PORTICO_DECL void serve_router(engineio::server& e, http::router& r);

}  // namespace portico::framework::detail

// ---- begin portico/framework/impl/bare_engine.ipp ----
/// Definitions of framework/detail/bare_engine.hpp, which includes this file: compiled in every
/// TU header-only, only in the TU of <portico/impl/src.hpp> separately (config.hpp).

#if PORTICO_COMPILE_IMPL
namespace portico::framework::detail {

PORTICO_DECL void engine_deleter::operator()(engineio::server* s) const noexcept { delete s; }
PORTICO_DECL engine_ptr make_engine(const engineio::server_options& o) { return engine_ptr(new engineio::server(o)); }
PORTICO_DECL void engine_listen(engineio::server& e, const std::string& host, std::uint16_t port) { e.listen(host, port); }
PORTICO_DECL std::uint16_t engine_port(const engineio::server& e) { return e.port(); }
PORTICO_DECL void engine_start(engineio::server& e) { e.start(); }
PORTICO_DECL void engine_run(engineio::server& e) { e.run(); }
PORTICO_DECL void engine_stop(engineio::server& e) { e.stop(); }
PORTICO_DECL void serve_router(engineio::server& e, http::router& r) { http::serve(e, r); }

}  // namespace portico::framework::detail

#endif  // PORTICO_COMPILE_IMPL
// ---- end portico/framework/impl/bare_engine.ipp ----
// ---- end portico/framework/detail/bare_engine.hpp ----
// ---- begin portico/framework/di/container.hpp ----
/// The compile-time DI container of one application module graph.
///
/// `portico::container<AppModule>` resolves everything its root module can see; which provider
/// answers a request, in which module it lives, its scope, and the constructor used are all
/// decided at compile time. A misuse is a compile error whose first line names the type and the
/// fix (see errors.hpp). At run time a resolution is a slot lookup plus, the first time, the
/// construction.
///
/// Requests (constructor parameters, `inject<...>` entries, factory parameters, get<Request>()):
///   T& / const T&          the shared instance (singleton, value or per-connection)
///   T                      a copy of the shared instance, or a new transient instance
///   std::shared_ptr<T>     shares ownership of the instance, or owns a new transient one
///   std::unique_ptr<T>     a new transient instance only
///
/// Threading: singletons are created lazily on first use; call instantiate() once before serving
/// from several threads. A connection_scope is used from its connection's thread only.

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

// ---- begin portico/framework/di/constructor.hpp ----
/// Constructor deduction: which arity of constructor the container calls when a class does not
/// declare `using inject = portico::inject<...>`.
///
/// A probe argument converts to any `U&` (and to any smart pointer by value), except to the class
/// itself so that copy and move constructors are not mistaken for injection points. The viable
/// arities 0..max_arity are tested in one pack expansion. Rules:
///   - exactly one arity >= 1 is viable: that constructor is used (a default constructor beside
///     it is ignored);
///   - only arity 0 is viable: default construction;
///   - several arities >= 1 are viable: ambiguous, a compile error asks for an inject list;
///   - aggregates are value-initialized (their fields are not injected);
///   - two overloads of the same arity make the probe ambiguous, so that arity is not viable:
///     declare an inject list for such classes.

#include <cstddef>
#include <type_traits>
#include <utility>

// ---- begin portico/framework/di/providers.hpp ----
/// Provider declarations: what may appear inside `portico::providers<...>`.
///   T                 construct T by constructor injection; provides T
///   bind<I, Impl>     construct Impl by constructor injection; provides I
///   value<T>          an instance supplied to the container constructor, else value-initialized
///   factory<T, &fn>   the result of calling fn (a function, or a constexpr lambda object whose
///                     address is taken) with injected arguments; provides T
///   factory_object<T, F>  the same with a default-constructible function object type F
/// Any of them may be wrapped in a scope (see scopes.hpp).

#include <memory>
#include <type_traits>

// ---- begin portico/framework/di/scopes.hpp ----
/// Lifetimes of provided instances. A provider declaration may be wrapped in one of these:
///   singleton<D>      one instance per module provider (the default when unwrapped)
///   transient<D>      a new instance for every injection (injected by value or smart pointer)
///   per_connection<D> one instance per client connection, owned by its connection_scope

namespace portico {

template <class Decl>
struct singleton {};
template <class Decl>
struct transient {};
template <class Decl>
struct per_connection {};

namespace framework::detail {

enum class scope_kind { singleton, transient, per_connection };

template <class Decl>
struct unwrap_scope {
  using type = Decl;
  static constexpr scope_kind scope = scope_kind::singleton;
};
template <class Decl>
struct unwrap_scope<singleton<Decl>> : unwrap_scope<Decl> {
  static constexpr scope_kind scope = scope_kind::singleton;
};
template <class Decl>
struct unwrap_scope<transient<Decl>> : unwrap_scope<Decl> {
  static constexpr scope_kind scope = scope_kind::transient;
};
template <class Decl>
struct unwrap_scope<per_connection<Decl>> : unwrap_scope<Decl> {
  static constexpr scope_kind scope = scope_kind::per_connection;
};

/// Wraps `Decl` back into the wrapper for `S` (used when an override replaces a provider).
template <scope_kind S, class Decl>
struct with_scope {
  using type = Decl;
};
template <class Decl>
struct with_scope<scope_kind::transient, Decl> {
  using type = transient<Decl>;
};
template <class Decl>
struct with_scope<scope_kind::per_connection, Decl> {
  using type = per_connection<Decl>;
};

}  // namespace framework::detail
}  // namespace portico
// ---- end portico/framework/di/scopes.hpp ----

namespace portico {

template <class... Decls>
struct providers {};
template <class Interface, class Implementation>
struct bind {};
template <class T>
struct value {};
template <class T, auto Fn>
struct factory {};
/// A factory given as a type: a default-constructible function object (a struct with one
/// operator(), or in C++20 a captureless lambda's type, `decltype(lambda)`).
template <class T, class F>
struct factory_object {};

namespace framework::detail {

enum class provider_kind { construct, value, factory };

template <class Decl>
struct decl_kind {
  using key = Decl;
  using impl = Decl;
  static constexpr provider_kind kind = provider_kind::construct;
};
template <class I, class Impl>
struct decl_kind<bind<I, Impl>> {
  using key = I;
  using impl = Impl;
  static constexpr provider_kind kind = provider_kind::construct;
};
template <class T>
struct decl_kind<value<T>> {
  using key = T;
  using impl = T;
  static constexpr provider_kind kind = provider_kind::value;
};
template <class T, auto Fn>
struct decl_kind<factory<T, Fn>> {
  using key = T;
  using impl = T;
  static constexpr provider_kind kind = provider_kind::factory;
  static constexpr auto fn = Fn;
};

/// The function object a factory_object calls (one per type, constructed at start-up).
template <class F>
inline F factory_instance{};

template <class T, class F>
struct decl_kind<factory_object<T, F>> {
  using key = T;
  using impl = T;
  static constexpr provider_kind kind = provider_kind::factory;
  static constexpr F* fn = &factory_instance<F>;
};

/// Everything the container needs to know about one provider declaration.
template <class Decl>
struct decl_traits : decl_kind<typename unwrap_scope<Decl>::type> {
  static constexpr scope_kind scope = unwrap_scope<Decl>::scope;
};

template <class Decl>
using key_of_t = typename decl_traits<Decl>::key;

template <class T>
struct is_smart_pointer : std::false_type {};
template <class T>
struct is_smart_pointer<std::shared_ptr<T>> : std::true_type {};
template <class T, class D>
struct is_smart_pointer<std::unique_ptr<T, D>> : std::true_type {};

/// Parameters and result of a factory: a function pointer or a pointer to a callable object.
template <class Sig>
struct callable_signature;
template <class R, class... A>
struct callable_signature<R (*)(A...)> {
  using result = R;
  using args = type_list<A...>;
};
template <class R, class... A>
struct callable_signature<R (*)(A...) noexcept> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) const> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...)> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) const noexcept> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) noexcept> : callable_signature<R (*)(A...)> {};

template <class F, class = void>
struct factory_signature : callable_signature<F> {};
/// A pointer to a lambda object: use its call operator.
template <class L>
struct factory_signature<const L*, std::void_t<decltype(&L::operator())>>
    : callable_signature<decltype(&L::operator())> {};
template <class L>
struct factory_signature<L*, std::enable_if_t<!std::is_const_v<L>, std::void_t<decltype(&L::operator())>>>
    : callable_signature<decltype(&L::operator())> {};

}  // namespace framework::detail
}  // namespace portico
// ---- end portico/framework/di/providers.hpp ----

namespace portico::framework::detail {

inline constexpr std::size_t max_arity = 10;

template <class Owner>
struct probe {
  template <class U, std::enable_if_t<!std::is_same_v<std::remove_cv_t<U>, Owner> &&
                                          !is_smart_pointer<std::remove_cv_t<U>>::value,
                                      int> = 0>
  operator U&() const;
  template <class U, std::enable_if_t<is_smart_pointer<U>::value, int> = 0>
  operator U() const;
};

template <class Owner, std::size_t>
using probe_at = probe<Owner>;

template <class T, std::size_t... I>
constexpr bool constructible_with_probes(std::index_sequence<I...>) {
  return std::is_constructible_v<T, probe_at<T, I>...>;
}

enum class ctor_status { found, none, ambiguous };

struct ctor_info {
  ctor_status status;
  std::size_t arity;
};

template <class T, std::size_t... N>
constexpr ctor_info detect_constructor(std::index_sequence<N...>) {
  constexpr bool viable[] = {constructible_with_probes<T>(std::make_index_sequence<N>{})...};
  std::size_t count = 0;
  std::size_t arity = 0;
  for (std::size_t n = 1; n < sizeof...(N); ++n) {
    if (viable[n]) {
      ++count;
      arity = n;
    }
  }
  if (count == 1) return {ctor_status::found, arity};
  if (count > 1) return {ctor_status::ambiguous, 0};
  return viable[0] ? ctor_info{ctor_status::found, 0} : ctor_info{ctor_status::none, 0};
}

template <class T, bool Aggregate = std::is_aggregate_v<T>>
struct constructor_of {
  static constexpr ctor_info info = detect_constructor<T>(std::make_index_sequence<max_arity + 1>{});
};
template <class T>
struct constructor_of<T, true> {
  static constexpr ctor_info info = std::is_default_constructible_v<T> ? ctor_info{ctor_status::found, 0}
                                                                       : ctor_info{ctor_status::none, 0};
};

}  // namespace portico::framework::detail
// ---- end portico/framework/di/constructor.hpp ----
// ---- begin portico/framework/di/graph.hpp ----
/// The dependency graph of a container, analysed at compile time before any construction code is
/// instantiated, and independently of the path by which a provider is reached: each provider is
/// analysed once. (Carrying the resolution path through the instantiations would instantiate a
/// provider once per path, which grows exponentially with shared dependencies.)
///
/// A node is a provider in its owning module; a root (gateway, controller, guard) is analysed
/// the same way. Direct dependencies come from an inject list or a factory signature, or, for a
/// deduced constructor, from a binary search per constructor position over the provider keys of
/// the graph with probes that accept only a range of keys. The edges go into constexpr arrays,
/// and a constexpr depth-first search finds cycles and singletons that reach per-connection
/// providers. Parameters that no provider answers are left out: resolving them reports the
/// missing provider.

#include <array>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

// ---- begin portico/framework/di/inject.hpp ----
/// `using inject = portico::inject<A&, const B&, std::shared_ptr<C>, Config>;` inside a class names
/// the constructor the container calls and how each argument is requested. It wins over the
/// constructor deduction of constructor.hpp; use it for overloaded or templated constructors.

#include <type_traits>


namespace portico {

template <class... Requests>
struct inject {
  using requests = framework::detail::type_list<Requests...>;
};

namespace framework::detail {

template <class T, class = void>
struct has_inject_list : std::false_type {};
template <class T>
struct has_inject_list<T, std::void_t<typename T::inject::requests>> : std::true_type {};

}  // namespace framework::detail
}  // namespace portico
// ---- end portico/framework/di/inject.hpp ----
// ---- begin portico/framework/di/module.hpp ----
/// Modules: `portico::module<Parts...>` with parts in any order, each optional:
///   providers<...>    what this module constructs (see providers.hpp)
///   controllers<...>  HTTP controllers (singletons constructed in this module)
///   gateways<...>     Socket.IO gateways (singletons constructed in this module)
///   imports<M...>     modules whose EXPORTED providers this module may inject
///   exports<...>      keys of this module's providers that importers may inject, or imported
///                     modules whose exports are re-exported
/// A module sees its own providers and what its direct imports export; nothing else.

#include <cstddef>
#include <type_traits>


namespace portico {

template <class... T>
struct controllers {};
template <class... T>
struct gateways {};
template <class... M>
struct imports {};
template <class... T>
struct exports {};
template <class... Parts>
struct module {};

/// Test-time replacement: every provider of `Key` in the graph constructs `Implementation`
/// instead (same scope, dependencies resolved in the module that declared the provider).
template <class Key, class Implementation>
struct override {};

namespace framework::detail {

template <class Part>
struct part_lists {
  /// Not a module part: report it once, give empty lists so nothing else fails.
  static constexpr bool valid = false;
  using providers = type_list<>;
  using controllers = type_list<>;
  using gateways = type_list<>;
  using imports = type_list<>;
  using exports = type_list<>;
};
struct empty_parts {
  static constexpr bool valid = true;
  using providers = type_list<>;
  using controllers = type_list<>;
  using gateways = type_list<>;
  using imports = type_list<>;
  using exports = type_list<>;
};
template <class... T>
struct part_lists<portico::providers<T...>> : empty_parts {
  using providers = type_list<T...>;
};
template <class... T>
struct part_lists<portico::controllers<T...>> : empty_parts {
  using controllers = type_list<T...>;
};
template <class... T>
struct part_lists<portico::gateways<T...>> : empty_parts {
  using gateways = type_list<T...>;
};
template <class... T>
struct part_lists<portico::imports<T...>> : empty_parts {
  using imports = type_list<T...>;
};
template <class... T>
struct part_lists<portico::exports<T...>> : empty_parts {
  using exports = type_list<T...>;
};

/// Replaces a provider declaration by the first matching override, keeping its scope.
template <class Decl, class... Overrides>
struct apply_overrides {
  using type = Decl;
};
template <class Decl, class K, class Impl, class... Rest>
struct apply_overrides<Decl, portico::override<K, Impl>, Rest...> {
  using type = std::conditional_t<
      std::is_same_v<key_of_t<Decl>, K>,
      typename with_scope<decl_traits<Decl>::scope, portico::bind<K, Impl>>::type,
      typename apply_overrides<Decl, Rest...>::type>;
};

/// A module is portico::module<Parts...> or a class derived from it (`struct AuthModule :
/// portico::module<...> {};` gives diagnostics a readable name).
template <class... Parts>
type_list<Parts...> module_parts(const portico::module<Parts...>*);

template <class M, class = void>
struct is_module : std::false_type {};
template <class M>
struct is_module<M, std::void_t<decltype(module_parts(static_cast<const M*>(nullptr)))>> : std::true_type {};

template <class Module, class Parts = decltype(module_parts(static_cast<const Module*>(nullptr)))>
struct module_info;

/// The parts of a module, as declared.
template <class Module, class... Parts>
struct module_info<Module, type_list<Parts...>> {
  using module = Module;
  /// The first part that is not a module part (void when all are).
  using invalid_part = typename list_at<first_true({!part_lists<Parts>::valid..., true}),
                                        type_list<Parts..., void>>::type;
  using declared = concat_t<type_list<>, typename part_lists<Parts>::providers...>;
  using providers = declared;
  using controllers = concat_t<type_list<>, typename part_lists<Parts>::controllers...>;
  using gateways = concat_t<type_list<>, typename part_lists<Parts>::gateways...>;
  using components = concat_t<gateways, controllers>;
  using imports = concat_t<type_list<>, typename part_lists<Parts>::imports...>;
  using exports = concat_t<type_list<>, typename part_lists<Parts>::exports...>;
};

template <class List, class... Overrides>
struct rewrite_providers;
template <class... D, class... Overrides>
struct rewrite_providers<type_list<D...>, Overrides...> {
  using type = type_list<typename apply_overrides<D, Overrides...>::type...>;
};

/// module_info with overrides applied to the provider list.
template <class Module, class... Overrides>
struct module_view : module_info<Module> {
  using providers = typename rewrite_providers<typename module_info<Module>::declared, Overrides...>::type;
  static constexpr std::size_t provider_count = providers::size;
  static constexpr std::size_t slot_count = provider_count + module_info<Module>::components::size;
};

// ---- the module graph: every module reachable through imports, each once, root first ----

template <class Visited, class Pending>
struct collect_modules;
template <class... V>
struct collect_modules<type_list<V...>, type_list<>> {
  using type = type_list<V...>;
};
template <bool Seen, class Visited, class M, class Rest>
struct collect_step;
template <class... V, class M, class... R>
struct collect_step<true, type_list<V...>, M, type_list<R...>>
    : collect_modules<type_list<V...>, type_list<R...>> {};
template <class... V, class M, class... R>
struct collect_step<false, type_list<V...>, M, type_list<R...>>
    : collect_modules<type_list<V..., M>, concat_t<typename module_info<M>::imports, type_list<R...>>> {};
template <class... V, class M, class... R>
struct collect_modules<type_list<V...>, type_list<M, R...>>
    : collect_step<contains_v<M, V...>, type_list<V...>, M, type_list<R...>> {};

template <class Root>
using all_modules_t = typename collect_modules<type_list<>, type_list<Root>>::type;

template <class Modules, class... Overrides>
struct all_components;
template <class... M, class... Overrides>
struct all_components<type_list<M...>, Overrides...> {
  using gateways = concat_t<type_list<>, typename module_info<M>::gateways...>;
  using controllers = concat_t<type_list<>, typename module_info<M>::controllers...>;
};

// ---- lookup of a key from a module ----

template <class K, class List>
struct key_index;
template <class K, class... D>
struct key_index<K, type_list<D...>> {
  static constexpr std::size_t value = first_true({std::is_same_v<K, key_of_t<D>>..., false});
  static constexpr bool found = value < sizeof...(D);
};

template <class K, class Module, class Ov>
struct exported_by;

/// Whether Module exports K: it provides K and lists it in exports, or it re-exports an
/// imported module that exports K.
template <class K, class Module, class... Ov>
struct exported_by<K, Module, type_list<Ov...>> {
  using view = module_view<Module, Ov...>;
  template <class E>
  static constexpr bool via(E*) {
    if constexpr (std::is_same_v<E, K>) {
      return key_index<K, typename view::providers>::found;
    } else if constexpr (is_module<E>::value) {
      return list_contains<E, typename view::imports>::value && exported_by<K, E, type_list<Ov...>>::value;
    } else {
      return false;
    }
  }
  template <class... E>
  static constexpr bool any(type_list<E...>*) {
    return (via(static_cast<E*>(nullptr)) || ...);
  }
  static constexpr bool value = any(static_cast<typename view::exports*>(nullptr));
};

enum class lookup_status { found, not_exported, missing };

template <class K, class Module, class Ov>
struct lookup;

template <class K, class Module, class... Ov>
struct lookup<K, Module, type_list<Ov...>> {
  using view = module_view<Module, Ov...>;
  using own = key_index<K, typename view::providers>;

  template <class... I>
  static constexpr std::size_t first_exporting(type_list<I...>*) {
    return first_true({exported_by<K, I, type_list<Ov...>>::value..., false});
  }
  template <class... I>
  static constexpr std::size_t first_hiding(type_list<I...>*) {
    return first_true({key_index<K, typename module_view<I, Ov...>::providers>::found..., false});
  }
  static constexpr std::size_t exporting = first_exporting(static_cast<typename view::imports*>(nullptr));
  static constexpr std::size_t hiding = first_hiding(static_cast<typename view::imports*>(nullptr));
  static constexpr std::size_t import_count = view::imports::size;

  static constexpr lookup_status status = own::found                  ? lookup_status::found
                                          : exporting < import_count   ? lookup_status::found
                                          : hiding < import_count      ? lookup_status::not_exported
                                                                       : lookup_status::missing;

  template <bool Own, bool Exported, class = void>
  struct where {
    using owner = Module;  // unused when not found
    static constexpr std::size_t index = 0;
    using hidden_in = Module;
  };
  template <bool E, class V>
  struct where<true, E, V> {
    using owner = Module;
    static constexpr std::size_t index = own::value;
    using hidden_in = Module;
  };
  template <class V>
  struct where<false, true, V> {
    using from = typename list_at<exporting, typename view::imports>::type;
    using inner = lookup<K, from, type_list<Ov...>>;
    using owner = typename inner::owner;
    static constexpr std::size_t index = inner::index;
    using hidden_in = Module;
  };
  template <class V>
  struct where<false, false, V> {
    using owner = Module;
    static constexpr std::size_t index = 0;
    using hidden_in = typename list_at<(hiding < import_count ? hiding : 0),
                                       concat_t<typename view::imports, type_list<Module>>>::type;
  };
  using located = where<own::found, (exporting < import_count)>;
  /// The module whose provider is used, and its index in that module's provider list.
  using owner = typename located::owner;
  static constexpr std::size_t index = located::index;
  /// For lookup_status::not_exported: the imported module that provides K without exporting it.
  using hidden_in = typename located::hidden_in;
};

}  // namespace framework::detail
}  // namespace portico
// ---- end portico/framework/di/module.hpp ----

namespace portico::framework::detail {

template <class Module, class Decl, scope_kind Scope>
struct node {
  using module = Module;
  using decl = Decl;
  using key = key_of_t<Decl>;
  static constexpr scope_kind scope = Scope;
};

/// The node of the provider of K that Module sees (void when none is visible).
template <class K, class Module, class Ov, bool Found = lookup<K, Module, Ov>::status == lookup_status::found>
struct provider_node {
  using type = void;
};
template <class K, class Module, class... Ov>
struct provider_node<K, Module, type_list<Ov...>, true> {
  using found = lookup<K, Module, type_list<Ov...>>;
  using owner = typename found::owner;
  using decl = typename list_at<found::index, typename module_view<owner, Ov...>::providers>::type;
  using type = node<owner, decl, decl_traits<decl>::scope>;
};

template <class R>
struct request_key {
  using type = std::remove_cv_t<std::remove_reference_t<R>>;
};
template <class T>
struct request_key<std::shared_ptr<T>> {
  using type = std::remove_cv_t<T>;
};
template <class T>
struct request_key<std::unique_ptr<T>> {
  using type = std::remove_cv_t<T>;
};
template <class R>
using request_key_t = typename request_key<std::remove_cv_t<std::remove_reference_t<R>>>::type;

// ---- which key a deduced constructor parameter asks for ----

/// Numbers the keys of a graph (Keys::size for a type that is not a key). Probes name this
/// class, not the key pack itself, so each probe instantiation stays small.
template <class Keys>
struct key_numbers;
template <class... Keys>
struct key_numbers<type_list<Keys...>> {
  static constexpr std::size_t size = sizeof...(Keys);
  template <class U>
  static constexpr std::size_t of = index_of_v<U, Keys...>;
};

/// Converts only to the keys numbered [Lo, Hi) (as K&, const K&, K, or a smart pointer to K).
template <class Owner, class Numbers, std::size_t Lo, std::size_t Hi>
struct range_probe {
  template <class U>
  static constexpr bool accepts = !std::is_same_v<U, Owner> && Numbers::template of<U> >= Lo && Numbers::template of<U> < Hi;

  template <class U, std::enable_if_t<!is_smart_pointer<std::remove_cv_t<U>>::value && accepts<std::remove_cv_t<U>>, int> = 0>
  operator U&() const;
  template <class U, std::enable_if_t<is_smart_pointer<U>::value && accepts<request_key_t<U>>, int> = 0>
  operator U() const;
};

template <class Impl, std::size_t Position, class Numbers, std::size_t Lo, std::size_t Hi, std::size_t... J>
constexpr bool position_takes(std::index_sequence<J...>) {
  return std::is_constructible_v<Impl, std::conditional_t<J == Position, range_probe<Impl, Numbers, Lo, Hi>, probe<Impl>>...>;
}

/// Binary search of the key a constructor position asks for: about 2*log2(keys) probes.
/// value: its number, or Numbers::size when the parameter is not a key of the graph.
template <class Impl, std::size_t Position, std::size_t Arity, class Numbers, std::size_t Lo, std::size_t Hi,
          bool Here = position_takes<Impl, Position, Numbers, Lo, Hi>(std::make_index_sequence<Arity>{}),
          bool Single = (Hi - Lo == 1)>
struct find_key {
  static constexpr std::size_t value = Numbers::size;  // not in this range
};
template <class Impl, std::size_t Position, std::size_t Arity, class Numbers, std::size_t Lo, std::size_t Hi>
struct find_key<Impl, Position, Arity, Numbers, Lo, Hi, true, true> {
  static constexpr std::size_t value = Lo;
};
template <class Impl, std::size_t Position, std::size_t Arity, class Numbers, std::size_t Lo, std::size_t Hi>
struct find_key<Impl, Position, Arity, Numbers, Lo, Hi, true, false> {
  static constexpr std::size_t mid = Lo + (Hi - Lo) / 2;
  static constexpr std::size_t left = find_key<Impl, Position, Arity, Numbers, Lo, mid>::value;
  static constexpr std::size_t value =
      left < Numbers::size ? left : find_key<Impl, Position, Arity, Numbers, mid, Hi>::value;
};

template <class Impl, std::size_t Arity, class AllKeys, class Positions = std::make_index_sequence<Arity>>
struct deduced_keys;
template <class Impl, std::size_t Arity, class... K, std::size_t... P>
struct deduced_keys<Impl, Arity, type_list<K...>, std::index_sequence<P...>> {
  using numbers = key_numbers<type_list<K...>>;
  template <std::size_t Position>
  static constexpr std::size_t at = sizeof...(K) == 0 ? 0 : find_key<Impl, Position, Arity, numbers, 0, sizeof...(K)>::value;
  template <std::size_t Index>
  using key_list = std::conditional_t<(Index < sizeof...(K)), type_list<type_at_t<(Index < sizeof...(K) ? Index : 0), K..., void>>,
                                      type_list<>>;
  using type = concat_t<type_list<>, key_list<at<P>>...>;
};

/// The keys Impl's constructor asks for (empty when it has none the container can call).
template <class Impl, class AllKeys, bool Listed = has_inject_list<Impl>::value>
struct constructor_keys {
  template <class... R>
  static type_list<request_key_t<R>...> keys(type_list<R...>*);
  using type = decltype(keys(static_cast<typename Impl::inject::requests*>(nullptr)));
};
template <class Impl, class AllKeys>
struct constructor_keys<Impl, AllKeys, false> {
  static constexpr ctor_info info = constructor_of<Impl>::info;
  using type = std::conditional_t<std::is_abstract_v<Impl> || info.status != ctor_status::found, type_list<>,
                                  typename deduced_keys<Impl, info.status == ctor_status::found ? info.arity : 0,
                                                        AllKeys>::type>;
};

template <class Decl, class AllKeys, provider_kind Kind = decl_traits<Decl>::kind>
struct decl_keys {
  using type = typename constructor_keys<typename decl_traits<Decl>::impl, AllKeys>::type;
};
template <class Decl, class AllKeys>
struct decl_keys<Decl, AllKeys, provider_kind::value> {
  using type = type_list<>;
};
template <class Decl, class AllKeys>
struct decl_keys<Decl, AllKeys, provider_kind::factory> {
  using signature = factory_signature<std::remove_cv_t<decltype(decl_traits<Decl>::fn)>>;
  template <class... R>
  static type_list<request_key_t<R>...> keys(type_list<R...>*);
  using type = decltype(keys(static_cast<typename signature::args*>(nullptr)));
};

// ---- the graph of one container ----

/// Outcome of the analysis below one entry point.
template <std::size_t N>
struct verdict {
  bool cycle = false;
  std::size_t cycle_length = 0;             // nodes on the path, the first repeated at the end
  std::array<std::size_t, N + 1> cycle_path{};
  bool widening = false;                    // a singleton reaches a per-connection provider
  std::size_t widening_from = 0;            // the singleton: index, or N for the entry itself (a root)
  std::size_t widening_to = 0;               // the per-connection provider it reaches
};

template <class Modules, class Ov>
struct graph;

template <class... M, class... Ov>
struct graph<type_list<M...>, type_list<Ov...>> {
  using overrides = type_list<Ov...>;

  template <class... D>
  static type_list<key_of_t<D>...> keys_of(type_list<D...>*);
  /// Every key provided somewhere in the graph: the candidates for a deduced parameter.
  using all_keys = concat_t<type_list<>, decltype(keys_of(static_cast<typename module_view<M, Ov...>::providers*>(nullptr)))...>;

  template <class Module, class... D>
  static type_list<node<Module, D, decl_traits<D>::scope>...> module_nodes(type_list<D...>*);
  /// Every provider of every module: the nodes, numbered in this order.
  using all_nodes =
      concat_t<type_list<>, decltype(module_nodes<M>(static_cast<typename module_view<M, Ov...>::providers*>(nullptr)))...>;
  static constexpr std::size_t size = all_nodes::size;

  template <class Module, class... K>
  static concat_t<type_list<>, std::conditional_t<std::is_void_v<typename provider_node<K, Module, overrides>::type>, type_list<>,
                                                  type_list<typename provider_node<K, Module, overrides>::type>>...>
      nodes_of(type_list<K...>*);

  /// Direct dependencies of a node (a provider or a root), as nodes.
  template <class Node>
  struct deps {
    using keys = typename decl_keys<typename Node::decl, all_keys>::type;
    using type = decltype(nodes_of<typename Node::module>(static_cast<keys*>(nullptr)));
  };

  template <class X, class... A>
  static constexpr std::size_t number_in(type_list<A...>*) {
    return index_of_v<X, A...>;
  }
  template <class X>
  static constexpr std::size_t number_of = number_in<X>(static_cast<all_nodes*>(nullptr));

  template <class... D>
  static constexpr std::array<std::size_t, sizeof...(D)> numbers(type_list<D...>*) {
    return {{number_of<D>...}};
  }
  template <class Node>
  static constexpr auto dep_numbers = numbers(static_cast<typename deps<Node>::type*>(nullptr));

  template <class... X>
  static constexpr std::size_t count_edges(type_list<X...>*) {
    return (deps<X>::type::size + ... + 0);
  }
  static constexpr std::size_t edge_count = count_edges(static_cast<all_nodes*>(nullptr));

  /// The whole graph as arrays: edges of node i are edge[offset[i] .. offset[i+1]).
  struct table {
    std::array<std::size_t, size + 1> offset{};
    std::array<std::size_t, (edge_count > 0 ? edge_count : 1)> edge{};
    std::array<scope_kind, (size > 0 ? size : 1)> scope{};
  };

  template <std::size_t K>
  static constexpr void add_node(table& t, std::size_t& pos, std::size_t i, scope_kind sc,
                                 const std::array<std::size_t, K>& ds) {
    t.offset[i] = pos;
    t.scope[i] = sc;
    for (std::size_t d : ds) t.edge[pos++] = d;
  }
  template <class... X>
  static constexpr table build(type_list<X...>*) {
    table t{};
    std::size_t pos = 0;
    std::size_t i = 0;
    ((add_node(t, pos, i++, X::scope, dep_numbers<X>)), ...);
    t.offset[size] = pos;
    return t;
  }
  static constexpr table edges = build(static_cast<all_nodes*>(nullptr));

  /// Depth-first search from `start`: finds a cycle (as a path) and marks what is reachable.
  template <std::size_t S>
  static constexpr verdict<size> analyse(const std::array<std::size_t, S>& start, bool root_singleton) {
    verdict<size> v{};
    std::array<int, (size > 0 ? size : 1)> color{};  // 0 unseen, 1 on the current path, 2 done
    std::array<std::size_t, size + 1> stack{};
    std::array<std::size_t, size + 1> next{};
    for (std::size_t s : start) {
      if (color[s] != 0) continue;
      std::size_t top = 0;
      stack[0] = s;
      next[0] = edges.offset[s];
      color[s] = 1;
      while (true) {
        std::size_t at = stack[top];
        if (next[top] < edges.offset[at + 1]) {
          std::size_t to = edges.edge[next[top]++];
          if (color[to] == 1) {
            std::size_t from = 0;
            while (stack[from] != to) ++from;
            // Rotate so the cycle starts at its lowest-numbered node: every entry point that
            // meets this cycle reports it identically (one diagnostic).
            std::size_t length = top - from + 1;
            std::size_t low = from;
            for (std::size_t k = from; k <= top; ++k)
              if (stack[k] < stack[low]) low = k;
            for (std::size_t k = 0; k < length; ++k) v.cycle_path[k] = stack[from + (low - from + k) % length];
            v.cycle_path[length] = v.cycle_path[0];
            v.cycle_length = length + 1;
            v.cycle = true;
            return v;
          }
          if (color[to] == 0) {
            color[to] = 1;
            ++top;
            stack[top] = to;
            next[top] = edges.offset[to];
          }
        } else {
          color[at] = 2;
          if (top == 0) break;
          --top;
        }
      }
    }
    // Scope widening: a singleton (the root itself, then reachable providers) that depends on a
    // per-connection provider directly is the clearest culprit; else one that reaches one.
    for (int pass = 0; pass < 2 && !v.widening; ++pass) {
      if (root_singleton) {
        std::size_t found = size;
        if (pass == 0) {
          for (std::size_t d : start)
            if (edges.scope[d] == scope_kind::per_connection) found = d;
        } else {
          found = reach_per_connection(start.data(), S);
        }
        if (found < size) {
          v.widening = true;
          v.widening_from = size;
          v.widening_to = found;
          break;
        }
      }
      for (std::size_t n = 0; n < size && !v.widening; ++n) {
        if (color[n] != 2 || edges.scope[n] != scope_kind::singleton) continue;
        std::size_t found = size;
        if (pass == 0) {
          for (std::size_t e = edges.offset[n]; e < edges.offset[n + 1]; ++e)
            if (edges.scope[edges.edge[e]] == scope_kind::per_connection) found = edges.edge[e];
        } else {
          found = reach_per_connection(&edges.edge[0] + edges.offset[n], edges.offset[n + 1] - edges.offset[n]);
        }
        if (found < size) {
          v.widening = true;
          v.widening_from = n;
          v.widening_to = found;
        }
      }
    }
    return v;
  }

  /// A per-connection node reachable from the given nodes (size when none).
  static constexpr std::size_t reach_per_connection(const std::size_t* from, std::size_t count) {
    std::array<bool, (size > 0 ? size : 1)> seen{};
    std::array<std::size_t, (size > 0 ? size : 1)> todo{};
    std::size_t pending = 0;
    for (std::size_t k = 0; k < count; ++k)
      if (!seen[from[k]]) {
        seen[from[k]] = true;
        todo[pending++] = from[k];
      }
    while (pending > 0) {
      std::size_t at = todo[--pending];
      if (edges.scope[at] == scope_kind::per_connection) return at;
      for (std::size_t e = edges.offset[at]; e < edges.offset[at + 1]; ++e) {
        std::size_t to = edges.edge[e];
        if (!seen[to]) {
          seen[to] = true;
          todo[pending++] = to;
        }
      }
    }
    return size;
  }

  /// What an entry point (a resolution from outside the container) must check before it builds.
  /// Entry is a provider node, or a root (a gateway, controller or guard) that is not one.
  template <class Entry>
  struct check {
    static constexpr std::size_t number = number_of<Entry>;
    static constexpr bool is_root = number >= size;
    static constexpr auto start() {
      if constexpr (is_root) {
        return dep_numbers<Entry>;
      } else {
        return std::array<std::size_t, 1>{{number}};
      }
    }
    static constexpr verdict<size> result = analyse(start(), is_root && Entry::scope == scope_kind::singleton);
    static constexpr bool ok = !result.cycle && !result.widening;
  };
};

}  // namespace portico::framework::detail
// ---- end portico/framework/di/graph.hpp ----

namespace portico {

template <class Root, class... Overrides>
class container;

namespace framework::detail {

/// How a dependency is asked for.
enum class request_form { ref, value, shared, unique };

template <class R>
struct request_traits {
  static constexpr request_form form = std::is_lvalue_reference_v<R> ? request_form::ref : request_form::value;
  using key = std::remove_cv_t<std::remove_reference_t<R>>;
  using result = std::conditional_t<std::is_lvalue_reference_v<R>, R, key>;
};
template <class T>
struct request_traits<std::shared_ptr<T>> {
  static constexpr request_form form = request_form::shared;
  using key = std::remove_cv_t<T>;
  using result = std::shared_ptr<T>;
};
template <class T>
struct request_traits<std::unique_ptr<T>> {
  static constexpr request_form form = request_form::unique;
  using key = std::remove_cv_t<T>;
  using result = std::unique_ptr<T>;
};

/// `const std::shared_ptr<T>&` asks for the same thing as `std::shared_ptr<T>`.
template <class R>
using normalize_request_t =
    std::conditional_t<is_smart_pointer<std::remove_cv_t<std::remove_reference_t<R>>>::value,
                       std::remove_cv_t<std::remove_reference_t<R>>, R>;

/// Whether K, seen from Module, is provided transient (then it is injected by value or pointer).
template <class K, class Module, class Ov, bool Found = lookup<K, Module, Ov>::status == lookup_status::found>
struct transient_in : std::false_type {};
template <class K, class Module, class... Ov>
struct transient_in<K, Module, type_list<Ov...>, true> {
  using found = lookup<K, Module, type_list<Ov...>>;
  using decl = typename list_at<found::index, typename module_view<typename found::owner, Ov...>::providers>::type;
  static constexpr bool value = decl_traits<decl>::scope == scope_kind::transient;
};

/// The argument passed for each deduced constructor parameter: converts to whatever the parameter
/// asks for by resolving it (the parameter's type is deduced by the conversion operator).
template <class C, class Module, class Owner>
struct inject_arg {
  C* c;
  connection_scope* scope;

  template <class U, std::enable_if_t<!std::is_same_v<std::remove_cv_t<U>, Owner> &&
                                          !is_smart_pointer<std::remove_cv_t<U>>::value &&
                                          !transient_in<std::remove_cv_t<U>, Module, typename C::override_list>::value,
                                      int> = 0>
  operator U&() const {
    return c->template resolve<Module, U&>(scope);
  }

  template <class U, std::enable_if_t<!std::is_same_v<U, Owner> &&
                                          (is_smart_pointer<U>::value ||
                                           transient_in<U, Module, typename C::override_list>::value),
                                      int> = 0>
  operator U() const {
    return c->template resolve<Module, U>(scope);
  }
};

template <class Arg, std::size_t>
using arg_at = Arg;

}  // namespace framework::detail

template <class Root, class... Overrides>
class container {
  static_assert(framework::detail::is_module<Root>::value, "portico::container<Root>: Root must be a portico::module<...>");

 public:
  using root = Root;
  using override_list = framework::detail::type_list<Overrides...>;
  using modules = framework::detail::all_modules_t<Root>;
  using graph_t = framework::detail::graph<modules, override_list>;
  /// The same graph with more overrides (earlier overrides of the same key win).
  template <class... More>
  using with_overrides = container<Root, Overrides..., More...>;
  /// Every gateway / controller of the graph, in module order.
  using gateways = typename framework::detail::all_components<modules, Overrides...>::gateways;
  using controllers = typename framework::detail::all_components<modules, Overrides...>::controllers;
  /// Whether `get<K&>()` (or an injection into a root-module provider) finds a provider of K.
  template <class K>
  static constexpr bool provides =
      framework::detail::lookup<K, Root, override_list>::status == framework::detail::lookup_status::found;

  container() { check_modules(static_cast<modules*>(nullptr)); }
  container(const container&) = delete;
  container& operator=(const container&) = delete;

  /// Supplies instances for `portico::value<V>` providers (each V must be declared somewhere).
  template <class... V, std::enable_if_t<(sizeof...(V) > 0) && !(std::is_same_v<std::decay_t<V>, container> || ...), int> = 0>
  explicit container(V&&... values) {
    check_modules(static_cast<modules*>(nullptr));
    (supply(std::forward<V>(values)), ...);
  }

  ~container() { singletons_.clear(); }

  /// Resolves a request from the root module (see the request forms above).
  template <class Request>
  typename framework::detail::request_traits<framework::detail::normalize_request_t<Request>>::result get() {
    return enter<Root, framework::detail::normalize_request_t<Request>>(nullptr);
  }
  /// Same, within a client connection (needed for per-connection providers).
  template <class Request>
  typename framework::detail::request_traits<framework::detail::normalize_request_t<Request>>::result get(
      connection_scope& scope) {
    return enter<Root, framework::detail::normalize_request_t<Request>>(&scope);
  }

  /// Resolves a request as seen from Module (e.g. a handler parameter, from its gateway's module).
  template <class Module, class Request>
  typename framework::detail::request_traits<framework::detail::normalize_request_t<Request>>::result get_from(
      connection_scope* scope = nullptr) {
    return enter<Module, framework::detail::normalize_request_t<Request>>(scope);
  }

  /// Constructs a T that is not a provider (a guard, a handler object) with its dependencies
  /// injected as seen from Module. The result is not stored anywhere.
  template <class T, class Module = Root>
  T make(connection_scope* scope = nullptr) {
    using entry = framework::detail::node<Module, T, framework::detail::scope_kind::transient>;
    if constexpr (!entry_ok<entry>()) {
      report<entry>();
    } else {
      return build<T, T, Module>(scope, value_maker<T>{});
    }
  }

  /// make() for a caller that never has a connection scope (a guard of an HTTP route): a T that
  /// reaches a per_connection provider is a compile error naming both, not a run-time failure.
  template <class T, class Module = Root>
  T make_unscoped() {
    using entry = framework::detail::node<Module, T, framework::detail::scope_kind::singleton>;  // checked like a root that outlives connections
    if constexpr (!entry_ok<entry>()) {
      report_unscoped<entry>();
    } else {
      return build<T, T, Module>(nullptr, value_maker<T>{});
    }
  }

  /// The single instance of a gateway or controller, constructed on first use in its module.
  template <class G>
  G& component() {
    constexpr std::size_t mi = component_module<G>();
    if constexpr (mi >= modules::size) {
      return framework::detail::raise_portico_error_not_a_component<G&, G>();
    } else {
      using M = typename framework::detail::list_at<mi, modules>::type;
      using components = typename framework::detail::module_view<M, Overrides...>::components;
      constexpr std::size_t slot = offset_of<M>() + framework::detail::module_view<M, Overrides...>::provider_count +
                                   index_in<G>(static_cast<components*>(nullptr));
      using entry = framework::detail::node<M, G, framework::detail::scope_kind::singleton>;
      if constexpr (!entry_ok<entry>()) {
        report<entry>();
      } else {
        if (auto* found = singletons_.find(slot)) return *static_cast<G*>(found->get());
        std::shared_ptr<G> created = build<std::shared_ptr<G>, G, M>(nullptr, shared_maker<G>{});
        singletons_.put(slot, created);
        return *created;
      }
    }
  }

  /// Replaces the instance of a singleton or value provider of K in every module (a test fake).
  /// Must be called before anything resolved K; throws std::logic_error otherwise.
  template <class K>
  void replace(std::shared_ptr<K> instance) {
    if constexpr (count_slots<K, false>(static_cast<modules*>(nullptr)) == 0) {
      framework::detail::raise_portico_error_nothing_to_replace_for<void, K>();
    } else {
      fill<K, false>(std::shared_ptr<void>(std::move(instance)), static_cast<modules*>(nullptr));
    }
  }

  /// Creates every singleton provider and every gateway/controller now (in dependency order).
  void instantiate() { instantiate_modules(static_cast<modules*>(nullptr)); }

  /// Number of live singleton instances (providers and components).
  std::size_t size() const noexcept { return singletons_.live(); }

 private:
  template <class, class, class>
  friend struct framework::detail::inject_arg;

  template <class T>
  struct value_maker {
    template <class... A>
    T operator()(A&&... a) const {
      return T(std::forward<A>(a)...);
    }
  };
  /// `new` rather than make_shared/make_unique: the arguments convert (and resolve) directly in
  /// this frame, which keeps the instantiation depth per dependency level small (the standard
  /// library's allocation helpers add six frames per level) and diagnostics short. Instances are
  /// created once per container or connection, so the separate control block costs nothing.
  template <class T>
  struct shared_maker {
    template <class... A>
    std::shared_ptr<T> operator()(A&&... a) const {
      return std::shared_ptr<T>(new T(std::forward<A>(a)...));
    }
  };
  template <class T>
  struct unique_maker {
    template <class... A>
    std::unique_ptr<T> operator()(A&&... a) const {
      return std::unique_ptr<T>(new T(std::forward<A>(a)...));
    }
  };

  // ---- slot numbering: modules in graph order, providers then components ----

  template <class M, class... All>
  static constexpr std::size_t offset_in(framework::detail::type_list<All...>*) {
    constexpr std::size_t index = framework::detail::index_of_v<M, All...>;
    constexpr std::size_t counts[] = {framework::detail::module_view<All, Overrides...>::slot_count..., 0};
    std::size_t offset = 0;
    for (std::size_t i = 0; i < index; ++i) offset += counts[i];
    return offset;
  }
  template <class M>
  static constexpr std::size_t offset_of() {
    return offset_in<M>(static_cast<modules*>(nullptr));
  }
  template <class G, class... C>
  static constexpr std::size_t index_in(framework::detail::type_list<C...>*) {
    return framework::detail::index_of_v<G, C...>;
  }
  // ---- resolution ----

  template <class Module, class Request>
  typename framework::detail::request_traits<Request>::result resolve(connection_scope* scope) {
    using rq = framework::detail::request_traits<Request>;
    using K = typename rq::key;
    using R = typename rq::result;
    using found = framework::detail::lookup<K, Module, override_list>;
    if constexpr (found::status == framework::detail::lookup_status::missing) {
      return framework::detail::raise_portico_error_no_provider_for<R, K>();
    } else if constexpr (found::status == framework::detail::lookup_status::not_exported) {
      return framework::detail::raise_portico_error_provider_not_exported<R, K, typename found::hidden_in>();
    } else {
      using Owner = typename found::owner;
      using D = typename framework::detail::list_at<found::index, typename framework::detail::module_view<Owner, Overrides...>::providers>::type;
      return deliver<Owner, found::index, D, rq::form, R>(scope);
    }
  }

  /// Every resolution from outside the container starts here: the graph below Entry is checked
  /// (cycles, singletons reaching per-connection providers) before any construction code is
  /// instantiated, so an error is reported once and nothing loops.
  template <class Entry>
  static constexpr bool entry_ok() {
    if constexpr (std::is_void_v<Entry>) {
      return true;  // nothing visible: resolving reports the missing provider
    } else {
      return graph_t::template check<Entry>::ok;
    }
  }

  template <class Entry>
  [[noreturn]] static void report() {
    using check = typename graph_t::template check<Entry>;
    constexpr auto v = check::result;
    if constexpr (v.cycle) {
      report_cycle<Entry>(std::make_index_sequence<v.cycle_length>{});
    } else {
      using nodes = typename graph_t::all_nodes;
      using S = typename framework::detail::list_at<(v.widening_from < graph_t::size ? v.widening_from : graph_t::size),
                                 framework::detail::concat_t<nodes, framework::detail::type_list<Entry>>>::type;
      using P = typename framework::detail::list_at<v.widening_to, nodes>::type;
      framework::detail::raise_portico_error_singleton_depends_on_per_connection<void, typename S::key, typename P::key>();
    }
  }
  template <class Entry>
  [[noreturn]] static void report_unscoped() {
    constexpr auto v = graph_t::template check<Entry>::result;
    if constexpr (!v.cycle && v.widening_from >= graph_t::size) {
      using P = typename framework::detail::list_at<v.widening_to, typename graph_t::all_nodes>::type;
      framework::detail::raise_portico_error_used_without_connection_depends_on_per_connection<void, typename Entry::key,
                                                                           typename P::key>();
    } else {
      report<Entry>();  // a cycle, or a singleton below it that is wrong anywhere
    }
  }
  template <class Entry, std::size_t... I>
  [[noreturn]] static void report_cycle(std::index_sequence<I...>) {
    constexpr auto v = graph_t::template check<Entry>::result;
    framework::detail::raise_portico_error_dependency_cycle<void,
                                         typename framework::detail::list_at<v.cycle_path[I], typename graph_t::all_nodes>::type::key...>();
  }

  template <class Module, class Request>
  typename framework::detail::request_traits<Request>::result enter(connection_scope* scope) {
    using entry = typename framework::detail::provider_node<typename framework::detail::request_traits<Request>::key, Module, override_list>::type;
    if constexpr (!entry_ok<entry>()) {
      report<entry>();
    } else {
      return resolve<Module, Request>(scope);
    }
  }

  template <class Owner, std::size_t Index, class D, framework::detail::request_form Form, class R>
  R deliver(connection_scope* scope) {
    using K = typename framework::detail::decl_traits<D>::key;
    constexpr bool is_transient = framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::transient;
    if constexpr (Form == framework::detail::request_form::ref) {
      if constexpr (is_transient) {
        return framework::detail::raise_portico_error_transient_injected_by_reference<R, K>();
      } else {
        return stored<Owner, Index, D>(scope);
      }
    } else if constexpr (Form == framework::detail::request_form::value) {
      if constexpr (is_transient) {
        return new_value<Owner, D>(scope);
      } else {
        return stored<Owner, Index, D>(scope);
      }
    } else if constexpr (Form == framework::detail::request_form::shared) {
      if constexpr (is_transient) {
        return new_shared<Owner, D>(scope);
      } else {
        return shared_instance<Owner, Index, D>(scope);
      }
    } else {
      if constexpr (is_transient) {
        return new_unique<Owner, D>(scope);
      } else {
        return framework::detail::raise_portico_error_unique_ptr_of_shared_instance<R, K>();
      }
    }
  }

  /// The table holding the instances of D: the container's, or the connection's.
  template <class D>
  framework::detail::instance_table& table_for(connection_scope* scope) {
    if constexpr (framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::per_connection) {
      if (scope == nullptr)
        throw std::logic_error("portico: a per_connection provider was resolved outside a connection_scope");
      if (scope->owner_ != this) {
        if (scope->owner_ != nullptr)
          throw std::logic_error("portico: a connection_scope was used with two different containers");
        scope->owner_ = this;
      }
      return scope->table_;
    } else {
      static_cast<void>(scope);
      return singletons_;
    }
  }

  /// The stored instance of a singleton, value or per-connection provider, created on first use.
  /// Returns a reference so that the common case costs no reference-count traffic.
  template <class Owner, std::size_t Index, class D>
  typename framework::detail::decl_traits<D>::key& stored(connection_scope* scope) {
    using K = typename framework::detail::decl_traits<D>::key;
    constexpr std::size_t slot = offset_of<Owner>() + Index;
    framework::detail::instance_table& table = table_for<D>(scope);
    if (auto* existing = table.find(slot)) return *static_cast<K*>(existing->get());
    std::shared_ptr<K> created = new_shared<Owner, D>(scope);
    K& instance = *created;
    table.put(slot, std::move(created));
    return instance;
  }

  template <class Owner, std::size_t Index, class D>
  std::shared_ptr<typename framework::detail::decl_traits<D>::key> shared_instance(connection_scope* scope) {
    using K = typename framework::detail::decl_traits<D>::key;
    constexpr std::size_t slot = offset_of<Owner>() + Index;
    framework::detail::instance_table& table = table_for<D>(scope);
    if (auto* existing = table.find(slot)) return std::static_pointer_cast<K>(*existing);
    std::shared_ptr<K> created = new_shared<Owner, D>(scope);
    table.put(slot, created);
    return created;
  }

  template <class Owner, class D>
  std::shared_ptr<typename framework::detail::decl_traits<D>::key> new_shared(connection_scope* scope) {
    using T = framework::detail::decl_traits<D>;
    using K = typename T::key;
    using Impl = typename T::impl;
    if constexpr (T::kind == framework::detail::provider_kind::construct) {
      if constexpr (!std::is_base_of_v<K, Impl> && !std::is_same_v<K, Impl>) {
        return framework::detail::raise_portico_error_bind_implementation_does_not_derive_from_interface<std::shared_ptr<K>, K, Impl>();
      } else {
        return build<std::shared_ptr<Impl>, Impl, Owner>(scope, shared_maker<Impl>{});
      }
    } else if constexpr (T::kind == framework::detail::provider_kind::value) {
      if constexpr (std::is_default_constructible_v<K>) {
        return std::make_shared<K>();
      } else {
        throw std::logic_error("portico: a portico::value<T> provider without a default constructor was not supplied");
      }
    } else {
      return to_shared<K>(call_factory<Owner, D>(scope));
    }
  }

  template <class Owner, class D>
  typename framework::detail::decl_traits<D>::key new_value(connection_scope* scope) {
    using T = framework::detail::decl_traits<D>;
    using K = typename T::key;
    using Impl = typename T::impl;
    if constexpr (T::kind == framework::detail::provider_kind::construct) {
      return K(build<Impl, Impl, Owner>(scope, value_maker<Impl>{}));
    } else if constexpr (T::kind == framework::detail::provider_kind::value) {
      return K();
    } else {
      auto made = call_factory<Owner, D>(scope);
      if constexpr (framework::detail::is_smart_pointer<decltype(made)>::value) {
        return K(*made);
      } else {
        return K(std::move(made));
      }
    }
  }

  template <class Owner, class D>
  std::unique_ptr<typename framework::detail::decl_traits<D>::key> new_unique(connection_scope* scope) {
    using T = framework::detail::decl_traits<D>;
    using K = typename T::key;
    using Impl = typename T::impl;
    if constexpr (T::kind == framework::detail::provider_kind::construct) {
      if constexpr (!std::is_base_of_v<K, Impl> && !std::is_same_v<K, Impl>) {
        return framework::detail::raise_portico_error_bind_implementation_does_not_derive_from_interface<std::unique_ptr<K>, K, Impl>();
      } else {
        return build<std::unique_ptr<Impl>, Impl, Owner>(scope, unique_maker<Impl>{});
      }
    } else if constexpr (T::kind == framework::detail::provider_kind::value) {
      return std::make_unique<K>();
    } else {
      using made_t = decltype(call_factory<Owner, D>(scope));
      if constexpr (std::is_convertible_v<made_t, std::unique_ptr<K>>) {
        return call_factory<Owner, D>(scope);
      } else if constexpr (std::is_base_of_v<K, made_t> || std::is_same_v<K, made_t>) {
        return std::make_unique<made_t>(call_factory<Owner, D>(scope));
      } else {
        return framework::detail::raise_portico_error_factory_result_is_not<std::unique_ptr<K>, K, made_t>();
      }
    }
  }

  template <class K, class Made>
  static std::shared_ptr<K> to_shared(Made&& made) {
    using V = std::remove_cv_t<std::remove_reference_t<Made>>;
    if constexpr (framework::detail::is_smart_pointer<V>::value) {
      if constexpr (std::is_convertible_v<V&&, std::shared_ptr<K>>) {
        return std::shared_ptr<K>(std::move(made));
      } else {
        return framework::detail::raise_portico_error_factory_result_is_not<std::shared_ptr<K>, K, V>();
      }
    } else if constexpr (std::is_base_of_v<K, V> || std::is_same_v<K, V>) {
      return std::make_shared<V>(std::move(made));
    } else {
      return framework::detail::raise_portico_error_factory_result_is_not<std::shared_ptr<K>, K, V>();
    }
  }

  template <class Owner, class D>
  auto call_factory(connection_scope* scope) {
    constexpr auto fn = framework::detail::decl_traits<D>::fn;
    using signature = framework::detail::factory_signature<std::remove_cv_t<decltype(fn)>>;
    return invoke_factory<Owner, typename signature::result>(fn, scope,
                                                                     static_cast<typename signature::args*>(nullptr));
  }

  template <class Owner, class Result, class Fn, class... A>
  Result invoke_factory(Fn fn, connection_scope* scope, framework::detail::type_list<A...>*) {
    static_cast<void>(scope);  // unused by a factory without parameters
    return (*fn)(resolve<Owner, framework::detail::normalize_request_t<A>>(scope)...);
  }

  /// Constructs Impl with its dependencies resolved from Module; `make` does the allocation.
  template <class Ret, class Impl, class Module, class Make>
  Ret build(connection_scope* scope, Make make) {
    if constexpr (framework::detail::has_inject_list<Impl>::value) {
      return build_listed<Ret, Impl, Module>(scope, make,
                                                    static_cast<typename Impl::inject::requests*>(nullptr));
    } else if constexpr (std::is_abstract_v<Impl>) {
      return framework::detail::raise_portico_error_abstract_provider<Ret, Impl>();
    } else {
      constexpr framework::detail::ctor_info info = framework::detail::constructor_of<Impl>::info;
      if constexpr (info.status == framework::detail::ctor_status::ambiguous) {
        return framework::detail::raise_portico_error_ambiguous_constructor_of<Ret, Impl>();
      } else if constexpr (info.status == framework::detail::ctor_status::none) {
        return framework::detail::raise_portico_error_cannot_deduce_constructor_of<Ret, Impl>();
      } else {
        return build_deduced<Ret, Impl, Module>(scope, make, std::make_index_sequence<info.arity>{});
      }
    }
  }

  template <class Ret, class Impl, class Module, class Make, std::size_t... I>
  Ret build_deduced(connection_scope* scope, Make& make, std::index_sequence<I...>) {
    using arg = framework::detail::inject_arg<container, Module, Impl>;
    if constexpr (!std::is_constructible_v<Impl, framework::detail::arg_at<arg, I>...>) {
      return framework::detail::raise_portico_error_cannot_inject_constructor_of<Ret, Impl>();
    } else {
      static_cast<void>(scope);  // unused for a default constructor
      return make(framework::detail::arg_at<arg, I>{this, scope}...);
    }
  }

  template <class Ret, class Impl, class Module, class Make, class... Rq>
  Ret build_listed(connection_scope* scope, Make& make, framework::detail::type_list<Rq...>*) {
    if constexpr (!std::is_constructible_v<Impl, typename framework::detail::request_traits<framework::detail::normalize_request_t<Rq>>::result...>) {
      return framework::detail::raise_portico_error_inject_list_does_not_match_a_constructor_of<Ret, Impl>();
    } else {
      return make(resolve<Module, framework::detail::normalize_request_t<Rq>>(scope)...);
    }
  }

  // ---- values, replacements, eager instantiation ----

  /// Number of singleton slots keyed K (ValuesOnly: only portico::value<K> declarations).
  template <class K, bool ValuesOnly, class... D>
  static constexpr std::size_t count_in(framework::detail::type_list<D...>*) {
    return framework::detail::count_true({(std::is_same_v<framework::detail::key_of_t<D>, K> && framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::singleton &&
                        (!ValuesOnly || framework::detail::decl_traits<D>::kind == framework::detail::provider_kind::value))...});
  }
  template <class K, bool ValuesOnly, class... M>
  static constexpr std::size_t count_slots(framework::detail::type_list<M...>*) {
    return (count_in<K, ValuesOnly>(
                static_cast<typename framework::detail::module_view<M, Overrides...>::providers*>(nullptr)) +
            ... + 0);
  }

  template <class K, bool ValuesOnly, class M, class... D, std::size_t... I>
  void fill_module(const std::shared_ptr<void>& instance, framework::detail::type_list<D...>*, std::index_sequence<I...>) {
    constexpr bool match[] = {(std::is_same_v<framework::detail::key_of_t<D>, K> && framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::singleton &&
                               (!ValuesOnly || framework::detail::decl_traits<D>::kind == framework::detail::provider_kind::value))...,
                              false};
    constexpr std::size_t offset = offset_of<M>();
    for (std::size_t i = 0; i < sizeof...(D); ++i) {
      if (!match[i]) continue;
      if (singletons_.find(offset + i))
        throw std::logic_error("portico: replace()/supply after the provider was already resolved");
      singletons_.put(offset + i, instance);
    }
  }
  template <class K, bool ValuesOnly, class... M>
  void fill(const std::shared_ptr<void>& instance, framework::detail::type_list<M...>*) {
    (fill_module<K, ValuesOnly, M>(instance,
                                   static_cast<typename framework::detail::module_view<M, Overrides...>::providers*>(nullptr),
                                   std::make_index_sequence<framework::detail::module_view<M, Overrides...>::provider_count>{}),
     ...);
  }

  template <class V>
  void supply(V&& v) {
    using T = std::decay_t<V>;
    if constexpr (count_slots<T, true>(static_cast<modules*>(nullptr)) == 0) {
      framework::detail::raise_portico_error_not_a_value_provider<void, T>();
    } else {
      fill<T, true>(std::make_shared<T>(std::forward<V>(v)), static_cast<modules*>(nullptr));
    }
  }

  template <class... M>
  static void check_modules(framework::detail::type_list<M...>*) {
    (check_module<M>(), ...);
    check_overrides(static_cast<override_list*>(nullptr));
  }
  template <class... Ov>
  static void check_overrides(framework::detail::type_list<Ov...>*) {
    (check_override(static_cast<Ov*>(nullptr)), ...);
  }
  template <class K, class Impl>
  static void check_override(portico::override<K, Impl>*) {
    if constexpr (count_declared<K>(static_cast<modules*>(nullptr)) == 0)
      framework::detail::raise_portico_error_override_matches_no_provider<void, K>();
  }
  template <class K, class... M>
  static constexpr std::size_t count_declared(framework::detail::type_list<M...>*) {
    return (declared_count<K>(static_cast<typename framework::detail::module_info<M>::declared*>(nullptr)) + ... + 0);
  }
  template <class K, class... D>
  static constexpr std::size_t declared_count(framework::detail::type_list<D...>*) {
    return framework::detail::count_true({std::is_same_v<framework::detail::key_of_t<D>, K>..., false});
  }

  template <class M>
  static void check_module() {
    using part = typename framework::detail::module_info<M>::invalid_part;
    if constexpr (!std::is_void_v<part>) framework::detail::raise_portico_error_not_a_module_part<void, part, M>();
  }

  template <class... M>
  void instantiate_modules(framework::detail::type_list<M...>*) {
    (instantiate_providers<M>(static_cast<typename framework::detail::module_view<M, Overrides...>::providers*>(nullptr)), ...);
    (instantiate_components(static_cast<typename framework::detail::module_view<M, Overrides...>::components*>(nullptr)), ...);
  }
  template <class M, class... D>
  void instantiate_providers(framework::detail::type_list<D...>*) {
    (instantiate_provider<M, D>(), ...);
  }
  template <class M, class D>
  void instantiate_provider() {
    if constexpr (framework::detail::decl_traits<D>::scope == framework::detail::scope_kind::singleton) (void)enter<M, framework::detail::key_of_t<D>&>(nullptr);
  }
  template <class... G>
  void instantiate_components(framework::detail::type_list<G...>*) {
    ((void)component<G>(), ...);
  }

  framework::detail::instance_table singletons_;

 public:
  template <class G, class... M>
  static constexpr std::size_t component_module_in(framework::detail::type_list<M...>*) {
    return framework::detail::first_true(
        {framework::detail::list_contains<G, typename framework::detail::module_view<M, Overrides...>::components>::value...,
         false});
  }
  /// Index of the module declaring G, or modules::size when none does.
  template <class G>
  static constexpr std::size_t component_module() {
    constexpr std::size_t found = component_module_in<G>(static_cast<modules*>(nullptr));
    return found < modules::size ? found : modules::size;
  }

  /// The module that declares a gateway or controller (the root module when none does).
  template <class G>
  using module_of_t = typename framework::detail::list_at<
      component_module<G>(), framework::detail::concat_t<modules, framework::detail::type_list<Root>>>::type;
};

}  // namespace portico
// ---- end portico/framework/di/container.hpp ----
// ---- begin portico/framework/disconnect_reason.hpp ----
/// Why a client left a gateway's namespace: the optional second parameter of
/// `on_disconnected(portico::gateway_context&, portico::disconnect_reason)`.

#include <string_view>

namespace portico {

/// The Socket.IO disconnect reason, worded as Node's socket.io 4.8 server words it:
///   "client namespace disconnect"  the client left the namespace (its socket.disconnect())
///   "server namespace disconnect"  the server did (ctx.disconnect(), disconnect_on_error)
///   "transport close"              the client closed its connection, or the connection dropped
///   "transport error"              protocol misuse, an oversized payload, a full send buffer
///   "ping timeout"                 no pong in time
///   "parse error"                  a malformed Engine.IO packet
///   "forced close"                 the server closed this one connection (close_connection(),
///                                  a malformed Socket.IO packet); the server goes on
///   "server shutting down"         app::stop()
/// A view valid during the call (copy `text()` to keep it). It converts to std::string_view, so
/// `on_disconnected(ctx, std::string_view reason)` is accepted too.
class disconnect_reason {
 public:
  constexpr explicit disconnect_reason(std::string_view text) noexcept : text_(text) {}
  constexpr std::string_view text() const noexcept { return text_; }
  constexpr operator std::string_view() const noexcept { return text_; }
  /// The server ended it: a namespace disconnect, a forced close or a stop.
  constexpr bool by_server() const noexcept {
    return text_ == "server namespace disconnect" || text_ == "forced close" || text_ == "server shutting down";
  }
  friend constexpr bool operator==(disconnect_reason a, std::string_view b) noexcept { return a.text_ == b; }
  friend constexpr bool operator!=(disconnect_reason a, std::string_view b) noexcept { return a.text_ != b; }

 private:
  std::string_view text_;
};

}  // namespace portico
// ---- end portico/framework/disconnect_reason.hpp ----
// ---- begin portico/framework/namespace_handle.hpp ----
/// `portico::namespace_handle<Gateway>`: the namespace of a gateway, for code that has no socket
/// in hand (a service, a timer, a queue consumer). Declare it as a provider beside the gateway
/// (`providers<namespace_handle<ChatGateway>, Notifier>`) and inject it like any singleton.
///
/// The app binds it when it builds the gateway's server (its constructor), before `listen`; an
/// emit then reaches no one until clients connect. Used before that (in a provider's
/// constructor, or with no app) it throws std::logic_error; after the app is destroyed it does
/// nothing.

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>


namespace portico {

template <class Gateway>
class namespace_handle {
 public:
  namespace_handle() = default;
  namespace_handle(const namespace_handle&) = delete;
  namespace_handle& operator=(const namespace_handle&) = delete;

  /// True once the app has built the gateway's namespace (and until it is destroyed).
  bool ready() const noexcept { return nsp_.load(std::memory_order_acquire) != nullptr; }
  /// The namespace; std::logic_error when not ready.
  socketio::nsp& get() const {
    auto* n = nsp_.load(std::memory_order_acquire);
    if (!n) throw std::logic_error("portico::namespace_handle used before the app built the gateway's namespace");
    return *n;
  }
  const std::string& namespace_name() const { return get().namespace_name(); }
  [[deprecated("use namespace_name()")]] const std::string& name() const { return namespace_name(); }

  /// Every client of the namespace.
  template <class... A>
  void emit(std::string_view event, const A&... a) const {
    if (auto* n = bound()) n->emit(event, a...);
  }
  /// Every client of the namespace, each asked for an ack (`nsp::emit_with_ack`).
  template <class... A>
  void emit_with_ack(std::string_view event, socketio::ack_callback cb, std::chrono::milliseconds timeout,
                     const A&... a) const {
    if (auto* n = bound()) n->emit_with_ack(event, std::move(cb), timeout, a...);
  }
  /// The clients in `room` (chain `.to`, `.except`, then `.emit`).
  socketio::emitter to(std::string room) const { return get().to(std::move(room)); }
  /// The same as `to`: `in(room).sockets_join(...)`, `in(room).disconnect_sockets()` read like Node's.
  socketio::emitter in(std::string room) const { return get().to(std::move(room)); }
  socketio::emitter except(std::string room_or_sid) const { return get().except(std::move(room_or_sid)); }

  // --- the other servers of a cluster (no-ops, or immediate answers, with one server) ---
  /// `event` to every other server's `on_server_event` listeners (`nsp::server_side_emit`).
  template <class... A>
  void server_side_emit(std::string_view event, const A&... a) const {
    if (auto* n = bound()) n->server_side_emit(event, a...);
  }
  /// Like `server_side_emit`; `cb(complete, answers)` once every other server answered or the
  /// adapter's timeout passed (`nsp::server_side_emit_with_ack`).
  template <class... A>
  void server_side_emit_with_ack(std::string_view event, socketio::adapter::server_ack_fn cb, const A&... a) const {
    if (auto* n = bound()) n->server_side_emit_with_ack(event, std::move(cb), a...);
  }
  /// Every socket of the namespace on every server: `done(complete, sockets)` (`nsp::fetch_sockets`).
  void fetch_sockets(socketio::adapter::fetch_fn done) const {
    if (auto* n = bound()) n->fetch_sockets(std::move(done));
  }
  /// Every socket of the namespace, on every server, joins `rooms` (`nsp::sockets_join`; one room:
  /// `in(room).sockets_join(rooms)`).
  void sockets_join(const std::vector<std::string>& rooms) const {
    if (auto* n = bound()) n->sockets_join(socketio::broadcast_options{}, rooms);
  }
  /// Every socket of the namespace, on every server, leaves `rooms` (`nsp::sockets_leave`).
  void sockets_leave(const std::vector<std::string>& rooms) const {
    if (auto* n = bound()) n->sockets_leave(socketio::broadcast_options{}, rooms);
  }
  /// Every socket of the namespace on every server is disconnected (`close`: its connection
  /// closed), `nsp::disconnect_sockets`.
  void disconnect_sockets(bool close = false) const {
    if (auto* n = bound()) n->disconnect_sockets(close);
  }
  /// The rooms of the namespace on every server: `done(complete, rooms)` (`nsp::all_rooms`).
  void all_rooms(socketio::adapter::rooms_fn done) const {
    if (auto* n = bound()) n->all_rooms(std::move(done));
  }

 private:
  template <class, class, class...>
  friend class app;
  /// Throws before binding; null (a no-op) after the app released it.
  socketio::nsp* bound() const {
    auto* n = nsp_.load(std::memory_order_acquire);
    if (!n && !released_.load(std::memory_order_acquire))
      throw std::logic_error("portico::namespace_handle used before the app built the gateway's namespace");
    return n;
  }
  void bind(socketio::nsp* n) noexcept { nsp_.store(n, std::memory_order_release); }
  void release() noexcept {
    released_.store(true, std::memory_order_release);
    nsp_.store(nullptr, std::memory_order_release);
  }

  std::atomic<socketio::nsp*> nsp_{nullptr};
  std::atomic<bool> released_{false};
};

}  // namespace portico
// ---- end portico/framework/namespace_handle.hpp ----
// ---- begin portico/framework/registry.hpp ----
/// The typed event registry: how a gateway's member functions become Socket.IO handlers.
///
/// Each subscription is installed in its namespace's handler table as one small callable that
/// holds a pointer to the gateway's binding; the socketio server finds it with one hash lookup
/// of the event name, and the callable calls the member function directly (its address is a
/// compile-time constant). Parameters are decoded into locals; nothing is allocated by the
/// registry itself per message.
///
/// Parameters, by their declared type (see docs/gateways.md):
///   gateway_context& / socketio::socket& / socketio::event&   the context, injected
///   portico::ack_handle                                       the ack, taken over (answer later)
///   const socketio::args&                                     every argument, raw
///   const json::value&                                        the next argument, raw JSON view
///   T& (non-const reference, any other T)                     a provider, injected by the container
///                                                             (a decodable T that no provider
///                                                             supplies is a payload taken by
///                                                             mistake: a compile error says so)
///   anything else (by value or const&)                        the next argument, decoded with
///                                                             json::decode (structs, strings,
///                                                             numbers, vectors, optional, binary...)
/// Return: void; ws_response (emitted as it says); socketio::payload (the ack, several values);
/// any other value: the ack if the client asked for one, else emitted back to the sender on the
/// same event name.

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- begin portico/framework/handler_result.hpp ----
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
// ---- end portico/framework/handler_result.hpp ----
// ---- begin portico/framework/ws_response.hpp ----
/// `return portico::ws_response{"event", data};` from a handler: emit `event` with `data`.
///
/// Without targets it goes back to the sender only. `.to(room_or_sid)` (repeatable) sends it to
/// everyone in those rooms of the gateway's namespace, the sender included if it is in one;
/// `.except(room_or_sid)` removes recipients. The data is encoded once, when the response is
/// built (binary values are not supported here: emit them through the context).

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>


namespace portico {

class ws_response {
 public:
  /// An event without data.
  explicit ws_response(std::string event) : event_(std::move(event)) {}
  template <class T>
  ws_response(std::string event, const T& data) : event_(std::move(event)) {
    data_ = framework::detail::to_json_text_without_binary(data, "portico::ws_response");
  }

  /// Adds a target room (a sid is a room too). Several targets: the union.
  ws_response& to(std::string room_or_sid) & {
    rooms_.push_back(std::move(room_or_sid));
    return *this;
  }
  ws_response&& to(std::string room_or_sid) && { return std::move(to(std::move(room_or_sid))); }
  /// Leaves out a room or sid.
  ws_response& except(std::string room_or_sid) & {
    except_.push_back(std::move(room_or_sid));
    return *this;
  }
  ws_response&& except(std::string room_or_sid) && { return std::move(except(std::move(room_or_sid))); }

  const std::string& event() const noexcept { return event_; }
  /// The data as JSON text; empty when the event carries no data.
  const std::string& data_json() const noexcept { return data_; }
  const std::vector<std::string>& rooms() const noexcept { return rooms_; }
  const std::vector<std::string>& excepted() const noexcept { return except_; }

 private:
  std::string event_, data_;
  std::vector<std::string> rooms_, except_;
};

}  // namespace portico
// ---- end portico/framework/ws_response.hpp ----

PORTICO_DI_DIAGNOSTIC(portico_error_handler_parameter_cannot_be_decoded,
                      declare_PORTICO_FIELDS_for_it_or_take_gateway_context_or_a_provider_by_non_const_reference)
PORTICO_DI_DIAGNOSTIC(portico_error_handler_result_cannot_be_encoded,
                      return_void_or_ws_response_or_a_JSON_encodable_value)
PORTICO_DI_DIAGNOSTIC(portico_error_handler_payload_by_non_const_reference,
                      take_payloads_by_value_or_const_ref_a_non_const_ref_asks_for_a_provider)

namespace portico::framework::detail {

template <class T>
using remove_cvref_t = std::remove_cv_t<std::remove_reference_t<T>>;

/// Whether json::decode has a mapping for T (asked first: json::decode itself static_asserts,
/// which would bury the readable diagnostic).
template <class T>
constexpr bool is_decodable() {
  return json::is_decodable_v<T>;
}

/// Whether a handler's return value can be sent (ack or emit).
template <class R>
constexpr bool is_sendable() {
  using D = remove_cvref_t<R>;
  if constexpr (std::is_void_v<R> || std::is_same_v<D, ws_response> || std::is_same_v<D, socketio::payload>) return true;
  else if constexpr (std::is_base_of_v<json::value, D>) return true;  // a DOM, sent as is
  else return json::is_encodable_v<D>;
}

enum class param_kind { context, socket, event, ack, raw_args, json_view, inject, payload, invalid };

template <class P>
constexpr param_kind kind_of() {
  using D = remove_cvref_t<P>;
  constexpr bool mutable_ref = std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>;
  if constexpr (std::is_same_v<D, gateway_context>) return param_kind::context;
  else if constexpr (std::is_same_v<D, socketio::socket>) return param_kind::socket;
  else if constexpr (std::is_same_v<D, socketio::event>) return param_kind::event;
  else if constexpr (std::is_same_v<D, ack_handle>) return param_kind::ack;
  else if constexpr (std::is_same_v<D, socketio::args>) return param_kind::raw_args;
  else if constexpr (std::is_same_v<D, json::value> && std::is_reference_v<P>) return param_kind::json_view;
  else if constexpr (mutable_ref && std::is_class_v<D>) return param_kind::inject;
  else if constexpr (!std::is_reference_v<P> || std::is_const_v<std::remove_reference_t<P>>)
    return is_decodable<D>() ? param_kind::payload : param_kind::invalid;
  else return param_kind::invalid;
}

template <class P>
constexpr bool takes_argument() {
  return kind_of<P>() == param_kind::payload || kind_of<P>() == param_kind::json_view;
}

/// Pieces of a member function pointer type.
template <class Fn>
struct member_traits;
template <class Fn>
struct member_traits<const Fn> : member_traits<Fn> {};
#define PORTICO_MEMBER_TRAITS(qual)                        \
  template <class R, class C, class... A>                  \
  struct member_traits<R (C::*)(A...) qual> {              \
    using result = R;                                      \
    using owner = C;                                       \
    using params = type_list<A...>;                        \
  };
PORTICO_MEMBER_TRAITS()
PORTICO_MEMBER_TRAITS(const)
PORTICO_MEMBER_TRAITS(noexcept)
PORTICO_MEMBER_TRAITS(const noexcept)
#undef PORTICO_MEMBER_TRAITS

/// Which providers a gateway's handlers can inject: its module and the container's overrides.
/// `no_providers` (the default) answers only what the parameter types alone tell.
struct no_providers {};
template <class Module, class Overrides>
struct providers_of {};

template <class D, class Module, class Ov>
constexpr bool payload_missing(providers_of<Module, Ov>*) {
  return lookup<D, Module, Ov>::status == lookup_status::missing;
}

/// `std::string& who`: a non-const reference reads as a DI request, but to a type a message
/// can carry and that no provider supplies, it is a payload taken by the wrong kind of reference.
template <class P, class Providers>
constexpr bool payload_by_mutable_ref(Providers*) {
  using D = remove_cvref_t<P>;
  constexpr bool mutable_ref = std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>;
  if constexpr (!mutable_ref || kind_of<P>() == param_kind::context || kind_of<P>() == param_kind::socket ||
                kind_of<P>() == param_kind::event || !is_decodable<D>()) {
    return false;
  } else if constexpr (!std::is_class_v<D>) {
    return true;  // `int&`: never a provider
  } else if constexpr (std::is_same_v<Providers, no_providers>) {
    return false;
  } else {
    return payload_missing<D>(static_cast<Providers*>(nullptr));
  }
}

/// Index of the first parameter that cannot be served (sizeof...(A) when all can).
template <class... A, class Providers = no_providers>
constexpr std::size_t first_invalid_param(type_list<A...>*, Providers* = nullptr) {
  constexpr bool bad[] = {(kind_of<A>() == param_kind::invalid ||
                           payload_by_mutable_ref<A>(static_cast<Providers*>(nullptr)))...,
                          false};
  for (std::size_t i = 0; i < sizeof...(A); ++i)
    if (bad[i]) return i;
  return sizeof...(A);
}

/// Which received argument the K-th parameter reads.
template <std::size_t K, class... A>
constexpr std::size_t argument_index() {
  constexpr bool takes[] = {takes_argument<A>()..., false};
  std::size_t n = 0;
  for (std::size_t i = 0; i < K; ++i) n += takes[i] ? 1 : 0;
  return n;
}

/// Whether a handler can be served (no diagnostic).
template <class G, class Fn, class Providers = no_providers>
constexpr bool handler_ok() {
  using T = member_traits<Fn>;
  using params = typename T::params;
  return first_invalid_param(static_cast<params*>(nullptr), static_cast<Providers*>(nullptr)) == params::size &&
         is_sendable<typename T::result>();
}

/// Raises the readable diagnostic for the first problem of a handler.
template <class G, class Fn, class Providers = no_providers>
bool check_handler() {
  using T = member_traits<Fn>;
  using params = typename T::params;
  constexpr std::size_t bad = first_invalid_param(static_cast<params*>(nullptr), static_cast<Providers*>(nullptr));
  if constexpr (bad < params::size) {
    using P = typename list_at<bad, params>::type;
    if constexpr (payload_by_mutable_ref<P>(static_cast<Providers*>(nullptr)))
      return raise_portico_error_handler_payload_by_non_const_reference<bool, G, P>();
    else
      return raise_portico_error_handler_parameter_cannot_be_decoded<bool, G, P>();
  } else if constexpr (!is_sendable<typename T::result>()) {
    return raise_portico_error_handler_result_cannot_be_encoded<bool, G, typename T::result>();
  } else {
    return true;
  }
}

struct no_slot {};
template <class P>
using slot_t = std::conditional_t<kind_of<P>() == param_kind::payload, remove_cvref_t<P>, no_slot>;

/// Decodes argument `idx` into `out`; a missing argument is `missing` unless optional.
template <class T>
bool decode_argument(const socketio::args& a, std::size_t idx, T& out, json::decode_context& dctx,
                     json::error_list& errs) {
  json::error_list::scope at(errs, idx);
  if (idx >= a.size()) {
    if constexpr (json::detail::is_optional<T>::value) {
      out.reset();
      return true;
    } else {
      errs.add("field required", "missing");
      return false;
    }
  }
  return json::decode(a[idx], out, dctx, errs);
}

/// The gateway's binding as the registry needs it (see app.hpp): container, gateway instance,
/// runtime, options. `B` provides: container_type, module, gateway_type, container, gateway,
/// options, log, debug.
template <class P, std::size_t Idx, class B>
decltype(auto) argument_for(B& b, socketio::event& e, gateway_context& ctx, slot_t<P>& slot) {
  constexpr param_kind k = kind_of<P>();
  using D = remove_cvref_t<P>;
  if constexpr (k == param_kind::context) return (ctx);
  else if constexpr (k == param_kind::socket) return (e.socket());
  else if constexpr (k == param_kind::event) return (e);
  else if constexpr (k == param_kind::ack) return e.take_ack();
  else if constexpr (k == param_kind::raw_args) return (e.args());
  else if constexpr (k == param_kind::json_view) return (e.args()[Idx]);
  else if constexpr (k == param_kind::inject)
    return b.container->template get_from<typename B::module, D&>(&ctx.scope());
  else if constexpr (std::is_reference_v<P>) return static_cast<const D&>(slot);
  else return static_cast<D&&>(slot);  // by value: the decoded local is moved in
}

/// Sends `{"code","reason"}` as the `error` event and, when one was asked, as the error ack
/// `{"error":{"code","reason"}}`; disconnects when the gateway says so.
template <class B>
void report_error(B& b, socketio::socket& s, socketio::event* e, int code, std::string_view reason_json) {
  const std::string body = error_object(code, reason_json);
  s.emit("error", json_text{body});
  if (e && e->wants_ack()) e->ack(json_text{"{\"error\":" + body + "}"});
  if (b.options.disconnect_on_error) s.disconnect();
}

/// The 1011 reason: the real message only when debug is on.
template <class B>
std::string internal_reason(B& b, const char* what) {
  return b.debug ? to_json_text(std::string_view(what)) : std::string("\"Something went wrong\"");
}

inline void emit_response(socketio::socket& s, const ws_response& r) {
  const bool has_data = !r.data_json().empty();
  if (r.rooms().empty() && r.excepted().empty()) {
    if (has_data) s.emit(r.event(), json_text{r.data_json()});
    else s.emit(r.event());
    return;
  }
  socketio::emitter em(s.get_namespace());
  for (const auto& room : r.rooms()) em.to(room);
  for (const auto& x : r.excepted()) em.except(x);
  if (has_data) em.emit(r.event(), json_text{r.data_json()});
  else em.emit(r.event());
}

/// What a handler's value becomes.
template <class R>
void send_result(socketio::event& e, R&& r) {
  using D = remove_cvref_t<R>;
  if constexpr (std::is_same_v<D, ws_response>) {
    emit_response(e.socket(), r);
  } else if constexpr (std::is_same_v<D, socketio::payload>) {
    e.ack(static_cast<const socketio::payload&>(r));
  } else if (e.wants_ack()) {
    e.ack(r);
  } else {
    e.socket().emit(e.name(), r);
  }
}

/// A value kept for the interceptors: ws_response and payload answer at once (see handler_result.hpp).
template <class R>
void capture_result(socketio::event& e, handler_result& out, R&& r) {
  using D = remove_cvref_t<R>;
  if constexpr (std::is_same_v<D, ws_response> || std::is_same_v<D, socketio::payload>) send_result(e, std::forward<R>(r));
  else out.set(r);
}

/// What the interceptors left, sent as the handler's own value would have been.
inline void send_handler_result(socketio::event& e, const handler_result& r) {
  if (!r.has_value()) return;
  if (e.wants_ack()) e.ack(json_text{r.json()});
  else e.socket().emit(e.name(), json_text{r.json()});
}

/// Decodes the parameters and calls `Fn` on the gateway; `reply(value)` takes its result. A
/// payload that does not validate is reported at once, or thrown (`Throw`: the handler has
/// filters or interceptors, which see it as NestJS's pipes' exception).
template <auto Fn, bool Throw, class B, class Reply, class... A, std::size_t... K>
void invoke_handler(B& b, socketio::event& e, gateway_context& ctx, Reply&& reply, type_list<A...>*,
                    std::index_sequence<K...>) {
  using R = typename member_traits<decltype(Fn)>::result;
  std::tuple<slot_t<A>...> slots;
  if constexpr ((takes_argument<A>() || ...)) {
    thread_local json::error_list errs;  // reused: its buffers stay allocated
    errs.clear();
    const socketio::args& a = e.args();
    json::decode_context dctx = a.context();
    bool ok = true;
    (([&] {
       if constexpr (kind_of<A>() == param_kind::payload)
         ok = decode_argument(a, argument_index<K, A...>(), std::get<K>(slots), dctx, errs) && ok;
     }()),
     ...);
    if (!ok) {
      if constexpr (Throw) throw ws_exception(ws_code::invalid_payload, "Invalid payload", json_text{json::to_string(errs)});
      report_error(b, e.socket(), &e, ws_code::invalid_payload, json::to_string(errs));
      return;
    }
  }
  if constexpr (std::is_void_v<R>) {
    (b.gateway->*Fn)(argument_for<A, argument_index<K, A...>()>(b, e, ctx, std::get<K>(slots))...);
    static_cast<void>(reply);
  } else {
    reply((b.gateway->*Fn)(argument_for<A, argument_index<K, A...>()>(b, e, ctx, std::get<K>(slots))...));
  }
  static_cast<void>(slots);
}

/// Runs `f`; maps a ws_exception to its code, anything else to 1011 plus a log line.
template <class B, class F>
void with_error_mapping(B& b, socketio::socket& s, socketio::event* e, std::string_view what, F&& f) {
  try {
    f();
  } catch (const ws_exception& ex) {
    report_error(b, s, e, ex.code(), ex.reason_json());
  } catch (const std::exception& ex) {
    s.engine()->count(socketio::metrics_slots::handler_exceptions);  // docs/metrics.md
    b.log->error([&] { return "gateway handler '" + std::string(what) + "' threw: " + ex.what(); });
    report_error(b, s, e, ws_code::internal_error, internal_reason(b, ex.what()));
  } catch (...) {
    s.engine()->count(socketio::metrics_slots::handler_exceptions);
    b.log->error([&] { return "gateway handler '" + std::string(what) + "' threw a non-exception"; });
    report_error(b, s, e, ws_code::internal_error, internal_reason(b, "unknown exception"));
  }
}

/// How filters and interceptors of a gateway handler are built (through the container, with
/// the client's scope) and how a filter is handed its host.
template <class B>
struct ws_policy_env {
  B& b;
  gateway_context& ctx;
  socketio::event& e;
  template <class T>
  T make() {
    return b.container->template make<T, typename B::module>(&ctx.scope());
  }
  template <class F, class E>
  void handle(F& f, const E& ex) {
    ws_exception_host host(ctx, e, b.options.disconnect_on_error);
    f.catch_exception(ex, host);
  }
};

/// How filters at a gateway's CONNECT are built (with the client's new scope) and answer: one
/// that refuses nothing passes the exception on.
template <class B>
struct connect_policy_env {
  B& b;
  gateway_context& ctx;
  socketio::connect_request& r;
  connection_scope* scope;
  template <class T>
  T make() {
    return b.container->template make<T, typename B::module>(scope);
  }
  template <class F, class E>
  void handle(F& f, const E& ex) {
    connect_exception_host host(ctx, r);
    f.catch_exception(ex, host);
    if (!host.answered()) throw;
  }
};

template <class G, std::size_t I>
using subscription_at_t = remove_cvref_t<decltype(std::get<I>(G::events))>;

/// The class's filters, then the app's (`Global`: a policy_set, see global_policies.hpp). Each
/// serves handlers (`ws_exception_host`), CONNECT (`connect_exception_host`), or both; the
/// app's may also serve only routes (`http_exception_host`).
template <class G, class Global>
using outer_filters_t = combine_filters_t<filters_of_t<G>, typename Global::filters_type>;
/// Filters of subscription S of G: the handler's first, then the class's and the app's that
/// serve handlers.
template <class G, class S, class Global = policy_set<>>
using handler_filters_t =
    combine_filters_t<typename S::handler_filters, serving_t<outer_filters_t<G, Global>, ws_exception_host>>;
/// Filters at G's CONNECT: the class's and the app's that serve it.
template <class G, class Global>
using connect_filters_t = serving_t<outer_filters_t<G, Global>, connect_exception_host>;
/// Class filters that serve neither handlers nor CONNECT, and app-wide ones that serve nothing.
template <class G, class Global>
using useless_filters_t =
    combine_filters_t<serving_none_t<filters_of_t<G>, ws_exception_host, connect_exception_host>,
                      serving_none_t<typename Global::filters_type, ws_exception_host, connect_exception_host,
                                     http_exception_host>>;
/// Interceptors of subscription S of G: the app's first (outermost), then the class's, then the handler's.
template <class G, class S, class Global = policy_set<>>
using handler_interceptors_t =
    combine_interceptors_t<typename Global::interceptors_type, interceptors_of_t<G>, typename S::handler_interceptors>;

/// The member function of subscription I of G (a variable: lambdas use it without capturing).
template <class G, std::size_t I>
inline constexpr auto handler_fn = std::get<I>(G::events).fn;

/// The handler guards of subscription I; a refusal by `false` is thrown as 1008 "Forbidden".
template <class B, std::size_t I>
void run_handler_guards(B& b, gateway_context& ctx) {
  using handler_guards = typename subscription_at_t<typename B::gateway_type, I>::handler_guards;
  if constexpr (!std::is_same_v<handler_guards, portico::guards<>>) {
    if (!run_guards<handler_guards, typename B::module>(*b.container, ctx, &ctx.scope()))
      throw ws_exception(ws_code::policy_violation, "Forbidden");
  } else {
    static_cast<void>(b), static_cast<void>(ctx);
  }
}

/// Decodes and calls the handler of subscription I; `reply(value)` takes its value.
template <class B, std::size_t I, bool Throw, class Reply>
void call_handler(B& b, socketio::event& e, gateway_context& ctx, Reply&& reply) {
  using G = typename B::gateway_type;
  using params = typename member_traits<decltype(handler_fn<G, I>)>::params;
  invoke_handler<handler_fn<G, I>, Throw>(b, e, ctx, std::forward<Reply>(reply), static_cast<params*>(nullptr),
                                          std::make_index_sequence<params::size>{});
}

/// The handler of subscription I of the gateway bound by B, in the order of docs/guards.md:
/// handler guards, interceptors' `before` (class, then handler), decode and call, interceptors'
/// `after` (reverse), the reply; an exception anywhere goes to the filters (handler, then
/// class), then to the built-in mapping. With no filter and no interceptor declared this is
/// the plain call: nothing of them is built (the same machine code as without the feature).
template <class B, std::size_t I>
void dispatch(B& b, socketio::event& e) {
  using G = typename B::gateway_type;
  using chain_filters = handler_filters_t<G, subscription_at_t<G, I>, typename B::global_policies>;
  using chain_interceptors = handler_interceptors_t<G, subscription_at_t<G, I>, typename B::global_policies>;
  gateway_context ctx(b, e.socket(), &e);
  with_error_mapping(b, e.socket(), &e, e.name(), [&] {
    if constexpr (std::is_same_v<chain_filters, portico::filters<>> &&
                  std::is_same_v<chain_interceptors, portico::interceptors<>>) {
      run_handler_guards<B, I>(b, ctx);
      call_handler<B, I, false>(b, e, ctx, [&e](auto&& v) { send_result(e, std::forward<decltype(v)>(v)); });
    } else {
      ws_policy_env<B> env{b, ctx, e};
      run_with_filters<chain_filters>(env, [&] {
        run_handler_guards<B, I>(b, ctx);
        if constexpr (std::is_same_v<chain_interceptors, portico::interceptors<>>) {
          call_handler<B, I, true>(b, e, ctx, [&e](auto&& v) { send_result(e, std::forward<decltype(v)>(v)); });
        } else {
          handler_result result;
          run_with_interceptors<chain_interceptors>(env, ctx, result, [&](handler_result& r) {
            call_handler<B, I, true>(b, e, ctx, [&](auto&& v) { capture_result(e, r, std::forward<decltype(v)>(v)); });
          });
          send_handler_result(e, result);
        }
      });
    }
  });
}

/// Whether the filters and interceptors of subscription S of G (with the app's) fit a gateway handler.
template <class G, class S, class Global>
constexpr bool policies_ok() {
  return filters_valid<handler_filters_t<G, S, Global>, ws_exception_host>() &&
         interceptors_valid<handler_interceptors_t<G, S, Global>, gateway_context, handler_result>();
}
/// The diagnostic for the first misused filter or interceptor of S.
template <class G, class S, class Global>
bool check_policies() {
  if constexpr (!filters_valid<handler_filters_t<G, S, Global>, ws_exception_host>())
    return check_filters<handler_filters_t<G, S, Global>, ws_exception_host>();
  else if constexpr (!interceptors_valid<handler_interceptors_t<G, S, Global>, gateway_context, handler_result>())
    return check_interceptors<handler_interceptors_t<G, S, Global>, gateway_context, handler_result>();
  else
    return true;
}

template <class G, class Providers, class Global, std::size_t... I>
constexpr bool events_ok(std::index_sequence<I...>) {
  return std::is_same_v<useless_filters_t<G, Global>, portico::filters<>> &&
         ((handler_ok<G, decltype(std::get<I>(G::events).fn), Providers>() &&
           policies_ok<G, subscription_at_t<G, I>, Global>()) &&
          ...);
}
template <class G, class Providers, class Global, std::size_t... I>
bool report_events(std::index_sequence<I...>) {
  if constexpr (!std::is_same_v<useless_filters_t<G, Global>, portico::filters<>>)
    return check_filters<useless_filters_t<G, Global>, ws_exception_host>();  // names the filter
  else
    return ((check_handler<G, decltype(std::get<I>(G::events).fn), Providers>() &&
             check_policies<G, subscription_at_t<G, I>, Global>()) &&
            ...);
}

/// Whether every subscription of G can be served (Providers: `providers_of<its module,
/// overrides>`; Global: the app's policy_set).
template <class G, class Providers = no_providers, class Global = policy_set<>>
constexpr bool gateway_ok() {
  using E = typename events_of<G>::type;
  return events_ok<G, Providers, Global>(std::make_index_sequence<std::tuple_size_v<E>>{});
}
/// The diagnostic for the first subscription of G that cannot be served (one error; the
/// dispatch code of a bad gateway is never instantiated, so nothing cascades).
template <class G, class Providers = no_providers, class Global = policy_set<>>
void report_gateway() {
  using E = typename events_of<G>::type;
  static_cast<void>(report_events<G, Providers, Global>(std::make_index_sequence<std::tuple_size_v<E>>{}));
}

/// Installs subscriptions I... of the gateway bound by `b` on namespace `n`.
template <class B, std::size_t... I>
void install_events(B& b, socketio::nsp& n, std::index_sequence<I...>) {
  using G = typename B::gateway_type;
  B* bp = &b;
  (([&] {
     const char* name = std::get<I>(G::events).name;
     auto thunk = [bp](socketio::event& e) { dispatch<B, I>(*bp, e); };
     if (name) n.on(name, thunk);
     else n.on_any(thunk);
   }()),
   ...);
  static_cast<void>(bp), static_cast<void>(n);
}

}  // namespace portico::framework::detail
// ---- end portico/framework/registry.hpp ----

namespace portico {

struct app_options {
  unsigned io_threads = 0;      ///< Engine.IO I/O threads per server; 0: hardware_concurrency
  unsigned worker_threads = 2;  ///< threads of the pool behind gateway_context::offload
  bool debug = false;           ///< 1011 errors carry the exception's message instead of "Something went wrong"
  std::chrono::milliseconds connect_timeout{45000};
  /// Also serve socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) on every path, as
  /// Node's `allowEIO3`; off by default. Guards see such a client's query as its auth
  /// (docs/socketio.md, "Legacy clients").
  bool allow_eio3 = false;
  /// The starting point of every path's Socket.IO server: limits (`server.engine.max_payload`,
  /// `max_buffered_bytes`, `stop_grace`, `allow_eio3`, ...), `max_attachments`,
  /// `max_packet_bytes`, `adapter_factory` (another adapter, see
  /// docs/scaling.md), `connection_state_recovery` (docs/socketio.md). The app then sets the path, threads, connect_timeout, and what the
  /// gateways declare (transports, CORS origins, ping).
  socketio::server_options server;
  /// The official Socket.IO admin UI on the first path's server: `portico::admin_ui::install(
  /// admin_ui_options{...})` from <portico/admin/admin_ui.hpp> (link -lcrypt). Empty: none.
  std::function<std::shared_ptr<void>(socketio::server&, http::router&)> admin_ui;
  /// Count per I/O worker and serve `GET metrics_path` in the Prometheus text format: the first
  /// gateway path's server (docs/metrics.md; `app.server(path).metrics()` for the others, and
  /// for exporting elsewhere). Off: nothing is counted, no route.
  bool metrics = false;
  std::string metrics_path = "/metrics";
};

namespace framework::detail {

/// Everything the handlers of one gateway need at run time.
template <class Container, class G, class Global>
struct gateway_binding : gateway_runtime {
  using container_type = Container;
  using gateway_type = G;
  using module = typename Container::template module_of_t<G>;
  using global_policies = globals_of_t<Global>;  ///< the app's guards, filters, interceptors
  using global_guards = typename global_policies::guards_type;

  Container* container = nullptr;
  G* gateway = nullptr;
  connection_table table;
  gateway_options options;
  portico::logger* log = nullptr;
  bool debug = false;
};

template <class G, class = void>
struct has_on_connected_ctx : std::false_type {};
template <class G>
struct has_on_connected_ctx<G, std::void_t<decltype(std::declval<G&>().on_connected(std::declval<gateway_context&>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_on_connected_plain : std::false_type {};
template <class G>
struct has_on_connected_plain<G, std::void_t<decltype(std::declval<G&>().on_connected())>> : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_ctx : std::false_type {};
template <class G>
struct has_on_disconnected_ctx<G, std::void_t<decltype(std::declval<G&>().on_disconnected(std::declval<gateway_context&>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_plain : std::false_type {};
template <class G>
struct has_on_disconnected_plain<G, std::void_t<decltype(std::declval<G&>().on_disconnected())>> : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_ctx_reason : std::false_type {};
template <class G>
struct has_on_disconnected_ctx_reason<G, std::void_t<decltype(std::declval<G&>().on_disconnected(
                                             std::declval<gateway_context&>(), std::declval<disconnect_reason>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_on_disconnected_reason : std::false_type {};
template <class G>
struct has_on_disconnected_reason<G, std::void_t<decltype(std::declval<G&>().on_disconnected(std::declval<disconnect_reason>()))>>
    : std::true_type {};

template <class G, class = void>
struct has_after_init_nsp : std::false_type {};
template <class G>
struct has_after_init_nsp<G, std::void_t<decltype(std::declval<G&>().after_init(std::declval<socketio::nsp&>()))>>
    : std::true_type {};
template <class G, class = void>
struct has_after_init_plain : std::false_type {};
template <class G>
struct has_after_init_plain<G, std::void_t<decltype(std::declval<G&>().after_init())>> : std::true_type {};

/// NestJS's `afterInit`: the gateway's namespace exists, the server does not listen yet.
template <class G>
void call_after_init(G& g, socketio::nsp& n) {
  if constexpr (has_after_init_nsp<G>::value) g.after_init(n);
  else if constexpr (has_after_init_plain<G>::value) g.after_init();
  else static_cast<void>(g), static_cast<void>(n);
}

/// Calls `on_connected`; a `false` return refuses the client.
template <class G>
void call_on_connected(G& g, gateway_context& ctx) {
  if constexpr (has_on_connected_ctx<G>::value) {
    using R = decltype(g.on_connected(ctx));
    if constexpr (std::is_same_v<R, bool>) {
      if (!g.on_connected(ctx)) ctx.refuse(ws_code::policy_violation, "Connection refused");
    } else {
      g.on_connected(ctx);
    }
  } else if constexpr (has_on_connected_plain<G>::value) {
    using R = decltype(g.on_connected());
    if constexpr (std::is_same_v<R, bool>) {
      if (!g.on_connected()) ctx.refuse(ws_code::policy_violation, "Connection refused");
    } else {
      g.on_connected();
    }
  } else {
    static_cast<void>(g), static_cast<void>(ctx);
  }
}

/// Calls `on_disconnected` in the first form the gateway declares: (ctx, reason), (ctx),
/// (reason), (). The reason is optional: a `disconnect_reason` or a `std::string_view`.
template <class G>
void call_on_disconnected(G& g, gateway_context& ctx, disconnect_reason reason) {
  if constexpr (has_on_disconnected_ctx_reason<G>::value) g.on_disconnected(ctx, reason);
  else if constexpr (has_on_disconnected_ctx<G>::value) g.on_disconnected(ctx);
  else if constexpr (has_on_disconnected_reason<G>::value) g.on_disconnected(reason);
  else if constexpr (has_on_disconnected_plain<G>::value) g.on_disconnected();
  else static_cast<void>(g), static_cast<void>(ctx), static_cast<void>(reason);
}

/// CONNECT of a client to the gateway's namespace: open its scope, run the global and class
/// guards, then `on_connected`. Any refusal is a connect_error `{message, data:{code, reason}}`
/// (or as the class's and app's filters that serve CONNECT word it) and the client never
/// reaches a handler of this gateway (the socketio server does not add a
/// refused socket to the namespace).
template <class B>
void gateway_connect(B& b, socketio::socket& s, socketio::connect_request& r) {
  using G = typename B::gateway_type;
  connection_scope& scope = b.table.open(s.sid());
  gateway_context ctx(b, s, nullptr, &r);
  try {
    using handshake_guards = combine_guards_t<typename B::global_guards, guards_of_t<G>>;
    using filters_list = connect_filters_t<G, typename B::global_policies>;
    // A recovered socket was let in before (Node's skipMiddlewares): the guards do not run again.
    bool skip = s.recovered() && s.server().options().connection_state_recovery.skip_middlewares;
    if constexpr (std::is_same_v<filters_list, filters<>>) {
      if (!skip && !run_guards<handshake_guards, typename B::module>(*b.container, ctx, &scope))
        ctx.refuse(ws_code::policy_violation, "Forbidden");
      else
        call_on_connected(*b.gateway, ctx);
    } else {  // the filters word what the guards and on_connected throw (a refusal: 1008 "Forbidden")
      connect_policy_env<B> env{b, ctx, r, &scope};
      run_with_filters<filters_list>(env, [&] {
        if (!skip && !run_guards<handshake_guards, typename B::module>(*b.container, ctx, &scope))
          throw ws_exception(ws_code::policy_violation, "Forbidden");
        call_on_connected(*b.gateway, ctx);
      });
    }
  } catch (const ws_exception& ex) {
    r.refuse(ex.what(), json_text{ex.body()});
  } catch (const std::exception& ex) {
    b.log->error([&] { return std::string("gateway connect on ") + s.namespace_name() + " threw: " + ex.what(); });
    r.refuse("Something went wrong",
             json_text{error_object(ws_code::internal_error, internal_reason(b, ex.what()))});
  }
  if (r.refused()) b.table.close(s.sid());
}

template <class B>
void gateway_disconnect(B& b, socketio::socket& s, std::string_view reason) {
  gateway_context ctx(b, s);
  portico::detail::run_user_code(b.log, [&] { return std::string("on_disconnected on ") + s.namespace_name(); },
                                 [&] { call_on_disconnected(*b.gateway, ctx, disconnect_reason(reason)); });
  b.table.close(s.sid());  // per-connection providers die here
}

/// The gateway's `server_events` table -> the namespace's `on_server_event` listeners.
template <class B, std::size_t... I>
void install_server_events(B& b, socketio::nsp& n, std::index_sequence<I...>) {
  using G = typename B::gateway_type;
  [[maybe_unused]] G* g = b.gateway;  // unused when the table is empty
  (void)n;
  (n.on_server_event(std::get<I>(server_events_of<G>::value).name,
                     [g](const socketio::args& a) { return (g->*std::get<I>(server_events_of<G>::value).fn)(a); }),
   ...);
}

template <class B>
void install_gateway(B& b, socketio::nsp& n) {
  using G = typename B::gateway_type;
  B* bp = &b;
  n.on_connect([bp](socketio::socket& s, socketio::connect_request& r) { gateway_connect(*bp, s, r); });
  n.on_disconnect([bp](socketio::socket& s, std::string_view reason) { gateway_disconnect(*bp, s, reason); });
  using E = typename events_of<G>::type;
  install_events(b, n, std::make_index_sequence<std::tuple_size_v<E>>{});
  using S = typename server_events_of<G>::type;
  install_server_events(b, n, std::make_index_sequence<std::tuple_size_v<S>>{});
}

/// "/socket.io" and "/socket.io/" are the same path.
inline std::string normalize_path(std::string_view p) {
  std::string s(p);
  if (s.empty() || s.front() != '/') s.insert(s.begin(), '/');
  if (s.back() != '/') s += '/';
  return s;
}

inline std::vector<std::string> split_origins(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace framework::detail

/// The application: a DI container over `Root`, with global guards, filters and interceptors
/// (`GlobalGuards`: `guards<...>` or `global_policies<...>`, see global_policies.hpp) and (for
/// tests) provider overrides. Constructing it instantiates every singleton, gateway and controller, builds the
/// servers and adds the controllers' routes to router().
///
/// One net::host serves every gateway path, the controllers and the ws routes (router()) on the
/// port of listen(); an app without gateways serves only the router.
template <class Root, class GlobalGuards = guards<>, class... Overrides>
class app {
 public:
  using container_type = ::portico::container<Root, Overrides...>;
  using global_guards = typename framework::detail::globals_of_t<GlobalGuards>::guards_type;
  /// The same app with test fakes: `app<M>::with_overrides<override<AuthService, Fake>>`.
  template <class... More>
  using with_overrides = app<Root, GlobalGuards, Overrides..., More...>;
  /// The same app with guards run first at every handshake (and every controller request).
  template <class... G>
  using with_global_guards = app<Root, framework::detail::add_global_t<GlobalGuards, guards<G...>>, Overrides...>;
  /// The same app with filters tried last for every handler and route (NestJS useGlobalFilters).
  template <class... F>
  using with_global_filters = app<Root, framework::detail::add_global_t<GlobalGuards, filters<F...>>, Overrides...>;
  /// The same app with interceptors around every handler and route, outermost.
  template <class... I>
  using with_global_interceptors =
      app<Root, framework::detail::add_global_t<GlobalGuards, interceptors<I...>>, Overrides...>;

  app() : app(app_options{}) {}
  /// `values...` fill `portico::value<T>` providers (as for `container`).
  template <class... V>
  explicit app(app_options o, V&&... values)
      : opts_(o), container_(std::forward<V>(values)...), log_("portico.gateway", log_level::info), pool_(o.worker_threads) {
    container_.instantiate();
    plan(static_cast<typename container_type::gateways*>(nullptr));
    for (auto& p : paths_) p.server = std::make_unique<socketio::server>(p.options);
    install(static_cast<typename container_type::gateways*>(nullptr));
    install_controllers(static_cast<typename container_type::controllers*>(nullptr));
    if (opts_.admin_ui) {
      if (paths_.empty()) throw std::logic_error("portico::app: the admin UI needs a gateway's Socket.IO server");
      extensions_.push_back(opts_.admin_ui(*paths_.front().server, router()));
    }
    if (opts_.metrics && !paths_.empty()) {
      socketio::server* srv = paths_.front().server.get();
      router().get(opts_.metrics_path, [srv] {
        return http::content(srv->metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
      });
    }
  }
  app(const app&) = delete;
  app& operator=(const app&) = delete;
  ~app() {
    for (auto& r : releases_) r();  // injected namespace handles: no-ops from here on
    stop();
  }

  container_type& container() noexcept { return container_; }
  /// The Socket.IO server of `path` (the first gateway's path when empty).
  socketio::server& server(std::string_view path = {}) { return *find(path).server; }
  portico::logger& log() noexcept { return log_; }
  /// The HTTP router the controllers' routes are on; add hand-written routes before listen().
  /// Served on the app's port, under every path no gateway has.
  http::router& router() {
    if (!router_) router_ = std::make_unique<http::router>();
    return *router_;
  }
  /// The first gateway path's Engine.IO server. Without gateways, a bare one that nothing
  /// serves (kept for code written when it carried the router).
  engineio::server& engine() {
    if (!paths_.empty()) return paths_.front().server->engine();
    if (!engine_) {
      engineio::server_options o = opts_.server.engine;  // limits, CORS...
      o.path = engineio::server_options{}.path;            // /engine.io/: no Socket.IO here
      o.threads = opts_.io_threads;
      engine_ = framework::detail::make_engine(o);
    }
    return *engine_;
  }
  worker_pool& pool() noexcept { return pool_; }
  /// Every distinct gateway path, in declaration order.
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (auto& p : paths_) out.push_back(p.path);
    return out;
  }

  /// Serves every gateway path, the controllers and ws routes on address:port (0: ephemeral,
  /// see port()) and starts. May be called again for more addresses ("::1" next to
  /// "127.0.0.1"). Binding a port in use throws std::system_error (no silent sharing with
  /// another process). Returns at once; `run()` blocks.
  void listen(const std::string& address, std::uint16_t port) {
    auto& h = host();
    const std::uint16_t bound = h.listen(address, port);
    if (!port_) port_ = bound;
    start();
  }
  /// listen() over TLS: https:// and wss:// for every gateway path, the controllers and ws routes
  /// on address:port. `tls` comes from <portico/net/tls.hpp>, the one header of the app's that
  /// needs OpenSSL (link meson `portico_tls_dep`, pkg-config `portico-tls`); an app that never
  /// calls this builds without it. Plain and TLS listeners can sit side by side (port 80 and
  /// 443); port() is the first one's. Unusable `tls` options throw std::invalid_argument.
  void listen_tls(const std::string& address, std::uint16_t port, const net::tls_options& tls) {
    auto& h = host();
    const std::uint16_t bound = h.listen_tls(address, port, tls);
    if (!port_) port_ = bound;
    start();
  }
  /// The port of the first listen() (every path is served there; `path`, when given, must be a
  /// gateway path).
  std::uint16_t port(std::string_view path = {}) {
    if (!path.empty()) find(path);
    return port_;
  }
  void start() {
    for (auto& p : paths_) p.server->start();
    host().start();
  }
  /// Blocks until stop() (from a handler or another thread).
  void run() {
    start();
    {
      std::unique_lock<std::mutex> g(run_mu_);
      run_cv_.wait(g, [&] { return stop_requested_; });
    }
    stop();
  }
  /// Stops every server (disconnect handlers run, scopes close, ws route clients get 1001),
  /// then the host and the worker pool. Idempotent. From a handler it only begins: run() (or
  /// the destructor) finishes.
  void stop() {
    {
      std::lock_guard<std::mutex> g(run_mu_);
      stop_requested_ = true;
    }
    run_cv_.notify_all();
    if (router_) router_->close_websockets();
    for (auto& p : paths_)
      if (p.server) p.server->stop();
    if (engine_) framework::detail::engine_stop(*engine_);
    if (host_) {
      try {
        host_->stop();
      } catch (const std::logic_error&) {
        return;  // on one of the host's threads: run() or the destructor stops it
      }
    }
    pool_.stop();
  }

 private:
  struct path_entry {
    std::string path;
    socketio::server_options options;
    std::vector<std::string> namespaces;
    bool ping_set = false;
    std::unique_ptr<socketio::server> server;
  };

  /// The host, with every path mounted (made on first use: routes and gateways are known by then).
  net::host& host() {
    if (host_) return *host_;
    net::host_options ho;
    ho.threads = opts_.io_threads;
    const auto& eo = paths_.empty() ? opts_.server.engine : paths_.front().options.engine;
    // As websocketpp's endpoint allowed: a polling POST carries up to twice max_payload.
    ho.max_body_bytes = std::max<std::size_t>(ho.max_body_bytes, eo.max_payload * 2 + 1024);
    ho.max_message_bytes = eo.max_payload;
    ho.stop_timeout = eo.stop_grace;
    host_ = std::make_unique<net::host>(ho);
    std::shared_ptr<net::handler> routes;
    if (router_) {
      router_->set_max_buffered_bytes(eo.max_buffered_bytes);
      routes = http::router::handler(*router_);
      host_->mount("/", routes);
    }
    for (auto& p : paths_) p.server->engine().mount(*host_, routes);
    return *host_;
  }

  path_entry& find(std::string_view path) {
    if (paths_.empty()) throw std::logic_error("portico::app: the module declares no gateway");
    if (path.empty()) return paths_.front();
    const std::string want = framework::detail::normalize_path(path);
    for (auto& p : paths_)
      if (p.path == want) return p;
    throw std::out_of_range("portico::app: no gateway on path " + want);
  }

  /// Gathers each path's server options from its gateways.
  template <class... G>
  void plan(framework::detail::type_list<G...>*) {
    (plan_one(framework::detail::options_of<G>::value), ...);
  }
  void plan_one(const gateway_options& g) {
    const std::string path = framework::detail::normalize_path(g.path);
    const std::string nsp = g.normalized_namespace();
    path_entry* e = nullptr;
    for (auto& p : paths_)
      if (p.path == path) e = &p;
    const bool first = e == nullptr;
    if (first) {
      paths_.emplace_back();
      e = &paths_.back();
      e->path = path;
      e->options = opts_.server;
      e->options.engine.path = path;
      e->options.engine.threads = opts_.io_threads;
      e->options.engine.metrics = e->options.engine.metrics || opts_.metrics;
      e->options.connect_timeout = opts_.connect_timeout;
      if (opts_.allow_eio3) e->options.allow_eio3 = true;
    }
    for (auto& n : e->namespaces)
      if (n == nsp)
        throw std::logic_error("portico::app: two gateways on namespace " + nsp + " of path " + path);
    e->namespaces.push_back(nsp);
    // Transports: the intersection (a gateway that wants websocket only makes its path so).
    auto& eo = e->options.engine;
    const bool polling = (static_cast<unsigned>(g.transport) & static_cast<unsigned>(transports::polling)) != 0;
    const bool ws = (static_cast<unsigned>(g.transport) & static_cast<unsigned>(transports::websocket)) != 0;
    eo.polling = first ? polling : (eo.polling && polling);
    eo.websocket = first ? ws : (eo.websocket && ws);
    if (!eo.polling && !eo.websocket)
      throw std::logic_error("portico::app: the gateways on path " + path + " allow no common transport");
    // CORS: the union of the origins.
    for (auto& o : framework::detail::split_origins(g.cors_origins)) eo.cors.allowed_origins.push_back(o);
    // Ping: the first gateway that sets it decides.
    if (g.ping_interval_ms > 0 || g.ping_timeout_ms > 0) {
      if (e->ping_set) {
        log_.warn("gateway ping settings on " + path + " ignored: an earlier gateway set them");
      } else {
        e->ping_set = true;
        if (g.ping_interval_ms > 0) eo.ping_interval = std::chrono::milliseconds(g.ping_interval_ms);
        if (g.ping_timeout_ms > 0) eo.ping_timeout = std::chrono::milliseconds(g.ping_timeout_ms);
      }
    }
  }

  template <class... G>
  void install(framework::detail::type_list<G...>*) {
    (install_one<G>(), ...);
  }
  template <class G>
  void install_one() {
    using providers = framework::detail::providers_of<typename container_type::template module_of_t<G>,
                                                      typename container_type::override_list>;
    using globals = framework::detail::globals_of_t<GlobalGuards>;
    if constexpr (!framework::detail::gateway_ok<G, providers, globals>()) {
      framework::detail::report_gateway<G, providers, globals>();
    } else {
      install_checked<G>();
    }
  }
  template <class G>
  void install_checked() {
    using binding = framework::detail::gateway_binding<container_type, G, GlobalGuards>;
    auto b = std::make_shared<binding>();
    const gateway_options& g = framework::detail::options_of<G>::value;
    path_entry& e = find(g.path);
    b->server = e.server.get();
    b->connections = &b->table;
    b->pool = &pool_;
    b->container = &container_;
    b->gateway = &container_.template component<G>();
    b->options = g;
    b->log = &log_;
    b->debug = opts_.debug;
    const std::string nsp = g.normalized_namespace();
    socketio::nsp& n = e.server->of(nsp);
    framework::detail::install_gateway(*b, n);
    bindings_.push_back(std::move(b));
    bind_handle<G>(n);
    framework::detail::call_after_init(container_.template component<G>(), n);
  }
  /// Binds the `namespace_handle<G>` provider, if the gateway's module (or the root) declares one.
  template <class G>
  void bind_handle(socketio::nsp& n) {
    using K = namespace_handle<G>;
    using M = typename container_type::template module_of_t<G>;
    namespace fd = framework::detail;
    namespace_handle<G>* h = nullptr;
    if constexpr (fd::lookup<K, M, typename container_type::override_list>::status == fd::lookup_status::found)
      h = &container_.template get_from<M, K&>();
    else if constexpr (container_type::template provides<K>)
      h = &container_.template get<K&>();
    if (h) {
      h->bind(&n);
      releases_.push_back([h] { h->release(); });
    }
  }

  template <class... C>
  void install_controllers(framework::detail::type_list<C...>*) {
    if constexpr (sizeof...(C) > 0) {
      http::router& r = router();
      (framework::detail::install_controller<GlobalGuards, C>(container_, r), ...);
    }
  }

  app_options opts_;
  container_type container_;
  portico::logger log_;
  worker_pool pool_;
  /// Calls into everything below; stopped (threads joined) by the destructor's stop(), gone
  /// last: the sessions' timers live on its io_contexts.
  std::unique_ptr<net::host> host_;
  std::vector<std::shared_ptr<void>> bindings_;  ///< outlive the servers that call them
  std::vector<std::function<void()>> releases_;  ///< unbind the namespace handles
  std::unique_ptr<http::router> router_;         ///< likewise
  std::vector<path_entry> paths_;
  framework::detail::engine_ptr engine_;         ///< only without gateways
  std::vector<std::shared_ptr<void>> extensions_;  ///< the admin UI: gone before the servers
  std::uint16_t port_ = 0;
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stop_requested_ = false;
};

/// The one-module app of a few gateways and nothing else: `portico::gateway_app<ChatGateway>`
/// is `portico::app<portico::module<portico::gateways<ChatGateway>>>`.
template <class... G>
using gateway_app = app<module<gateways<G...>>>;

}  // namespace portico
// ---- end portico/framework/app.hpp ----
// ---- begin portico/framework/di.hpp ----
/// The compile-time dependency injection of the framework layer (see docs/dependency-injection.md).

// ---- end portico/framework/di.hpp ----
// ---- end portico/framework/framework.hpp ----
// ---- end portico/portico.hpp ----
