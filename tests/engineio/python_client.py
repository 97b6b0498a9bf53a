"""Drives the portico Engine.IO echo server with Debian's python3-engineio client.

Usage: python_client.py <path to engineio_echo_server>
Scenarios: polling with upgrade to websocket, websocket only; text and binary echo.
"""
import subprocess
import sys
import threading

import engineio

TIMEOUT = 10


def run_scenario(url, transports):
    client = engineio.Client()
    got = []
    done = threading.Event()
    connected = threading.Event()

    @client.on('connect')
    def on_connect():
        connected.set()

    @client.on('message')
    def on_message(data):
        got.append(data)
        if len(got) == 3:
            done.set()

    client.connect(url, transports=transports)
    assert connected.wait(TIMEOUT), 'no connect'
    # python-engineio 4.3 posts polling bodies as latin-1 (UnicodeEncodeError on '€'): keep
    # non-ASCII text to scenarios that end on the websocket transport.
    third = 'e and more' if transports == ['polling'] else '€ and more'
    client.send('hello')
    client.send(b'\x01\x02\x03')
    client.send(third)
    assert done.wait(TIMEOUT), 'echo incomplete: %r' % got
    assert got == ['hello', b'\x01\x02\x03', third], got
    if transports == ['polling', 'websocket']:
        # give the upgrade a moment, then check traffic still flows over the new transport
        for _ in range(50):
            if client.transport() == 'websocket':
                break
            threading.Event().wait(0.1)
        assert client.transport() == 'websocket', client.transport()
        got.clear()
        done.clear()
        client.send('after upgrade')
        client.send(b'\x00')
        client.send('third')
        assert done.wait(TIMEOUT), 'echo after upgrade incomplete: %r' % got
        assert got == ['after upgrade', b'\x00', 'third'], got
    client.disconnect()
    print('ok:', transports, 'final transport', client.transport() if hasattr(client, 'transport') else '?')


def main():
    server = subprocess.Popen([sys.argv[1], '0'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        port = int(line.strip().rsplit(':', 1)[1])
        url = 'http://127.0.0.1:%d' % port
        run_scenario(url, ['polling', 'websocket'])
        run_scenario(url, ['websocket'])
        run_scenario(url, ['polling'])
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
