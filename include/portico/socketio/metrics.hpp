#pragma once
/// The numbers of one Socket.IO server (docs/metrics.md): `metrics_snapshot`, what
/// `server::metrics()` returns for users who export elsewhere, and `render_prometheus`, its
/// Prometheus text exposition (format 0.0.4) that the framework serves on `/metrics`.
///
/// Counters are per I/O worker and summed on read (engineio/metrics.hpp); gauges (connections,
/// namespaces, sockets, rooms, pending acks) are counted from the server's tables on read, so
/// they cost nothing between scrapes.
#include "../engineio/metrics.hpp"

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
