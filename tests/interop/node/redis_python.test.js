// Mixed clusters with a python3-socketio client (issue 13): a Node socket.io 4.8 server with
// @socket.io/redis-adapter 8.3 and a portico member (PORTICO_REDIS_MEMBER,
// tests/redis/cluster_member.cpp) on one private redis-server, in classic and sharded mode. A
// python-socketio client (/usr/bin/python3, redis_py_client.py) on the portico member receives a
// cluster-wide broadcast and a room broadcast sent by the Node server, and answers the Node
// server's broadcast with ack. Bounded in time; everything stops by itself.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const http = require('http');
const path = require('path');
const { spawn } = require('child_process');
const { Server } = require('socket.io');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const { freePort, startRedis, stop, sleep, startListening, client, ack, until } = require('./redis_support');

/// The python client: its output lines as they come, and its exit code once it has exited.
function python(port, room) {
  const child = spawn('/usr/bin/python3', ['-W', 'ignore', path.join(__dirname, 'redis_py_client.py'), String(port), room],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { child, lines: [], err: '', code: null };
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { out.lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  child.stderr.on('data', (d) => { out.err += d; });
  child.on('exit', (code, signal) => { out.code = code === null ? signal : code; });
  return out;
}

for (const mode of ['classic', 'sharded']) {
  test(`python-socketio on a portico member of a mixed ${mode} cluster`, { timeout: 90000 }, async () => {
    const redisPort = await freePort();
    const redis = await startRedis(redisPort);
    let member, httpServer, nodeIo, pub, sub, py;
    const sockets = [];
    try {
      pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
      sub = pub.duplicate();
      pub.on('error', () => {});
      sub.on('error', () => {});
      await Promise.all([pub.connect(), sub.connect()]);
      httpServer = http.createServer();
      const adapter = mode === 'classic' ? createAdapter(pub, sub, { requestsTimeout: 3000 }) : createShardedAdapter(pub, sub);
      nodeIo = new Server(httpServer, { adapter });
      nodeIo.on('connection', (s) => { s.on('join', (room, cb) => { s.join(room); cb(true); }); });
      await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
      member = await startListening(process.env.PORTICO_REDIS_MEMBER,
        ['--redis', String(redisPort), '--port', '0', '--max-seconds', '80', ...(mode === 'sharded' ? ['--sharded'] : [])]);
      assert.ok(await until(async () => (await nodeIo.of('/').adapter.serverCount()) === 2), 'Node sees 2 servers');

      // A socket.io-client on the Node server in the same room, so the ack broadcast has a local
      // answer too.
      const onNode = await client(httpServer.address().port);
      sockets.push(onNode);
      await ack(onNode, 'join', 'py');
      onNode.on('q', (arg, cb) => cb(`node-${arg}`));

      py = python(member.port, 'py');
      assert.ok(await until(() => py.lines.includes('READY') || py.code !== null, 15000), 'python READY');
      assert.deepStrictEqual(py.lines, ['READY'], py.err);
      // In sharded mode the member subscribes to the room's channel when the room is created;
      // both modes: the portico member must count python's socket before Node broadcasts.
      assert.ok(await until(async () => (await nodeIo.in('py').fetchSockets()).length === 2, 10000), 'python socket seen by Node');

      // From the Node server: cluster-wide, to python's room, and to a room python is not in.
      nodeIo.emit('everyone', 'all-1');
      nodeIo.to('py').emit('to-room', 'room-1');
      nodeIo.to('elsewhere').emit('other-room', 'x');
      assert.ok(await until(() => py.lines.length >= 3 || py.code !== null, 10000), py.err);

      // The Node server's broadcast with ack: python answers through portico and Redis.
      const answers = await nodeIo.timeout(5000).to('py').emitWithAck('q', 'n1');
      assert.deepStrictEqual(answers.sort(), ['node-n1', 'python-n1']);

      nodeIo.to('py').emit('bye');
      assert.ok(await until(() => py.code !== null, 15000), 'python exited');
      assert.strictEqual(py.code, 0, py.err);
      // Once each, nothing for the other room (the order of events on two channels is not the point).
      assert.deepStrictEqual(py.lines.slice().sort(), ['ANSWER n1', 'EVENT everyone all-1', 'EVENT to-room room-1', 'READY'], py.err);
    } finally {
      if (py && py.code === null) py.child.kill('SIGKILL');
      for (const s of sockets) s.close();
      if (nodeIo) nodeIo.close();
      if (pub) await Promise.allSettled([pub.quit(), sub.quit()]);
      if (member) await stop(member.child);
      await stop(redis);
    }
  });
}
