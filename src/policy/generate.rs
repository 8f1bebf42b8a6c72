//! Verdicts → rules → one policy file, with umbrella tools, name
//! qualification across servers, overrides and pins.

use super::format::{action_key, Action, MatchKeys, PolicyFile, Rule, Source};
use super::profile::Profile;
use crate::model::Verdict;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One catalogued tool with its verdict and definition hash.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub tool: &'a crate::model::ToolRecord,
    pub verdict: &'a Verdict,
    pub hash: &'a str,
}

/// A generated policy and the names of the rules that came from overrides:
/// tool keys (`disk_wipe`), umbrella actions (`truenas[disk_wipe]`),
/// umbrella discovery (`truenas(discovery)`) and `(default)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub policy: PolicyFile,
    pub overridden: Vec<String>,
}

/// The human reason for a verdict, e.g.
/// `critical write (destructive): signals destructive, irreversible — permanently wipes disk data`.
pub fn reason(v: &Verdict) -> String {
    let mut s = format!("{} {}", v.risk.as_str(), v.kind.as_str());
    if v.category.as_str() != v.kind.as_str() {
        s.push_str(&format!(" ({})", v.category.as_str()));
    }
    let mut names: Vec<&str> = Vec::new();
    for sig in &v.signals {
        if !sig.name.is_empty() && !names.contains(&sig.name.as_ref()) {
            names.push(&sig.name);
        }
    }
    if !names.is_empty() {
        let word = if names.len() == 1 {
            "signal"
        } else {
            "signals"
        };
        s.push_str(&format!(": {word} {}", names.join(", ")));
    }
    if let Some(ev) = v
        .signals
        .iter()
        .map(|s| squash(&s.evidence))
        .find(|e| !e.is_empty())
    {
        s.push_str(" — ");
        s.push_str(&ev);
    }
    s
}

/// Collapse whitespace and cut to a readable length.
fn squash(text: &str) -> String {
    const MAX: usize = 120;
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= MAX {
        one
    } else {
        let cut: String = one.chars().take(MAX - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The rule the profile gives a verdict: the risk's base rule, then every
/// matching adjustment in order. Allowed rules carry no reason (`{}` or a
/// rate limit); denied and approval rules carry [`reason`].
pub fn rule_for(verdict: &Verdict, profile: &Profile) -> Rule {
    let base = profile.risk.get(verdict.risk);
    let mut action = base.action;
    let mut rate_limit = base.rate_limit;
    let mut notes: Vec<String> = Vec::new();
    for adj in profile.adjust.iter().filter(|a| a.matches(verdict)) {
        let before = action;
        if let Some(a) = adj.action {
            action = a;
            rate_limit = None;
        }
        if let Some(a) = adj.at_least {
            if a.strictness() > action.strictness() {
                action = a;
            }
        }
        if let Some(rl) = adj.rate_limit {
            rate_limit = Some(rl);
        }
        if let Some(n) = adj.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            notes.push(n.to_string());
        } else if action != before {
            notes.push(format!(
                "{} by profile ({})",
                action.as_str().replace('_', " "),
                adj.describe()
            ));
        }
    }
    if action != Action::Allow {
        rate_limit = None;
    }
    let mut rule = Rule {
        action: (action != Action::Allow).then_some(action),
        rate_limit,
        ..Rule::default()
    };
    if action != Action::Allow {
        let mut r = reason(verdict);
        for n in notes {
            r.push_str("; ");
            r.push_str(&n);
        }
        rule.reason = Some(r);
    }
    rule
}

/// The rule for an umbrella tool's discovery calls (they select no action).
pub fn discovery_rule(profile: &Profile) -> Rule {
    let d = profile.discovery;
    Rule {
        action: (d.action != Action::Allow).then_some(d.action),
        rate_limit: if d.action == Action::Allow {
            d.rate_limit
        } else {
            None
        },
        reason: (d.action != Action::Allow)
            .then(|| "discovery call (selects no action)".to_string()),
        ..Rule::default()
    }
}

/// `sha256:<hex>` from a hash given with or without the prefix.
fn pin_of(hash: &str) -> String {
    let h = hash.trim();
    let h = h.strip_prefix("sha256:").unwrap_or(h);
    format!("sha256:{}", h.to_ascii_lowercase())
}

/// The string values of `keys` in a selector, or `None` if one is missing
/// or not a string.
fn selector_values<'v>(sel: &'v Value, keys: &[String]) -> Option<Vec<&'v str>> {
    keys.iter()
        .map(|k| sel.get(k).and_then(Value::as_str))
        .collect()
}

/// (holds the action's name, key positions from the finest).
type Score = (bool, Vec<usize>);

/// (server, tool name).
type ServerTool = (String, String);

/// Choose the argument keys that tell an umbrella's actions apart: the
/// fewest string-valued selector keys whose values are unique per action,
/// preferring the key whose value is the action's own name, then finer
/// (later) keys; in selector order. If nothing is unique, all keys.
pub fn choose_match_keys(children: &[(&str, &Value)]) -> Vec<String> {
    let Some((_, first)) = children.first() else {
        return Vec::new();
    };
    let Some(obj) = first.as_object() else {
        return Vec::new();
    };
    let candidates: Vec<String> = obj
        .keys()
        .filter(|k| {
            children
                .iter()
                .all(|(_, s)| s.get(k.as_str()).is_some_and(Value::is_string))
        })
        .cloned()
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let names_key = |k: &str| {
        children
            .iter()
            .all(|(n, s)| s.get(k).and_then(Value::as_str) == Some(*n))
    };
    let unique = |keys: &[String]| {
        let mut seen = BTreeSet::new();
        children
            .iter()
            .all(|(_, s)| selector_values(s, keys).is_some_and(|v| seen.insert(action_key(&v))))
    };
    let n = candidates.len();
    for size in 1..=n.min(4) {
        let mut best: Option<(Vec<String>, Score)> = None;
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != size {
                continue;
            }
            let idx: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let keys: Vec<String> = idx.iter().map(|&i| candidates[i].clone()).collect();
            if !unique(&keys) {
                continue;
            }
            let score = (
                keys.iter().any(|k| names_key(k)),
                idx.iter().rev().cloned().collect::<Vec<_>>(),
            );
            if best.as_ref().is_none_or(|(_, b)| score > *b) {
                best = Some((keys, score));
            }
        }
        if let Some((keys, _)) = best {
            return keys;
        }
    }
    candidates
}

/// Keep the stricter of two leaf rules (the first on a tie).
fn stricter(a: Rule, b: Rule) -> Rule {
    if b.stricter_than(&a) {
        b
    } else {
        a
    }
}

struct Umbrella {
    server: String,
    name: String,
    pin: Option<String>,
    /// The umbrella's own rule, used only when no action can be placed.
    own: Option<Rule>,
    children: Vec<Child>,
}

struct Child {
    name: String,
    selector: Value,
    rule: Rule,
}

/// Build the policy: one rule per tool; an umbrella rule per tool whose
/// actions were expanded, plus a flat rule per action name; names qualified
/// `server/tool` only where two servers share one; then overrides.
pub fn generate(
    entries: &[Entry],
    profile: &Profile,
    overrides: Option<&PolicyFile>,
    pin: bool,
) -> Generated {
    // (server, umbrella name) of every expanded action.
    let mut umbrellas: BTreeMap<(String, String), Umbrella> = BTreeMap::new();
    for e in entries {
        if let Some(parent) = &e.tool.parent {
            let key = (e.tool.server.clone(), parent.clone());
            umbrellas.entry(key).or_insert_with(|| Umbrella {
                server: e.tool.server.clone(),
                name: parent.clone(),
                pin: None,
                own: None,
                children: Vec::new(),
            });
        }
    }

    let umbrella_set: BTreeSet<(String, String)> = umbrellas.keys().cloned().collect();

    // Candidate flat entries per (server, name): real tools first-class,
    // flat twins of actions second. Each value: (is_real, rule).
    let mut flat: BTreeMap<(String, String), (bool, Rule)> = BTreeMap::new();
    // flat twin (server, name) → (server, umbrella, child index)
    let mut twin_of: BTreeMap<ServerTool, Vec<(String, String, usize)>> = BTreeMap::new();

    for e in entries {
        let mut rule = rule_for(e.verdict, profile);
        if pin {
            rule.pin = Some(pin_of(e.hash));
        }
        let server = e.tool.server.clone();
        match &e.tool.parent {
            None => {
                let key = (server.clone(), e.tool.name.clone());
                if let Some(u) = umbrellas.get_mut(&key) {
                    u.pin = pin.then(|| pin_of(e.hash));
                    u.own = Some(rule);
                    continue;
                }
                let slot = flat.entry(key).or_insert((true, rule.clone()));
                if !slot.0 {
                    *slot = (true, rule);
                } else if rule.stricter_than(&slot.1) {
                    slot.1 = rule;
                }
            }
            Some(parent) => {
                let u = umbrellas
                    .get_mut(&(server.clone(), parent.clone()))
                    .expect("collected above");
                let idx = u.children.len();
                u.children.push(Child {
                    name: e.tool.name.clone(),
                    selector: e.tool.selector.clone().unwrap_or(Value::Null),
                    rule: rule.clone(),
                });
                let key = (server.clone(), e.tool.name.clone());
                if umbrella_set.contains(&key) {
                    continue; // an action never shadows a real umbrella tool
                }
                twin_of
                    .entry(key.clone())
                    .or_default()
                    .push((server, parent.clone(), idx));
                match flat.get_mut(&key) {
                    Some(slot) if slot.0 => {} // a real tool keeps its name
                    Some(slot) => slot.1 = stricter(slot.1.clone(), rule),
                    None => {
                        flat.insert(key, (false, rule));
                    }
                }
            }
        }
    }
    // Twins shadowed by a real tool of the same name are not twins.
    twin_of.retain(|k, _| flat.get(k).is_some_and(|(real, _)| !real));

    // Name qualification: which servers use each name.
    let mut servers_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (s, n) in flat.keys().chain(umbrellas.keys()) {
        servers_of.entry(n.as_str()).or_default().insert(s.as_str());
    }
    let qualify = |server: &str, name: &str| -> String {
        if servers_of.get(name).is_some_and(|s| s.len() > 1) {
            format!("{server}/{name}")
        } else {
            name.to_string()
        }
    };

    let mut policy = PolicyFile::new(profile.default);
    // umbrella key → action key of each child (by index), if placed
    let mut umbrella_keys: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for u in umbrellas.values() {
        let key = qualify(&u.server, &u.name);
        let sels: Vec<(&str, &Value)> = u
            .children
            .iter()
            .map(|c| (c.name.as_str(), &c.selector))
            .collect();
        let keys = choose_match_keys(&sels);
        if keys.is_empty() {
            // Nothing to dispatch on: one rule for the whole tool.
            let mut r = u.own.clone().unwrap_or_else(|| {
                u.children
                    .iter()
                    .map(|c| c.rule.clone())
                    .reduce(stricter)
                    .unwrap_or_else(Rule::allow)
            });
            r.pin = u.pin.clone();
            policy.tools.insert(key.clone(), r);
            umbrella_keys.insert(key, vec![None; u.children.len()]);
            continue;
        }
        let mut actions: BTreeMap<String, Rule> = BTreeMap::new();
        let mut idx_keys = Vec::new();
        for c in &u.children {
            let Some(vals) = selector_values(&c.selector, &keys) else {
                idx_keys.push(None);
                continue;
            };
            let ak = action_key(&vals);
            let r = match actions.remove(&ak) {
                Some(prev) => stricter(prev, c.rule.clone()),
                None => c.rule.clone(),
            };
            actions.insert(ak.clone(), r);
            idx_keys.push(Some(ak));
        }
        policy.tools.insert(
            key.clone(),
            Rule {
                match_keys: Some(MatchKeys::from_keys(keys)),
                actions: Some(actions),
                discovery: Some(Box::new(discovery_rule(profile))),
                pin: u.pin.clone(),
                ..Rule::default()
            },
        );
        umbrella_keys.insert(key, idx_keys);
    }
    for ((server, name), (_, rule)) in &flat {
        policy.tools.insert(qualify(server, name), rule.clone());
    }

    // Links between flat twins and umbrella actions, by policy key.
    let mut links: Vec<(String, String, String)> = Vec::new(); // (flat key, umbrella key, action key)
    for ((server, name), list) in &twin_of {
        for (s, parent, idx) in list {
            let ukey = qualify(s, parent);
            if let Some(Some(ak)) = umbrella_keys.get(&ukey).and_then(|v| v.get(*idx)) {
                links.push((qualify(server, name), ukey, ak.clone()));
            }
        }
    }

    let overridden = match overrides {
        Some(o) => {
            // Where each (server, tool) ended up, to place `server/tool` overrides.
            let mut placed: BTreeMap<String, String> = BTreeMap::new();
            let mut by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (s, n) in flat.keys().chain(umbrellas.keys()) {
                let key = qualify(s, n);
                placed.insert(format!("{s}/{n}"), key.clone());
                by_name.entry(n.as_str()).or_default().push(key);
            }
            let servers: BTreeSet<&str> = entries.iter().map(|e| e.tool.server.as_str()).collect();
            let tools = resolve_overrides(o, &servers, &placed, &by_name);
            apply_overrides(&mut policy, o.default, &tools, &links, pin)
        }
        None => Vec::new(),
    };
    Generated { policy, overridden }
}

/// Name of an umbrella action in reports: `truenas[disk_wipe]`.
pub fn action_label(umbrella: &str, action: &str) -> String {
    format!("{umbrella}[{action}]")
}

/// Name of an umbrella's discovery rule in reports: `truenas(discovery)`.
pub fn discovery_label(umbrella: &str) -> String {
    format!("{umbrella}(discovery)")
}

fn mark(mut r: Rule, generated: Option<&Rule>, pin: bool) -> Rule {
    r.source = Some(Source::Override);
    if pin && r.pin.is_none() {
        r.pin = generated.and_then(|g| g.pin.clone());
    }
    r
}

/// Map the overrides file's keys to keys of the generated policy.
///
/// A plain name applies to that tool on every server (each qualified entry
/// where servers share the name). `server/tool` applies to that server's tool
/// whatever its key here, and is skipped when the server is not among the
/// entries (e.g. another server's per-server file). Names matching nothing are
/// added. A `server/tool` override wins over a plain one for the same tool.
fn resolve_overrides(
    o: &PolicyFile,
    servers: &BTreeSet<&str>,
    placed: &BTreeMap<String, String>,
    by_name: &BTreeMap<&str, Vec<String>>,
) -> BTreeMap<String, Rule> {
    let mut plain: BTreeMap<String, Rule> = BTreeMap::new();
    let mut qualified: BTreeMap<String, Rule> = BTreeMap::new();
    for (key, rule) in &o.tools {
        // The longest server name that `key` starts with, then "/".
        let server = servers
            .iter()
            .filter(|s| {
                key.len() > s.len() + 1 && key.starts_with(*s) && key.as_bytes()[s.len()] == b'/'
            })
            .max_by_key(|s| s.len());
        if let Some(s) = server {
            let tool = &key[s.len() + 1..];
            let target = match placed.get(key) {
                Some(k) => k.clone(),
                None if by_name.contains_key(tool) => key.clone(),
                None => tool.to_string(),
            };
            qualified.insert(target, rule.clone());
        } else if key.contains('/') && !by_name.contains_key(key.as_str()) {
            // Another server's tool (tool names never contain "/").
            continue;
        } else {
            match by_name.get(key.as_str()) {
                Some(keys) => {
                    for k in keys {
                        plain.insert(k.clone(), rule.clone());
                    }
                }
                None => {
                    plain.insert(key.clone(), rule.clone());
                }
            }
        }
    }
    plain.extend(qualified);
    plain
}

/// Merge `o` over `policy`; return the labels of the rules it set.
///
/// A leaf override replaces the generated rule whole. An umbrella override
/// with the same `match` merges per action (and `discovery`); with another
/// `match` it replaces the umbrella whole. An override of an action, by its
/// flat name or inside its umbrella, applies to both forms unless the other
/// form is overridden explicitly too.
fn apply_overrides(
    policy: &mut PolicyFile,
    default: Option<Action>,
    tools: &BTreeMap<String, Rule>,
    links: &[(String, String, String)],
    pin: bool,
) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    if let Some(d) = default {
        policy.default = Some(d);
        out.insert("(default)".to_string());
    }
    // Explicitly overridden forms, to stop propagation onto them.
    let mut explicit_flat: BTreeSet<&str> = BTreeSet::new();
    let mut explicit_action: BTreeSet<(String, String)> = BTreeSet::new();
    for (name, r) in tools {
        match (r.is_umbrella(), policy.tools.get(name)) {
            (true, Some(g))
                if g.match_keys
                    .as_ref()
                    .zip(r.match_keys.as_ref())
                    .is_some_and(|(a, b)| a.same_as(b)) =>
            {
                for ak in r.actions.iter().flat_map(|a| a.keys()) {
                    explicit_action.insert((name.clone(), ak.clone()));
                }
            }
            _ => {
                explicit_flat.insert(name.as_str());
            }
        }
    }

    for (name, r) in tools {
        let generated = policy.tools.get(name).cloned();
        let same_match = generated.as_ref().is_some_and(|g| {
            r.is_umbrella()
                && g.match_keys
                    .as_ref()
                    .zip(r.match_keys.as_ref())
                    .is_some_and(|(a, b)| a.same_as(b))
        });
        if same_match {
            let mut g = generated.expect("checked");
            let actions = g.actions.get_or_insert_with(BTreeMap::new);
            for (ak, ar) in r.actions.iter().flatten() {
                let merged = mark(ar.clone(), actions.get(ak), pin);
                actions.insert(ak.clone(), merged.clone());
                out.insert(action_label(name, ak));
                for (fk, uk, lak) in links {
                    if uk == name && lak == ak && !explicit_flat.contains(fk.as_str()) {
                        let twin = mark(ar.clone(), policy.tools.get(fk), pin);
                        policy.tools.insert(fk.clone(), twin);
                        out.insert(fk.clone());
                    }
                }
            }
            if let Some(d) = &r.discovery {
                g.discovery = Some(Box::new(mark((**d).clone(), None, false)));
                out.insert(discovery_label(name));
            }
            if r.pin.is_some() {
                g.pin = r.pin.clone();
            }
            policy.tools.insert(name.clone(), g);
        } else {
            let mut merged = r.clone();
            merged.source = Some(Source::Override);
            if pin && merged.pin.is_none() {
                merged.pin = generated.as_ref().and_then(|g| g.pin.clone());
            }
            if let Some(acts) = merged.actions.as_mut() {
                for ar in acts.values_mut() {
                    ar.source = Some(Source::Override);
                }
            }
            if let Some(d) = merged.discovery.as_mut() {
                d.source = Some(Source::Override);
            }
            policy.tools.insert(name.clone(), merged);
            out.insert(name.clone());
            if !r.is_umbrella() {
                for (fk, uk, ak) in links {
                    if fk == name && !explicit_action.contains(&(uk.clone(), ak.clone())) {
                        if let Some(acts) =
                            policy.tools.get_mut(uk).and_then(|u| u.actions.as_mut())
                        {
                            let prev = acts.get(ak).cloned();
                            acts.insert(ak.clone(), mark(r.clone(), prev.as_ref(), pin));
                            out.insert(action_label(uk, ak));
                        }
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}
