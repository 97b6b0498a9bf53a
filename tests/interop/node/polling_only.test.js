// Interop with npm socket.io-client 4.8, polling only.
'use strict';
const { defineScenarios } = require('./scenarios');

defineScenarios({ name: 'polling only', transportOpts: { transports: ['polling'] }, upgrades: false, finalTransport: 'polling' });
