//! The servers under test: ours (polysock's echo example) and the peers.
//! Each is started fresh for every run on port 0, and its printed
//! `listening on http://HOST:PORT` line tells where it is. The cluster
//! variants are several processes of the same program on one Redis
//! (`cluster.rs` starts them). Every process started here dies with the
//! generator (`PR_SET_PDEATHSIG`), so an interrupted run leaves none behind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::load::Kind;

/// A transport as the workloads name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Transport {
    Websocket,
    Polling,
    XhrStreaming,
    Htmlfile,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Websocket => "websocket",
            Transport::Polling => "polling",
            Transport::XhrStreaming => "xhr-streaming",
            Transport::Htmlfile => "htmlfile",
        }
    }
}

/// A server implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Server {
    Ours,
    Tungstenite,
    Engineioxide,
    NodeEngineIo,
    NodeSockjs,
    /// socketioxide fan-out server (broadcast to a room).
    Socketioxide,
    /// Node socket.io fan-out server (`io.emit`).
    NodeSocketIo,
    /// Three polysock echo nodes joined over Redis (`--redis`, issue 15).
    OursCluster,
    /// Three Node socket.io fan-out nodes on Redis
    /// (`@socket.io/redis-adapter`).
    NodeSocketIoCluster,
}

impl Server {
    pub const ALL: [Server; 9] = [
        Server::Ours,
        Server::Tungstenite,
        Server::Engineioxide,
        Server::NodeEngineIo,
        Server::NodeSockjs,
        Server::Socketioxide,
        Server::NodeSocketIo,
        Server::OursCluster,
        Server::NodeSocketIoCluster,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Server::Ours => "polysock",
            Server::Tungstenite => "tokio-tungstenite (raw)",
            Server::Engineioxide => "engineioxide",
            Server::NodeEngineIo => "node engine.io",
            Server::NodeSockjs => "node sockjs",
            Server::Socketioxide => "socketioxide",
            Server::NodeSocketIo => "node socket.io",
            Server::OursCluster => "polysock, 3 nodes on Redis",
            Server::NodeSocketIoCluster => "node socket.io, 3 nodes on Redis",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Server::Ours => "ours",
            Server::Tungstenite => "tungstenite",
            Server::Engineioxide => "engineioxide",
            Server::NodeEngineIo => "engineio",
            Server::NodeSockjs => "sockjs",
            Server::Socketioxide => "socketioxide",
            Server::NodeSocketIo => "socketio",
            Server::OursCluster => "ours-cluster",
            Server::NodeSocketIoCluster => "socketio-cluster",
        }
    }

    pub fn from_id(s: &str) -> Option<Server> {
        Server::ALL.into_iter().find(|v| v.id() == s)
    }

    /// Processes of the deployment: 3 for a cluster, else 1.
    pub fn nodes(self) -> usize {
        match self {
            Server::OursCluster | Server::NodeSocketIoCluster => crate::cluster::NODES,
            _ => 1,
        }
    }

    /// The program each process runs: a cluster's single-process server.
    pub fn program_of(self) -> Server {
        match self {
            Server::OursCluster => Server::Ours,
            Server::NodeSocketIoCluster => Server::NodeSocketIo,
            s => s,
        }
    }

    /// The client kind that drives `transport` on this server, if it has it.
    pub fn kind(self, transport: Transport) -> Option<Kind> {
        use Server::*;
        use Transport::*;
        Some(match (self.program_of(), transport) {
            (Tungstenite, Websocket) => Kind::RawWs,
            (Ours | Engineioxide | NodeEngineIo | Socketioxide | NodeSocketIo, Websocket) => {
                Kind::EioWs
            }
            (Ours | Engineioxide | NodeEngineIo | Socketioxide | NodeSocketIo, Polling) => {
                Kind::EioPolling
            }
            (Ours, XhrStreaming) => Kind::PolyXhr,
            (Ours, Htmlfile) => Kind::PolyHtml,
            (NodeSockjs, XhrStreaming) => Kind::SockXhr,
            (NodeSockjs, Htmlfile) => Kind::SockHtml,
            _ => return None,
        })
    }

    /// Mount path the client uses.
    pub fn path(self) -> &'static str {
        match self.program_of() {
            Server::NodeSockjs => "/echo",
            Server::Tungstenite => "/",
            // WIRE.md allows `M` and `M/`; polysock answers 404 on `M/` at the
            // time of writing, so it gets `M`.
            Server::Ours => "/engine.io",
            _ => "/engine.io/",
        }
    }
}

/// Where the built servers live.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Repository root (holds target/release/examples/echo).
    pub repo: PathBuf,
    /// bench/ (holds target/release/*-echo and node/).
    pub bench: PathBuf,
    pub logs: PathBuf,
}

/// Server settings shared by every server in a run.
#[derive(Debug, Clone, Copy)]
pub struct ServerOpts {
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    /// Pin the server to this CPU (taskset), if any.
    pub cpu: Option<usize>,
    /// Start polysock's echo example with `--test-hooks` (fan-out needs
    /// its `@broadcast`); the peers ignore the flag.
    pub test_hooks: bool,
    /// Serve the browser tests' pages (tests/browser/fixtures) at / (the
    /// resume workloads load their page from the server); polysock only.
    pub static_pages: bool,
}

/// What one process of a cluster is told beyond [`ServerOpts`].
#[derive(Debug, Clone, Default)]
pub struct NodeOpts {
    /// `--redis URL`: join the cluster on this Redis.
    pub redis: Option<String>,
    /// `--node-id ID` (polysock only: its session ids start with it).
    pub node_id: Option<String>,
}

impl Paths {
    fn program(&self, s: Server) -> (PathBuf, Vec<String>) {
        let rel = |p: &str| self.bench.join("target/release").join(p);
        match s.program_of() {
            Server::Ours => (self.repo.join("target/release/examples/echo"), vec![]),
            Server::Tungstenite => (rel("tungstenite-echo"), vec![]),
            Server::Engineioxide => (rel("engineioxide-echo"), vec![]),
            Server::NodeEngineIo => (
                "node".into(),
                vec![self
                    .bench
                    .join("node/engineio-echo.js")
                    .display()
                    .to_string()],
            ),
            Server::NodeSockjs => (
                "node".into(),
                vec![self.bench.join("node/sockjs-echo.js").display().to_string()],
            ),
            Server::Socketioxide => (rel("socketioxide-fanout"), vec![]),
            Server::NodeSocketIo => (
                "node".into(),
                vec![self
                    .bench
                    .join("node/socketio-fanout.js")
                    .display()
                    .to_string()],
            ),
            cluster => unreachable!("program_of({cluster:?}) is a single server"),
        }
    }

    /// Why the server cannot run here (ours may not be built yet, a cluster
    /// needs redis-server), or None if it can.
    pub fn unavailable(&self, s: Server) -> Option<&'static str> {
        let (prog, args) = self.program(s);
        let built = match args.first() {
            Some(script) => {
                Path::new(script).exists() && self.bench.join("node/node_modules").exists()
            }
            None => prog.exists(),
        };
        if !built {
            return Some("not built");
        }
        if s.nodes() > 1 && !crate::cluster::redis_installed() {
            return Some("redis-server not installed");
        }
        None
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
}

/// Starts `s` on port 0 and waits for its address.
pub async fn start(paths: &Paths, s: Server, opts: ServerOpts, tag: &str) -> Result<Running> {
    start_node(paths, s, opts, &NodeOpts::default(), tag).await
}

/// Starts one process of `s` (one node of a cluster when `node` says so).
pub async fn start_node(
    paths: &Paths,
    s: Server,
    opts: ServerOpts,
    node: &NodeOpts,
    tag: &str,
) -> Result<Running> {
    let (prog, mut args) = paths.program(s);
    args.extend(
        [
            "--listen",
            "127.0.0.1:0",
            "--path",
            "/engine.io",
            "--ping-interval",
            &opts.ping_interval_ms.to_string(),
            "--ping-timeout",
            &opts.ping_timeout_ms.to_string(),
        ]
        .map(String::from),
    );
    if opts.test_hooks {
        args.push("--test-hooks".into());
    }
    if let Some(url) = &node.redis {
        args.push("--redis".into());
        args.push(url.clone());
    }
    if let (Some(id), Server::Ours) = (&node.node_id, s.program_of()) {
        args.push("--node-id".into());
        args.push(id.clone());
    }
    if opts.static_pages && s.program_of() == Server::Ours {
        args.push("--static".into());
        args.push(
            paths
                .repo
                .join("tests/browser/fixtures")
                .display()
                .to_string(),
        );
    }
    let mut cmd = match opts.cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(&prog).args(&args);
            c
        }
        None => {
            let mut c = Command::new(&prog);
            c.args(&args);
            c
        }
    };
    std::fs::create_dir_all(&paths.logs)?;
    let log_name = match &node.node_id {
        Some(id) => format!("{}-{}-{id}.log", s.id(), tag),
        None => format!("{}-{}.log", s.id(), tag),
    };
    let log_path = paths.logs.join(log_name);
    let log = std::fs::File::create(&log_path)?;
    cmd.stdout(Stdio::piped())
        .stderr(log)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    die_with_parent(&mut cmd);
    if s.program_of() == Server::Ours {
        cmd.env("RUST_LOG", "warn");
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawn {}", prog.display()))?;
    let pid = child.id().ok_or_else(|| anyhow!("no pid"))?;
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = out.next_line().await? {
            if l.contains("listening on http://") {
                return Ok::<_, anyhow::Error>(l);
            }
        }
        bail!(
            "{} exited before printing its address (log: {})",
            s.name(),
            log_path.display()
        )
    })
    .await
    .map_err(|_| anyhow!("{} did not print its address within 60 s", s.name()))??;
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    let hostport = line
        .split("http://")
        .nth(1)
        .unwrap_or("")
        .trim()
        .trim_end_matches('/');
    let addr: SocketAddr = hostport
        .parse()
        .with_context(|| format!("parse address from {line:?}"))?;
    Ok(Running { addr, pid, child })
}

/// Has the child killed when the generator dies, however it dies (an error,
/// Ctrl-C, SIGKILL): `kill_on_drop` covers only the paths that unwind.
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only
    // makes one async-signal-safe system call.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

impl Running {
    /// SIGTERM, then SIGKILL after 2 s.
    pub async fn stop(mut self) {
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
