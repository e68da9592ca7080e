//! Process-level helpers: file descriptor limit, CPU pinning, and sampling a
//! server's CPU time and resident memory from /proc.

use std::time::Instant;

/// Raises RLIMIT_NOFILE to `want` (or the highest the kernel allows).
/// Children spawned afterwards (the servers) inherit the new limit.
pub fn raise_nofile(want: u64) -> u64 {
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        // As root we may raise the hard limit too; up to fs.nr_open.
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(lim.rlim_max);
        let target = want.min(nr_open);
        let try_lim = libc::rlimit {
            rlim_cur: target,
            rlim_max: target.max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &try_lim) != 0 {
            let soft = libc::rlimit {
                rlim_cur: target.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &soft);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur
    }
}

/// Pins the calling thread (and threads it spawns later) to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> bool {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Number of CPUs online (not the affinity mask: the generator pins itself).
pub fn cpus() -> usize {
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 {
        n as usize
    } else {
        1
    }
}

/// One reading of a process: CPU time (user+system, all threads) and RSS.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    pub at: Instant,
    pub cpu_secs: f64,
    pub rss_kib: u64,
}

/// Reads /proc/<pid>/stat and /proc/<pid>/status.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let at = Instant::now();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the full line, i.e. 12 and 13 after ")".
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(ProcSample {
        at,
        cpu_secs: ticks / hz,
        rss_kib,
    })
}

/// One reading of several processes together (a cluster's nodes and its
/// Redis): CPU times and RSS added up; None if any of them is gone.
pub fn sample_sum(pids: &[u32]) -> Option<ProcSample> {
    let mut total = ProcSample {
        at: Instant::now(),
        cpu_secs: 0.0,
        rss_kib: 0,
    };
    for &pid in pids {
        let s = sample(pid)?;
        total.cpu_secs += s.cpu_secs;
        total.rss_kib += s.rss_kib;
    }
    Some(total)
}

/// Whether process `pid` exists. Needs no file descriptor, unlike
/// [`sample`], so it still answers when this process is at its fd limit.
pub fn alive(pid: u32) -> bool {
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// CPU use between two samples, in percent of one core.
pub fn cpu_percent(a: &ProcSample, b: &ProcSample) -> f64 {
    let wall = b.at.duration_since(a.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    100.0 * (b.cpu_secs - a.cpu_secs) / wall
}
