//! Mechanism tests on hand-made records and verdicts.

use super::*;
use crate::model::{Category, Kind, Risk, Signal, ToolRecord, Verdict};
use serde_json::{json, Value};
use std::path::Path;

fn tool(server: &str, name: &str) -> ToolRecord {
    ToolRecord::from_raw(
        server,
        json!({"name": name, "inputSchema": {"type": "object"}}),
    )
}

fn action(server: &str, parent: &str, category: &str, name: &str) -> ToolRecord {
    let mut t = tool(server, name);
    t.parent = Some(parent.to_string());
    t.category = Some(category.to_string());
    t.selector = Some(json!({"category": category, "action": name}));
    t
}

fn verdict(kind: Kind, category: Category, risk: Risk, signals: &[(&str, &str)]) -> Verdict {
    Verdict {
        kind,
        category,
        risk,
        signals: signals
            .iter()
            .map(|(n, e)| Signal {
                name: n.to_string(),
                evidence: e.to_string(),
            })
            .collect(),
        reasons: Vec::new(),
        confidence: 0.9,
        inferred: Default::default(),
        effective: Default::default(),
        rules_hash: "r".into(),
    }
}

fn low() -> Verdict {
    verdict(Kind::Read, Category::Read, Risk::Low, &[])
}
fn medium() -> Verdict {
    verdict(Kind::Write, Category::Write, Risk::Medium, &[])
}
fn high() -> Verdict {
    verdict(
        Kind::Write,
        Category::Write,
        Risk::High,
        &[("credential-change", "Set or change a user's password")],
    )
}
fn critical() -> Verdict {
    verdict(
        Kind::Write,
        Category::Destructive,
        Risk::Critical,
        &[
            ("destructive", "permanently wipes disk data"),
            ("irreversible", "destroying all data"),
        ],
    )
}

fn hash(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn validate(policy: &PolicyFile) {
    let schema: Value = serde_json::from_str(POLICY_SCHEMA).expect("schema is JSON");
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let inst: Value = serde_json::from_str(&policy.to_json_pretty()).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&inst)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "schema errors: {errors:#?}\n{}",
        policy.to_json_pretty()
    );
    // And it reads back identically.
    let back = parse_policy(&policy.to_json_pretty(), Path::new("x.json")).expect("reads back");
    assert_eq!(&back, policy);
}

fn schema_accepts(v: &Value) -> bool {
    let schema: Value = serde_json::from_str(POLICY_SCHEMA).unwrap();
    jsonschema::validator_for(&schema).unwrap().is_valid(v)
}

struct Fixture {
    tools: Vec<ToolRecord>,
    verdicts: Vec<Verdict>,
    hashes: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            tools: Vec::new(),
            verdicts: Vec::new(),
            hashes: Vec::new(),
        }
    }
    fn add(mut self, t: ToolRecord, v: Verdict) -> Fixture {
        self.hashes.push(t.hash());
        self.tools.push(t);
        self.verdicts.push(v);
        self
    }
    fn entries(&self) -> Vec<Entry<'_>> {
        (0..self.tools.len())
            .map(|i| Entry {
                tool: &self.tools[i],
                verdict: &self.verdicts[i],
                hash: &self.hashes[i],
            })
            .collect()
    }
}

/// The TrueNAS shape: one umbrella, actions in categories.
fn truenas() -> Fixture {
    Fixture::new()
        .add(
            tool("truenas", "truenas"),
            verdict(Kind::Write, Category::Execute, Risk::High, &[]),
        )
        .add(
            action("truenas", "truenas", "sharing", "iscsi_sessions"),
            low(),
        )
        .add(action("truenas", "truenas", "storage", "pool_list"), low())
        .add(
            action("truenas", "truenas", "storage", "pool_update"),
            medium(),
        )
        .add(
            action("truenas", "truenas", "account", "user_set_password"),
            high(),
        )
        .add(
            action("truenas", "truenas", "disk", "disk_wipe"),
            critical(),
        )
        .add(
            action("truenas", "truenas", "api", "truenas_api_call"),
            verdict(
                Kind::Write,
                Category::Execute,
                Risk::Critical,
                &[("arbitrary-call", "raw API call to any endpoint")],
            ),
        )
}

// ---------------------------------------------------------------- profile

#[test]
fn builtin_profile_is_the_shipped_file_and_maps_risk() {
    let p = Profile::default();
    assert_eq!(p.default, Action::Deny);
    assert_eq!(
        p.risk.low,
        BaseRule {
            action: Action::Allow,
            rate_limit: None
        }
    );
    assert_eq!(
        p.risk.medium.rate_limit,
        Some(RateLimit {
            max: 30,
            window: 60
        })
    );
    assert_eq!(p.risk.high.action, Action::RequireApproval);
    assert_eq!(p.risk.critical.action, Action::Deny);
    assert_eq!(p.discovery.action, Action::Allow);
    let shipped =
        Profile::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/policy.toml")).unwrap();
    assert_eq!(
        Profile {
            path: None,
            ..shipped
        },
        p
    );
    let missing = Profile::load(Path::new("/nonexistent/policy.toml")).unwrap();
    assert_eq!(missing, p);
}

fn profile_err(text: &str) -> (usize, usize, String) {
    match Profile::parse(text, Path::new("rules/policy.toml")) {
        Err(PolicyError::Parse {
            line,
            column,
            message,
            path,
        }) => {
            assert_eq!(path, Path::new("rules/policy.toml"));
            (line, column, message)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

const MINI: &str = "default = \"deny\"\n[discovery]\naction = \"allow\"\n[risk.low]\naction = \"allow\"\n[risk.medium]\naction = \"allow\"\n[risk.high]\naction = \"require_approval\"\n[risk.critical]\naction = \"deny\"\n";

#[test]
fn profile_errors_name_line_and_column() {
    assert!(Profile::parse(MINI, Path::new("p.toml")).is_ok());
    // Typo in a key.
    let (line, col, msg) = profile_err(&format!(
        "{MINI}[[adjust]]\nsignal = \"x\"\nat_lest = \"deny\"\n"
    ));
    assert_eq!((line, col), (14, 1), "{msg}");
    assert!(msg.contains("at_lest"), "{msg}");
    // Rate limit on a deny.
    let text = MINI.replace(
        "[risk.critical]\naction = \"deny\"\n",
        "[risk.critical]\naction = \"deny\"\nrate_limit = { max = 1, window = 1 }\n",
    );
    let (line, _, msg) = profile_err(&text);
    assert_eq!(line, 10, "{msg}"); // the table that holds it
    assert!(msg.contains("rate_limit applies only"), "{msg}");
    // Unknown action value.
    let (line, _, msg) =
        profile_err(&MINI.replace("action = \"require_approval\"", "action = \"approve\""));
    assert_eq!(line, 9, "{msg}");
    assert!(msg.contains("approve"), "{msg}");
    // Adjustment without a condition.
    let (line, _, msg) = profile_err(&format!("{MINI}[[adjust]]\nat_least = \"deny\"\n"));
    assert_eq!(line, 12, "{msg}");
    assert!(msg.contains("condition"), "{msg}");
    // A zero rate limit.
    let (_, _, msg) = profile_err(&MINI.replace(
        "[risk.medium]\naction = \"allow\"\n",
        "[risk.medium]\naction = \"allow\"\nrate_limit = { max = 0, window = 60 }\n",
    ));
    assert!(msg.contains("at least 1"), "{msg}");
    // Missing risk level.
    let (_, _, msg) = profile_err(&MINI.replace("[risk.critical]\naction = \"deny\"\n", ""));
    assert!(msg.contains("critical"), "{msg}");
    // Version.
    let (line, col, msg) = profile_err(&format!("version = 2\n{MINI}"));
    assert_eq!((line, col), (1, 1));
    assert!(msg.contains("version 2"), "{msg}");
}

// ---------------------------------------------------------------- rules, reasons

#[test]
fn reason_reads_like_a_sentence() {
    assert_eq!(
        reason(&critical()),
        "critical write (destructive): signals destructive, irreversible — permanently wipes disk data"
    );
    assert_eq!(reason(&low()), "low read");
    let long = "x ".repeat(200);
    let r = reason(&verdict(
        Kind::Read,
        Category::Read,
        Risk::Medium,
        &[("a", &long), ("a", "other")],
    ));
    assert!(r.starts_with("medium read: signal a — x x"), "{r}");
    assert!(r.chars().count() < 150 && r.ends_with('…'), "{r}");
}

#[test]
fn rule_for_maps_risk_then_adjusts() {
    let p = Profile::default();
    assert_eq!(rule_for(&low(), &p), Rule::allow());
    let m = rule_for(&medium(), &p);
    assert_eq!(
        (m.action, m.rate_limit, m.reason.as_deref()),
        (
            None,
            Some(RateLimit {
                max: 30,
                window: 60
            }),
            None
        )
    );
    let h = rule_for(&high(), &p);
    assert_eq!(h.action, Some(Action::RequireApproval));
    assert_eq!(
        h.reason.as_deref(),
        Some("high write: signal credential-change — Set or change a user's password")
    );
    let c = rule_for(&critical(), &p);
    assert_eq!(c.action, Some(Action::Deny));
    assert_eq!(c.reason.unwrap(), reason(&critical()));

    // Signals raise a low read.
    let sus = verdict(
        Kind::Read,
        Category::Read,
        Risk::Low,
        &[("suspicious-description", "ignore previous instructions")],
    );
    let r = rule_for(&sus, &p);
    assert_eq!(r.action, Some(Action::RequireApproval));
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .contains("by profile (signal suspicious-description)"),
        "{r:?}"
    );
    let changed = verdict(
        Kind::Write,
        Category::Write,
        Risk::Medium,
        &[("definition-changed", "")],
    );
    assert_eq!(rule_for(&changed, &p).action, Some(Action::RequireApproval));
    assert_eq!(rule_for(&changed, &p).rate_limit, None);
    // ...but never lower a deny.
    let crit = verdict(
        Kind::Write,
        Category::Write,
        Risk::Critical,
        &[("definition-changed", "")],
    );
    assert_eq!(rule_for(&crit, &p).action, Some(Action::Deny));
    // Execute is never unattended.
    let exec = verdict(Kind::Write, Category::Execute, Risk::Low, &[]);
    assert_eq!(rule_for(&exec, &p).action, Some(Action::RequireApproval));
}

#[test]
fn adjust_can_set_loosen_and_rate_limit() {
    let text = format!(
        "{MINI}[[adjust]]\ncategory = \"read\"\nrisk = \"high\"\naction = \"allow\"\nrate_limit = {{ max = 5, window = 10 }}\n\
         [[adjust]]\nkind = \"write\"\nrate_limit = {{ max = 2, window = 60 }}\n[[adjust]]\nsignal = \"odd\"\nat_least = \"deny\"\nnote = \"we do not trust odd tools\"\n"
    );
    let p = Profile::parse(&text, Path::new("p.toml")).unwrap();
    let r = rule_for(&verdict(Kind::Read, Category::Read, Risk::High, &[]), &p);
    assert_eq!(
        r,
        Rule {
            rate_limit: Some(RateLimit { max: 5, window: 10 }),
            ..Rule::default()
        }
    );
    let r = rule_for(&verdict(Kind::Write, Category::Write, Risk::Low, &[]), &p);
    assert_eq!(r.rate_limit, Some(RateLimit { max: 2, window: 60 }));
    let r = rule_for(
        &verdict(Kind::Write, Category::Write, Risk::Low, &[("odd", "")]),
        &p,
    );
    assert_eq!(r.action, Some(Action::Deny));
    assert_eq!(r.rate_limit, None);
    assert_eq!(
        r.reason.as_deref(),
        Some("low write: signal odd; we do not trust odd tools")
    );
}

// ---------------------------------------------------------------- generation

#[test]
fn flat_server_policy() {
    let f = Fixture::new()
        .add(tool("s", "iscsi_sessions"), low())
        .add(tool("s", "pool_update"), medium())
        .add(tool("s", "user_set_password"), high())
        .add(tool("s", "disk_wipe"), critical());
    let g = generate(&f.entries(), &Profile::default(), None, false);
    assert!(g.overridden.is_empty());
    let v: Value = serde_json::from_str(&g.policy.to_json_pretty()).unwrap();
    assert_eq!(v["version"], "1");
    assert_eq!(v["default"], "deny");
    assert_eq!(v["tools"]["iscsi_sessions"], json!({}));
    assert_eq!(
        v["tools"]["pool_update"],
        json!({"rate_limit": {"max": 30, "window": 60}})
    );
    assert_eq!(
        v["tools"]["user_set_password"]["action"],
        "require_approval"
    );
    assert_eq!(v["tools"]["disk_wipe"]["action"], "deny");
    assert_eq!(v["tools"]["disk_wipe"]["reason"], reason(&critical()));
    validate(&g.policy);
}

#[test]
fn umbrella_tool_gets_a_match_rule_and_flat_twins() {
    let f = truenas();
    let g = generate(&f.entries(), &Profile::default(), None, false);
    let p = &g.policy;
    validate(p);
    let u = &p.tools["truenas"];
    assert_eq!(u.match_keys, Some(MatchKeys::One("action".into())));
    let acts = u.actions.as_ref().unwrap();
    assert_eq!(acts.len(), 6);
    assert_eq!(acts["iscsi_sessions"], Rule::allow());
    assert_eq!(acts["disk_wipe"].action, Some(Action::Deny));
    assert_eq!(u.discovery.as_deref(), Some(&Rule::allow()));
    // Flat twins for every action, and the umbrella's own verdict does not
    // make a flat rule of its own.
    for n in [
        "iscsi_sessions",
        "pool_list",
        "pool_update",
        "user_set_password",
        "disk_wipe",
        "truenas_api_call",
    ] {
        assert_eq!(p.tools[n], acts[n], "{n}");
    }
    assert_eq!(p.tools.len(), 7);
    let json: Value = serde_json::to_value(p).unwrap();
    assert_eq!(json["tools"]["truenas"]["match"], "action");
    assert_eq!(json["tools"]["truenas"]["discovery"], json!({}));
}

#[test]
fn check_decides_flat_and_umbrella_calls_alike() {
    let f = truenas();
    let p = generate(&f.entries(), &Profile::default(), None, false).policy;
    let cases = [
        ("iscsi_sessions", "sharing", Action::Allow),
        ("pool_list", "storage", Action::Allow),
        ("pool_update", "storage", Action::Allow),
        ("user_set_password", "account", Action::RequireApproval),
        ("disk_wipe", "disk", Action::Deny),
        ("truenas_api_call", "api", Action::Deny),
    ];
    for (name, cat, want) in cases {
        let flat = check(&p, name, &json!({}));
        assert_eq!(flat.decision, want, "{name}");
        assert_eq!(flat.rule, format!("tools.{name}"));
        let um = check(
            &p,
            "truenas",
            &json!({"category": cat, "action": name, "params": {"x": 1}}),
        );
        assert_eq!(um.decision, want, "truenas {name}");
        assert_eq!(um.rule, format!("tools.truenas.actions.{name}"));
        assert_eq!(um.selected.as_deref(), Some(name));
        assert_eq!(um.reason, flat.reason);
        assert_eq!(um.rate_limit, flat.rate_limit);
    }
    let d = check(&p, "disk_wipe", &Value::Null);
    assert!(d
        .reason
        .as_deref()
        .unwrap()
        .starts_with("critical write (destructive)"));
    assert_eq!(
        check(&p, "pool_update", &json!({})).rate_limit,
        Some(RateLimit {
            max: 30,
            window: 60
        })
    );

    // Discovery: no action key, whatever else is there.
    for args in [
        json!({}),
        json!({"category": "disk"}),
        Value::Null,
        json!({"category": "help"}),
    ] {
        let d = check(&p, "truenas", &args);
        assert_eq!(
            (d.decision, d.rule.as_str()),
            (Action::Allow, "tools.truenas.discovery"),
            "{args}"
        );
    }
    // Unknown tool, unknown action, non-string action: the default.
    for (t, args) in [
        ("nope", json!({})),
        (
            "truenas",
            json!({"category": "disk", "action": "disk_format_everything"}),
        ),
        ("truenas", json!({"action": ["disk_wipe"]})),
        ("truenas", json!({"action": null})),
    ] {
        let d = check(&p, t, &args);
        assert_eq!(
            (d.decision, d.rule.as_str(), d.exit_code()),
            (Action::Deny, "default", 3),
            "{t} {args}"
        );
        assert!(
            d.reason
                .as_deref()
                .unwrap()
                .contains("the policy default is deny"),
            "{d:?}"
        );
    }
}

#[test]
fn decision_exit_codes_text_and_json() {
    let p = generate(&truenas().entries(), &Profile::default(), None, false).policy;
    assert_eq!(check(&p, "pool_list", &json!({})).exit_code(), 0);
    assert_eq!(check(&p, "pool_update", &json!({})).exit_code(), 0);
    assert_eq!(check(&p, "disk_wipe", &json!({})).exit_code(), 3);
    assert_eq!(check(&p, "user_set_password", &json!({})).exit_code(), 4);
    let d = check(
        &p,
        "truenas",
        &json!({"category": "disk", "action": "disk_wipe"}),
    );
    let v: Value = serde_json::from_str(&d.to_json()).unwrap();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["tool"], "truenas");
    assert_eq!(v["selected"], "disk_wipe");
    assert_eq!(v["rule"], "tools.truenas.actions.disk_wipe");
    assert!(v["reason"].as_str().unwrap().contains("destructive"));
    let t = d.to_string();
    assert!(
        t.starts_with("deny truenas [disk_wipe] (rule tools.truenas.actions.disk_wipe): critical"),
        "{t}"
    );
    let t = check(&p, "pool_update", &json!({})).to_string();
    assert_eq!(
        t,
        "allow pool_update (rule tools.pool_update), rate limit 30 calls per 60 s"
    );
    let v: Value = serde_json::from_str(&check(&p, "pool_update", &json!({})).to_json()).unwrap();
    assert_eq!(v["rate_limit"], json!({"max": 30, "window": 60}));
}

#[test]
fn colliding_action_names_match_on_several_keys() {
    let f = Fixture::new()
        .add(action("nas", "nas", "disk", "list"), low())
        .add(action("nas", "nas", "disk", "wipe"), critical())
        .add(action("nas", "nas", "pool", "list"), medium())
        .add(action("nas", "nas", "pool/odd", "list"), low());
    let p = generate(&f.entries(), &Profile::default(), None, false).policy;
    validate(&p);
    let u = &p.tools["nas"];
    assert_eq!(
        u.match_keys,
        Some(MatchKeys::Many(vec!["category".into(), "action".into()]))
    );
    let keys: Vec<&String> = u.actions.as_ref().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["disk/list", "disk/wipe", "pool%2Fodd/list", "pool/list"]
    );
    assert_eq!(
        check(&p, "nas", &json!({"category": "pool", "action": "list"}))
            .rate_limit
            .map(|r| r.max),
        Some(30)
    );
    assert_eq!(
        check(
            &p,
            "nas",
            &json!({"category": "pool/odd", "action": "list"})
        )
        .decision,
        Action::Allow
    );
    assert_eq!(
        check(&p, "nas", &json!({"category": "disk", "action": "wipe"})).decision,
        Action::Deny
    );
    // Discovery is a leading part of the keys: {} and {category}.
    assert_eq!(check(&p, "nas", &json!({})).rule, "tools.nas.discovery");
    assert_eq!(
        check(&p, "nas", &json!({"category": "disk"})).rule,
        "tools.nas.discovery"
    );
    // An action without its category selects nothing known.
    assert_eq!(check(&p, "nas", &json!({"action": "list"})).rule, "default");
    // The flat twin of a name used twice keeps the stricter rule.
    assert_eq!(
        p.tools["list"].rate_limit,
        Some(RateLimit {
            max: 30,
            window: 60
        })
    );
}

#[test]
fn match_key_choice() {
    let a = json!({"category": "c1", "action": "x"});
    let b = json!({"category": "c1", "action": "y"});
    assert_eq!(choose_match_keys(&[("x", &a), ("y", &b)]), ["action"]);
    // Both unique: prefer the key holding the action's name.
    let a = json!({"op": "x", "cat": "c1"});
    let b = json!({"op": "y", "cat": "c2"});
    assert_eq!(choose_match_keys(&[("x", &a), ("y", &b)]), ["op"]);
    // Non-string values are never matched on.
    let a = json!({"id": 1, "name": "x"});
    let b = json!({"id": 2, "name": "x2"});
    assert_eq!(choose_match_keys(&[("p", &a), ("q", &b)]), ["name"]);
    assert!(choose_match_keys(&[]).is_empty());
    for vals in [
        vec!["a", "b"],
        vec!["x/y", "%2F"],
        vec!["%25/", ""],
        vec!["only"],
    ] {
        let k = action_key(&vals);
        assert_eq!(split_action_key(&k, vals.len()), vals, "{k}");
    }
    assert_eq!(action_key(&["pool/odd", "list"]), "pool%2Fodd/list");
}

#[test]
fn servers_sharing_a_name_are_qualified() {
    let f = Fixture::new()
        .add(tool("a", "list"), low())
        .add(tool("b", "list"), critical())
        .add(tool("a", "only_a"), low())
        .add(tool("b", "wipe"), critical())
        .add(action("c", "c", "x", "wipe"), low());
    let p = generate(&f.entries(), &Profile::default(), None, false).policy;
    validate(&p);
    let keys: Vec<&str> = p.tools.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["a/list", "b/list", "b/wipe", "c", "c/wipe", "only_a"]
    );
    assert_eq!(check(&p, "b/list", &json!({})).decision, Action::Deny);
    assert_eq!(check(&p, "a/list", &json!({})).decision, Action::Allow);
    assert_eq!(check(&p, "list", &json!({})).rule, "default");
    assert_eq!(
        check(&p, "c", &json!({"action": "wipe"})).decision,
        Action::Allow
    );
}

#[test]
fn a_real_tool_keeps_its_name_over_an_action_twin() {
    let f = Fixture::new()
        .add(action("s", "u", "c", "status"), critical())
        .add(tool("s", "status"), low());
    let p = generate(&f.entries(), &Profile::default(), None, false).policy;
    assert_eq!(p.tools["status"], Rule::allow());
    assert_eq!(
        check(&p, "u", &json!({"action": "status"})).decision,
        Action::Deny
    );
}

#[test]
fn pins_carry_definition_hashes() {
    let f = truenas();
    let p = generate(&f.entries(), &Profile::default(), None, true).policy;
    validate(&p);
    let u = &p.tools["truenas"];
    assert_eq!(
        u.pin.as_deref(),
        Some(format!("sha256:{}", f.tools[0].hash()).as_str())
    );
    let wipe_hash = format!("sha256:{}", f.hashes[5]);
    assert_eq!(
        u.actions.as_ref().unwrap()["disk_wipe"].pin.as_deref(),
        Some(wipe_hash.as_str())
    );
    assert_eq!(
        p.tools["disk_wipe"].pin.as_deref(),
        Some(wipe_hash.as_str())
    );
    assert_eq!(
        check(&p, "disk_wipe", &json!({})).pin.as_deref(),
        Some(wipe_hash.as_str())
    );
    // Without --pin, none.
    let p = generate(&f.entries(), &Profile::default(), None, false).policy;
    assert!(!p.to_json_pretty().contains("sha256:"));
    // A hash given with its prefix is not doubled.
    let t = tool("s", "x");
    let v = low();
    let h = format!("sha256:{}", hash('a'));
    let p = generate(
        &[Entry {
            tool: &t,
            verdict: &v,
            hash: &h,
        }],
        &Profile::default(),
        None,
        true,
    )
    .policy;
    assert_eq!(p.tools["x"].pin.as_deref(), Some(h.as_str()));
}

// ---------------------------------------------------------------- overrides

fn overrides(v: Value) -> PolicyFile {
    parse_policy(&v.to_string(), Path::new("rules/policy-overrides.json")).unwrap()
}

#[test]
fn overrides_replace_rules_and_are_marked() {
    let f = truenas();
    let o = overrides(json!({"version": "1", "tools": {
        "user_set_password": {"action": "deny", "reason": "no password changes from agents"},
        "pool_update": {"action": "allow"},
        "my_extra_tool": {},
    }}));
    let g = generate(&f.entries(), &Profile::default(), Some(&o), true);
    validate(&g.policy);
    assert_eq!(
        g.overridden,
        [
            "my_extra_tool",
            "pool_update",
            "truenas[pool_update]",
            "truenas[user_set_password]",
            "user_set_password"
        ]
    );
    let p = &g.policy;
    let usp = &p.tools["user_set_password"];
    assert_eq!(
        (usp.action, usp.source),
        (Some(Action::Deny), Some(Source::Override))
    );
    // The generated pin is kept on an override that gives none.
    assert_eq!(
        usp.pin.as_deref(),
        Some(format!("sha256:{}", f.hashes[4]).as_str())
    );
    // Replaced whole: the override's allow drops the generated rate limit.
    assert_eq!(p.tools["pool_update"].rate_limit, None);
    // The flat override reaches the umbrella action too.
    let d = check(
        p,
        "truenas",
        &json!({"category": "account", "action": "user_set_password"}),
    );
    assert_eq!(
        (d.decision, d.source),
        (Action::Deny, Some(Source::Override))
    );
    assert_eq!(d.reason.as_deref(), Some("no password changes from agents"));
    assert_eq!(p.tools["my_extra_tool"].source, Some(Source::Override));
    assert_eq!(
        check(p, "my_extra_tool", &json!({})).decision,
        Action::Allow
    );
    // Untouched rules carry no source.
    assert_eq!(p.tools["disk_wipe"].source, None);
    assert!(p.to_json_pretty().contains("\"source\": \"override\""));
}

#[test]
fn umbrella_overrides_merge_per_action() {
    let f = truenas();
    let o = overrides(
        json!({"version": "1", "default": "require_approval", "tools": {
            "truenas": {"match": "action", "actions": {
                "disk_wipe": {"action": "require_approval", "reason": "wipes need a person"},
                "new_action": {}
            }, "discovery": {"rate_limit": {"max": 5, "window": 1}}},
            // An explicit flat form wins over propagation from the umbrella.
            "disk_wipe": {"action": "deny", "reason": "never by name"},
        }}),
    );
    let g = generate(&f.entries(), &Profile::default(), Some(&o), false);
    validate(&g.policy);
    assert_eq!(
        g.overridden,
        [
            "(default)",
            "disk_wipe",
            "truenas(discovery)",
            "truenas[disk_wipe]",
            "truenas[new_action]"
        ]
    );
    let p = &g.policy;
    assert_eq!(p.default, Some(Action::RequireApproval));
    let acts = p.tools["truenas"].actions.as_ref().unwrap();
    assert_eq!(acts.len(), 7, "generated actions kept, new one added");
    assert_eq!(acts["disk_wipe"].action, Some(Action::RequireApproval));
    assert_eq!(
        p.tools["disk_wipe"].reason.as_deref(),
        Some("never by name")
    );
    assert_eq!(
        check(p, "truenas", &json!({})).rate_limit,
        Some(RateLimit { max: 5, window: 1 })
    );
    assert_eq!(check(p, "unknown", &json!({})).exit_code(), 4);
    // An umbrella override with another match replaces the umbrella whole.
    let o = overrides(
        json!({"version": "1", "tools": {"truenas": {"match": ["category", "action"], "actions": {"disk/disk_wipe": {}}}}}),
    );
    let g = generate(&f.entries(), &Profile::default(), Some(&o), false);
    validate(&g.policy);
    assert_eq!(g.overridden, ["truenas"]);
    assert_eq!(
        check(
            &g.policy,
            "truenas",
            &json!({"category": "sharing", "action": "iscsi_sessions"})
        )
        .rule,
        "default"
    );
    assert_eq!(
        check(
            &g.policy,
            "truenas",
            &json!({"category": "disk", "action": "disk_wipe"})
        )
        .decision,
        Action::Allow
    );
}

#[test]
fn overrides_name_tools_plainly_or_by_server() {
    let f = Fixture::new()
        .add(tool("a", "list"), low())
        .add(tool("b", "list"), low())
        .add(tool("a", "only_a"), low())
        .add(tool("b", "only_b"), low());
    let o = overrides(json!({"version": "1", "tools": {
        "list": {"action": "require_approval", "reason": "everywhere"},
        "a/list": {"action": "deny", "reason": "not on a"},
        "a/only_a": {"action": "deny", "reason": "qualified, placed plainly"},
        "b/new": {},
        "c/x": {},
    }}));
    let g = generate(&f.entries(), &Profile::default(), Some(&o), false);
    validate(&g.policy);
    let p = &g.policy;
    assert_eq!(g.overridden, ["a/list", "b/list", "new", "only_a"]);
    assert_eq!(p.tools["a/list"].reason.as_deref(), Some("not on a"));
    assert_eq!(p.tools["b/list"].reason.as_deref(), Some("everywhere"));
    assert_eq!(p.tools["only_a"].action, Some(Action::Deny));
    assert_eq!(p.tools["only_b"], Rule::allow());
    assert!(!p.tools.contains_key("c/x") && !p.tools.contains_key("x"));

    // One server's file: the other server's overrides stay out of it.
    let b_only = Fixture::new()
        .add(tool("b", "list"), low())
        .add(tool("b", "only_b"), low());
    let g = generate(&b_only.entries(), &Profile::default(), Some(&o), false);
    assert_eq!(g.overridden, ["list", "new"]);
    assert_eq!(g.policy.tools["list"].reason.as_deref(), Some("everywhere"));
    assert!(!g.policy.tools.contains_key("only_a") && !g.policy.tools.contains_key("a/only_a"));
}

#[test]
fn shipped_overrides_example_is_empty_and_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/policy-overrides.json");
    let o = load_policy(&path).unwrap();
    assert!(o.tools.is_empty() && o.default.is_none());
    let g = generate(&truenas().entries(), &Profile::default(), Some(&o), false);
    assert!(g.overridden.is_empty());
    assert!(schema_accepts(
        &serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    ));
}

// ---------------------------------------------------------------- loading

fn policy_err(text: &str) -> (usize, usize, String) {
    match parse_policy(text, Path::new("my-policy.json")) {
        Err(e @ PolicyError::Parse { .. }) => {
            let shown = e.to_string();
            let PolicyError::Parse {
                line,
                column,
                message,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(shown, format!("my-policy.json:{line}:{column}: {message}"));
            (line, column, message)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn load_errors_name_file_line_and_column() {
    let (line, col, msg) =
        policy_err("{\"version\": \"1\",\n \"tools\": {\"a\": {\"acton\": \"deny\"}}}");
    assert_eq!((line, col), (2, 24), "{msg}");
    assert!(msg.contains("unknown field `acton`"), "{msg}");
    let (line, _, msg) = policy_err("{\"version\": \"1\",\n \"tools\": {\n\"a\": {\"action\": \"deny\", \"rate_limit\": {\"max\": 3, \"window\": 9}}}}");
    assert_eq!(line, 3);
    assert!(msg.contains("rate_limit"), "{msg}");
    let (_, _, msg) = policy_err("{\"version\": \"2\"}");
    assert!(msg.contains("unsupported policy version"), "{msg}");
    let (_, _, msg) =
        policy_err("{\"version\": \"1\", \"tools\": {\"u\": {\"match\": \"action\"}}}");
    assert!(
        msg.contains("needs \\\"actions\\\"") || msg.contains("needs \"actions\""),
        "{msg}"
    );
    let (_, _, msg) = policy_err("{\"version\": \"1\", \"tools\": {\"u\": {\"match\": \"action\", \"actions\": {}, \"action\": \"deny\"}}}");
    assert!(msg.contains("decides per action"), "{msg}");
    let (_, _, msg) = policy_err("{\"version\": \"1\", \"tools\": {\"u\": {\"match\": [\"a\", \"b\"], \"actions\": {\"x\": {}}}}}");
    assert!(msg.contains("2 values"), "{msg}");
    let (_, _, msg) = policy_err("{\"version\": \"1\", \"tools\": {\"u\": {\"match\": [\"a\", \"b\"], \"actions\": {\"x/y%2f\": {}}}}}");
    assert!(msg.contains("%2F"), "{msg}");
    let (_, _, msg) = policy_err("{\"version\": \"1\", \"tools\": {\"u\": {\"pin\": \"md5:x\"}}}");
    assert!(msg.contains("sha256"), "{msg}");
    let (_, _, msg) =
        policy_err("{\"version\": \"1\", \"tools\": {\"u\": {\"action\": \"maybe\"}}}");
    assert!(msg.contains("require_approval"), "{msg}");
    let (line, col, _) = policy_err("{\"version\": \"1\",\n  \"tools\": [}");
    assert_eq!((line, col), (2, 11));
    match load_policy(Path::new("/nonexistent/p.json")) {
        Err(e @ PolicyError::Read { .. }) => {
            assert!(e.to_string().starts_with("cannot read /nonexistent/p.json"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn schema_and_loader_agree_on_bad_files() {
    let bad = [
        json!({"version": "1", "tools": {"a": {"action": "deny", "rate_limit": {"max": 1, "window": 1}}}}),
        json!({"version": "1", "tools": {"a": {"action": "nope"}}}),
        json!({"version": "1", "tools": {"a": {"rate_limit": {"max": 0, "window": 1}}}}),
        json!({"version": "1", "tools": {"a": {"extra": 1}}}),
        json!({"version": "1", "tools": {"a": {"match": "action"}}}),
        json!({"version": "1", "tools": {"a": {"actions": {}}}}),
        json!({"version": "1", "tools": {"a": {"match": "k", "actions": {"x": {"match": "k", "actions": {}}}}}}),
        json!({"version": "1", "tools": {"a": {"match": "k", "actions": {}, "reason": "r"}}}),
        json!({"version": "1", "tools": {"a": {"source": "generated"}}}),
        json!({"version": "1", "tools": {"a": {"pin": "sha256:abc"}}}),
        json!({"version": "2"}),
        json!({"tools": {}}),
        json!({"version": "1", "default": "maybe"}),
        json!({"version": "1", "extra": true}),
        json!({"version": "1", "default": null}),
        json!({"version": "1", "tools": {"a": {"reason": null}}}),
        json!({"version": "1", "tools": {"a": {"match": []}}}),
        json!({"version": "1", "tools": {"a": {"match": ["k", "k"], "actions": {}}}}),
        json!({"version": "1", "tools": {"a": {"match": "", "actions": {}}}}),
        json!({"version": "1", "tools": {"a": {"rate_limit": {"max": 1}}}}),
        json!({"version": "1", "tools": {"a": {"rate_limit": {"max": 1.5, "window": 1}}}}),
        json!({"version": "1", "tools": {"a": {"rate_limit": {"max": 4294967296u64, "window": 1}}}}),
    ];
    for b in bad {
        assert!(!schema_accepts(&b), "schema accepted {b}");
        assert!(
            parse_policy(&b.to_string(), Path::new("b.json")).is_err(),
            "loader accepted {b}"
        );
    }
    let good = [
        json!({"version": "1"}),
        json!({"$schema": "../schema/policy.schema.json", "version": "1", "default": "allow", "tools": {}}),
        json!({"version": "1", "tools": {"a": {"action": "allow", "rate_limit": {"max": 1, "window": 1}, "source": "override"}}}),
        json!({"version": "1", "tools": {"a": {"match": ["c", "a"], "actions": {"x/y": {"pin": format!("sha256:{}", hash('0'))}}}}}),
        json!({"version": "1", "tools": {"": {}, "a": {"match": ["k"], "actions": {}, "discovery": {"action": "deny"}}}}),
    ];
    for g in good {
        assert!(schema_accepts(&g), "schema refused {g}");
        assert!(
            parse_policy(&g.to_string(), Path::new("g.json")).is_ok(),
            "loader refused {g}"
        );
    }
}

// ---------------------------------------------------------------- cedar

#[test]
fn cedar_export_makes_the_same_decisions() {
    let f = truenas();
    let p = generate(&f.entries(), &Profile::default(), None, true).policy;
    let c = to_cedar(&p);
    assert!(c.contains("// default: deny"), "{c}");
    let block = |id: &str| -> String {
        let start = c
            .find(&format!("@id(\"{id}\")"))
            .unwrap_or_else(|| panic!("no {id} in\n{c}"));
        let end = c[start..]
            .find(";\n")
            .map(|e| start + e + 1)
            .unwrap_or(c.len());
        c[start..end].to_string()
    };
    let b = block("tools.iscsi_sessions");
    assert!(
        b.contains("permit (") && b.contains("resource == Tool::\"iscsi_sessions\""),
        "{b}"
    );
    let b = block("tools.pool_update");
    assert!(
        b.contains("@rate_limit_max(\"30\")\n@rate_limit_window(\"60\")") && b.contains("permit ("),
        "{b}"
    );
    let b = block("tools.disk_wipe");
    assert!(
        b.contains("forbid (") && b.contains("@reason(\"critical write (destructive)"),
        "{b}"
    );
    assert!(
        b.contains(&format!("@pin(\"sha256:{}\")", f.hashes[5])),
        "{b}"
    );
    let b = block("tools.user_set_password");
    assert!(
        b.contains("@approval(\"required\")") && b.contains("forbid ("),
        "{b}"
    );
    let b = block("tools.truenas.actions.disk_wipe");
    assert!(b.contains("resource == Tool::\"truenas\""), "{b}");
    assert!(
        b.contains("when { context has arg_action && context.arg_action == \"disk_wipe\" }"),
        "{b}"
    );
    assert!(b.contains("forbid ("), "{b}");
    let b = block("tools.truenas.discovery");
    assert!(
        b.contains("permit (") && b.contains("when { !(context has arg_action) }"),
        "{b}"
    );
    // Every rule became one Cedar policy (6 flat + 6 actions + discovery).
    assert_eq!(c.matches("@id(").count(), 13);
    assert_eq!(c.matches(";\n").count(), 13);
}

#[test]
fn cedar_escapes_and_multi_key_conditions() {
    assert_eq!(
        cedar::cedar_str("a\"b\\c\nd\u{1}"),
        "\"a\\\"b\\\\c\\nd\\u{1}\""
    );
    let p = parse_policy(
        &json!({"version": "1", "default": "require_approval", "tools": {
            "odd \"name\"": {"action": "deny", "reason": "line\nbreak"},
            "nas": {"match": ["category", "my-action"], "actions": {"pool%2Fx/list": {}}, "discovery": {}}
        }})
        .to_string(),
        Path::new("p.json"),
    )
    .unwrap();
    let c = to_cedar(&p);
    assert!(c.contains("resource == Tool::\"odd \\\"name\\\"\""), "{c}");
    assert!(c.contains("@reason(\"line\\nbreak\")"), "{c}");
    assert!(c.contains("context has arg_category && context.arg_category == \"pool/x\" && context has \"arg_my-action\" && context[\"arg_my-action\"] == \"list\""), "{c}");
    assert!(c.contains("(!(context has arg_category) && !(context has \"arg_my-action\")) || (context has arg_category && !(context has \"arg_my-action\"))"), "{c}");
    // A require_approval default forbids, with approval, whatever is not covered.
    assert!(
        c.contains("@id(\"default\")\n@approval(\"required\")"),
        "{c}"
    );
    assert!(c.contains("unless {\n    resource in [Tool::\"odd \\\"name\\\"\"] ||\n    (resource == Tool::\"nas\" && ("), "{c}");
    let allow = to_cedar(&PolicyFile::new(Action::Allow));
    assert!(allow.contains("@id(\"default\")\npermit (\n  principal,\n  action == Action::\"call_tool\",\n  resource\n);"), "{allow}");
}

#[test]
fn adjust_can_match_the_effective_hints() {
    let p = Profile::parse(
        &format!("{MINI}[[adjust]]\nkind = \"write\"\ndestructive = true\nidempotent = false\nrate_limit = {{ max = 3, window = 60 }}\n"),
        Path::new("p.toml"),
    )
    .unwrap();
    let mut v = verdict(Kind::Write, Category::Write, Risk::Medium, &[]);
    v.effective = crate::model::Hints { read_only: false, destructive: true, idempotent: false, open_world: true };
    assert_eq!(rule_for(&v, &p).rate_limit, Some(RateLimit { max: 3, window: 60 }));
    v.effective.idempotent = true;
    assert_ne!(rule_for(&v, &p).rate_limit, Some(RateLimit { max: 3, window: 60 }));
    let err = Profile::parse(&format!("{MINI}[[adjust]]\nopen_wrld = true\nat_least = \"deny\"\n"), Path::new("p.toml")).unwrap_err().to_string();
    assert!(err.contains("open_wrld"), "{err}");
}
