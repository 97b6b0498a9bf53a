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

module.exports = { freePort, startRedis, stop: stopServer, sleep };
