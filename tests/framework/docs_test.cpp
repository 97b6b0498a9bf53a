// The code shown in docs/dependency-injection.md, compiled and run. Each `// [doc:NAME]` ...
// `// [/doc]` region is copied verbatim into the document (scripts/doc_snippets verifies they match).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "portico/framework/di.hpp"

namespace docs_example {

/// The gateway layer defines the real execution_context; guards only need a type to take.
struct execution_context {
  std::string token;
};

// [doc:providers]
struct Config {  // supplied when the container is built, or value-initialized
  std::string secret = "dev-secret";
  int history = 50;
};

struct AuthService {  // an interface ...
  virtual ~AuthService() = default;
  virtual bool verify(const std::string& token) const = 0;
};

struct SecretAuth : AuthService {  // ... and its implementation; Config& is injected
  explicit SecretAuth(const Config& c) : secret(c.secret) {}
  bool verify(const std::string& token) const override { return token == secret; }
  std::string secret;
};

struct ChatStore {  // constructor parameters are deduced: no registration code
  explicit ChatStore(const Config& c) : limit(c.history) {}
  std::vector<std::string> messages;
  int limit;
};
// [/doc]

// [doc:scopes]
struct Session {  // one per client connection, destroyed at disconnect
  std::string user;
};

struct Clock {  // overloaded constructors: say which one to use
  Clock() = default;
  explicit Clock(int fixed) : fixed_now(fixed) {}
  using inject = portico::inject<>;
  int fixed_now = 0;
};

struct Message {  // transient: a fresh one for every injection
  explicit Message(Session& s) : author(s.user) {}
  std::string author;
};
// [/doc]

// [doc:guards]
struct TokenGuard {
  explicit TokenGuard(AuthService& auth) : auth(auth) {}  // injected
  bool can_activate(execution_context& ctx) { return auth.verify(ctx.token); }
  AuthService& auth;
};

struct EventGateway {
  using guards = portico::guards<TokenGuard>;  // class level: checked at the handshake
  explicit EventGateway(ChatStore& store) : store(store) {}
  ChatStore& store;
};
// [/doc]

// [doc:modules]
struct ConfigModule : portico::module<
    portico::providers<portico::value<Config>>,
    portico::exports<Config>> {};

struct AuthModule : portico::module<
    portico::imports<ConfigModule>,  // SecretAuth needs Config
    portico::providers<portico::bind<AuthService, SecretAuth>>,
    portico::exports<AuthService>> {};

struct ChatModule : portico::module<
    portico::imports<ConfigModule, AuthModule>,
    portico::providers<ChatStore, Clock, portico::per_connection<Session>, portico::transient<Message>>,
    portico::gateways<EventGateway>> {};
// [/doc]

TEST_CASE("docs: the container of the chat example", "[di][docs]") {
  // [doc:container]
  portico::container<ChatModule> app{Config{"s3cret", 10}};
  app.instantiate();  // every singleton and gateway now, before serving from threads

  EventGateway& gateway = app.component<EventGateway>();
  CHECK(gateway.store.limit == 10);
  CHECK(&gateway.store == &app.get<ChatStore&>());  // one ChatStore

  {  // what the server does for each client connection
    portico::connection_scope connection;
    app.get<Session&>(connection).user = "ada";
    Message m = app.get<Message>(connection);  // transient, built from this connection's Session
    CHECK(m.author == "ada");
  }  // disconnect: the Session is destroyed

  execution_context handshake{"s3cret"};
  using handshake_guards = portico::combine_guards_t<portico::guards<>,  // global guards of the app
                                                     portico::guards_of_t<EventGateway>>;
  CHECK(portico::run_guards<handshake_guards, ChatModule>(app, handshake));
  // [/doc]
}

// [doc:testing]
struct AllowEverything : AuthService {
  bool verify(const std::string&) const override { return true; }
};

TEST_CASE("docs: tests replace providers without touching the modules", "[di][docs]") {
  using testing_container = portico::container<ChatModule>::with_overrides<
      portico::override<AuthService, AllowEverything>>;
  testing_container app;
  execution_context anyone{"not-the-secret"};
  CHECK(portico::run_guards<portico::guards<TokenGuard>, ChatModule>(app, anyone));

  portico::container<ChatModule> other;  // or hand over an instance, before first use
  other.replace<ChatStore>(std::make_shared<ChatStore>(Config{"", 3}));
  CHECK(other.component<EventGateway>().store.limit == 3);
}
// [/doc]

}  // namespace docs_example
