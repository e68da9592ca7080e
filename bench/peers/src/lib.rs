//! Shared bits of the peer echo servers: the command line every bench server
//! accepts (same flags as polysock's echo example) and the startup line.

use std::time::Duration;

/// Flags shared by the peer servers (unknown flags are ignored so the runner
/// can pass one set to every server).
#[derive(Debug, Clone)]
pub struct Args {
    /// Address to bind, port 0 for any free port.
    pub listen: String,
    /// Mount path of the Engine.IO endpoint.
    pub path: String,
    /// Engine.IO ping interval.
    pub ping_interval: Duration,
    /// Engine.IO ping timeout.
    pub ping_timeout: Duration,
}

impl Args {
    /// Parses `std::env::args()`.
    pub fn parse() -> Args {
        let mut a = Args {
            listen: "127.0.0.1:0".into(),
            path: "/engine.io".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
        };
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < argv.len() {
            let val = argv.get(i + 1).cloned().unwrap_or_default();
            match argv[i].as_str() {
                "--listen" => a.listen = val,
                "--path" => a.path = val,
                "--ping-interval" => a.ping_interval = ms(&val),
                "--ping-timeout" => a.ping_timeout = ms(&val),
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        a
    }
}

fn ms(v: &str) -> Duration {
    Duration::from_millis(v.parse().unwrap_or_else(|_| {
        eprintln!("bad millisecond value {v:?}");
        std::process::exit(2)
    }))
}

/// Prints the line the bench runner waits for, then flushes stdout.
pub fn announce(addr: std::net::SocketAddr) {
    use std::io::Write;
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
}
