//! Expansion recipes: the TOML format (see `rules/expanders/README.md`),
//! read strictly (`deny_unknown_fields`) and turned once into validated,
//! compiled settings. Nothing outside this file reads the raw TOML.

use super::parse::{JsonParser, ParamRule, Parser, TextParser};
use super::template;
use super::ExpandError;
use crate::model::{canonical_json, ToolRecord};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Default cap on discovery calls per expanded tool.
pub const DEFAULT_MAX_CALLS: usize = 200;

// ---------------------------------------------------------------- raw TOML

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    max_calls: Option<Spanned<usize>>,
    #[serde(default)]
    auto: Option<bool>,
    #[serde(rename = "match")]
    matcher: Spanned<RawMatch>,
    #[serde(rename = "level")]
    levels: Spanned<Vec<RawLevel>>,
    action: Spanned<RawAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    #[serde(default)]
    server: Option<Spanned<String>>,
    #[serde(default)]
    tool: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<Spanned<String>>,
    #[serde(default)]
    schema: Option<Spanned<String>>,
    #[serde(default)]
    properties: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    var: Spanned<String>,
    call: Spanned<Value>,
    #[serde(default)]
    text: Option<RawText>,
    #[serde(default)]
    json: Option<RawJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    item: Spanned<String>,
    #[serde(default)]
    skip: Option<Spanned<String>>,
    #[serde(default, rename = "param")]
    params: Vec<RawParam>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    #[serde(default)]
    list: Option<Spanned<String>>,
    item: Spanned<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJson {
    items: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    count: Option<String>,
    #[serde(default)]
    params: Option<String>,
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    param_name: Option<String>,
    #[serde(default)]
    param_description: Option<String>,
    #[serde(default)]
    param_required: Option<String>,
    #[serde(default)]
    param_type: Option<String>,
    #[serde(default)]
    skip: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    selector: Spanned<Value>,
    #[serde(default)]
    params_arg: Option<String>,
    #[serde(default)]
    category: Option<Spanned<String>>,
}

// ---------------------------------------------------------------- compiled

/// Which tools a recipe applies to. Every condition given must hold.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    server: Option<Regex>,
    tool: Option<Regex>,
    description: Option<Regex>,
    schema: Option<Regex>,
    properties: Vec<String>,
}

impl Matcher {
    /// The tool-level conditions (everything but `server`).
    pub(crate) fn fits_tool(&self, tool: &ToolRecord) -> bool {
        if let Some(re) = &self.tool {
            if !re.is_match(&tool.name) {
                return false;
            }
        }
        if let Some(re) = &self.description {
            if !re.is_match(tool.description.as_deref().unwrap_or("")) {
                return false;
            }
        }
        if let Some(re) = &self.schema {
            if !re.is_match(&canonical_json(&tool.input_schema)) {
                return false;
            }
        }
        let props = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object);
        self.properties
            .iter()
            .all(|p| props.is_some_and(|m| m.contains_key(p)))
    }

    pub(crate) fn fits_server(&self, server: &str) -> bool {
        self.server.as_ref().is_none_or(|re| re.is_match(server))
    }
}

/// One discovery level: the call that lists it and how to read the answer.
#[derive(Debug, Clone)]
pub(crate) struct Level {
    /// The variable each item found here binds (its `name`).
    pub(crate) var: String,
    /// Argument template of the listing call.
    pub(crate) call: Value,
    pub(crate) parser: Parser,
}

/// How an action found at the last level is addressed.
#[derive(Debug, Clone)]
pub(crate) struct ActionSpec {
    pub(crate) selector: Value,
    pub(crate) params_arg: Option<String>,
    pub(crate) category: Option<String>,
}

/// One validated expansion recipe.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub name: String,
    pub description: Option<String>,
    /// The file it was read from.
    pub file: PathBuf,
    /// Cap on discovery calls when expanding one tool.
    pub max_calls: usize,
    /// Applies by itself to tools its match rule fits (else only when named).
    pub auto: bool,
    pub(crate) matcher: Matcher,
    pub(crate) levels: Vec<Level>,
    pub(crate) action: ActionSpec,
}

/// 1-based line and column of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Ctx<'a> {
    file: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ExpandError {
        let (line, column) = line_col(self.src, span.start);
        ExpandError::Invalid {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn regex(
        &self,
        s: &Spanned<String>,
        what: &str,
        groups: &[&str],
    ) -> Result<Regex, ExpandError> {
        let re = Regex::new(s.get_ref())
            .map_err(|e| self.err(s.span(), format!("invalid regex in {what}: {e}")))?;
        for g in groups {
            if !re.capture_names().flatten().any(|n| n == *g) {
                return Err(self.err(
                    s.span(),
                    format!("regex in {what} needs a named group (?P<{g}>...)"),
                ));
            }
        }
        Ok(re)
    }

    fn opt_regex(
        &self,
        s: &Option<Spanned<String>>,
        what: &str,
    ) -> Result<Option<Regex>, ExpandError> {
        s.as_ref().map(|s| self.regex(s, what, &[])).transpose()
    }
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Recipe {
    /// Parse and validate one recipe. `file` is used in error messages.
    pub fn from_toml(src: &str, file: &Path) -> Result<Recipe, ExpandError> {
        let raw: RawRecipe = toml::from_str(src).map_err(|e| ExpandError::Parse {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
        let cx = Ctx { file, src };

        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        {
            return Err(cx.err(
                raw.name.span(),
                "recipe name must be non-empty and use only letters, digits, '_', '-', '.'",
            ));
        }
        let max_calls = match &raw.max_calls {
            Some(m) if *m.get_ref() == 0 => {
                return Err(cx.err(m.span(), "max_calls must be at least 1"))
            }
            Some(m) => *m.get_ref(),
            None => DEFAULT_MAX_CALLS,
        };

        let m = raw.matcher.get_ref();
        let matcher = Matcher {
            server: cx.opt_regex(&m.server, "match.server")?,
            tool: cx.opt_regex(&m.tool, "match.tool")?,
            description: cx.opt_regex(&m.description, "match.description")?,
            schema: cx.opt_regex(&m.schema, "match.schema")?,
            properties: m.properties.clone(),
        };
        if matcher.tool.is_none()
            && matcher.description.is_none()
            && matcher.schema.is_none()
            && matcher.properties.is_empty()
        {
            return Err(cx.err(
                raw.matcher.span(),
                "[match] needs at least one tool condition (tool, description, schema or properties)",
            ));
        }

        if raw.levels.get_ref().is_empty() {
            return Err(cx.err(raw.levels.span(), "a recipe needs at least one [[level]]"));
        }
        let mut bound: Vec<String> = Vec::new();
        let mut levels = Vec::new();
        for (i, l) in raw.levels.get_ref().iter().enumerate() {
            let what = format!("level {}", i + 1);
            let var = l.var.get_ref().clone();
            if !is_ident(&var) {
                return Err(cx.err(l.var.span(), format!("{what}: var must be an identifier")));
            }
            if bound.contains(&var) {
                return Err(cx.err(
                    l.var.span(),
                    format!("{what}: var \"{var}\" is bound by an earlier level"),
                ));
            }
            let call = l.call.get_ref().clone();
            if !call.is_object() {
                return Err(cx.err(
                    l.call.span(),
                    format!("{what}: call must be a table of arguments"),
                ));
            }
            for v in template::vars(&call) {
                if !bound.contains(&v) {
                    return Err(cx.err(
                        l.call.span(),
                        format!("{what}: call uses {{{v}}}, which no earlier level binds"),
                    ));
                }
            }
            let parser = match (&l.text, &l.json) {
                (Some(t), None) => Parser::Text(compile_text(&cx, t, &what)?),
                (None, Some(j)) => Parser::Json(compile_json(&cx, j, &what)?),
                _ => {
                    return Err(cx.err(
                        l.var.span(),
                        format!("{what}: give exactly one of [level.text] or [level.json]"),
                    ))
                }
            };
            bound.push(var.clone());
            levels.push(Level { var, call, parser });
        }

        let a = raw.action.get_ref();
        let selector = a.selector.get_ref().clone();
        let Some(sel_obj) = selector.as_object() else {
            return Err(cx.err(a.selector.span(), "action.selector must be a table"));
        };
        let sel_vars = template::vars(&selector);
        for v in &sel_vars {
            if !bound.contains(v) {
                return Err(cx.err(
                    a.selector.span(),
                    format!("action.selector uses {{{v}}}, which no level binds"),
                ));
            }
        }
        let last = &levels.last().expect("checked non-empty").var;
        if !sel_vars.contains(last) {
            return Err(cx.err(
                a.selector.span(),
                format!(
                    "action.selector must use {{{last}}} (the action name bound by the last level)"
                ),
            ));
        }
        if let Some(p) = &a.params_arg {
            if p.is_empty() || sel_obj.contains_key(p) {
                return Err(cx.err(
                    a.selector.span(),
                    format!("action.params_arg \"{p}\" must be non-empty and not a selector key"),
                ));
            }
        }
        let category = match &a.category {
            Some(c) => {
                for v in template::string_vars(c.get_ref()) {
                    if !bound.contains(&v) {
                        return Err(cx.err(
                            c.span(),
                            format!("action.category uses {{{v}}}, which no level binds"),
                        ));
                    }
                }
                Some(c.get_ref().clone())
            }
            None => None,
        };
        // A discovery call must never be able to address an action.
        let mut with_params = selector.clone();
        if let (Some(p), Some(o)) = (&a.params_arg, with_params.as_object_mut()) {
            o.insert(p.clone(), Value::Object(Default::default()));
        }
        for (i, l) in levels.iter().enumerate() {
            let has_params_key = match (&a.params_arg, l.call.as_object()) {
                (Some(p), Some(o)) => o.contains_key(p),
                _ => false,
            };
            if has_params_key
                || template::overlaps(&l.call, &selector)
                || template::overlaps(&l.call, &with_params)
            {
                return Err(cx.err(
                    raw.levels.get_ref()[i].call.span(),
                    format!("level {}: this discovery call could address an action (it fits action.selector)", i + 1),
                ));
            }
        }

        Ok(Recipe {
            name,
            description: raw.description,
            file: file.to_path_buf(),
            max_calls,
            auto: raw.auto.unwrap_or(true),
            matcher,
            levels,
            action: ActionSpec {
                selector,
                params_arg: a.params_arg.clone(),
                category,
            },
        })
    }

    /// Does this recipe apply by itself to `tool` of server `server`?
    pub fn applies_to(&self, server: &str, tool: &ToolRecord) -> bool {
        self.auto && self.matcher.fits_server(server) && self.matcher.fits_tool(tool)
    }

    /// Does `tool` fit the recipe's tool conditions (used when a server names
    /// the recipe: its `server` condition and `auto` are then ignored)?
    pub fn fits_tool(&self, tool: &ToolRecord) -> bool {
        self.matcher.fits_tool(tool)
    }

    /// The discovery guard: `Ok` only if calling `tool` with `args` is one of
    /// this recipe's discovery calls (`args` is a rendering of a level's call
    /// template), for the umbrella `umbrella`. Every call goes through this.
    pub fn check_discovery(&self, umbrella: &str, tool: &str, args: &Value) -> Result<(), String> {
        if tool != umbrella {
            return Err(format!(
                "refusing to call {tool}: only {umbrella} is being expanded"
            ));
        }
        let mut without_params = args.clone();
        let had_params = match (&self.action.params_arg, without_params.as_object_mut()) {
            (Some(p), Some(o)) => o.remove(p).is_some(),
            _ => false,
        };
        if had_params || template::fits(&self.action.selector, &without_params) {
            return Err(format!(
                "refusing to call {tool}({}): it addresses an action, not a discovery listing",
                canonical_json(args)
            ));
        }
        if self.levels.iter().any(|l| template::fits(&l.call, args)) {
            Ok(())
        } else {
            Err(format!(
                "refusing to call {tool}({}): the arguments come from no discovery template of recipe \"{}\"",
                canonical_json(args),
                self.name
            ))
        }
    }

    /// Names of the variables bound by each level, root first.
    pub fn level_vars(&self) -> Vec<&str> {
        self.levels.iter().map(|l| l.var.as_str()).collect()
    }
}

fn compile_text(cx: &Ctx, t: &RawText, what: &str) -> Result<TextParser, ExpandError> {
    let item = cx.regex(&t.item, &format!("{what} text.item"), &["name"])?;
    let skip = cx.opt_regex(&t.skip, &format!("{what} text.skip"))?;
    let mut params = Vec::new();
    for (k, p) in t.params.iter().enumerate() {
        let pw = format!("{what} text.param {}", k + 1);
        let list = p
            .list
            .as_ref()
            .map(|l| cx.regex(l, &format!("{pw} list"), &["list"]))
            .transpose()?;
        let item = cx.regex(&p.item, &format!("{pw} item"), &["name"])?;
        params.push(ParamRule {
            list,
            item,
            required: p.required,
        });
    }
    Ok(TextParser { item, skip, params })
}

fn compile_json(cx: &Ctx, j: &RawJson, what: &str) -> Result<JsonParser, ExpandError> {
    let skip = cx.opt_regex(&j.skip, &format!("{what} json.skip"))?;
    let p = |s: &Option<String>, d: &str| super::parse::pointer(s.as_deref().unwrap_or(d));
    Ok(JsonParser {
        items: super::parse::pointer(&j.items),
        name: j.name.as_deref().map(super::parse::pointer),
        description: j.description.as_deref().map(super::parse::pointer),
        count: j.count.as_deref().map(super::parse::pointer),
        params: j.params.as_deref().map(super::parse::pointer),
        required: j.required.as_deref().map(super::parse::pointer),
        param_name: p(&j.param_name, "/name"),
        param_description: p(&j.param_description, "/description"),
        param_required: p(&j.param_required, "/required"),
        param_type: p(&j.param_type, "/type"),
        skip,
    })
}

/// All recipes of a directory, by name.
#[derive(Debug, Clone, Default)]
pub struct Recipes {
    list: Vec<Recipe>,
}

impl Recipes {
    /// Read `dir/*.toml` (sorted by file name). A missing directory holds no
    /// recipes; any bad file is an error naming it.
    pub fn load(dir: &Path) -> Result<Recipes, ExpandError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recipes::default()),
            Err(e) => {
                return Err(ExpandError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                })
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        let mut out = Recipes::default();
        for f in files {
            let src = std::fs::read_to_string(&f).map_err(|e| ExpandError::Io {
                path: f.clone(),
                source: e,
            })?;
            out.add(Recipe::from_toml(&src, &f)?)?;
        }
        Ok(out)
    }

    /// Add one recipe; names must be unique.
    pub fn add(&mut self, r: Recipe) -> Result<(), ExpandError> {
        if let Some(old) = self.get(&r.name) {
            return Err(ExpandError::Duplicate {
                name: r.name.clone(),
                first: old.file.clone(),
                second: r.file.clone(),
            });
        }
        self.list.push(r);
        self.list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Recipe> {
        self.list.iter().find(|r| r.name == name)
    }

    /// Recipe names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|r| r.name.as_str()).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Recipe> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
