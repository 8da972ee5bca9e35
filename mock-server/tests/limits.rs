//! Issue 10: the mock stays bounded under hostile use. Memory is measured as the mock
//! process's own resident set (`/proc/<pid>/status`), never by timing.

mod support;

use std::process::{Child, Command, Stdio};

struct Mock {
    child: Child,
    panel_url: String,
    token: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Mock {
    /// The binary serving Panel only on a free loopback port, with limits out of the way.
    fn start(extra: &[&str]) -> Self {
        Self::start_with_fd_limit(None, extra)
    }

    /// Started through `sh -c 'ulimit -n N; exec …'` when `fd_limit` is set.
    fn start_with_fd_limit(fd_limit: Option<u32>, extra: &[&str]) -> Self {
        let bin = env!("CARGO_BIN_EXE_beacon-mock");
        let mut command = match fd_limit {
            None => Command::new(bin),
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.args([
                    "-c",
                    &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
                    bin,
                ]);
                sh
            }
        };
        let mut child = command
            .args(["serve", "--only", "panel", "--panel-addr", "127.0.0.1:0"])
            .args(["--rate-limit", "100000000"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .env_remove("BEACON_MOCK_ADMIN_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = support::banner(&mut child);
        let after = |label: &str| support::value_after(&lines, label);
        Self {
            panel_url: after("Beacon Panel API"),
            token: after("token (acct_1)"),
            child,
        }
    }

    /// CPU time the mock has used, in clock ticks (user + system).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// The mock's resident set in MiB.
    fn rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        kib / 1024
    }
}

/// Finding 1: 83 reads of a 17 MiB console page grew the mock by 1.4 GiB (the read cache was
/// bounded by entry count). 60 distinct reads of a 4 MiB page would keep 240 MiB.
#[test]
fn distinct_reads_of_a_large_page_keep_the_read_cache_within_its_bytes() {
    let mock = Mock::start(&[]);
    let client = reqwest::blocking::Client::new();
    let console = format!("{}/servers/123/console", mock.panel_url);
    let command = "x".repeat(4000);
    for _ in 0..1000 {
        let sent = client
            .post(&console)
            .bearer_auth(&mock.token)
            .json(&serde_json::json!({ "command": command }))
            .send()
            .unwrap();
        assert_eq!(sent.status(), 200);
    }
    let page_bytes = client
        .get(format!("{console}?lines=1000"))
        .bearer_auth(&mock.token)
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .len();
    assert!(page_bytes > 4_000_000, "{page_bytes}");
    let before = mock.rss_mib();
    for n in 0..60 {
        let read = client
            .get(format!("{console}?lines=1000&n={n}"))
            .bearer_auth(&mock.token)
            .send()
            .unwrap();
        assert_eq!(read.status(), 200);
        assert_eq!(read.bytes().unwrap().len(), page_bytes);
    }
    let grown = mock.rss_mib().saturating_sub(before);
    eprintln!("60 reads of a {page_bytes}-byte page: RSS +{grown} MiB");
    assert!(grown < 100, "RSS grew by {grown} MiB");
}

/// Finding 2: 6,000 unauthenticated requests with 32 KB paths grew the mock by 180 MiB, and
/// the journal then answered a 650 MB body.
#[test]
fn long_paths_keep_the_journal_within_its_bytes() {
    let mock = Mock::start(&[]);
    let client = reqwest::blocking::Client::new();
    let long = format!("{}/{}", mock.panel_url, "a".repeat(32 * 1024));
    let before = mock.rss_mib();
    for _ in 0..6_000 {
        let response = client.get(&long).send().unwrap();
        assert_eq!(response.status(), 401);
    }
    let grown = mock.rss_mib().saturating_sub(before);
    let journal = client
        .get(mock.panel_url.replace("/api/v1", "/__admin/requests"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    eprintln!(
        "6,000 requests with 32 KB paths: RSS +{grown} MiB, journal body {} bytes",
        journal.len()
    );
    assert!(grown < 60, "RSS grew by {grown} MiB");
    assert!(journal.len() < 20 * 1024 * 1024, "{} bytes", journal.len());
    let journal: serde_json::Value = serde_json::from_slice(&journal).unwrap();
    let first = &journal["requests"][0];
    assert_eq!(first["truncated"], true, "{first}");
    assert_eq!(first["path"].as_str().unwrap().len(), 2048);
}

/// Finding 5: with `ulimit -n 64` and 100 held connections, the idle mock burned 95% of a core
/// retrying `accept` and legitimate requests timed out.
#[test]
fn out_of_file_descriptors_the_accept_loop_pauses_instead_of_spinning() {
    let mock = Mock::start_with_fd_limit(Some(64), &[]);
    let addr = mock
        .panel_url
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_owned();
    let held: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = mock.cpu_ticks();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let used = mock.cpu_ticks() - before;
    eprintln!("idle with 100 held connections and 64 descriptors: {used} ticks of CPU in 2 s");
    // A spinning loop uses about 200 ticks (two seconds of one core) here.
    assert!(used < 40, "{used} ticks in 2 s");
    drop(held);
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let served = client
        .get(format!("{}/servers", mock.panel_url))
        .bearer_auth(&mock.token)
        .send()
        .expect("served once descriptors are free");
    assert_eq!(served.status(), 200);
}
