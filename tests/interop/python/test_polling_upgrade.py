"""Interop with Debian python3-socketio 5.7, polling + upgrade."""
import unittest

from scenarios import ReconnectScenarios, Scenarios


class PollingUpgradeTest(ReconnectScenarios, Scenarios, unittest.TestCase):
    TRANSPORTS = None
    FINAL_TRANSPORT = 'websocket'


if __name__ == '__main__':
    unittest.main()
