// Interop with npm socket.io-client 4.8, polling + upgrade.
'use strict';
const { defineScenarios } = require('./scenarios');

defineScenarios({ name: 'polling + upgrade', transportOpts: {}, upgrades: true, finalTransport: 'websocket' });
