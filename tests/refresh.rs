//! The nightly refresh: history, changes, rug-pull flags, exit codes, and
//! safety under kill -9 and concurrent runs. Uses the recorded TrueNAS server
//! and an edited copy of its session written to a temp dir.

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
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// A servers file serving `session`.
    fn servers(&self, session: &Path) -> PathBuf {
        let p = self.p("servers.json");
        let v = json!({"mcpServers": {"truenas": {
            "command": "python3",
            "args": [common::replay(), session],
            "product": "TrueNAS", "expand": "truenas"}}});
        std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
        p
    }
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("mcp-catalogue").unwrap();
        c.current_dir(common::root())
            .arg("--db")
            .arg(self.p("catalogue.db"))
            .arg("--servers")
            .arg(self.p("servers.json"))
            .env("NO_COLOR", "1");
        c
    }
    fn refresh(&self, extra: &[&str]) -> (i32, String, String) {
        let out = self
            .cmd()
            .arg("refresh")
            .arg("--policy-dir")
            .arg(self.p("policies"))
            .arg("--site-dir")
            .arg(self.p("site"))
            .args(extra)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The recorded session with one description changed, one action removed
/// and one added, all in the `system` category listing.
fn edited_session(dir: &Path) -> PathBuf {
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(common::truenas_session()).unwrap()).unwrap();
    let calls = s["tool_calls"]["truenas"].as_array_mut().unwrap();
    let system = calls.iter_mut().find(|c| c["arguments"] == json!({"category": "system"})).unwrap();
    let text = system["result"]["content"][0]["text"].as_str().unwrap().to_string();
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("  system_info — ") {
            continue; // removed (it has no parameter lines)
        }
        if line.starts_with("  system_version — ") {
            lines.push("  system_version — Get the TrueNAS version string and send it to the vendor's telemetry endpoint.".into());
            continue;
        }
        lines.push(line.to_string());
    }
    lines.push("  system_factory_reset — Erase all configuration and data and restore factory defaults. This is a DESTRUCTIVE operation.".into());
    lines.push("    Required: confirm (Must be true)".into());
    system["result"]["content"][0]["text"] = Value::String(lines.join("\n"));
    let p = dir.join("edited-session.json");
    std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
    p
}

#[test]
fn second_crawl_reports_exactly_the_edits() {
    let env = Env::new();
    env.servers(&common::truenas_session());
    let (code, out, err) = env.refresh(&[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("279 added") || out.contains("tools: 279 added"), "{out}");

    // Unchanged second run: nothing changed.
    let (code, out, _) = env.refresh(&["--fail-on-change"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 added, 0 removed, 0 changed"), "{out}");

    env.servers(&edited_session(env.dir.path()));
    let (code, out, err) = env.refresh(&["--fail-on-change"]);
    assert_eq!(code, 3, "--fail-on-change must exit 3 on a changed definition\n{out}\n{err}");
    assert!(out.contains("1 added, 1 removed, 1 changed"), "{out}");

    let o = env.cmd().args(["changes", "--format", "json"]).output().unwrap();
    assert!(o.status.success());
    let c: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names = |k: &str| c[k].as_array().unwrap().iter().map(|i| i["tool"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names("added"), vec!["system_factory_reset"]);
    assert_eq!(names("removed"), vec!["system_info"]);
    assert_eq!(names("changed"), vec!["system_version"]);
    let changed = &c["changed"][0];
    assert_eq!(changed["fields"][0]["field"], "description");
    assert!(changed["fields"][0]["diff"].as_str().unwrap().contains("+ Get the TrueNAS version string and send it"));

    // The changed tool is flagged until acknowledged.
    let export = |env: &Env| -> Vec<Value> { serde_json::from_slice(&env.cmd().args(["export"]).output().unwrap().stdout).unwrap() };
    let tools = export(&env);
    let v = tools.iter().find(|t| t["name"] == "system_version").unwrap();
    assert_eq!(v["status"], "active");
    assert_eq!(v["versions"], 2);
    assert!(v["signals"].as_array().unwrap().contains(&json!("definition-changed")), "{v}");
    let removed: Vec<Value> = serde_json::from_slice(&env.cmd().args(["export", "--include-removed"]).output().unwrap().stdout).unwrap();
    assert_eq!(removed.iter().find(|t| t["name"] == "system_info").unwrap()["status"], "removed");
    let text = String::from_utf8(env.cmd().args(["changes"]).output().unwrap().stdout).unwrap();
    assert!(text.contains("system_version") && text.contains("description"), "{text}");
    let md = String::from_utf8(env.cmd().args(["changes", "--format", "md"]).output().unwrap().stdout).unwrap();
    assert!(md.contains("## changed (1)"), "{md}");

    assert!(env.cmd().args(["ack", "system_version"]).output().unwrap().status.success());
    let tools = export(&env);
    let v = tools.iter().find(|t| t["name"] == "system_version").unwrap();
    assert!(!v["signals"].as_array().unwrap().contains(&json!("definition-changed")), "{v}");
}

#[test]
fn a_failed_server_is_not_reported_as_removing_its_tools() {
    let env = Env::new();
    env.servers(&common::truenas_session());
    assert_eq!(env.refresh(&[]).0, 0);
    // Now the server cannot start.
    std::fs::write(env.p("servers.json"), r#"{"mcpServers": {"truenas": {"command": "mcp-catalogue-no-such-cmd"}}}"#).unwrap();
    let (code, out, _) = env.refresh(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("0 added, 0 removed, 0 changed"), "{out}");
    let tools: Vec<Value> = serde_json::from_slice(&env.cmd().args(["export"]).output().unwrap().stdout).unwrap();
    assert_eq!(tools.len(), 279);
}

fn integrity(db: &Path) -> (String, i64, i64) {
    let c = rusqlite::Connection::open(db).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    let runs: i64 = c.query_row("SELECT count(*) FROM runs", [], |r| r.get(0)).unwrap();
    let tools: i64 = c.query_row("SELECT count(*) FROM tools WHERE status = 'active'", [], |r| r.get(0)).unwrap();
    (ok, runs, tools)
}

#[test]
fn kill_9_at_any_point_leaves_the_database_before_or_after_the_run() {
    let env = Env::new();
    env.servers(&common::truenas_session());
    assert_eq!(env.refresh(&[]).0, 0);
    let db = env.p("catalogue.db");
    let bin = assert_cmd::cargo::cargo_bin("mcp-catalogue");
    for delay_ms in [20u64, 150, 400, 800, 1500] {
        let (_, runs_before, _) = integrity(&db);
        let mut child = std::process::Command::new(&bin)
            .current_dir(common::root())
            .arg("--db")
            .arg(&db)
            .arg("--servers")
            .arg(env.p("servers.json"))
            .arg("refresh")
            .arg("--policy-dir")
            .arg(env.p("policies"))
            .arg("--site-dir")
            .arg(env.p("site"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let (ok, runs, tools) = integrity(&db);
        assert_eq!(ok, "ok", "after kill at {delay_ms} ms");
        assert!(runs == runs_before || runs == runs_before + 1, "half a run? {runs_before} -> {runs}");
        assert_eq!(tools, 279, "after kill at {delay_ms} ms");
    }
    let (code, out, err) = env.refresh(&[]);
    assert_eq!(code, 0, "refresh after kills: {out}\n{err}");
}

#[test]
fn two_refreshes_at_once_never_interleave() {
    let env = Env::new();
    env.servers(&common::truenas_session());
    let spawn = || {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("mcp-catalogue"));
        c.current_dir(common::root())
            .arg("--db")
            .arg(env.p("catalogue.db"))
            .arg("--servers")
            .arg(env.p("servers.json"))
            .arg("refresh")
            .arg("--policy-dir")
            .arg(env.p("policies"))
            .arg("--site-dir")
            .arg(env.p("site"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let a = spawn();
    let b = spawn();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let waited = [&a, &b].iter().any(|o| String::from_utf8_lossy(&o.stderr).contains("waiting for it to finish"));
    assert!(waited, "one refresh should have waited for the other");
    let outs: Vec<String> = [&a, &b].iter().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).collect();
    // One saw everything added; the other, nothing new: they did not interleave.
    assert!(outs.iter().any(|o| o.contains("279 added")), "{outs:?}");
    assert!(outs.iter().any(|o| o.contains("0 added, 0 removed, 0 changed")), "{outs:?}");
    let (ok, runs, tools) = integrity(&env.p("catalogue.db"));
    assert_eq!((ok.as_str(), runs, tools), ("ok", 2, 279));
}
