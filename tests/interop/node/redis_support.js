// What the Redis interop tests share: a private redis-server on a free loopback port (no
// persistence, stopped by pid), started and waited for; stopping goes through support.js.
'use strict';

const net = require('net');
const { spawn } = require('child_process');
const { stopServer, sleep } = require('./support');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

/// Starts REDIS_SERVER (or redis-server) on `port` and resolves once it accepts connections.
async function startRedis(port) {
  const exe = process.env.REDIS_SERVER || 'redis-server';
  const child = spawn(exe, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error('redis-server exited');
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return child;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

/// Starts a portico program that prints `LISTENING <port>` when ready; resolves with
/// { child, port, stderr() }, rejects if it exits first or is not ready within 10 s.
function startListening(exe, args) {
  if (!exe) throw new Error('no program to start (environment variable not set)');
  const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('member did not start: ' + err)); }, 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) { clearTimeout(timer); child.stdout.resume(); resolve({ child, port: Number(m[1]), stderr: () => err }); }
    });
    child.on('exit', () => { clearTimeout(timer); reject(new Error('member exited: ' + err)); });
  });
}

/// A socket.io-client on `/` over websocket, resolved once connected.
function client(port) {
  const { io: connect } = require('socket.io-client');
  const s = connect(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, timeout: 5000, transports: ['websocket'] });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

function ack(socket, ev, ...args) {
  return socket.timeout(5000).emitWithAck(ev, ...args);
}

/// Every `ev` a socket receives, in order.
function record(socket, ev) {
  const got = [];
  socket.on(ev, (...a) => got.push(a));
  return got;
}

/// Polls `pred` until it holds (true) or `ms` pass (false).
async function until(pred, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(50);
  }
  return false;
}

/// A Node socket.io server on a free loopback port whose adapter is `makeAdapter(pub, sub)`, two
/// node-redis clients on `redisPort` (errors while Redis is away are ignored: the test checks
/// behaviour). The caller closes `io` and quits `pub` and `sub`.
async function startNodeServer(redisPort, makeAdapter) {
  const http = require('http');
  const { Server } = require('socket.io');
  const { createClient } = require('redis');
  const pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: makeAdapter(pub, sub) });
  await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
  return { io, pub, sub, port: httpServer.address().port };
}

module.exports = { freePort, startRedis, stop: stopServer, sleep, startListening, client, ack, record, until, startNodeServer };
