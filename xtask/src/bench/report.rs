//! The bench's table: ratios, p99s, requests per server CPU-second, RSS, start-up, verdicts.

use std::fmt::Write as _;

use super::load::LoadResult;
use super::side_by_side::{PairRun, Share};
use super::tail::TailRun;
use super::{Case, CpuPerRequest, Measurement};

// Targets from the issue (the case's own throughput and p99 ratios are in `Case`).
const MAX_IDLE_RSS_MIB: f64 = 15.0;
const MAX_FIRST_ANSWER_MS: f64 = 50.0;
const MAX_LOG_COST_PERCENT: f64 = 5.0;
/// wrk's busy share of its core from which a run counts as bound by the load generator.
const CLIENT_BOUND_BUSY: f64 = 0.95;
/// The share of the offered rate a server must have answered in every tail run for its p99
/// to be a latency and not a queue.
const TAIL_KEPT_UP: f64 = 0.95;

/// A read case's tails side by side at equal offered load, a run per round.
pub(crate) struct Tail {
    /// Requests a second offered to each server.
    pub(crate) offered: u64,
    /// The measured server (`a`) against the baseline (`b`).
    pub(crate) runs: Vec<TailRun>,
    /// The baseline against a copy of itself: the method's own spread.
    pub(crate) same: Vec<TailRun>,
}

impl Tail {
    /// The judged figure: the median of the runs' p99 ratios.
    fn ratio(&self) -> f64 {
        median(&p99_ratios(&self.runs))
    }

    /// The fewest answers a second `side` gave in any run.
    fn fewest_answered(&self, side: fn(&TailRun) -> &LoadResult) -> f64 {
        self.runs
            .iter()
            .map(|run| side(run).requests_per_sec)
            .fold(f64::INFINITY, f64::min)
    }

    /// The answers `side` failed over all runs.
    fn failed(&self, side: fn(&TailRun) -> &LoadResult) -> u64 {
        self.runs.iter().map(|run| side(run).failures).sum()
    }

    /// Why `side`'s p99s are not its latency at the offered rate, if they are not: a run in
    /// which it answered less than [`TAIL_KEPT_UP`] of that rate (a queue again), or failed
    /// answers (a timeout is in no percentile).
    fn shortfall(&self, side: fn(&TailRun) -> &LoadResult) -> Option<String> {
        let fewest = self.fewest_answered(side);
        let failed = self.failed(side);
        if fewest < TAIL_KEPT_UP * self.offered as f64 {
            Some(format!(
                "answered {fewest:.0} a second of the {} offered in a run",
                self.offered
            ))
        } else if failed > 0 {
            Some(format!("failed {failed} answers"))
        } else {
            None
        }
    }

    /// The verdict against `target`, and why when it is not the ratio's: the baseline's
    /// shortfall, or the two ohas (nearly) always busy on their core, whose lag then counts as
    /// latency, leave it open; the mock's shortfall at a rate the baseline kept up with is a
    /// miss.
    fn verdict(&self, target: f64) -> (&'static str, Option<String>) {
        if let Some(why) = self.shortfall(baseline_side) {
            return ("UNSURE", Some(format!("the baseline {why}")));
        }
        let clients_busy = self
            .runs
            .iter()
            .map(|run| run.a.client_busy + run.b.client_busy)
            .fold(0.0, f64::max);
        if clients_busy >= CLIENT_BOUND_BUSY {
            return (
                "UNSURE",
                Some(format!(
                    "the two ohas kept their core {:.0}% busy in a run",
                    clients_busy * 100.0
                )),
            );
        }
        if let Some(why) = self.shortfall(mock_side) {
            return ("MISS", Some(format!("the mock {why}")));
        }
        (verdict(self.ratio() <= target), None)
    }
}

/// The measured server's side of a tail run.
fn mock_side(run: &TailRun) -> &LoadResult {
    &run.a
}

/// The baseline's side of a tail run.
fn baseline_side(run: &TailRun) -> &LoadResult {
    &run.b
}

/// Each side-by-side run's p99 ratio: wrk's, at saturation.
fn saturated_p99_ratios(runs: &[PairRun]) -> Vec<f64> {
    runs.iter()
        .map(|run| run.a.load.p99_ms / run.b.load.p99_ms.max(0.001))
        .collect()
}

/// Each tail run's p99 ratio.
fn p99_ratios(runs: &[TailRun]) -> Vec<f64> {
    runs.iter().map(TailRun::p99_ratio).collect()
}

pub(crate) struct Row {
    pub(crate) case: Case,
    /// The median run of the measured server (the mock, or the proxy), by requests/s.
    pub(crate) mock: Measurement,
    /// The median run of what it is compared with.
    pub(crate) baseline: Measurement,
    /// The throughput ratio of each interleaved pair of runs: how much the machine moved.
    pub(crate) round_ratios: Vec<f64>,
    /// The p99 ratio of each pair.
    round_p99_ratios: Vec<f64>,
    /// The requests-per-server-CPU-second ratio of each pair.
    round_cpu_ratios: Vec<f64>,
    /// The measured server's CPU time a request: medians over its runs.
    mock_cpu: CpuPerRequest,
    /// The same for what it is compared with.
    baseline_cpu: CpuPerRequest,
    /// The two side by side (the measured server as `a`), a run per round; none when the
    /// bench could not pin them.
    side: Vec<PairRun>,
    /// The baseline side by side with a copy of itself, a run per round: the method's own
    /// spread.
    same: Vec<PairRun>,
    /// The tails side by side at equal offered load, which judge the p99 when measured.
    tail: Option<Tail>,
}

/// The medians over `runs` of the server's user and of its system CPU time a request.
fn median_cpu(runs: &[Measurement]) -> CpuPerRequest {
    let (user, system): (Vec<f64>, Vec<f64>) = runs
        .iter()
        .map(|run| {
            let cpu = run.cpu_per_request();
            (cpu.user_us, cpu.system_us)
        })
        .unzip();
    CpuPerRequest {
        user_us: median(&user),
        system_us: median(&system),
    }
}

impl Row {
    /// One row from the interleaved runs of both servers (paired by round).
    pub(crate) fn new(case: Case, mock: Vec<Measurement>, baseline: Vec<Measurement>) -> Self {
        let per_round = |ratio: fn(&Measurement, &Measurement) -> f64| -> Vec<f64> {
            mock.iter()
                .zip(&baseline)
                .map(|(m, b)| ratio(m, b))
                .collect()
        };
        let round_ratios = per_round(throughput_ratio);
        let round_p99_ratios = per_round(|m, b| m.load.p99_ms / b.load.p99_ms.max(0.001));
        let round_cpu_ratios =
            per_round(|m, b| m.requests_per_cpu_sec() / b.requests_per_cpu_sec().max(1.0));
        Self {
            case,
            mock_cpu: median_cpu(&mock),
            baseline_cpu: median_cpu(&baseline),
            mock: median_run(mock),
            baseline: median_run(baseline),
            round_ratios,
            round_p99_ratios,
            round_cpu_ratios,
            side: Vec::new(),
            same: Vec::new(),
            tail: None,
        }
    }

    /// The tails measured side by side at equal offered load.
    pub(crate) fn tail(mut self, tail: Tail) -> Self {
        self.tail = Some(tail);
        self
    }

    /// The same servers' side-by-side runs.
    pub(crate) fn side_by_side(mut self, runs: Vec<PairRun>) -> Self {
        self.side = runs;
        self
    }

    /// The baseline's runs side by side with a copy of itself.
    pub(crate) fn same_server(mut self, runs: Vec<PairRun>) -> Self {
        self.same = runs;
        self
    }

    /// The median of the side-by-side runs' ratios, when there are any: the figure the
    /// machine's drift does not move, and so the one judged.
    fn side_ratio(&self) -> Option<f64> {
        (!self.side.is_empty()).then(|| median(&pair_ratios(&self.side)))
    }

    /// The judged ratio, its verdict, what it is, and its rounds.
    fn headline(&self) -> (f64, &'static str, &'static str, String) {
        let target = self.case.target_ratio;
        match self.side_ratio() {
            Some(ratio) => (
                ratio,
                verdict(ratio >= target),
                "side by side, req per server CPU-s",
                listed(&pair_ratios(&self.side)),
            ),
            None => (
                self.ratio(),
                throughput_verdict(self),
                "one after the other, req/s",
                self.rounds(),
            ),
        }
    }

    /// The median of the rounds' throughput ratios: each compares two runs made one after
    /// the other, and one lucky or unlucky round does not move it.
    fn ratio(&self) -> f64 {
        median(&self.round_ratios)
    }

    fn p99_ratio(&self) -> f64 {
        median(&self.round_p99_ratios)
    }

    fn cpu_ratio(&self) -> f64 {
        median(&self.round_cpu_ratios)
    }

    fn rounds(&self) -> String {
        listed(&self.round_ratios)
    }
}

/// Each side-by-side run's ratio.
fn pair_ratios(runs: &[PairRun]) -> Vec<f64> {
    runs.iter().map(PairRun::ratio).collect()
}

/// `values` to two decimals, comma-separated.
fn listed(values: &[f64]) -> String {
    let shown: Vec<String> = values.iter().map(|r| format!("{r:.2}")).collect();
    shown.join(", ")
}

/// `a`'s requests per second over `b`'s.
fn throughput_ratio(a: &Measurement, b: &Measurement) -> f64 {
    a.load.requests_per_sec / b.load.requests_per_sec.max(1.0)
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The run with the median throughput (the lower of the middle two for an even count): a
/// run that happened, for the columns that show one.
fn median_run(mut runs: Vec<Measurement>) -> Measurement {
    assert!(!runs.is_empty(), "at least one round");
    runs.sort_by(|a, b| a.load.requests_per_sec.total_cmp(&b.load.requests_per_sec));
    runs.swap_remove((runs.len() - 1) / 2)
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// The throughput ratio's verdict, which a server bound by the load generator can leave
/// open: the baseline's bound run makes the ratio an upper bound, so it cannot show a PASS;
/// the mock's makes it a lower bound, so it cannot show a MISS. Either is then `UNSURE`, and
/// the requests per server CPU-second ratio, which wrk does not cap, decides.
fn throughput_verdict(row: &Row) -> &'static str {
    let pass = row.ratio() >= row.case.target_ratio;
    if (pass && bound_by_load_generator(&row.baseline))
        || (!pass && bound_by_load_generator(&row.mock))
    {
        "UNSURE"
    } else {
        verdict(pass)
    }
}

/// Whether wrk was (nearly) always busy in `run`: its server could have answered more.
fn bound_by_load_generator(run: &Measurement) -> bool {
    run.load.client_busy >= CLIENT_BOUND_BUSY
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A Markdown table's head after a blank line: the column names, then as many separators.
fn table_head(out: &mut String, columns: &[&str]) {
    out.push_str("\n|");
    for column in columns {
        let _ = write!(out, " {column} |");
    }
    out.push_str("\n|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
}

/// The table of `rows`, then the access log's cost when `log_cost` is given: a row whose
/// `mock` ran at the default level and whose `baseline` is the mock at `warn`.
pub(crate) fn render(rows: &[Row], log_cost: Option<&Row>) -> String {
    let mut out = String::new();
    table_head(
        &mut out,
        &[
            "case",
            "ratio (target)",
            "measured",
            "per round",
            "mock req/s",
            "baseline req/s",
            "one after the other: ratio",
            "req per server CPU-s ratio",
            "mock p99",
            "baseline p99",
            "p99 ratio (target)",
            "failed answers (mock/baseline)",
            "machine busy, cores (mock/baseline)",
            "wrk busy (mock/baseline)",
        ],
    );
    for row in rows {
        let Row {
            case,
            mock,
            baseline,
            ..
        } = row;
        let (ratio, judged, how, rounds) = row.headline();
        let p99_ratio = row.p99_ratio();
        let p99_verdict = match (case.max_p99_ratio, &row.tail) {
            (Some(_), Some(_)) => "(at saturation, not judged: see the tail)".to_owned(),
            (Some(max), None) => format!("(≤ {max}) {}", verdict(p99_ratio <= max)),
            (None, _) => "(no target)".to_owned(),
        };
        let cpu_ratio = row.cpu_ratio();
        // One after the other, the CPU-normalised ratio is judged only when nothing better is.
        let cpu_verdict = match row.side_ratio() {
            Some(_) => String::new(),
            None => format!(
                " (≥ {}) {}",
                case.target_ratio,
                verdict(cpu_ratio >= case.target_ratio)
            ),
        };
        let _ = writeln!(
            out,
            "| {} | {ratio:.2}× (≥ {}) {judged} | {how} | {rounds} | {:.0} | {:.0} | {:.2}× ({}) | {cpu_ratio:.2}×{cpu_verdict} | {:.2} ms | {:.2} ms | {p99_ratio:.2}× {p99_verdict} | {}/{} | {:.2}/{:.2} | {:.0}%/{:.0}% |",
            case.name,
            case.target_ratio,
            mock.load.requests_per_sec,
            baseline.load.requests_per_sec,
            row.ratio(),
            row.rounds(),
            mock.load.p99_ms,
            baseline.load.p99_ms,
            mock.load.failures,
            baseline.load.failures,
            mock.machine_busy_cores,
            baseline.machine_busy_cores,
            mock.load.client_busy * 100.0,
            baseline.load.client_busy * 100.0,
        );
    }
    side_by_side_notes(&mut out, rows);
    client_bound(&mut out, rows);
    table_head(
        &mut out,
        &[
            "server",
            &format!("idle RSS (< {MAX_IDLE_RSS_MIB} MiB)"),
            &format!("first answer after spawn (< {MAX_FIRST_ANSWER_MS} ms)"),
        ],
    );
    for (label, pick) in [
        ("mock", (|r: &Row| r.mock) as fn(&Row) -> Measurement),
        ("baseline", |r: &Row| r.baseline),
    ] {
        let worst_rss = rows.iter().map(|r| pick(r).idle_rss_kib).max().unwrap_or(0);
        let worst_start = rows
            .iter()
            .map(|r| pick(r).first_answer.as_secs_f64() * 1000.0)
            .fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "| {label} | {:.1} MiB {} | {worst_start:.1} ms {} |",
            mib(worst_rss),
            verdict(mib(worst_rss) < MAX_IDLE_RSS_MIB),
            verdict(worst_start < MAX_FIRST_ANSWER_MS),
        );
    }
    if let Some(log) = log_cost {
        log_cost_line(&mut out, log);
    }
    let _ = writeln!(
        out,
        "\nratio: the judged figure. Side by side (when the server and wrk have cores of their own): \
         the mock and the baseline on the server core at once, each under its own wrk, and the median \
         over the rounds of the mock's requests per CPU-second over the baseline's, which is the \
         throughput each reaches on a core of its own when the core bounds it; the machine's drift \
         slows both at once and leaves the ratio. One after the other (req/s, p99, wrk busy: each \
         server's median run): each round runs the mock, then the baseline, each alone, and its ratio \
         carries whatever the machine did in between, which the per-round spread shows; the \
         req per server CPU-s ratio normalises those runs by each server's own CPU time. \
         wrk busy: wrk's CPU time over its run, in % of the one core its one thread can use \
         (from {:.0}% a run counts as bound by the load generator; without side-by-side runs a \
         ratio it caps is UNSURE and the req per server CPU-s ratio is judged as well). \
         RSS and first answer: the worst over the cases.",
        CLIENT_BOUND_BUSY * 100.0
    );
    out
}

/// The tails of the rows that measured them, side by side at equal offered load: the p99
/// verdict of those cases.
pub(crate) fn render_tail(rows: &[Row]) -> String {
    let mut out = String::new();
    let tails: Vec<(&Row, &Tail)> = rows
        .iter()
        .filter_map(|row| row.tail.as_ref().map(|tail| (row, tail)))
        .collect();
    if tails.is_empty() {
        return out;
    }
    table_head(
        &mut out,
        &[
            "case (tail)",
            "offered to each",
            "p99 ratio (target)",
            "per round",
            "p99 mock / baseline",
            "p50 mock / baseline",
            "the baseline / a copy of itself",
            "answered a second, lowest (mock / baseline)",
            "failed answers (mock / baseline)",
            "oha busy (mock / baseline)",
            "at saturation, side by side: p99 ratio (baseline / copy)",
        ],
    );
    // Why a verdict is not the ratio's, printed under the table.
    let mut notes = Vec::new();
    for &(row, tail) in &tails {
        let ratio = tail.ratio();
        let target = row.case.max_p99_ratio.unwrap_or(f64::INFINITY);
        let (judged, why) = tail.verdict(target);
        if let Some(why) = why {
            notes.push(format!(
                "\nthe tail of {} is {judged}: {why}, so a p99 there is not the server's latency \
                 at that rate{}.",
                row.case.name,
                if judged == "UNSURE" {
                    "; run with a lower --tail-rate"
                } else {
                    ", which the baseline answered in full"
                },
            ));
        }
        // The median over the runs of one figure of one side.
        let of = |runs: &[TailRun], side: fn(&TailRun) -> f64| {
            median(&runs.iter().map(side).collect::<Vec<_>>())
        };
        let saturated = if row.side.is_empty() {
            "—".to_owned()
        } else {
            format!(
                "{:.2}× ({:.2}×)",
                median(&saturated_p99_ratios(&row.side)),
                median(&saturated_p99_ratios(&row.same)),
            )
        };
        let _ = writeln!(
            out,
            "| {} | {} req/s | {ratio:.2}× (≤ {target}) {judged} | {} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2}× ({}) | {:.0} / {:.0} | {}/{} | {:.0}%/{:.0}% | {saturated} |",
            row.case.name,
            tail.offered,
            listed(&p99_ratios(&tail.runs)),
            of(&tail.runs, |run| run.a.p99_ms),
            of(&tail.runs, |run| run.b.p99_ms),
            of(&tail.runs, |run| run.a.p50_ms),
            of(&tail.runs, |run| run.b.p50_ms),
            median(&p99_ratios(&tail.same)),
            listed(&p99_ratios(&tail.same)),
            tail.fewest_answered(mock_side),
            tail.fewest_answered(baseline_side),
            tail.failed(mock_side),
            tail.failed(baseline_side),
            of(&tail.runs, |run| run.a.client_busy) * 100.0,
            of(&tail.runs, |run| run.b.client_busy) * 100.0,
        );
    }
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(
        out,
        "\ntail: the p99 judged. The mock and the baseline side by side on the server core, each sent \
         the same constant rate by its own oha (open loop, latency counted from when each request was \
         due), which both answer with room to spare: a p99 then is the server's latency, not the queue \
         of wrk's saturating connections, and a stall of the shared core reaches both in the same \
         seconds. The ratio is the median over the rounds of the mock's p99 over the baseline's; the \
         baseline against a copy of itself, measured the same way, shows the spread the method leaves. \
         The p99 in the first table comes from wrk at saturation, one after the other; the last \
         column from wrk at saturation in the side-by-side throughput runs, where a server's queue \
         grows with its CPU time a request."
    );
    out
}

/// The access log's cost: side by side when measured so, else one after the other.
fn log_cost_line(out: &mut String, log: &Row) {
    let (default, quiet) = (log.mock, log.baseline);
    let raw = 1.0 - log.ratio();
    let cpu = 1.0 - log.cpu_ratio();
    // A ratio of the mock at its default level over the mock at warn, as a cost.
    let costs = |ratios: &[f64]| -> String {
        let shown: Vec<String> = ratios
            .iter()
            .map(|ratio| format!("{:.1}%", (1.0 - ratio) * 100.0))
            .collect();
        shown.join(", ")
    };
    let solo = format!(
        "{:.0} req/s vs {:.0} at warn, cost {:.1}% of throughput (per round: {}), {:.1}% per server CPU-s",
        default.load.requests_per_sec,
        quiet.load.requests_per_sec,
        raw * 100.0,
        costs(&log.round_ratios),
        cpu * 100.0,
    );
    let _ = match log.side_ratio() {
        Some(ratio) => {
            let side = 1.0 - ratio;
            writeln!(
                out,
                "\naccess log at the default level ({}): side by side with the mock at warn, cost {:.1}% per server CPU-s (per round: {}) (target < {MAX_LOG_COST_PERCENT}%) {}; one after the other: {solo}",
                log.case.name,
                side * 100.0,
                costs(&pair_ratios(&log.side)),
                verdict(side * 100.0 < MAX_LOG_COST_PERCENT),
            )
        }
        None => writeln!(
            out,
            "\naccess log at the default level ({}): {solo} (target < {MAX_LOG_COST_PERCENT}%) {}",
            log.case.name,
            verdict(raw * 100.0 < MAX_LOG_COST_PERCENT),
        ),
    };
}

/// What the one hyper setting the mock changes (each answer written as one flat buffer,
/// `writev(false)`) gives bare hyper: side by side, bare hyper so tuned against bare hyper at
/// hyper's defaults (`tuned`), and `row`'s judged ratio as it would read against the tuned
/// one. The judged ratios compare with hyper's defaults, the bare hyper; this line
/// says how much of them the setting is.
pub(crate) fn render_tuned(row: &Row, tuned: &[PairRun]) -> String {
    let mut out = String::new();
    let Some(judged) = row.side_ratio() else {
        return out;
    };
    if tuned.is_empty() {
        return out;
    }
    let gain = median(&pair_ratios(tuned));
    let _ = writeln!(
        out,
        "
hyper's writev off, as the mock serves ({}): bare hyper so tuned runs {gain:.2}× bare hyper at hyper's defaults side by side (per round: {}); against it the mock's {judged:.2}× would read {:.2}×",
        row.case.name,
        listed(&pair_ratios(tuned)),
        judged / gain,
    );
    out
}

/// How busy the shared core was in the side-by-side runs, and what the method gives for the
/// baseline against a copy of itself.
fn side_by_side_notes(out: &mut String, rows: &[Row]) {
    for row in rows.iter().filter(|row| !row.side.is_empty()) {
        let busy: Vec<f64> = row.side.iter().map(|run| run.server_core_busy).collect();
        let _ = write!(
            out,
            "\nside by side ({}): the server core was {:.0}% busy (median);",
            row.case.name,
            median(&busy) * 100.0,
        );
        if row.same.is_empty() {
            out.push('\n');
        } else {
            let same = pair_ratios(&row.same);
            let _ = writeln!(
                out,
                " the baseline against a copy of itself, measured the same way: {:.2}× (per round: {}), the method's own spread.",
                median(&same),
                listed(&same),
            );
        }
    }
}

/// A line for each median run whose wrk was (nearly) always busy: that server could have
/// answered more than wrk asked, so its req/s is a lower bound.
fn client_bound(out: &mut String, rows: &[Row]) {
    for row in rows {
        for (label, run, bound) in [
            ("mock", &row.mock, "the ratio is a lower bound"),
            ("baseline", &row.baseline, "the ratio is an upper bound"),
        ] {
            if bound_by_load_generator(run) {
                let read = match row.side_ratio() {
                    Some(ratio) => format!("the side-by-side ratio ({ratio:.2}×)"),
                    None => format!("the req per server CPU-s ratio ({:.2}×)", row.cpu_ratio()),
                };
                let _ = writeln!(
                    out,
                    "\nbound by the load generator ({}): wrk was {:.0}% busy against the {label}, whose {:.0} req/s \
                     is a lower bound; {bound}, and {read} is the one to read.",
                    row.case.name,
                    run.load.client_busy * 100.0,
                    run.load.requests_per_sec,
                );
            }
        }
    }
}

/// One case's gap to the baseline, split at the floor.
pub(crate) struct FloorRow {
    /// The floor against the baseline: what the work every mock must do costs.
    pub(crate) floor: Row,
    /// The mock against the floor: what the mock costs beyond that work.
    pub(crate) mock: Row,
}

/// Where the gap goes: the floor's ratio to the baseline, and the mock's to the floor.
pub(crate) fn render_floor(rows: &[FloorRow]) -> String {
    let mut out = String::new();
    table_head(
        &mut out,
        &[
            "case",
            "floor / baseline",
            "per round",
            "mock / floor",
            "per round",
            "measured",
            "one after the other: floor / baseline, mock / floor",
            "floor req/s",
            "floor p99",
            "server CPU a request, user (mock / floor / baseline)",
            "system (mock / floor / baseline)",
            "side by side, CPU a request (mock / floor / baseline)",
        ],
    );
    for FloorRow { floor, mock } in rows {
        // The floor row compares the floor with the baseline; the mock row, the mock with the floor.
        let (mock_cpu, floor_cpu, baseline_cpu) =
            (mock.mock_cpu, floor.mock_cpu, floor.baseline_cpu);
        let (floor_ratio, _, how, floor_rounds) = floor.headline();
        let (mock_ratio, _, _, mock_rounds) = mock.headline();
        let side_cpu = if floor.side.is_empty() || mock.side.is_empty() {
            "—".to_owned()
        } else {
            // The median CPU time a request of one side of a pair, in µs.
            let us = |runs: &[PairRun], share: fn(&PairRun) -> &Share| {
                let ns: Vec<f64> = runs
                    .iter()
                    .map(|run| share(run).cpu_ns_per_request())
                    .collect();
                median(&ns) / 1000.0
            };
            format!(
                "{:.1} / {:.1} / {:.1} µs",
                us(&mock.side, |run| &run.a),
                us(&floor.side, |run| &run.a),
                us(&floor.side, |run| &run.b),
            )
        };
        let _ = writeln!(
            out,
            "| {} | {floor_ratio:.2}× | {floor_rounds} | {mock_ratio:.2}× | {mock_rounds} | {how} | {:.2}× ({}), {:.2}× ({}) | {:.0} | {:.2} ms | {:.1} / {:.1} / {:.1} µs | {:.1} / {:.1} / {:.1} µs | {side_cpu} |",
            floor.case.name,
            floor.ratio(),
            floor.rounds(),
            mock.ratio(),
            mock.rounds(),
            floor.mock.load.requests_per_sec,
            floor.mock.load.p99_ms,
            mock_cpu.user_us,
            floor_cpu.user_us,
            baseline_cpu.user_us,
            mock_cpu.system_us,
            floor_cpu.system_us,
            baseline_cpu.system_us,
        );
    }
    let _ = writeln!(
        out,
        "\nfloor: the baseline doing, per request, the least work any faithful mock must do (SHA-256 token \
         lookup, rate-limit and Vary headers, a journal entry, a queued access line); floor / baseline \
         is the most any mock can reach on this machine, mock / floor what the mock costs beyond it. \
         Server CPU a request: each server's user and system CPU time over its measured run (one after \
         the other) divided by wrk's requests (medians over the rounds), which says whether a gap is \
         the server's own code (user) or the kernel's work for it (system); side by side, its whole CPU \
         time a request, from the scheduler's count. \
         In the write-mixed case the floor answers the POSTs from captured bodies and keeps no console: \
         it bounds the per-request work, not the state a write changes."
    );
    out
}

/// The proxy's cost: each row's `mock` is the proxy in front of the mock, its `baseline` the
/// mock alone, in the same run.
pub(crate) fn render_proxy(rows: &[Row]) -> String {
    let mut out = String::new();
    table_head(
        &mut out,
        &[
            "case (proxy)",
            "through the proxy req/s",
            "mock alone req/s",
            "ratio",
            "proxied p50 / p99",
            "direct p50 / p99",
            "p99 ratio",
            "ratio per round",
            "failed answers (proxied/direct)",
        ],
    );
    for row in rows {
        let Row {
            case,
            mock: proxied,
            baseline: direct,
            ..
        } = row;
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.2}× | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2}× | {} | {}/{} |",
            case.name,
            proxied.load.requests_per_sec,
            direct.load.requests_per_sec,
            row.ratio(),
            proxied.load.p50_ms,
            proxied.load.p99_ms,
            direct.load.p50_ms,
            direct.load.p99_ms,
            proxied.load.p99_ms / direct.load.p99_ms.max(0.001),
            row.rounds(),
            proxied.load.failures,
            direct.load.failures,
        );
    }
    let _ = writeln!(
        out,
        "\nthe proxy and the mock share the server's core: the ratio is what a client gets through the proxy \
         on the same CPU, every answer judged against the contract."
    );
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::load::LoadResult;
    use crate::bench::proc::ProcessTicks;

    fn run(requests_per_sec: f64) -> Measurement {
        Measurement {
            first_answer: Duration::from_millis(5),
            idle_rss_kib: 10 * 1024,
            load: LoadResult {
                requests: requests_per_sec as u64,
                requests_per_sec,
                p50_ms: 0.5,
                p99_ms: 1.0,
                failures: 0,
                client_busy: 0.5,
            },
            server_ticks: ProcessTicks {
                user: 40,
                system: 60,
            },
            machine_busy_cores: 1.0,
        }
    }

    #[test]
    fn a_row_pairs_rounds_in_order_and_reports_medians() {
        let case = crate::bench::CASES[0];
        // A lucky third round for each server: best against best would say 0.95 (PASS);
        // the pairs say 0.50, 0.75 and 0.95, whose median is 0.75.
        let mut mock = vec![run(50.0), run(90.0), run(190.0)];
        mock[0].load.p99_ms = 4.0;
        let row = Row::new(case, mock, vec![run(100.0), run(120.0), run(200.0)]);
        assert_eq!(row.round_ratios, vec![0.5, 0.75, 0.95]);
        assert_eq!(row.round_p99_ratios, vec![4.0, 1.0, 1.0]);
        assert_eq!(row.mock.load.requests_per_sec, 90.0);
        assert_eq!(row.baseline.load.requests_per_sec, 120.0);
        let log = Row::new(
            case,
            vec![run(96.0), run(90.0), run(99.0)],
            vec![run(100.0), run(100.0), run(100.0)],
        );
        let table = render(&[row], Some(&log));
        assert!(table.contains("| 0.50, 0.75, 0.95 |"), "{table}");
        assert!(table.contains("0.75× (≥ 0.9) MISS"), "{table}");
        assert!(table.contains("| 1.00× (≤ 1.5) PASS |"), "{table}");
        assert!(
            table.contains(
                "96 req/s vs 100 at warn, cost 4.0% of throughput (per round: 4.0%, 10.0%, 1.0%)"
            ),
            "{table}"
        );
    }

    #[test]
    fn only_the_read_cases_judge_the_p99() {
        let slow = || {
            let mut run = run(90.0);
            run.load.p99_ms = 2.0;
            vec![run]
        };
        let table = render(
            &[
                Row::new(crate::bench::CASES[1], slow(), vec![run(100.0)]),
                Row::new(crate::bench::CASES[2], slow(), vec![run(100.0)]),
            ],
            None,
        );
        assert!(
            table.contains("| 2.00× (≤ 1.5) MISS |"),
            "the console read is judged: {table}"
        );
        assert!(
            table.contains("| 2.00× (no target) |"),
            "the write-mixed p99 is shown, not judged: {table}"
        );
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[1.0, 0.25, 0.75, 0.5]), 0.625);
        assert_eq!(median(&[0.8]), 0.8);
        assert_eq!(median(&[]), 0.0);
        let runs = vec![run(30.0), run(10.0), run(40.0), run(20.0)];
        assert_eq!(median_run(runs).load.requests_per_sec, 20.0);
    }

    #[test]
    fn a_run_whose_wrk_was_always_busy_is_called_bound_by_the_load_generator() {
        let case = crate::bench::CASES[0];
        let mut saturated = run(120.0);
        saturated.load.client_busy = 0.97;
        let bound = render(&[Row::new(case, vec![run(90.0)], vec![saturated])], None);
        assert!(bound.contains("| 50%/97% |"), "{bound}");
        assert!(
            bound.contains(
                "bound by the load generator (GET /servers): wrk was 97% busy against the baseline, \
                 whose 120 req/s is a lower bound; the ratio is an upper bound, and the req per \
                 server CPU-s ratio (0.75×) is the one to read."
            ),
            "{bound}"
        );
        // An upper bound that misses still misses.
        assert!(bound.contains("| 0.75× (≥ 0.9) MISS |"), "{bound}");
        assert!(!bound.contains("against the mock"), "{bound}");
        let free = render(&[Row::new(case, vec![run(90.0)], vec![run(120.0)])], None);
        assert!(!free.contains("bound by the load generator ("), "{free}");
    }

    #[test]
    fn a_ratio_the_load_generator_caps_on_the_deciding_side_is_unsure() {
        let case = crate::bench::CASES[0];
        let busy = |requests_per_sec: f64| {
            let mut run = run(requests_per_sec);
            run.load.client_busy = 0.97;
            run
        };
        let table = |mock: Measurement, baseline: Measurement| {
            render(&[Row::new(case, vec![mock], vec![baseline])], None)
        };
        // The baseline could have answered more: 0.92 may be less than 0.9.
        let upper = table(run(110.0), busy(120.0));
        assert!(upper.contains("| 0.92× (≥ 0.9) UNSURE |"), "{upper}");
        // The mock could have answered more: 0.80 may be more than 0.9.
        let lower = table(busy(80.0), run(100.0));
        assert!(lower.contains("| 0.80× (≥ 0.9) UNSURE |"), "{lower}");
        // A lower bound that passes still passes.
        let passed = table(busy(95.0), run(100.0));
        assert!(passed.contains("| 0.95× (≥ 0.9) PASS |"), "{passed}");
        // The CPU-normalised ratio has its own verdict, which wrk does not cap: each run
        // here spends the same CPU, so it follows the requests.
        assert!(
            upper.contains("| 0.92× (0.92) | 0.92× (≥ 0.9) PASS |"),
            "{upper}"
        );
        assert!(
            lower.contains("| 0.80× (0.80) | 0.80× (≥ 0.9) MISS |"),
            "{lower}"
        );
    }

    #[test]
    fn the_floor_table_splits_the_gap_at_the_floor() {
        let case = crate::bench::CASES[0];
        let floor = Row::new(
            case,
            vec![run(80.0), run(85.0), run(90.0)],
            vec![run(100.0), run(100.0), run(100.0)],
        );
        // Each run: 0.4 s of user and 0.6 s of system CPU. The mock's runs served 50, 80 and
        // 62 requests: the medians are 0.4 s / 62 and 0.6 s / 62 a request.
        let mut mock = vec![run(60.0), run(68.0), run(81.0)];
        for (run, requests) in mock.iter_mut().zip([50, 80, 62]) {
            run.load.requests = requests;
        }
        let mock = Row::new(case, mock, vec![run(80.0), run(85.0), run(90.0)]);
        let table = render_floor(&[FloorRow { floor, mock }]);
        assert!(
            table.contains(
                "| GET /servers | 0.85× | 0.80, 0.85, 0.90 | 0.80× | 0.75, 0.80, 0.90 | one after the other, req/s |"
            ),
            "{table}"
        );
        // The floor's median run: 85 requests; the baseline's: 100.
        assert!(
            table.contains(
                "| 85 | 1.00 ms | 6451.6 / 4705.9 / 4000.0 µs | 9677.4 / 7058.8 / 6000.0 µs | — |"
            ),
            "{table}"
        );
    }

    /// A side-by-side run in which `a` spent `a_us` and `b` spent `b_us` of CPU a request.
    fn pair(a_us: f64, b_us: f64) -> PairRun {
        let share = |us: f64| Share::measured(1_000, (us * 1_000_000.0) as u64);
        PairRun {
            a: share(a_us),
            b: share(b_us),
            server_core_busy: 0.98,
        }
    }

    #[test]
    fn side_by_side_runs_decide_the_verdict_over_runs_one_after_the_other() {
        let case = crate::bench::CASES[0];
        // One after the other the machine sped up for the mock: 1.10, a PASS on its own.
        // Side by side the mock spends 10 µs a request to the baseline's 8.5: 0.85.
        let row = Row::new(case, vec![run(110.0)], vec![run(100.0)])
            .side_by_side(vec![pair(10.0, 8.5), pair(10.0, 8.6), pair(10.0, 8.4)])
            .same_server(vec![pair(8.0, 8.08), pair(8.0, 7.92), pair(8.0, 8.0)]);
        let table = render(&[row], None);
        assert!(
            table.contains(
                "| GET /servers | 0.85× (≥ 0.9) MISS | side by side, req per server CPU-s | 0.85, 0.86, 0.84 | 110 | 100 | 1.10× (1.10) | 1.10× |"
            ),
            "{table}"
        );
        assert!(
            table.contains(
                "the server core was 98% busy (median); the baseline against a copy of itself, \
                 measured the same way: 1.00× (per round: 1.01, 0.99, 1.00)"
            ),
            "{table}"
        );
        // The access log's cost, side by side: the mock at its default level spends 10.4 µs
        // to the mock at warn's 10: a 3.8% cost, whatever the runs one after the other say.
        let log =
            Row::new(case, vec![run(80.0)], vec![run(100.0)]).side_by_side(vec![pair(10.4, 10.0)]);
        let table = render(&[], Some(&log));
        assert!(
            table.contains("side by side with the mock at warn, cost 3.8% per server CPU-s (per round: 3.8%) (target < 5%) PASS; one after the other: 80 req/s vs 100 at warn, cost 20.0%"),
            "{table}"
        );
    }

    #[test]
    fn the_floor_table_reads_side_by_side_runs_when_there_are_some() {
        let case = crate::bench::CASES[0];
        let floor =
            Row::new(case, vec![run(80.0)], vec![run(100.0)]).side_by_side(vec![pair(9.0, 8.1)]);
        let mock =
            Row::new(case, vec![run(60.0)], vec![run(80.0)]).side_by_side(vec![pair(10.0, 9.0)]);
        let table = render_floor(&[FloorRow { floor, mock }]);
        assert!(
            table.contains(
                "| GET /servers | 0.90× | 0.90 | 0.90× | 0.90 | side by side, req per server CPU-s | 0.80× (0.80), 0.75× (0.75) |"
            ),
            "{table}"
        );
        assert!(table.contains("| 10.0 / 9.0 / 8.1 µs |"), "{table}");
    }

    #[test]
    fn the_tuned_line_divides_the_judged_ratio_by_what_the_setting_gives_bare_hyper() {
        let case = crate::bench::CASES[0];
        // The mock spends 10 µs a request to bare hyper's 9 (0.90); bare hyper with writev
        // off spends 8.65 µs to its own 9 at the defaults (1.04).
        let row = Row::new(case, vec![run(90.0)], vec![run(100.0)]).side_by_side(vec![
            pair(10.0, 9.0),
            pair(10.0, 9.0),
            pair(10.0, 9.0),
        ]);
        let tuned = [pair(8.65, 9.0), pair(8.7, 9.0), pair(8.6, 9.0)];
        let line = render_tuned(&row, &tuned);
        assert!(
            line.contains(
                "bare hyper so tuned runs 1.04× bare hyper at hyper's defaults side by side (per round: 1.04, 1.03, 1.05); against it the mock's 0.90× would read 0.87×"
            ),
            "{line}"
        );
        // Without side-by-side runs there is nothing to say.
        let alone = Row::new(case, vec![run(90.0)], vec![run(100.0)]);
        assert_eq!(render_tuned(&alone, &tuned), "");
    }

    /// A tail run in which `a`'s p99 was `a_ms` and `b`'s `b_ms`, both answering `served` a second.
    fn tail_run(a_ms: f64, b_ms: f64, served: f64) -> TailRun {
        let side = |p99_ms| LoadResult {
            requests: served as u64 * 3,
            requests_per_sec: served,
            p50_ms: p99_ms / 4.0,
            p99_ms,
            failures: 0,
            client_busy: 0.3,
        };
        TailRun {
            a: side(a_ms),
            b: side(b_ms),
        }
    }

    #[test]
    fn the_tail_at_equal_load_judges_the_p99_by_the_median_of_its_rounds() {
        let case = crate::bench::CASES[0];
        // At saturation, one after the other, the mock's p99 was 4× the baseline's.
        let mut mock = run(90.0);
        mock.load.p99_ms = 4.0;
        let tail = |runs| Tail {
            offered: 1000,
            runs,
            same: vec![tail_run(1.0, 1.1, 1000.0), tail_run(1.2, 1.0, 1000.0)],
        };
        // At equal load one round was unlucky (3.00), the other two 1.20 and 1.40: 1.40 PASS.
        let passing = Row::new(case, vec![mock], vec![run(100.0)]).tail(tail(vec![
            tail_run(1.2, 1.0, 1000.0),
            tail_run(3.0, 1.0, 990.0),
            tail_run(1.4, 1.0, 1000.0),
        ]));
        let table = render(std::slice::from_ref(&passing), None);
        assert!(
            table.contains("| 4.00× (at saturation, not judged: see the tail) |"),
            "{table}"
        );
        assert!(!table.contains("(≤ 1.5) MISS"), "{table}");
        let tail_table = render_tail(&[passing]);
        assert!(
            tail_table.contains(
                "| GET /servers | 1000 req/s | 1.40× (≤ 1.5) PASS | 1.20, 3.00, 1.40 | 1.40 / 1.00 ms | 0.35 / 0.25 ms | 1.05× (0.91, 1.20) | 990 / 990 | 0/0 | 30%/30% | — |"
            ),
            "{tail_table}"
        );
        // Two rounds of three over the target: the median misses.
        let missing = Row::new(case, vec![run(90.0)], vec![run(100.0)]).tail(tail(vec![
            tail_run(1.2, 1.0, 1000.0),
            tail_run(1.6, 1.0, 1000.0),
            tail_run(2.0, 1.0, 1000.0),
        ]));
        // wrk's p99s in the side-by-side throughput runs: the mock's 2 ms to the baseline's
        // 1, the baseline's 1 to its copy's 1.25.
        let saturated = |a_ms, b_ms| {
            let mut run = pair(10.0, 9.0);
            run.a.load.p99_ms = a_ms;
            run.b.load.p99_ms = b_ms;
            run
        };
        let missing = missing
            .side_by_side(vec![saturated(2.0, 1.0)])
            .same_server(vec![saturated(1.0, 1.25)]);
        let tail_table = render_tail(&[missing]);
        assert!(
            tail_table.contains("| 1.60× (≤ 1.5) MISS |"),
            "{tail_table}"
        );
        assert!(tail_table.contains("| 2.00× (0.80×) |"), "{tail_table}");
        assert!(!tail_table.contains("UNSURE"), "{tail_table}");
    }

    /// The tail table of `case` with `runs` at 1000 requests a second offered, the control
    /// even.
    fn tail_table(case: Case, runs: Vec<TailRun>) -> String {
        render_tail(&[
            Row::new(case, vec![run(90.0)], vec![run(100.0)]).tail(Tail {
                offered: 1000,
                runs,
                same: vec![tail_run(1.0, 1.0, 1000.0)],
            }),
        ])
    }

    #[test]
    fn a_tail_the_baseline_or_the_load_generator_did_not_keep_up_with_is_unsure() {
        let table = |runs| tail_table(crate::bench::CASES[1], runs);
        // The baseline answered 900 a second of the 1000 offered in the second run; the mock
        // all of them. Each side's figures sit in their own place in the row.
        let mut short = tail_run(1.1, 1.0, 1000.0);
        short.b.requests_per_sec = 900.0;
        short.a.failures = 0;
        short.b.failures = 2;
        short.a.client_busy = 0.4;
        short.b.client_busy = 0.2;
        let baseline_short = table(vec![tail_run(1.0, 1.0, 1000.0), short]);
        assert!(
            baseline_short.contains(
                "| 1.05× (≤ 1.5) UNSURE | 1.00, 1.10 | 1.05 / 1.00 ms | 0.26 / 0.25 ms | 1.00× (1.00) | 1000 / 900 | 0/2 | 35%/25% |"
            ),
            "{baseline_short}"
        );
        assert!(
            baseline_short.contains(
                "the tail of GET /servers/123/console?lines=100 is UNSURE: the baseline answered 900 a second of the 1000 offered in a run, so a p99 there is not the server's latency at that rate; run with a lower --tail-rate."
            ),
            "{baseline_short}"
        );
        // Failed answers alone (a timeout is in no percentile) leave it open too.
        let mut failed = tail_run(1.0, 1.0, 1000.0);
        failed.b.failures = 3;
        let baseline_failed = table(vec![failed]);
        assert!(
            baseline_failed.contains("UNSURE: the baseline failed 3 answers"),
            "{baseline_failed}"
        );
        // The two ohas together kept their core 96% busy: their lag counts as latency.
        let mut busy = tail_run(1.0, 1.0, 1000.0);
        busy.a.client_busy = 0.5;
        busy.b.client_busy = 0.46;
        let clients = table(vec![busy]);
        assert!(
            clients.contains("UNSURE: the two ohas kept their core 96% busy in a run"),
            "{clients}"
        );
        // Rows without a tail print nothing.
        assert_eq!(
            render_tail(&[Row::new(
                crate::bench::CASES[1],
                vec![run(90.0)],
                vec![run(100.0)]
            )]),
            ""
        );
    }

    #[test]
    fn a_mock_that_falls_short_where_the_baseline_kept_up_misses_whatever_its_p99() {
        let table = |runs| tail_table(crate::bench::CASES[0], runs);
        // Stalled requests that timed out are in no percentile: the p99s are equal.
        let mut timed_out = tail_run(1.0, 1.0, 1000.0);
        timed_out.a.failures = 20;
        let failed = table(vec![timed_out]);
        assert!(failed.contains("| 1.00× (≤ 1.5) MISS |"), "{failed}");
        assert!(
            failed.contains(
                "the tail of GET /servers is MISS: the mock failed 20 answers, so a p99 there is not the server's latency at that rate, which the baseline answered in full."
            ),
            "{failed}"
        );
        let mut slow = tail_run(1.0, 1.0, 1000.0);
        slow.a.requests_per_sec = 940.0;
        let short = table(vec![slow]);
        assert!(
            short.contains("MISS: the mock answered 940 a second of the 1000 offered in a run"),
            "{short}"
        );
    }
}
