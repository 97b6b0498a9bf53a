// Unit tests of the module graph (imports/exports visibility) and of guards as policy types.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "portico/framework/di.hpp"

namespace modules_test {

struct Database {
  int queries = 0;
};
struct UserRepository {
  explicit UserRepository(Database& d) : db(d) {}
  Database& db;
};
struct PasswordHasher {};  // internal to the users module
struct UsersService {
  UsersService(UserRepository& r, PasswordHasher&) : repo(r) {}
  UserRepository& repo;
};

struct DatabaseModule : portico::module<portico::providers<Database>, portico::exports<Database>> {};
struct UsersModule : portico::module<portico::imports<DatabaseModule>,
                                     portico::providers<UserRepository, PasswordHasher, UsersService>,
                                     portico::exports<UsersService, UserRepository>> {};
/// Re-exports what DatabaseModule exports.
struct CoreModule : portico::module<portico::imports<DatabaseModule>, portico::exports<DatabaseModule>> {};

struct Dashboard {
  Dashboard(UsersService& u, Database& d) : users(u), db(d) {}
  UsersService& users;
  Database& db;
};
struct AppModule : portico::module<portico::providers<Dashboard>, portico::imports<UsersModule, CoreModule>> {};

TEST_CASE("a module sees its own providers and what its imports export", "[di][module]") {
  using C = portico::container<AppModule>;
  STATIC_REQUIRE(C::provides<Dashboard>);
  STATIC_REQUIRE(C::provides<UsersService>);
  STATIC_REQUIRE(C::provides<Database>);          // re-exported by CoreModule
  STATIC_REQUIRE_FALSE(C::provides<PasswordHasher>);  // UsersModule keeps it private
  STATIC_REQUIRE_FALSE(C::provides<std::string>);
  C c;
  Dashboard& d = c.get<Dashboard&>();
  // One Database instance, owned by DatabaseModule, whichever way it is reached.
  CHECK(&d.db == &d.users.repo.db);
  CHECK(&c.get<Database&>() == &d.db);
}

TEST_CASE("the modules of the graph are listed once each, root first", "[di][module]") {
  using C = portico::container<AppModule>;
  using expected = portico::framework::detail::type_list<AppModule, UsersModule, DatabaseModule, CoreModule>;
  STATIC_REQUIRE(std::is_same_v<C::modules, expected>);
}

struct Counter {
  int n = 0;
};
struct LeftModule : portico::module<portico::providers<Counter>, portico::exports<Counter>> {};
struct Reader {
  explicit Reader(Counter& c) : counter(c) {}
  Counter& counter;
};
/// Own provider of the same key shadows the imported one.
struct ShadowModule : portico::module<portico::imports<LeftModule>, portico::providers<Counter, Reader>> {};

TEST_CASE("a module's own provider wins over an imported one", "[di][module]") {
  struct Root : portico::module<portico::imports<ShadowModule, LeftModule>> {};
  portico::container<ShadowModule> c;
  CHECK(&c.get<Reader&>().counter == &c.get<Counter&>());
  portico::container<portico::module<portico::imports<LeftModule>, portico::providers<Reader>>> other;
  CHECK(&other.get<Reader&>().counter == &other.get<Counter&>());
}

// ---- gateways and controllers are singletons constructed in their own module ----

struct ChatStore {
  std::vector<std::string> messages;
};
struct ChatGateway {
  explicit ChatGateway(ChatStore& s) : store(s) {}
  ChatStore& store;
};
struct ChatModule : portico::module<portico::providers<ChatStore>, portico::gateways<ChatGateway>> {};
struct StatusController {
  explicit StatusController(Database& d) : db(d) {}
  Database& db;
};
struct ServerModule : portico::module<portico::imports<ChatModule, DatabaseModule>, portico::controllers<StatusController>> {};

TEST_CASE("gateways and controllers are constructed once, from their module", "[di][module]") {
  using C = portico::container<ServerModule>;
  STATIC_REQUIRE(std::is_same_v<C::module_of_t<ChatGateway>, ChatModule>);
  STATIC_REQUIRE(std::is_same_v<C::module_of_t<StatusController>, ServerModule>);
  STATIC_REQUIRE(std::is_same_v<C::gateways, portico::framework::detail::type_list<ChatGateway>>);
  STATIC_REQUIRE(std::is_same_v<C::controllers, portico::framework::detail::type_list<StatusController>>);
  // ChatStore is not exported: only ChatModule's gateway can inject it.
  STATIC_REQUIRE_FALSE(C::provides<ChatStore>);
  C c;
  ChatGateway& g = c.component<ChatGateway>();
  CHECK(&c.component<ChatGateway>() == &g);
  g.store.messages.push_back("hi");
  CHECK(c.component<ChatGateway>().store.messages.size() == 1);
  CHECK(&c.component<StatusController>().db == &c.get<Database&>());
}

TEST_CASE("an override reaches providers of imported modules", "[di][module][override]") {
  struct FakeDatabase : Database {
    FakeDatabase() { queries = 99; }
  };
  portico::container<AppModule, portico::override<Database, FakeDatabase>> c;
  CHECK(c.get<Dashboard&>().db.queries == 99);
  CHECK(c.get<Dashboard&>().users.repo.db.queries == 99);
}

}  // namespace modules_test

namespace guards_test {

/// Stands in for the gateway layer's execution_context: the machinery is generic on it.
struct fake_context {
  std::string token;
  std::vector<std::string> trace;
};

struct AuthService {
  std::string valid = "secret";
  bool check(const std::string& t) const { return t == valid; }
};

struct TokenGuard {
  explicit TokenGuard(AuthService& a) : auth(a) {}
  bool can_activate(fake_context& ctx) {
    ctx.trace.push_back("token");
    return auth.check(ctx.token);
  }
  AuthService& auth;
};
struct AllowAll {
  bool can_activate(fake_context& ctx) const {
    ctx.trace.push_back("allow");
    return true;
  }
};
struct DenyAll {
  bool can_activate(fake_context& ctx) {
    ctx.trace.push_back("deny");
    return false;
  }
};
struct Throwing {
  bool can_activate(fake_context& ctx) {
    ctx.trace.push_back("throw");
    throw std::runtime_error("forbidden");
  }
};
struct Audit {
  std::vector<std::string> seen;
};
/// Depends on a per-connection provider: the guard sees the connection it runs for.
struct ConnectionState {
  int messages = 0;
};
struct RateGuard {
  explicit RateGuard(ConnectionState& s) : state(s) {}
  bool can_activate(fake_context& ctx) {
    ctx.trace.push_back("rate");
    return ++state.messages <= 2;
  }
  ConnectionState& state;
};

struct Gateway {
  using guards = portico::guards<TokenGuard>;
};
struct Plain {};

using M = portico::module<portico::providers<AuthService, Audit, portico::per_connection<ConnectionState>>>;

TEST_CASE("global, class and handler guards combine in that order", "[di][guards]") {
  using global = portico::guards<AllowAll>;
  using handler = portico::guards<DenyAll, AllowAll>;
  using all = portico::combine_guards_t<global, portico::guards_of_t<Gateway>, handler>;
  STATIC_REQUIRE(std::is_same_v<all, portico::guards<AllowAll, TokenGuard, DenyAll, AllowAll>>);
  STATIC_REQUIRE(std::is_same_v<portico::guards_of_t<Plain>, portico::guards<>>);
  STATIC_REQUIRE(portico::check_guards<all, fake_context>());
  STATIC_REQUIRE(std::is_same_v<portico::combine_guards_t<>, portico::guards<>>);
}

TEST_CASE("run_guards runs in order, resolves dependencies and stops at the first refusal", "[di][guards]") {
  portico::container<M> c;
  SECTION("all allow") {
    fake_context ctx{"secret", {}};
    CHECK(portico::run_guards<portico::guards<AllowAll, TokenGuard>>(c, ctx));
    CHECK(ctx.trace == std::vector<std::string>{"allow", "token"});
  }
  SECTION("a refusal stops the chain") {
    fake_context ctx{"wrong", {}};
    CHECK_FALSE(portico::run_guards<portico::guards<AllowAll, TokenGuard, AllowAll>>(c, ctx));
    CHECK(ctx.trace == std::vector<std::string>{"allow", "token"});
  }
  SECTION("the guard's dependency is the container's instance") {
    c.get<AuthService&>().valid = "rotated";
    fake_context ctx{"rotated", {}};
    CHECK(portico::run_guards<portico::guards<TokenGuard>>(c, ctx));
  }
  SECTION("an empty list allows") {
    fake_context ctx{"", {}};
    CHECK(portico::run_guards<portico::guards<>>(c, ctx));
    CHECK(ctx.trace.empty());
  }
  SECTION("an exception from a guard propagates and stops the chain") {
    fake_context ctx{"secret", {}};
    CHECK_THROWS_AS((portico::run_guards<portico::guards<Throwing, AllowAll>>(c, ctx)), std::runtime_error);
    CHECK(ctx.trace == std::vector<std::string>{"throw"});
  }
}

TEST_CASE("guards may depend on per-connection providers", "[di][guards][connection]") {
  portico::container<M> c;
  portico::connection_scope one;
  portico::connection_scope two;
  fake_context ctx;
  using list = portico::guards<RateGuard>;
  CHECK(portico::run_guards<list>(c, ctx, one));
  CHECK(portico::run_guards<list>(c, ctx, one));
  CHECK_FALSE(portico::run_guards<list>(c, ctx, one));  // third message on this connection
  CHECK(portico::run_guards<list>(c, ctx, two));        // another connection has its own state
  one.close();
  portico::connection_scope three;
  CHECK(portico::run_guards<list>(c, ctx, three));
}

struct GuardsModule : portico::module<portico::providers<AuthService>, portico::gateways<Gateway>> {};
struct GuardsApp : portico::module<portico::imports<GuardsModule>> {};

TEST_CASE("guards resolve from the module that declares the gateway", "[di][guards][module]") {
  using C = portico::container<GuardsApp>;
  STATIC_REQUIRE_FALSE(C::provides<AuthService>);  // not exported to the app module
  C c;
  fake_context ctx{"secret", {}};
  CHECK(portico::run_guards<portico::guards_of_t<Gateway>, C::module_of_t<Gateway>>(c, ctx));
}

}  // namespace guards_test
