// Smoke test of the events_gateway example with socket.io-client 4.8: each step of the
// walkthrough in events_gateway.cpp behaves as its comments say.
'use strict';
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { startServer, once, emitAck, Clients } = require(path.join(__dirname, '..', '..', 'tests', 'interop', 'node', 'support.js'));

let server;
let clients;
before(async () => { server = await startServer({ maxSeconds: 60 }); });
after(async () => { if (server) await server.stop(); });
afterEach(() => { if (clients) clients.closeAll(); });

const AUTH = { auth: { token: 'let-me-in' } };

test('walkthrough: echo, typed body, reply, context, errors, guards', async () => {
  clients = new Clients(server.url, { transports: ['websocket'] });
  const s = await clients.connect('/events', AUTH);
  assert.deepEqual(s.welcome, { data: 'Connected' });
  assert.deepEqual(await emitAck(s, 'echo', 'hi'), ['hi']);
  assert.deepEqual(await emitAck(s, 'events', { data: 'x' }), [{ data: 'x' }]);
  let got = once(s, 'events');
  s.emit('reply', { data: 'y' });
  assert.deepEqual(await got, [{ data: 'y' }]);
  got = once(s, 'my_custom_event');
  s.emit('whoami');
  assert.match((await got)[0], new RegExp(`^${s.id} from 127\\.0\\.0\\.1`));
  let err = once(s, 'error');
  s.emit('events', { data: 42 });
  assert.equal((await err)[0].code, 1007);
  err = once(s, 'error');
  s.emit('too_big');
  assert.deepEqual((await err)[0], { code: 1009, reason: 'Message is too big' });
  err = once(s, 'error');
  s.emit('announce', { data: 'z' });
  assert.deepEqual((await err)[0], { code: 4003, reason: 'admins only' });
  const admin = await clients.connect('/events', { auth: { token: 'let-me-in', admin: true } });
  got = once(s, 'news');
  admin.emit('announce', { data: 'hello all' });
  assert.deepEqual(await got, [{ data: 'hello all' }]);
});

test('walkthrough: no token, no connection', async () => {
  clients = new Clients(server.url, { transports: ['websocket'] });
  const s = clients.make('/events', { auth: { token: 'nope' } });
  const [e] = await once(s, 'connect_error');
  assert.deepEqual(e.data, { code: 1008, reason: 'Forbidden' });
});
