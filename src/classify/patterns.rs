//! Pattern rules: phrases over the tool's title and description
//! (`rules/phrases.toml`) and objects over the name's tokens
//! (`rules/objects.toml`). Each rule is a pattern, an optional `unless`
//! pattern that excuses it on the same text, and its effects. This file
//! decides only which rules match a text; what they mean is `risk.rs`'s.

use super::config::{ObjectsFile, PatternRule, PhrasesFile};
use super::effects::{Effects, Fired};
use super::load::Loader;
use super::ClassifyError;
use super::load::Reads;
use regex::bytes::{Regex, RegexSet};

#[derive(Debug)]
pub(super) struct PatternRules {
    /// Every rule's pattern: one pass says which rules may fire.
    set: RegexSet,
    each: Vec<Regex>,
    unless: Vec<Option<Regex>>,
    effects: Vec<Effects>,
}

impl PatternRules {
    /// Phrases read the title and description folded to ASCII.
    pub fn load_phrases(l: &Loader<'_>) -> Result<PatternRules, ClassifyError> {
        let file: PhrasesFile = l.parse()?;
        PatternRules::compile(l, "phrase", &file.phrase, Reads::Folded)
    }

    /// Objects read the name's tokens as they are (a name may be in any
    /// script).
    pub fn load_objects(l: &Loader<'_>) -> Result<PatternRules, ClassifyError> {
        let file: ObjectsFile = l.parse()?;
        PatternRules::compile(l, "object", &file.object, Reads::AsSent)
    }

    fn compile(l: &Loader<'_>, family: &str, rules: &[PatternRule], reads: Reads) -> Result<PatternRules, ClassifyError> {
        let (mut each, mut unless, mut effects) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for r in rules {
            if !seen.insert(r.id.as_str()) {
                return Err(l.err(&r.id, "duplicate id"));
            }
            each.push(l.regex(&r.id, &r.pattern, reads)?);
            unless.push(r.unless.as_deref().map(|u| l.regex(&r.id, u, reads)).transpose()?);
            effects.push(l.effects(family, &r.id, r.effects())?);
        }
        Ok(PatternRules {
            set: l.set(rules.iter().map(|r| r.pattern.as_str()), reads)?,
            each,
            unless,
            effects,
        })
    }

    /// Every rule matching `text` and not excused by its `unless`, in rule
    /// order, with the evidence `show` makes of the matched text.
    pub fn fire<'r>(&'r self, text: &str, fired: &mut Vec<Fired<'r>>, show: impl Fn(&str) -> String) {
        let bytes = text.as_bytes();
        if !self.set.is_match(bytes) {
            return;
        }
        for i in self.set.matches(bytes).iter() {
            let Some(m) = self.each[i].find(bytes) else { continue };
            if self.unless[i].as_ref().is_some_and(|u| u.is_match(bytes)) {
                continue;
            }
            fired.push(Fired { effects: &self.effects[i], evidence: show(&text[m.range()]) });
        }
    }
}
