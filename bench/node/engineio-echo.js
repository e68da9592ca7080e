// Node engine.io (npm) echo server, websocket and polling.
'use strict';
var http = require('http');
var engine = require('engine.io');
var args = require('./args')(process.argv.slice(2));

var server = http.createServer();
server.keepAliveTimeout = 60000;
var eio = new engine.Server({
  pingInterval: args.pingInterval,
  pingTimeout: args.pingTimeout,
  maxHttpBufferSize: 1e6,
  transports: ['polling', 'websocket'],
  perMessageDeflate: false,
  httpCompression: false
});
eio.attach(server, { path: args.path });
eio.on('connection', function (socket) {
  socket.on('message', function (data) { socket.send(data); });
});
server.listen(args.port, args.host, 4096, function () {
  var addr = server.address();
  process.stdout.write('listening on http://' + addr.address + ':' + addr.port + '\n');
});
