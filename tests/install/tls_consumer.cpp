// A user's program against the installed client TLS (pkg-config portico-tls / CMake portico::tls):
// a TLS URL reaches OpenSSL, which reports the missing CA file.
#include <portico/client/tls.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

int main() {
  portico::client::options o;
  o.tls.ca_file = "/nonexistent/ca.pem";
  portico::client::client c(o);
  try {
    c.connect("https://127.0.0.1:1");
  } catch (const std::invalid_argument& e) {
    std::printf("tls %s\n", std::string(e.what()).find("tls_options::ca_file") != std::string::npos ? "checked" : "?");
  }
  return 0;
}
