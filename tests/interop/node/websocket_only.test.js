// Interop with npm socket.io-client 4.8, websocket only.
'use strict';
const { defineScenarios } = require('./scenarios');

defineScenarios({ name: 'websocket only', transportOpts: { transports: ['websocket'] }, upgrades: false, finalTransport: 'websocket' });
