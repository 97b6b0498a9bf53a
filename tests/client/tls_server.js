#!/usr/bin/env node
// npm socket.io 4.8 over https.createServer, for the C++ client's TLS tests (tls_tests.cpp).
// Usage: node tls_server.js --cert FILE --key FILE [--client-ca FILE] [--host 127.0.0.1|::1] [--port N]
//        [--max-seconds S]
// --client-ca: ask for a client certificate signed by FILE (and refuse connections without one).
'use strict';

const fs = require('fs');
const https = require('https');
const { Server } = require('socket.io');

const opts = { host: '127.0.0.1', port: 0, maxSeconds: 60, cert: '', key: '', clientCa: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const v = argv[i + 1];
  if (argv[i] === '--port') opts.port = Number(v);
  else if (argv[i] === '--max-seconds') opts.maxSeconds = Number(v);
  else if (argv[i] === '--cert') opts.cert = v;
  else if (argv[i] === '--key') opts.key = v;
  else if (argv[i] === '--client-ca') opts.clientCa = v;
  else if (argv[i] === '--host') opts.host = v;
  else throw new Error(`unknown argument ${argv[i]}`);
}

const tlsOptions = { cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) };
if (opts.clientCa) {
  tlsOptions.ca = fs.readFileSync(opts.clientCa);
  tlsOptions.requestCert = true;
  tlsOptions.rejectUnauthorized = true;
}
const httpsServer = https.createServer(tlsOptions);
const io = new Server(httpsServer, { serveClient: false });

// What the TLS socket of the Engine.IO handshake request saw (read now: with long-polling that
// connection is closed by the time the Socket.IO connection exists): SNI, the client certificate.
io.engine.on('initial_headers', (headers, req) => {
  const peer = req.socket.getPeerCertificate();
  req.porticoTls = { servername: req.socket.servername || '', client_cn: peer && peer.subject ? peer.subject.CN : '' };
});

io.on('connection', (socket) => {
  const seen = socket.request.porticoTls || { servername: '', client_cn: '' };
  socket.on('hello', (value, ack) => ack({
    echo: value,
    transport: socket.conn.transport.name,
    servername: seen.servername,
    client_cn: seen.client_cn,
  }));
  socket.on('transport', (ack) => ack(socket.conn.transport.name));
  // The server asks the client (with an ack) and reports the answer as an event.
  socket.on('ask', (n) => socket.emit('question', n, (answer) => socket.emit('answer', answer)));
});

function shutdown() {
  io.close();
  httpsServer.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
setTimeout(shutdown, opts.maxSeconds * 1000).unref();

httpsServer.listen(opts.port, opts.host, () => {
  process.stdout.write(`LISTENING ${httpsServer.address().port}\n`);
});
