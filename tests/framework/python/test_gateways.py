"""Gateways with Debian's python3-socketio 5.7 client against tests/framework/gateway_server:
typed bodies and their validation errors, errors, the handshake guard, two namespaces on one
connection. (The full suite is node/gateways.test.js; this checks the other client library.)"""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'interop', 'python'))
import socketio  # noqa: E402
from support import Peer, Server  # noqa: E402

GOOD = {'token': 's3cret'}


class GatewayTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(max_seconds=100)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.close()

    def peer(self, namespaces=('/events',)):
        p = Peer(namespaces=namespaces)
        self.peers.append(p)
        return p

    def test_typed_body_ack_and_validation_error(self):
        p = self.peer()
        p.connect(self.server.url, transports=['websocket'], auth=GOOD)
        self.assertEqual(p.call('events', {'data': 'hi'}, ns='/events'), [{'data': 'hi'}])
        reply = p.call('events', {'data': 5}, ns='/events')
        expected = {'code': 1007, 'reason': [{'loc': [0, 'data'], 'msg': 'value is not a valid string',
                                              'type': 'string_type'}]}
        self.assertEqual(reply, [{'error': expected}])
        self.assertEqual(p.next('error', ns='/events'), (expected,))

    def test_value_without_ack_comes_back_on_the_same_event(self):
        p = self.peer()
        p.connect(self.server.url, transports=['polling'], auth=GOOD)
        p.emit('events', {'data': 'back'}, ns='/events')
        self.assertEqual(p.next('events', ns='/events'), ({'data': 'back'},))

    def test_exceptions_become_error_events(self):
        p = self.peer()
        p.connect(self.server.url, transports=['websocket'], auth=GOOD)
        p.emit('too_big', ns='/events')
        self.assertEqual(p.next('error', ns='/events'), ({'code': 1009, 'reason': 'Message is too big'},))
        self.assertEqual(p.call('boom', ns='/events'), [{'error': {'code': 1011, 'reason': 'Something went wrong'}}])

    def test_handshake_guard_refuses_with_data(self):
        p = self.peer()
        with self.assertRaises(socketio.exceptions.ConnectionError):
            p.connect(self.server.url, transports=['websocket'], auth={'token': 'wrong'}, wait_timeout=1)
        (err,) = p.next('connect_error', ns='/events')
        self.assertEqual(err.get('message'), 'bad token')
        self.assertEqual(err.get('data'), {'code': 4003, 'reason': 'bad token'})

    def test_two_gateways_on_one_connection(self):
        p = self.peer(namespaces=('/events', '/admin'))
        p.connect(self.server.url, transports=['websocket'], auth=GOOD)
        self.assertEqual(p.call('add', 1, 2, ns='/events'), [3])
        (stats,) = p.call('stats', ns='/admin')
        self.assertGreaterEqual(stats['event_runs'], 1)


if __name__ == '__main__':
    unittest.main()
