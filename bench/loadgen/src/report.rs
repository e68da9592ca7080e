//! The results table (markdown) and the targets of issue 6, with ratios
//! ours/peer from the same run.

use std::fmt::Write;

use crate::load::LoadResult;
use crate::servers::Server;
use crate::suite::{workloads, Metric, Row};

/// Context printed at the top of the report.
pub struct Meta {
    pub date: String,
    pub command: String,
    pub machine: String,
    pub versions: String,
    pub pinning: String,
    /// Runs per (workload, server) pair; the median is reported.
    pub rounds: usize,
}

fn find<'a>(rows: &'a [Row], w: &str, s: Server) -> Option<&'a LoadResult> {
    rows.iter().find(|r| r.workload == w && r.server == s).and_then(|r| r.result.as_ref())
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn ratio(a: f64, b: f64) -> String {
    if a > 0.0 && b > 0.0 { format!("{:.2}x", a / b) } else { "n/a".into() }
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
        let _ = writeln!(o, "{} sessions, {} B messages, transport {}.\n", w.sessions, w.size, w.transport.name());
        let ours = find(rows, w.id, Server::Ours);
        match w.metric {
            Metric::Throughput | Metric::Latency => {
                let _ = writeln!(o, "| server | msgs/s | p50 ms | p99 ms | p99.9 ms | server CPU % | msgs per CPU-s | RSS MiB | ours/peer msgs/s | ours/peer per CPU-s |");
                let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
                for r in &present {
                    match &r.result {
                        Some(x) => {
                            let (rt, rc) = match (ours, r.server) {
                                (_, Server::Ours) | (None, _) => ("".into(), "".into()),
                                (Some(u), _) => (ratio(u.msgs_per_s, x.msgs_per_s), ratio(u.msgs_per_cpu_s, x.msgs_per_cpu_s)),
                            };
                            let note = if x.sessions_failed + x.dropped > 0 {
                                format!(" ({} failed, {} dropped)", x.sessions_failed, x.dropped)
                            } else {
                                String::new()
                            };
                            let _ = writeln!(
                                o,
                                "| {}{} | {:.0} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {} | {} |",
                                r.server.name(), note, x.msgs_per_s, ms(x.p50_us), ms(x.p99_us), ms(x.p999_us),
                                x.server_cpu_pct, x.msgs_per_cpu_s, x.server_rss_mib, rt, rc
                            );
                        }
                        None => {
                            let _ = writeln!(o, "| {} | {} | | | | | | | | |", r.server.name(), r.skipped.as_deref().unwrap_or("no result"));
                        }
                    }
                }
            }
            Metric::IdleMemory => {
                let _ = writeln!(o, "| server | sessions held | RSS MiB | KiB per session | ours/peer |");
                let _ = writeln!(o, "|---|---:|---:|---:|---:|");
                for r in &present {
                    match &r.result {
                        Some(x) => {
                            let rt = match (ours, r.server) {
                                (_, Server::Ours) | (None, _) => String::new(),
                                (Some(u), _) => ratio(u.idle_kib_per_session, x.idle_kib_per_session),
                            };
                            let _ = writeln!(
                                o,
                                "| {} | {} | {:.1} | {:.1} | {} |",
                                r.server.name(), x.sessions_ok - x.dropped.min(x.sessions_ok), x.server_rss_mib, x.idle_kib_per_session, rt
                            );
                        }
                        None => {
                            let _ = writeln!(o, "| {} | {} | | | |", r.server.name(), r.skipped.as_deref().unwrap_or("no result"));
                        }
                    }
                }
            }
        }
        let _ = writeln!(o);
    }
    o.push_str(&targets(rows));
    o
}

/// The targets of issue 6 against this run's figures.
pub fn targets(rows: &[Row]) -> String {
    struct T {
        what: &'static str,
        w: &'static str,
        peer: Server,
        goal: f64,
        lower_is_better: bool,
    }
    use Server::*;
    let ts = [
        T { what: "websocket echo throughput", w: "ws-echo", peer: Tungstenite, goal: 0.9, lower_is_better: false },
        T { what: "websocket echo throughput", w: "ws-echo", peer: Engineioxide, goal: 1.3, lower_is_better: false },
        T { what: "websocket echo throughput", w: "ws-echo", peer: NodeEngineIo, goal: 3.0, lower_is_better: false },
        T { what: "polling round trips/s", w: "polling-rt", peer: Engineioxide, goal: 1.5, lower_is_better: false },
        T { what: "polling round trips/s", w: "polling-rt", peer: NodeEngineIo, goal: 4.0, lower_is_better: false },
        T { what: "xhr-streaming downstream msgs/s", w: "xhr-stream", peer: NodeSockjs, goal: 5.0, lower_is_better: false },
        T { what: "htmlfile downstream msgs/s", w: "htmlfile-stream", peer: NodeSockjs, goal: 5.0, lower_is_better: false },
        T { what: "idle memory per websocket session", w: "ws-idle", peer: Engineioxide, goal: 0.5, lower_is_better: true },
    ];
    let mut o = String::new();
    let _ = writeln!(o, "## Targets (issue 6), ratios from this run\n");
    let _ = writeln!(o, "| target | peer | ours | peer's | ratio ours/peer | goal | met | ratio per server CPU-s |");
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---|---:|");
    for t in ts {
        let (u, p) = (find(rows, t.w, Ours), find(rows, t.w, t.peer));
        let (Some(u), Some(p)) = (u, p) else {
            let _ = writeln!(o, "| {} | {} | | | n/a | {}{} | not measured | |", t.what, t.peer.name(), if t.lower_is_better { "<= " } else { ">= " }, t.goal);
            continue;
        };
        let (a, b, unit) = if t.lower_is_better {
            (u.idle_kib_per_session, p.idle_kib_per_session, " KiB")
        } else {
            (u.msgs_per_s, p.msgs_per_s, "/s")
        };
        let r = if b > 0.0 { a / b } else { f64::NAN };
        let met = if r.is_nan() { "n/a" } else if t.lower_is_better == (r <= t.goal) { "yes" } else { "**no**" };
        let per_cpu = if t.lower_is_better { String::new() } else { ratio(u.msgs_per_cpu_s, p.msgs_per_cpu_s) };
        let _ = writeln!(
            o,
            "| {} | {} | {:.1}{unit} | {:.1}{unit} | {:.2}x | {}{}x | {} | {} |",
            t.what, t.peer.name(), a, b, r, if t.lower_is_better { "<= " } else { ">= " }, t.goal, met, per_cpu
        );
    }
    o
}
