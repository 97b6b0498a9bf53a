// Interop with the socket.io-client 4.8 browser bundle inside headless Chromium (playwright-core).
// The page is opened on the server's own origin so polling needs no CORS from the server.
'use strict';

const http = require('http');
const path = require('path');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');
const { startServer } = require('./support');

const BUNDLE = path.join(path.dirname(require.resolve('socket.io-client/package.json')),
  'dist', 'socket.io.min.js');
const CHROMIUM = process.env.PORTICO_CHROMIUM || '/usr/bin/chromium';
const T = { timeout: 30000 };

/// In-page helpers (run in the browser): every wait is bounded and rejects with a message.
const PAGE_HELPERS = `
window.pt = {
  sockets: [],
  once(emitter, event, ms = 5000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { emitter.off(event, h); reject(new Error('timed out waiting for ' + event)); }, ms);
      function h(...args) { clearTimeout(timer); emitter.off(event, h); resolve(args); }
      emitter.on(event, h);
    });
  },
  async connect(url, opts) {
    const s = io(url, Object.assign({ forceNew: true, reconnection: false, timeout: 5000 }, opts));
    pt.sockets.push(s);
    const welcome = pt.once(s, 'welcome');
    const failed = pt.once(s, 'connect_error').then(([e]) => { throw new Error('connect_error: ' + e.message); });
    failed.catch(() => {});
    const [w] = await Promise.race([welcome, failed]);
    s.welcome = w;
    return s;
  },
  ack(s, event, ...args) {
    return new Promise((resolve, reject) => {
      s.timeout(5000).emit(event, ...args, (err, ...reply) => err ? reject(new Error('no ack for ' + event)) : resolve(reply));
    });
  },
  closeAll() { pt.sockets.splice(0).forEach((s) => s.disconnect()); },
};
`;

const MODES = [
  { name: 'polling + upgrade', opts: {}, transport: 'websocket' },
  { name: 'websocket only', opts: { transports: ['websocket'] }, transport: 'websocket' },
];

describe('socket.io-client 4.8 browser bundle in headless Chromium', () => {
  let server;
  let browser;
  let page;

  before(async () => {
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, timeout: 20000 });
    page = await browser.newPage();
    page.setDefaultTimeout(15000);
    // any response makes the page same-origin with the server; an unknown sid answers fast
    await page.goto(`${server.url}/socket.io/?EIO=4&transport=polling&sid=browser-origin`);
    await page.addScriptTag({ path: BUNDLE });
    await page.addScriptTag({ content: PAGE_HELPERS });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  for (const mode of MODES) {
    const run = (fn, arg) => page.evaluate(fn, { url: server.url, opts: mode.opts, ...arg });

    it(`${mode.name}: connect, welcome with auth, transport, echo`, T, async () => {
      const r = await run(async ({ url, opts }) => {
        try {
          const s = await pt.connect(url, { ...opts, auth: { token: 'browser' } });
          if (!s.io.engine.transport || s.io.engine.transport.name !== 'websocket') {
            await pt.once(s.io.engine, 'upgrade');
          }
          const echoed = pt.once(s, 'echo');
          s.emit('echo', 'a', 2, { c: [true, null] });
          return { sidOk: s.welcome.sid === s.id, auth: s.welcome.auth,
            transport: s.io.engine.transport.name, echo: await echoed };
        } finally { pt.closeAll(); }
      });
      assert.equal(r.sidOk, true);
      assert.deepEqual(r.auth, { token: 'browser' });
      assert.equal(r.transport, mode.transport);
      assert.deepEqual(r.echo, ['a', 2, { c: [true, null] }]);
    });

    it(`${mode.name}: binary echo and binary ack (ArrayBuffer / Uint8Array)`, T, async () => {
      const r = await run(async ({ url, opts }) => {
        try {
          const s = await pt.connect(url, opts);
          const bytes = new Uint8Array([0, 1, 2, 250, 255]);
          const echoed = pt.once(s, 'echo');
          s.emit('echo', bytes, { nested: bytes.buffer });
          const [top, obj] = await echoed;
          const [acked] = await pt.ack(s, 'ack', bytes);
          const arr = (b) => Array.from(new Uint8Array(b));
          return { top: arr(top), nested: arr(obj.nested), acked: arr(acked),
            isBuffer: top instanceof ArrayBuffer };
        } finally { pt.closeAll(); }
      });
      assert.equal(r.isBuffer, true);
      assert.deepEqual(r.top, [0, 1, 2, 250, 255]);
      assert.deepEqual(r.nested, [0, 1, 2, 250, 255]);
      assert.deepEqual(r.acked, [0, 1, 2, 250, 255]);
    });

    it(`${mode.name}: acks both ways`, T, async () => {
      const r = await run(async ({ url, opts }) => {
        try {
          const s = await pt.connect(url, opts);
          const ack = await pt.ack(s, 'ack', 1, 'two');
          s.on('question', (x, cb) => cb(x + 1));
          const answer = pt.once(s, 'answer');
          s.emit('ask', 41);
          return { ack, answer: await answer };
        } finally { pt.closeAll(); }
      });
      assert.deepEqual(r.ack, [1, 'two']);
      assert.deepEqual(r.answer, [42]);
    });

    it(`${mode.name}: rooms among 3 browser sockets, /admin, refusal`, T, async () => {
      const r = await run(async ({ url, opts }) => {
        try {
          const [a, b, c] = await Promise.all([0, 1, 2].map(() => pt.connect(url, opts)));
          for (const s of [a, b, c]) await pt.ack(s, 'join', 'web');
          const gotA = [];
          a.on('room_msg', (m) => gotA.push(m));
          const atB = pt.once(b, 'room_msg');
          const atC = pt.once(c, 'room_msg');
          await pt.ack(a, 'to_room', 'web', 'hello');
          const msgs = [await atB, await atC];
          await new Promise((res) => setTimeout(res, 300));
          const admin = await pt.connect(url + '/admin', opts);
          const refused = io(url, { ...opts, forceNew: true, reconnection: false, auth: { token: 'bad' } });
          pt.sockets.push(refused);
          const [err] = await pt.once(refused, 'connect_error');
          return { msgs, gotA, admin: admin.welcome.sid === admin.id, err: { message: err.message, data: err.data } };
        } finally { pt.closeAll(); }
      });
      assert.deepEqual(r.msgs, [['hello'], ['hello']]);
      assert.deepEqual(r.gotA, []);
      assert.equal(r.admin, true);
      assert.deepEqual(r.err, { message: 'not authorized', data: { code: 42 } });
    });

    it(`${mode.name}: reconnects after drop_me`, T, async () => {
      const r = await run(async ({ url, opts }) => {
        try {
          const s = await pt.connect(url, { ...opts, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
          const first = s.id;
          // drop on a settled transport: a drop mid-upgrade is covered by robustness.test.js
          if (s.io.engine.transport.name !== 'websocket') await pt.once(s.io.engine, 'upgrade');
          const gone = pt.once(s, 'disconnect');
          const back = pt.once(s, 'welcome', 10000);
          const transport = s.io.engine.transport.name;
          s.emit('drop_me');
          const [reason, details] = await gone;
          const [w] = await back;
          const why = details && details.description;
          const ctx = details && details.context;
          return { reason, changed: w.sid !== first && w.sid === s.id,
            details: `on ${transport}: ${why && (why.message || why)}; context ${ctx && (ctx.status || ctx.code || ctx.type)}` };
        } finally { pt.closeAll(); }
      });
      assert.equal(r.reason, 'transport close', r.details);
      assert.equal(r.changed, true);
    });
  }
});

// A page served from another origin (another port) must reach the server through CORS:
// polling GET/POST as simple requests, and a preflight when the client adds headers.
describe('browser page on another origin (CORS)', () => {
  let server;
  let origin;
  let browser;
  let page;

  before(async () => {
    server = await startServer();
    origin = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>portico cross-origin</title>');
    });
    await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, timeout: 20000 });
    page = await browser.newPage();
    page.setDefaultTimeout(15000);
    await page.goto(`http://127.0.0.1:${origin.address().port}/`);
    await page.addScriptTag({ path: BUNDLE });
    await page.addScriptTag({ content: PAGE_HELPERS });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (origin) origin.close();
    if (server) await server.stop();
  });

  const cases = [
    ['polling only', { transports: ['polling'] }],
    ['polling + upgrade', {}],
    ['polling with a custom header (preflight)', { transports: ['polling'], extraHeaders: { 'x-portico-test': '1' } }],
  ];
  for (const [name, opts] of cases) {
    it(`${name}: connect, echo text and binary, ack`, T, async () => {
      const r = await page.evaluate(async ({ url, opts }) => {
        try {
          const s = await pt.connect(url, opts);
          const echoed = pt.once(s, 'echo');
          s.emit('echo', 'x-origin', new Uint8Array([1, 2, 3]));
          const [text, bin] = await echoed;
          const ack = await pt.ack(s, 'ack', { ok: true });
          return { origin: location.origin, text, bin: Array.from(new Uint8Array(bin)), ack };
        } finally { pt.closeAll(); }
      }, { url: server.url, opts });
      assert.notEqual(r.origin, server.url, 'the page must be on another origin');
      assert.equal(r.text, 'x-origin');
      assert.deepEqual(r.bin, [1, 2, 3]);
      assert.deepEqual(r.ack, [{ ok: true }]);
    });
  }
});
