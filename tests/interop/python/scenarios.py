"""Interop scenarios for Debian python3-socketio 5.7, run once per transport mode."""
import socketio

from support import Peer, Server


class Scenarios:
    """Mixed into a unittest.TestCase that sets TRANSPORTS (None = polling + upgrade)
    and FINAL_TRANSPORT (the Engine.IO transport in use once connected)."""

    TRANSPORTS = None
    FINAL_TRANSPORT = 'websocket'

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.proc.poll()
        cls.server.stop()
        if code is not None:
            raise AssertionError('the server died during the tests (exit code %s)' % code)

    def setUp(self):
        if self.server.proc.poll() is not None:
            self.fail('the server is not running (exit code %s)' % self.server.proc.returncode)

    def peer(self, namespaces=('/',), auth=None, connect=True, **client_kwargs):
        p = Peer(namespaces, **client_kwargs)
        self.addCleanup(p.close)
        if connect:
            p.connect(self.server.url, transports=self.TRANSPORTS, auth=auth)
        return p

    def test_connect_welcome_echoes_sid_and_auth(self):
        auth = {'token': 'good', 'user': 'ann', 'n': [1, 2]}
        p = self.peer(auth=auth)
        (welcome,) = p.next('welcome')
        self.assertEqual(welcome['sid'], p.sio.get_sid('/'))
        self.assertEqual(welcome['auth'], auth)
        self.assertEqual(p.sio.transport(), self.FINAL_TRANSPORT)

        # python-socketio 5.7 sends {} when it has no auth; the contract reports that as null
        anon = self.peer()
        (welcome2,) = anon.next('welcome')
        self.assertIsNone(welcome2['auth'])
        self.assertNotEqual(welcome2['sid'], welcome['sid'])

    def test_echo_multiple_args(self):
        p = self.peer()
        p.next('welcome')
        args = (1, 'two', {'three': [3, {'four': 4}]}, None, True, -2.5, [], 'üñí©ødé ✓')
        p.emit('echo', *args)
        self.assertEqual(p.next('echo'), args)

    def test_ack_client_to_server(self):
        p = self.peer()
        p.next('welcome')
        self.assertEqual(p.call('ack', 'a', 2, {'b': [1, None]}), ['a', 2, {'b': [1, None]}])
        self.assertEqual(p.call('ack', 'single'), ['single'])
        self.assertEqual(p.call('ack'), [])

    def test_ack_server_to_client(self):
        p = self.peer()
        p.next('welcome')
        p.on('question', lambda x: (x * 2, 'extra', {'x': x}))
        p.emit('ask', 21)
        self.assertEqual(p.next('question'), (21,))
        self.assertEqual(p.next('answer'), (42, 'extra', {'x': 21}))

    def test_binary_top_level_and_nested(self):
        p = self.peer()
        p.next('welcome')
        top = bytes([0, 1, 2, 127, 128, 254, 255])
        nested = b'\xab' * 1000
        p.emit('echo', top, {'name': 'file', 'data': {'blob': nested, 'list': ['text', top]}})
        a, b = p.next('echo')
        self.assertIsInstance(a, bytes)
        self.assertEqual(a, top)
        self.assertEqual(b['name'], 'file')
        self.assertEqual(b['data']['blob'], nested)
        self.assertEqual(b['data']['list'], ['text', top])
        # binary through an ack as well (BINARY_ACK)
        self.assertEqual(p.call('ack', top, {'inner': nested}), [top, {'inner': nested}])

    def test_binary_through_server_to_client_ack_and_large_binary(self):
        p = self.peer()
        p.next('welcome')
        p.on('question', lambda x: (x + b'\x01', {'raw': x}))
        p.emit('ask', b'\x09\x00\xff')
        self.assertEqual(p.next('answer'), (b'\x09\x00\xff\x01', {'raw': b'\x09\x00\xff'}))
        big = bytes((i * 31 + 7) & 0xff for i in range(200 * 1024))
        p.emit('echo', {'big': big})
        (back,) = p.next('echo', timeout=10)
        self.assertEqual(back['big'], big)

    def test_ten_clients_get_one_broadcast(self):
        peers = [self.peer() for _ in range(10)]
        sids = {p.next('welcome')[0]['sid'] for p in peers}
        self.assertEqual(len(sids), 10)
        peers[3].emit('broadcast', 'to-ten')
        for p in peers:
            self.assertEqual(p.next('broadcast'), ('to-ten',))

    def test_admin_namespace_and_multiplexing(self):
        p = self.peer(namespaces=('/', '/admin'), auth={'token': 'adm'})
        (w_main,) = p.next('welcome', '/')
        (w_admin,) = p.next('welcome', '/admin')
        self.assertEqual(w_admin['auth'], {'token': 'adm'})
        self.assertEqual(w_admin['sid'], p.sio.get_sid('/admin'))
        self.assertNotEqual(w_admin['sid'], w_main['sid'])
        p.emit('echo', 'on-admin', ns='/admin')
        self.assertEqual(p.next('echo', '/admin'), ('on-admin',))
        self.assertTrue(p.nothing('echo', '/'), 'an /admin event leaked into /')
        self.assertEqual(p.call('ack', 'main', ns='/'), ['main'])

    def test_invalid_namespace_refused(self):
        p = self.peer(namespaces=('/nope',), connect=False)
        with self.assertRaises(socketio.exceptions.ConnectionError):
            p.connect(self.server.url, transports=self.TRANSPORTS, wait_timeout=1)
        (err,) = p.next('connect_error', '/nope')
        self.assertEqual(err['message'], 'Invalid namespace')

    def test_connect_refused_with_data(self):
        for ns in ('/', '/admin'):
            with self.subTest(namespace=ns):
                p = self.peer(namespaces=(ns,), connect=False)
                with self.assertRaises(socketio.exceptions.ConnectionError):
                    p.connect(self.server.url, transports=self.TRANSPORTS, auth={'token': 'bad'},
                              wait_timeout=1)
                (err,) = p.next('connect_error', ns)
                self.assertEqual(err, {'message': 'not authorized', 'data': {'code': 42}})
                self.assertTrue(p.nothing('welcome', ns, within=0.1))

    def test_rooms_among_three_clients(self):
        a, b, c, outsider = (self.peer() for _ in range(4))
        for p in (a, b, c, outsider):
            p.next('welcome')
        for p in (a, b, c):
            self.assertEqual(p.call('join', 'lobby'), [True])
        self.assertEqual(a.call('to_room', 'lobby', {'text': 'hi'}), [True])
        self.assertEqual(b.next('room_msg'), ({'text': 'hi'},))
        self.assertEqual(c.next('room_msg'), ({'text': 'hi'},))
        self.assertTrue(a.nothing('room_msg'), 'the sender got its own room message')
        self.assertTrue(outsider.nothing('room_msg', within=0.05), 'a non-member got the room message')

        self.assertEqual(b.call('leave', 'lobby'), [True])
        self.assertEqual(c.call('to_room', 'lobby', 'second'), [True])
        self.assertEqual(a.next('room_msg'), ('second',))
        self.assertTrue(b.nothing('room_msg'), 'a client that left still got the room message')

    def test_broadcast_with_ack_collects_each_answer(self):
        a, b, caller = (self.peer() for _ in range(3))
        for p in (a, b, caller):
            p.next('welcome')
        for p in (a, b):
            self.assertEqual(p.call('join', 'poll'), [True])
        a.on('room_poll', lambda x: (x + '-a', 'second argument ignored'))
        b.on('room_poll', lambda x: b'\x07\x08')
        status, responses = caller.call('poll_room', 'poll', 4000, 'q')
        self.assertEqual(status, 'ok')
        self.assertEqual(sorted(responses, key=repr), sorted(['q-a', b'\x07\x08'], key=repr))
        self.assertEqual(caller.call('poll_room', 'nobody', 4000, 'q'), ['ok', []])

    def test_broadcast_reaches_sender_too(self):
        peers = [self.peer() for _ in range(3)]
        for p in peers:
            p.next('welcome')
        peers[1].emit('broadcast', {'all': True})
        for p in peers:
            self.assertEqual(p.next('broadcast'), ({'all': True},))

    def test_disconnect_me_closes_only_that_namespace(self):
        p = self.peer(namespaces=('/', '/admin'))
        p.next('welcome', '/')
        p.next('welcome', '/admin')
        p.emit('disconnect_me', ns='/admin')
        p.next('disconnect', '/admin')
        self.assertTrue(p.nothing('disconnect', '/'))
        self.assertEqual(p.call('ack', 'still here', ns='/'), ['still here'])
        self.assertNotIn('/admin', p.sio.namespaces)

    def test_session_and_catch_all(self):
        p = self.peer()
        p.next('welcome')
        self.assertEqual(p.call('session_get'), [None])
        self.assertEqual(p.call('session_set', {'user': 'ann'}), [True])
        self.assertEqual(p.call('session_get'), [{'user': 'ann'}])
        p.emit('whatever', 1, {'a': 2})
        self.assertEqual(p.next('unknown'), ('whatever', [1, {'a': 2}]))

    def test_rooms_lists_joined_rooms_and_own_sid(self):
        p = self.peer()
        p.next('welcome')
        for room in ('zeta', 'alpha'):
            self.assertEqual(p.call('join', room), [True])
        (rooms,) = p.call('rooms')
        self.assertEqual(rooms, sorted(rooms))
        self.assertTrue({'alpha', 'zeta', p.sio.get_sid('/')} <= set(rooms), rooms)


class ReconnectScenarios:
    """Mixed in only where the connection ends up on websocket: on polling, the server's close
    arrives as an Engine.IO close packet, which python-engineio 4.3 treats as a deliberate
    disconnect and does not reconnect from (unlike socket.io-client)."""

    def test_reconnect_after_server_drops_connection(self):
        p = self.peer(reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.2,
                      randomization_factor=0, reconnection_attempts=20)
        (first,) = p.next('welcome')
        p.emit('drop_me')
        p.next('disconnect')
        try:
            (second,) = p.next('welcome', timeout=10)
        except AssertionError:
            # python-engineio 4.3 gives up (no reconnect task) when the server's close arrives
            # as an Engine.IO close packet '1' instead of a bare transport close
            self.fail('no reconnect after drop_me; reconnect task started: %s'
                      % (p.sio._reconnect_task is not None))
        self.assertNotEqual(second['sid'], first['sid'])
        self.assertEqual(second['sid'], p.sio.get_sid('/'))
        self.assertEqual(p.call('ack', 'back'), ['back'])
