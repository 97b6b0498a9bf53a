// Connection state recovery (socket.io 4.6+) with npm socket.io-client 4.8: a client whose
// transport dies gets back its socket id, rooms and session, and the room events emitted while it
// was away, exactly once and in order; after the window, or with recovery off, it starts afresh.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, once, emitAck, sleep, Clients } = require('./support');

const T = { timeout: 20000 };

const MODES = [
  { name: 'websocket only', transports: ['websocket'] },
  { name: 'polling upgrade', transports: ['polling', 'websocket'] },
  { name: 'polling only', transports: ['polling'] },
];

/// The first argument of each recorded `room_msg` (the offset comes last, as Node sends it).
function texts(got) { return got.map((a) => a[0]); }

/// Resolves once `got` holds `n` entries (bounded).
async function until(got, n, what) {
  for (let i = 0; i < 200 && got.length < n; ++i) await sleep(25);
  assert.equal(got.length, n, `${what}: ${JSON.stringify(texts(got))}`);
}

/// Kills `socket`'s Engine.IO connection without a namespace DISCONNECT (a lost transport), and
/// waits until the client saw it.
async function killTransport(socket) {
  const gone = once(socket, 'disconnect');
  socket.io.engine.close();
  return gone;
}

/// Reconnects a socket whose manager does not reconnect by itself; resolves on `connect`.
async function reconnect(socket) {
  const back = once(socket, 'connect');
  socket.connect();
  await back;
}

for (const mode of MODES) {
  describe(`connection state recovery (${mode.name})`, () => {
    let server;
    let clients;

    before(async () => { server = await startServer({ flags: ['--recovery-ms', '60000'] }); });
    after(async () => { if (server) await server.stop(); });
    afterEach(() => { if (clients) clients.closeAll(); });

    it('replays the missed room events once, in order, with the same id, rooms and session', T, async () => {
      clients = new Clients(server.url, { transports: mode.transports });
      const a = await clients.connect();
      const b = await clients.connect();
      assert.equal(typeof a._pid, 'string', 'the CONNECT answer carries a pid');
      assert.equal(a.recovered, false);
      assert.equal(await emitAck(a, 'join', 'r').then((r) => r[0]), true);
      await emitAck(a, 'session_set', { user: 'ann' });
      const got = [];
      a.on('room_msg', (...args) => got.push(args));
      await emitAck(b, 'to_room', 'r', 'm0');
      await until(got, 1, 'before the loss');
      assert.equal(typeof got[0][1], 'string', 'a recoverable event carries an offset last');
      const id = a.id;

      await killTransport(a);
      for (const m of ['m1', 'm2', 'm3']) await emitAck(b, 'to_room', 'r', m);
      await reconnect(a);

      assert.equal(a.recovered, true);
      assert.equal(a.id, id);
      assert.deepEqual((await emitAck(a, 'recovered'))[0], true);
      assert.ok((await emitAck(a, 'rooms'))[0].includes('r'));
      assert.deepEqual((await emitAck(a, 'session_get'))[0], { user: 'ann' });
      await emitAck(b, 'to_room', 'r', 'm4');
      await until(got, 5, 'after the recovery');
      assert.deepEqual(texts(got), ['m0', 'm1', 'm2', 'm3', 'm4']);
      await sleep(200);  // a duplicate would have come with the replay, before m4
      assert.deepEqual(texts(got), ['m0', 'm1', 'm2', 'm3', 'm4']);
    });

    it('does not recover after a client disconnect', T, async () => {
      clients = new Clients(server.url, { transports: mode.transports });
      const a = await clients.connect();
      await emitAck(a, 'join', 'r');
      const id = a.id;
      a.disconnect();
      await reconnect(a);
      assert.equal(a.recovered, false);
      assert.notEqual(a.id, id);
      assert.deepEqual((await emitAck(a, 'recovered'))[0], false);
      assert.ok(!(await emitAck(a, 'rooms'))[0].includes('r'));
    });
  });
}

describe('connection state recovery: window and off', () => {
  let clients;
  afterEach(() => { if (clients) clients.closeAll(); });

  it('a reconnect after max_disconnection_duration is a fresh session', T, async () => {
    const server = await startServer({ flags: ['--recovery-ms', '300'] });
    try {
      clients = new Clients(server.url, { transports: ['websocket'] });
      const a = await clients.connect();
      await emitAck(a, 'join', 'r');
      const id = a.id;
      await killTransport(a);
      await sleep(1000);
      await reconnect(a);
      assert.equal(a.recovered, false);
      assert.notEqual(a.id, id);
      assert.ok(!(await emitAck(a, 'rooms'))[0].includes('r'));
    } finally {
      clients.closeAll();
      await server.stop();
    }
  });

  it('recovery off: no pid, no offset, no recovery', T, async () => {
    const server = await startServer();
    try {
      clients = new Clients(server.url, { transports: ['websocket'] });
      const a = await clients.connect();
      const b = await clients.connect();
      assert.equal(a._pid, undefined);
      await emitAck(a, 'join', 'r');
      const got = [];
      a.on('room_msg', (...args) => got.push(args));
      await emitAck(b, 'to_room', 'r', 'm0');
      await until(got, 1, 'room message');
      assert.deepEqual(got[0], ['m0']);
      const id = a.id;
      await killTransport(a);
      await reconnect(a);
      assert.ok(!a.recovered);  // undefined: the client only compares pids it was given
      assert.notEqual(a.id, id);
    } finally {
      clients.closeAll();
      await server.stop();
    }
  });
});
