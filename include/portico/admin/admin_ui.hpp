#pragma once
/// The server side of the official Socket.IO admin UI (@socket.io/admin-ui 0.5): an admin
/// namespace that speaks the protocol its UI expects (what `instrument(io, {...})` does in Node).
///
///     portico::socketio::server io;
///     portico::admin_ui_options o;
///     o.username = "admin";
///     o.password_hash = "$2b$10$...";   // bcrypt
///     portico::admin_ui admin(io, o);     // before io.start(); destroyed after io.stop()
///
/// The UI (the npm package's `ui/dist`, or the hosted admin.socket.io) connects to `/admin` with
/// `{username, password}` (or the `sessionId` it was given), receives `config` (the features
/// it may use), `all_sockets`, `server_stats` every `stats_interval`, and in development mode
/// every socket's connection, rooms and events as they happen. Unless read-only, it may
/// disconnect sockets and make them join or leave rooms.
///
/// Cost: in production mode no hook is installed (only the stats timer); in development mode
/// the server's observer hooks run, and each event received or sent by a socket is forwarded
/// to the admin namespace (as Node's does). Needs -lcrypt (bcrypt.hpp).

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../detail/random.hpp"
#include "../http/router.hpp"
#include "../json/dom.hpp"
#include "../socketio/observer.hpp"
#include "../socketio/server.hpp"
#include "bcrypt.hpp"

namespace portico {

namespace admin {
/// JSON text emitted as is (an already serialised object or array).
using raw_json = json::encoded;
}  // namespace admin

struct admin_ui_options {
  /// The admin namespace the UI connects to.
  std::string namespace_name = "/admin";
  /// Basic authentication: the user name and a bcrypt hash of the password (`$2a$`/`$2b$`/`$2y$`,
  /// e.g. from `htpasswd -nbBC 10 "" PASSWORD` or bcryptjs). Both empty: refused unless
  /// `no_auth`.
  std::string username;
  std::string password_hash;
  /// Anybody who reaches the port may administer: only for a server on loopback.
  bool no_auth = false;
  /// Only watch: no disconnect, join or leave from the UI.
  bool read_only = false;
  /// The name the UI shows for this server; empty: the host name (with a cluster adapter:
  /// "host#pid", so members on one host stay apart).
  std::string server_id;
  enum class run_mode { development, production };
  /// development: sockets, rooms and every event sent or received are reported (Node's
  /// default); production: server stats only, and the per-message path stays untouched.
  run_mode mode = run_mode::development;
  std::chrono::milliseconds stats_interval{2000};
  /// How long a session id given at login stays valid. Node's default store (InMemoryStore)
  /// keeps them until the process ends; its RedisStore for 86400 s: the default here.
  std::chrono::milliseconds session_ttl{std::chrono::hours(24)};
  /// Most session ids kept; a login beyond it forgets the oldest (Node's store has no limit).
  std::size_t max_sessions = 1024;
  /// Password checks waiting for the verifier thread; beyond it a login is refused at once
  /// ("too many login attempts"), so a flood of logins costs a bounded queue.
  std::size_t max_pending_logins = 16;
  /// For `admin_ui::install`: the UI's files (the npm package's `ui/dist`) and the URL path they
  /// are served on (open `ui_path + "/"`). An empty `ui_dir` serves nothing.
  std::filesystem::path ui_dir;
  std::string ui_path = "/admin";
};

/// Instruments one Socket.IO server for the admin UI. Construct it before the server starts;
/// destroy it after the server stopped (declare it after the server).
class admin_ui final : public socketio::observer {
 public:
  admin_ui(socketio::server& io, admin_ui_options o)
      : io_(io), opts_(std::move(o)), started_(std::chrono::steady_clock::now()) {
    if (opts_.namespace_name.empty() || opts_.namespace_name.front() != '/') opts_.namespace_name.insert(0, "/");
    if (!opts_.no_auth) {
      if (opts_.username.empty() || opts_.password_hash.empty())
        throw std::invalid_argument("portico::admin_ui: set username and password_hash, or no_auth");
      if (!admin::is_bcrypt_hash(opts_.password_hash))
        throw std::invalid_argument("portico::admin_ui: password_hash is not a bcrypt hash");
    }
    // Each member of a cluster reports its own stats: as Node's for cluster workers, the host
    // name alone is not enough to tell members apart.
    if (opts_.server_id.empty())
      opts_.server_id = io_.options().adapter_factory ? hostname() + "#" + std::to_string(::getpid()) : hostname();
    install_namespace();
    if (development()) io_.set_observer(this);
    ticker_ = std::thread([this] { tick_loop(); });
    if (!opts_.no_auth) verifier_ = std::thread([this] { verify_loop(); });
  }
  admin_ui(const admin_ui&) = delete;
  admin_ui& operator=(const admin_ui&) = delete;
  ~admin_ui() override {
    {
      std::lock_guard<std::mutex> g(tick_mu_);
      stopping_ = true;
    }
    tick_cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    {
      std::lock_guard<std::mutex> g(logins_mu_);
      logins_stopping_ = true;
    }
    logins_cv_.notify_all();
    if (verifier_.joinable()) verifier_.join();  // unanswered logins are refused by their deferral
    if (development()) io_.set_observer(nullptr);
  }

  const admin_ui_options& options() const noexcept { return opts_; }

  /// For `app_options::admin_ui`: instruments the app's (first path's) server and, when
  /// `o.ui_dir` is set, serves the UI's files on `o.ui_path` of its router. Throws
  /// std::invalid_argument for bad credentials options or a ui_dir without index.html.
  static std::function<std::shared_ptr<void>(socketio::server&, http::router&)> install(admin_ui_options o) {
    return [o = std::move(o)](socketio::server& io, http::router& r) -> std::shared_ptr<void> {
      auto admin = std::make_shared<admin_ui>(io, o);
      if (!o.ui_dir.empty()) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(o.ui_dir / "index.html", ec))
          throw std::invalid_argument("portico::admin_ui: no index.html in ui_dir " + o.ui_dir.string());
        r.static_files(o.ui_path, o.ui_dir);
      }
      return admin;
    };
  }

  // --- socketio::observer (development mode only) ---
  void connected(socketio::socket& s) override {
    {
      std::lock_guard<std::mutex> g(known_mu_);
      known_[key(s.namespace_name(), s.sid())] = std::string(s.engine()->transport());
    }
    std::string sock = serialize(s);
    admin_nsp().emit("socket_connected", raw_json{sock}, now_iso());
  }
  void disconnecting(socketio::socket& s, std::string_view reason) override {
    {
      std::lock_guard<std::mutex> g(known_mu_);
      known_.erase(key(s.namespace_name(), s.sid()));
    }
    auto rooms = s.rooms();
    auto& a = admin_nsp();
    const std::string when = now_iso();
    a.emit("socket_disconnected", s.namespace_name(), s.sid(), reason, when);
    for (auto& r : rooms) a.emit("room_left", s.namespace_name(), r, s.sid(), when);
  }
  void room_joined(socketio::nsp& n, const std::string& sid, const std::string& room) override {
    if (!n.get_socket(sid)) return;  // still connecting: its rooms go with socket_connected
    admin_nsp().emit("room_joined", n.namespace_name(), room, sid, now_iso());
  }
  void room_left(socketio::nsp& n, const std::string& sid, const std::string& room) override {
    if (!n.get_socket(sid)) return;
    admin_nsp().emit("room_left", n.namespace_name(), room, sid, now_iso());
  }
  void event_received(socketio::socket& s, const socketio::packet& p) override {
    if (s.namespace_name() == opts_.namespace_name) return;
    admin_nsp().emit("event_received", s.namespace_name(), s.sid(), p.data(), now_iso());
  }
  void event_sent(socketio::socket& s, std::string_view text) override {
    if (s.namespace_name() == opts_.namespace_name) return;
    // The JSON part of "2[/nsp,][id][...]" (binary events: "5N-...").
    std::size_t i = text.find('[');
    if (i == std::string_view::npos) return;
    json::document d;
    if (!json::parse(text.substr(i), d)) return;
    admin_nsp().emit("event_sent", s.namespace_name(), s.sid(), static_cast<const json::value&>(d), now_iso());
  }

 private:
  using raw_json = admin::raw_json;

  bool development() const noexcept { return opts_.mode == admin_ui_options::run_mode::development; }
  socketio::nsp& admin_nsp() { return *admin_; }
  static std::string key(const std::string& nsp, const std::string& sid) { return nsp + '\n' + sid; }

  static std::string hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "portico";
    return buf;
  }

  /// JavaScript's Date#toJSON: 2026-01-02T03:04:05.678Z.
  static std::string now_iso() {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[40];
    std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(out + n, sizeof out - n, ".%03dZ", static_cast<int>(ms % 1000));
    return out;
  }

  /// The features the UI may use (Node's names). No EMIT and no AGGREGATED_EVENTS: not offered.
  std::vector<std::string> features() const {
    std::vector<std::string> f;
    if (!opts_.read_only) f = {"JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"};
    if (development()) f.push_back("ALL_EVENTS");
    return f;
  }

  void install_namespace() {
    admin_ = &io_.of(opts_.namespace_name);
    admin_->use([this](socketio::socket& s, socketio::connect_request& r) { authenticate(s, r); });
    admin_->on_connect([this](socketio::socket& s) {
      std::string config = "{\"supportedFeatures\":" + json_strings(features()) + "}";
      s.emit("config", raw_json{config});
      if (development()) send_all_sockets(s.shared_from_this());
    });
    if (opts_.read_only) return;  // the actions are not even listened to, as in Node
    // As Node's with socket.io 4: through the namespace's socketsJoin/Leave and
    // disconnectSockets, so with a cluster adapter they reach the sockets of every server.
    admin_->on("_disconnect", [this](socketio::socket&, const socketio::args& a) {
      // (nsp, close, filter): close the whole connection, or leave the namespace
      const bool close = a[1].IsBool() && a[1].GetBool();
      for_targets(a[0], a[2], [close](socketio::nsp& n, const socketio::broadcast_options& o) { n.disconnect_sockets(o, close); });
    });
    admin_->on("join", [this](socketio::socket&, const socketio::args& a) {  // (nsp, room, filter)
      if (!a[1].IsString()) return;
      std::vector<std::string> room{std::string(a[1].GetString(), a[1].GetStringLength())};
      for_targets(a[0], a[2], [&room](socketio::nsp& n, const socketio::broadcast_options& o) { n.sockets_join(o, room); });
    });
    admin_->on("leave", [this](socketio::socket&, const socketio::args& a) {
      if (!a[1].IsString()) return;
      std::vector<std::string> room{std::string(a[1].GetString(), a[1].GetStringLength())};
      for_targets(a[0], a[2], [&room](socketio::nsp& n, const socketio::broadcast_options& o) { n.sockets_leave(o, room); });
    });
  }

  /// Basic auth as Node's middleware: a known session id, or the user name and password
  /// (which earns a new session id, sent as `session`). The bcrypt check (tens of ms) runs on
  /// the verifier thread; the CONNECT waits on a deferral and the I/O thread goes on.
  void authenticate(socketio::socket& s, socketio::connect_request& r) {
    if (opts_.no_auth) return;
    const json::value& auth = r.auth();
    auto str = [&auth](const char* k) -> std::string {
      if (!auth.IsObject()) return {};
      auto it = auth.FindMember(k);
      if (it == auth.MemberEnd() || !it->value.IsString()) return {};
      return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    const std::string session = str("sessionId");
    if (!session.empty() && session_valid(session)) return;
    if (str("username") != opts_.username) return refuse(s, r);
    {
      std::lock_guard<std::mutex> g(logins_mu_);
      if (logins_.size() >= opts_.max_pending_logins) {
        io_.log().info("admin UI: too many login attempts at once, refused " + s.handshake().remote_address);
        return r.refuse("too many login attempts");
      }
      logins_.push_back(login{s.shared_from_this(), str("password"), r.defer()});
    }
    logins_cv_.notify_one();
  }

  void refuse(socketio::socket& s, socketio::connect_request& r) {
    io_.log().info("admin UI: invalid credentials from " + s.handshake().remote_address);
    r.refuse("invalid credentials");
  }

  struct login {
    socketio::socket_ptr socket;
    std::string password;
    socketio::connect_deferral answer;
  };

  void verify_loop() {
    std::unique_lock<std::mutex> lk(logins_mu_);
    for (;;) {
      logins_cv_.wait(lk, [this] { return logins_stopping_ || !logins_.empty(); });
      if (logins_stopping_) return;
      login l = std::move(logins_.front());
      logins_.pop_front();
      lk.unlock();
      if (admin::bcrypt_matches(l.password, opts_.password_hash)) {
        std::string id = portico::detail::random_id();
        add_session(id);
        l.socket->emit("session", id);  // buffered: it follows the CONNECT answer
        l.answer.accept();
      } else {
        io_.log().info("admin UI: invalid credentials from " + l.socket->handshake().remote_address);
        l.answer.refuse("invalid credentials");
      }
      l = login{};
      lk.lock();
    }
  }

  bool session_valid(const std::string& id) {
    std::lock_guard<std::mutex> g(sessions_mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    if (it->second > std::chrono::steady_clock::now()) return true;
    sessions_.erase(it);  // expired (its entry in session_order_ goes when it reaches the front)
    return false;
  }

  /// Stores a new session id: expired ones go first, then the oldest beyond max_sessions.
  void add_session(const std::string& id) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> g(sessions_mu_);
    // session_order_ is in expiry order (one TTL for all); entries of erased ids are skipped.
    while (!session_order_.empty() &&
           (session_order_.front().first <= now || sessions_.size() >= std::max<std::size_t>(1, opts_.max_sessions) ||
            !sessions_.count(session_order_.front().second))) {
      sessions_.erase(session_order_.front().second);
      session_order_.pop_front();
    }
    sessions_[id] = now + opts_.session_ttl;
    session_order_.emplace_back(now + opts_.session_ttl, id);
  }

  /// Namespace `nsp_name` and the selection of room `filter` (a room or a socket id; none: all).
  template <class F>
  void for_targets(const json::value& nsp_name, const json::value& filter, F&& f) {
    if (!nsp_name.IsString()) return;
    socketio::nsp* n = io_.find(std::string_view(nsp_name.GetString(), nsp_name.GetStringLength()));
    if (!n) return;
    socketio::broadcast_options o;
    if (filter.IsString() && filter.GetStringLength() > 0) o.rooms.emplace_back(filter.GetString(), filter.GetStringLength());
    f(*n, o);
  }

  static std::string json_strings(const std::vector<std::string>& v) {
    std::string out;
    json::string_sink sink{&out};
    json::writer w(sink);
    w.StartArray();
    for (auto& x : v) w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
    w.EndArray();
    sink.Flush();
    return out;
  }

  /// One socket as Node's admin serialises it (the handshake without `auth`).
  std::string serialize(socketio::socket& s) {
    const engineio::handshake& hs = s.handshake();
    std::string out;
    json::string_sink sink{&out};
    json::writer w(sink);
    auto str = [&w](std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); };
    w.StartObject();
    w.Key("id"), str(s.sid());
    w.Key("clientId"), str(std::string_view(s.engine()->sid()).substr(0, 12));
    w.Key("transport"), str(s.engine()->transport());
    w.Key("nsp"), str(s.namespace_name());
    w.Key("data");
    json::document session = s.get_session();
    if (session.IsObject()) session.Accept(w);
    else w.StartObject(), w.EndObject();
    w.Key("handshake");
    w.StartObject();
    std::string_view address = hs.header("cf-connecting-ip");
    if (address.empty()) address = hs.header("x-forwarded-for");
    if (address.empty()) address = hs.remote_address;
    w.Key("address"), str(address);
    w.Key("headers");
    w.StartObject();
    for (const auto& h : hs.headers()) str(h.first), str(h.second);
    w.EndObject();
    w.Key("query");
    w.StartObject();
    for (const auto& q : hs.query) str(q.first), str(q.second);
    w.EndObject();
    const auto issued = std::chrono::duration_cast<std::chrono::milliseconds>(hs.time.time_since_epoch()).count();
    w.Key("issued"), w.Int64(issued);
    w.Key("secure"), w.Bool(false);
    w.Key("time"), str(now_iso_of(issued));
    w.Key("url"), str(hs.url);
    w.Key("xdomain"), w.Bool(!hs.header("origin").empty());
    w.EndObject();
    w.Key("rooms");
    w.StartArray();
    for (const auto& r : s.rooms()) str(r);
    w.EndArray();
    w.EndObject();
    sink.Flush();
    return out;
  }
  static std::string now_iso_of(long long ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[40];
    std::strftime(out, sizeof out, "%a %b %d %Y %H:%M:%S GMT+0000", &tm);
    return out;
  }

  /// `all_sockets` to `to`: this server's sockets of every namespace, then those of the other
  /// servers of a cluster (fetch_sockets, as Node's), once every namespace's request answered
  /// or timed out. Alone: at once.
  void send_all_sockets(socketio::socket_ptr to) {
    struct gather {
      std::mutex mu;
      std::size_t left = 0;
      std::string out = "[";
    };
    auto g = std::make_shared<gather>();
    std::vector<socketio::nsp*> nsps;
    io_.for_each_namespace([&nsps](socketio::nsp& n) { nsps.push_back(&n); });
    for (auto* n : nsps)
      for (const auto& sid : socketio::emitter(*n).sids())
        if (auto s = n->get_socket(sid)) {
          if (g->out.size() > 1) g->out += ',';
          g->out += serialize(*s);
        }
    if (!admin_nsp().get_socket(to->sid())) {  // still in its connect handler: Node lists it
      if (g->out.size() > 1) g->out += ',';
      g->out += serialize(*to);
    }
    g->left = nsps.size() + 1;
    auto done = [g, to]() {  // under g->mu
      if (--g->left) return;
      g->out += ']';
      to->emit("all_sockets", raw_json{g->out});
    };
    for (auto* n : nsps) {
      // The callback may come on the cluster's thread, after this admin_ui is gone: no `this`.
      n->get_adapter().fetch_remote_sockets(
          socketio::broadcast_options{},
          [g, done, name = n->namespace_name()](bool, std::vector<socketio::socket_info> remote) {
            std::lock_guard<std::mutex> lk(g->mu);
            for (const auto& r : remote) {
              std::string one = serialize_remote(name, r);
              if (one.empty()) continue;
              if (g->out.size() > 1) g->out += ',';
              g->out += one;
            }
            done();
          });
    }
    std::lock_guard<std::mutex> lk(g->mu);
    done();
  }

  /// A socket of another server as Node's admin serialises a RemoteSocket: its transport and
  /// client id come from `data._admin` (where Node's instrumented servers keep them); a portico
  /// member does not put them there, so they are left out. Empty when `i` is not valid JSON.
  static std::string serialize_remote(const std::string& nsp, const socketio::socket_info& i) {
    json::document hs, data;
    if (!json::parse(i.handshake, hs) || !hs.IsObject()) return {};
    if (!json::parse(i.data, data) || !data.IsObject()) data.SetObject();
    std::string out;
    json::string_sink sink{&out};
    json::writer w(sink);
    auto str = [&w](std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); };
    w.StartObject();
    w.Key("id"), str(i.id);
    auto admin = data.FindMember("_admin");
    if (admin != data.MemberEnd() && admin->value.IsObject()) {
      for (const char* k : {"clientId", "transport"}) {
        auto it = admin->value.FindMember(k);
        if (it != admin->value.MemberEnd() && it->value.IsString()) w.Key(k), it->value.Accept(w);
      }
      data.RemoveMember(admin);
    }
    w.Key("nsp"), str(nsp);
    w.Key("data"), data.Accept(w);
    w.Key("handshake");
    w.StartObject();
    auto header = [&hs](const char* k) -> const json::value* {
      auto h = hs.FindMember("headers");
      if (h == hs.MemberEnd() || !h->value.IsObject()) return nullptr;
      auto it = h->value.FindMember(k);
      return it != h->value.MemberEnd() && it->value.IsString() && it->value.GetStringLength() ? &it->value : nullptr;
    };
    const json::value* address = header("cf-connecting-ip");
    if (!address) address = header("x-forwarded-for");
    if (!address) {
      auto a = hs.FindMember("address");
      if (a != hs.MemberEnd()) address = &a->value;
    }
    if (address) w.Key("address"), address->Accept(w);
    for (const char* k : {"headers", "query", "issued", "secure", "time", "url", "xdomain"}) {
      auto it = hs.FindMember(k);
      if (it != hs.MemberEnd()) w.Key(k), it->value.Accept(w);
    }
    w.EndObject();
    w.Key("rooms");
    w.StartArray();
    for (const auto& r : i.rooms) str(r);
    w.EndArray();
    w.EndObject();
    sink.Flush();
    return out;
  }

  void tick_loop() {
    std::unique_lock<std::mutex> lk(tick_mu_);
    while (!stopping_) {
      lk.unlock();
      try {
        tick();
      } catch (const std::exception& ex) {
        io_.log().error(std::string("admin UI: stats failed: ") + ex.what());
      }
      lk.lock();
      tick_cv_.wait_for(lk, opts_.stats_interval, [this] { return stopping_; });
    }
  }

  /// server_stats, and socket_updated for the sockets whose transport changed (an upgrade).
  void tick() {
    std::unordered_set<const engineio::socket*> polling;
    std::vector<std::pair<socketio::socket_ptr, std::string>> upgraded;
    std::string namespaces = "[";
    std::vector<socketio::nsp*> nsps;
    io_.for_each_namespace([&nsps](socketio::nsp& n) { nsps.push_back(&n); });
    for (auto* n : nsps) {
      if (namespaces.size() > 1) namespaces += ',';
      std::size_t count = 0;
      for (const auto& sid : socketio::emitter(*n).sids()) {
        auto s = n->get_socket(sid);
        if (!s) continue;
        ++count;
        std::string_view t = s->engine()->transport();
        if (t == "polling") polling.insert(s->engine().get());
        if (development()) {
          std::lock_guard<std::mutex> g(known_mu_);
          auto it = known_.find(key(n->namespace_name(), sid));
          if (it != known_.end() && it->second != t) {
            it->second = std::string(t);
            upgraded.emplace_back(s, std::string(t));
          }
        }
      }
      namespaces += "{\"name\":" + json_strings({n->namespace_name()}).substr(1);
      namespaces.pop_back();
      namespaces += ",\"socketsCount\":" + std::to_string(count) + "}";
    }
    namespaces += ']';
    for (auto& u : upgraded)
      admin_nsp().emit("socket_updated", std::map<std::string, std::string>{
                                         {"id", u.first->sid()}, {"nsp", u.first->namespace_name()}, {"transport", u.second}});
    const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::string stats = "{\"serverId\":" + json_strings({opts_.server_id}).substr(1);
    stats.pop_back();
    stats += ",\"hostname\":" + json_strings({hostname()}).substr(1);
    stats.pop_back();
    stats += ",\"pid\":" + std::to_string(::getpid()) + ",\"uptime\":" + std::to_string(uptime) +
             ",\"clientsCount\":" + std::to_string(io_.engine().session_count()) +
             ",\"pollingClientsCount\":" + std::to_string(polling.size()) + ",\"namespaces\":" + namespaces + "}";
    admin_nsp().emit("server_stats", raw_json{stats});
  }

  socketio::server& io_;
  admin_ui_options opts_;
  std::chrono::steady_clock::time_point started_;
  socketio::nsp* admin_ = nullptr;
  std::mutex sessions_mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> sessions_;  ///< id -> expiry
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> session_order_;
  std::mutex logins_mu_;  ///< password checks waiting for verifier_
  std::condition_variable logins_cv_;
  std::deque<login> logins_;
  bool logins_stopping_ = false;
  std::thread verifier_;
  std::mutex known_mu_;  ///< the transport each socket was last reported with
  std::unordered_map<std::string, std::string> known_;
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace portico
