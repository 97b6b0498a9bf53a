#pragma once
/// `portico::redis::use_cluster`: makes every Socket.IO server of a `portico::app` a member of a
/// Redis-adapter cluster, classic (`cluster_options`) or sharded (`sharded_options`). Kept out of the framework headers so that an app that does not
/// include <portico/redis/...> does not need hiredis.

#include "../framework/app.hpp"
#include "adapter.hpp"
#include "sharded_adapter.hpp"

namespace portico::redis {

/// Sets `o.server.adapter_factory` to a classic adapter factory over `c`: one pair of Redis
/// connections shared by every namespace of the app's servers.
inline app_options& use_cluster(app_options& o, cluster_options c) {
  o.server.adapter_factory = classic_adapter_factory(std::move(c));
  return o;
}

/// The same in sharded mode (Node's `createShardedAdapter`, Redis 7): SPUBLISH/SSUBSCRIBE, room
/// channels as `c.mode` says.
inline app_options& use_cluster(app_options& o, sharded_options c) {
  o.server.adapter_factory = sharded_adapter_factory(std::move(c));
  return o;
}

}  // namespace portico::redis
