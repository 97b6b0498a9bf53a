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
out_lock = threading.Lock()


def say(line):
    # Handlers run on python-socketio's threads: print() writes the text and the newline
    # separately, so two events at once could come out as one line.
    with out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


sio = socketio.Client(reconnection=False)


def record(name):
    def handler(arg):
        got.add(name)
        say('EVENT %s %s' % (name, arg))
    sio.on(name, handler)


for name in ('everyone', 'to-room', 'other-room'):
    record(name)


@sio.on('q')
def on_q(arg):
    say('ANSWER %s' % arg)
    return 'python-%s' % arg


@sio.on('bye')
def on_bye(*_):
    bye.set()


sio.connect('http://127.0.0.1:%s' % port, transports=['websocket'], wait_timeout=10)
if sio.call('join', room, timeout=10) is not True:
    say('JOIN REFUSED')
    sio.disconnect()
    sys.exit(1)
say('READY')
ok = bye.wait(30) and {'everyone', 'to-room'} <= got
sio.disconnect()
sys.exit(0 if ok else 1)
