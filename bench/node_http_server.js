// Benchmark peer: Node's `http` module answering what bench/portico_http_server.cpp answers
// (keep-alive is Node's default).   GET /hello -> 200 {"message":"hello","n":<requests so far>}
// Usage: node node_http_server.js [port]   (prints "PORT <n>")
'use strict';
const http = require('http');

let served = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/hello') {
    const body = JSON.stringify({ message: 'hello', n: ++served });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"detail":"Not Found"}');
  }
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
