//! The MCP registry: turns `server.json` entries (a file, or a registry's
//! list API paged through with `cursor`/`nextCursor`, `updated_since` for an
//! incremental import) into entries of an ordinary servers file.
//!
//! Maps npm and PyPI packages (with their package arguments and environment
//! variables) and remotes (Streamable HTTP, SSE, with headers); anything else
//! is reported as not supported. A malformed entry is a warning naming it;
//! the rest are imported. Never writes a secret: required and secret values
//! become `${VAR}` placeholders, and it never runs anything it imports.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The key of the registry's own metadata in `_meta`.
const OFFICIAL: &str = "io.modelcontextprotocol.registry/official";
/// Pages read at most from one registry (a bound against an endless cursor).
const MAX_PAGES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Json { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{what}: {message}")]
    Fetch { what: String, message: String },
    #[error("{0}")]
    Shape(String),
}

/// How to read a registry.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Only servers updated since this RFC 3339 time (`updated_since`).
    pub updated_since: Option<String>,
    /// Import deprecated servers too (deleted ones never are).
    pub include_deprecated: bool,
    /// Servers asked for per page.
    pub page_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { updated_since: None, include_deprecated: false, page_size: 100 }
    }
}

/// What an import produced.
#[derive(Debug, Default)]
pub struct Imported {
    /// Servers-file entries by server name, in the order read.
    pub entries: Vec<(String, Map<String, Value>)>,
    /// Servers the registry marks deleted (or deprecated, unless included):
    /// an incremental import removes them from the servers file.
    pub withdrawn: Vec<(String, String)>,
    /// Entries not imported and why (malformed, not supported).
    pub warnings: Vec<String>,
    pub pages: usize,
}

/// Read a `server.json` file (or a saved list-API answer).
pub fn from_file(path: &Path, opts: &ImportOptions) -> Result<Imported, RegistryError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read { path: path.to_path_buf(), source })?;
    let root: Value = serde_json::from_str(&text).map_err(|e| RegistryError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut out = Imported { pages: 1, ..Default::default() };
    if root.get("servers").is_some() {
        read_page(&root, &path.display().to_string(), opts, &mut out)?;
    } else {
        take(&root, None, &path.display().to_string(), opts, &mut out);
    }
    Ok(out)
}

/// The list URL for a registry base (`https://host`, `.../v0` or `.../v0/servers`).
fn list_url(base: &str) -> Result<reqwest::Url, RegistryError> {
    let bad = |m: String| RegistryError::Fetch { what: super::display_url(base), message: m };
    let mut url = reqwest::Url::parse(base).map_err(|e| bad(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the registry URL must be http:// or https://".into()));
    }
    let path = url.path().trim_end_matches('/').to_string();
    let path = if path.ends_with("/servers") {
        path
    } else if path.ends_with("/v0") || path.ends_with("/v0.1") {
        format!("{path}/servers")
    } else {
        format!("{path}/v0/servers")
    };
    url.set_path(&path);
    url.set_query(None);
    Ok(url)
}

/// Page through a registry's list API (latest versions only).
pub async fn from_registry(base: &str, opts: &ImportOptions) -> Result<Imported, RegistryError> {
    let list = list_url(base)?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("mcp-catalogue/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RegistryError::Fetch { what: list.to_string(), message: e.to_string() })?;
    let mut out = Imported::default();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let mut url = list.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &opts.page_size.to_string());
            q.append_pair("version", "latest");
            if let Some(t) = &opts.updated_since {
                q.append_pair("updated_since", t);
            }
            if let Some(c) = &cursor {
                q.append_pair("cursor", c);
            }
        }
        let what = format!("{} (page {})", super::display_url(url.as_str()), out.pages + 1);
        let fail = |message: String| RegistryError::Fetch { what: what.clone(), message };
        let resp = client.get(url.clone()).send().await.map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}")));
        }
        let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
        let page: Value = serde_json::from_slice(&body).map_err(|e| fail(format!("invalid JSON: {e}")))?;
        out.pages += 1;
        read_page(&page, &what, opts, &mut out)?;
        let next = page.pointer("/metadata/nextCursor").or_else(|| page.pointer("/metadata/next_cursor")).and_then(Value::as_str);
        match next {
            Some(c) if !c.is_empty() => {
                if !seen.insert(c.to_string()) {
                    out.warnings.push(format!("{what}: the registry repeated cursor {c:?}; stopped there"));
                    break;
                }
                if out.pages >= MAX_PAGES {
                    out.warnings.push(format!("stopped after {MAX_PAGES} pages"));
                    break;
                }
                cursor = Some(c.to_string());
            }
            _ => break,
        }
    }
    Ok(out)
}

fn read_page(page: &Value, what: &str, opts: &ImportOptions, out: &mut Imported) -> Result<(), RegistryError> {
    let items = page
        .get("servers")
        .and_then(Value::as_array)
        .ok_or_else(|| RegistryError::Shape(format!("{what}: expected {{\"servers\": [...]}}")))?;
    for (i, item) in items.iter().enumerate() {
        let at = format!("{what}, entry {}", i + 1);
        // Newer answers wrap each server.json in {"server": ..., "_meta": ...}.
        let (server, outer_meta) = match item.get("server") {
            Some(s) if s.is_object() => (s, item.get("_meta")),
            _ => (item, None),
        };
        take(server, outer_meta, &at, opts, out);
    }
    Ok(())
}

/// One server.json: imported, withdrawn, or a warning.
fn take(server: &Value, outer_meta: Option<&Value>, at: &str, opts: &ImportOptions, out: &mut Imported) {
    let name = server.get("name").and_then(Value::as_str).unwrap_or("");
    let label = if name.is_empty() { at.to_string() } else { format!("{at} \"{}\"", clip(name)) };
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        out.warnings.push(format!("{label}: \"name\" must be 1-128 printable characters; skipped"));
        return;
    }
    let official = outer_meta
        .and_then(|m| m.get(OFFICIAL))
        .or_else(|| server.pointer("/_meta").and_then(|m| m.get(OFFICIAL)));
    let status = official.and_then(|m| m.get("status")).or_else(|| server.get("status")).and_then(Value::as_str).unwrap_or("active");
    if official.and_then(|m| m.get("isLatest")).and_then(Value::as_bool) == Some(false) {
        return;
    }
    if status == "deleted" || (status == "deprecated" && !opts.include_deprecated) {
        out.withdrawn.push((name.to_string(), status.to_string()));
        return;
    }
    match entry(server) {
        Ok(e) => {
            out.entries.retain(|(n, _)| n != name);
            out.entries.push((name.to_string(), e));
        }
        Err(m) => out.warnings.push(format!("{label}: {m}; skipped")),
    }
}

fn clip(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).take(80).collect()
}

/// A server.json as a servers-file entry: its first npm/PyPI package that
/// runs over stdio, else its first remote.
fn entry(server: &Value) -> Result<Map<String, Value>, String> {
    let name = server["name"].as_str().unwrap_or("");
    let mut unsupported = Vec::new();
    let mut e = Map::new();
    let mut needs: Vec<String> = Vec::new();
    let packages = match server.get("packages") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err("\"packages\" must be an array".into()),
    };
    let remotes = match server.get("remotes") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err("\"remotes\" must be an array".into()),
    };
    let mut done = false;
    for p in packages {
        let rt = p.get("registryType").or_else(|| p.get("registry_type")).and_then(Value::as_str).unwrap_or("");
        let transport = p.pointer("/transport/type").and_then(Value::as_str).unwrap_or("stdio");
        if !matches!(rt, "npm" | "pypi") {
            unsupported.push(format!("package type \"{}\"", clip(rt)));
            continue;
        }
        if transport != "stdio" {
            unsupported.push(format!("{rt} package over \"{}\"", clip(transport)));
            continue;
        }
        let id = p.get("identifier").and_then(Value::as_str).ok_or("a package has no \"identifier\"")?;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "@/._-".contains(c)) {
            return Err(format!("package identifier \"{}\" has characters a package name cannot have", clip(id)));
        }
        let version = p.get("version").and_then(Value::as_str).or_else(|| server.get("version").and_then(Value::as_str));
        let mut pkg = json!({"registryType": rt, "identifier": id});
        if let Some(v) = version.filter(|v| !v.is_empty() && *v != "latest") {
            pkg["version"] = json!(v);
        }
        let args = arguments(p.get("packageArguments"), &mut needs)?;
        if !args.is_empty() {
            pkg["packageArguments"] = json!(args);
        }
        if p.get("runtimeArguments").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            needs.push("its runtimeArguments are not applied (npx/uvx run with their defaults)".into());
        }
        e.insert("package".into(), pkg);
        let env = environment(p.get("environmentVariables"), &mut needs)?;
        if !env.is_empty() {
            e.insert("env".into(), Value::Object(env));
        }
        done = true;
        break;
    }
    if !done {
        for r in remotes {
            let kind = r.get("type").or_else(|| r.get("transport_type")).and_then(Value::as_str).unwrap_or("");
            let kind = match kind {
                "streamable-http" | "streamable" | "http" => "http",
                "sse" => "sse",
                other => {
                    unsupported.push(format!("remote type \"{}\"", clip(other)));
                    continue;
                }
            };
            let url = r.get("url").and_then(Value::as_str).ok_or("a remote has no \"url\"")?;
            let url = placeholders(url, &mut needs);
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!("remote url \"{}\" is not http(s)", super::display_url(&url)));
            }
            e.insert("url".into(), json!(url));
            e.insert("type".into(), json!(kind));
            let headers = headers(r.get("headers"), &mut needs)?;
            if !headers.is_empty() {
                e.insert("headers".into(), Value::Object(headers));
            }
            done = true;
            break;
        }
    }
    if !done {
        return Err(if unsupported.is_empty() {
            "no packages or remotes".into()
        } else {
            format!("not supported: {}", unsupported.join(", "))
        });
    }
    let mut description = server.get("description").and_then(Value::as_str).map(clip_long).unwrap_or_default();
    if !needs.is_empty() {
        if !description.is_empty() {
            description.push_str(" — ");
        }
        description.push_str(&needs.join("; "));
    }
    if !description.is_empty() {
        e.insert("description".into(), json!(description));
    }
    // The namespace (io.github.owner) is who publishes it.
    if let Some((ns, _)) = name.split_once('/') {
        e.insert("vendor".into(), json!(ns));
    }
    Ok(e)
}

fn clip_long(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(500).collect()
}

fn valid_var(n: &str) -> bool {
    !n.is_empty() && !n.starts_with(|c: char| c.is_ascii_digit()) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `{name}` references (the registry's variable syntax) → `${NAME}`.
fn placeholders(s: &str, needs: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j) if valid_var(&after[..j].replace('-', "_")) && !rest[..i].ends_with('$') => {
                let var = after[..j].replace('-', "_").to_ascii_uppercase();
                out.push_str(&rest[..i]);
                out.push_str(&format!("${{{var}}}"));
                let note = format!("set {var}");
                if !needs.contains(&note) {
                    needs.push(note);
                }
                rest = &after[j + 1..];
            }
            _ => {
                out.push_str(&rest[..=i]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// Package arguments in order: positional values, named `--flag value`.
/// A required argument without a value becomes a `${VAR}` placeholder.
fn arguments(v: Option<&Value>, needs: &mut Vec<String>) -> Result<Vec<String>, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(vec![]) };
    let list = v.as_array().ok_or("\"packageArguments\" must be an array")?;
    let mut out = Vec::new();
    for a in list {
        let kind = field(a, "type").unwrap_or("positional");
        let required = a.get("isRequired").and_then(Value::as_bool).unwrap_or(false);
        let value = field(a, "value").or_else(|| field(a, "default")).map(|s| placeholders(s, needs));
        let value = match value {
            Some(v) => Some(v),
            None if required => {
                let hint = field(a, "valueHint").or_else(|| field(a, "name")).unwrap_or("ARG");
                let var: String = hint.trim_start_matches('-').chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
                let var = if valid_var(&var) { var } else { format!("ARG_{var}") };
                needs.push(format!("set {var} (argument {})", clip(hint)));
                Some(format!("${{{var}}}"))
            }
            None => None,
        };
        match kind {
            "named" => {
                let name = field(a, "name").ok_or("a named argument has no \"name\"")?;
                if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("argument name \"{}\" is not a flag", clip(name)));
                }
                match value {
                    Some(v) => out.extend([name.to_string(), v]),
                    // A flag without a value is given only when required.
                    None if required => out.push(name.to_string()),
                    None => {}
                }
            }
            "positional" => out.extend(value),
            other => return Err(format!("unknown argument type \"{}\"", clip(other))),
        }
    }
    Ok(out)
}

/// Environment variables: required or secret ones as `${NAME}`, others with
/// a default as `${NAME:-default}`; optional ones without a default omitted.
fn environment(v: Option<&Value>, needs: &mut Vec<String>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(out) };
    for e in v.as_array().ok_or("\"environmentVariables\" must be an array")? {
        let name = field(e, "name").ok_or("an environment variable has no \"name\"")?;
        if !valid_var(name) {
            return Err(format!("environment variable name \"{}\" is not a valid name", clip(name)));
        }
        let required = e.get("isRequired").and_then(Value::as_bool).unwrap_or(false);
        let secret = e.get("isSecret").and_then(Value::as_bool).unwrap_or(false);
        let default = field(e, "value").or_else(|| field(e, "default")).filter(|d| !d.contains('}'));
        let value = match (secret, default) {
            (false, Some(d)) => format!("${{{name}:-{d}}}"),
            _ if required || secret => format!("${{{name}}}"),
            _ => continue,
        };
        if required {
            let what = field(e, "description").map(|d| format!(": {}", clip(d))).unwrap_or_default();
            needs.push(format!("set {name}{}{what}", if secret { " (secret)" } else { "" }));
        }
        out.insert(name.into(), json!(value));
    }
    Ok(out)
}

/// Remote headers: values always placeholders (`{var}` → `${VAR}`, or
/// `${HEADER_NAME}` when the registry gives none); optional ones without a
/// value omitted.
fn headers(v: Option<&Value>, needs: &mut Vec<String>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(out) };
    for h in v.as_array().ok_or("\"headers\" must be an array")? {
        let name = field(h, "name").ok_or("a header has no \"name\"")?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_!#$%&'*+.^`|~".contains(c)) {
            return Err(format!("header name \"{}\" is not a valid header name", clip(name)));
        }
        let required = h.get("isRequired").and_then(Value::as_bool).unwrap_or(false);
        let secret = h.get("isSecret").and_then(Value::as_bool).unwrap_or(false);
        let var: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        let value = match field(h, "value") {
            Some(v) if v.contains('{') => placeholders(v, needs),
            Some(v) if !secret => v.to_string(),
            _ if required || secret => {
                needs.push(format!("set {var} (header {name})"));
                format!("${{{var}}}")
            }
            _ => continue,
        };
        out.insert(name.into(), json!(value));
    }
    Ok(out)
}

/// The servers file for `imported`: over `base` (an existing file's
/// `mcpServers`, for an incremental import) the new entries replace old
/// ones and withdrawn servers are removed.
pub fn servers_file(base: Option<Map<String, Value>>, imported: &Imported) -> Value {
    let mut servers = base.unwrap_or_default();
    for (name, _) in &imported.withdrawn {
        servers.remove(name);
    }
    for (name, e) in &imported.entries {
        servers.insert(name.clone(), Value::Object(e.clone()));
    }
    let mut sorted: Vec<(String, Value)> = servers.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    json!({"mcpServers": Map::from_iter(sorted)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_packages_arguments_env_and_remotes() {
        let s = json!({"name": "io.github.acme/nas", "description": "NAS", "version": "1.0.0",
            "packages": [{"registryType": "pypi", "identifier": "acme-nas", "version": "1.2.0",
                "packageArguments": [{"type": "positional", "value": "serve"}, {"type": "named", "name": "--port", "default": "0"},
                                     {"type": "named", "name": "--host", "isRequired": true, "valueHint": "nas_host"}],
                "environmentVariables": [{"name": "NAS_KEY", "isRequired": true, "isSecret": true, "description": "API key"},
                                         {"name": "NAS_URL", "default": "http://127.0.0.1:9"}, {"name": "OPTIONAL"}]}]});
        let e = entry(&s).unwrap();
        assert_eq!(e["package"]["packageArguments"], json!(["serve", "--port", "0", "--host", "${NAS_HOST}"]));
        assert_eq!(e["env"], json!({"NAS_KEY": "${NAS_KEY}", "NAS_URL": "${NAS_URL:-http://127.0.0.1:9}"}));
        assert!(e["description"].as_str().unwrap().contains("NAS_KEY (secret): API key"));
        assert_eq!(e["vendor"], "io.github.acme");
        let r = json!({"name": "x/y", "remotes": [{"type": "streamable-http", "url": "https://{tenant}.example.com/mcp",
            "headers": [{"name": "Authorization", "value": "Bearer {api_key}", "isSecret": true}, {"name": "X-Key", "isRequired": true, "isSecret": true}]}]});
        let e = entry(&r).unwrap();
        assert_eq!(e["url"], "https://${TENANT}.example.com/mcp");
        assert_eq!(e["headers"], json!({"Authorization": "Bearer ${API_KEY}", "X-Key": "${X_KEY}"}));
        let o = json!({"name": "x/z", "packages": [{"registryType": "oci", "identifier": "docker.io/x/z"}]});
        assert!(entry(&o).unwrap_err().contains("not supported: package type \"oci\""));
    }

    #[test]
    fn list_urls() {
        assert_eq!(list_url("http://127.0.0.1:1").unwrap().as_str(), "http://127.0.0.1:1/v0/servers");
        assert_eq!(list_url("http://h/v0/").unwrap().as_str(), "http://h/v0/servers");
        assert!(list_url("file:///x").is_err());
    }
}
