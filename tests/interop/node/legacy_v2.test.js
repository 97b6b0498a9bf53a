// Interop with npm socket.io-client 2.5 (Engine.IO v3, Socket.IO protocol v4) against a server
// started with --allow-eio3, on every transport mode, side by side with socket.io-client 4.8.
// The v2 client has no auth payload: what the server sees as auth is its query (docs/socketio.md).
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const io2 = require('socket.io-client-v2');
const { startServer, once, emitAck, sleep, Clients } = require('./support');

const T = { timeout: 20000 };

const MODES = [
  { name: 'websocket only', transports: ['websocket'], final: 'websocket' },
  { name: 'polling only', transports: ['polling'], final: 'polling' },
  { name: 'polling upgrade', transports: ['polling', 'websocket'], final: 'websocket', upgrades: true },
];

/// v2 emit with an ack callback, bounded (2.x has no socket.timeout()).
function emitAck2(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for '${event}' within 5000 ms`)), 5000);
    socket.emit(event, ...args, (...reply) => { clearTimeout(timer); resolve(reply); });
  });
}

/// Resolves with the first of `events` on `emitter` as [event, ...args]; rejects after 5 s.
function first(emitter, events) {
  return new Promise((resolve, reject) => {
    const handlers = {};
    const done = () => { clearTimeout(timer); for (const e of events) emitter.off(e, handlers[e]); };
    const timer = setTimeout(() => { done(); reject(new Error(`none of ${events} within 5000 ms`)); }, 5000);
    for (const e of events) {
      handlers[e] = (...a) => { done(); resolve([e, ...a]); };
      emitter.on(e, handlers[e]);
    }
  });
}

for (const mode of MODES) {
  describe(`socket.io-client 2.x (${mode.name})`, () => {
    let server;
    let opened = [];
    let v4;

    before(async () => { server = await startServer({ flags: ['--allow-eio3'] }); });
    after(async () => { if (server) await server.stop(); });
    afterEach(() => {
      for (const s of opened) { s.close(); s.io.close(); }
      opened = [];
      if (v4) v4.closeAll();
      v4 = null;
    });

    /// A v2 socket on `nsp` (its own connection), not waited for.
    function make(nsp = '/', opts = {}) {
      server.assertAlive();
      const s = io2(server.url + nsp, {
        forceNew: true, reconnection: false, timeout: 5000, transports: mode.transports, ...opts,
      });
      opened.push(s);
      return s;
    }
    /// A v2 socket once the server's `welcome` arrived (a refusal rejects).
    async function connect(nsp = '/', opts = {}) {
      const s = make(nsp, opts);
      const [ev, payload] = await first(s, ['welcome', 'error', 'connect_error']);
      if (ev !== 'welcome') throw new Error(`${ev} on ${nsp}: ${JSON.stringify(payload)}`);
      s.welcome = payload;
      return s;
    }

    it('joins "/" without asking, sees its query as auth, and uses the expected transport', T, async () => {
      const s = make('/', { query: { user: 'ann', n: '1' } });
      const welcome = once(s, 'welcome');
      await once(s, 'connect');
      const [w] = await welcome;
      assert.equal(s.id, s.io.engine.id, 'a v2 socket id on "/" is its Engine.IO id');
      assert.equal(w.sid, s.id, 'the server names the socket as the client does');
      assert.deepEqual(w.auth, { user: 'ann', n: '1' }, 'the handshake query without EIO/transport/t');
      if (mode.upgrades && s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade');
      assert.equal(s.io.engine.transport.name, mode.final);
      assert.deepEqual(await emitAck2(s, 'transport'), [mode.final]);
    });

    it('connects to a namespace with its query (40/admin?x=1,) as auth', T, async () => {
      const s = await connect('/admin', { query: { x: '1', y: 'a b&c' } });
      assert.equal(s.nsp, '/admin');
      assert.equal(s.id, `/admin#${s.io.engine.id}`);
      assert.equal(s.welcome.sid, s.id);
      assert.deepEqual(s.welcome.auth, { x: '1', y: 'a b&c' });
      assert.deepEqual(await emitAck2(s, 'ack', 'on admin'), ['on admin']);
    });

    it('acks client->server and server->client', T, async () => {
      const s = await connect('/');
      assert.deepEqual(await emitAck2(s, 'ack', 'a', 2, { b: [1, null] }), ['a', 2, { b: [1, null] }]);
      const many = await Promise.all([...Array(10).keys()].map((i) => emitAck2(s, 'ack', i)));
      assert.deepEqual(many, [...Array(10).keys()].map((i) => [i]));
      s.on('question', (x, cb) => {
        assert.equal(typeof cb, 'function', 'question must carry an ack id');
        cb(x * 2, 'extra');
      });
      const answer = once(s, 'answer');
      s.emit('ask', 21);
      assert.deepEqual(await answer, [42, 'extra']);
    });

    for (const forceBase64 of [false, true]) {
      it(`carries binary both ways${forceBase64 ? ' as base64 (b4)' : ''}: events and acks`, T, async () => {
        const s = await connect('/admin', { forceBase64 });
        const bytes = Buffer.from([0, 1, 2, 127, 128, 254, 255]);
        const echoed = once(s, 'echo');
        s.emit('echo', bytes, { nested: { blob: bytes } }, 'tail');
        const [a, b, c] = await echoed;
        assert.ok(Buffer.isBuffer(a) && a.equals(bytes), 'BINARY_EVENT to the client');
        assert.ok(Buffer.isBuffer(b.nested.blob) && b.nested.blob.equals(bytes));
        assert.equal(c, 'tail');
        const [back] = await emitAck2(s, 'ack', bytes);
        assert.ok(Buffer.isBuffer(back) && back.equals(bytes), 'BINARY_ACK to the client');
        s.on('question', (x, cb) => cb(Buffer.concat([x, Buffer.from([1])])));
        const answer = once(s, 'answer');
        s.emit('ask', bytes);
        const [ans] = await answer;
        assert.ok(Buffer.isBuffer(ans) && ans.equals(Buffer.concat([bytes, Buffer.from([1])])), 'BINARY_ACK from the client');
      });
    }

    it('a guard refusing on "/" sends the message only (4"not authorized")', T, async () => {
      const s = make('/', { query: { token: 'bad' } });
      const [ev, payload] = await first(s, ['error', 'connect', 'welcome']);
      assert.equal(ev, 'error');
      assert.equal(payload, 'not authorized');
      assert.equal(s.connected, false);
    });

    it('a guard refusing on a namespace; "/" of the same connection stays usable', T, async () => {
      server.assertAlive();
      const manager = new io2.Manager(server.url, {
        forceNew: true, reconnection: false, timeout: 5000, transports: mode.transports,
      });
      const root = manager.socket('/');
      opened.push(root);
      const rootWelcome = once(root, 'welcome');
      await once(root, 'connect');
      const admin = manager.socket('/admin', { query: { token: 'bad' } });
      opened.push(admin);
      const [ev, payload] = await first(admin, ['error', 'connect', 'welcome']);
      assert.equal(ev, 'error');
      assert.equal(payload, 'not authorized');
      await rootWelcome;
      assert.deepEqual(await emitAck2(root, 'ack', 'still here'), ['still here']);

      const bad = manager.socket('/nope');
      opened.push(bad);
      const [ev2, payload2] = await first(bad, ['error', 'connect']);
      assert.equal(ev2, 'error');
      // portico sends the protocol v4 string, as socket.io 2.x did; socket.io 4.8 (the reference
      // server) sends {message}: tests/socketio pins portico's exact packet.
      assert.equal(typeof payload2 === 'string' ? payload2 : payload2.message, 'Invalid namespace');
    });

    it('a server-side namespace disconnect reaches the v2 client', T, async () => {
      const s = await connect('/admin');
      const gone = once(s, 'disconnect');
      s.emit('disconnect_me');
      assert.deepEqual(await gone, ['io server disconnect']);
    });

    it('keeps the connection alive with Engine.IO v3 pings (the client pings, the server answers)', T, async () => {
      // its own server with a 500 ms interval + 1500 ms timeout: a session whose pings went
      // unanswered (or were not expected) would be gone after 2 s
      const quick = await startServer({ flags: ['--allow-eio3', '--ping-interval', '500', '--ping-timeout', '1500'] });
      try {
        const s = io2(quick.url + '/admin', {
          forceNew: true, reconnection: false, timeout: 5000, transports: mode.transports,
        });
        opened.push(s);
        await once(s, 'welcome');
        const pongs = [];
        s.on('pong', (latency) => pongs.push(latency));
        let disconnected = null;
        s.on('disconnect', (reason) => { disconnected = reason; });
        await sleep(3000);
        assert.equal(disconnected, null, `disconnected: ${disconnected}`);
        assert.ok(pongs.length >= 2, `only ${pongs.length} pongs in 3 s at a 500 ms interval`);
        assert.deepEqual(await emitAck2(s, 'ack', 'alive'), ['alive']);
      } finally {
        await quick.stop();
      }
    });

    for (const nsp of ['/', '/admin']) {
      it(`shares a room on ${nsp} with socket.io-client 4.8 (text and binary broadcasts)`, T, async () => {
        v4 = new Clients(server.url, { transports: mode.transports });
        const modern = await v4.connect(nsp);
        const legacy = await connect(nsp);
        const sender = await connect(nsp);
        assert.deepEqual(await emitAck(modern, 'join', 'mixed'), [true]);
        assert.deepEqual(await emitAck2(legacy, 'join', 'mixed'), [true]);

        const got = [once(modern, 'room_msg'), once(legacy, 'room_msg')];
        let senderGot = false;
        sender.on('room_msg', () => { senderGot = true; });
        assert.deepEqual(await emitAck2(sender, 'to_room', 'mixed', { text: 'hi both' }), [true]);
        for (const g of got) assert.deepEqual(await g, [{ text: 'hi both' }]);

        const bytes = Buffer.from([5, 0, 255, 10]);
        const bin = once(legacy, 'room_msg');
        assert.deepEqual(await emitAck(modern, 'to_room', 'mixed', { blob: bytes }), [true]);
        const [fromModern] = await bin;
        assert.ok(Buffer.isBuffer(fromModern.blob) && fromModern.blob.equals(bytes), 'v4 -> v2 binary broadcast');

        const bin2 = once(modern, 'room_msg');
        assert.deepEqual(await emitAck2(legacy, 'to_room', 'mixed', { blob: bytes }), [true]);
        const [fromLegacy] = await bin2;
        assert.ok(Buffer.isBuffer(fromLegacy.blob) && fromLegacy.blob.equals(bytes), 'v2 -> v4 binary broadcast');

        const everyone = [once(modern, 'broadcast'), once(legacy, 'broadcast'), once(sender, 'broadcast')];
        legacy.emit('broadcast', 'to all');
        for (const g of everyone) assert.deepEqual(await g, ['to all']);
        await sleep(100);
        assert.equal(senderGot, false, 'the sender is not in the room');
      });
    }
  });
}
