// Mixed cluster: a Node socket.io 4.8 server with @socket.io/redis-adapter 8.3 (classic) and a
// portico server (PORTICO_REDIS_MEMBER, tests/redis/cluster_member.cpp) on one private
// redis-server (REDIS_SERVER, free loopback port, no persistence, stopped by pid).
// socket.io-client clients on both sides. Bounded in time; everything stops by itself.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { io: connect } = require('socket.io-client');

const { freePort, startRedis, stop, sleep, startListening, client, ack, record, until } = require('./redis_support');
const { checkRequests } = require('./redis_requests');

function startMember(redisPort) {
  return startListening(process.env.PORTICO_REDIS_MEMBER,
    ['--redis', String(redisPort), '--port', '0', '--max-seconds', '90']);
}

test('portico and Node socket.io share broadcasts and rooms through @socket.io/redis-adapter', { timeout: 90000 }, async () => {
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
    nodeIo = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout: 3000 }) });
    nodeIo.on('connection', (s) => {
      s.on('join', (room, cb) => { s.join(room); cb(true); });
      s.on('to_room', (room, ev, arg, cb) => { nodeIo.to(room).emit(ev, arg); cb(true); });
    });
    await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
    const nodePort = httpServer.address().port;
    member = await startMember(redisPort);

    // Both sides count 2 servers (PUBSUB NUMSUB of the request channel).
    const onPortico = await client(member.port);
    const onNode = await client(nodePort);
    const outsider = await client(member.port);  // in no room
    sockets.push(onPortico, onNode, outsider);
    assert.ok(await until(async () => (await nodeIo.of('/').adapter.serverCount()) === 2), 'Node sees 2 servers');
    assert.ok(await until(async () => (await ack(onPortico, 'server_count')) === 2), 'portico sees 2 servers');

    await ack(onPortico, 'join', 'mixed');
    await ack(onNode, 'join', 'mixed');
    const gotP = record(onPortico, 'hello');
    const gotN = record(onNode, 'hello');
    const gotO = record(outsider, 'hello');

    // A room broadcast from the portico side, then from the Node side: each member of the
    // room gets each exactly once, the outsider nothing.
    await ack(onPortico, 'to_room', 'mixed', 'hello', 'from-portico');
    await ack(onNode, 'to_room', 'mixed', 'hello', 'from-node');
    assert.ok(await until(() => gotP.length >= 2 && gotN.length >= 2, 5000), `p=${JSON.stringify(gotP)} n=${JSON.stringify(gotN)}`);
    await sleep(300);
    assert.deepStrictEqual(gotP.map((a) => a[0]).sort(), ['from-node', 'from-portico']);
    assert.deepStrictEqual(gotN.map((a) => a[0]).sort(), ['from-node', 'from-portico']);
    assert.deepStrictEqual(gotO, []);

    // Binary from Node reaches the portico client.
    const bin = new Promise((resolve) => onPortico.once('blob', resolve));
    nodeIo.to('mixed').emit('blob', Buffer.from([1, 2, 0, 255]));
    const b = await Promise.race([bin, sleep(5000).then(() => null)]);
    assert.ok(b && Buffer.from(b).equals(Buffer.from([1, 2, 0, 255])), 'binary crossed');

    // @socket.io/redis-emitter (uid "emitter", opts keys in its own order) reaches portico too.
    const em = new Promise((resolve) => onPortico.once('from-emitter', resolve));
    new Emitter(pub).to('mixed').emit('from-emitter', 'e1');
    assert.strictEqual(await Promise.race([em, sleep(5000).then(() => null)]), 'e1');

    // Node asks every member for its rooms (ALL_ROOMS) and sockets (REMOTE_FETCH): portico answers,
    // so neither times out, and portico's room and socket are in the answers.
    const rooms = await nodeIo.of('/').adapter.allRooms();
    assert.ok(rooms.has('mixed') && rooms.has(onPortico.id), 'allRooms includes portico rooms');
    const fetched = await nodeIo.in('mixed').fetchSockets();
    assert.deepStrictEqual(fetched.map((s) => s.id).sort(), [onNode.id, onPortico.id].sort());

    // A portico socket's handshake (query, auth, address...) and session (socket.data) reach
    // Node's fetchSockets as Node writes its own.
    const withAuth = connect(`http://127.0.0.1:${member.port}`, {
      forceNew: true, reconnection: false, timeout: 5000, transports: ['websocket'],
      query: { who: 'pat' }, auth: { token: 'tp' },
    });
    await new Promise((resolve, reject) => { withAuth.once('connect', resolve); withAuth.once('connect_error', reject); });
    sockets.push(withAuth);
    await ack(withAuth, 'set_data', { user: 'pat', n: 7 });
    const [remote] = await nodeIo.in(withAuth.id).fetchSockets();
    assert.ok(remote, 'portico socket fetched');
    assert.strictEqual(remote.handshake.query.who, 'pat');
    assert.deepStrictEqual(remote.handshake.auth, { token: 'tp' });
    assert.strictEqual(remote.handshake.address, '127.0.0.1');
    assert.strictEqual(typeof remote.handshake.issued, 'number');
    assert.strictEqual(typeof remote.handshake.headers.host, 'string');
    assert.deepStrictEqual(remote.data, { user: 'pat', n: 7 });
    assert.deepStrictEqual([...remote.rooms], [withAuth.id]);

    // portico's fetch_sockets (REMOTE_FETCH issued): its own 3 sockets and Node's one.
    const [fetchedAll, ids] = await new Promise((resolve, reject) => {
      onPortico.timeout(8000).emit('fetch_all', (err, c, list) => (err ? reject(err) : resolve([c, list])));
    });
    assert.strictEqual(fetchedAll, true);
    assert.deepStrictEqual(ids.sort(), [onPortico.id, outsider.id, withAuth.id, onNode.id].sort());
    withAuth.close();

    // socketsJoin from Node (REMOTE_JOIN) moves portico's outsider into a room.
    nodeIo.in(outsider.id).socketsJoin('late');
    await sleep(500);
    const gotLate = record(outsider, 'late-ev');
    nodeIo.to('late').emit('late-ev', 1);
    assert.ok(await until(() => gotLate.length === 1, 5000), 'REMOTE_JOIN applied on portico');

    // Server-side events. Node's serverSideEmitWithAck (SERVER_SIDE_EMIT with requestId): the
    // portico listener's answer reaches Node, so it completes instead of timing out.
    assert.deepStrictEqual(await nodeIo.serverSideEmitWithAck('hello', 's1'), ['portico:s1']);
    // Node's serverSideEmit without ack reaches portico's "note" listener.
    nodeIo.serverSideEmit('note', 'from-node');
    assert.ok(await until(async () => (await ack(onPortico, 'last_note')) === 'from-node', 5000), 'note reached portico');
    // portico's server_side_emit reaches Node's io.on listener; with ack, Node's answer comes back.
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

    // A broadcast with ack from portico (BROADCAST request): Node reports its client count and
    // forwards its client's answer; portico's own client answers locally.
    onPortico.on('q', (arg, cb) => cb(`portico-${arg}`));
    onNode.on('q', (arg, cb) => cb(`node-${arg}`));
    // A broadcast with ack from Node (BROADCAST request): portico sends it to its client with a
    // local ack id and answers BROADCAST_CLIENT_COUNT and BROADCAST_ACK.
    const fromNode = await nodeIo.timeout(3000).to('mixed').emitWithAck('q', 'n1');
    assert.deepStrictEqual(fromNode.sort(), ['node-n1', 'portico-n1']);
    assert.deepStrictEqual(await nodeIo.timeout(3000).to('nobody').emitWithAck('q', 'n2'), []);

    const [status, answers] = await new Promise((resolve, reject) => {
      onPortico.timeout(8000).emit('ask_room', 'mixed', 'a1', (err, st, list) => (err ? reject(err) : resolve([st, list])));
    });
    assert.strictEqual(status, 'ok');
    assert.deepStrictEqual(answers.sort(), ['node-a1', 'portico-a1']);

    // Requests portico issues (all_rooms, sockets_join/leave, disconnect_sockets(false)) and
    // Node's socketsLeave / disconnectSockets(false) applied on portico: redis_requests.js.
    await checkRequests({ nodeIo, memberPort: member.port, nodePort });

    // disconnectSockets(true) from Node (REMOTE_DISCONNECT) closes portico's outsider.
    const gone = new Promise((resolve) => outsider.once('disconnect', resolve));
    nodeIo.in(outsider.id).disconnectSockets(true);
    assert.ok(await Promise.race([gone.then(() => true), sleep(5000).then(() => false)]), 'REMOTE_DISCONNECT applied on portico');

    // portico's in(room).disconnect_sockets(true) (REMOTE_DISCONNECT issued, close: true) closes
    // a Node server's client in the room; portico's own client outside it stays.
    await ack(onNode, 'join', 'kickme');
    const nodeGone = new Promise((resolve) => onNode.once('disconnect', resolve));
    assert.strictEqual(await ack(onPortico, 'kick', 'kickme'), true);
    assert.ok(await Promise.race([nodeGone.then(() => true), sleep(5000).then(() => false)]), 'REMOTE_DISCONNECT applied on Node');
    assert.ok(onPortico.connected);

    // Redis stopped and restarted on the same port: broadcasts cross again afterwards.
    await stop(redis);
    await sleep(500);
    const redis2 = await startRedis(redisPort);
    try {
      assert.ok(await until(async () => {
        try { return (await ack(onPortico, 'server_count')) === 2; } catch (e) { return false; }
      }, 20000), 'portico sees 2 servers after the restart');
      const gotAfter = record(onPortico, 'after');
      assert.ok(await until(async () => {
        nodeIo.to('mixed').emit('after', 1);
        await sleep(200);
        return gotAfter.length > 0;
      }, 20000), 'Node broadcast reaches portico after the restart');
    } finally {
      for (const s of sockets) s.close();
      sockets.length = 0;
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub = sub = null;
      await stop(redis2);
    }
  } finally {
    for (const s of sockets) s.close();
    if (nodeIo) nodeIo.close();
    if (pub) await Promise.allSettled([pub.quit(), sub.quit()]);  // quit: pending commands finish
    if (member) await stop(member.child);
    await stop(redis);
  }
});
