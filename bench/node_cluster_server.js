// Benchmark peer for the cross-process fan-out: npm socket.io 4.8 with @socket.io/redis-adapter
// 8.3 (classic createAdapter, node-redis clients), the same "join" and "fanout" events as
// bench/portico_cluster_server.cpp. Usage: node node_cluster_server.js REDIS_PORT [port]
// (prints "PORT <n>" once listening and subscribed)
'use strict';
const path = require('path');
const http = require('http');
const nm = path.join(__dirname, '..', 'tests', 'interop', 'node_modules');
const { Server } = require(path.join(nm, 'socket.io'));
const { createAdapter } = require(path.join(nm, '@socket.io', 'redis-adapter'));
const { createClient } = require(path.join(nm, 'redis'));

async function main() {
  const url = `redis://127.0.0.1:${Number(process.argv[2])}`;
  const pub = createClient({ url });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
  io.on('connection', (socket) => {
    socket.on('join', (cb) => { socket.join('bench'); if (typeof cb === 'function') cb(true); });
    socket.on('fanout', (data) => { io.to('bench').emit('fanout', data); });
  });
  httpServer.listen(Number(process.argv[3] || 0), '127.0.0.1', () => {
    process.stdout.write(`PORT ${httpServer.address().port}\n`);
  });
}
main().catch((e) => { console.error(e); process.exit(1); });
