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

/// A process's CPU time (its threads included), in clock ticks, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessTicks {
    /// In user space.
    pub(crate) user: u64,
    /// In the kernel on the process's behalf (system calls, the network stack).
    pub(crate) system: u64,
}

impl ProcessTicks {
    pub(crate) fn read(pid: u32) -> anyhow::Result<Self> {
        let path = format!("/proc/{pid}/stat");
        let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        Self::parse(&stat).with_context(|| format!("malformed {path}"))
    }

    /// The utime and stime fields (14 and 15) of a `/proc/<pid>/stat` line.
    fn parse(stat: &str) -> Option<Self> {
        // The fields after the parenthesized command name (which may hold spaces and
        // parentheses) start at field 3 (state).
        let mut after_name = stat.rsplit_once(')')?.1.split_whitespace().skip(14 - 3);
        Some(Self {
            user: after_name.next()?.parse().ok()?,
            system: after_name.next()?.parse().ok()?,
        })
    }

    pub(crate) fn total(self) -> u64 {
        self.user + self.system
    }

    pub(crate) fn since(self, before: Self) -> Self {
        Self {
            user: self.user - before.user,
            system: self.system - before.system,
        }
    }
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

/// A process's time on a CPU in nanoseconds, summed over its threads (the first field of
/// each `/proc/<pid>/task/<tid>/schedstat`): the scheduler's own count, far finer than
/// [`ProcessTicks`]' 10 ms ticks. A thread that has exited no longer counts, so it is for
/// servers whose threads live as long as they do.
pub(crate) fn cpu_ns(pid: u32) -> anyhow::Result<u64> {
    let tasks = format!("/proc/{pid}/task");
    let mut total = 0;
    for task in std::fs::read_dir(&tasks).with_context(|| format!("cannot read {tasks}"))? {
        let path = task?.path().join("schedstat");
        // A thread that exits between the listing and the read is simply not counted.
        let Ok(schedstat) = std::fs::read_to_string(&path) else {
            continue;
        };
        total += on_cpu_ns(&schedstat).with_context(|| format!("malformed {}", path.display()))?;
    }
    Ok(total)
}

/// The nanoseconds on a CPU in a `schedstat` line (`on-cpu waiting timeslices`).
fn on_cpu_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
pub(crate) const TICKS_PER_SEC: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_fields_14_and_15_after_any_command_name() {
        // A command name with a space and a parenthesis of its own, as `comm` may be.
        let stat =
            "4242 (beacon (mock) x) S 1 4242 4242 0 -1 4194560 1 2 3 4 1234 567 8 9 20 0 3 0";
        assert_eq!(
            ProcessTicks::parse(stat),
            Some(ProcessTicks {
                user: 1234,
                system: 567
            })
        );
        assert_eq!(ProcessTicks::parse("4242 (cut) S 1 2"), None);
    }

    #[test]
    fn a_schedstat_line_starts_with_the_time_on_a_cpu() {
        assert_eq!(on_cpu_ns("1582060 20 3\n"), Some(1_582_060));
        assert_eq!(on_cpu_ns(""), None);
    }

    #[test]
    fn this_process_has_spent_time_on_a_cpu() {
        // Spins until the count has grown by 5 ms, for at most 5 s of wall time.
        let spent = cpu_ns(std::process::id()).unwrap();
        let started = std::time::Instant::now();
        let grown = loop {
            let now = cpu_ns(std::process::id()).unwrap();
            if now >= spent + 5_000_000 || started.elapsed() > std::time::Duration::from_secs(5) {
                break now - spent;
            }
        };
        assert!(grown >= 5_000_000, "{grown} ns");
    }
}
