"""A python-socketio client of examples/cluster, driven by cluster.test.js.

Usage: py_client.py PORT ROOM. Prints one line per step, for the test to read:
JOINED <ack>, then (after "say(ROOM, 'from-python')") SAID <msg> for the first "said" it
receives that is not its own, then COUNT <n>. Every wait is bounded; exits by itself.
"""
import sys
import threading

import socketio

port, room = sys.argv[1], sys.argv[2]
said = threading.Event()
got = []

sio = socketio.Client(reconnection=False)


@sio.on('said')
def on_said(msg):
    if msg != 'from-python':
        got.append(msg)
        said.set()


@sio.on('question')
def on_question(*_):
    return 'python'


sio.connect('http://127.0.0.1:%s' % port, transports=['websocket'], wait_timeout=10)
print('JOINED %s' % sio.call('join', room, timeout=10), flush=True)
sio.emit('say', (room, 'from-python'))
if not said.wait(20):
    print('NO SAID', flush=True)
    sys.exit(1)
print('SAID %s' % got[0], flush=True)
print('COUNT %s' % sio.call('count', timeout=10), flush=True)
sio.disconnect()
