//! Recommended gateway policies: verdict → rule (a profile users edit,
//! `rules/policy.toml`), one policy file per server or per set of servers,
//! user overrides, definition pins, a gateway-style `check` of one call, and
//! a Cedar export with the same decisions.
//!
//! This stage only reads verdicts and tool records and writes policy text; it
//! never talks to a server and never reclassifies a tool. The file format is
//! documented in `docs/policy.md` and described by `schema/policy.schema.json`.

mod cedar;
mod check;
mod format;
mod generate;
mod profile;

pub use cedar::{cedar_entities, to_cedar};
pub use check::{check, Decision};
pub use format::{
    action_key, load_policy, parse_policy, split_action_key, valid_pin, Action, MatchKeys,
    PolicyError, PolicyFile, RateLimit, Rule, Source, Version, FORMAT_VERSION,
};
pub use generate::{
    action_label, choose_match_keys, discovery_label, discovery_rule, generate, reason, rule_for, Entry, Generated,
};
pub use profile::{Adjust, BaseRule, Profile, RiskRules, BUILTIN_PROFILE};

/// The JSON Schema of the policy format (`schema/policy.schema.json`).
pub const POLICY_SCHEMA: &str = include_str!("../../schema/policy.schema.json");

#[cfg(test)]
mod tests;
