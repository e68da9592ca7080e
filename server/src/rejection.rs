//! Why a request was refused, one typed rejection per layer, and the one
//! place where a rejection becomes an HTTP response.
//!
//! Engine.IO answers a bad request with a JSON body
//! `{"code":N,"message":"..."}`; Polysock adds a `detail` string saying
//! which rule the request broke (a fixed sentence: nothing the client sent
//! is echoed). Stock clients read only the status.
//!
//! | layer | type | examples |
//! |---|---|---|
//! | query string | [`QueryRejection`] | `EIO` not 4, unknown transport, malformed `sid` |
//! | WebSocket handshake | [`UpgradeRejection`] | not a GET, no `Sec-WebSocket-Key` |
//! | POST body | [`BodyRejection`] | over `maxPayload`, too slow, bad packet |
//! | attaching to a session | [`AttachRejection`] | unknown sid, second receiver, wrong transport |
//! | opening a session | [`HandshakeRejection`] | refused by the hook, table full, shutting down |
//! | resuming a session | [`ResumeRejection`] | unknown, window over, out of range |
//! | forwarding to the session's node | [`ForwardRejection`] | owner unknown or unreachable, no cluster secret |

use axum::body::Body;
use http::{header, Response, StatusCode};
use serde::Serialize;

use crate::protocol::{CloseFrame, DecodeError};

/// Close codes of refusals sent in-band on a WebSocket: this plus the
/// Engine.IO error code (4001 session unknown, 4003 bad request).
const IN_BAND_BASE: u16 = 4000;

/// Engine.IO's error codes (the `code` of the error body).
mod code {
    pub(super) const UNKNOWN_TRANSPORT: u8 = 0;
    pub(super) const UNKNOWN_SID: u8 = 1;
    pub(super) const BAD_HANDSHAKE_METHOD: u8 = 2;
    pub(super) const BAD_REQUEST: u8 = 3;
    pub(super) const FORBIDDEN: u8 = 4;
    pub(super) const UNSUPPORTED_PROTOCOL_VERSION: u8 = 5;
}

/// Engine.IO's error messages, by code.
fn message(code: u8) -> &'static str {
    match code {
        code::UNKNOWN_TRANSPORT => "Transport unknown",
        code::UNKNOWN_SID => "Session ID unknown",
        code::BAD_HANDSHAKE_METHOD => "Bad handshake method",
        code::FORBIDDEN => "Forbidden",
        code::UNSUPPORTED_PROTOCOL_VERSION => "Unsupported protocol version",
        _ => "Bad request",
    }
}

/// A refused request, from whichever layer refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    Query(QueryRejection),
    Upgrade(UpgradeRejection),
    Body(BodyRejection),
    Attach(AttachRejection),
    Handshake(HandshakeRejection),
    Resume(ResumeRejection),
    Forward(ForwardRejection),
    /// The request's `Origin` is not allowed (403, code 4).
    OriginRefused,
}

/// A request for a session another node holds that cannot be passed on
/// (see [`crate::cluster`]). To the client the session is then unknown, as
/// on a node that never held it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForwardRejection {
    /// The directory does not know the node the sid names (or knows it dead).
    UnknownNode,
    /// The node could not be reached, or did not answer in time.
    Unreachable,
    /// Either of those for a resume handshake: the resume contract's
    /// `resume_unknown` ("session unknown").
    ResumeUnknown,
    /// Marked as forwarded by a peer but without the cluster's secret (403).
    NoSecret,
}

/// The query string broke a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryRejection {
    /// `EIO` missing or not 4.
    UnsupportedVersion,
    /// `transport` missing, unknown or switched off (or an extension
    /// transport asked for without `ext=1`).
    UnknownTransport,
    /// A `%` escape that is not hex, or text that is not UTF-8.
    Malformed,
    /// `sid` empty or longer than any we issue.
    MalformedSid,
    /// More subprotocols than a client may list.
    TooManyProtocols,
    /// `c` is not 1 to 9 digits.
    InvalidCallback,
    /// `ack` is not a number.
    MalformedAck,
    /// `resume` is neither `1` nor a well-formed sid.
    MalformedResume,
    /// `last` is not a number (or missing on a resume handshake).
    MalformedLast,
    /// `seq` is not a number.
    MalformedSeq,
}

/// A WebSocket handshake that breaks RFC 6455 section 4.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpgradeRejection {
    NotGet,
    NotAHandshake,
    UnsupportedVersion,
    MissingKey,
    /// The connection under the request cannot be taken over (HTTP/2
    /// without extended CONNECT, a test client).
    NotUpgradable,
    /// A WebSocket handshake on a transport that is not `websocket`.
    WrongTransport,
}

/// A POST body the session cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyRejection {
    /// Over `max_payload` (413).
    TooLarge,
    /// Not complete within the body timeout (408).
    TooSlow,
    /// The application did not take the packets within the body timeout.
    ApplicationNotReading,
    /// The connection failed while the body was read.
    Unreadable,
    /// The payload does not decode.
    Decode(DecodeError),
    /// A packet type a client may not send.
    UnexpectedPacket,
    /// A second POST while one is handled.
    Overlapping,
    /// An ack packet below an earlier one or above what was sent (resume
    /// sessions).
    AckOutOfRange,
    /// A `seq` past the next message number (resume sessions).
    SeqOutOfRange,
}

/// A request for an existing session that it cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttachRejection {
    /// No open session has this `sid`.
    UnknownSid,
    /// Another request is already receiving for the session (which is now
    /// closed, as Engine.IO requires).
    SecondReceiver,
    /// The session is carried by another transport now.
    WrongTransport,
    /// A streaming GET on a session opened without `ext=1`.
    StreamingNeedsExt,
    /// The streaming GET's `ack` does not match the packets sent.
    BadAck,
    /// The client left a whole response unacknowledged twice.
    StreamNotAcknowledged,
    /// A method the transport does not take.
    MethodNotAllowed,
    /// An htmlfile GET that is not an iframe of a same-origin page
    /// (`Sec-Fetch-Dest` / `Sec-Fetch-Site` say so).
    HtmlfileNotFramed,
    /// A GET's `ack` below an earlier one or above what was sent (resume
    /// sessions).
    AckOutOfRange,
    /// A WebSocket for a suspended session: only a resume handshake brings
    /// it back.
    Suspended,
}

/// A resume handshake (`resume=<sid>&last=<n>`) that cannot be honoured
/// (protocol-spec 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeRejection {
    /// No such session, and no record of one.
    Unknown,
    /// The session's resume window ran out.
    Expired,
    /// The session closed because its queue stayed full.
    QueueFull,
    /// The replay needs copies the retention bound dropped (the session is
    /// closed by it), or the session closed for that earlier.
    Overflow,
    /// The session closed for another reason.
    Closed,
    /// The session exists but did not negotiate resume.
    NotEnabled,
    /// `last` below the acknowledged or above what was sent; the session
    /// is closed.
    OutOfRange,
}

/// A handshake that does not open a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeRejection {
    /// Not a GET.
    BadMethod,
    /// The application's hook said no (403).
    Refused,
    /// The session table is full (503).
    TooManySessions,
    /// This client holds its share of the table already (429).
    TooManyForClient,
    /// The server is shutting down (503).
    ShuttingDown,
    /// The application's hook chose a subprotocol the client did not
    /// offer: a bug in the application (500).
    ProtocolNotOffered,
}

impl From<QueryRejection> for Rejection {
    fn from(rejection: QueryRejection) -> Self {
        Self::Query(rejection)
    }
}

impl From<UpgradeRejection> for Rejection {
    fn from(rejection: UpgradeRejection) -> Self {
        Self::Upgrade(rejection)
    }
}

impl From<BodyRejection> for Rejection {
    fn from(rejection: BodyRejection) -> Self {
        Self::Body(rejection)
    }
}

impl From<AttachRejection> for Rejection {
    fn from(rejection: AttachRejection) -> Self {
        Self::Attach(rejection)
    }
}

impl From<ResumeRejection> for Rejection {
    fn from(rejection: ResumeRejection) -> Self {
        Self::Resume(rejection)
    }
}

impl From<ForwardRejection> for Rejection {
    fn from(rejection: ForwardRejection) -> Self {
        Self::Forward(rejection)
    }
}

impl From<HandshakeRejection> for Rejection {
    fn from(rejection: HandshakeRejection) -> Self {
        Self::Handshake(rejection)
    }
}

#[derive(Serialize)]
struct ErrorBody {
    code: u8,
    message: &'static str,
    detail: &'static str,
}

impl Rejection {
    /// Status, Engine.IO code and detail: the one table of them all.
    fn parts(&self) -> (StatusCode, u8, &'static str) {
        use code::*;
        const BAD: StatusCode = StatusCode::BAD_REQUEST;
        match self {
            Self::OriginRefused => (StatusCode::FORBIDDEN, FORBIDDEN, "origin not allowed"),
            Self::Query(query) => match query {
                QueryRejection::UnsupportedVersion => {
                    (BAD, UNSUPPORTED_PROTOCOL_VERSION, "EIO must be 4")
                }
                QueryRejection::UnknownTransport => {
                    (BAD, UNKNOWN_TRANSPORT, "unknown or disabled transport")
                }
                QueryRejection::Malformed => (BAD, BAD_REQUEST, "malformed query string"),
                QueryRejection::MalformedSid => (BAD, BAD_REQUEST, "malformed sid"),
                QueryRejection::TooManyProtocols => (BAD, BAD_REQUEST, "too many subprotocols"),
                QueryRejection::InvalidCallback => {
                    (BAD, BAD_REQUEST, "htmlfile callback must be 1 to 9 digits")
                }
                QueryRejection::MalformedAck => (BAD, BAD_REQUEST, "malformed ack"),
                QueryRejection::MalformedResume => (BAD, BAD_REQUEST, "malformed resume"),
                QueryRejection::MalformedLast => (BAD, BAD_REQUEST, "malformed last"),
                QueryRejection::MalformedSeq => (BAD, BAD_REQUEST, "malformed seq"),
            },
            Self::Upgrade(upgrade) => (
                BAD,
                BAD_REQUEST,
                match upgrade {
                    UpgradeRejection::NotGet => "a WebSocket handshake must be a GET",
                    UpgradeRejection::NotAHandshake => {
                        "transport=websocket needs a WebSocket handshake"
                    }
                    UpgradeRejection::UnsupportedVersion => "unsupported Sec-WebSocket-Version",
                    UpgradeRejection::MissingKey => "missing Sec-WebSocket-Key",
                    UpgradeRejection::NotUpgradable => "this connection cannot be upgraded",
                    UpgradeRejection::WrongTransport => {
                        "WebSocket handshake on a non-websocket transport"
                    }
                },
            ),
            Self::Body(body) => match body {
                BodyRejection::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    BAD_REQUEST,
                    "payload larger than maxPayload",
                ),
                BodyRejection::TooSlow => (
                    StatusCode::REQUEST_TIMEOUT,
                    BAD_REQUEST,
                    "request body too slow",
                ),
                BodyRejection::ApplicationNotReading => (
                    StatusCode::REQUEST_TIMEOUT,
                    BAD_REQUEST,
                    "the application did not take the packets in time",
                ),
                BodyRejection::Unreadable => (BAD, BAD_REQUEST, "request body could not be read"),
                BodyRejection::Decode(error) => (BAD, BAD_REQUEST, error.detail()),
                BodyRejection::UnexpectedPacket => {
                    (BAD, BAD_REQUEST, "packet type not allowed from a client")
                }
                BodyRejection::Overlapping => (BAD, BAD_REQUEST, "overlapping POST requests"),
                BodyRejection::AckOutOfRange => (BAD, BAD_REQUEST, "acknowledgement out of range"),
                BodyRejection::SeqOutOfRange => (BAD, BAD_REQUEST, "message sequence out of range"),
            },
            Self::Attach(attach) => match attach {
                AttachRejection::UnknownSid => (BAD, UNKNOWN_SID, "no open session has this sid"),
                AttachRejection::SecondReceiver => (
                    BAD,
                    BAD_REQUEST,
                    "another request is already receiving for this session",
                ),
                AttachRejection::WrongTransport => {
                    (BAD, BAD_REQUEST, "the session is on another transport")
                }
                AttachRejection::StreamingNeedsExt => (
                    BAD,
                    BAD_REQUEST,
                    "streaming needs a session opened with ext=1",
                ),
                AttachRejection::BadAck => {
                    (BAD, BAD_REQUEST, "ack does not match the packets sent")
                }
                AttachRejection::StreamNotAcknowledged => {
                    (BAD, BAD_REQUEST, "streamed packets were never acknowledged")
                }
                AttachRejection::MethodNotAllowed => {
                    (BAD, BAD_REQUEST, "method not allowed for this transport")
                }
                AttachRejection::HtmlfileNotFramed => (
                    StatusCode::FORBIDDEN,
                    FORBIDDEN,
                    "htmlfile is served only to an iframe of a same-origin page",
                ),
                AttachRejection::AckOutOfRange => {
                    (BAD, BAD_REQUEST, "acknowledgement out of range")
                }
                AttachRejection::Suspended => (
                    BAD,
                    BAD_REQUEST,
                    "the session is suspended: resume it with resume and last",
                ),
            },
            Self::Resume(resume) => match resume {
                ResumeRejection::Unknown => (BAD, UNKNOWN_SID, "session unknown"),
                ResumeRejection::Expired => (BAD, UNKNOWN_SID, "resume window over"),
                ResumeRejection::QueueFull => (BAD, UNKNOWN_SID, "send buffer overflowed"),
                ResumeRejection::Overflow => (BAD, UNKNOWN_SID, "resume buffer overflowed"),
                ResumeRejection::Closed => (BAD, UNKNOWN_SID, "session closed"),
                ResumeRejection::NotEnabled => (BAD, UNKNOWN_SID, "session cannot resume"),
                ResumeRejection::OutOfRange => (BAD, BAD_REQUEST, "acknowledgement out of range"),
            },
            Self::Forward(forward) => match forward {
                ForwardRejection::UnknownNode => (
                    BAD,
                    UNKNOWN_SID,
                    "the node of this sid is not in the cluster",
                ),
                ForwardRejection::Unreachable => {
                    (BAD, UNKNOWN_SID, "the node of this sid cannot be reached")
                }
                ForwardRejection::ResumeUnknown => (BAD, UNKNOWN_SID, "session unknown"),
                ForwardRejection::NoSecret => (
                    StatusCode::FORBIDDEN,
                    FORBIDDEN,
                    "forwarded request without the cluster secret",
                ),
            },
            Self::Handshake(handshake) => match handshake {
                HandshakeRejection::BadMethod => {
                    (BAD, BAD_HANDSHAKE_METHOD, "a handshake must be a GET")
                }
                HandshakeRejection::Refused => (
                    StatusCode::FORBIDDEN,
                    FORBIDDEN,
                    "the handshake was refused",
                ),
                HandshakeRejection::TooManySessions => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    BAD_REQUEST,
                    "too many sessions",
                ),
                HandshakeRejection::TooManyForClient => (
                    StatusCode::TOO_MANY_REQUESTS,
                    BAD_REQUEST,
                    "too many sessions from this client",
                ),
                HandshakeRejection::ShuttingDown => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    BAD_REQUEST,
                    "server shutting down",
                ),
                HandshakeRejection::ProtocolNotOffered => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    BAD_REQUEST,
                    "the server chose a subprotocol the client did not offer",
                ),
            },
        }
    }

    /// The close frame that carries this rejection over a WebSocket whose
    /// handshake was answered anyway (a refused resume, protocol-spec
    /// 11.7): code `4000 +` the Engine.IO code, the detail as reason.
    pub(crate) fn in_band_close(&self) -> CloseFrame {
        let (_, code, detail) = self.parts();
        CloseFrame::new(IN_BAND_BASE + u16::from(code), detail)
    }

    /// The HTTP status this rejection is answered with.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The error response.
    pub(crate) fn into_response(self) -> Response<Body> {
        let (status, code, detail) = self.parts();
        let body = serde_json::to_string(&ErrorBody {
            code,
            message: message(code),
            detail,
        })
        .unwrap_or_default();
        tracing::debug!(%status, code, detail, "request refused");
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        if matches!(
            self,
            Self::Handshake(HandshakeRejection::TooManyForClient)
                | Self::Handshake(HandshakeRejection::TooManySessions)
                | Self::Handshake(HandshakeRejection::ShuttingDown)
        ) {
            // Clients that reconnect should wait rather than stampede.
            headers.insert(header::RETRY_AFTER, http::HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(rejection: impl Into<Rejection>) -> u8 {
        rejection.into().parts().1
    }

    #[test]
    fn codes_follow_engine_io() {
        assert_eq!(code_of(QueryRejection::UnknownTransport), 0);
        assert_eq!(code_of(AttachRejection::UnknownSid), 1);
        assert_eq!(code_of(HandshakeRejection::BadMethod), 2);
        assert_eq!(code_of(QueryRejection::MalformedSid), 3);
        assert_eq!(
            Rejection::from(HandshakeRejection::Refused).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(code_of(QueryRejection::UnsupportedVersion), 5);
        assert_eq!(
            Rejection::from(BodyRejection::TooLarge).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn resume_refusals_say_which() {
        let details: Vec<_> = [
            ResumeRejection::Unknown,
            ResumeRejection::Expired,
            ResumeRejection::QueueFull,
            ResumeRejection::Overflow,
            ResumeRejection::Closed,
            ResumeRejection::NotEnabled,
            ResumeRejection::OutOfRange,
        ]
        .into_iter()
        .map(|r| Rejection::from(r).parts())
        .collect();
        let codes: Vec<u8> = details.iter().map(|d| d.1).collect();
        assert_eq!(codes, [1, 1, 1, 1, 1, 1, 3]);
        let mut texts: Vec<&str> = details.iter().map(|d| d.2).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), 7, "each refusal is distinct");
    }

    #[test]
    fn a_decode_error_answers_with_its_own_detail() {
        let rejection = Rejection::from(BodyRejection::Decode(DecodeError::InvalidBase64));
        assert_eq!(rejection.parts().2, "invalid base64 in binary packet");
    }
}
