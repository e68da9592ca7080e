//! The two WebSocket entry points: `/<server>/<session>/websocket` speaks
//! SockJS frames (`o`, `h`, `a[...]`, `c[...]` out; a JSON array or string
//! of messages in), `/websocket` is raw (one text message per frame, the
//! close code and reason in the WebSocket close frame).
//!
//! Each WebSocket is its own session for as long as the connection lives:
//! it is not held by id, so two WebSockets may use one session id at once
//! (the protocol allows it). The handshake (RFC 6455, version 13 only; no
//! hixie-76) is checked here, before any session exists.

use std::sync::Arc;

use axum::body::Body;
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as WsCloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;

use super::http::SockJsError;
use super::receive::open_error;
use super::seam::{self, Close, Endpoint, Next, SjSession, Slot};
use super::SockJsTransport;
use crate::close::TransportError;
use crate::protocol::sockjs::{close_frame, message_frame, parse_websocket_frame, HEARTBEAT, OPEN};
use crate::protocol::{CloseFrame, Message};

/// `/<server>/<session>/websocket`.
pub(crate) async fn sockjs(
    endpoint: &Arc<Endpoint>,
    request: Request<Body>,
) -> Result<Response<Body>, SockJsError> {
    start(endpoint, request, SockJsTransport::WebSocket).await
}

/// `/websocket`.
pub(crate) async fn raw(
    endpoint: &Arc<Endpoint>,
    request: Request<Body>,
) -> Result<Response<Body>, SockJsError> {
    start(endpoint, request, SockJsTransport::RawWebSocket).await
}

async fn start(
    endpoint: &Arc<Endpoint>,
    mut request: Request<Body>,
    transport: SockJsTransport,
) -> Result<Response<Body>, SockJsError> {
    if request.method() != Method::GET {
        return Err(SockJsError::MethodNotAllowed("GET"));
    }
    let accept = check_handshake(request.headers())?;
    let on_upgrade =
        request
            .extensions_mut()
            .remove::<OnUpgrade>()
            .ok_or(SockJsError::BadWebSocket(
                "This connection cannot be upgraded.",
            ))?;
    let (parts, _body) = request.into_parts();
    let (session, slot) = seam::open(endpoint, &parts, None, transport, true)
        .await
        .map_err(open_error)?;
    let slot = slot.ok_or(SockJsError::Unavailable)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(endpoint.max_payload()))
        .max_frame_size(Some(endpoint.max_payload()));
    let upgrade_timeout = endpoint.upgrade_timeout();
    let heartbeat = endpoint.options.heartbeat_delay;
    let wait = endpoint.body_timeout();
    tokio::spawn(async move {
        let Ok(Ok(upgraded)) = timeout(upgrade_timeout, on_upgrade).await else {
            // Dropping the slot unfinished closes the session.
            return;
        };
        let stream =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let link = Link {
            session,
            heartbeat,
            wait,
            raw: transport == SockJsTransport::RawWebSocket,
        };
        link.serve(stream, slot).await;
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    Ok(response)
}

/// Checks an RFC 6455 handshake and returns the `Sec-WebSocket-Accept`.
fn check_handshake(headers: &HeaderMap) -> Result<String, SockJsError> {
    let upgrade_ok = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade_ok {
        return Err(SockJsError::BadWebSocket(
            "Can \"Upgrade\" only to \"WebSocket\".",
        ));
    }
    let connection_ok = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_ok {
        return Err(SockJsError::BadWebSocket(
            "\"Connection\" must be \"Upgrade\".",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(SockJsError::BadWebSocket(
            "Unsupported WebSocket version (13 only).",
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(SockJsError::BadWebSocket("Missing Sec-WebSocket-Key."))?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// One WebSocket carrying one session.
struct Link {
    session: Arc<SjSession>,
    heartbeat: std::time::Duration,
    wait: std::time::Duration,
    raw: bool,
}

/// How the writer half ended.
enum Ending {
    /// The session closed: send this close frame.
    Closed(Close),
    /// The client went away or broke the protocol.
    Failed,
}

impl Link {
    async fn serve<S>(self, stream: WebSocketStream<S>, slot: Slot)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut sink, mut source) = stream.split();
        if !self.raw && sink.send(WsMessage::text(OPEN)).await.is_err() {
            return;
        }
        let reader = async {
            while let Some(frame) = source.next().await {
                let messages = match frame {
                    Ok(WsMessage::Text(text)) if self.raw => vec![Message::Text(text.to_string())],
                    Ok(WsMessage::Binary(bytes)) if self.raw => vec![Message::Binary(bytes)],
                    Ok(WsMessage::Text(text)) => match parse_websocket_frame(&text) {
                        Ok(messages) => messages.into_iter().map(Message::Text).collect(),
                        Err(_) => return Some(TransportError::BadPacket),
                    },
                    Ok(WsMessage::Close(frame)) => {
                        let (code, reason) = frame
                            .map(|f| (u16::from(f.code), f.reason.to_string()))
                            .unwrap_or((CloseFrame::NO_STATUS, String::new()));
                        self.session.client_closed(code, &reason);
                        return None;
                    }
                    Ok(WsMessage::Binary(_)) => return Some(TransportError::BadPacket),
                    Ok(_) => continue,
                    Err(WsError::Capacity(_)) => return Some(TransportError::TooLarge),
                    Err(WsError::Utf8(_)) => return Some(TransportError::InvalidText),
                    Err(_) => return Some(TransportError::ConnectionLost),
                };
                if !messages.is_empty() && !self.session.deliver(messages, self.wait).await {
                    return None;
                }
            }
            Some(TransportError::ConnectionLost)
        };
        let writer = async {
            loop {
                let text = match slot.next(usize::MAX, self.heartbeat).await {
                    Next::Frames(messages, close) => {
                        for message in &messages {
                            if self.raw
                                && sink.feed(WsMessage::text(message.as_str())).await.is_err()
                            {
                                return Ending::Failed;
                            }
                        }
                        if !self.raw && !messages.is_empty() {
                            let mut out = String::new();
                            message_frame(messages.iter().map(String::as_str), &mut out);
                            if sink.feed(WsMessage::text(out)).await.is_err() {
                                return Ending::Failed;
                            }
                        }
                        if let Some(close) = close {
                            return Ending::Closed(close);
                        }
                        None
                    }
                    Next::Heartbeat => (!self.raw).then(|| HEARTBEAT.to_owned()),
                    Next::Closed(close) => return Ending::Closed(close),
                };
                if let Some(text) = text {
                    if sink.feed(WsMessage::text(text)).await.is_err() {
                        return Ending::Failed;
                    }
                }
                if sink.flush().await.is_err() {
                    return Ending::Failed;
                }
            }
        };
        let ending = tokio::select! {
            failure = reader => {
                if let Some(error) = failure {
                    self.session.fail(error);
                }
                None
            }
            ending = writer => Some(ending),
        };
        let close = match ending {
            Some(Ending::Closed(close)) => Some(close),
            Some(Ending::Failed) => {
                self.session.fail(TransportError::ConnectionLost);
                None
            }
            None => None,
        };
        // The session is over either way: the slot has nothing to hand on.
        slot.complete();
        if let Some((code, reason)) = close {
            if !self.raw {
                let mut text = String::new();
                close_frame(code, &reason, &mut text);
                let _ = sink.send(WsMessage::text(text)).await;
            }
            let frame = ws_close_frame(code, reason);
            let _ = sink.send(WsMessage::Close(Some(frame))).await;
        } else {
            let _ = sink.send(WsMessage::Close(None)).await;
        }
        // Wait (briefly) for the client's close frame before the TCP
        // connection goes: closing first would cut off a client still
        // reading what came before.
        let _ = timeout(CLOSE_WAIT, async {
            while let Some(Ok(frame)) = source.next().await {
                if frame.is_close() {
                    break;
                }
            }
        })
        .await;
        let _ = sink.close().await;
    }
}

/// How long a closing WebSocket waits for the client's close frame.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The WebSocket close frame for a session's close: its code when a close
/// frame may carry it, else 1000; the reason cut to the 123 bytes allowed.
fn ws_close_frame(code: u16, mut reason: String) -> WsCloseFrame {
    let code = if CloseFrame::is_sendable(code) {
        code
    } else {
        CloseFrame::NORMAL
    };
    if reason.len() > 123 {
        let mut end = 123;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    WsCloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }
}
