//! Echo server: every message comes back as it came (text as text, binary
//! as binary). The server the interop, browser and proxy tests run against.
//!
//! ```text
//! cargo run --release --example echo -- --listen 127.0.0.1:3000 --path /engine.io \
//!     --ping-interval 300 --ping-timeout 200 --max-payload 1000000
//! ```
//!
//! Prints `listening on http://ADDR` as its first line. Any origin may
//! connect (CORS answered by Polysock). With `--test-hooks`, text messages starting with `@` are commands
//! that let tests steer the server (see `--help`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use polysock::{
    CloseReason, Message, Polysock, SendError, SockJs, Socket, StaticDirectory, Target, Transport,
};
use polysock_redis::{RedisAdapter, RedisConfig};
use tower_http::services::ServeDir;

const HELP: &str = "\
echo: a Polysock echo server

USAGE:
    echo [OPTIONS]

OPTIONS:
    --listen ADDR            address to bind (default 127.0.0.1:3000; port 0 picks one)
    --path PATH              mount point (default /engine.io)
    --ping-interval MS       server ping interval (default 25000)
    --ping-timeout MS        pong wait before closing (default 20000)
    --max-payload BYTES      largest payload or message (default 1000000)
    --response-limit BYTES   bytes per streaming response (default 131072)
    --resume-window MS       how long a lost resume session waits for its client
                             (default: the library's, 60000; 0 turns resume off)
    --transports LIST        comma-separated transports to enable (default all:
                             websocket,xhr-streaming,htmlfile,polling)
    --protocols LIST         subprotocols the server speaks, in preference order
    --static DIR             serve the files of DIR at /
    --sockjs                 also mount at the root the four SockJS endpoints of the
                             SockJS protocol suite: /echo (response_limit 4096),
                             /disabled_websocket_echo, /cookie_needed_echo and
                             /close (closes every session with 3000 \"Go away!\")
    --sockjs-url URL         sockjs-client script the SockJS iframe page loads
    --heartbeat-delay MS     SockJS heartbeat delay (default 25000)
    --disconnect-delay MS    SockJS disconnect delay (default 5000)
    --tls-cert FILE          serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with this
                             PEM certificate chain; needs --tls-key
    --tls-key FILE           the PEM private key of --tls-cert
    --node-id ID             this node's id in a cluster: session ids start with it
    --peer ID=ADDR           a node of the cluster and its address (host:port);
                             repeat for each node (this one may be listed too).
                             Requests for a peer's sessions are forwarded to it
    --cluster-secret S       the secret every node of the cluster shares (needed
                             with --peer, and with --redis for forwarding)
    --redis URL              join the cluster on the Redis at URL (redis://host:port):
                             broadcasts, rooms and counts span every node; with
                             --cluster-secret the Redis node registry is also the
                             directory requests are forwarded by. The node id is
                             --node-id or a random one
    --advertise ADDR         host:port the other nodes reach this one at (default:
                             the address it listens on)
    --test-hooks             treat text messages starting with @ as commands
                             (and answer GET /polysock-test/forwarded with the
                             number of requests this node forwarded, and GET
                             /polysock-test/nodes with the number of live nodes
                             its Redis registry knows, itself included):
                               @close CODE REASON   close this socket
                               @whyclosed SID       reply @closed {code,reason} or @closed null
                               @transport           reply @transport NAME
                               @protocol            reply @protocol NAME
                               @id                  reply @id SID
                               @broadcast TEXT      send TEXT to every socket (of the cluster)
                               @join ROOM           join ROOM (cluster-wide); reply @joined ROOM
                               @leave ROOM          leave ROOM; reply @left ROOM
                               @to ROOM TEXT        send TEXT to the members of ROOM
                               @count               reply @count N: sockets in the cluster
                               @connects            reply @connects N: on_connect calls so far
    -h, --help               print this help
";

struct Options {
    listen: SocketAddr,
    path: String,
    static_dir: Option<String>,
    test_hooks: bool,
    tls: Option<(String, String)>,
    builder: polysock::Builder,
    sockjs: Option<SockJsArgs>,
    cluster: ClusterArgs,
}

/// What `--sockjs` and its companions asked for.
#[derive(Clone, Default)]
struct SockJsArgs {
    url: Option<String>,
    heartbeat_delay: Option<Duration>,
    disconnect_delay: Option<Duration>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        path: "/engine.io".into(),
        static_dir: None,
        tls: None,
        test_hooks: false,
        builder: Polysock::builder().allow_any_origin(),
        sockjs: None,
        cluster: ClusterArgs::default(),
    };
    let mut sockjs = SockJsArgs::default();
    let mut sockjs_on = false;
    let mut cluster = ClusterArgs::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let millis = |v: String| {
            v.parse()
                .map(Duration::from_millis)
                .map_err(|e| format!("{v}: {e}"))
        };
        let bytes = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            "--listen" => {
                options.listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?
            }
            "--path" => options.path = value()?,
            "--ping-interval" => options.builder = options.builder.ping_interval(millis(value()?)?),
            "--ping-timeout" => options.builder = options.builder.ping_timeout(millis(value()?)?),
            "--max-payload" => options.builder = options.builder.max_payload(bytes(value()?)?),
            "--resume-window" => options.builder = options.builder.resume_window(millis(value()?)?),
            "--response-limit" => {
                options.builder = options.builder.response_limit(bytes(value()?)?)
            }
            "--transports" => {
                let list = value()?;
                let transports = list
                    .split(',')
                    .map(|name| {
                        Transport::from_name(name.trim()).ok_or(format!("unknown transport {name}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                options.builder = options.builder.transports(transports);
            }
            "--protocols" => {
                let list = value()?;
                options.builder = options.builder.protocols(list.split(',').map(str::trim));
            }
            "--static" => options.static_dir = Some(value()?),
            "--test-hooks" => options.test_hooks = true,
            "--sockjs" => sockjs_on = true,
            "--sockjs-url" => sockjs.url = Some(value()?),
            "--heartbeat-delay" => sockjs.heartbeat_delay = Some(millis(value()?)?),
            "--disconnect-delay" => sockjs.disconnect_delay = Some(millis(value()?)?),
            "--tls-cert" => {
                let key = options.tls.take().map(|(_, key)| key).unwrap_or_default();
                options.tls = Some((value()?, key));
            }
            "--tls-key" => {
                let cert = options.tls.take().map(|(cert, _)| cert).unwrap_or_default();
                options.tls = Some((cert, value()?));
            }
            other => {
                if !cluster_flag(other, &mut value, &mut cluster)? {
                    return Err(format!("unknown option {other} (see --help)"));
                }
            }
        }
    }
    options.cluster = cluster;
    options.sockjs = sockjs_on.then_some(sockjs);
    if !options.path.starts_with('/') || options.path.len() < 2 {
        return Err("--path must start with / and name a path".into());
    }
    if matches!(&options.tls, Some((cert, key)) if cert.is_empty() || key.is_empty()) {
        return Err("--tls-cert and --tls-key go together".into());
    }
    Ok(options)
}

/// The cluster flags (issue 15), parsed apart from the others.
#[derive(Default)]
struct ClusterArgs {
    node_id: Option<String>,
    peers: Vec<(String, String)>,
    secret: Option<String>,
    redis: Option<String>,
    advertise: Option<String>,
}

/// Takes `flag` if it is a cluster flag (reading its value); false if not.
fn cluster_flag(
    flag: &str,
    value: &mut dyn FnMut() -> Result<String, String>,
    cluster: &mut ClusterArgs,
) -> Result<bool, String> {
    match flag {
        "--node-id" => cluster.node_id = Some(value()?),
        "--cluster-secret" => cluster.secret = Some(value()?),
        "--redis" => cluster.redis = Some(value()?),
        "--advertise" => cluster.advertise = Some(value()?),
        "--peer" => {
            let peer = value()?;
            let (id, addr) = peer
                .split_once('=')
                .ok_or(format!("--peer {peer}: expected ID=HOST:PORT"))?;
            cluster.peers.push((id.to_owned(), addr.to_owned()));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

impl ClusterArgs {
    /// The builder with this node's id and, with peers, a static directory;
    /// with `--redis`, the Redis adapter (its registry the directory when a
    /// secret is given). `listening` is the address bound, advertised by
    /// default. Also returns the Redis adapter, if any, for the test hooks.
    fn apply(
        self,
        mut builder: polysock::Builder,
        listening: SocketAddr,
    ) -> Result<(polysock::Builder, Option<RedisAdapter>), String> {
        let mut node_id = self.node_id;
        let mut redis = None;
        if let Some(url) = &self.redis {
            if !self.peers.is_empty() {
                return Err("--redis and --peer: choose one directory".into());
            }
            let mut config = RedisConfig::new(url.clone())
                .advertise(self.advertise.unwrap_or_else(|| listening.to_string()));
            match &node_id {
                Some(id) => config = config.node_id(id.clone()),
                None => node_id = Some(config.node_id_value().to_owned()),
            }
            let adapter = RedisAdapter::new(config).map_err(|e| e.to_string())?;
            if self.secret.is_some() {
                builder = builder.node_directory(adapter.clone());
            }
            builder = builder.adapter(adapter.clone());
            redis = Some(adapter);
        }
        if let Some(id) = node_id {
            builder = builder.node_id(id);
        }
        if !self.peers.is_empty() {
            let mut directory = StaticDirectory::new();
            for (id, addr) in self.peers {
                let address = addr
                    .parse()
                    .map_err(|e| format!("--peer {id}={addr}: {e}"))?;
                directory = directory.with(id, address);
            }
            builder = builder.node_directory(directory);
        }
        if let Some(secret) = self.secret {
            builder = builder.cluster_secret(secret);
        }
        Ok((builder, redis))
    }
}

/// A session id and why it closed.
type Closed = (String, Option<CloseReason>);

/// Close reasons of recent sessions, for `@whyclosed`; bounded.
#[derive(Clone, Default)]
struct ClosedLog(Arc<Mutex<VecDeque<Closed>>>);

/// The server handle, for `@broadcast`; set once the server is built.
type Handle = Arc<OnceLock<Polysock>>;

/// How many times the connect handler ran, for `@connects` (a resumed
/// session must not count again).
type Connects = Arc<AtomicU64>;

impl ClosedLog {
    const CAPACITY: usize = 4096;

    fn record(&self, id: String, reason: Option<CloseReason>) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == Self::CAPACITY {
            log.pop_front();
        }
        log.push_back((id, reason));
    }

    fn find(&self, id: &str) -> Option<Option<CloseReason>> {
        let log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.iter()
            .rev()
            .find(|(sid, _)| sid == id)
            .map(|(_, reason)| reason.clone())
    }
}

async fn echo(mut socket: Socket, hooks: Option<(ClosedLog, Handle, Connects)>) {
    if let Some((_, _, connects)) = &hooks {
        connects.fetch_add(1, Ordering::Relaxed);
    }
    while let Some(message) = socket.recv().await {
        let reply = match (&hooks, &message) {
            (Some((log, handle, connects)), Message::Text(text)) if text.starts_with('@') => {
                match command(&socket, log, handle, connects, text).await {
                    Some(reply) => reply,
                    None => continue,
                }
            }
            _ => message,
        };
        match socket.send(reply).await {
            Ok(()) => {}
            // A WebSocket client may send text holding U+001E, which the
            // polling payload cannot carry: say so, and keep echoing.
            Err(error @ SendError::RecordSeparator) => {
                tracing::warn!(sid = socket.id(), "message not echoed: {error}");
            }
            Err(_) => break,
        }
    }
    socket.closed().await;
    if let Some((log, _, _)) = hooks {
        log.record(socket.id().to_owned(), socket.close_reason());
    }
}

async fn command(
    socket: &Socket,
    log: &ClosedLog,
    handle: &Handle,
    connects: &Connects,
    text: &str,
) -> Option<Message> {
    if let Some(payload) = text.strip_prefix("@broadcast ") {
        if handle.get().is_some() {
            // Through the adapter: every socket of the cluster. Without
            // --redis the same as Polysock::broadcast.
            let sent = socket.adapter().broadcast(Target::all(), payload.into());
            if let Err(error) = sent.await {
                return Some(Message::Text(format!("@error {error}")));
            }
        }
        return None;
    }
    let mut words = text.splitn(3, ' ');
    let reply = match words.next().unwrap_or("") {
        "@join" => {
            let room = words.next().unwrap_or("");
            match socket.join(room).await {
                Ok(_) => format!("@joined {room}"),
                Err(error) => format!("@error {error}"),
            }
        }
        "@leave" => {
            let room = words.next().unwrap_or("");
            match socket.leave(room).await {
                Ok(_) => format!("@left {room}"),
                Err(error) => format!("@error {error}"),
            }
        }
        "@to" => {
            let room = words.next().unwrap_or("");
            let payload = words.next().unwrap_or("");
            let sent = socket
                .adapter()
                .broadcast(Target::room(room), payload.into())
                .await;
            match sent {
                Ok(_) => return None,
                Err(error) => format!("@error {error}"),
            }
        }
        "@count" => match socket.adapter().socket_count().await {
            Ok(count) => format!("@count {count}"),
            Err(error) => format!("@error {error}"),
        },
        "@close" => {
            let code = words.next().and_then(|c| c.parse().ok()).unwrap_or(1000);
            match socket.close(code, words.next().unwrap_or("")) {
                Ok(()) => return None,
                Err(error) => format!("@error {error}"),
            }
        }
        "@whyclosed" => {
            let sid = words.next().unwrap_or("");
            let body = match log.find(sid) {
                Some(Some(reason)) => {
                    let frame = reason.frame();
                    serde_json::json!({ "code": frame.code, "reason": frame.reason }).to_string()
                }
                _ => "null".to_owned(),
            };
            format!("@closed {body}")
        }
        "@transport" => format!("@transport {}", socket.transport()),
        "@protocol" => format!("@protocol {}", socket.protocol().unwrap_or("")),
        "@id" => format!("@id {}", socket.id()),
        "@connects" => format!("@connects {}", connects.load(Ordering::Relaxed)),
        _ => return Some(Message::Text(text.to_owned())),
    };
    Some(Message::Text(reply))
}

/// The SockJS protocol suite's four endpoints. `/close` belongs to a second
/// server whose every socket is closed at once.
fn mount_sockjs(
    app: Router,
    realtime: &Polysock,
    args: &SockJsArgs,
) -> Result<Router, Box<dyn std::error::Error>> {
    let configure = |server: &Polysock| {
        let mut builder = SockJs::builder(server);
        if let Some(url) = &args.url {
            builder = builder.sockjs_url(url.clone());
        }
        if let Some(delay) = args.heartbeat_delay {
            builder = builder.heartbeat_delay(delay);
        }
        if let Some(delay) = args.disconnect_delay {
            builder = builder.disconnect_delay(delay);
        }
        builder
    };
    let closer = Polysock::builder()
        .allow_any_origin()
        .on_connect(|socket: Socket| async move {
            let _ = socket.close(3000, "Go away!");
        })
        .build()?;
    let echo = configure(realtime).response_limit(4096).build()?;
    let no_websocket = configure(realtime).websocket(false).build()?;
    let cookie = configure(realtime).jsessionid(true).build()?;
    let close = configure(&closer).build()?;
    let mut app = app;
    for (prefix, endpoint) in [
        ("/echo", echo),
        ("/disabled_websocket_echo", no_websocket),
        ("/cookie_needed_echo", cookie),
        ("/close", close),
    ] {
        // route_service rather than nest_service: the endpoint sees
        // `prefix//` as sent (the suite wants it answered 404).
        let service = endpoint.service().with_prefix(prefix);
        app = app
            .route_service(prefix, service.clone())
            .route_service(&format!("{prefix}/"), service.clone())
            .route_service(&format!("{prefix}/{{*rest}}"), service);
    }
    Ok(app)
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM: what process managers send.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() {
    let mut options = match parse_args() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("echo: {error}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let listener = match polysock::bind(options.listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("echo: cannot listen on {}: {error}", options.listen);
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().unwrap_or(options.listen);
    // The cluster part needs the address bound (advertised by default).
    let cluster = std::mem::take(&mut options.cluster);
    let redis;
    (options.builder, redis) = match cluster.apply(options.builder, addr) {
        Ok(applied) => applied,
        Err(error) => {
            eprintln!("echo: {error}");
            std::process::exit(2);
        }
    };
    let handle = Handle::default();
    let hooks = options
        .test_hooks
        .then(|| (ClosedLog::default(), handle.clone(), Connects::default()));
    let realtime = match options
        .builder
        .on_connect(move |socket| echo(socket, hooks.clone()))
        .build()
    {
        Ok(server) => server,
        Err(error) => {
            eprintln!("echo: {error}");
            std::process::exit(2);
        }
    };
    let _ = handle.set(realtime.clone());
    let mut app = Router::new().nest_service(&options.path, realtime.service());
    if options.test_hooks {
        let node = realtime.clone();
        app = app.route(
            "/polysock-test/forwarded",
            axum::routing::get(move || {
                let node = node.clone();
                async move { node.forwarded_requests().to_string() }
            }),
        );
        app = app.route(
            "/polysock-test/nodes",
            axum::routing::get(move || {
                let known = redis.as_ref().map_or(1, |adapter| adapter.nodes().len());
                async move { known.to_string() }
            }),
        );
    }
    if let Some(args) = &options.sockjs {
        app = match mount_sockjs(app, &realtime, args) {
            Ok(app) => app,
            Err(error) => {
                eprintln!("echo: {error}");
                std::process::exit(2);
            }
        };
    }
    if let Some(dir) = &options.static_dir {
        app = app.fallback_service(ServeDir::new(dir));
    }
    let mut serve = polysock::serve(listener, app);
    if let Some((cert, key)) = &options.tls {
        let pem = |file: &str| {
            std::fs::read(file).unwrap_or_else(|error| {
                eprintln!("echo: cannot read {file}: {error}");
                std::process::exit(2);
            })
        };
        serve = serve
            .tls_pem(&pem(cert), &pem(key))
            .unwrap_or_else(|error| {
                eprintln!("echo: {error}");
                std::process::exit(2);
            });
    }
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("listening on {scheme}://{addr}");
    let shutdown = {
        let realtime = realtime.clone();
        async move {
            stop_signal().await;
            realtime.shutdown(Duration::from_secs(5)).await;
        }
    };
    // polysock::serve rather than axum::serve: it also bounds the request
    // head (10 s, 16 KiB, 100 headers) and passes on the peer address.
    let served = serve.with_graceful_shutdown(shutdown).await;
    if let Err(error) = served {
        eprintln!("echo: {error}");
        std::process::exit(1);
    }
}
