// examples/chat --allow-eio3 with npm socket.io-client 2.5 (Engine.IO v3, Socket.IO protocol v4)
// next to socket.io-client 4.8, on every transport: `/` acks `echo`, `/chat` acks `whoami`, and
// a v2 and a v4 user chat in one room. The page and its 4.x bundle are still served.
'use strict';

const { spawn } = require('child_process');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const io2 = require('socket.io-client-v2');
const { io } = require('socket.io-client');

const SERVER = process.env.PORTICO_CHAT_SERVER || process.argv.slice(2).find((a) => !a.startsWith('-'));
const T = { timeout: 30000 };

/// Spawns `chat --allow-eio3` on an ephemeral port; resolves once it printed `LISTENING <port>`.
function startChat() {
  if (!SERVER) throw new Error('set PORTICO_CHAT_SERVER to the examples/chat executable');
  const child = spawn(SERVER, ['--allow-eio3', '--port', '0', '--max-seconds', '90'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no LISTENING within 10 s: ${out}${err}`)); }, 10000);
    child.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`chat exited early (${code}, ${sig}): ${err}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, url: `http://127.0.0.1:${m[1]}`, stderr: () => err });
      }
    });
  });
}

/// SIGTERM by pid, SIGKILL after 3 s; resolves with the exit code (null when killed). The pid is
/// polled as well: node may end the test's event loop before the 'exit' event.
function stopChat(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    let poll;
    const done = (code) => { clearTimeout(killer); clearInterval(poll); resolve(code); };
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    poll = setInterval(() => {
      try { process.kill(child.pid, 0); } catch { setTimeout(() => done(child.exitCode), 200); }
    }, 50);
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}

/// Resolves with the arguments of the next `event`, or rejects after 10 s.
function once(emitter, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${event}'`)), 10000);
    emitter.once(event, (...a) => { clearTimeout(timer); resolve(a); });
  });
}

/// Emits with an ack callback (either client generation); rejects after 10 s.
function ack(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for '${event}'`)), 10000);
    socket.emit(event, ...args, (...reply) => { clearTimeout(timer); resolve(reply); });
  });
}

const MODES = [
  { name: 'websocket only', transports: ['websocket'] },
  { name: 'polling only', transports: ['polling'] },
  { name: 'polling upgrade', transports: ['polling', 'websocket'] },
];

describe('examples/chat --allow-eio3 serves socket.io-client 2.x next to 4.x', () => {
  let server;
  const sockets = [];
  const v2 = (nsp, transports) => {
    const s = io2(server.url + nsp, { forceNew: true, reconnection: false, transports });
    sockets.push(s);
    return s;
  };
  const v4 = (nsp, transports) => {
    const s = io(server.url + nsp, { forceNew: true, reconnection: false, transports });
    sockets.push(s);
    return s;
  };

  before(async () => { server = await startChat(); });
  after(async () => {
    for (const s of sockets) s.close();
    if (server) assert.equal(await stopChat(server.child), 0, `chat did not exit cleanly: ${server.stderr()}`);
  });

  it('still serves the page and the 4.x bundle', T, async () => {
    const page = await fetch(server.url + '/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /socket\.io/);
    const bundle = await fetch(server.url + '/socket.io.min.js');
    assert.equal(bundle.status, 200);
    assert.ok((await bundle.text()).length > 1000);
  });

  for (const mode of MODES) {
    it(`${mode.name}: "/" echo and "/chat" whoami ack a 2.x client`, T, async () => {
      const root = v2('/', mode.transports);
      await once(root, 'connect');
      assert.deepEqual(await ack(root, 'echo', { hello: 'v2', n: [1, 2] }), [{ hello: 'v2', n: [1, 2] }]);
      const chat = v2('/chat', mode.transports);
      const [status] = await once(chat, 'status');
      assert.equal(status.msg, `connected as ${chat.id}`, 'the server and the 2.x client agree on the socket id');
      const [me] = await ack(chat, 'whoami');
      assert.equal(me.sid, chat.id);
      assert.equal(me.sid, `/chat#${chat.io.engine.id}`);
    });

    it(`${mode.name}: a 2.x and a 4.x user chat in one room`, T, async () => {
      const room = `mixed ${mode.name}`;
      const old = v2('/chat', mode.transports);
      const modern = v4('/chat', mode.transports);
      await Promise.all([once(old, 'connect'), once(modern, 'connect')]);
      assert.deepEqual(await ack(old, 'join', { room, name: 'old' }), [{ room, members: '1' }]);
      assert.deepEqual(await ack(modern, 'join', { room, name: 'new' }), [{ room, members: '2' }]);
      const heard = [once(old, 'chat'), once(modern, 'chat')];
      assert.deepEqual(await ack(old, 'text', { room, msg: 'from 2.x' }), [{ ok: 'true' }]);
      for (const h of heard) assert.deepEqual(await h, [{ room, name: 'old', msg: 'from 2.x' }]);
      const heard2 = [once(old, 'chat'), once(modern, 'chat')];
      assert.deepEqual(await ack(modern, 'text', { room, msg: 'from 4.x' }), [{ ok: 'true' }]);
      for (const h of heard2) assert.deepEqual(await h, [{ room, name: 'new', msg: 'from 4.x' }]);
      old.close();
      modern.close();
    });
  }
});
