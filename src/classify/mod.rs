//! classify: judge what each tool can do — kind, category, risk, named
//! signals with their evidence — from its name, title, description, input
//! schema and annotations, using the data rules in `rules/*.toml`
//! (formats in `rules/README.md`).
//!
//! The Rust side holds only the mechanism; every word, phrase and pattern is
//! data, compiled once at load. Classification is pure: it never reads
//! files, touches the network or the store, and it never names a particular
//! server's tool. One file per part of the verdict:
//!
//! | file | decides |
//! |---|---|
//! | `verbs.rs` | the tool's verb (name tokens, the description's lead word, the title) |
//! | `patterns.rs` | phrase rules (description) and object rules (name) |
//! | `params.rs` | parameter and combo rules (input-schema property names) |
//! | `suspicious.rs` | text aimed at the model |
//! | `hints.rs` | the kind, weighing the author's annotations |
//! | `infer.rs` | MCP's four hints, inferred with the annotations hidden |
//! | `risk.rs` | category, risk and confidence from everything that fired |
//! | `overrides.rs` | fixed verdicts for named servers' tools |
//! | `load.rs`, `config.rs` | reading the rule files, with errors naming file and line |

mod config;
mod effects;
mod hints;
mod infer;
mod load;
mod overrides;
mod params;
mod patterns;
mod risk;
mod suspicious;
mod text;
mod tokenize;
mod verbs;

pub use tokenize::tokenize;

use crate::model::{Kind, ToolRecord, Verdict};
use effects::Out;
use load::Loader;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The rule files this module owns, read from the rules directory. Anything
/// else there (`policy.toml`, `policy-overrides.json`, `expanders/`) belongs
/// to other stages and is never read here.
pub const RULE_FILES: &[&str] = &[
    "objects.toml",
    "overrides.toml",
    "params.toml",
    "phrases.toml",
    "suspicious.toml",
    "verbs.toml",
];

/// The documented signal vocabulary (see `rules/README.md`). A rule naming
/// any other signal is a load error, so a typo cannot invent a signal.
pub const SIGNALS: &[&str] = &[
    "destructive",
    "irreversible",
    "code-execution",
    "credential-access",
    "sensitive-data",
    "privilege-change",
    "service-disruption",
    "network-change",
    "network-egress",
    "filesystem-access",
    "bulk-operation",
    "money-movement",
    "requires-confirmation",
    "annotation-conflict",
    "suspicious-description",
    "unsafe-name",
];

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to parse {path} at line {line}, column {column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path} at line {line}, column {column}: rule \"{rule}\": {message}")]
    Rule {
        path: PathBuf,
        line: usize,
        column: usize,
        rule: String,
        message: String,
    },
}

/// Compiled classification rules. Build once with [`Rules::load`], then call
/// [`Rules::classify`] for each tool.
#[derive(Debug)]
pub struct Rules {
    hash: String,
    verbs: verbs::Lexicon,
    phrases: patterns::PatternRules,
    objects: patterns::PatternRules,
    params: params::ParamRules,
    suspicious: suspicious::SuspiciousRules,
    overrides: overrides::Overrides,
}

impl Rules {
    /// Load and compile the classification rule files ([`RULE_FILES`]) from
    /// `dir`. Every other file in `dir` is ignored.
    pub fn load(dir: &Path) -> Result<Rules, ClassifyError> {
        let mut texts = Vec::new();
        for name in RULE_FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|source| ClassifyError::Read {
                path: path.clone(),
                source,
            })?;
            texts.push((path, text));
        }
        Rules::from_texts(&texts)
    }

    /// Compile rules from `(path, content)` pairs, one for each name in
    /// [`RULE_FILES`] (matched by file name).
    pub fn from_texts(files: &[(PathBuf, String)]) -> Result<Rules, ClassifyError> {
        let get = |name: &str| -> Result<Loader<'_>, ClassifyError> {
            files
                .iter()
                .find(|(p, _)| p.file_name().and_then(|n| n.to_str()) == Some(name))
                .map(|(p, t)| Loader { path: p, text: t })
                .ok_or_else(|| ClassifyError::Read {
                    path: PathBuf::from(name),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "rule file missing"),
                })
        };
        Ok(Rules {
            hash: hash_files(files),
            verbs: verbs::Lexicon::load(&get("verbs.toml")?)?,
            phrases: patterns::PatternRules::load_phrases(&get("phrases.toml")?)?,
            objects: patterns::PatternRules::load_objects(&get("objects.toml")?)?,
            params: params::ParamRules::load(&get("params.toml")?)?,
            suspicious: suspicious::SuspiciousRules::load(&get("suspicious.toml")?)?,
            overrides: overrides::Overrides::load(&get("overrides.toml")?)?,
        })
    }

    /// sha256 (hex) of the rule files' names and contents, sorted by name.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Judge one tool. Pure: every pattern was compiled at load.
    pub fn classify(&self, tool: &ToolRecord) -> Verdict {
        let mut out = Out::default();
        let description = tool.description.as_deref().unwrap_or("");
        let title = tool.title.as_deref().unwrap_or("");
        let text = if title.is_empty() {
            description.to_string()
        } else {
            format!("{title}\n{description}")
        };
        let folded = text::fold_ascii(&text);

        // Hardening checks run first and survive overrides.
        let suspicious = self.suspicious.scan(tool, &text, &folded, &mut out);
        if tool.flags.iter().any(|f| f == "unsafe-name") {
            out.signal(
                "unsafe-name",
                format!(
                    "name {:?} is not [A-Za-z0-9_.-]{{1,128}}",
                    text::clip(&tool.name, 60)
                ),
            );
        }
        let overridden = self.overrides.find(tool);

        // The verb, from the name minus tokens naming the expansion category
        // or the parent tool (all of it when nothing is left).
        let name = tokenize(&tool.name);
        let category_tokens = tokenize(tool.category.as_deref().unwrap_or(""));
        let parent_tokens = tokenize(tool.parent.as_deref().unwrap_or(""));
        let set_aside = |t: &String| category_tokens.contains(t) || parent_tokens.contains(t);
        let kept: Vec<&str> = if name.iter().all(set_aside) {
            name.iter().map(String::as_str).collect()
        } else {
            name.iter().filter(|t| !set_aside(t)).map(String::as_str).collect()
        };
        let pick = self.verbs.pick(&kept, description, title);
        let actions = action_values(tool, &self.verbs.action_keys);
        let pick = if actions.is_empty() { pick } else { self.verbs.pick_actions(&actions, pick) };

        // Every other rule that matched. Object rules read the name's
        // tokens, then " / " and the expansion category's when there is one.
        let mut fired = Vec::new();
        self.phrases.fire(&folded, &mut fired, |m| {
            format!("description: \"{}\"", text::Clip(m, 80))
        });
        let mut object_text = name.join(" ");
        if !category_tokens.is_empty() {
            object_text.push_str(" / ");
            object_text.push_str(&category_tokens.join(" "));
        }
        self.objects.fire(&object_text, &mut fired, |m| {
            format!("name: \"{}\"", m.trim())
        });
        self.params.fire(tool, &folded, &mut fired);

        // The kind, then category, risk and confidence.
        let hints = |ro, de| hints::judge(ro, de, pick.as_ref(), &self.verbs, &fired);
        let hidden = hints(None, None).kind == Kind::Read;
        let judged = hints(tool.hint("readOnlyHint"), tool.hint("destructiveHint"));
        let inferred = infer::infer(hidden, pick.as_ref(), &self.verbs, &fired);
        if let Some(o) = overridden {
            return o.verdict(tool, suspicious, out, &self.hash, inferred);
        }
        // What the evidence says of a write, for a tool its author calls one.
        let as_write = if hidden && judged.kind == Kind::Write {
            infer::infer(false, pick.as_ref(), &self.verbs, &fired)
        } else {
            inferred.clone()
        };
        risk::verdict(risk::Inputs {
            inferred,
            as_write,
            tool,
            pick: pick.as_ref(),
            verbs: &self.verbs,
            fired,
            judged,
            suspicious,
            out,
            rules_hash: &self.hash,
        })
    }
}

/// The enum values (strings) of the top-level properties named like an
/// action (`action`, `operation`; see `action_keys` in `rules/verbs.toml`),
/// also when the enum sits under `items` or one `anyOf`/`oneOf` branch.
fn action_values(tool: &ToolRecord, keys: &rustc_hash::FxHashSet<String>) -> Vec<String> {
    use serde_json::Value;
    let Some(props) = tool.input_schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, schema) in props {
        if !keys.contains(&tokenize(name).join("_")) {
            continue;
        }
        let mut push = |s: &Value| {
            for v in s.get("enum").and_then(Value::as_array).into_iter().flatten().take(64) {
                if let Some(v) = v.as_str() {
                    out.push(v.to_string());
                }
            }
            if let Some(c) = s.get("const").and_then(Value::as_str) {
                out.push(c.to_string());
            }
        };
        push(schema);
        if let Some(items) = schema.get("items") {
            push(items);
        }
        for k in ["anyOf", "oneOf"] {
            for branch in schema.get(k).and_then(Value::as_array).into_iter().flatten().take(64) {
                push(branch);
            }
        }
    }
    out
}

/// sha256 over each file's name, a NUL, its content and a NUL, in name order.
fn hash_files(files: &[(PathBuf, String)]) -> String {
    let mut sorted: Vec<&(PathBuf, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    let mut h = Sha256::new();
    for (p, t) in sorted {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update(t.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests;
