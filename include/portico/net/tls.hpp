#pragma once
/// TLS for net::host: `host::listen_tls(address, port, tls_options)` opens a listener that speaks
/// https:// and wss:// (the same mounts as the plain listeners). Asio's SSL over OpenSSL: include
/// this header and link OpenSSL (meson `portico_tls_dep`, pkg-config `portico-tls`); programs
/// that never include it build and link as before, without OpenSSL.
///
///     net::tls_options tls;
///     tls.cert_chain_file = "/etc/ssl/example.pem";   // leaf first, then intermediates
///     tls.private_key_file = "/etc/ssl/example.key";
///     h.listen_tls("0.0.0.0", 443, tls);
///
/// `portico::app` has the same as `app.listen_tls(address, port, tls)`; a bare Engine.IO /
/// Socket.IO server gets TLS by being mounted on a host (`io.engine().mount(h)`).
///
/// A failed handshake (plain HTTP to this port, garbage, a client that rejects the certificate)
/// or one not done within `handshake_timeout` closes that connection only, with a log line.

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <openssl/ssl.h>

#include <asio/ssl.hpp>
#include <asio/write.hpp>

#include "connection.hpp"
#include "host.hpp"

namespace portico::net {

struct tls_options {
  /// PEM: the server's certificate first, then the intermediates up to (not including) the root.
  std::string cert_chain_file;
  /// PEM private key of that certificate.
  std::string private_key_file;
  /// For an encrypted private key; empty: the key is not encrypted.
  std::string private_key_password;
  /// Client certificates (mutual TLS): when set, a client must present a certificate that chains
  /// to a CA in this PEM file, or its handshake fails. Empty: clients are not asked for one.
  std::string ca_file;
  enum class version { tls1_2, tls1_3 };
  /// The oldest protocol version accepted (TLS 1.0 and 1.1 are never accepted).
  version min_version = version::tls1_2;
  /// TLS 1.2 cipher list in OpenSSL's syntax ("ECDHE+AESGCM:ECDHE+CHACHA20"); empty: OpenSSL's
  /// default. TLS 1.3 suites are OpenSSL's defaults.
  std::string ciphers;
  /// From the accept to the finished handshake; a client slower than this is closed (slowloris
  /// on the handshake). HTTP's request_timeout starts after it.
  std::chrono::milliseconds handshake_timeout{10000};
};

namespace detail {

/// The server context of `o`. Throws std::invalid_argument naming the option that failed.
inline std::shared_ptr<asio::ssl::context> make_server_tls_context(const tls_options& o) {
  auto fail = [](const char* what, const std::string& value, const std::string& why) {
    return std::invalid_argument(std::string("portico::net: tls_options::") + what + " '" + value + "': " + why);
  };
  if (o.cert_chain_file.empty()) throw fail("cert_chain_file", "", "required");
  if (o.private_key_file.empty()) throw fail("private_key_file", "", "required");
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(native, o.min_version == tls_options::version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  // Client-initiated renegotiation costs the server a handshake per request of the client's.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // OpenSSL's record buffers are freed while a connection is idle (most of them are).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (!o.private_key_password.empty())
    ctx->set_password_callback([pw = o.private_key_password](std::size_t, asio::ssl::context::password_purpose) { return pw; });
  auto load = [&](const char* what, const std::string& path, auto&& f) {
    try {
      f();
    } catch (const std::system_error& e) {
      throw fail(what, path, e.what());
    }
  };
  load("cert_chain_file", o.cert_chain_file, [&] { ctx->use_certificate_chain_file(o.cert_chain_file); });
  load("private_key_file", o.private_key_file, [&] { ctx->use_private_key_file(o.private_key_file, asio::ssl::context::pem); });
  if (SSL_CTX_check_private_key(native) != 1)
    throw fail("private_key_file", o.private_key_file, "does not match the certificate of cert_chain_file");
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(native, o.ciphers.c_str()) != 1)
    throw fail("ciphers", o.ciphers, "no usable cipher");
  if (!o.ca_file.empty()) {
    load("ca_file", o.ca_file, [&] { ctx->load_verify_file(o.ca_file); });
    // The CA names sent in the certificate request (clients pick a matching certificate).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str())) SSL_CTX_set_client_CA_list(native, names);
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    // Required by OpenSSL for session resumption when client certificates are verified.
    static const unsigned char sid[] = "portico";
    SSL_CTX_set_session_id_context(native, sid, sizeof sid - 1);
  }
  return ctx;
}

/// The stream of a TLS connection (see basic_connection): asynchronous reads into a buffer of its
/// own, one contiguous buffer per write, close_notify on shutdown.
class tls_stream {
 public:
  static constexpr bool drains_socket = false;
  /// Bytes of plaintext per read. Held by every idle connection (a read is always pending), so
  /// small: a 16 KB record is taken in several reads from the stream's own buffers.
  static constexpr std::size_t read_size = 4 * 1024;

  tls_stream(asio::ip::tcp::socket s, std::shared_ptr<asio::ssl::context> ctx, std::chrono::milliseconds handshake)
      : ctx_(std::move(ctx)), ssl_(std::move(s), *ctx_), handshake_(handshake) {}

  asio::ip::tcp::socket& socket() noexcept { return ssl_.next_layer(); }
  std::chrono::milliseconds handshake_timeout() const noexcept { return handshake_; }

  template <class H>
  void async_handshake(H&& h) {
    ssl_.async_handshake(asio::ssl::stream_base::server, std::forward<H>(h));
  }
  /// `h(ec, data, size)`; the data stays valid until the next read. `h` keeps the connection
  /// (and so this stream) alive.
  template <class H>
  void async_read_some(H&& h) {
    if (!in_) in_.reset(new char[read_size]);
    ssl_.async_read_some(asio::buffer(in_.get(), read_size),
                         [this, h = std::forward<H>(h)](const asio::error_code& ec, std::size_t n) mutable {
                           h(ec, in_.get(), n);
                         });
  }
  /// The buffer the next async_write sends (filled by the caller).
  std::string& write_buffer() noexcept { return out_; }
  template <class H>
  void async_write(H&& h) {
    asio::async_write(ssl_, asio::buffer(out_), std::forward<H>(h));
  }
  /// After a write: a large buffer is given back (a burst must not stay allocated).
  void release_write_buffer() {
    if (out_.capacity() > 64 * 1024) std::string().swap(out_);
    else out_.clear();
  }
  template <class H>
  void async_shutdown(H&& h) {
    ssl_.async_shutdown(std::forward<H>(h));
  }

 private:
  std::shared_ptr<asio::ssl::context> ctx_;  // before ssl_: the stream is built on it
  asio::ssl::stream<asio::ip::tcp::socket> ssl_;
  std::chrono::milliseconds handshake_;
  std::unique_ptr<char[]> in_;
  std::string out_;
};

}  // namespace detail

inline std::uint16_t host::listen_tls(const std::string& address, std::uint16_t port, const tls_options& tls) {
  auto ctx = detail::make_server_tls_context(tls);
  const auto handshake = tls.handshake_timeout;
  return listen_with(address, port, [ctx, handshake](const std::shared_ptr<worker>& w, tcp::socket s) {
    std::make_shared<detail::basic_connection<detail::tls_stream>>(w, std::move(s), ctx, handshake)->start();
  });
}

}  // namespace portico::net
