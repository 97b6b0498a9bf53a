"""Runs the rooms_sessions example server and checks it from the outside.

  check.py client SERVER CLIENT   the C++ SimpleClient program (every step must pass) + the static page
  check.py python SERVER          python3-socketio 5.7 Client: catch-all, sessions, a refused connect
"""
import subprocess
import sys
import time
import urllib.request


def start(server):
    proc = subprocess.Popen([server, '--port', '0', '--max-seconds', '50'],
                            stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith('LISTENING '):
            return proc, int(line.split()[1])
    proc.kill()
    sys.exit('server did not print LISTENING')


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit('server ignored SIGTERM')
    rest = proc.stdout.read()
    if 'rooms_sessions: stopping' not in rest:
        sys.exit('server did not stop cleanly: ' + rest)
    return rest


def check_client(server, client):
    proc, port = start(server)
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/' % port, timeout=5) as r:
            body = r.read().decode()
            assert r.status == 200 and 'text/html' in r.headers['Content-Type'], r.headers
            assert 'Rooms &amp; sessions' in body
        print('ok static index.html')
        run = subprocess.run([client, 'http://127.0.0.1:%d' % port], capture_output=True, text=True, timeout=40)
        print(run.stdout, end='')
        print(run.stderr, end='', file=sys.stderr)
        if run.returncode != 0 or 'PASSED' not in run.stdout:
            sys.exit('client failed (exit %d)' % run.returncode)
    finally:
        log = stop(proc)
    # the server's own log shows the environ it read and the disconnect
    assert 'username=cpp' in log and 'disconnect ' in log and 'catch_all no_such_event' in log, log
    print('ok server log')


def connect_client(url, transports):
    import queue
    import socketio
    received = queue.Queue()
    sc = socketio.Client(reconnection=False)
    sc.on('welcome', lambda data: received.put(('welcome', data)))
    sc.on('caught', lambda name, data: received.put(('caught', (name, data))))
    sc.connect(url, transports=transports, wait_timeout=5)
    return sc, received


def check_python(server):
    import socketio
    proc, port = start(server)
    url = 'http://127.0.0.1:%d' % port
    try:
        # python3-socketio 5.7 predates SimpleClient: a Client with a queue does the same.
        sc, received = connect_client(url + '?username=py', ['websocket'])
        try:
            event, data = received.get(timeout=5)
            assert event == 'welcome' and data['username'] == 'py' and data['sid'] == sc.get_sid(), (event, data)
            assert sc.call('set_name', {'name': 'Bo'}, timeout=5) is True
            assert sc.call('get_name', timeout=5) == 'Bo'
            assert sc.call('visit', timeout=5) == 1 and sc.call('visit', timeout=5) == 2
            assert sc.call('what_is_this', [1, 2], timeout=5) == {'event': 'what_is_this'}
            event, data = received.get(timeout=5)
            assert event == 'caught' and data == ('what_is_this', [1, 2]), (event, data)
            print('ok python client: sessions + catch-all')
        finally:
            sc.disconnect()
        # sessions are per connection: a new one starts empty (polling transport this time)
        sc, received = connect_client(url, ['polling'])
        try:
            assert received.get(timeout=5)[0] == 'welcome'
            assert sc.call('get_name', timeout=5) == ''
            assert sc.call('visit', timeout=5) == 1
            print('ok python client: a new session is empty')
        finally:
            sc.disconnect()
        # connect refused by the connect handler
        c = socketio.Client(reconnection=False)
        refusals = []
        c.on('connect_error', lambda data: refusals.append(data))
        try:
            c.connect(url + '?banned=1', transports=['websocket'], wait_timeout=5)
            sys.exit('banned client was accepted')
        except socketio.exceptions.ConnectionError:
            # the refusal's message and data, as the connect handler sent them
            assert refusals and refusals[0]['message'] == 'banned', refusals
            assert refusals[0]['data'] == {'reason': 'banned=1 in the query'}, refusals
            print('ok python client: connect refused')
        finally:
            c.disconnect()
    finally:
        stop(proc)


if __name__ == '__main__':
    if sys.argv[1] == 'client' and len(sys.argv) == 4:
        check_client(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == 'python' and len(sys.argv) == 3:
        check_python(sys.argv[2])
    else:
        sys.exit(__doc__)
    print('PASSED')
