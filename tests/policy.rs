//! Recommended policies for the recorded hierarchical TrueNAS server, driven
//! through the real binary: crawl (with expansion), `policy`, `policy check`.
//! Every file `policy` writes is validated against schema/policy.schema.json.

mod common;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A crawled catalogue in a directory of its own (under target/, so the one
/// shared by several tests, never dropped, is left only there).
struct Catalogue {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Catalogue {
    /// Crawl the recorded TrueNAS server under each of `names`.
    fn crawl(names: &[&str]) -> Catalogue {
        let tmp = tempfile::Builder::new()
            .prefix("policy-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let dir = tmp.path().to_path_buf();
        let mut servers = serde_json::Map::new();
        for n in names {
            servers.insert(
                n.to_string(),
                json!({
                    "command": "python3",
                    "args": [common::replay().to_string_lossy(), common::truenas_session().to_string_lossy()],
                    "expand": "truenas",
                }),
            );
        }
        let c = Catalogue { _tmp: tmp, dir };
        std::fs::write(
            c.servers(),
            serde_json::to_string_pretty(&json!({"mcpServers": servers})).unwrap(),
        )
        .unwrap();
        let (code, out, err) = run(c.cmd().arg("crawl"));
        assert_eq!(code, 0, "crawl failed\n{out}\n{err}");
        c
    }

    fn servers(&self) -> PathBuf {
        self.dir.join("servers.json")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("mcp-catalogue").unwrap();
        c.current_dir(common::root())
            .arg("--db")
            .arg(self.dir.join("catalogue.db"))
            .arg("--servers")
            .arg(self.servers())
            .env("NO_COLOR", "1");
        c
    }

    /// Run `policy --out FILE` plus `extra`; validate and return the file.
    fn policy(&self, file: &str, extra: &[&str]) -> (PathBuf, Value) {
        let out = self.dir.join(file);
        let (code, stdout, stderr) =
            run(self.cmd().arg("policy").arg("--out").arg(&out).args(extra));
        assert_eq!(code, 0, "policy failed\n{stdout}\n{stderr}");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_valid(&v);
        (out, v)
    }
}

/// One TrueNAS crawl shared by the tests that only read it.
fn truenas() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| Catalogue::crawl(&["truenas"]))
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_valid(v: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("schema/policy.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "policy does not match schema/policy.schema.json: {errors:#?}"
    );
}

/// `policy check` → (exit code, decision JSON).
fn check(policy: &Path, tool: &str, args: Option<Value>) -> (i32, Value) {
    let mut c = Command::cargo_bin("mcp-catalogue").unwrap();
    c.current_dir(common::root())
        .args(["policy", "check", "--policy"])
        .arg(policy)
        .args(["--tool", tool]);
    if let Some(a) = args {
        c.arg("--args").arg(a.to_string());
    }
    c.args(["--format", "json"]);
    let (code, out, err) = run(&mut c);
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("check output is not JSON ({e}):\n{out}\n{err}"));
    assert_eq!(v["tool"], tool, "{v}");
    (code, v)
}

/// The real category of each action we test, from the recorded session.
const CASES: &[(&str, &str, &str, i32)] = &[
    ("iscsi_sessions", "sharing", "allow", 0),
    ("pool_list", "storage", "allow", 0),
    ("disk_wipe", "disk", "deny", 3),
    ("truenas_api_call", "api", "deny", 3),
];

#[test]
fn truenas_policy_decides_actions_by_name_and_through_the_umbrella() {
    let c = truenas();
    let (file, v) = c.policy("truenas.json", &[]);
    assert_eq!(v["version"], "1");
    assert_eq!(v["default"], "deny");
    let umbrella = &v["tools"]["truenas"];
    assert_eq!(umbrella["match"], "action", "{umbrella}");
    assert_eq!(umbrella["actions"].as_object().unwrap().len(), 278);
    assert_eq!(umbrella["discovery"], json!({}));
    for (name, category, decision, code) in CASES {
        let (got, d) = check(&file, name, None);
        assert_eq!(
            (got, d["decision"].as_str().unwrap()),
            (*code, *decision),
            "{name}: {d}"
        );
        let (got, u) = check(
            &file,
            "truenas",
            Some(json!({"category": category, "action": name, "params": {}})),
        );
        assert_eq!(
            (got, u["decision"].as_str().unwrap()),
            (*code, *decision),
            "truenas {name}: {u}"
        );
        assert_eq!(u["reason"], d["reason"]);
        if *decision == "deny" {
            let reason = d["reason"].as_str().unwrap_or_default();
            assert!(reason.starts_with("critical "), "{name}: {reason}");
        }
    }
    // Discovery calls of the umbrella are allowed.
    for args in [json!({}), json!({"category": "disk"})] {
        let (code, d) = check(&file, "truenas", Some(args.clone()));
        assert_eq!(
            (code, d["rule"].as_str().unwrap()),
            (0, "tools.truenas.discovery"),
            "{args}: {d}"
        );
    }
    assert_eq!(check(&file, "truenas", None).0, 0);
    // Unknown tool, unknown action: the default, deny.
    let (code, d) = check(&file, "no_such_tool", None);
    assert_eq!(
        (
            code,
            d["decision"].as_str().unwrap(),
            d["rule"].as_str().unwrap()
        ),
        (3, "deny", "default")
    );
    let (code, _) = check(
        &file,
        "truenas",
        Some(json!({"category": "disk", "action": "disk_format_all"})),
    );
    assert_eq!(code, 3);
}

#[test]
fn check_text_output_and_bad_input() {
    let c = truenas();
    let (file, _) = c.policy("text.json", &[]);
    let mut cmd = Command::cargo_bin("mcp-catalogue").unwrap();
    cmd.current_dir(common::root())
        .args(["policy", "check", "--policy"])
        .arg(&file)
        .args(["--tool", "disk_wipe"]);
    let (code, out, _) = run(&mut cmd);
    assert_eq!(code, 3);
    assert!(
        out.starts_with("deny disk_wipe (rule tools.disk_wipe): critical"),
        "{out}"
    );

    // A policy file with a typo is an error naming file, line and column.
    let bad = c.dir.join("bad-policy.json");
    std::fs::write(
        &bad,
        "{\"version\": \"1\",\n \"tools\": {\"x\": {\"acton\": \"deny\"}}}\n",
    )
    .unwrap();
    let mut cmd = Command::cargo_bin("mcp-catalogue").unwrap();
    cmd.current_dir(common::root())
        .args(["policy", "check", "--policy"])
        .arg(&bad)
        .args(["--tool", "x"]);
    let (code, _, err) = run(&mut cmd);
    assert!(code != 0 && code != 3 && code != 4, "{code}: {err}");
    assert!(err.contains("bad-policy.json:2:"), "{err}");
    assert!(err.contains("acton"), "{err}");
}

#[test]
fn overrides_are_merged_and_marked() {
    let c = truenas();
    let o = c.dir.join("overrides.json");
    std::fs::write(
        &o,
        serde_json::to_string_pretty(&json!({"version": "1", "tools": {
            "pool_list": {"action": "require_approval", "reason": "reviewed by storage team"},
            "truenas": {"match": "action", "actions": {"iscsi_sessions": {"action": "deny", "reason": "no iSCSI here"}}},
        }}))
        .unwrap(),
    )
    .unwrap();
    let (file, v) = c.policy("with-overrides.json", &["--overrides", o.to_str().unwrap()]);
    assert_eq!(
        v["tools"]["pool_list"]["source"], "override",
        "{}",
        v["tools"]["pool_list"]
    );
    assert_eq!(
        v["tools"]["truenas"]["actions"]["pool_list"]["source"],
        "override"
    );
    assert_eq!(
        v["tools"]["truenas"]["actions"]["iscsi_sessions"]["source"],
        "override"
    );
    assert_eq!(v["tools"]["iscsi_sessions"]["source"], "override");
    assert_eq!(v["tools"]["disk_wipe"].get("source"), None);

    let (code, d) = check(&file, "pool_list", None);
    assert_eq!(
        (code, d["decision"].as_str().unwrap()),
        (4, "require_approval"),
        "{d}"
    );
    assert_eq!(d["reason"], "reviewed by storage team");
    let (code, _) = check(
        &file,
        "truenas",
        Some(json!({"category": "storage", "action": "pool_list"})),
    );
    assert_eq!(code, 4);
    let (code, _) = check(
        &file,
        "truenas",
        Some(json!({"category": "sharing", "action": "iscsi_sessions"})),
    );
    assert_eq!(code, 3);
    let (code, _) = check(&file, "iscsi_sessions", None);
    assert_eq!(code, 3);
    // Untouched rules are as generated.
    assert_eq!(check(&file, "disk_wipe", None).0, 3);

    // A broken overrides file stops generation with file:line:column.
    let bad = c.dir.join("bad-overrides.json");
    std::fs::write(
        &bad,
        "{\"version\": \"1\",\n \"tools\": {\"x\": {\"action\": \"maybe\"}}}\n",
    )
    .unwrap();
    let (code, _, err) = run(c
        .cmd()
        .arg("policy")
        .arg("--out")
        .arg(c.dir.join("never.json"))
        .arg("--overrides")
        .arg(&bad));
    assert_ne!(code, 0);
    assert!(err.contains("bad-overrides.json:2:"), "{err}");
}

#[test]
fn pinned_policy_carries_definition_hashes() {
    let c = truenas();
    let (_, v) = c.policy("pinned.json", &["--pin"]);
    let export = {
        let out = c
            .cmd()
            .args(["export", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
    };
    let hash_of = |name: &str| -> String {
        let t = export
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not exported"));
        format!("sha256:{}", t["hash"].as_str().unwrap())
    };
    assert_eq!(v["tools"]["disk_wipe"]["pin"], hash_of("disk_wipe"));
    assert_eq!(
        v["tools"]["truenas"]["actions"]["disk_wipe"]["pin"],
        hash_of("disk_wipe")
    );
    assert_eq!(v["tools"]["truenas"]["pin"], hash_of("truenas"));
    for (name, rule) in v["tools"].as_object().unwrap() {
        assert!(
            rule["pin"]
                .as_str()
                .is_some_and(|p| p.starts_with("sha256:")),
            "{name} has no pin"
        );
    }
}

#[test]
fn several_servers_qualify_shared_names_only() {
    let c = Catalogue::crawl(&["nas1", "nas2"]);
    let (file, v) = c.policy("both.json", &[]);
    let tools = v["tools"].as_object().unwrap();
    assert!(
        tools.contains_key("nas1/disk_wipe") && tools.contains_key("nas2/disk_wipe"),
        "{:?}",
        tools.keys().take(5).collect::<Vec<_>>()
    );
    assert!(tools.contains_key("nas1/truenas") && !tools.contains_key("disk_wipe"));
    assert_eq!(check(&file, "nas2/disk_wipe", None).0, 3);
    assert_eq!(check(&file, "nas1/pool_list", None).0, 0);
    assert_eq!(
        check(
            &file,
            "nas1/truenas",
            Some(json!({"category": "disk", "action": "disk_wipe"}))
        )
        .0,
        3
    );
    // One server alone: plain names.
    let (file, v) = c.policy("one.json", &["--server", "nas1"]);
    assert!(v["tools"].get("disk_wipe").is_some() && v["tools"].get("nas1/disk_wipe").is_none());
    assert_eq!(check(&file, "pool_list", None).0, 0);

    // Without --out: one file per server, each valid.
    let dir = c.dir.join("per-server");
    let (code, out, err) = run(c.cmd().arg("policy").arg("--dir").arg(&dir));
    assert_eq!(code, 0, "{out}\n{err}");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in files {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&f)).unwrap()).unwrap();
        assert_valid(&v);
        assert!(v["tools"].get("disk_wipe").is_some(), "{f}");
    }
}

#[test]
fn cedar_export_has_the_same_rules() {
    let c = truenas();
    let out = c.dir.join("policy.cedar");
    let (code, so, se) = run(c
        .cmd()
        .args(["policy", "--format", "cedar", "--out"])
        .arg(&out));
    assert_eq!(code, 0, "{so}\n{se}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("@id(\"tools.disk_wipe\")"), "{text}");
    assert!(text.contains("when { context has arg_action && context.arg_action == \"disk_wipe\" }"));
    assert!(text.contains("when { !(context has arg_action) }"));
    // 278 flat rules, 278 umbrella actions, one discovery rule.
    assert_eq!(text.matches("@id(").count(), 2 * 278 + 1);
}

/// The Cedar text evaluated in-process by the real Cedar engine (the
/// `cedar-policy` crate): it parses, and for every call its decision agrees
/// with `policy check` on the JSON policy, decided by the same rule (`@id`).
/// Passes: the generated policy; with overrides adding require_approval and
/// rate limits; and that policy under `default: allow` / `require_approval`.
#[test]
fn cedar_engine_agrees_with_check() {
    let c = truenas();
    let calls = [
        ("iscsi_sessions", json!({})),
        ("pool_list", json!({})),
        ("disk_wipe", json!({})),
        ("no_such_tool", json!({})),
        ("truenas", json!({})),
        ("truenas", json!({"category": "disk"})),
        (
            "truenas",
            json!({"category": "disk", "action": "disk_wipe"}),
        ),
        (
            "truenas",
            json!({"category": "sharing", "action": "iscsi_sessions"}),
        ),
        (
            "truenas",
            json!({"category": "storage", "action": "pool_list", "params": {"x": 1}}),
        ),
        (
            "truenas",
            json!({"category": "api", "action": "truenas_api_call"}),
        ),
        ("truenas", json!({"action": "disk_format_all"})),
        ("truenas", json!({"action": 7})),
    ];

    // 1. As generated.
    let (json_file, _) = c.policy("for-cedar.json", &[]);
    let cedar = c.dir.join("engine.cedar");
    let (code, so, se) = run(c
        .cmd()
        .args(["policy", "--format", "cedar", "--out"])
        .arg(&cedar));
    assert_eq!(code, 0, "{so}\n{se}");
    let text = std::fs::read_to_string(&cedar).unwrap();
    let seen = cedar_agrees(&json_file, &text, &calls);
    assert!(seen.contains("allow") && seen.contains("deny"), "{seen:?}");

    // 2. With overrides: require_approval and rate limits, flat and umbrella.
    let o = c.dir.join("cedar-overrides.json");
    std::fs::write(
        &o,
        json!({"version": "1", "tools": {
            "pool_list": {"action": "require_approval", "reason": "reviewed by storage team"},
            "iscsi_sessions": {"rate_limit": {"max": 30, "window": 60}},
            "truenas": {"match": "action", "actions": {
                "pool_list": {"action": "require_approval", "reason": "reviewed by storage team"},
                "iscsi_sessions": {"rate_limit": {"max": 30, "window": 60}},
            }},
        }})
        .to_string(),
    )
    .unwrap();
    let ov = ["--overrides", o.to_str().unwrap()];
    let (json_file, _) = c.policy("for-cedar-ov.json", &ov);
    let cedar = c.dir.join("engine-ov.cedar");
    let (code, so, se) = run(c
        .cmd()
        .args(["policy", "--format", "cedar", "--out"])
        .arg(&cedar)
        .args(ov));
    assert_eq!(code, 0, "{so}\n{se}");
    let text = std::fs::read_to_string(&cedar).unwrap();
    let seen = cedar_agrees(&json_file, &text, &calls);
    assert!(
        seen.contains("allow") && seen.contains("deny") && seen.contains("require_approval"),
        "{seen:?}"
    );

    // 3. The same rules under the other defaults (Cedar from the library's
    // `to_cedar`, which `policy --format cedar` prints). The require_approval
    // default's `unless` lists every rule; it must evaluate on an ordinary
    // 2 MiB thread stack (a `||` chain per action once hit Cedar's recursion limit).
    for default in ["allow", "require_approval"] {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap())
            .unwrap();
        v["default"] = json!(default);
        let file = c.dir.join(format!("for-cedar-{default}.json"));
        std::fs::write(&file, v.to_string()).unwrap();
        let p = mcp_catalogue::policy::load_policy(&file).unwrap();
        let text = mcp_catalogue::policy::to_cedar(&p);
        let calls = calls.clone();
        let seen = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || cedar_agrees(&file, &text, &calls))
            .unwrap()
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        assert!(seen.contains(default), "{default}: {seen:?}");
    }
}

/// Check `calls` against `json_file` with `policy check` and the Cedar
/// `text` with the Cedar engine; returns the decisions seen.
fn cedar_agrees(
    json_file: &Path,
    text: &str,
    calls: &[(&str, Value)],
) -> std::collections::BTreeSet<String> {
    use cedar_policy::{
        Authorizer, Context, Decision, Effect, Entities, EntityUid, PolicySet, Request,
    };
    use std::str::FromStr;

    let policies = PolicySet::from_str(text)
        .unwrap_or_else(|e| panic!("Cedar does not parse {}: {e:?}", json_file.display()));
    assert!(policies.policies().count() > 0);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(json_file).unwrap()).unwrap();
    let default = json["default"].as_str().unwrap_or("deny");
    let authorizer = Authorizer::new();
    let entities = Entities::empty();
    // The policies leave the principal unconstrained.
    let principal = EntityUid::from_str(r#"Agent::"test""#).unwrap();
    let action = EntityUid::from_str(r#"Action::"call_tool""#).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (tool, args) in calls {
        // ToolHive's context: each argument as arg_<key>.
        let ctx: serde_json::Map<String, Value> = args
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (format!("arg_{k}"), v.clone()))
            .collect();
        let resource =
            EntityUid::from_str(&format!("Tool::{}", Value::String(tool.to_string()))).unwrap();
        let request = Request::new(
            principal.clone(),
            action.clone(),
            resource,
            Context::from_json_value(Value::Object(ctx), None).unwrap(),
            None,
        )
        .unwrap();
        let response = authorizer.is_authorized(&request, &policies, &entities);
        let diag = response.diagnostics();
        let errors: Vec<String> = diag.errors().map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{tool} {args}: {errors:?}");
        let decided: Vec<_> = diag
            .reason()
            .map(|id| policies.policy(id).expect("a reason is a policy"))
            .collect();
        let ids: Vec<&str> = decided
            .iter()
            .map(|p| p.annotation("id").unwrap_or("?"))
            .collect();

        let (code, d) = check(json_file, tool, Some(args.clone()));
        let what = format!("{tool} {args}: check {d}, Cedar {response:?}");
        let decision = d["decision"].as_str().unwrap();
        let rule = d["rule"].as_str().unwrap();
        seen.insert(decision.to_string());
        let want = if code == 0 {
            Decision::Allow
        } else {
            Decision::Deny
        };
        assert_eq!(response.decision(), want, "{what}");
        match decision {
            "allow" => {
                assert!(decided.iter().all(|p| p.effect() == Effect::Permit), "{what}");
                assert!(ids.contains(&rule), "{what}");
                let rl = &d["rate_limit"];
                if !rl.is_null() {
                    let p = decided[ids.iter().position(|i| *i == rule).unwrap()];
                    let max = rl["max"].to_string();
                    let window = rl["window"].to_string();
                    assert_eq!(p.annotation("rate_limit_max"), Some(max.as_str()), "{what}");
                    assert_eq!(p.annotation("rate_limit_window"), Some(window.as_str()), "{what}");
                }
            }
            "deny" if rule == "default" && default == "deny" => {
                // Nothing permits it; no forbid is needed.
                assert!(decided.is_empty(), "{what}");
            }
            "deny" | "require_approval" => {
                assert!(!decided.is_empty(), "{what}");
                assert!(decided.iter().all(|p| p.effect() == Effect::Forbid), "{what}");
                assert_eq!(ids, [rule], "{what}");
                let p = decided[0];
                if decision == "require_approval" {
                    assert_eq!(p.annotation("approval"), Some("required"), "{what}");
                } else {
                    assert_eq!(p.annotation("approval"), None, "{what}");
                    assert!(p.annotation("reason").is_some(), "{what}");
                }
                match d["reason"].as_str() {
                    Some(r) if rule != "default" => {
                        assert_eq!(p.annotation("reason"), Some(r), "{what}")
                    }
                    _ => {}
                }
            }
            other => panic!("unknown decision {other}: {what}"),
        }
    }
    seen
}

/// `policy --format cedar` writes the tools' effective hints as Cedar entity
/// attributes beside the policy: a policy written against annotations (as
/// ToolHive's examples are) then decides for a server whose author set none,
/// and agrees with each tool's verdict.
#[test]
fn cedar_entities_carry_effective_hints_for_unannotated_servers() {
    use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
    use std::str::FromStr;
    let c = truenas();
    let out = c.dir.join("hints.cedar");
    let (code, so, se) = run(c.cmd().args(["policy", "--format", "cedar", "--out"]).arg(&out));
    assert_eq!(code, 0, "{so}\n{se}");
    let text = std::fs::read_to_string(c.dir.join("hints.entities.json")).unwrap();
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    let entities = Entities::from_json_str(&text, None).expect("Cedar reads the entities");
    let by_annotation = PolicySet::from_str(
        r#"permit (principal, action == Action::"call_tool", resource)
           when { resource has readOnlyHint && resource.readOnlyHint };"#,
    )
    .unwrap();
    let (code, export, _) = run(c.cmd().args(["export", "--format", "json"]));
    assert_eq!(code, 0);
    let export: Vec<Value> = serde_json::from_str(&export).unwrap();
    let (mut allowed, mut denied) = (0, 0);
    for e in &list {
        let name = e["uid"]["id"].as_str().unwrap();
        let read_only = e["attrs"]["readOnlyHint"].as_bool().unwrap();
        for key in ["destructiveHint", "idempotentHint", "openWorldHint"] {
            assert!(e["attrs"][key].is_boolean(), "{name}: {key}");
        }
        let tool = export.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} not exported"));
        assert_eq!(read_only, tool["kind"] == "read", "{name}: readOnlyHint follows the verdict");
        let request = Request::new(
            EntityUid::from_str(r#"Agent::"test""#).unwrap(),
            EntityUid::from_str(r#"Action::"call_tool""#).unwrap(),
            EntityUid::from_str(&format!("Tool::{}", Value::String(name.to_string()))).unwrap(),
            Context::empty(),
            None,
        )
        .unwrap();
        let decision = Authorizer::new().is_authorized(&request, &by_annotation, &entities).decision();
        assert_eq!(decision == Decision::Allow, read_only, "{name}");
        if read_only { allowed += 1 } else { denied += 1 }
    }
    assert!(allowed > 50 && denied > 50, "reads {allowed}, writes {denied}");
}
