// The portico external emitter (PORTICO_REDIS_EMIT_ONCE, tests/redis/emit_once.cpp: a process
// that runs no server) reaching socket.io-client clients of a Node socket.io 4.8 server with
// @socket.io/redis-adapter 8.3, on a private redis-server (REDIS_SERVER, free loopback port, no
// persistence, stopped by pid). Its messages are byte for byte those of @socket.io/redis-emitter.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const http = require('http');
const { execFile } = require('child_process');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { io: connect } = require('socket.io-client');

const { freePort, startRedis, stop, sleep, record, until } = require('./redis_support');

/// Runs the portico emitter once; resolves with its exit code and stderr.
function emitOnce(redisPort, args) {
  const exe = process.env.PORTICO_REDIS_EMIT_ONCE;
  if (!exe) throw new Error('PORTICO_REDIS_EMIT_ONCE is not set');
  return new Promise((resolve) => {
    execFile(exe, ['--redis', String(redisPort), ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? -1) : 0, stderr });
    });
  });
}

function client(port, nsp, room) {
  const s = connect(`http://127.0.0.1:${port}${nsp}`, { forceNew: true, reconnection: false, timeout: 5000,
    transports: ['websocket'], query: { room } });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}


test('the portico emitter reaches Node socket.io clients through @socket.io/redis-adapter', { timeout: 90000 }, async () => {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  let httpServer, nodeIo, pub, sub, spy;
  const sockets = [];
  try {
    pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
    sub = pub.duplicate();
    spy = pub.duplicate();
    for (const c of [pub, sub, spy]) c.on('error', () => {});
    await Promise.all([pub.connect(), sub.connect(), spy.connect()]);
    httpServer = http.createServer();
    nodeIo = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout: 3000 }) });
    const join = (s) => { if (s.handshake.query.room) s.join(s.handshake.query.room); };
    nodeIo.on('connection', join);
    nodeIo.of('/chat').on('connection', join);
    const sse = [];
    nodeIo.on('sse-ev', (...a) => sse.push(a));
    await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
    const port = httpServer.address().port;

    const a = await client(port, '/', 'r1');
    const b = await client(port, '/', 'r2');
    const c = await client(port, '/chat', '');
    sockets.push(a, b, c);
    await until(async () => (await pub.sendCommand(['PUBSUB', 'NUMSUB', 'socket.io-request#/#']))[1] >= 1);

    // Byte comparison: the same operations through the Node emitter and the portico one.
    const seen = [];
    await spy.pSubscribe('socket.io*', (msg, channel) => seen.push([String(channel), Buffer.from(msg).toString('hex')]), true);
    const node = new Emitter(pub);
    const ops = [
      [(e) => e.to('zz').emit('cmp', 'v'), ['--to', 'zz', 'emit', 'cmp', 'v']],
      [(e) => e.volatile.except('zz').emit('cmp', 'w'), ['--volatile', '--except', 'zz', 'emit', 'cmp', 'w']],
      [(e) => e.to('zz').emit('cmp', Buffer.from([0xde, 0xad])), ['--to', 'zz', 'emit-bin', 'cmp', 'dead']],
      [(e) => e.of('/chat').in('zz').socketsJoin('yy'), ['--nsp', '/chat', '--to', 'zz', 'join', 'yy']],
      [(e) => e.in('zz').disconnectSockets(true), ['--to', 'zz', 'disconnect', 'close']],
      [(e) => e.serverSideEmit('cmp', 'x'), ['sse', 'cmp', 'x']],
    ];
    for (const [nodeOp, args] of ops) {
      const before = seen.length;
      nodeOp(node);
      assert.ok(await until(() => seen.length === before + 1, 5000), 'Node emitter published');
      const r = await emitOnce(redisPort, args);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.ok(await until(() => seen.length === before + 2, 5000), 'portico emitter published');
      assert.deepStrictEqual(seen[before + 1], seen[before], `same bytes for ${args.join(' ')}`);
    }

    // A room emit reaches the room's client only; except leaves the room out.
    const gotA = record(a, 'hi');
    const gotB = record(b, 'hi');
    const gotC = record(c, 'hi');
    assert.strictEqual((await emitOnce(redisPort, ['--to', 'r1', 'emit', 'hi', 'to-r1'])).code, 0);
    assert.strictEqual((await emitOnce(redisPort, ['--except', 'r1', 'emit', 'hi', 'not-r1'])).code, 0);
    assert.strictEqual((await emitOnce(redisPort, ['--nsp', '/chat', 'emit', 'hi', 'chat'])).code, 0);
    assert.ok(await until(() => gotA.length >= 1 && gotB.length >= 1 && gotC.length >= 1, 5000));
    await sleep(300);
    assert.deepStrictEqual(gotA, [['to-r1']]);
    assert.deepStrictEqual(gotB, [['not-r1']]);
    assert.deepStrictEqual(gotC, [['chat']]);

    // Binary crosses.
    const bin = new Promise((resolve) => a.once('blob', resolve));
    assert.strictEqual((await emitOnce(redisPort, ['--to', 'r1', 'emit-bin', 'blob', '0102ff00'])).code, 0);
    const got = await Promise.race([bin, sleep(5000).then(() => null)]);
    assert.ok(got && Buffer.from(got).equals(Buffer.from([1, 2, 0xff, 0])), 'binary crossed');

    // sockets_join, then a room emit reaches the joined socket.
    const late = record(b, 'late');
    assert.strictEqual((await emitOnce(redisPort, ['--to', b.id, 'join', 'late-room'])).code, 0);
    assert.ok(await until(async () => nodeIo.of('/').adapter.rooms.get('late-room')?.has(b.id), 5000), 'joined');
    assert.strictEqual((await emitOnce(redisPort, ['--to', 'late-room', 'emit', 'late', 'j'])).code, 0);
    assert.ok(await until(() => late.length === 1, 5000), 'room emit after sockets_join');

    // server_side_emit reaches the server's listeners.
    assert.strictEqual((await emitOnce(redisPort, ['sse', 'sse-ev', 's1'])).code, 0);
    assert.ok(await until(() => sse.length === 1, 5000));
    assert.deepStrictEqual(sse[0], ['s1']);

    // disconnect_sockets(close) disconnects the room's client.
    const gone = new Promise((resolve) => a.once('disconnect', resolve));
    assert.strictEqual((await emitOnce(redisPort, ['--to', 'r1', 'disconnect', 'close'])).code, 0);
    assert.ok(await Promise.race([gone.then(() => true), sleep(5000).then(() => false)]), 'disconnected');
    assert.ok(b.connected);

    // With no Redis to publish to, the emitter reports the failure (exit status 1), not silence.
    const closed = await freePort();
    const down = await emitOnce(closed, ['emit', 'hi', 'lost']);
    assert.strictEqual(down.code, 1);
    assert.match(down.stderr, /not published/);
  } finally {
    for (const s of sockets) s.close();
    if (nodeIo) nodeIo.close();
    for (const c of [pub, sub, spy]) if (c) await Promise.allSettled([c.quit()]);
    await stop(redis);
  }
});
