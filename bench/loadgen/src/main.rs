//! polybench: load generator and side-by-side comparison for polysock.
//!
//! ```text
//! polybench run [--quick]            all workloads against ours and the peers -> bench/results/latest.md
//! polybench scale [--transport ...]  ramp idle sessions until something gives
//! polybench load --addr HOST:PORT    one workload against a server already running
//! polybench compress                 gzip/deflate savings and CPU on realistic JSON payloads
//! ```
//! Normally started by `bash bench/run.sh`, which builds everything first.

mod client;
mod cluster;
mod compress;
mod fanout;
mod http;
mod load;
mod net;
mod proto;
mod report;
mod resume;
mod scale;
mod servers;
mod storm;
mod suite;
mod svg;
mod sys;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use clap::{Parser, Subcommand};

use servers::{Paths, Server, Transport};

#[derive(Parser)]
#[command(about = "Load generator and comparison runner for polysock")]
struct Cli {
    /// Generator worker threads.
    #[arg(long, default_value_t = 1, global = true)]
    client_threads: usize,
    /// Don't pin: by default the generator runs on CPU 0 and each server on CPU 1.
    #[arg(long, global = true)]
    no_pin: bool,
    /// Number of 127.0.0.x source addresses to spread client sockets over.
    #[arg(long, default_value_t = 16, global = true)]
    sources: usize,
    /// Repository root (default: parent of bench/).
    #[arg(long, global = true)]
    repo: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the comparison suite and write the markdown report.
    Run {
        #[arg(long)]
        quick: bool,
        /// Run each (workload, server) pair this many times, servers
        /// interleaved, and report the median run.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// Only these servers (ids: ours, tungstenite, engineioxide, engineio, sockjs,
        /// socketioxide, socketio, ours-cluster, socketio-cluster), comma separated.
        #[arg(long, value_delimiter = ',')]
        servers: Option<Vec<String>>,
        /// Only these workloads (ids as in the report), comma separated.
        #[arg(long, value_delimiter = ',')]
        workloads: Option<Vec<String>>,
        /// Report path (default bench/results/latest.md; JSON beside it).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Command line shown in the report.
        #[arg(long, default_value = "bash bench/run.sh")]
        command: String,
    },
    /// Ramp idle sessions up until the server or the machine gives.
    Scale {
        #[arg(long, default_value = "ours")]
        server: String,
        /// websocket, polling, or both (comma separated).
        #[arg(long, value_delimiter = ',', default_value = "websocket,polling")]
        transport: Vec<String>,
        /// Session counts to step through.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "5000,10000,20000,30000,40000,50000,60000"
        )]
        steps: Vec<usize>,
        #[arg(long, default_value_t = 25_000)]
        ping_interval: u64,
        #[arg(long, default_value_t = 20_000)]
        ping_timeout: u64,
        #[arg(long, default_value_t = 12_000.0)]
        max_rss_mib: f64,
        /// Append the markdown section to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What gzip/deflate would save and cost on polling and streaming
    /// responses (realistic JSON); markdown to stdout and --out.
    Compress {
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// One workload against a running server.
    Load {
        #[arg(long)]
        addr: String,
        /// Client kind: eio-ws, raw-ws, eio-polling, poly-xhr, poly-html, sock-xhr, sock-html.
        #[arg(long, default_value = "eio-ws")]
        kind: String,
        #[arg(long, default_value = "/engine.io/")]
        path: String,
        #[arg(long, default_value_t = 10)]
        sessions: usize,
        #[arg(long, default_value_t = 32)]
        size: usize,
        #[arg(long, default_value_t = 1)]
        window: usize,
        /// Total messages/s across sessions (default: flat out).
        #[arg(long)]
        rate: Option<f64>,
        /// Idle instead of echo.
        #[arg(long)]
        idle: bool,
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Server pid for CPU/RSS sampling.
        #[arg(long)]
        pid: Option<u32>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let nofile = sys::raise_nofile(1 << 20);
    let pin = !cli.no_pin && sys::cpus() >= 2;
    if pin {
        sys::pin_to_cpu(0);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.client_threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async_main(cli, pin, nofile))
}

async fn async_main(cli: Cli, pin: bool, nofile: u64) -> Result<()> {
    let bench = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()?;
    let repo = match &cli.repo {
        Some(r) => r.clone(),
        None => bench.join(".."),
    };
    let paths = Paths {
        repo: repo.canonicalize()?,
        bench: bench.clone(),
        logs: bench.join("results/logs"),
    };
    let server_cpu = if pin { Some(1) } else { None };
    match cli.cmd {
        Cmd::Run {
            quick,
            rounds,
            servers,
            workloads,
            out,
            command,
        } => {
            let only_servers = servers
                .map(|v| {
                    v.iter()
                        .map(|s| Server::from_id(s).ok_or_else(|| anyhow!("unknown server {s}")))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?;
            let opts = suite::SuiteOpts {
                quick,
                only_servers,
                only_workloads: workloads,
                server_cpu,
                sources: cli.sources,
                rounds,
            };
            eprintln!(
                "polybench: RLIMIT_NOFILE {nofile}, generator threads {}, pinned {pin}",
                cli.client_threads
            );
            let load_start = loadavg();
            let rows = suite::run(&paths, &opts).await?;
            let meta = report::Meta {
                date: cmd_out("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
                command,
                machine: machine(),
                versions: versions(&paths),
                rounds,
                load: format!("{load_start} / {}", loadavg()),
                pinning: if pin {
                    format!("generator pinned to CPU 0 ({} thread), each server pinned to CPU 1 (taskset)", cli.client_threads)
                } else {
                    "unpinned".into()
                },
            };
            let md = report::markdown(&rows, &meta, quick);
            let out = out.unwrap_or_else(|| bench.join("results/latest.md"));
            std::fs::create_dir_all(out.parent().unwrap())?;
            std::fs::write(&out, &md)?;
            std::fs::write(
                out.with_extension("json"),
                serde_json::to_string_pretty(&rows)?,
            )?;
            let chart_dir = out.parent().unwrap().join("charts");
            std::fs::create_dir_all(&chart_dir)?;
            for (name, svg) in report::charts(&rows, quick) {
                std::fs::write(chart_dir.join(&name), svg)?;
            }
            println!("{md}");
            eprintln!("wrote {}", out.display());
        }
        Cmd::Scale {
            server,
            transport,
            steps,
            ping_interval,
            ping_timeout,
            max_rss_mib,
            out,
        } => {
            let server =
                Server::from_id(&server).ok_or_else(|| anyhow!("unknown server {server}"))?;
            let mut md = format!(
                "## Scale run ({}, {})\n\n- machine: {}\n- RLIMIT_NOFILE: {nofile} (generator and server)\n- client sockets spread over {} source addresses\n\n",
                cmd_out("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
                server.name(),
                machine(),
                cli.sources
            );
            for t in transport {
                let transport = match t.as_str() {
                    "websocket" => Transport::Websocket,
                    "polling" => Transport::Polling,
                    other => {
                        return Err(anyhow!("scale supports websocket and polling, not {other}"))
                    }
                };
                let o = scale::ScaleOpts {
                    server,
                    transport,
                    steps: steps.clone(),
                    ping_interval_ms: ping_interval,
                    ping_timeout_ms: ping_timeout,
                    server_cpu,
                    sources: cli.sources,
                    max_rss_mib,
                };
                md.push_str(&scale::run(&paths, &o).await?);
            }
            println!("{md}");
            if let Some(out) = out {
                std::fs::create_dir_all(out.parent().unwrap())?;
                std::fs::write(&out, &md)?;
                eprintln!("wrote {}", out.display());
            }
        }
        Cmd::Compress { quick, out } => {
            let md = compress::run(quick);
            println!("{md}");
            if let Some(out) = out {
                std::fs::write(&out, &md)?;
                eprintln!("wrote {}", out.display());
            }
        }
        Cmd::Load {
            addr,
            kind,
            path,
            sessions,
            size,
            window,
            rate,
            idle,
            duration,
            pid,
        } => {
            let kind = match kind.as_str() {
                "eio-ws" => load::Kind::EioWs,
                "raw-ws" => load::Kind::RawWs,
                "eio-polling" => load::Kind::EioPolling,
                "poly-xhr" => load::Kind::PolyXhr,
                "poly-html" => load::Kind::PolyHtml,
                "sock-xhr" => load::Kind::SockXhr,
                "sock-html" => load::Kind::SockHtml,
                other => return Err(anyhow!("unknown kind {other}")),
            };
            let target = Arc::new(load::Target {
                addr: addr.parse()?,
                path,
                pool: Arc::new(net::SourcePool::new(cli.sources)),
            });
            let cfg = load::LoadCfg {
                kind,
                mode: if idle {
                    load::Mode::Idle
                } else {
                    load::Mode::Echo { window, rate }
                },
                sessions,
                size,
                warmup: Duration::from_secs(1),
                duration: Duration::from_secs_f64(duration),
                connect_concurrency: 64,
            };
            let r = load::run(cfg, target, pid).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
    }
    Ok(())
}

/// The first three fields of /proc/loadavg.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cmd_out(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_string();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "{} cores ({model}), {mem} RAM, Linux {}",
        sys::cpus(),
        cmd_out("uname", &["-r"])
    )
}

fn versions(paths: &Paths) -> String {
    let node_pkg = |p: &str| {
        std::fs::read_to_string(
            paths
                .bench
                .join("node/node_modules")
                .join(p)
                .join("package.json"),
        )
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(String::from))
        .unwrap_or_else(|| "?".into())
    };
    let lock = std::fs::read_to_string(paths.bench.join("Cargo.lock")).unwrap_or_default();
    let crate_v = |name: &str| {
        let needle = format!("name = \"{name}\"\nversion = \"");
        lock.find(&needle)
            .map(|i| {
                lock[i + needle.len()..]
                    .split('"')
                    .next()
                    .unwrap_or("?")
                    .to_string()
            })
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "{}, node {}, engine.io {}, socket.io {}, sockjs {}, @socket.io/redis-adapter {} (redis {}), engineioxide {}, socketioxide {}, tokio-tungstenite {}, redis-server {}",
        cmd_out("rustc", &["--version"]),
        cmd_out("node", &["--version"]),
        node_pkg("engine.io"),
        node_pkg("socket.io"),
        node_pkg("sockjs"),
        node_pkg("@socket.io/redis-adapter"),
        node_pkg("redis"),
        crate_v("engineioxide"),
        crate_v("socketioxide"),
        crate_v("tokio-tungstenite"),
        cluster::redis_version().unwrap_or_else(|| "not installed".into())
    )
}
