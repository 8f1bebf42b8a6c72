//! Page data: what each template shows, prepared once from the `SiteInput`.
//!
//! Everything here is plain data (strings, numbers, lists); the templates
//! decide the markup and escape it. Lookups that pages share (URLs, the
//! umbrella of each action, related-tool groups) are built once, so a page
//! costs the same whatever the catalogue's size.

use super::history::{field_diffs, ChangeItem, FieldDiff};
use super::slug::Slugger;
use super::SiteInput;
use crate::model::{Category, Kind, Reason, Risk, Signal, ToolRecord, Verdict};
use crate::policy::{
    action_key, choose_match_keys, rule_for, Action, MatchKeys, PolicyFile, RateLimit, Rule,
};
use crate::store::{ServerRow, StoredTool};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

const RISKS: [Risk; 4] = [Risk::Low, Risk::Medium, Risk::High, Risk::Critical];
const RELATED_MAX: usize = 8;

pub(super) struct ServerInfo<'a> {
    pub name: &'a str,
    pub row: Option<&'a ServerRow>,
    pub slug: String,
    /// `servers/<slug>.html`
    pub url: String,
    /// Its tools: a range of `Model::order` (so sorted by name).
    pub tools: std::ops::Range<usize>,
}

/// A tool whose actions were expanded, with its actions.
struct Umbrella {
    server: usize,
    /// The argument keys its policy rule matches on (may be empty).
    keys: Vec<String>,
    /// Action tool indices, sorted by name.
    children: Vec<u32>,
    /// The umbrella tool itself, if catalogued.
    tool: Option<usize>,
}

/// Per-tool data is kept small (`u32` indices, no per-tool URL strings):
/// the model lives beside a catalogue of 100,000 tools for the whole build.
pub(super) struct Model<'a> {
    input: &'a SiteInput<'a>,
    pub servers: Vec<ServerInfo<'a>>,
    /// Tool indices sorted by (server, name).
    order: Vec<u32>,
    /// Per tool index: its file name's slug when that is not the name itself
    /// (the page is `tools/<server-slug>/<tool-slug>.html`).
    tool_slug: Vec<Option<Box<str>>>,
    tool_server: Vec<u32>,
    umbrellas: Vec<Umbrella>,
    /// (server index, umbrella name) → umbrella index.
    umbrella_of: HashMap<(usize, &'a str), usize>,
    /// Names used by tools of more than one server (policy keys get qualified).
    shared_names: HashSet<&'a str>,
    /// Related-tool groups: by expansion category and by verdict category.
    exp_group: HashMap<(u32, &'a str), Vec<u32>>,
    cat_group: HashMap<(u32, Option<Category>), Vec<u32>>,
    /// Position of each tool in its two groups.
    exp_pos: Vec<u32>,
    cat_pos: Vec<u32>,
    /// The rules of the examples every tool page offers, as one-line JSON:
    /// at most 10 calls a minute, require approval, deny.
    example_rules: [String; 3],
}

// ---------------------------------------------------------------- views

/// One of MCP's four hints on a tool page: what the author declared, what
/// the classifier inferred without it (and why), what a gateway acts on.
#[derive(Serialize)]
struct HintRow {
    name: &'static str,
    /// `true`/`false` as in the protocol (a template would print `True`).
    declared: Option<&'static str>,
    inferred: &'static str,
    confidence: String,
    evidence: String,
    effective: &'static str,
}

fn json_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn hint_rows(r: &ToolRecord, v: &crate::model::Verdict) -> Vec<HintRow> {
    let (i, e) = (&v.inferred, v.effective);
    [
        ("readOnlyHint", &i.read_only, e.read_only),
        ("destructiveHint", &i.destructive, e.destructive),
        ("idempotentHint", &i.idempotent, e.idempotent),
        ("openWorldHint", &i.open_world, e.open_world),
    ]
    .into_iter()
    .map(|(name, h, effective)| HintRow {
        name,
        declared: r.hint(name).map(json_bool),
        inferred: json_bool(h.value),
        confidence: format!("{:.2}", h.confidence),
        evidence: h.evidence.clone(),
        effective: json_bool(effective),
    })
    .collect()
}

#[derive(Serialize)]
pub(super) struct ToolPage<'a> {
    root: &'static str,
    t: ToolView<'a>,
}

#[derive(Serialize)]
struct ToolView<'a> {
    name: &'a str,
    title: Option<&'a str>,
    description: Option<&'a str>,
    warnings: Vec<Warning>,
    /// Suspicious-text findings (`suspicious.CLASS.ID` reasons), hidden
    /// carriers shown decoded and marked.
    findings: Vec<FindingView>,
    server: ServerLink<'a>,
    kind: Option<&'static str>,
    category: Option<&'static str>,
    exp_category: Option<&'a str>,
    risk: Option<&'static str>,
    confidence: Option<String>,
    hints: Vec<HintRow>,
    rule_summary: String,
    first_seen: String,
    last_seen: String,
    versions: i64,
    hash_short: &'a str,
    umbrella: Option<UmbrellaView<'a>>,
    why: String,
    signals: &'a [Signal],
    reasons: &'a [Reason],
    snippet: Option<String>,
    /// The policy key is `server/name` (the name is used by several
    /// servers): a note says the server's own file uses the plain name.
    qualified: bool,
    /// The snippet is a big umbrella rule: shown folded.
    snippet_big: bool,
    full_policy: Option<String>,
    examples: Vec<Example>,
    params: Vec<Param>,
    schema: String,
    annotations: Vec<(&'a str, String)>,
    flags: &'a [String],
    history: Vec<VersionView<'a>>,
    children: Vec<Link<'a>>,
    related: Vec<Link<'a>>,
}

#[derive(Serialize)]
struct Warning {
    title: &'static str,
    text: String,
}

/// One suspicious-text finding as a tool page shows it.
#[derive(Serialize, Debug, PartialEq)]
struct FindingView {
    class: String,
    rule: String,
    place: String,
    /// The carrier that hid it ("an HTML comment, U+E0041 ..."), if hidden.
    hidden: Option<String>,
    /// The matched text, decoded where it was hidden.
    evidence: String,
}

/// Reads the findings back from the verdict's reasons, whose `matched` is
/// `PLACE: "TEXT"` or `PLACE [hidden: CARRIER]: "TEXT"`.
fn findings(reasons: &[Reason]) -> Vec<FindingView> {
    reasons
        .iter()
        .filter_map(|r| {
            let rest = r.rule.strip_prefix("suspicious.")?;
            let (class, rule) = rest.split_once('.').unwrap_or(("", rest));
            let m = r.matched.as_str();
            let unquote = |e: &str| e.strip_suffix('"').unwrap_or(e).to_string();
            let (place, hidden, evidence) = if let Some(h) = m.find(" [hidden: ") {
                let after = &m[h + 10..];
                match after.find("]: \"") {
                    Some(e) => (m[..h].to_string(), Some(after[..e].to_string()), unquote(&after[e + 4..])),
                    None => (m[..h].to_string(), Some(after.to_string()), String::new()),
                }
            } else if let Some(q) = m.find(": \"") {
                (m[..q].to_string(), None, unquote(&m[q + 3..]))
            } else {
                (String::new(), None, m.to_string())
            };
            Some(FindingView { class: class.to_string(), rule: rule.to_string(), place, hidden, evidence })
        })
        .collect()
}

#[derive(Serialize)]
struct ServerLink<'a> {
    name: &'a str,
    url: &'a str,
    product: Option<&'a str>,
}

#[derive(Serialize)]
struct UmbrellaView<'a> {
    name: &'a str,
    url: Option<String>,
    selector: String,
    snippet: Option<String>,
}

#[derive(Serialize)]
struct Example {
    label: String,
    snippet: String,
    #[serde(skip)]
    kind: Action,
    #[serde(skip)]
    umbrella: bool,
}

#[derive(Serialize)]
struct Param {
    name: String,
    ty: String,
    required: bool,
    description: String,
}

#[derive(Serialize)]
struct VersionView<'a> {
    number: usize,
    first_seen: String,
    hash: &'a str,
    diffs: Vec<DiffView>,
}

#[derive(Serialize)]
pub(super) struct DiffView {
    field: String,
    lines: Vec<Line>,
}

#[derive(Serialize)]
struct Line {
    c: &'static str,
    t: String,
}

#[derive(Serialize)]
struct Link<'a> {
    name: &'a str,
    url: String,
    kind: Option<&'static str>,
    risk: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct ServerPage<'a> {
    root: &'static str,
    s: ServerView<'a>,
}

#[derive(Serialize)]
struct ServerView<'a> {
    name: &'a str,
    product: Option<&'a str>,
    total: usize,
    counts: Vec<Count>,
    unclassified: usize,
    outcome: Option<&'a str>,
    outcome_class: &'static str,
    last_time: Option<String>,
    last_seconds: Option<String>,
    last_phase: Option<&'a str>,
    last_error: Option<&'a str>,
    last_good: Option<String>,
    protocol_version: Option<&'a str>,
    server_info: Option<String>,
    rows: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Count {
    risk: &'static str,
    n: usize,
}

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    url: String,
    kind: &'static str,
    category: &'static str,
    exp_category: Option<&'a str>,
    risk: &'static str,
    rank: u8,
    summary: String,
}

#[derive(Serialize)]
pub(super) struct IndexPage<'a> {
    root: &'static str,
    generated_at: String,
    totals: Totals,
    servers: Vec<ServerSummary<'a>>,
    products: Vec<Product<'a>>,
    changes: ChangeCounts,
}

#[derive(Serialize)]
struct Totals {
    tools: usize,
    servers: usize,
    failed: usize,
    counts: Vec<Count>,
    unclassified: usize,
    read: usize,
    write: usize,
}

#[derive(Serialize)]
struct ServerSummary<'a> {
    name: &'a str,
    url: &'a str,
    product: Option<&'a str>,
    total: usize,
    counts: Vec<Count>,
    outcome: Option<&'a str>,
    outcome_class: &'static str,
}

#[derive(Serialize)]
struct Product<'a> {
    name: &'a str,
    servers: Vec<NameUrl<'a>>,
    tools: usize,
    critical: usize,
}

#[derive(Serialize)]
struct NameUrl<'a> {
    name: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct ChangeCounts {
    added: usize,
    removed: usize,
    changed: usize,
    risk_up: usize,
}

#[derive(Serialize)]
pub(super) struct ChangesPage<'a> {
    root: &'static str,
    empty: bool,
    since_run: i64,
    to_run: i64,
    changed: Vec<ChangeView<'a>>,
    added: Vec<ChangeView<'a>>,
    removed: Vec<ChangeView<'a>>,
}

#[derive(Serialize)]
struct ChangeView<'a> {
    change: &'a str,
    server: &'a str,
    tool: &'a str,
    time: String,
    url: Option<String>,
    server_url: Option<&'a str>,
    old_risk: Option<&'static str>,
    new_risk: Option<&'static str>,
    old_kind: Option<&'static str>,
    new_kind: Option<&'static str>,
    risk_up: bool,
    fields: Vec<DiffView>,
}

#[derive(Serialize)]
struct SearchEntry<'a> {
    n: &'a str,
    s: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<&'a str>,
    #[serde(skip_serializing_if = "String::is_empty")]
    d: String,
    u: String,
}

// ---------------------------------------------------------------- model

impl<'a> Model<'a> {
    pub fn new(input: &'a SiteInput<'a>) -> Model<'a> {
        let tools = input.tools;
        assert!(
            tools.len() < u32::MAX as usize,
            "more tools than a site can show"
        );

        // Servers: every configured one plus any a tool names.
        let mut names: Vec<&'a str> = input.servers.iter().map(|s| s.name.as_str()).collect();
        names.extend(tools.iter().map(|t| t.record.server.as_str()));
        names.sort_unstable();
        names.dedup();
        let rows: HashMap<&str, &ServerRow> =
            input.servers.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut slugs = Slugger::new();
        let mut servers: Vec<ServerInfo> = names
            .iter()
            .map(|&name| {
                let slug = slugs.get(name);
                ServerInfo {
                    name,
                    row: rows.get(name).copied(),
                    url: format!("servers/{slug}.html"),
                    slug,
                    tools: 0..0,
                }
            })
            .collect();
        drop(slugs);
        let tool_server: Vec<u32> = tools
            .iter()
            .map(|t| {
                names
                    .binary_search(&t.record.server.as_str())
                    .expect("every tool's server is listed") as u32
            })
            .collect();
        drop(names);

        let mut order: Vec<u32> = (0..tools.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&tools[a as usize].record, &tools[b as usize].record);
            (tool_server[a as usize], x.name.as_str(), a).cmp(&(
                tool_server[b as usize],
                y.name.as_str(),
                b,
            ))
        });

        // Tool slugs, one slugger per server directory (one at a time), in
        // sorted order; each server's tools are a range of `order`.
        let mut tool_slug: Vec<Option<Box<str>>> = vec![None; tools.len()];
        let mut start = 0;
        while start < order.len() {
            let s = tool_server[order[start] as usize];
            let end = start
                + order[start..]
                    .iter()
                    .position(|&i| tool_server[i as usize] != s)
                    .unwrap_or(order.len() - start);
            let mut slugger = Slugger::new();
            for &i in &order[start..end] {
                let name = tools[i as usize].record.name.as_str();
                let slug = slugger.get(name);
                if slug != name {
                    tool_slug[i as usize] = Some(slug.into_boxed_str());
                }
            }
            servers[s as usize].tools = start..end;
            start = end;
        }

        // Umbrellas and their actions.
        let mut umbrellas: Vec<Umbrella> = Vec::new();
        let mut umbrella_of: HashMap<(usize, &str), usize> = HashMap::new();
        for &i in &order {
            let i = i as usize;
            if let Some(parent) = tools[i].record.parent.as_deref() {
                let s = tool_server[i] as usize;
                let key = (s, parent);
                let u = *umbrella_of.entry(key).or_insert_with(|| {
                    umbrellas.push(Umbrella {
                        server: s,
                        keys: Vec::new(),
                        children: Vec::new(),
                        tool: find_tool(tools, &order[servers[s].tools.clone()], parent),
                    });
                    umbrellas.len() - 1
                });
                umbrellas[u].children.push(i as u32);
            }
        }
        let null = Value::Null;
        for u in &mut umbrellas {
            let sels: Vec<(&str, &Value)> = u
                .children
                .iter()
                .map(|&c| {
                    let r = &tools[c as usize].record;
                    (r.name.as_str(), r.selector.as_ref().unwrap_or(&null))
                })
                .collect();
            u.keys = choose_match_keys(&sels);
        }

        // Names shared by several servers are qualified `server/name` in policies.
        let mut by_name = order.clone();
        by_name.sort_by(|&a, &b| {
            let (x, y) = (&tools[a as usize].record, &tools[b as usize].record);
            x.name.cmp(&y.name)
        });
        let mut shared_names = HashSet::new();
        for run in by_name
            .chunk_by(|&a, &b| tools[a as usize].record.name == tools[b as usize].record.name)
        {
            let s = tool_server[run[0] as usize];
            if run.iter().any(|&i| tool_server[i as usize] != s) {
                shared_names.insert(tools[run[0] as usize].record.name.as_str());
            }
        }
        drop(by_name);

        // Related-tool groups (order is sorted, so groups are sorted by name).
        let mut exp_group: HashMap<(u32, &str), Vec<u32>> = HashMap::new();
        let mut cat_group: HashMap<(u32, Option<Category>), Vec<u32>> = HashMap::new();
        let mut exp_pos = vec![0; tools.len()];
        let mut cat_pos = vec![0; tools.len()];
        for &i in &order {
            let s = tool_server[i as usize];
            let t = &tools[i as usize];
            if let Some(c) = t.record.category.as_deref() {
                let g = exp_group.entry((s, c)).or_default();
                exp_pos[i as usize] = g.len() as u32;
                g.push(i);
            }
            let g = cat_group
                .entry((s, t.verdict.as_ref().map(|v| v.category)))
                .or_default();
            cat_pos[i as usize] = g.len() as u32;
            g.push(i);
        }

        Model {
            input,
            servers,
            order,
            tool_slug,
            tool_server,
            umbrellas,
            umbrella_of,
            shared_names,
            exp_group,
            cat_group,
            exp_pos,
            cat_pos,
            example_rules: [
                Rule {
                    rate_limit: Some(RateLimit {
                        max: 10,
                        window: 60,
                    }),
                    ..Rule::default()
                },
                Rule {
                    action: Some(Action::RequireApproval),
                    reason: Some("a person approves each call".into()),
                    ..Rule::default()
                },
                Rule::deny("not used in this deployment"),
            ]
            .map(|rule| inline_json(&serde_json::to_value(&rule).unwrap_or(Value::Null))),
        }
    }

    /// How many tool pages.
    pub fn tool_count(&self) -> usize {
        self.order.len()
    }

    /// The tool index of the `k`th tool page (pages go by server, then name).
    pub fn tool_at(&self, k: usize) -> usize {
        self.order[k] as usize
    }

    /// The tool indices of server `k`, sorted by name.
    fn server_tools(&self, k: usize) -> impl Iterator<Item = usize> + '_ {
        self.order[self.servers[k].tools.clone()]
            .iter()
            .map(|&i| i as usize)
    }

    fn tool(&self, i: usize) -> &'a StoredTool {
        &self.input.tools[i]
    }

    fn product(&self, s: usize) -> Option<&'a str> {
        self.servers[s].row.and_then(|r| r.product.as_deref())
    }

    /// The key a policy uses for `name` of server `s`.
    fn policy_key(&self, s: usize, name: &str) -> String {
        if self.shared_names.contains(name) {
            format!("{}/{}", self.servers[s].name, name)
        } else {
            name.to_string()
        }
    }

    fn link(&self, i: usize) -> Link<'_> {
        let t = self.tool(i);
        Link {
            name: &t.record.name,
            url: self.url_of(i),
            kind: t.verdict.as_ref().map(|v| v.kind.as_str()),
            risk: t.verdict.as_ref().map(|v| v.risk.as_str()),
        }
    }

    /// `tools/<server-slug>/<tool-slug>.html`
    pub fn tool_url(&self, i: usize) -> String {
        let server = &self.servers[self.tool_server[i] as usize].slug;
        let slug = match &self.tool_slug[i] {
            Some(s) => s,
            None => self.tool(i).record.name.as_str(),
        };
        let mut url = String::with_capacity(12 + server.len() + slug.len());
        url.push_str("tools/");
        url.push_str(server);
        url.push('/');
        url.push_str(slug);
        url.push_str(".html");
        url
    }

    fn url_of(&self, i: usize) -> String {
        self.tool_url(i)
    }

    /// The umbrella rule for the given actions.
    fn umbrella_rule(&self, u: &Umbrella, children: &[u32], with_discovery: bool) -> Option<Rule> {
        if u.keys.is_empty() {
            return None;
        }
        let mut actions: BTreeMap<String, Rule> = BTreeMap::new();
        for &c in children {
            let t = self.tool(c as usize);
            let (Some(v), Some(sel)) = (t.verdict.as_ref(), t.record.selector.as_ref()) else {
                continue;
            };
            let Some(vals) = u
                .keys
                .iter()
                .map(|k| sel.get(k).and_then(Value::as_str))
                .collect::<Option<Vec<&str>>>()
            else {
                continue;
            };
            let rule = rule_for(v, self.input.profile);
            let key = action_key(&vals);
            let rule = match actions.remove(&key) {
                Some(prev) if !rule.stricter_than(&prev) => prev,
                _ => rule,
            };
            actions.insert(key, rule);
        }
        if actions.is_empty() && !with_discovery {
            return None;
        }
        let discovery =
            with_discovery.then(|| Box::new(crate::policy::discovery_rule(self.input.profile)));
        Some(Rule {
            match_keys: Some(MatchKeys::from_keys(u.keys.clone())),
            actions: Some(actions),
            discovery,
            ..Rule::default()
        })
    }

    pub fn tool_page(&self, i: usize) -> ToolPage<'_> {
        let t = self.tool(i);
        let r = &t.record;
        // Parsed here, for this page only, when the tools came without it.
        let parsed: Value;
        let schema = match self.input.schemas.and_then(|s| s.get(i)) {
            Some(text) => {
                parsed = serde_json::from_str(text.get()).unwrap_or(Value::Null);
                &parsed
            }
            None => &r.input_schema,
        };
        let s = self.tool_server[i] as usize;
        let v = t.verdict.as_ref();
        let profile = self.input.profile;
        let key = self.policy_key(s, &r.name);

        // Umbrella (for an action) and actions (for an umbrella tool).
        let parent = r
            .parent
            .as_deref()
            .and_then(|p| self.umbrella_of.get(&(s, p)))
            .map(|&u| &self.umbrellas[u]);
        let own_umbrella = self
            .umbrella_of
            .get(&(s, r.name.as_str()))
            .map(|&u| &self.umbrellas[u])
            .filter(|u| u.tool == Some(i));

        let rule = v.map(|v| rule_for(v, profile));
        let mut full = PolicyFile::new(profile.default);
        let mut snippet = None;
        let mut rule_summary = match &rule {
            Some(rule) => summary(rule),
            None => "none yet (not classified)".to_string(),
        };
        let mut umbrella_view = None;
        let mut per_action = false;
        if let Some(u) = own_umbrella.filter(|u| !u.keys.is_empty()) {
            // An umbrella tool's rule decides per action.
            if let Some(ur) = self.umbrella_rule(u, &u.children, true) {
                let (mut allow, mut approve, mut deny) = (0, 0, 0);
                for a in ur.actions.iter().flat_map(|m| m.values()) {
                    match a.effective_action() {
                        Action::Allow => allow += 1,
                        Action::RequireApproval => approve += 1,
                        Action::Deny => deny += 1,
                    }
                }
                rule_summary = format!(
                    "decided per action: {allow} allowed, {approve} need approval, {deny} denied"
                );
                per_action = true;
                snippet = Some(pretty_entry(&key, &ur));
                full.tools.insert(key.clone(), ur);
            }
        } else if let Some(rule) = &rule {
            snippet = Some(inline_entry(&key, rule));
            full.tools.insert(key.clone(), rule.clone());
        }
        if let (Some(u), Some(p)) = (parent, r.parent.as_deref()) {
            let ukey = self.policy_key(s, p);
            let ur = if rule.is_some() {
                self.umbrella_rule(u, &[i as u32], false)
            } else {
                None
            };
            let usnip = ur.as_ref().map(|ur| inline_entry(&ukey, ur));
            if let Some(ur) = ur {
                full.tools.insert(ukey, ur);
            }
            umbrella_view = Some(UmbrellaView {
                name: p,
                url: u.tool.map(|ui| self.url_of(ui)),
                selector: r
                    .selector
                    .as_ref()
                    .map(inline_json)
                    .unwrap_or_else(|| "{}".into()),
                snippet: usnip,
            });
        } else if let Some(p) = r.parent.as_deref() {
            umbrella_view = Some(UmbrellaView {
                name: p,
                url: None,
                selector: r
                    .selector
                    .as_ref()
                    .map(inline_json)
                    .unwrap_or_else(|| "{}".into()),
                snippet: None,
            });
        }
        let full_policy = (!full.tools.is_empty()).then(|| full.to_json_pretty());

        // Warnings.
        let mut warnings = Vec::new();
        if let Some(sig) = v.and_then(|v| {
            v.signals
                .iter()
                .find(|s| s.name == "suspicious-description")
        }) {
            warnings.push(Warning {
                title: "Suspicious description.",
                text: format!(
                    "This tool's definition contains text aimed at the agent rather than at a person ({}). The findings are listed below; read them with care and review the tool before allowing it.",
                    squash(&sig.evidence, 160)
                ),
            });
        }
        if t.definition_changed() {
            warnings.push(Warning {
                title: "Definition changed.",
                text: format!(
                    "This tool's definition changed after it was first catalogued ({} versions) and the change has not been acknowledged. Compare the versions under History before trusting it again.",
                    t.versions
                ),
            });
        }

        let mut examples = self.examples(&key, r, parent);
        if let Some(rule) = &rule {
            // Don't offer the recommendation itself as an alternative.
            let same = |e: &Example| match rule.effective_action() {
                Action::Deny => e.kind == Action::Deny && !e.umbrella,
                Action::RequireApproval => e.kind == Action::RequireApproval,
                Action::Allow => false,
            };
            examples.retain(|e| !same(e));
        }
        let history = self.history(t);
        let children = own_umbrella
            .map(|u| u.children.iter().map(|&c| self.link(c as usize)).collect())
            .unwrap_or_default();
        let product_or_server = self.product(s).unwrap_or(self.servers[s].name);

        let why = match (v, &rule) {
                    (Some(v), Some(rule)) => why(&r.name, product_or_server, v, rule, per_action.then_some(rule_summary.as_str())),
                    _ => format!("{} has not been classified yet, so a default-deny gateway blocks it until a rule allows it.", r.name),
                };

        ToolPage {
            root: "../../",
            t: ToolView {
                name: &r.name,
                title: r.title.as_deref(),
                description: r.description.as_deref().filter(|d| !d.trim().is_empty()),
                qualified: key != r.name,
                warnings,
                findings: v.map(|v| findings(&v.reasons)).unwrap_or_default(),
                server: ServerLink {
                    name: self.servers[s].name,
                    url: &self.servers[s].url,
                    product: self.product(s),
                },
                kind: v.map(|v| v.kind.as_str()),
                category: v.map(|v| v.category.as_str()),
                exp_category: r.category.as_deref(),
                risk: v.map(|v| v.risk.as_str()),
                confidence: v.map(|v| format!("{:.2}", v.confidence)),
                hints: v.map(|v| hint_rows(r, v)).unwrap_or_default(),
                rule_summary,
                first_seen: when(&t.first_seen),
                last_seen: when(&t.last_seen),
                versions: t.versions,
                hash_short: t.hash.get(..12).unwrap_or(&t.hash),
                umbrella: umbrella_view,
                why,
                signals: v.map(|v| v.signals.as_slice()).unwrap_or(&[]),
                reasons: v.map(|v| v.reasons.as_slice()).unwrap_or(&[]),
                snippet_big: per_action,
                snippet,
                full_policy,
                examples,
                params: params(schema),
                schema: serde_json::to_string_pretty(schema).unwrap_or_default(),
                annotations: annotations(r),
                flags: &r.flags,
                history,
                children,
                related: self.related(i),
            },
        }
    }

    fn examples(&self, key: &str, r: &ToolRecord, parent: Option<&Umbrella>) -> Vec<Example> {
        let mut out = vec![
            Example {
                label: "Allow it, but at most 10 calls a minute:".into(),
                snippet: entry_with(key, &self.example_rules[0]),
                kind: Action::Allow,
                umbrella: false,
            },
            Example {
                label: "Let each call through only after a person approves it:".into(),
                snippet: entry_with(key, &self.example_rules[1]),
                kind: Action::RequireApproval,
                umbrella: false,
            },
            Example {
                label: "Block it:".into(),
                snippet: entry_with(key, &self.example_rules[2]),
                kind: Action::Deny,
                umbrella: false,
            },
        ];
        if let (Some(u), Some(p)) = (parent, r.parent.as_deref()) {
            if let Some(sel) = r.selector.as_ref() {
                if let Some(vals) = u
                    .keys
                    .iter()
                    .map(|k| sel.get(k).and_then(Value::as_str))
                    .collect::<Option<Vec<&str>>>()
                {
                    if !vals.is_empty() {
                        let mut actions = BTreeMap::new();
                        actions
                            .insert(action_key(&vals), Rule::deny("not used in this deployment"));
                        let ur = Rule {
                            match_keys: Some(MatchKeys::from_keys(u.keys.clone())),
                            actions: Some(actions),
                            ..Rule::default()
                        };
                        out.push(Example {
                            label: format!("Block only this action when it is called through {p}:"),
                            snippet: inline_entry(&self.policy_key(u.server, p), &ur),
                            kind: Action::Deny,
                            umbrella: true,
                        });
                    }
                }
            }
        }
        out
    }

    fn history(&self, t: &'a StoredTool) -> Vec<VersionView<'a>> {
        let Some(vs) = self.input.versions.get(&t.id) else {
            return Vec::new();
        };
        (1..vs.len())
            .rev()
            .map(|k| VersionView {
                number: k + 1,
                first_seen: when(&vs[k].1),
                hash: vs[k].0.get(..12).unwrap_or(&vs[k].0),
                diffs: field_diffs(&vs[k - 1].2, &vs[k].2)
                    .iter()
                    .map(diff_view)
                    .collect(),
            })
            .collect()
    }

    /// Up to eight tools of the same server: same expansion category first,
    /// then same verdict category; neighbours by name, nearest first.
    fn related(&self, i: usize) -> Vec<Link<'_>> {
        let t = self.tool(i);
        let s = self.tool_server[i];
        let mut picked: Vec<usize> = Vec::with_capacity(RELATED_MAX);
        let take = |group: &[u32], pos: u32, picked: &mut Vec<usize>| {
            let pos = pos as usize;
            let n = group.len();
            let mut d = 1;
            while picked.len() < RELATED_MAX && (pos + d < n || d <= pos) {
                for j in [pos.checked_add(d).filter(|&j| j < n), pos.checked_sub(d)]
                    .into_iter()
                    .flatten()
                {
                    let c = group[j] as usize;
                    if c != i && picked.len() < RELATED_MAX && !picked.contains(&c) {
                        picked.push(c);
                    }
                }
                d += 1;
            }
        };
        if let Some(c) = t.record.category.as_deref() {
            if let Some(g) = self.exp_group.get(&(s, c)) {
                take(g, self.exp_pos[i], &mut picked);
            }
        }
        if let Some(g) = self
            .cat_group
            .get(&(s, t.verdict.as_ref().map(|v| v.category)))
        {
            take(g, self.cat_pos[i], &mut picked);
        }
        picked.into_iter().map(|c| self.link(c)).collect()
    }

    pub fn server_page(&self, k: usize) -> ServerPage<'_> {
        let info = &self.servers[k];
        let row = info.row;
        let (counts, unclassified) = self.counts(self.server_tools(k));
        let rows = self
            .server_tools(k)
            .map(|i| {
                let t = self.tool(i);
                let v = t.verdict.as_ref();
                Row {
                    name: &t.record.name,
                    url: self.url_of(i),
                    kind: v.map_or("", |v| v.kind.as_str()),
                    category: v.map_or("", |v| v.category.as_str()),
                    exp_category: t.record.category.as_deref(),
                    risk: v.map_or("", |v| v.risk.as_str()),
                    rank: v.map_or(0, |v| rank(v.risk)),
                    summary: first_sentence(t.record.description.as_deref().unwrap_or(""), 140),
                }
            })
            .collect();
        let outcome = row.and_then(|r| r.last_outcome.as_deref());
        ServerPage {
            root: "../",
            s: ServerView {
                name: info.name,
                product: self.product(k),
                total: info.tools.len(),
                counts,
                unclassified,
                outcome,
                outcome_class: outcome_class(outcome),
                last_time: row.and_then(|r| r.last_time.as_deref()).map(when),
                last_seconds: row.and_then(|r| r.last_seconds).map(|s| format!("{s:.1}")),
                last_phase: row
                    .and_then(|r| r.last_phase.as_deref())
                    .filter(|_| outcome != Some("ok")),
                last_error: row.and_then(|r| r.last_error.as_deref()),
                last_good: row.and_then(|r| r.last_good.as_deref()).map(when),
                protocol_version: row.and_then(|r| r.protocol_version.as_deref()),
                server_info: row.and_then(|r| r.server_info.as_ref()).map(server_info),
                rows,
            },
        }
    }

    fn counts(&self, tools: impl Iterator<Item = usize>) -> (Vec<Count>, usize) {
        let mut n = [0usize; 4];
        let mut none = 0;
        for i in tools {
            match self.tool(i).verdict.as_ref() {
                Some(v) => n[rank(v.risk) as usize - 1] += 1,
                None => none += 1,
            }
        }
        (
            RISKS
                .iter()
                .zip(n)
                .map(|(r, n)| Count {
                    risk: r.as_str(),
                    n,
                })
                .collect(),
            none,
        )
    }

    pub fn index_page(&self) -> IndexPage<'_> {
        let (counts, unclassified) = self.counts(self.order.iter().map(|&i| i as usize));
        let (mut read, mut write) = (0, 0);
        for t in self.input.tools {
            match t.verdict.as_ref().map(|v| v.kind) {
                Some(Kind::Read) => read += 1,
                Some(Kind::Write) => write += 1,
                None => {}
            }
        }
        let servers: Vec<ServerSummary> = self
            .servers
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let outcome = s.row.and_then(|r| r.last_outcome.as_deref());
                ServerSummary {
                    name: s.name,
                    url: &s.url,
                    product: self.product(k),
                    total: s.tools.len(),
                    counts: self.counts(self.server_tools(k)).0,
                    outcome,
                    outcome_class: outcome_class(outcome),
                }
            })
            .collect();
        let failed = servers
            .iter()
            .filter(|s| s.outcome.is_some_and(|o| o != "ok"))
            .count();
        let mut products: BTreeMap<&str, Product> = BTreeMap::new();
        for (k, s) in self.servers.iter().enumerate() {
            let Some(p) = self.product(k) else { continue };
            let e = products.entry(p).or_insert_with(|| Product {
                name: p,
                servers: Vec::new(),
                tools: 0,
                critical: 0,
            });
            e.servers.push(NameUrl {
                name: s.name,
                url: &s.url,
            });
            e.tools += s.tools.len();
            e.critical += self
                .server_tools(k)
                .filter(|&i| {
                    self.tool(i)
                        .verdict
                        .as_ref()
                        .is_some_and(|v| v.risk == Risk::Critical)
                })
                .count();
        }
        let ch = self.input.changes;
        IndexPage {
            root: "",
            generated_at: when(&self.input.generated_at),
            totals: Totals {
                tools: self.input.tools.len(),
                servers: self.servers.len(),
                failed,
                counts,
                unclassified,
                read,
                write,
            },
            servers,
            products: products.into_values().collect(),
            changes: ChangeCounts {
                added: ch.added.len(),
                removed: ch.removed.len(),
                changed: ch.changed.len(),
                risk_up: ch.changed.iter().filter(|c| c.risk_up).count(),
            },
        }
    }

    pub fn changes_page(&self) -> ChangesPage<'_> {
        let ch = self.input.changes;
        // Current pages by (server, tool) so changes link to them.
        let server_of = |name: &str| self.servers.binary_search_by(|s| s.name.cmp(name)).ok();
        let page_of = |server: &str, tool: &str| {
            let s = server_of(server)?;
            find_tool(
                self.input.tools,
                &self.order[self.servers[s].tools.clone()],
                tool,
            )
        };
        let view = |c: &'a ChangeItem| ChangeView {
            change: &c.change,
            server: &c.server,
            tool: &c.tool,
            time: when(&c.time),
            url: if c.change == "removed" {
                None
            } else {
                page_of(&c.server, &c.tool).map(|i| self.url_of(i))
            },
            server_url: server_of(&c.server).map(|s| self.servers[s].url.as_str()),
            old_risk: c.old_risk.map(Risk::as_str),
            new_risk: c.new_risk.map(Risk::as_str),
            old_kind: c.old_kind.map(Kind::as_str),
            new_kind: c.new_kind.map(Kind::as_str),
            risk_up: c.risk_up,
            fields: c.fields.iter().map(diff_view).collect(),
        };
        let mut changed: Vec<&ChangeItem> = ch.changed.iter().collect();
        // Risk increases first (the history module sorts so too; keep it true here).
        changed.sort_by_key(|c| !c.risk_up);
        ChangesPage {
            root: "",
            empty: ch.is_empty(),
            since_run: ch.since_run,
            to_run: ch.to_run,
            changed: changed.into_iter().map(&view).collect(),
            added: ch.added.iter().map(&view).collect(),
            removed: ch.removed.iter().map(&view).collect(),
        }
    }

    /// Write the search index as JSON, safe to embed in a `<script>`: `<`,
    /// `>`, `&` and the JS line separators are `\u` escapes. Streams one
    /// entry at a time (the index of 100,000 tools is some 20 MB).
    pub fn write_search_index(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut entry = Vec::with_capacity(512);
        let mut safe = String::with_capacity(512);
        w.write_all(b"[")?;
        for (k, &i) in self.order.iter().enumerate() {
            let i = i as usize;
            let t = self.tool(i);
            let s = self.tool_server[i] as usize;
            let v = t.verdict.as_ref();
            let e = SearchEntry {
                n: &t.record.name,
                s: self.servers[s].name,
                p: self.product(s),
                k: v.map(|v| v.kind.as_str()),
                r: v.map(|v| v.risk.as_str()),
                c: t.record
                    .category
                    .as_deref()
                    .or(v.map(|v| v.category.as_str())),
                d: squash(t.record.description.as_deref().unwrap_or(""), 160),
                u: self.url_of(i),
            };
            entry.clear();
            serde_json::to_writer(&mut entry, &e).map_err(std::io::Error::other)?;
            let json = std::str::from_utf8(&entry).map_err(std::io::Error::other)?;
            safe.clear();
            push_script_safe(&mut safe, json);
            if k > 0 {
                w.write_all(b",")?;
            }
            w.write_all(safe.as_bytes())?;
        }
        w.write_all(b"]")
    }

    /// The URLs of the sitemap, in order: index, changes, servers, tools.
    pub fn sitemap_len(&self) -> usize {
        2 + self.servers.len() + self.order.len()
    }

    /// URLs `range` of the sitemap (see [`Model::sitemap_len`]).
    pub fn sitemap_urls(&self, base: Option<&str>, range: std::ops::Range<usize>) -> Vec<String> {
        let n = self.servers.len();
        range
            .map(|k| match k {
                0 => absolute(base, "index.html"),
                1 => absolute(base, "changes.html"),
                k if k < 2 + n => absolute(base, &self.servers[k - 2].url),
                k => absolute(base, &self.tool_url(self.order[k - 2 - n] as usize)),
            })
            .collect()
    }
}

// ---------------------------------------------------------------- helpers

/// The last tool named `name` among `tools` (indices sorted by name).
fn find_tool(tools: &[StoredTool], sorted: &[u32], name: &str) -> Option<usize> {
    let end = sorted.partition_point(|&i| tools[i as usize].record.name.as_str() <= name);
    (end > 0 && tools[sorted[end - 1] as usize].record.name == name)
        .then(|| sorted[end - 1] as usize)
}

pub(super) fn absolute(base: Option<&str>, rel: &str) -> String {
    match base.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => format!("{}/{}", b.trim_end_matches('/'), rel),
        None => rel.to_string(),
    }
}

/// JSON made safe inside `<script>` and for old JS parsers.
#[cfg(test)]
pub(super) fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 50);
    push_script_safe(&mut out, json);
    out
}

/// Append `json` to `out` made safe inside `<script>` and for old JS parsers.
fn push_script_safe(out: &mut String, json: &str) {
    for ch in json.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

fn rank(r: Risk) -> u8 {
    match r {
        Risk::Low => 1,
        Risk::Medium => 2,
        Risk::High => 3,
        Risk::Critical => 4,
    }
}

fn outcome_class(o: Option<&str>) -> &'static str {
    match o {
        Some("ok") => "ok",
        Some(_) => "failed",
        None => "none",
    }
}

fn server_info(v: &Value) -> String {
    let name = v.get("name").and_then(Value::as_str);
    let version = v.get("version").and_then(Value::as_str);
    match (name, version) {
        (Some(n), Some(ver)) => format!("{n} {ver}"),
        (Some(n), None) => n.to_string(),
        _ => squash(&v.to_string(), 200),
    }
}

/// An RFC 3339 UTC time as people read it: `2026-11-24 06:21 UTC`.
/// Anything else is shown as it is.
fn when(t: &str) -> String {
    let b = t.as_bytes();
    let shaped = b.len() >= 17
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    let utc = t.ends_with('Z') || t.ends_with("+00:00");
    if shaped && utc {
        format!("{} {} UTC", &t[..10], &t[11..16])
    } else {
        t.to_string()
    }
}

/// Collapse whitespace and cut to `max` characters.
pub(super) fn squash(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 4));
    let mut n = 0;
    for w in text.split_whitespace() {
        if n > 0 {
            out.push(' ');
            n += 1;
        }
        for ch in w.chars() {
            if n >= max {
                let trimmed = out.trim_end().len();
                out.truncate(trimmed);
                out.push('…');
                return out;
            }
            out.push(ch);
            n += 1;
        }
    }
    out
}

/// The first sentence (or line) of a description, squashed and cut.
fn first_sentence(text: &str, max: usize) -> String {
    let line = text.trim_start().lines().next().unwrap_or("");
    let end = line.find(". ").map_or(line.len(), |p| p + 1);
    squash(&line[..end], max)
}

fn summary(rule: &Rule) -> String {
    match (rule.effective_action(), &rule.rate_limit) {
        (Action::Allow, None) => "allow".into(),
        (Action::Allow, Some(rl)) => format!("allow, at most {rl}"),
        (Action::RequireApproval, _) => "require approval".into(),
        (Action::Deny, _) => "deny".into(),
    }
}

/// Why a tool needs a policy, from its kind, category, risk and signals.
/// `per_action` is set for an umbrella tool whose rule decides per action
/// (with the summary of those decisions).
fn why(name: &str, target: &str, v: &Verdict, rule: &Rule, per_action: Option<&str>) -> String {
    let (what, tail) = match (v.kind, v.category) {
        (_, Category::Financial) => ("can move money or run up costs", ""),
        (_, Category::Destructive) => (
            "can destroy data or disrupt a service",
            ", possibly beyond undoing",
        ),
        (_, Category::Execute) => ("can run commands or arbitrary operations", ""),
        (Kind::Write, _) => ("changes configuration or data", ""),
        (Kind::Read, _) => ("only reads data", ""),
    };
    let mut s = format!("{name} {what} on {target}{tail}.");
    if per_action.is_some() {
        s.push_str(" It is one entry point to many actions, so one rule for it decides them all unless the rule matches on the action.");
    }
    match (v.kind, v.risk) {
        (Kind::Read, Risk::Low) => s.push_str(
            " Reads like this are low risk, but a gateway that denies by default blocks every tool without a rule, so it needs an entry to be usable; listing it also makes a later change to its definition stand out.",
        ),
        (Kind::Read, _) => s.push_str(" What it reads can be sensitive, so an agent should not call it unchecked."),
        (Kind::Write, _) => s.push_str(
            " An agent following a mistaken plan, or instructions injected into something it read, could call it without a person noticing.",
        ),
    }
    let mut names: Vec<&str> = Vec::new();
    for sig in &v.signals {
        if !names.contains(&sig.name.as_ref()) {
            names.push(&sig.name);
        }
    }
    if names.is_empty() {
        s.push_str(&format!(" It is rated {} risk.", v.risk.as_str()));
    } else {
        s.push_str(&format!(
            " It is rated {} risk because of: {}.",
            v.risk.as_str(),
            names.join(", ")
        ));
    }
    if let Some(summary) = per_action {
        s.push_str(&format!(" The recommended rule matches on the action and decides each one by its own risk ({summary}); calls that select no action only discover what the tool offers."));
        return s;
    }
    s.push_str(match (rule.effective_action(), rule.rate_limit.is_some()) {
        (Action::Allow, false) => " The recommended rule allows it.",
        (Action::Allow, true) => " The recommended rule allows it with a rate limit.",
        (Action::RequireApproval, _) => {
            " The recommended rule lets a call through only after a person approves it."
        }
        (Action::Deny, _) => " The recommended rule denies it.",
    });
    s
}

/// `{"key": RULE}` on one line, `": "` and `", "` separated.
fn inline_entry(key: &str, rule: &Rule) -> String {
    let mut m = serde_json::Map::new();
    m.insert(
        key.to_string(),
        serde_json::to_value(rule).unwrap_or(Value::Null),
    );
    inline_json(&Value::Object(m))
}

/// `{"key": RULE}` on one line, given the rule's one-line JSON (as
/// [`inline_entry`] writes it).
fn entry_with(key: &str, rule_json: &str) -> String {
    let key = serde_json::to_string(key).unwrap_or_default();
    let mut s = String::with_capacity(key.len() + rule_json.len() + 4);
    s.push('{');
    s.push_str(&key);
    s.push_str(": ");
    s.push_str(rule_json);
    s.push('}');
    s
}

/// `{"key": RULE}` pretty-printed (for big umbrella rules).
fn pretty_entry(key: &str, rule: &Rule) -> String {
    let mut m = serde_json::Map::new();
    m.insert(
        key.to_string(),
        serde_json::to_value(rule).unwrap_or(Value::Null),
    );
    serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default()
}

/// One-line JSON with a space after `:` and `,`, as people write it.
pub(super) fn inline_json(v: &Value) -> String {
    fn go(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                out.push('{');
                for (k, (key, val)) in m.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push_str(": ");
                    go(val, out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (k, val) in a.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    go(val, out);
                }
                out.push(']');
            }
            other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
        }
    }
    let mut s = String::new();
    go(v, &mut s);
    s
}

fn diff_view(d: &FieldDiff) -> DiffView {
    DiffView {
        field: d.field.clone(),
        lines: d
            .diff
            .lines()
            .map(|l| Line {
                c: if l.starts_with('+') {
                    "add"
                } else if l.starts_with('-') {
                    "del"
                } else {
                    "ctx"
                },
                t: l.to_string(),
            })
            .collect(),
    }
}

/// Parameter rows from a JSON Schema's top-level `properties`.
fn params(schema: &Value) -> Vec<Param> {
    let required: HashSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, p)| {
            let mut description = p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some(d) = p.get("default") {
                if !description.is_empty() {
                    description.push(' ');
                }
                description.push_str(&format!("(default: {})", inline_json(d)));
            }
            Param {
                name: name.clone(),
                ty: type_of(p),
                required: required.contains(name.as_str()),
                description,
            }
        })
        .collect()
}

fn type_of(p: &Value) -> String {
    let mut ty = match p.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => {
            let alts = p
                .get("anyOf")
                .or_else(|| p.get("oneOf"))
                .and_then(Value::as_array);
            match (alts, p.get("$ref").and_then(Value::as_str), p.get("enum")) {
                (Some(a), _, _) => a.iter().map(type_of).collect::<Vec<_>>().join(" | "),
                (None, Some(r), _) => r.rsplit('/').next().unwrap_or(r).to_string(),
                (None, None, Some(_)) => "enum".into(),
                _ => "any".into(),
            }
        }
    };
    if ty == "array" {
        if let Some(items) = p.get("items").filter(|i| i.is_object()) {
            ty = format!("array of {}", type_of(items));
        }
    }
    if let Some(e) = p.get("enum").and_then(Value::as_array) {
        let vals: Vec<String> = e.iter().take(12).map(inline_json).collect();
        let more = if e.len() > 12 { ", …" } else { "" };
        ty.push_str(&format!(" (one of {}{more})", vals.join(", ")));
    }
    ty
}

fn annotations(r: &ToolRecord) -> Vec<(&str, String)> {
    match r.annotations.as_ref().and_then(Value::as_object) {
        Some(m) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| inline_json(v)),
                )
            })
            .collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inline_json_reads_like_hand_written() {
        assert_eq!(
            inline_json(&json!({"iscsi_sessions": {}})),
            r#"{"iscsi_sessions": {}}"#
        );
        assert_eq!(
            inline_json(&json!({"a": [1, "x"], "b": {"c": null}})),
            r#"{"a": [1, "x"], "b": {"c": null}}"#
        );
    }

    #[test]
    fn entry_with_matches_inline_entry() {
        let rule = Rule::deny("not used in this deployment");
        let json = inline_json(&serde_json::to_value(&rule).unwrap());
        for key in ["disk_wipe", "srv/a \"b\"", "é<"] {
            assert_eq!(entry_with(key, &json), inline_entry(key, &rule));
        }
    }

    #[test]
    fn script_safe_json_escapes_markup() {
        let s = script_safe_json(
            &serde_json::to_string(&json!({"d": "</script><b>&\u{2028}"})).unwrap(),
        );
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["d"], "</script><b>&\u{2028}");
    }

    #[test]
    fn times_read_like_times() {
        assert_eq!(
            when("2026-11-24T06:21:43.377440914Z"),
            "2026-11-24 06:21 UTC"
        );
        assert_eq!(when("2026-11-24T06:21:43+00:00"), "2026-11-24 06:21 UTC");
        assert_eq!(
            when("2026-11-24T06:21:43+02:00"),
            "2026-11-24T06:21:43+02:00"
        );
        assert_eq!(when("yesterday"), "yesterday");
        assert_eq!(when(""), "");
    }

    #[test]
    fn squash_cuts_on_characters() {
        assert_eq!(squash("  a \n b  ", 10), "a b");
        assert_eq!(squash("héllo wörld", 5), "héllo…");
    }

    #[test]
    fn parameter_types_are_readable() {
        let s = json!({"type": "object", "required": ["a"], "properties": {
            "a": {"type": "string", "description": "the a"},
            "b": {"type": "array", "items": {"type": "integer"}, "default": [1]},
            "c": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "d": {"enum": ["x", "y"]}
        }});
        let p = params(&s);
        assert_eq!(p[0].ty, "string");
        assert!(p[0].required);
        assert_eq!(p[1].ty, "array of integer");
        assert_eq!(p[1].description, "(default: [1])");
        assert_eq!(p[2].ty, "string | null");
        assert_eq!(p[3].ty, r#"enum (one of "x", "y")"#);
    }
}
