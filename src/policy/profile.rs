//! The profile: how a verdict becomes a rule (`rules/policy.toml`).
//!
//! A base rule per risk level, then adjustments in file order, each matching
//! on signal / category / kind / risk. The built-in default is the shipped
//! `rules/policy.toml`, compiled in, so a missing file changes nothing.

use super::format::{Action, PolicyError, RateLimit};
use crate::model::{Category, Kind, Risk, Verdict};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The shipped profile, also the built-in default.
pub const BUILTIN_PROFILE: &str = include_str!("../../rules/policy.toml");

/// The profile as users write it. Every table refuses unknown keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Decision for calls no rule covers (the policy's `default`).
    pub default: Action,
    /// Calls to an umbrella tool that select no action (discovery).
    pub discovery: BaseRule,
    pub risk: RiskRules,
    /// Applied in order after the risk rule.
    pub adjust: Vec<Adjust>,
    /// The file it was read from; `None` for the built-in default.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    version: Option<u32>,
    default: Action,
    discovery: BaseRule,
    risk: RiskRules,
    #[serde(default)]
    adjust: Vec<Adjust>,
}

/// One base rule: an action and, for `allow`, an optional rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawBase")]
pub struct BaseRule {
    pub action: Action,
    pub rate_limit: Option<RateLimit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBase {
    action: Action,
    rate_limit: Option<RateLimit>,
}

impl TryFrom<RawBase> for BaseRule {
    type Error = String;
    fn try_from(r: RawBase) -> Result<Self, String> {
        if r.rate_limit.is_some() && r.action != Action::Allow {
            return Err(format!(
                "rate_limit applies only to action = \"allow\", not \"{}\"",
                r.action
            ));
        }
        Ok(BaseRule {
            action: r.action,
            rate_limit: r.rate_limit,
        })
    }
}

/// The base rule for each risk level; all four are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRules {
    pub low: BaseRule,
    pub medium: BaseRule,
    pub high: BaseRule,
    pub critical: BaseRule,
}

impl RiskRules {
    pub fn get(&self, r: Risk) -> BaseRule {
        match r {
            Risk::Low => self.low,
            Risk::Medium => self.medium,
            Risk::High => self.high,
            Risk::Critical => self.critical,
        }
    }
}

/// `[[adjust]]`: when every condition given holds, apply the effects.
///
/// Conditions: `signal`, `category`, `kind`, `risk` (at least one).
/// Effects (at least one): `at_least` raises the action to at least this
/// strictness (allow < require_approval < deny), `action` sets it (may
/// loosen; clears a rate limit), `rate_limit` sets the limit of a rule that
/// still allows. `note` is added to the rule's reason.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawAdjust")]
pub struct Adjust {
    pub signal: Option<String>,
    pub category: Option<Category>,
    pub kind: Option<Kind>,
    pub risk: Option<Risk>,
    /// Conditions on the verdict's effective MCP hints.
    pub hints: HintConditions,
    pub at_least: Option<Action>,
    pub action: Option<Action>,
    pub rate_limit: Option<RateLimit>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdjust {
    signal: Option<String>,
    category: Option<Category>,
    kind: Option<Kind>,
    risk: Option<Risk>,
    read_only: Option<bool>,
    destructive: Option<bool>,
    idempotent: Option<bool>,
    open_world: Option<bool>,
    at_least: Option<Action>,
    action: Option<Action>,
    rate_limit: Option<RateLimit>,
    note: Option<String>,
}

/// `destructive = true` and the like in an `[[adjust]]`: the verdict's
/// effective hint (the author's where given, else the inferred one) must
/// have this value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HintConditions {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

impl HintConditions {
    fn any(&self) -> bool {
        self.read_only.is_some() || self.destructive.is_some() || self.idempotent.is_some() || self.open_world.is_some()
    }

    fn matches(&self, h: &crate::model::Hints) -> bool {
        self.read_only.is_none_or(|x| h.read_only == x)
            && self.destructive.is_none_or(|x| h.destructive == x)
            && self.idempotent.is_none_or(|x| h.idempotent == x)
            && self.open_world.is_none_or(|x| h.open_world == x)
    }
}

impl TryFrom<RawAdjust> for Adjust {
    type Error = String;
    fn try_from(r: RawAdjust) -> Result<Self, String> {
        let hints = HintConditions {
            read_only: r.read_only,
            destructive: r.destructive,
            idempotent: r.idempotent,
            open_world: r.open_world,
        };
        if r.signal.is_none() && r.category.is_none() && r.kind.is_none() && r.risk.is_none() && !hints.any() {
            return Err(
                "[[adjust]] needs at least one condition: signal, category, kind, risk or a hint (read_only, destructive, idempotent, open_world)".into(),
            );
        }
        if r.at_least.is_none() && r.action.is_none() && r.rate_limit.is_none() {
            return Err(
                "[[adjust]] needs at least one effect: at_least, action or rate_limit".into(),
            );
        }
        if r.at_least.is_some() && r.action.is_some() {
            return Err(
                "[[adjust]] takes either at_least (raise only) or action (set), not both".into(),
            );
        }
        if r.signal.as_deref() == Some("") {
            return Err("[[adjust]] signal must not be empty".into());
        }
        Ok(Adjust {
            signal: r.signal,
            category: r.category,
            kind: r.kind,
            risk: r.risk,
            hints,
            at_least: r.at_least,
            action: r.action,
            rate_limit: r.rate_limit,
            note: r.note,
        })
    }
}

impl Adjust {
    pub fn matches(&self, v: &Verdict) -> bool {
        self.signal.as_deref().is_none_or(|s| v.has_signal(s))
            && self.category.is_none_or(|c| v.category == c)
            && self.kind.is_none_or(|k| v.kind == k)
            && self.risk.is_none_or(|r| v.risk == r)
            && self.hints.matches(&v.effective)
    }

    /// `signal suspicious-description`, `category execute, risk high`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.signal {
            parts.push(format!("signal {s}"));
        }
        if let Some(c) = self.category {
            parts.push(format!("category {}", c.as_str()));
        }
        if let Some(k) = self.kind {
            parts.push(format!("kind {}", k.as_str()));
        }
        if let Some(r) = self.risk {
            parts.push(format!("risk {}", r.as_str()));
        }
        let h = &self.hints;
        for (name, v) in [("read_only", h.read_only), ("destructive", h.destructive), ("idempotent", h.idempotent), ("open_world", h.open_world)] {
            if let Some(v) = v {
                parts.push(format!("{name} {v}"));
            }
        }
        parts.join(", ")
    }
}

impl Default for Profile {
    /// The shipped `rules/policy.toml`.
    fn default() -> Profile {
        Profile::parse(BUILTIN_PROFILE, Path::new("<built-in rules/policy.toml>"))
            .map(|mut p| {
                p.path = None;
                p
            })
            .expect("the built-in policy profile parses (tested)")
    }
}

impl Profile {
    /// Read a profile; a missing file means the built-in default.
    pub fn load(path: &Path) -> Result<Profile, PolicyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Profile::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profile::default()),
            Err(source) => Err(PolicyError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parse profile TOML; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Profile, PolicyError> {
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            PolicyError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim_end().to_string(),
            }
        })?;
        if let Some(v) = raw.version {
            if v != 1 {
                let (line, column) = find_key(text, "version");
                return Err(PolicyError::Parse {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: format!(
                        "unsupported profile version {v}: this mcp-catalogue reads version 1"
                    ),
                });
            }
        }
        Ok(Profile {
            default: raw.default,
            discovery: raw.discovery,
            risk: raw.risk,
            adjust: raw.adjust,
            path: Some(path.to_path_buf()),
        })
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn find_key(text: &str, key: &str) -> (usize, usize) {
    let mut off = 0;
    for l in text.split_inclusive('\n') {
        let t = l.trim_start();
        if t.starts_with(key) && t[key.len()..].trim_start().starts_with('=') {
            return line_col(text, off + (l.len() - t.len()));
        }
        off += l.len();
    }
    (1, 1)
}
