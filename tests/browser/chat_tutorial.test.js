// examples/chat against the Flask-SocketIO tutorial's own client code (the npm socket.io-client
// in node, no browser): the events, namespaces and payloads exactly as the tutorial names them,
// step by step, asserting what every client receives.
'use strict';

const { spawn } = require('child_process');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');

const SERVER = process.env.PORTICO_CHAT_SERVER || process.argv.slice(2).find((a) => !a.startsWith('-'));
const T = { timeout: 30000 };

/// Spawns the chat server on an ephemeral port (with `extra` flags; `scheme` https for
/// --tls-cert); resolves once it printed `LISTENING <port>`.
function startChat(extra = [], scheme = 'http') {
  if (!SERVER) throw new Error('set PORTICO_CHAT_SERVER to the examples/chat executable');
  const child = spawn(SERVER, ['--port', '0', '--max-seconds', '60', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
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
        resolve({ child, url: `${scheme}://127.0.0.1:${m[1]}`, log: () => out, stderr: () => err });
      }
    });
  });
}

/// SIGTERM by pid, SIGKILL after 3 s; resolves with the exit code (null when killed). The pid is
/// polled as well: node has been seen to end the test's event loop before the 'exit' event.
function stopChat(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    let killer;
    let poll;
    const done = (code) => { clearTimeout(killer); clearInterval(poll); resolve(code); };
    killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    poll = setInterval(() => {
      try { process.kill(child.pid, 0); } catch { setTimeout(() => done(child.exitCode), 200); }
    }, 50);
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}

/// Resolves once `cond()` holds; rejects after 10 s with `what` and the current state.
async function until(cond, what) {
  const deadline = Date.now() + 10000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('examples/chat runs the Flask-SocketIO tutorial client code', () => {
  let server;
  const sockets = [];

  /// One tutorial user: its own connection (forceNew), like another browser tab.
  function connect(nsp) {
    const s = io(server.url + nsp, { forceNew: true, transports: ['websocket'], reconnection: false });
    sockets.push(s);
    return s;
  }

  before(async () => { server = await startChat(); });

  after(async () => {
    for (const s of sockets) s.close();
    if (server) {
      const code = await stopChat(server.child);
      assert.equal(code, 0, `chat did not exit cleanly on SIGTERM: ${server.stderr()}`);
    }
  });

  it('"/chat": message -> new-message to everyone on the namespace, the sender included', T, async () => {
    // the tutorial's simple chat app client: socket.send on connect, new-message appended to the list
    const received = { alice: [], bob: [], other: [] };
    const client = (name) => {
      const socket = connect('/chat');
      socket.on('connect', () => socket.send('User has connected!'));
      socket.on('new-message', (msg) => received[name].push(msg));
      return socket;
    };
    // someone on another namespace hears none of it
    const other = connect('/');
    other.on('new-message', (msg) => received.other.push(msg));

    const alice = client('alice');
    await until(() => received.alice.length === 1, 'alice\'s own connect message');
    assert.deepEqual(received.alice, ['User has connected!']);

    const bob = client('bob');
    await until(() => received.bob.length === 1 && received.alice.length === 2, 'bob\'s connect message to both');

    alice.emit('message', 'hi bob');  // the send button: socket.emit("message", message.value)
    await until(() => received.alice.length === 3 && received.bob.length === 2, '"hi bob" to both');
    bob.emit('message', 'hi alice');
    await until(() => received.alice.length === 4 && received.bob.length === 3, '"hi alice" to both');

    assert.deepEqual(received.alice, ['User has connected!', 'User has connected!', 'hi bob', 'hi alice']);
    assert.deepEqual(received.bob, ['User has connected!', 'hi bob', 'hi alice']);
    assert.deepEqual(received.other, []);
    assert.ok(other.connected);
  });

  it('"/": join-room / leave-room -> new-user {message} to the room', T, async () => {
    const heard = { ann: [], ben: [], cid: [] };
    const client = (name) => {
      const socket = connect('/');
      socket.on('new-user', (data) => heard[name].push(data));
      return socket;
    };
    const ann = client('ann');
    const ben = client('ben');
    const cid = client('cid');
    await until(() => ann.connected && ben.connected && cid.connected, 'three connections');

    // the tutorial's join button: {id, roomName, username}; the room hears it, the newcomer too
    ann.emit('join-room', { id: ann.id, roomName: 'python', username: 'ann' });
    await until(() => heard.ann.length === 1, 'ann\'s join notice');
    ben.emit('join-room', { id: ben.id, roomName: 'python', username: 'ben' });
    await until(() => heard.ann.length === 2 && heard.ben.length === 1, 'ben\'s join notice to both');

    // the tutorial's leave-room handler reads data['room']: the ones who stay hear it
    ben.emit('leave-room', { id: ben.id, room: 'python', username: 'ben' });
    await until(() => heard.ann.length === 3, 'ben\'s leave notice to ann');
    // ben left before the notice: he hears his next join only (events on one connection keep order)
    ben.emit('join-room', { id: ben.id, roomName: 'python', username: 'ben' });
    await until(() => heard.ann.length === 4 && heard.ben.length === 2, 'ben\'s second join');
    // cid is in no room: the first notice he hears is for his own room
    cid.emit('join-room', { id: cid.id, roomName: 'rust', username: 'cid' });
    await until(() => heard.cid.length === 1, 'cid\'s join notice');

    assert.deepEqual(heard.ann, [
      { message: 'ann Joined the room.' },
      { message: 'ben Joined the room.' },
      { message: 'ben has left the room.' },
      { message: 'ben Joined the room.' },
    ]);
    assert.deepEqual(heard.ben, [{ message: 'ben Joined the room.' }, { message: 'ben Joined the room.' }]);
    assert.deepEqual(heard.cid, [{ message: 'cid Joined the room.' }]);
  });

  it('"/user": my response on connect, user-connected answered with new-user', T, async () => {
    const got = { response: [], newUser: [] };
    const socket = connect('/user');
    socket.on('my response', (data) => got.response.push(data));
    const user = { username: 'username', email: 'email@gmail.com', id: 1 };
    socket.on('connect', () => socket.emit('user-connected', { id: socket.id, user }));
    socket.on('new-user', (data, ack) => { got.newUser.push(data); if (ack) ack(); });  // the callback's receipt
    await until(() => got.response.length === 1 && got.newUser.length === 1, 'my response and new-user');
    assert.deepEqual(got.response, [{ data: 'Connected' }]);
    assert.deepEqual(got.newUser, [{ id: socket.id, user }]);
    await until(() => /new-user to \S+: message was received/.test(server.log()), 'the ack callback\'s log line');
  });
});

describe('examples/chat keeps HTTP connections alive for long-polling', () => {
  it('curl: two requests on one connection, both answered; a second chat on the port fails', T, async () => {
    const { spawnSync } = require('child_process');
    const server = await startChat();
    try {
      const r = spawnSync('curl', ['-sv', '--max-time', '10', `${server.url}/`, `${server.url}/socket.io.min.js`,
        '-o', '/dev/null', '-o', '/dev/null'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /Re-using existing connection/);
      assert.equal((r.stderr.match(/< HTTP\/1\.1 200 OK/g) || []).length, 2, r.stderr);
      assert.doesNotMatch(r.stderr, /< Connection: close/i);
      const port = new URL(server.url).port;
      const second = spawnSync(SERVER, ['--port', port, '--max-seconds', '5'], { encoding: 'utf8', timeout: 10000 });
      assert.equal(second.status, 1, `a second chat on port ${port} started: ${second.stdout}${second.stderr}`);
      assert.match(second.stderr, /Address already in use/);
    } finally {
      await stopChat(server.child);
    }
  });

  it('several polling round trips take fewer TCP connections than requests', T, async () => {
    const server = await startChat();
    // Node's socket.io-client makes its polling requests with `agent: false` (a connection per
    // request) unless given an agent: this one keeps connections alive, as browsers do.
    const agent = new (require('http').Agent)({ keepAlive: true, maxSockets: 2 });
    const s = io(server.url, { forceNew: true, transports: ['polling'], reconnection: false, agent });
    try {
      await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
      const rounds = 8;
      for (let i = 0; i < rounds; ++i) {
        // An acked emit is a POST, and the ack comes back on a GET: two requests per round.
        const back = await s.timeout(5000).emitWithAck('echo', `round ${i}`);
        assert.equal(back, `round ${i}`);
      }
      s.close();
      const code = await stopChat(server.child);
      assert.equal(code, 0, server.stderr());
      await until(() => /connections accepted/.test(server.log()), 'the count of connections');  // stdout drains after exit
      const m = /chat: (\d+) connections accepted/.exec(server.log());
      assert.ok(m, `no count in the log: ${server.log()}`);
      // The handshake, the CONNECT and 8 acked emits take over 18 requests; with keep-alive
      // they share the client's few pooled connections.
      assert.ok(Number(m[1]) < rounds, `${m[1]} connections for ${2 * rounds}+ requests`);
      console.log(`# keep-alive: ${m[1]} TCP connections for ${rounds} acked emits over polling`);
    } finally {
      s.close();
      agent.destroy();
      await stopChat(server.child);
    }
  });
});

describe('examples/chat over TLS (--tls-cert/--tls-key): https and wss on --port', () => {
  const fs = require('fs');
  const os = require('os');
  const path = require('path');
  const { spawnSync } = require('child_process');
  let dir;
  let server;
  const sockets = [];

  before(async () => {
    // Throwaway certificates, made now (tests/support/make_certs.sh): ca.pem signs server.pem
    // (SAN localhost, 127.0.0.1, ::1); other-ca.pem is unrelated.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-chat-tls-'));
    const made = spawnSync('sh', [path.join(__dirname, '..', 'support', 'make_certs.sh'), dir], { encoding: 'utf8' });
    assert.equal(made.status, 0, `make_certs.sh: ${made.stderr}`);
    server = await startChat(['--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key')], 'https');
  });

  after(async () => {
    for (const s of sockets) s.close();
    try {
      if (server) {
        const code = await stopChat(server.child);
        assert.equal(code, 0, `chat did not exit cleanly on SIGTERM: ${server.stderr()}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  function connect(nsp, opts) {
    const s = io(server.url + nsp, { forceNew: true, reconnection: false, ...opts });
    sockets.push(s);
    return s;
  }
  const connected = (s) => new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });

  it('curl --cacert: the page and the bundle over one TLS connection, both answered', T, async () => {
    const r = spawnSync('curl', ['-sv', '--max-time', '10', '--cacert', path.join(dir, 'ca.pem'),
      `${server.url}/`, `${server.url}/socket.io.min.js`, '-o', '/dev/null', '-o', '/dev/null'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /SSL connection using/);
    assert.match(r.stderr, /Re-using existing connection/);
    assert.equal((r.stderr.match(/< HTTP\/1\.1 200 OK/g) || []).length, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /< Connection: close/i);
    // Plain HTTP to the TLS port is not served.
    const plain = spawnSync('curl', ['-s', '--max-time', '10', server.url.replace('https:', 'http:') + '/'], { encoding: 'utf8' });
    assert.notEqual(plain.status, 0, `plain HTTP answered on the TLS port: ${plain.stdout}`);
  });

  it('socket.io-client with `ca`: a chat message between wss and https polling on "/chat"', T, async () => {
    const ca = fs.readFileSync(path.join(dir, 'ca.pem'));
    const alice = connect('/chat', { ca, transports: ['websocket'] });
    const bob = connect('/chat', { ca, transports: ['polling'] });
    await Promise.all([connected(alice), connected(bob)]);
    assert.equal(alice.io.engine.transport.name, 'websocket');
    assert.equal(bob.io.engine.transport.name, 'polling');
    const got = { alice: [], bob: [] };
    alice.on('new-message', (m) => got.alice.push(m));
    bob.on('new-message', (m) => got.bob.push(m));
    alice.emit('message', 'hi bob, over wss');
    await until(() => got.bob.length === 1 && got.alice.length === 1, 'the first message on both');
    bob.emit('message', 'hi alice, over https');
    await until(() => got.bob.length === 2 && got.alice.length === 2, 'the second message on both');
    assert.deepEqual(got.bob, ['hi bob, over wss', 'hi alice, over https']);
    assert.deepEqual(got.alice, got.bob);
    // The default (polling, then the upgrade) ends on websocket over TLS too.
    const cid = connect('/', { ca });
    await connected(cid);
    assert.equal(await cid.timeout(5000).emitWithAck('echo', 'over tls'), 'over tls');
    await until(() => cid.io.engine.transport.name === 'websocket', 'the upgrade to wss');
  });

  it('a client trusting another CA is refused; the chat goes on', T, async () => {
    const stranger = connect('/chat', { ca: fs.readFileSync(path.join(dir, 'other-ca.pem')), transports: ['websocket'] });
    await assert.rejects(connected(stranger));
    const ok = connect('/chat', { ca: fs.readFileSync(path.join(dir, 'ca.pem')), transports: ['websocket'] });
    await connected(ok);
  });

  it('a certificate file that cannot be read: chat exits 1 naming it', T, async () => {
    const r = spawnSync(SERVER, ['--port', '0', '--max-seconds', '5', '--tls-cert', path.join(dir, 'missing.pem'),
      '--tls-key', path.join(dir, 'server.key')], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /cert_chain_file/);
  });
});
