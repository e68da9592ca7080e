//! A WebSocket client on a bare `TcpStream`, for what no library client
//! does: complete the handshake and then never read, or send frames that
//! break RFC 6455 (reserved bits, unknown opcodes, unmasked or fragmented
//! control frames). Also the kernel's view of a connection
//! (`/proc/net/tcp`), to see whether the server's end of it is gone.
//! Every read is bounded by a timeout.

#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::raw;
use super::WAIT;

// ----- TCP state, from /proc/net/tcp -------------------------------------------

/// (state, tx_queue bytes) of the IPv4 sockets whose local port is `local`
/// and remote port is `remote`. States: 01 ESTABLISHED, 04 FIN_WAIT1, ...
pub fn tcp_entries(local: u16, remote: u16) -> Vec<(String, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let port = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 5 || port(fields[1])? != local || port(fields[2])? != remote {
                return None;
            }
            let tx = fields[4]
                .split(':')
                .next()
                .and_then(|hex| u64::from_str_radix(hex, 16).ok())?;
            Some((fields[3].to_owned(), tx))
        })
        .collect()
}

// ----- a raw WebSocket client ----------------------------------------------------

pub const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// A WebSocket client on a bare `TcpStream`: it reads only when told to,
/// and writes frames no library would.
pub struct RawWs {
    pub stream: TcpStream,
    /// Bytes read after the 101 head and not yet parsed.
    buffer: Vec<u8>,
}

impl RawWs {
    /// Connects and reads the 101 head, nothing more.
    pub async fn connect(addr: SocketAddr, query: &str) -> Self {
        let mut stream = raw::connect(addr).await;
        let head = format!("GET /engine.io/?{query} HTTP/1.1\r\nHost: {addr}\r\n{UPGRADE}\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut received = Vec::new();
        let mut byte = [0u8; 1];
        // One byte at a time, so nothing after the head is consumed.
        while !received.ends_with(b"\r\n\r\n") {
            let n = timeout(WAIT, stream.read(&mut byte))
                .await
                .expect("101 in time")
                .expect("read 101");
            assert_eq!(n, 1, "connection closed during the handshake");
            received.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&received);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Self {
            stream,
            buffer: Vec::new(),
        }
    }

    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().unwrap().port()
    }

    /// The next frame from the server: (opcode, payload); `None` once the
    /// connection ends.
    pub async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if let Some((opcode, payload, used)) = parse_server_frame(&self.buffer) {
                self.buffer.drain(..used);
                return Some((opcode, payload));
            }
            let mut chunk = [0u8; 16 * 1024];
            match timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("frame in time")
            {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next text frame, answering Engine.IO pings.
    pub async fn text(&mut self) -> Option<String> {
        loop {
            let (opcode, payload) = self.frame().await?;
            match opcode {
                0x1 if payload == b"2" => self.send(client_frame(0x81, b"3", true)).await,
                0x1 => return Some(String::from_utf8_lossy(&payload).into_owned()),
                0x8 => return None,
                _ => {}
            }
        }
    }

    pub async fn send(&mut self, frame: Vec<u8>) {
        // The server may have closed already: a failed write is no failure.
        let _ = self.stream.write_all(&frame).await;
    }

    /// The close frame's code, skipping data frames; `None` if the
    /// connection ended without one.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let (opcode, payload) = self.frame().await?;
            if opcode == 0x8 {
                return Some(
                    payload
                        .get(..2)
                        .map_or(1005, |code| u16::from_be_bytes([code[0], code[1]])),
                );
            }
        }
    }
}

/// Parses one unmasked server frame: (opcode, payload, bytes used).
pub fn parse_server_frame(buffer: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (&first, &second) = (buffer.first()?, buffer.get(1)?);
    let (length, start) = match second & 0x7f {
        126 => (
            u16::from_be_bytes([*buffer.get(2)?, *buffer.get(3)?]) as usize,
            4,
        ),
        127 => {
            let bytes: [u8; 8] = buffer.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let payload = buffer.get(start..start + length)?.to_vec();
    Some((first & 0x0f, payload, start + length))
}

/// A client frame: `first` is the FIN/RSV/opcode byte as sent; masked
/// unless `masked` is false (which RFC 6455 forbids).
pub fn client_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask = [0x21, 0x7e, 0x9a, 0x05];
    let mut frame = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => frame.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        frame.extend_from_slice(payload);
    }
    frame
}
