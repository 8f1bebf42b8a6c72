//! The small named types that flow between pipeline stages.
//!
//! `ServerSpec` (source → mcp), `ToolRecord` (mcp/expand → store → classify,
//! policy, site) and `Verdict` (classify → store → policy, site). Stages
//! exchange these and nothing else, so each stage can be tested alone.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One configured server, validated, with `${VAR}` placeholders still
/// unexpanded: secrets are substituted only at launch time (see
/// `source::resolve_env`) so a `ServerSpec` is safe to store and print.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSpec {
    pub name: String,
    pub transport: Transport,
    /// Per-server overall deadline in seconds (our key `timeout`).
    pub timeout: Option<f64>,
    /// Product family, e.g. "TrueNAS" (our key `product`).
    pub product: Option<String>,
    /// Expansion recipe named by the entry (our key `expand`).
    pub expand: Option<String>,
    /// Who publishes the server, e.g. "stripe" (our key `vendor`): the
    /// evaluation splits by it.
    #[serde(default)]
    pub vendor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpKind {
    /// No `type` given: try Streamable HTTP, fall back to legacy SSE.
    Auto,
    /// `"type": "http"` (or "streamable-http").
    Streamable,
    /// `"type": "sse"`: legacy HTTP+SSE.
    Sse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<String>,
    },
    Http {
        url: String,
        headers: BTreeMap<String, String>,
        http: HttpKind,
    },
    /// A registry package (MCP registry `server.json` shape); the launcher
    /// turns it into a stdio command (npx / venv / uvx).
    Package {
        registry_type: String,
        identifier: String,
        version: Option<String>,
        entry_point: Option<String>,
        requirements: Vec<String>,
        args: Vec<String>,
        env: BTreeMap<String, String>,
    },
}

/// One tool as the catalogue keeps it. `raw` is the tool's JSON exactly as
/// the server sent it; the other fields are read from it leniently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRecord {
    pub server: String,
    pub name: String,
    /// The umbrella tool this action was expanded from, if any.
    pub parent: Option<String>,
    /// Arguments to `parent` that address this action.
    pub selector: Option<Value>,
    /// Category from expansion (e.g. TrueNAS "sharing").
    pub category: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub input_schema: Value,
    pub annotations: Option<Value>,
    /// Not loaded by `Store::tools` (the classifier, policy and site never
    /// need it); `Store::versions` and `version_record` load it.
    #[serde(default)]
    pub raw: Value,
    /// Problems found while reading the tool leniently (e.g. `no-input-schema`).
    pub flags: Vec<String>,
}

impl ToolRecord {
    /// Read one `tools/list` entry leniently: a malformed tool becomes a
    /// flagged record, never an error that loses the server.
    pub fn from_raw(server: &str, raw: Value) -> ToolRecord {
        let mut flags = Vec::new();
        let name = match raw.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) => {
                flags.push("empty-name".to_string());
                String::new()
            }
            Some(v) => {
                flags.push("non-string-name".to_string());
                v.to_string()
            }
            None => {
                flags.push("no-name".to_string());
                String::new()
            }
        };
        let description = match raw.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                flags.push("non-string-description".to_string());
                Some(v.to_string())
            }
        };
        let title = raw
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                raw.get("annotations")
                    .and_then(|a| a.get("title"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        let input_schema = match raw.get("inputSchema") {
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => {
                flags.push("invalid-input-schema".to_string());
                serde_json::json!({"type": "object"})
            }
            None => {
                flags.push("no-input-schema".to_string());
                serde_json::json!({"type": "object"})
            }
        };
        let annotations = match raw.get("annotations") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(v) => {
                flags.push("invalid-annotations".to_string());
                Some(v.clone())
            }
        };
        if !valid_tool_name(&name) {
            flags.push("unsafe-name".to_string());
        }
        ToolRecord {
            server: server.to_string(),
            name,
            parent: None,
            selector: None,
            category: None,
            title,
            description,
            input_schema,
            annotations,
            raw,
            flags,
        }
    }

    /// sha256 of the tool's canonical JSON (keys sorted, no whitespace).
    /// For an expanded action the canonical JSON is its synthesised definition
    /// (name, description, schema, selector), so a change in the listing changes it.
    pub fn hash(&self) -> String {
        let v = if self.parent.is_some() {
            serde_json::json!({
                "name": self.name, "parent": self.parent, "selector": self.selector,
                "category": self.category, "description": self.description,
                "inputSchema": self.input_schema,
            })
        } else {
            self.raw.clone()
        };
        let mut h = Sha256::new();
        h.update(canonical_json(&v).as_bytes());
        hex::encode(h.finalize())
    }

    /// Read a boolean annotation leniently: `true`, `"true"`, `1` count.
    /// `None` means the author said nothing (unknown, not false).
    pub fn hint(&self, key: &str) -> Option<bool> {
        let v = self.annotations.as_ref()?.get(key)?;
        match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            },
            Value::Number(n) => n.as_f64().map(|f| f != 0.0),
            _ => None,
        }
    }
}

/// Names outside this are kept as data but flagged and never used raw in
/// file names or commands.
pub fn valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// Canonical JSON: object keys sorted recursively, compact.
pub fn canonical_json(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sort(v)).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Read,
    Write,
    Execute,
    Destructive,
    Financial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
        }
    }
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Read => "read",
            Category::Write => "write",
            Category::Execute => "execute",
            Category::Destructive => "destructive",
            Category::Financial => "financial",
        }
    }
}


/// A named risk signal and the text that raised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    pub name: String,
    pub evidence: String,
}

/// A rule that fired and what it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: String,
    pub matched: String,
}

/// What an agent calling the tool can do, with reasons a person can check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub kind: Kind,
    pub category: Category,
    pub risk: Risk,
    pub signals: Vec<Signal>,
    pub reasons: Vec<Reason>,
    pub confidence: f64,
    /// Content hash of the rules that produced this verdict.
    pub rules_hash: String,
    /// MCP's four hints as the classifier infers them with the author's
    /// annotations hidden.
    #[serde(default)]
    pub inferred: Inferred,
    /// The hints a gateway should act on: the author's where given, else the
    /// inferred ones; where the evidence strongly contradicts the author,
    /// the more cautious value (with `annotation-conflict`).
    #[serde(default)]
    pub effective: Hints,
}

/// MCP's four tool hints, as booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hints {
    #[serde(rename = "readOnlyHint")]
    pub read_only: bool,
    #[serde(rename = "destructiveHint")]
    pub destructive: bool,
    #[serde(rename = "idempotentHint")]
    pub idempotent: bool,
    #[serde(rename = "openWorldHint")]
    pub open_world: bool,
}

/// The spec's defaults: a tool the author said nothing about may write,
/// destroy, repeat with effect and reach the outside world.
impl Default for Hints {
    fn default() -> Hints {
        Hints { read_only: false, destructive: true, idempotent: false, open_world: true }
    }
}

/// One inferred hint: its value, how firm the evidence is (0..1), and the
/// evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InferredHint {
    pub value: bool,
    pub confidence: f64,
    pub evidence: String,
}

/// The four hints inferred without the author's annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Inferred {
    #[serde(rename = "readOnlyHint")]
    pub read_only: InferredHint,
    #[serde(rename = "destructiveHint")]
    pub destructive: InferredHint,
    #[serde(rename = "idempotentHint")]
    pub idempotent: InferredHint,
    #[serde(rename = "openWorldHint")]
    pub open_world: InferredHint,
}

impl Inferred {
    pub fn values(&self) -> Hints {
        Hints {
            read_only: self.read_only.value,
            destructive: self.destructive.value,
            idempotent: self.idempotent.value,
            open_world: self.open_world.value,
        }
    }
}

impl Verdict {
    pub fn has_signal(&self, name: &str) -> bool {
        self.signals.iter().any(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_reading_flags_instead_of_failing() {
        let t = ToolRecord::from_raw("s", json!({"name": "x", "description": 5}));
        assert_eq!(t.description.as_deref(), Some("5"));
        assert!(t.flags.contains(&"non-string-description".to_string()));
        assert!(t.flags.contains(&"no-input-schema".to_string()));
        let t = ToolRecord::from_raw("s", json!({"name": "x", "inputSchema": {}, "annotations": {"readOnlyHint": "true"}}));
        assert_eq!(t.hint("readOnlyHint"), Some(true));
        assert_eq!(t.hint("destructiveHint"), None);
    }

    #[test]
    fn hash_ignores_key_order() {
        let a = ToolRecord::from_raw("s", json!({"name": "x", "inputSchema": {"type": "object", "a": 1}}));
        let b = ToolRecord::from_raw("s", json!({"inputSchema": {"a": 1, "type": "object"}, "name": "x"}));
        assert_eq!(a.hash(), b.hash());
    }

    #[test]
    fn unsafe_names_are_flagged() {
        assert!(!valid_tool_name("../../etc/passwd"));
        assert!(valid_tool_name("pool.query"));
        let t = ToolRecord::from_raw("s", json!({"name": "../x", "inputSchema": {}}));
        assert!(t.flags.contains(&"unsafe-name".to_string()));
    }
}

/// A server ready to connect to: `${VAR}`s substituted, packages turned into
/// commands. Holds secrets, so its `Debug` never prints env or header values
/// and it is never stored.
#[derive(Clone)]
pub enum Launch {
    Stdio {
        program: String,
        args: Vec<String>,
        /// The full environment the child gets (already scrubbed).
        env: Vec<(String, String)>,
        cwd: Option<std::path::PathBuf>,
    },
    Http {
        url: String,
        headers: Vec<(String, String)>,
        http: HttpKind,
    },
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Launch::Stdio { program, args, env, cwd } => f
                .debug_struct("Stdio")
                .field("program", program)
                .field("args", &args.len())
                .field("env_keys", &env.iter().map(|(k, _)| k).collect::<Vec<_>>())
                .field("cwd", cwd)
                .finish(),
            Launch::Http { url: _, headers, http } => f
                .debug_struct("Http")
                .field("headers", &headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
                .field("http", http)
                .finish(),
        }
    }
}
