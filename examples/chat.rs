//! Chat: rooms, nicknames, messages and join/leave notices, in any browser.
//!
//! ```text
//! cargo run --release --example chat            # then open http://127.0.0.1:3000
//! cargo run --release --example chat -- --listen 0.0.0.0:8080 --path /rt
//! ```
//!
//! Everything is in this binary: the page (`examples/chat/`, embedded with
//! `include_str!`) and the Polysock client it loads from `<path>/polysock.js`.
//! The page negotiates the `chat` subprotocol, shows the transport in use,
//! and can force one: pick it in the page, or open
//! `http://127.0.0.1:3000/?transport=htmlfile`.
//!
//! The same chat takes sockjs-client pages too: `/?client=sockjs` connects
//! with sockjs-client to the SockJS endpoint at `/sockjs` (same rooms, same
//! sessions). The page loads sockjs-client from `/sockjs.min.js` when the
//! server was given `--sockjs-client FILE` (the file from npm's
//! `sockjs-client/dist/`), else from its CDN.
//!
//! Page and server speak JSON. From the page:
//!
//! ```text
//! {"type":"nick","nick":"ada"}            {"type":"join","room":"rust"}
//! {"type":"say","room":"rust","text":"hi"} {"type":"leave","room":"rust"}
//! ```
//!
//! From the server: `welcome` (id, nick, protocol, rooms), `rooms` (the list
//! with member counts, to everyone), `joined` / `left` (to the room, with
//! its members' nicknames), `message`, `renamed` and `error`.
//!
//! The server side is a few lines on top of [`polysock::Rooms`]: a socket
//! joins and leaves rooms, a message goes to the room through the server's
//! adapter, and the server's `Closed` event says which rooms a departed
//! socket left.
//!
//! With `--redis URL` several chat processes form one chat: messages and
//! notices reach the room's members on every node (through
//! `polysock-redis`); nicknames and the member lists shown are each node's
//! own. Add `--cluster-secret S` (the same on every node) and the nodes need
//! no sticky sessions: a request for a session another node holds is passed
//! on to it, found in the Redis node registry (docs/scaling.md):
//!
//! ```text
//! cargo run --example chat -- --listen 127.0.0.1:3001 --redis redis://127.0.0.1:6379 \
//!     --node-id a --cluster-secret s3cret       # and b on :3002, c on :3003
//! haproxy -db -f docs/haproxy-roundrobin.cfg      # in front, round-robin
//! ```
//!
//! The page asks for a resume session (`resume: true`; `/?resume=0` turns
//! it off), so a network that goes away for a while (a laptop's Wi-Fi, a
//! phone between cells) loses no line either way: the socket stays open,
//! and what was said meanwhile arrives once it is back, in order. Room
//! events go out through one forwarding task, in the order they were made.
//! `--ping-interval MS` and `--ping-timeout MS` shorten the heartbeat (the
//! tests use them to see a loss quickly).
//!
//! `GET /metrics` serves the Prometheus metrics.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use polysock::{
    metrics, Message, Polysock, Rooms, SessionEvent, SockJs, Socket, SocketSender, Target,
};
use polysock_redis::{RedisAdapter, RedisConfig};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

const INDEX_HTML: &str = include_str!("chat/index.html");
const CHAT_JS: &str = include_str!("chat/chat.js");
const CHAT_CSS: &str = include_str!("chat/chat.css");

/// Rooms every visitor sees listed, even when empty.
const DEFAULT_ROOMS: [&str; 3] = ["lobby", "rust", "random"];
const MAX_NAME: usize = 24;
const MAX_TEXT: usize = 2000;
const MAX_ROOMS_PER_SOCKET: usize = 16;
/// Events waiting for the forwarder; a full queue makes the senders wait.
const FORWARD_QUEUE: usize = 1024;

const HELP: &str = "\
chat: a Polysock chat server (page and client included)

USAGE:
    chat [--listen ADDR] [--path PATH] [--sockjs-client FILE]
         [--ping-interval MS] [--ping-timeout MS]
         [--redis URL [--node-id ID] [--cluster-secret S] [--advertise ADDR]]

OPTIONS:
    --listen ADDR          address to bind (default 127.0.0.1:3000; port 0 picks one)
    --path PATH            Polysock mount point (default /engine.io)
    --sockjs-client FILE   serve this sockjs-client script at /sockjs.min.js for
                           /?client=sockjs pages (default: they load it from its CDN)
    --ping-interval MS     heartbeat interval in milliseconds (default 25000)
    --ping-timeout MS      heartbeat timeout in milliseconds (default 20000)
    --redis URL            join the other chat nodes on the Redis at URL
    --node-id ID           this node's id with --redis (default: random); session
                           ids start with it
    --cluster-secret S     with --redis: the secret every node shares; requests for
                           sessions of other nodes are then forwarded to them (no
                           sticky sessions needed)
    --advertise ADDR       host:port the other nodes reach this one at (default:
                           the address it listens on)
    -h, --help      print this help
";

/// What every connection shares.
struct Chat {
    /// Nickname of each open socket, by id.
    nicks: Mutex<HashMap<String, String>>,
    /// The server, to tell everyone about the room list.
    server: OnceLock<Polysock>,
    /// Events for rooms, to the one task that hands them to the adapter
    /// ([`forward`]), so they go out in the order they were made.
    forward: mpsc::Sender<(Target, Value)>,
}

impl Chat {
    /// The server's rooms (set before the server takes connections).
    fn rooms(&self) -> &Rooms {
        self.server
            .get()
            .expect("the server is set before it serves")
            .rooms()
    }

    fn nick(&self, id: &str) -> String {
        let nicks = self.nicks.lock().unwrap_or_else(|p| p.into_inner());
        nicks.get(id).cloned().unwrap_or_default()
    }

    fn set_nick(&self, id: &str, nick: Option<String>) {
        let mut nicks = self.nicks.lock().unwrap_or_else(|p| p.into_inner());
        match nick {
            Some(nick) => nicks.insert(id.to_owned(), nick),
            None => nicks.remove(id),
        };
    }

    /// The nicknames in a room, sorted.
    fn member_nicks(&self, room: &str) -> Vec<String> {
        let ids = self.rooms().members(room);
        let nicks = self.nicks.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = ids.iter().filter_map(|id| nicks.get(id).cloned()).collect();
        names.sort_unstable_by_key(|name| name.to_lowercase());
        names
    }

    /// The default rooms and every room with members, with member counts.
    fn room_list(&self) -> Value {
        let mut names: Vec<String> = DEFAULT_ROOMS.iter().map(|s| s.to_string()).collect();
        for room in self.rooms().rooms() {
            if !names.contains(&room) {
                names.push(room);
            }
        }
        let list: Vec<Value> = names
            .into_iter()
            .map(|name| json!({ "name": name, "count": self.rooms().members(&name).len() }))
            .collect();
        Value::Array(list)
    }

    /// Tells every socket of this node, in a room or not, the current room
    /// list (its counts are this node's).
    fn announce_rooms(&self) {
        if let Some(server) = self.server.get() {
            server.broadcast(json!({ "type": "rooms", "rooms": self.room_list() }).to_string());
        }
    }

    async fn to_room(&self, room: &str, event: Value) {
        self.to_rooms(Target::room(room), event).await;
    }

    /// Sends to rooms on every node (through the adapter; without
    /// `--redis` the same as `Rooms::to`), after every event queued before
    /// it: one task forwards them all, in order. (A task per event, as
    /// before, let two lines of one sender overtake each other on their way
    /// to Redis.) Waits while the forwarder's queue is full.
    async fn to_rooms(&self, target: Target, event: Value) {
        let _ = self.forward.send((target, event)).await;
    }
}

/// The forwarder: hands each room event to the adapter, one after the
/// other, so that every member gets a room's lines in the order they were
/// said (and join and leave notices in their place among them).
async fn forward(chat: Arc<Chat>, mut events: mpsc::Receiver<(Target, Value)>) {
    while let Some((target, event)) = events.recv().await {
        let Some(server) = chat.server.get() else {
            continue;
        };
        if let Err(error) = server
            .adapter()
            .broadcast(target, event.to_string().into())
            .await
        {
            tracing::warn!(%error, "chat: a message did not reach the other nodes");
        }
    }
}

/// One socket, from hello to goodbye.
async fn session(mut socket: Socket, chat: Arc<Chat>) {
    let id = socket.id().to_owned();
    let sender = socket.sender();
    let nick = format!("guest-{}", id.chars().take(4).collect::<String>());
    chat.set_nick(&id, Some(nick.clone()));
    let welcome = json!({
        "type": "welcome",
        "id": id,
        "nick": nick,
        "protocol": socket.protocol().unwrap_or(""),
        "transport": socket.transport().to_string(),
        "rooms": chat.room_list(),
    });
    if socket.send(welcome.to_string()).await.is_err() {
        chat.set_nick(&id, None);
        return;
    }
    while let Some(message) = socket.recv().await {
        let reply = match message {
            Message::Text(text) => match serde_json::from_str::<Value>(&text) {
                Ok(request) => handle(&chat, &sender, &request).await,
                Err(_) => Err("messages are JSON objects".to_owned()),
            },
            Message::Binary(_) => Err("binary messages are not part of this chat".to_owned()),
        };
        if let Err(error) = reply {
            let error = json!({ "type": "error", "text": error });
            if socket.send(error.to_string()).await.is_err() {
                break;
            }
        }
    }
}

/// Tells the rooms a closed socket was in that it left: the server's
/// `Closed` event names them once the socket is out of every room.
async fn announce_departures(chat: Arc<Chat>, mut events: broadcast::Receiver<SessionEvent>) {
    loop {
        let (id, left) = match events.recv().await {
            Ok(SessionEvent::Closed { id, rooms, .. }) => (id, rooms),
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        chat.depart(&id, &left).await;
    }
}

impl Chat {
    async fn depart(&self, id: &str, left: &[String]) {
        let chat = self;
        let nick = chat.nick(id);
        chat.set_nick(id, None);
        for room in left {
            let members = chat.member_nicks(room);
            chat.to_room(
                room,
                json!({ "type": "left", "room": room, "id": id, "nick": nick, "members": members }),
            )
            .await;
        }
        if !left.is_empty() {
            chat.announce_rooms();
        }
    }
}

/// Acts on one request from the page; `Err` is shown to the sender.
async fn handle(chat: &Chat, sender: &SocketSender, request: &Value) -> Result<(), String> {
    let id = sender.id();
    let field = |name: &str| request.get(name).and_then(Value::as_str).unwrap_or("");
    match field("type") {
        "nick" => {
            let nick = clean_nick(field("nick"))?;
            let old = chat.nick(id);
            chat.set_nick(id, Some(nick.clone()));
            let event = json!({ "type": "renamed", "id": id, "old": old, "nick": nick });
            let rooms = chat.rooms().rooms_of(id);
            if rooms.is_empty() {
                let _ = sender.try_send(event.to_string());
            } else {
                chat.to_rooms(Target::rooms(rooms.iter().cloned()), event)
                    .await;
                for room in &rooms {
                    let members = chat.member_nicks(room);
                    chat.to_room(
                        room,
                        json!({ "type": "members", "room": room, "members": members }),
                    )
                    .await;
                }
            }
            Ok(())
        }
        "join" => {
            let room = clean_room(field("room"))?;
            if chat.rooms().rooms_of(id).len() >= MAX_ROOMS_PER_SOCKET {
                return Err(format!("at most {MAX_ROOMS_PER_SOCKET} rooms at once"));
            }
            if chat.rooms().join(sender, room.clone()) {
                let members = chat.member_nicks(&room);
                let event = json!({
                    "type": "joined", "room": room, "id": id,
                    "nick": chat.nick(id), "members": members,
                });
                chat.to_room(&room, event).await;
                chat.announce_rooms();
            }
            Ok(())
        }
        "leave" => {
            let room = clean_room(field("room"))?;
            if chat.rooms().leave(id, &room) {
                let members = chat.member_nicks(&room);
                let event = json!({
                    "type": "left", "room": room, "id": id,
                    "nick": chat.nick(id), "members": members,
                });
                chat.to_room(&room, event.clone()).await;
                let _ = sender.try_send(event.to_string());
                chat.announce_rooms();
            }
            Ok(())
        }
        "say" => {
            let room = clean_room(field("room"))?;
            if !chat.rooms().rooms_of(id).contains(&room) {
                return Err(format!("join {room} first"));
            }
            let text: String = field("text").chars().filter(|c| !c.is_control()).collect();
            let text = text.trim();
            if text.is_empty() {
                return Ok(());
            }
            if text.chars().count() > MAX_TEXT {
                return Err(format!("messages are at most {MAX_TEXT} characters"));
            }
            let event = json!({
                "type": "message", "room": room, "id": id,
                "nick": chat.nick(id), "text": text,
            });
            chat.to_room(&room, event).await;
            Ok(())
        }
        other => Err(format!("unknown request type {other:?}")),
    }
}

fn clean_nick(nick: &str) -> Result<String, String> {
    let nick: String = nick.chars().filter(|c| !c.is_control()).collect();
    let nick = nick.trim();
    if nick.is_empty() || nick.chars().count() > MAX_NAME {
        return Err(format!("a nickname has 1 to {MAX_NAME} characters"));
    }
    Ok(nick.to_owned())
}

fn clean_room(room: &str) -> Result<String, String> {
    let room = room.trim().to_lowercase();
    let valid = !room.is_empty()
        && room.len() <= MAX_NAME
        && room
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(format!(
            "a room name has 1 to {MAX_NAME} letters, digits, - or _"
        ));
    }
    Ok(room)
}

struct Options {
    listen: SocketAddr,
    path: String,
    sockjs_client: Option<String>,
    redis: Option<String>,
    node_id: Option<String>,
    cluster_secret: Option<String>,
    advertise: Option<String>,
    ping_interval: Option<Duration>,
    ping_timeout: Option<Duration>,
}

/// Where sockjs-client pages (`/?client=sockjs`) connect.
const SOCKJS_MOUNT: &str = "/sockjs";

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        path: "/engine.io".into(),
        sockjs_client: None,
        redis: None,
        node_id: None,
        cluster_secret: None,
        advertise: None,
        ping_interval: None,
        ping_timeout: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            "--listen" => {
                options.listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?
            }
            "--path" => options.path = value()?,
            "--sockjs-client" => options.sockjs_client = Some(value()?),
            "--redis" => options.redis = Some(value()?),
            "--node-id" => options.node_id = Some(value()?),
            "--cluster-secret" => options.cluster_secret = Some(value()?),
            "--advertise" => options.advertise = Some(value()?),
            "--ping-interval" => options.ping_interval = Some(millis(&flag, &value()?)?),
            "--ping-timeout" => options.ping_timeout = Some(millis(&flag, &value()?)?),
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    if options.redis.is_none() && (options.cluster_secret.is_some() || options.advertise.is_some())
    {
        return Err("--cluster-secret and --advertise go with --redis".into());
    }
    // The path is written into the page: keep it to plain path characters.
    let plain = options
        .path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c));
    if !options.path.starts_with('/') || options.path.len() < 2 || !plain {
        return Err("--path must start with / and hold only letters, digits, /, -, _ or .".into());
    }
    Ok(options)
}

/// A positive number of milliseconds.
fn millis(flag: &str, value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(format!("{flag}: a positive number of milliseconds")),
    }
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("chat: {error}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let (forward_tx, forward_rx) = mpsc::channel(FORWARD_QUEUE);
    let chat = Arc::new(Chat {
        nicks: Mutex::new(HashMap::new()),
        server: OnceLock::new(),
        forward: forward_tx,
    });
    // Before the server: the recorder counts from the first session on.
    let metrics_handle = match metrics::install() {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("chat: {error}");
            std::process::exit(1);
        }
    };
    // Bound before the server is built: a cluster node advertises it.
    let listener = match polysock::bind(options.listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("chat: cannot listen on {}: {error}", options.listen);
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().unwrap_or(options.listen);
    let mut builder = Polysock::builder();
    if let Some(interval) = options.ping_interval {
        builder = builder.ping_interval(interval);
    }
    if let Some(timeout) = options.ping_timeout {
        builder = builder.ping_timeout(timeout);
    }
    if let Some(url) = &options.redis {
        let advertise = options
            .advertise
            .clone()
            .unwrap_or_else(|| addr.to_string());
        let mut config = RedisConfig::new(url.clone()).advertise(advertise);
        if let Some(id) = &options.node_id {
            config = config.node_id(id.clone());
        }
        let node_id = config.node_id_value().to_owned();
        match RedisAdapter::new(config) {
            Ok(adapter) => {
                builder = builder.adapter(adapter.clone());
                if let Some(secret) = &options.cluster_secret {
                    // Session ids name this node, and the registry says
                    // where the others are: no stickiness needed.
                    builder = builder
                        .node_id(node_id)
                        .node_directory(adapter)
                        .cluster_secret(secret.clone());
                }
            }
            Err(error) => {
                eprintln!("chat: {error}");
                std::process::exit(2);
            }
        }
    }
    let realtime = builder
        .protocols(["chat"])
        .on_connect({
            let chat = chat.clone();
            move |socket| session(socket, chat.clone())
        })
        .build()
        .expect("valid configuration");
    let _ = chat.server.set(realtime.clone());
    tokio::spawn(announce_departures(chat.clone(), realtime.events()));
    tokio::spawn(forward(chat.clone(), forward_rx));

    // sockjs-client pages: the script from the given file, or the CDN.
    let sockjs_script = match &options.sockjs_client {
        Some(file) => match std::fs::read_to_string(file) {
            Ok(script) => Some(script),
            Err(error) => {
                eprintln!("chat: cannot read {file}: {error}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let sockjs_url = if sockjs_script.is_some() {
        "/sockjs.min.js".to_owned()
    } else {
        SockJs::DEFAULT_SOCKJS_URL.to_owned()
    };
    let sockjs = SockJs::builder(&realtime)
        .sockjs_url(sockjs_url.clone())
        .build()
        .expect("valid SockJS configuration");

    let index = INDEX_HTML
        .replace("{{MOUNT}}", options.path.trim_end_matches('/'))
        .replace("{{SOCKJS_MOUNT}}", SOCKJS_MOUNT)
        .replace("{{SOCKJS_JS}}", &sockjs_url);
    let metrics = metrics::Metrics::new(metrics_handle).watch(&realtime);
    let mut app = Router::new()
        .route("/", get(move || async move { Html(index) }))
        .route("/metrics", metrics.handler())
        .route(
            "/chat.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHAT_JS) }),
        )
        .route(
            "/chat.css",
            get(|| async { asset("text/css; charset=utf-8", CHAT_CSS) }),
        )
        .nest_service(&options.path, realtime.service())
        .nest_service(SOCKJS_MOUNT, sockjs.service());
    if let Some(script) = sockjs_script {
        let script: &'static str = Box::leak(script.into_boxed_str());
        app = app.route(
            "/sockjs.min.js",
            get(move || async move { asset("text/javascript; charset=utf-8", script) }),
        );
    }

    println!("listening on http://{addr}");
    let shutdown = {
        let realtime = realtime.clone();
        async move {
            let _ = tokio::signal::ctrl_c().await;
            realtime.shutdown(Duration::from_secs(5)).await;
        }
    };
    // polysock::serve rather than axum::serve: it also bounds the request
    // head (10 s, 16 KiB, 100 headers) and passes on the peer address.
    let served = polysock::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    if let Err(error) = served {
        eprintln!("chat: {error}");
        std::process::exit(1);
    }
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
