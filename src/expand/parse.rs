//! Reading a discovery answer into items (categories or actions), by regex
//! over the answer's text or by JSON pointers into it. Pure functions: no
//! calls, no I/O.

use regex::Regex;
use serde_json::Value;

/// One thing a listing names: a category at an inner level, an action at the last.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub name: String,
    pub description: Option<String>,
    /// How many children the listing says this item has (cross-checked).
    pub count: Option<usize>,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
    pub ty: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Parser {
    Text(TextParser),
    Json(JsonParser),
}

#[derive(Debug, Clone)]
pub(crate) struct TextParser {
    /// Finds each item; groups `name`, optional `description`, `count`, `params`.
    pub item: Regex,
    /// Items whose name matches are dropped (e.g. a table's header row).
    pub skip: Option<Regex>,
    pub params: Vec<ParamRule>,
}

#[derive(Debug, Clone)]
pub(crate) struct ParamRule {
    /// Finds the parameter lists (group `list`) inside an item's block.
    pub list: Option<Regex>,
    /// Finds each parameter; groups `name`, optional `description`, `type`, `required`.
    pub item: Regex,
    /// Parameters found by this rule are required.
    pub required: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct JsonParser {
    pub items: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub count: Option<String>,
    pub params: Option<String>,
    pub required: Option<String>,
    pub param_name: String,
    pub param_description: String,
    pub param_required: String,
    pub param_type: String,
    pub skip: Option<Regex>,
}

impl Parser {
    /// Items in an answer. `Err` says why the answer could not be read at all;
    /// an empty list means the expressions matched nothing.
    pub(crate) fn parse(
        &self,
        text: &str,
        structured: Option<&Value>,
    ) -> Result<Vec<Item>, String> {
        match self {
            Parser::Text(t) => Ok(t.parse(text)),
            Parser::Json(j) => j.parse(text, structured),
        }
    }
}

fn clean(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || t == "—" || t == "-" || t == "–" {
        None
    } else {
        Some(t.to_string())
    }
}

fn schema_type(s: &str) -> Option<String> {
    let t = s.trim().to_ascii_lowercase();
    let t = match t.as_str() {
        "str" | "text" => "string",
        "int" => "integer",
        "bool" => "boolean",
        "float" | "double" => "number",
        "dict" | "map" => "object",
        "list" => "array",
        other => other,
    };
    matches!(
        t,
        "string" | "number" | "integer" | "boolean" | "object" | "array" | "null"
    )
    .then(|| t.to_string())
}

/// Add `p` unless a parameter of that name is there; a later "required" wins.
fn push_param(out: &mut Vec<Param>, p: Param) {
    if p.name.is_empty() {
        return;
    }
    if let Some(old) = out.iter_mut().find(|o| o.name == p.name) {
        old.required |= p.required;
        if old.description.is_none() {
            old.description = p.description;
        }
        if old.ty.is_none() {
            old.ty = p.ty;
        }
    } else {
        out.push(p);
    }
}

impl TextParser {
    pub(crate) fn parse(&self, text: &str) -> Vec<Item> {
        let caps: Vec<regex::Captures> = self.item.captures_iter(text).collect();
        let mut out = Vec::new();
        for (i, c) in caps.iter().enumerate() {
            let Some(name) = c.name("name").and_then(|m| clean(m.as_str())) else {
                continue;
            };
            if self.skip.as_ref().is_some_and(|re| re.is_match(&name)) {
                continue;
            }
            let whole = c.get(0).expect("group 0");
            // Parameters are read from the `params` group when the item regex
            // has one, else from the text between this item and the next.
            let block = match c.name("params") {
                Some(m) => m.as_str(),
                None => {
                    let end = caps
                        .get(i + 1)
                        .map_or(text.len(), |n| n.get(0).expect("group 0").start());
                    &text[whole.end().min(end)..end]
                }
            };
            let mut params = Vec::new();
            for rule in &self.params {
                let segments: Vec<&str> = match &rule.list {
                    Some(l) => l
                        .captures_iter(block)
                        .filter_map(|lc| lc.name("list").map(|m| m.as_str()))
                        .collect(),
                    None => vec![block],
                };
                for seg in segments {
                    for pc in rule.item.captures_iter(seg) {
                        let Some(pname) = pc.name("name").and_then(|m| clean(m.as_str())) else {
                            continue;
                        };
                        push_param(
                            &mut params,
                            Param {
                                name: pname,
                                description: pc.name("description").and_then(|m| clean(m.as_str())),
                                required: rule.required
                                    || pc
                                        .name("required")
                                        .is_some_and(|m| !m.as_str().trim().is_empty()),
                                ty: pc.name("type").and_then(|m| schema_type(m.as_str())),
                            },
                        );
                    }
                }
            }
            out.push(Item {
                name,
                description: c.name("description").and_then(|m| clean(m.as_str())),
                count: c.name("count").and_then(|m| m.as_str().trim().parse().ok()),
                params,
            });
        }
        out
    }
}

/// Turn `""`, `/a/0/b` (JSON pointer), `a.0.b`, `$.a[0].b` into a JSON pointer.
pub(crate) fn pointer(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s.starts_with('/') || s == "$" {
        return if s == "$" {
            String::new()
        } else {
            s.to_string()
        };
    }
    let s = s
        .strip_prefix("$.")
        .or_else(|| s.strip_prefix('$'))
        .unwrap_or(s);
    let mut out = String::new();
    for seg in s.replace('[', ".").replace(']', "").split('.') {
        if seg.is_empty() {
            continue;
        }
        out.push('/');
        out.push_str(&seg.replace('~', "~0").replace('/', "~1"));
    }
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "required" | "1"
        ),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// The JSON value inside an answer: the whole text, else the span from the
/// first `{`/`[` to the last `}`/`]` (prose around a JSON block), else
/// `structuredContent`.
fn json_of(text: &str, structured: Option<&Value>) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str::<Value>(text.trim()) {
        return Ok(v);
    }
    let start = text.find(['{', '[']);
    let end = text.rfind(['}', ']']);
    if let (Some(a), Some(b)) = (start, end) {
        if a < b {
            if let Ok(v) = serde_json::from_str::<Value>(&text[a..=b]) {
                return Ok(v);
            }
        }
    }
    if let Some(v) = structured {
        return Ok(v.clone());
    }
    Err("the answer is not JSON".to_string())
}

impl JsonParser {
    pub(crate) fn parse(
        &self,
        text: &str,
        structured: Option<&Value>,
    ) -> Result<Vec<Item>, String> {
        let v = json_of(text, structured)?;
        let Some(list) = v.pointer(&self.items) else {
            return Ok(Vec::new());
        };
        let entries: Vec<(Option<&str>, &Value)> = match list {
            Value::Array(a) => a.iter().map(|e| (None, e)).collect(),
            Value::Object(m) => m.iter().map(|(k, e)| (Some(k.as_str()), e)).collect(),
            _ => {
                return Err(format!(
                    "the value at {:?} is neither a list nor an object",
                    self.items
                ))
            }
        };
        let mut out = Vec::new();
        for (key, e) in entries {
            let name = match &self.name {
                Some(p) => e.pointer(p).and_then(scalar),
                None => None,
            }
            .or_else(|| key.and_then(clean))
            .or_else(|| scalar(e))
            .or_else(|| e.get("name").and_then(scalar));
            let Some(name) = name else { continue };
            if self.skip.as_ref().is_some_and(|re| re.is_match(&name)) {
                continue;
            }
            let description = match &self.description {
                Some(p) => e.pointer(p).and_then(scalar),
                None => key.and(e.as_str()).and_then(clean),
            };
            let count = self.count.as_ref().and_then(|p| {
                e.pointer(p).and_then(|c| {
                    c.as_u64()
                        .map(|n| n as usize)
                        .or_else(|| c.as_str()?.trim().parse().ok())
                })
            });
            let mut params = Vec::new();
            if let Some(pv) = self.params.as_ref().and_then(|p| e.pointer(p)) {
                self.read_params(pv, &mut params);
            }
            if let Some(Value::Array(req)) = self.required.as_ref().and_then(|p| e.pointer(p)) {
                for r in req.iter().filter_map(Value::as_str) {
                    match params.iter_mut().find(|p| p.name == r) {
                        Some(p) => p.required = true,
                        None => push_param(
                            &mut params,
                            Param {
                                name: r.to_string(),
                                description: None,
                                required: true,
                                ty: None,
                            },
                        ),
                    }
                }
            }
            out.push(Item {
                name,
                description,
                count,
                params,
            });
        }
        Ok(out)
    }

    fn read_params(&self, pv: &Value, out: &mut Vec<Param>) {
        match pv {
            // A JSON Schema: properties + required.
            Value::Object(m) if m.get("properties").is_some_and(Value::is_object) => {
                let req: Vec<&str> = m
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for (k, spec) in m["properties"].as_object().expect("checked") {
                    push_param(
                        out,
                        Param {
                            name: k.clone(),
                            description: spec.get("description").and_then(scalar),
                            required: req.contains(&k.as_str()),
                            ty: spec
                                .get("type")
                                .and_then(Value::as_str)
                                .and_then(schema_type),
                        },
                    );
                }
            }
            // name -> description, or name -> {description, required, type}.
            Value::Object(m) => {
                for (k, spec) in m {
                    let p = match spec {
                        Value::Object(_) => self.param_of(Some(k), spec),
                        other => Some(Param {
                            name: k.clone(),
                            description: scalar(other),
                            required: false,
                            ty: None,
                        }),
                    };
                    if let Some(p) = p {
                        push_param(out, p);
                    }
                }
            }
            Value::Array(a) => {
                for spec in a {
                    let p = match spec {
                        Value::String(s) => clean(s).map(|n| Param {
                            name: n,
                            description: None,
                            required: false,
                            ty: None,
                        }),
                        _ => self.param_of(None, spec),
                    };
                    if let Some(p) = p {
                        push_param(out, p);
                    }
                }
            }
            _ => {}
        }
    }

    fn param_of(&self, key: Option<&String>, spec: &Value) -> Option<Param> {
        let name = spec
            .pointer(&self.param_name)
            .and_then(scalar)
            .or_else(|| key.and_then(|k| clean(k)))?;
        Some(Param {
            name,
            description: spec.pointer(&self.param_description).and_then(scalar),
            required: truthy(spec.pointer(&self.param_required)),
            ty: spec
                .pointer(&self.param_type)
                .and_then(Value::as_str)
                .and_then(schema_type),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers() {
        assert_eq!(pointer(""), "");
        assert_eq!(pointer("$"), "");
        assert_eq!(pointer("/a/0"), "/a/0");
        assert_eq!(pointer("a.b"), "/a/b");
        assert_eq!(pointer("$.a[2].b"), "/a/2/b");
    }

    fn jp(items: &str) -> JsonParser {
        JsonParser {
            items: pointer(items),
            name: None,
            description: None,
            count: None,
            params: Some("/params".into()),
            required: Some("/required".into()),
            param_name: "/name".into(),
            param_description: "/description".into(),
            param_required: "/required".into(),
            param_type: "/type".into(),
            skip: None,
        }
    }

    #[test]
    fn json_shapes() {
        let p = jp("groups");
        let items = p
            .parse(r#"Here: {"groups": ["a", "b"]} done"#, None)
            .unwrap();
        assert_eq!(
            items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );

        let items = p
            .parse(
                r#"{"groups": {"x": "the x", "y": {"name": "why", "params": {"type": "object",
                   "properties": {"q": {"type": "str", "description": "query"}}, "required": ["q"]}}}}"#,
                None,
            )
            .unwrap();
        assert_eq!(items[0].name, "x");
        assert_eq!(items[0].description.as_deref(), Some("the x"));
        assert_eq!(items[1].name, "y");
        assert_eq!(
            items[1].params,
            vec![Param {
                name: "q".into(),
                description: Some("query".into()),
                required: true,
                ty: Some("string".into())
            }]
        );

        let items = p
            .parse("see structured content", Some(&json!({"groups": [{"name": "z", "params": [{"name": "a", "required": "yes"}, "b"]}]})))
            .unwrap();
        assert_eq!(items[0].params.len(), 2);
        assert!(items[0].params[0].required && !items[0].params[1].required);
        assert!(p.parse("nothing here", None).is_err());
        assert!(p.parse(r#"{"other": 1}"#, None).unwrap().is_empty());
    }
}
