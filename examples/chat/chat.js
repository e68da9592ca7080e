// The chat page: plain ES5 (no let/const, arrows, classes, promises or
// template literals), DOM built with createTextNode so user text is never
// parsed as HTML. Talks JSON to examples/chat.rs over one Polysock.
//
// URL parameters: ?transport=htmlfile (or a comma list) forces the
// transports, ?nick=ada sets the nickname, ?room=rust joins a room first,
// ?resume=0 asks for a plain session (by default the socket resumes after a
// network loss without losing a line: protocol-spec/11-resume.md).
(function () {
  'use strict';

  var doc = document;
  var MOUNT = window.CHAT_MOUNT || '/engine.io';
  var DEFAULT_ROOM = 'lobby';

  // ---- small helpers (old browsers included) ----

  function $(id) { return doc.getElementById(id); }

  function setText(node, value) {
    while (node.firstChild) node.removeChild(node.firstChild);
    node.appendChild(doc.createTextNode(value));
  }

  function make(tag, className, value) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (value !== undefined && value !== null) node.appendChild(doc.createTextNode(String(value)));
    return node;
  }

  function hasClass(node, name) {
    return (' ' + node.className + ' ').indexOf(' ' + name + ' ') >= 0;
  }

  function toggleClass(node, name, on) {
    var has = hasClass(node, name);
    if (on && !has) node.className = node.className ? node.className + ' ' + name : name;
    if (!on && has) node.className = (' ' + node.className + ' ').replace(' ' + name + ' ', ' ').replace(/^\s+|\s+$/g, '');
  }

  function trim(s) { return String(s).replace(/^\s+|\s+$/g, ''); }

  function query(name) {
    var parts = window.location.search.replace(/^\?/, '').split('&');
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].split('=');
      if (decodeURIComponent(kv[0]) === name) {
        return decodeURIComponent((kv[1] || '').replace(/\+/g, ' '));
      }
    }
    return '';
  }

  function storage() {
    try { return window.localStorage || null; } catch (e) { return null; }
  }

  // JSON for browsers without it (IE6/7): parse after the json2.js check,
  // stringify the flat objects this page sends.
  var parseJSON = window.JSON ? function (s) { return window.JSON.parse(s); } : function (s) {
    var safe = String(s)
      .replace(/\\(?:["\\\/bfnrt]|u[0-9a-fA-F]{4})/g, '@')
      .replace(/"[^"\\\n\r]*"|true|false|null|-?\d+(?:\.\d*)?(?:[eE][+\-]?\d+)?/g, ']')
      .replace(/(?:^|:|,)(?:\s*\[)+/g, '');
    if (!/^[\],:{}\s]*$/.test(safe)) throw new Error('bad JSON');
    return (new Function('return ' + s))();
  };

  function quote(s) {
    return '"' + String(s).replace(/[\\"\u0000-\u001f\u2028\u2029]/g, function (c) {
      return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
    }) + '"';
  }

  function toJSON(object) {
    if (window.JSON) return window.JSON.stringify(object);
    var out = [];
    for (var key in object) {
      if (Object.prototype.hasOwnProperty.call(object, key)) out.push(quote(key) + ':' + quote(object[key]));
    }
    return '{' + out.join(',') + '}';
  }

  function clock() {
    var d = new Date();
    var m = d.getMinutes();
    return d.getHours() + ':' + (m < 10 ? '0' + m : m);
  }

  // ---- state ----

  var sock = null;
  var forced = query('transport');
  // ?client=sockjs: sockjs-client to the SockJS endpoint, same rooms.
  var useSockJS = query('client') === 'sockjs';
  var myId = null;
  var wantedNick = query('nick') || (storage() && storage().getItem('polysock-chat-nick')) || '';
  var myNick = '';
  var firstRoom = query('room') || DEFAULT_ROOM;
  var rooms = {};      // joined rooms: name -> { log, members, unread }
  var current = null;  // the room shown
  var roomList = [];   // [{ name, count }] from the server
  var shownTransport = null;
  var retryDelay = 1000;
  var systemLog = make('div', 'log current');
  systemLog.id = 'log-system';
  $('logs').appendChild(systemLog);

  // ---- rendering ----

  function logOf(room) {
    return room && rooms[room] ? rooms[room].log : systemLog;
  }

  function append(room, line) {
    var box = $('logs');
    var log = logOf(room);
    var atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    log.appendChild(line);
    if (atBottom && log === logOf(current)) box.scrollTop = box.scrollHeight;
    if (room && rooms[room] && room !== current && hasClass(line, 'message')) {
      rooms[room].unread += 1;
      renderRooms();
    }
  }

  function notice(room, value, kind) {
    var line = make('div', 'line ' + (kind || 'notice'));
    line.appendChild(make('span', 'time', clock()));
    line.appendChild(doc.createTextNode(value));
    append(room, line);
  }

  function message(msg) {
    var line = make('div', 'line message' + (msg.id === myId ? ' mine' : ''));
    line.appendChild(make('span', 'time', clock()));
    line.appendChild(make('span', 'nick', msg.nick));
    line.appendChild(make('span', 'text', msg.text));
    append(msg.room, line);
  }

  function renderRooms() {
    var list = $('rooms');
    while (list.firstChild) list.removeChild(list.firstChild);
    var names = [];
    var counts = {};
    var i;
    for (i = 0; i < roomList.length; i++) {
      names.push(roomList[i].name);
      counts[roomList[i].name] = roomList[i].count;
    }
    for (var name in rooms) {
      if (rooms.hasOwnProperty(name) && !counts.hasOwnProperty(name)) names.push(name);
    }
    for (i = 0; i < names.length; i++) {
      var item = make('li', '', '#' + names[i]);
      item.setAttribute('data-room', names[i]);
      if (rooms[names[i]]) item.className = 'joined';
      if (names[i] === current) toggleClass(item, 'current', true);
      item.appendChild(make('span', 'count', counts[names[i]] || 0));
      if (rooms[names[i]] && rooms[names[i]].unread) item.appendChild(make('span', 'unread', rooms[names[i]].unread));
      item.onclick = (function (room) { return function () { openRoom(room); }; })(names[i]);
      list.appendChild(item);
    }
  }

  function renderRoomBar() {
    setText($('current-room'), current ? '#' + current : 'pick a room');
    var on = !!current && sock && sock.readyState === 1;
    $('leave').disabled = !current;
    $('text').disabled = !on;
    $('send').disabled = !on;
    setText($('members'), current && rooms[current] ? rooms[current].members.join(', ') : '');
  }

  function show(room) {
    current = room;
    for (var name in rooms) {
      if (rooms.hasOwnProperty(name)) toggleClass(rooms[name].log, 'current', name === room);
    }
    toggleClass(systemLog, 'current', !room);
    if (room && rooms[room]) rooms[room].unread = 0;
    renderRooms();
    renderRoomBar();
    $('logs').scrollTop = $('logs').scrollHeight;
  }

  function showTransport() {
    var name = sock && sock.readyState === 1 ? sock.transport : null;
    if (name === shownTransport) return;
    if (shownTransport && name) notice(current, 'transport changed: ' + shownTransport + ' -> ' + name);
    shownTransport = name;
    setText($('transport'), name || '-');
    $('transport').setAttribute('data-transport', name || '');
  }

  function setStatus(value, kind) {
    setText($('status'), value);
    $('status').className = 'value ' + kind;
  }

  // ---- talking to the server ----

  function send(object) {
    if (sock && sock.readyState === 1) sock.send(toJSON(object));
  }

  function openRoom(room) {
    if (rooms[room]) show(room);
    else {
      firstRoom = room;
      send({ type: 'join', room: room });
    }
  }

  function joinedRoom(room) {
    if (!rooms[room]) {
      var log = make('div', 'log');
      log.id = 'log-' + room;
      log.setAttribute('data-room', room);
      $('logs').appendChild(log);
      rooms[room] = { log: log, members: [], unread: 0 };
    }
    return rooms[room];
  }

  function leftRoom(room) {
    if (!rooms[room]) return;
    rooms[room].log.parentNode.removeChild(rooms[room].log);
    delete rooms[room];
    if (current === room) {
      var next = null;
      for (var name in rooms) if (rooms.hasOwnProperty(name)) { next = name; break; }
      show(next);
    } else renderRooms();
  }

  var handlers = {
    welcome: function (msg) {
      myId = msg.id;
      myNick = msg.nick;
      roomList = msg.rooms || [];
      if (wantedNick && wantedNick !== myNick) send({ type: 'nick', nick: wantedNick });
      else $('nick').value = myNick;
      var again = [];
      for (var name in rooms) if (rooms.hasOwnProperty(name)) again.push(name);
      if (!again.length) again.push(firstRoom);
      for (var i = 0; i < again.length; i++) send({ type: 'join', room: again[i] });
      renderRooms();
    },
    rooms: function (msg) {
      roomList = msg.rooms || [];
      renderRooms();
    },
    joined: function (msg) {
      var mine = msg.id === myId;
      var state = mine ? joinedRoom(msg.room) : rooms[msg.room];
      if (!state) return;
      state.members = msg.members || [];
      notice(msg.room, mine ? 'you joined #' + msg.room : msg.nick + ' joined');
      if (mine && (msg.room === firstRoom || !current)) show(msg.room);
      else renderRoomBar();
    },
    left: function (msg) {
      if (msg.id === myId) {
        notice(null, 'you left #' + msg.room);
        leftRoom(msg.room);
        return;
      }
      if (!rooms[msg.room]) return;
      rooms[msg.room].members = msg.members || [];
      notice(msg.room, msg.nick + ' left');
      renderRoomBar();
    },
    members: function (msg) {
      if (!rooms[msg.room]) return;
      rooms[msg.room].members = msg.members || [];
      renderRoomBar();
    },
    renamed: function (msg) {
      if (msg.id === myId) {
        myNick = msg.nick;
        $('nick').value = myNick;
        var store = storage();
        if (store) { try { store.setItem('polysock-chat-nick', myNick); } catch (e) { /* full or private */ } }
      }
      for (var name in rooms) {
        if (rooms.hasOwnProperty(name)) notice(name, msg.old + ' is now ' + msg.nick);
      }
      if (!current) notice(null, msg.old + ' is now ' + msg.nick);
    },
    message: message,
    error: function (msg) { notice(current, msg.text, 'error'); }
  };

  function connect() {
    var options = {};
    if (!useSockJS) options.resume = query('resume') !== '0';
    if (forced) options.transports = forced.split(',');
    setStatus('connecting', 'connecting');
    var s = useSockJS ? new SockJS(window.CHAT_SOCKJS_MOUNT, null, options) : new Polysock(MOUNT, ['chat'], options);
    sock = s;
    s.onopen = function () {
      retryDelay = 1000;
      setStatus('open', 'open');
      setText($('protocol'), s.protocol || '(none)');
      showTransport();
      renderRoomBar();
    };
    s.onmessage = function (e) {
      var msg;
      try { msg = parseJSON(e.data); } catch (err) { return; }
      if (msg && handlers.hasOwnProperty(msg.type)) handlers[msg.type](msg);
    };
    s.onclose = function (e) {
      if (sock !== s) return;
      setStatus('closed (' + e.code + (e.reason ? ' ' + e.reason : '') + '), retrying', 'closed');
      showTransport();
      renderRoomBar();
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    };
  }

  // ---- the page's controls ----

  $('nick-form').onsubmit = function () {
    var nick = trim($('nick').value);
    if (nick) {
      wantedNick = nick;
      send({ type: 'nick', nick: nick });
    }
    return false;
  };

  $('join-form').onsubmit = function () {
    var room = trim($('room-name').value).toLowerCase();
    if (room) {
      openRoom(room);
      $('room-name').value = '';
    }
    return false;
  };

  $('say-form').onsubmit = function () {
    var value = trim($('text').value);
    if (value && current) {
      send({ type: 'say', room: current, text: value });
      $('text').value = '';
    }
    return false;
  };

  $('leave').onclick = function () {
    if (current) send({ type: 'leave', room: current });
  };

  var force = $('force');
  force.value = forced;
  force.onchange = function () {
    var params = [];
    if (force.value) params.push('transport=' + encodeURIComponent(force.value));
    if (myNick) params.push('nick=' + encodeURIComponent(myNick));
    if (current) params.push('room=' + encodeURIComponent(current));
    window.location.search = params.length ? '?' + params.join('&') : '';
  };

  if (wantedNick) $('nick').value = wantedNick;
  renderRooms();
  renderRoomBar();
  if (useSockJS ? typeof SockJS === 'undefined' : typeof Polysock === 'undefined') {
    setStatus('client script missing (' + (useSockJS ? 'sockjs-client' : MOUNT + '/polysock.js') + ')', 'closed');
    return;
  }
  // The client has no event for an upgrade: look at the transport often.
  setInterval(showTransport, 250);
  // Connect once the page has loaded: a streaming iframe (htmlfile) started
  // earlier would keep the page "loading" for as long as it is open.
  if (doc.readyState === 'complete') connect();
  else if (window.addEventListener) window.addEventListener('load', connect, false);
  else window.attachEvent('onload', connect);
})();
