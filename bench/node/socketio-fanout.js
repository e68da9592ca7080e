// Node socket.io 4.8 (npm) fan-out server: a `pub` event with a string is
// sent to every connected socket as event `msg` with `io.emit` (the
// publisher included, as on polysock's @broadcast). A `msg` event is echoed
// back to its sender.
'use strict';
var http = require('http');
var socketio = require('socket.io');
var args = require('./args')(process.argv.slice(2));

var server = http.createServer();
server.keepAliveTimeout = 60000;
var path = args.path.charAt(args.path.length - 1) === '/' ? args.path : args.path + '/';
var io = new socketio.Server(server, {
  path: path,
  pingInterval: args.pingInterval,
  pingTimeout: args.pingTimeout,
  transports: ['polling', 'websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  cors: { origin: '*' }
});
io.on('connection', function (socket) {
  socket.on('pub', function (text) { io.emit('msg', text); });
  socket.on('msg', function (text) { socket.emit('msg', text); });
});
server.listen(args.port, args.host, 4096, function () {
  var addr = server.address();
  process.stdout.write('listening on http://' + addr.address + ':' + addr.port + '\n');
});
