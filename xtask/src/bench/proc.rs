//! Process and machine figures from `/proc`: RSS, CPU ticks.

use anyhow::Context;

/// A field of `/proc/<pid>/status` such as `VmRSS`, in KiB.
pub(crate) fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB")?.trim().parse().ok())
        .with_context(|| format!("no {field} in {path}"))
}

/// User plus system clock ticks of a process (its threads included), from `/proc/<pid>/stat`.
pub(crate) fn process_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The fields after the parenthesized command name start at field 3 (state);
    // utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .with_context(|| format!("malformed {path}"))?
        .1
        .split_whitespace()
        .collect();
    let field = |n: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(n - 3)
            .with_context(|| format!("malformed {path}"))?
            .parse()?)
    };
    Ok(field(14)? + field(15)?)
}

/// Busy and total clock ticks of the whole machine (summed over cores), from `/proc/stat`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MachineTicks {
    pub(crate) total: u64,
    pub(crate) busy: u64,
}

impl MachineTicks {
    pub(crate) fn read() -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
        let all: Vec<u64> = stat
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("cpu "))
            .context("no cpu line in /proc/stat")?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        // user nice system idle iowait irq softirq steal; guest time is already in user.
        let total = all.iter().take(8).sum();
        let idle = all.iter().skip(3).take(2).sum::<u64>();
        Ok(Self {
            total,
            busy: total - idle,
        })
    }

    pub(crate) fn since(self, before: Self) -> Self {
        Self {
            total: self.total - before.total,
            busy: self.busy - before.busy,
        }
    }
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
pub(crate) const TICKS_PER_SEC: f64 = 100.0;
