// The admin UI across a Redis cluster: two portico members (PORTICO_REDIS_MEMBER,
// tests/redis/cluster_member.cpp with --admin) on one private redis-server (REDIS_SERVER), an
// admin client (npm socket.io-client 4.8 speaking @socket.io/admin-ui's protocol, as the UI
// does) connected to member A only, and clients on member B. As Node's admin-ui with an
// adapter: both members' server_stats reach the admin, all_sockets lists B's sockets, B's live
// reports reach it, and its actions (join, leave, disconnect) reach B's sockets.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { io: connect } = require('socket.io-client');

const { freePort, startRedis, stop, startListening, client, ack, until } = require('./redis_support');

function startMember(redisPort, id) {
  return startListening(process.env.PORTICO_REDIS_MEMBER,
    ['--redis', String(redisPort), '--port', '0', '--max-seconds', '90', '--admin', id]);
}

/// Resolves with the arguments of the first `event` of `s` that satisfy `pred` (bounded).
function next(s, event, pred = () => true, ms = 8000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { s.off(event, h); reject(new Error(`timed out waiting for ${event}`)); }, ms);
    function h(...args) {
      if (!pred(...args)) return;
      clearTimeout(timer);
      s.off(event, h);
      resolve(args);
    }
    s.on(event, h);
  });
}

test('an admin connected to one member sees and acts on the sockets of another', { timeout: 90000 }, async () => {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const members = [];
  const sockets = [];
  try {
    members.push(await startMember(redisPort, 'member-a'));
    members.push(await startMember(redisPort, 'member-b'));
    const [a, b] = members;
    const onB = await client(b.port);
    sockets.push(onB);
    assert.ok(await until(async () => (await ack(onB, 'server_count')) === 2), 'B sees 2 servers');
    assert.strictEqual(await ack(onB, 'join', 'lobby'), true);

    // The admin on A (no auth): config, then all_sockets with B's socket and its rooms.
    const admin = connect(`http://127.0.0.1:${a.port}/admin`, { forceNew: true, reconnection: false, timeout: 5000 });
    sockets.push(admin);
    const stats = new Map();
    admin.on('server_stats', (s) => stats.set(s.serverId, s));
    const all = next(admin, 'all_sockets');
    const [config] = await next(admin, 'config');
    assert.ok(config.supportedFeatures.includes('MJOIN'), JSON.stringify(config));
    const [list] = await all;
    const mine = list.find((s) => s.id === onB.id);
    assert.ok(mine, `B's socket is listed: ${JSON.stringify(list.map((s) => s.id))}`);
    assert.strictEqual(mine.nsp, '/');
    assert.deepStrictEqual([...mine.rooms].sort(), ['lobby', onB.id].sort());
    assert.strictEqual(mine.handshake.address, '127.0.0.1');
    assert.ok(list.some((s) => s.nsp === '/admin' && s.id === admin.id), 'the admin itself is listed, as by Node');

    // Both members' statistics reach the admin (each member emits to /admin cluster-wide).
    assert.ok(await until(() => stats.has('member-a') && stats.has('member-b')), `servers: ${[...stats.keys()]}`);
    assert.ok(stats.get('member-b').namespaces.some((n) => n.name === '/' && n.socketsCount >= 1),
      JSON.stringify(stats.get('member-b')));

    // B's live reports: a new socket on B, an event it receives.
    const connected = next(admin, 'socket_connected', (s) => s.nsp === '/');
    const other = await client(b.port);
    sockets.push(other);
    assert.strictEqual((await connected)[0].id, other.id);
    const received = next(admin, 'event_received', (nsp, id) => id === other.id);
    await ack(other, 'my_rooms');
    assert.deepStrictEqual((await received)[2], ['my_rooms']);

    // join / leave of one socket of B (the UI's socket page: filter = its id).
    let joined = next(admin, 'room_joined', (nsp, room, id) => room === 'vip' && id === onB.id);
    admin.emit('join', '/', 'vip', onB.id);
    assert.deepStrictEqual((await joined).slice(0, 3), ['/', 'vip', onB.id]);
    assert.deepStrictEqual(await ack(onB, 'my_rooms'), ['lobby', onB.id, 'vip'].sort());
    assert.deepStrictEqual(await ack(other, 'my_rooms'), [other.id]);
    // every socket of a room (MJOIN), then a leave
    joined = next(admin, 'room_joined', (nsp, room, id) => room === 'all-hands' && id === onB.id);
    admin.emit('join', '/', 'all-hands', 'lobby');
    await joined;
    assert.ok((await ack(onB, 'my_rooms')).includes('all-hands'));
    assert.ok(!(await ack(other, 'my_rooms')).includes('all-hands'));
    const left = next(admin, 'room_left', (nsp, room, id) => room === 'vip' && id === onB.id);
    admin.emit('leave', '/', 'vip', onB.id);
    await left;
    assert.ok(!(await ack(onB, 'my_rooms')).includes('vip'));

    // _disconnect of B's socket from A: the client sees the server's disconnect, the admin the report.
    const sid = onB.id;
    const gone = next(admin, 'socket_disconnected', (nsp, id) => id === sid);
    const dropped = next(onB, 'disconnect');
    admin.emit('_disconnect', '/', false, sid);
    assert.strictEqual((await dropped)[0], 'io server disconnect');
    assert.strictEqual((await gone)[2], 'server namespace disconnect');
    assert.strictEqual(other.connected, true);
    // close = true ends the whole connection of the other one
    const closed = next(other, 'disconnect');
    admin.emit('_disconnect', '/', true, other.id);
    assert.strictEqual((await closed)[0], 'transport close');
  } finally {
    sockets.forEach((s) => s.disconnect());
    for (const m of members) await stop(m.child);
    await stop(redis);
  }
});
