//! Text aimed at the model rather than the user (`rules/suspicious.toml`),
//! organised by what it asks the model to do: the classes in [`CLASSES`].
//! Looks at the title and description, a name that is not ASCII, the
//! annotations, and every string of the input schema (descriptions, titles,
//! enum values, defaults, examples) and unusual property names.
//!
//! Each text is matched as sent (folded to ASCII), and again after every
//! hidden carrier in it has been revealed (`carriers.rs`: comments, tag
//! characters, invisible and bidirectional controls, ANSI escapes, base64,
//! hex, percent-encoding, HTML character references, look-alike letters).
//! Every finding becomes a reason `suspicious.CLASS.ID` with the place and
//! the exact evidence (decoded where it was hidden, marked `[hidden: ...]`),
//! and raises `suspicious-description` with the first finding and a risk
//! floor; never changes the kind.

mod carriers;
#[cfg(test)]
mod tests;

use super::config::SuspiciousFile;
use super::effects::Out;
use super::load::{Loader, Reads};
use super::text::{fold_ascii, Clip};
use super::ClassifyError;
use crate::model::{Risk, ToolRecord};
use regex::bytes::{Regex, RegexSet};
use serde_json::Value;

/// What a suspicious text asks the model to do. A rule names one; the
/// finding's reason is `suspicious.CLASS.ID`.
pub const CLASSES: &[&str] = &[
    // Instructions addressed to the model: role or system markers,
    // override and priority claims, imperatives aimed at "the assistant".
    "model-directed",
    // Instructions about other tools or the agent's other actions
    // (cross-tool shadowing, preference manipulation).
    "tool-shadowing",
    // Secrets, files, environment values or conversation content put into
    // arguments or sent out.
    "exfiltration",
    // Keeping something from the user.
    "concealment",
    // Lying to the user about the tool, the server or an outcome.
    "deception",
    // Text hidden from a person: comments, invisible characters, bidi
    // overrides, ANSI escapes, look-alike letters, encoded payloads.
    "hidden-carrier",
];

#[derive(Debug)]
struct Rule {
    /// `suspicious.CLASS.ID`.
    id: String,
    class: &'static str,
    risk: Risk,
    unless: Option<Regex>,
}

/// One family of patterns, compiled into one set.
#[derive(Debug)]
struct Family {
    set: RegexSet,
    each: Vec<Regex>,
    rules: Vec<Rule>,
}

#[derive(Debug)]
pub(super) struct SuspiciousRules {
    /// Run on text with non-ASCII folded to spaces.
    folded: Family,
    /// Run on folded text a hidden carrier revealed, only.
    hidden: Family,
    /// Run on the text as sent, when it is not plain ASCII.
    raw: Family,
}

/// One finding: the reason it becomes.
struct Finding {
    rule: String,
    class: &'static str,
    evidence: String,
    risk: Risk,
}

/// At most this many schema nodes are visited.
const MAX_NODES: usize = 10_000;

impl SuspiciousRules {
    pub fn load(l: &Loader<'_>) -> Result<SuspiciousRules, ClassifyError> {
        let file: SuspiciousFile = l.parse()?;
        // Patterns, compiled rules and rule info: folded, hidden, raw.
        type Parts<'a> = (Vec<&'a str>, Vec<Regex>, Vec<Rule>);
        let mut families: [Parts<'_>; 3] = Default::default();
        for r in &file.pattern {
            let risk = r.risk.as_deref().map(|x| l.risk(&r.id, x)).transpose()?.unwrap_or(Risk::High);
            let class = *CLASSES
                .iter()
                .find(|c| **c == r.class)
                .ok_or_else(|| l.err(&r.id, format!("unknown class \"{}\" ({})", r.class, CLASSES.join(", "))))?;
            if r.raw && r.hidden_only {
                return Err(l.err(&r.id, "a raw pattern cannot be hidden_only (revealed text is folded)"));
            }
            let reads = if r.raw { Reads::AsSent } else { Reads::Folded };
            let each = l.regex(&r.id, &r.pattern, reads)?;
            let unless = r.unless.as_deref().map(|u| l.regex(&r.id, u, reads)).transpose()?;
            let f = &mut families[if r.raw { 2 } else { usize::from(r.hidden_only) }];
            f.0.push(r.pattern.as_str());
            f.1.push(each);
            f.2.push(Rule { id: format!("suspicious.{class}.{}", r.id), class, risk, unless });
        }
        let [folded, hidden, raw] = families;
        let family = |(patterns, each, rules): Parts<'_>, reads| -> Result<Family, ClassifyError> {
            Ok(Family { set: l.set(patterns, reads)?, each, rules })
        };
        Ok(SuspiciousRules {
            folded: family(folded, Reads::Folded)?,
            hidden: family(hidden, Reads::Folded)?,
            raw: family(raw, Reads::AsSent)?,
        })
    }

    /// Scan the tool's texts (`text`: title and description, `folded`: the
    /// same folded to ASCII). Returns the risk floor when anything matched.
    pub fn scan(&self, tool: &ToolRecord, text: &str, folded: &str, out: &mut Out) -> Option<Risk> {
        let mut found: Vec<Finding> = Vec::new();
        self.check(|| "description".into(), text, folded, &mut found);
        if !tool.name.is_ascii() {
            self.check(|| "name".into(), &tool.name, &fold_ascii(&tool.name), &mut found);
            if let Some(sk) = carriers::ascii_look_alike_name(&tool.name) {
                found.push(Finding {
                    rule: "suspicious.hidden-carrier.homoglyph-name".into(),
                    class: "hidden-carrier",
                    evidence: format!("name [hidden: look-alike letters]: \"{}\" reads as \"{}\"", visible(&tool.name, 80), Clip(&sk, 80)),
                    risk: Risk::High,
                });
            }
        }
        if let Some(a) = &tool.annotations {
            self.walk("annotations", a, &mut found);
        }
        self.walk("inputSchema", &tool.input_schema, &mut found);
        let first = found.first()?;
        let more = match found.len() {
            1 => String::new(),
            n => format!(" (and {} more finding{})", n - 1, if n > 2 { "s" } else { "" }),
        };
        out.signal("suspicious-description", format!("{}: {}{more}", first.class, first.evidence));
        let mut floor = Risk::Low;
        for f in found {
            floor = floor.max(f.risk);
            out.reason(&f.rule, f.evidence);
        }
        Some(floor)
    }

    /// Depth-first over a JSON value; the place is built only for a match.
    fn walk(&self, root: &str, value: &Value, found: &mut Vec<Finding>) {
        let mut crumbs: Vec<&str> = Vec::new();
        let mut stack: Vec<(usize, &str, &Value)> = vec![(0, root, value)];
        let mut visited = 0usize;
        while let Some((depth, key, v)) = stack.pop() {
            visited += 1;
            if visited > MAX_NODES {
                break;
            }
            crumbs.truncate(depth);
            crumbs.push(key);
            let nested = |v: &Value| matches!(v, Value::String(_) | Value::Object(_) | Value::Array(_));
            match v {
                Value::String(s) if !s.is_empty() => {
                    self.check(|| crumbs.join("."), s, &fold_ascii(s), found);
                }
                Value::Object(m) => {
                    for (k, v) in m {
                        if !k.is_ascii() || k.len() >= 100 {
                            let place = || format!("{} (property name)", crumbs.join("."));
                            self.check(place, k, &fold_ascii(k), found);
                        }
                        if nested(v) {
                            stack.push((depth + 1, k.as_str(), v));
                        }
                    }
                }
                Value::Array(a) => {
                    stack.extend(a.iter().filter(|v| nested(v)).map(|v| (depth + 1, "[]", v)));
                }
                _ => {}
            }
        }
    }

    /// Every finding in one text, with its place (built only when something
    /// is found: most texts hold nothing). Text hidden inside the text
    /// (comments, tag characters, blobs) is checked before the visible
    /// text, and text that is the whole text cleaned (invisible characters
    /// stripped, look-alikes normalised) after it; one finding per rule and
    /// place, the first kept.
    fn check(&self, place: impl FnOnce() -> String, raw: &str, folded: &str, found: &mut Vec<Finding>) {
        let revealed = carriers::reveal(raw);
        let raw_matters = !raw.is_ascii();
        let visible_hit = self.folded.set.is_match(folded.as_bytes()) || raw_matters && self.raw.set.is_match(raw.as_bytes());
        if !visible_hit && revealed.is_empty() {
            return;
        }
        let place = place();
        let start = found.len();
        let fresh = |found: &Vec<Finding>, rule: &str| !found[start..].iter().any(|f| f.rule == rule);
        let (inner, whole): (Vec<_>, Vec<_>) = revealed.iter().partition(|r| !r.whole());
        for r in inner {
            self.check_revealed(&place, r, found, start);
        }
        if visible_hit {
            let mut hits = Vec::new();
            matches(&self.folded, folded, &mut hits);
            if raw_matters {
                matches(&self.raw, raw, &mut hits);
            }
            for (rule, span) in hits {
                if fresh(found, &rule.id) {
                    let evidence = format!("{place}: \"{}\"", visible(&span, 80));
                    found.push(Finding { rule: rule.id.clone(), class: rule.class, evidence, risk: rule.risk });
                }
            }
        }
        for r in whole {
            self.check_revealed(&place, r, found, start);
        }
    }

    fn check_revealed(&self, place: &str, r: &carriers::Revealed, found: &mut Vec<Finding>, start: usize) {
        let f = fold_ascii(&r.text);
        let mut hits = Vec::new();
        matches(&self.folded, &f, &mut hits);
        if r.hidden {
            matches(&self.hidden, &f, &mut hits);
        }
        if hits.is_empty() && !r.always {
            return;
        }
        let tag = match &r.marker {
            Some(m) => format!("{place} [hidden: {}, {m}]", r.label),
            None => format!("{place} [hidden: {}]", r.label),
        };
        let rule = format!("suspicious.hidden-carrier.{}", r.id);
        if !found[start..].iter().any(|f| f.rule == rule) {
            let shown = if r.text.trim().is_empty() { "(nothing visible)".to_string() } else { visible(&r.text, 120) };
            found.push(Finding { rule, class: "hidden-carrier", evidence: format!("{tag}: \"{shown}\""), risk: Risk::High });
        }
        for (rule, span) in hits {
            if !found[start..].iter().any(|f| f.rule == rule.id) {
                let evidence = format!("{tag}: \"{}\"", visible(&span, 80));
                found.push(Finding { rule: rule.id.clone(), class: rule.class, evidence, risk: rule.risk });
            }
        }
    }
}

impl carriers::Revealed {
    /// The revealed text is the whole text cleaned, not a part of it.
    fn whole(&self) -> bool {
        matches!(self.id, "zero-width" | "bidi-override" | "ansi-escape" | "look-alike-characters" | "homoglyph")
    }
}

/// Each rule of a family that matches `text` (and whose `unless` does not),
/// with the matched span.
fn matches<'f>(family: &'f Family, text: &str, hits: &mut Vec<(&'f Rule, String)>) {
    let b = text.as_bytes();
    for i in family.set.matches(b).iter() {
        let rule = &family.rules[i];
        if rule.unless.as_ref().is_some_and(|u| u.is_match(b)) {
            continue;
        }
        let m = family.each[i].find(b).map_or(&b""[..], |m| m.as_bytes());
        hits.push((rule, String::from_utf8_lossy(m).into_owned()));
    }
}

/// At most `n` characters of evidence with every character that does not
/// show (controls, zero-width, bidi, tag characters) written as its code
/// point, so evidence can be printed and put on a page as it is.
fn visible(s: &str, n: usize) -> String {
    let mut out = String::new();
    for c in Clip(s, n).to_string().chars() {
        let hidden = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}' | '\u{E0000}'..='\u{E007F}');
        if hidden {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else if c == '\n' || c == '\t' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}
