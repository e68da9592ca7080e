//! Client sockets spread over several 127.0.0.x source addresses, so one
//! generator can hold far more sessions than the ~28k ephemeral ports of a
//! single source address allow.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpSocket, TcpStream};

/// Round-robin pool of loopback source addresses 127.0.0.2 ..= 127.0.0.(1+n).
#[derive(Debug)]
pub struct SourcePool {
    n: usize,
    next: AtomicUsize,
}

impl SourcePool {
    pub fn new(n: usize) -> SourcePool {
        SourcePool {
            n: n.clamp(1, 250),
            next: AtomicUsize::new(0),
        }
    }

    fn pick(&self) -> Ipv4Addr {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.n;
        Ipv4Addr::new(127, 0, 0, 2 + i as u8)
    }

    /// Connects to `dst` from the next source address (bind before connect).
    pub async fn connect(&self, dst: SocketAddr) -> std::io::Result<TcpStream> {
        let sock = TcpSocket::new_v4()?;
        if dst.ip().is_loopback() {
            // Without IP_BIND_ADDRESS_NO_PORT the kernel would pick the port at
            // bind time without knowing the destination; with it, the 4-tuple
            // decides, so each source address serves every destination port.
            set_bind_no_port(&sock);
            sock.bind(SocketAddr::new(IpAddr::V4(self.pick()), 0))?;
        }
        let stream = sock.connect(dst).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

fn set_bind_no_port(sock: &TcpSocket) {
    use std::os::fd::AsRawFd;
    const IP_BIND_ADDRESS_NO_PORT: libc::c_int = 24;
    let one: libc::c_int = 1;
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            IP_BIND_ADDRESS_NO_PORT,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
