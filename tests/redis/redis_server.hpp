#pragma once
// A private redis-server for one test: a free loopback port, no persistence, stopped by pid.
// REDIS_SERVER (set by meson) names the binary. Throws if it cannot be started.
#include <asio.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace portico_test {

class redis_server {
 public:
  explicit redis_server(std::vector<std::string> extra = {}) : port_(free_port()), extra_(std::move(extra)) {
    start();
  }
  ~redis_server() { stop(); }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const { return port_; }

  static std::uint16_t free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
  }

  /// Starts (again, on the same port) and waits until it answers PING (10 s at most).
  void start() {
    const char* exe = std::getenv("REDIS_SERVER");
    if (!exe || !*exe) exe = "redis-server";
    std::vector<std::string> args = {exe, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--daemonize", "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open("/dev/null", O_WRONLY);
      if (fd >= 0) { ::dup2(fd, 1); ::dup2(fd, 2); }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error(std::string("redis-server did not start (") + exe +
                                 "; scripts/setup installs it)");
      }
      if (answers_ping()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("redis-server did not answer PING within 10 s");
  }

  /// SIGTERM, then SIGKILL after 5 s; reaps the process.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) { pid_ = -1; return; }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  bool answers_ping() const {
    try {
      asio::io_context io;
      asio::ip::tcp::socket s(io);
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
      asio::write(s, asio::buffer(std::string("PING\r\n")));
      char buf[64];
      std::size_t n = s.read_some(asio::buffer(buf));
      // "+PONG", or "-NOAUTH" when a password is required: either way it is serving.
      return n > 0 && (buf[0] == '+' || buf[0] == '-');
    } catch (const std::exception&) {
      return false;
    }
  }

  std::uint16_t port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

}  // namespace portico_test
