//! Classifier accuracy against hand labels (`tests/labels/truenas.tsv`).
//!
//! The tools are crawled live through the binary (`crawl`, then `export
//! --format json`): the recorded hierarchical TrueNAS server served by
//! `mcp-replay` (its umbrella expanded by the shipped recipe) and the three
//! PyPI TrueNAS servers launched as registry packages from
//! `data/servers.json`. Nothing the servers answer is stored in the
//! repository.
//!
//! Fails when: kind accuracy < 98 %; a tool that deletes, wipes, rolls back,
//! exports a pool or asks for confirmation is rated below high; a plain read
//! (labelled read) is rated high or critical.
//!
//! `cargo test --test classify_accuracy -- --nocapture` prints the confusion
//! summary.

mod common;

use mcp_catalogue::classify::Rules;
use mcp_catalogue::model::{Category, Kind, Risk, ToolRecord, Verdict};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------- labels

#[derive(Debug, Clone, PartialEq)]
struct Label {
    server_key: String,
    tool: String,
    kind: Kind,
    category: Category,
    risk: Risk,
}

fn parse_kind(s: &str) -> Kind {
    match s {
        "read" => Kind::Read,
        "write" => Kind::Write,
        _ => panic!("bad kind {s}"),
    }
}

fn parse_category(s: &str) -> Category {
    match s {
        "read" => Category::Read,
        "write" => Category::Write,
        "execute" => Category::Execute,
        "destructive" => Category::Destructive,
        "financial" => Category::Financial,
        _ => panic!("bad category {s}"),
    }
}

fn parse_risk(s: &str) -> Risk {
    match s {
        "low" => Risk::Low,
        "medium" => Risk::Medium,
        "high" => Risk::High,
        "critical" => Risk::Critical,
        _ => panic!("bad risk {s}"),
    }
}

fn load_labels(path: &Path) -> Vec<Label> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("server_key\t") {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            f.len(),
            5,
            "{}:{}: five tab-separated columns",
            path.display(),
            i + 1
        );
        let l = Label {
            server_key: f[0].to_string(),
            tool: f[1].to_string(),
            kind: parse_kind(f[2]),
            category: parse_category(f[3]),
            risk: parse_risk(f[4]),
        };
        assert_eq!(
            l.kind == Kind::Read,
            l.category == Category::Read,
            "{}:{}: kind is read exactly when category is read",
            path.display(),
            i + 1
        );
        out.push(l);
    }
    out
}

fn labels() -> Vec<Label> {
    load_labels(&common::root().join("tests/labels/truenas.tsv"))
}

// ---------------------------------------------------------------- metrics

/// The three hard checks' inputs, decided from the tool itself (not from
/// the classifier): does it delete, wipe, roll back, export a pool, or ask
/// for confirmation?
fn must_be_high(t: &ToolRecord) -> Option<String> {
    let toks = mcp_catalogue::classify::tokenize(&t.name);
    let has = |w: &str| toks.iter().any(|x| x == w);
    for w in [
        "delete", "remove", "wipe", "rollback", "destroy", "purge", "erase",
    ] {
        if has(w) {
            return Some(format!("name has \"{w}\""));
        }
    }
    if has("export") && (has("pool") || t.category.as_deref() == Some("storage")) {
        return Some("exports a pool".into());
    }
    let props = t.input_schema.get("properties").and_then(Value::as_object);
    if props.is_some_and(|p| p.keys().any(|k| k == "confirm")) {
        return Some("has a confirm parameter".into());
    }
    let d = t.description.as_deref().unwrap_or("").to_lowercase();
    if d.contains("requires confirm") || d.contains("confirm=true") || d.contains("to confirm") {
        return Some("description asks for confirmation".into());
    }
    None
}

#[derive(Debug, Default)]
struct Metrics {
    total: usize,
    kind_ok: usize,
    category_ok: usize,
    risk_ok: usize,
    risk_within_one: usize,
    /// (label, verdict) → count
    kind_confusion: BTreeMap<(String, String), usize>,
    category_confusion: BTreeMap<(String, String), usize>,
    risk_confusion: BTreeMap<(String, String), usize>,
    /// "server/tool: label → verdict" for every disagreement
    mismatches: Vec<String>,
    /// hard failures
    dangerous_under_rated: Vec<String>,
    reads_over_rated: Vec<String>,
    unlabelled: Vec<String>,
    missing: Vec<String>,
}

impl Metrics {
    fn pct(n: usize, d: usize) -> f64 {
        if d == 0 {
            100.0
        } else {
            100.0 * n as f64 / d as f64
        }
    }

    fn kind_accuracy(&self) -> f64 {
        Self::pct(self.kind_ok, self.total)
    }

    fn summary(&self) -> String {
        let mut s = String::new();
        s += &format!(
            "tools {}: kind {:.1}% ({}/{}), category {:.1}%, risk {:.1}% (within one level {:.1}%)\n",
            self.total,
            self.kind_accuracy(),
            self.kind_ok,
            self.total,
            Self::pct(self.category_ok, self.total),
            Self::pct(self.risk_ok, self.total),
            Self::pct(self.risk_within_one, self.total),
        );
        for (title, m) in [
            ("kind", &self.kind_confusion),
            ("category", &self.category_confusion),
            ("risk", &self.risk_confusion),
        ] {
            s += &format!("{title} confusion (label → verdict: count):\n");
            for ((l, v), n) in m {
                let mark = if l == v { " " } else { "*" };
                s += &format!("  {mark} {l:>11} → {v:<11} {n}\n");
            }
        }
        if !self.mismatches.is_empty() {
            s += &format!("disagreements ({}):\n", self.mismatches.len());
            for m in &self.mismatches {
                s += &format!("  {m}\n");
            }
        }
        for (title, v) in [
            (
                "dangerous tools rated below high",
                &self.dangerous_under_rated,
            ),
            ("plain reads rated high or critical", &self.reads_over_rated),
            ("crawled but unlabelled", &self.unlabelled),
            ("labelled but not crawled", &self.missing),
        ] {
            if !v.is_empty() {
                s += &format!("{title} ({}):\n", v.len());
                for m in v {
                    s += &format!("  {m}\n");
                }
            }
        }
        s
    }

    /// Messages for every threshold not met.
    fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.kind_accuracy() < 98.0 {
            f.push(format!("kind accuracy {:.1}% < 98%", self.kind_accuracy()));
        }
        if !self.dangerous_under_rated.is_empty() {
            f.push(format!(
                "{} dangerous tools rated below high",
                self.dangerous_under_rated.len()
            ));
        }
        if !self.reads_over_rated.is_empty() {
            f.push(format!(
                "{} plain reads rated high or critical",
                self.reads_over_rated.len()
            ));
        }
        if self.total == 0 {
            f.push("no labelled tool was crawled".into());
        }
        f
    }
}

/// Compare verdicts with labels. `records` pairs each tool with its label
/// file server_key.
fn evaluate(
    records: &[(String, ToolRecord)],
    labels: &[Label],
    classify: impl Fn(&ToolRecord) -> Verdict,
) -> Metrics {
    let mut m = Metrics::default();
    let index: BTreeMap<(&str, &str), &Label> = labels
        .iter()
        .map(|l| ((l.server_key.as_str(), l.tool.as_str()), l))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for (key, t) in records {
        let Some(l) = index.get(&(key.as_str(), t.name.as_str())) else {
            m.unlabelled.push(format!("{key}/{}", t.name));
            continue;
        };
        seen.insert((key.as_str(), t.name.as_str()));
        let v = classify(t);
        m.total += 1;
        let (lk, vk) = (l.kind.as_str(), v.kind.as_str());
        let (lc, vc) = (l.category.as_str(), v.category.as_str());
        let (lr, vr) = (l.risk.as_str(), v.risk.as_str());
        *m.kind_confusion.entry((lk.into(), vk.into())).or_default() += 1;
        *m.category_confusion
            .entry((lc.into(), vc.into()))
            .or_default() += 1;
        *m.risk_confusion.entry((lr.into(), vr.into())).or_default() += 1;
        m.kind_ok += (l.kind == v.kind) as usize;
        m.category_ok += (l.category == v.category) as usize;
        m.risk_ok += (l.risk == v.risk) as usize;
        m.risk_within_one += ((l.risk as i32 - v.risk as i32).abs() <= 1) as usize;
        if l.kind != v.kind || l.category != v.category || l.risk != v.risk {
            let rules: Vec<&str> = v.reasons.iter().map(|r| r.rule.as_ref()).collect();
            m.mismatches.push(format!(
                "{}{key}/{}: {lk}/{lc}/{lr} → {vk}/{vc}/{vr}  [{}]",
                if l.kind != v.kind { "KIND " } else { "" },
                t.name,
                rules.join(", ")
            ));
        }
        if let Some(why) = must_be_high(t) {
            if v.risk < Risk::High {
                m.dangerous_under_rated
                    .push(format!("{key}/{} ({why}) rated {vr}", t.name));
            }
        }
        if l.kind == Kind::Read && v.risk >= Risk::High {
            m.reads_over_rated
                .push(format!("{key}/{} rated {vr}", t.name));
        }
    }
    let keys: std::collections::BTreeSet<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
    for l in labels {
        if keys.contains(l.server_key.as_str())
            && !seen.contains(&(l.server_key.as_str(), l.tool.as_str()))
        {
            m.missing.push(format!("{}/{}", l.server_key, l.tool));
        }
    }
    m
}

// ---------------------------------------------------------------- crawling

/// The servers to crawl and the label key of each: the recorded
/// hierarchical server (mcp-replay) and the three PyPI TrueNAS packages,
/// taken from `data/servers.json` by package identifier.
fn servers_file(dir: &Path) -> (PathBuf, BTreeMap<String, &'static str>) {
    let data: Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("data/servers.json")).unwrap(),
    )
    .unwrap();
    let wanted = [
        ("truenas-ws-mcp", "truenas-ws-mcp"),
        ("truenas-mcp-server", "truenas-mcp-server"),
        ("iflow-mcp-vespo92-truenas-mcp-server", "iflow-truenas"),
    ];
    let mut servers = serde_json::Map::new();
    let mut keys = BTreeMap::new();
    for (name, entry) in data["mcpServers"].as_object().unwrap() {
        let id = entry["package"]["identifier"].as_str().unwrap_or("");
        if let Some((_, key)) = wanted
            .iter()
            .find(|(w, _)| *w == id && entry["package"]["registryType"] == "pypi")
        {
            let mut e = entry.clone();
            e["timeout"] = json!(180);
            servers.insert(name.clone(), e);
            keys.insert(name.clone(), *key);
        }
    }
    assert_eq!(
        keys.len(),
        3,
        "data/servers.json lists the three PyPI TrueNAS servers"
    );
    servers.insert(
        "truenas-hierarchical".into(),
        json!({"command": "python3", "args": [common::replay(), common::truenas_session()], "product": "TrueNAS"}),
    );
    keys.insert("truenas-hierarchical".into(), "hierarchical");
    let path = dir.join("servers.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json!({"mcpServers": servers})).unwrap(),
    )
    .unwrap();
    (path, keys)
}

fn binary(db: &Path, servers: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-catalogue"));
    c.current_dir(common::root())
        .arg("--db")
        .arg(db)
        .arg("--servers")
        .arg(servers)
        .env("NO_COLOR", "1");
    c
}

/// One exported tool back into the record the classifier reads.
fn record(t: &Value) -> ToolRecord {
    let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
    ToolRecord {
        server: s("server").unwrap(),
        name: s("name").unwrap(),
        parent: s("parent"),
        selector: t.get("selector").filter(|v| !v.is_null()).cloned(),
        category: s("category"),
        title: s("title"),
        description: s("description"),
        input_schema: t
            .get("input_schema")
            .cloned()
            .unwrap_or(json!({"type": "object"})),
        annotations: t.get("annotations").filter(|v| !v.is_null()).cloned(),
        raw: Value::Null,
        flags: t
            .get("flags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Crawl every server live through the binary (`crawl`, then `export
/// --format json`), returning (label key, record, exported verdict).
fn crawl_live() -> Vec<(String, ToolRecord, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("catalogue.db");
    let (servers, keys) = servers_file(dir.path());
    let out = binary(&db, &servers)
        .args(["crawl", "--timeout", "300"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "crawl failed:\n{stdout}\n{stderr}");
    let out = binary(&db, &servers)
        .args(["export", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tools: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut records = Vec::new();
    for t in &tools {
        let server = t["server"].as_str().unwrap();
        let key = keys
            .get(server)
            .unwrap_or_else(|| panic!("unexpected server {server}"));
        records.push((key.to_string(), record(t), t.clone()));
    }
    for (server, want) in [
        ("truenas-hierarchical", 279),
        ("truenas-ws-mcp", 59),
        ("truenas-mcp-server", 27),
    ] {
        let n = tools.iter().filter(|t| t["server"] == server).count();
        assert_eq!(n, want, "{server}: tools crawled\n{stdout}\n{stderr}");
    }
    let n = records
        .iter()
        .filter(|(k, _, _)| k == "iflow-truenas")
        .count();
    assert_eq!(n, 49, "iflow-truenas: tools crawled\n{stdout}\n{stderr}");
    records
}

fn rules() -> Rules {
    Rules::load(&common::root().join("rules")).unwrap()
}

// ---------------------------------------------------------------- tests

#[test]
fn accuracy_against_hand_labels() {
    let labels = labels();
    let rules = rules();
    let crawled = crawl_live();
    // The pipeline stored the verdict these rules give.
    for (_, t, exported) in &crawled {
        let v = rules.classify(t);
        assert_eq!(
            exported["kind"],
            v.kind.as_str(),
            "{}/{}: exported kind",
            t.server,
            t.name
        );
        assert_eq!(
            exported["risk"],
            v.risk.as_str(),
            "{}/{}: exported risk",
            t.server,
            t.name
        );
    }
    // Tool poisoning (issue #21): real tools are not flagged, or barely.
    let flagged: Vec<String> = crawled
        .iter()
        .filter_map(|(_, t, _)| {
            let v = rules.classify(t);
            let s = v.signals.iter().find(|s| s.name == "suspicious-description")?;
            Some(format!("{}/{}: {}", t.server, t.name, s.evidence))
        })
        .collect();
    println!("suspicious-description on real TrueNAS tools: {} of {} {flagged:?}", flagged.len(), crawled.len());
    assert!(flagged.len() * 200 <= crawled.len(), "more than 0.5 % of real tools flagged as poisoned: {flagged:#?}");
    let records: Vec<(String, ToolRecord)> = crawled.into_iter().map(|(k, t, _)| (k, t)).collect();
    let m = evaluate(&records, &labels, |t| rules.classify(t));
    println!("{}", m.summary());
    assert!(
        m.unlabelled.is_empty(),
        "crawled tools without a label: {:?}",
        m.unlabelled
    );
    assert!(
        m.missing.is_empty(),
        "labelled tools the crawl did not find: {:?}",
        m.missing
    );
    let f = m.failures();
    assert!(f.is_empty(), "{}\n{}", f.join("; "), m.summary());
}

#[test]
fn labels_file_is_well_formed() {
    let labels = labels();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for l in &labels {
        assert!(
            seen.insert((l.server_key.clone(), l.tool.clone())),
            "duplicate label {}/{}",
            l.server_key,
            l.tool
        );
        *count.entry(l.server_key.as_str()).or_default() += 1;
    }
    assert_eq!(count.get("hierarchical"), Some(&279));
    assert_eq!(count.get("truenas-ws-mcp"), Some(&59));
    assert_eq!(count.get("truenas-mcp-server"), Some(&27));
    assert_eq!(count.get("iflow-truenas"), Some(&49));
}

#[test]
fn metrics_count_and_flag() {
    let rec = |name: &str, props: Value| {
        let mut t = ToolRecord::from_raw(
            "s",
            serde_json::json!({"name": name, "inputSchema": {"type": "object", "properties": props}}),
        );
        t.description = Some(String::new());
        ("k".to_string(), t)
    };
    let lab = |tool: &str, kind: Kind, category: Category, risk: Risk| Label {
        server_key: "k".into(),
        tool: tool.into(),
        kind,
        category,
        risk,
    };
    let records = vec![
        rec("pool_list", serde_json::json!({})),
        rec("thing_delete", serde_json::json!({})),
        rec("thing_set", serde_json::json!({"confirm": {}})),
    ];
    let labels = vec![
        lab("pool_list", Kind::Read, Category::Read, Risk::Low),
        lab(
            "thing_delete",
            Kind::Write,
            Category::Destructive,
            Risk::High,
        ),
        lab("thing_set", Kind::Write, Category::Write, Risk::Critical),
        lab("not_crawled", Kind::Read, Category::Read, Risk::Low),
    ];
    // A deliberately bad classifier: everything is a high-risk read.
    let bad = |_: &ToolRecord| Verdict {
        kind: Kind::Read,
        category: Category::Read,
        risk: Risk::High,
        signals: vec![],
        reasons: vec![],
        confidence: 0.5,
        rules_hash: Default::default(),
        inferred: Default::default(),
        effective: Default::default(),
    };
    let m = evaluate(&records, &labels, bad);
    assert_eq!(m.total, 3);
    assert_eq!(m.kind_ok, 1);
    assert_eq!(m.reads_over_rated.len(), 1);
    assert!(m.dangerous_under_rated.is_empty());
    assert_eq!(m.missing, vec!["k/not_crawled".to_string()]);
    assert_eq!(m.failures().len(), 2, "{:?}", m.failures());
    let low = |_: &ToolRecord| Verdict {
        risk: Risk::Low,
        ..bad(&records[0].1)
    };
    let m = evaluate(&records, &labels, low);
    assert_eq!(
        m.dangerous_under_rated.len(),
        2,
        "{:?}",
        m.dangerous_under_rated
    );
    // The real rules pass on these three.
    let rules = rules();
    let m = evaluate(&records[..], &labels[..3], |t| rules.classify(t));
    assert!(m.failures().is_empty(), "{}", m.summary());
}
