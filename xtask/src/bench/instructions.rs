//! `cargo xtask bench --instructions`: the instructions each server runs per request, counted
//! by callgrind, for the mock, the baseline and the floor.
//!
//! Requests per second on two shared cores move by tens of percent from one minute to the
//! next (another tenant's load, the host's scheduling), more than the changes one wants to
//! see. An instruction count does not: callgrind counts every user-space instruction of every
//! thread of the server, the same from run to run within about 1%. It leaves out the
//! kernel's share of a request (the same system calls for every server here) and the cost of
//! a cache miss, so it is a second figure beside the throughput ratio, not a replacement.
//!
//! Each server runs under `valgrind --tool=callgrind` (about 50 times slower); wrk warms it
//! up, `callgrind_control -z` zeroes its counters, wrk drives it for the measured run, and
//! `callgrind_control -d` dumps them. Instructions per request are the dump's total over
//! wrk's request count.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use super::load::Load;
use super::{Case, Launch, WARMUP, capture_bodies, requests, start_within};

/// How long a server under callgrind may take to answer its first `200`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a dump may take to appear.
const DUMP_TIMEOUT: Duration = Duration::from_secs(30);
/// wrk's connections under callgrind: enough to keep the slowed server busy.
const CONNECTIONS: usize = 8;

/// Installs valgrind (callgrind and `callgrind_control`) with apt-get when missing.
pub(crate) fn ensure_valgrind() -> anyhow::Result<()> {
    super::load::ensure_installed(&["valgrind", "callgrind_control"], "valgrind")
}

/// `launch` under callgrind, its counts going to `out` (`out.1` after the first dump).
fn under_callgrind(launch: &Launch, out: &Path) -> Launch {
    let mut args = vec![
        "--tool=callgrind".to_owned(),
        format!("--callgrind-out-file={}", out.display()),
        launch.program.display().to_string(),
    ];
    args.extend(launch.args.iter().cloned());
    Launch {
        program: PathBuf::from("valgrind"),
        args,
        rust_log: launch.rust_log.clone(),
        cpus: None,
    }
}

/// The total of a callgrind dump: its `summary:` line (`totals:` in older versions).
pub(crate) fn total_instructions(dump: &str) -> anyhow::Result<u64> {
    let line = dump
        .lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .or_else(|| dump.lines().find_map(|l| l.strip_prefix("totals:")))
        .context("no summary: line in the callgrind dump")?;
    let first = line
        .split_whitespace()
        .next()
        .context("an empty summary: line in the callgrind dump")?;
    Ok(first.parse()?)
}

/// Instructions per request of `launch` in `case`.
pub(crate) fn count(
    label: &'static str,
    launch: &Launch,
    case: &Case,
    duration: Duration,
    scratch: &Path,
    capture: bool,
) -> anyhow::Result<f64> {
    let out = scratch.join(format!("callgrind.{}", label.replace(' ', "-")));
    let dump = PathBuf::from(format!("{}.1", out.display()));
    for stale in [&out, &dump] {
        let _ = std::fs::remove_file(stale);
    }
    let counted = under_callgrind(launch, &out);
    let target = &requests(case)[0].1;
    let (server, addr, _) = start_within(label, &counted, target, scratch, START_TIMEOUT)?;
    println!("{}: {label} under callgrind on {addr}", case.name);
    if capture {
        capture_bodies(addr, &requests(case), &scratch.join("bodies"))?;
    }
    let load = Load {
        connections: CONNECTIONS,
        duration,
        cpus: None,
    };
    load.run(case, addr, WARMUP, scratch)?;
    control(server.pid(), "-z")?;
    let result = load.run(case, addr, duration, scratch)?;
    control(server.pid(), "-d")?;
    let started = Instant::now();
    let total = loop {
        // Written once the dump is complete: its summary line comes last but one.
        if let Ok(text) = std::fs::read_to_string(&dump)
            && let Ok(total) = total_instructions(&text)
        {
            break total;
        }
        ensure!(
            started.elapsed() < DUMP_TIMEOUT,
            "no callgrind dump at {} after {DUMP_TIMEOUT:?}",
            dump.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    ensure!(result.requests > 0, "wrk sent no request to the {label}");
    ensure!(
        result.failures == 0,
        "the {label} failed {} requests under callgrind",
        result.failures
    );
    Ok(total as f64 / result.requests as f64)
}

/// `callgrind_control FLAG PID`.
fn control(pid: u32, flag: &str) -> anyhow::Result<()> {
    let output = Command::new("callgrind_control")
        .args([flag, &pid.to_string()])
        .stdin(Stdio::null())
        .output()
        .context("cannot run callgrind_control")?;
    ensure!(
        output.status.success(),
        "callgrind_control {flag} {pid} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// One case's counts: instructions per request of each server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) case: Case,
    pub(crate) mock: f64,
    /// The mock at `warn`, which writes no access line.
    pub(crate) quiet: f64,
    pub(crate) baseline: f64,
    pub(crate) floor: f64,
}

impl Counts {
    /// The share of the mock's instructions that its access log takes: what a request costs
    /// at the default level beyond what it costs at `warn`, over the former.
    pub(crate) fn log_share(&self) -> f64 {
        (self.mock - self.quiet) / self.mock
    }
}

/// The table of counts; the ratio is baseline / mock, the throughput the mock would reach
/// if a request's cost were its user-space instructions alone.
pub(crate) fn render(rows: &[Counts]) -> String {
    let mut out = String::from(
        "\nInstructions per request (callgrind, user space, every thread of the server):\n\n\
         | case | mock | mock at warn | baseline | floor | baseline / mock | floor / mock | access log |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2}x | {:.2}x | {:.1}% |\n",
            row.case.name,
            row.mock,
            row.quiet,
            row.baseline,
            row.floor,
            row.baseline / row.mock,
            row.floor / row.mock,
            100.0 * row.log_share(),
        ));
    }
    out.push_str(
        "\nbaseline / mock is the throughput ratio the mock would reach if a request cost only its \
         user-space instructions. The kernel's share is left out: were it the same for both \
         servers (the same system calls), the measured ratio would sit between this one and 1. \
         access log is the share of the mock's instructions that go to its access log (the mock \
         at its default level against the mock at warn, the log writer's thread included; the \
         writes to the log file are kernel time, left out).\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callgrind_dump_is_read_and_a_table_rendered() {
        let dump = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\n\
                    events: Ir\nsummary: 493309709\ntotals: 493313840\n";
        assert_eq!(total_instructions(dump).unwrap(), 493_309_709);
        let old = "events: Ir\ntotals: 1234\n";
        assert_eq!(total_instructions(old).unwrap(), 1_234);
        assert!(total_instructions("events: Ir\n").is_err());
        assert!(total_instructions("summary: lots\n").is_err());

        let table = render(&[Counts {
            case: super::super::CASES[0],
            mock: 16_000.0,
            quiet: 15_200.0,
            baseline: 8_000.0,
            floor: 12_000.0,
        }]);
        assert!(
            table
                .contains("| GET /servers | 16000 | 15200 | 8000 | 12000 | 0.50x | 0.75x | 5.0% |"),
            "{table}"
        );
    }
}
