// socketio/metrics.hpp and engineio/metrics.hpp without a server: the Prometheus text format of a
// snapshot, and counters written by several worker threads summed on read.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "portico/socketio/metrics.hpp"

namespace em = portico::engineio::metrics;
namespace sio = portico::socketio;

TEST_CASE("metrics: counters of several workers are summed on read, the shared block too") {
  em::registry reg(4);
  std::vector<std::thread> ts;
  for (unsigned w = 0; w < 4; ++w)
    ts.emplace_back([&reg, w] {
      em::counters* mine = reg.worker(w);  // written by this thread only
      for (int i = 0; i < 10000; ++i) {
        mine->add(em::eio::packets_in);
        mine->add(em::eio::bytes_in, 3);
      }
      mine->add(sio::metrics_slots::connects, w);
    });
  std::thread other([&reg] {
    for (int i = 0; i < 500; ++i) reg.shared().add_shared(em::eio::packets_in);
  });
  for (auto& t : ts) t.join();
  other.join();
  CHECK(reg.workers() == 4);
  CHECK(reg.sum(em::eio::packets_in) == 4 * 10000 + 500);
  CHECK(reg.sum(em::eio::bytes_in) == 4 * 10000 * 3);
  CHECK(reg.sum(sio::metrics_slots::connects) == 0 + 1 + 2 + 3);
  CHECK(reg.worker(4) == nullptr);

  sio::metrics_snapshot m;
  m.take_counters(reg.sums());
  CHECK(m.packets_in == 40500);
  CHECK(m.bytes_in == 120000);
  CHECK(m.connects == 6);
}

TEST_CASE("metrics: the Prometheus text exposition format (0.0.4)") {
  sio::metrics_snapshot m;
  m.connections_polling = 2;
  m.connections_websocket = 5;
  m.packets_in = 10;
  m.bytes_out = 1234567890123;
  m.namespaces.push_back({"/", 7, 8});
  m.namespaces.push_back({"/we\"ird\\ns\n", 1, 1});
  m.errors.handler_exception = 3;
  m.acks_pending = 4;
  std::string text = sio::render_prometheus(m);

  CHECK(text.find("# HELP portico_connections Open Engine.IO connections by transport.\n"
                  "# TYPE portico_connections gauge\n"
                  "portico_connections{transport=\"polling\"} 2\n"
                  "portico_connections{transport=\"websocket\"} 5\n") == 0);
  CHECK(text.find("portico_packets_total{direction=\"in\"} 10\n") != std::string::npos);
  CHECK(text.find("portico_bytes_total{direction=\"out\"} 1234567890123\n") != std::string::npos);
  CHECK(text.find("portico_sockets{namespace=\"/\"} 7\n") != std::string::npos);
  CHECK(text.find("portico_rooms{namespace=\"/\"} 8\n") != std::string::npos);
  // label values escape backslash, double quote and newline
  CHECK(text.find("portico_sockets{namespace=\"/we\\\"ird\\\\ns\\n\"} 1\n") != std::string::npos);
  CHECK(text.find("portico_namespaces 2\n") != std::string::npos);
  CHECK(text.find("portico_acks_pending 4\n") != std::string::npos);
  CHECK(text.find("portico_errors_total{kind=\"handler_exception\"} 3\n") != std::string::npos);
  CHECK(text.find("cluster") == std::string::npos);  // no cluster adapter: no cluster families
  CHECK(text.back() == '\n');

  // Every sample belongs to the family whose HELP and TYPE came just before; each family once.
  std::istringstream in(text);
  std::string line, family;
  std::set<std::string> families;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      CHECK(families.insert(family).second);
      REQUIRE(std::getline(in, line));
      CHECK((line == "# TYPE " + family + " counter" || line == "# TYPE " + family + " gauge"));
      if (family.size() > 6 && family.compare(family.size() - 6, 6, "_total") == 0)
        CHECK(line == "# TYPE " + family + " counter");
      continue;
    }
    INFO(line);
    CHECK(line.compare(0, family.size(), family) == 0);
    char next = line[family.size()];
    CHECK((next == ' ' || next == '{'));
  }

  m.has_cluster = true;
  m.cluster.messages_published = 11;
  m.cluster.request_timeouts = 2;
  text = sio::render_prometheus(m, "app");
  CHECK(text.find("app_cluster_messages_total{direction=\"published\"} 11\n") != std::string::npos);
  CHECK(text.find("app_cluster_request_timeouts_total 2\n") != std::string::npos);
  CHECK(text.find("portico_") == std::string::npos);
}
