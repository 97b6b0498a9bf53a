"""Interop with Debian python3-socketio 5.7, polling only."""
import unittest

from scenarios import Scenarios


class PollingOnlyTest(Scenarios, unittest.TestCase):
    TRANSPORTS = ['polling']
    FINAL_TRANSPORT = 'polling'


if __name__ == '__main__':
    unittest.main()
