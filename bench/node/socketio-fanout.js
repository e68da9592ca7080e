// Node socket.io 4.8 (npm) fan-out server: a `pub` event with a string is
// sent to every connected socket as event `msg` with `io.emit` (the
// publisher included, as on polysock's @broadcast). A `msg` event is echoed
// back to its sender.
//
// With `--redis URL` (redis://host:port) the server is one node of a
// cluster: `@socket.io/redis-adapter` on two `redis` (node-redis 4)
// connections, one publishing and one subscribed, so `io.emit` reaches the
// sockets of every node started on the same Redis. It prints its address
// only once both connections are up, so the runner never connects clients
// to a node that cannot broadcast yet.
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

function listen() {
  server.listen(args.port, args.host, 4096, function () {
    var addr = server.address();
    process.stdout.write('listening on http://' + addr.address + ':' + addr.port + '\n');
  });
}

function fail(what, err) {
  process.stderr.write('socketio-fanout: ' + what + ': ' + (err && err.stack || err) + '\n');
  process.exit(1);
}

if (args.redis) {
  var createClient = require('redis').createClient;
  var createAdapter = require('@socket.io/redis-adapter').createAdapter;
  var pub = createClient({ url: args.redis });
  var sub = pub.duplicate();
  // A lost connection is logged; node-redis reconnects by itself.
  pub.on('error', function (err) { process.stderr.write('redis (publish): ' + err + '\n'); });
  sub.on('error', function (err) { process.stderr.write('redis (subscribe): ' + err + '\n'); });
  Promise.all([pub.connect(), sub.connect()]).then(function () {
    io.adapter(createAdapter(pub, sub));
    listen();
  }, function (err) { fail('cannot reach Redis at ' + args.redis, err); });
} else {
  listen();
}
