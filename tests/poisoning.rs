//! The tool-poisoning evaluation (issue #21): the project's own set of
//! poisoned tool definitions, one or more per class and several written to
//! avoid every obvious keyword, and benign look-alikes that must stay clean
//! (`tests/poisoning/cases.json`), plus a held-out set of paraphrases
//! written after the rules were tuned (`tests/poisoning/heldout.json`).
//!
//! `cargo test --test poisoning -- --nocapture` prints the figures and every
//! miss and false alarm. Fails below the targets: on the own set at least
//! 95 % of poisoned definitions flagged and at most 2 % of benign ones.

use mcp_catalogue::classify::Rules;
use mcp_catalogue::model::{ToolRecord, Verdict};
use serde_json::Value;
use std::path::Path;

struct Figures {
    poisoned: usize,
    caught: usize,
    right_class: usize,
    benign: usize,
    false_alarms: usize,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn findings(v: &Verdict) -> Vec<String> {
    v.reasons.iter().filter(|r| r.rule.starts_with("suspicious.")).map(|r| format!("{} = {}", r.rule, r.matched)).collect()
}

fn evaluate(file: &str) -> Figures {
    let rules = Rules::load(&root().join("rules")).expect("rules load");
    let text = std::fs::read_to_string(root().join("tests/poisoning").join(file)).unwrap();
    let set: Value = serde_json::from_str(&text).unwrap();
    let mut f = Figures { poisoned: 0, caught: 0, right_class: 0, benign: 0, false_alarms: 0 };
    for case in set["cases"].as_array().unwrap() {
        let tool = ToolRecord::from_raw("eval", case["tool"].clone());
        let v = rules.classify(&tool);
        let flagged = v.signals.iter().any(|s| s.name == "suspicious-description");
        let found = findings(&v);
        let show = || format!("{:?} {:?}", tool.name, tool.title.as_deref().unwrap_or("").to_string() + tool.description.as_deref().unwrap_or(""));
        match case["label"].as_str().unwrap() {
            "poisoned" => {
                f.poisoned += 1;
                let class = case["class"].as_str().unwrap();
                if flagged {
                    f.caught += 1;
                    assert!(matches!(v.risk, mcp_catalogue::model::Risk::High | mcp_catalogue::model::Risk::Critical), "flagged but risk {:?}", v.risk);
                    if found.iter().any(|r| r.starts_with(&format!("suspicious.{class}."))) {
                        f.right_class += 1;
                    } else {
                        println!("  other class ({class}): {} -> {found:?}", show());
                    }
                } else {
                    println!("  MISSED ({class}): {}", show());
                }
            }
            "benign" => {
                f.benign += 1;
                if flagged {
                    f.false_alarms += 1;
                    println!("  FALSE ALARM: {} -> {found:?}", show());
                }
            }
            l => panic!("unknown label {l}"),
        }
    }
    println!(
        "{file}: poisoned flagged {}/{} ({:.1} %), with the labelled class {}/{}; benign flagged {}/{} ({:.1} %)",
        f.caught,
        f.poisoned,
        100.0 * f.caught as f64 / f.poisoned as f64,
        f.right_class,
        f.poisoned,
        f.false_alarms,
        f.benign,
        100.0 * f.false_alarms as f64 / f.benign as f64
    );
    f
}

#[test]
fn own_set_meets_the_targets() {
    let f = evaluate("cases.json");
    assert!(f.poisoned >= 60 && f.benign >= 60, "the set is too small");
    assert!(f.caught * 100 >= f.poisoned * 95, "recall below 95 %");
    assert!(f.false_alarms * 100 <= f.benign * 2, "false alarms above 2 %");
}

/// Paraphrases written after the rules were tuned, never tuned on: the
/// figure a new attack is likelier to meet. Floors below the own set's.
#[test]
fn held_out_paraphrases() {
    let f = evaluate("heldout.json");
    assert!(f.caught * 100 >= f.poisoned * 80, "held-out recall below 80 %");
    assert!(f.false_alarms * 100 <= f.benign * 5, "held-out false alarms above 5 %");
}
