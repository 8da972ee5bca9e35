//! `beacon-mock`: serve both Beacon APIs from embedded fixtures.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use beacon_mock::Api;
use beacon_mock::{Fixtures, MockServer, TlsConfig};
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[derive(Parser)]
#[command(
    name = "beacon-mock",
    version,
    about = "A faithful, stateful mock of the Beacon Status and Panel APIs"
)]
#[command(args_conflicts_with_subcommands = true, after_help = LIMITS)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand, `beacon-mock [FLAGS]` means `beacon-mock serve [FLAGS]`.
    #[command(flatten)]
    serve: ServeArgs,
}

/// The bounds the README's "Limits and safety" section lists, shown by `--help`.
const LIMITS: &str = "\
Limits (per API):
  request bodies 64 KiB (413); read cache 32 MiB and request journal 16 MiB, oldest dropped first;
  journal paths cut to 2 KiB, bodies and headers to 4 KiB; 1,000 faults and 100,000 minted tokens (409 when full, until a reset);
  rate-limit windows for at most 100,000 keys; fixture files regular and at most 16 MiB;
  a TLS handshake (--tls), like a request head, must finish within --read-timeout (a head, and an idle
  keep-alive connection, within a quarter more).
Admin API (/__admin/): open to loopback callers while every listener is on loopback; otherwise, or with
  --admin-token, it requires Authorization: Bearer <admin token>. Requests with another Origin are 403;
  bodies must be Content-Type: application/json (415).";

#[derive(Subcommand)]
enum Command {
    /// Serve the APIs (the default).
    #[command(after_help = LIMITS)]
    Serve(ServeArgs),
    /// Forward one API's traffic to a real deployment, report where either side breaks the
    /// contract, and optionally record what it reads into fixtures.
    #[command(after_help = PROXY_HELP)]
    Proxy(ProxyArgs),
}

const PROXY_HELP: &str = "\
Point your client at the printed base URL instead of the deployment's. Every request and answer
passes unchanged; an answer whose exchange broke a rule carries Beacon-Contract-Violations: <count>.
GET /__admin/violations lists what broke (rule, provenance, side, operation, message, time);
DELETE clears it. Each violation is also logged as one warning line. Tokens are forwarded, never
stored or logged in full. With --record DIR, successful reads are written to DIR/<api>.json (the
format `beacon-mock serve --only <api> --fixtures DIR` loads) with placeholder tokens, printed at exit.";

#[derive(clap::Args)]
struct ProxyArgs {
    /// The API the upstream serves.
    #[arg(long, value_enum, env = "BEACON_MOCK_PROXY_API")]
    api: OnlyApi,
    /// The deployment's base URL, e.g. https://panel.example.com/api/v1.
    #[arg(long, value_name = "URL", env = "BEACON_MOCK_UPSTREAM")]
    upstream: String,
    /// Address to listen on [default: 127.0.0.1:4010 for Status, 127.0.0.1:4011 for Panel].
    #[arg(long, value_name = "ADDR", env = "BEACON_MOCK_PROXY_LISTEN", value_parser = listen_addr)]
    listen: Option<SocketAddr>,
    /// Record successful reads into DIR/<api>.json, written as it goes and at exit.
    #[arg(long, value_name = "DIR", env = "BEACON_MOCK_RECORD")]
    record: Option<PathBuf>,
    #[command(flatten)]
    listener: ListenerArgs,
}

/// The flags `serve` and `proxy` share.
#[derive(clap::Args)]
struct ListenerArgs {
    /// Require `Authorization: Bearer TOKEN` on the admin API (/__admin/). Without it the
    /// admin API is open while listening on loopback only; beyond loopback a token is
    /// generated and printed once.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "BEACON_MOCK_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// How long a request's head, and then its body, may take to arrive (for the proxy, also
    /// each read of the upstream's answer).
    #[arg(long, value_name = "SECS", default_value_t = 30, env = "BEACON_MOCK_READ_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=beacon_mock::MAX_READ_TIMEOUT.as_secs()))]
    read_timeout: u64,
}

impl ListenerArgs {
    /// `--admin-token`, checked.
    fn admin_token(&self) -> anyhow::Result<Option<&str>> {
        if let Some(token) = &self.admin_token {
            anyhow::ensure!(
                beacon_mock::is_bearer_token(token),
                "--admin-token must be 1 to 256 visible ASCII characters without spaces"
            );
        }
        Ok(self.admin_token.as_deref())
    }

    fn read_timeout(&self) -> Duration {
        Duration::from_secs(self.read_timeout)
    }
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address of the Status API listener.
    #[arg(
        long,
        default_value = "127.0.0.1:4010",
        env = "BEACON_MOCK_STATUS_ADDR",
        value_parser = listen_addr
    )]
    status_addr: SocketAddr,
    /// Address of the Panel API listener.
    #[arg(
        long,
        default_value = "127.0.0.1:4011",
        env = "BEACON_MOCK_PANEL_ADDR",
        value_parser = listen_addr
    )]
    panel_addr: SocketAddr,
    /// Serve only one API.
    #[arg(long, value_enum, env = "BEACON_MOCK_ONLY")]
    only: Option<OnlyApi>,
    /// Accept this token too (repeatable; the variable takes a comma-separated list): on Panel
    /// always, and on Status too when it is a Status token (bkn_live_ and 32 lowercase letters
    /// or digits; a bkn_live_ token of another shape is refused). A fixture token keeps its
    /// own account or workspace.
    #[arg(
        long = "token",
        value_name = "TOKEN",
        env = "BEACON_MOCK_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    tokens: Vec<String>,
    /// Load status.json and panel.json from this directory instead of the embedded fixtures
    /// (with --only, just that API's file).
    #[arg(long, value_name = "DIR", env = "BEACON_MOCK_FIXTURES")]
    fixtures: Option<PathBuf>,
    /// Reload the --fixtures files when one changes (checked every 500 ms): that API's state
    /// and fixture tokens are replaced, minted tokens and rate-limit windows kept. A broken
    /// file is logged and the previous fixtures stay.
    #[arg(long, env = "BEACON_MOCK_WATCH", requires = "fixtures")]
    watch: bool,
    /// Length of every rate-limit window in seconds (documented: 60).
    #[arg(long, value_name = "SECS", env = "BEACON_MOCK_RATE_LIMIT_WINDOW", value_parser = clap::value_parser!(u64).range(1..=beacon_mock::MAX_RATE_LIMIT_WINDOW.as_secs()))]
    rate_limit_window: Option<u64>,
    /// Replace every per-window limit (for load tests).
    #[arg(long, value_name = "LIMIT", env = "BEACON_MOCK_RATE_LIMIT", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
    #[command(flatten)]
    listener: ListenerArgs,
    /// How long shutdown (Ctrl-C, SIGTERM) lets in-flight requests run before closing them;
    /// injected latency can be up to 60 s.
    #[arg(long, value_name = "SECS", default_value_t = 10, env = "BEACON_MOCK_SHUTDOWN_TIMEOUT", value_parser = clap::value_parser!(u64).range(0..=3_600))]
    shutdown_timeout: u64,
    /// Connections each listener serves at once; further ones wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 1_000, env = "BEACON_MOCK_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Turn CORS off on the Beacon routes. By default a browser page on any origin may call
    /// them: preflights are answered 204 and the rate-limit headers are exposed.
    #[arg(long, env = "BEACON_MOCK_NO_CORS")]
    no_cors: bool,
    /// Serve both listeners over HTTPS with a self-signed certificate generated at start for
    /// localhost, 127.0.0.1 and ::1. Its PEM is written to a file the banner names (in
    /// --tls-dir, else the OS temp directory), e.g. for `curl --cacert FILE`.
    #[arg(long, env = "BEACON_MOCK_TLS")]
    tls: bool,
    /// Serve HTTPS with this PEM certificate chain instead (needs --tls-key; implies --tls).
    #[arg(
        long,
        value_name = "PATH",
        env = "BEACON_MOCK_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        value_name = "PATH",
        env = "BEACON_MOCK_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Where --tls writes the generated certificate (created if missing; default: the OS temp
    /// directory). The file is named beacon-mock-<pid>.pem and removed at exit.
    #[arg(long, value_name = "DIR", env = "BEACON_MOCK_TLS_DIR")]
    tls_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OnlyApi {
    Status,
    Panel,
}

fn main() {
    let cli = Cli::parse();
    let log = access_log::BatchedStderr::start();
    // One line per request goes through `AccessLine`, formatted by hand; everything else
    // through tracing-subscriber's formatter. Both honour RUST_LOG.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The access line is left to `AccessLine` by the formatter and the writer, not by a
    // per-layer filter: with one, every event (one per request) would run the global
    // filter's directives again, where without one each call site's interest is cached.
    let others = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .event_format(access_log::SkipAccessLines(
            tracing_subscriber::fmt::format().with_timer(access_log::CachedTime),
        ))
        .with_writer(
            log.clone()
                .with_filter(|meta| meta.target() != beacon_mock::REQUEST_LOG_TARGET),
        );
    tracing_subscriber::registry()
        .with(filter)
        .with(others)
        .with(access_log::AccessLine::new(log.clone()))
        .init();
    let result = match cli.command {
        Some(Command::Serve(args)) => run(args, &log),
        None => run(cli.serve, &log),
        Some(Command::Proxy(args)) => run_proxy(args),
    };
    log.stop();
    if let Err(error) = result {
        eprintln!("beacon-mock: {error:#}");
        std::process::exit(2);
    }
}

fn api_of(only: OnlyApi) -> Api {
    match only {
        OnlyApi::Status => Api::Status,
        OnlyApi::Panel => Api::Panel,
    }
}

#[tokio::main]
async fn run_proxy(args: ProxyArgs) -> anyhow::Result<()> {
    let api = api_of(args.api);
    let mut builder = beacon_mock::proxy::Proxy::builder(api, &args.upstream)
        .read_timeout(args.listener.read_timeout());
    if let Some(addr) = args.listen {
        builder = builder.listen(addr);
    }
    if let Some(dir) = &args.record {
        builder = builder.record(dir);
    }
    if let Some(token) = args.listener.admin_token()? {
        builder = builder.admin_token(token);
    }
    let proxy = builder.start().await?;
    println!(
        "{} proxy  {} -> {}",
        api.title(),
        proxy.base_url(),
        args.upstream.trim_end_matches('/')
    );
    if let Some(recording) = proxy.recording() {
        println!("  recording into   {}", recording.file.display());
    }
    if !proxy.addr().ip().is_loopback() {
        println!(
            "warning: the proxy listens on {}, beyond loopback: anyone who can reach it can use it",
            proxy.addr()
        );
    }
    if let (Some(token), None) = (proxy.admin_token(), &args.listener.admin_token) {
        // Generated: shown here once, like a minted token.
        println!("  admin token      {token}");
    }
    println!(
        "Admin API: GET and DELETE http://{}/__admin/violations{}. Ctrl-C to stop.",
        proxy.addr(),
        if proxy.admin_token().is_some() {
            " with Authorization: Bearer <admin token>"
        } else {
            ""
        }
    );
    shutdown_signal().await;
    let violations = proxy.violations().len();
    let recording = proxy
        .shutdown()
        .await
        .context("cannot write the recording")?;
    println!("{violations} contract violations seen");
    if let Some(recording) = recording {
        println!(
            "Recorded {} into {}; replay with: beacon-mock serve --only {} --fixtures {}",
            match recording.principals.len() {
                1 => "1 principal".to_owned(),
                n => format!("{n} principals"),
            },
            recording.file.display(),
            api.name(),
            recording
                .file
                .parent()
                .map_or(".".into(), |d| d.display().to_string()),
        );
        // The recording's own placeholder tokens, not the upstream's: printed for convenience.
        for principal in &recording.principals {
            println!("  {:<16} {}", principal.id, principal.token);
        }
    }
    Ok(())
}

/// A listener address: `IP:PORT`, or `HOST:PORT` for a name this machine resolves (such as
/// `localhost:4010`), taking its first IPv4 address if it has one.
fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let unknown = || format!("{text:?} is not IP:PORT or a HOST:PORT this machine resolves");
    // A port past 65535 (or not a number) is said as such, not as a name that did not resolve.
    if let Some((_, port)) = text.rsplit_once(':') {
        if port.parse::<u16>().is_err() {
            return Err(format!(
                "{text:?}: the port must be a number from 0 to 65535"
            ));
        }
    }
    let addrs: Vec<SocketAddr> = text.to_socket_addrs().map_err(|_| unknown())?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(unknown)
}

#[tokio::main]
async fn run(args: ServeArgs, log: &access_log::BatchedStderr) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.only.is_some() || args.status_addr != args.panel_addr || args.status_addr.port() == 0,
        "--status-addr and --panel-addr are both {}: each API needs its own address (or pass --only)",
        args.status_addr
    );
    let fixtures = match (&args.fixtures, args.only) {
        (Some(dir), Some(only)) => {
            Fixtures::from_dir_for(dir, api_of(only)).context("invalid fixtures")?
        }
        (Some(dir), None) => Fixtures::from_dir(dir).context("invalid fixtures")?,
        (None, _) => Fixtures::embedded(),
    };
    let mut builder = MockServer::builder();
    // The access line straight to the log, past `tracing`, unless `RUST_LOG` turns it off.
    if tracing::enabled!(target: beacon_mock::REQUEST_LOG_TARGET, tracing::Level::INFO) {
        builder = builder.request_log(access_log::AccessLine::new(log.clone()));
    }
    let mut builder = builder
        .shutdown_timeout(Duration::from_secs(args.shutdown_timeout))
        .read_timeout(args.listener.read_timeout())
        .max_connections(usize::try_from(args.max_connections).unwrap_or(usize::MAX))
        .fixtures(fixtures)
        .status_addr(args.status_addr)
        .panel_addr(args.panel_addr);
    for token in &args.tokens {
        if let Some(reason) = beacon_mock::token_refusal(token) {
            anyhow::bail!("--token (or BEACON_MOCK_TOKENS): {reason}");
        }
        builder = builder.token(token);
    }
    if let Some(token) = args.listener.admin_token()? {
        builder = builder.admin_token(token);
    }
    if args.no_cors {
        builder = builder.no_cors();
    }
    if let Some(secs) = args.rate_limit_window {
        builder = builder.rate_limit_window(Duration::from_secs(secs));
    }
    if let Some(limit) = args.rate_limit {
        builder = builder.rate_limit(limit);
    }
    if let Some(only) = args.only {
        builder = builder.only(api_of(only));
    }
    let generated = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            builder = builder.tls(TlsConfig::from_pem_files(cert, key)?);
            None
        }
        _ if args.tls => {
            let config = TlsConfig::self_signed()?;
            let file = CertificateFile::write(args.tls_dir.as_deref(), config.certificate_pem())?;
            builder = builder.tls(config);
            Some(file)
        }
        _ => None,
    };
    let mock = builder.try_start().await?;
    // The one place a token is printed in full: the mock's own test tokens, for convenience.
    let tokens = mock.tokens();
    if let Some(url) = mock.base_url(Api::Status) {
        println!("Beacon Status API  {url}");
        println!("  token            {}", tokens.status);
    }
    if let Some(url) = mock.base_url(Api::Panel) {
        println!("Beacon Panel API   {url}");
        // Each account's own id: a recording's fixtures name theirs `acct_rec1`, ….
        for (account, token) in [
            (&tokens.panel_account, &tokens.panel),
            (&tokens.panel_other_account, &tokens.panel_other),
        ] {
            if !token.is_empty() {
                println!("  token ({account})   {token}");
            }
        }
    }
    for api in [Api::Status, Api::Panel] {
        if let Some(addr) = mock.addr(api).filter(|a| !a.ip().is_loopback()) {
            println!(
                "warning: the {} API listens on {addr}, beyond loopback: anyone who can reach it can use the tokens above",
                api.name()
            );
        }
    }
    match (&generated, &args.tls_cert) {
        (Some(file), _) => {
            println!(
                "TLS: self-signed for {}; trust it with curl --cacert <certificate>",
                beacon_mock::SELF_SIGNED_NAMES.join(", ")
            );
            println!("  certificate      {}", file.path.display());
        }
        (None, Some(cert)) => println!("TLS certificate    {}", cert.display()),
        (None, None) => {}
    }
    match mock.admin_token() {
        None => println!(
            "Admin API: /__admin/ on each listener, open to loopback callers only. Ctrl-C to stop."
        ),
        Some(token) => {
            if args.listener.admin_token.is_none() {
                // Generated: shown here once, like a minted token.
                println!("  admin token      {token}");
            }
            println!(
                "Admin API: /__admin/ on each listener; requires Authorization: Bearer <admin token>. Ctrl-C to stop."
            );
        }
    }
    match args.fixtures.as_deref().filter(|_| args.watch) {
        Some(dir) => {
            tracing::info!("watching {} for changes", dir.display());
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = watch_fixtures(&mock, dir, args.only.map(api_of)) => {}
            }
        }
        None => shutdown_signal().await,
    }
    tracing::info!(
        "shutting down; letting in-flight requests finish (at most {} s)",
        args.shutdown_timeout
    );
    mock.shutdown().await;
    drop(generated);
    Ok(())
}

/// How often `--watch` looks at the fixture files.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// A file's modification time and length; `None` while it cannot be read.
type FileStamp = Option<(std::time::SystemTime, u64)>;

fn file_stamp(path: &std::path::Path) -> FileStamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// Reloads each API whose fixture file in `dir` changed, once that file has stood still for
/// one look (not mid-write), through the same checks as at start-up. Each file is watched
/// and loaded on its own, as the two APIs share nothing: a broken `status.json` does not
/// keep a good `panel.json` from loading. A change counts as loaded only once a reload took
/// it; each broken state of a file is reported once. Never returns.
async fn watch_fixtures(mock: &MockServer, dir: &std::path::Path, only: Option<Api>) {
    /// One watched file: its stamp when last loaded, at the last look, and when last refused.
    struct WatchedFile {
        api: Api,
        name: &'static str,
        loaded: FileStamp,
        seen: FileStamp,
        refused: Option<FileStamp>,
    }
    const FILES: [(Api, &str); 2] = [(Api::Status, "status.json"), (Api::Panel, "panel.json")];
    let mut files: Vec<WatchedFile> = FILES
        .into_iter()
        .filter(|(api, _)| only.is_none_or(|only| only == *api))
        .map(|(api, name)| {
            let stamp = file_stamp(&dir.join(name));
            WatchedFile {
                api,
                name,
                loaded: stamp,
                seen: stamp,
                refused: None,
            }
        })
        .collect();
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for file in &mut files {
            let now = file_stamp(&dir.join(file.name));
            let settled = now == file.seen;
            file.seen = now;
            if !settled || now == file.loaded || file.refused == Some(now) {
                continue;
            }
            let (owned, api) = (dir.to_owned(), file.api);
            let parsed =
                tokio::task::spawn_blocking(move || Fixtures::from_dir_for(&owned, api)).await;
            match parsed {
                Ok(Ok(fixtures)) => {
                    file.loaded = now;
                    file.refused = None;
                    if mock.reload_api(api, &fixtures) {
                        tracing::info!("reloaded {}: {}", file.name, fixtures.summary(api));
                    }
                }
                Ok(Err(error)) => {
                    file.refused = Some(now);
                    tracing::warn!(
                        "{:#}; keeping the previous fixtures",
                        anyhow::Error::from(error).context("cannot reload the fixtures")
                    );
                }
                Err(error) => tracing::warn!("fixture reload failed: {error}"),
            }
        }
    }
}

/// The generated certificate's PEM, written for clients to trust; removed on drop.
struct CertificateFile {
    path: PathBuf,
}

impl CertificateFile {
    /// Writes `pem` to `beacon-mock-<pid>.pem` in `dir` (created if missing) or the OS temp
    /// directory, as a new file: a stale one of that name is removed first, and a link planted
    /// there is never followed.
    fn write(dir: Option<&std::path::Path>, pem: &str) -> anyhow::Result<Self> {
        use std::io::Write as _;
        let dir = dir.map_or_else(std::env::temp_dir, std::path::Path::to_path_buf);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create --tls-dir {}", dir.display()))?;
        let path = dir.join(format!("beacon-mock-{}.pem", std::process::id()));
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).with_context(|| format!("cannot replace {}", path.display()));
            }
            _ => {}
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| file.write_all(pem.as_bytes()))
            .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
        Ok(Self { path })
    }
}

impl Drop for CertificateFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The log's writer and clock, cheap enough for one line per request.
mod access_log {
    use std::io::Write;
    use std::sync::Arc;
    use std::thread::JoinHandle;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use beacon_mock::REQUEST_LOG_TARGET;
    use parking_lot::{Condvar, Mutex};
    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;
    use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
    use tracing_subscriber::registry::LookupSpan;

    /// How often queued lines are written out.
    const FLUSH_EVERY: Duration = Duration::from_millis(50);
    /// Queued bytes past which the writer thread is woken early.
    const FLUSH_ABOVE: usize = 64 * 1024;
    /// Queued bytes past which lines are dropped (stderr is not keeping up).
    const DROP_ABOVE: usize = 4 * 1024 * 1024;
    /// Room below [`DROP_ABOVE`] within which a line is formatted straight into the queue:
    /// more than any access line takes.
    const IN_PLACE_ROOM: usize = 64 * 1024;

    #[derive(Debug, Default)]
    struct Queue {
        bytes: Vec<u8>,
        stopped: bool,
    }

    #[derive(Debug, Default)]
    struct Shared {
        queue: Mutex<Queue>,
        wake: Condvar,
    }

    /// Log lines from every thread are formatted into one queue under a short lock; one
    /// background thread writes the queue to stderr every [`FLUSH_EVERY`] (sooner past
    /// [`FLUSH_ABOVE`] bytes). A request pays no system call and wakes no thread.
    #[derive(Debug, Clone)]
    pub(super) struct BatchedStderr {
        shared: Arc<Shared>,
        thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    }

    impl BatchedStderr {
        pub(super) fn start() -> Self {
            let shared = Arc::new(Shared::default());
            let flusher = Arc::clone(&shared);
            let thread = std::thread::Builder::new()
                .name("access-log".into())
                .spawn(move || flush_loop(&flusher))
                .ok();
            Self {
                shared,
                thread: Arc::new(Mutex::new(thread)),
            }
        }

        /// Writes out what is queued and stops the writer thread.
        pub(super) fn stop(&self) {
            self.shared.queue.lock().stopped = true;
            self.shared.wake.notify_one();
            if let Some(thread) = self.thread.lock().take() {
                let _ = thread.join();
            }
        }
    }

    fn flush_loop(shared: &Shared) {
        let mut spare = Vec::new();
        loop {
            let stopped = {
                let mut queue = shared.queue.lock();
                if queue.bytes.len() < FLUSH_ABOVE && !queue.stopped {
                    shared.wake.wait_for(&mut queue, FLUSH_EVERY);
                }
                std::mem::swap(&mut queue.bytes, &mut spare);
                queue.stopped
            };
            if !spare.is_empty() {
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(&spare);
                let _ = stderr.flush();
                spare.clear();
            }
            if stopped {
                return;
            }
        }
    }

    impl BatchedStderr {
        /// Appends the line `format` writes, formatted straight into the queue under its lock:
        /// no copy of the line, and no buffer of its own. A line that would take the queue
        /// past [`DROP_ABOVE`] is dropped; near that bound the line is formatted aside first,
        /// so that the queue never grows past it, even for a moment.
        fn append(&self, format: impl FnOnce(&mut Vec<u8>)) {
            let mut queue = self.shared.queue.lock();
            let before = queue.bytes.len();
            if queue.stopped || before + IN_PLACE_ROOM > DROP_ABOVE {
                let mut line = Vec::new();
                format(&mut line);
                if queue.stopped {
                    // After shutdown: no writer thread is left to write it.
                    drop(queue);
                    let _ = std::io::stderr().write_all(&line);
                    return;
                }
                if before + line.len() <= DROP_ABOVE {
                    queue.bytes.extend_from_slice(&line);
                }
            } else {
                format(&mut queue.bytes);
                if queue.bytes.len() > DROP_ABOVE {
                    // A line longer than `IN_PLACE_ROOM`: dropped, its room given back.
                    queue.bytes.truncate(before);
                    queue.bytes.shrink_to(DROP_ABOVE);
                }
            }
            if before < FLUSH_ABOVE && queue.bytes.len() >= FLUSH_ABOVE {
                self.shared.wake.notify_one();
            }
        }
    }

    impl Write for &BatchedStderr {
        fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
            self.append(|queue| queue.extend_from_slice(line));
            Ok(line.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for BatchedStderr {
        type Writer = &'a BatchedStderr;

        fn make_writer(&'a self) -> Self::Writer {
            self
        }
    }

    /// tracing-subscriber's formatter for every event but the access line, which
    /// [`AccessLine`] writes.
    pub(super) struct SkipAccessLines<F>(pub(super) F);

    impl<S, N, F> FormatEvent<S, N> for SkipAccessLines<F>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
        F: FormatEvent<S, N>,
    {
        fn format_event(
            &self,
            ctx: &FmtContext<'_, S, N>,
            writer: Writer<'_>,
            event: &tracing::Event<'_>,
        ) -> std::fmt::Result {
            if event.metadata().target() == REQUEST_LOG_TARGET {
                // Nothing to write; the writer is filtered too, so nothing is written.
                return Ok(());
            }
            self.0.format_event(ctx, writer, event)
        }
    }

    /// Writes the per-request line (`target: beacon_mock::request`) by hand: the time, the
    /// level, the target and each field as `name=value`, the same text tracing-subscriber's
    /// formatter prints, at a fraction of its cost (no `fmt` machinery, no ANSI styles).
    #[derive(Debug)]
    pub(super) struct AccessLine {
        log: BatchedStderr,
    }

    impl AccessLine {
        pub(super) fn new(log: BatchedStderr) -> Self {
            Self { log }
        }
    }

    /// What follows the time on an `INFO` access line, in one piece.
    const INFO_HEAD: &str = "  INFO beacon_mock::request:";

    /// A line being written into the queue: its pieces, and its `name=value` pairs as
    /// tracing-subscriber's formatter writes them.
    struct Fields<'a>(&'a mut Vec<u8>);

    impl Fields<'_> {
        fn push(&mut self, text: &str) {
            self.0.extend_from_slice(text.as_bytes());
        }

        fn number(&mut self, name: &str, value: u64) {
            self.push(" ");
            self.push(name);
            self.push("=");
            self.push(itoa::Buffer::new().format(value));
        }

        fn text(&mut self, name: &str, value: &str) {
            self.push(" ");
            self.push(name);
            self.push("=\"");
            self.push(value);
            self.push("\"");
        }

        /// A request's fields, as [`Fields::text`] and [`Fields::number`] write them one by
        /// one, with the text between the values written as one piece each.
        fn request(&mut self, api: &str, method: &str, path: &str, status: u16, latency_us: u64) {
            self.push(" api=\"");
            self.push(api);
            self.push("\" method=\"");
            self.push(method);
            self.push("\" path=\"");
            self.push(path);
            self.push("\" status=");
            self.push(itoa::Buffer::new().format(status));
            self.push(" latency_us=");
            self.push(itoa::Buffer::new().format(latency_us));
        }
    }

    impl tracing::field::Visit for Fields<'_> {
        fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
            self.number(field.name(), value);
        }

        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.text(field.name(), value);
        }

        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.push(" ");
            self.push(field.name());
            self.push("=");
            let _ = write!(self.0, "{value:?}");
        }
    }

    impl AccessLine {
        /// Writes one line: the time, the level, the target, then what `fields` appends.
        fn write(&self, at: SystemTime, level: &str, fields: impl FnOnce(&mut Fields<'_>)) {
            self.log.append(|line| {
                CachedTime::push(line, at);
                let mut line = Fields(line);
                if level == "INFO" {
                    line.push(INFO_HEAD);
                } else {
                    line.push("  ");
                    line.push(level);
                    line.push(" ");
                    line.push(REQUEST_LOG_TARGET);
                    line.push(":");
                }
                fields(&mut line);
                line.push("\n");
            });
        }
    }

    /// The mock's own lines, handed over by the library without a `tracing` event.
    impl beacon_mock::RequestLog for AccessLine {
        fn log(&self, request: &beacon_mock::RequestLine<'_>) {
            self.write(request.at, "INFO", |fields| {
                fields.request(
                    request.api.name(),
                    request.method,
                    request.path,
                    request.status,
                    request.latency_us,
                );
            });
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AccessLine {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let meta = event.metadata();
            if meta.target() != REQUEST_LOG_TARGET {
                return;
            }
            self.write(SystemTime::now(), meta.level().as_str(), |fields| {
                event.record(fields);
            });
        }
    }

    impl CachedTime {
        /// Appends `now` as [`FormatTime`] writes it: RFC 3339 UTC with microseconds.
        fn push(line: &mut Vec<u8>, now: SystemTime) {
            let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
            SECOND.with(|second| {
                let mut second = second.borrow_mut();
                if second.0 != since.as_secs() {
                    let text = humantime::format_rfc3339_seconds(now).to_string();
                    *second = (since.as_secs(), text.replace('Z', "."));
                }
                line.extend_from_slice(second.1.as_bytes());
            });
            // The microseconds, zero-padded to six digits, and the zone.
            let mut micros = since.subsec_micros();
            let mut digits = *b"000000Z";
            for digit in digits[..6].iter_mut().rev() {
                *digit = b'0' + (micros % 10) as u8;
                micros /= 10;
            }
            line.extend_from_slice(&digits);
        }
    }

    /// RFC 3339 UTC time with microseconds, as tracing-subscriber's default clock prints it,
    /// formatting the date and time of day once per second per thread.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct CachedTime;

    thread_local! {
        static SECOND: std::cell::RefCell<(u64, String)> = const {
            std::cell::RefCell::new((u64::MAX, String::new()))
        };
    }

    impl FormatTime for CachedTime {
        fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
            let mut time = Vec::with_capacity(32);
            CachedTime::push(&mut time, SystemTime::now());
            w.write_str(std::str::from_utf8(&time).map_err(|_| std::fmt::Error)?)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::time::Duration;

        #[test]
        fn the_info_head_is_the_level_and_the_target() {
            assert_eq!(INFO_HEAD, format!("  INFO {REQUEST_LOG_TARGET}:"));
        }

        #[test]
        fn the_cached_time_is_rfc_3339_with_microseconds_across_seconds() {
            let start = UNIX_EPOCH + Duration::from_secs(1_796_000_000);
            for micros in [
                0,
                7,
                999_999,
                1_000_000,
                1_000_001,
                61_250_000,
                86_400_000_042,
            ] {
                let at = start + Duration::from_micros(micros);
                let mut line = Vec::new();
                CachedTime::push(&mut line, at);
                assert_eq!(
                    String::from_utf8(line).unwrap(),
                    humantime::format_rfc3339_micros(at).to_string()
                );
            }
        }

        #[test]
        fn a_request_s_fields_read_as_each_field_written_alone() {
            let mut fast = Vec::new();
            Fields(&mut fast).request("panel", "GET", "/api/v1/servers?lines=5", 200, 1234);
            let mut one_by_one = Vec::new();
            let mut fields = Fields(&mut one_by_one);
            fields.text("api", "panel");
            fields.text("method", "GET");
            fields.text("path", "/api/v1/servers?lines=5");
            fields.number("status", 200);
            fields.number("latency_us", 1234);
            assert_eq!(fast, one_by_one);
        }
    }
}
