#pragma once
/// Untyped JSON inside typed structs.

#include <string>
#include <string_view>
#include <utility>

#include "dom.hpp"
#include "value.hpp"

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
