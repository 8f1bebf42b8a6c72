//! The crawl, driven through the real binary against real servers: the
//! recorded hierarchical TrueNAS server, the PyPI TrueNAS servers launched as
//! registry packages, the official MCP Python SDK over Streamable HTTP and
//! SSE, and fault servers for what no real server shows.

mod common;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap() }
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("catalogue.db")
    }
    fn servers(&self, v: &Value) -> PathBuf {
        let p = self.dir.path().join("servers.json");
        std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
        p
    }
    fn cmd(&self, servers: &Path) -> Command {
        let mut c = Command::cargo_bin("mcp-catalogue").unwrap();
        c.current_dir(common::root())
            .arg("--db")
            .arg(self.db())
            .arg("--servers")
            .arg(servers)
            .env("NO_COLOR", "1");
        c
    }
    fn export(&self) -> Vec<Value> {
        let out = self.cmd(Path::new("data/servers.json")).args(["export", "--format", "json"]).output().unwrap();
        assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
    }
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn replay_entry(extra: &[&str]) -> Value {
    let mut args = vec![
        common::replay().to_string_lossy().into_owned(),
        common::truenas_session().to_string_lossy().into_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    json!({"command": "python3", "args": args, "product": "TrueNAS"})
}

fn fault(mode: &str) -> Value {
    json!({"command": "python3", "args": [common::root().join("tests/fixtures/fault_server.py").to_string_lossy(), mode], "timeout": 5})
}

#[test]
fn recorded_hierarchical_server_one_tool_per_page() {
    let env = Env::new();
    let servers = env.servers(&json!({"mcpServers": {"truenas": replay_entry(&["--page-size", "1"])}}));
    let (code, out, err) = run(env.cmd(&servers).arg("crawl"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("ok      truenas"), "{out}");
    let tools = env.export();
    // The umbrella tool plus its 278 expanded actions.
    assert_eq!(tools.len(), 279, "{out}");
    let umbrella = tools.iter().find(|t| t["name"] == "truenas").unwrap();
    assert_eq!(umbrella["parent"], Value::Null);
    assert_eq!(umbrella["hash"].as_str().unwrap().len(), 64);
    // The raw tool JSON is kept exactly as the server sent it.
    let session: Value = serde_json::from_str(&std::fs::read_to_string(common::truenas_session()).unwrap()).unwrap();
    assert_eq!(umbrella["input_schema"], session["tools"][0]["inputSchema"]);
    for key in ["server", "name", "parent", "description", "input_schema", "annotations", "hash", "first_seen", "last_seen"] {
        assert!(umbrella.get(key).is_some(), "export lacks {key}");
    }
    let (code, out, _) = run(env.cmd(&servers).args(["servers"]));
    assert_eq!(code, 0);
    assert!(out.contains("truenas") && out.contains("ok") && out.contains("279"), "{out}");
}

#[test]
fn default_data_every_truenas_server_crawls_live() {
    let env = Env::new();
    let servers = common::root().join("data/servers.json");
    // Every TrueNAS MCP server installable here, each started with dummy
    // credentials and a loopback URL nothing listens on.
    let (code, out, err) = run(env.cmd(&servers).args(["crawl", "--strict", "--timeout", "120"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("FAILED"), "{out}");
    let tools = env.export();
    let count = |s: &str| tools.iter().filter(|t| t["server"] == s).count();
    assert_eq!(count("truenas-ws-mcp"), 59, "{out}");
    assert_eq!(count("truenas-mcp-server"), 27, "{out}");
    assert_eq!(count("vespo92-truenas-mcp-server"), 49, "{out}");
    assert_eq!(count("truenas-aiops"), 25, "{out}");
    // FastMCP tools carry title and outputSchema in their raw JSON; title is read.
    assert!(tools.iter().any(|t| t["server"] == "truenas-ws-mcp" && t["title"].is_string()));
    // truenas-aiops annotates every tool.
    assert!(tools.iter().filter(|t| t["server"] == "truenas-aiops").all(|t| t["annotations"].is_object()));
}

#[test]
fn an_uninstallable_package_fails_cleanly_and_strict_says_so() {
    let env = Env::new();
    // The npm `truenas-mcp` is not in the npm registry (404): it fails in
    // its spawn/initialize phase; the recorded server beside it succeeds.
    let servers = env.servers(&json!({"mcpServers": {
        "truenas-mcp": {"package": {"registryType": "npm", "identifier": "truenas-mcp", "version": "1.0.1"}, "timeout": 60},
        "truenas": replay_entry(&[]),
    }}));
    let (code, out, err) = run(env.cmd(&servers).arg("crawl"));
    assert_eq!(code, 0, "{out}\n{err}");
    let failed = out.lines().find(|l| l.contains("FAILED") && l.contains("truenas-mcp ")).unwrap_or_else(|| panic!("{out}"));
    assert!(failed.contains("initialize") || failed.contains("spawn"), "{failed}");
    let (code, _, _) = run(env.cmd(&servers).args(["crawl", "--strict", "--only", "truenas-mcp"]));
    assert_eq!(code, 1);
    assert_eq!(env.export().len(), 279);
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sdk_server(transport: &str) -> (Child, u16) {
    let port = common::free_port();
    let child = std::process::Command::new(common::sdk_python())
        .arg(common::root().join("tests/servers/sdk_server.py"))
        .args(["--transport", transport, "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed().as_secs() < 30, "sdk server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (Child(child), port)
}

#[test]
fn streamable_http_sse_and_auto_fallback() {
    let (_h, hp) = sdk_server("streamable-http");
    let (_s, sp) = sdk_server("sse");
    let env = Env::new();
    std::env::set_var("MCPCAT_TEST_TOKEN", "s3cr3t-header-value");
    let servers = env.servers(&json!({"mcpServers": {
        "http": {"url": format!("http://127.0.0.1:{hp}/mcp"), "type": "http", "headers": {"Authorization": "Bearer ${MCPCAT_TEST_TOKEN}"}},
        "auto-http": {"url": format!("http://127.0.0.1:{hp}/mcp")},
        "sse": {"url": format!("http://127.0.0.1:{sp}/sse"), "type": "sse"},
        "auto-sse": {"url": format!("http://127.0.0.1:{sp}/sse")},
    }}));
    let (code, out, err) = run(env.cmd(&servers).arg("crawl").env("MCPCAT_TEST_TOKEN", "s3cr3t-header-value"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("FAILED"), "{out}\n{err}");
    let tools = env.export();
    for s in ["http", "auto-http", "sse", "auto-sse"] {
        let n = tools.iter().filter(|t| t["server"] == s).count();
        assert!(n >= 3, "{s}: {n} tools\n{out}");
    }
    let (_, servers_json, _) = run(env.cmd(&servers).args(["servers", "--format", "json"]));
    assert!(!servers_json.contains("s3cr3t"), "secret leaked into `servers`");
    let db = std::fs::read(env.db()).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains("s3cr3t-header-value"), "secret stored in the DB");
}

#[test]
fn faults_are_isolated_and_keep_earlier_tools() {
    let env = Env::new();
    // First crawl: "flaky" works and lists its tools.
    let good = env.servers(&json!({"mcpServers": {"flaky": replay_entry(&[])}}));
    let (code, out, _) = run(env.cmd(&good).arg("crawl"));
    assert_eq!(code, 0, "{out}");
    let before = env.export().len();
    assert_eq!(before, 279);

    let http_port = common::free_port();
    let mut http = Child(
        std::process::Command::new("python3")
            .arg(common::root().join("tests/fixtures/http_fault_server.py"))
            .args(["500", &http_port.to_string()])
            .spawn()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", http_port)).is_err() {
        assert!(start.elapsed().as_secs() < 10);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let bad = env.servers(&json!({"mcpServers": {
        "flaky": {"command": "mcp-catalogue-no-such-command-xyz"},
        "exits": fault("exit-now"),
        "hangs": fault("hang-before-init"),
        "chatty": fault("garbage-between"),
        "http500": {"url": format!("http://127.0.0.1:{http_port}/mcp"), "type": "http"},
        "good": replay_entry(&["--page-size", "50"]),
    }}));
    let t = std::time::Instant::now();
    let (code, out, err) = run(env.cmd(&bad).args(["crawl", "--timeout", "10"]));
    assert!(t.elapsed().as_secs() < 60, "crawl did not respect deadlines");
    assert_eq!(code, 0, "some servers succeeded: {out}\n{err}");
    let line = |name: &str| out.lines().find(|l| l.split_whitespace().nth(1) == Some(name)).unwrap_or_else(|| panic!("{name}: {out}")).to_string();
    assert!(line("flaky").contains("FAILED") && line("flaky").contains("not found"), "{}", line("flaky"));
    assert!(line("exits").contains("FAILED") && line("exits").contains("exit"), "{}", line("exits"));
    assert!(line("hangs").contains("FAILED") && line("hangs").to_lowercase().contains("time"), "{}", line("hangs"));
    assert!(line("chatty").starts_with("ok"), "{}", line("chatty"));
    assert!(line("http500").contains("FAILED") && line("http500").contains("500"), "{}", line("http500"));
    assert!(line("good").starts_with("ok"), "{}", line("good"));
    let tools = env.export();
    assert_eq!(tools.iter().filter(|t| t["server"] == "flaky").count(), 279, "earlier tools of the failed server were lost");
    assert_eq!(tools.iter().filter(|t| t["server"] == "good").count(), 279);
    let (_, servers_out, _) = run(env.cmd(&bad).arg("servers"));
    assert!(servers_out.lines().any(|l| l.starts_with("flaky") && l.contains("failed")), "{servers_out}");
    let _ = http.0.kill();

    // Nothing succeeds: exit 1.
    let none = env.servers(&json!({"mcpServers": {"exits": fault("exit-now")}}));
    assert_eq!(run(env.cmd(&none).arg("crawl")).0, 1);
}

#[test]
fn bad_input_is_exit_2_naming_file_line_and_column() {
    let env = Env::new();
    let p = env.dir.path().join("broken.json");
    std::fs::write(&p, "{\"mcpServers\": {\n  \"a\": {\"command\": \"x\",}\n}}\n").unwrap();
    let (code, _, err) = run(env.cmd(&p).arg("crawl"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.json:2:"), "{err}");
    let p2 = env.servers(&json!({"mcpServers": {"a": {"command": "x", "expand": "no-such-recipe"}}}));
    let (code, out, err) = run(env.cmd(&p2).arg("crawl"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("no-such-recipe") && out.contains("FAILED") && out.contains(" a "), "{out}");
    let (code, _, err) = run(env.cmd(&p2).args(["crawl", "--only", "missing"]));
    assert_eq!(code, 2);
    assert!(err.contains("missing"), "{err}");
    // A database that is not ours is refused and left untouched.
    let foreign = env.dir.path().join("foreign.db");
    std::fs::write(&foreign, b"not a database, just some bytes that are long enough to look like a file").unwrap();
    let before = std::fs::read(&foreign).unwrap();
    let mut c = Command::cargo_bin("mcp-catalogue").unwrap();
    let out = c.arg("--db").arg(&foreign).arg("--servers").arg(&p2).arg("export").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an mcp-catalogue database"));
    assert_eq!(before, std::fs::read(&foreign).unwrap());
}
