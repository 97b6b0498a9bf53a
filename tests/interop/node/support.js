// Shared plumbing for the node interop tests: server process, bounded waits, clients.
'use strict';

const path = require('path');
const { spawn } = require('child_process');
const { io } = require('socket.io-client');

const REFERENCE = path.join(__dirname, '..', 'reference_server.js');

/// The server command line: PORTICO_INTEROP_SERVER (a binary, or a command line with
/// spaces such as "node reference_server.js"), else the first CLI argument after the
/// test file, else the reference server. A lone `.js` path is run with this node.
function serverCommand() {
  const raw = process.env.PORTICO_INTEROP_SERVER
    || process.argv.slice(2).find((a) => !a.startsWith('-'))
    || REFERENCE;
  const parts = raw.trim().split(/\s+/);
  if (parts[0].endsWith('.js')) parts.unshift(process.execPath);
  return parts;
}

/// Starts the server with an ephemeral port and resolves once it printed LISTENING.
/// `flags`: more command-line flags (e.g. ['--allow-eio3']).
function startServer({ maxSeconds = 120, startTimeoutMs = 10000, flags = [] } = {}) {
  const [cmd, ...args] = serverCommand();
  const child = spawn(cmd, [...args, ...flags, '--port', '0', '--max-seconds', String(maxSeconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not print LISTENING within ${startTimeoutMs} ms: ${out}${stderr}`));
    }, startTimeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${sig}): ${stderr}`));
    });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout.resume();
        resolve({
          port: Number(m[1]),
          url: `http://127.0.0.1:${m[1]}`,
          child,
          stderr: () => stderr,
          stop: () => stopServer(child),
          /// Throws when the server is gone, so later tests fail fast instead of timing out.
          assertAlive: () => {
            if (child.exitCode !== null || child.signalCode !== null) {
              throw new Error(`server exited (code ${child.exitCode}, signal ${child.signalCode}): ${stderr.slice(-2000)}`);
            }
          },
        });
      }
    });
  });
}

/// SIGTERM by pid, SIGKILL if it does not exit within 3 s.
function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => { clearTimeout(killer); resolve(); });
    child.kill('SIGTERM');
  });
}

/// Resolves with the arguments of the next `event` on `emitter`, or rejects after `ms`.
function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    function handler(...args) {
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args);
    }
    emitter.on(event, handler);
  });
}

/// Collects every `event` on `emitter` into an array (for "must NOT receive" checks).
function record(emitter, event) {
  const got = [];
  emitter.on(event, (...args) => got.push(args));
  return got;
}

/// Emits with an ack callback and resolves with all ack arguments (bounded).
function emitAck(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...reply) => {
      if (err) reject(new Error(`no ack for '${event}' within 5000 ms`));
      else resolve(reply);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Tracks the clients a test opens so they are always closed, even on failure.
class Clients {
  constructor(url, transportOpts) {
    this.url = url;
    this.transportOpts = transportOpts;
    this.sockets = [];
  }

  /// A socket that is not yet connected (forceNew: one Engine.IO connection each).
  make(nsp = '/', extra = {}) {
    const socket = io(this.url + nsp, {
      forceNew: true,
      reconnection: false,
      timeout: 5000,
      ...this.transportOpts,
      ...extra,
    });
    this.sockets.push(socket);
    return socket;
  }

  /// Connects and resolves once the server's `welcome` arrived (connect_error rejects).
  connect(nsp = '/', extra = {}) {
    const socket = this.make(nsp, extra);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        socket.off('welcome', onWelcome);
        socket.off('connect_error', onError);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no 'welcome' on '${nsp}' within 5000 ms`));
      }, 5000);
      function onWelcome(payload) {
        done();
        socket.welcome = payload;
        resolve(socket);
      }
      function onError(e) {
        done();
        reject(new Error(`connect_error on '${nsp}': ${e && e.message}`));
      }
      socket.on('welcome', onWelcome);
      socket.on('connect_error', onError);
    });
  }

  closeAll() {
    for (const s of this.sockets) {
      s.io.opts.reconnection = false;
      s.io.reconnection(false);
      s.disconnect();
      if (s.io.engine) s.io.engine.close();
    }
    this.sockets = [];
  }
}

module.exports = { startServer, stopServer, once, record, emitAck, sleep, Clients, serverCommand };
