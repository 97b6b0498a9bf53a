// Cross-check of the C++ load generator: the same ack echo at a low fixed rate, measured with npm
// socket.io-client 4.8 (websocket transport only). Prints one JSON line like loadgen's echo result.
// Usage: node sioclient_check.js PORT [clients=10] [rate=500] [duration_s=5] [warmup_s=1] [label]
'use strict';
const path = require('path');
const { io } = require(path.join(__dirname, '..', 'tests', 'interop', 'node_modules', 'socket.io-client'));

const [port, clients = 10, rate = 500, duration = 5, warmup = 1, label = 'server'] = process.argv.slice(2);
const N = Number(clients), R = Number(rate), D = Number(duration) * 1e6, W = Number(warmup) * 1e6;  // µs
const pad = 'x'.repeat(76);
const now = () => Number(process.hrtime.bigint()) / 1e3;  // µs

const sockets = [];
let ready = 0;
for (let i = 0; i < N; ++i) {
  const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, forceNew: true });
  s.on('connect', () => { if (++ready === N) run(); });
  s.on('connect_error', (e) => { console.error('connect_error', e.message); process.exit(1); });
  sockets.push(s);
}

function run() {
  const lat = [];
  const t0 = now(), wStart = t0 + W, wEnd = wStart + D;
  let sent = 0, seq = 0, rr = 0;
  const timer = setInterval(() => {
    const t = now();
    const due = Math.floor((t - t0) * R / 1e6);
    while (sent < due) {
      const intended = t0 + sent * 1e6 / R;
      const s = sockets[rr++ % N];
      s.emit('echo', { seq: seq++, pad }, () => {
        const done = now();
        if (done >= wStart && done < wEnd) lat.push(done - intended);
      });
      ++sent;
    }
    if (t >= wEnd) {
      clearInterval(timer);
      setTimeout(() => report(lat), 200);
    }
  }, 1);
}

function report(lat) {
  lat.sort((a, b) => a - b);
  const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0;
  const out = {
    label, scenario: 'echo', client: 'socket.io-client', clients: N, offered_rate: R, msgs: lat.length,
    msg_per_s: Math.round(lat.length / (D / 1e6)), p50_us: +q(0.5).toFixed(1), p99_us: +q(0.99).toFixed(1),
    max_us: +(lat[lat.length - 1] || 0).toFixed(1),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  for (const s of sockets) s.close();
  process.exit(0);
}
