//! The same decisions as Cedar policy text (ToolHive, Docker's MCP gateway).
//!
//! Entity model (ToolHive's): `action == Action::"call_tool"`,
//! `resource == Tool::"<name>"`, and tool arguments as `context.arg_<key>`.
//! allow → `permit`; a rate limit → `permit` with `@rate_limit_max` /
//! `@rate_limit_window`; deny → `forbid` with `@reason`; require_approval →
//! `forbid` with `@approval("required")` and `@reason`, so a plain Cedar
//! engine denies and an approval-aware gateway asks a person. Cedar denies
//! whatever no `permit` allows, which is the `deny` default.

use super::format::{split_action_key, Action, PolicyFile, Rule, Source};
use std::fmt::Write;

/// A Cedar string literal.
pub fn cedar_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `(has-test, value)` for argument `key`: `context has arg_action`,
/// `context.arg_action`; string forms for keys that are not identifiers.
fn arg(key: &str) -> (String, String) {
    let attr = format!("arg_{key}");
    if attr.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        (format!("context has {attr}"), format!("context.{attr}"))
    } else {
        let lit = cedar_str(&attr);
        (format!("context has {lit}"), format!("context[{lit}]"))
    }
}

fn action_condition(keys: &[&str], ak: &str) -> String {
    let vals = split_action_key(ak, keys.len());
    keys.iter()
        .zip(vals.iter())
        .map(|(k, v)| {
            let (has, val) = arg(k);
            format!("{has} && {val} == {}", cedar_str(v))
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// True for calls that carry none of the keys, or only a leading part.
fn discovery_condition(keys: &[&str]) -> String {
    let alts: Vec<String> = (0..keys.len())
        .map(|i| {
            keys.iter()
                .enumerate()
                .map(|(j, k)| {
                    let (has, _) = arg(k);
                    if j < i {
                        has
                    } else {
                        format!("!({has})")
                    }
                })
                .collect::<Vec<_>>()
                .join(" && ")
        })
        .collect();
    if alts.len() == 1 {
        alts.into_iter().next().unwrap_or_default()
    } else {
        alts.iter()
            .map(|a| format!("({a})"))
            .collect::<Vec<_>>()
            .join(" || ")
    }
}

fn emit(out: &mut String, id: &str, rule: &Rule, resource: &str, cond: Option<&str>) {
    let action = rule.effective_action();
    let _ = writeln!(out, "@id({})", cedar_str(id));
    if action == Action::Allow {
        if let Some(rl) = &rule.rate_limit {
            let _ = writeln!(out, "@rate_limit_max(\"{}\")", rl.max);
            let _ = writeln!(out, "@rate_limit_window(\"{}\")", rl.window);
        }
    }
    if action == Action::RequireApproval {
        let _ = writeln!(out, "@approval(\"required\")");
    }
    if let Some(r) = &rule.reason {
        let _ = writeln!(out, "@reason({})", cedar_str(r));
    }
    if let Some(p) = &rule.pin {
        let _ = writeln!(out, "@pin({})", cedar_str(p));
    }
    if rule.source == Some(Source::Override) {
        let _ = writeln!(out, "@source(\"override\")");
    }
    let effect = if action == Action::Allow {
        "permit"
    } else {
        "forbid"
    };
    let _ = write!(
        out,
        "{effect} (\n  principal,\n  action == Action::\"call_tool\",\n  resource == Tool::{}\n)",
        cedar_str(resource)
    );
    if let Some(c) = cond {
        let _ = write!(out, "\nwhen {{ {c} }}");
    }
    out.push_str(";\n\n");
}

/// What the policy's rules cover (used for a non-deny default).
fn covered(policy: &PolicyFile) -> String {
    let mut alts = Vec::new();
    let flat: Vec<String> = policy
        .tools
        .iter()
        .filter(|(_, r)| !r.is_umbrella())
        .map(|(k, _)| format!("Tool::{}", cedar_str(k)))
        .collect();
    if !flat.is_empty() {
        alts.push(format!("resource in [{}]", flat.join(", ")));
    }
    for (name, r) in policy.tools.iter().filter(|(_, r)| r.is_umbrella()) {
        let keys = r.match_keys.as_ref().map(|m| m.keys()).unwrap_or_default();
        let mut inner: Vec<String> = Vec::new();
        if r.discovery.is_some() {
            inner.push(format!("({})", discovery_condition(&keys)));
        }
        if keys.len() == 1 {
            // One flat set test: a long `||` chain exceeds Cedar's recursion limit.
            let vals: Vec<String> = r.actions.iter().flat_map(|a| a.keys()).map(|k| cedar_str(k)).collect();
            if !vals.is_empty() {
                let (has, val) = arg(keys[0]);
                inner.push(format!("({has} && [{}].contains({val}))", vals.join(", ")));
            }
        } else {
            for ak in r.actions.iter().flat_map(|a| a.keys()) {
                inner.push(format!("({})", action_condition(&keys, ak)));
            }
        }
        if !inner.is_empty() {
            alts.push(format!(
                "(resource == Tool::{} && ({}))",
                cedar_str(name),
                inner.join(" || ")
            ));
        }
    }
    if alts.is_empty() {
        "false".to_string()
    } else {
        alts.join(" ||\n    ")
    }
}

/// Cedar policy text making the same decisions as `policy`.
pub fn to_cedar(policy: &PolicyFile) -> String {
    let mut out = String::new();
    out.push_str(
        "// Recommended gateway policy in Cedar, generated by mcp-catalogue (docs/policy.md).\n\
         // principal: any; action: Action::\"call_tool\"; resource: Tool::\"<tool name>\".\n\
         // tool arguments: context.arg_<key> (ToolHive's convention).\n\
         // forbid + @approval(\"required\") means: ask a person; a plain Cedar engine denies.\n",
    );
    let default = policy.default_action();
    match default {
        Action::Deny => {
            out.push_str("// default: deny (no permit applies to calls not listed here).\n\n");
        }
        Action::Allow => {
            out.push_str("// default: allow.\n\n");
            out.push_str("@id(\"default\")\npermit (\n  principal,\n  action == Action::\"call_tool\",\n  resource\n);\n\n");
        }
        Action::RequireApproval => {
            out.push_str("// default: require_approval for calls not listed here.\n\n");
            let _ = write!(
                out,
                "@id(\"default\")\n@approval(\"required\")\n@reason(\"not covered by the policy\")\nforbid (\n  principal,\n  action == Action::\"call_tool\",\n  resource\n)\nunless {{\n    {}\n}};\n\n",
                covered(policy)
            );
        }
    }
    for (name, rule) in &policy.tools {
        let path = format!("tools.{name}");
        match &rule.match_keys {
            None => emit(&mut out, &path, rule, name, None),
            Some(m) => {
                let keys = m.keys();
                if let Some(d) = &rule.discovery {
                    let mut d = (**d).clone();
                    if d.pin.is_none() {
                        d.pin = rule.pin.clone();
                    }
                    emit(
                        &mut out,
                        &format!("{path}.discovery"),
                        &d,
                        name,
                        Some(&discovery_condition(&keys)),
                    );
                }
                for (ak, ar) in rule.actions.iter().flatten() {
                    emit(
                        &mut out,
                        &format!("{path}.actions.{ak}"),
                        ar,
                        name,
                        Some(&action_condition(&keys, ak)),
                    );
                }
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Cedar entities (the JSON entity format) giving every tool of the policy
/// its effective MCP hints as boolean attributes on `Tool::"<name>"`:
/// `readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint` (the
/// author's where given, else the inferred ones; see `docs/policy.md`). A
/// policy written against annotations, as ToolHive's and Docker's gateways
/// allow (`resource has readOnlyHint && resource.readOnlyHint`), then works
/// for servers whose authors set none. An expanded action's flat name gets
/// the action's hints; the umbrella tool its own.
pub fn cedar_entities(entries: &[super::Entry]) -> String {
    let mut seen = std::collections::BTreeMap::new();
    for e in entries {
        let h = e.verdict.effective;
        seen.entry(e.tool.name.as_str()).or_insert_with(|| {
            serde_json::json!({
                "uid": {"type": "Tool", "id": e.tool.name},
                "attrs": {
                    "readOnlyHint": h.read_only,
                    "destructiveHint": h.destructive,
                    "idempotentHint": h.idempotent,
                    "openWorldHint": h.open_world,
                },
                "parents": [],
            })
        });
    }
    let list: Vec<&serde_json::Value> = seen.values().collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into()) + "\n"
}
