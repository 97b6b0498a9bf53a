#!/usr/bin/python3
"""python3-socketio (Debian's) over TLS against any server: long-polling, websocket, and
long-polling upgraded to websocket, each trusting only the CA file given; then a client trusting
another CA must fail. Server contract: an event `transport` acknowledged with the name of the
Engine.IO transport in use (portico's interop_server and tests/client/tls_server.js both have it).

Usage: /usr/bin/python3 tls_peer.py URL CA_FILE [--other-ca FILE]
Prints one line per check ("ok ..." / "not ok ..."); exits 0 when all passed. Bounded: each
step waits at most 10 s.

Retries: python-engineio's websocket transport reads and writes its TLS socket from two threads
at once (the read loop and the write loop), which OpenSSL does not allow on one SSL object; now
and then the read loop then sees the connection as lost a millisecond after the upgrade while
the server saw nothing wrong (miguelgrinberg/python-engineio#461; seen in about 1 of 10 wss
connections here under load, with the server's log showing only the client's close). A check
that uses the websocket transport is therefore tried up to ATTEMPTS times, each failed attempt
printed as a "# retry" line; a server that cannot serve wss fails every attempt.
"""
import sys
import time

import requests
import socketio

WAIT = 10
ATTEMPTS = 4


def client(ca):
    # python-engineio takes the CA from the requests session: `verify` for long-polling, and it
    # passes a string `verify` on to websocket-client as sslopt ca_certs. trust_env off: otherwise
    # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment replace the session's CA.
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    return socketio.Client(reconnection=False, http_session=session)


def transport_check(url, ca, name, transports, expected):
    attempts = ATTEMPTS if 'websocket' in transports else 1
    for attempt in range(1, attempts + 1):
        error = transport_attempt(url, ca, transports, expected)
        if error is None:
            print('ok %s: connected over TLS, transport %s' % (name, expected))
            return True
        if attempt < attempts:
            print('# retry %s (attempt %d of %d failed: %r)' % (name, attempt, attempts, error))
    print('not ok %s: %r' % (name, error))
    return False


def transport_attempt(url, ca, transports, expected):
    """None when connected with `expected` and the server agreed; else the error."""
    sio = client(ca)
    try:
        sio.connect(url, transports=transports, wait_timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while sio.transport() != expected and time.monotonic() < deadline:
            time.sleep(0.05)  # the upgrade completes in the background
        seen = sio.call('transport', timeout=WAIT)
        if seen != expected:
            return RuntimeError('server saw transport %s, expected %s' % (seen, expected))
        return None
    except Exception as e:  # noqa: BLE001 - any failure is the check's result
        return e
    finally:
        sio.disconnect()


def wrong_ca_check(url, other_ca):
    sio = client(other_ca)
    try:
        sio.connect(url, transports=['polling'], wait_timeout=WAIT)
        print('not ok wrong CA: connected')
        return False
    except socketio.exceptions.ConnectionError as e:
        print('ok wrong CA: %s' % e)
        return True
    finally:
        sio.disconnect()


def main(argv):
    if len(argv) < 2:
        print('usage: tls_peer.py URL CA_FILE [--other-ca FILE]', file=sys.stderr)
        return 2
    url, ca = argv[0], argv[1]
    other_ca = argv[argv.index('--other-ca') + 1] if '--other-ca' in argv else ''
    results = [
        transport_check(url, ca, 'polling', ['polling'], 'polling'),
        transport_check(url, ca, 'websocket', ['websocket'], 'websocket'),
        transport_check(url, ca, 'polling + upgrade', ['polling', 'websocket'], 'websocket'),
    ]
    if other_ca:
        results.append(wrong_ca_check(url, other_ca))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
