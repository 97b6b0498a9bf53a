// Metrics (issue 16): npm socket.io-client 4.8 drives the interop server started with --metrics,
// and the test scrapes GET /metrics (Prometheus text format 0.0.4) between the steps: connections
// by transport, namespaces, sockets, rooms, packets and bytes, acks pending and timed out, a
// refused connect, a handler exception, an oversize payload.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, once, emitAck, sleep, Clients } = require('./support');

/// GET /metrics -> { text, v: Map("name{labels}" -> number) }; checks the exposition format:
/// every sample's family has a HELP and a TYPE line before it.
async function scrape(server) {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const v = new Map();
  const typed = new Set();
  const helped = new Set();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) (\w+) (.+)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? helped : typed).add(m[2]);
      if (m[1] === 'TYPE') assert.match(m[3], /^(counter|gauge)$/);
      continue;
    }
    m = /^(\w+)(\{[^}]*\})? (-?\d+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    assert.ok(typed.has(m[1]) && helped.has(m[1]), `no HELP/TYPE before ${m[1]}`);
    v.set(m[1] + (m[2] || ''), Number(m[3]));
  }
  return { text, get: (k) => { assert.ok(v.has(k), `no sample ${k} in:\n${text}`); return v.get(k); } };
}

/// Scrapes until `pred(metrics)` holds (the server counts after it answered the client).
async function scrapeUntil(server, pred, what) {
  let m;
  for (let i = 0; i < 100; ++i) {
    m = await scrape(server);
    if (pred(m)) return m;
    await sleep(50);
  }
  assert.fail(`${what}:\n${m.text}`);
}

describe('metrics endpoint', () => {
  let server;
  let clients;

  before(async () => { server = await startServer({ flags: ['--metrics'] }); });
  after(async () => {
    if (clients) clients.closeAll();
    if (server) await server.stop();
  });

  it('counts connections, traffic, acks, refusals and errors as the clients see them', { timeout: 40000 }, async () => {
    const m0 = await scrape(server);
    assert.equal(m0.get('portico_connections{transport="polling"}'), 0);
    assert.equal(m0.get('portico_connections{transport="websocket"}'), 0);
    assert.equal(m0.get('portico_namespaces'), 2);  // "/" and "/admin", made by the server

    clients = new Clients(server.url, {});
    const ws = [];
    const polling = [];
    for (let i = 0; i < 3; ++i) ws.push(await clients.connect('/', { transports: ['websocket'] }));
    for (let i = 0; i < 2; ++i) polling.push(await clients.connect('/', { transports: ['polling'] }));
    const admin = await clients.connect('/admin', { transports: ['websocket'] });
    for (const s of [...ws, ...polling]) assert.deepEqual(await emitAck(s, 'join', 'r'), [true]);

    const m1 = await scrape(server);
    assert.equal(m1.get('portico_connections{transport="polling"}'), 2);
    assert.equal(m1.get('portico_connections{transport="websocket"}'), 4);
    assert.equal(m1.get('portico_handshakes_total'), 6);
    assert.equal(m1.get('portico_connects_total'), 6);
    assert.equal(m1.get('portico_sockets{namespace="/"}'), 5);
    assert.equal(m1.get('portico_sockets{namespace="/admin"}'), 1);
    assert.equal(m1.get('portico_rooms{namespace="/"}'), 6);  // each socket's own room, and "r"
    assert.equal(m1.get('portico_rooms{namespace="/admin"}'), 1);

    // 10 acked events over websocket: each is one packet in and one ACK packet out.
    const before = await scrape(server);
    for (let i = 0; i < 10; ++i) assert.deepEqual(await emitAck(ws[0], 'ack', 'x'.repeat(100)), ['x'.repeat(100)]);
    const after = await scrape(server);
    const d = (k) => after.get(k) - before.get(k);
    assert.ok(d('portico_packets_total{direction="in"}') >= 10);
    assert.ok(d('portico_packets_total{direction="out"}') >= 10);
    assert.ok(d('portico_bytes_total{direction="in"}') >= 10 * 100);
    assert.ok(d('portico_bytes_total{direction="out"}') >= 10 * 100);

    // A refused connect (the middleware says "not authorized").
    await assert.rejects(clients.connect('/', { auth: { token: 'bad' } }), /not authorized/);
    await scrapeUntil(server, (m) => m.get('portico_connects_refused_total') === 1, 'one refused connect');

    // A handler that throws.
    ws[1].emit('throw');
    await scrapeUntil(server, (m) => m.get('portico_errors_total{kind="handler_exception"}') === 1, 'one handler exception');

    // An ack the client never gives: pending while it waits, then timed out (the server's 5 s).
    ws[2].on('question', () => {});  // no ack callback called
    ws[2].emit('ask', 1);
    await scrapeUntil(server, (m) => m.get('portico_acks_pending') === 1 && m.get('portico_acks_requested_total') === 1,
      'one pending ack');
    const answer = once(ws[2], 'answer', 10000);
    assert.deepEqual(await answer, ['timeout']);
    const m2 = await scrapeUntil(server, (m) => m.get('portico_acks_timed_out_total') === 1, 'one timed-out ack');
    assert.equal(m2.get('portico_acks_pending'), 0);

    // An oversize payload (over the default max_payload of 1 MB) closes that connection.
    const gone = once(ws[0], 'disconnect', 10000);
    ws[0].emit('echo', 'y'.repeat(1100000));
    await gone;
    const m3 = await scrapeUntil(server, (m) => m.get('portico_errors_total{kind="payload_too_large"}') === 1,
      'one oversize payload');
    assert.equal(m3.get('portico_errors_total{kind="parse_error"}'), 0);

    // Disconnects bring the gauges down.
    polling[0].disconnect();
    admin.disconnect();
    await scrapeUntil(server, (m) => m.get('portico_sockets{namespace="/admin"}') === 0
      && m.get('portico_sockets{namespace="/"}') === 3, 'gauges after the disconnects');
  });
});
