#pragma once
/// TLS for portico::client: `https://` and `wss://` URLs, for long-polling (asio::ssl::stream) and
/// websocket (websocketpp's asio TLS transport), upgrade included. Include this header (it includes
/// client.hpp) in at least one file of the program and link OpenSSL (`-lssl -lcrypto`; meson
/// `portico_tls_dep`, pkg-config `portico-tls`, CMake `portico::tls`). Programs that never include
/// it build and link as before, without OpenSSL.
///
/// Verification is on by default (`tls_options::verify`): the chain must end at a trusted CA and
/// the certificate must name the URL's host (OpenSSL's own host / IP check, set per connection).
/// SNI carries the URL's host.

#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <asio/ssl.hpp>
#include <websocketpp/config/asio_client.hpp>

#include "client.hpp"

namespace portico::client::detail {

/// ws_client_config with websocketpp's TLS socket policy (same loggers, concurrency and timeouts).
struct ws_tls_client_config : ws_client_config {
  struct transport_config : ws_client_config::transport_config {
    using socket_type = websocketpp::transport::asio::tls_socket::endpoint;
  };
  using transport_type = websocketpp::transport::asio::endpoint<transport_config>;
};

using tls_context_ptr = std::shared_ptr<asio::ssl::context>;

/// The client context of `o`. Throws std::invalid_argument naming the option whose file failed.
inline tls_context_ptr make_tls_context(const tls_options& o) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  auto load = [](const char* what, const std::string& path, auto&& f) {
    try {
      f();
    } catch (const std::system_error& e) {
      throw std::invalid_argument(std::string("portico::client: tls_options::") + what + " '" + path + "': " + e.what());
    }
  };
  if (o.verify) {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (o.ca_file.empty() && o.ca_dir.empty())
      load("ca_file", "(system default)", [&] { ctx->set_default_verify_paths(); });
    if (!o.ca_file.empty()) load("ca_file", o.ca_file, [&] { ctx->load_verify_file(o.ca_file); });
    if (!o.ca_dir.empty()) load("ca_dir", o.ca_dir, [&] { ctx->add_verify_path(o.ca_dir); });
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  if (o.cert_file.empty() != o.key_file.empty())
    throw std::invalid_argument("portico::client: tls_options::cert_file and key_file go together");
  if (!o.cert_file.empty()) {
    load("cert_file", o.cert_file, [&] { ctx->use_certificate_chain_file(o.cert_file); });
    load("key_file", o.key_file, [&] { ctx->use_private_key_file(o.key_file, asio::ssl::context::pem); });
  }
  return ctx;
}

/// Rejects every certificate: a connection whose host check could not be set must not pass.
inline int tls_reject_all(int, X509_STORE_CTX*) { return 0; }

/// Per connection, before the handshake: SNI (names only: RFC 6066 has no IP literals) and, when
/// verifying, the host the certificate must name. Returns "" or why the check could not be set
/// (the handshake then fails).
inline std::string tls_set_peer(SSL* ssl, const std::string& host, bool verify) {
  asio::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  if (not_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return "tls error: cannot send SNI for '" + host + "'";
  if (!verify) return {};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = not_ip ? X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size())
                        : X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  if (ok == 1) return {};
  SSL_set_verify(ssl, SSL_VERIFY_PEER, tls_reject_all);
  return "tls error: cannot check the certificate against host '" + host + "'";
}

/// Why a handshake failed, from what OpenSSL recorded on `ssl` ("" when it says nothing).
inline std::string tls_verify_failure(SSL* ssl) {
  const long v = SSL_get_verify_result(ssl);
  if (v == X509_V_OK) return {};
  return std::string(tls_error_prefix) + "certificate verify failed (" + X509_verify_cert_error_string(v) + ")";
}

/// The stream policy of a long-polling exchange over TLS (see basic_http_exchange).
class tls_stream {
 public:
  tls_stream(asio::io_context& io, tls_context_ptr ctx, bool verify)
      : ctx_(std::move(ctx)), stream_(io, *ctx_), verify_(verify) {}
  asio::ip::tcp::socket& tcp() noexcept { return stream_.next_layer(); }
  asio::ssl::stream<asio::ip::tcp::socket>& stream() noexcept { return stream_; }

  template <class H>
  void async_handshake(const std::string& host, H&& h) {
    std::string why = tls_set_peer(stream_.native_handle(), host, verify_);
    if (!why.empty()) return h(make_error_code(asio::error::invalid_argument), why);
    // The exchange owning this stream stays alive through `h`, which holds it.
    stream_.async_handshake(asio::ssl::stream_base::client, [this, h = std::forward<H>(h)](const asio::error_code& e) mutable {
      if (!e) return h(e, std::string());
      std::string why2 = tls_verify_failure(stream_.native_handle());
      h(e, why2.empty() ? std::string(tls_error_prefix) + e.message() : why2);
    });
  }
  /// Servers may close without close_notify after `Connection: close`; a body cut short is still
  /// caught by the parser (Content-Length).
  static bool is_end(const asio::error_code& e) noexcept {
    return e == asio::error::eof || e == asio::ssl::error::stream_truncated;
  }

 private:
  tls_context_ptr ctx_;  // before stream_: the stream is built on it
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  bool verify_;
};

/// A websocket over TLS; remembers its SSL object to say why a handshake failed.
class tls_ws_link final : public basic_ws_link<ws_tls_client_config> {
 public:
  using basic_ws_link::basic_ws_link;
  std::string failure() const override {
    if (!setup_error_.empty()) return setup_error_;
    if (!ssl_) return {};
    std::string why = tls_verify_failure(ssl_);
    if (!why.empty()) return why;
    namespace sock = websocketpp::transport::asio::socket;
    if (c_->get_ec() == sock::make_error_code(sock::error::tls_handshake_failed))
      return std::string(tls_error_prefix) + "handshake failed";
    return {};
  }

 private:
  friend class tls_ws_endpoint;
  SSL* ssl_ = nullptr;  ///< owned by the connection, which this link owns
  std::string setup_error_;
};

class tls_ws_endpoint final : public basic_ws_endpoint<ws_tls_client_config> {
 public:
  tls_ws_endpoint(asio::io_context& io, tls_context_ptr ctx, bool verify) : basic_ws_endpoint(io), verify_(verify) {
    // websocketpp asks for the context of every connection (and fails it without one).
    ws_.set_tls_init_handler([ctx = std::move(ctx)](websocketpp::connection_hdl) { return ctx; });
  }

 protected:
  ws_link_ptr make_link(typename basic_ws_link<ws_tls_client_config>::connection_ptr c) override {
    // websocketpp made the TLS socket in get_connection (its socket_init_handler has run by now):
    // set the host check here, before connect() starts the handshake. websocketpp sets SNI to
    // the URI host itself, later, in pre_init (also for IP addresses).
    auto link = std::make_shared<tls_ws_link>(c);
    link->ssl_ = c->get_socket().native_handle();
    link->setup_error_ = tls_set_peer(link->ssl_, c->get_host(), verify_);
    return link;
  }

 private:
  bool verify_;
};

class openssl_backend final : public tls_backend {
 public:
  openssl_backend(asio::io_context& io, const tls_options& o, portico::logger& log)
      : io_(io), ctx_(make_tls_context(o)), verify_(o.verify), ws_(io, ctx_, o.verify) {
    if (!verify_)
      log.warn("tls_options::verify is false: the server's certificate is not checked (any server can pose as it)");
  }
  ws_endpoint& websocket() override { return ws_; }
  std::shared_ptr<any_http_exchange> exchange() override {
    return std::make_shared<basic_http_exchange<tls_stream>>(io_, ctx_, verify_);
  }

 private:
  asio::io_context& io_;
  tls_context_ptr ctx_;
  bool verify_;
  tls_ws_endpoint ws_;
};

inline std::unique_ptr<tls_backend> make_openssl_backend(asio::io_context& io, const tls_options& o,
                                                         portico::logger& log) {
  return std::make_unique<openssl_backend>(io, o, log);
}

/// Including this header is what enables TLS URLs: client.hpp's engine finds the backend here.
inline const bool tls_backend_registered = (tls_factory().store(&make_openssl_backend), true);

}  // namespace portico::client::detail
