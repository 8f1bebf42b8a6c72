//! The real evaluation corpus (`data/corpus.json`: 54 npm and PyPI servers of
//! 53 vendors whose authors set MCP hints), crawled live by `scripts/corpus`
//! and scored by `mcp-catalogue eval` on the vendors the rules were not tuned
//! on (`data/corpus-tune-vendors.txt` names the others).
//!
//! It installs and starts 54 servers (about 7 minutes on a cold cache), so
//! it runs only with `MCP_CATALOGUE_CORPUS` set and not `0` (`scripts/test`,
//! and so CI, sets it); without it, or when the npm registry cannot be
//! reached, it says so and passes. The floors are the figures
//! measured when the rules were last tuned, less a margin: a rule change
//! that makes judgement on unseen vendors worse fails here. Issue #17's
//! targets (kind ≥ 96 %, destructiveHint ≥ 88 %, ...) are not met yet; the
//! README gives the figures.

mod common;

use serde_json::Value;
use std::process::Command;

fn score(report: &Value, hint: &str, field: &str) -> f64 {
    report["scores"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["hint"] == hint))
        .and_then(|s| s[field].as_f64())
        .unwrap_or_else(|| panic!("no {field} for {hint} in {report}"))
}

#[test]
fn held_out_vendors_keep_their_measured_agreement_with_authors_hints() {
    if std::env::var("MCP_CATALOGUE_CORPUS").map_or(true, |v| v == "0") {
        eprintln!("corpus evaluation skipped: set MCP_CATALOGUE_CORPUS=1 to crawl the 54 corpus servers (minutes)");
        return;
    }
    let reachable = Command::new("npm").args(["ping"]).output().is_ok_and(|o| o.status.success());
    if !reachable {
        eprintln!("corpus evaluation skipped: the npm registry cannot be reached (npm ping failed)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("corpus.db");
    let bin = env!("CARGO_BIN_EXE_mcp-catalogue");
    let crawl = Command::new(common::root().join("scripts/corpus"))
        .env("CORPUS_DB", &db)
        .env("MCP_CATALOGUE_BIN", bin)
        .env("JOBS", "3")
        .output()
        .unwrap();
    let servers = String::from_utf8_lossy(&crawl.stdout);
    let ok = servers.lines().filter(|l| l.split_whitespace().nth(1) == Some("ok")).count();
    assert!(ok >= 45, "only {ok} of 54 corpus servers crawled:\n{servers}\n{}", String::from_utf8_lossy(&crawl.stderr));

    let out = Command::new(bin)
        .args(["--db"])
        .arg(&db)
        .args(["--servers", "data/corpus.json", "eval", "--tune-vendors", "data/corpus-tune-vendors.txt", "--part", "test", "--format", "json"])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(score(&report, "readOnlyHint", "tools") >= 1200.0, "{report}");
    // Measured at the last tuning (held-out vendors): 94.8 / 93.1 / 77.0 / 78.2 / 46.6.
    for (hint, field, floor) in [
        ("readOnlyHint", "micro", 0.93),
        ("readOnlyHint", "macro_server", 0.91),
        ("destructiveHint", "balanced", 0.72),
        ("idempotentHint", "balanced", 0.75),
        ("openWorldHint", "balanced", 0.44),
    ] {
        let got = score(&report, hint, field);
        assert!(got >= floor, "{hint} {field} {got:.3} < {floor} on held-out vendors");
    }

    // Tool poisoning (issue #21): at most 0.5 % of the real tools flagged
    // (scripts/poison-falsealarms lists them with their findings).
    let out = Command::new(bin)
        .args(["--db"])
        .arg(&db)
        .args(["--servers", "data/corpus.json", "export", "--format", "json"])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tools: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let flagged: Vec<String> = tools
        .iter()
        .filter(|t| t["signals"].as_array().is_some_and(|s| s.iter().any(|s| s == "suspicious-description")))
        .map(|t| format!("{}/{}", t["server"].as_str().unwrap_or(""), t["name"].as_str().unwrap_or("")))
        .collect();
    assert!(tools.len() >= 1500, "only {} corpus tools", tools.len());
    assert!(flagged.len() * 200 <= tools.len(), "{} of {} corpus tools flagged as poisoned: {flagged:?}", flagged.len(), tools.len());
}
