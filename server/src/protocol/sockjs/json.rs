//! The JSON strings of SockJS frames, both ways.
//!
//! Out: [`quote`] writes a JSON string literal that survives every place a
//! SockJS frame travels: inside an XHR body, an EventSource line, and a
//! JavaScript string inside a `<script>` block. Besides what JSON requires
//! (`"`, `\` and C0 controls) it escapes, as `\uXXXX` with lowercase hex:
//!
//! - C1 controls and the characters browsers or proxies drop or rewrite
//!   (U+007F-U+009F, U+00AD, U+0600-U+0604, U+070F, U+17B4-U+17B5,
//!   U+2000-U+20FF, which holds U+2028/U+2029, U+FEFF, U+FFF0-U+FFFF): the
//!   set the SockJS protocol suite checks a server escapes, widened to
//!   whole blocks;
//! - `<`, `>` and `&`, so no message can close a `<script>` element or
//!   open a comment in the htmlfile and JSONP transports.
//!
//! In: [`parse_messages`] reads what clients send, a JSON array of strings
//! (or, on a WebSocket, a single string). A lone surrogate escape
//! (`"\ud800"`), which JavaScript strings may hold but Rust strings may
//! not, becomes U+FFFD, as a browser's own UTF-8 encoder would make it.

use std::fmt;

/// Why a client's body holds no messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// The body (or its `d` form field) is empty or missing.
    PayloadExpected,
    /// The body is not a JSON array of strings.
    BrokenJson,
}

impl BodyError {
    /// The text sockjs-node answers with (status 500).
    pub fn message(self) -> &'static str {
        match self {
            Self::PayloadExpected => "Payload expected.",
            Self::BrokenJson => "Broken JSON encoding.",
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for BodyError {}

/// Whether `c` is written as a `\uXXXX` escape.
fn needs_unicode_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '<'
            | '>'
            | '&'
            | '\u{7f}'..='\u{9f}'
            | '\u{ad}'
            | '\u{600}'..='\u{604}'
            | '\u{70f}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{2000}'..='\u{20ff}'
            | '\u{feff}'
            | '\u{fff0}'..='\u{ffff}'
    )
}

/// Appends `text` as a JSON string literal, escaped as the module says.
pub fn quote(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
    out.push('"');
    let mut start = 0;
    for (index, c) in text.char_indices() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            _ => None,
        };
        if short.is_none() && !needs_unicode_escape(c) {
            continue;
        }
        out.push_str(&text[start..index]);
        start = index + c.len_utf8();
        match short {
            Some(escape) => out.push_str(escape),
            None => push_unicode_escape(c as u32, out),
        }
    }
    out.push_str(&text[start..]);
    out.push('"');
}

fn push_unicode_escape(code: u32, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[((code >> shift) & 0xf) as usize]));
    }
}

/// Reads a JSON array of strings: the body of `xhr_send` and `jsonp_send`.
/// An empty array is allowed (clients send it as a heartbeat).
pub fn parse_messages(body: &str) -> Result<Vec<String>, BodyError> {
    let mut reader = Reader::new(body);
    reader.skip_space();
    if reader.at_end() {
        return Err(BodyError::PayloadExpected);
    }
    let messages = reader.array()?;
    reader.finish()?;
    Ok(messages)
}

/// Reads one WebSocket frame from a client: an array of strings or a
/// single string. An empty frame carries no message.
pub fn parse_websocket_frame(frame: &str) -> Result<Vec<String>, BodyError> {
    let mut reader = Reader::new(frame);
    reader.skip_space();
    let messages = match reader.peek() {
        None => return Ok(Vec::new()),
        Some(b'[') => reader.array()?,
        Some(_) => vec![reader.string()?],
    };
    reader.finish()?;
    Ok(messages)
}

/// A cursor over JSON text; every method fails rather than panics.
struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn at_end(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), BodyError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(BodyError::BrokenJson)
        }
    }

    fn finish(&mut self) -> Result<(), BodyError> {
        self.skip_space();
        if self.at_end() {
            Ok(())
        } else {
            Err(BodyError::BrokenJson)
        }
    }

    fn array(&mut self) -> Result<Vec<String>, BodyError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(items);
        }
        loop {
            self.skip_space();
            items.push(self.string()?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return Err(BodyError::BrokenJson),
            }
        }
    }

    fn string(&mut self) -> Result<String, BodyError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let run_start = self.at;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // The run stops only at ASCII bytes, so both ends are char
            // boundaries; `get` keeps that from being a panic if not.
            out.push_str(
                self.text
                    .get(run_start..self.at)
                    .ok_or(BodyError::BrokenJson)?,
            );
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    self.escape(&mut out)?;
                }
                // A raw control character or the end of the text.
                _ => return Err(BodyError::BrokenJson),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), BodyError> {
        let byte = self.peek().ok_or(BodyError::BrokenJson)?;
        self.at += 1;
        let c = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(BodyError::BrokenJson),
        };
        out.push(c);
        Ok(())
    }

    /// After `\u`: four hex digits, and for a high surrogate the `\uXXXX`
    /// of its low half if it follows. Unpaired halves become U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, BodyError> {
        let first = self.hex4()?;
        if (0xd800..0xdc00).contains(&first) {
            let rest = &self.bytes[self.at..];
            if rest.len() >= 6 && rest[0] == b'\\' && rest[1] == b'u' {
                let saved = self.at;
                self.at += 2;
                let second = self.hex4()?;
                if (0xdc00..0xe000).contains(&second) {
                    let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                    return Ok(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                // Not a low half: leave it to be read as its own escape.
                self.at = saved;
            }
            return Ok('\u{fffd}');
        }
        Ok(char::from_u32(first).unwrap_or('\u{fffd}'))
    }

    fn hex4(&mut self) -> Result<u32, BodyError> {
        let digits = self
            .bytes
            .get(self.at..self.at + 4)
            .ok_or(BodyError::BrokenJson)?;
        let mut value = 0;
        for &digit in digits {
            let nibble = char::from(digit)
                .to_digit(16)
                .ok_or(BodyError::BrokenJson)?;
            value = value * 16 + nibble;
        }
        self.at += 4;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str) -> String {
        let mut out = String::new();
        quote(text, &mut out);
        out
    }

    #[test]
    fn quotes_like_json_stringify_for_plain_text() {
        assert_eq!(quoted("abc"), r#""abc""#);
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted("  \u{0}\n\r "), r#""  \u0000\n\r ""#);
        assert_eq!(quoted("é ü 日本 😀"), "\"é ü 日本 😀\"");
    }

    #[test]
    fn escapes_what_breaks_scripts_and_transports() {
        assert_eq!(
            quoted("</script><!--&"),
            r#""\u003c/script\u003e\u003c!--\u0026""#
        );
        assert_eq!(quoted("\u{2028}\u{2029}"), r#""\u2028\u2029""#);
        assert_eq!(
            quoted("\u{7f}\u{ad}\u{feff}\u{fffe}"),
            r#""\u007f\u00ad\ufeff\ufffe""#
        );
    }

    /// The string the SockJS protocol suite (`test_xhr_server_encodes`)
    /// sends and expects back escaped exactly: every character at or above
    /// U+00FF in its server-escapable set.
    #[test]
    fn escapes_the_protocol_suites_server_set() {
        let in_set = |c: u32| matches!(c, 0x200c..=0x200f | 0x2028..=0x202f | 0x2060..=0x206f | 0xfff0..=0xffff);
        let chars: Vec<u32> = (0xff..0x10000)
            .filter(|&c| in_set(c))
            .filter(|c| !(0xd800..0xe000).contains(c))
            .collect();
        let text: String = chars.iter().filter_map(|&c| char::from_u32(c)).collect();
        let expected: String = chars.iter().map(|c| format!("\\u{c:04x}")).collect();
        assert_eq!(quoted(&text), format!("\"{expected}\""));
    }

    #[test]
    fn quoted_text_reads_back() {
        for text in [
            "",
            "x",
            "</script>",
            "\u{2028}",
            "a\u{0}b",
            "\u{ffff}😀\\\"",
        ] {
            assert_eq!(
                parse_messages(&format!("[{}]", quoted(text))),
                Ok(vec![text.to_owned()])
            );
        }
    }

    #[test]
    fn parses_arrays_of_strings() {
        assert_eq!(parse_messages("[]"), Ok(vec![]));
        assert_eq!(
            parse_messages(" [ \"a\" , \"b\" ] "),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(parse_messages(r#"["\u0041\/\t"]"#), Ok(vec!["A/\t".into()]));
        assert_eq!(parse_messages(r#"["\ud83d\ude00"]"#), Ok(vec!["😀".into()]));
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(parse_messages(r#"["\ud800"]"#), Ok(vec!["\u{fffd}".into()]));
        assert_eq!(
            parse_messages(r#"["\udc00x"]"#),
            Ok(vec!["\u{fffd}x".into()])
        );
        assert_eq!(
            parse_messages(r#"["\ud800\u0041"]"#),
            Ok(vec!["\u{fffd}A".into()])
        );
        assert_eq!(
            parse_messages(r#"["\ud800\ud800\udc00"]"#),
            Ok(vec!["\u{fffd}\u{10000}".into()])
        );
    }

    #[test]
    fn refuses_what_is_not_an_array_of_strings() {
        assert_eq!(parse_messages(""), Err(BodyError::PayloadExpected));
        assert_eq!(parse_messages("  "), Err(BodyError::PayloadExpected));
        for bad in [
            r#"["x"#,
            "[",
            "]",
            r#"["a",]"#,
            "[1]",
            r#"{"a":1}"#,
            r#""a""#,
            r#"["a"]x"#,
            "[\"\n\"]",
            r#"["\x"]"#,
            r#"["\u12"]"#,
            r#"["\u12g4"]"#,
            r#"["a" "b"]"#,
        ] {
            assert_eq!(parse_messages(bad), Err(BodyError::BrokenJson), "{bad:?}");
        }
    }

    #[test]
    fn websocket_frames_may_hold_one_string() {
        assert_eq!(parse_websocket_frame(""), Ok(vec![]));
        assert_eq!(parse_websocket_frame("[]"), Ok(vec![]));
        assert_eq!(parse_websocket_frame(r#""a""#), Ok(vec!["a".into()]));
        assert_eq!(
            parse_websocket_frame(r#"["a","b"]"#),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(parse_websocket_frame(r#"["a"#), Err(BodyError::BrokenJson));
        assert_eq!(parse_websocket_frame("a"), Err(BodyError::BrokenJson));
    }

    #[test]
    fn never_panics_on_truncated_input() {
        let text = r#"["a\"b\u00e9\ud83d\ude00c", "\ud800", ""]"#;
        for end in 0..=text.len() {
            if let Some(prefix) = text.get(..end) {
                let _ = parse_messages(prefix);
                let _ = parse_websocket_frame(prefix);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_survives_quoting(text in "\\PC*|[\\x00-\\x1f\\u{2028}<>&\"\\\\]*") {
            let mut frame = String::from("[");
            quote(&text, &mut frame);
            frame.push(']');
            let inert = !frame.contains('<') && !frame.contains('\u{2028}');
            proptest::prop_assert!(inert, "unescaped text in {}", frame);
            proptest::prop_assert_eq!(parse_messages(&frame), Ok(vec![text]));
        }

        #[test]
        fn parsing_never_panics(text in "\\PC*|[\\[\\]\",\\\\u0-9a-fA-F ]*") {
            let _ = parse_messages(&text);
            let _ = parse_websocket_frame(&text);
        }
    }
}
