//! A minimal WebSocket client for the fan-out and storm workloads, where one
//! generator core has to take in hundreds of thousands of server frames a
//! second from thousands of sockets: the upgrade request is written by hand,
//! and unmasked server frames are parsed straight out of one read buffer
//! (no per-frame allocation). Client frames are masked with a zero key,
//! which RFC 6455 allows (the key must be present, not random for a
//! non-browser client) and which leaves the payload bytes as they are.
//!
//! Text and binary frames are handed to a callback as bytes; pings are
//! answered, close ends the stream. No fragmentation support beyond
//! passing continuation frames on (the bench servers never fragment).

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::load::Target;

/// One open WebSocket.
pub struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Start of unparsed bytes in `buf`.
    pos: usize,
    out: Vec<u8>,
}

/// What [`RawWs::read`] saw.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Frames were handed to the callback (possibly none, if only control frames came).
    Frames,
    /// The server closed the connection or sent a close frame.
    Closed,
}

impl RawWs {
    /// Connects from the target's source pool and upgrades `path_query`.
    pub async fn connect(target: &Target, path_query: &str) -> Result<RawWs> {
        let mut stream = target.pool.connect(target.addr).await.context("connect")?;
        let req = format!(
            "GET {path_query} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            target.addr
        );
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::with_capacity(4096);
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 16 * 1024 {
                bail!("upgrade response head too long");
            }
            let mut chunk = [0u8; 2048];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("closed during upgrade");
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        if !buf.starts_with(b"HTTP/1.1 101") {
            let line = String::from_utf8_lossy(
                &buf[..buf.iter().position(|b| *b == b'\r').unwrap_or(buf.len())],
            )
            .into_owned();
            bail!("upgrade refused: {line}");
        }
        Ok(RawWs {
            stream,
            buf,
            pos: head_end,
            out: Vec::with_capacity(256),
        })
    }

    /// Queues a text frame (masked, zero key); [`RawWs::flush`] sends it.
    pub fn queue_text(&mut self, text: &[u8]) {
        self.queue(0x1, text);
    }

    /// The two halves of the TCP stream (bytes already buffered are lost).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.stream.into_split()
    }

    fn queue(&mut self, opcode: u8, payload: &[u8]) {
        frame(&mut self.out, opcode, payload);
    }

    /// Writes every queued frame.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Sends one text frame now.
    pub async fn send_text(&mut self, text: &[u8]) -> Result<()> {
        self.queue_text(text);
        self.flush().await
    }

    /// Hands every complete data frame already buffered to `f`, reading
    /// from the socket first if none is. Pings are answered (queued; sent
    /// by the next flush, which this does before returning).
    pub async fn read(&mut self, f: &mut (dyn FnMut(&[u8]) + Send)) -> Result<Read> {
        loop {
            let mut any = false;
            while let Some((opcode, start, end)) = self.parse_one()? {
                match opcode {
                    0x0..=0x2 => {
                        f(&self.buf[start..end]);
                        any = true;
                    }
                    0x8 => return Ok(Read::Closed),
                    0x9 => {
                        let payload = self.buf[start..end].to_vec();
                        self.queue(0xA, &payload);
                    }
                    _ => {}
                }
            }
            // Keep the buffer small: move the unparsed tail to the front.
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            self.flush().await?;
            if any {
                return Ok(Read::Frames);
            }
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(4096);
            }
            let n = self.stream.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Ok(Read::Closed);
            }
        }
    }

    /// Like [`RawWs::read`] with a time limit.
    pub async fn read_for(
        &mut self,
        limit: Duration,
        f: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<Read> {
        tokio::time::timeout(limit, self.read(f))
            .await
            .map_err(|_| anyhow!("no frame within {limit:?}"))?
    }

    /// The next complete frame in the buffer: (opcode, payload range).
    fn parse_one(&mut self) -> Result<Option<(u8, usize, usize)>> {
        let b = &self.buf[self.pos..];
        if b.len() < 2 {
            return Ok(None);
        }
        let opcode = b[0] & 0x0f;
        if b[1] & 0x80 != 0 {
            bail!("server frame is masked");
        }
        let (len, hdr) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => (
                u64::from_be_bytes(b[2..10].try_into().unwrap_or([0; 8])) as usize,
                10,
            ),
            126 | 127 => return Ok(None),
            n => (n as usize, 2),
        };
        if len > 16 << 20 {
            bail!("frame of {len} bytes");
        }
        if b.len() < hdr + len {
            return Ok(None);
        }
        let start = self.pos + hdr;
        self.pos = start + len;
        Ok(Some((opcode, start, start + len)))
    }

    /// Sends a close frame (best effort) and drops the connection.
    pub async fn close(mut self) {
        self.queue(0x8, &[0x03, 0xe8]);
        let _ = tokio::time::timeout(Duration::from_millis(100), self.flush()).await;
    }
}

/// Appends a masked (zero key) text frame carrying `payload` to `out`.
pub fn frame_text(out: &mut Vec<u8>, payload: &[u8]) {
    frame(out, 0x1, payload);
}

fn frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
}
