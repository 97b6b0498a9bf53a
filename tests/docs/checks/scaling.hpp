// Runs the cluster adapter of docs/scaling.md: two Socket.IO servers in this process stand for two
// processes, joined by an in-memory bus. A broadcast on server A must reach a client of server B
// (text and binary), `local()` broadcasts must not, and room targeting must cross as well.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <portico/client/simple_client.hpp>

namespace doc_scaling::checks {

using namespace doc_scaling::snippet_cluster_adapter;
using doc_scaling::snippet_install_adapter::cluster_options;

/// Delivers what one server publishes to the adapters of the other server (by channel).
struct loop_bus : message_bus {
  std::mutex mu;
  std::map<std::string, cluster_adapter*> peers;  ///< channel -> the other server's adapter
  portico::logger log{"doc.scaling.bus", portico::log_level::warn};
  void publish(const std::string& channel, const std::string& message) override {
    cluster_adapter* to = nullptr;
    {
      std::lock_guard<std::mutex> g(mu);
      auto it = peers.find(channel);
      if (it != peers.end()) to = it->second;
    }
    if (to) to->deliver_remote(message, log);
  }
};

/// Server options whose adapters publish on `out` and register where `in` delivers.
inline sio::server_options node_options(loop_bus& out, loop_bus& in) {
  sio::server_options o = cluster_options(out);
  auto make = o.adapter_factory;
  o.adapter_factory = [make, &in](const std::string& nsp, sio::adapter::deliver_fn deliver) {
    std::unique_ptr<sio::adapter> a = make(nsp, std::move(deliver));
    std::lock_guard<std::mutex> g(in.mu);
    in.peers["portico#" + nsp] = static_cast<cluster_adapter*>(a.get());
    return a;
  };
  o.engine.threads = 1;
  return o;
}

inline void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

inline void broadcast_crosses_servers() {
  loop_bus a_to_b, b_to_a;
  sio::server a(node_options(a_to_b, b_to_a));
  sio::server b(node_options(b_to_a, a_to_b));
  b.on_connect([](sio::socket& s) { s.join("news-room"); });
  for (sio::server* s : {&a, &b}) {
    s->listen("127.0.0.1", 0);
    s->start();
  }
  struct stop_both {
    sio::server &a, &b;
    ~stop_both() { a.stop(); b.stop(); }
  } stopper{a, b};

  portico::client::simple_client on_b;
  on_b.connect("http://127.0.0.1:" + std::to_string(b.port()));
  const auto wait = std::chrono::seconds(3);

  sio::emitter(a.of("/")).local().emit("local-only", 1);       // stays on server A
  a.emit("news", "from A");                                     // every socket of "/", everywhere
  a.to("news-room").emit("room", 7);                            // B's socket is in that room
  a.emit("blob", portico::json::binary(std::string("\x00\xff\x01", 3)));

  portico::client::message m = on_b.receive(wait);
  expect(m.event == "news" && m.args()[0].IsString() && std::string(m.args()[0].GetString()) == "from A",
         "first event on B: " + m.event + " (a local() broadcast crossed, or the broadcast did not)");
  m = on_b.receive(wait);
  expect(m.event == "room" && m.args()[0].GetInt() == 7, "room broadcast on B: " + m.event);
  m = on_b.receive(wait);
  const portico::json::binary* blob = m.event == "blob" ? m.args().at(0).binary() : nullptr;
  expect(blob && blob->bytes == std::string("\x00\xff\x01", 3), "binary broadcast on B: " + m.event);
  on_b.disconnect();
}

inline const doc_snippets::check_registration registered{"docs/scaling.md: cluster adapter across two servers",
                                                         &broadcast_crosses_servers};

}  // namespace doc_scaling::checks
