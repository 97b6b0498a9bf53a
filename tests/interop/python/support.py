"""Shared plumbing for the python-socketio interop tests: server process, clients, waits."""
import collections
import os
import queue
import shlex
import subprocess
import sys
import threading
import time

import socketio

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(os.path.dirname(HERE), 'reference_server.js')
WAIT = 5.0


def server_command():
    """PORTICO_INTEROP_SERVER (a binary or a command line with spaces), else the reference
    server. A lone `.js` path is run with node."""
    raw = os.environ.get('PORTICO_INTEROP_SERVER') or REFERENCE
    parts = shlex.split(raw)
    if parts[0].endswith('.js'):
        parts.insert(0, os.environ.get('NODE', 'node'))
    return parts


class Server:
    """The interop server on an ephemeral port; stop() kills it by pid."""

    def __init__(self, max_seconds=120, start_timeout=10.0):
        cmd = server_command() + ['--port', '0', '--max-seconds', str(max_seconds)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        lines = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        # stderr must be drained or a chatty server blocks on a full pipe; keep the tail
        self.stderr_tail = collections.deque(maxlen=200)

        def drain():
            for line in self.proc.stderr:
                self.stderr_tail.append(line)

        self._readers = [threading.Thread(target=pump, daemon=True),
                         threading.Thread(target=drain, daemon=True)]
        for reader in self._readers:
            reader.start()
        deadline = time.monotonic() + start_timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = ''
            if line is None or (line == '' and left <= 0):
                self.stop()
                time.sleep(0.2)
                raise RuntimeError('server did not print LISTENING: ' + ''.join(self.stderr_tail))
            if line.startswith('LISTENING '):
                self.port = int(line.split()[1])
                self.url = 'http://127.0.0.1:%d' % self.port
                return

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        # the readers end at EOF once the process is gone; close the pipes only after them
        for reader in self._readers:
            reader.join(timeout=2)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except Exception:
                pass


class Peer:
    """A socketio.Client whose received events land in per-(namespace, event) queues,
    so the test thread can wait on them with a timeout."""

    def __init__(self, namespaces=('/',), **client_kwargs):
        client_kwargs.setdefault('reconnection', False)
        self.sio = socketio.Client(**client_kwargs)
        self.namespaces = list(namespaces)
        self._queues = {}
        self._lock = threading.Lock()
        for ns in self.namespaces:
            self._hook(ns)

    def _hook(self, ns):
        self.sio.on('*', lambda event, *args: self._put(ns, event, args), namespace=ns)
        self.sio.on('connect_error', lambda *args: self._put(ns, 'connect_error', args), namespace=ns)
        self.sio.on('disconnect', lambda *args: self._put(ns, 'disconnect', args), namespace=ns)

    def queue(self, event, ns='/'):
        with self._lock:
            return self._queues.setdefault((ns, event), queue.Queue())

    def _put(self, ns, event, args):
        self.queue(event, ns).put(args)

    def on(self, event, handler, ns='/'):
        """An explicit handler (its return value becomes the ack) that also records the call."""
        def wrapped(*args):
            self._put(ns, event, args)
            return handler(*args)
        self.sio.on(event, wrapped, namespace=ns)

    def next(self, event, ns='/', timeout=WAIT):
        """Arguments of the next `event` on `ns` (a tuple); AssertionError on timeout."""
        try:
            return self.queue(event, ns).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError('timed out after %.1f s waiting for %r on %r' % (timeout, event, ns))

    def nothing(self, event, ns='/', within=0.3):
        """True when no `event` arrives on `ns` within `within` seconds."""
        try:
            self.queue(event, ns).get(timeout=within)
            return False
        except queue.Empty:
            return True

    def connect(self, url, transports=None, auth=None, wait_timeout=WAIT):
        """python-socketio keeps waiting `wait_timeout` after a refusal before it raises,
        so tests that expect a refusal pass a short one."""
        self.sio.connect(url, transports=transports, auth=auth, namespaces=self.namespaces,
                         wait_timeout=wait_timeout)

    def call(self, event, *args, ns='/'):
        """Emit with an ack and return the ack arguments as a list."""
        got = queue.Queue()
        self.sio.emit(event, tuple(args), namespace=ns, callback=lambda *a: got.put(list(a)))
        try:
            return got.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError('no ack for %r on %r within %.1f s' % (event, ns, WAIT))

    def emit(self, event, *args, ns='/'):
        self.sio.emit(event, tuple(args), namespace=ns)

    def close(self):
        # stop a reconnect loop still running after a failed test, or the process never exits
        abort = getattr(self.sio, '_reconnect_abort', None)
        if abort is not None:
            abort.set()
        try:
            self.sio.disconnect()
        except Exception as exc:  # a failed connect leaves half-open state behind
            print('disconnect failed: %r' % exc, file=sys.stderr)
