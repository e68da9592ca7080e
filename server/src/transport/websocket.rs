//! `transport=websocket`: one packet per frame, binary messages as binary
//! frames. A WebSocket either opens a session itself (the open packet is
//! its first frame) or upgrades a session opened on another transport:
//!
//! ```text
//! client                                      server
//!   │ GET ?transport=polling (pending) ──────────▶│
//!   │ WebSocket ?transport=websocket&sid=S ──────▶│  101
//!   │ 2probe ────────────────────────────────────▶│
//!   │◀──────────────────────────────────── 3probe │
//!   │◀─────────────── 6 (noop) ends the pending GET│
//!   │ 5 (upgrade) ───────────────────────────────▶│  websocket is now the transport:
//!   │◀────────────────── queued packets, in order │  the queue drains here
//!   │ GET / POST ?transport=polling&sid=S ───────▶│  400 (session is on websocket)
//!   │ WebSocket ?transport=websocket&sid=S ──────▶│  101, then closed 1008: the session
//!   │                                             │  has its WebSocket already
//! ```
//!
//! The single outbound queue is what keeps order across the switch: every
//! packet is taken from it once, by whichever receiver is attached.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use futures_util::future::{Fuse, FusedFuture, FutureExt};
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as WsCloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;

use crate::close::{CloseReason, TransportError};
use crate::protocol::{CloseFrame, Encoded, Message, Packet};
use crate::rejection::{Rejection, UpgradeRejection};
use crate::session::{Delivery, Held, ReceiverGuard, Refusal, Session};
use crate::Config;

/// Most bytes of packets taken from the queue for one write: the session
/// accounts for them until the flush completes, so a client that stops
/// reading pins at most this much beyond the queue itself.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// tungstenite's read buffer, and the most one read takes in.
const READ_BUFFER_BYTES: usize = 1024;

/// How long the close frame may take to leave once the session is over;
/// then the connection is reset, whatever the client does.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a WebSocket runs over.
trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// A WebSocket we serve: IO that may be reset when abandoned.
trait Ws:
    futures_util::Sink<WsMessage, Error = WsError>
    + futures_util::Stream<Item = Result<WsMessage, WsError>>
    + ResetOnDrop
    + Unpin
{
}
impl<S: Io> Ws for WebSocketStream<S> where WebSocketStream<S>: ResetOnDrop {}

/// A checked WebSocket handshake, not yet answered.
pub(crate) struct PendingUpgrade {
    on_upgrade: OnUpgrade,
    accept_key: String,
    /// Subprotocols from `Sec-WebSocket-Protocol`, if the header was sent.
    pub(crate) header_protocols: Option<Vec<String>>,
}

/// Whether the request asks to switch to the WebSocket protocol.
pub(crate) fn is_upgrade_request(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// Checks a WebSocket handshake request (RFC 6455 section 4.2.1).
pub(crate) fn check_upgrade(
    request: &mut Request<Body>,
) -> Result<PendingUpgrade, UpgradeRejection> {
    if request.method() != Method::GET {
        return Err(UpgradeRejection::NotGet);
    }
    let headers = request.headers();
    if !is_upgrade_request(headers) || !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(UpgradeRejection::NotAHandshake);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(UpgradeRejection::UnsupportedVersion);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(UpgradeRejection::MissingKey)?;
    let accept_key = derive_accept_key(key.as_bytes());
    let header_protocols = headers.get(header::SEC_WEBSOCKET_PROTOCOL).map(|value| {
        value
            .to_str()
            .unwrap_or("")
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .take(16)
            .collect()
    });
    let on_upgrade = request
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or(UpgradeRejection::NotUpgradable)?;
    Ok(PendingUpgrade {
        on_upgrade,
        accept_key,
        header_protocols,
    })
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

impl PendingUpgrade {
    /// The `101 Switching Protocols` answer. The chosen subprotocol is named
    /// only when the client offered it in the header: RFC 6455 lets the
    /// server pick only one of the header's values (a browser fails the
    /// connection otherwise).
    fn response(&self, protocol: Option<&str>) -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&self.accept_key) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        let offered = |p: &&str| {
            self.header_protocols
                .as_ref()
                .is_some_and(|list| list.iter().any(|o| o == p))
        };
        if let Some(value) = protocol
            .filter(offered)
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
        }
        response
    }

    /// The hook to the connection once the `101` is out, for a caller
    /// that answers the handshake some other way (the cluster's splice).
    pub(crate) fn into_on_upgrade(self) -> OnUpgrade {
        self.on_upgrade
    }

    async fn into_stream(self, limits: Limits) -> Option<Stream> {
        // tungstenite's default 128 KiB read buffer per connection would
        // dominate an idle session's memory. It grows to hold a larger
        // frame; what it bounds is how much one read takes in, so 1 KiB
        // costs a few more reads for a burst of large messages and saves
        // 3 KiB of every idle session against 4 KiB (BENCHMARKS.md).
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(16 * 1024)
            .max_message_size(Some(limits.max_payload))
            .max_frame_size(Some(limits.max_payload));
        let upgraded = timeout(limits.upgrade_timeout, self.on_upgrade)
            .await
            .ok()?
            .ok()?;
        Some(Stream::new(upgraded, ws_config).await)
    }
}

/// What a served WebSocket takes from the configuration.
#[derive(Debug, Clone, Copy)]
struct Limits {
    upgrade_timeout: Duration,
    max_payload: usize,
}

impl Limits {
    fn of(config: &Config) -> Self {
        Self {
            upgrade_timeout: config.upgrade_timeout,
            max_payload: config.max_payload,
        }
    }
}

/// The connection under a WebSocket. Served by [`crate::serve`] or axum's
/// `serve`, the upgraded connection is a plain `TcpStream` and is used
/// as one: no boxed IO object and no rewind layer on every read.
enum Stream {
    Tcp(WebSocketStream<TcpStream>),
    Other(WebSocketStream<TokioIo<Upgraded>>),
}

/// Resets the connection when it is dropped (`SO_LINGER` 0), so that
/// nothing the kernel still holds for a client that stopped reading keeps
/// it alive once the session is over.
trait ResetOnDrop {
    fn reset_on_drop(&self);
}

impl ResetOnDrop for WebSocketStream<TcpStream> {
    fn reset_on_drop(&self) {
        let _ = self.get_ref().set_zero_linger();
    }
}

impl ResetOnDrop for WebSocketStream<TokioIo<Upgraded>> {
    /// Not a socket we can reach: it closes as its owner closes it.
    fn reset_on_drop(&self) {}
}

impl Stream {
    async fn new(upgraded: Upgraded, config: WebSocketConfig) -> Self {
        let role = Role::Server;
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                // Bytes hyper read past the head are the first frames.
                let (tcp, part) = (parts.io.into_inner(), parts.read_buf.to_vec());
                Self::Tcp(WebSocketStream::from_partially_read(tcp, part, role, Some(config)).await)
            }
            Err(upgraded) => Self::Other(
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), role, Some(config)).await,
            ),
        }
    }
}

/// Opens a new session on a WebSocket: the open packet is the first frame.
pub(crate) fn open(
    pending: PendingUpgrade,
    receiver: ReceiverGuard,
    open: Packet,
) -> Response<Body> {
    let response = pending.response(receiver.session().protocol());
    tokio::spawn(async move {
        let session = receiver.session().clone();
        // Boxed: the handshake's large state would otherwise size the
        // whole task, which lives as long as the session.
        match Box::pin(pending.into_stream(Limits::of(session.config()))).await {
            Some(Stream::Tcp(stream)) => open_session(stream, receiver, open).await,
            Some(Stream::Other(stream)) => open_session(stream, receiver, open).await,
            None => receiver.lost(CloseReason::TransportError(TransportError::ConnectionLost)),
        }
    });
    response
}

async fn open_session(mut stream: impl Ws, receiver: ReceiverGuard, open: Packet) {
    if stream.send(WsMessage::text(open.to_text())).await.is_err() {
        receiver.lost(CloseReason::TransportError(TransportError::ConnectionLost));
        return;
    }
    serve(stream, receiver).await;
}

/// Upgrades an open session: probe, then the upgrade packet, then serve. A
/// session that has (or is getting) its WebSocket already keeps it: the
/// newcomer's handshake completes and it is closed at once (1008).
pub(crate) fn upgrade(pending: PendingUpgrade, session: Arc<Session>) -> Response<Body> {
    let claim = session.claim_websocket();
    let response = pending.response(session.protocol());
    tokio::spawn(async move {
        let Some(stream) = Box::pin(pending.into_stream(Limits::of(session.config()))).await else {
            if claim.is_ok() {
                session.abandon_upgrade();
            }
            return;
        };
        match (claim, stream) {
            (Ok(()), Stream::Tcp(stream)) => upgrade_session(stream, session).await,
            (Ok(()), Stream::Other(stream)) => upgrade_session(stream, session).await,
            (Err(refusal), Stream::Tcp(stream)) => refuse(stream, refusal).await,
            (Err(refusal), Stream::Other(stream)) => refuse(stream, refusal).await,
        }
    });
    response
}

/// Answers a refused resume handshake. On a WebSocket the refusal goes
/// in-band (protocol-spec 11.7): the upgrade completes and the refusal is
/// the only frame, a close with code `4000 + <error code>` and the
/// refusal's detail as its reason. A browser's `WebSocket` shows nothing of
/// a failed handshake (status and body are hidden from the page), so an
/// HTTP refusal would leave a websocket-only client retrying until its
/// resume window ran out. On the HTTP transports it is the HTTP error.
pub(crate) fn refuse_resume(
    upgrade: Option<PendingUpgrade>,
    rejection: Rejection,
    config: &Config,
) -> Response<Body> {
    let Some(pending) = upgrade else {
        return rejection.into_response();
    };
    let frame = close_frame(rejection.in_band_close());
    let response = pending.response(None);
    let limits = Limits::of(config);
    tokio::spawn(async move {
        match Box::pin(pending.into_stream(limits)).await {
            Some(Stream::Tcp(mut stream)) => finish_close(&mut stream, Some(frame)).await,
            Some(Stream::Other(mut stream)) => finish_close(&mut stream, Some(frame)).await,
            None => {}
        }
    });
    response
}

/// Closes a WebSocket that may not carry the session it named.
async fn refuse(mut stream: impl Ws, refusal: Refusal) {
    let reason = match refusal {
        Refusal::AlreadyUpgraded => "session already upgraded",
        Refusal::UpgradeInProgress => "session already upgrading",
        _ => "session closed",
    };
    let frame = close_frame(CloseFrame::new(CloseFrame::POLICY, reason));
    finish_close(&mut stream, Some(frame)).await;
}

async fn upgrade_session(mut stream: impl Ws, session: Arc<Session>) {
    let upgrade_timeout = session.config().upgrade_timeout;
    let refusal = match timeout(upgrade_timeout, probe(&mut stream, &session)).await {
        Ok(Ok(())) => None,
        Ok(Err(())) => Some(close_frame(CloseFrame::new(
            CloseFrame::POLICY,
            "bad upgrade probe",
        ))),
        Err(_) => Some(close_frame(CloseFrame::new(
            CloseFrame::POLICY,
            "upgrade timed out",
        ))),
    };
    if let Some(frame) = refusal {
        session.abandon_upgrade();
        finish_close(&mut stream, Some(frame)).await;
        return;
    }
    match session.take_over() {
        Ok(receiver) => serve(stream, receiver).await,
        Err(_) => finish_close(&mut stream, None).await,
    }
}

/// The probe exchange: `2probe` answered `3probe`, then `5`.
async fn probe(stream: &mut impl Ws, session: &Session) -> Result<(), ()> {
    let mut probed = false;
    while let Some(frame) = stream.next().await {
        let text = match frame {
            Ok(WsMessage::Text(text)) => text,
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
            _ => return Err(()),
        };
        match (probed, Packet::decode_text(&text)) {
            (false, Ok(Packet::Ping(data))) if data == "probe" => {
                stream
                    .send(WsMessage::text("3probe"))
                    .await
                    .map_err(|_| ())?;
                session.probe_answered().map_err(|_| ())?;
                probed = true;
            }
            (true, Ok(Packet::Upgrade)) => {
                let done = session.complete_upgrade().map_err(|_| ());
                if done.is_ok() {
                    crate::metrics::upgraded();
                }
                return done;
            }
            (true, Ok(Packet::Noop)) => {}
            _ => return Err(()),
        }
    }
    Err(())
}

/// Carries the session until either side ends it: frames in go to the
/// session, the queue drains out in batches of at most
/// [`WRITE_BATCH_BYTES`], each reported delivered once flushed. One task
/// owns the stream and drives both directions from one poll (no split
/// halves, no lock between them): reading never waits for a write to
/// finish, nor writing for the application to take a message. Whatever the
/// client does, the connection is gone within twice [`CLOSE_TIMEOUT`] of
/// the session closing (once for a stuck writer, once for the closing
/// handshake).
async fn serve(mut stream: impl Ws, receiver: ReceiverGuard) {
    let session = receiver.session().clone();
    let failure = {
        let inlet = session.inlet();
        let resume = session.is_resume();
        let mut writer = Writer::default();
        let refill = || receiver.next(WRITE_BATCH_BYTES);
        let mut next = pin!(refill().fuse());
        // The packet being handed to the session, when that has to wait
        // (the application's inbound budget is spent).
        let mut handing = pin!(Fuse::terminated());
        let mut closed = pin!(session.closed());
        let ended = poll_fn(|cx| {
            if closed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            loop {
                if !handing.is_terminated() {
                    match handing.as_mut().poll(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(_)) => {
                            return Poll::Ready(Some(Some(TransportError::BadPacket)))
                        }
                        Poll::Pending => break,
                    }
                }
                let Poll::Ready(frame) = stream.poll_next_unpin(cx) else {
                    break;
                };
                match read_packet(frame, &session, resume) {
                    Read::Packet(packet) => {
                        handing.set(receiver.handle_packet(&inlet, packet).fuse());
                    }
                    Read::Skip => {}
                    Read::End(end) => return Poll::Ready(Some(end)),
                }
            }
            writer
                .poll_write(cx, &mut stream, &receiver, next.as_mut(), refill)
                .map(Some)
        })
        .await;
        match ended {
            Some(failure) => failure,
            // Closed elsewhere (ping timeout, a full queue, shutdown): the
            // writer may still hand over the close packet, within the close
            // timeout; a writer stuck on a client that does not read is
            // abandoned then.
            None => Box::pin(timeout(
                CLOSE_TIMEOUT,
                poll_fn(|cx| writer.poll_write(cx, &mut stream, &receiver, next.as_mut(), refill)),
            ))
            .await
            .ok()
            .flatten(),
        }
    };
    match failure {
        // Lost without a close: a resume session waits for its client.
        Some(TransportError::ConnectionLost) => {
            receiver.lost(CloseReason::TransportError(TransportError::ConnectionLost));
        }
        Some(error) => session.close_now(CloseReason::TransportError(error)),
        None => {}
    }
    drop(receiver);
    let frame = session
        .close_reason()
        .map(|reason| close_frame(reason.frame()));
    // Boxed, as the other once-per-session steps: the serve future lives
    // as long as the session and is sized by its largest state.
    Box::pin(finish_close(&mut stream, frame)).await;
}

/// What one frame from the client comes to.
enum Read {
    Packet(Packet),
    /// Nothing for the session (a ping or pong frame).
    Skip,
    /// The end of the connection: `None` for a clean close.
    End(Option<TransportError>),
}

fn read_packet(frame: Option<Result<WsMessage, WsError>>, session: &Session, resume: bool) -> Read {
    match frame {
        Some(Ok(WsMessage::Text(text))) => match Packet::decode_text_with(&text, resume) {
            Ok(packet) => Read::Packet(packet),
            Err(_) => Read::End(Some(TransportError::BadPacket)),
        },
        Some(Ok(WsMessage::Binary(bytes))) => Read::Packet(Packet::Message(Message::Binary(bytes))),
        Some(Ok(WsMessage::Close(frame))) => {
            // A close frame is a clean close from the client, with its code
            // when it gave one a client may use.
            let frame = frame
                .map(|f| CloseFrame::new(u16::from(f.code), f.reason.as_str()))
                .filter(|f| CloseFrame::is_client_code(f.code))
                .unwrap_or_else(|| CloseFrame::new(CloseFrame::NO_STATUS, ""));
            session.close_now(CloseReason::ClientClosed(frame));
            Read::End(None)
        }
        Some(Ok(_)) => Read::Skip,
        Some(Err(error)) => Read::End(Some(transport_error(&error))),
        None => Read::End(Some(TransportError::ConnectionLost)),
    }
}

/// The writing half of [`serve`]: a batch taken from the queue, fed frame
/// by frame, flushed, then reported delivered.
#[derive(Default)]
struct Writer {
    batch: std::vec::IntoIter<Packet>,
    held: Held,
    /// Frames were fed since the last flush.
    unflushed: bool,
    /// The close packet was fed: once flushed, writing is over.
    closing: bool,
}

impl Writer {
    /// Writes until the queue has nothing more (pending) or writing is
    /// over: `Ready(None)` when the session's receiver was released or the
    /// close packet left, `Ready(Some(error))` when the connection failed.
    fn poll_write<F: Future<Output = Delivery>>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut impl Ws,
        receiver: &ReceiverGuard,
        mut next: Pin<&mut Fuse<F>>,
        refill: impl Fn() -> F,
    ) -> Poll<Option<TransportError>> {
        let lost = Poll::Ready(Some(TransportError::ConnectionLost));
        loop {
            while !self.closing && !self.batch.as_slice().is_empty() {
                match stream.poll_ready_unpin(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return lost,
                    Poll::Pending => return Poll::Pending,
                }
                let Some(packet) = self.batch.next() else {
                    break;
                };
                self.closing = matches!(packet, Packet::Close(_));
                if stream.start_send_unpin(to_frame(packet)).is_err() {
                    return lost;
                }
                self.unflushed = true;
            }
            if self.unflushed {
                match stream.poll_flush_unpin(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return lost,
                    Poll::Pending => return Poll::Pending,
                }
                self.unflushed = false;
                if self.closing {
                    return Poll::Ready(None);
                }
                receiver.delivered(std::mem::take(&mut self.held));
            }
            if next.is_terminated() {
                next.set(refill().fuse());
            }
            match next.as_mut().poll(cx) {
                Poll::Ready(Delivery::Packets(packets)) => {
                    self.held = Held::of(&packets);
                    self.batch = packets.into_iter();
                }
                Poll::Ready(Delivery::Released | Delivery::Closed | Delivery::Empty) => {
                    return Poll::Ready(None)
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Sends the close frame and waits for the client's, for at most
/// [`CLOSE_TIMEOUT`]; a client that does not answer in time (or does not
/// read at all) has its connection reset.
async fn finish_close(stream: &mut impl Ws, frame: Option<WsCloseFrame>) {
    let closed = timeout(CLOSE_TIMEOUT, async {
        stream.send(WsMessage::Close(frame)).await?;
        while let Some(frame) = stream.next().await {
            frame?;
        }
        Ok::<(), WsError>(())
    })
    .await;
    if !matches!(closed, Ok(Ok(()))) {
        stream.reset_on_drop();
    }
}

/// The session's close reason for a frame-level error from tungstenite.
/// An EOF without a close frame (a peer or proxy that just closes its
/// socket: nginx's fast shutdown, a process killed) comes as a protocol
/// error from tungstenite, but nothing the client sent was wrong: the
/// connection is lost, as with a reset, and a resume session is suspended
/// (protocol-spec 11.6).
fn transport_error(error: &WsError) -> TransportError {
    match error {
        WsError::Capacity(_) => TransportError::TooLarge,
        WsError::Utf8(_) => TransportError::InvalidText,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            TransportError::ConnectionLost
        }
        // Reserved bits, unknown opcodes, unmasked client frames, bad
        // control frames: RFC 6455 says close with 1002.
        WsError::Protocol(_) => TransportError::ProtocolViolation,
        _ => TransportError::ConnectionLost,
    }
}

fn to_frame(packet: Packet) -> WsMessage {
    match packet {
        Packet::Message(Message::Binary(bytes)) => WsMessage::Binary(bytes),
        // The message's own buffer becomes the frame's, with the packet
        // type in front: grown by one byte in place (the allocator usually
        // has the room) rather than a second buffer allocated and copied.
        Packet::Message(Message::Text(mut text)) => {
            text.reserve_exact(1);
            text.insert(0, '4');
            WsMessage::text(text)
        }
        // A broadcast: the frame shares the bytes encoded once for every
        // socket (a reference count, no copy, no UTF-8 check).
        Packet::Shared(message) => match message.encoded() {
            Encoded::Text(packet) => WsMessage::Text(packet.clone()),
            Encoded::Binary(bytes) => WsMessage::Binary(bytes.clone()),
        },
        other => WsMessage::text(other.to_text()),
    }
}

/// The WebSocket close frame mirroring a session's close: its code when a
/// close frame may carry it, else 1000.
fn close_frame(frame: CloseFrame) -> WsCloseFrame {
    let code = if CloseFrame::is_sendable(frame.code) {
        frame.code
    } else {
        CloseFrame::NORMAL
    };
    let mut reason = frame.reason;
    truncate_utf8(&mut reason, 123);
    WsCloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }
}

fn truncate_utf8(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_engine_io_packet() {
        let text = to_frame(Packet::Message(Message::Text("héllo".into())));
        assert_eq!(text, WsMessage::text("4héllo"));
        let empty = to_frame(Packet::Message(Message::Text(String::new())));
        assert_eq!(empty, WsMessage::text("4"));
        let binary = to_frame(Packet::Message(Message::Binary(vec![1u8, 2].into())));
        assert_eq!(binary, WsMessage::Binary(vec![1u8, 2].into()));
        assert_eq!(to_frame(Packet::Noop), WsMessage::text("6"));
    }

    proptest::proptest! {
        /// A broadcast's frame is the direct send's frame, for any message.
        #[test]
        fn shared_frames_equal_direct_frames(
            text in "\\PC*",
            binary in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            for message in [Message::Text(text.clone()), Message::Binary(binary.clone().into())] {
                let shared = crate::protocol::SharedMessage::new(&message);
                proptest::prop_assert_eq!(
                    to_frame(Packet::Shared(shared)),
                    to_frame(Packet::Message(message))
                );
            }
        }
    }

    /// The task that carries a WebSocket session lives as long as the
    /// session, and its future is sized by its largest state: the rare
    /// steps (waiting for the application, the close) are boxed so that an
    /// idle session stays small (issue 16). 1,936 bytes before the engine
    /// rework, 3,136 after it, 2,112 with the boxing; 2,216 once one task
    /// owns the unsplit stream (the stream itself, no longer behind the
    /// split halves' shared lock, is now part of it). The bound leaves room
    /// for compiler versions.
    #[tokio::test]
    async fn an_idle_websocket_session_task_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let stream = WebSocketStream::from_raw_socket(tcp, Role::Server, None).await;
        let session =
            crate::session::test_session(crate::Config::default(), crate::Transport::WebSocket);
        let receiver = session.attach(crate::Transport::WebSocket).unwrap();
        let task = open_session(stream, receiver, Packet::Noop);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 2400, "the websocket session task is {size} bytes");
    }
}
