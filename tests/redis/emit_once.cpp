// One portico::redis::emitter publish from a process that runs no server, for
// tests/interop/node/redis_emitter.test.js.
// Usage: redis_emit_once --redis PORT [--nsp /x] [--to ROOM]... [--except ROOM]... [--volatile] CMD ARGS
//   emit EVENT ARG        string argument
//   emit-bin EVENT HEX    one binary argument
//   join ROOM | leave ROOM | disconnect close|keep | sse EVENT ARG
// Exit status 0 when Redis took the message, 1 when it did not (the error on stderr), 2 on bad usage.
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include <portico/redis/emitter.hpp>

namespace rd = portico::redis;

int main(int argc, char** argv) {
  rd::emitter_options o;
  std::string nsp = "/";
  std::vector<std::string> to, except;
  bool vol = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--volatile") vol = true;
    else if (f.rfind("--", 0) == 0 && i + 1 < argc) {
      std::string v = argv[++i];
      if (f == "--redis") o.port = static_cast<std::uint16_t>(std::strtoul(v.c_str(), nullptr, 10));
      else if (f == "--nsp") nsp = v;
      else if (f == "--to") to.push_back(v);
      else if (f == "--except") except.push_back(v);
      else return std::cerr << "unknown flag " << f << "\n", 2;
    } else break;
  }
  std::vector<std::string> rest(argv + i, argv + argc);
  if (rest.empty() || !o.port) return std::cerr << "usage: see the header of emit_once.cpp\n", 2;

  rd::emitter em(o);
  if (!em.wait_connected(std::chrono::seconds(5))) std::cerr << "redis not connected yet\n";
  auto op = em.of(nsp);
  for (auto& r : to) op.to(r);
  for (auto& r : except) op.except(r);
  if (vol) op.volatile_();
  std::promise<std::string> done;
  op.on_published([&](std::string_view e) { done.set_value(std::string(e)); });

  const std::string& cmd = rest[0];
  auto arg = [&](std::size_t k) -> const std::string& {
    static const std::string none;
    return k < rest.size() ? rest[k] : none;
  };
  if (cmd == "emit") {
    if (!op.emit(arg(1), arg(2))) return 1;
  } else if (cmd == "emit-bin") {
    std::string bytes;
    const std::string& h = arg(2);
    for (std::size_t k = 0; k + 1 < h.size(); k += 2) bytes += static_cast<char>(std::stoi(h.substr(k, 2), nullptr, 16));
    if (!op.emit(arg(1), portico::json::binary(bytes))) return 1;
  } else if (cmd == "join") {
    op.sockets_join({arg(1)});
  } else if (cmd == "leave") {
    op.sockets_leave({arg(1)});
  } else if (cmd == "disconnect") {
    op.disconnect_sockets(arg(1) == "close");
  } else if (cmd == "sse") {
    op.server_side_emit(arg(1), arg(2));
  } else {
    return std::cerr << "unknown command " << cmd << "\n", 2;
  }
  auto f = done.get_future();
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return std::cerr << "no outcome\n", 1;
  std::string err = f.get();
  if (!err.empty()) return std::cerr << "not published: " << err << "\n", 1;
  return 0;
}
