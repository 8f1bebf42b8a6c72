//! Turning one rule file into compiled pieces with errors that name the
//! file, the rule's `id` and its line. Never classifies anything.

use super::config::EffectFields;
use super::effects::{Effects, Force, Scope};
use super::{ClassifyError, SIGNALS};
use crate::model::{Category, Risk};
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::path::Path;

/// What text a pattern reads. Text folded to ASCII (descriptions, schema
/// strings) gets patterns compiled without Unicode classes: on ASCII text
/// they match exactly as the Unicode forms would, with much smaller automata.
/// Names and raw text are read as sent, with Unicode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reads {
    Folded,
    AsSent,
}

/// One rule file: its path (for errors) and its text.
pub(super) struct Loader<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Loader<'_> {
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClassifyError> {
        toml::from_str(self.text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(self.text, s.start)).unwrap_or((0, 0));
            ClassifyError::Parse {
                path: self.path.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })
    }

    pub fn err(&self, rule: &str, message: impl Into<String>) -> ClassifyError {
        let (line, column) = self.locate(rule);
        ClassifyError::Rule {
            path: self.path.to_path_buf(),
            line,
            column,
            rule: rule.to_string(),
            message: message.into(),
        }
    }

    /// Where the rule's `id = "..."` is written (1-based), or (0, 0).
    fn locate(&self, rule: &str) -> (usize, usize) {
        for quote in ['"', '\''] {
            let needle = format!("{quote}{rule}{quote}");
            let mut from = 0;
            while let Some(pos) = self.text[from..].find(&needle) {
                let at = from + pos;
                let line_start = self.text[..at].rfind('\n').map_or(0, |p| p + 1);
                let before = self.text[line_start..at].trim();
                if before.starts_with("id") && before.ends_with('=') {
                    return line_col(self.text, at);
                }
                from = at + needle.len();
            }
        }
        (0, 0)
    }

    pub fn regex(&self, rule: &str, pattern: &str, reads: Reads) -> Result<Regex, ClassifyError> {
        RegexBuilder::new(pattern).unicode(reads == Reads::AsSent).size_limit(1 << 24).build().map_err(|e| {
            let folded = match reads {
                Reads::Folded => " (this pattern reads text folded to ASCII: no Unicode classes)",
                Reads::AsSent => "",
            };
            self.err(rule, format!("bad pattern{folded}: {e}"))
        })
    }

    /// A set of patterns that each compiled on their own already.
    pub fn set<'p>(&self, patterns: impl IntoIterator<Item = &'p str>, reads: Reads) -> Result<RegexSet, ClassifyError> {
        RegexSetBuilder::new(patterns)
            .unicode(reads == Reads::AsSent)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 26)
            .build()
            .map_err(|e| self.err("", format!("cannot compile pattern set: {e}")))
    }

    pub fn category(&self, rule: &str, s: &str) -> Result<Category, ClassifyError> {
        parse_category(s).ok_or_else(|| {
            self.err(rule, format!("unknown category \"{s}\" (read, write, execute, destructive, financial)"))
        })
    }

    pub fn risk(&self, rule: &str, s: &str) -> Result<Risk, ClassifyError> {
        parse_risk(s)
            .ok_or_else(|| self.err(rule, format!("unknown risk \"{s}\" (low, medium, high, critical)")))
    }

    pub fn signals(&self, rule: &str, signals: &[String]) -> Result<Vec<String>, ClassifyError> {
        match signals.iter().find(|s| !SIGNALS.contains(&s.as_str())) {
            Some(s) => Err(self.err(rule, format!("unknown signal \"{s}\" (see SIGNALS in rules/README.md)"))),
            None => Ok(signals.to_vec()),
        }
    }

    pub fn effects(&self, family: &str, id: &str, f: EffectFields<'_>) -> Result<Effects, ClassifyError> {
        if id.is_empty() {
            return Err(self.err(id, "empty id"));
        }
        let scope = match f.scope.unwrap_or("any") {
            "any" => Scope::Any,
            "read" => Scope::Read,
            "write" => Scope::Write,
            s => return Err(self.err(id, format!("unknown scope \"{s}\" (any, read, write)"))),
        };
        let force = match f.forces_write {
            None => None,
            Some("strong") => Some(Force::Strong),
            Some("weak") => Some(Force::Weak),
            Some(s) => return Err(self.err(id, format!("unknown forces_write \"{s}\" (strong, weak)"))),
        };
        let when_category =
            f.when_category.iter().map(|c| self.category(id, c)).collect::<Result<Vec<_>, _>>()?;
        let category = f.category.map(|c| self.category(id, c)).transpose()?;
        if category == Some(Category::Read) {
            return Err(self.err(id, "a rule cannot set category read (kind decides that)"));
        }
        if !when_category.is_empty() && (category.is_some() || force.is_some()) {
            return Err(self.err(id, "a when_category rule may not set category or forces_write"));
        }
        if f.declares_read && (force.is_some() || scope == Scope::Write) {
            return Err(self.err(id, "declares_read contradicts forces_write or scope = \"write\""));
        }
        if force.is_some() && scope == Scope::Read {
            return Err(self.err(id, "forces_write contradicts scope = \"read\""));
        }
        Ok(Effects {
            id: format!("{family}.{id}"),
            scope,
            force,
            declares_read: f.declares_read,
            when_category,
            category,
            risk: f.risk.map(|r| self.risk(id, r)).transpose()?,
            signals: self.signals(id, f.signals)?,
            hints: f.hints,
        })
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |p| before[p + 1..].chars().count()) + 1;
    (line, column)
}

fn parse_category(s: &str) -> Option<Category> {
    Some(match s {
        "read" => Category::Read,
        "write" => Category::Write,
        "execute" => Category::Execute,
        "destructive" => Category::Destructive,
        "financial" => Category::Financial,
        _ => return None,
    })
}

fn parse_risk(s: &str) -> Option<Risk> {
    Some(match s {
        "low" => Risk::Low,
        "medium" => Risk::Medium,
        "high" => Risk::High,
        "critical" => Risk::Critical,
        _ => return None,
    })
}

/// A shell-style glob (`*`, `?`) as an anchored regex.
pub(super) fn glob_regex(glob: &str) -> String {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}
