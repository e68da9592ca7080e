//! Cross-node deployments (issue 15): a fresh `redis-server` on a free port
//! and [`NODES`] processes of one server joined over it (polysock's echo
//! example with `--redis URL`, Node socket.io with
//! `@socket.io/redis-adapter`), behind the same [`Deployed`] as a single
//! process, so a workload runs alike against either.
//!
//! ```text
//! generator ──ws──▶ node a ─┐
//!           ──ws──▶ node b ─┼── redis-server (127.0.0.1:free port, nothing saved)
//!           ──ws──▶ node c ─┘
//! ```
//!
//! Redis is stopped with the nodes when the run ends, when starting fails
//! half-way (dropping a [`Deployed`] or a [`Redis`] kills what it holds) and
//! when the generator itself dies (`PR_SET_PDEATHSIG`).

use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::servers::{self, NodeOpts, Paths, Running, Server, ServerOpts};

/// Nodes of a cluster deployment.
pub const NODES: usize = 3;

/// Whether `redis-server` is on the PATH.
pub fn redis_installed() -> bool {
    std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `redis-server --version`'s version (`v=7.0.15` -> `7.0.15`), if installed.
pub fn redis_version() -> Option<String> {
    let out = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .map(str::to_owned)
}

/// A running redis-server; killed when dropped.
pub struct Redis {
    pub url: String,
    pub pid: u32,
    child: Child,
}

impl Redis {
    /// Starts redis-server on a free loopback port (nothing saved, pinned
    /// to `cpu` if given) and waits until it answers PING. A port taken
    /// between choosing and binding it is retried with another.
    pub async fn start(paths: &Paths, cpu: Option<usize>, tag: &str) -> Result<Redis> {
        let mut last = anyhow!("redis-server not started");
        for _ in 0..3 {
            match Redis::try_start(paths, cpu, tag).await {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn try_start(paths: &Paths, cpu: Option<usize>, tag: &str) -> Result<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        .map(String::from);
        let mut cmd = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg("redis-server");
                c
            }
            None => Command::new("redis-server"),
        };
        cmd.args(&args);
        std::fs::create_dir_all(&paths.logs)?;
        let log = std::fs::File::create(paths.logs.join(format!("redis-{tag}.log")))?;
        cmd.stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        servers::die_with_parent(&mut cmd);
        let mut child = cmd.spawn().context("spawn redis-server")?;
        let pid = child.id().ok_or_else(|| anyhow!("redis-server: no pid"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("redis-server exited ({status}) on port {port}");
            }
            if ping(addr).await {
                break;
            }
            if Instant::now() >= deadline {
                bail!("redis-server did not answer PING on {addr} within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Redis {
            url: format!("redis://{addr}"),
            pid,
            child,
        })
    }

    /// Kills redis-server and waits until it is gone.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// One PING on a fresh connection; true on `+PONG`.
async fn ping(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).await.ok()?;
        Some(buf[..n].starts_with(b"+PONG"))
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// A started server: one process, or a cluster's nodes and its Redis.
pub struct Deployed {
    /// Where each process listens; the first is where a publisher goes.
    pub addrs: Vec<SocketAddr>,
    /// Every server process (the nodes), for /proc sampling.
    pub pids: Vec<u32>,
    /// The cluster's redis-server, if any.
    pub redis_pid: Option<u32>,
    nodes: Vec<Running>,
    redis: Option<Redis>,
}

/// Starts `s`: one process, or for a cluster server a fresh Redis and
/// [`NODES`] nodes on it (all on the server CPU when pinned: the cluster
/// gets the core a single server gets).
pub async fn deploy(paths: &Paths, s: Server, opts: ServerOpts, tag: &str) -> Result<Deployed> {
    if s.nodes() == 1 {
        let one = servers::start(paths, s, opts, tag).await?;
        return Ok(Deployed {
            addrs: vec![one.addr],
            pids: vec![one.pid],
            redis_pid: None,
            nodes: vec![one],
            redis: None,
        });
    }
    let redis = Redis::start(paths, opts.cpu, tag).await?;
    let mut d = Deployed {
        addrs: Vec::new(),
        pids: Vec::new(),
        redis_pid: Some(redis.pid),
        nodes: Vec::new(),
        redis: None,
    };
    let url = redis.url.clone();
    d.redis = Some(redis);
    // The nodes start together; any that failed is reported, and the ones
    // that started are killed with `d` when it drops.
    let nodes: Vec<NodeOpts> = (0..s.nodes())
        .map(|i| NodeOpts {
            redis: Some(url.clone()),
            node_id: Some(((b'a' + i as u8) as char).to_string()),
        })
        .collect();
    let started = join_all(
        nodes
            .iter()
            .map(|node| servers::start_node(paths, s, opts, node, tag)),
    )
    .await;
    let mut first_error = None;
    for (i, r) in started.into_iter().enumerate() {
        match r {
            Ok(running) => {
                d.addrs.push(running.addr);
                d.pids.push(running.pid);
                d.nodes.push(running);
            }
            Err(e) => {
                first_error.get_or_insert(e.context(format!("node {} of {}", i + 1, s.name())));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(d),
    }
}

impl Deployed {
    /// Stops the nodes (together), then Redis.
    pub async fn stop(mut self) {
        join_all(
            std::mem::take(&mut self.nodes)
                .into_iter()
                .map(Running::stop),
        )
        .await;
        if let Some(r) = self.redis.take() {
            r.stop().await;
        }
    }
}
