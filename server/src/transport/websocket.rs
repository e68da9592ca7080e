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
//! ```
//!
//! The single outbound queue is what keeps order across the switch: every
//! packet is taken from it once, by whichever receiver is attached.

use std::sync::Arc;

use axum::body::Body;
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as WsCloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;

use crate::error::RequestError;
use crate::protocol::{CloseFrame, Message, Packet};
use crate::session::{Delivery, ReceiverGuard, Session};
use crate::socket::{CloseReason, TransportError};

/// What a WebSocket runs over.
trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

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
pub(crate) fn check_upgrade(request: &mut Request<Body>) -> Result<PendingUpgrade, RequestError> {
    if request.method() != Method::GET {
        return Err(RequestError::BadRequest(
            "a WebSocket handshake must be a GET",
        ));
    }
    let headers = request.headers();
    if !is_upgrade_request(headers) || !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(RequestError::BadRequest(
            "transport=websocket needs a WebSocket handshake",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(RequestError::BadRequest(
            "unsupported Sec-WebSocket-Version",
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(RequestError::BadRequest("missing Sec-WebSocket-Key"))?;
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
    let on_upgrade =
        request
            .extensions_mut()
            .remove::<OnUpgrade>()
            .ok_or(RequestError::BadRequest(
                "this connection cannot be upgraded",
            ))?;
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
    /// only when the client offered some in the header, as RFC 6455 says.
    fn response(&self, protocol: Option<&str>) -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&self.accept_key) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if self.header_protocols.is_some() {
            if let Some(value) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
                headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
            }
        }
        response
    }

    async fn into_stream(self, session: &Session) -> Option<Stream> {
        let config = session.config();
        // tungstenite's default 128 KiB read buffer per connection would
        // dominate an idle session's memory; 4 KiB grows when needed.
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(16 * 1024)
            .max_message_size(Some(config.max_payload))
            .max_frame_size(Some(config.max_payload));
        let upgraded = timeout(config.upgrade_timeout, self.on_upgrade)
            .await
            .ok()?
            .ok()?;
        Some(Stream::new(upgraded, ws_config).await)
    }
}

/// The connection under a WebSocket. Served by [`crate::serve`] or axum's
/// `serve`, the upgraded connection is a plain `TcpStream` and is used
/// as one: no boxed IO object and no rewind layer on every read.
enum Stream {
    Tcp(WebSocketStream<TcpStream>),
    Other(WebSocketStream<TokioIo<Upgraded>>),
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
pub(crate) fn open(pending: PendingUpgrade, guard: ReceiverGuard, open: Packet) -> Response<Body> {
    let response = pending.response(guard.session().protocol());
    tokio::spawn(async move {
        let session = guard.session().clone();
        match pending.into_stream(&session).await {
            Some(Stream::Tcp(stream)) => open_session(stream, guard, open).await,
            Some(Stream::Other(stream)) => open_session(stream, guard, open).await,
            None => session.close_now(CloseReason::TransportError(TransportError::ConnectionLost)),
        }
    });
    response
}

async fn open_session<S: Io>(mut stream: WebSocketStream<S>, guard: ReceiverGuard, open: Packet) {
    if stream.send(WsMessage::text(open.to_text())).await.is_err() {
        let session = guard.session();
        session.close_now(CloseReason::TransportError(TransportError::ConnectionLost));
        return;
    }
    serve(stream, guard).await;
}

/// Upgrades an open session: probe, then the upgrade packet, then serve.
pub(crate) fn upgrade(
    pending: PendingUpgrade,
    session: Arc<Session>,
) -> Result<Response<Body>, RequestError> {
    session.begin_websocket_attach()?;
    let response = pending.response(session.protocol());
    tokio::spawn(async move {
        match pending.into_stream(&session).await {
            Some(Stream::Tcp(stream)) => upgrade_session(stream, session).await,
            Some(Stream::Other(stream)) => upgrade_session(stream, session).await,
            None => session.abandon_upgrade(),
        }
    });
    Ok(response)
}

async fn upgrade_session<S: Io>(mut stream: WebSocketStream<S>, session: Arc<Session>) {
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
        let _ = stream.close(Some(frame)).await;
        return;
    }
    match session.take_over_receiver() {
        Ok(guard) => serve(stream, guard).await,
        Err(_) => {
            let _ = stream.close(None).await;
        }
    }
}

/// The probe exchange: `2probe` answered `3probe`, then `5`.
async fn probe<S: Io>(stream: &mut WebSocketStream<S>, session: &Session) -> Result<(), ()> {
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
                session.probe_answered();
                probed = true;
            }
            (true, Ok(Packet::Upgrade)) => return session.complete_upgrade().map_err(|_| ()),
            (true, Ok(Packet::Noop)) => {}
            _ => return Err(()),
        }
    }
    Err(())
}

/// Carries the session until either side ends it: frames in go to the
/// session, the queue drains out, batched into one flush.
async fn serve<S: Io>(stream: WebSocketStream<S>, guard: ReceiverGuard) {
    let session = guard.session().clone();
    let (mut sink, mut source) = stream.split();
    let reader = async {
        let inlet = session.inlet();
        while let Some(frame) = source.next().await {
            let packet = match frame {
                Ok(WsMessage::Text(text)) => match Packet::decode_text(&text) {
                    Ok(packet) => packet,
                    Err(_) => return Some(TransportError::BadPacket),
                },
                Ok(WsMessage::Binary(bytes)) => Packet::Message(Message::Binary(bytes)),
                Ok(WsMessage::Close(frame)) => {
                    // A close frame is a clean close from the client, with
                    // its code when it gave one a client may use.
                    let frame = frame
                        .map(|f| CloseFrame::new(u16::from(f.code), f.reason.as_str()))
                        .filter(|f| CloseFrame::is_client_code(f.code))
                        .unwrap_or_else(|| CloseFrame::new(CloseFrame::NO_STATUS, ""));
                    session.close_now(CloseReason::ClientClosed(frame));
                    return None;
                }
                Ok(_) => continue,
                Err(WsError::Capacity(_)) => return Some(TransportError::TooLarge),
                Err(WsError::Utf8(_)) => return Some(TransportError::InvalidText),
                Err(_) => return Some(TransportError::ConnectionLost),
            };
            if session.handle_packet(&inlet, packet).await.is_err() {
                return Some(TransportError::BadPacket);
            }
        }
        Some(TransportError::ConnectionLost)
    };
    let writer = async {
        loop {
            let packets = match guard.next(usize::MAX).await {
                Delivery::Packets(packets) => packets,
                Delivery::Released | Delivery::Closed => return None,
            };
            for packet in packets {
                let closing = matches!(packet, Packet::Close(_));
                if sink.feed(to_frame(packet)).await.is_err() {
                    return Some(TransportError::ConnectionLost);
                }
                if closing {
                    return None;
                }
            }
            if sink.flush().await.is_err() {
                return Some(TransportError::ConnectionLost);
            }
        }
    };
    let failure = tokio::select! {
        failure = reader => failure,
        failure = writer => failure,
    };
    if let Some(error) = failure {
        session.close_now(CloseReason::TransportError(error));
    }
    let frame = session.close_reason().map(CloseReason::frame);
    let _ = sink.send(WsMessage::Close(frame.map(close_frame))).await;
    let _ = sink.close().await;
}

fn to_frame(packet: Packet) -> WsMessage {
    match packet {
        Packet::Message(Message::Binary(bytes)) => WsMessage::Binary(bytes),
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
