#pragma once
/// Redis channel names of @socket.io/redis-adapter 8.3 (classic and sharded) and
/// @socket.io/redis-emitter 5.1: pure string builders, no I/O.
///
/// Names are byte strings: `prefix` (the adapter's `key` / `channelPrefix`, default "socket.io"),
/// the namespace name and room names are copied verbatim (Node does no escaping either).

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace portico::redis {

/// The default `key` (classic) / `channelPrefix` (sharded) of the Node packages.
inline constexpr std::string_view default_prefix = "socket.io";

namespace detail {
inline std::string concat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (auto p : parts) n += p.size();
  std::string s;
  s.reserve(n);
  for (auto p : parts) s.append(p.data(), p.size());
  return s;
}
}  // namespace detail

/// Classic adapter (PUBLISH / SUBSCRIBE / PSUBSCRIBE) and emitter channels.
namespace classic_channels {
/// `socket.io#/#`: broadcasts to the whole namespace (or to several rooms).
inline std::string broadcast(std::string_view prefix, std::string_view nsp) {
  return detail::concat({prefix, "#", nsp, "#"});
}
/// `socket.io#/#room1#`: a broadcast to exactly one room is published here.
inline std::string room(std::string_view prefix, std::string_view nsp, std::string_view room) {
  return detail::concat({prefix, "#", nsp, "#", room, "#"});
}
/// `socket.io#/#*`: what a member PSUBSCRIBEs to receive both of the above.
inline std::string pattern(std::string_view prefix, std::string_view nsp) {
  return detail::concat({prefix, "#", nsp, "#*"});
}
/// `socket.io-request#/#`: requests; PUBSUB NUMSUB of it counts the servers.
inline std::string request(std::string_view prefix, std::string_view nsp) {
  return detail::concat({prefix, "-request#", nsp, "#"});
}
/// `socket.io-response#/#`: the common response channel.
inline std::string response(std::string_view prefix, std::string_view nsp) {
  return detail::concat({prefix, "-response#", nsp, "#"});
}
/// `socket.io-response#/#F1Fwbh#`: responses to requester `uid` from responders with
/// publishOnSpecificResponseChannel. Subscribe to it and to `response` both.
inline std::string specific_response(std::string_view prefix, std::string_view nsp, std::string_view uid) {
  return detail::concat({prefix, "-response#", nsp, "#", uid, "#"});
}
/// The channel a broadcast goes to: the room's iff exactly one room (except-rooms do not count).
template <class Rooms>
std::string for_broadcast(std::string_view prefix, std::string_view nsp, const Rooms& rooms) {
  if (rooms.size() == 1) return room(prefix, nsp, *rooms.begin());
  return broadcast(prefix, nsp);
}
/// For a message received on `channel` through `pattern(prefix, nsp)`: the room of a per-room
/// channel, "" for the main channel, nullopt for a channel of another namespace or prefix.
inline std::optional<std::string_view> room_of(std::string_view channel, std::string_view prefix,
                                               std::string_view nsp) {
  const std::size_t head = prefix.size() + nsp.size() + 2;
  if (channel.size() < head || channel.substr(0, prefix.size()) != prefix || channel[prefix.size()] != '#' ||
      channel.substr(prefix.size() + 1, nsp.size()) != nsp || channel[head - 1] != '#')
    return std::nullopt;
  if (channel.size() == head) return std::string_view{};
  if (channel.back() != '#') return std::nullopt;
  return channel.substr(head, channel.size() - head - 1);
}
}  // namespace classic_channels

/// Sharded adapter (SPUBLISH / SSUBSCRIBE) channels. Sharded and classic pub/sub are separate
/// spaces in Redis, so the same names do not collide with the classic ones.
namespace sharded_channels {
/// `socket.io#/#`: every message but responses and dynamic room broadcasts.
inline std::string main(std::string_view prefix, std::string_view nsp) {
  return detail::concat({prefix, "#", nsp, "#"});
}
/// `socket.io#/#<uid>#`: responses to the server with this uid (16 hex digits in Node).
inline std::string response(std::string_view prefix, std::string_view nsp, std::string_view uid) {
  return detail::concat({prefix, "#", nsp, "#", uid, "#"});
}
/// `socket.io#/#room1#`: plain broadcasts to one room in the "dynamic" subscription modes.
inline std::string room(std::string_view prefix, std::string_view nsp, std::string_view room) {
  return detail::concat({prefix, "#", nsp, "#", room, "#"});
}
}  // namespace sharded_channels

}  // namespace portico::redis
