// The hello example answers `hello` with a greeting (socket.io-client 4.8, both transports).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('child_process');
const { io } = require('socket.io-client');

function startHello() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PORTICO_HELLO, ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('hello did not start')); }, 10000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }); }
    });
    child.on('exit', (code) => reject(new Error(`hello exited early (${code}): ${out}`)));
  });
}

for (const transports of [['polling', 'websocket'], ['websocket']]) {
  test(`hello answers with a greeting over ${transports.join('+')}`, async () => {
    const { child, port } = await startHello();
    const s = io(`http://127.0.0.1:${port}`, { transports, reconnection: false });
    try {
      assert.equal(await s.timeout(5000).emitWithAck('hello', 'world'), 'hello, world');
      // A body of the wrong type is a validation error, reported on `error` (code 1007).
      const err = new Promise((resolve) => s.once('error', resolve));
      s.emit('hello', 42);
      assert.equal((await err).code, 1007);
    } finally {
      s.close();
      child.kill('SIGTERM');
    }
  });
}
