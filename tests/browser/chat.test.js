// examples/chat in a real browser: two headless Chromium pages (playwright-core driving
// Debian's /usr/bin/chromium) load the page the chat server serves, join one room, and a
// message typed in one page must be rendered in the other. A screenshot of both is saved
// under the build folder (PORTICO_BROWSER_OUT, else MESON_BUILD_ROOT, else the cwd).
'use strict';

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');

const SERVER = process.env.PORTICO_CHAT_SERVER || process.argv.slice(2).find((a) => !a.startsWith('-'));
const CHROMIUM = process.env.PORTICO_CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.PORTICO_BROWSER_OUT
  || (process.env.MESON_BUILD_ROOT && path.join(process.env.MESON_BUILD_ROOT, 'tests', 'browser'))
  || process.cwd();
const T = { timeout: 60000 };

/// Spawns the chat server on an ephemeral port; resolves once it printed `LISTENING <port>`.
function startChat() {
  if (!SERVER) throw new Error('set PORTICO_CHAT_SERVER to the examples/chat executable');
  // PORTICO_CHAT_FLAGS: more flags for the server (meson runs this test once with --allow-eio3 too)
  const flags = (process.env.PORTICO_CHAT_FLAGS || '').split(/\s+/).filter(Boolean);
  const child = spawn(SERVER, [...flags, '--port', '0', '--max-seconds', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
        resolve({ child, url: `http://127.0.0.1:${m[1]}/`, log: () => out, stderr: () => err });
      }
    });
  });
}

/// SIGTERM by pid, SIGKILL after 3 s; resolves with the exit code (null when killed). The pid
/// is also polled: with playwright's browser in the same process the 'exit' event has been seen
/// to go missing, which would leave the test runner with nothing to wait on.
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

/// Fills in the name, joins `room` and waits for the page to show that the server acked it.
async function join(page, name, room) {
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.waitForFunction(() => /^connected/.test(document.getElementById('state').textContent));
  await page.click('#join');
  await page.waitForFunction((r) => (document.body.dataset.joined || '').split(',').includes(r), room);
}

describe('examples/chat in two headless Chromium pages', () => {
  let server;
  let browser;
  let alice;
  let bob;
  const pageErrors = [];

  before(async () => {
    server = await startChat();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      chromiumSandbox: false,  // --no-sandbox
      args: ['--disable-gpu', '--disable-background-networking'],
      timeout: 20000,
    });
    const open = async () => {
      const p = await browser.newPage({ viewport: { width: 640, height: 560 } });
      p.setDefaultTimeout(10000);
      p.on('pageerror', (e) => pageErrors.push(String(e)));
      const res = await p.goto(server.url);
      assert.equal(res.status(), 200);
      // all three namespaces connected, so later broadcasts reach this page
      await p.waitForFunction(() => window.sockets && Object.values(window.sockets).every((s) => s.connected));
      return p;
    };
    alice = await open();
    bob = await open();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) {
      const code = await stopChat(server.child);
      // SIGTERM must end the server cleanly (exit 0), not by the fallback SIGKILL
      assert.equal(code, 0, `chat did not exit cleanly on SIGTERM: ${server.stderr()}`);
    }
  });

  it('serves the page and the official socket.io-client bundle from the server itself', T, async () => {
    const js = await alice.request.get(new URL('/socket.io.min.js', server.url).href);
    assert.equal(js.status(), 200);
    assert.match(js.headers()['content-type'], /javascript/);
    assert.match(await js.text(), /Socket\.IO v4\./);
    assert.equal(await alice.evaluate(() => typeof window.io), 'function');
    // the CORS option (default '*', as in the tutorial) answers cross-origin polling requests
    const hs = await alice.request.get(new URL('/socket.io/?EIO=4&transport=polling', server.url).href,
      { headers: { Origin: 'http://example.test' } });
    assert.equal(hs.status(), 200);
    assert.ok(hs.headers()['access-control-allow-origin'], 'no Access-Control-Allow-Origin header');
  });

  it('a message sent from one page is rendered in the other page of the same room', T, async () => {
    const room = 'room-' + process.pid;
    await join(alice, 'alice', room);
    await join(bob, 'bob', room);
    // alice hears bob entering (a status broadcast to the room, sender excluded)
    await alice.waitForFunction(() => [...document.querySelectorAll('#log li.status')]
      .some((li) => li.textContent.includes('bob has entered')));

    const text = 'hello from alice ' + Date.now();
    await alice.fill('#msg', text);
    await alice.click('#send');
    await bob.waitForFunction((t) => [...document.querySelectorAll('#log li.chat')]
      .some((li) => li.textContent === 'alice: ' + t), text);
    // the sender sees it too (emitted to the whole room) and the ack cleared the input
    await alice.waitForFunction((t) => [...document.querySelectorAll('#log li.chat')]
      .some((li) => li.textContent === 'alice: ' + t), text);
    await alice.waitForFunction(() => document.getElementById('msg').value === '');

    fs.mkdirSync(OUT, { recursive: true });
    for (const [who, page] of [['alice', alice], ['bob', bob]]) {
      const file = path.join(OUT, `chat-${who}.png`);
      await page.screenshot({ path: file });
      assert.ok(fs.statSync(file).size > 1000, `screenshot ${file} is empty`);
    }
  });

  it('after leaving the room a page no longer receives its messages', T, async () => {
    const room = 'room-' + process.pid;
    await bob.click('#leave');
    await bob.waitForFunction((r) => !(document.body.dataset.joined || '').split(',').includes(r), room);
    const before = await bob.locator('#log li.chat').count();
    const text = 'only for the room ' + Date.now();
    await alice.fill('#msg', text);
    await alice.click('#send');
    await alice.waitForFunction((t) => [...document.querySelectorAll('#log li.chat')]
      .some((li) => li.textContent === 'alice: ' + t), text);
    // alice's own copy arrived, so bob's (if wrongly sent) would have had the same path
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await bob.locator('#log li.chat').count(), before);
  });

  // Chromium closes a websocket on a text frame that is not UTF-8: one bad message used to
  // disconnect every page of the room.
  it('long names are cut by character and a lone surrogate arrives as U+FFFD; nobody is disconnected', T, async () => {
    const room = 'utf8-' + process.pid;
    const long = 'a'.repeat(31) + 'éé'; // 33 characters, 35 bytes: 32 bytes would end inside 'é'
    await join(alice, long, room);
    await join(bob, 'bob', room);
    await bob.waitForFunction((r) => (document.body.dataset.joined || '').split(',').includes(r), room);
    const text = 'cut by character ' + Date.now();
    await alice.fill('#msg', text);
    await alice.click('#send');
    const expected = 'a'.repeat(31) + 'é: ' + text;
    await bob.waitForFunction((t) => [...document.querySelectorAll('#log li.chat')]
      .some((li) => li.textContent === t), expected);
    // JSON.stringify sends 'hi \udd00' as the escape; the server must not forward the invalid
    // bytes RapidJSON decodes it to
    await alice.evaluate((r) => window.sockets.chat.emit('text', { room: r, msg: 'hi \udd00' }, () => {}), room);
    const name = 'a'.repeat(31) + 'é: ';
    for (const page of [alice, bob]) {
      await page.waitForFunction((t) => [...document.querySelectorAll('#log li.chat')]
        .some((li) => li.textContent === t), name + 'hi \ufffd');
      assert.equal(await page.evaluate(() => window.sockets.chat.connected), true);
    }
  });

  it('runs the tutorial steps on "/" and "/user" (unnamed message, user-connected, ack callback)', T, async () => {
    // both pages connected to "/" (socket.send) and "/user" (user-connected -> new-user + ack)
    const deadline = Date.now() + 5000;
    while (!/new-user to \S+: message was received/.test(server.log()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(server.log(), /message from \S+: \{"data":"Connected to the server"\}/);
    assert.match(server.log(), /user-connected on \/user from \S+/);
    assert.match(server.log(), /new-user to \S+: message was received/);
    // bob connected after alice: alice was told that a user came online
    await alice.waitForFunction(() => [...document.querySelectorAll('#log li.status')]
      .some((li) => li.textContent.endsWith('is online')));
    assert.deepEqual(pageErrors, []);
  });
});
