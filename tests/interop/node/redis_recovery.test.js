// Connection state recovery across a Redis cluster: two portico members (PORTICO_REDIS_MEMBER
// with --recovery: portico::redis::session_store) on one private redis-server (REDIS_SERVER).
// An npm socket.io-client 4.8 connected to member A loses its transport; member B broadcasts
// to its room meanwhile; the client comes back to member B and gets its id, rooms, session data
// and the missed events, exactly once and in order.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { createClient } = require('redis');
const { io: connect } = require('socket.io-client');

const { freePort, startRedis, stop, sleep, startListening, client, ack, until } = require('./redis_support');

function startMember(redisPort) {
  return startListening(process.env.PORTICO_REDIS_MEMBER,
    ['--redis', String(redisPort), '--port', '0', '--max-seconds', '90', '--recovery']);
}

function once(s, ev, ms = 8000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${ev}`)), ms);
    s.once(ev, (...a) => { clearTimeout(timer); resolve(a); });
  });
}

test('a client lost by one member recovers on another with the events it missed', { timeout: 90000 }, async () => {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const members = [];
  const sockets = [];
  let db;
  try {
    members.push(await startMember(redisPort));
    members.push(await startMember(redisPort));
    const [a, b] = members;
    db = createClient({ url: `redis://127.0.0.1:${redisPort}` });
    db.on('error', () => {});
    await db.connect();

    const c = connect(`http://127.0.0.1:${a.port}`, { forceNew: true, reconnection: false, timeout: 5000, transports: ['websocket'] });
    sockets.push(c);
    await once(c, 'connect');
    assert.strictEqual(c.recovered, false);
    assert.strictEqual(typeof c._pid, 'string', 'the CONNECT answer carries a pid');
    const sender = await client(b.port);
    sockets.push(sender);
    assert.ok(await until(async () => (await ack(sender, 'server_count')) === 2), 'B sees 2 servers');
    assert.strictEqual(await ack(c, 'join', 'r'), true);
    assert.strictEqual(await ack(c, 'set_data', { user: 'ann' }), true);
    const got = [];
    c.on('hello', (...args) => got.push(args));

    // One event while connected (from B, through Redis): its offset is what the client sends back.
    assert.strictEqual(await ack(sender, 'to_room', 'r', 'hello', 'm0'), true);
    assert.ok(await until(() => got.length === 1, 5000), 'm0 arrived');
    assert.strictEqual(typeof got[0][1], 'string', 'with an offset');

    // The transport dies (no namespace DISCONNECT); A keeps the session in Redis.
    const id = c.id;
    const gone = once(c, 'disconnect');
    c.io.engine.close();
    await gone;  // the client closed it ('forced close' on its side, 'transport close' on A's)
    assert.ok(await until(async () => (await db.keys('socket.io#/#rec#s#*')).length === 1, 5000), 'the session is in Redis');

    // B broadcasts to the room meanwhile.
    for (const m of ['m1', 'm2', 'm3']) assert.strictEqual(await ack(sender, 'to_room', 'r', 'hello', m), true);

    // The client comes back, to member B.
    c.io.uri = `http://127.0.0.1:${b.port}`;
    const back = once(c, 'connect');
    c.connect();
    await back;
    assert.strictEqual(c.recovered, true, 'recovered on B');
    assert.strictEqual(c.id, id);
    assert.ok(await until(() => got.length >= 4, 5000), JSON.stringify(got));
    await sleep(300);
    assert.deepStrictEqual(got.map((x) => x[0]), ['m0', 'm1', 'm2', 'm3']);
    assert.deepStrictEqual(await ack(c, 'my_rooms'), [id, 'r'].sort());
    assert.deepStrictEqual(JSON.parse(await ack(c, 'get_data')), { user: 'ann' });
    // and it is B's socket now: B's broadcasts keep coming, once
    assert.strictEqual(await ack(sender, 'to_room', 'r', 'hello', 'm4'), true);
    assert.ok(await until(() => got.length === 5, 5000));
    await sleep(200);
    assert.deepStrictEqual(got.map((x) => x[0]), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.strictEqual(await db.exists('socket.io#/#rec#s#' + c._pid), 0, 'the session was taken once');
  } finally {
    sockets.forEach((s) => s.disconnect());
    if (db) await db.quit().catch(() => {});
    for (const m of members) await stop(m.child);
    await stop(redis);
  }
});
