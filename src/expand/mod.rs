//! Expansion: turn an umbrella tool that hides its actions behind discovery
//! calls (TrueNAS `truenas`, Docker `mcp-find`, "search_for_tools" servers)
//! into one synthetic `ToolRecord` per action. Which tool, which calls and how
//! to read their answers is data — recipes in `rules/expanders/*.toml`
//! (format: `rules/expanders/README.md`) — never code per server.
//!
//! Never calls an action, only discovery: every call goes through
//! [`Recipe::check_discovery`], which refuses arguments that are not a
//! rendering of one of the recipe's discovery templates. Calls are bounded in
//! number (`max_calls`) and time (a total deadline; each call's own timeout is
//! the client's). A failed call or a listing the recipe cannot read is a
//! warning naming server, recipe and call; expansion keeps what it could read.
//! The umbrella tool itself is not touched: the caller keeps it.

mod parse;
mod recipe;
mod template;

pub use recipe::{Recipe, Recipes, DEFAULT_MAX_CALLS};

use crate::model::{valid_tool_name, ServerSpec, ToolRecord};
use parse::Item;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for the recipe format; `message` is toml's
    /// own, which gives line, column and the offending text.
    #[error("failed to parse {}: {message}", file.display())]
    Parse { file: PathBuf, message: String },
    /// Valid TOML but a bad recipe (bad regex, unknown template variable, ...).
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("expansion recipe \"{name}\" is defined twice: {} and {}", first.display(), second.display())]
    Duplicate {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "server \"{server}\" names expansion recipe \"{recipe}\", which does not exist (available: {})",
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    UnknownRecipe {
        server: String,
        recipe: String,
        available: Vec<String>,
    },
}

/// Makes discovery calls. Implemented for `mcp::Session` (via `call_tool`)
/// and by fakes in tests. Returns the `tools/call` result object (which may
/// carry `isError`), or a message for a transport/protocol failure.
pub trait Caller {
    fn call<'a>(
        &'a mut self,
        tool: &'a str,
        args: Value,
    ) -> impl Future<Output = Result<Value, String>> + Send + 'a;
}

impl Caller for crate::mcp::Session {
    async fn call(&mut self, tool: &str, args: Value) -> Result<Value, String> {
        self.call_tool(tool, args).await.map_err(|e| e.to_string())
    }
}

/// What expanding one server produced.
#[derive(Debug, Clone, Default)]
pub struct Expansion {
    /// One record per action (the umbrellas are not included).
    pub actions: Vec<ToolRecord>,
    pub warnings: Vec<String>,
    /// Discovery calls made.
    pub calls: usize,
}

/// An action read from the last level, before naming.
struct Found<'r> {
    recipe: &'r Recipe,
    parent: String,
    /// Values bound by the inner levels, root first.
    bindings: Vec<(String, String)>,
    item: Item,
}

struct Work {
    level: usize,
    bindings: Vec<(String, String)>,
    /// Children the parent listing announced (its `count`).
    expected: Option<usize>,
}

fn warn(w: &mut Vec<String>, server: &ServerSpec, recipe: &Recipe, msg: impl std::fmt::Display) {
    let line = format!(
        "server \"{}\": recipe \"{}\": {msg}",
        server.name, recipe.name
    );
    tracing::debug!("{line}");
    w.push(line);
}

fn show_call(tool: &str, args: &Value) -> String {
    format!(
        "{tool}({})",
        serde_json::to_string(args).unwrap_or_default()
    )
}

fn excerpt(s: &str, n: usize) -> String {
    let t: String = s.chars().take(n).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// `content[].text` of a `tools/call` result, joined by newlines.
fn answer_text(result: &Value) -> String {
    result
        .get("content")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Whether a parsed name may be put into a later discovery call.
fn usable_value(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 200 && !s.chars().any(char::is_control)
}

/// The single gate every discovery call goes through.
async fn discovery_call<C: Caller>(
    caller: &mut C,
    recipe: &Recipe,
    umbrella: &str,
    args: Value,
) -> Result<Value, String> {
    recipe.check_discovery(umbrella, umbrella, &args)?;
    caller.call(umbrella, args).await
}

/// Expand every tool of `tools` that a recipe applies to (the named one,
/// `server.expand`, and any whose match rule fits). Errors only for an
/// unknown recipe name.
pub async fn expand_server<C: Caller>(
    caller: &mut C,
    server: &ServerSpec,
    tools: &[ToolRecord],
    recipes: &Recipes,
    deadline: Duration,
) -> Result<Expansion, ExpandError> {
    let named = match server.expand.as_deref() {
        Some(n) => Some(recipes.get(n).ok_or_else(|| ExpandError::UnknownRecipe {
            server: server.name.clone(),
            recipe: n.to_string(),
            available: recipes.names().into_iter().map(str::to_string).collect(),
        })?),
        None => None,
    };
    let end = Instant::now() + deadline;
    let mut exp = Expansion::default();
    let mut found = Vec::new();
    let mut named_used = false;
    let mut expanded: HashSet<&str> = HashSet::new();
    for tool in tools.iter().filter(|t| t.parent.is_none()) {
        if !expanded.insert(tool.name.as_str()) {
            continue; // a duplicate tool name: expand it once
        }
        let recipe = match named {
            Some(r) if r.fits_tool(tool) => {
                named_used = true;
                Some(r)
            }
            _ => recipes.iter().find(|r| r.applies_to(&server.name, tool)),
        };
        if let Some(recipe) = recipe {
            run_recipe(
                caller, server, tool, recipe, end, deadline, &mut exp, &mut found,
            )
            .await;
        }
    }
    if let (Some(r), false) = (named, named_used) {
        warn(
            &mut exp.warnings,
            server,
            r,
            format!(
                "the server entry names this recipe but none of its {} tools fits its match rule; nothing expanded",
                tools.len()
            ),
        );
    }
    exp.actions = name_actions(server, tools, found, &mut exp.warnings);
    Ok(exp)
}

/// Walk one umbrella tool's discovery levels breadth-first, collecting the
/// last level's items. Stops at the recipe's `max_calls` or the deadline.
#[allow(clippy::too_many_arguments)]
async fn run_recipe<'r, C: Caller>(
    caller: &mut C,
    server: &ServerSpec,
    tool: &ToolRecord,
    recipe: &'r Recipe,
    end: Instant,
    deadline: Duration,
    exp: &mut Expansion,
    found: &mut Vec<Found<'r>>,
) {
    let umbrella = tool.name.as_str();
    let last = recipe.levels.len() - 1;
    let mut queue = VecDeque::from([Work {
        level: 0,
        bindings: Vec::new(),
        expected: None,
    }]);
    let mut made = 0usize;
    while let Some(work) = queue.pop_front() {
        let level = &recipe.levels[work.level];
        let args = template::render(&level.call, &work.bindings);
        let shown = show_call(umbrella, &args);
        if made >= recipe.max_calls {
            warn(
                &mut exp.warnings,
                server,
                recipe,
                format!(
                    "stopped at max_calls = {}; {} listings not fetched (next: {shown})",
                    recipe.max_calls,
                    queue.len() + 1
                ),
            );
            break;
        }
        if Instant::now() >= end {
            warn(
                &mut exp.warnings,
                server,
                recipe,
                format!(
                    "deadline of {:.1}s reached; {} listings not fetched (next: {shown})",
                    deadline.as_secs_f64(),
                    queue.len() + 1
                ),
            );
            break;
        }
        if let Err(e) = recipe.check_discovery(umbrella, umbrella, &args) {
            warn(&mut exp.warnings, server, recipe, e);
            continue;
        }
        made += 1;
        exp.calls += 1;
        let outcome =
            tokio::time::timeout_at(end, discovery_call(caller, recipe, umbrella, args)).await;
        let result = match outcome {
            Err(_) => {
                warn(
                    &mut exp.warnings,
                    server,
                    recipe,
                    format!(
                        "call {shown} did not answer within the deadline of {:.1}s; {} listings not fetched",
                        deadline.as_secs_f64(),
                        queue.len()
                    ),
                );
                break;
            }
            Ok(Err(e)) => {
                warn(
                    &mut exp.warnings,
                    server,
                    recipe,
                    format!("call {shown} failed: {e}"),
                );
                continue;
            }
            Ok(Ok(r)) => r,
        };
        let text = answer_text(&result);
        if result
            .get("isError")
            .is_some_and(|e| e == &Value::Bool(true))
        {
            warn(
                &mut exp.warnings,
                server,
                recipe,
                format!(
                    "call {shown} failed: the server answered an error: {}",
                    excerpt(text.trim(), 300)
                ),
            );
            continue;
        }
        let items = match level.parser.parse(&text, result.get("structuredContent")) {
            Ok(items) => items,
            Err(e) => {
                warn(
                    &mut exp.warnings,
                    server,
                    recipe,
                    format!(
                        "call {shown}: {e} (answer begins {:?})",
                        excerpt(&text, 120)
                    ),
                );
                continue;
            }
        };
        if items.is_empty() {
            warn(
                &mut exp.warnings,
                server,
                recipe,
                format!(
                    "call {shown}: the recipe's level {} expressions matched nothing in the answer (answer begins {:?})",
                    work.level + 1,
                    excerpt(&text, 120)
                ),
            );
            continue;
        }
        let mut seen = HashSet::new();
        let mut kept = 0usize;
        for item in items {
            if !seen.insert(item.name.clone()) {
                warn(
                    &mut exp.warnings,
                    server,
                    recipe,
                    format!("call {shown} lists \"{}\" twice; kept the first", item.name),
                );
                continue;
            }
            kept += 1;
            if work.level == last {
                found.push(Found {
                    recipe,
                    parent: umbrella.to_string(),
                    bindings: work.bindings.clone(),
                    item,
                });
            } else if !usable_value(&item.name) {
                warn(
                    &mut exp.warnings,
                    server,
                    recipe,
                    format!(
                        "call {shown}: skipped {:?}: not a usable {} name",
                        excerpt(&item.name, 60),
                        level.var
                    ),
                );
            } else {
                let mut bindings = work.bindings.clone();
                bindings.push((level.var.clone(), item.name.clone()));
                queue.push_back(Work {
                    level: work.level + 1,
                    bindings,
                    expected: item.count,
                });
            }
        }
        if let Some(n) = work.expected.filter(|n| *n != kept) {
            warn(
                &mut exp.warnings,
                server,
                recipe,
                format!("call {shown} listed {kept} items but the listing above announced {n}"),
            );
        }
    }
}

/// Category of an action: the recipe's `action.category` template, else the
/// inner levels' names joined by ".".
fn category_of(f: &Found) -> Option<String> {
    let c = match &f.recipe.action.category {
        Some(t) => template::render_str(t, &f.bindings),
        None => f
            .bindings
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("."),
    };
    (!c.trim().is_empty()).then_some(c)
}

/// Give every action a name unique within the server and build its record.
/// A name listed under two categories (or clashing with an ordinary tool)
/// becomes `category.action`, with a warning.
fn name_actions(
    server: &ServerSpec,
    tools: &[ToolRecord],
    found: Vec<Found>,
    warnings: &mut Vec<String>,
) -> Vec<ToolRecord> {
    let reserved: HashSet<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for f in &found {
        *counts.entry(f.item.name.as_str()).or_default() += 1;
    }
    let mut taken: HashSet<String> = reserved.iter().map(|s| s.to_string()).collect();
    // original name -> (recipe, [(category, final name)]) for one warning per name
    type Renames<'r> = BTreeMap<String, (&'r Recipe, Vec<(String, String)>)>;
    let mut renamed: Renames = BTreeMap::new();
    let mut out = Vec::with_capacity(found.len());
    for f in &found {
        let category = category_of(f);
        let base = f.item.name.clone();
        let clash = counts[base.as_str()] > 1 || reserved.contains(base.as_str());
        let mut name = if clash {
            format!("{}.{base}", category.as_deref().unwrap_or(&f.parent))
        } else {
            base.clone()
        };
        if taken.contains(&name) {
            let mut n = 2;
            while taken.contains(&format!("{name}_{n}")) {
                n += 1;
            }
            name = format!("{name}_{n}");
        }
        taken.insert(name.clone());
        if name != base {
            renamed
                .entry(base.clone())
                .or_insert((f.recipe, Vec::new()))
                .1
                .push((category.clone().unwrap_or_default(), name.clone()));
        }
        out.push(record(server, f, name, category));
    }
    for (base, (recipe, list)) in renamed {
        let why = if reserved.contains(base.as_str()) {
            "it clashes with a tool of the same name"
        } else {
            "it is listed more than once"
        };
        let names: Vec<String> = list
            .iter()
            .map(|(c, n)| {
                if c.is_empty() {
                    format!("\"{n}\"")
                } else {
                    format!("\"{n}\" (category \"{c}\")")
                }
            })
            .collect();
        warn(
            warnings,
            server,
            recipe,
            format!(
                "action \"{base}\": {why}; catalogued as {}",
                names.join(", ")
            ),
        );
    }
    out
}

fn record(server: &ServerSpec, f: &Found, name: String, category: Option<String>) -> ToolRecord {
    let recipe = f.recipe;
    let last_var = recipe.levels.last().expect("non-empty").var.clone();
    let mut all = f.bindings.clone();
    all.push((last_var, f.item.name.clone()));
    let selector = template::render(&recipe.action.selector, &all);

    let mut props = Map::new();
    let mut required = Vec::new();
    let mut params = Vec::new();
    for p in &f.item.params {
        let mut s = Map::new();
        if let Some(t) = &p.ty {
            s.insert("type".into(), json!(t));
        }
        if let Some(d) = &p.description {
            s.insert("description".into(), json!(d));
        }
        props.insert(p.name.clone(), Value::Object(s));
        if p.required {
            required.push(json!(p.name));
        }
        let mut r = json!({"name": p.name, "description": p.description, "required": p.required});
        if let Some(t) = &p.ty {
            r["type"] = json!(t);
        }
        params.push(r);
    }
    let input_schema = json!({"type": "object", "properties": props, "required": required});
    let path: Map<String, Value> = all.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let raw = json!({
        "synthetic": true,
        "recipe": recipe.name,
        "parent": f.parent,
        "name": f.item.name,
        "description": f.item.description,
        "category": category,
        "selector": selector,
        "params_argument": recipe.action.params_arg,
        "params": params,
        "path": path,
    });
    let mut flags = Vec::new();
    if !valid_tool_name(&name) {
        flags.push("unsafe-name".to_string());
    }
    ToolRecord {
        server: server.name.clone(),
        name,
        parent: Some(f.parent.clone()),
        selector: Some(selector),
        category,
        title: None,
        description: f.item.description.clone(),
        input_schema,
        annotations: None,
        raw,
        flags,
    }
}

#[cfg(test)]
mod tests;
