//! Parameter rules (`[[param]]` in `rules/params.toml`): signals from an
//! input schema's top-level property names (compared as tokens, so `apiKey`,
//! `api-key` and `api_key` are one name), optionally their descriptions and
//! types; and combo rules (`[[combo]]`): several properties together
//! (`method` + `path` + `body`). Never reads nested properties.

use super::config::{ComboRule, ParamRule, ParamsFile};
use super::effects::{Effects, Fired};
use super::load::{Loader, Reads};
use super::text::{fold_ascii, Clip};
use super::tokenize::tokenize;
use super::ClassifyError;
use crate::model::ToolRecord;
use regex::bytes::Regex;
use serde_json::Value;
use rustc_hash::FxHashMap as HashMap;

#[derive(Debug)]
struct Param {
    description: Option<Regex>,
    tool_unless: Option<Regex>,
    skip_types: Vec<String>,
    effects: Effects,
}

#[derive(Debug)]
struct Combo {
    /// Each group: property names (tokens joined by `_`); some property
    /// must match each group.
    all_of: Vec<Vec<String>>,
    description: Option<Regex>,
    effects: Effects,
}

#[derive(Debug)]
pub(super) struct ParamRules {
    params: Vec<Param>,
    /// A whole property name (tokens joined by `_`, or concatenated) → the
    /// rules naming it.
    by_name: HashMap<String, Vec<usize>>,
    /// A property name's last token → the rules naming it in `last`.
    by_last: HashMap<String, Vec<usize>>,
    /// Rules with only a description pattern: checked on every property.
    any: Vec<usize>,
    combos: Vec<Combo>,
}

/// A property's name as the rules compare it.
struct Keys {
    joined: String,
    compact: String,
    last: String,
}

impl Keys {
    fn of(name: &str) -> Option<Keys> {
        let tokens = tokenize(name);
        Some(Keys { last: tokens.last()?.clone(), joined: tokens.join("_"), compact: tokens.concat() })
    }

    fn any_is(&self, name: &str) -> bool {
        self.joined == name || self.compact == name || self.last == name
    }
}

impl ParamRules {
    pub fn load(l: &Loader<'_>) -> Result<ParamRules, ClassifyError> {
        let file: ParamsFile = l.parse()?;
        let mut rules = ParamRules {
            params: Vec::new(),
            by_name: HashMap::default(),
            by_last: HashMap::default(),
            any: Vec::new(),
            combos: Vec::new(),
        };
        for (i, r) in file.param.iter().enumerate() {
            let ParamRule { id, names, last, description, skip_types, tool_unless, .. } = r;
            if names.is_empty() && last.is_empty() {
                if description.is_none() {
                    return Err(l.err(id, "needs names, last or description"));
                }
                rules.any.push(i);
            }
            for n in names {
                rules.by_name.entry(tokenize(n).join("_")).or_default().push(i);
            }
            for n in last {
                rules.by_last.entry(n.to_lowercase()).or_default().push(i);
            }
            rules.params.push(Param {
                description: description.as_deref().map(|d| l.regex(id, d, Reads::Folded)).transpose()?,
                tool_unless: tool_unless.as_deref().map(|d| l.regex(id, d, Reads::Folded)).transpose()?,
                skip_types: skip_types.clone(),
                effects: l.effects("param", id, r.effects())?,
            });
        }
        for r in &file.combo {
            let ComboRule { id, all_of, description, .. } = r;
            if all_of.len() < 2 || all_of.iter().any(|g| g.is_empty()) {
                return Err(l.err(id, "all_of needs at least two non-empty groups"));
            }
            rules.combos.push(Combo {
                all_of: all_of.iter().map(|g| g.iter().map(|n| tokenize(n).join("_")).collect()).collect(),
                description: description.as_deref().map(|d| l.regex(id, d, Reads::Folded)).transpose()?,
                effects: l.effects("param", id, r.effects())?,
            });
        }
        Ok(rules)
    }

    /// Every parameter rule matching a property (properties in schema
    /// order), then every combo rule whose groups are all matched. `text`
    /// is the tool's folded title and description.
    pub fn fire<'r>(&'r self, tool: &ToolRecord, text: &str, fired: &mut Vec<Fired<'r>>) {
        let Some(props) = tool.input_schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        // For each combo group, the first property matching it.
        let mut first: Vec<Vec<Option<usize>>> = self.combos.iter().map(|c| vec![None; c.all_of.len()]).collect();
        let mut names: Vec<String> = Vec::new();
        for (pname, schema) in props {
            let Some(keys) = Keys::of(pname) else { continue };
            for (c, combo) in self.combos.iter().enumerate() {
                for (g, group) in combo.all_of.iter().enumerate() {
                    if first[c][g].is_none() && group.iter().any(|n| keys.any_is(n)) {
                        first[c][g] = Some(names.len());
                    }
                }
            }
            let description = schema.get("description").and_then(Value::as_str).unwrap_or("");
            for i in self.candidates(&keys) {
                let r = &self.params[i];
                if r.tool_unless.as_ref().is_some_and(|u| u.is_match(text.as_bytes()))
                    || skipped_type(&r.skip_types, schema.get("type"))
                    || r.description.as_ref().is_some_and(|d| !d.is_match(fold_ascii(description).as_bytes()))
                {
                    continue;
                }
                let evidence = if description.is_empty() {
                    format!("parameter \"{}\"", Clip(pname, 40))
                } else {
                    format!("parameter \"{}\" ({})", Clip(pname, 40), Clip(description, 60))
                };
                fired.push(Fired { effects: &r.effects, evidence });
            }
            names.push(keys.joined);
        }
        for (c, combo) in self.combos.iter().enumerate() {
            let Some(props) = first[c].iter().copied().collect::<Option<Vec<usize>>>() else { continue };
            if combo.description.as_ref().is_none_or(|d| d.is_match(text.as_bytes())) {
                let shown: Vec<&str> = props.iter().map(|&p| names[p].as_str()).collect();
                fired.push(Fired { effects: &combo.effects, evidence: format!("parameters {}", shown.join(" + ")) });
            }
        }
    }

    /// The rules that may apply to a property, each once, in this order:
    /// those naming its whole name, its last token, then the
    /// description-only rules.
    fn candidates(&self, keys: &Keys) -> Vec<usize> {
        let named = [&keys.joined, &keys.compact].into_iter().filter_map(|k| self.by_name.get(k.as_str()));
        let last = self.by_last.get(&keys.last);
        let mut out: Vec<usize> = Vec::new();
        for &i in named.chain(last).flatten().chain(&self.any) {
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

/// Whether the property gives a type and the rule skips every type it gives.
fn skipped_type(skip: &[String], ty: Option<&Value>) -> bool {
    match ty {
        Some(Value::String(t)) => skip.contains(t),
        Some(Value::Array(a)) => {
            let mut types = a.iter().filter_map(Value::as_str).peekable();
            types.peek().is_some() && types.all(|t| skip.iter().any(|s| s == t))
        }
        _ => false,
    }
}
