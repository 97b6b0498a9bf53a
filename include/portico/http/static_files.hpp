#pragma once
/// Static files, like python-socketio's `static_files`: URL prefix -> file or directory.
/// A directory serves index.html for "prefix/" and "prefix/sub/". Requests that try to leave
/// the mounted directory (`..`, `%2e%2e`, backslashes, empty segments, symlinks pointing out)
/// get 404; NUL bytes get 400. GET and HEAD only; ETag + If-None-Match gives 304.
#include "request.hpp"

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
