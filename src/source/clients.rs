//! The MCP servers already configured on this machine: reads the config
//! files of Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Gemini CLI
//! and Codex CLI (user files under HOME, project files under the current
//! directory) into `ServerSpec`s named `client:name`, one per distinct server.
//!
//! Never writes a config file, never prints or stores a value from one (env
//! and header values stay in memory; `${VAR}` placeholders are kept as they
//! are), and never lets a malformed file stop the others: it becomes a
//! warning naming the file and line.

use super::{line_of_key, parse_entry};
use crate::model::ServerSpec;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Where to look: the user's home, the project (current directory), and on
/// Windows `%APPDATA%`.
#[derive(Debug, Clone)]
pub struct Places {
    pub home: PathBuf,
    pub project: PathBuf,
    pub appdata: Option<PathBuf>,
    /// `CODEX_HOME` when set (else `~/.codex`).
    pub codex_home: Option<PathBuf>,
}

impl Places {
    /// HOME (or the platform's home directory), the current directory,
    /// APPDATA and CODEX_HOME from the environment.
    pub fn from_env() -> Option<Places> {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from).or_else(dirs::home_dir)?;
        Some(Places {
            home,
            project: std::env::current_dir().ok()?,
            appdata: std::env::var_os("APPDATA").filter(|h| !h.is_empty()).map(PathBuf::from),
            codex_home: std::env::var_os("CODEX_HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
        })
    }
}

/// How a client lays out its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `{"mcpServers": {NAME: {...}}}` (Claude Desktop, Cursor, Windsurf, Gemini, `.mcp.json`).
    McpServers,
    /// `~/.claude.json`: `mcpServers` plus `projects.{DIR}.mcpServers`.
    ClaudeUser,
    /// VS Code `mcp.json`: `{"servers": {...}, "inputs": [...]}` (JSONC).
    VsCode,
    /// VS Code `settings.json`: `"mcp": {"servers": {...}}` or `"mcp.servers"`.
    VsCodeSettings,
    /// Codex `config.toml`: `[mcp_servers.NAME]`.
    Codex,
}

/// One config file a client reads.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub client: &'static str,
    pub path: PathBuf,
    shape: Shape,
}

/// Every place the supported clients keep MCP servers (Linux, macOS and,
/// where known, Windows paths; a path that does not exist is skipped).
pub fn locations(p: &Places) -> Vec<ConfigFile> {
    let h = &p.home;
    let mac = h.join("Library/Application Support");
    let linux = h.join(".config");
    let mut v = Vec::new();
    let mut add = |client, path: PathBuf, shape| v.push(ConfigFile { client, path, shape });
    for base in [Some(&linux), Some(&mac), p.appdata.as_ref()].into_iter().flatten() {
        add("claude-desktop", base.join("Claude/claude_desktop_config.json"), Shape::McpServers);
    }
    add("claude-code", h.join(".claude.json"), Shape::ClaudeUser);
    add("claude-code", p.project.join(".mcp.json"), Shape::McpServers);
    add("cursor", h.join(".cursor/mcp.json"), Shape::McpServers);
    add("cursor", p.project.join(".cursor/mcp.json"), Shape::McpServers);
    for base in [Some(&linux), Some(&mac), p.appdata.as_ref()].into_iter().flatten() {
        add("vscode", base.join("Code/User/mcp.json"), Shape::VsCode);
        add("vscode", base.join("Code/User/settings.json"), Shape::VsCodeSettings);
    }
    add("vscode", p.project.join(".vscode/mcp.json"), Shape::VsCode);
    add("windsurf", h.join(".codeium/windsurf/mcp_config.json"), Shape::McpServers);
    add("gemini", h.join(".gemini/settings.json"), Shape::McpServers);
    add("gemini", p.project.join(".gemini/settings.json"), Shape::McpServers);
    let codex = p.codex_home.clone().unwrap_or_else(|| h.join(".codex"));
    add("codex", codex.join("config.toml"), Shape::Codex);
    // The project may be the home directory: read each file once.
    let mut seen = std::collections::HashSet::new();
    v.retain(|c| seen.insert(c.path.clone()));
    v
}

/// One server found in a client's config.
#[derive(Debug, Clone)]
pub struct Found {
    pub spec: ServerSpec,
    /// The file it came from.
    pub file: PathBuf,
    /// Other `client:name`s that configure the very same server.
    pub also: Vec<String>,
}

/// What a scan found: servers, the files read, and warnings.
#[derive(Debug, Default)]
pub struct Scan {
    pub found: Vec<Found>,
    /// Each file that exists, with its client and how many entries it had.
    pub files: Vec<(&'static str, PathBuf, usize)>,
    pub warnings: Vec<String>,
}

/// Read every client config under `places`.
pub fn scan(places: &Places) -> Scan {
    let mut scan = Scan::default();
    for cf in locations(places) {
        let text = match std::fs::read_to_string(&cf.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                scan.warnings.push(format!("{}: cannot read ({e}); skipped", cf.path.display()));
                continue;
            }
        };
        let entries = match read_file(&cf, &text, places) {
            Ok(e) => e,
            Err(message) => {
                scan.warnings.push(format!("{}: {message}; skipped", cf.path.display()));
                scan.files.push((cf.client, cf.path.clone(), 0));
                continue;
            }
        };
        scan.files.push((cf.client, cf.path.clone(), entries.len()));
        for (name, obj) in entries {
            let line = line_of_key(&text, &name);
            let warn = |m: &str| format!("{}:{line}: {} server \"{}\": {m}", cf.path.display(), cf.client, clip(&name));
            if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                scan.warnings.push(warn("names must be 1-100 printable characters; skipped"));
                continue;
            }
            let entry = match normalize(cf.client, &obj, places) {
                Ok(Some(e)) => e,
                Ok(None) => {
                    scan.warnings.push(warn("disabled, skipped"));
                    continue;
                }
                Err(m) => {
                    scan.warnings.push(warn(&format!("{m}; skipped")));
                    continue;
                }
            };
            let full = format!("{}:{name}", cf.client);
            match parse_entry(&full, &entry) {
                Ok(spec) => add(&mut scan.found, spec, &cf.path),
                Err(m) => scan.warnings.push(warn(&format!("{m}; skipped"))),
            }
        }
    }
    scan
}

/// Add a server unless the same one (same transport) is already there; a
/// different server under a taken name gets a `#2`, `#3`... suffix.
fn add(found: &mut Vec<Found>, mut spec: ServerSpec, file: &Path) {
    if let Some(f) = found.iter_mut().find(|f| f.spec.transport == spec.transport) {
        if f.spec.name != spec.name && !f.also.contains(&spec.name) {
            f.also.push(spec.name);
        }
        return;
    }
    if found.iter().any(|f| f.spec.name == spec.name) {
        let base = spec.name.clone();
        let mut n = 2;
        while found.iter().any(|f| f.spec.name == format!("{base}#{n}")) {
            n += 1;
        }
        spec.name = format!("{base}#{n}");
    }
    found.push(Found { spec, file: file.to_path_buf(), also: vec![] });
}

fn clip(s: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_control() { '?' } else { c }).take(60).collect();
    s
}

/// The file's server entries as (name, object) pairs, in file order.
fn read_file(cf: &ConfigFile, text: &str, places: &Places) -> Result<Vec<(String, Map<String, Value>)>, String> {
    let root: Value = if cf.shape == Shape::Codex {
        let t: toml::Value = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(0);
            format!("line {line}: invalid TOML: {}", e.message())
        })?;
        serde_json::to_value(t).map_err(|e| e.to_string())?
    } else {
        // JSON with comments and trailing commas (VS Code writes JSONC).
        json5::from_str(text).map_err(|e| match e {
            json5::Error::Message { msg, location: Some(l) } => format!("line {}, column {}: invalid JSON: {msg}", l.line, l.column),
            json5::Error::Message { msg, location: None } => format!("invalid JSON: {msg}"),
        })?
    };
    let mut maps: Vec<&Value> = Vec::new();
    match cf.shape {
        Shape::McpServers => maps.extend(root.get("mcpServers")),
        Shape::ClaudeUser => {
            maps.extend(root.get("mcpServers"));
            if let Some(Value::Object(projects)) = root.get("projects") {
                // This project's entries first, then every other project's:
                // all of them are servers an agent on this machine can call.
                let here = places.project.to_string_lossy();
                let mut dirs: Vec<&String> = projects.keys().collect();
                dirs.sort_by_key(|d| (d.as_str() != here, d.as_str()));
                maps.extend(dirs.into_iter().filter_map(|d| projects[d].get("mcpServers")));
            }
        }
        Shape::VsCode => maps.extend(root.get("servers")),
        Shape::VsCodeSettings => {
            maps.extend(root.get("mcp").and_then(|m| m.get("servers")));
            maps.extend(root.get("mcp.servers"));
        }
        Shape::Codex => maps.extend(root.get("mcp_servers")),
    }
    let mut out = Vec::new();
    for m in maps {
        let m = m.as_object().ok_or("the servers key must hold an object of NAME: {...}")?;
        for (name, entry) in m {
            match entry {
                Value::Object(o) => out.push((name.clone(), o.clone())),
                _ => out.push((name.clone(), Map::new())),
            }
        }
    }
    Ok(out)
}

/// A client's entry in our servers-file shape (only the keys we read), with
/// its variable syntax turned into ours. `None`: the entry is disabled.
fn normalize(client: &str, obj: &Map<String, Value>, places: &Places) -> Result<Option<Map<String, Value>>, String> {
    if obj.is_empty() {
        return Err("entry must be an object with a command or a URL".into());
    }
    if obj.get("disabled").and_then(Value::as_bool) == Some(true) || obj.get("enabled").and_then(Value::as_bool) == Some(false) {
        return Ok(None);
    }
    let vars = |s: &str| translate_vars(client, s, places);
    let mut out = Map::new();
    let str_of = |v: &Value| v.as_str().map(&vars).map(Value::String);
    if let Some(c) = obj.get("command") {
        out.insert("command".into(), str_of(c).ok_or("\"command\" must be a string")?);
        if let Some(Value::Array(a)) = obj.get("args") {
            let args: Vec<Value> = a.iter().map(|v| str_of(v).unwrap_or_else(|| Value::String(v.to_string()))).collect();
            out.insert("args".into(), Value::Array(args));
        }
        if let Some(cwd) = obj.get("cwd").and_then(&str_of) {
            out.insert("cwd".into(), cwd);
        }
    } else {
        let (url, kind) = if let Some(u) = obj.get("httpUrl") {
            (u, Some("http"))
        } else if let Some(u) = obj.get("serverUrl") {
            (u, None)
        } else if let Some(u) = obj.get("url") {
            // Gemini CLI's `url` is SSE (its streamable form is `httpUrl`);
            // Codex CLI's is Streamable HTTP.
            (u, match client {
                "gemini" => Some("sse"),
                "codex" => Some("http"),
                _ => None,
            })
        } else {
            return Err("needs \"command\" or a URL (\"url\", \"serverUrl\", \"httpUrl\")".into());
        };
        out.insert("url".into(), str_of(url).ok_or("the URL must be a string")?);
        let declared = obj.get("type").or_else(|| obj.get("transport")).and_then(Value::as_str);
        let kind = match declared {
            Some("http") | Some("streamable-http") | Some("streamableHttp") | Some("streamable_http") => Some("http"),
            Some("sse") => Some("sse"),
            _ => kind,
        };
        if let Some(k) = kind {
            out.insert("type".into(), Value::String(k.into()));
        }
    }
    let mut env = Map::new();
    if let Some(Value::Object(e)) = obj.get("env") {
        for (k, v) in e {
            env.insert(k.clone(), Value::String(vars(&scalar(v))));
        }
    }
    // Codex: `env_vars` names variables passed through from the user's environment.
    if let Some(Value::Array(names)) = obj.get("env_vars") {
        for n in names.iter().filter_map(Value::as_str) {
            env.insert(n.into(), Value::String(format!("${{{n}}}")));
        }
    }
    if !env.is_empty() {
        out.insert("env".into(), Value::Object(env));
    }
    let mut headers = Map::new();
    for key in ["headers", "http_headers"] {
        if let Some(Value::Object(h)) = obj.get(key) {
            for (k, v) in h {
                headers.insert(k.clone(), Value::String(vars(&scalar(v))));
            }
        }
    }
    // Codex: header values and a bearer token named by environment variable.
    if let Some(Value::Object(h)) = obj.get("env_http_headers") {
        for (k, v) in h {
            headers.insert(k.clone(), Value::String(format!("${{{}}}", scalar(v))));
        }
    }
    if let Some(var) = obj.get("bearer_token_env_var").and_then(Value::as_str) {
        headers.insert("Authorization".into(), Value::String(format!("Bearer ${{{var}}}")));
    }
    if !headers.is_empty() {
        if !out.contains_key("url") {
            return Err("headers on a command (stdio) server".into());
        }
        out.insert("headers".into(), Value::Object(headers));
    }
    Ok(Some(out))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Client variable syntax → ours: `${env:VAR}` → `${VAR}`; VS Code
/// `${input:id}` → `${ID}` (the value the user would have been asked for);
/// `${workspaceFolder}` and `${userHome}` → the project and home paths;
/// Gemini CLI's bare `$VAR` → `${VAR}`. `${VAR}` and `${VAR:-default}` stay.
fn translate_vars(client: &str, s: &str, places: &Places) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(body) = after.strip_prefix('{') {
            if let Some(j) = body.find('}') {
                let var = &body[..j];
                let replaced = if let Some(v) = var.strip_prefix("env:") {
                    format!("${{{v}}}")
                } else if let Some(id) = var.strip_prefix("input:") {
                    format!("${{{}}}", env_name(id))
                } else if var == "workspaceFolder" {
                    places.project.to_string_lossy().into_owned()
                } else if var == "userHome" {
                    places.home.to_string_lossy().into_owned()
                } else {
                    format!("${{{var}}}")
                };
                out.push_str(&replaced);
                rest = &body[j + 1..];
                continue;
            }
        } else if client == "gemini" {
            let n = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if n > 0 && !after.starts_with(|c: char| c.is_ascii_digit()) {
                out.push_str(&format!("${{{}}}", &after[..n]));
                rest = &after[n..];
                continue;
            }
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// An input id as an environment variable name: `api-key` → `API_KEY`.
fn env_name(id: &str) -> String {
    let s: String = id.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("INPUT_{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places { home: "/home/u".into(), project: "/src/p".into(), appdata: None, codex_home: None }
    }

    #[test]
    fn variables_become_ours() {
        let p = places();
        assert_eq!(translate_vars("vscode", "Bearer ${input:api-key}", &p), "Bearer ${API_KEY}");
        assert_eq!(translate_vars("cursor", "${env:GH_TOKEN}", &p), "${GH_TOKEN}");
        assert_eq!(translate_vars("vscode", "${workspaceFolder}/db", &p), "/src/p/db");
        assert_eq!(translate_vars("claude-code", "${X:-1}", &p), "${X:-1}");
        assert_eq!(translate_vars("gemini", "$TOKEN and $5", &p), "${TOKEN} and $5");
        assert_eq!(translate_vars("cursor", "costs $5", &p), "costs $5");
    }

    #[test]
    fn remote_keys_of_each_client() {
        let p = places();
        let o = |v: Value| v.as_object().unwrap().clone();
        let w = normalize("windsurf", &o(serde_json::json!({"serverUrl": "https://x/mcp"})), &p).unwrap().unwrap();
        assert_eq!(w["url"], "https://x/mcp");
        let g = normalize("gemini", &o(serde_json::json!({"url": "https://x/sse"})), &p).unwrap().unwrap();
        assert_eq!(g["type"], "sse");
        let g = normalize("gemini", &o(serde_json::json!({"httpUrl": "https://x/mcp"})), &p).unwrap().unwrap();
        assert_eq!(g["type"], "http");
        let c = normalize("codex", &o(serde_json::json!({"url": "https://x/mcp", "bearer_token_env_var": "TOK"})), &p).unwrap().unwrap();
        assert_eq!(c["headers"]["Authorization"], "Bearer ${TOK}");
        assert!(normalize("cursor", &o(serde_json::json!({"command": "x", "disabled": true})), &p).unwrap().is_none());
    }
}
