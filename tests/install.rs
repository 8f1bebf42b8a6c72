//! The installed binary works from any directory: a copy of the built
//! binary in an empty temporary directory crawls, classifies, writes
//! policies and a site with its built-in rules; `rules export` writes those
//! rules out, and the rules hash is the same either way.

mod common;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

/// A copy of the built binary, outside the checkout, with its own empty work dir.
struct Installed {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    work: PathBuf,
}

fn install() -> Installed {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin/mcp-catalogue");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_mcp-catalogue"), &bin).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    Installed { _dir: dir, bin, work }
}

impl Installed {
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(&self.bin)
            .args(args)
            .current_dir(&self.work)
            // No client configs of the machine's user leak in.
            .env("HOME", &self.work)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn rules_hash(stderr: &str) -> String {
    stderr.split("(rules ").nth(1).and_then(|s| s.split(')').next()).unwrap_or_else(|| panic!("no rules hash in {stderr}")).to_string()
}

#[test]
fn an_installed_binary_crawls_classifies_and_publishes_from_an_empty_directory() {
    let inst = install();
    assert!(std::fs::read_dir(&inst.work).unwrap().next().is_none(), "work dir starts empty");
    std::fs::write(
        inst.work.join("servers.json"),
        json!({"mcpServers": {"truenas": {"command": "python3",
            "args": [common::replay().to_str().unwrap(), common::truenas_session().to_str().unwrap()], "product": "TrueNAS"}}})
        .to_string(),
    )
    .unwrap();

    let (code, out, err) = inst.run(&["--servers", "servers.json", "crawl"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The built-in truenas recipe expanded the umbrella tool: 1 + 278.
    assert!(out.contains("ok      truenas") && out.contains("279 tools"), "{out}\n{err}");
    assert!(!err.contains("cannot read"), "{err}");

    let (code, _, err) = inst.run(&["classify"]);
    assert_eq!(code, 0, "{err}");
    let built_in = rules_hash(&err);
    // The same files on disk give the same hash.
    let rules = common::root().join("rules");
    let (code, _, err) = inst.run(&["--rules", rules.to_str().unwrap(), "classify"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rules_hash(&err), built_in);

    let (code, _, err) = inst.run(&["policy"]);
    assert_eq!(code, 0, "{err}");
    let policy: Value = serde_json::from_str(&std::fs::read_to_string(inst.work.join("policies/truenas.json")).unwrap()).unwrap();
    assert_eq!(policy["default"], "deny");
    // The built-in profile denies wiping a disk.
    assert_eq!(policy["tools"]["disk_wipe"]["action"], "deny", "{policy}");

    let (code, _, err) = inst.run(&["site"]);
    assert_eq!(code, 0, "{err}");
    let index = std::fs::read_to_string(inst.work.join("site/index.html")).unwrap();
    assert!(index.contains("truenas"));
    assert!(inst.work.join("site/servers").read_dir().unwrap().count() >= 1);

    // The verdicts name the built-in rules' hash.
    let (_, export, _) = inst.run(&["export"]);
    let tools: Vec<Value> = serde_json::from_str(&export).unwrap();
    assert!(tools.iter().all(|t| t["verdict"]["rules_hash"].as_str().unwrap().starts_with(&built_in)), "{}", &tools[0]["verdict"]);
}

#[test]
fn without_a_servers_file_the_error_names_it_and_the_ways_out() {
    let inst = install();
    let (code, out, err) = inst.run(&["crawl"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("data/servers.json") && err.contains("--servers") && err.contains("--from-clients"), "{err}");
    assert!(!inst.work.join("catalogue.db").exists(), "a failed start leaves no database");
}

#[test]
fn rules_export_writes_the_built_in_rules_for_editing() {
    let inst = install();
    let (code, _, err) = inst.run(&["rules", "export", "myrules"]);
    assert_eq!(code, 0, "{err}");
    let dir = inst.work.join("myrules");
    for f in ["verbs.toml", "phrases.toml", "objects.toml", "params.toml", "suspicious.toml", "overrides.toml", "policy.toml", "expanders/truenas.toml", "README.md"] {
        let ours = std::fs::read(common::root().join("rules").join(f)).unwrap();
        assert_eq!(std::fs::read(dir.join(f)).unwrap(), ours, "{f} differs from rules/{f}");
    }
    // The exported copy hashes like the built-in rules...
    let (_, _, err) = inst.run(&["classify"]);
    let built_in = rules_hash(&err);
    let (_, _, err) = inst.run(&["--rules", "myrules", "classify"]);
    assert_eq!(rules_hash(&err), built_in);
    // ...and an edit is used (and changes the hash).
    let verbs = dir.join("verbs.toml");
    let mut text = std::fs::read_to_string(&verbs).unwrap();
    text.push_str("\n# local edit\n");
    std::fs::write(&verbs, &text).unwrap();
    let (code, _, err) = inst.run(&["--rules", "myrules", "classify"]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(rules_hash(&err), built_in);
    // A second export does not overwrite the edit.
    let (code, _, err) = inst.run(&["rules", "export", "myrules"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("verbs.toml") && err.contains("--force"), "{err}");
    assert!(std::fs::read_to_string(&verbs).unwrap().ends_with("# local edit\n"));
}
