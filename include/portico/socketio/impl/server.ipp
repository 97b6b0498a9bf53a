#pragma once
/// The out-of-line part of `portico::socketio::server` (and of the socket and broadcast-ack
/// members that need the server). <portico/socketio/server.hpp> includes it; the definitions
/// compile in every TU in the header-only mode (`PORTICO_DECL` is `inline`) and only in the TU of
/// <portico/impl/src.hpp> in the separately compiled mode (docs/compile-time.md).
#include "../server.hpp"

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
