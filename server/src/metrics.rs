//! Prometheus metrics: what the servers of a process did, in the text
//! format, for an endpoint the application mounts.
//!
//! Built on the `metrics` facade and `metrics-exporter-prometheus`, which
//! renders the exposition format (nothing here formats it by hand). Until
//! [`install`] is called every hook is one atomic load and nothing else;
//! after it, a counter is an atomic add on a handle made once.
//!
//! ```no_run
//! use axum::Router;
//! use polysock::{metrics, Polysock};
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let handle = metrics::install()?; // before the server starts serving
//! let realtime = Polysock::builder()
//!     .on_connect(|socket| async move { drop(socket) })
//!     .build()?;
//! let metrics = metrics::Metrics::new(handle).watch(&realtime);
//! let app: Router = Router::new()
//!     .route("/metrics", metrics.handler())
//!     .nest_service("/engine.io", realtime.service());
//! # Ok(()) }
//! ```
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `polysock_sessions_open` | gauge (at each scrape) | `transport` |
//! | `polysock_sessions_opened_total` | counter | `transport` |
//! | `polysock_sessions_closed_total` | counter | `reason` |
//! | `polysock_upgrades_total` | counter | |
//! | `polysock_resumes_total` | counter: sessions a client resumed | |
//! | `polysock_messages_total`, `polysock_bytes_total` | counter | `direction` = `in` / `out` |
//! | `polysock_forwarded_requests_total` | counter: requests passed on to the node holding their session | |
//! | `polysock_adapter_errors_total` | counter | `op`, `kind` |
//! | `polysock_publish_seconds` | histogram | |
//!
//! The recorder is process-wide (the `metrics` facade allows one): several
//! servers in one process add up into the same series.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::close::CloseReason;
use crate::{Polysock, Transport};

/// Handles made once by [`install`]; `None` until then.
static HOOKS: OnceLock<Hooks> = OnceLock::new();
/// The handle of the recorder [`install`] set.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

struct Hooks {
    upgrades: Counter,
    resumes: Counter,
    messages_in: Counter,
    messages_out: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    forwarded: Counter,
    publish: Histogram,
}

/// [`install`] failed: another recorder is the process's already, or
/// the exporter refused its configuration.
#[derive(Debug)]
pub struct MetricsError(String);

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot install the metrics recorder: {}", self.0)
    }
}

impl std::error::Error for MetricsError {}

impl From<BuildError> for MetricsError {
    fn from(error: BuildError) -> Self {
        Self(error.to_string())
    }
}

/// Installs the Prometheus recorder for the process and switches the hooks
/// on. Call it once, before the servers serve; later calls return the same
/// handle.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("polysock_publish_seconds".into()),
            &[
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5,
            ],
        )?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|error| MetricsError(error.to_string()))?;
    let handle = HANDLE.get_or_init(|| handle).clone();
    describe();
    let _ = HOOKS.set(Hooks {
        upgrades: metrics::counter!("polysock_upgrades_total"),
        resumes: metrics::counter!("polysock_resumes_total"),
        messages_in: metrics::counter!("polysock_messages_total", "direction" => "in"),
        messages_out: metrics::counter!("polysock_messages_total", "direction" => "out"),
        bytes_in: metrics::counter!("polysock_bytes_total", "direction" => "in"),
        bytes_out: metrics::counter!("polysock_bytes_total", "direction" => "out"),
        forwarded: metrics::counter!("polysock_forwarded_requests_total"),
        publish: metrics::histogram!("polysock_publish_seconds"),
    });
    // Series that exist from the start, so that a scrape shows zeros
    // rather than nothing.
    for transport in Transport::ALL {
        metrics::counter!("polysock_sessions_opened_total", "transport" => transport.as_str())
            .absolute(0);
    }
    Ok(handle)
}

fn describe() {
    metrics::describe_gauge!("polysock_sessions_open", "Sessions open now, by transport");
    metrics::describe_counter!("polysock_sessions_opened_total", "Sessions opened");
    metrics::describe_counter!(
        "polysock_sessions_closed_total",
        "Sessions closed, by reason"
    );
    metrics::describe_counter!("polysock_upgrades_total", "Upgrades to WebSocket");
    metrics::describe_counter!("polysock_resumes_total", "Suspended sessions resumed");
    metrics::describe_counter!("polysock_messages_total", "Application messages");
    metrics::describe_counter!("polysock_bytes_total", "Application message bytes");
    metrics::describe_counter!(
        "polysock_forwarded_requests_total",
        "Requests forwarded to the node that holds their session"
    );
    metrics::describe_counter!("polysock_adapter_errors_total", "Adapter operations failed");
    metrics::describe_histogram!(
        "polysock_publish_seconds",
        metrics::Unit::Seconds,
        "Time to publish a broadcast to the cluster"
    );
}

fn hooks() -> Option<&'static Hooks> {
    HOOKS.get()
}

/// The label of a close reason.
fn reason_label(reason: &CloseReason) -> &'static str {
    match reason {
        CloseReason::ClientClosed(_) => "client_closed",
        CloseReason::ServerClosed(_) => "server_closed",
        CloseReason::ServerShutdown => "server_shutdown",
        CloseReason::PingTimeout => "ping_timeout",
        CloseReason::Abandoned => "abandoned",
        CloseReason::SendQueueFull => "send_queue_full",
        CloseReason::TransportError(_) => "transport_error",
        CloseReason::ResumeWindowOver => "resume_window_over",
        CloseReason::ResumeRejected => "resume_rejected",
        CloseReason::ResumeOverflow => "resume_overflow",
    }
}

pub(crate) fn opened(transport: Transport) {
    if hooks().is_some() {
        metrics::counter!("polysock_sessions_opened_total", "transport" => transport.as_str())
            .increment(1);
    }
}

pub(crate) fn closed(reason: &CloseReason) {
    if hooks().is_some() {
        metrics::counter!("polysock_sessions_closed_total", "reason" => reason_label(reason))
            .increment(1);
    }
}

pub(crate) fn upgraded() {
    if let Some(hooks) = hooks() {
        hooks.upgrades.increment(1);
    }
}

/// A message from a client reached the application.
pub(crate) fn received(bytes: usize) {
    if let Some(hooks) = hooks() {
        hooks.messages_in.increment(1);
        hooks.bytes_in.increment(bytes as u64);
    }
}

/// `count` messages of `bytes` each were queued for clients.
pub(crate) fn delivered(count: usize, bytes: usize) {
    if count == 0 {
        return;
    }
    if let Some(hooks) = hooks() {
        hooks.messages_out.increment(count as u64);
        hooks.bytes_out.increment((count * bytes) as u64);
    }
}

/// A client resumed its session (`polysock_resumes_total`); the engine
/// calls it once per resume.
pub(crate) fn resumed() {
    if let Some(hooks) = hooks() {
        hooks.resumes.increment(1);
    }
}

/// A request was passed on to the node that holds its session
/// (`polysock_forwarded_requests_total`); the forwarder calls it.
pub(crate) fn forwarded_request() {
    if let Some(hooks) = hooks() {
        hooks.forwarded.increment(1);
    }
}

/// An adapter operation `op` failed with an error of `kind`
/// ([`AdapterError::kind`](crate::AdapterError::kind)).
pub fn adapter_error(op: &'static str, kind: &'static str) {
    if hooks().is_some() {
        metrics::counter!("polysock_adapter_errors_total", "op" => op, "kind" => kind).increment(1);
    }
}

/// A broadcast took `elapsed` to publish to the cluster.
pub fn publish_latency(elapsed: Duration) {
    if let Some(hooks) = hooks() {
        hooks.publish.record(elapsed.as_secs_f64());
    }
}

/// The metrics endpoint: renders the recorder's series, with the open
/// sessions of the watched servers counted at each scrape.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    servers: Vec<Polysock>,
}

impl Metrics {
    /// An endpoint over the handle [`install`] returned.
    pub fn new(handle: PrometheusHandle) -> Self {
        Self {
            handle,
            servers: Vec::new(),
        }
    }

    /// Counts this server's open sessions in `polysock_sessions_open`.
    pub fn watch(mut self, server: &Polysock) -> Self {
        self.servers.push(server.clone());
        self
    }

    /// The exposition text, as a scrape gets it.
    pub fn render(&self) -> String {
        let mut open: Vec<(&'static str, u64)> = Vec::new();
        for transport in Transport::ALL {
            open.push((transport.as_str(), 0));
        }
        for server in &self.servers {
            for socket in server.sockets() {
                let name = socket.transport().as_str();
                match open.iter_mut().find(|(label, _)| *label == name) {
                    Some((_, count)) => *count += 1,
                    None => open.push((name, 1)),
                }
            }
        }
        for (transport, count) in open {
            metrics::gauge!("polysock_sessions_open", "transport" => transport).set(count as f64);
        }
        self.handle.render()
    }

    /// An axum handler answering GET with the exposition text; mount it
    /// with `Router::route("/metrics", metrics.handler())`.
    pub fn handler<S: Clone + Send + Sync + 'static>(&self) -> axum::routing::MethodRouter<S> {
        let metrics = self.clone();
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        })
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("servers", &self.servers.len())
            .finish_non_exhaustive()
    }
}
