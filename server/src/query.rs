//! The query parameters of an Engine.IO request, parsed once and checked.

use std::borrow::Cow;

use crate::protocol::htmlfile;
use crate::rejection::QueryRejection;

/// Longest accepted `sid`; ours are 32 characters.
const MAX_SID_LEN: usize = 64;
/// Most subprotocols a client may list.
const MAX_PROTOCOLS: usize = 16;

/// The parameters Polysock reads; others are ignored.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pub(crate) eio: Option<String>,
    pub(crate) transport: Option<String>,
    pub(crate) sid: Option<String>,
    /// `ext=1`: the client speaks the Polysock extensions.
    pub(crate) ext: bool,
    /// `protocols=a,b`: requested subprotocols, in order.
    pub(crate) protocols: Vec<String>,
    /// `c=`: the htmlfile callback's index in the page's registry.
    pub(crate) callback: Option<u32>,
    /// `ack=N`: packets received so far over streaming responses; in a
    /// resume session, the client's count of messages received.
    pub(crate) ack: Option<u64>,
    /// `resume=1` on a handshake (asks for a resume session), or
    /// `resume=<sid>` (a resume handshake).
    pub(crate) resume: Option<ResumeParam>,
    /// `last=N`: on a resume handshake, the client's received count.
    pub(crate) last: Option<u64>,
    /// `seq=N`: on a resume session's POST, the number of its first message.
    pub(crate) seq: Option<u64>,
}

/// The `resume` parameter's two meanings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResumeParam {
    /// `resume=1`: open a resume session.
    Request,
    /// `resume=<sid>`: resume this session.
    Session(String),
}

impl Query {
    /// Parses a query string; rejects values no client of ours would send.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, QueryRejection> {
        let mut parsed = Query::default();
        for pair in query
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).ok_or(QueryRejection::Malformed)?;
            match key {
                "EIO" => parsed.eio = Some(value.into_owned()),
                "transport" => parsed.transport = Some(value.into_owned()),
                "sid" => {
                    if value.is_empty() || value.len() > MAX_SID_LEN {
                        return Err(QueryRejection::MalformedSid);
                    }
                    parsed.sid = Some(value.into_owned());
                }
                "ext" => parsed.ext = value.parse::<u32>().is_ok_and(|level| level >= 1),
                "protocols" => {
                    parsed.protocols = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if parsed.protocols.len() > MAX_PROTOCOLS {
                        return Err(QueryRejection::TooManyProtocols);
                    }
                }
                "c" => {
                    parsed.callback = Some(
                        htmlfile::parse_callback_id(&value)
                            .ok_or(QueryRejection::InvalidCallback)?,
                    );
                }
                "ack" => {
                    parsed.ack = Some(value.parse().map_err(|_| QueryRejection::MalformedAck)?);
                }
                "resume" => {
                    parsed.resume = Some(match value.as_ref() {
                        "1" => ResumeParam::Request,
                        sid if is_sid(sid) => ResumeParam::Session(sid.to_owned()),
                        _ => return Err(QueryRejection::MalformedResume),
                    });
                }
                "last" => {
                    parsed.last = Some(value.parse().map_err(|_| QueryRejection::MalformedLast)?);
                }
                "seq" => {
                    parsed.seq = Some(value.parse().map_err(|_| QueryRejection::MalformedSeq)?);
                }
                _ => {}
            }
        }
        Ok(parsed)
    }
}

/// Whether `value` could be a session id: 1 to 64 ASCII letters, digits,
/// `-` or `_`.
fn is_sid(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_SID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Decodes `%XX` escapes and `+`; `None` for a bad escape or non-UTF-8.
fn percent_decode(value: &str) -> Option<Cow<'_, str>> {
    if !value.contains(['%', '+']) {
        return Some(Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_engine_io_queries() {
        let q = Query::parse(Some(
            "EIO=4&transport=polling&t=N8hyd6w&sid=abc&ext=1&protocols=chat%2Csuperchat&ack=3",
        ))
        .unwrap();
        assert_eq!(q.eio.as_deref(), Some("4"));
        assert_eq!(q.transport.as_deref(), Some("polling"));
        assert_eq!(q.sid.as_deref(), Some("abc"));
        assert!(q.ext);
        assert_eq!(q.protocols, ["chat", "superchat"]);
        assert_eq!(q.ack, Some(3));
    }

    #[test]
    fn parses_resume_parameters() {
        let q = Query::parse(Some("EIO=4&transport=polling&ext=1&resume=1")).unwrap();
        assert_eq!(q.resume, Some(ResumeParam::Request));
        let q = Query::parse(Some("resume=0123abcd&last=12&seq=4")).unwrap();
        assert_eq!(q.resume, Some(ResumeParam::Session("0123abcd".into())));
        assert_eq!((q.last, q.seq), (Some(12), Some(4)));
        // A cluster node's sid names the node (`<node>.<id>`).
        let q = Query::parse(Some("resume=a.0123abcd&last=0")).unwrap();
        assert_eq!(q.resume, Some(ResumeParam::Session("a.0123abcd".into())));
        assert_eq!(
            Query::parse(Some("resume=a%3Cb")),
            Err(QueryRejection::MalformedResume)
        );
        assert_eq!(
            Query::parse(Some("resume=")),
            Err(QueryRejection::MalformedResume)
        );
        assert_eq!(
            Query::parse(Some("last=-1")),
            Err(QueryRejection::MalformedLast)
        );
        assert_eq!(
            Query::parse(Some("seq=x")),
            Err(QueryRejection::MalformedSeq)
        );
    }

    #[test]
    fn rejects_hostile_values() {
        assert!(Query::parse(Some("sid=")).is_err());
        assert!(Query::parse(Some(&format!("sid={}", "a".repeat(65)))).is_err());
        assert!(Query::parse(Some("c=alert(1)")).is_err());
        assert_eq!(
            Query::parse(Some("c=eval")),
            Err(QueryRejection::InvalidCallback)
        );
        assert_eq!(Query::parse(Some("c=12")).map(|q| q.callback), Ok(Some(12)));
        assert!(Query::parse(Some("ack=-1")).is_err());
        assert!(Query::parse(Some("transport=%zz")).is_err());
        assert!(Query::parse(Some("transport=%ff")).is_err());
        assert_eq!(Query::parse(None), Ok(Query::default()));
    }
}
