//! The fixed texts of the SockJS endpoint: the greeting, `/info`, the
//! iframe page and its ETag, the htmlfile document head, plus the JSONP
//! callback rule, the `jsonp_send` form body and HTTP dates.

use super::json::{parse_messages, BodyError};

/// The body of `GET <prefix>/`.
pub const GREETING: &str = "Welcome to SockJS!\n";

/// Longest JSONP / htmlfile callback name accepted. sockjs-client's names
/// are about 20 bytes; sockjs-node sets no bound.
pub const MAX_CALLBACK_LEN: usize = 256;

/// Whether `name` may be a callback: ASCII letters, digits, `_`, `-` and
/// `.`, as sockjs-node allows, and at most [`MAX_CALLBACK_LEN`] bytes.
/// With the `/**/` prefix and the frame quoted inside, nothing a client
/// picks can become script of its own.
pub fn is_valid_callback(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CALLBACK_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The `/info` body.
pub fn info_body(websocket: bool, cookie_needed: bool, entropy: u32) -> String {
    format!(
        r#"{{"websocket":{websocket},"origins":["*:*"],"cookie_needed":{cookie_needed},"entropy":{entropy}}}"#
    )
}

/// The iframe page that loads sockjs-client from `sockjs_url` inside the
/// server's origin (for the `iframe-*` transports). Its text is the one the
/// SockJS protocol suite requires; `sockjs_url` is escaped for the
/// attribute it sits in.
pub fn iframe_page(sockjs_url: &str) -> String {
    let mut url = String::with_capacity(sockjs_url.len());
    for c in sockjs_url.chars() {
        match c {
            '"' => url.push_str("&quot;"),
            '&' => url.push_str("&amp;"),
            '<' => url.push_str("&lt;"),
            '>' => url.push_str("&gt;"),
            _ => url.push(c),
        }
    }
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n  \
<script src=\"{url}\"></script>\n  \
<script>\n    document.domain = document.domain;\n    SockJS.bootstrap_iframe();\n  </script>\n\
</head>\n<body>\n  <h2>Don't panic!</h2>\n  \
<p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n\
</body>\n</html>"
    )
}

/// A strong ETag for `body`: 64-bit FNV-1a of its bytes, quoted. The same
/// page always gets the same tag, on every server of a cluster.
pub fn iframe_etag(body: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in body.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{hash:016x}\"")
}

/// The opening of an htmlfile response, padded with spaces past 1 KiB (old
/// IE renders nothing of a document before that). `callback` must have
/// passed [`is_valid_callback`].
pub(super) fn htmlfile_head(callback: &str) -> String {
    let mut head = format!(
        "<!doctype html>\n<html><head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\
</head><body><h2>Don't panic!</h2>\n  <script>\n    \
document.domain = document.domain;\n    var c = parent.{callback};\n    c.start();\n    \
function p(d) {{c.message(d);}};\n    window.onload = function() {{c.stop();}};\n  </script>"
    );
    let pad = 1024usize.saturating_sub(head.len()) + 14;
    head.extend(std::iter::repeat_n(' ', pad));
    head.push_str("\r\n\r\n");
    head
}

/// The messages of a `jsonp_send` body: the `d` field of a form body
/// (`application/x-www-form-urlencoded`), or the body itself otherwise.
pub fn jsonp_send_messages(body: &[u8], form: bool) -> Result<Vec<String>, BodyError> {
    let text = if form {
        let field = body
            .split(|&b| b == b'&')
            .find_map(|pair| pair.strip_prefix(b"d="))
            .ok_or(BodyError::PayloadExpected)?;
        percent_decode(field)?
    } else {
        String::from_utf8(body.to_vec()).map_err(|_| BodyError::BrokenJson)?
    };
    parse_messages(&text)
}

/// The value of query parameter `name`, percent-decoded; a value that does
/// not decode comes back as sent (so it fails any later character check).
pub fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value.as_bytes()).unwrap_or_else(|_| value.to_owned()))
    })
}

/// Decodes one form field: `+` is a space, `%XX` a byte; the bytes must be
/// UTF-8.
fn percent_decode(field: &[u8]) -> Result<String, BodyError> {
    let mut bytes = Vec::with_capacity(field.len());
    let mut rest = field;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = rest.get(..2).ok_or(BodyError::BrokenJson)?;
                let high = char::from(hex[0]).to_digit(16);
                let low = char::from(hex[1]).to_digit(16);
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(BodyError::BrokenJson);
                };
                bytes.push((high * 16 + low) as u8);
                rest = &rest[2..];
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| BodyError::BrokenJson)
}

/// `secs` since the Unix epoch as an HTTP date (RFC 9110, IMF-fixdate).
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (the proleptic Gregorian
    // calendar, in 400-year eras).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1).clamp(0, 11) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_as_sockjs_node_allows() {
        for good in ["callback", "x", "_jp.a1b2", "a-b_c.D9"] {
            assert!(is_valid_callback(good), "{good}");
        }
        for bad in [
            "",
            " ",
            "*",
            "abc(",
            "a;b",
            "a b",
            "</script>",
            "a\u{2028}",
            "é",
        ] {
            assert!(!is_valid_callback(bad), "{bad:?}");
        }
        assert!(is_valid_callback(&"a".repeat(MAX_CALLBACK_LEN)));
        assert!(!is_valid_callback(&"a".repeat(MAX_CALLBACK_LEN + 1)));
    }

    #[test]
    fn info() {
        assert_eq!(
            info_body(true, false, 42),
            r#"{"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":42}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&info_body(false, true, 7)).unwrap();
        assert_eq!(parsed["websocket"], false);
        assert_eq!(parsed["cookie_needed"], true);
    }

    #[test]
    fn iframe_page_and_etag() {
        let page = iframe_page("/sockjs.min.js");
        assert!(page.starts_with("<!DOCTYPE html>\n<html>\n<head>\n"));
        assert!(page.contains("  <script src=\"/sockjs.min.js\"></script>\n"));
        assert!(page.contains("SockJS.bootstrap_iframe();"));
        assert!(page.ends_with("</body>\n</html>"));
        assert!(iframe_page("/x\"><script>").contains("/x&quot;&gt;&lt;script&gt;"));
        assert_eq!(iframe_etag(&page), iframe_etag(&page));
        assert_ne!(iframe_etag(&page), iframe_etag(&iframe_page("/other.js")));
        assert_eq!(iframe_etag("").len(), 18);
    }

    #[test]
    fn htmlfile_head_is_padded() {
        let head = htmlfile_head("callback");
        assert!(head.len() > 1024);
        assert!(head.trim_end().ends_with("</script>"));
        assert!(head.ends_with("\r\n\r\n"));
    }

    #[test]
    fn jsonp_send_bodies() {
        assert_eq!(
            jsonp_send_messages(b"d=%5B%22x%22%5D", true),
            Ok(vec!["x".into()])
        );
        assert_eq!(
            jsonp_send_messages(b"a=1&d=%5B%22a+b%22%5D", true),
            Ok(vec!["a b".into()])
        );
        assert_eq!(
            jsonp_send_messages(br#"["%61bc"]"#, false),
            Ok(vec!["%61bc".into()])
        );
        assert_eq!(jsonp_send_messages(b"d=%5B%5D", true), Ok(vec![]));
        for empty in [&b""[..], b"d=", b"p=p"] {
            assert_eq!(
                jsonp_send_messages(empty, true),
                Err(BodyError::PayloadExpected)
            );
        }
        assert_eq!(
            jsonp_send_messages(b"", false),
            Err(BodyError::PayloadExpected)
        );
        for broken in [&b"d=%5B%22x"[..], b"d=%zz", b"d=%5", b"d=%ff"] {
            assert_eq!(
                jsonp_send_messages(broken, true),
                Err(BodyError::BrokenJson)
            );
        }
    }

    #[test]
    fn query_values() {
        assert_eq!(
            query_value(Some("c=%63allback"), "c"),
            Some("callback".into())
        );
        assert_eq!(query_value(Some("t=1&c=x"), "c"), Some("x".into()));
        assert_eq!(query_value(Some("c=%zz"), "c"), Some("%zz".into()));
        assert_eq!(query_value(Some("cc=1"), "c"), None);
        assert_eq!(query_value(None, "c"), None);
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_798_761_599), "Thu, 31 Dec 2026 23:59:59 GMT");
    }
}
