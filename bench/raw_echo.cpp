// Transport baseline: a bare websocketpp echo server, one I/O thread.
// Built twice: with websocketpp::config::asio as shipped (logging channels switched off at run
// time, as any production user would; TCP_NODELAY set like portico and Node do) and, with -DBENCH_TUNED_CONFIG, with the lock-free config
// portico's workers use (portico::engineio::detail::ws_config).
// Usage: raw_echo [--port P]   (prints "PORT <n>" once listening)
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifdef BENCH_TUNED_CONFIG
#include <portico/engineio/detail/ws_config.hpp>
using config = portico::engineio::detail::ws_config;
#else
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>
using config = websocketpp::config::asio;
#endif

using endpoint = websocketpp::server<config>;

int main(int argc, char** argv) {
  unsigned port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned>(std::atoi(argv[i + 1]));
  endpoint ep;
  ep.clear_access_channels(websocketpp::log::alevel::all);
  ep.clear_error_channels(websocketpp::log::elevel::all);
  ep.init_asio();
  ep.set_reuse_addr(true);
  // TCP_NODELAY as portico and Node's ws set it: otherwise a ping-pong benchmark measures Nagle.
  ep.set_socket_init_handler([](websocketpp::connection_hdl, websocketpp::lib::asio::ip::tcp::socket& s) {
    websocketpp::lib::asio::error_code ec;
    s.set_option(websocketpp::lib::asio::ip::tcp::no_delay(true), ec);
  });
  ep.set_message_handler([&ep](websocketpp::connection_hdl h, endpoint::message_ptr m) {
    websocketpp::lib::error_code ec;
    ep.send(h, m->get_payload(), m->get_opcode(), ec);
  });
  ep.listen(websocketpp::lib::asio::ip::tcp::endpoint(websocketpp::lib::asio::ip::address::from_string("127.0.0.1"),
                                                      static_cast<unsigned short>(port)));
  ep.start_accept();
  websocketpp::lib::asio::error_code ec;
  std::printf("PORT %u\n", static_cast<unsigned>(ep.get_local_endpoint(ec).port()));
  std::fflush(stdout);
  ep.run();
}
