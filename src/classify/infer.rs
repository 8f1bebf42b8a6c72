//! MCP's four tool hints inferred with the author's annotations hidden:
//! `readOnlyHint` from the kind the heuristics give, `destructiveHint`
//! (may overwrite or remove existing state, not only add),
//! `idempotentHint` (repeating the call changes nothing more) and
//! `openWorldHint` (reaches beyond a closed domain) from the hint evidence
//! that verb groups and rules carry (`destructive`, `idempotent`,
//! `open_world` in `rules/*.toml`). Never reads the annotations.

use super::effects::{Fired, HintFields};
use super::verbs::{Lexicon, Pick, Source};
use crate::model::{Category, Inferred, InferredHint};

/// Which hint a piece of evidence speaks to.
#[derive(Clone, Copy)]
enum Which {
    Destructive,
    Idempotent,
    OpenWorld,
}

impl Which {
    fn of(self, h: &HintFields) -> Option<bool> {
        match self {
            Which::Destructive => h.destructive,
            Which::Idempotent => h.idempotent,
            Which::OpenWorld => h.open_world,
        }
    }
}

fn hint(value: bool, confidence: f64, evidence: impl Into<String>) -> InferredHint {
    InferredHint { value, confidence, evidence: evidence.into() }
}

/// The hints of a tool whose kind, judged without annotations, is a read
/// when `read`.
pub(super) fn infer(read: bool, pick: Option<&Pick>, verbs: &Lexicon, fired: &[Fired<'_>]) -> Inferred {
    let group = pick.map(|p| &verbs.groups[p.group]);
    let verb_evidence = || pick.map_or(String::new(), |p| format!("verb \"{}\" ({})", p.word, verbs.groups[p.group].id));
    let kind_confidence = match pick.map(|p| p.source) {
        Some(Source::NameEdge) => 0.8,
        Some(Source::Description) | Some(Source::NameMiddle) | Some(Source::Actions) => 0.7,
        Some(Source::Title) => 0.65,
        Some(Source::Ambiguous) => 0.55,
        None => 0.3,
    };
    let forced = fired.iter().find(|f| f.effects.force.is_some() && !read);
    let declared = fired.iter().find(|f| f.effects.declares_read && read);
    let read_only = match (read, forced) {
        (false, Some(f)) => hint(false, 0.85, f.evidence.clone()),
        (true, _) if declared.is_some() => hint(true, 0.85, declared.map_or(String::new(), |f| f.evidence.clone())),
        (_, _) if pick.is_some() => hint(read, kind_confidence, verb_evidence()),
        _ => hint(read, kind_confidence, "no verb found: read unless a rule says otherwise"),
    };
    // The rules in scope for this kind, with what they say of a hint; a
    // rule's cautious value wins over its opposite.
    let in_scope = |f: &&Fired<'_>| f.effects.when_category.is_empty() && f.effects.in_scope(read);
    let from_rules = |which: Which, cautious: bool| -> Option<InferredHint> {
        let says = |v: bool| fired.iter().filter(in_scope).find(|f| which.of(&f.effects.hints) == Some(v));
        let destroys = |f: &&Fired<'_>| {
            f.effects.category == Some(Category::Destructive)
                || f.effects.signals.iter().any(|s| s == "destructive" || s == "irreversible")
        };
        if let Which::Destructive = which {
            if let Some(f) = fired.iter().filter(in_scope).find(destroys) {
                return Some(hint(true, 0.85, f.evidence.clone()));
            }
        }
        says(cautious)
            .map(|f| hint(cautious, 0.85, f.evidence.clone()))
            .or_else(|| says(!cautious).map(|f| hint(!cautious, 0.75, f.evidence.clone())))
    };
    let from_verb = |which: Which| -> Option<InferredHint> {
        let g = group?;
        let v = which.of(&g.hints).or(match which {
            Which::Destructive => (g.class == Category::Destructive).then_some(true),
            _ => None,
        })?;
        Some(hint(v, kind_confidence.min(0.75), verb_evidence()))
    };
    let unknown = |value: bool| hint(value, 0.4, "no evidence: the MCP specification's default");
    let writes = |which: Which, cautious: bool, default: bool| -> InferredHint {
        from_rules(which, cautious).or_else(|| from_verb(which)).unwrap_or_else(|| unknown(default))
    };
    let (destructive, idempotent) = if read {
        (hint(false, read_only.confidence, "a read changes nothing"), hint(true, read_only.confidence, "a read changes nothing"))
    } else {
        (writes(Which::Destructive, true, true), writes(Which::Idempotent, false, false))
    };
    let open_world = from_rules(Which::OpenWorld, true)
        .or_else(|| from_verb(Which::OpenWorld))
        .or_else(|| {
            fired.iter().find(|f| f.effects.signals.iter().any(|s| s == "network-egress")).map(|f| hint(true, 0.7, f.evidence.clone()))
        })
        .unwrap_or_else(|| unknown(true));
    Inferred { read_only, destructive, idempotent, open_world }
}
