//! `import`: MCP registry data → an ordinary servers file. A local HTTP
//! server (127.0.0.1) serves list-API pages the test builds: several pages
//! with cursors, deleted and deprecated entries, unsupported registry types,
//! a malformed entry; then the written file is crawled by shard and merged.

mod common;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

fn official(status: &str) -> Value {
    json!({"io.modelcontextprotocol.registry/official": {"status": status, "isLatest": true, "updatedAt": "2026-11-30T10:00:00Z"}})
}

fn truenas_ws() -> Value {
    json!({"name": "io.github.example/truenas-ws-mcp", "description": "TrueNAS SCALE over its WebSocket API", "version": "0.1.1",
        "packages": [{"registryType": "pypi", "identifier": "truenas-ws-mcp", "version": "0.1.1", "runtimeHint": "uvx",
            "transport": {"type": "stdio"},
            "environmentVariables": [
                {"name": "TRUENAS_API_KEY", "description": "API key of a TrueNAS user", "isRequired": true, "isSecret": true},
                {"name": "TRUENAS_URL", "description": "Base URL", "isRequired": true, "default": "http://127.0.0.1:9"},
                {"name": "TRUENAS_HOST", "default": "127.0.0.1"}]}]})
}

/// The pages of a full import, by cursor.
fn full_pages() -> HashMap<String, Value> {
    let mut p = HashMap::new();
    p.insert("".into(), json!({"servers": [
        {"server": truenas_ws(), "_meta": official("active")},
        {"server": {"name": "io.github.example/files", "description": "Files", "version": "2.0.0",
            "packages": [
                {"registryType": "oci", "identifier": "docker.io/example/files", "version": "2.0.0", "transport": {"type": "stdio"}},
                {"registryType": "npm", "identifier": "@example/files-mcp", "version": "2.0.0", "transport": {"type": "stdio"},
                 "packageArguments": [{"type": "positional", "value": "serve"}, {"type": "named", "name": "--root", "isRequired": true, "valueHint": "root_dir"},
                                      {"type": "named", "name": "--verbose"}]}]},
         "_meta": official("active")},
        {"server": {"name": "io.github.example/gone", "version": "1.0.0", "packages": [{"registryType": "npm", "identifier": "gone", "version": "1.0.0"}]},
         "_meta": official("deleted")},
        {"server": {"name": "io.github.example/old", "version": "1.0.0", "packages": [{"registryType": "npm", "identifier": "old", "version": "1.0.0"}]},
         "_meta": official("deprecated")}
    ], "metadata": {"nextCursor": "page-2", "count": 4}}));
    p.insert("page-2".into(), json!({"servers": [
        {"server": {"name": "com.example/remote", "description": "A hosted server", "version": "1.0.0",
            "remotes": [{"type": "streamable-http", "url": "http://127.0.0.1:9/mcp",
                "headers": [{"name": "Authorization", "value": "Bearer {api_token}", "isRequired": true, "isSecret": true}]}]},
         "_meta": official("active")},
        {"server": {"name": "com.example/legacy-sse", "version": "1.0.0", "remotes": [{"type": "sse", "url": "https://sse.example.com/sse"}]},
         "_meta": official("active")},
        {"server": {"name": "com.example/dotnet", "version": "1.0.0", "packages": [{"registryType": "nuget", "identifier": "Example.Mcp", "version": "1.0.0"}]},
         "_meta": official("active")},
        {"server": {"name": "com.example/broken", "version": "1.0.0", "packages": "not a list"}, "_meta": official("active")},
        // An older deployment: the official meta inside server._meta.
        {"server": {"name": "org.example/inner-meta", "version": "3.0.0", "_meta": official("active"),
            "packages": [{"registryType": "pypi", "identifier": "inner-meta-mcp", "version": "3.0.0"}]}}
    ], "metadata": {"nextCursor": "page-3", "count": 5}}));
    p.insert("page-3".into(), json!({"servers": [
        {"server": {"name": "", "version": "1.0.0"}, "_meta": official("active")}
    ], "metadata": {"count": 1}}));
    p
}

#[derive(Clone)]
struct Registry {
    pages: Arc<Mutex<HashMap<String, Value>>>,
    queries: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

async fn list(State(r): State<Registry>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    r.queries.lock().unwrap().push(q.clone());
    let cursor = q.get("cursor").cloned().unwrap_or_default();
    Json(r.pages.lock().unwrap().get(&cursor).cloned().unwrap_or(json!({"servers": [], "metadata": {}})))
}

/// A registry on 127.0.0.1 serving `pages`; dropped with the runtime.
fn serve(pages: HashMap<String, Value>) -> (tokio::runtime::Runtime, Registry, String) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let reg = Registry { pages: Arc::new(Mutex::new(pages)), queries: Arc::default() };
    let app = Router::new().route("/v0/servers", get(list)).with_state(reg.clone());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (rt, reg, base)
}

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-catalogue"));
    c.current_dir(dir).env("HOME", dir).env("NO_COLOR", "1");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn a_registry_is_paged_through_into_a_servers_file_that_crawls_by_shard() {
    let (_rt, reg, base) = serve(full_pages());
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(bin(dir.path()).args(["import", &base, "--out", "servers.json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    // Three pages, each asking for latest versions; the cursor followed.
    let queries = reg.queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert!(queries.iter().all(|q| q.get("version").map(String::as_str) == Some("latest")));
    assert_eq!(queries[1].get("cursor").map(String::as_str), Some("page-2"));
    assert_eq!(queries[2].get("cursor").map(String::as_str), Some("page-3"));

    let file = read(&dir.path().join("servers.json"));
    let s = &file["mcpServers"];
    let names: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        ["com.example/legacy-sse", "com.example/remote", "io.github.example/files", "io.github.example/truenas-ws-mcp", "org.example/inner-meta"],
        "{file}"
    );
    let ws = &s["io.github.example/truenas-ws-mcp"];
    assert_eq!(ws["package"], json!({"registryType": "pypi", "identifier": "truenas-ws-mcp", "version": "0.1.1"}));
    assert_eq!(ws["env"], json!({"TRUENAS_API_KEY": "${TRUENAS_API_KEY}", "TRUENAS_URL": "${TRUENAS_URL:-http://127.0.0.1:9}", "TRUENAS_HOST": "${TRUENAS_HOST:-127.0.0.1}"}));
    let doc = ws["description"].as_str().unwrap();
    assert!(doc.contains("set TRUENAS_API_KEY (secret): API key of a TrueNAS user"), "{doc}");
    assert_eq!(ws["vendor"], "io.github.example");
    // The oci package is passed over for the npm one, with its arguments.
    let files = &s["io.github.example/files"];
    assert_eq!(files["package"]["identifier"], "@example/files-mcp");
    assert_eq!(files["package"]["packageArguments"], json!(["serve", "--root", "${ROOT_DIR}"]));
    assert_eq!(s["com.example/remote"]["type"], "http");
    assert_eq!(s["com.example/remote"]["headers"], json!({"Authorization": "Bearer ${API_TOKEN}"}));
    assert_eq!(s["com.example/legacy-sse"]["type"], "sse");
    // Warnings name what was left out; deleted/deprecated are withdrawn.
    assert!(err.contains("\"com.example/dotnet\": not supported: package type \"nuget\""), "{err}");
    assert!(err.contains("\"com.example/broken\": \"packages\" must be an array; skipped"), "{err}");
    assert!(err.contains("page 3") && err.contains("entry 1: \"name\" must be"), "{err}");
    assert!(err.contains("5 server(s) imported from 3 page(s), 2 withdrawn"), "{err}");

    // The file is an ordinary servers file: crawl it by shard, then merge.
    let only = ["--only", "io.github.example/truenas-ws-mcp", "--only", "com.example/remote"];
    let mut shard_servers = 0;
    let mut oks = 0;
    for k in ["1/2", "2/2"] {
        let db = format!("shard-{}.db", &k[..1]);
        let mut c = bin(dir.path());
        c.args(["--db", &db, "--servers", "servers.json", "crawl", "--shard", k, "--timeout", "120"])
            .args(only)
            .env("TRUENAS_API_KEY", "1-x")
            .env("API_TOKEN", "registry-test-token-77");
        let (_, out, err) = run(&mut c);
        assert!(!out.contains("registry-test-token-77") && !err.contains("registry-test-token-77"));
        shard_servers += err.lines().find_map(|l| l.strip_prefix(&format!("shard {k}: "))).and_then(|l| l.split(' ').next()).and_then(|n| n.parse::<usize>().ok()).unwrap_or_else(|| panic!("{err}"));
        oks += out.matches("ok      io.github.example/truenas-ws-mcp").count();
        assert!(!out.contains("ok      com.example/remote"), "nothing listens on 127.0.0.1:9: {out}");
    }
    assert_eq!((shard_servers, oks), (2, 1));
    let (code, out, err) = run(bin(dir.path()).args(["--db", "catalogue.db", "merge", "shard-1.db", "shard-2.db"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, export, _) = run(bin(dir.path()).args(["--db", "catalogue.db", "export"]));
    let tools: Vec<Value> = serde_json::from_str(&export).unwrap();
    assert_eq!(tools.iter().filter(|t| t["server"] == "io.github.example/truenas-ws-mcp").count(), 59);
}

#[test]
fn an_incremental_import_updates_the_file_it_wrote() {
    let (_rt, reg, base) = serve(full_pages());
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(bin(dir.path()).args(["import", &base, "--out", "servers.json"]));
    assert_eq!(code, 0, "{err}");
    // Next night: the registry answers only what changed since then.
    let mut pages = HashMap::new();
    pages.insert("".into(), json!({"servers": [
        {"server": truenas_ws(), "_meta": official("deleted")},
        {"server": {"name": "io.github.example/new", "version": "0.2.0", "packages": [{"registryType": "npm", "identifier": "new-mcp", "version": "0.2.0"}]},
         "_meta": official("active")}
    ], "metadata": {"count": 2}}));
    *reg.pages.lock().unwrap() = pages;
    reg.queries.lock().unwrap().clear();
    let (code, _, err) = run(bin(dir.path()).args(["import", &base, "--out", "servers.json", "--updated-since", "2026-12-01T00:00:00Z"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(reg.queries.lock().unwrap()[0].get("updated_since").map(String::as_str), Some("2026-12-01T00:00:00Z"));
    let s = read(&dir.path().join("servers.json"))["mcpServers"].clone();
    assert!(s.get("io.github.example/truenas-ws-mcp").is_none(), "the deleted server is removed");
    assert_eq!(s["io.github.example/new"]["package"]["identifier"], "new-mcp");
    assert!(s.get("io.github.example/files").is_some() && s.get("com.example/remote").is_some(), "the rest is kept");
    let (code, _, err) = run(bin(dir.path()).args(["import", &base, "--out", "x.json", "--updated-since", "yesterday"]));
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn a_server_json_file_imports_and_bad_input_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.json"), serde_json::to_string_pretty(&truenas_ws()).unwrap()).unwrap();
    let (code, _, err) = run(bin(dir.path()).args(["import", "server.json", "--out", "servers.json"]));
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read_to_string(dir.path().join("servers.json")).unwrap();
    assert!(before.contains("io.github.example/truenas-ws-mcp"));
    // A broken file is an error naming it and its line; the old output stays.
    std::fs::write(dir.path().join("bad.json"), "{\n  \"name\": \"x\",\n  \"packages\": [,]\n}").unwrap();
    let (code, _, err) = run(bin(dir.path()).args(["import", "bad.json", "--out", "servers.json"]));
    assert_eq!(code, 2);
    assert!(err.contains("bad.json:3:"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("servers.json")).unwrap(), before);
    // A registry that cannot be reached writes nothing.
    let (code, _, err) = run(bin(dir.path()).args(["import", "http://127.0.0.1:9", "--out", "servers.json"]));
    assert_ne!(code, 0);
    assert!(err.contains("127.0.0.1:9"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("servers.json")).unwrap(), before);
}
