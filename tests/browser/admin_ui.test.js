// The official Socket.IO admin UI (@socket.io/admin-ui 0.5.1's ui/dist, served by
// examples/admin_ui on /admin/) in headless Chromium (playwright-core, Debian's /usr/bin/chromium):
// it logs in with the server URL and a user's password, lists the connected npm
// socket.io-client clients and their rooms, makes one leave a room, and disconnects one, which
// that client sees as "io server disconnect". Only loopback requests leave the page (the UI
// links fonts and icons from CDNs: they are refused, so its buttons are found by icon class).
'use strict';

const path = require('path');
const { spawn } = require('child_process');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const bcrypt = require('bcryptjs');
const { chromium } = require('playwright-core');
const { io } = require('socket.io-client');

const SERVER = process.env.PORTICO_ADMIN_SERVER;
const CHROMIUM = process.env.PORTICO_CHROMIUM || '/usr/bin/chromium';
const UI_DIR = path.join(path.dirname(require.resolve('@socket.io/admin-ui/package.json')), 'ui', 'dist');
const T = { timeout: 60000 };
const PASSWORD = 'browser secret';

function startServer(args) {
  if (!SERVER) throw new Error('PORTICO_ADMIN_SERVER is not set');
  const child = spawn(SERVER, ['--port', '0', '--max-seconds', '100', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no LISTENING: ${out}${err}`)); }, 10000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${err}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
  });
}

/// SIGTERM by pid, SIGKILL after 3 s; the pid is polled too (see chat.test.js).
function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    let poll;
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    const done = () => { clearTimeout(killer); clearInterval(poll); resolve(); };
    poll = setInterval(() => { try { process.kill(child.pid, 0); } catch { done(); } }, 50);
    child.once('exit', done);
    child.kill('SIGTERM');
  });
}

function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, h); reject(new Error(`timed out waiting for ${event}`)); }, ms);
    function h(...args) { clearTimeout(timer); emitter.off(event, h); resolve(args); }
    emitter.on(event, h);
  });
}

async function connectClient(url) {
  const s = io(url, { forceNew: true, reconnection: false, timeout: 5000 });
  await once(s, 'connect');
  return s;
}

describe('the official admin UI in headless Chromium, served by portico', () => {
  let server;
  let browser;
  let page;
  const clients = [];
  const pageErrors = [];

  before(async () => {
    server = await startServer(['--admin-ui', UI_DIR, '--admin-user', 'admin',
      '--admin-password-hash', bcrypt.hashSync(PASSWORD, 6)]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, timeout: 20000 });
    page = await browser.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      return host === '127.0.0.1' ? route.continue() : route.abort();
    });
  });

  after(async () => {
    clients.forEach((c) => c.disconnect());
    if (browser) await browser.close().catch(() => {});
    if (server) await stopServer(server.child);
  });

  it('refuses a wrong password, then logs in and lists the clients and their rooms', T, async () => {
    const alice = await connectClient(server.url);
    const bob = await connectClient(server.url);
    clients.push(alice, bob);
    await alice.timeout(5000).emitWithAck('join', { room: 'lobby' });
    await bob.timeout(5000).emitWithAck('join', { room: 'kitchen' });

    await page.goto(`${server.url}/admin/`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByText('invalid credentials').waitFor();

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByLabel('Password').waitFor({ state: 'hidden' });  // the connection dialog closed

    await page.getByText('Sockets', { exact: true }).first().click();
    await page.getByRole('cell', { name: alice.id, exact: true }).waitFor();
    await page.getByRole('cell', { name: bob.id, exact: true }).waitFor();

    await page.getByText('Rooms', { exact: true }).first().click();
    await page.getByRole('cell', { name: 'lobby', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'kitchen', exact: true }).waitFor();
    assert.deepEqual(pageErrors, []);
  });

  it("a room left from the socket's page is left by the client", T, async () => {
    const [alice] = clients;
    await page.getByText('Sockets', { exact: true }).first().click();
    await page.getByRole('cell', { name: alice.id, exact: true }).click();
    await page.getByText('Socket details').waitFor();
    const lobbyRow = page.locator('tr').filter({ hasText: /^\s*lobby\s*$/ });
    await lobbyRow.locator('button:has(i.mdi-tag-off-outline)').click();
    // the UI's "leave" goes to the server on the admin connection: ask the client until it is done
    let rooms;
    for (let i = 0; i < 50; i += 1) {
      rooms = await alice.timeout(5000).emitWithAck('leave', { room: 'none' });
      if (!rooms.includes('lobby')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(rooms, [alice.id]);
  });

  it('disconnecting a socket from the UI disconnects that client only ("io server disconnect")', T, async () => {
    const [alice, bob] = clients;
    const aliceId = alice.id;  // socket.io-client forgets it on disconnect
    await page.evaluate((id) => { window.location.hash = `#/n/%2F/sockets/${id}`; }, alice.id);
    await page.getByText('Socket details').waitFor();
    const gone = once(alice, 'disconnect');
    // The socket page has two disconnect buttons: the client's (whole connection) and, second,
    // the socket's (this namespace only).
    const buttons = page.locator('main button:has(i.mdi-logout)');
    assert.equal(await buttons.count(), 2);
    await buttons.nth(1).click();
    const [reason] = await gone;
    assert.equal(reason, 'io server disconnect');
    assert.equal(bob.connected, true);
    assert.equal(await bob.timeout(5000).emitWithAck('echo', 'still here'), 'still here');
    // the UI no longer lists alice among the sockets, still lists bob
    await page.getByText('Sockets', { exact: true }).first().click();
    await page.getByRole('cell', { name: bob.id, exact: true }).waitFor();
    await page.getByRole('cell', { name: aliceId, exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual(pageErrors, []);
  });
});
