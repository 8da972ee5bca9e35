//! The load: wrk (Debian's `wrk` package), one thread and a fixed number of keep-alive
//! connections, bounded by its own `-d` and by a kill past a deadline.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use super::{Case, TOKEN, proc};

/// Extra time wrk gets past its own duration before it is killed.
const GRACE: Duration = Duration::from_secs(10);

/// Installs wrk from Debian's packages when it is missing (as root), or says how to.
pub(crate) fn ensure_wrk() -> anyhow::Result<()> {
    ensure_installed(&["wrk"], "wrk")
}

/// Installs Debian's `package` when one of `programs` does not run (as root), or says how to.
pub(crate) fn ensure_installed(programs: &[&str], package: &str) -> anyhow::Result<()> {
    let runs = |program: &&str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if programs.iter().all(runs) {
        return Ok(());
    }
    println!("{package} is missing: running apt-get install -y {package}");
    let status = Command::new("apt-get")
        .args(["install", "-y", package])
        .stdin(Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        bail!(
            "cannot install {package}: run `apt-get update && apt-get install -y {package}` as root"
        );
    }
    Ok(())
}

/// What one load generator's run measured.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LoadResult {
    pub(crate) requests: u64,
    pub(crate) requests_per_sec: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Answers that were not 2xx or 3xx, and socket errors.
    pub(crate) failures: u64,
    /// The load generator's CPU time over its run's wall time: the share of one core its one
    /// thread used. Near 1, it is the bottleneck and the server could have answered more.
    pub(crate) client_busy: f64,
}

/// How wrk drives one server.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
    /// `taskset -c` list for wrk, if pinned.
    pub(crate) cpus: Option<String>,
}

/// The Lua script of the write-mixed case: one request in five is
/// `POST /servers/123/console`, the others read `?lines=90..109` in turn.
const MIXED_SCRIPT: &str = r#"
wrk.headers["Authorization"] = "Bearer {token}"
local n = 0
request = function()
  n = n + 1
  if n % 5 == 0 then
    return wrk.format("POST", "/api/v1/servers/123/console",
      {["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"},
      '{"command":"list"}')
  end
  return wrk.format("GET", "/api/v1/servers/123/console?lines=" .. (90 + n % 20))
end
"#;

impl Load {
    /// Runs wrk against `addr` for `duration` and parses its report.
    pub(crate) fn run(
        &self,
        case: &Case,
        addr: SocketAddr,
        duration: Duration,
        scratch: &Path,
    ) -> anyhow::Result<LoadResult> {
        let mut results = run_together(vec![self.start(case, addr, duration, scratch)?])?;
        Ok(results.remove(0))
    }

    /// Starts wrk against `addr` for `duration`, to be waited on by [`run_together`].
    pub(crate) fn start(
        &self,
        case: &Case,
        addr: SocketAddr,
        duration: Duration,
        scratch: &Path,
    ) -> anyhow::Result<Running> {
        let mut command = match &self.cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus, "wrk"]);
                c
            }
            None => Command::new("wrk"),
        };
        command.args([
            "-t1",
            &format!("-c{}", self.connections),
            &format!("-d{}s", duration.as_secs().max(1)),
            "--latency",
            "--timeout",
            "2s",
        ]);
        let url = match case.reads {
            Some(path) => {
                command.args(["-H", &format!("Authorization: Bearer {TOKEN}")]);
                format!("http://{addr}{path}")
            }
            None => {
                let script = scratch.join("mixed.lua");
                std::fs::write(&script, MIXED_SCRIPT.replace("{token}", TOKEN))?;
                command.arg("-s").arg(&script);
                format!("http://{addr}")
            }
        };
        command.arg(url);
        Running::spawn(command, "wrk", duration, parse)
    }
}

/// One run of a load generator (wrk, or oha for the tail) under way.
#[derive(Debug)]
pub(crate) struct Running {
    child: std::process::Child,
    /// The load generator's name, for errors.
    tool: &'static str,
    /// Reads its report.
    parse: fn(&str) -> anyhow::Result<LoadResult>,
    started: Instant,
    deadline: Instant,
    /// Its CPU ticks, as last read while it ran.
    client_ticks: u64,
    /// How long it ran, once it has exited.
    wall: Option<f64>,
}

impl Running {
    /// Starts `command` (a load generator bounded by its own `duration`, its report on
    /// stdout), to be waited on by [`run_together`] and read by `parse`.
    pub(crate) fn spawn(
        mut command: Command,
        tool: &'static str,
        duration: Duration,
        parse: fn(&str) -> anyhow::Result<LoadResult>,
    ) -> anyhow::Result<Running> {
        command.stdin(Stdio::null()).stdout(Stdio::piped());
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot run {tool}"))?;
        Ok(Running {
            child,
            tool,
            parse,
            started,
            deadline: started + duration + GRACE,
            client_ticks: 0,
            wall: None,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.wall.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for every run in `runs` (load generators running at the same time) and reads their
/// reports, in order. A run past its deadline is killed, and the others with it.
pub(crate) fn run_together(mut runs: Vec<Running>) -> anyhow::Result<Vec<LoadResult>> {
    while runs.iter().any(|run| run.wall.is_none()) {
        for run in runs.iter_mut().filter(|run| run.wall.is_none()) {
            // Its CPU ticks, read while it runs (`taskset` execs it, so the pid is its own);
            // the last read is at most one poll before it exits.
            if let Ok(ticks) = proc::ProcessTicks::read(run.child.id()) {
                run.client_ticks = ticks.total();
            }
            if run.child.try_wait()?.is_some() {
                run.wall = Some(run.started.elapsed().as_secs_f64());
            } else if Instant::now() > run.deadline {
                bail!("{} ran past its deadline", run.tool);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut results = Vec::with_capacity(runs.len());
    for run in runs.iter_mut() {
        let mut stdout = String::new();
        if let Some(mut out) = run.child.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut stdout)?;
        }
        let status = run.child.wait()?;
        ensure!(status.success(), "{} failed ({status})", run.tool);
        let mut result = (run.parse)(&stdout)?;
        let wall = run.wall.unwrap_or(0.0);
        result.client_busy = run.client_ticks as f64 / proc::TICKS_PER_SEC / wall.max(0.001);
        results.push(result);
    }
    Ok(results)
}

/// Reads wrk's report: `Requests/sec:`, the `--latency` percentiles, errors.
pub(crate) fn parse(report: &str) -> anyhow::Result<LoadResult> {
    let mut result = LoadResult::default();
    for line in report.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(rate)) => result.requests_per_sec = rate.parse()?,
            (Some("50%"), Some(latency)) => result.p50_ms = millis(latency)?,
            (Some("99%"), Some(latency)) => result.p99_ms = millis(latency)?,
            (Some(n), Some("requests")) => result.requests = n.parse()?,
            _ => {}
        }
        if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.failures += n.trim().parse::<u64>()?;
        }
        if let Some(errors) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for part in errors.split(',') {
                if let Some(n) = part.split_whitespace().nth(1) {
                    result.failures += n.parse::<u64>()?;
                }
            }
        }
    }
    ensure!(
        result.requests_per_sec > 0.0,
        "no Requests/sec in wrk's report:\n{report}"
    );
    Ok(result)
}

/// `812.00us`, `7.45ms`, `1.02s` in milliseconds.
fn millis(latency: &str) -> anyhow::Result<f64> {
    let (number, scale) = if let Some(n) = latency.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = latency.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = latency.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("unknown latency {latency}")
    };
    Ok(number.parse::<f64>()? * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_is_read() {
        let report = "Running 10s test @ http://127.0.0.1:4711/api/v1/servers
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  812.00us  20.11ms   90.00%
  Latency Distribution
     50%    1.31ms
     75%    1.80ms
     90%    2.40ms
     99%  812.00us
  352750 requests in 10.03s, 2.75GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:  35177.24
Transfer/sec:    280.42MB
";
        let result = parse(report).unwrap();
        assert_eq!(result.requests, 352_750);
        assert!((result.requests_per_sec - 35_177.24).abs() < 1e-6);
        assert!((result.p50_ms - 1.31).abs() < 1e-9);
        assert!((result.p99_ms - 0.812).abs() < 1e-9);
        assert_eq!(result.failures, 8);
    }
}
