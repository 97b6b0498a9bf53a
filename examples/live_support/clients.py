"""examples/live_support driven by third-party clients: python3-requests for the page and
python3-websocket (websocket-client) for both live-support routes.

Usage: clients.py <live_support executable>
"""
import http.client
import json
import subprocess
import sys
import time

import requests
import websocket

TIMEOUT = 10
REPLY = ('We have received you complain:<br><br><strong>"my order is late"</strong>'
         '<br><br>We shall get back to you.')


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def welcome(name):
    return 'Welcome %s to our live support room!\nHow can we help you?' % name


def close_frame(ws):
    """Reads until the server's close frame; returns (code, reason)."""
    op, frame = ws.recv_data_frame(True)
    check(op == websocket.ABNF.OPCODE_CLOSE, 'expected a close frame, got opcode %r' % op)
    return int.from_bytes(frame.data[:2], 'big'), frame.data[2:].decode()


def last_close(base, want):
    code = None
    for _ in range(100):
        code = requests.get(base + '/car/last-close', timeout=TIMEOUT).json()['code']
        if code == want:
            break
        time.sleep(0.05)
    return code


def page_name(html):
    """The name the page's script connects with: the JS literal given to encodeURIComponent,
    read from the one <script> element (JSON is a subset of JavaScript literals)."""
    check(html.lower().count('<script') == 1 and html.lower().count('</script') == 1, 'one script element')
    script = html[html.index('<script>') + len('<script>'):html.index('</script>')]
    check('\u2028' not in script and '\u2029' not in script, 'no raw line separators in the script')
    at = script.index('encodeURIComponent(') + len('encodeURIComponent(')
    value, end = json.JSONDecoder(strict=True).raw_decode(script, at)
    check(script[end] == ')', 'the literal ends the call')
    return value


def page_checks(base):
    r = requests.get(base + '/car/ws-index', params={'name': 'Ellar'}, timeout=TIMEOUT)
    check(r.status_code == 200, r.status_code)
    check(r.headers['Content-Type'].startswith('text/html'), r.headers)
    check('<title>Live Support</title>' in r.text, r.text)
    check(page_name(r.text) == 'Ellar', 'name substituted into the page')
    r = requests.get(base + '/car/ws-index', timeout=TIMEOUT)
    check(page_name(r.text) == 'John', 'default name on the page')
    # A value that would end the string, the line or the script element arrives intact.
    tricky = 'a\\b\nc"d\'e</script><b>&\u2028\u2029'
    r = requests.get(base + '/car/ws-index', params={'name': tricky}, timeout=TIMEOUT)
    check(page_name(r.text) == tricky, 'name carried exactly into the script')
    check('<b>' not in r.text.split('<body>')[1], 'name is escaped')
    # What the router answers around the controller's routes, in JSON.
    r = requests.get(base + '/car/nowhere', timeout=TIMEOUT)
    check(r.status_code == 404 and r.json() == {'detail': 'Not Found'}, (r.status_code, r.text))
    r = requests.post(base + '/car/ws-index', timeout=TIMEOUT)
    check(r.status_code == 405 and 'GET' in r.headers['Allow'], (r.status_code, r.headers))
    # No gateway, no Engine.IO: the router answers every path.
    r = requests.get(base + '/engine.io/', params={'EIO': '4', 'transport': 'polling'}, timeout=TIMEOUT)
    check(r.status_code == 404 and r.json() == {'detail': 'Not Found'}, (r.status_code, r.text))
    # HTTP/1.1 keep-alive: two requests on one connection, both answered.
    hostname, port = base[len('http://'):].rsplit(':', 1)
    conn = http.client.HTTPConnection(hostname, int(port), timeout=TIMEOUT)
    for _ in range(2):
        conn.request('GET', '/car/last-close')
        resp = conn.getresponse()
        body = resp.read()
        check(resp.status == 200 and resp.getheader('Connection') != 'close', (resp.status, resp.headers))
        check(body.startswith(b'{'), body)
    sock = conn.sock
    check(sock is not None, 'the connection stayed open')
    conn.close()
    print('ok: page')


def plain_checks(host):
    ws = websocket.create_connection('ws://%s/car/live-support?name=Ellar' % host, timeout=TIMEOUT)
    check(ws.recv() == welcome('Ellar'), 'welcome with the query name')
    ws.send('my order is late')
    check(ws.recv() == REPLY, 'echo')
    ws.send('bye')  # the server closes: 1000 with a reason naming the caller
    check(close_frame(ws) == (1000, 'Goodbye Ellar'), 'server-initiated close')
    ws.close()

    ws = websocket.create_connection('ws://%s/car/live-support' % host, timeout=TIMEOUT)
    check(ws.recv() == welcome('John'), 'default name')
    ws.close()

    for path in ('/car/live-support?banned=1', '/car/live-support-events?banned=1'):
        try:
            websocket.create_connection('ws://%s%s' % (host, path), timeout=TIMEOUT)
            raise AssertionError('guard did not refuse ' + path)
        except websocket.WebSocketBadStatusException as e:
            check(e.status_code == 403, (path, e.status_code))
    print('ok: plain mode')


def event_checks(host):
    base = 'http://' + host
    ws = websocket.create_connection('ws://%s/car/live-support-events?name=Ann' % host, timeout=TIMEOUT)
    check(ws.recv() == welcome('Ann'), 'event-mode welcome')
    ws.send('my order is late')
    check(ws.recv() == REPLY, 'event-mode echo')
    ws.close(status=4001)  # the client's own code reaches on_disconnect
    code = last_close(base, 4001)
    check(code == 4001, 'on_disconnect saw %r' % code)

    ws = websocket.create_connection('ws://%s/car/live-support-events' % host, timeout=TIMEOUT)
    check(ws.recv() == welcome('John'), 'event-mode default name')
    ws.close()  # a normal close: 1000
    code = last_close(base, 1000)
    check(code == 1000, 'on_disconnect saw %r' % code)

    ws = websocket.create_connection('ws://%s/car/live-support-events' % host, timeout=TIMEOUT)
    ws.recv()
    ws.send_binary(b'\x00\x01')  # text-only route: 1003
    check(close_frame(ws)[0] == 1003, 'bytes refused with 1003')
    ws.close()
    print('ok: event mode')


def main():
    server = subprocess.Popen([sys.argv[1], '--port', '0', '--max-seconds', '50'], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        port = None
        for line in server.stdout:
            if line.startswith('LISTENING '):
                port = int(line.split()[1])
                break
        check(port, 'no LISTENING line')
        host = '127.0.0.1:%d' % port
        page_checks('http://' + host)
        plain_checks(host)
        event_checks(host)

        # Shutdown: an open client is told 1001 (going away) and the program exits 0.
        ws = websocket.create_connection('ws://%s/car/live-support' % host, timeout=TIMEOUT)
        ws.recv()
        server.terminate()
        check(close_frame(ws)[0] == 1001, 'shutdown close code')
        ws.close()
        server.wait(10)
        check(server.returncode == 0, 'exit status %r' % server.returncode)
        print('ok: shutdown')
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return 0


if __name__ == '__main__':
    sys.exit(main())
