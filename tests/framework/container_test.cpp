// Unit tests of the DI container: constructor injection, bindings, values, factories, scopes,
// overrides. Module visibility and guards are in modules_guards_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "portico/framework/di.hpp"

namespace container_test {

std::vector<std::string>& journal() {
  static std::vector<std::string> log;
  return log;
}

struct Config {
  int port = 8000;
  std::string name = "default";
};

struct Logger {
  explicit Logger(const Config& c) : prefix(c.name) {}
  std::string prefix;
};

/// Deduced constructor with every supported parameter form.
struct Repository {
  Repository(Logger& l, const Config& c, std::shared_ptr<Logger> shared, Config copy)
      : logger(l), config(c), shared_logger(std::move(shared)), config_copy(copy) {}
  Logger& logger;
  const Config& config;
  std::shared_ptr<Logger> shared_logger;
  Config config_copy;
};

TEST_CASE("constructor parameters are deduced and injected by their form", "[di][injection]") {
  using M = portico::module<portico::providers<Config, Logger, Repository>>;
  portico::container<M> c;
  Repository& repo = c.get<Repository&>();
  Logger& logger = c.get<Logger&>();
  Config& config = c.get<Config&>();
  CHECK(&repo.logger == &logger);
  CHECK(&repo.config == &config);
  CHECK(repo.shared_logger.get() == &logger);
  CHECK(&repo.config_copy != &config);
  CHECK(repo.config_copy.port == 8000);
  // The copy is a copy: changing the shared config later does not change it.
  config.port = 1;
  CHECK(repo.config_copy.port == 8000);
  CHECK(repo.config.port == 1);
}

struct A {
  int id = 1;
};
struct B {
  int id = 2;
};

/// Two constructors of different arity would be ambiguous; the inject list picks one.
struct Listed {
  explicit Listed(A& a) : used("one"), a_id(a.id) {}
  Listed(A& a, B& b) : used("two"), a_id(a.id), b_id(b.id) {}
  using inject = portico::inject<A&, B&>;
  std::string used;
  int a_id = 0;
  int b_id = 0;
};

/// Overloads of the same arity defeat deduction; the inject list settles it.
struct Overloaded {
  explicit Overloaded(A&) : used("A") {}
  explicit Overloaded(B&) : used("B") {}
  using inject = portico::inject<B&>;
  std::string used;
};

/// An explicit list wins even when deduction alone would pick another constructor.
struct Prefers {
  Prefers() : used("default") {}
  explicit Prefers(A&) : used("A") {}
  using inject = portico::inject<>;
  std::string used;
};

TEST_CASE("an explicit inject list chooses the constructor and wins over deduction", "[di][injection]") {
  using M = portico::module<portico::providers<A, B, Listed, Overloaded, Prefers>>;
  portico::container<M> c;
  CHECK(c.get<Listed&>().used == "two");
  CHECK(c.get<Listed&>().b_id == 2);
  CHECK(c.get<Overloaded&>().used == "B");
  CHECK(c.get<Prefers&>().used == "default");
}

struct WithDefault {
  WithDefault() : used("default") {}
  explicit WithDefault(A&) : used("A") {}
  std::string used;
};

TEST_CASE("a default constructor beside an injecting one is ignored", "[di][injection]") {
  using M = portico::module<portico::providers<A, WithDefault>>;
  portico::container<M> c;
  CHECK(c.get<WithDefault&>().used == "A");
}

struct IAuth {
  virtual ~IAuth() = default;
  virtual std::string who() const = 0;
};
struct TokenAuth : IAuth {
  explicit TokenAuth(const Config& c) : name(c.name) {}
  std::string who() const override { return "token:" + name; }
  std::string name;
};
struct NeedsAuth {
  explicit NeedsAuth(IAuth& a) : auth(a) {}
  IAuth& auth;
};
struct AlsoNeedsAuth {
  explicit AlsoNeedsAuth(std::shared_ptr<IAuth> a) : auth(std::move(a)) {}
  std::shared_ptr<IAuth> auth;
};

TEST_CASE("an interface bound to an implementation resolves to one shared implementation", "[di][bind]") {
  using M = portico::module<portico::providers<Config, portico::bind<IAuth, TokenAuth>, NeedsAuth, AlsoNeedsAuth>>;
  portico::container<M> c;
  IAuth& auth = c.get<IAuth&>();
  CHECK(dynamic_cast<TokenAuth*>(&auth) != nullptr);
  CHECK(auth.who() == "token:default");
  CHECK(&c.get<NeedsAuth&>().auth == &auth);
  CHECK(c.get<AlsoNeedsAuth&>().auth.get() == &auth);
}

TEST_CASE("values are supplied to the container or value-initialized", "[di][value]") {
  using M = portico::module<portico::providers<portico::value<Config>, Logger>>;
  SECTION("supplied") {
    portico::container<M> c{Config{9000, "supplied"}};
    CHECK(c.get<Config&>().port == 9000);
    CHECK(c.get<Logger&>().prefix == "supplied");
  }
  SECTION("not supplied") {
    portico::container<M> c;
    CHECK(c.get<Config&>().port == 8000);
    CHECK(c.get<Logger&>().prefix == "default");
  }
  SECTION("requested by value, it is a copy") {
    portico::container<M> c{Config{1, "x"}};
    Config copy = c.get<Config>();
    copy.port = 2;
    CHECK(c.get<const Config&>().port == 1);
  }
}

struct Counted {
  static inline int made = 0;
  explicit Counted(int v) : value(v) { ++made; }
  int value;
};

Counted make_counted(const Config& c) { return Counted{c.port + 1}; }

inline constexpr auto make_greeting = [](const Config& c, Logger& l) {
  return std::make_unique<std::string>("hello " + c.name + " from " + l.prefix);
};

struct Connection {
  std::string dsn;
};
std::shared_ptr<Connection> open_connection(Config c) { return std::make_shared<Connection>(Connection{c.name + ":" + std::to_string(c.port)}); }

TEST_CASE("factories are called with injected arguments, once for a singleton", "[di][factory]") {
  using M = portico::module<portico::providers<portico::value<Config>, Logger, portico::factory<Counted, &make_counted>,
                                               portico::factory<std::string, &make_greeting>,
                                               portico::factory<Connection, &open_connection>>>;
  Counted::made = 0;
  portico::container<M> c{Config{41, "db"}};
  CHECK(c.get<Counted&>().value == 42);
  CHECK(&c.get<Counted&>() == &c.get<Counted&>());
  CHECK(Counted::made == 1);
  CHECK(c.get<std::string&>() == "hello db from db");
  CHECK(c.get<Connection&>().dsn == "db:41");
}

struct Widget {
  static inline int made = 0;
  Widget() : serial(++made) {}
  int serial;
};
struct TakesWidgets {
  TakesWidgets(Widget w, const Widget& cw, std::shared_ptr<Widget> sw, std::unique_ptr<Widget> uw)
      : a(w.serial), b(cw.serial), c(sw->serial), d(uw->serial) {}
  int a, b, c, d;
};

TEST_CASE("singletons are shared, transients are fresh for every injection", "[di][scope]") {
  using M = portico::module<portico::providers<Config, portico::transient<Widget>, TakesWidgets>>;
  Widget::made = 0;
  portico::container<M> c;
  SECTION("singleton identity") {
    CHECK(&c.get<Config&>() == &c.get<Config&>());
    std::shared_ptr<Config> s1 = c.get<std::shared_ptr<Config>>();
    std::shared_ptr<const Config> s2 = c.get<std::shared_ptr<const Config>>();
    CHECK(s1.get() == &c.get<Config&>());
    CHECK(s1 == s2);
  }
  SECTION("transient freshness") {
    TakesWidgets& t = c.get<TakesWidgets&>();
    std::vector<int> serials{t.a, t.b, t.c, t.d};
    std::sort(serials.begin(), serials.end());
    CHECK(serials == std::vector<int>{1, 2, 3, 4});
    CHECK(c.get<Widget>().serial == 5);
    CHECK(c.get<std::unique_ptr<Widget>>()->serial == 6);
    CHECK(c.get<std::shared_ptr<Widget>>()->serial == 7);
  }
}

struct Tracked {
  explicit Tracked(std::string n) : name(std::move(n)) { journal().push_back("+" + name); }
  ~Tracked() { journal().push_back("-" + name); }
  std::string name;
};
struct First : Tracked {
  First() : Tracked("first") {}
};
struct Second : Tracked {
  explicit Second(First&) : Tracked("second") {}
};
struct Third : Tracked {
  Third(Second&, First&) : Tracked("third") {}
};

TEST_CASE("singletons are created on first use and destroyed in reverse order", "[di][scope]") {
  journal().clear();
  using M = portico::module<portico::providers<Third, Second, First>>;
  {
    portico::container<M> c;
    CHECK(journal().empty());
    c.get<Third&>();
    CHECK(c.size() == 3);
  }
  CHECK(journal() == std::vector<std::string>{"+first", "+second", "+third", "-third", "-second", "-first"});
}

TEST_CASE("instantiate() creates every singleton up front", "[di][scope]") {
  journal().clear();
  using M = portico::module<portico::providers<Third, Second, First, portico::transient<Widget>>>;
  portico::container<M> c;
  c.instantiate();
  CHECK(c.size() == 3);
  CHECK(journal() == std::vector<std::string>{"+first", "+second", "+third"});
  c.instantiate();
  CHECK(c.size() == 3);
}

// ---- per-connection scope, exercised by a fake connection loop ----

struct Metrics {
  int sessions_opened = 0;
};
struct Session {
  static inline int alive = 0;
  explicit Session(Metrics& m) : serial(++m.sessions_opened) {
    ++alive;
    journal().push_back("+session" + std::to_string(serial));
  }
  ~Session() {
    --alive;
    journal().push_back("-session" + std::to_string(serial));
  }
  int serial;
};
struct Presence {
  explicit Presence(Session& s) : session(s) { journal().push_back("+presence" + std::to_string(s.serial)); }
  ~Presence() { journal().push_back("-presence" + std::to_string(session.serial)); }
  Session& session;
};
/// A transient may depend on a per-connection provider when resolved within a connection.
struct Reply {
  explicit Reply(Session& s) : serial(s.serial) {}
  int serial;
};

TEST_CASE("per-connection instances live exactly as long as their connection", "[di][scope][connection]") {
  using M = portico::module<portico::providers<Metrics, portico::per_connection<Session>, portico::per_connection<Presence>,
                                               portico::transient<Reply>>>;
  journal().clear();
  Session::alive = 0;
  portico::container<M> c;
  std::vector<Session*> seen;
  for (int i = 0; i < 3; ++i) {  // a fake server: connect, handle a few messages, disconnect
    portico::connection_scope scope;
    CHECK(scope.size() == 0);
    CHECK(Session::alive == 0);  // created on first use only
    Session& first = c.get<Session&>(scope);
    Session& again = c.get<Session&>(scope);
    CHECK(&first == &again);
    CHECK(&c.get<Presence&>(scope).session == &first);
    CHECK(c.get<Reply>(scope).serial == first.serial);
    CHECK(scope.size() == 2);
    CHECK(Session::alive == 1);
    CHECK(first.serial == i + 1);
    seen.push_back(&first);
    scope.close();  // disconnect
    CHECK(Session::alive == 0);
    CHECK(scope.size() == 0);
    scope.close();  // idempotent
  }
  CHECK(c.get<Metrics&>().sessions_opened == 3);
  // Presence depends on Session, so it goes first.
  CHECK(journal() == std::vector<std::string>{"+session1", "+presence1", "-presence1", "-session1", "+session2",
                                              "+presence2", "-presence2", "-session2", "+session3", "+presence3",
                                              "-presence3", "-session3"});
}

TEST_CASE("connections are independent and destroyed with their scope object", "[di][scope][connection]") {
  using M = portico::module<portico::providers<Metrics, portico::per_connection<Session>>>;
  Session::alive = 0;
  portico::container<M> c;
  {
    auto one = std::make_unique<portico::connection_scope>();
    portico::connection_scope two;
    Session& s1 = c.get<Session&>(*one);
    Session& s2 = c.get<Session&>(two);
    CHECK(&s1 != &s2);
    CHECK(Session::alive == 2);
    one.reset();
    CHECK(Session::alive == 1);
    CHECK(c.get<Session&>(two).serial == s2.serial);
  }
  CHECK(Session::alive == 0);
}

TEST_CASE("a per-connection provider resolved outside a connection is a runtime error", "[di][scope][connection]") {
  using M = portico::module<portico::providers<Metrics, portico::per_connection<Session>>>;
  portico::container<M> c;
  CHECK_THROWS_AS(c.get<Session&>(), std::logic_error);
}

TEST_CASE("a connection scope belongs to one container", "[di][scope][connection]") {
  using M = portico::module<portico::providers<Metrics, portico::per_connection<Session>>>;
  portico::container<M> first;
  portico::container<M> second;
  portico::connection_scope scope;
  first.get<Session&>(scope);
  CHECK_THROWS_AS(second.get<Session&>(scope), std::logic_error);
  CHECK(scope.size() == 1);
}

// ---- overrides ----

struct FakeAuth : IAuth {
  std::string who() const override { return "fake"; }
};

TEST_CASE("a test overrides a provider by type without touching the module", "[di][override]") {
  using M = portico::module<portico::providers<Config, portico::bind<IAuth, TokenAuth>, NeedsAuth>>;
  using Testing = portico::container<M>::with_overrides<portico::override<IAuth, FakeAuth>>;
  Testing c;
  CHECK(c.get<NeedsAuth&>().auth.who() == "fake");
  // The production container is unaffected.
  portico::container<M> prod;
  CHECK(prod.get<NeedsAuth&>().auth.who() == "token:default");
}

struct Clock {
  virtual ~Clock() = default;
  virtual int now() { return 1000; }
};
struct FrozenClock : Clock {
  int now() override { return 7; }
};
struct Scheduler {
  explicit Scheduler(Clock& c) : clock(c) {}
  Clock& clock;
};

TEST_CASE("a test replaces a provider by an instance", "[di][override]") {
  using M = portico::module<portico::providers<Clock, Scheduler>>;
  portico::container<M> c;
  auto frozen = std::make_shared<FrozenClock>();
  c.replace<Clock>(frozen);
  CHECK(&c.get<Scheduler&>().clock == frozen.get());
  CHECK(c.get<Scheduler&>().clock.now() == 7);
  // Once resolved, an instance can no longer be swapped under its users.
  CHECK_THROWS_AS(c.replace<Clock>(std::make_shared<FrozenClock>()), std::logic_error);
}

TEST_CASE("an override keeps the scope of the provider it replaces", "[di][override]") {
  using M = portico::module<portico::providers<portico::transient<Clock>>>;
  portico::container<M, portico::override<Clock, FrozenClock>> c;
  auto c1 = c.get<std::shared_ptr<Clock>>();
  auto c2 = c.get<std::shared_ptr<Clock>>();
  CHECK(c1 != c2);
  CHECK(c1->now() == 7);
}

struct Handler {
  Handler(Logger& l, Widget w) : prefix(l.prefix), serial(w.serial) {}
  std::string prefix;
  int serial;
};

TEST_CASE("make() constructs a non-provider with injection, every time", "[di][injection]") {
  using M = portico::module<portico::providers<Config, Logger, portico::transient<Widget>>>;
  Widget::made = 0;
  portico::container<M> c;
  Handler h1 = c.make<Handler>();
  Handler h2 = c.make<Handler>();
  CHECK(h1.prefix == "default");
  CHECK(h1.serial == 1);
  CHECK(h2.serial == 2);
}

struct Endpoint {  // no default constructor: must be supplied
  explicit Endpoint(int p) : port(p) {}
  int port;
};

TEST_CASE("a value without a default constructor must be supplied", "[di][value]") {
  using M = portico::module<portico::providers<portico::value<Endpoint>>>;
  portico::container<M> supplied{Endpoint{7}};
  CHECK(supplied.get<Endpoint&>().port == 7);
  portico::container<M> missing;
  CHECK_THROWS_AS(missing.get<Endpoint&>(), std::logic_error);
}

int flaky_calls = 0;
Counted flaky_factory() {
  if (++flaky_calls == 1) throw std::runtime_error("database not ready");
  return Counted{flaky_calls};
}

TEST_CASE("a provider whose construction throws is not stored and is retried", "[di][factory]") {
  using M = portico::module<portico::providers<portico::factory<Counted, &flaky_factory>>>;
  flaky_calls = 0;
  portico::container<M> c;
  CHECK_THROWS_AS(c.get<Counted&>(), std::runtime_error);
  CHECK(c.size() == 0);
  CHECK(c.get<Counted&>().value == 2);
  CHECK(c.get<Counted&>().value == 2);
}

struct IChannel {
  virtual ~IChannel() = default;
  virtual int id() const = 0;
};
struct Channel : IChannel {
  explicit Channel(Metrics& m) : serial(++m.sessions_opened) {}
  int id() const override { return serial; }
  int serial;
};
inline constexpr auto make_label = [](IChannel& ch) { return std::to_string(ch.id()); };

TEST_CASE("scopes wrap bindings and factories too", "[di][scope]") {
  using M = portico::module<portico::providers<portico::singleton<Metrics>, portico::per_connection<portico::bind<IChannel, Channel>>,
                                               portico::per_connection<portico::factory<std::string, &make_label>>>>;
  portico::container<M> c;
  portico::connection_scope a;
  portico::connection_scope b;
  CHECK(c.get<std::string&>(a) == "1");
  CHECK(c.get<std::string&>(b) == "2");
  CHECK(&c.get<IChannel&>(a) != &c.get<IChannel&>(b));
  CHECK(c.get<std::string&>(a) == "1");
}

TEST_CASE("replace() also takes over value providers", "[di][override]") {
  using M = portico::module<portico::providers<portico::value<Config>, Logger>>;
  portico::container<M> c;
  c.replace<Config>(std::make_shared<Config>(Config{1, "replaced"}));
  CHECK(c.get<Logger&>().prefix == "replaced");
}

/// A factory given as a type.
struct MakeEndpoint {
  Endpoint operator()(const Config& c) const { return Endpoint{c.port}; }
};

TEST_CASE("a factory may be a function object type", "[di][factory]") {
  using M = portico::module<portico::providers<portico::value<Config>, portico::factory_object<Endpoint, MakeEndpoint>>>;
  portico::container<M> c{Config{4242, "x"}};
  CHECK(c.get<Endpoint&>().port == 4242);
}

#if __cplusplus >= 202002L
inline auto make_tag = [](const Config& c) { return c.name + "!"; };
TEST_CASE("in C++20 a factory may be a captureless lambda's type", "[di][factory]") {
  using M = portico::module<portico::providers<Config, portico::factory_object<std::string, decltype(make_tag)>>>;
  portico::container<M> c;
  CHECK(c.get<std::string&>() == "default!");
}
#endif

// A layered graph where every provider depends on every provider of the layer below: 4^4 paths
// lead to the bottom, each provider is still built once and shared.
template <int Layer, int Index>
struct Node {
  static inline int built = 0;
  Node(Node<Layer - 1, 0>& a, Node<Layer - 1, 1>& b, Node<Layer - 1, 2>& c, Node<Layer - 1, 3>& d)
      : below{&a, &b, &c, &d} {
    ++built;
  }
  std::vector<const void*> below;
};
template <int Index>
struct Node<0, Index> {
  static inline int built = 0;
  Node() { ++built; }
};
template <int L>
using layer = portico::providers<Node<L, 0>, Node<L, 1>, Node<L, 2>, Node<L, 3>>;
struct Layer0 : portico::module<layer<0>, portico::exports<Node<0, 0>, Node<0, 1>, Node<0, 2>, Node<0, 3>>> {};
struct Layer1 : portico::module<layer<1>, portico::imports<Layer0>, portico::exports<Node<1, 0>, Node<1, 1>, Node<1, 2>, Node<1, 3>>> {};
struct Layer2 : portico::module<layer<2>, portico::imports<Layer1>, portico::exports<Node<2, 0>, Node<2, 1>, Node<2, 2>, Node<2, 3>>> {};
struct Layer3 : portico::module<layer<3>, portico::imports<Layer2>, portico::exports<Node<3, 0>, Node<3, 1>, Node<3, 2>, Node<3, 3>>> {};
struct Top {
  Top(Node<3, 0>& a, Node<3, 1>& b, Node<3, 2>& c, Node<3, 3>& d) : sum(a.below.size() + b.below.size() + c.below.size() + d.below.size()) {}
  std::size_t sum;
};
struct Dense : portico::module<portico::imports<Layer3>, portico::providers<Top>> {};

TEST_CASE("shared dependencies are built once in a dense graph", "[di][scope]") {
  Node<0, 0>::built = Node<2, 3>::built = Node<3, 1>::built = 0;
  portico::container<Dense> c;
  CHECK(c.get<Top&>().sum == 16);
  CHECK(Node<0, 0>::built == 1);
  CHECK(Node<2, 3>::built == 1);
  CHECK(Node<3, 1>::built == 1);
  CHECK(c.size() == 17);
  c.instantiate();
  CHECK(c.size() == 17);
}

TEST_CASE("get_from resolves as seen from another module", "[di][module]") {
  portico::container<Dense> c;
  STATIC_REQUIRE_FALSE(portico::container<Dense>::provides<Node<0, 0>>);
  Node<0, 0>& bottom = c.get_from<Layer1, Node<0, 0>&>();
  Node<1, 2>& mid = c.get_from<Layer1, Node<1, 2>&>();
  CHECK(mid.below[0] == &bottom);
}

}  // namespace container_test
