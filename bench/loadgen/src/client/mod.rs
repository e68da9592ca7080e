//! Session clients, one module per transport family. Each session sets
//! itself up (handshake), reports ready, waits for the start signal, then
//! echoes or idles until told to stop.

mod polling;
pub mod rawws;
mod streaming;
mod ws;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{anyhow, Result};

use crate::load::{Ctl, Kind, Recorder};

/// Runs one session of the run's kind.
pub async fn session(ctl: Ctl) -> Result<Recorder> {
    match ctl.cfg.kind {
        Kind::EioWs | Kind::RawWs => ws::session(ctl).await,
        Kind::EioPolling => polling::session(ctl).await,
        Kind::PolyXhr | Kind::PolyHtml | Kind::SockXhr | Kind::SockHtml => {
            streaming::session(ctl).await
        }
    }
}

/// Runs a session's handshake under the run's connect-concurrency limit and
/// a 30 s time limit, and counts it as ready or failed.
async fn setup<T>(ctl: &Ctl, fut: impl Future<Output = Result<T>>) -> Result<T> {
    let permit = ctl.setup.acquire().await;
    let r = match tokio::time::timeout(Duration::from_secs(30), fut).await {
        Ok(r) => r,
        Err(_) => Err(anyhow!("handshake timed out")),
    };
    drop(permit);
    match &r {
        Ok(_) => ctl.counters.ready.fetch_add(1, Ordering::Relaxed),
        Err(_) => ctl.counters.failed.fetch_add(1, Ordering::Relaxed),
    };
    r
}

/// Counts a session lost after setup (server closed it, error mid-run).
fn dropped(ctl: &Ctl) {
    ctl.counters.dropped.fetch_add(1, Ordering::Relaxed);
}

/// Resolves once the run says stop.
pub(crate) async fn stopped(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
