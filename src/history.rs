//! History: what changed between runs, computed from the store's events.
//! For a changed tool, which fields changed (with a readable line diff) and
//! whether its verdict (kind, risk) changed under the current rules.

use crate::classify::Rules;
use crate::model::{Kind, Risk, ToolRecord};
use crate::store::{Store, StoreError};
use serde::Serialize;

/// One field of a definition that changed, with a readable diff.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDiff {
    pub field: String,
    /// Unified-style lines: "- old" / "+ new".
    pub diff: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeItem {
    pub server: String,
    pub tool: String,
    pub run: i64,
    pub time: String,
    /// "added", "removed" or "changed".
    pub change: String,
    pub fields: Vec<FieldDiff>,
    pub old_kind: Option<Kind>,
    pub new_kind: Option<Kind>,
    pub old_risk: Option<Risk>,
    pub new_risk: Option<Risk>,
    /// The risk went up: listed first.
    pub risk_up: bool,
}

/// Changes in runs after `since_run` up to the latest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    pub since_run: i64,
    pub to_run: i64,
    pub added: Vec<ChangeItem>,
    pub removed: Vec<ChangeItem>,
    /// Risk increases first, then by server and tool.
    pub changed: Vec<ChangeItem>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compute what changed after `since_run` (exclusive).
pub fn changes(store: &Store, rules: &Rules, since_run: i64) -> Result<Changes, StoreError> {
    let events = store.events_since(since_run)?;
    let mut out = Changes { since_run, to_run: store.last_run()?.unwrap_or(0), ..Default::default() };
    // Collapse several events of one tool into one net change.
    let mut by_tool: std::collections::BTreeMap<i64, Vec<&crate::store::Event>> = Default::default();
    for e in &events {
        by_tool.entry(e.tool_id).or_default().push(e);
    }
    for (tool_id, evs) in by_tool {
        let first = evs[0];
        let last = *evs.last().unwrap();
        let before = if first.event == "added" { None } else { first.old_hash.clone() };
        let after = if last.event == "removed" { None } else { last.new_hash.clone() };
        let old = match &before { Some(h) => store.version_record(tool_id, h)?, None => None };
        let new = match &after { Some(h) => store.version_record(tool_id, h)?, None => None };
        let ov = old.as_ref().map(|r| rules.classify(r));
        let nv = new.as_ref().map(|r| rules.classify(r));
        let change = match (&old, &new) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(a), Some(b)) if a.hash() != b.hash() => "changed",
            _ => continue, // added then removed, or changed back
        };
        let item = ChangeItem {
            server: last.server.clone(),
            tool: last.tool.clone(),
            run: last.run,
            time: last.time.clone(),
            change: change.to_string(),
            fields: match (&old, &new) {
                (Some(a), Some(b)) => field_diffs(a, b),
                _ => vec![],
            },
            old_kind: ov.as_ref().map(|v| v.kind),
            new_kind: nv.as_ref().map(|v| v.kind),
            old_risk: ov.as_ref().map(|v| v.risk),
            new_risk: nv.as_ref().map(|v| v.risk),
            risk_up: matches!((&ov, &nv), (Some(a), Some(b)) if b.risk > a.risk),
        };
        match change {
            "added" => out.added.push(item),
            "removed" => out.removed.push(item),
            _ => out.changed.push(item),
        }
    }
    out.changed.sort_by(|a, b| b.risk_up.cmp(&a.risk_up).then(a.server.cmp(&b.server)).then(a.tool.cmp(&b.tool)));
    Ok(out)
}

/// Which definition fields differ, each with a line diff.
pub fn field_diffs(a: &ToolRecord, b: &ToolRecord) -> Vec<FieldDiff> {
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(&sorted(v)).unwrap_or_default();
    let fields: [(&str, String, String); 5] = [
        ("description", a.description.clone().unwrap_or_default(), b.description.clone().unwrap_or_default()),
        ("title", a.title.clone().unwrap_or_default(), b.title.clone().unwrap_or_default()),
        ("input_schema", pretty(&a.input_schema), pretty(&b.input_schema)),
        (
            "annotations",
            a.annotations.as_ref().map(pretty).unwrap_or_default(),
            b.annotations.as_ref().map(pretty).unwrap_or_default(),
        ),
        (
            "selector",
            a.selector.as_ref().map(pretty).unwrap_or_default(),
            b.selector.as_ref().map(pretty).unwrap_or_default(),
        ),
    ];
    let mut out = Vec::new();
    for (field, x, y) in fields {
        if x != y {
            out.push(FieldDiff { field: field.to_string(), diff: line_diff(&x, &y) });
        }
    }
    if out.is_empty() && a.raw != b.raw {
        out.push(FieldDiff {
            field: "other".into(),
            diff: line_diff(&pretty(&a.raw), &pretty(&b.raw)),
        });
    }
    out
}

fn sorted(v: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(&crate::model::canonical_json(v)).unwrap_or(serde_json::Value::Null)
}

/// A small LCS line diff: "  same", "- removed", "+ added".
pub fn line_diff(a: &str, b: &str) -> String {
    let x: Vec<&str> = a.lines().collect();
    let y: Vec<&str> = b.lines().collect();
    if x.len() * y.len() > 4_000_000 {
        return format!("- {}\n+ {}", a.replace('\n', "\n- "), b.replace('\n', "\n+ "));
    }
    let (n, m) = (x.len(), y.len());
    let mut l = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if x[i] == y[j] { l[i + 1][j + 1] + 1 } else { l[i + 1][j].max(l[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && x[i] == y[j] {
            out.push(format!("  {}", x[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || l[i][j + 1] >= l[i + 1][j]) {
            out.push(format!("+ {}", y[j]));
            j += 1;
        } else {
            out.push(format!("- {}", x[i]));
            i += 1;
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_diff_marks_changes() {
        assert_eq!(line_diff("a\nb\nc", "a\nx\nc"), "  a\n+ x\n- b\n  c");
    }
}
