#pragma once
/// The lifetime of `portico::per_connection<...>` providers.
///
/// The server layer creates one connection_scope when a client connects and destroys it (or calls
/// close()) at disconnect; it passes the scope to every resolution made for that client. Instances
/// are created on first use within the scope and destroyed, in reverse creation order, when the
/// scope closes. A scope is tied to the container that first uses it (using it with another one
/// throws std::logic_error), and is not thread-safe: use it from the connection's own thread (its
/// home worker).

#include <cstddef>

#include "instance_table.hpp"

namespace portico {

class connection_scope {
 public:
  connection_scope() = default;
  connection_scope(const connection_scope&) = delete;
  connection_scope& operator=(const connection_scope&) = delete;
  ~connection_scope() { close(); }

  /// Destroys every per-connection instance of this connection (idempotent).
  void close() noexcept { table_.clear(); }

  /// Number of per-connection instances currently alive in this scope.
  std::size_t size() const noexcept { return table_.live(); }

 private:
  template <class Root, class... Overrides>
  friend class container;
  framework::detail::instance_table table_;
  const void* owner_ = nullptr;  // the container whose slot numbers fill table_
};

}  // namespace portico
