// Benchmark peer: npm socket.io 4.8 on uWebSockets.js (npm `uwebsockets` 3.0.6, a packaging of the
// uWebSockets.js binaries that loads on Node 20) via io.attachApp(app), with the same events as
// bench/portico_server.cpp. Bench-only: installed in bench/node/ by bench/run (bench/node-setup).
// Usage: node node_uws_server.js [port]   (prints "PORT <n>")
'use strict';
const path = require('path');
const modules = path.join(__dirname, 'node', 'node_modules');
const uWS = require(path.join(modules, 'uwebsockets'));
const { Server } = require(path.join(modules, 'socket.io'));

const app = uWS.App();
const io = new Server();
io.attachApp(app);
io.on('connection', (socket) => {
  socket.on('echo', (data, cb) => { if (typeof cb === 'function') cb(data); });
  socket.on('join', (cb) => { socket.join('bench'); if (typeof cb === 'function') cb(true); });
  socket.on('fanout', (data) => { io.to('bench').emit('fanout', data); });
});
app.listen('127.0.0.1', Number(process.argv[2] || 0), (token) => {
  if (!token) { process.stderr.write('listen failed\n'); process.exit(1); }
  process.stdout.write(`PORT ${uWS.us_socket_local_port(token)}\n`);
});
