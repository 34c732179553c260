//! # tripline-testkit: real stand-in servers for tests
//!
//! Tripline's tests talk to real programs, not mocks: a real OpenSearch node (the minimal
//! distribution from Maven Central, `scripts/opensearch.sh`) and `moto` (AWS, installed in `.venv`
//! by `make setup`). `make test` starts one OpenSearch node for the whole run and hands its URL to
//! every test process in `TRIPLINE_OPENSEARCH_URL`; a test run on its own (`cargo test -p …`)
//! starts one for its process. moto is started once per test process. Servers started here exit
//! with the process (their stdin is a pipe this process holds; when it closes, they stop).
//!
//! A missing server is a failure with instructions, never a silent skip.
//!
//! - [`opensearch_url`]: `TRIPLINE_OPENSEARCH_URL` when set (make test's node, or any cluster),
//!   else a node for this process.
//! - [`moto_url`]: moto's server with Step Functions execution switched on.
//! - [`fault::FaultServer`]: a hand-written server that misbehaves on purpose (fault injection).

pub mod fault;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace root (where `.venv` lives), found when the tests run, not when they were
/// built (a target directory shared by two clones holds one build for both): `TRIPLINE_ROOT`
/// when set, else the nearest folder above the working directory (`cargo test` runs a test in
/// its crate's folder) holding `Cargo.lock` and `scripts/opensearch.sh`, else where this crate
/// was built.
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("TRIPLINE_ROOT").filter(|r| !r.is_empty()) {
        return PathBuf::from(root);
    }
    let is_root = |d: &Path| d.join("Cargo.lock").is_file() && d.join("scripts/opensearch.sh").is_file();
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().find(|d| is_root(d)) {
            return found.to_path_buf();
        }
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).map(Path::to_path_buf).unwrap_or_else(|| here.to_path_buf())
}

/// A file in the workspace, by path relative to its root.
pub fn workspace_file(rel: &str) -> PathBuf {
    workspace_root().join(rel)
}

static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free loopback port: {e}"))
}

fn wait_until_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start listening on 127.0.0.1:{port} within 60 s");
}

fn spawn(mut cmd: Command, what: &str) {
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start {what}: {e}. Run `make setup` (or `make test`) to install the stand-ins in .venv"
        )
    });
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).push(child);
}

fn venv() -> PathBuf {
    workspace_root().join(".venv")
}

/// The OpenSearch URL tests use: `TRIPLINE_OPENSEARCH_URL` when set (`make test` starts one real
/// node for the whole run and sets it; or any other cluster), else a real node started for this
/// process by `scripts/opensearch.sh serve` (fetched from Maven Central on first use; it stops
/// when this process ends).
pub fn opensearch_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TRIPLINE_OPENSEARCH_URL") {
            if !url.is_empty() {
                return url;
            }
        }
        serve_opensearch()
    })
}

fn serve_opensearch() -> String {
    use std::io::BufRead;
    let script = workspace_file("scripts/opensearch.sh");
    let mut child = Command::new("bash")
        .arg(&script)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("{}: no stdout", script.display()));
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).push(child);
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap_or_else(|e| panic!("reading {}: {e}", script.display()));
        if let Some(url) = line.strip_prefix("url=") {
            return url.to_owned();
        }
    }
    panic!(
        "{} serve ended without starting OpenSearch (see its messages above): it needs a JDK and Maven \
         to fetch the distribution, or set TRIPLINE_OPENSEARCH_URL to a running cluster",
        script.display()
    )
}

/// Whether tests run against a cluster the environment configures (`TRIPLINE_OPENSEARCH_URL` with
/// its `TRIPLINE_OPENSEARCH_AUTH` and credentials), rather than a throw-away local node without
/// authentication (started by this process, or by `make test`, which sets
/// `TRIPLINE_OPENSEARCH_LOCAL=1`).
pub fn real_opensearch() -> bool {
    let url = std::env::var("TRIPLINE_OPENSEARCH_URL").map(|u| !u.is_empty()).unwrap_or(false);
    let local = std::env::var("TRIPLINE_OPENSEARCH_LOCAL").is_ok_and(|v| v == "1");
    url && !local
}

/// The URL of a moto server started for this process, with Step Functions execution on.
pub fn moto_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let port = free_port();
        let server = venv().join("bin/moto_server");
        if !server.exists() {
            panic!(
                "{} is missing. Run `make setup` (or `make test`), which installs moto in .venv",
                server.display()
            );
        }
        // moto has no stdin watch: a shell stops it when this process (and so the pipe) ends.
        let script =
            format!("\"{}\" -H 127.0.0.1 -p {port} & pid=$!; cat >/dev/null; kill $pid", server.display());
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]).env("MOTO_PORT", port.to_string());
        spawn(cmd, "moto_server");
        wait_until_listening(port, "moto_server");
        let body = r#"{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false}}"#;
        let status = http_post(port, "/moto-api/config", body);
        assert!(
            status.contains(" 200") || status.contains(" 201"),
            "switching on moto's Step Functions execution failed: {status}"
        );
        format!("http://127.0.0.1:{port}")
    })
}

/// POST a JSON body to a loopback server and return the status line.
fn http_post(port: u16, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to {port}: {e}"));
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap_or_else(|e| panic!("write to {port}: {e}"));
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn opensearch_answers() {
        let url = super::opensearch_url();
        let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        use std::io::{Read, Write};
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
        let mut r = String::new();
        s.read_to_string(&mut r).expect("read");
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(r.contains("\"distribution\" : \"opensearch\""), "a real OpenSearch answers: {r}");
    }

    #[test]
    fn moto_answers() {
        let url = super::moto_url();
        assert!(url.starts_with("http://127.0.0.1:"));
    }
}
