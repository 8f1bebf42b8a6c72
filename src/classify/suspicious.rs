//! Text aimed at the model rather than the user (`rules/suspicious.toml`):
//! hidden instructions, secret-file paths, invisible characters, long
//! encoded blobs. Looks at the title and description, a name that is not
//! ASCII, every string of the input schema and unusual property names.
//! Raises `suspicious-description` with the place and evidence, and a risk
//! floor; never changes the kind.

use super::config::SuspiciousFile;
use super::effects::Out;
use super::load::{Loader, Reads};
use super::text::{fold_ascii, Clip};
use super::ClassifyError;
use crate::model::{Risk, ToolRecord};
use regex::bytes::{Regex, RegexSet};
use serde_json::Value;

/// One family of patterns: run on folded text, or on the text as sent.
#[derive(Debug)]
struct Family {
    set: RegexSet,
    each: Vec<Regex>,
    /// `suspicious.ID` and the risk floor of each pattern.
    ids: Vec<(String, Risk)>,
}

#[derive(Debug)]
pub(super) struct SuspiciousRules {
    /// Run on text with non-ASCII folded to spaces.
    folded: Family,
    /// Run on the text as sent, when it is not plain ASCII (invisible and
    /// bidirectional characters).
    raw: Family,
}

/// At most this many schema nodes are visited.
const MAX_NODES: usize = 10_000;

impl SuspiciousRules {
    pub fn load(l: &Loader<'_>) -> Result<SuspiciousRules, ClassifyError> {
        let file: SuspiciousFile = l.parse()?;
        // Patterns, compiled rules and ids: folded first, raw second.
        type Parts<'a> = (Vec<&'a str>, Vec<Regex>, Vec<(String, Risk)>);
        let mut families: [Parts<'_>; 2] = Default::default();
        for r in &file.pattern {
            let risk = r.risk.as_deref().map(|x| l.risk(&r.id, x)).transpose()?.unwrap_or(Risk::High);
            let reads = if r.raw { Reads::AsSent } else { Reads::Folded };
            let each = l.regex(&r.id, &r.pattern, reads)?;
            let f = &mut families[usize::from(r.raw)];
            f.0.push(r.pattern.as_str());
            f.1.push(each);
            f.2.push((format!("suspicious.{}", r.id), risk));
        }
        let [folded, raw] = families;
        let family = |(patterns, each, ids): (Vec<&str>, _, _), reads| -> Result<Family, ClassifyError> {
            Ok(Family { set: l.set(patterns, reads)?, each, ids })
        };
        Ok(SuspiciousRules { folded: family(folded, Reads::Folded)?, raw: family(raw, Reads::AsSent)? })
    }

    /// Scan the tool's texts (`text`: title and description, `folded`: the
    /// same folded to ASCII). Returns the risk floor when anything matched.
    pub fn scan(&self, tool: &ToolRecord, text: &str, folded: &str, out: &mut Out) -> Option<Risk> {
        let mut floor: Option<Risk> = None;
        self.check(|| "description".into(), text, folded, out, &mut floor);
        if !tool.name.is_ascii() {
            self.check(|| "name".into(), &tool.name, &fold_ascii(&tool.name), out, &mut floor);
        }
        // Depth-first over the schema; the place is built only for a match.
        let mut crumbs: Vec<&str> = Vec::new();
        let mut stack: Vec<(usize, &str, &Value)> = vec![(0, "inputSchema", &tool.input_schema)];
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
                    self.check(|| crumbs.join("."), s, &fold_ascii(s), out, &mut floor);
                }
                Value::Object(m) => {
                    for (k, v) in m {
                        if !k.is_ascii() || k.len() >= 100 {
                            let place = || format!("{} (property name)", crumbs.join("."));
                            self.check(place, k, &fold_ascii(k), out, &mut floor);
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
        floor
    }

    /// Every pattern matching one text, with its place (built only when
    /// something matches: most texts match nothing).
    fn check(&self, place: impl FnOnce() -> String, raw: &str, folded: &str, out: &mut Out, floor: &mut Option<Risk>) {
        let raw_matters = !raw.is_ascii();
        let (raw, folded) = (raw.as_bytes(), folded.as_bytes());
        if !(self.folded.set.is_match(folded) || raw_matters && self.raw.set.is_match(raw)) {
            return;
        }
        let place = place();
        let mut found = |id: &str, risk: Risk, evidence: String, out: &mut Out| {
            out.signal("suspicious-description", evidence.clone());
            out.reason(id, evidence);
            *floor = Some(floor.map_or(risk, |f| f.max(risk)));
        };
        for i in self.folded.set.matches(folded).iter() {
            let (id, risk) = &self.folded.ids[i];
            let m = self.folded.each[i].find(folded).map_or(&b""[..], |m| m.as_bytes());
            found(id, *risk, format!("{place}: \"{}\"", Clip(&String::from_utf8_lossy(m), 80)), out);
        }
        if !raw_matters {
            return;
        }
        for i in self.raw.set.matches(raw).iter() {
            let (id, risk) = &self.raw.ids[i];
            let evidence = match self.raw.each[i].find(raw) {
                Some(m) => show_raw(&place, &String::from_utf8_lossy(m.as_bytes()), m.start()),
                None => format!("{place}: match"),
            };
            found(id, *risk, evidence, out);
        }
    }
}

/// A raw match as evidence: its visible text, or the code points of its
/// first characters when it is mostly invisible.
fn show_raw(place: &str, m: &str, start: usize) -> String {
    let shown: String = m.chars().filter(|c| !c.is_control() && (*c as u32) < 0x2000).take(60).collect();
    if shown.trim().is_empty() || shown.len() < m.len() / 2 {
        let cps: Vec<String> = m.chars().take(4).map(|c| format!("U+{:04X}", c as u32)).collect();
        format!("{place}: {} at byte {start}", cps.join(" "))
    } else {
        format!("{place}: \"{}\"", Clip(&shown, 80))
    }
}
