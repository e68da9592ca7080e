//! Resume latency (issue 14): the time from a cut to the first message the
//! browser client receives after it, per transport. The real client is what
//! decides this figure (how fast it sees the loss, its first resume attempt,
//! the replay), so the measurement drives it in headless Chromium through the
//! tests' fault proxy: `bench/node/resume-latency.mjs` (see its header) does
//! the cutting and timing and prints the samples; this module runs it
//! against a started server and turns the samples into p50/p99/p99.9.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use tokio::process::Command;

use crate::load::LoadResult;
use crate::servers::Transport;

/// Cuts per transport: each is one sample.
pub fn cuts(quick: bool) -> usize {
    if quick {
        20
    } else {
        100
    }
}

#[derive(Deserialize)]
struct Output {
    #[serde(default)]
    samples_ms: Vec<f64>,
    #[serde(default)]
    dup: u64,
    #[serde(default)]
    reordered: u64,
    error: Option<String>,
}

/// Runs the browser measurement against the server at `addr` (polysock's
/// echo example serving tests/browser/fixtures).
pub async fn run(
    bench: &Path,
    addr: SocketAddr,
    transport: Transport,
    cuts: usize,
) -> Result<LoadResult> {
    let script = bench.join("node/resume-latency.mjs");
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .arg("--url")
        .arg(format!("http://{addr}"))
        .arg("--transport")
        .arg(transport.name())
        .arg("--cuts")
        .arg(cuts.to_string())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .map_err(|_| anyhow!("{} did not finish within 120 s", script.display()))?
        .with_context(|| format!("run node {}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            anyhow!(
                "no result from {} (stderr: {})",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    let parsed: Output = serde_json::from_str(line).with_context(|| format!("parse {line:?}"))?;
    if let Some(error) = parsed.error {
        bail!("{error}");
    }
    let mut us: Vec<u64> = parsed
        .samples_ms
        .iter()
        .map(|ms| (ms * 1000.0).max(0.0) as u64)
        .collect();
    if us.is_empty() {
        bail!("no samples");
    }
    us.sort_unstable();
    let at = |q: f64| us[((us.len() as f64 * q).ceil() as usize).clamp(1, us.len()) - 1];
    Ok(LoadResult {
        sessions_ok: 1,
        msgs: us.len() as u64,
        p50_us: at(0.50),
        p99_us: at(0.99),
        p999_us: at(0.999),
        dropped: (parsed.dup + parsed.reordered) as usize,
        ..LoadResult::default()
    })
}
