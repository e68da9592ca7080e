//! Which web origins may talk to the endpoint, and the CORS answers that
//! let them.
//!
//! Checked on every request, WebSocket handshakes included: a browser sends
//! cookies with a cross-site WebSocket handshake, so without this check any
//! page could open a socket as the user (cross-site WebSocket hijacking).
//!
//! The default, [`OriginPolicy::SameOrigin`], accepts requests without an
//! `Origin` header (non-browser clients, which carry no ambient
//! credentials) and requests whose `Origin` names the host they were sent
//! to; everything else is refused with 403 and the protocol's `Forbidden`
//! error. Open it up with [`Builder::allowed_origins`](crate::Builder::allowed_origins)
//! or, for development, [`Builder::allow_any_origin`](crate::Builder::allow_any_origin).

use axum::body::Body;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode, Uri};

use crate::rejection::Rejection;

/// Which origins are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// Only pages served from the host the request was sent to.
    #[default]
    SameOrigin,
    /// Same-origin pages and these origins (`scheme://host[:port]`).
    List(Vec<String>),
    /// Any origin. For development; never with credentials in production.
    Any,
}

/// The outcome of checking one request's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No `Origin`, or the request's own host: no CORS headers needed.
    NotCrossOrigin,
    /// An allowed foreign origin: answer with CORS headers naming it.
    CrossOrigin(HeaderValue),
}

impl OriginPolicy {
    pub(crate) fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<Verdict, Rejection> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(Verdict::NotCrossOrigin);
        };
        let text = origin.to_str().map_err(|_| Rejection::OriginRefused)?;
        if is_same_origin(text, uri, headers) {
            return Ok(Verdict::NotCrossOrigin);
        }
        let allowed = match self {
            Self::SameOrigin => false,
            Self::Any => true,
            Self::List(list) => list.iter().any(|allowed| same_origin_text(allowed, text)),
        };
        if allowed {
            Ok(Verdict::CrossOrigin(origin.clone()))
        } else {
            Err(Rejection::OriginRefused)
        }
    }
}

/// Whether `origin` is the request's own: same scheme, host and port. The
/// request's scheme is the URI's when it has one (HTTP/2), else the one a
/// proxy in front states (`X-Forwarded-Proto`, or `proto=` of
/// `Forwarded`), else `http`.
fn is_same_origin(origin: &str, uri: &Uri, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let own_scheme = uri.scheme_str().unwrap_or_else(|| request_scheme(headers));
    if authority.is_empty() || !scheme.eq_ignore_ascii_case(own_scheme) {
        return false;
    }
    let default_port = if own_scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    let strip = |a: &str| {
        a.strip_suffix(default_port)
            .unwrap_or(a)
            .to_ascii_lowercase()
    };
    strip(authority) == strip(host)
}

/// The scheme the client used to reach us, as far as the headers say (a
/// proxy in front states it).
fn request_scheme(headers: &HeaderMap) -> &str {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    let forwarded = || {
        headers
            .get(header::FORWARDED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|first| {
                first.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.eq_ignore_ascii_case("proto")
                        .then(|| value.trim_matches('"'))
                })
            })
    };
    forwarded_proto
        .or_else(forwarded)
        .filter(|scheme| !scheme.is_empty())
        .unwrap_or("http")
}

/// Whether `origin` is written as browsers send `Origin`:
/// `scheme://host[:port]`, with no path, query or trailing slash.
pub(crate) fn is_serialized_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, Some(port))
        }
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && !host.contains(['/', '?', '#', '@', ' ', '\\'])
        && !authority.ends_with(':');
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    scheme_ok && host_ok && port_ok
}

fn same_origin_text(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Adds the CORS headers for an allowed foreign origin to a response.
pub(crate) fn add_cors_headers(
    response: &mut Response<Body>,
    origin: HeaderValue,
    credentials: bool,
) {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// The answer to a CORS preflight (`OPTIONS`) from an allowed origin.
pub(crate) fn preflight(request_headers: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let requested = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            value.len() <= 1024 && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        });
    if let Some(value) = requested.and_then(|value| HeaderValue::from_str(value).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn same_origin_by_default() {
        let policy = OriginPolicy::SameOrigin;
        assert_eq!(
            policy.check(&Uri::default(), &headers(None, "a.test")),
            Ok(Verdict::NotCrossOrigin)
        );
        assert_eq!(
            policy.check(
                &Uri::default(),
                &headers(Some("http://a.test:8080"), "a.test:8080")
            ),
            Ok(Verdict::NotCrossOrigin)
        );
        assert_eq!(
            policy.check(&Uri::default(), &{
                let mut h = headers(Some("https://A.test"), "a.test:443");
                h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
                h
            }),
            Ok(Verdict::NotCrossOrigin)
        );
        assert_eq!(
            policy.check(
                &Uri::default(),
                &headers(Some("http://evil.test"), "a.test")
            ),
            Err(Rejection::OriginRefused)
        );
        // Another scheme is another origin (issue 12.8).
        assert_eq!(
            policy.check(&Uri::default(), &headers(Some("https://a.test"), "a.test")),
            Err(Rejection::OriginRefused)
        );
        let mut behind_tls = headers(Some("https://a.test"), "a.test");
        behind_tls.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(
            policy.check(&Uri::default(), &behind_tls),
            Ok(Verdict::NotCrossOrigin)
        );
        let mut forwarded = headers(Some("http://a.test"), "a.test");
        forwarded.insert(
            header::FORWARDED,
            HeaderValue::from_static("for=1.2.3.4;proto=https"),
        );
        assert_eq!(
            policy.check(&Uri::default(), &forwarded),
            Err(Rejection::OriginRefused)
        );
        // HTTP/2 requests carry their scheme in the URI.
        let h2: Uri = "https://a.test/engine.io/".parse().unwrap();
        assert_eq!(
            policy.check(&h2, &headers(Some("https://a.test"), "a.test")),
            Ok(Verdict::NotCrossOrigin)
        );
        assert_eq!(
            policy.check(&Uri::default(), &headers(Some("null"), "a.test")),
            Err(Rejection::OriginRefused)
        );
    }

    #[test]
    fn listed_and_any() {
        let listed = OriginPolicy::List(vec!["https://app.test".into()]);
        assert!(matches!(
            listed.check(
                &Uri::default(),
                &headers(Some("https://app.test"), "api.test")
            ),
            Ok(Verdict::CrossOrigin(_))
        ));
        assert!(listed
            .check(
                &Uri::default(),
                &headers(Some("http://app.test"), "api.test")
            )
            .is_err());
        assert!(matches!(
            OriginPolicy::Any.check(&Uri::default(), &headers(Some("http://x.test"), "api.test")),
            Ok(Verdict::CrossOrigin(_))
        ));
    }
}
