//! The real `beacon-mock` binary, run as the README says.

mod support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::value_after;

struct Running(Child);

impl Running {
    /// Waits up to 10 s for the process to exit on its own.
    fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "did not stop within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM: a graceful shutdown.
    fn sigterm(&self) {
        let pid = self.0.id().to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(kill.unwrap().success(), "kill -TERM {pid}");
    }

    /// Everything the process wrote to stderr; call it once the process has exited.
    fn stderr(&mut self) -> String {
        let mut text = String::new();
        let stderr = self.0.stderr.as_mut().expect("stderr is piped");
        stderr.read_to_string(&mut text).unwrap();
        text
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_beacon-mock"));
    command
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// `beacon-mock serve` on free loopback ports.
fn serve_on_free_ports() -> Command {
    let mut command = bin();
    command.args([
        "serve",
        "--status-addr",
        "127.0.0.1:0",
        "--panel-addr",
        "127.0.0.1:0",
    ]);
    command
}

/// Starts the binary on free ports and reads the base URLs and tokens it prints.
fn start(args: &[&str]) -> (Running, Vec<String>) {
    let mut child = serve_on_free_ports().args(args).spawn().unwrap();
    let lines = support::banner(&mut child);
    (Running(child), lines)
}

/// The status of `GET url` with `token`.
fn status_of(url: &str, token: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn the_binary_prints_urls_and_tokens_that_work() {
    let (_running, lines) = start(&[]);
    let status_url = value_after(&lines, "Beacon Status API");
    let panel_url = value_after(&lines, "Beacon Panel API");
    let status_token = value_after(&lines, "token  ");
    let panel_token = value_after(&lines, "token (acct_1)");
    assert_eq!(
        status_of(&format!("{status_url}/pages"), &status_token),
        200
    );
    assert_eq!(
        status_of(&format!("{panel_url}/servers"), &panel_token),
        200
    );
}

#[test]
fn extra_tokens_are_accepted_where_their_format_fits() {
    let extra = "bkn_live_0123456789abcdefghijklmnopqrstuv";
    let (_running, lines) = start(&["--token", extra, "--token", "my-panel-token-1"]);
    let pages = format!("{}/pages", value_after(&lines, "Beacon Status API"));
    let servers = format!("{}/servers", value_after(&lines, "Beacon Panel API"));
    for (url, token, expected) in [
        (&pages, extra, 200),
        (&servers, extra, 200),
        (&servers, "my-panel-token-1", 200),
        (&pages, "my-panel-token-1", 401),
    ] {
        assert_eq!(status_of(url, token), expected, "{url} with {token}");
    }
}

#[test]
fn only_serves_one_api_and_logs_never_show_a_full_token() {
    let (mut running, lines) = start(&["--only", "panel"]);
    assert!(lines.iter().all(|l| !l.contains("Status API")), "{lines:?}");
    let panel_url = value_after(&lines, "Beacon Panel API");
    let token = value_after(&lines, "token (acct_1)");
    assert_eq!(status_of(&format!("{panel_url}/servers"), &token), 200);
    // A token put in the query, as some clients do, is redacted there too.
    let in_query = format!("{panel_url}/servers?token={token}");
    assert_eq!(status_of(&in_query, &token), 200);
    // SIGTERM: graceful shutdown, exit 0, and the request log line without the token.
    running.sigterm();
    let status = running.wait_for_exit();
    assert!(status.success(), "{status:?}");
    let logs = running.stderr();
    // One access line per request, written once (not also by the general formatter), and
    // the other events too.
    let access: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("beacon_mock::request"))
        .collect();
    assert_eq!(access.len(), 2, "{logs}");
    for line in &access {
        // `2026-11-30T21:34:06.764616Z  INFO beacon_mock::request: api=…`, whole, on one line.
        let (time, _) = line
            .split_once("  INFO beacon_mock::request: api=")
            .unwrap_or_else(|| panic!("not an access line: {line}"));
        assert!(
            time.len() == 27 && time.as_bytes()[10] == b'T' && time.ends_with('Z'),
            "{line}"
        );
    }
    assert!(
        access[0].contains(r#"api="panel" method="GET" path="/api/v1/servers" status=200 "#),
        "{logs}"
    );
    assert!(
        access[1].contains(r#"path="/api/v1/servers?token=panel_…4f60" status=200 "#),
        "{logs}"
    );
    assert_eq!(logs.matches("shutting down").count(), 1, "{logs}");
    assert!(!logs.contains(&token), "a full token leaked into the logs");
}

#[test]
fn bad_flags_and_bad_fixtures_exit_2_naming_the_problem() {
    let output = bin().args(["serve", "--only", "both"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = bin().args(["serve", "--rate-limit", "0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    // A token meant for Status in a shape Status never accepts: refused, without echoing it.
    let mut command = serve_on_free_ports();
    command.args(["--token", "bkn_live_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"]);
    let stderr = refused(command);
    assert!(
        stderr.contains("a Status token is bkn_live_ and 32 lowercase letters or digits"),
        "{stderr}"
    );
    assert!(!stderr.contains("ABCDEFGHIJ"), "{stderr}");
    let output = bin()
        .args(["serve", "--only", "panel"])
        .env("BEACON_MOCK_TOKENS", "a,,b")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("BEACON_MOCK_TOKENS"), "{stderr}");

    let dir = std::env::temp_dir().join(format!("beacon-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    std::fs::copy(fixtures.join("status.json"), dir.join("status.json")).unwrap();
    let panel = std::fs::read_to_string(fixtures.join("panel.json")).unwrap();
    for (from, to, expected) in [
        (
            "\"memory\": 4096",
            "\"memory\": \"lots\"",
            "accounts.0.servers.0.resources.memory",
        ),
        (
            "\"servers/123\"",
            "\"server-123\"",
            "accounts.0.servers.0.id",
        ),
    ] {
        std::fs::write(dir.join("panel.json"), panel.replacen(from, to, 1)).unwrap();
        let output = bin()
            .args(["serve", "--fixtures"])
            .arg(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("panel.json") && stderr.contains(expected),
            "{stderr} names {expected}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = bin()
        .args(["serve", "--only", "status", "--status-addr", &addr])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot bind the status API"), "{stderr}");
    assert_eq!(
        stderr.matches("(os error").count(),
        1,
        "the cause once: {stderr}"
    );
}

/// The stderr of `command`, which must exit 2 promptly. Spawned and waited on with a
/// deadline, not run to its end: a binary that took what it should refuse would serve until
/// killed, and the test must fail, not hang.
fn refused(mut command: Command) -> String {
    let mut running = Running(command.spawn().unwrap());
    let status = running.wait_for_exit();
    let text = running.stderr();
    assert_eq!(status.code(), Some(2), "{text}");
    text
}

/// The stderr of `beacon-mock serve --fixtures dir`, which must exit 2 promptly.
fn refused_fixtures(dir: &std::path::Path) -> String {
    let mut command = serve_on_free_ports();
    command.arg("--fixtures").arg(dir);
    refused(command)
}

/// Finding 8 of issue 10: a FIFO hung start-up, `/dev/zero` was read without a cap, a token
/// of two accounts was accepted, and errors printed their cause twice.
#[test]
fn fixtures_must_be_small_regular_files_and_give_each_token_one_owner() {
    let dir = std::env::temp_dir().join(format!("beacon-fixtures-10-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    std::fs::copy(fixtures.join("panel.json"), dir.join("panel.json")).unwrap();

    let missing = refused_fixtures(&dir);
    assert!(missing.contains("status.json"), "{missing}");
    assert_eq!(
        missing.matches("(os error 2)").count(),
        1,
        "the cause once: {missing}"
    );

    assert!(
        Command::new("mkfifo")
            .arg(dir.join("status.json"))
            .status()
            .unwrap()
            .success()
    );
    let fifo = refused_fixtures(&dir);
    assert!(fifo.contains("status.json is not a regular file"), "{fifo}");
    std::fs::remove_file(dir.join("status.json")).unwrap();

    std::os::unix::fs::symlink("/dev/zero", dir.join("status.json")).unwrap();
    let zero = refused_fixtures(&dir);
    assert!(zero.contains("is not a regular file"), "{zero}");
    std::fs::remove_file(dir.join("status.json")).unwrap();

    let sparse = std::fs::File::create(dir.join("status.json")).unwrap();
    sparse.set_len(beacon_mock::MAX_FIXTURE_BYTES + 1).unwrap();
    drop(sparse);
    let large = refused_fixtures(&dir);
    assert!(large.contains("is larger than 16777216 bytes"), "{large}");

    std::fs::copy(fixtures.join("status.json"), dir.join("status.json")).unwrap();
    let panel = std::fs::read_to_string(fixtures.join("panel.json")).unwrap();
    std::fs::write(
        dir.join("panel.json"),
        panel.replacen(
            "panel_acct2_0b9e8d7c6a5f4e31",
            "panel_acct1_7f3c9a2b5d1e4f60",
            1,
        ),
    )
    .unwrap();
    let shared = refused_fixtures(&dir);
    assert!(
        shared.contains("accounts.1.tokens.0")
            && shared.contains("acct_1")
            && shared.contains("acct_2"),
        "{shared}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let (mut running, lines) = start(&["--only", "panel"]);
    let panel_url = value_after(&lines, "Beacon Panel API");
    let token = value_after(&lines, "token (acct_1)");
    let admin = panel_url.replace("/api/v1", "/__admin/faults");
    let client = reqwest::blocking::Client::new();
    let fault = client
        .post(admin)
        .header("content-type", "application/json")
        .body(r#"{"latency_ms": 700, "count": 1}"#)
        .send()
        .unwrap();
    assert_eq!(fault.status(), 201);
    let in_flight = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .get(format!("{panel_url}/servers"))
            .bearer_auth(token)
            .send()
            .map(|r| r.status().as_u16())
    });
    std::thread::sleep(Duration::from_millis(200));
    running.sigterm();
    assert_eq!(
        in_flight.join().unwrap().expect("answered before shutdown"),
        200
    );
    assert!(running.wait_for_exit().success());
}

/// Finding 6 of issue 10: binding `0.0.0.0` printed no warning and left the admin API open.
#[test]
fn a_listener_beyond_loopback_is_warned_about_and_its_admin_token_printed_once() {
    let mut child = bin()
        .args(["serve", "--only", "panel", "--panel-addr", "0.0.0.0:0"])
        .env_remove("BEACON_MOCK_ADMIN_TOKEN")
        .spawn()
        .unwrap();
    let lines = support::banner(&mut child);
    let _running = Running(child);
    let banner = lines.join("\n");
    assert!(
        banner.contains("warning: the panel API listens on 0.0.0.0:"),
        "{banner}"
    );
    assert!(
        banner.contains("requires Authorization: Bearer"),
        "{banner}"
    );
    let token = value_after(&lines, "admin token");
    assert_eq!(banner.matches(&token).count(), 1, "{banner}");
    let url = value_after(&lines, "Beacon Panel API").replace("0.0.0.0", "127.0.0.1");
    let admin = url.replace("/api/v1", "/__admin/requests");
    let client = reqwest::blocking::Client::new();
    assert_eq!(client.get(&admin).send().unwrap().status(), 401);
    assert_eq!(
        client
            .get(&admin)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
}

/// Every `serve` flag has an environment fallback, and `--help` names it.
const ENV_VARS: [&str; 16] = [
    "BEACON_MOCK_STATUS_ADDR",
    "BEACON_MOCK_PANEL_ADDR",
    "BEACON_MOCK_ONLY",
    "BEACON_MOCK_TOKENS",
    "BEACON_MOCK_FIXTURES",
    "BEACON_MOCK_RATE_LIMIT_WINDOW",
    "BEACON_MOCK_RATE_LIMIT",
    "BEACON_MOCK_ADMIN_TOKEN",
    "BEACON_MOCK_SHUTDOWN_TIMEOUT",
    "BEACON_MOCK_READ_TIMEOUT",
    "BEACON_MOCK_NO_CORS",
    "BEACON_MOCK_TLS",
    "BEACON_MOCK_TLS_CERT",
    "BEACON_MOCK_TLS_KEY",
    "BEACON_MOCK_TLS_DIR",
    "BEACON_MOCK_WATCH",
];

/// Starts the binary with `args` and `vars`, and no other `BEACON_MOCK_` variable.
fn start_from_env(args: &[&str], vars: &[(&str, &str)]) -> (Running, Vec<String>) {
    let mut command = bin();
    for name in ENV_VARS
        .iter()
        .chain(["BEACON_MOCK_MAX_CONNECTIONS"].iter())
    {
        command.env_remove(name);
    }
    let mut child = command
        .args(args)
        .envs(vars.iter().copied())
        .spawn()
        .unwrap();
    let lines = support::banner(&mut child);
    (Running(child), lines)
}

#[test]
fn help_names_the_environment_variable_of_every_serve_flag() {
    let output = bin().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for name in ENV_VARS
        .iter()
        .chain(["BEACON_MOCK_MAX_CONNECTIONS"].iter())
    {
        assert!(help.contains(&format!("[env: {name}")), "{name} in {help}");
    }
}

#[test]
fn serve_flags_fall_back_to_environment_variables() {
    let (_running, lines) = start_from_env(
        &[],
        &[
            ("BEACON_MOCK_STATUS_ADDR", "127.0.0.1:0"),
            ("BEACON_MOCK_PANEL_ADDR", "127.0.0.1:0"),
            ("BEACON_MOCK_ONLY", "panel"),
            ("BEACON_MOCK_TOKENS", "env-token-one,env-token-two"),
            ("BEACON_MOCK_RATE_LIMIT_WINDOW", "30"),
            ("BEACON_MOCK_RATE_LIMIT", "5"),
            ("BEACON_MOCK_NO_CORS", "true"),
        ],
    );
    assert!(lines.iter().all(|l| !l.contains("Status API")), "{lines:?}");
    let servers = format!("{}/servers", value_after(&lines, "Beacon Panel API"));
    assert!(
        !servers.contains(":4011/"),
        "the panel address came from the environment: {servers}"
    );
    for token in ["env-token-one", "env-token-two"] {
        let answer = reqwest::blocking::Client::new()
            .get(&servers)
            .bearer_auth(token)
            .header("origin", "http://app.example")
            .send()
            .unwrap();
        assert_eq!(answer.status(), 200, "{token}");
        let header = |name: &str| {
            answer.headers()[name]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        assert_eq!(header("x-ratelimit-limit"), 5);
        assert!(header("x-ratelimit-reset") <= 30, "the window is 30 s");
        assert!(
            answer
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "CORS is off"
        );
    }
}

#[test]
fn a_flag_wins_over_its_environment_variable_and_bad_values_exit_2() {
    let (_running, lines) = start_from_env(
        &["--rate-limit", "7", "--status-addr", "127.0.0.1:0"],
        &[
            ("BEACON_MOCK_RATE_LIMIT", "5"),
            ("BEACON_MOCK_ONLY", "status"),
        ],
    );
    let pages = format!("{}/pages", value_after(&lines, "Beacon Status API"));
    let answer = reqwest::blocking::Client::new()
        .get(&pages)
        .bearer_auth(value_after(&lines, "token  "))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-ratelimit-limit"], "7");
    let output = bin()
        .args(["serve"])
        .env("BEACON_MOCK_RATE_LIMIT", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = serve_on_free_ports()
        .env("BEACON_MOCK_FIXTURES", "/nonexistent/beacon-fixtures")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid fixtures") && stderr.contains("/nonexistent/beacon-fixtures"),
        "{stderr}"
    );
    let output = bin()
        .args(["serve"])
        .env("BEACON_MOCK_ONLY", "both")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn listeners_take_host_names_and_one_address_for_both_apis_is_refused() {
    let mut child = bin()
        .args(["serve", "--only", "panel", "--panel-addr", "localhost:0"])
        .spawn()
        .unwrap();
    let lines = support::banner(&mut child);
    let _running = Running(child);
    let url = value_after(&lines, "Beacon Panel API");
    assert!(url.starts_with("http://127.0.0.1:"), "{lines:?}");
    let taken = "127.0.0.1:45999";
    let output = bin()
        .args(["serve", "--status-addr", taken, "--panel-addr", taken])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "--status-addr and --panel-addr are both 127.0.0.1:45999: each API needs its own address"
        ),
        "{stderr}"
    );
    let output = bin()
        .args(["serve", "--panel-addr", "no-such-host.invalid:1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not IP:PORT or a HOST:PORT this machine resolves"),
        "{stderr}"
    );
    for addr in ["127.0.0.1:99999", "localhost:http"] {
        let output = bin()
            .args(["serve", "--status-addr", addr])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{addr}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("the port must be a number from 0 to 65535"),
            "{addr}: {stderr}"
        );
    }
}

/// A blocking client that trusts only the PEM certificate in `file`.
fn client_trusting(file: &str) -> reqwest::blocking::Client {
    let pem = std::fs::read(file).unwrap();
    reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn tls_serves_https_with_a_generated_certificate_a_client_can_trust() {
    let dir = std::env::temp_dir().join(format!("beacon-tls-{}", std::process::id()));
    let (mut running, lines) = start(&[
        "--tls",
        "--tls-dir",
        dir.to_str().unwrap(),
        "--read-timeout",
        "1",
        "--max-connections",
        "1",
    ]);
    let panel_url = value_after(&lines, "Beacon Panel API");
    assert!(panel_url.starts_with("https://127.0.0.1:"), "{lines:?}");
    assert!(value_after(&lines, "Beacon Status API").starts_with("https://"));
    let certificate = value_after(&lines, "certificate");
    assert!(certificate.starts_with(dir.to_str().unwrap()), "{lines:?}");
    let client = client_trusting(&certificate);
    let get = |url: &str| {
        client
            .get(url)
            .bearer_auth(value_after(&lines, "token (acct_1)"))
            .send()
    };

    // A client that connects and never handshakes holds the only slot for the read timeout.
    let addr = panel_url
        .trim_start_matches("https://")
        .trim_end_matches("/api/v1")
        .to_owned();
    let silent = std::net::TcpStream::connect(&addr).unwrap();
    let reply = get(&format!("{panel_url}/servers")).expect("served once the silent one is cut");
    assert_eq!(reply.status().as_u16(), 200);
    let body: serde_json::Value = reply.json().unwrap();
    assert_eq!(body["success"], true, "{body}");
    assert!(
        body["data"].as_array().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    drop(silent);

    // Plain HTTP on the TLS port fails the handshake; the mock goes on.
    let plain = reqwest::blocking::Client::new()
        .get(panel_url.replace("https://", "http://") + "/servers")
        .send();
    assert!(plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()));
    // A client that trusts the system roots only refuses the self-signed certificate.
    assert!(
        reqwest::blocking::Client::new()
            .get(format!("{panel_url}/servers"))
            .send()
            .is_err()
    );
    assert_eq!(
        get(&format!("{panel_url}/servers"))
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert!(running.0.try_wait().unwrap().is_none(), "the mock is alive");

    // SIGTERM: the certificate file is removed at exit.
    #[cfg(unix)]
    {
        running.sigterm();
        assert!(running.wait_for_exit().success());
        assert!(!std::path::Path::new(&certificate).exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_cert_and_key_go_together_and_bad_pem_files_are_named() {
    let output = bin()
        .args(["serve", "--tls-cert", "/nonexistent/cert.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");

    let dir = std::env::temp_dir().join(format!("beacon-tls-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(
        &cert,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(&key, "no key here").unwrap();
    let missing = dir.join("missing.pem");
    for (given, named) in [(&cert, "cert.pem"), (&missing, "missing.pem")] {
        let output = serve_on_free_ports()
            .arg("--tls-cert")
            .arg(given)
            .arg("--tls-key")
            .arg(&key)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(named), "{stderr} names {named}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_flags_fall_back_to_environment_variables() {
    let dir = std::env::temp_dir().join(format!("beacon-tls-env-{}", std::process::id()));
    let (_running, lines) = start_from_env(
        &[],
        &[
            ("BEACON_MOCK_STATUS_ADDR", "127.0.0.1:0"),
            ("BEACON_MOCK_ONLY", "status"),
            ("BEACON_MOCK_TLS", "true"),
            ("BEACON_MOCK_TLS_DIR", dir.to_str().unwrap()),
        ],
    );
    let pages = format!("{}/pages", value_after(&lines, "Beacon Status API"));
    assert!(pages.starts_with("https://"), "{lines:?}");
    let answer = client_trusting(&value_after(&lines, "certificate"))
        .get(&pages)
        .bearer_auth(value_after(&lines, "token  "))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let output = bin()
        .args(["serve"])
        .env("BEACON_MOCK_TLS_KEY", "/nonexistent/key.pem")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The names of the Panel servers `token` sees at `panel_url`.
fn server_names(panel_url: &str, token: &str) -> Vec<String> {
    let body: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{panel_url}/servers"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a server list: {body}"))
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn watch_reloads_changed_fixtures_and_keeps_them_when_a_file_breaks() {
    let dir = std::env::temp_dir().join(format!("beacon-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    std::fs::copy(fixtures.join("status.json"), dir.join("status.json")).unwrap();
    let panel = std::fs::read_to_string(fixtures.join("panel.json")).unwrap();
    std::fs::write(dir.join("panel.json"), &panel).unwrap();
    let (mut running, lines) = start(&["--fixtures", dir.to_str().unwrap(), "--watch"]);
    let panel_url = value_after(&lines, "Beacon Panel API");
    let token = value_after(&lines, "token (acct_1)");
    assert!(server_names(&panel_url, &token).contains(&"Minecraft Server".to_owned()));
    let minted: serde_json::Value = reqwest::blocking::Client::new()
        .post(panel_url.replace("/api/v1", "/__admin/tokens"))
        .json(&serde_json::json!({"principal": "acct_1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let minted = minted["token"].as_str().unwrap().to_owned();

    // panel.json with its first server renamed, written; returns once the mock serves it.
    let rename_and_wait = |name: &str| {
        let renamed = panel.replacen(
            "\"name\": \"Minecraft Server\"",
            &format!("\"name\": \"{name}\""),
            1,
        );
        std::fs::write(dir.join("panel.json"), &renamed).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server_names(&panel_url, &token).contains(&name.to_owned()) {
            assert!(
                Instant::now() < deadline,
                "{name}: not reloaded within 10 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        renamed
    };
    let renamed = rename_and_wait("Watched Server");
    // The minted token survived the reload.
    assert!(server_names(&panel_url, &minted).contains(&"Watched Server".to_owned()));

    std::fs::write(
        dir.join("panel.json"),
        renamed.replacen("\"memory\": 4096", "\"memory\": \"lots\"", 1),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(2_000));
    assert!(running.0.try_wait().unwrap().is_none(), "the mock is alive");
    assert!(server_names(&panel_url, &token).contains(&"Watched Server".to_owned()));

    // Each file is loaded on its own: a broken status.json does not hold back panel.json.
    std::fs::write(dir.join("status.json"), "{").unwrap();
    rename_and_wait("Third Server");

    // A graceful stop writes out the log lines still queued (the last reload's among them);
    // a kill right after the reload could lose them.
    running.sigterm();
    running.wait_for_exit();
    let stderr = running.stderr();
    assert!(
        stderr.contains("reloaded panel.json: 2 accounts, "),
        "{stderr}"
    );
    assert!(
        stderr.contains("WARN") && stderr.contains("accounts.0.servers.0.resources.memory"),
        "{stderr}"
    );
    assert!(stderr.contains("keeping the previous fixtures"), "{stderr}");
    assert!(
        stderr.contains("status.json"),
        "the broken status.json is named: {stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn watch_needs_fixtures() {
    let output = bin().args(["serve", "--watch"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--fixtures"), "{stderr}");
}

/// `beacon-mock proxy` for Panel on a free loopback port in front of `upstream`.
fn proxy_to(upstream: &str) -> Command {
    let mut command = bin();
    command.args([
        "proxy",
        "--api",
        "panel",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        upstream,
    ]);
    command
}

#[test]
fn the_proxy_records_what_it_reads_and_serve_replays_that_one_file() {
    let (_mock, lines) = start(&["--only", "panel"]);
    let upstream = value_after(&lines, "Beacon Panel API");
    let token = value_after(&lines, "token (acct_1)");
    let dir = std::env::temp_dir().join(format!("beacon-mock-proxy-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut proxy = proxy_to(&upstream)
        .arg("--record")
        .arg(&dir)
        .spawn()
        .unwrap();
    let (banner, stdout) = support::banner_and_rest(&mut proxy);
    let mut proxy = Running(proxy);
    let line = banner
        .iter()
        .find(|l| l.starts_with("Beacon Panel API proxy"))
        .expect("the proxy's URL");
    let proxied = line.split_whitespace().nth(4).expect("a URL").to_owned();
    let client = reqwest::blocking::Client::new();
    let read = |base: &str, token: &str| {
        let response = client
            .get(format!("{base}/servers/123"))
            .bearer_auth(token)
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let (status, body) = read(&proxied, &token);
    assert_eq!(status, 200, "{banner:?}");
    proxy.sigterm();
    assert!(proxy.wait_for_exit().success());
    let rest: Vec<String> = stdout.map(Result::unwrap).collect();
    assert!(
        rest.iter().any(|l| l.starts_with("Recorded 1 principal")),
        "{rest:?}"
    );
    let placeholder = value_after(&rest, "acct_rec1");
    assert!(placeholder.starts_with("panel_rec_"), "{rest:?}");
    let stderr = proxy.stderr();
    assert!(
        !stderr.contains(&token),
        "the log shows no full token: {stderr}"
    );

    let dir_arg = dir.display().to_string();
    let (_replay, lines) = start(&["--only", "panel", "--fixtures", &dir_arg]);
    let replayed = value_after(&lines, "Beacon Panel API");
    // The banner names the recording's own account, and no second one it does not have.
    assert_eq!(value_after(&lines, "token (acct_rec1)"), placeholder);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.trim_start().starts_with("token ("))
            .count(),
        1,
        "{lines:?}"
    );
    assert_eq!(read(&replayed, &placeholder), (200, body));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_proxy_without_a_usable_upstream_exits_2() {
    for (upstream, why) in [
        (
            "ftp://example.com",
            "--upstream must be an http:// or https:// base URL",
        ),
        (
            "http://admin:UpstreamPass99@127.0.0.1:1/api/v1",
            "--upstream must not hold a user name or password",
        ),
        (
            "http://127.0.0.1:1/api/v1?token=sekrit123456",
            "--upstream must not have a query or a fragment",
        ),
        ("http://127.0.0.1:99999/api/v1", "--upstream is not a URL"),
    ] {
        let stderr = refused(proxy_to(upstream));
        assert!(stderr.contains(why), "{upstream}: {stderr}");
        // A refused URL is never echoed: it may hold a password or a secret.
        for secret in ["UpstreamPass99", "sekrit123456"] {
            assert!(!stderr.contains(secret), "{stderr}");
        }
    }
    let output = bin().args(["proxy", "--api", "panel"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing --upstream is a usage error"
    );
}
