//! Category, risk and confidence: the verb's group and every rule that
//! fired and applies to the tool's kind, the author's `destructiveHint` and
//! `openWorldHint`, and the suspicious-text floor, folded into the
//! [`Verdict`]. The kind is `hints.rs`'s and is never changed here.

use super::effects::{Effects, Fired, Out};
use super::hints::Judged;
use super::verbs::{Lexicon, Pick, Source};
use crate::model::{Category, Hints, Inferred, Kind, Risk, ToolRecord, Verdict};

/// Category severity: read < write < destructive < execute < financial.
pub(super) fn rank(c: Category) -> u8 {
    match c {
        Category::Read => 0,
        Category::Write => 1,
        Category::Destructive => 2,
        Category::Execute => 3,
        Category::Financial => 4,
    }
}

fn base_risk(c: Category) -> Risk {
    match c {
        Category::Read => Risk::Low,
        Category::Write => Risk::Medium,
        Category::Destructive | Category::Execute | Category::Financial => Risk::High,
    }
}

pub(super) struct Inputs<'a> {
    pub inferred: Inferred,
    /// The hints inferred for the tool as a write (equal to `inferred`
    /// unless the heuristics alone would call it a read).
    pub as_write: Inferred,
    pub tool: &'a ToolRecord,
    pub pick: Option<&'a Pick>,
    pub verbs: &'a Lexicon,
    pub fired: Vec<Fired<'a>>,
    pub judged: Judged,
    pub suspicious: Option<Risk>,
    pub out: Out,
    pub rules_hash: &'a str,
}

pub(super) fn verdict(i: Inputs<'_>) -> Verdict {
    let Inputs { inferred, as_write, tool, pick, verbs, fired, judged, suspicious, mut out, rules_hash } = i;
    let Judged { kind, mut conflicts, strong } = judged;
    let read = kind == Kind::Read;
    let de = tool.hint("destructiveHint");
    for (rule, v) in [("hint.readOnlyHint", tool.hint("readOnlyHint")), ("hint.destructiveHint", de)] {
        if let Some(v) = v {
            out.reason(rule, if v { "true" } else { "false" });
        }
    }
    if tool.hint("openWorldHint") == Some(true) {
        out.signal("network-egress", "openWorldHint=true");
        out.reason("hint.openWorldHint", "true");
    }

    let mut category = if read { Category::Read } else { Category::Write };
    let mut risk = Risk::Low;
    let mut destructive_from_heuristics = false;
    match pick {
        Some(p) => {
            let g = &verbs.groups[p.group];
            let src = p.source.place();
            out.reason(&g.id, format!("{src}: \"{}\"", p.word));
            if p.mixed {
                out.reason("verb.mixed", "name has both read and write verbs: write wins");
            }
            // A verb counts only when its class agrees with the kind.
            if (g.class == Category::Read) == read {
                if rank(g.class) > rank(category) {
                    category = g.class;
                }
                destructive_from_heuristics |= g.class == Category::Destructive;
                if let Some(r) = g.risk {
                    risk = risk.max(r);
                }
                for sig in &g.signals {
                    out.signal(sig, format!("{src} verb \"{}\"", p.word));
                }
            }
        }
        None => out.reason("verb.none", "no known verb in name, title or description"),
    }
    let applies = |e: &Effects| e.when_category.is_empty() && (e.force.is_none() || !read) && e.in_scope(read);
    for f in fired.iter().filter(|f| applies(f.effects)) {
        let e = f.effects;
        for sig in &e.signals {
            out.signal(sig, f.evidence.clone());
        }
        out.reason(&e.id, f.evidence.clone());
        if let Some(c) = e.category {
            if !read && rank(c) > rank(category) {
                category = c;
            }
            destructive_from_heuristics |= c == Category::Destructive;
        }
        if let Some(r) = e.risk {
            risk = risk.max(r);
        }
    }
    if !read && de == Some(true) && rank(category) < rank(Category::Destructive) {
        category = Category::Destructive;
        out.signal("destructive", "destructiveHint=true");
    }
    if de == Some(false) && destructive_from_heuristics && category == Category::Destructive {
        conflicts.push("destructiveHint=false but the tool deletes or destroys".to_string());
    }
    risk = risk.max(base_risk(category));
    // Rules that apply only to a category, now that it is known.
    for f in &fired {
        let e = f.effects;
        if !e.when_category.is_empty() && e.in_scope(read) && e.when_category.contains(&category) {
            out.reason(&e.id, f.evidence.clone());
            if let Some(r) = e.risk {
                risk = risk.max(r);
            }
            for sig in &e.signals {
                out.signal(sig, f.evidence.clone());
            }
        }
    }
    if !conflicts.is_empty() {
        out.signal("annotation-conflict", conflicts.join("; "));
        out.reason("hint.conflict", conflicts.join("; "));
    }
    if let Some(s) = suspicious {
        risk = risk.max(s);
    }
    // The author's hints where given, else the inferred ones; the kind
    // (cautious on a strong contradiction) and a destructive category
    // override the author.
    let destructive = !read
        && match de {
            Some(d) => d || category == Category::Destructive,
            None => as_write.destructive.value || category == Category::Destructive,
        };
    let effective = Hints {
        read_only: read,
        destructive,
        idempotent: tool.hint("idempotentHint").unwrap_or(as_write.idempotent.value),
        open_world: tool.hint("openWorldHint").unwrap_or(inferred.open_world.value),
    };
    Verdict {
        kind,
        category,
        risk,
        signals: out.signals,
        reasons: out.reasons,
        confidence: confidence(tool, pick, kind, strong, &conflicts),
        rules_hash: rules_hash.to_string(),
        inferred,
        effective,
    }
}

/// How firm the deciding evidence was: the verb's place, a strong rule, an
/// agreeing `readOnlyHint`, less for conflicts and mixed verbs.
fn confidence(tool: &ToolRecord, pick: Option<&Pick>, kind: Kind, strong: bool, conflicts: &[String]) -> f64 {
    let mut c: f64 = match pick.map(|p| p.source) {
        Some(Source::NameEdge) => 0.8,
        Some(Source::Description) | Some(Source::NameMiddle) | Some(Source::Actions) => 0.7,
        Some(Source::Title) => 0.65,
        Some(Source::Ambiguous) => 0.55,
        None => 0.3,
    };
    if strong && kind == Kind::Write {
        c = c.max(0.8);
    }
    let hint_agrees = match tool.hint("readOnlyHint") {
        Some(true) => kind == Kind::Read,
        Some(false) => kind == Kind::Write,
        None => false,
    };
    if hint_agrees {
        c += 0.15;
    }
    if !conflicts.is_empty() {
        c -= 0.25;
    }
    if pick.is_some_and(|p| p.mixed) {
        c -= 0.1;
    }
    (c.clamp(0.05, 0.99) * 100.0).round() / 100.0
}
