// Session / socket ids (portico/detail/random.hpp): an attacker who collects ids must not be able
// to predict the next ones. The attack: Berlekamp-Massey finds the shortest linear recurrence
// (over GF(2)) of one bit taken from each id. Any generator whose outputs are linear in a hidden
// state (MT19937-64: 19968 bits) has linear complexity at most the state size; a random sequence of
// N bits has about N/2. The controls reproduce the old ids (std::mt19937_64) and show that the
// attack recovers their recurrence and predicts the next bits exactly.
#include <catch2/catch.hpp>

#include "../../include/portico/detail/random.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

using portico::detail::random_bytes;
using portico::detail::random_id;

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int index_of(char c) {
  for (int i = 0; i < 64; ++i)
    if (alphabet[i] == c) return i;
  return -1;
}

/// Bits a..b of a packed bit array, 64 at a time (bits past the end read as 0).
std::uint64_t get64(const std::vector<std::uint64_t>& v, std::size_t pos) {
  std::size_t q = pos >> 6, r = pos & 63;
  std::uint64_t lo = q < v.size() ? v[q] : 0, hi = q + 1 < v.size() ? v[q + 1] : 0;
  return r == 0 ? lo : (lo >> r) | (hi << (64 - r));
}

int parity(std::uint64_t x) { return __builtin_parityll(x); }

struct recurrence {
  std::size_t length = 0;               ///< linear complexity of the training bits
  std::vector<std::uint64_t> c;         ///< connection polynomial, bit i = c_i (c_0 = 1)
};

/// Berlekamp-Massey over GF(2), bit-packed.
recurrence berlekamp_massey(const std::vector<int>& s) {
  const std::size_t n_bits = s.size(), words = n_bits / 64 + 2;
  std::vector<std::uint64_t> rev(words, 0);  // rev bit k = s[N-1-k]
  for (std::size_t k = 0; k < n_bits; ++k)
    if (s[n_bits - 1 - k]) rev[k >> 6] |= std::uint64_t(1) << (k & 63);
  std::vector<std::uint64_t> c(words, 0), b(words, 0), t;
  c[0] = b[0] = 1;
  std::size_t len = 0, m = 0;
  bool have_m = false;
  for (std::size_t n = 0; n < n_bits; ++n) {
    std::size_t off = n_bits - 1 - n;  // rev[off + i] = s[n - i]
    int d = 0;
    for (std::size_t w = 0; w <= len / 64; ++w) d ^= parity(c[w] & get64(rev, off + 64 * w));
    if (!d) continue;
    t = c;
    std::size_t shift = have_m ? n - m : n + 1;
    std::size_t ws = shift >> 6, bs = shift & 63;
    for (std::size_t w = 0; w + ws < words; ++w) {
      if (!b[w]) continue;
      c[w + ws] ^= b[w] << bs;
      if (bs && w + ws + 1 < words) c[w + ws + 1] ^= b[w] >> (64 - bs);
    }
    if (2 * len <= n) {
      len = n + 1 - len;
      m = n;
      have_m = true;
      b = std::move(t);
    }
  }
  return {len, std::move(c)};
}

/// Trains on the first `train` bits, then predicts each later bit from the ones before it and
/// counts how many predictions came true.
struct attack_result {
  std::size_t complexity, predicted_right, predicted;
};
attack_result attack(const std::vector<int>& bits, std::size_t train) {
  recurrence r = berlekamp_massey(std::vector<int>(bits.begin(), bits.begin() + long(train)));
  std::size_t right = 0;
  for (std::size_t n = train; n < bits.size(); ++n) {
    int p = 0;
    for (std::size_t i = 1; i <= r.length && i <= n; ++i)
      if ((r.c[i >> 6] >> (i & 63)) & 1) p ^= bits[n - i];
    right += p == bits[n];
  }
  return {r.length, right, bits.size() - train};
}

constexpr std::size_t train_bits = 40960;  // > 2 x 19968, the size of MT19937-64's state
constexpr std::size_t test_bits = 128;

/// The lowest bit of characters 0 and 10 of each id: with the old encodings these are the lowest
/// bits of two consecutive 64-bit generator outputs.
std::vector<int> bits_of_ids(const std::function<std::string()>& next_id) {
  std::vector<int> bits;
  bits.reserve(train_bits + test_bits);
  while (bits.size() < train_bits + test_bits) {
    std::string id = next_id();
    REQUIRE(id.size() == 20);
    bits.push_back(index_of(id[0]) & 1);
    bits.push_back(index_of(id[10]) & 1);
  }
  return bits;
}

/// The old Engine.IO generate_sid(): 60 of the 64 bits of two std::mt19937_64 outputs.
std::string old_engineio_sid(std::mt19937_64& rng) {
  std::string s(20, ' ');
  std::uint64_t a = rng(), b = rng();
  for (int i = 0; i < 10; ++i) { s[i] = alphabet[a & 63]; a >>= 6; }
  for (int i = 10; i < 20; ++i) { s[i] = alphabet[b & 63]; b >>= 6; }
  return s;
}

/// The old Socket.IO random_sid(): 6-bit chunks, a new std::mt19937_64 output every 10 chunks.
std::string old_socketio_sid(std::mt19937_64& rng) {
  std::string s(20, '\0');
  std::uint64_t bits = 0;
  int left = 0;
  for (auto& c : s) {
    if (left < 6) { bits = rng(); left = 64; }
    c = alphabet[bits & 63];
    bits >>= 6;
    left -= 6;
  }
  return s;
}

}  // namespace

TEST_CASE("control: the attack predicts ids made the old way from std::mt19937_64", "[ids]") {
  std::random_device rd;
  std::seed_seq seq{rd(), rd(), rd(), rd()};
  std::mt19937_64 rng(seq);
  SECTION("engineio generate_sid") {
    auto r = attack(bits_of_ids([&] { return old_engineio_sid(rng); }), train_bits);
    CHECK(r.complexity <= 19968);
    CHECK(r.predicted_right == r.predicted);  // every next bit predicted
  }
  SECTION("socketio random_sid") {
    auto r = attack(bits_of_ids([&] { return old_socketio_sid(rng); }), train_bits);
    CHECK(r.complexity <= 19968);
    CHECK(r.predicted_right == r.predicted);
  }
}

TEST_CASE("ids and bytes from random_id / random_bytes have no short linear recurrence", "[ids]") {
  SECTION("ids") {
    auto r = attack(bits_of_ids([] { return random_id(); }), train_bits);
    INFO("linear complexity " << r.complexity << ", predicted " << r.predicted_right << " of " << r.predicted);
    CHECK(r.complexity > train_bits / 2 - 64);  // a random sequence: N/2 +- a few
    CHECK(r.predicted_right < 100);            // guessing gets ~64 of 128
  }
  SECTION("raw bytes") {
    std::vector<int> bits;
    std::vector<unsigned char> bytes(train_bits + test_bits);
    random_bytes(bytes.data(), bytes.size());
    for (unsigned char x : bytes) bits.push_back(x & 1);
    auto r = attack(bits, train_bits);
    INFO("linear complexity " << r.complexity << ", predicted " << r.predicted_right << " of " << r.predicted);
    CHECK(r.complexity > train_bits / 2 - 64);
    CHECK(r.predicted_right < 100);
  }
}

TEST_CASE("random_id: 20 url-safe characters, no duplicates, roughly uniform", "[ids]") {
  constexpr int count = 100000;
  std::unordered_set<std::string> seen;
  seen.reserve(count);
  std::vector<long> freq(64, 0);
  for (int i = 0; i < count; ++i) {
    std::string id = random_id();
    REQUIRE(id.size() == 20);
    for (char c : id) {
      int k = index_of(c);
      REQUIRE(k >= 0);
      ++freq[std::size_t(k)];
    }
    seen.insert(std::move(id));
  }
  CHECK(seen.size() == std::size_t(count));
  const double expected = count * 20.0 / 64;  // 31250; one standard deviation is ~174
  for (int k = 0; k < 64; ++k) {
    INFO("character " << alphabet[k]);
    CHECK(freq[std::size_t(k)] > expected * 0.95);
    CHECK(freq[std::size_t(k)] < expected * 1.05);
  }
}

TEST_CASE("random_id: threads and forked children never share ids", "[ids]") {
  SECTION("threads") {
    std::vector<std::string> a, b;
    std::thread t1([&] { for (int i = 0; i < 1000; ++i) a.push_back(random_id()); });
    std::thread t2([&] { for (int i = 0; i < 1000; ++i) b.push_back(random_id()); });
    t1.join();
    t2.join();
    std::unordered_set<std::string> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    CHECK(all.size() == 2000);
  }
  SECTION("fork") {
    (void)random_id();  // the parent's buffer now holds unused bytes the child inherits
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      std::string id = random_id();
      ssize_t w = ::write(fds[1], id.data(), id.size());
      ::_exit(w == 20 ? 0 : 1);
    }
    ::close(fds[1]);
    std::string from_child(20, '\0');
    std::size_t got = 0;
    while (got < 20) {
      ssize_t r = ::read(fds[0], &from_child[got], 20 - got);
      if (r <= 0) break;
      got += std::size_t(r);
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(got == 20);
    CHECK(from_child != random_id());
  }
}
