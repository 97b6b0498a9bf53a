#!/usr/bin/env node
// A second npm socket.io 4.8 server for client tests that the interop contract cannot cover:
// it reports the handshake (headers, query, auth) and uses short heartbeats.
// Usage: node extra_server.js [--port N] [--ping-interval MS] [--ping-timeout MS] [--max-seconds S]
'use strict';

const http = require('http');
const { Server } = require('socket.io');

const opts = { port: 0, pingInterval: 300, pingTimeout: 300, maxSeconds: 120 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const v = Number(argv[i + 1]);
  if (argv[i] === '--port') opts.port = v;
  else if (argv[i] === '--ping-interval') opts.pingInterval = v;
  else if (argv[i] === '--ping-timeout') opts.pingTimeout = v;
  else if (argv[i] === '--max-seconds') opts.maxSeconds = v;
  else throw new Error(`unknown argument ${argv[i]}`);
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  serveClient: false, pingInterval: opts.pingInterval, pingTimeout: opts.pingTimeout,
});

io.on('connection', (socket) => {
  socket.emit('handshake', {
    headers: socket.handshake.headers,
    query: socket.handshake.query,
    auth: socket.handshake.auth,
  });
  // Counts pongs: the server closes with "ping timeout" when the client stops answering.
  socket.conn.on('close', (reason) => console.log(`CLOSED ${reason}`));
});

function shutdown() {
  io.close();
  httpServer.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
setTimeout(shutdown, opts.maxSeconds * 1000).unref();

httpServer.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});
