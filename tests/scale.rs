//! Scale beyond one machine: `crawl --shard K/N` and `merge`.

mod common;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

fn cmd(db: &Path, servers: &Path) -> Command {
    let mut c = Command::cargo_bin("mcp-catalogue").unwrap();
    c.current_dir(common::root()).arg("--db").arg(db).arg("--servers").arg(servers);
    c
}

fn export(db: &Path, servers: &Path) -> Vec<Value> {
    let out = cmd(db, servers).arg("export").output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn shards_are_stable_disjoint_and_merge_into_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut servers = serde_json::Map::new();
    for name in ["alpha", "bravo", "charlie", "delta", "echo"] {
        servers.insert(name.into(), json!({"command": "python3", "args": [common::replay(), common::truenas_session()]}));
    }
    let sf = d.join("servers.json");
    std::fs::write(&sf, json!({"mcpServers": servers}).to_string()).unwrap();

    let mut seen: Vec<BTreeSet<String>> = vec![];
    for k in 1..=2 {
        let db = d.join(format!("shard-{k}.db"));
        let out = cmd(&db, &sf).args(["crawl", "--shard", &format!("{k}/2")]).output().unwrap();
        assert!(out.status.success() || export(&db, &sf).is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
        seen.push(export(&db, &sf).iter().map(|t| t["server"].as_str().unwrap().to_string()).collect());
    }
    assert!(seen[0].is_disjoint(&seen[1]), "a server crawled by two shards");
    let union: BTreeSet<String> = seen[0].union(&seen[1]).cloned().collect();
    assert_eq!(union.len(), 5, "every server in exactly one shard");
    // Stable: the same assignment on a second run.
    let again = d.join("again.db");
    cmd(&again, &sf).args(["crawl", "--shard", "1/2"]).output().unwrap();
    let again: BTreeSet<String> = export(&again, &sf).iter().map(|t| t["server"].as_str().unwrap().to_string()).collect();
    assert_eq!(again, seen[0]);

    let merged = d.join("merged.db");
    let out = cmd(&merged, &sf).arg("merge").arg(d.join("shard-1.db")).arg(d.join("shard-2.db")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let whole = d.join("whole.db");
    assert!(cmd(&whole, &sf).arg("crawl").output().unwrap().status.success());
    let key = |v: &[Value]| -> BTreeSet<(String, String, String, String)> {
        v.iter()
            .map(|t| {
                (
                    t["server"].as_str().unwrap().into(),
                    t["name"].as_str().unwrap().into(),
                    t["hash"].as_str().unwrap().into(),
                    t["risk"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let (m, w) = (export(&merged, &sf), export(&whole, &sf));
    assert_eq!(m.len(), 5 * 279);
    assert_eq!(key(&m), key(&w), "merged shards differ from one whole crawl");
    // Merging the same shards again changes nothing.
    let out = cmd(&merged, &sf).arg("merge").arg(d.join("shard-1.db")).arg(d.join("shard-2.db")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("+0 -0 ~0"), "{}", String::from_utf8_lossy(&out.stdout));
    // Bad shard specs are bad input.
    assert_eq!(cmd(&merged, &sf).args(["crawl", "--shard", "3/2"]).output().unwrap().status.code(), Some(2));
}
