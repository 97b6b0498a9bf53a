#pragma once
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
#include "request.hpp"

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
