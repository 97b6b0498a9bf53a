#pragma once
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

#include "value.hpp"

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
