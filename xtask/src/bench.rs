//! `cargo xtask bench`: throughput, latency, memory and start-up of the mock against a bare
//! hyper baseline (`mock-server/examples/bare_hyper.rs`) serving a JSON body of the same size.
//!
//! For each case it starts one server at a time on a free loopback port, times its first `200`
//! from process start, reads its idle RSS, drives it with the same bounded keep-alive load from
//! an in-process tokio + hyper client (a warm-up, then the measured window), reads its peak RSS
//! and kills it.
//! The mock runs first so that the baseline can serve the exact body the mock answered with.
//! It prints a table, the mock/baseline ratios and PASS/MISS against the targets of the issue,
//! and exits 0 whatever the verdicts: it is a report.
//! It fails only when a server cannot be built, does not start or dies.
//!
//! Hidden flags: `--client-threads N` (the load generator's worker threads, default one per
//! core), `--mock-cmd 'PROGRAM ARGS… {addr}'` (bench another server in place of the mock) and
//! `--no-build` (used when a debug xtask re-runs itself from the optimized build).

use std::fmt::Write as _;
use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};

/// The Panel token of account 1 in the mock's seed data.
const TOKEN: &str = "panel_acct1_7f3c9a2b5d1e4f60";
/// The mock's arguments; `{addr}` becomes the chosen loopback address.
const MOCK_ARGS: [&str; 7] = [
    "serve",
    "--only",
    "panel",
    "--panel-addr",
    "{addr}",
    "--rate-limit",
    "1000000000",
];
const WARMUP: Duration = Duration::from_secs(1);
/// How long a server may take to answer its first `200` before it counts as not started.
const START_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(2);
const POLL_TIMEOUT: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// A hard cap on requests per run, whatever the duration, split across the connections.
const MAX_REQUESTS: u64 = 50_000_000;
const MAX_DURATION_SECS: u64 = 300;
const MAX_CONNECTIONS: usize = 1024;
/// What is kept of a server's stdout and stderr after its run.
const MAX_LOG_BYTES: u64 = 1 << 20;
/// Above this share of the machine used by other processes, a run is flagged as noisy.
const MAX_OTHERS_PERCENT: f64 = 5.0;

// Targets from the issue.
const MIN_THROUGHPUT_RATIO: f64 = 0.8;
const MAX_P99_MS: f64 = 2.0;
const MAX_IDLE_RSS_MIB: f64 = 20.0;
const MAX_FIRST_RESPONSE_MS: f64 = 100.0;

pub(crate) const USAGE: &str = "cargo xtask bench [--duration SECS] [--connections N] [--case list|console|all] [--mock-log LEVEL]";

#[derive(Debug)]
pub(crate) struct Bench {
    duration: Duration,
    connections: usize,
    cases: Vec<Case>,
    /// Hidden: another mock command line (see `Launch::from_command_line`; `{addr}` is
    /// substituted), e.g. the baseline itself to try the harness while the mock cannot serve.
    mock_cmd: Option<String>,
    /// Hidden: the load generator's tokio worker threads (default: one per core, like `wrk -t`);
    /// it shares the cores with the server, so this moves the tail latency of both servers.
    client_threads: usize,
    /// `RUST_LOG` for the mock: `warn` by default, so the per-request access log (an opt-in
    /// cost the baseline does not pay) is measured only when asked for with `--mock-log info`.
    mock_log: String,
    /// Hidden: skip `cargo build` (set by the optimized re-run of a debug xtask).
    no_build: bool,
    /// The arguments as given, to hand to the optimized re-run.
    raw_args: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    path: &'static str,
}

const CASES: [Case; 2] = [
    Case {
        name: "list",
        path: "/api/v1/servers",
    },
    Case {
        name: "console",
        path: "/api/v1/servers/123/console?lines=100",
    },
];

impl Bench {
    pub(crate) fn parse(args: &[&str]) -> anyhow::Result<Bench> {
        let mut bench = Bench {
            duration: Duration::from_secs(10),
            connections: 64,
            cases: CASES.to_vec(),
            mock_cmd: None,
            mock_log: "warn".to_owned(),
            client_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            no_build: false,
            raw_args: args.iter().map(|arg| arg.to_string()).collect(),
        };
        let mut args = args.iter();
        while let Some(&flag) = args.next() {
            let mut value = || {
                args.next()
                    .copied()
                    .with_context(|| format!("{flag} needs a value\nusage: {USAGE}"))
            };
            match flag {
                "--duration" => {
                    let secs: u64 = value()?.parse().context("--duration takes whole seconds")?;
                    ensure!(
                        (1..=MAX_DURATION_SECS).contains(&secs),
                        "--duration must be in 1..={MAX_DURATION_SECS}"
                    );
                    bench.duration = Duration::from_secs(secs);
                }
                "--connections" => {
                    let n: usize = value()?.parse().context("--connections takes a number")?;
                    ensure!(
                        (1..=MAX_CONNECTIONS).contains(&n),
                        "--connections must be in 1..={MAX_CONNECTIONS}"
                    );
                    bench.connections = n;
                }
                "--case" => {
                    let name = value()?;
                    bench.cases = match name {
                        "all" => CASES.to_vec(),
                        _ => CASES
                            .iter()
                            .filter(|case| case.name == name)
                            .copied()
                            .collect(),
                    };
                    ensure!(
                        !bench.cases.is_empty(),
                        "unknown case {name:?}\nusage: {USAGE}"
                    );
                }
                "--client-threads" => {
                    let n: usize = value()?
                        .parse()
                        .context("--client-threads takes a number")?;
                    ensure!((1..=64).contains(&n), "--client-threads must be in 1..=64");
                    bench.client_threads = n;
                }
                "--mock-cmd" => bench.mock_cmd = Some(value()?.to_string()),
                "--mock-log" => bench.mock_log = value()?.to_string(),
                "--no-build" => bench.no_build = true,
                _ => bail!("unknown argument {flag:?}\nusage: {USAGE}"),
            }
        }
        Ok(bench)
    }

    pub(crate) fn run(self) -> anyhow::Result<()> {
        let root = super::project_root();
        let target = target_dir(&root);
        if !self.no_build {
            build(&root)?;
            if cfg!(debug_assertions) {
                // A debug-built load generator would be the bottleneck, not the servers.
                println!("re-running the bench from the optimized xtask build");
                let status = Command::new(target.join("release/xtask"))
                    .current_dir(&root)
                    .arg("bench")
                    .args(&self.raw_args)
                    .arg("--no-build")
                    .status()
                    .context("cannot run the optimized xtask")?;
                ensure!(status.success(), "optimized bench failed ({status})");
                return Ok(());
            }
        }
        let mock = match &self.mock_cmd {
            Some(cmd) => Launch::from_command_line(cmd, &root, &target)?,
            None => Launch {
                program: target.join("release/beacon-mock"),
                args: MOCK_ARGS.map(String::from).to_vec(),
                rust_log: Some(self.mock_log.clone()),
            },
        };
        let scratch = target.join("bench");
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        let load = Load {
            connections: self.connections,
            warmup: WARMUP,
            duration: self.duration,
            max_requests_per_connection: MAX_REQUESTS / self.connections as u64,
        };
        println!(
            "bench: {} connection(s), {} s warm-up + {} s measured per server, one server at a \
             time, loopback only; load generator: tokio + hyper http1 keep-alive in this \
             process, {} thread(s), sharing the machine's {} core(s) with the server; \
             mock RUST_LOG={}",
            load.connections,
            load.warmup.as_secs(),
            load.duration.as_secs(),
            self.client_threads,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            self.mock_log,
        );

        let runtime = match self.client_threads {
            1 => tokio::runtime::Builder::new_current_thread(),
            n => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(n);
                builder
            }
        }
        .enable_all()
        .build()?;
        let mut reports = Vec::new();
        for case in &self.cases {
            let log = |label: &str| scratch.join(format!("{label}-{}.log", case.name));
            let mock_run = runtime.block_on(measure("mock", &mock, &log("mock"), *case, &load))?;
            let body_file = scratch.join(format!("{}.json", case.name));
            std::fs::write(&body_file, &mock_run.first_body)
                .with_context(|| format!("cannot write {}", body_file.display()))?;
            let baseline = Launch {
                program: target.join("release/examples/bare_hyper"),
                args: vec![
                    "--addr".into(),
                    "{addr}".into(),
                    "--body-file".into(),
                    body_file.display().to_string(),
                ],
                rust_log: None,
            };
            let baseline_run = runtime.block_on(measure(
                "baseline",
                &baseline,
                &log("baseline"),
                *case,
                &load,
            ))?;
            reports.push((*case, mock_run, baseline_run));
        }
        print!("{}", render(&reports, &load));
        Ok(())
    }
}

/// Builds the two servers (and, from a debug xtask, the optimized xtask) in release mode.
fn build(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args([
        "build",
        "--release",
        "-p",
        "beacon-mock",
        "--bin",
        "beacon-mock",
        "--example",
        "bare_hyper",
    ]);
    if cfg!(debug_assertions) {
        cmd.args(["-p", "xtask", "--bin", "xtask"]);
    }
    println!("running {cmd:?}");
    let status = cmd.status().context("cannot run cargo")?;
    ensure!(status.success(), "cargo build failed ({status})");
    Ok(())
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// How to start one server; the argument `{addr}` becomes its address.
#[derive(Debug)]
struct Launch {
    program: PathBuf,
    args: Vec<String>,
    /// `RUST_LOG` for the process, if set.
    rust_log: Option<String>,
}

impl Launch {
    /// A whitespace-separated command line; `{target}` becomes the target directory and a
    /// relative program is taken from the workspace root.
    fn from_command_line(line: &str, root: &Path, target: &Path) -> anyhow::Result<Launch> {
        let line = line.replace("{target}", &target.display().to_string());
        let mut words = line.split_whitespace().map(String::from);
        let program = words.next().context("--mock-cmd is empty")?;
        Ok(Launch {
            program: root.join(program),
            args: words.collect(),
            rust_log: None,
        })
    }
}

/// A running server, killed when dropped (also on errors and panics).
#[derive(Debug)]
struct Server {
    child: Child,
    label: &'static str,
    log: PathBuf,
}

impl Server {
    fn spawn(
        label: &'static str,
        launch: &Launch,
        addr: SocketAddr,
        log: &Path,
    ) -> anyhow::Result<Server> {
        let addr = addr.to_string();
        let args: Vec<String> = launch
            .args
            .iter()
            .map(|arg| arg.replace("{addr}", &addr))
            .collect();
        let log_file =
            File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(&launch.program);
        if let Some(level) = &launch.rust_log {
            command.env("RUST_LOG", level);
        }
        let child = command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start the {label}: {} {}",
                    launch.program.display(),
                    args.join(" ")
                )
            })?;
        Ok(Server {
            child,
            label,
            log: log.to_path_buf(),
        })
    }

    /// Fails when the process has exited, pointing at its log.
    fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the {} exited ({status}); see {}",
                self.label,
                self.log.display()
            );
        }
        Ok(())
    }

    /// A field of `/proc/<pid>/status` such as `VmRSS`, in KiB.
    fn proc_status_kib(&self, field: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().strip_suffix("kB")?.trim().parse().ok())
            .with_context(|| format!("no {field} in {path}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one server did in one case.
#[derive(Debug)]
struct Measurement {
    first_response: Duration,
    first_body: Bytes,
    idle_rss_kib: u64,
    peak_rss_kib: u64,
    /// Over the measured window.
    cpu: CpuTicks,
    load: LoadResult,
}

impl Measurement {
    fn requests_per_server_tick(&self) -> f64 {
        self.load.measured as f64 / self.cpu.server.max(1) as f64
    }
}

async fn measure(
    label: &'static str,
    launch: &Launch,
    log: &Path,
    case: Case,
    load: &Load,
) -> anyhow::Result<Measurement> {
    let addr = free_port()?;
    let target = Target::new(addr, case.path)?;
    println!(
        "{}: {} on {addr}: starting, then {} s of load",
        case.name,
        label,
        (load.warmup + load.duration).as_secs()
    );
    let started = Instant::now();
    let mut server = Server::spawn(label, launch, addr, log)?;
    let (first_response, first_body) = first_response(&mut server, &target, started).await?;
    let idle_rss_kib = server.proc_status_kib("VmRSS")?;
    let (result, cpu) = drive(&target, load, server.child.id()).await;
    server.ensure_running()?;
    let peak_rss_kib = server.proc_status_kib("VmHWM")?;
    drop(server);
    trim_log(log)?;
    Ok(Measurement {
        first_response,
        first_body,
        idle_rss_kib,
        peak_rss_kib,
        cpu,
        load: result,
    })
}

/// Clock ticks of CPU time: the whole machine's (summed over cores), and what the server, this
/// load generator and everything else spent of it, to tell a busy machine from a slow server.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTicks {
    cores: u64,
    total: u64,
    busy: u64,
    server: u64,
    generator: u64,
}

impl CpuTicks {
    fn read(server_pid: u32) -> anyhow::Result<CpuTicks> {
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
        let cores = stat
            .lines()
            .filter(|line| line.starts_with("cpu") && line.as_bytes()[3].is_ascii_digit())
            .count() as u64;
        Ok(CpuTicks {
            cores,
            total,
            busy: total - idle,
            server: process_ticks(server_pid)?,
            generator: process_ticks(std::process::id())?,
        })
    }

    fn since(&self, before: &CpuTicks) -> CpuTicks {
        CpuTicks {
            cores: self.cores,
            total: self.total - before.total,
            busy: self.busy - before.busy,
            server: self.server - before.server,
            generator: self.generator - before.generator,
        }
    }

    /// How many cores' worth `ticks` is over the interval.
    fn in_cores(&self, ticks: u64) -> f64 {
        ticks as f64 * self.cores as f64 / self.total.max(1) as f64
    }

    /// The share of the machine that neither the server nor the load generator used, in %.
    fn others_percent(&self) -> f64 {
        let others = self.busy.saturating_sub(self.server + self.generator);
        others as f64 * 100.0 / self.total.max(1) as f64
    }
}

/// User plus system clock ticks of a process, from `/proc/<pid>/stat`.
fn process_ticks(pid: u32) -> anyhow::Result<u64> {
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

/// Keeps the head of a server's output (a per-request access log adds up under load).
fn trim_log(log: &Path) -> anyhow::Result<()> {
    let len = std::fs::metadata(log)?.len();
    if len > MAX_LOG_BYTES {
        std::fs::OpenOptions::new()
            .write(true)
            .open(log)?
            .set_len(MAX_LOG_BYTES)?;
        println!(
            "  its output was {:.1} MiB; kept the first {} MiB in {}",
            len as f64 / (1 << 20) as f64,
            MAX_LOG_BYTES >> 20,
            log.display()
        );
    }
    Ok(())
}

/// A free loopback port: bind port 0, read it and let it go.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Polls the case's request every couple of milliseconds until the first `200`.
async fn first_response(
    server: &mut Server,
    target: &Target,
    started: Instant,
) -> anyhow::Result<(Duration, Bytes)> {
    let mut last = String::from("no answer");
    while started.elapsed() < START_TIMEOUT {
        server.ensure_running()?;
        let attempt = timeout(POLL_TIMEOUT, async {
            let mut sender = connect(target.addr).await?;
            target.send(&mut sender).await
        })
        .await;
        match attempt {
            Ok(Ok((StatusCode::OK, body))) => return Ok((started.elapsed(), body)),
            Ok(Ok((status, _))) => last = format!("status {status}"),
            Ok(Err(err)) => last = format!("{err:#}"),
            Err(_) => last = format!("no answer within {POLL_TIMEOUT:?}"),
        }
        sleep(POLL_INTERVAL).await;
    }
    bail!(
        "the {} gave no 200 for GET {} within {START_TIMEOUT:?} (last: {last}); see {}",
        server.label,
        target.path_and_query,
        server.log.display()
    )
}

/// One authenticated `GET` against one server.
#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    path_and_query: Uri,
    host: HeaderValue,
    authorization: HeaderValue,
}

impl Target {
    fn new(addr: SocketAddr, path: &str) -> anyhow::Result<Target> {
        Ok(Target {
            addr,
            path_and_query: path.parse()?,
            host: HeaderValue::from_str(&addr.to_string())?,
            authorization: HeaderValue::from_str(&format!("Bearer {TOKEN}"))?,
        })
    }

    /// Sends the request and reads the whole body.
    async fn send(
        &self,
        sender: &mut SendRequest<Empty<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = Request::get(self.path_and_query.clone())
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .body(Empty::new())?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// One keep-alive HTTP/1 connection, driven by the caller.
async fn open(
    addr: SocketAddr,
) -> anyhow::Result<(
    SendRequest<Empty<Bytes>>,
    http1::Connection<TokioIo<TcpStream>, Empty<Bytes>>,
)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(http1::handshake(TokioIo::new(stream)).await?)
}

/// One keep-alive HTTP/1 connection, driven by its own task until the sender is dropped.
async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let (sender, connection) = open(addr).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// The load: every connection loops request → full body until the time or its cap runs out.
#[derive(Debug)]
struct Load {
    connections: usize,
    warmup: Duration,
    duration: Duration,
    max_requests_per_connection: u64,
}

#[derive(Debug)]
struct LoadResult {
    /// Latencies in microseconds of the responses inside the measured window.
    latency_us: Histogram<u64>,
    /// Responses (any status) inside the measured window.
    measured: u64,
    /// Over the whole run, warm-up included.
    non_2xx: u64,
    errors: u64,
    first_error: Option<String>,
    capped: bool,
}

impl LoadResult {
    fn new() -> LoadResult {
        LoadResult {
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("valid histogram bounds"),
            measured: 0,
            non_2xx: 0,
            errors: 0,
            first_error: None,
            capped: false,
        }
    }

    fn error(&mut self, err: String) {
        self.errors += 1;
        self.first_error.get_or_insert(err);
    }

    fn merge(&mut self, other: LoadResult) {
        self.latency_us
            .add(&other.latency_us)
            .expect("histograms with the same bounds");
        self.measured += other.measured;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.capped |= other.capped;
    }

    fn quantile_ms(&self, quantile: f64) -> f64 {
        self.latency_us.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// Runs the load and returns it with the CPU time spent during its measured window.
async fn drive(target: &Target, load: &Load, server_pid: u32) -> (LoadResult, CpuTicks) {
    let measure_from = Instant::now() + load.warmup;
    let end = measure_from + load.duration;
    let tasks: Vec<_> = (0..load.connections)
        .map(|_| {
            tokio::spawn(connection(
                target.clone(),
                measure_from,
                end,
                load.max_requests_per_connection,
            ))
        })
        .collect();
    sleep_until(measure_from).await;
    let cpu_before = CpuTicks::read(server_pid);
    sleep_until(end).await;
    let cpu_after = CpuTicks::read(server_pid);
    let mut total = LoadResult::new();
    // Each task stops by itself shortly after `end`; this bounds a stuck one all the same.
    let deadline = end + 2 * REQUEST_TIMEOUT;
    for mut task in tasks {
        match timeout_at(deadline, &mut task).await {
            Ok(Ok(result)) => total.merge(result),
            Ok(Err(err)) => total.error(format!("load task failed: {err}")),
            Err(_) => {
                task.abort();
                total.error("load task did not stop in time".into());
            }
        }
    }
    let cpu = match (cpu_before, cpu_after) {
        (Ok(before), Ok(after)) => after.since(&before),
        (Err(err), _) | (_, Err(err)) => {
            total.error(format!("cannot read CPU times: {err:#}"));
            CpuTicks::default()
        }
    };
    (total, cpu)
}

/// One load connection: requests back to back until `end` or the cap, reopening after errors.
async fn connection(target: Target, measure_from: Instant, end: Instant, cap: u64) -> LoadResult {
    let mut result = LoadResult::new();
    let mut sent = 0;
    while Instant::now() < end && sent < cap {
        let (mut sender, conn) = match timeout(REQUEST_TIMEOUT, open(target.addr)).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(err)) => {
                result.error(format!("connect: {err:#}"));
                sleep(Duration::from_millis(10)).await;
                continue;
            }
            Err(_) => {
                result.error(format!("connect: no answer within {REQUEST_TIMEOUT:?}"));
                continue;
            }
        };
        let requests = async {
            while Instant::now() < end && sent < cap {
                sent += 1;
                let began = Instant::now();
                let status = match timeout(REQUEST_TIMEOUT, target.send(&mut sender)).await {
                    Ok(Ok((status, _body))) => status,
                    Ok(Err(err)) => return Some(format!("request: {err:#}")),
                    Err(_) => {
                        return Some(format!("request: no answer within {REQUEST_TIMEOUT:?}"));
                    }
                };
                let done = Instant::now();
                if !status.is_success() {
                    result.non_2xx += 1;
                }
                if began >= measure_from && done <= end {
                    let micros = (done - began).as_micros();
                    result
                        .latency_us
                        .saturating_record(micros.try_into().unwrap_or(u64::MAX));
                    result.measured += 1;
                }
            }
            None
        };
        // The connection is driven in this task too, so a request costs no cross-thread wake-up.
        let failed = tokio::select! {
            failed = requests => failed,
            closed = conn => Some(match closed {
                Ok(()) => "the server closed the connection".to_string(),
                Err(err) => format!("connection: {err}"),
            }),
        };
        if let Some(err) = failed {
            result.error(err);
        }
    }
    result.capped = sent >= cap;
    result
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

fn render(reports: &[(Case, Measurement, Measurement)], load: &Load) -> String {
    let secs = load.duration.as_secs_f64();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<8} {:<9} {:>6} {:>8} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7} {:>6} {:>9} {:>9} {:>7}",
        "case",
        "server",
        "body B",
        "req/s",
        "p50 ms",
        "p99 ms",
        "idle MiB",
        "peak MiB",
        "first ms",
        "non-2xx",
        "errors",
        "srv cores",
        "gen cores",
        "other %"
    );
    for (case, mock, baseline) in reports {
        for (label, m) in [("baseline", baseline), ("mock", mock)] {
            let _ = writeln!(
                out,
                "{:<8} {:<9} {:>6} {:>8.0} {:>7.3} {:>7.3} {:>8.1} {:>8.1} {:>8.1} {:>7} {:>6} {:>9.2} {:>9.2} {:>7.1}",
                case.name,
                label,
                m.first_body.len(),
                m.load.measured as f64 / secs,
                m.load.quantile_ms(0.50),
                m.load.quantile_ms(0.99),
                mib(m.idle_rss_kib),
                mib(m.peak_rss_kib),
                m.first_response.as_secs_f64() * 1000.0,
                m.load.non_2xx,
                m.load.errors,
                m.cpu.in_cores(m.cpu.server),
                m.cpu.in_cores(m.cpu.generator),
                m.cpu.others_percent(),
            );
        }
    }

    let mut warnings = String::new();
    for (case, mock, baseline) in reports {
        for (label, m) in [("baseline", baseline), ("mock", mock)] {
            if m.load.errors > 0 || m.load.non_2xx > 0 {
                let _ = writeln!(
                    warnings,
                    "!! {} / {label}: {} error(s), {} non-2xx response(s){}; its figures are not \
                     a clean measurement",
                    case.name,
                    m.load.errors,
                    m.load.non_2xx,
                    m.load
                        .first_error
                        .as_ref()
                        .map(|err| format!(" (first error: {err})"))
                        .unwrap_or_default(),
                );
            }
            if m.cpu.others_percent() > MAX_OTHERS_PERCENT {
                let _ = writeln!(
                    warnings,
                    "!! {} / {label}: other processes (kernel write-back of logs included) used \
                     {:.0}% of the machine during the load; its figures are noisy",
                    case.name,
                    m.cpu.others_percent(),
                );
            }
            if m.load.capped {
                let _ = writeln!(
                    warnings,
                    "!! {} / {label}: hit the cap of {} requests per connection; req/s is a \
                     lower bound",
                    case.name, load.max_requests_per_connection
                );
            }
        }
    }
    if !warnings.is_empty() {
        let _ = write!(out, "\n{warnings}");
    }

    let _ = writeln!(out, "\nmock / baseline");
    for (case, mock, baseline) in reports {
        let _ = writeln!(
            out,
            "{:<8} throughput {:.2}x   p99 {:.2}x   requests per server CPU-second {:.2}x",
            case.name,
            mock.load.measured as f64 / baseline.load.measured.max(1) as f64,
            mock.load.quantile_ms(0.99) / baseline.load.quantile_ms(0.99).max(0.001),
            mock.requests_per_server_tick()
                / baseline.requests_per_server_tick().max(f64::MIN_POSITIVE),
        );
    }

    let _ = writeln!(out, "\ntargets (mock)");
    for (case, mock, baseline) in reports {
        let ratio = mock.load.measured as f64 / baseline.load.measured.max(1) as f64;
        let p99 = mock.load.quantile_ms(0.99);
        let idle = mib(mock.idle_rss_kib);
        let first = mock.first_response.as_secs_f64() * 1000.0;
        let rows = [
            (
                format!("throughput >= {MIN_THROUGHPUT_RATIO}x baseline"),
                format!("{ratio:.2}x"),
                ratio >= MIN_THROUGHPUT_RATIO,
            ),
            (
                format!("p99 < {MAX_P99_MS} ms"),
                format!("{p99:.3} ms"),
                p99 < MAX_P99_MS,
            ),
            (
                format!("idle RSS < {MAX_IDLE_RSS_MIB} MiB"),
                format!("{idle:.1} MiB"),
                idle < MAX_IDLE_RSS_MIB,
            ),
            (
                format!("first response <= {MAX_FIRST_RESPONSE_MS} ms"),
                format!("{first:.1} ms"),
                first <= MAX_FIRST_RESPONSE_MS,
            ),
        ];
        for (target, value, pass) in rows {
            let _ = writeln!(
                out,
                "{:<8} {target:<30} {value:>11}  {}",
                case.name,
                verdict(pass)
            );
        }
    }
    out
}
