//! `cargo xtask bench`: throughput, tail latency, memory and start-up of the mock against a
//! bare hyper baseline (`baseline.rs`) that answers each request with the body the mock
//! answered it with.
//!
//! For each case it starts one server at a time on a free loopback port, times its first
//! `200` from process start, reads its idle RSS, drives it with wrk (a warm-up, then the
//! measured run) and kills it. The mock runs first so that the baseline can serve the exact
//! bodies the mock answered with; the mock runs at its default log level, its access log
//! going to a file. With two cores or more, the server is pinned to core 0 and wrk to core 1,
//! so the load generator never takes the server's CPU (both servers then get one core).
//! Then, with two cores, it starts every server of the case once more and measures each pair
//! side by side (`side_by_side.rs`): both on the server core at once, each under its own wrk,
//! compared by requests per CPU-second, the ratio the machine's drift does not move and the
//! one judged; the baseline against a copy of itself shows the method's own spread. In the
//! same rounds, a read case's tails are compared side by side at equal offered load
//! (`tail.rs`: oha at a constant rate, well below either server's capacity), which judges
//! the p99; wrk's p99 at saturation is printed beside it.
//! It prints the ratios, p99s, requests per server CPU-second, idle RSS and time to the
//! first answer, with PASS/MISS against the targets, and exits 0 whatever the verdicts.
//! It fails only when a server cannot be built, does not start or dies, or a load generator
//! (wrk, or oha for the tail) cannot be installed, fails, overruns or reports no answer.
//!
//! A third server, the *floor* (the baseline with `--floor`), does on top of bare hyper the
//! per-request work every faithful mock must do; the bench reports where the mock's gap to
//! the baseline goes: to that work (floor / baseline) or to the mock itself (mock / floor).

mod baseline;
mod instructions;
mod load;
mod proc;
mod report;
mod side_by_side;
mod tail;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

pub(crate) use baseline::Baseline;
use load::{Load, LoadResult};
use proc::{MachineTicks, ProcessTicks};

/// The Panel token of account 1 in the mock's seed data.
const TOKEN: &str = "panel_acct1_7f3c9a2b5d1e4f60";
const WARMUP: Duration = Duration::from_secs(2);
/// How long a server may take to answer its first `200` before it counts as not started.
const START_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(1);
/// What is kept of a server's output after its run.
const MAX_LOG_BYTES: u64 = 1 << 20;

/// `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Bench {
    /// Seconds of measured load per server and case (default 3; 8 with --instructions).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=300))]
    duration: Option<u64>,
    /// wrk's keep-alive connections.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    connections: u64,
    /// Which cases to run.
    #[arg(long, value_enum, default_value = "all")]
    case: CaseName,
    /// Measured runs per server and case, interleaved (mock, baseline, floor, mock, …, the
    /// first case with the mock at warn just before the mock). Each ratio is the median of
    /// the rounds' ratios (each round compares runs made one after the other), printed with
    /// every round's own ratio beside it. On a shared machine, whose speed drifts over
    /// minutes, many short rounds give a steadier median than a few long ones (at most 30).
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u64).range(1..=30))]
    rounds: u64,
    /// Do not pin the server and wrk to separate cores.
    #[arg(long)]
    no_pin: bool,
    /// `RUST_LOG` for the mock (default: unset, the mock's default level).
    #[arg(long)]
    mock_log: Option<String>,
    /// Also measure `beacon-mock proxy` in front of the mock against the mock alone, per case
    /// (both processes on the server's core; the proxy judges every answer).
    #[arg(long)]
    proxy: bool,
    /// Instead of throughput, count each server's instructions per request under callgrind
    /// (valgrind; installed with apt-get when missing): a figure that does not move with the
    /// machine's other load, with the mock at `warn` too for the access log's share.
    /// `--duration` is then the counted run's length (default 8 s).
    #[arg(long, conflicts_with_all = ["proxy", "rounds", "mock_log", "no_pin", "connections", "tail_rate"])]
    instructions: bool,
    /// Requests a second offered to each server in the tail runs of the read cases (side by
    /// side at equal offered load, with oha): the two servers share one core, so it answers
    /// twice this. Keep it well below what one core answers, or the p99 is a queue again.
    #[arg(long, default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    tail_rate: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CaseName {
    List,
    Console,
    Mixed,
    All,
}

/// One load shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    name: &'static str,
    /// The one GET of a read case; `None` for the write-mixed case.
    reads: Option<&'static str>,
    /// The ratio the mock must reach.
    target_ratio: f64,
    /// The most the mock's p99 may be over the baseline's: issue 9 sets it for the read
    /// cases only.
    max_p99_ratio: Option<f64>,
}

pub(crate) const CASES: [Case; 3] = [
    Case {
        name: "GET /servers",
        reads: Some("/api/v1/servers"),
        target_ratio: 0.9,
        max_p99_ratio: Some(1.5),
    },
    Case {
        name: "GET /servers/123/console?lines=100",
        reads: Some("/api/v1/servers/123/console?lines=100"),
        target_ratio: 0.9,
        max_p99_ratio: Some(1.5),
    },
    Case {
        name: "write-mixed (1/5 POST console, reads lines=90..109)",
        reads: None,
        target_ratio: 0.8,
        max_p99_ratio: None,
    },
];

/// The requests a case sends, for capturing their bodies: (method, target, body).
fn requests(case: &Case) -> Vec<(&'static str, String, Option<&'static str>)> {
    match case.reads {
        Some(path) => vec![("GET", path.to_owned(), None)],
        None => (90..110)
            .map(|lines| {
                (
                    "GET",
                    format!("/api/v1/servers/123/console?lines={lines}"),
                    None,
                )
            })
            .chain([(
                "POST",
                "/api/v1/servers/123/console".to_owned(),
                Some(r#"{"command":"list"}"#),
            )])
            .collect(),
    }
}

impl Bench {
    pub(crate) fn run(self) -> anyhow::Result<()> {
        let root = super::project_root();
        let target = target_dir(&root);
        load::ensure_wrk()?;
        if self.instructions {
            instructions::ensure_valgrind()?;
        }
        build(&root)?;
        let scratch = target.join("bench");
        std::fs::create_dir_all(&scratch)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pin = !self.no_pin && cores >= 2;
        let duration = self
            .duration
            .unwrap_or(if self.instructions { 8 } else { 3 });
        let load = Load {
            connections: self.connections as usize,
            duration: Duration::from_secs(duration),
            cpus: pin.then(|| "1".to_owned()),
        };
        let mock = Launch {
            program: target.join("release/beacon-mock"),
            args: [
                "serve",
                "--only",
                "panel",
                "--panel-addr",
                "{addr}",
                "--rate-limit",
                "1000000000",
            ]
            .map(String::from)
            .to_vec(),
            rust_log: self.mock_log.clone(),
            cpus: pin.then(|| "0".to_owned()),
        };
        let baseline = Launch {
            program: target.join("release/xtask"),
            args: [
                "bench-baseline",
                "--addr",
                "{addr}",
                "--bodies",
                &scratch.join("bodies").display().to_string(),
                "--token",
                TOKEN,
            ]
            .map(String::from)
            .to_vec(),
            rust_log: None,
            cpus: pin.then(|| "0".to_owned()),
        };
        let floor = Launch {
            args: [baseline.args.clone(), vec!["--floor".to_owned()]].concat(),
            ..baseline.clone()
        };
        // Bare hyper with the one hyper setting the mock changes: what that setting gives.
        let flat = Launch {
            args: [baseline.args.clone(), vec!["--flat".to_owned()]].concat(),
            ..baseline.clone()
        };
        let cases: Vec<Case> = CASES
            .into_iter()
            .enumerate()
            .filter(|(i, _)| match self.case {
                CaseName::All => true,
                CaseName::List => *i == 0,
                CaseName::Console => *i == 1,
                CaseName::Mixed => *i == 2,
            })
            .map(|(_, c)| c)
            .collect();
        // The access log's cost: the mock at `warn`, which logs no request, against the mock
        // at its default level.
        let quiet = Launch {
            rust_log: Some("warn".to_owned()),
            ..mock.clone()
        };
        if self.instructions {
            let mut rows = Vec::new();
            for case in cases {
                let duration = load.duration;
                let mock = instructions::count("mock", &mock, &case, duration, &scratch, true)?;
                let quiet =
                    instructions::count("mock at warn", &quiet, &case, duration, &scratch, false)?;
                let baseline =
                    instructions::count("baseline", &baseline, &case, duration, &scratch, false)?;
                let floor = instructions::count("floor", &floor, &case, duration, &scratch, false)?;
                rows.push(instructions::Counts {
                    case,
                    mock,
                    quiet,
                    baseline,
                    floor,
                });
            }
            print!("{}", instructions::render(&rows));
            return Ok(());
        }
        // The read cases' tails, side by side at equal offered load: oha on wrk's core.
        let tail = if pin && cases.iter().any(|case| case.max_p99_ratio.is_some()) {
            Some(tail::TailLoad {
                program: tail::ensure_oha(&target)?,
                rate: self.tail_rate,
                connections: load.connections,
                duration: load.duration,
                cpus: load.cpus.clone(),
            })
        } else {
            None
        };
        println!(
            "wrk -t1 -c{} -d{}s after a {} s warm-up; {}",
            self.connections,
            duration,
            WARMUP.as_secs(),
            if pin {
                "server pinned to core 0, wrk to core 1".to_owned()
            } else {
                format!("server and wrk share {cores} core(s)")
            }
        );
        let mut rows = Vec::new();
        let mut floor_rows = Vec::new();
        let mut log_cost = None;
        let mut tuned = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let mut mock_runs = Vec::new();
            let mut baseline_runs = Vec::new();
            let mut floor_runs = Vec::new();
            let mut quiet_runs = Vec::new();
            // The access log's cost, on the first case only.
            let measure_log = i == 0 && self.mock_log.is_none();
            for _ in 0..self.rounds {
                // The mock at warn, the mock, the baseline, the floor: the access log's pair and
                // the headline pair (mock, baseline) run back to back; the floor's pairs have
                // one run between them.
                if measure_log {
                    quiet_runs.push(measure(
                        "mock at warn",
                        &quiet,
                        case,
                        &load,
                        &scratch,
                        false,
                    )?);
                }
                mock_runs.push(measure("mock", &mock, case, &load, &scratch, true)?);
                baseline_runs.push(measure(
                    "baseline", &baseline, case, &load, &scratch, false,
                )?);
                floor_runs.push(measure("floor", &floor, case, &load, &scratch, false)?);
            }
            // Side by side, the figure the machine's drift does not move: it needs the
            // server and wrk on cores of their own.
            let side = if pin {
                let servers = SideBySideServers {
                    mock: &mock,
                    baseline: &baseline,
                    floor: &floor,
                    quiet: measure_log.then_some(&quiet),
                    flat: measure_log.then_some(&flat),
                };
                measure_side_by_side(case, &servers, &load, tail.as_ref(), self.rounds, &scratch)?
            } else {
                SideBySide::default()
            };
            if measure_log {
                // The mock at its default level against the mock at warn, paired by round.
                log_cost = Some(
                    report::Row::new(*case, mock_runs.clone(), quiet_runs).side_by_side(side.log),
                );
                tuned = side.flat;
            }
            floor_rows.push(report::FloorRow {
                floor: report::Row::new(*case, floor_runs.clone(), baseline_runs.clone())
                    .side_by_side(side.floor_baseline),
                mock: report::Row::new(*case, mock_runs.clone(), floor_runs)
                    .side_by_side(side.mock_floor),
            });
            let mut row = report::Row::new(*case, mock_runs, baseline_runs)
                .side_by_side(side.mock_baseline)
                .same_server(side.baseline_twice);
            if let Some(load) = tail.as_ref().filter(|_| !side.tail.is_empty()) {
                row = row.tail(report::Tail {
                    offered: load.rate,
                    runs: side.tail,
                    same: side.tail_same,
                });
            }
            rows.push(row);
        }
        print!("{}", report::render(&rows, log_cost.as_ref()));
        print!("{}", report::render_tail(&rows));
        if let Some(first) = rows.first() {
            print!("{}", report::render_tuned(first, &tuned));
        }
        print!("{}", report::render_floor(&floor_rows));
        if self.proxy {
            let proxy = Launch {
                args: [
                    "proxy",
                    "--api",
                    "panel",
                    "--listen",
                    "{addr}",
                    "--upstream",
                    "http://{upstream}/api/v1",
                ]
                .map(String::from)
                .to_vec(),
                ..mock.clone()
            };
            let mut proxied_rows = Vec::new();
            for case in &cases {
                let mut direct_runs = Vec::new();
                let mut proxied_runs = Vec::new();
                for _ in 0..self.rounds {
                    direct_runs.push(measure("mock", &mock, case, &load, &scratch, false)?);
                    proxied_runs.push(measure_behind(
                        "proxy", &proxy, &mock, case, &load, &scratch,
                    )?);
                }
                proxied_rows.push(report::Row::new(*case, proxied_runs, direct_runs));
            }
            print!("{}", report::render_proxy(&proxied_rows));
        }
        Ok(())
    }
}

/// The servers of one case's side-by-side rounds.
struct SideBySideServers<'l> {
    mock: &'l Launch,
    baseline: &'l Launch,
    floor: &'l Launch,
    /// The mock at `warn`, for the access log's cost.
    quiet: Option<&'l Launch>,
    /// Bare hyper with the mock's hyper setting, for what that setting gives.
    flat: Option<&'l Launch>,
}

/// What one case's side-by-side rounds measured, pair by pair, a run per round.
#[derive(Debug, Default)]
struct SideBySide {
    mock_baseline: Vec<side_by_side::PairRun>,
    floor_baseline: Vec<side_by_side::PairRun>,
    mock_floor: Vec<side_by_side::PairRun>,
    /// The mock at its default level against the mock at `warn`.
    log: Vec<side_by_side::PairRun>,
    /// The baseline against a second copy of itself: what the method itself cannot tell
    /// apart.
    baseline_twice: Vec<side_by_side::PairRun>,
    /// Bare hyper with the mock's hyper setting against bare hyper.
    flat: Vec<side_by_side::PairRun>,
    /// The mock's tail against the baseline's, at equal offered load (read cases).
    tail: Vec<tail::TailRun>,
    /// The baseline's tail against a copy's, the same way.
    tail_same: Vec<tail::TailRun>,
}

/// Starts every server of `servers` once (two baselines), warms them up together, then
/// measures each pair side by side in every one of `rounds`; with `tail`, a read case's
/// rounds also compare the mock's tail and a copy's with the baseline's at equal load.
fn measure_side_by_side(
    case: &Case,
    servers: &SideBySideServers<'_>,
    load: &Load,
    tail: Option<&tail::TailLoad>,
    rounds: u64,
    scratch: &Path,
) -> anyhow::Result<SideBySide> {
    let target = &requests(case)[0].1;
    let mut started = Vec::new();
    let mut launch_one =
        |label: &'static str, launch: &Launch| -> anyhow::Result<side_by_side::Target> {
            let (server, addr, _) = start(label, launch, target, scratch)?;
            println!("{} (side by side): {label} on {addr}", case.name);
            let target = side_by_side::Target {
                pid: server.pid(),
                addr,
            };
            started.push(server);
            Ok(target)
        };
    let mock = launch_one("mock", servers.mock)?;
    let baseline = launch_one("baseline", servers.baseline)?;
    let copy = launch_one("baseline copy", servers.baseline)?;
    let floor = launch_one("floor", servers.floor)?;
    let quiet = servers
        .quiet
        .map(|launch| launch_one("mock at warn", launch))
        .transpose()?;
    let flat = servers
        .flat
        .map(|launch| launch_one("baseline, writev off", launch))
        .transpose()?;
    let all: Vec<_> = [mock, baseline, copy, floor]
        .into_iter()
        .chain(quiet)
        .chain(flat)
        .collect();
    side_by_side::warm_up(&all, case, load, WARMUP, scratch)?;
    let mut side = SideBySide::default();
    for _ in 0..rounds {
        let pair = |a, b| side_by_side::run(a, b, case, load, load.duration, scratch);
        side.mock_baseline.push(pair(mock, baseline)?);
        side.floor_baseline.push(pair(floor, baseline)?);
        side.mock_floor.push(pair(mock, floor)?);
        side.baseline_twice.push(pair(baseline, copy)?);
        if let Some(quiet) = quiet {
            side.log.push(pair(mock, quiet)?);
        }
        if let Some(flat) = flat {
            side.flat.push(pair(flat, baseline)?);
        }
        if let (Some(tail), Some(_), Some(path)) = (tail, case.max_p99_ratio, case.reads) {
            side.tail.push(tail.pair(mock.addr, baseline.addr, path)?);
            side.tail_same
                .push(tail.pair(baseline.addr, copy.addr, path)?);
        }
        for server in &mut started {
            server.ensure_running()?;
            trim_log(&server.log)?;
        }
    }
    Ok(side)
}

/// Builds the mock and the optimized xtask (whose `bench-baseline` is the baseline).
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
        "-p",
        "xtask",
        "--bin",
        "xtask",
    ]);
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
#[derive(Debug, Clone)]
struct Launch {
    program: PathBuf,
    args: Vec<String>,
    /// `RUST_LOG` for the process, if set.
    rust_log: Option<String>,
    /// `taskset -c` list, if pinned.
    cpus: Option<String>,
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
            .map(|a| a.replace("{addr}", &addr))
            .collect();
        File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        // Appended to, so that a log trimmed while the server runs goes on from its new end.
        let log_file = std::fs::OpenOptions::new().append(true).open(log)?;
        // `taskset` execs the server, so the child's pid is the server's.
        let mut command = match &launch.cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(&launch.program);
                c
            }
            None => Command::new(&launch.program),
        };
        command.env_remove("RUST_LOG");
        if let Some(level) = &launch.rust_log {
            command.env("RUST_LOG", level);
        }
        let child = command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start the {label}: {}", launch.program.display()))?;
        Ok(Server {
            child,
            label,
            log: log.to_path_buf(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one server did in one case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measurement {
    pub(crate) first_answer: Duration,
    pub(crate) idle_rss_kib: u64,
    pub(crate) load: LoadResult,
    /// The server's CPU time over the measured run, in clock ticks.
    pub(crate) server_ticks: ProcessTicks,
    /// The whole machine's busy time over the measured run, in cores.
    pub(crate) machine_busy_cores: f64,
}

impl Measurement {
    pub(crate) fn requests_per_cpu_sec(&self) -> f64 {
        let cpu_secs = self.server_ticks.total() as f64 / proc::TICKS_PER_SEC;
        self.load.requests as f64 / cpu_secs.max(0.01)
    }

    /// The server's CPU time per request.
    pub(crate) fn cpu_per_request(&self) -> CpuPerRequest {
        let us = |ticks: u64| {
            ticks as f64 / proc::TICKS_PER_SEC * 1e6 / self.load.requests.max(1) as f64
        };
        CpuPerRequest {
            user_us: us(self.server_ticks.user),
            system_us: us(self.server_ticks.system),
        }
    }
}

/// A server's CPU time per request, in microseconds: its own code's and the kernel's for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuPerRequest {
    pub(crate) user_us: f64,
    pub(crate) system_us: f64,
}

/// Starts `launch` on a free port and waits for its first `200` to `target`.
fn start(
    label: &'static str,
    launch: &Launch,
    target: &str,
    scratch: &Path,
) -> anyhow::Result<(Server, SocketAddr, Duration)> {
    start_within(label, launch, target, scratch, START_TIMEOUT)
}

/// [`start`], waiting up to `timeout` for the first `200`.
fn start_within(
    label: &'static str,
    launch: &Launch,
    target: &str,
    scratch: &Path,
    timeout: Duration,
) -> anyhow::Result<(Server, SocketAddr, Duration)> {
    let addr = free_port()?;
    let log = scratch.join(format!("{}.log", label.replace(' ', "-")));
    let started = Instant::now();
    let mut server = Server::spawn(label, launch, addr, &log)?;
    let first_answer = loop {
        if let Ok((200, _)) = send(addr, "GET", target, None) {
            break started.elapsed();
        }
        server.ensure_running()?;
        ensure!(
            started.elapsed() < timeout,
            "the {label} gave no 200 within {timeout:?}; see {}",
            log.display()
        );
        std::thread::sleep(POLL_INTERVAL);
    };
    Ok((server, addr, first_answer))
}

/// [`measure`] for `launch` (the proxy) in front of `upstream` (the mock): `{upstream}` in
/// its arguments becomes the upstream's address.
fn measure_behind(
    label: &'static str,
    launch: &Launch,
    upstream: &Launch,
    case: &Case,
    load: &Load,
    scratch: &Path,
) -> anyhow::Result<Measurement> {
    let target = &requests(case)[0].1;
    let (_upstream, upstream_addr, _) = start("upstream mock", upstream, target, scratch)?;
    let launch = Launch {
        args: launch
            .args
            .iter()
            .map(|a| a.replace("{upstream}", &upstream_addr.to_string()))
            .collect(),
        ..launch.clone()
    };
    measure(label, &launch, case, load, scratch, false)
}

fn measure(
    label: &'static str,
    launch: &Launch,
    case: &Case,
    load: &Load,
    scratch: &Path,
    capture: bool,
) -> anyhow::Result<Measurement> {
    let requests = requests(case);
    let (mut server, addr, first_answer) = start(label, launch, &requests[0].1, scratch)?;
    println!("{}: {label} on {addr}", case.name);
    let log = server.log.clone();
    let idle_rss_kib = proc::status_kib(server.pid(), "VmRSS")?;
    if capture {
        capture_bodies(addr, &requests, &scratch.join("bodies"))?;
    }
    load.run(case, addr, WARMUP, scratch)?;
    let (ticks, machine) = (ProcessTicks::read(server.pid())?, MachineTicks::read()?);
    let result = load.run(case, addr, load.duration, scratch)?;
    let server_ticks = ProcessTicks::read(server.pid())?.since(ticks);
    let machine = MachineTicks::read()?.since(machine);
    server.ensure_running()?;
    drop(server);
    trim_log(&log)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    Ok(Measurement {
        first_answer,
        idle_rss_kib,
        load: result,
        server_ticks,
        machine_busy_cores: machine.busy as f64 * cores / machine.total.max(1) as f64,
    })
}

/// Asks the mock each request of the case once and stores the bodies for the baseline.
fn capture_bodies(
    addr: SocketAddr,
    requests: &[(&'static str, String, Option<&'static str>)],
    dir: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut index = String::new();
    for (i, (method, target, body)) in requests.iter().enumerate() {
        let (status, answer) = send(addr, method, target, *body)?;
        ensure!(
            status == 200,
            "the mock answered {method} {target} with {status}"
        );
        let file = format!("{i}.json");
        std::fs::write(dir.join(&file), answer)?;
        index.push_str(&format!("{method} {target} {file}\n"));
    }
    std::fs::write(dir.join("index"), index)?;
    Ok(())
}

/// One HTTP/1.1 request on a fresh loopback connection: the status and the body.
fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(100))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let status = std::str::from_utf8(&answer[..split])?
        .split_whitespace()
        .nth(1)
        .context("no status")?
        .parse()?;
    Ok((status, answer[split + 4..].to_vec()))
}

/// Keeps the head of a server's output (a per-request access log adds up under load).
fn trim_log(log: &Path) -> anyhow::Result<()> {
    if std::fs::metadata(log)?.len() > MAX_LOG_BYTES {
        std::fs::OpenOptions::new()
            .write(true)
            .open(log)?
            .set_len(MAX_LOG_BYTES)?;
    }
    Ok(())
}

/// A free loopback port: bind port 0, read it and let it go.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}
