// Flags shared by the Node peers (same names as polysock's echo example);
// unknown flags are ignored so the runner can pass one set to every server.
'use strict';
module.exports = function parseArgs(argv) {
  var a = { host: '127.0.0.1', port: 0, path: '/engine.io', pingInterval: 25000, pingTimeout: 20000, redis: null };
  for (var i = 0; i < argv.length; i++) {
    var v = argv[i + 1];
    if (argv[i] === '--listen') {
      var idx = v.lastIndexOf(':');
      a.host = v.slice(0, idx);
      a.port = Number(v.slice(idx + 1));
      i++;
    } else if (argv[i] === '--path') { a.path = v; i++; }
    else if (argv[i] === '--ping-interval') { a.pingInterval = Number(v); i++; }
    else if (argv[i] === '--ping-timeout') { a.pingTimeout = Number(v); i++; }
    else if (argv[i] === '--redis') { a.redis = v; i++; }
  }
  return a;
};
