#pragma once
/// Unpredictable bytes and ids for everything a client can present back as a credential
/// (Engine.IO sids, Socket.IO socket ids). The kernel's generator (getrandom(2), else
/// /dev/urandom) is a CSPRNG; bytes are read in blocks into a per-thread buffer so an id costs
/// no syscall. There is deliberately no fallback to a non-cryptographic generator: if the
/// kernel gives nothing, random_bytes throws.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

namespace portico::detail {

namespace random_impl {

/// Fills [p, p+n) from /dev/urandom (kernels without getrandom, non-Linux systems).
inline void urandom_fill(unsigned char* p, std::size_t n) {
  int fd;
  do fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "portico: cannot open /dev/urandom");
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "portico: cannot read /dev/urandom");
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  ::close(fd);
}

/// Fills [p, p+n) from the kernel CSPRNG; throws std::system_error when it cannot.
inline void os_fill(unsigned char* p, std::size_t n) {
#if defined(__linux__) && defined(SYS_getrandom)
  while (n > 0) {
    long r = ::syscall(SYS_getrandom, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSYS) return urandom_fill(p, n);  // kernel older than 3.17
      throw std::system_error(errno, std::generic_category(), "portico: getrandom failed");
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
#else
  urandom_fill(p, n);
#endif
}

/// Per-thread block of kernel randomness. `pid` makes a forked child discard what it inherited,
/// so parent and child never hand out the same bytes.
struct pool {
  static constexpr std::size_t size = 512;
  unsigned char buf[size];
  std::size_t used = size;  // empty
  pid_t pid = 0;
};

}  // namespace random_impl

/// n bytes from the kernel CSPRNG (through the per-thread buffer).
inline void random_bytes(void* out, std::size_t n) {
  thread_local random_impl::pool pl;
  auto* dst = static_cast<unsigned char*>(out);
  pid_t now = ::getpid();
  if (pl.pid != now) {
    pl.used = random_impl::pool::size;
    pl.pid = now;
  }
  while (n > 0) {
    if (pl.used == random_impl::pool::size) {
      random_impl::os_fill(pl.buf, random_impl::pool::size);
      pl.used = 0;
    }
    std::size_t k = random_impl::pool::size - pl.used;
    if (k > n) k = n;
    std::memcpy(dst, pl.buf + pl.used, k);
    std::memset(pl.buf + pl.used, 0, k);  // handed-out bytes do not linger in the buffer
    pl.used += k;
    dst += k;
    n -= k;
  }
}

/// A session / socket id: 15 random bytes (120 bits) as 20 base64url characters, the shape of
/// the reference server's base64id.
inline std::string random_id() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char b[15];
  random_bytes(b, sizeof b);
  std::string s(20, '\0');
  for (int i = 0, o = 0; i < 15; i += 3, o += 4) {
    std::uint32_t v = (std::uint32_t(b[i]) << 16) | (std::uint32_t(b[i + 1]) << 8) | b[i + 2];
    s[o] = alphabet[(v >> 18) & 63];
    s[o + 1] = alphabet[(v >> 12) & 63];
    s[o + 2] = alphabet[(v >> 6) & 63];
    s[o + 3] = alphabet[v & 63];
  }
  return s;
}

}  // namespace portico::detail
