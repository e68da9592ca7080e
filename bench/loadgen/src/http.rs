//! A small HTTP/1.1 client over one keep-alive connection: whole responses
//! for polling, and incremental body reads for the streaming transports.
//! Handles Content-Length, chunked and close-delimited bodies; nothing else
//! (no redirects, no compression) is needed against the bench servers.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::net::SourcePool;

/// Parsed response head.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Body {
    Length(usize),
    Chunked {
        left: usize,
        done: bool,
    },
    UntilClose,
    /// A request is on the wire (a cancelled request leaves this behind,
    /// and the connection is then dropped).
    Pending,
    Done,
}

/// One HTTP/1.1 connection, reconnected lazily when the server closes it.
pub struct HttpConn {
    dst: SocketAddr,
    pool: Arc<SourcePool>,
    io: Option<BufReader<TcpStream>>,
    body: Body,
    keep_alive: bool,
    req: Vec<u8>,
}

impl HttpConn {
    pub fn new(dst: SocketAddr, pool: Arc<SourcePool>) -> HttpConn {
        HttpConn {
            dst,
            pool,
            io: None,
            body: Body::Done,
            keep_alive: true,
            req: Vec::with_capacity(512),
        }
    }

    /// Sends a request and reads the response head; read the body with
    /// [`HttpConn::chunk`] or [`HttpConn::body`].
    pub async fn start(
        &mut self,
        method: &str,
        path: &str,
        ctype: &str,
        body: &[u8],
    ) -> Result<Head> {
        if self.body != Body::Done || !self.keep_alive {
            self.io = None;
        }
        if self.io.is_none() {
            let s = self.pool.connect(self.dst).await.context("connect")?;
            self.io = Some(BufReader::with_capacity(16 * 1024, s));
            self.keep_alive = true;
        }
        self.body = Body::Pending;
        self.req.clear();
        use std::io::Write;
        write!(
            self.req,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n",
            self.dst
        )
        .unwrap();
        if method == "POST" {
            write!(
                self.req,
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
                body.len()
            )
            .unwrap();
        }
        self.req.extend_from_slice(b"\r\n");
        self.req.extend_from_slice(body);
        let io = self.io.as_mut().unwrap();
        io.get_mut()
            .write_all(&self.req)
            .await
            .context("write request")?;
        let head = match read_head(io).await {
            Ok(h) => h,
            Err(e) => {
                self.io = None;
                return Err(e);
            }
        };
        self.keep_alive = !head
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        self.body = if head
            .header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"))
        {
            Body::Chunked {
                left: 0,
                done: false,
            }
        } else if let Some(n) = head.header("content-length") {
            Body::Length(n.trim().parse().context("content-length")?)
        } else if head.status == 204 || head.status == 304 || method == "HEAD" {
            Body::Length(0)
        } else {
            self.keep_alive = false;
            Body::UntilClose
        };
        if self.body == Body::Length(0) {
            self.body = Body::Done;
        }
        Ok(head)
    }

    /// Next piece of the body, appended to `out`; Ok(false) at end of body.
    pub async fn chunk(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        let io = self.io.as_mut().ok_or_else(|| anyhow!("no connection"))?;
        loop {
            match self.body {
                Body::Done => return Ok(false),
                Body::Pending => bail!("no response pending"),
                Body::Length(left) => {
                    let buf = io.fill_buf().await?;
                    if buf.is_empty() {
                        bail!("eof in body");
                    }
                    let n = buf.len().min(left);
                    out.extend_from_slice(&buf[..n]);
                    io.consume(n);
                    self.body = if left == n {
                        Body::Done
                    } else {
                        Body::Length(left - n)
                    };
                    return Ok(true);
                }
                Body::UntilClose => {
                    let buf = io.fill_buf().await?;
                    if buf.is_empty() {
                        self.body = Body::Done;
                        self.io = None;
                        return Ok(false);
                    }
                    let n = buf.len();
                    out.extend_from_slice(buf);
                    io.consume(n);
                    return Ok(true);
                }
                Body::Chunked { left: 0, done } => {
                    let mut line = String::new();
                    if done {
                        // Trailer section: read until the empty line.
                        loop {
                            line.clear();
                            io.read_line(&mut line).await?;
                            if line.trim().is_empty() {
                                break;
                            }
                        }
                        self.body = Body::Done;
                        return Ok(false);
                    }
                    if io.read_line(&mut line).await? == 0 {
                        bail!("eof in chunk size");
                    }
                    let size = line.trim().split(';').next().unwrap_or("");
                    if size.is_empty() {
                        continue; // CRLF after a chunk's data
                    }
                    let n = usize::from_str_radix(size, 16).context("chunk size")?;
                    self.body = Body::Chunked {
                        left: n,
                        done: n == 0,
                    };
                }
                Body::Chunked { left, .. } => {
                    let buf = io.fill_buf().await?;
                    if buf.is_empty() {
                        bail!("eof in chunk");
                    }
                    let n = buf.len().min(left);
                    out.extend_from_slice(&buf[..n]);
                    io.consume(n);
                    self.body = Body::Chunked {
                        left: left - n,
                        done: false,
                    };
                    return Ok(true);
                }
            }
        }
    }

    /// Reads the whole remaining body into `out`.
    pub async fn body(&mut self, out: &mut Vec<u8>) -> Result<()> {
        while self.chunk(out).await? {}
        Ok(())
    }

    /// Request and whole response body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        ctype: &str,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Head> {
        out.clear();
        let head = self.start(method, path, ctype, body).await?;
        self.body(out).await?;
        Ok(head)
    }
}

async fn read_head(io: &mut BufReader<TcpStream>) -> Result<Head> {
    let mut line = String::new();
    if io.read_line(&mut line).await? == 0 {
        bail!("connection closed before response");
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await? == 0 {
            bail!("eof in headers");
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Head { status, headers })
}
