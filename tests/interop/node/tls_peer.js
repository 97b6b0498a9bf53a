#!/usr/bin/env node
// npm socket.io-client 4.8 over TLS against any server: long-polling, websocket, and long-polling
// upgraded to websocket, each trusting only the CA file given; then a client trusting another CA
// must fail verification. Server contract: an event `transport` acknowledged with the name of the
// Engine.IO transport in use (portico's interop_server and tests/client/tls_server.js both have it).
//
// Usage: node tls_peer.js URL CA_FILE [--other-ca FILE]
//   e.g.  node tls_peer.js https://localhost:8443 /tmp/certs/ca.pem --other-ca /tmp/certs/other-ca.pem
// Prints one line per check ("ok ..." / "not ok ..."); exits 0 when all passed. Bounded: 60 s.
'use strict';

const fs = require('fs');
const { io } = require('socket.io-client');

const argv = process.argv.slice(2);
if (argv.length < 2) {
  console.error('usage: node tls_peer.js URL CA_FILE [--other-ca FILE]');
  process.exit(2);
}
const [url, caFile] = argv;
let otherCa = '';
for (let i = 2; i < argv.length; i += 2) {
  if (argv[i] === '--other-ca') otherCa = argv[i + 1];
  else throw new Error(`unknown argument ${argv[i]}`);
}
setTimeout(() => {
  console.error('tls_peer.js: no result within 60 s');
  process.exit(1);
}, 60000).unref();

const WAIT = 10000;

function connect(ca, transports) {
  return io(url, { ca: fs.readFileSync(ca), transports, reconnection: false, forceNew: true, timeout: WAIT });
}

function once(socket, ok, fail) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), WAIT);
    socket.once(ok, (v) => { clearTimeout(timer); resolve(v); });
    if (fail) socket.once(fail, (e) => { clearTimeout(timer); reject(e); });
  });
}

async function transportCheck(name, transports, expected) {
  const socket = connect(caFile, transports);
  try {
    await once(socket, 'connect', 'connect_error');
    if (expected === 'websocket' && socket.io.engine.transport.name !== 'websocket')
      await once(socket.io.engine, 'upgrade');
    const seen = await socket.timeout(WAIT).emitWithAck('transport');
    if (seen !== expected) throw new Error(`server saw transport ${seen}, expected ${expected}`);
    console.log(`ok ${name}: connected over TLS, transport ${seen}`);
    return true;
  } catch (e) {
    console.log(`not ok ${name}: ${e.message}`);
    return false;
  } finally {
    socket.close();
  }
}

async function wrongCaCheck() {
  const socket = connect(otherCa, ['websocket']);
  try {
    await once(socket, 'connect_error', 'connect');
    console.log('ok wrong CA: connect_error (certificate not trusted)');
    return true;
  } catch (e) {
    console.log(`not ok wrong CA: ${e && e.message ? e.message : 'connected'}`);
    return false;
  } finally {
    socket.close();
  }
}

(async () => {
  const results = [
    await transportCheck('polling', ['polling'], 'polling'),
    await transportCheck('websocket', ['websocket'], 'websocket'),
    await transportCheck('polling + upgrade', ['polling', 'websocket'], 'websocket'),
  ];
  if (otherCa) results.push(await wrongCaCheck());
  process.exit(results.every(Boolean) ? 0 : 1);
})();
