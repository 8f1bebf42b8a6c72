//! Sources: read `servers.json` (the `mcpServers` map users already keep)
//! into validated `ServerSpec`s, and turn a spec into a `Launch` at crawl
//! time (substituting `${VAR}`s, preparing registry packages).
//!
//! Also gathers servers from several places (`gather`): servers files,
//! the MCP clients' own configs (`clients.rs`) and, for `import`, the MCP
//! registry (`registry.rs`).
//!
//! Never stores or prints a substituted value: `ServerSpec` keeps the
//! placeholders; only `Launch` holds secrets, and it lives in memory.

pub mod clients;
mod launch;
pub mod registry;

pub use launch::{launch, package_cache_dir, LaunchOptions, Prepared};

use crate::model::{HttpKind, ServerSpec, Transport};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Json { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{path}:{line}: server \"{server}\": {message}")]
    Entry { path: PathBuf, line: usize, server: String, message: String },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("server \"{server}\": environment variable ${{{var}}} is not set")]
    MissingVar { server: String, var: String },
    #[error("server \"{server}\": {message}")]
    Launch { server: String, message: String },
}

/// Keys other MCP clients put in the same file; accepted and ignored.
const FOREIGN_KEYS: &[&str] = &[
    "disabled", "alwaysAllow", "autoApprove", "transportType", "description", "name",
    "envFile", "inputs", "dev", "trust", "includeTools", "excludeTools",
];

/// Parsed server list plus non-fatal warnings (unknown keys, disabled entries).
#[derive(Debug, Default)]
pub struct ServerList {
    pub servers: Vec<ServerSpec>,
    pub warnings: Vec<String>,
}

/// Read and validate a servers file. Errors name the file, line and column.
pub fn load(path: &Path) -> Result<ServerList, SourceError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SourceError::Read { path: path.to_path_buf(), source })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<ServerList, SourceError> {
    let root: Value = serde_json::from_str(text).map_err(|e| SourceError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let file_err = |message: &str| SourceError::File { path: path.to_path_buf(), message: message.to_string() };
    let map = root
        .get("mcpServers")
        .or_else(|| root.get("servers"))
        .ok_or_else(|| file_err("expected a top-level \"mcpServers\" object"))?
        .as_object()
        .ok_or_else(|| file_err("\"mcpServers\" must be an object of NAME: {...}"))?;
    let mut out = ServerList::default();
    for (name, entry) in map {
        let line = line_of_key(text, name);
        let err = |message: String| SourceError::Entry {
            path: path.to_path_buf(),
            line,
            server: name.clone(),
            message,
        };
        if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_control()) {
            return Err(err("server names must be 1-128 printable characters".into()));
        }
        let obj = entry.as_object().ok_or_else(|| err("entry must be an object".into()))?;
        if obj.get("disabled").and_then(Value::as_bool) == Some(true) {
            out.warnings.push(format!("server \"{name}\": disabled, skipped"));
            continue;
        }
        let spec = parse_entry(name, obj).map_err(err)?;
        for key in obj.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) && !FOREIGN_KEYS.contains(&key.as_str()) {
                out.warnings.push(format!("{}:{line}: server \"{name}\": unknown key \"{key}\" ignored", path.display()));
            }
        }
        out.servers.push(spec);
    }
    Ok(out)
}

const KNOWN_KEYS: &[&str] = &[
    "command", "args", "env", "cwd", "url", "headers", "type", "package", "timeout", "product", "expand", "vendor",
];

fn parse_entry(name: &str, obj: &Map<String, Value>) -> Result<ServerSpec, String> {
    let strings = |key: &str| -> Result<Vec<String>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or(format!("\"{key}\" must be an array of strings")))
                .collect(),
            Some(_) => Err(format!("\"{key}\" must be an array of strings")),
        }
    };
    let map = |key: &str| -> Result<BTreeMap<String, String>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    Value::Number(n) => Ok((k.clone(), n.to_string())),
                    Value::Bool(b) => Ok((k.clone(), b.to_string())),
                    _ => Err(format!("\"{key}.{k}\" must be a string")),
                })
                .collect(),
            Some(_) => Err(format!("\"{key}\" must be an object of strings")),
        }
    };
    let opt_str = |key: &str| -> Result<Option<String>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{key}\" must be a string")),
        }
    };
    let timeout = match obj.get("timeout") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(t) if t > 0.0 && t.is_finite() => Some(t),
            _ => return Err("\"timeout\" must be a positive number of seconds".into()),
        },
    };
    let kinds = ["command", "url", "package"].iter().filter(|k| obj.contains_key(**k)).count();
    if kinds == 0 {
        return Err("needs one of \"command\" (stdio), \"url\" (remote) or \"package\" (registry package)".into());
    }
    if kinds > 1 {
        return Err("give only one of \"command\", \"url\" and \"package\"".into());
    }
    let transport = if let Some(cmd) = obj.get("command") {
        let command = cmd.as_str().filter(|s| !s.trim().is_empty()).ok_or("\"command\" must be a non-empty string")?;
        Transport::Stdio { command: command.to_string(), args: strings("args")?, env: map("env")?, cwd: opt_str("cwd")? }
    } else if obj.contains_key("url") {
        let url = opt_str("url")?.unwrap_or_default();
        if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("${")) {
            return Err(format!("\"url\" must start with http:// or https:// (got \"{}\")", display_url(&url)));
        }
        let http = match opt_str("type")?.as_deref() {
            None => HttpKind::Auto,
            Some("http") | Some("streamable-http") | Some("streamableHttp") => HttpKind::Streamable,
            Some("sse") => HttpKind::Sse,
            Some(other) => return Err(format!("unknown \"type\": \"{other}\" (expected \"http\" or \"sse\")")),
        };
        Transport::Http { url, headers: map("headers")?, http }
    } else {
        let pkg = obj["package"].as_object().ok_or("\"package\" must be an object")?;
        let s = |k: &str| pkg.get(k).and_then(Value::as_str).map(str::to_string);
        let registry_type = s("registryType").ok_or("\"package.registryType\" is required (\"npm\" or \"pypi\")")?;
        if registry_type != "npm" && registry_type != "pypi" {
            return Err(format!("unsupported package.registryType \"{registry_type}\" (expected \"npm\" or \"pypi\")"));
        }
        let identifier = s("identifier").filter(|i| !i.is_empty()).ok_or("\"package.identifier\" is required")?;
        if !identifier.chars().all(|c| c.is_ascii_alphanumeric() || "@/._-".contains(c)) {
            return Err(format!("package identifier \"{identifier}\" has characters a package name cannot have"));
        }
        let requirements = match pkg.get("requirements") {
            None => vec![],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Some(_) => return Err("\"package.requirements\" must be an array of strings".into()),
        };
        let mut args = strings("args")?;
        if let Some(Value::Array(a)) = pkg.get("packageArguments").or_else(|| pkg.get("args")) {
            args.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
        }
        Transport::Package {
            registry_type,
            identifier,
            version: s("version"),
            entry_point: s("entryPoint"),
            requirements,
            args,
            env: map("env")?,
        }
    };
    Ok(ServerSpec { name: name.to_string(), transport, timeout, product: opt_str("product")?, expand: opt_str("expand")?, vendor: opt_str("vendor")? })
}

/// Servers gathered from every source the user named, each with the file
/// it came from.
#[derive(Debug, Default)]
pub struct Gathered {
    pub servers: Vec<ServerSpec>,
    /// The file each server (same index) came from.
    pub origins: Vec<PathBuf>,
    /// For servers found in client configs: other entries naming the same server.
    pub also: Vec<Vec<String>>,
    pub warnings: Vec<String>,
    /// Client config files that exist (client, path, entries).
    pub client_files: Vec<(&'static str, PathBuf, usize)>,
}

impl Gathered {
    fn push(&mut self, spec: ServerSpec, origin: &Path, also: Vec<String>) {
        if let Some(i) = self.servers.iter().position(|s| s.name == spec.name) {
            self.warnings.push(format!(
                "{}: server \"{}\" is also in {}; the first one is kept",
                origin.display(),
                spec.name,
                self.origins[i].display()
            ));
            return;
        }
        self.servers.push(spec);
        self.origins.push(origin.to_path_buf());
        self.also.push(also);
    }
}

/// Read every servers file (an error in one is an error: it is the user's
/// own list) and, with `clients`, the MCP client configs found there (a bad
/// client config is a warning). A name given twice keeps the first.
pub fn gather(files: &[PathBuf], clients: Option<&clients::Places>) -> Result<Gathered, SourceError> {
    let mut out = Gathered::default();
    for f in files {
        let list = load(f)?;
        out.warnings.extend(list.warnings);
        for s in list.servers {
            out.push(s, f, vec![]);
        }
    }
    if let Some(places) = clients {
        let scan = clients::scan(places);
        out.warnings.extend(scan.warnings);
        out.client_files = scan.files;
        for f in scan.found {
            out.push(f.spec, &f.file, f.also);
        }
    }
    Ok(out)
}

/// 1-based line where `"key":` first appears (for error messages).
fn line_of_key(text: &str, key: &str) -> usize {
    let needle = serde_json::to_string(key).unwrap_or_default();
    match text.find(&needle) {
        Some(i) => text[..i].lines().count().max(1) + usize::from(text[..i].ends_with('\n')),
        None => 1,
    }
}

/// Substitute `${VAR}` from the environment. Missing variables are an error
/// naming the server and the variable, never the value.
pub fn resolve_vars(server: &str, s: &str) -> Result<String, SourceError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let var = &after[..j];
        let (name, default) = match var.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (var, None),
        };
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(_) => match default {
                Some(d) => out.push_str(d),
                None => return Err(SourceError::MissingVar { server: server.to_string(), var: name.to_string() }),
            },
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A JSON view of a spec that is safe to store: env and header values
/// dropped (keys kept), URL query strings dropped.
pub fn redacted(spec: &ServerSpec) -> Value {
    let keys = |m: &BTreeMap<String, String>| Value::from(m.keys().cloned().collect::<Vec<_>>());
    let transport = match &spec.transport {
        Transport::Stdio { command, args, env, cwd } => serde_json::json!({
            "kind": "stdio", "command": command, "args": redact_args(args),
            "env_keys": keys(env), "cwd": cwd,
        }),
        Transport::Http { url, headers, http } => serde_json::json!({
            "kind": "http", "url": display_url(url), "header_keys": keys(headers), "http": http,
        }),
        Transport::Package { registry_type, identifier, version, entry_point, requirements, args, env } => serde_json::json!({
            "kind": "package", "registryType": registry_type, "identifier": identifier, "version": version,
            "entryPoint": entry_point, "requirements": requirements,
            "args": redact_args(args), "env_keys": keys(env),
        }),
    };
    serde_json::json!({
        "name": spec.name, "transport": transport, "timeout": spec.timeout,
        "product": spec.product, "expand": spec.expand, "vendor": spec.vendor,
    })
}

/// Arguments with secrets hidden: `--token=...` keeps only the flag, the
/// argument after a flag whose name says secret (`--api-key VALUE`) becomes
/// `***`, and URLs lose user-info and query. `${VAR}` placeholders stay.
pub fn redact_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for a in args {
        if hide_next && !a.starts_with('-') {
            out.push(if a.starts_with("${") && a.ends_with('}') { a.clone() } else { "***".into() });
            hide_next = false;
            continue;
        }
        hide_next = a.starts_with('-') && !a.contains('=') && secret_name(a);
        out.push(redact_arg(a));
    }
    out
}

fn redact_arg(a: &str) -> String {
    let lower = a.to_ascii_lowercase();
    if ["token", "key", "secret", "password", "passwd", "auth"].iter().any(|w| lower.contains(w)) && a.contains('=') {
        let (k, _) = a.split_once('=').unwrap_or((a, ""));
        return format!("{k}=***");
    }
    if a.contains("://") {
        return display_url(a);
    }
    a.to_string()
}

/// A URL safe to print or store: scheme, host, port and path only (no
/// user-info, query or fragment, which may carry tokens).
pub fn display_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => return url.split(['?', '#']).next().unwrap_or("").to_string(),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

/// The values that `${VAR}`s in this spec stand for (at least 4 characters),
/// so error text and stderr from the server can be scrubbed of them.
pub fn secret_values(spec: &ServerSpec) -> Vec<String> {
    let mut texts: Vec<&str> = Vec::new();
    match &spec.transport {
        Transport::Stdio { command, args, env, cwd } => {
            texts.push(command);
            texts.extend(args.iter().map(String::as_str));
            texts.extend(env.values().map(String::as_str));
            texts.extend(cwd.as_deref());
        }
        Transport::Http { url, headers, .. } => {
            texts.push(url);
            texts.extend(headers.values().map(String::as_str));
        }
        Transport::Package { args, env, .. } => {
            texts.extend(args.iter().map(String::as_str));
            texts.extend(env.values().map(String::as_str));
        }
    }
    let mut out = Vec::new();
    // Literal values (client configs hold some) of headers and of env
    // variables whose names say they are secret.
    let literal = |v: &String, out: &mut Vec<String>| {
        if v.len() >= 6 && !v.contains("${") && !out.contains(v) {
            out.push(v.clone());
        }
    };
    match &spec.transport {
        Transport::Http { headers, .. } => headers.values().for_each(|v| {
            literal(v, &mut out);
            if let Some((_, token)) = v.split_once(' ') {
                literal(&token.to_string(), &mut out);
            }
        }),
        Transport::Stdio { env, .. } | Transport::Package { env, .. } => env
            .iter()
            .filter(|(k, _)| secret_name(k))
            .for_each(|(_, v)| literal(v, &mut out)),
    }
    for t in texts {
        let mut rest = t;
        while let Some(i) = rest.find("${") {
            let after = &rest[i + 2..];
            let Some(j) = after.find('}') else { break };
            let name = after[..j].split(":-").next().unwrap_or("");
            if let Ok(v) = std::env::var(name) {
                if v.len() >= 4 && !out.contains(&v) {
                    out.push(v);
                }
            }
            rest = &after[j + 1..];
        }
    }
    out
}

/// A variable or header name that says it holds a secret.
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["token", "key", "secret", "password", "passwd", "auth", "credential", "cookie", "_pat"].iter().any(|w| n.contains(w))
}

/// Replace every secret value in `text` with `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut s = text.to_string();
    for v in secrets {
        if s.contains(v.as_str()) {
            s = s.replace(v.as_str(), "***");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_three_shapes() {
        let text = r#"{"mcpServers": {
            "a": {"command": "node", "args": ["x.js"], "env": {"K": "${HOME}"}},
            "b": {"url": "http://127.0.0.1:1/mcp", "type": "http", "headers": {"Authorization": "Bearer ${T}"}},
            "c": {"package": {"registryType": "pypi", "identifier": "truenas-mcp-server", "version": "3.0.2", "requirements": ["mcp<2"]}, "timeout": 30, "product": "TrueNAS"}
        }}"#;
        let list = parse(text, Path::new("s.json")).unwrap();
        assert_eq!(list.servers.len(), 3);
        assert!(matches!(list.servers[1].transport, Transport::Http { http: HttpKind::Streamable, .. }));
        assert_eq!(list.servers[2].product.as_deref(), Some("TrueNAS"));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse("{\"mcpServers\": {\n  \"a\": {\"command\": }\n}}", Path::new("s.json")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("s.json:2:"), "{msg}");
        let e = parse("{\"mcpServers\": {\n\n  \"bad\": {\"args\": []}\n}}", Path::new("s.json")).unwrap_err();
        assert!(e.to_string().contains("s.json:3: server \"bad\""), "{e}");
    }

    #[test]
    fn vars_are_substituted_and_missing_ones_named() {
        std::env::set_var("MCPCAT_TEST_SECRET", "hunter2");
        assert_eq!(resolve_vars("s", "Bearer ${MCPCAT_TEST_SECRET}").unwrap(), "Bearer hunter2");
        assert_eq!(resolve_vars("s", "${MCPCAT_NOPE:-x}").unwrap(), "x");
        let e = resolve_vars("s", "${MCPCAT_NOPE}").unwrap_err().to_string();
        assert!(e.contains("MCPCAT_NOPE") && e.contains("\"s\""));
    }

    #[test]
    fn redaction_drops_values() {
        let text = r#"{"mcpServers": {"a": {"command": "x", "args": ["--token=abc"], "env": {"K": "literal-secret"}}}}"#;
        let list = parse(text, Path::new("s.json")).unwrap();
        let r = redacted(&list.servers[0]).to_string();
        assert!(!r.contains("literal-secret") && !r.contains("abc"), "{r}");
    }
}
