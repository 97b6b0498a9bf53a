// The requests a portico member issues to a mixed cluster, checked against a Node socket.io
// member (classic or sharded, the protocol does not show here): all_rooms, in(room).sockets_join /
// sockets_leave, in(room).disconnect_sockets(false) (leave the namespace, keep the connection),
// and Node's socketsLeave / disconnectSockets(false) applied on portico. Used by
// redis_cluster.test.js and redis_sharded.test.js with their running member and Node server.
'use strict';

const assert = require('node:assert');
const { Manager } = require('socket.io-client');
const { sleep, client, ack, until } = require('./redis_support');

/// "/" and "/other" over one Engine.IO connection, both connected.
async function twoNamespaces(port) {
  const m = new Manager(`http://127.0.0.1:${port}`, { reconnection: false, timeout: 5000, transports: ['websocket'] });
  const main = m.socket('/');
  const other = m.socket('/other');
  await Promise.all([main, other].map((s) => new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  })));
  return { m, main, other };
}

/// Resolves with the disconnect reason, or null after 5 s.
function disconnected(s) {
  return Promise.race([new Promise((resolve) => s.once('disconnect', resolve)), sleep(5000).then(() => null)]);
}

async function checkRequests({ nodeIo, memberPort, nodePort }) {
  nodeIo.of('/other');  // the second namespace, as the portico member has it
  const p = await client(memberPort);
  const n = await client(nodePort);
  const opened = [p, n];
  try {
    assert.strictEqual(await ack(p, 'join', 'req-p'), true);
    assert.strictEqual(await ack(n, 'join', 'req-n'), true);
    assert.strictEqual(await ack(p, 'join', 'both'), true);
    assert.strictEqual(await ack(n, 'join', 'both'), true);

    // all_rooms: portico asks (ALL_ROOMS, or FETCH_SOCKETS in sharded mode); Node's rooms and
    // socket ids are in the answer, with portico's own.
    const [complete, rooms] = await new Promise((resolve, reject) => {
      p.timeout(8000).emit('all_rooms', (err, c, list) => (err ? reject(err) : resolve([c, list])));
    });
    assert.strictEqual(complete, true);
    for (const r of ['req-p', 'req-n', 'both', p.id, n.id]) assert.ok(rooms.includes(r), `all_rooms has ${r}: ${rooms}`);
    assert.deepStrictEqual([...rooms].sort(), rooms, 'sorted');

    // in(room).sockets_join([r]) from portico: its own socket at once, Node's when the request arrives.
    assert.strictEqual(await ack(p, 'room_join', 'both', 'joined'), true);
    assert.ok((await ack(p, 'my_rooms')).includes('joined'), 'applied on portico when issued');
    const nodeRoom = (r) => nodeIo.of('/').adapter.rooms.get(r);
    assert.ok(await until(() => nodeRoom('joined') && nodeRoom('joined').has(n.id), 5000), 'Node socket joined');
    // ... and sockets_leave([r]).
    assert.strictEqual(await ack(p, 'room_leave', 'both', 'joined'), true);
    assert.ok(!(await ack(p, 'my_rooms')).includes('joined'), 'left on portico');
    assert.ok(await until(() => !nodeRoom('joined'), 5000), 'Node socket left');
    // Only the room's sockets: the Node socket outside 'req-p' was not moved.
    assert.strictEqual(await ack(p, 'room_join', 'req-p', 'only-p'), true);
    await sleep(300);
    assert.strictEqual(nodeRoom('only-p'), undefined);

    // Node's socketsLeave (REMOTE_LEAVE / SOCKETS_LEAVE) applied on portico.
    nodeIo.in(p.id).socketsLeave('req-p');
    assert.ok(await until(async () => !(await ack(p, 'my_rooms')).includes('req-p'), 5000), 'socketsLeave applied on portico');

    // disconnect_sockets(false) from portico: the room's sockets leave "/" on both servers
    // ("io server disconnect"); their connections and "/other" stay.
    const pc = await twoNamespaces(memberPort);
    const nc = await twoNamespaces(nodePort);
    opened.push(pc.main, pc.other, nc.main, nc.other);
    assert.strictEqual(await ack(pc.main, 'join', 'soft'), true);
    assert.strictEqual(await ack(nc.main, 'join', 'soft'), true);
    const reasons = [disconnected(pc.main), disconnected(nc.main)];
    assert.strictEqual(await ack(p, 'kick', 'soft', false), true);
    assert.deepStrictEqual(await Promise.all(reasons), ['io server disconnect', 'io server disconnect']);
    await sleep(300);
    assert.ok(pc.other.connected && nc.other.connected, '"/other" still connected');
    assert.ok(p.connected && n.connected, 'sockets outside the room stay');
    // Node's disconnectSockets(false) (close: false) applied on portico the same way.
    const pc2 = await twoNamespaces(memberPort);
    opened.push(pc2.main, pc2.other);
    assert.strictEqual(await ack(pc2.main, 'join', 'soft2'), true);
    const softId = pc2.main.id;
    const reason = disconnected(pc2.main);
    nodeIo.in('soft2').disconnectSockets(false);
    assert.strictEqual(await reason, 'io server disconnect');
    await sleep(300);
    assert.ok(pc2.other.connected, 'portico kept the connection and "/other"');
    // ... and it left portico's namespace: fetched sockets no longer list it.
    const fetched = await nodeIo.fetchSockets();
    assert.ok(!fetched.some((s) => s.id === softId) && fetched.some((s) => s.id === p.id));
  } finally {
    for (const s of opened) s.disconnect();
  }
}

module.exports = { checkRequests };
