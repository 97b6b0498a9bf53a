// End-to-end tests of gateways, the typed event registry, guards and errors with real
// socket.io-client 4.8 peers against tests/framework/gateway_server.cpp.
'use strict';
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { io } = require('socket.io-client');
const { startServer, once, record, emitAck, sleep, Clients } = require(path.join(__dirname, '..', '..', 'interop', 'node', 'support.js'));

const GOOD = { token: 's3cret' };
const ADMIN = { token: 's3cret', role: 'admin' };
let server;
let clients;

before(async () => { server = await startServer({ maxSeconds: 150 }); });
after(async () => { if (server) await server.stop(); });
afterEach(() => { if (clients) clients.closeAll(); });

function fresh(transport = ['websocket']) {
  clients = new Clients(server.url, { transports: transport });
  return clients;
}

async function stats() {
  const c = new Clients(server.url, { transports: ['websocket'] });
  try {
    const s = await c.connect('/admin');
    const [st] = await emitAck(s, 'stats');
    return st;
  } finally {
    c.closeAll();
  }
}

/// Polls `stats()` until `pred` holds (bounded).
async function waitStats(pred, ms = 3000) {
  const end = Date.now() + ms;
  let st = await stats();
  while (!pred(st) && Date.now() < end) {
    await sleep(50);
    st = await stats();
  }
  return st;
}

function connectError(socket) {
  return once(socket, 'connect_error').then(([e]) => e);
}

test('typed body: the value is the ack when one is asked', async () => {
  const s = await fresh().connect('/events', { auth: GOOD });
  const [reply] = await emitAck(s, 'events', { data: 'hello', extra: 1 });
  assert.deepEqual(reply, { data: 'hello' });
});

test('typed body without ack: emitted back to the sender only, on the same event', async () => {
  const c = fresh();
  const a = await c.connect('/events', { auth: GOOD });
  const b = await c.connect('/events', { auth: GOOD });
  const seenByB = record(b, 'events');
  const got = once(a, 'events');
  a.emit('events', { data: 'just me' });
  const [back] = await got;
  assert.deepEqual(back, { data: 'just me' });
  await sleep(200);
  assert.equal(seenByB.length, 0, 'another client must not receive the reply');
});

test('typed body validation failure: error event 1007 with the list, and an error ack', async () => {
  const s = await fresh().connect('/events', { auth: GOOD });
  const err = once(s, 'error');
  const [ack] = await emitAck(s, 'events', { data: 5 });
  const expected = { code: 1007, reason: [{ loc: [0, 'data'], msg: 'value is not a valid string', type: 'string_type' }] };
  assert.deepEqual(ack, { error: expected });
  assert.deepEqual((await err)[0], expected);
  // The connection stays usable.
  assert.deepEqual((await emitAck(s, 'events', { data: 'ok' }))[0], { data: 'ok' });
});

test('several arguments, optional trailing ones, and their errors', async () => {
  const s = await fresh().connect('/events', { auth: GOOD });
  assert.deepEqual(await emitAck(s, 'add', 2, 3), [5]);
  assert.deepEqual(await emitAck(s, 'add', 2, 3, 4), [9]);
  const [ack] = await emitAck(s, 'add', 'x');
  assert.equal(ack.error.code, 1007);
  assert.deepEqual(ack.error.reason, [
    { loc: [0], msg: 'value is not a valid integer', type: 'int_type' },
    { loc: [1], msg: 'field required', type: 'missing' },
  ]);
});

test('structs, raw JSON and binary parameters', async () => {
  const s = await fresh().connect('/events', { auth: GOOD });
  assert.deepEqual(await emitAck(s, 'move', { x: 1, y: 2 }, 10), [{ x: 11, y: 2 }]);
  assert.deepEqual(await emitAck(s, 'move', { x: 1, y: 2, label: 'p' }, 1), [{ x: 2, y: 2, label: 'p' }]);
  assert.deepEqual(await emitAck(s, 'raw', { any: ['thing', 1, null] }), [{ any: ['thing', 1, null] }]);
  assert.deepEqual(await emitAck(s, 'blob', Buffer.from([1, 2, 3, 4, 5])), [5]);
});

test('the context shows the handshake: query, headers, remote address, namespace, event', async () => {
  const s = await fresh().connect('/events', { auth: GOOD, query: { tag: 'q1' }, extraHeaders: { 'X-Test': 'h1' } });
  assert.deepEqual(await emitAck(s, 'where'), ['q1|h1|127.0.0.1|/events|where|ack']);
});

test('catch-all handler sees events without a subscription', async () => {
  const s = await fresh().connect('/events', { auth: GOOD });
  const got = once(s, 'unknown');
  s.emit('whatever', 1);
  assert.deepEqual(await got, ['whatever']);
});

test('ws_response to a room: only the room gets it; the handler guard lets the admin through', async () => {
  const c = fresh();
  const a = await c.connect('/events', { auth: GOOD });
  const b = await c.connect('/events', { auth: GOOD });
  const outsider = await c.connect('/events', { auth: GOOD });
  const admin = await c.connect('/events', { auth: ADMIN });
  assert.deepEqual(await emitAck(a, 'join', 'room1'), ['joined room1']);
  assert.deepEqual(await emitAck(b, 'join', 'room1'), ['joined room1']);
  const outsiderNews = record(outsider, 'news');
  const adminNews = record(admin, 'news');
  const na = once(a, 'news');
  const nb = once(b, 'news');
  admin.emit('broadcast', { data: 'to room1' });
  assert.deepEqual(await na, [{ data: 'to room1' }]);
  assert.deepEqual(await nb, [{ data: 'to room1' }]);
  await sleep(200);
  assert.equal(outsiderNews.length, 0);
  assert.equal(adminNews.length, 0, 'the admin is not in room1');
});

test('handler guard refusal: error event 1008, error ack, the handler does not run', async () => {
  const before = await stats();
  const s = await fresh().connect('/events', { auth: GOOD });
  const news = record(s, 'news');
  const err = once(s, 'error');
  const [ack] = await emitAck(s, 'broadcast', { data: 'nope' });
  assert.deepEqual(ack, { error: { code: 1008, reason: 'Forbidden' } });
  assert.deepEqual((await err)[0], { code: 1008, reason: 'Forbidden' });
  const afterStats = await stats();
  assert.equal(afterStats.guarded_runs, before.guarded_runs);
  assert.equal(news.length, 0);
});

test('class guard at the handshake: connect_error with data; the client never reaches a handler', async () => {
  const before = await stats();
  const c = fresh();
  // No token: the guard returns false.
  const s1 = c.make('/events', { auth: {} });
  const e1 = await connectError(s1);
  assert.equal(e1.message, 'Forbidden');
  assert.deepEqual(e1.data, { code: 1008, reason: 'Forbidden' });
  // A wrong token: the guard throws ws_exception(4003, "bad token").
  const s2 = c.make('/events', { auth: { token: 'wrong' } });
  const e2 = await connectError(s2);
  assert.equal(e2.message, 'bad token');
  assert.deepEqual(e2.data, { code: 4003, reason: 'bad token' });
  assert.equal(s1.connected || s2.connected, false);

  // A refused client that keeps its Engine.IO connection (another namespace holds it open)
  // forces EVENT packets for /events onto the wire: none may reach a handler.
  const { Manager } = require('socket.io-client');
  const manager = new Manager(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  const keeper = manager.socket('/admin');
  const refused = manager.socket('/events', { auth: { token: 'wrong' } });
  try {
    const welcomed = once(keeper, 'welcome');
    keeper.connect();
    await welcomed;
    const e3 = connectError(refused);
    refused.connect();
    assert.deepEqual((await e3).data, { code: 4003, reason: 'bad token' });
    assert.equal(manager.engine.readyState, 'open');
    manager.engine.write('2/events,["events",{"data":"sneaky"}]');
    manager.engine.write('2/events,1["boom"]');
    manager.engine.write('2/events,["visit"]');
    await sleep(300);
  } finally {
    keeper.disconnect();
    refused.disconnect();
    if (manager.engine) manager.engine.close();
  }
  const afterStats = await stats();
  assert.equal(afterStats.event_runs, before.event_runs, 'no handler of the gateway ran');
  assert.equal(afterStats.connects, before.connects, 'on_connected did not run either');
  assert.equal(afterStats.sessions_created, before.sessions_created);
});

test('global guards run first, at every gateway of the app', async () => {
  const c = fresh();
  // No token either: the class guard would say 1008; the global guard answers first.
  const e1 = await connectError(c.make('/events', { auth: { banned: 'yes' } }));
  assert.deepEqual(e1.data, { code: 4030, reason: 'banned' });
  const e2 = await connectError(c.make('/admin', { auth: { banned: 'yes' } }));
  assert.deepEqual(e2.data, { code: 4030, reason: 'banned' });
  await c.connect('/admin', { auth: { banned: 'no' } });
});

test('auth_as: a bad auth payload refuses the CONNECT with 1007 and the error list', async () => {
  const c = fresh();
  const e1 = await connectError(c.make('/typed', { auth: { user: 7 } }));
  assert.equal(e1.message, 'Invalid auth');
  assert.deepEqual(e1.data, {
    code: 1007,
    reason: [
      { loc: ['user'], msg: 'value is not a valid string', type: 'string_type' },
      { loc: ['level'], msg: 'field required', type: 'missing' },
    ],
  });
  const e2 = await connectError(c.make('/typed'));  // no auth at all: null is not an object
  assert.equal(e2.data.code, 1007);
  assert.equal(e2.data.reason[0].type, 'model_type');
  // A good one connects; the typed session holds it, after_init saw the namespace.
  const s = await c.connect('/typed', { auth: { user: 'ada', level: 3 } });
  assert.deepEqual(await emitAck(s, 'me'), [{ init: '/typed', level: '3', user: 'ada' }]);
});

test('a provider emits through the injected namespace handle, with no socket in hand', async () => {
  const c = fresh();
  const a = await c.connect('/typed', { auth: { user: 'a', level: 1 } });
  const b = await c.connect('/typed', { auth: { user: 'b', level: 1 } });
  const admin = await c.connect('/admin');
  const gotA = once(a, 'announcement');
  const gotB = once(b, 'announcement');
  const seenByAdmin = record(admin, 'announcement');
  assert.deepEqual(await emitAck(admin, 'announce', 'hello all'), [true]);
  assert.deepEqual(await gotA, ['hello all']);
  assert.deepEqual(await gotB, ['hello all']);
  assert.equal(seenByAdmin.length, 0, 'only the /typed namespace is addressed');
});

test('on_connected may refuse: false, or a ws_exception', async () => {
  const c = fresh();
  const e1 = await connectError(c.make('/events', { auth: { token: 's3cret', refuse: 'yes' } }));
  assert.deepEqual(e1.data, { code: 1008, reason: 'Connection refused' });
  const e2 = await connectError(c.make('/events', { auth: { token: 's3cret', refuse: 'throw' } }));
  assert.equal(e2.message, 'not today');
  assert.deepEqual(e2.data, { code: 4010, reason: 'not today' });
});

test('exceptions: ws_exception code and reason (any JSON), 1011 for others; the client stays connected', async () => {
  const s = await fresh().connect('/events', { auth: GOOD });
  let err = once(s, 'error');
  s.emit('too_big');
  assert.deepEqual((await err)[0], { code: 1009, reason: 'Message is too big' });
  err = once(s, 'error');
  s.emit('rich_error');
  assert.deepEqual((await err)[0], { code: 4000, reason: { data: 'structured' } });
  err = once(s, 'error');
  const [ack] = await emitAck(s, 'boom');
  assert.deepEqual(ack, { error: { code: 1011, reason: 'Something went wrong' } });
  assert.deepEqual((await err)[0], { code: 1011, reason: 'Something went wrong' });
  assert.ok(!/secret detail/.test(JSON.stringify(ack)), 'the real message stays on the server');
  assert.equal(s.connected, true);
  assert.deepEqual((await emitAck(s, 'events', { data: 'still here' }))[0], { data: 'still here' });
  assert.match(server.stderr(), /secret detail/, 'the real message is logged');
});

test('gateway option disconnect_on_error: the error is sent, then the client is disconnected', async () => {
  const s = await fresh().connect('/strict');
  const err = once(s, 'error');
  const gone = once(s, 'disconnect');
  s.emit('fail');
  assert.deepEqual((await err)[0], { code: 4400, reason: 'strict' });
  assert.equal((await gone)[0], 'io server disconnect');
});

test('per-connection scope: one Session per connection, destroyed at disconnect', async () => {
  const base = await waitStats((st) => st.live_sessions === 0);
  assert.equal(base.live_sessions, 0);
  const c = fresh();
  const a = await c.connect('/events', { auth: GOOD });
  const b = await c.connect('/events', { auth: GOOD });
  assert.deepEqual(await emitAck(a, 'visit'), [1]);
  assert.deepEqual(await emitAck(a, 'visit'), [2]);
  assert.deepEqual(await emitAck(b, 'visit'), [1], 'another connection has its own Session');
  let st = await stats();
  assert.equal(st.live_sessions, 2);
  assert.equal(st.sessions_created, base.sessions_created + 2);
  a.disconnect();
  st = await waitStats((x) => x.live_sessions === 1);
  assert.equal(st.live_sessions, 1);
  b.disconnect();
  st = await waitStats((x) => x.live_sessions === 0);
  assert.equal(st.live_sessions, 0);
  assert.equal(st.disconnects >= base.disconnects + 2, true);
});

test('two gateways, two namespaces of one path, over one Engine.IO connection', async () => {
  const manager = new (require('socket.io-client').Manager)(server.url, { transports: ['polling', 'websocket'], reconnection: false, forceNew: true });
  const ev = manager.socket('/events', { auth: GOOD });
  const adm = manager.socket('/admin');
  try {
    const w1 = once(ev, 'welcome');
    const w2 = once(adm, 'welcome');
    ev.connect();
    adm.connect();
    await Promise.all([w1, w2]);
    assert.equal(ev.io, adm.io, 'one manager, one connection');
    assert.deepEqual((await emitAck(ev, 'events', { data: 'x' }))[0], { data: 'x' });
    const [st] = await emitAck(adm, 'stats');
    assert.equal(typeof st.event_runs, 'number');
    // An event of one gateway is unknown to the other.
    const quiet = record(adm, 'events');
    adm.emit('events', { data: 'wrong namespace' });
    await sleep(200);
    assert.equal(quiet.length, 0);
  } finally {
    ev.disconnect();
    adm.disconnect();
    manager.engine && manager.engine.close();
  }
});

test('gateway_context broadcast with ack: the caller gets every other room member\'s answer', async () => {
  const c = fresh();
  const [a, b, caller] = await Promise.all([1, 2, 3].map(() => c.connect('/events', { auth: GOOD })));
  for (const s of [a, b, caller]) assert.deepEqual(await emitAck(s, 'join', 'pollers'), ['joined pollers']);
  a.on('poll', (from, cb) => cb({ me: 'a', from }));
  b.on('poll', (from, cb) => cb({ me: 'b', from }));
  const callerPolls = record(caller, 'poll');
  const [status, responses] = await emitAck(caller, 'poll', 'pollers');
  assert.equal(status, 'ok');
  assert.deepEqual(responses.map((r) => r.me).sort(), ['a', 'b']);
  assert.ok(responses.every((r) => r.from === caller.id), 'each member saw the caller\'s sid');
  assert.equal(callerPolls.length, 0, 'ctx.to(room) leaves the caller out');
});

test('slow handler on the worker pool: acked later, the I/O thread keeps serving', async () => {
  const s = await fresh().connect('/events', { auth: GOOD });
  const order = [];
  const slow = emitAck(s, 'slow', 21).then((r) => { order.push('slow'); return r; });
  const fast = emitAck(s, 'events', { data: 'fast' }).then((r) => { order.push('fast'); return r; });
  assert.deepEqual(await slow, [42]);
  assert.deepEqual((await fast)[0], { data: 'fast' });
  assert.deepEqual(order, ['fast', 'slow']);
});

test('polling transport works the same', async () => {
  const s = await fresh(['polling']).connect('/events', { auth: GOOD });
  assert.deepEqual(await emitAck(s, 'events', { data: 'polled' }), [{ data: 'polled' }]);
});

test('debug mode (app_options::debug): the 1011 reason is the real message', async () => {
  const saved = process.env.PORTICO_INTEROP_SERVER;
  process.env.PORTICO_INTEROP_SERVER = `${saved} --debug`;
  let dbg;
  try {
    dbg = await startServer({ maxSeconds: 60 });
  } finally {
    process.env.PORTICO_INTEROP_SERVER = saved;
  }
  const c = new Clients(dbg.url, { transports: ['websocket'] });
  try {
    const s = await c.connect('/events', { auth: GOOD });
    const [ack] = await emitAck(s, 'boom');
    assert.deepEqual(ack, { error: { code: 1011, reason: 'secret detail' } });
  } finally {
    c.closeAll();
    await dbg.stop();
  }
});

/// The reason the server's on_disconnected got for `sid` (polled: it runs after the client sees its end).
async function serverReason(sid) {
  const c = new Clients(server.url, { transports: ['websocket'] });
  try {
    const admin = await c.connect('/admin');
    const end = Date.now() + 3000;
    let [r] = await emitAck(admin, 'reason', sid);
    while (r === '' && Date.now() < end) {
      await sleep(50);
      [r] = await emitAck(admin, 'reason', sid);
    }
    return r;
  } finally {
    c.closeAll();
  }
}

for (const transport of ['websocket', 'polling']) {
  test(`disconnect reasons (${transport}): on_disconnected on the server, 'disconnect' at the client`, async () => {
    const c = fresh([transport]);
    // ctx.disconnect(): this namespace only.
    let s = await c.connect('/bye');
    let gone = once(s, 'disconnect');
    s.emit('leave');
    assert.equal((await gone)[0], 'io server disconnect');
    assert.equal(await serverReason(s.welcome), 'server namespace disconnect');
    // close_connection(): the whole connection; the server goes on.
    s = await c.connect('/bye');
    gone = once(s, 'disconnect');
    s.emit('drop');
    assert.equal((await gone)[0], 'transport close');
    assert.equal(await serverReason(s.welcome), 'forced close');
    // The client leaves.
    s = await c.connect('/bye');
    s.disconnect();
    assert.equal(await serverReason(s.welcome), 'client namespace disconnect');
    // The std::string_view form of on_disconnected gets the same texts.
    s = await c.connect('/strict');
    gone = once(s, 'disconnect');
    s.emit('fail');
    assert.equal((await gone)[0], 'io server disconnect');
    assert.equal(await serverReason(s.welcome), 'server namespace disconnect');
  });
}

test("app stop(): on_disconnected gets 'server shutting down', the client 'transport close'", async () => {
  const own = await startServer({ maxSeconds: 60 });
  let out = '';
  own.child.stdout.on('data', (d) => { out += d; });
  const closed = new Promise((r) => own.child.once('close', r));
  const c = new Clients(own.url, {});
  try {
    const ws = await c.connect('/bye', { transports: ['websocket'] });
    const polling = await c.connect('/strict', { transports: ['polling'] });
    const goneWs = once(ws, 'disconnect');
    const gonePolling = once(polling, 'disconnect');
    own.child.kill('SIGTERM');  // the server calls app.stop()
    assert.equal((await goneWs)[0], 'transport close');
    assert.equal((await gonePolling)[0], 'transport close');
    await Promise.race([closed, sleep(5000)]);  // 'close': its stdout is read to the end
    assert.ok(out.includes(`DISCONNECTED /bye ${ws.welcome} server shutting down\n`), out);
    assert.ok(out.includes(`DISCONNECTED /strict ${polling.welcome} server shutting down\n`), out);
  } finally {
    c.closeAll();
    await own.stop();
  }
});

test('exception filters: class filter -> error event; handler filter -> ack; interceptor transforms the ack', async () => {
  const s = await fresh().connect('/policies');
  // Class filter: the error event carries the filter's payload, and no error ack is sent.
  const err = once(s, 'error');
  s.emit('refuse', { data: 'tea' });
  assert.deepEqual((await err)[0], { data: 'refused: tea' });
  // Handler filter, tried before the class's: the answer is the ack, no error event.
  const errors = record(s, 'error');
  const [ack] = await emitAck(s, 'refuse_ack', { data: 'coffee' });
  assert.deepEqual(ack, { data: 'coffee' });
  // Interceptor: the handler's value, upper-cased, is the ack (packets in order: an error event
  // sent for refuse_ack would have arrived before this answer).
  const [loud] = await emitAck(s, 'shout', { data: 'hello' });
  assert.deepEqual(loud, { data: 'HELLO' });
  assert.equal(errors.length, 0);
});

test('CONNECT filters word the connect_error of a class guard refusal and of on_connected', async () => {
  const c = fresh();
  // The guard returns false: 1008, worded by the CONNECT-only class filter.
  const e1 = await connectError(c.make('/policies', { auth: { door: 'closed' } }));
  assert.equal(e1.message, 'the door is closed');
  assert.deepEqual(e1.data, { code: 1008 });
  // The guard throws: the class filter's CONNECT overload answers.
  const e2 = await connectError(c.make('/policies', { auth: { door: 'refused' } }));
  assert.equal(e2.message, 'refused');
  assert.deepEqual(e2.data, { data: 'at the door' });
  // on_connected throws: the same filter.
  const e3 = await connectError(c.make('/policies', { auth: { door: 'late' } }));
  assert.equal(e3.message, 'refused');
  assert.deepEqual(e3.data, { data: 'in on_connected' });
  // What no filter catches keeps the built-in answer.
  const e4 = await connectError(c.make('/policies', { auth: { door: 'broken' } }));
  assert.equal(e4.message, 'Something went wrong');
  assert.deepEqual(e4.data, { code: 1011, reason: 'Something went wrong' });
  // The app's global guard refuses first; its ws_exception is worded by the gateway's filter too.
  const e5 = await connectError(c.make('/policies', { auth: { banned: 'yes' } }));
  assert.equal(e5.message, 'the door is closed');
  assert.deepEqual(e5.data, { code: 4030 });
  // An open door: connected, and handlers keep their own filters.
  const s = await c.connect('/policies', { auth: { door: 'open' } });
  const [ack] = await emitAck(s, 'refuse_ack', { data: 'coffee' });
  assert.deepEqual(ack, { data: 'coffee' });
});
