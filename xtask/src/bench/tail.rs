//! The tail at equal offered load: two servers side by side on the server core, each sent the
//! same constant request rate by its own oha (open loop, `-q` with `--latency-correction`, so
//! a stalled answer counts from when its request was due, not from when it went out).
//!
//! wrk keeps its connections saturated: the p99 it reports is then the queue those
//! connections build in front of a busy core, which restates the throughput ratio, and from
//! one run to the next it moves with whatever else the machine does (the same build read 0.86
//! and 1.58 against the baseline). At a rate both servers answer with room to spare, a p99 is
//! the server's own latency. Side by side, a stall of the shared core reaches both servers in
//! the same seconds, as in the throughput runs; the baseline against a copy of itself shows
//! the spread the method leaves.
//!
//! oha comes from crates.io (`cargo install oha`, pinned, into the target directory), the
//! one load generator here that paces requests: wrk has no rate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, ensure};

use super::TOKEN;
use super::load::{self, LoadResult, Running};

/// The oha the bench installs: its JSON report is what [`parse`] reads.
const OHA_VERSION: &str = "1.16.0";
/// What oha reports for the requests under way when its `-z` ends: not a failure.
const ABORTED_AT_DEADLINE: &str = "aborted due to deadline";

/// Where the bench keeps oha: `<target>/bench-tools/bin/oha`, installed there with
/// `cargo install` when missing or of another version (a few minutes, once).
pub(crate) fn ensure_oha(target: &Path) -> anyhow::Result<PathBuf> {
    let root = target.join("bench-tools");
    let program = root.join("bin/oha");
    let installed = |program: &Path| {
        Command::new(program)
            .arg("--version")
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(OHA_VERSION))
    };
    if installed(&program) {
        return Ok(program);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut install = Command::new(cargo);
    install
        .args([
            "install",
            "oha",
            "--version",
            OHA_VERSION,
            "--locked",
            "--force",
        ])
        .arg("--root")
        .arg(&root)
        .stdin(Stdio::null());
    println!("oha {OHA_VERSION} (the tail's load generator) is missing: running {install:?}, once");
    let status = install.status().context("cannot run cargo install")?;
    ensure!(
        status.success() && installed(&program),
        "cannot install oha {OHA_VERSION} ({status}): run `cargo install oha --version {OHA_VERSION} --locked --root {}`",
        root.display()
    );
    Ok(program)
}

/// How oha drives one server in a tail run.
#[derive(Debug, Clone)]
pub(crate) struct TailLoad {
    pub(crate) program: PathBuf,
    /// Requests a second sent to each server.
    pub(crate) rate: u64,
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
    /// `taskset -c` list for oha, if pinned.
    pub(crate) cpus: Option<String>,
}

/// Two servers' tails, measured at the same time under the same offered rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TailRun {
    pub(crate) a: LoadResult,
    pub(crate) b: LoadResult,
}

impl TailRun {
    /// `a`'s p99 over `b`'s.
    pub(crate) fn p99_ratio(&self) -> f64 {
        self.a.p99_ms / self.b.p99_ms.max(0.001)
    }
}

impl TailLoad {
    /// Sends `path` to `a` and to `b` at once, each at [`TailLoad::rate`], for the duration.
    pub(crate) fn pair(&self, a: SocketAddr, b: SocketAddr, path: &str) -> anyhow::Result<TailRun> {
        let runs = vec![self.start(a, path)?, self.start(b, path)?];
        let mut results = load::run_together(runs)?.into_iter();
        let (Some(a), Some(b)) = (results.next(), results.next()) else {
            anyhow::bail!("oha gave fewer reports than it ran");
        };
        Ok(TailRun { a, b })
    }

    fn start(&self, addr: SocketAddr, path: &str) -> anyhow::Result<Running> {
        let mut command = match &self.cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        command
            .args([
                "--no-tui",
                "--output-format",
                "json",
                "--latency-correction",
            ])
            // One thread: it shares its core with the other server's oha.
            .args(["--worker-threads", "1", "-t", "2s"])
            .arg(format!("-z{}s", self.duration.as_secs().max(1)))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-q{}", self.rate))
            .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
            .arg(format!("http://{addr}{path}"));
        Running::spawn(command, "oha", self.duration, parse)
    }
}

/// Reads oha's JSON report: requests a second, p50 and p99 (with `--latency-correction`,
/// from when each request was due), and every answer that was not 2xx or 3xx or did not come.
pub(crate) fn parse(report: &str) -> anyhow::Result<LoadResult> {
    let json: serde_json::Value =
        serde_json::from_str(report).context("oha's report is not JSON")?;
    let number = |pointer: &str| {
        json.pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("no {pointer} in oha's report"))
    };
    let counts = |pointer: &str| -> anyhow::Result<Vec<(String, u64)>> {
        let map = json
            .pointer(pointer)
            .and_then(serde_json::Value::as_object)
            .with_context(|| format!("no {pointer} in oha's report"))?;
        map.iter()
            .map(|(key, n)| {
                let n = n
                    .as_u64()
                    .with_context(|| format!("{pointer}/{key} in oha's report is not a count"))?;
                Ok((key.clone(), n))
            })
            .collect()
    };
    let statuses = counts("/statusCodeDistribution")?;
    let requests: u64 = statuses.iter().map(|(_, n)| n).sum();
    ensure!(requests > 0, "oha got no answer:\n{report}");
    let failed_statuses: u64 = statuses
        .iter()
        .filter(|(status, _)| !(status.starts_with('2') || status.starts_with('3')))
        .map(|(_, n)| n)
        .sum();
    let errors: u64 = counts("/errorDistribution")?
        .iter()
        .filter(|(error, _)| error != ABORTED_AT_DEADLINE)
        .map(|(_, n)| n)
        .sum();
    // oha's own requestsPerSec counts errors (a timeout, a refused connection) as requests;
    // the answers a second are what says whether a server kept up.
    let seconds = number("/summary/total")?;
    ensure!(seconds > 0.0, "oha's report gives a run of {seconds} s");
    Ok(LoadResult {
        requests,
        requests_per_sec: requests as f64 / seconds,
        p50_ms: number("/latencyPercentiles/p50")? * 1000.0,
        p99_ms: number("/latencyPercentiles/p99")? * 1000.0,
        failures: failed_statuses + errors,
        client_busy: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of an oha 1.16 report the bench reads, as oha writes them.
    const REPORT: &str = r#"{
      "summary": {"successRate": 0.99, "total": 3.0029, "requestsPerSec": 14980.06,
                  "totalData": 13135328, "sizePerRequest": 292},
      "latencyPercentiles": {"p10": 0.000193, "p50": 0.000295073, "p90": 0.000586,
                             "p99": 0.002334938, "p99.9": 0.0049},
      "statusCodeDistribution": {"200": 44900, "429": 3, "503": 1},
      "errorDistribution": {"aborted due to deadline": 7, "connection closed": 2}
    }"#;

    #[test]
    fn an_oha_report_is_read_in_milliseconds_and_deadline_aborts_are_not_failures() {
        let result = parse(REPORT).unwrap();
        assert_eq!(result.requests, 44_904);
        // Answers over the run's 3.0029 s, not oha's requestsPerSec, which counts errors too.
        assert!((result.requests_per_sec - 44_904.0 / 3.0029).abs() < 1e-9);
        assert!((result.p50_ms - 0.295073).abs() < 1e-9);
        assert!((result.p99_ms - 2.334938).abs() < 1e-9);
        // The 429, the 503 and the two closed connections; not the seven cut at the deadline.
        assert_eq!(result.failures, 6);
    }

    #[test]
    fn a_report_without_answers_or_percentiles_is_an_error() {
        let none = r#"{"summary": {"total": 3.0, "requestsPerSec": 21.3}, "latencyPercentiles": {},
                      "statusCodeDistribution": {}, "errorDistribution": {"connection refused": 64}}"#;
        assert!(parse(none).unwrap_err().to_string().contains("no answer"));
        let cut = REPORT.replace("\"p99\": 0.002334938,", "");
        let error = parse(&cut).unwrap_err().to_string();
        assert!(error.contains("/latencyPercentiles/p99"), "{error}");
        assert!(parse("Summary: ...").is_err());
        let no_errors = REPORT.replace("\"errorDistribution\"", "\"errors\"");
        let error = parse(&no_errors).unwrap_err().to_string();
        assert!(error.contains("/errorDistribution"), "{error}");
    }

    #[test]
    fn the_p99_ratio_is_a_over_b() {
        let tail = |p99_ms| LoadResult {
            p99_ms,
            ..LoadResult::default()
        };
        let run = TailRun {
            a: tail(3.0),
            b: tail(2.0),
        };
        assert_eq!(run.p99_ratio(), 1.5);
    }
}
