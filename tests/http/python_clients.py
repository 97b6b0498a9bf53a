"""Third-party clients against portico::http through seed 001's controller
(examples/live_support): python3-requests for HTTP routes and python3-websocket
(websocket-client) for the live-support ws routes, all on the port that also serves Engine.IO.

Usage: python_clients.py <live_support executable>
"""
import json
import subprocess
import sys
import time

import requests
import websocket

TIMEOUT = 10


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def http_checks(base):
    r = requests.get(base + '/car/ws-index', params={'name': '<Ann>'}, timeout=TIMEOUT)
    check(r.status_code == 200, r.status_code)
    check(r.headers['Content-Type'].startswith('text/html'), r.headers)
    check('<title>Live Support</title>' in r.text, r.text)
    check('name=&lt;Ann&gt;' in r.text, 'query value is HTML-escaped')
    r = requests.get(base + '/car/nowhere', timeout=TIMEOUT)
    check(r.status_code == 404 and r.json() == {'detail': 'Not Found'}, (r.status_code, r.text))
    r = requests.post(base + '/car/ws-index', timeout=TIMEOUT)
    check(r.status_code == 405 and 'GET' in r.headers['Allow'], (r.status_code, r.headers))
    # Engine.IO still answers on its path, same port.
    r = requests.get(base + '/engine.io/', params={'EIO': '4', 'transport': 'polling'}, timeout=TIMEOUT)
    check(r.status_code == 200 and r.text.startswith('0{'), r.text)
    print('ok: http')


def ws_checks(host):
    expected_reply = ('We have received you complain:<br><br><strong>"my order is late"</strong>'
                      '<br><br>We shall get back to you.')
    ws = websocket.create_connection('ws://%s/car/live-support?name=Ellar' % host, timeout=TIMEOUT)
    check(ws.recv() == 'Welcome Ellar to our live support room!\nHow can we help you?', 'welcome')
    ws.send('my order is late')
    check(ws.recv() == expected_reply, 'echo')
    ws.close()

    ws = websocket.create_connection('ws://%s/car/live-support' % host, timeout=TIMEOUT)
    check(ws.recv() == 'Welcome John to our live support room!\nHow can we help you?', 'default name')
    ws.close()

    try:
        websocket.create_connection('ws://%s/car/live-support?banned=1' % host, timeout=TIMEOUT)
        raise AssertionError('guard did not refuse')
    except websocket.WebSocketBadStatusException as e:
        check(e.status_code == 403, e.status_code)

    # Event mode: echo, then the client's own close code reaches on_disconnect.
    ws = websocket.create_connection('ws://%s/car/live-support-events' % host, timeout=TIMEOUT)
    check(ws.recv().startswith('Welcome John'), 'event-mode welcome')
    ws.send('my order is late')
    check(ws.recv() == expected_reply, 'event-mode echo')
    ws.close(status=4001)
    code = None
    for _ in range(100):
        code = requests.get('http://%s/car/last-close' % host, timeout=TIMEOUT).json()['code']
        if code == 4001:
            break
        time.sleep(0.05)
    check(code == 4001, 'on_disconnect code %r' % code)

    # Wrong frame type: closed with 1003.
    ws = websocket.create_connection('ws://%s/car/live-support-events' % host, timeout=TIMEOUT)
    ws.recv()
    ws.send_binary(b'\x00\x01')
    op, frame = ws.recv_data_frame(True)
    check(op == websocket.ABNF.OPCODE_CLOSE, op)
    check(int.from_bytes(frame.data[:2], 'big') == 1003, frame.data)
    ws.close()
    print('ok: websocket')


def main():
    server = subprocess.Popen([sys.argv[1], '--port', '0', '--max-seconds', '100'], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        port = None
        for line in server.stdout:
            if line.startswith('LISTENING '):
                port = int(line.split()[1])
                break
        check(port, 'no LISTENING line')
        host = '127.0.0.1:%d' % port
        http_checks('http://' + host)
        ws_checks(host)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if server.returncode != 0:
        print('server exited with', server.returncode)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
