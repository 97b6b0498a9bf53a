// The admin namespace of examples/admin_ui (portico::admin_ui) spoken to as the official
// @socket.io/admin-ui UI speaks to it, with npm socket.io-client 4.8 and no browser: basic auth
// against a bcrypt hash (bcryptjs, as the UI's users make them), sessions, config, all_sockets,
// live socket/room/event reports, the admin actions, read-only and production modes.
'use strict';

const { spawn } = require('child_process');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const bcrypt = require('bcryptjs');
const { io } = require('socket.io-client');

const SERVER = process.env.PORTICO_ADMIN_SERVER;
const T = { timeout: 30000 };
const PASSWORD = 'correct horse';
const HASH = bcrypt.hashSync(PASSWORD, 6);

/// Starts examples/admin_ui with `args` on an ephemeral loopback port.
function startServer(args) {
  if (!SERVER) throw new Error('PORTICO_ADMIN_SERVER is not set');
  const child = spawn(SERVER, ['--port', '0', '--max-seconds', '100', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no LISTENING: ${out}${err}`)); }, 10000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${err}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        url: `http://127.0.0.1:${m[1]}`,
        stop: () => new Promise((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => { clearTimeout(kill); res(); });
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

/// Resolves with the arguments of the next `event` (bounded).
function once(emitter, event, ms = 8000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, h); reject(new Error(`timed out waiting for ${event}`)); }, ms);
    function h(...args) { clearTimeout(timer); emitter.off(event, h); resolve(args); }
    emitter.on(event, h);
  });
}

/// Resolves with the first `event` whose arguments satisfy `pred` (bounded).
function until(emitter, event, pred, ms = 8000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, h); reject(new Error(`timed out waiting for a matching ${event}`)); }, ms);
    function h(...args) {
      if (!pred(...args)) return;
      clearTimeout(timer);
      emitter.off(event, h);
      resolve(args);
    }
    emitter.on(event, h);
  });
}

const sockets = [];
function client(url, opts = {}) {
  const s = io(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
  sockets.push(s);
  return s;
}
async function connected(s) {
  if (s.connected) return s;
  const [r] = await Promise.race([once(s, 'connect'), once(s, 'connect_error').then(([e]) => { throw e; })]);
  void r;
  return s;
}
function ack(s, event, ...args) {
  return s.timeout(5000).emitWithAck(event, ...args);
}
/// An admin connection as the UI opens it; resolves once `config` arrived.
async function admin(url, auth) {
  const a = client(`${url}/admin`, { auth });
  const got = {};
  a.on('session', (id) => { got.session = id; });
  a.on('all_sockets', (list) => { got.all = list; });
  const config = once(a, 'config');
  await connected(a);
  [got.config] = await config;
  return { a, got };
}
function closeAll() { sockets.splice(0).forEach((s) => s.disconnect()); }

describe('admin UI namespace, read-write, development mode (basic auth)', () => {
  let server;
  before(async () => { server = await startServer(['--admin-user', 'admin', '--admin-password-hash', HASH]); });
  after(async () => { closeAll(); if (server) await server.stop(); });

  it('refuses a wrong password, a wrong user and no credentials with "invalid credentials"', T, async () => {
    for (const auth of [{ username: 'admin', password: 'wrong' }, { username: 'root', password: PASSWORD }, undefined,
      { sessionId: 'not-a-session' }]) {
      const a = client(`${server.url}/admin`, auth ? { auth } : {});
      const [e] = await once(a, 'connect_error');
      assert.equal(e.message, 'invalid credentials', JSON.stringify(auth));
    }
  });

  it('logs in, gets a session id that logs in again, config and all_sockets with rooms', T, async () => {
    const c = await connected(client(server.url));
    assert.deepEqual((await ack(c, 'join', { room: 'lobby' })).sort(), ['lobby', c.id].sort());
    const { got } = await admin(server.url, { username: 'admin', password: PASSWORD });
    assert.match(got.session, /^[A-Za-z0-9_-]{10,}$/);
    assert.deepEqual(got.config.supportedFeatures,
      ['JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'ALL_EVENTS']);
    const all = got.all || (await once((await admin(server.url, { sessionId: got.session })).a, 'all_sockets'))[0];
    const mine = all.find((s) => s.id === c.id);
    assert.ok(mine, 'the client is listed');
    assert.equal(mine.nsp, '/');
    assert.deepEqual(mine.rooms.sort(), ['lobby', c.id].sort());
    assert.equal(mine.handshake.address, '127.0.0.1');
    assert.equal(mine.clientId, c.io.engine.id.slice(0, 12));
    assert.ok(['polling', 'websocket'].includes(mine.transport));
    // the session id alone is enough the second time (the UI's reconnection)
    const again = await admin(server.url, { sessionId: got.session });
    assert.equal(again.got.session, undefined, 'no new session for a known one');
    closeAll();
  });

  it('reports connections, rooms, events received and sent, disconnections', T, async () => {
    const { a } = await admin(server.url, { username: 'admin', password: PASSWORD });
    const c = client(server.url);
    const [sock] = await until(a, 'socket_connected', (s) => s.nsp === '/');
    await connected(c);
    assert.equal(sock.id, c.id);
    const joined = until(a, 'room_joined', (nsp, room, id) => id === c.id && room === 'blue');
    await ack(c, 'join', { room: 'blue' });
    assert.deepEqual((await joined).slice(0, 3), ['/', 'blue', c.id]);
    const received = until(a, 'event_received', (nsp, id) => id === c.id);
    const sent = until(a, 'event_sent', (nsp, id) => id === c.id);
    c.emit('greet', 'ann');
    const [rNsp, , rArgs, rWhen] = await received;
    assert.equal(rNsp, '/');
    assert.deepEqual(rArgs, ['greet', 'ann']);
    assert.ok(!Number.isNaN(Date.parse(rWhen)), rWhen);
    assert.deepEqual((await sent)[2], ['greeting', 'hello, ann']);
    const sid = c.id;  // the client forgets it on disconnect
    const left = until(a, 'room_left', (nsp, room, id) => id === sid && room === 'blue');
    const gone = until(a, 'socket_disconnected', (nsp, id) => id === sid);
    c.disconnect();
    assert.equal((await gone)[2], 'client namespace disconnect');
    await left;
    closeAll();
  });

  it('join and leave actions (one socket, or every socket of a room) reach the clients', T, async () => {
    const { a } = await admin(server.url, { username: 'admin', password: PASSWORD });
    const c1 = await connected(client(server.url));
    const c2 = await connected(client(server.url));
    await ack(c1, 'join', { room: 'team' });
    await ack(c2, 'join', { room: 'team' });
    // one socket (the UI's socket page: filter = its id)
    let j = until(a, 'room_joined', (nsp, room, id) => room === 'vip' && id === c1.id);
    a.emit('join', '/', 'vip', c1.id);
    await j;
    assert.ok((await ack(c1, 'join', { room: 'team' })).includes('vip'));
    assert.ok(!(await ack(c2, 'join', { room: 'team' })).includes('vip'));
    // every socket of room "team" (MJOIN)
    j = until(a, 'room_joined', (nsp, room, id) => room === 'all-hands' && id === c2.id);
    a.emit('join', '/', 'all-hands', 'team');
    await j;
    assert.ok((await ack(c1, 'echo', 'x')) === 'x');
    assert.ok((await ack(c1, 'join', { room: 'team' })).includes('all-hands'));
    assert.ok((await ack(c2, 'join', { room: 'team' })).includes('all-hands'));
    const l = until(a, 'room_left', (nsp, room, id) => room === 'vip' && id === c1.id);
    a.emit('leave', '/', 'vip', c1.id);
    await l;
    assert.ok(!(await ack(c1, 'join', { room: 'team' })).includes('vip'));
    closeAll();
  });

  it('_disconnect: the client sees "io server disconnect"; close=true ends its connection', T, async () => {
    const { a } = await admin(server.url, { username: 'admin', password: PASSWORD });
    const c1 = await connected(client(server.url));
    const c2 = await connected(client(server.url));
    const d1 = once(c1, 'disconnect');
    a.emit('_disconnect', '/', false, c1.id);
    assert.equal((await d1)[0], 'io server disconnect');
    assert.equal(c2.connected, true);
    const d2 = once(c2, 'disconnect');
    a.emit('_disconnect', '/', true, c2.id);
    assert.equal((await d2)[0], 'transport close');
    closeAll();
  });

  it('server_stats: server id, pid, clients, namespaces with their socket counts', T, async () => {
    const c = await connected(client(server.url));
    const { a } = await admin(server.url, { username: 'admin', password: PASSWORD });
    const [stats] = await until(a, 'server_stats', (s) => s.namespaces.some((n) => n.name === '/' && n.socketsCount >= 1));
    assert.equal(typeof stats.serverId, 'string');
    assert.ok(stats.serverId.length > 0);
    assert.ok(Number.isInteger(stats.pid) && stats.pid > 0);
    assert.ok(stats.clientsCount >= 2, JSON.stringify(stats));
    assert.ok(stats.namespaces.some((n) => n.name === '/admin' && n.socketsCount >= 1));
    void c;
    closeAll();
  });
});

describe('admin UI sessions: expiry, limit, logins off the I/O thread', () => {
  let server;
  before(async () => {
    // cost 11: each check takes long enough (~0.1 s) that a blocked I/O thread would show
    server = await startServer(['--admin-user', 'admin', '--admin-password-hash', bcrypt.hashSync(PASSWORD, 11),
      '--session-ttl-ms', '3000', '--max-sessions', '2']);
  });
  after(async () => { closeAll(); if (server) await server.stop(); });

  async function refusedWith(auth) {
    const a = client(`${server.url}/admin`, { auth });
    const r = await Promise.race([once(a, 'connect').then(() => 'connected'), once(a, 'connect_error').then(([e]) => e.message)]);
    a.disconnect();
    return r;
  }

  it('the oldest session id is forgotten beyond max_sessions; all of them expire after session_ttl', T, async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await admin(server.url, { username: 'admin', password: PASSWORD })).got.session);
    assert.equal(new Set(ids).size, 3);
    assert.equal(await refusedWith({ sessionId: ids[0] }), 'invalid credentials');
    assert.equal(await refusedWith({ sessionId: ids[2] }), 'connected');
    // bounded wait for the TTL to pass (polling with the id itself would not renew it)
    let expired = false;
    for (let i = 0; i < 40 && !expired; i++) {
      await new Promise((r) => setTimeout(r, 250));
      expired = (await refusedWith({ sessionId: ids[2] })) === 'invalid credentials';
    }
    assert.ok(expired, 'the newest session expired');
    assert.equal(await refusedWith({ sessionId: ids[1] }), 'invalid credentials');
    // a new login works again, with a new session id
    assert.ok(!ids.includes((await admin(server.url, { username: 'admin', password: PASSWORD })).got.session));
    closeAll();
  });

  it('a client of the same single I/O thread is served while logins are being checked', T, async () => {
    const c = await connected(client(server.url));
    // ten logins at once (one right, nine wrong): one bcrypt check after the other on the
    // verifier thread, while the example's only I/O thread answers the echoes
    let answered = 0;
    const logins = [];
    for (let i = 0; i < 10; i++) {
      logins.push(refusedWith({ username: 'admin', password: i === 0 ? PASSWORD : 'wrong' }).then((r) => { answered += 1; return r; }));
    }
    const echoes = [];
    for (let i = 0; i < 5; i++) echoes.push(ack(c, 'echo', String(i)));
    assert.deepEqual(await Promise.all(echoes), ['0', '1', '2', '3', '4']);
    assert.ok(answered < 10, `the echoes waited for ${answered} logins`);
    const answers = await Promise.all(logins);
    assert.equal(answers[0], 'connected');
    assert.deepEqual(answers.slice(1), Array(9).fill('invalid credentials'));
    closeAll();
  });
});

describe('admin UI namespace, read-only and production mode', () => {
  let server;
  before(async () => {
    server = await startServer(['--admin-user', 'admin', '--admin-password-hash', HASH, '--read-only', '--production']);
  });
  after(async () => { closeAll(); if (server) await server.stop(); });

  it('offers no action and no per-event reports; actions are ignored; stats still come', T, async () => {
    const c = await connected(client(server.url));
    await ack(c, 'join', { room: 'lobby' });
    const { a, got } = await admin(server.url, { username: 'admin', password: PASSWORD });
    assert.deepEqual(got.config.supportedFeatures, []);
    let reports = 0;
    for (const ev of ['all_sockets', 'socket_connected', 'room_joined', 'event_received']) a.on(ev, () => { reports += 1; });
    a.emit('_disconnect', '/', false, c.id);
    a.emit('join', '/', 'vip', c.id);
    c.emit('greet', 'bob');
    // two stats rounds later (each 2 s) the actions had every chance to run
    await once(a, 'server_stats');
    await once(a, 'server_stats');
    assert.equal(c.connected, true);
    assert.deepEqual((await ack(c, 'join', { room: 'lobby' })).sort(), ['lobby', c.id].sort());
    assert.equal(reports, 0);
    closeAll();
  });
});

describe('admin UI options', () => {
  async function refused(args) {
    const child = spawn(SERVER, ['--port', '0', '--max-seconds', '5', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const [code] = await once(child, 'exit', 10000);
    return { code, err };
  }
  it('a password hash that is not bcrypt, no credentials, or a UI directory without the UI stop the server at start',
    T, async () => {
      let r = await refused(['--admin-user', 'admin', '--admin-password-hash', 'plaintext']);
      assert.equal(r.code, 2);
      assert.match(r.err, /not a bcrypt hash/);
      r = await refused([]);
      assert.equal(r.code, 2);
      assert.match(r.err, /set username and password_hash, or no_auth/);
      r = await refused(['--no-auth', '--admin-ui', '/nonexistent-admin-ui']);
      assert.equal(r.code, 2);
      assert.match(r.err, /no index.html in ui_dir/);
    });
});
