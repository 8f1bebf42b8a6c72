//! The kind (read or write), weighing the author's annotations
//! (`readOnlyHint`, `destructiveHint`) against the verb and the rules that
//! force a write. Records where they disagree (`annotation-conflict`); never
//! sets category or risk.

use super::effects::{Fired, Force};
use super::verbs::{Lexicon, Pick, Source};
use crate::model::{Category, Kind, Risk};

/// The kind and what contradicted the author's hints.
pub(super) struct Judged {
    pub kind: Kind,
    pub conflicts: Vec<String>,
    /// A rule that forces a write strongly fired.
    pub strong: bool,
}

/// The kind given the author's `readOnlyHint` and `destructiveHint`
/// (`None`: not given, or hidden to infer them).
pub(super) fn judge(
    ro: Option<bool>,
    de: Option<bool>,
    pick: Option<&Pick>,
    verbs: &Lexicon,
    fired: &[Fired<'_>],
) -> Judged {
    let group = pick.map(|p| &verbs.groups[p.group]);
    let verb_writes = group.is_some_and(|g| g.class != Category::Read);
    let verb_reads = group.is_some_and(|g| g.class == Category::Read);
    let firm_verb = pick.is_some_and(|p| p.source != Source::Ambiguous);
    // Verbs that override readOnlyHint=true: destroying, executing, paying,
    // disrupting, changing privileges. An ordinary create/run under
    // readOnlyHint=true ("run_report") follows the author.
    let severe_verb = group.is_some_and(|g| {
        matches!(g.class, Category::Destructive | Category::Execute | Category::Financial)
            || g.risk.is_some_and(|r| r >= Risk::High)
    });
    let strong = fired.iter().find(|f| f.effects.force == Some(Force::Strong));
    let weak = fired.iter().any(|f| f.effects.force == Some(Force::Weak));
    // The description says the tool changes nothing: that wins over an
    // ordinary write verb or a weak rule, never over a strong rule or a
    // verb that destroys, executes or pays.
    let declared_read = fired.iter().find(|f| f.effects.declares_read).filter(|_| strong.is_none() && !severe_verb);
    let verb = || pick.map_or(String::new(), |p| format!("verb \"{}\" ({})", p.word, verbs.groups[p.group].id));
    let mut conflicts = Vec::new();
    let kind = match ro {
        Some(true) => {
            if let Some(f) = strong {
                conflicts.push(format!("readOnlyHint=true but {}", f.evidence));
                Kind::Write
            } else if verb_writes && firm_verb && severe_verb {
                conflicts.push(format!("readOnlyHint=true but {}", verb()));
                Kind::Write
            } else if de == Some(true) {
                conflicts.push("readOnlyHint=true and destructiveHint=true".to_string());
                Kind::Write
            } else {
                Kind::Read
            }
        }
        Some(false) => {
            if let Some(f) = declared_read {
                conflicts.push(format!("readOnlyHint=false but {}", f.evidence));
            } else if verb_reads && firm_verb && strong.is_none() && !weak {
                conflicts.push(format!("readOnlyHint=false but {} reads", verb()));
            }
            Kind::Write
        }
        None => {
            if declared_read.is_some() && de != Some(true) {
                Kind::Read
            } else if strong.is_some() || weak || verb_writes {
                Kind::Write
            } else if de == Some(true) {
                if verb_reads && firm_verb {
                    conflicts.push(format!("destructiveHint=true but {} reads", verb()));
                }
                Kind::Write
            } else {
                Kind::Read
            }
        }
    };
    Judged { kind, conflicts, strong: strong.is_some() }
}
