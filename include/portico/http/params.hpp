#pragma once
/// Typed handler parameters: where a value comes from (path, query, header, JSON body) and
/// how its text becomes a C++ value. Every failure is recorded in a json::error_list located
/// FastAPI-style (`["query","limit"]`), so one 422 lists all problems of a request.
#include "request.hpp"

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
