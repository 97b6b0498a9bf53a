// Benchmark peer: npm socket.io 4.8 (ws engine, default parser) with the same events as
// bench/portico_server.cpp. Usage: node node_server.js [port]   (prints "PORT <n>")
'use strict';
const path = require('path');
const http = require('http');
const { Server } = require(path.join(__dirname, '..', 'tests', 'interop', 'node_modules', 'socket.io'));

const httpServer = http.createServer();
const io = new Server(httpServer);
io.on('connection', (socket) => {
  socket.on('echo', (data, cb) => { if (typeof cb === 'function') cb(data); });
  socket.on('join', (cb) => { socket.join('bench'); if (typeof cb === 'function') cb(true); });
  socket.on('fanout', (data) => { io.to('bench').emit('fanout', data); });
});
httpServer.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  process.stdout.write(`PORT ${httpServer.address().port}\n`);
});
