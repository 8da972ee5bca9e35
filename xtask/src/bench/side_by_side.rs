//! Side by side: two servers on the server core at once, each under its own wrk on the other
//! core for the same seconds, and each one's CPU time a request.
//!
//! Runs made one after the other compare two servers on a machine whose speed moves by tens
//! of percent from one minute to the next (another tenant's load, the host's scheduling), so
//! a pair's ratio carries that drift. Side by side, whatever slows the core slows both
//! servers at once and their ratio keeps only what differs between them: a server
//! compared with a copy of itself gives 1.00 ± 0.01 round after round. The figure is each
//! server's requests per CPU-second (from the scheduler's nanosecond count), which is the
//! throughput it reaches on a core of its own when that core is what bounds it; the shared
//! core is busy throughout (its busy share is reported), so neither server waits on wrk.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::load::{self, Load, LoadResult};
use super::{Case, proc};

/// One server's part of a side-by-side run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Share {
    pub(crate) load: LoadResult,
    /// Its CPU time over the run, threads included, in nanoseconds.
    pub(crate) cpu_ns: u64,
}

impl Share {
    /// `requests` answered for `cpu_ns` of CPU time, as a test sets one up.
    #[cfg(test)]
    pub(crate) fn measured(requests: u64, cpu_ns: u64) -> Self {
        Self {
            load: LoadResult {
                requests,
                ..LoadResult::default()
            },
            cpu_ns,
        }
    }

    pub(crate) fn cpu_ns_per_request(&self) -> f64 {
        self.cpu_ns as f64 / self.load.requests.max(1) as f64
    }
}

/// Two servers, `a` and `b`, measured at the same time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairRun {
    pub(crate) a: Share,
    pub(crate) b: Share,
    /// Both servers' CPU time over the run's wall time: the share of the server core they
    /// kept busy (near 1, the core bounded them, not wrk).
    pub(crate) server_core_busy: f64,
}

impl PairRun {
    /// `a`'s requests per CPU-second over `b`'s.
    pub(crate) fn ratio(&self) -> f64 {
        self.b.cpu_ns_per_request() / self.a.cpu_ns_per_request().max(f64::MIN_POSITIVE)
    }
}

/// A running server to measure: its pid and address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) pid: u32,
    pub(crate) addr: SocketAddr,
}

/// Drives `a` and `b` with one wrk each, at the same time, for `duration`.
pub(crate) fn run(
    a: Target,
    b: Target,
    case: &Case,
    load: &Load,
    duration: Duration,
    scratch: &Path,
) -> anyhow::Result<PairRun> {
    let before = (proc::cpu_ns(a.pid)?, proc::cpu_ns(b.pid)?);
    let started = Instant::now();
    let runs = vec![
        load.start(case, a.addr, duration, scratch)?,
        load.start(case, b.addr, duration, scratch)?,
    ];
    let mut results = load::run_together(runs)?.into_iter();
    let wall = started.elapsed().as_secs_f64();
    let after = (proc::cpu_ns(a.pid)?, proc::cpu_ns(b.pid)?);
    let (Some(a_load), Some(b_load)) = (results.next(), results.next()) else {
        anyhow::bail!("wrk gave fewer reports than it ran");
    };
    let a = Share {
        load: a_load,
        cpu_ns: after.0.saturating_sub(before.0),
    };
    let b = Share {
        load: b_load,
        cpu_ns: after.1.saturating_sub(before.1),
    };
    Ok(PairRun {
        a,
        b,
        server_core_busy: (a.cpu_ns + b.cpu_ns) as f64 / 1e9 / wall.max(0.001),
    })
}

/// Warms every server in `targets` up at once, for `duration`.
pub(crate) fn warm_up(
    targets: &[Target],
    case: &Case,
    load: &Load,
    duration: Duration,
    scratch: &Path,
) -> anyhow::Result<()> {
    let runs = targets
        .iter()
        .map(|target| load.start(case, target.addr, duration, scratch))
        .collect::<anyhow::Result<Vec<_>>>()?;
    load::run_together(runs)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_requests_per_cpu_second_whatever_the_requests() {
        // `a` answered fewer requests (the scheduler gave it less of the core) but spent
        // 8 µs on each against `b`'s 10: it is the faster server.
        let run = PairRun {
            a: Share::measured(40_000, 320_000_000),
            b: Share::measured(60_000, 600_000_000),
            server_core_busy: 0.92,
        };
        assert!((run.ratio() - 1.25).abs() < 1e-12, "{}", run.ratio());
    }
}
