//! Incremental parsers for streaming response bodies. Feed bytes as they
//! arrive; each complete frame is handed to a callback as text:
//! an Engine.IO packet for polysock, a SockJS frame (`o`, `h`, `a[...]`,
//! `c[...]`) for SockJS.

use std::borrow::Cow;

/// Which body format a streaming response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// polysock xhr-streaming: multipart parts cut at `\r\n--<boundary>`.
    PolyXhr { delim: Vec<u8> },
    /// polysock htmlfile: `<script>p("<json string>");</script>\n` chunks.
    PolyHtml,
    /// SockJS xhr_streaming: 2048 `h` prelude line, then one frame per line.
    SockXhr,
    /// SockJS htmlfile: `<script>\np("<json frame>");\n</script>\r\n` chunks.
    SockHtml,
}

impl Format {
    /// polysock xhr-streaming format from the response Content-Type.
    pub fn poly_xhr(content_type: &str) -> Option<Format> {
        let b = content_type
            .split("boundary=")
            .nth(1)?
            .trim()
            .trim_matches('"');
        Some(Format::PolyXhr {
            delim: format!("\r\n--{b}").into_bytes(),
        })
    }
}

/// What the parser found that is not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// More bytes needed.
    Partial,
    /// The body's own end marker was seen (polysock `--` / `p(null)`).
    Ended,
}

/// Parser state for one streaming response.
#[derive(Debug)]
pub struct StreamParser {
    fmt: Format,
    buf: Vec<u8>,
    pos: usize,
    started: bool,
    ended: bool,
}

impl StreamParser {
    pub fn new(fmt: Format) -> StreamParser {
        StreamParser {
            fmt,
            buf: Vec::with_capacity(8192),
            pos: 0,
            started: false,
            ended: false,
        }
    }

    /// Feeds bytes; calls `f` with each complete frame's text.
    pub fn feed(&mut self, data: &[u8], f: &mut dyn FnMut(&str)) -> Status {
        if self.ended {
            return Status::Ended;
        }
        self.buf.extend_from_slice(data);
        let st = self.parse(f);
        self.ended = st == Status::Ended;
        // Compact the consumed prefix.
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        st
    }

    fn parse(&mut self, f: &mut dyn FnMut(&str)) -> Status {
        match &self.fmt {
            Format::PolyXhr { delim } => {
                let delim = delim.clone();
                self.parse_multipart(&delim, f)
            }
            Format::PolyHtml => self.parse_scripts(b"<script>p(", b");</script>", f),
            Format::SockHtml => self.parse_scripts(b"<script>\np(", b");\n</script>\r\n", f),
            Format::SockXhr => self.parse_lines(f),
        }
    }

    fn parse_multipart(&mut self, delim: &[u8], f: &mut dyn FnMut(&str)) -> Status {
        if !self.started {
            // Skip the padding preamble up to the first delimiter.
            match find(&self.buf[self.pos..], delim) {
                Some(i) => {
                    self.pos += i;
                    self.started = true;
                }
                None => return Status::Partial,
            }
        }
        loop {
            let rest = &self.buf[self.pos..];
            // rest starts with the delimiter.
            if rest.len() < delim.len() + 2 {
                return Status::Partial;
            }
            if &rest[delim.len()..delim.len() + 2] == b"--" {
                self.pos = self.buf.len();
                return Status::Ended;
            }
            let Some(next) = find(&rest[delim.len()..], delim) else {
                return Status::Partial;
            };
            let part = &rest[delim.len()..delim.len() + next];
            let body = match find(part, b"\r\n\r\n") {
                Some(i) => &part[i + 4..],
                None => part,
            };
            f(&String::from_utf8_lossy(body));
            self.pos += delim.len() + next;
        }
    }

    fn parse_scripts(&mut self, open: &[u8], close: &[u8], f: &mut dyn FnMut(&str)) -> Status {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(i) = find(rest, open) else {
                return Status::Partial;
            };
            let Some(j) = find(&rest[i + open.len()..], close) else {
                return Status::Partial;
            };
            let lit = &rest[i + open.len()..i + open.len() + j];
            self.pos += i + open.len() + j + close.len();
            if lit == b"null" {
                self.pos = self.buf.len();
                return Status::Ended;
            }
            if let Some(s) = json_str(lit) {
                f(&s);
            }
        }
    }

    fn parse_lines(&mut self, f: &mut dyn FnMut(&str)) -> Status {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(i) = rest.iter().position(|b| *b == b'\n') else {
                return Status::Partial;
            };
            let line = &rest[..i];
            self.pos += i + 1;
            if !self.started {
                self.started = true; // the 2048 x 'h' prelude
                continue;
            }
            f(&String::from_utf8_lossy(line));
        }
    }
}

/// Decodes a JSON string literal, borrowing when it has no escapes.
pub fn json_str(lit: &[u8]) -> Option<Cow<'_, str>> {
    if lit.len() >= 2 && lit[0] == b'"' && lit[lit.len() - 1] == b'"' && !lit.contains(&b'\\') {
        return std::str::from_utf8(&lit[1..lit.len() - 1])
            .ok()
            .map(Cow::Borrowed);
    }
    serde_json::from_slice::<String>(lit).ok().map(Cow::Owned)
}

/// Number of messages in a SockJS `a[...]` frame.
pub fn sockjs_array_len(frame: &str) -> usize {
    serde_json::from_str::<Vec<serde::de::IgnoredAny>>(&frame[1..])
        .map(|v| v.len())
        .unwrap_or(0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|b| *b == first)
        {
            None => return None,
            Some(k) => {
                i += k;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut StreamParser, data: &[u8]) -> (Vec<String>, Status) {
        let mut v = Vec::new();
        let mut st = Status::Partial;
        // Feed byte by byte to exercise partial input.
        for b in data {
            st = p.feed(std::slice::from_ref(b), &mut |s| v.push(s.to_string()));
        }
        (v, st)
    }

    #[test]
    fn poly_xhr() {
        let fmt = Format::poly_xhr("multipart/mixed; boundary=\"AbC\"").unwrap();
        let mut p = StreamParser::new(fmt);
        let mut body = vec![b' '; 2048];
        body.extend_from_slice(b"\r\n--AbC");
        for pk in ["0{\"sid\":\"s\"}", "4hello", "2"] {
            body.extend_from_slice(b"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n");
            body.extend_from_slice(pk.as_bytes());
            body.extend_from_slice(b"\r\n--AbC");
        }
        body.extend_from_slice(b"--\r\n");
        let (v, st) = all(&mut p, &body);
        assert_eq!(v, ["0{\"sid\":\"s\"}", "4hello", "2"]);
        assert_eq!(st, Status::Ended);
    }

    #[test]
    fn poly_html() {
        let mut p = StreamParser::new(Format::PolyHtml);
        let body = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><script>var p=parent._polysock;</script></head><body>   \n<script>p(\"0{\\\"sid\\\":\\\"s\\\"}\");</script>\n<script>p(\"4a\\u003cb\");</script>\n<script>p(null);</script></body></html>";
        let (v, st) = all(&mut p, body.as_bytes());
        assert_eq!(v, ["0{\"sid\":\"s\"}", "4a<b"]);
        assert_eq!(st, Status::Ended);
    }

    #[test]
    fn sockjs() {
        let mut p = StreamParser::new(Format::SockXhr);
        let mut body = "h".repeat(2048);
        body.push_str("\no\na[\"x\",\"y\"]\nh\n");
        let (v, _) = all(&mut p, body.as_bytes());
        assert_eq!(v, ["o", "a[\"x\",\"y\"]", "h"]);
        assert_eq!(sockjs_array_len(&v[1]), 2);
        let mut p = StreamParser::new(Format::SockHtml);
        let body = "<!doctype html>\n<script>\n  function p(d) {c.message(d);};\n</script>   \r\n\r\n<script>\np(\"o\");\n</script>\r\n<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n";
        let (v, _) = all(&mut p, body.as_bytes());
        assert_eq!(v, ["o", "a[\"x\"]"]);
    }
}
