// Node sockjs (npm) echo server, prefix /echo. The benchmark uses its
// xhr-streaming (POST .../xhr_streaming, upstream POST .../xhr_send) and
// htmlfile (GET .../htmlfile?c=cb) transports.
'use strict';
var http = require('http');
var sockjs = require('sockjs');
var args = require('./args')(process.argv.slice(2));

var echo = sockjs.createServer({
  prefix: '/echo',
  log: function () {},
  heartbeat_delay: args.pingInterval,
  disconnect_delay: 5000
});
echo.on('connection', function (conn) {
  conn.on('data', function (m) { conn.write(m); });
});
var server = http.createServer();
server.keepAliveTimeout = 60000;
echo.installHandlers(server, { prefix: '/echo' });
server.listen(args.port, args.host, 4096, function () {
  var addr = server.address();
  process.stdout.write('listening on http://' + addr.address + ':' + addr.port + '\n');
});
