//! Unit tests per class of finding (the evaluation set is
//! `tests/poisoning/`).

use crate::classify::Rules;
use crate::model::{ToolRecord, Verdict};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::OnceLock;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rules load"))
}

fn judge(description: &str, props: Value) -> Verdict {
    rules().classify(&ToolRecord::from_raw(
        "test",
        json!({"name": "list_notes", "description": description, "inputSchema": {"type": "object", "properties": props}}),
    ))
}

/// The `suspicious.CLASS.ID` reasons of a verdict.
fn findings(v: &Verdict) -> Vec<String> {
    v.reasons.iter().filter(|r| r.rule.starts_with("suspicious.")).map(|r| format!("{} = {}", r.rule, r.matched)).collect()
}

#[track_caller]
fn flagged(description: &str, class: &str) -> Vec<String> {
    let f = findings(&judge(description, json!({})));
    assert!(f.iter().any(|r| r.starts_with(&format!("suspicious.{class}."))), "{description:?} not flagged {class}: {f:?}");
    f
}

#[track_caller]
fn clean(description: &str) {
    let f = findings(&judge(description, json!({})));
    assert!(f.is_empty(), "{description:?} flagged: {f:?}");
}
