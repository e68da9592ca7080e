//! Framing of the `htmlfile` transport: an HTML document kept open, each
//! packet a `<script>` chunk that hands it to the parent page.
//!
//! ```text
//! <!DOCTYPE html><html><head><meta charset="utf-8"><script>var p=parent._polysock_cb.cN;</script></head><body>  + padding
//! <script>p("4hello");</script>\n                               one chunk per packet
//! <script>p(null);</script></body></html>                       end of response
//! ```
//!
//! Packet text sits inside a double-quoted JavaScript string literal. The
//! escaping keeps it from ending the string (`"`, `\`, line terminators
//! including U+2028/U+2029, which end string literals in engines before
//! ES2019), from ending the script element (`</script` in any case: `<`
//! and `>` are escaped) and from opening or closing an HTML comment in a
//! script (`<!--`, `-->`, which change how the HTML parser finds the end of
//! the element). `&` is escaped too, so the text stays inert if a page ever
//! treats the chunk as markup (XHTML parsers, or copy into an attribute).

use super::payload::element_parts;
use super::{encode_payload_element, Packet};

/// Minimum length of the preamble, so browsers start running the document
/// before it ends.
pub const PREAMBLE_MIN_LEN: usize = 1024;

/// The object on the parent page that holds the htmlfile callbacks. Its
/// name is fixed by the server: the client chooses only which entry of it
/// (a number), never what the document calls.
pub const CALLBACK_REGISTRY: &str = "_polysock_cb";

/// The chunk that tells the page this response is over.
pub const END: &str = "<script>p(null);</script></body></html>";

/// Most digits a callback index may have.
pub const CALLBACK_ID_MAX_DIGITS: usize = 9;

/// The callback index used when the query names none.
pub const DEFAULT_CALLBACK_ID: u32 = 0;

/// The `Content-Security-Policy` of every htmlfile response: the inline
/// chunks may run, nothing may be evaluated from a string, nothing may be
/// loaded, and only a page of the same origin may frame the document.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'unsafe-inline'; frame-ancestors 'self'";

/// Parses the `c=` query value: 1 to 9 ASCII digits.
pub fn parse_callback_id(value: &str) -> Option<u32> {
    if value.is_empty()
        || value.len() > CALLBACK_ID_MAX_DIGITS
        || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    value.parse().ok()
}

/// The document's opening, padded past [`PREAMBLE_MIN_LEN`]: it binds `p`
/// to `parent._polysock_cb.c<id>`.
pub fn preamble(callback_id: u32) -> String {
    let mut out = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><script>var p=parent.{CALLBACK_REGISTRY}.c{callback_id};</script></head><body>"
    );
    let padding = PREAMBLE_MIN_LEN.saturating_sub(out.len());
    out.extend(std::iter::repeat_n(' ', padding));
    out.push('\n');
    out
}

/// One packet as a script chunk: `<script>p("...");</script>\n`. A
/// shared message's chunk was escaped once, for every response.
pub fn chunk(packet: &Packet, out: &mut String) {
    if let Packet::Shared(message) = packet {
        out.push_str(message.htmlfile_chunk());
        return;
    }
    match element_parts(packet) {
        Some((kind, rest)) => {
            out.push_str("<script>p(\"");
            // The type character is a digit: nothing to escape.
            out.push(kind);
            escape_js_string(rest, out);
            out.push_str("\");</script>\n");
        }
        None => {
            let mut element = String::new();
            encode_payload_element(packet, &mut element);
            chunk_element(&element, out);
        }
    }
}

/// The script chunk of one payload element (a packet's text form, or `b`
/// + base64).
pub(crate) fn chunk_element(element: &str, out: &mut String) {
    out.push_str("<script>p(\"");
    escape_js_string(element, out);
    out.push_str("\");</script>\n");
}

/// Escapes `text` for the inside of a double-quoted JavaScript string
/// literal embedded in an HTML script element. Runs that need no escape
/// are copied whole.
pub fn escape_js_string(text: &str, out: &mut String) {
    out.reserve(text.len());
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let (escape, len) = match bytes[at] {
            b'"' => (Some("\\\""), 1),
            b'\\' => (Some("\\\\"), 1),
            b'\n' => (Some("\\n"), 1),
            b'\r' => (Some("\\r"), 1),
            b'\t' => (Some("\\t"), 1),
            b'<' | b'>' | b'&' | 0..=0x1f | 0x7f => (None, 1),
            // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
            0xe2 if matches!(bytes.get(at + 1..at + 3), Some([0x80, 0xa8 | 0xa9])) => (None, 3),
            _ => {
                at += 1;
                continue;
            }
        };
        out.push_str(&text[copied..at]);
        match escape {
            Some(escape) => out.push_str(escape),
            None => {
                let c = text[at..].chars().next().unwrap_or('\0');
                push_unicode_escape(c, out);
            }
        }
        at += len;
        copied = at;
    }
    out.push_str(&text[copied..]);
}

fn push_unicode_escape(c: char, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let code = c as u32;
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((code >> shift) & 0xf) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_ids_are_digits_only() {
        assert_eq!(parse_callback_id("0"), Some(0));
        assert_eq!(parse_callback_id("123456789"), Some(123_456_789));
        for bad in [
            "",
            "eval",
            "setTimeout",
            "location.assign",
            "_polysock_cb.c1",
            "1234567890",
            "-1",
            "+1",
            " 1",
            "1e3",
            "\u{661}",
        ] {
            assert_eq!(parse_callback_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn preamble_binds_the_fixed_registry() {
        let text = preamble(7);
        assert!(text.len() > PREAMBLE_MIN_LEN);
        assert!(text.contains("var p=parent._polysock_cb.c7;"));
    }

    #[test]
    fn escapes_only_what_needs_it_and_copies_the_rest() {
        let mut out = String::new();
        escape_js_string("a\u{2028}b\u{2029}c € ✓\u{2027}</x>\"\\\n\u{1}", &mut out);
        assert_eq!(
            out,
            "a\\u2028b\\u2029c € ✓\u{2027}\\u003c/x\\u003e\\\"\\\\\\n\\u0001"
        );
        let mut plain = String::new();
        escape_js_string("plain text, nothing to do", &mut plain);
        assert_eq!(plain, "plain text, nothing to do");
    }

    #[test]
    fn chunk_escapes_markup() {
        let mut out = String::new();
        chunk(
            &Packet::Message("</script><!--\u{2028}\"\\&".into()),
            &mut out,
        );
        assert_eq!(
            out,
            "<script>p(\"4\\u003c/script\\u003e\\u003c!--\\u2028\\\"\\\\\\u0026\");</script>\n"
        );
    }
}
