#!/usr/bin/env node
// Reference implementation of the interop server contract on npm `socket.io` 4.8.
//
// The interop suites (node/ and python/) are validated against this server so that a
// failure against the C++ `interop_server` points at portico, not at the tests.
// Usage: node reference_server.js [--port N] [--max-seconds S] [--ping-interval MS] [--ping-timeout MS]
//        [--allow-eio3] [--recovery-ms MS]
// --allow-eio3 also serves socket.io-client 2.x with interop_server's contract for it: the auth is
// the CONNECT query, on "/" the handshake's query; a refusal carries the message only.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

function parseArgs(argv) {
  const opts = { port: 0, maxSeconds: 120, allowEIO3: false, pingInterval: 25000, pingTimeout: 20000 };
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${argv[i]}`);
      return argv[++i];
    };
    if (argv[i] === '--port') opts.port = Number(next());
    else if (argv[i] === '--max-seconds') opts.maxSeconds = Number(next());
    else if (argv[i] === '--allow-eio3') opts.allowEIO3 = true;
    else if (argv[i] === '--ping-interval') opts.pingInterval = Number(next());
    else if (argv[i] === '--ping-timeout') opts.pingTimeout = Number(next());
    else if (argv[i] === '--recovery-ms') opts.recoveryMs = Number(next());
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const httpServer = http.createServer();
// CORS for any origin, as interop_server does: the browser test also runs from another origin.
const io = new Server(httpServer, {
  serveClient: false, cors: { origin: '*' }, allowEIO3: opts.allowEIO3,
  pingInterval: opts.pingInterval, pingTimeout: opts.pingTimeout,
  connectionStateRecovery: opts.recoveryMs ? { maxDisconnectionDuration: opts.recoveryMs } : undefined,
});

const ENGINE_PARAMS = new Set(['EIO', 'transport', 't', 'sid', 'b64', 'j']);
/// The auth as interop_server reports it: for a protocol v4 client on "/" (socket.io gives {}
/// there) the handshake's query without Engine.IO's own parameters.
function authOf(socket) {
  if (socket.conn.protocol !== 3 || socket.nsp.name !== '/') return socket.handshake.auth;
  return Object.fromEntries(Object.entries(socket.handshake.query).filter(([k]) => !ENGINE_PARAMS.has(k)));
}

// Events with a dedicated handler; everything else goes to the catch-all.
const KNOWN = new Set(['echo', 'ack', 'join', 'leave', 'to_room', 'broadcast', 'ask',
  'drop_me', 'disconnect_me', 'rooms', 'session_set', 'session_get', 'transport',
  'recovered']);

/// Splits socket.io's trailing ack callback from the event arguments.
function splitAck(args) {
  if (args.length && typeof args[args.length - 1] === 'function') {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, () => {}];
}

function setup(nsp) {
  nsp.use((socket, next) => {
    const auth = authOf(socket);
    if (auth && typeof auth === 'object' && auth.token === 'bad') {
      const err = new Error('not authorized');
      // socket.io sends a protocol v4 client the data instead of the message when there is any
      if (socket.conn.protocol !== 3) err.data = { code: 42 };
      return next(err);
    }
    next();
  });

  nsp.on('connection', (socket) => {
    // No auth and an empty object both report null (python-socketio always sends {};
    // socket.io turns a missing payload into {} anyway).
    const auth = authOf(socket);
    const reported = auth && typeof auth === 'object' && Object.keys(auth).length === 0 ? null : auth;
    if (!socket.recovered) socket.data.session = null;  // a recovered socket has its session back
    socket.emit('welcome', { sid: socket.id, auth: reported });

    socket.on('echo', (...args) => {
      const [payload] = splitAck(args);
      socket.emit('echo', ...payload);
    });
    socket.on('ack', (...args) => {
      const [payload, ack] = splitAck(args);
      ack(...payload);
    });
    socket.on('join', (...args) => {
      const [[room], ack] = splitAck(args);
      socket.join(room);
      ack(true);
    });
    socket.on('leave', (...args) => {
      const [[room], ack] = splitAck(args);
      socket.leave(room);
      ack(true);
    });
    socket.on('to_room', (...args) => {
      const [[room, msg], ack] = splitAck(args);
      socket.to(room).emit('room_msg', msg);
      ack(true);
    });
    socket.on('broadcast', (...args) => {
      const [[msg]] = splitAck(args);
      nsp.emit('broadcast', msg);
    });
    socket.on('ask', (...args) => {
      const [[x]] = splitAck(args);
      socket.timeout(5000).emit('question', x, (err, ...answer) => {
        if (err) socket.emit('answer', 'timeout');
        else socket.emit('answer', ...answer);
      });
    });
    socket.on('drop_me', () => socket.conn.close());
    socket.on('disconnect_me', () => socket.disconnect(false));
    socket.on('rooms', (...args) => {
      const [, ack] = splitAck(args);
      ack([...socket.rooms].sort());
    });
    socket.on('session_set', (...args) => {
      const [[obj], ack] = splitAck(args);
      socket.data.session = obj === undefined ? null : obj;
      ack(true);
    });
    socket.on('session_get', (...args) => {
      const [, ack] = splitAck(args);
      ack(socket.data.session);
    });
    socket.on('recovered', (...args) => {
      const [, ack] = splitAck(args);
      ack(socket.recovered);
    });
    socket.on('transport', (...args) => {
      const [, ack] = splitAck(args);
      ack(socket.conn.transport.name);
    });
    socket.onAny((event, ...args) => {
      if (KNOWN.has(event)) return;
      const [payload] = splitAck(args);
      socket.emit('unknown', event, payload);
    });
  });
}

setup(io.of('/'));
setup(io.of('/admin'));

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
