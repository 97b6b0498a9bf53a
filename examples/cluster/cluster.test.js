// examples/cluster's contract (README.md): two `cluster` members (PORTICO_CLUSTER) on one private
// redis-server (REDIS_SERVER, free loopback port, no persistence, stopped by pid), socket.io-client
// clients on both and one python-socketio client (/usr/bin/python3, py_client.py); then two
// `cluster --sharded` members beside a Node socket.io server with createShardedAdapter. Bounded in
// time; everything stops by itself.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { spawn } = require('child_process');
const { io: connect } = require('socket.io-client');
const { createShardedAdapter } = require('@socket.io/redis-adapter');

const { freePort, startRedis, stop, sleep, startNodeServer } = require('../../tests/interop/node/redis_support');

function startMember(redisPort, extra = []) {
  const child = spawn(process.env.PORTICO_CLUSTER, ['--port', '0', '--redis', `127.0.0.1:${redisPort}`, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('member did not start: ' + err)); }, 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) { clearTimeout(timer); child.stdout.resume(); resolve({ child, port: Number(m[1]) }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(Object.assign(new Error('member exited: ' + err), { code, err })); });
  });
}

function client(port) {
  const s = connect(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, timeout: 5000, transports: ['websocket'] });
  s.said = [];
  s.on('said', (m) => s.said.push(m));
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

const ack = (s, ev, ...a) => s.timeout(5000).emitWithAck(ev, ...a);

async function until(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(50);
  }
  throw new Error('timed out waiting for ' + what);
}

/// A python-socketio client: resolves lines as it prints them.
function python(port, room) {
  const child = spawn('/usr/bin/python3', [path.join(__dirname, 'py_client.py'), String(port), room],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let buf = '', err = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  child.stderr.on('data', (d) => { err += d; });
  return { child, lines, stderr: () => err };
}

test('--sharded: two members and a Node socket.io server (createShardedAdapter) on one Redis', { timeout: 90000 }, async () => {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const members = [];
  const clients = [];
  let nodeIo, nodePort, pub, sub;
  try {
    // The Node member: answers server_side_emit("hello") with "node", like the example's "portico".
    ({ io: nodeIo, pub, sub, port: nodePort } = await startNodeServer(redisPort, createShardedAdapter));
    nodeIo.on('connection', (s) => s.on('join', (room, cb) => { s.join(room); cb(true); }));
    nodeIo.on('hello', (cb) => cb('node'));
    const A = await startMember(redisPort, ['--sharded']); members.push(A);
    const B = await startMember(redisPort, ['--sharded']); members.push(B);
    const [a1, a2, b1, n1] = await Promise.all([client(A.port), client(A.port), client(B.port),
      client(nodePort)]);
    clients.push(a1, a2, b1, n1);

    assert.strictEqual(await ack(a1, 'join', 'r'), true);
    assert.strictEqual(await ack(b1, 'join', 'r'), true);
    assert.strictEqual(await ack(n1, 'join', 'r'), true);
    // count() sees the Node server's socket too (FETCH_SOCKETS answered by Node).
    await until(async () => (await ack(a2, 'count')) === 4, 'count 4 from A');
    // The room's shard channel has all three servers once the joins are applied.
    await until(async () => Number((await pub.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'socket.io#/#r#']))[1]) === 3,
      'three servers on socket.io#/#r#');

    a2.emit('say', 'r', 'hi-r');
    b1.emit('say_all', 'hi-all');
    await until(() => [a1, a2, b1, n1].every((s) => s.said.includes('hi-all')), 'say_all everywhere');
    await until(() => [a1, b1, n1].every((s) => s.said.includes('hi-r')), 'say in the room');
    assert.deepStrictEqual(a2.said, ['hi-all']);

    // ping_servers(): one answer per other server, Node's included.
    assert.deepStrictEqual(await ack(a2, 'ping_servers'), ['node', 'portico']);
    // ask_all(room): the room's clients on the three servers.
    a1.on('question', (cb) => cb('a1'));
    b1.on('question', (cb) => cb('b1'));
    n1.on('question', (cb) => cb('n1'));
    a2.on('question', (cb) => cb('a2'));  // not in the room: must not be asked
    assert.deepStrictEqual(await ack(a2, 'ask_all', 'r'), ['a1', 'b1', 'n1']);

    // kick_room(room): DISCONNECT_SOCKETS closes the room's connections on Node and on B too.
    const gone = [a1, b1, n1].map((s) => new Promise((resolve) => s.once('disconnect', resolve)));
    assert.strictEqual(await ack(a2, 'kick_room', 'r'), true);
    await Promise.race([Promise.all(gone), sleep(10000).then(() => { throw new Error('kick_room did not disconnect'); })]);
    assert.ok(a2.connected);
    await until(async () => (await ack(a2, 'count')) === 1, 'count 1 after kick_room');
  } finally {
    clients.forEach((s) => s.close());
    if (nodeIo) nodeIo.close();
    if (pub) await Promise.allSettled([pub.quit(), sub.quit()]);
    for (const m of members) await stop(m.child);
    await stop(redis);
  }
});

test('two members on one Redis: every event of the contract', { timeout: 90000 }, async () => {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const members = [];
  const clients = [];
  let py;
  try {
    const A = await startMember(redisPort); members.push(A);
    const B = await startMember(redisPort); members.push(B);
    const [a1, a2, b1, b2] = await Promise.all([client(A.port), client(A.port), client(B.port), client(B.port)]);
    clients.push(a1, a2, b1, b2);

    // join(room) -> true
    assert.strictEqual(await ack(a1, 'join', 'r'), true);
    assert.strictEqual(await ack(b1, 'join', 'r'), true);

    // count() -> every socket of the cluster (subscriptions are in place once it sees all 4)
    await until(async () => (await ack(a2, 'count')) === 4, 'count 4 from A');
    assert.strictEqual(await ack(b2, 'count'), 4);

    // say(room) reaches the room on both members; say_all reaches everyone. Both go through one
    // Redis connection in order, so once b2 has the say_all, the room message has arrived too.
    a2.emit('say', 'r', 'hi-r');
    b2.emit('say_all', 'hi-all');
    await until(() => [a1, a2, b1, b2].every((s) => s.said.includes('hi-all')), 'say_all everywhere');
    await until(() => a1.said.includes('hi-r') && b1.said.includes('hi-r'), 'say in the room');
    assert.deepStrictEqual(a2.said, ['hi-all']);
    assert.deepStrictEqual(b2.said, ['hi-all']);

    // ping_servers() -> the other member's answer to server_side_emit("hello")
    assert.deepStrictEqual(await ack(a2, 'ping_servers'), ['portico']);
    assert.deepStrictEqual(await ack(b1, 'ping_servers'), ['portico']);

    // ask_all(room) -> sorted answers of the room's clients, on both members
    a1.on('question', (cb) => cb('a1'));
    b1.on('question', (cb) => cb('b1'));
    b2.on('question', (cb) => cb('b2'));  // not in the room: must not be asked
    assert.deepStrictEqual(await ack(a2, 'ask_all', 'r'), ['a1', 'b1']);
    assert.deepStrictEqual(await ack(b2, 'ask_all', 'r'), ['a1', 'b1']);

    // python-socketio on B: join, say (heard by a2 on A), hear a say from A, count.
    assert.strictEqual(await ack(a2, 'join', 'py'), true);
    py = python(B.port, 'py');
    await until(() => py.lines.length >= 1 || py.child.exitCode !== null, 'python JOINED');
    assert.strictEqual(py.lines[0], 'JOINED True', py.stderr());
    await until(() => a2.said.includes('from-python'), 'python say on the other member');
    a2.emit('say', 'py', 'to-python');
    await until(() => py.lines.length >= 3 || py.child.exitCode !== null, 'python SAID and COUNT', 20000);
    assert.deepStrictEqual(py.lines.slice(1, 3), ['SAID to-python', 'COUNT 5'], py.stderr());
    await new Promise((resolve) => (py.child.exitCode !== null ? resolve() : py.child.once('exit', resolve)));
    assert.strictEqual(py.child.exitCode, 0, py.stderr());

    // kick_room(room) closes the room's connections on both members; the others stay.
    const gone = [a1, b1].map((s) => new Promise((resolve) => s.once('disconnect', resolve)));
    assert.strictEqual(await ack(b2, 'kick_room', 'r'), true);
    await Promise.race([Promise.all(gone), sleep(10000).then(() => { throw new Error('kick_room did not disconnect'); })]);
    assert.ok(a2.connected && b2.connected);
    await until(async () => (await ack(a2, 'count')) === 2, 'count 2 after kick_room');
  } finally {
    clients.forEach((s) => s.close());
    if (py && py.child.exitCode === null) py.child.kill('SIGKILL');
    for (const m of members) await stop(m.child);
    await stop(redis);
  }
});
