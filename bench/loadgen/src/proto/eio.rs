//! Engine.IO v4 text packets and polling payloads.

use anyhow::{anyhow, Result};

/// Record separator between packets of a polling payload.
pub const SEP: u8 = 0x1e;

/// The session id from an open packet `0{"sid":...}`.
pub fn open_sid(packet: &[u8]) -> Result<String> {
    if packet.first() != Some(&b'0') {
        return Err(anyhow!(
            "expected open packet, got {:?}",
            String::from_utf8_lossy(&packet[..packet.len().min(80)])
        ));
    }
    #[derive(serde::Deserialize)]
    struct Open {
        sid: String,
    }
    let o: Open = serde_json::from_slice(&packet[1..])?;
    Ok(o.sid)
}

/// Packets of a polling payload.
pub fn packets(payload: &[u8]) -> impl Iterator<Item = &[u8]> {
    payload.split(|b| *b == SEP).filter(|p| !p.is_empty())
}

/// Builds a payload of `n` copies of message packet `4<msg>` plus `pongs` pongs.
pub fn payload(out: &mut Vec<u8>, msg: &[u8], n: usize, pongs: usize) {
    out.clear();
    for _ in 0..pongs {
        if !out.is_empty() {
            out.push(SEP);
        }
        out.push(b'3');
    }
    for _ in 0..n {
        if !out.is_empty() {
            out.push(SEP);
        }
        out.push(b'4');
        out.extend_from_slice(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_roundtrip() {
        let mut v = Vec::new();
        payload(&mut v, b"ab", 2, 1);
        assert_eq!(v, b"3\x1e4ab\x1e4ab");
        assert_eq!(packets(&v).count(), 3);
        assert_eq!(open_sid(br#"0{"sid":"x1","upgrades":[]}"#).unwrap(), "x1");
    }
}
