"""A python-socketio client on one member of a mixed cluster, driven by redis_python.test.js.

Usage: redis_py_client.py PORT ROOM. Joins ROOM on the member at PORT, then prints one line per
thing that happens, for the test to read: READY, EVENT <name> <arg> for "everyone", "to-room"
and "other-room", ANSWER <arg> when it answers "q" (a broadcast with ack) with "python-<arg>".
Exits 0 on "bye" if it got "everyone" and "to-room"; 1 otherwise or after 30 s. Bounded waits.
"""
import sys
import threading

import socketio

port, room = sys.argv[1], sys.argv[2]
got = set()
bye = threading.Event()

sio = socketio.Client(reconnection=False)


def record(name):
    def handler(arg):
        got.add(name)
        print('EVENT %s %s' % (name, arg), flush=True)
    sio.on(name, handler)


for name in ('everyone', 'to-room', 'other-room'):
    record(name)


@sio.on('q')
def on_q(arg):
    print('ANSWER %s' % arg, flush=True)
    return 'python-%s' % arg


@sio.on('bye')
def on_bye(*_):
    bye.set()


sio.connect('http://127.0.0.1:%s' % port, transports=['websocket'], wait_timeout=10)
if sio.call('join', room, timeout=10) is not True:
    print('JOIN REFUSED', flush=True)
    sio.disconnect()
    sys.exit(1)
print('READY', flush=True)
ok = bye.wait(30) and {'everyone', 'to-room'} <= got
sio.disconnect()
sys.exit(0 if ok else 1)
