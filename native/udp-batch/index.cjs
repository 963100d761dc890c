// Loads the compiled addon; throws (with the reason) when it was not built or does not load here.
'use strict';
module.exports = require('./build/Release/udp_batch.node');
