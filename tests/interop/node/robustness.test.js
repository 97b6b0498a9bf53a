// Malformed input from one raw peer closes only that peer; a socket.io-client 4.8 connected
// alongside keeps being served, and new clients can still connect.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { startServer, emitAck, once, Clients } = require('./support');

const T = { timeout: 25000 };

/// A raw Engine.IO v4 websocket peer with a bounded message queue.
class RawPeer {
  constructor(url) {
    this.ws = new WebSocket(url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket');
    this.messages = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)));
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? data : data.toString();
      if (text === '2') { this.ws.send('3'); return; } // answer pings, they are not under test
      this.messages.push(text);
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  async next(ms = 5000) {
    const deadline = Date.now() + ms;
    while (!this.messages.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${ms} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.messages.shift();
  }

  /// Engine.IO open + Socket.IO CONNECT to `/` + the server's welcome; returns the handshake.
  async handshake() {
    const open = await this.next();
    assert.equal(open[0], '0', `expected an Engine.IO open packet, got ${open}`);
    const info = JSON.parse(open.slice(1));
    this.ws.send('40');
    const connect = await this.next();
    assert.ok(connect.startsWith('40'), `expected a CONNECT reply, got ${connect}`);
    const welcome = await this.next();
    assert.ok(welcome.startsWith('42["welcome"'), `expected welcome, got ${welcome}`);
    return info;
  }

  /// Resolves with the close code, rejects if the server keeps the connection open.
  closedWithin(ms = 5000) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open ${ms} ms after bad input`)), ms);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  terminate() { this.ws.terminate(); }
}

describe('malformed input closes only the offending client', () => {
  let server;
  let clients;
  const raws = [];

  before(async () => { server = await startServer(); });
  after(async () => { if (server) await server.stop(); });
  afterEach(() => {
    if (clients) clients.closeAll();
    raws.splice(0).forEach((r) => r.terminate());
  });

  const raw = () => { server.assertAlive(); const r = new RawPeer(server.url); raws.push(r); return r; };

  /// The bystander must still be served and a new client must still connect.
  async function othersStillServed(bystander) {
    assert.equal(bystander.connected, true, 'the bystander was disconnected');
    assert.deepEqual(await emitAck(bystander, 'ack', 'still served'), ['still served']);
    const late = await clients.connect();
    assert.deepEqual(await emitAck(late, 'ack', 'new client'), ['new client']);
  }

  const badPackets = {
    'unknown Socket.IO packet type': '4abc',
    'event payload that is not an array': '42{}',
    'truncated JSON': '42["echo",',
    'non-numeric ack id': '42abc["ack",1]',
    'unknown Engine.IO packet type': 'x',
  };

  for (const [what, packet] of Object.entries(badPackets)) {
    it(`websocket: ${what} (${JSON.stringify(packet)})`, T, async () => {
      clients = new Clients(server.url, {});
      const bystander = await clients.connect();
      const r = raw();
      await r.handshake();
      r.ws.send(packet);
      await r.closedWithin();
      await othersStillServed(bystander);
    });
  }

  it('websocket: a message above the advertised maxPayload', T, async () => {
    clients = new Clients(server.url, {});
    const bystander = await clients.connect();
    const r = raw();
    const info = await r.handshake();
    assert.equal(typeof info.maxPayload, 'number', 'handshake must advertise maxPayload');
    r.ws.send('42["echo","' + 'y'.repeat(info.maxPayload + 16) + '"]');
    await r.closedWithin();
    await othersStillServed(bystander);
  });

  it('polling: a malformed Socket.IO packet ends that session', T, async () => {
    clients = new Clients(server.url, {});
    const bystander = await clients.connect();
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base, { signal: AbortSignal.timeout(5000) })).text();
    const { sid } = JSON.parse(open.slice(1));
    const url = `${base}&sid=${encodeURIComponent(sid)}`;
    const post = (body) => fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
    const get = () => fetch(url, { signal: AbortSignal.timeout(5000) });

    assert.equal((await post('40')).status, 200);
    const connected = await (await get()).text();
    assert.ok(connected.startsWith('40'), `expected CONNECT reply, got ${connected}`);

    await post('4abc'); // status may be 200 or 400: what matters is that the session ends
    // The session must be gone: a poll either reports the close packet or an unknown sid.
    // A surviving session would hold the GET open until its next ping: that counts as alive.
    let ended = false;
    for (let i = 0; i < 3 && !ended; i++) {
      try {
        const res = await get();
        const body = await res.text();
        ended = res.status === 400 || body.split('\x1e').includes('1');
      } catch (e) {
        if (e.name !== 'TimeoutError') throw e;
      }
    }
    assert.ok(ended, 'the polling session survived a malformed packet');
    await othersStillServed(bystander);
  });

  // Browsers and the `ws` client close the connection (1007) on a text frame that is not UTF-8.
  it('websocket: a lone surrogate escape sent to a room arrives as U+FFFD, the room stays connected', T, async () => {
    clients = new Clients(server.url, { transports: ['websocket'] });
    const bystander = await clients.connect();
    const room = 'utf8-ws-' + process.pid;
    assert.deepEqual(await emitAck(bystander, 'join', room), [true]);
    const got = once(bystander, 'room_msg');
    const r = raw();
    await r.handshake();
    r.ws.send('42["to_room","' + room + '","hi \\udd00"]'); // as a stock JS client encodes 'hi \udd00'
    assert.deepEqual(await got, ['hi \ufffd']);
    await othersStillServed(bystander);
  });

  it('polling: raw invalid UTF-8 in a POST reaches the room repaired', T, async () => {
    clients = new Clients(server.url, { transports: ['websocket'] });
    const bystander = await clients.connect();
    const room = 'utf8-poll-' + process.pid;
    assert.deepEqual(await emitAck(bystander, 'join', room), [true]);
    const got = once(bystander, 'room_msg');
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base, { signal: AbortSignal.timeout(5000) })).text();
    const { sid } = JSON.parse(open.slice(1));
    const url = `${base}&sid=${encodeURIComponent(sid)}`;
    const post = (body) => fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
    assert.equal((await post('40')).status, 200);
    const connected = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
    assert.ok(connected.startsWith('40'), `expected CONNECT reply, got ${connected}`);
    const body = Buffer.concat([Buffer.from('42["to_room","' + room + '","a'), Buffer.from([0xff, 0xc3]),
      Buffer.from('b"]')]);
    assert.equal((await post(body)).status, 200);
    assert.deepEqual(await got, ['a\ufffd\ufffdb']);
    await othersStillServed(bystander);
  });

  it('the server survived all of the above', T, async () => {
    await new Promise((r) => setTimeout(r, 100));
    server.assertAlive();
  });
});

describe('errors on the wire look like the reference server', () => {
  let server;
  const raws = [];

  before(async () => { server = await startServer(); });
  after(async () => { if (server) await server.stop(); });
  afterEach(() => raws.splice(0).forEach((r) => r.terminate()));

  const raw = () => { const r = new RawPeer(server.url); raws.push(r); return r; };

  it('unknown namespace -> 44/nope,{"message":"Invalid namespace"}', T, async () => {
    const r = raw();
    const open = await r.next();
    assert.equal(open[0], '0');
    r.ws.send('40/nope,');
    const reply = await r.next();
    assert.ok(reply.startsWith('44/nope,'), `got ${reply}`);
    assert.deepEqual(JSON.parse(reply.slice('44/nope,'.length)), { message: 'Invalid namespace' });
    // the Engine.IO connection stays usable for valid namespaces
    r.ws.send('40/admin,');
    const connect = await r.next();
    assert.ok(connect.startsWith('40/admin,'), `got ${connect}`);
    assert.equal(typeof JSON.parse(connect.slice('40/admin,'.length)).sid, 'string');
  });

  it('refusal -> 44{"message":"not authorized","data":{"code":42}}', T, async () => {
    const r = raw();
    await r.next();
    r.ws.send('40{"token":"bad"}');
    const reply = await r.next();
    assert.ok(reply.startsWith('44{'), `got ${reply}`);
    assert.deepEqual(JSON.parse(reply.slice(2)), { message: 'not authorized', data: { code: 42 } });
  });

  const get = (query) => fetch(`${server.url}/socket.io/?${query}`, { signal: AbortSignal.timeout(5000) });

  it('polling: an unknown sid -> HTTP 400 {"code":1,"message":"Session ID unknown"}', T, async () => {
    const res = await get('EIO=4&transport=polling&sid=does-not-exist');
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(await res.text()), { code: 1, message: 'Session ID unknown' });
  });

  for (const [what, query] of [
    ['an unsupported EIO version', 'EIO=9&transport=polling'],
    ['a missing EIO version', 'transport=polling'],
    ['an unknown transport', 'EIO=4&transport=carrier-pigeon'],
  ]) {
    it(`handshake with ${what} -> HTTP 400`, T, async () => {
      const res = await get(query);
      assert.equal(res.status, 400);
      await res.text();
    });
  }
});

describe('a server-initiated close reaches a polling client as a close packet', () => {
  let server;
  const raws = [];

  before(async () => { server = await startServer(); });
  after(async () => { if (server) await server.stop(); });
  afterEach(() => raws.splice(0).forEach((r) => r.terminate()));

  /// A polling session connected to `/` (its welcome consumed); returns request helpers.
  async function pollingSession() {
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base, { signal: AbortSignal.timeout(5000) })).text();
    const { sid } = JSON.parse(open.slice(1));
    const url = `${base}&sid=${encodeURIComponent(sid)}`;
    // undici hides the socket error in `cause`; surface it so a failure says what happened
    const request = async (what, init) => {
      try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
        return { status: res.status, body: await res.text() };
      } catch (e) {
        throw new Error(`${what} failed: ${e.message} (${e.cause && (e.cause.code || e.cause.message)})`);
      }
    };
    const post = async (body) => (await request(`POST ${body}`, { method: 'POST', body })).status;
    const get = async () => {
      const { status, body } = await request('GET', {});
      return { status, packets: body.split('\x1e') };
    };
    assert.equal(await post('40'), 200);
    const first = await get();
    assert.ok(first.packets[0].startsWith('40'), `expected CONNECT reply, got ${first.packets}`);
    if (first.packets.length < 2) await get(); // the welcome, if it came separately
    return { sid, post, get };
  }

  // The client learns why it lost the session only from this packet: without it, socket.io-client
  // reports "transport error" instead of "transport close".
  it('drop_me with no GET pending: the next GET carries the close packet', T, async () => {
    const { post, get } = await pollingSession();
    assert.equal(await post('42["drop_me"]'), 200);
    const next = await get();
    assert.equal(next.status, 200, `next GET answered ${next.status} ${next.packets}`);
    assert.ok(next.packets.includes('1'), `no close packet in ${JSON.stringify(next.packets)}`);
  });

  it('drop_me while a websocket upgrade is being probed: the next GET carries the close packet', T, async () => {
    const { sid, post, get } = await pollingSession();
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`);
    raws.push({ terminate: () => ws.terminate() });
    ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('websocket did not open')), 5000);
      ws.on('open', () => { clearTimeout(timer); resolve(); });
    });
    const probed = new Promise((resolve) => ws.on('message', (m) => { if (String(m) === '3probe') resolve(); }));
    const pending = get(); // answered with a noop once the probe succeeds
    ws.send('2probe');
    await probed;
    assert.deepEqual((await pending).packets, ['6']);
    // the upgrade is not completed ('5' never sent): the session is still on polling
    assert.equal(await post('42["drop_me"]'), 200);
    const next = await get();
    assert.equal(next.status, 200, `next GET answered ${next.status} ${next.packets}`);
    assert.ok(next.packets.includes('1'), `no close packet in ${JSON.stringify(next.packets)}`);
  });
});
