//! What a rule does when it fires (`Effects`), a rule that fired with its
//! evidence (`Fired`), and the signals and reasons a verdict collects
//! (`Out`). Shared by every rule family; holds no rule of its own.

pub(super) use super::config::HintFields;
use crate::model::{Category, Reason, Risk, Signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Any,
    Read,
    Write,
}

/// How firmly a matching rule makes the tool a write: a strong rule
/// overrides `readOnlyHint=true` (raising `annotation-conflict`), a weak one
/// yields to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Force {
    Weak,
    Strong,
}

#[derive(Debug, Clone)]
pub(super) struct Effects {
    /// `family.id`, e.g. `phrase.marked-destructive`: what the verdict's
    /// reason shows.
    pub id: String,
    pub scope: Scope,
    pub force: Option<Force>,
    /// The text says the tool changes nothing.
    pub declares_read: bool,
    pub when_category: Vec<Category>,
    pub category: Option<Category>,
    pub risk: Option<Risk>,
    pub signals: Vec<String>,
    pub hints: HintFields,
}

impl Effects {
    /// Whether the rule applies to a tool of this kind (`read`: whether it
    /// is a read).
    pub fn in_scope(&self, read: bool) -> bool {
        match self.scope {
            Scope::Any => true,
            Scope::Read => read,
            Scope::Write => !read,
        }
    }
}

/// A rule that matched, with the text that made it match.
pub(super) struct Fired<'r> {
    pub effects: &'r Effects,
    pub evidence: String,
}

/// The signals (one per name, the first evidence kept) and reasons (every
/// rule that fired, in order) of a verdict being built.
#[derive(Default)]
pub(super) struct Out {
    pub signals: Vec<Signal>,
    pub reasons: Vec<Reason>,
}

impl Out {
    pub fn has(&self, name: &str) -> bool {
        self.signals.iter().any(|s| s.name == name)
    }

    pub fn signal(&mut self, name: &str, evidence: impl Into<String>) {
        if !self.has(name) {
            self.signals.push(Signal { name: name.to_string(), evidence: evidence.into() });
        }
    }

    pub fn reason(&mut self, rule: &str, matched: impl Into<String>) {
        self.reasons.push(Reason { rule: rule.to_string(), matched: matched.into() });
    }
}
