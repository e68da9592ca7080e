//! The results tables (markdown), the targets of issue 16 with ratios
//! ours/peer from the same run, and the charts (SVG, drawn by `svg`).

use std::fmt::Write;

use crate::load::LoadResult;
use crate::servers::Server;
use crate::suite::{fan_counts, workloads, Metric, Row, IDLE_PING};
use crate::svg;

/// Context printed at the top of the report.
pub struct Meta {
    pub date: String,
    pub command: String,
    pub machine: String,
    pub versions: String,
    pub pinning: String,
    /// Runs per (workload, server) pair; the median is reported.
    pub rounds: usize,
    /// /proc/loadavg at the start and at the end of the run (the machine
    /// is shared: a busy machine moves absolute figures, ratios less).
    pub load: String,
}

fn find<'a>(rows: &'a [Row], w: &str, s: Server) -> Option<&'a LoadResult> {
    rows.iter()
        .find(|r| r.workload == w && r.server == s)
        .and_then(|r| r.result.as_ref())
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn ratio(a: f64, b: f64) -> String {
    if a > 0.0 && b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}

pub fn markdown(rows: &[Row], meta: &Meta, quick: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Polysock benchmark results\n");
    let _ = writeln!(o, "- date: {}", meta.date);
    let _ = writeln!(o, "- command: `{}`", meta.command);
    let _ = writeln!(o, "- machine: {}", meta.machine);
    let _ = writeln!(o, "- CPU placement: {}", meta.pinning);
    let _ = writeln!(o, "- versions: {}", meta.versions);
    let _ = writeln!(o, "- mode: {}", if quick { "quick" } else { "full" });
    let _ = writeln!(
        o,
        "- load average (1/5/15 min) at start and end: {}",
        meta.load
    );
    let _ = writeln!(
        o,
        "- rounds: {} (servers interleaved round by round; each row is the median run)\n",
        meta.rounds
    );
    let _ = writeln!(
        o,
        "Every (workload, server) pair runs against a freshly started server process. \
         msgs/s counts echoes received by the generator inside the measurement window; \
         latency is send-to-echo per message; server CPU is utime+stime from /proc/PID/stat \
         over the window (100% = one core); msgs per CPU-s = msgs/s divided by server cores used, \
         the figure that stays meaningful when the generator, not the server, is the bottleneck.\n"
    );
    for w in workloads(quick) {
        let present: Vec<&Row> = rows.iter().filter(|r| r.workload == w.id).collect();
        if present.is_empty() {
            continue;
        }
        let _ = writeln!(o, "## {} — {}\n", w.id, w.title);
        let transport = if w.fan.is_some_and(|f| f.mixed) {
            "a quarter each on websocket, polling, xhr-streaming, htmlfile"
        } else {
            w.transport.name()
        };
        match w.metric {
            _ if w.resume => {
                let _ = writeln!(
                    o,
                    "One browser session (headless Chromium, the real client) through the fault proxy, \
                     20 echoes of {} B in flight; each sample cuts inside a server-to-client message \
                     and times the reset to the first message the page receives; transport {transport}.\n",
                    w.size
                );
            }
            Metric::Storm => {
                let _ = writeln!(
                    o,
                    "{} clients released at once; transport {transport}.\n",
                    w.sessions
                );
            }
            Metric::IdleMemory => {
                let _ = writeln!(o, "{} sessions, transport {transport}.\n", w.sessions);
            }
            _ => {
                let _ = writeln!(
                    o,
                    "{} sessions, {} B messages, transport {transport}.\n",
                    w.sessions, w.size
                );
            }
        }
        // Ratios are against the workload's first server: polysock, or for
        // the cross-node rows polysock's cluster (so its single node reads
        // as cluster/one node, the cost of the Redis hop).
        let reference = w.servers.first().copied().unwrap_or(Server::Ours);
        let ours = find(rows, w.id, reference);
        match w.metric {
            _ if w.resume => {
                let _ = writeln!(
                    o,
                    "| server | cuts | p50 ms | p99 ms | p99.9 ms | duplicated or reordered |"
                );
                let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
                for r in &present {
                    match &r.result {
                        Some(x) => {
                            let _ = writeln!(
                                o,
                                "| {} | {} | {} | {} | {} | {} |",
                                r.server.name(),
                                x.msgs,
                                ms(x.p50_us),
                                ms(x.p99_us),
                                ms(x.p999_us),
                                x.dropped
                            );
                        }
                        None => {
                            let _ = writeln!(
                                o,
                                "| {} | {} | | | | |",
                                r.server.name(),
                                r.skipped.as_deref().unwrap_or("no result")
                            );
                        }
                    }
                }
            }
            Metric::Throughput | Metric::Latency => {
                let _ = writeln!(o, "| server | msgs/s | p50 ms | p99 ms | p99.9 ms | server CPU % | msgs per CPU-s | RSS MiB | ours/peer msgs/s | ours/peer per CPU-s |");
                let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
                for r in &present {
                    match &r.result {
                        Some(x) => {
                            let (rt, rc) = match (ours, r.server) {
                                (None, _) => ("".into(), "".into()),
                                (_, s) if s == reference => ("".into(), "".into()),
                                (Some(u), _) => (
                                    ratio(u.msgs_per_s, x.msgs_per_s),
                                    ratio(u.msgs_per_cpu_s, x.msgs_per_cpu_s),
                                ),
                            };
                            let note = if x.sessions_failed + x.dropped > 0 {
                                format!(" ({} failed, {} dropped)", x.sessions_failed, x.dropped)
                            } else {
                                String::new()
                            };
                            let _ = writeln!(
                                o,
                                "| {}{} | {:.0} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {} | {} |",
                                r.server.name(),
                                note,
                                x.msgs_per_s,
                                ms(x.p50_us),
                                ms(x.p99_us),
                                ms(x.p999_us),
                                x.server_cpu_pct,
                                x.msgs_per_cpu_s,
                                x.server_rss_mib,
                                rt,
                                rc
                            );
                        }
                        None => {
                            let _ = writeln!(
                                o,
                                "| {} | {} | | | | | | | | |",
                                r.server.name(),
                                r.skipped.as_deref().unwrap_or("no result")
                            );
                        }
                    }
                }
            }
            Metric::Fanout | Metric::Storm => {
                let fan = w.metric == Metric::Fanout;
                if fan {
                    let _ = writeln!(o, "| server | subscribers | deliveries/s | broadcasts sent | p50 ms | p99 ms | p99.9 ms | server CPU % | CPU us per delivery | deliveries per CPU-s | RSS MiB | ours/peer deliveries/s | ours/peer per CPU-s |");
                } else {
                    let _ = writeln!(o, "| server | sessions ok | failed | sessions/s | storm s | open p50 ms | open p99 ms | open p99.9 ms | echo p99 ms | CPU us per session | sessions per CPU-s | ours/peer sessions/s | ours/peer per CPU-s |");
                }
                let _ = writeln!(
                    o,
                    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                );
                for r in &present {
                    let Some(x) = &r.result else {
                        let _ = writeln!(
                            o,
                            "| {} | {} | | | | | | | | | | | |",
                            r.server.name(),
                            r.skipped.as_deref().unwrap_or("no result")
                        );
                        continue;
                    };
                    let (rt, rc) = match (ours, r.server) {
                        (None, _) => (String::new(), String::new()),
                        (_, s) if s == reference => (String::new(), String::new()),
                        (Some(u), _) => (
                            ratio(u.msgs_per_s, x.msgs_per_s),
                            ratio(u.msgs_per_cpu_s, x.msgs_per_cpu_s),
                        ),
                    };
                    if fan {
                        let note = if x.sessions_failed + x.dropped > 0 {
                            format!(" ({} failed, {} dropped)", x.sessions_failed, x.dropped)
                        } else {
                            String::new()
                        };
                        let _ = writeln!(
                            o,
                            "| {}{note} | {} | {:.0} | {} | {} | {} | {} | {:.0} | {:.3} | {:.0} | {:.1} | {rt} | {rc} |",
                            r.server.name(), x.sessions_ok, x.msgs_per_s, x.published, ms(x.p50_us), ms(x.p99_us), ms(x.p999_us),
                            x.server_cpu_pct, x.cpu_us_per_op, x.msgs_per_cpu_s, x.server_rss_mib
                        );
                    } else {
                        let _ = writeln!(
                            o,
                            "| {} | {} | {} | {:.0} | {:.2} | {} | {} | {} | {} | {:.0} | {:.0} | {rt} | {rc} |",
                            r.server.name(), x.sessions_ok, x.sessions_failed, x.msgs_per_s, x.storm_secs, ms(x.p50_us), ms(x.p99_us),
                            ms(x.p999_us), ms(x.done_p99_us), x.cpu_us_per_op, x.msgs_per_cpu_s
                        );
                    }
                }
                let redis: Vec<String> = present
                    .iter()
                    .filter_map(|r| r.result.as_ref().map(|x| (r.server, x)))
                    .filter(|(s, _)| s.nodes() > 1)
                    .map(|(s, x)| format!("{} {:.1}%", s.name(), x.redis_cpu_pct))
                    .collect();
                if !redis.is_empty() {
                    let _ = writeln!(
                        o,
                        "\nRedis: one fresh redis-server per cluster run, pinned with the nodes; \
                         its CPU (part of the server CPU above, which adds up every node and Redis): {}. \
                         Clients spread round-robin over the nodes; the publisher is on the first node; \
                         ratios are against {}.",
                        redis.join(", "),
                        reference.name()
                    );
                }
                if let Some(e) = present
                    .iter()
                    .filter_map(|r| {
                        r.result
                            .as_ref()
                            .and_then(|x| x.first_error.clone())
                            .map(|e| (r.server, e))
                    })
                    .next()
                {
                    let _ = writeln!(o, "\nFirst error seen: {}: {}", e.0.name(), e.1);
                }
            }
            Metric::IdleMemory => {
                let _ = writeln!(
                    o,
                    "Heartbeats every {} s (timeout {} s); CPU is the server's over the hold window, when nothing but heartbeats runs; \
                     per 10k sessions scaled linearly, and to Engine.IO's default 25 s interval.\n",
                    IDLE_PING.0 / 1000,
                    IDLE_PING.1 / 1000
                );
                let _ = writeln!(o, "| server | sessions held | pings answered | RSS MiB | KiB per session | ours/peer | CPU % (hold) | CPU % per 10k sessions | same at 25 s pings |");
                let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
                for r in &present {
                    match &r.result {
                        Some(x) => {
                            let rt = match (ours, r.server) {
                                (None, _) => String::new(),
                                (_, s) if s == reference => String::new(),
                                (Some(u), _) => {
                                    ratio(u.idle_kib_per_session, x.idle_kib_per_session)
                                }
                            };
                            let held = x.sessions_ok - x.dropped.min(x.sessions_ok);
                            let per10k = x.server_cpu_pct * 10_000.0 / held.max(1) as f64;
                            let _ = writeln!(
                                o,
                                "| {} | {} | {} | {:.1} | {:.1} | {} | {:.2} | {:.2} | {:.3} |",
                                r.server.name(),
                                held,
                                x.pings,
                                x.server_rss_mib,
                                x.idle_kib_per_session,
                                rt,
                                x.server_cpu_pct,
                                per10k,
                                per10k * IDLE_PING.0 as f64 / 25_000.0
                            );
                        }
                        None => {
                            let _ = writeln!(
                                o,
                                "| {} | {} | | | | | | | |",
                                r.server.name(),
                                r.skipped.as_deref().unwrap_or("no result")
                            );
                        }
                    }
                }
            }
        }
        let _ = writeln!(o);
    }
    // The targets of issue 16, unless this run measured none of them
    // (e.g. `--workloads fanout-cluster-...` alone).
    let targeted = [
        "ws-echo",
        "polling-rt",
        "storm-ws",
        "storm-polling",
        "storm-upgrade",
        "ws-idle",
        "polling-idle",
    ];
    if rows
        .iter()
        .any(|r| targeted.contains(&r.workload.as_str()) || r.workload.starts_with("fanout-flat-"))
    {
        o.push_str(&targets(rows, quick));
    }
    let charts = charts(rows, quick);
    if !charts.is_empty() {
        let _ = writeln!(o, "\n## Charts\n");
        for (name, _) in &charts {
            let _ = writeln!(o, "![{name}](charts/{name})\n");
        }
    }
    o
}

/// What a target asks.
#[derive(Clone, Copy)]
enum Goal {
    /// ours/peer of the headline figure at least this.
    RatioAtLeast(Server, f64),
    /// Our KiB per idle session at most this.
    KibAtMost(f64),
}

/// The targets of issue 16 against this run's figures.
pub fn targets(rows: &[Row], quick: bool) -> String {
    use Server::*;
    let top = *fan_counts(quick).last().unwrap_or(&1000);
    let fan32: &'static str = Box::leak(format!("fanout-flat-32-{top}").into_boxed_str());
    let fan1k: &'static str = Box::leak(format!("fanout-flat-1k-{top}").into_boxed_str());
    let ts: Vec<(String, &str, Goal)> = vec![
        (
            "websocket echo msgs/s".into(),
            "ws-echo",
            Goal::RatioAtLeast(Engineioxide, 1.10),
        ),
        (
            "websocket echo msgs/s".into(),
            "ws-echo",
            Goal::RatioAtLeast(Tungstenite, 1.0),
        ),
        (
            "polling round trips/s".into(),
            "polling-rt",
            Goal::RatioAtLeast(Engineioxide, 1.10),
        ),
        (
            format!("fan-out deliveries/s, {top} clients, 32 B"),
            fan32,
            Goal::RatioAtLeast(Socketioxide, 2.0),
        ),
        (
            format!("fan-out deliveries/s, {top} clients, 32 B"),
            fan32,
            Goal::RatioAtLeast(NodeSocketIo, 6.0),
        ),
        (
            format!("fan-out deliveries/s, {top} clients, 1 KiB"),
            fan1k,
            Goal::RatioAtLeast(Socketioxide, 2.0),
        ),
        (
            format!("fan-out deliveries/s, {top} clients, 1 KiB"),
            fan1k,
            Goal::RatioAtLeast(NodeSocketIo, 6.0),
        ),
        (
            "storm sessions/s, websocket".into(),
            "storm-ws",
            Goal::RatioAtLeast(Engineioxide, 1.5),
        ),
        (
            "storm sessions/s, websocket".into(),
            "storm-ws",
            Goal::RatioAtLeast(NodeEngineIo, 5.0),
        ),
        (
            "storm sessions/s, polling".into(),
            "storm-polling",
            Goal::RatioAtLeast(Engineioxide, 1.5),
        ),
        (
            "storm sessions/s, polling".into(),
            "storm-polling",
            Goal::RatioAtLeast(NodeEngineIo, 5.0),
        ),
        (
            "storm sessions/s, polling then upgrade".into(),
            "storm-upgrade",
            Goal::RatioAtLeast(Engineioxide, 1.5),
        ),
        (
            "storm sessions/s, polling then upgrade".into(),
            "storm-upgrade",
            Goal::RatioAtLeast(NodeEngineIo, 5.0),
        ),
        (
            "idle websocket session".into(),
            "ws-idle",
            Goal::KibAtMost(8.0),
        ),
        (
            "idle polling session".into(),
            "polling-idle",
            Goal::KibAtMost(12.0),
        ),
    ];
    let mut o = String::new();
    let _ = writeln!(o, "## Targets (issue 16), from this run\n");
    let _ = writeln!(
        o,
        "| target | peer | ours | peer's | ratio ours/peer | goal | met | ratio per server CPU-s |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---|---:|");
    for (what, w, goal) in ts {
        let u = find(rows, w, Ours);
        match goal {
            Goal::KibAtMost(max) => {
                let Some(u) = u else {
                    let _ = writeln!(
                        o,
                        "| {what} | (absolute) | | | | <= {max} KiB | not measured | |"
                    );
                    continue;
                };
                let v = u.idle_kib_per_session;
                let met = if v <= max { "yes" } else { "**no**" };
                let _ = writeln!(
                    o,
                    "| {what} | (absolute) | {v:.1} KiB | | | <= {max} KiB | {met} | |"
                );
            }
            Goal::RatioAtLeast(peer, goal) => {
                let (Some(u), Some(p)) = (u, find(rows, w, peer)) else {
                    let _ = writeln!(
                        o,
                        "| {what} | {} | | | n/a | >= {goal}x | not measured | |",
                        peer.name()
                    );
                    continue;
                };
                let r = if p.msgs_per_s > 0.0 {
                    u.msgs_per_s / p.msgs_per_s
                } else {
                    f64::NAN
                };
                // Fan-out is judged per server CPU-second: one generator core
                // takes in deliveries no faster than a server sends them, so
                // no server is saturated and wall-clock deliveries/s is the
                // generator's figure (see BENCHMARKS.md).
                let judged = if w.starts_with("fanout") && p.msgs_per_cpu_s > 0.0 {
                    u.msgs_per_cpu_s / p.msgs_per_cpu_s
                } else {
                    r
                };
                let met = if judged.is_nan() {
                    "n/a"
                } else if judged >= goal {
                    "yes"
                } else {
                    "**no**"
                };
                let met = if w.starts_with("fanout") {
                    format!("{met} (per CPU-s)")
                } else {
                    met.to_string()
                };
                let _ = writeln!(
                    o,
                    "| {what} | {} | {:.0}/s | {:.0}/s | {r:.2}x | >= {goal}x | {met} | {} |",
                    peer.name(),
                    u.msgs_per_s,
                    p.msgs_per_s,
                    ratio(u.msgs_per_cpu_s, p.msgs_per_cpu_s)
                );
            }
        }
    }
    o
}

/// The charts of this run, as (file name, SVG text).
pub fn charts(rows: &[Row], quick: bool) -> Vec<(String, String)> {
    use Server::*;
    let mut out = Vec::new();
    let fan_servers = [Ours, Socketioxide, NodeSocketIo];
    let sweep = |prefix: &str, f: &dyn Fn(&LoadResult) -> f64| -> Vec<svg::Series> {
        fan_servers
            .iter()
            .map(|&s| svg::Series {
                name: s.name().to_string(),
                points: fan_counts(quick)
                    .into_iter()
                    .filter_map(|c| {
                        find(rows, &format!("{prefix}-{c}"), s)
                            .filter(|r| r.msgs > 0)
                            .map(|r| (c as f64, f(r)))
                    })
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let d = sweep("fanout-flat-32", &|r| r.msgs_per_s);
    if !d.is_empty() {
        out.push((
            "fanout-deliveries.svg".into(),
            svg::line_chart(
                "Fan-out, 32 B, flat out: deliveries/s",
                "websocket clients",
                "deliveries per second",
                &d,
            ),
        ));
    }
    let p = sweep("fanout-rate-32", &|r| r.p99_us as f64 / 1000.0);
    if !p.is_empty() {
        out.push((
            "fanout-p99.svg".into(),
            svg::line_chart(
                &format!(
                    "Fan-out, 32 B, {} broadcasts/s: p99 publish-to-receive",
                    crate::suite::FAN_RATE
                ),
                "websocket clients",
                "p99 latency, ms",
                &p,
            ),
        ));
    }
    let storm_servers = [Ours, Engineioxide, NodeEngineIo];
    let groups = [
        ("storm-ws", "websocket"),
        ("storm-polling", "polling"),
        ("storm-upgrade", "polling + upgrade"),
    ];
    let vals: Vec<Vec<Option<f64>>> = groups
        .iter()
        .map(|(w, _)| {
            storm_servers
                .iter()
                .map(|&s| find(rows, w, s).map(|r| r.msgs_per_s).filter(|v| *v > 0.0))
                .collect()
        })
        .collect();
    if vals.iter().flatten().any(|v| v.is_some()) {
        out.push((
            "storm-sessions.svg".into(),
            svg::bar_chart(
                &format!(
                    "Connection storm, {} clients at once: sessions/s",
                    crate::suite::storm_clients(quick)
                ),
                "sessions established per second",
                &groups.iter().map(|g| g.1.to_string()).collect::<Vec<_>>(),
                &storm_servers
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect::<Vec<_>>(),
                &vals,
            ),
        ));
    }
    let idle_servers = [Ours, Tungstenite, Engineioxide, NodeEngineIo, NodeSockjs];
    let groups = [
        ("ws-idle", "websocket"),
        ("polling-idle", "polling"),
        ("xhr-idle", "xhr-streaming"),
        ("htmlfile-idle", "htmlfile"),
    ];
    let vals: Vec<Vec<Option<f64>>> = groups
        .iter()
        .map(|(w, _)| {
            idle_servers
                .iter()
                .map(|&s| {
                    find(rows, w, s)
                        .map(|r| r.idle_kib_per_session)
                        .filter(|v| *v > 0.0)
                })
                .collect()
        })
        .collect();
    if vals.iter().flatten().any(|v| v.is_some()) {
        out.push((
            "idle-kib.svg".into(),
            svg::bar_chart(
                "Idle session memory by transport (RSS growth / sessions)",
                "KiB per session",
                &groups.iter().map(|g| g.1.to_string()).collect::<Vec<_>>(),
                &idle_servers
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect::<Vec<_>>(),
                &vals,
            ),
        ));
    }
    out
}
