//! Evaluate one call against a policy, as a gateway would.

use super::format::{action_key, Action, PolicyFile, RateLimit, Rule, Source};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// The gateway's answer for one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The tool name as called.
    pub tool: String,
    pub decision: Action,
    /// Which rule decided, as a path into the policy:
    /// `tools.disk_wipe`, `tools.truenas.actions.disk_wipe`,
    /// `tools.truenas.discovery`, or `default`.
    pub rule: String,
    /// For an umbrella tool, the action key the arguments selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl Decision {
    /// The CLI's exit status: 0 allow (rate-limited or not), 3 deny,
    /// 4 require_approval.
    pub fn exit_code(&self) -> i32 {
        match self.decision {
            Action::Allow => 0,
            Action::Deny => 3,
            Action::RequireApproval => 4,
        }
    }

    /// JSON for `--format json` (one object, no trailing newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn from_rule(tool: &str, rule: &Rule, path: String, selected: Option<String>) -> Decision {
        let decision = rule.effective_action();
        Decision {
            tool: tool.to_string(),
            decision,
            rule: path,
            selected,
            rate_limit: if decision == Action::Allow {
                rule.rate_limit
            } else {
                None
            },
            reason: rule.reason.clone(),
            pin: rule.pin.clone(),
            source: rule.source,
        }
    }

    fn default(policy: &PolicyFile, tool: &str, why: String, selected: Option<String>) -> Decision {
        let d = policy.default_action();
        Decision {
            tool: tool.to_string(),
            decision: d,
            rule: "default".to_string(),
            selected,
            rate_limit: None,
            reason: Some(format!("{why}; the policy default is {d}")),
            pin: None,
            source: None,
        }
    }
}

/// Text for `--format text`: `deny disk_wipe (tools.disk_wipe): critical ...`.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.decision, self.tool)?;
        if let Some(s) = &self.selected {
            write!(f, " [{s}]")?;
        }
        write!(f, " (rule {}", self.rule)?;
        if self.source == Some(Source::Override) {
            f.write_str(", from overrides")?;
        }
        f.write_str(")")?;
        if let Some(rl) = &self.rate_limit {
            write!(f, ", rate limit {rl}")?;
        }
        if let Some(r) = &self.reason {
            write!(f, ": {r}")?;
        }
        Ok(())
    }
}

/// Decide one call of `tool` with `args` (a JSON object; anything else counts
/// as no arguments). An unknown tool or umbrella action gets the default.
pub fn check(policy: &PolicyFile, tool: &str, args: &Value) -> Decision {
    let Some(rule) = policy.tools.get(tool) else {
        return Decision::default(policy, tool, format!("no rule for tool {tool:?}"), None);
    };
    let path = format!("tools.{tool}");
    let Some(m) = &rule.match_keys else {
        return Decision::from_rule(tool, rule, path, None);
    };
    let keys = m.keys();
    let empty = serde_json::Map::new();
    let args = args.as_object().unwrap_or(&empty);
    let present: Vec<bool> = keys.iter().map(|k| args.contains_key(*k)).collect();
    let given = present.iter().take_while(|p| **p).count();
    if present[given..].iter().all(|p| !p) && given < keys.len() {
        // Selects no action: none of the keys, or only a leading part of them.
        return match &rule.discovery {
            Some(d) => Decision::from_rule(tool, d, format!("{path}.discovery"), None),
            None => Decision::default(
                policy,
                tool,
                format!("call to {tool:?} selects no action and the rule has no \"discovery\""),
                None,
            ),
        };
    }
    if given < keys.len() {
        let missing: Vec<&str> = keys
            .iter()
            .zip(&present)
            .filter(|(_, p)| !**p)
            .map(|(k, _)| *k)
            .collect();
        return Decision::default(
            policy,
            tool,
            format!(
                "call to {tool:?} names a finer key without {}",
                missing.join(", ")
            ),
            None,
        );
    }
    let mut vals = Vec::new();
    for k in &keys {
        match args.get(*k) {
            Some(Value::String(s)) => vals.push(s.as_str()),
            Some(v) => {
                return Decision::default(
                    policy,
                    tool,
                    format!("argument {k:?} of {tool:?} is {v}, not a string naming an action"),
                    None,
                )
            }
            None => unreachable!("presence checked"),
        }
    }
    let ak = action_key(&vals);
    match rule.actions.as_ref().and_then(|a| a.get(&ak)) {
        Some(r) => Decision::from_rule(tool, r, format!("{path}.actions.{ak}"), Some(ak)),
        None => Decision::default(
            policy,
            tool,
            format!("no rule for action {ak:?} of {tool:?}"),
            Some(ak),
        ),
    }
}
