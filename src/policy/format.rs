//! The policy file format (`policy.json`, overrides) and its loader.
//!
//! The same types read and write: what `generate` writes, `load_policy`
//! reads back, and `schema/policy.schema.json` describes exactly this shape.
//! Rules the schema cannot say (e.g. a rate limit only on an allow rule) are
//! checked while deserialising, so a bad file is an error at a line and
//! column, never a silently different policy.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The only format version we read and write.
pub const FORMAT_VERSION: &str = "1";

/// Errors from loading a profile or a policy file. Each names the file; parse
/// errors carry the line and column (1-based).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// What a gateway does with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Deny,
    RequireApproval,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
            Action::RequireApproval => "require_approval",
        }
    }

    /// allow < require_approval < deny.
    pub fn strictness(self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::RequireApproval => 2,
            Action::Deny => 3,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most `max` calls in any `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawRateLimit")]
pub struct RateLimit {
    pub max: u32,
    /// Seconds.
    pub window: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    max: u32,
    window: u32,
}

impl TryFrom<RawRateLimit> for RateLimit {
    type Error = String;
    fn try_from(r: RawRateLimit) -> Result<Self, String> {
        if r.max == 0 {
            return Err(
                "rate_limit.max must be at least 1 (use \"action\": \"deny\" to block)".into(),
            );
        }
        if r.window == 0 {
            return Err("rate_limit.window must be at least 1 second".into());
        }
        Ok(RateLimit {
            max: r.max,
            window: r.window,
        })
    }
}

impl RateLimit {
    /// True when `self` lets fewer calls through per second than `other`.
    pub fn stricter_than(&self, other: &RateLimit) -> bool {
        (self.max as u64) * (other.window as u64) < (other.max as u64) * (self.window as u64)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} calls per {} s", self.max, self.window)
    }
}

/// Where a rule came from when it was not generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Taken from the user's overrides file.
    Override,
}

/// The argument keys an umbrella rule reads: one key (`"action"`) or several
/// in coarse-to-fine order (`["category", "action"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MatchKeys {
    One(String),
    Many(Vec<String>),
}

impl MatchKeys {
    pub fn from_keys(mut keys: Vec<String>) -> MatchKeys {
        if keys.len() == 1 {
            MatchKeys::One(keys.pop().unwrap_or_default())
        } else {
            MatchKeys::Many(keys)
        }
    }

    pub fn keys(&self) -> Vec<&str> {
        match self {
            MatchKeys::One(k) => vec![k.as_str()],
            MatchKeys::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }

    /// The same keys in the same order, whichever form was written.
    pub fn same_as(&self, other: &MatchKeys) -> bool {
        self.keys() == other.keys()
    }
}

/// One entry of `tools` (or of an umbrella's `actions`).
///
/// A *leaf* rule uses `action` (absent = allow), `reason`, `rate_limit`.
/// An *umbrella* rule (a tool that dispatches on its arguments) uses `match`,
/// `actions` and optionally `discovery` instead. Either may carry `pin` and
/// `source`. `{}` allows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_keys: Option<MatchKeys>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<BTreeMap<String, Rule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Box<Rule>>,
    /// `sha256:<hex>` of the tool definition the rule was made for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default, deserialize_with = "no_null")]
    action: Option<Action>,
    #[serde(default, deserialize_with = "no_null")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "no_null")]
    rate_limit: Option<RateLimit>,
    #[serde(rename = "match", default, deserialize_with = "no_null")]
    match_keys: Option<MatchKeys>,
    #[serde(default, deserialize_with = "no_null")]
    actions: Option<BTreeMap<String, Rule>>,
    #[serde(default, deserialize_with = "no_null")]
    discovery: Option<Box<Rule>>,
    #[serde(default, deserialize_with = "no_null")]
    pin: Option<String>,
    #[serde(default, deserialize_with = "no_null")]
    source: Option<Source>,
}

/// An optional key that, when present, must not be `null` (as in the schema).
fn no_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl TryFrom<RawRule> for Rule {
    type Error = String;
    fn try_from(r: RawRule) -> Result<Self, String> {
        let rule = Rule {
            action: r.action,
            reason: r.reason,
            rate_limit: r.rate_limit,
            match_keys: r.match_keys,
            actions: r.actions,
            discovery: r.discovery,
            pin: r.pin,
            source: r.source,
        };
        rule.validate()?;
        Ok(rule)
    }
}

/// The key of an action inside an umbrella rule: the value itself for one
/// match key; for several, the values joined by `/`, each with `%` written
/// `%25` and `/` written `%2F`.
pub fn action_key(values: &[&str]) -> String {
    if values.len() == 1 {
        return values[0].to_string();
    }
    values
        .iter()
        .map(|v| v.replace('%', "%25").replace('/', "%2F"))
        .collect::<Vec<_>>()
        .join("/")
}

/// Undo [`action_key`] for `n` match keys.
pub fn split_action_key(key: &str, n: usize) -> Vec<String> {
    if n <= 1 {
        return vec![key.to_string()];
    }
    key.split('/')
        .map(|p| p.replace("%2F", "/").replace("%25", "%"))
        .collect()
}

/// `sha256:` followed by 64 lowercase hex digits.
pub fn valid_pin(p: &str) -> bool {
    p.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl Rule {
    /// `{}`: allow.
    pub fn allow() -> Rule {
        Rule::default()
    }

    pub fn deny(reason: impl Into<String>) -> Rule {
        Rule {
            action: Some(Action::Deny),
            reason: Some(reason.into()),
            ..Rule::default()
        }
    }

    pub fn is_umbrella(&self) -> bool {
        self.match_keys.is_some()
    }

    /// The leaf decision (`allow` when `action` is absent).
    pub fn effective_action(&self) -> Action {
        self.action.unwrap_or(Action::Allow)
    }

    /// 0 allow, 1 allow with a rate limit, 2 require_approval, 3 deny.
    pub fn strictness(&self) -> u8 {
        match self.effective_action() {
            Action::Allow if self.rate_limit.is_some() => 1,
            a => a.strictness(),
        }
    }

    /// True when `self` lets less through than `other` (leaf rules).
    pub fn stricter_than(&self, other: &Rule) -> bool {
        match self.strictness().cmp(&other.strictness()) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => match (&self.rate_limit, &other.rate_limit) {
                (Some(a), Some(b)) => a.stricter_than(b),
                _ => false,
            },
        }
    }

    /// The checks the JSON Schema cannot express, plus the ones it does, so
    /// a file that loads is a file that validates.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(p) = &self.pin {
            if !valid_pin(p) {
                return Err(format!(
                    "pin {p:?} is not \"sha256:\" followed by 64 lowercase hex digits"
                ));
            }
        }
        match &self.match_keys {
            None => {
                if self.actions.is_some() || self.discovery.is_some() {
                    return Err("\"actions\" and \"discovery\" need \"match\" (the argument keys that select an action)".into());
                }
                if self.rate_limit.is_some() && self.effective_action() != Action::Allow {
                    return Err(format!(
                        "\"rate_limit\" applies only to allowed calls, not with \"action\": \"{}\"",
                        self.effective_action()
                    ));
                }
            }
            Some(m) => {
                if self.action.is_some() || self.reason.is_some() || self.rate_limit.is_some() {
                    return Err("a rule with \"match\" decides per action: put \"action\", \"reason\" and \"rate_limit\" in its \"actions\" (or \"discovery\")".into());
                }
                let keys = m.keys();
                if keys.is_empty() || keys.iter().any(|k| k.is_empty()) {
                    return Err("\"match\" needs one or more non-empty argument names".into());
                }
                for (i, k) in keys.iter().enumerate() {
                    if keys[..i].contains(k) {
                        return Err(format!("\"match\" names {k:?} twice"));
                    }
                }
                let Some(actions) = &self.actions else {
                    return Err(
                        "a rule with \"match\" needs \"actions\" (argument value -> rule)".into(),
                    );
                };
                for (name, r) in actions
                    .iter()
                    .map(|(k, r)| (k.as_str(), r))
                    .chain(self.discovery.as_deref().map(|d| ("discovery", d)))
                {
                    if r.is_umbrella() || r.actions.is_some() || r.discovery.is_some() {
                        return Err(format!("rule {name:?} inside an umbrella rule cannot itself have \"match\", \"actions\" or \"discovery\""));
                    }
                }
                if keys.len() > 1 {
                    for name in actions.keys() {
                        let parts = split_action_key(name, keys.len());
                        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                        if parts.len() != keys.len() || action_key(&refs) != *name {
                            return Err(format!(
                                "action key {name:?} must have {} values separated by \"/\" (one per \"match\" key; inside a value write \"/\" as %2F and \"%\" as %25)",
                                keys.len()
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The policy file: `{"version": "1", "default": "deny", "tools": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Lets editors find the schema; ignored otherwise.
    #[serde(
        rename = "$schema",
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub schema: Option<String>,
    pub version: Version,
    /// What happens to a call no rule covers. Absent means deny (and, in an
    /// overrides file, "keep the generated default").
    #[serde(
        default,
        deserialize_with = "no_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub default: Option<Action>,
    #[serde(default)]
    pub tools: BTreeMap<String, Rule>,
}

impl PolicyFile {
    pub fn new(default: Action) -> PolicyFile {
        PolicyFile {
            schema: None,
            version: Version,
            default: Some(default),
            tools: BTreeMap::new(),
        }
    }

    pub fn default_action(&self) -> Action {
        self.default.unwrap_or(Action::Deny)
    }

    /// Pretty JSON with a trailing newline, as written to disk.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The format version, always `"1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version;

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(FORMAT_VERSION)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        if v.as_str() == Some(FORMAT_VERSION) {
            Ok(Version)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported policy version {v}: this mcp-catalogue reads version \"{FORMAT_VERSION}\""
            )))
        }
    }
}

/// Read a policy (or overrides) file. Errors name the file, line and column.
pub fn load_policy(path: &Path) -> Result<PolicyFile, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_policy(&text, path)
}

/// Parse policy JSON; `path` is only used in error messages.
pub fn parse_policy(text: &str, path: &Path) -> Result<PolicyFile, PolicyError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
        PolicyError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    })
}
