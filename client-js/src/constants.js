// constants.js: the numbers of the protocol and of the WebSocket interface,
// named once. Rollup and terser inline them, so names cost no bytes.

// Engine.IO v4 packet types (protocol-spec/02-packets-and-payloads.md).
export var P_OPEN = 0;
export var P_CLOSE = 1;
export var P_PING = 2;
export var P_PONG = 3;
export var P_MESSAGE = 4;
export var P_UPGRADE = 5;
export var P_NOOP = 6;
// Resume sessions only (protocol-spec/11-resume.md): "7<n>", I have your messages 1..n.
export var P_ACK = 7;

// WebSocket readyState values.
export var CONNECTING = 0;
export var OPEN = 1;
export var CLOSING = 2;
export var CLOSED = 3;

// Transport states (transport.js): created, waiting for its open packet,
// carrying the session, paused for an upgrade, closed for good.
export var T_NEW = 0;
export var T_OPENING = 1;
export var T_OPEN = 2;
export var T_PAUSED = 3;
export var T_CLOSED = 4;

export var DEFAULT_TIMEOUT = 2500;
