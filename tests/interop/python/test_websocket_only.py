"""Interop with Debian python3-socketio 5.7, websocket only."""
import unittest

from scenarios import ReconnectScenarios, Scenarios


class WebsocketOnlyTest(ReconnectScenarios, Scenarios, unittest.TestCase):
    TRANSPORTS = ['websocket']
    FINAL_TRANSPORT = 'websocket'


if __name__ == '__main__':
    unittest.main()
