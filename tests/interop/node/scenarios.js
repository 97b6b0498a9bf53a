// The interop scenarios, run once per transport mode by the *.test.js files.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, once, record, emitAck, sleep, Clients } = require('./support');

const T = { timeout: 20000 };

/// `mode.transportOpts` are passed to every io() call; `mode.upgrades` says whether the
/// Engine.IO connection must end on the websocket transport.
function defineScenarios(mode) {
  describe(`socket.io-client 4.8 (${mode.name})`, () => {
    let server;
    let clients;

    before(async () => { server = await startServer(); });
    after(async () => { if (server) await server.stop(); });
    afterEach(() => { if (clients) clients.closeAll(); });

    const fresh = () => {
      server.assertAlive();
      clients = new Clients(server.url, mode.transportOpts);
      return clients;
    };

    it('connects and gets welcome with its sid and the auth payload echoed', T, async () => {
      const c = fresh();
      const auth = { token: 'good', user: 'ann', n: [1, 2] };
      const s = await c.connect('/', { auth });
      assert.equal(s.connected, true);
      assert.equal(typeof s.id, 'string');
      assert.equal(s.welcome.sid, s.id);
      assert.deepEqual(s.welcome.auth, auth);

      const anon = await c.connect('/');
      assert.equal(anon.welcome.auth, null, 'no auth payload is reported as null');
      assert.notEqual(anon.id, s.id);

      const empty = await c.connect('/', { auth: {} });
      assert.equal(empty.welcome.auth, null, 'an empty auth object counts as no auth');
    });

    it('uses the expected transport', T, async () => {
      const c = fresh();
      const s = c.make('/');
      if (mode.upgrades) {
        const [upgraded] = await once(s.io.engine, 'upgrade', 5000);
        assert.equal(upgraded.name, 'websocket');
      } else {
        await once(s, 'welcome');
        await sleep(300);
      }
      assert.equal(s.io.engine.transport.name, mode.finalTransport);
      // still usable after the upgrade
      const echoed = once(s, 'echo');
      s.emit('echo', 'after-upgrade');
      assert.deepEqual(await echoed, ['after-upgrade']);
    });

    it('echoes events with multiple arguments of every JSON type', T, async () => {
      const s = await fresh().connect();
      const args = [1, 'two', { three: [3, { four: 4 }] }, null, true, false, -2.5, [], {}, 'üñí©ødé ✓ \u2028'];
      const echoed = once(s, 'echo');
      s.emit('echo', ...args);
      assert.deepEqual(await echoed, args);

      const none = once(s, 'echo');
      s.emit('echo');
      assert.deepEqual(await none, []);
    });

    it('keeps event order over many emits', T, async () => {
      const s = await fresh().connect();
      const got = [];
      const all = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${got.length}/200 echoes`)), 10000);
        s.on('echo', (i) => { got.push(i); if (got.length === 200) { clearTimeout(timer); resolve(); } });
      });
      for (let i = 0; i < 200; i++) s.emit('echo', i);
      await all;
      assert.deepEqual(got, [...Array(200).keys()]);
    });

    it('echoes a large (200 KB) string payload', T, async () => {
      const s = await fresh().connect();
      const big = 'x'.repeat(200 * 1024) + 'end';
      const echoed = once(s, 'echo', 10000);
      s.emit('echo', big);
      const [back] = await echoed;
      assert.equal(back.length, big.length);
      assert.equal(back, big);
    });

    it('acks client->server with the same arguments', T, async () => {
      const s = await fresh().connect();
      assert.deepEqual(await emitAck(s, 'ack', 'a', 2, { b: [1, null] }), ['a', 2, { b: [1, null] }]);
      assert.deepEqual(await emitAck(s, 'ack'), []);
      // concurrent acks are matched by id, not by order of arrival
      const many = await Promise.all([...Array(20).keys()].map((i) => emitAck(s, 'ack', i)));
      assert.deepEqual(many, [...Array(20).keys()].map((i) => [i]));
    });

    it('acks server->client: ask -> question -> client ack -> answer', T, async () => {
      const s = await fresh().connect();
      s.on('question', (x, cb) => {
        assert.equal(typeof cb, 'function', 'question must carry an ack id');
        cb(x * 2, 'extra', { x });
      });
      const answer = once(s, 'answer');
      s.emit('ask', 21);
      assert.deepEqual(await answer, [42, 'extra', { x: 21 }]);
    });

    it('server->client ack times out when the client never answers', { timeout: 20000 }, async () => {
      const s = await fresh().connect();
      const question = once(s, 'question');
      s.on('question', () => { /* deliberately never ack */ });
      const answer = once(s, 'answer', 9000);
      const started = Date.now();
      s.emit('ask', 'silent');
      assert.equal((await question)[0], 'silent');
      assert.deepEqual(await answer, ['timeout']);
      assert.ok(Date.now() - started >= 4000, 'answered before the 5 s ack timeout');
    });

    it('echoes binary at top level and nested in objects, bytes intact', T, async () => {
      const s = await fresh().connect();
      const top = Buffer.from([0, 1, 2, 127, 128, 254, 255]);
      const nested = Buffer.alloc(1000, 0xab);
      const empty = Buffer.alloc(0);
      const echoed = once(s, 'echo');
      s.emit('echo', top, { name: 'file', data: { blob: nested, list: [empty, 'text', top] } }, 'tail');
      const [a, b, c] = await echoed;
      assert.ok(Buffer.isBuffer(a), 'top-level binary must come back as a Buffer');
      assert.deepEqual([...a], [...top]);
      assert.equal(b.name, 'file');
      assert.ok(Buffer.isBuffer(b.data.blob));
      assert.ok(b.data.blob.equals(nested));
      assert.ok(Buffer.isBuffer(b.data.list[0]));
      assert.equal(b.data.list[0].length, 0);
      assert.equal(b.data.list[1], 'text');
      assert.ok(b.data.list[2].equals(top));
      assert.equal(c, 'tail');
    });

    it('acks with binary arguments (BINARY_ACK)', T, async () => {
      const s = await fresh().connect();
      const bytes = Buffer.from('binary ack \x00\xff', 'latin1');
      const [back, obj] = await emitAck(s, 'ack', bytes, { inner: bytes });
      assert.ok(Buffer.isBuffer(back));
      assert.ok(back.equals(bytes));
      assert.ok(obj.inner.equals(bytes));
    });

    it('echoes a large (300 KB) binary payload', T, async () => {
      const s = await fresh().connect();
      const big = Buffer.alloc(300 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const echoed = once(s, 'echo', 10000);
      s.emit('echo', { big });
      const [back] = await echoed;
      assert.ok(Buffer.isBuffer(back.big));
      assert.ok(back.big.equals(big), 'binary payload corrupted');
    });

    it('carries binary through a server->client ack', T, async () => {
      const s = await fresh().connect();
      const bytes = Buffer.from([9, 8, 7, 0, 255]);
      s.on('question', (x, cb) => cb(Buffer.concat([x, Buffer.from([1])]), { raw: x }));
      const answer = once(s, 'answer');
      s.emit('ask', bytes);
      const [a, b] = await answer;
      assert.ok(Buffer.isBuffer(a) && a.equals(Buffer.from([9, 8, 7, 0, 255, 1])));
      assert.ok(Buffer.isBuffer(b.raw) && b.raw.equals(bytes));
    });

    it('serves 30 concurrent clients: all connect, all get one broadcast', { timeout: 30000 }, async () => {
      const c = fresh();
      const all = await Promise.all([...Array(30).keys()].map(() => c.connect()));
      assert.equal(new Set(all.map((s) => s.id)).size, 30, 'socket ids must be unique');
      const got = all.map((s) => once(s, 'broadcast', 10000));
      all[17].emit('broadcast', 'to-30');
      for (const g of got) assert.deepEqual(await g, ['to-30']);
    });

    it('delivers to_room from 20 senders to one listener (fan-in)', { timeout: 30000 }, async () => {
      const c = fresh();
      const listener = await c.connect();
      const senders = await Promise.all([...Array(20).keys()].map(() => c.connect()));
      assert.deepEqual(await emitAck(listener, 'join', 'fan-in'), [true]);
      const seen = new Set();
      const done = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${seen.size}/20 room messages`)), 10000);
        listener.on('room_msg', (i) => { seen.add(i); if (seen.size === 20) { clearTimeout(timer); resolve(); } });
      });
      const acks = await Promise.all(senders.map((s, i) => emitAck(s, 'to_room', 'fan-in', i)));
      assert.ok(acks.every((a) => a[0] === true));
      await done;
    });

    it('serves the /admin namespace, alone and multiplexed with /', T, async () => {
      const c = fresh();
      const admin = await c.connect('/admin', { auth: { token: 'adm' } });
      assert.equal(admin.welcome.sid, admin.id);
      assert.deepEqual(admin.welcome.auth, { token: 'adm' });
      assert.deepEqual(await emitAck(admin, 'ack', 'on-admin'), ['on-admin']);

      // same Manager (one Engine.IO connection), two namespaces
      const main = await c.connect('/', { forceNew: true });
      // Manager.socket() auto-connects on the already open Engine.IO connection
      const muxAdmin = main.io.socket('/admin');
      c.sockets.push(muxAdmin);
      const [w] = await once(muxAdmin, 'welcome');
      assert.equal(w.sid, muxAdmin.id);
      assert.notEqual(muxAdmin.id, main.id);
      const e1 = once(main, 'echo');
      const e2 = once(muxAdmin, 'echo');
      main.emit('echo', 'main');
      muxAdmin.emit('echo', 'admin');
      assert.deepEqual(await e1, ['main']);
      assert.deepEqual(await e2, ['admin']);
    });

    it('refuses an unknown namespace with "Invalid namespace"', T, async () => {
      const s = fresh().make('/nope');
      const [err] = await once(s, 'connect_error');
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(s.connected, false);
    });

    it('refuses a connection with message and data', T, async () => {
      const c = fresh();
      for (const nsp of ['/', '/admin']) {
        const s = c.make(nsp, { auth: { token: 'bad' } });
        const welcome = record(s, 'welcome');
        const [err] = await once(s, 'connect_error');
        assert.equal(err.message, 'not authorized');
        assert.deepEqual(err.data, { code: 42 });
        assert.equal(s.connected, false);
        assert.equal(welcome.length, 0);
      }
    });

    it('sends to_room to the other room members only (3 clients + 1 outsider)', T, async () => {
      const c = fresh();
      const [a, b, d, outsider] = await Promise.all([c.connect(), c.connect(), c.connect(), c.connect()]);
      for (const s of [a, b, d]) assert.deepEqual(await emitAck(s, 'join', 'lobby'), [true]);
      const gotA = record(a, 'room_msg');
      const gotOut = record(outsider, 'room_msg');
      const atB = once(b, 'room_msg');
      const atD = once(d, 'room_msg');
      assert.deepEqual(await emitAck(a, 'to_room', 'lobby', { text: 'hi', n: 1 }), [true]);
      assert.deepEqual(await atB, [{ text: 'hi', n: 1 }]);
      assert.deepEqual(await atD, [{ text: 'hi', n: 1 }]);
      await sleep(300);
      assert.equal(gotA.length, 0, 'the sender must not receive its own room message');
      assert.equal(gotOut.length, 0, 'a client outside the room must not receive it');

      // after leaving, b no longer receives
      assert.deepEqual(await emitAck(b, 'leave', 'lobby'), [true]);
      const gotB = record(b, 'room_msg');
      const atA = once(a, 'room_msg');
      assert.deepEqual(await emitAck(d, 'to_room', 'lobby', 'second'), [true]);
      assert.deepEqual(await atA, ['second']);
      await sleep(300);
      assert.equal(gotB.length, 0, 'a client that left must not receive');
    });

    it('broadcasts to everyone in the namespace including the sender', T, async () => {
      const c = fresh();
      const [a, b, d] = await Promise.all([c.connect(), c.connect(), c.connect()]);
      const admin = await c.connect('/admin');
      const gotAdmin = record(admin, 'broadcast');
      const waits = [a, b, d].map((s) => once(s, 'broadcast'));
      b.emit('broadcast', { all: true });
      for (const w of waits) assert.deepEqual(await w, [{ all: true }]);
      await sleep(300);
      assert.equal(gotAdmin.length, 0, 'broadcast must not cross namespaces');
    });

    it('broadcast with ack: one answer per room member, timeout with the answers that came, empty room', T, async () => {
      const c = fresh();
      const [a, b, d, caller] = await Promise.all([c.connect(), c.connect(), c.connect(), c.connect()]);
      for (const s of [a, b, d]) assert.deepEqual(await emitAck(s, 'join', 'poll'), [true]);
      const asked = [];
      a.on('room_poll', (x, cb) => { asked.push(x); cb('A', 'ignored second argument'); });
      b.on('room_poll', (x, cb) => { asked.push(x); cb({ n: 2 }); });
      let dAnswers = true;
      d.on('room_poll', (x, cb) => { asked.push(x); if (dAnswers) cb(Buffer.from([1, 2, 3])); });
      const gotCaller = record(caller, 'room_poll');

      let [status, responses] = await emitAck(caller, 'poll_room', 'poll', 4000, 'q1');
      assert.equal(status, 'ok');
      assert.deepEqual(asked, ['q1', 'q1', 'q1']);
      assert.equal(responses.length, 3);
      const bin = responses.find((r) => Buffer.isBuffer(r));
      assert.ok(bin, 'the binary answer comes back as binary');
      assert.deepEqual([...bin], [1, 2, 3]);
      assert.deepEqual(responses.filter((r) => !Buffer.isBuffer(r)).map((r) => JSON.stringify(r)).sort(), ['"A"', '{"n":2}']);
      assert.equal(gotCaller.length, 0, 'the caller is not in the room');

      dAnswers = false;
      [status, responses] = await emitAck(caller, 'poll_room', 'poll', 1500, 'q2');
      assert.equal(status, 'timeout');
      assert.deepEqual(responses.map((r) => JSON.stringify(r)).sort(), ['"A"', '{"n":2}']);

      assert.deepEqual(await emitAck(caller, 'poll_room', 'nobody-here', 4000, 'q3'), ['ok', []]);
    });

    it('reconnects by itself after the server drops the Engine.IO connection', T, async () => {
      const c = fresh();
      const s = await c.connect('/', { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
      const firstSid = s.id;
      const disconnected = once(s, 'disconnect');
      const rewelcome = once(s, 'welcome', 10000);
      s.emit('drop_me');
      const [reason] = await disconnected;
      assert.equal(reason, 'transport close');
      const [w] = await rewelcome;
      assert.equal(s.connected, true);
      assert.equal(w.sid, s.id);
      assert.notEqual(s.id, firstSid);
      assert.deepEqual(await emitAck(s, 'ack', 'back'), ['back']);
    });

    it('disconnect_me closes only that namespace with "io server disconnect"', T, async () => {
      const c = fresh();
      const main = await c.connect('/');
      const admin = main.io.socket('/admin');
      c.sockets.push(admin);
      await once(admin, 'welcome');

      const reconnects = record(main.io, 'reconnect_attempt');
      const disconnected = once(main, 'disconnect');
      main.emit('disconnect_me');
      const [reason] = await disconnected;
      assert.equal(reason, 'io server disconnect');
      assert.equal(main.connected, false);
      // the Engine.IO connection and the other namespace survive
      assert.deepEqual(await emitAck(admin, 'ack', 'still here'), ['still here']);
      await sleep(300);
      assert.equal(main.connected, false, 'no automatic reconnect after a server disconnect');
      assert.equal(reconnects.length, 0);
    });

    it('reports the rooms of the sender, sorted', T, async () => {
      const s = await fresh().connect();
      for (const r of ['zeta', 'alpha', 'mid']) assert.deepEqual(await emitAck(s, 'join', r), [true]);
      let [rooms] = await emitAck(s, 'rooms');
      assert.ok(Array.isArray(rooms));
      assert.deepEqual([...rooms].sort(), rooms, 'rooms must be sorted');
      for (const r of ['alpha', 'mid', 'zeta']) assert.ok(rooms.includes(r), `missing ${r} in ${rooms}`);
      assert.ok(rooms.includes(s.id), `every socket is in its own sid room: ${rooms}`);
      assert.deepEqual(await emitAck(s, 'leave', 'mid'), [true]);
      [rooms] = await emitAck(s, 'rooms');
      assert.ok(!rooms.includes('mid'), `left room still listed: ${rooms}`);
      assert.ok(rooms.includes('alpha') && rooms.includes('zeta'));
    });

    it('keeps a per-socket session', T, async () => {
      const c = fresh();
      const [a, b] = await Promise.all([c.connect(), c.connect()]);
      assert.deepEqual(await emitAck(a, 'session_get'), [null]);
      const value = { user: 'ann', roles: ['x', 'y'], n: 3 };
      assert.deepEqual(await emitAck(a, 'session_set', value), [true]);
      assert.deepEqual(await emitAck(a, 'session_get'), [value]);
      assert.deepEqual(await emitAck(b, 'session_get'), [null], 'sessions must not leak between sockets');
    });

    it('answers unknown events through the catch-all', T, async () => {
      const s = await fresh().connect();
      const unknown = once(s, 'unknown');
      s.emit('whatever', 1, { a: 2 }, 'three');
      assert.deepEqual(await unknown, ['whatever', [1, { a: 2 }, 'three']]);
      const noArgs = once(s, 'unknown');
      s.emit('bare');
      assert.deepEqual(await noArgs, ['bare', []]);
    });

    it('the server is still running after all of the above', T, async () => {
      await new Promise((r) => setTimeout(r, 100));
      server.assertAlive();
    });
  });
}

module.exports = { defineScenarios };
