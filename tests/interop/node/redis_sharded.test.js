// Mixed sharded cluster: a Node socket.io 4.8 server with @socket.io/redis-adapter 8.3
// `createShardedAdapter` ("dynamic" subscriptions, SPUBLISH/SSUBSCRIBE) and a portico server
// (PORTICO_REDIS_MEMBER --sharded, tests/redis/cluster_member.cpp) on one private redis-server
// (REDIS_SERVER, free loopback port, no persistence, stopped by pid). Bounded in time.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const http = require('http');
const { Server } = require('socket.io');
const { createShardedAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const { freePort, startRedis, stop, sleep, startListening, client, ack, record, until } = require('./redis_support');
const { checkRequests } = require('./redis_requests');

function startMember(redisPort) {
  return startListening(process.env.PORTICO_REDIS_MEMBER,
    ['--redis', String(redisPort), '--port', '0', '--max-seconds', '90', '--sharded']);
}

test('portico and Node socket.io share broadcasts through createShardedAdapter', { timeout: 90000 }, async () => {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  let member, httpServer, nodeIo, pub, sub;
  const sockets = [];
  try {
    pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
    sub = pub.duplicate();
    pub.on('error', () => {});
    sub.on('error', () => {});
    await Promise.all([pub.connect(), sub.connect()]);
    httpServer = http.createServer();
    nodeIo = new Server(httpServer, { adapter: createShardedAdapter(pub, sub) });
    nodeIo.on('connection', (s) => {
      s.on('join', (room, cb) => { s.join(room); cb(true); });
      s.on('to_room', (room, ev, arg, cb) => { nodeIo.to(room).emit(ev, arg); cb(true); });
    });
    await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
    const nodePort = httpServer.address().port;
    member = await startMember(redisPort);

    // Both sides count 2 servers (PUBSUB SHARDNUMSUB of the main channel).
    const onPortico = await client(member.port);
    const onNode = await client(nodePort);
    const outsider = await client(member.port);  // in no room
    sockets.push(onPortico, onNode, outsider);
    assert.strictEqual(onPortico.id.length, 20, 'portico ids are 20 chars (Node\'s dynamic mode relies on it)');
    assert.ok(await until(async () => (await nodeIo.of('/').adapter.serverCount()) === 2), 'Node sees 2 servers');
    assert.ok(await until(async () => (await ack(onPortico, 'server_count')) === 2), 'portico sees 2 servers');

    // Joined after start: the portico member subscribes the room's shard channel.
    await ack(onPortico, 'join', 'mixed');
    await ack(onNode, 'join', 'mixed');
    assert.ok(await until(async () => {
      const r = await pub.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'socket.io#/#mixed#']);
      return Number(r[1]) === 2;
    }), 'both servers subscribed socket.io#/#mixed#');
    const gotP = record(onPortico, 'hello');
    const gotN = record(onNode, 'hello');
    const gotO = record(outsider, 'hello');

    // A room broadcast from each side: each room member gets each exactly once, the outsider nothing.
    await ack(onPortico, 'to_room', 'mixed', 'hello', 'from-portico');
    await ack(onNode, 'to_room', 'mixed', 'hello', 'from-node');
    assert.ok(await until(() => gotP.length >= 2 && gotN.length >= 2, 5000), `p=${JSON.stringify(gotP)} n=${JSON.stringify(gotN)}`);

    // The whole namespace from Node except the room: only the outsider.
    const gotAllP = record(onPortico, 'all');
    const gotAllO = record(outsider, 'all');
    nodeIo.except('mixed').emit('all', 'not-mixed');
    assert.ok(await until(() => gotAllO.length >= 1, 5000), 'outsider got the except broadcast');

    // Binary both ways (msgpack on the wire).
    const bin = new Promise((resolve) => onPortico.once('blob', resolve));
    nodeIo.to('mixed').emit('blob', Buffer.from([1, 2, 0, 255]));
    const b = await Promise.race([bin, sleep(5000).then(() => null)]);
    assert.ok(b && Buffer.from(b).equals(Buffer.from([1, 2, 0, 255])), 'binary crossed from Node');
    const binN = new Promise((resolve) => onNode.once('blob2', resolve));
    await ack(onPortico, 'to_room', 'mixed', 'blob2', Buffer.from([9, 0, 8]));
    const b2 = await Promise.race([binN, sleep(5000).then(() => null)]);
    assert.ok(b2 && Buffer.from(b2).equals(Buffer.from([9, 0, 8])), 'binary crossed from portico');

    await sleep(300);
    assert.deepStrictEqual(gotP.map((a) => a[0]).sort(), ['from-node', 'from-portico']);
    assert.deepStrictEqual(gotN.map((a) => a[0]).sort(), ['from-node', 'from-portico']);
    assert.deepStrictEqual(gotO, []);
    assert.deepStrictEqual(gotAllP, []);
    assert.deepStrictEqual(gotAllO.map((a) => a[0]), ['not-mixed']);

    // Broadcasts with ack both ways (BROADCAST with requestId; BROADCAST_CLIENT_COUNT and
    // BROADCAST_ACK on the requester's response channel).
    onPortico.on('q', (arg, cb) => cb(`portico-${arg}`));
    onNode.on('q', (arg, cb) => cb(`node-${arg}`));
    const fromNode = await nodeIo.timeout(3000).to('mixed').emitWithAck('q', 'n1');
    assert.deepStrictEqual(fromNode.sort(), ['node-n1', 'portico-n1']);
    const [status, answers] = await new Promise((resolve, reject) => {
      onPortico.timeout(8000).emit('ask_room', 'mixed', 'a1', (err, st, list) => (err ? reject(err) : resolve([st, list])));
    });
    assert.strictEqual(status, 'ok');
    assert.deepStrictEqual(answers.sort(), ['node-a1', 'portico-a1']);

    // Server-side events both ways (SERVER_SIDE_EMIT, SERVER_SIDE_EMIT_RESPONSE on the requester's
    // response channel).
    assert.deepStrictEqual(await nodeIo.serverSideEmitWithAck('hello', 's1'), ['portico:s1']);
    nodeIo.serverSideEmit('note', 'from-node');
    assert.ok(await until(async () => (await ack(onPortico, 'last_note')) === 'from-node', 5000), 'note reached portico');
    const notes = [];
    nodeIo.on('note', (arg) => notes.push(arg));
    nodeIo.on('ping-node', (arg, cb) => cb(`node:${arg}`));
    await ack(onPortico, 'tell_servers', 'from-portico');
    assert.ok(await until(() => notes.length === 1, 5000), 'note reached Node');
    assert.deepStrictEqual(notes, ['from-portico']);
    const [complete, pongs] = await new Promise((resolve, reject) => {
      onPortico.timeout(8000).emit('ask_servers', 'p1', (err, c, list) => (err ? reject(err) : resolve([c, list])));
    });
    assert.strictEqual(complete, true);
    assert.deepStrictEqual(pongs, ['node:p1']);

    // Node's fetchSockets (FETCH_SOCKETS) includes the portico room member; portico's
    // fetch_sockets includes the Node socket.
    const fetched = await nodeIo.in('mixed').fetchSockets();
    assert.deepStrictEqual(fetched.map((s) => s.id).sort(), [onNode.id, onPortico.id].sort());
    const [fetchedAll, ids] = await new Promise((resolve, reject) => {
      onPortico.timeout(8000).emit('fetch_all', (err, c, list) => (err ? reject(err) : resolve([c, list])));
    });
    assert.strictEqual(fetchedAll, true);
    assert.deepStrictEqual(ids.sort(), [onPortico.id, outsider.id, onNode.id].sort());

    // socketsJoin from Node (SOCKETS_JOIN) moves portico's outsider into a room, whose channel
    // the portico member then subscribes.
    nodeIo.in(outsider.id).socketsJoin('late');
    assert.ok(await until(async () => {
      const r = await pub.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'socket.io#/#late#']);
      return Number(r[1]) === 1;
    }), 'portico subscribed socket.io#/#late#');
    const late = new Promise((resolve) => outsider.once('late-ev', resolve));
    nodeIo.to('late').emit('late-ev', 1);
    assert.strictEqual(await Promise.race([late, sleep(5000).then(() => null)]), 1);

    // Requests portico issues (all_rooms, sockets_join/leave, disconnect_sockets(false)) and
    // Node's socketsLeave / disconnectSockets(false) applied on portico: redis_requests.js.
    await checkRequests({ nodeIo, memberPort: member.port, nodePort });

    // disconnectSockets(true) from Node (DISCONNECT_SOCKETS) closes portico's outsider.
    const gone = new Promise((resolve) => outsider.once('disconnect', resolve));
    nodeIo.in(outsider.id).disconnectSockets(true);
    assert.ok(await Promise.race([gone.then(() => true), sleep(5000).then(() => false)]), 'DISCONNECT_SOCKETS applied on portico');
  } finally {
    for (const s of sockets) s.disconnect();
    if (nodeIo) nodeIo.close();
    if (pub) await pub.quit().catch(() => {});
    if (sub) await sub.quit().catch(() => {});
    if (member) await stop(member.child);
    await stop(redis);
  }
});
