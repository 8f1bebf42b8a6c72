//! `--from-clients`: the servers already configured in the MCP clients on
//! the machine, read from realistic config files written into a temporary
//! HOME and project directory, listed by `servers --from-clients` and
//! crawled through the real binary. Literal secrets in those files never
//! reach the output, the database or the pages.

mod common;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const LITERAL_SECRET: &str = "ghp_LiteralSecretInClaudeConfig0123";
const CURSOR_SECRET: &str = "cursor-literal-bearer-9f8e7d";
const URL_SECRET: &str = "querysecret55";

struct Machine {
    _dir: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn replay_args() -> Value {
    json!([common::replay().to_str().unwrap(), common::truenas_session().to_str().unwrap()])
}

/// A HOME and a project with the configs of every supported client.
fn machine() -> Machine {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home/ada");
    let project = dir.path().join("src/nas-tools");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(common::root().join("tests/servers/hier_server.py"), project.join("hier_server.py")).unwrap();
    let leaky = "import os, sys; sys.stderr.write('token is ' + os.environ.get('GITHUB_PERSONAL_ACCESS_TOKEN', '') + '\\n'); sys.exit(3)";

    // Claude Desktop (Linux path): stdio servers only, literal env values.
    write(
        &home.join(".config/Claude/claude_desktop_config.json"),
        &serde_json::to_string_pretty(&json!({"mcpServers": {
            "truenas": {"command": "python3", "args": replay_args()},
            "github": {"command": "python3", "args": ["-c", leaky], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": LITERAL_SECRET}},
        }, "globalShortcut": "Ctrl+Space"}))
        .unwrap(),
    );
    // Claude Code user file: user-scope servers and per-project ones; the
    // same truenas server as Claude Desktop's (crawled once).
    write(
        &home.join(".claude.json"),
        &serde_json::to_string_pretty(&json!({
            "numStartups": 41, "theme": "dark",
            "mcpServers": {"truenas": {"type": "stdio", "command": "python3", "args": replay_args(), "env": {}}},
            "projects": {
                project.to_str().unwrap(): {"allowedTools": [], "mcpServers": {
                    "ops": {"type": "stdio", "command": "python3", "args": [project.join("hier_server.py").to_str().unwrap()]}}},
                "/srv/other": {"mcpServers": {"sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp"}}}
            }
        }))
        .unwrap(),
    );
    // Claude Code project file, with ${VAR:-default}.
    write(
        &project.join(".mcp.json"),
        r#"{"mcpServers": {"api": {"type": "sse", "url": "${API_BASE:-http://127.0.0.1:9}/sse", "headers": {"Authorization": "Bearer ${API_TOKEN}"}}}}"#,
    );
    // Cursor user file: a remote with a literal bearer token and a key in the URL.
    write(
        &home.join(".cursor/mcp.json"),
        &format!(r#"{{"mcpServers": {{"remote-api": {{"url": "https://mcp.example.com/mcp?key={URL_SECRET}", "headers": {{"Authorization": "Bearer {CURSOR_SECRET}"}}}}}}}}"#),
    );
    // Cursor project file: broken (line 3), the rest is still read.
    write(&project.join(".cursor/mcp.json"), "{\n  \"mcpServers\": {\n    \"x\": {\"command\": \"npx\",, }\n  }\n}\n");
    // VS Code workspace file: JSONC (comments, trailing commas), `servers`,
    // `inputs`, ${workspaceFolder} and ${input:...}.
    write(
        &project.join(".vscode/mcp.json"),
        r#"{
  // Inputs are prompted for when a server starts.
  "inputs": [
    {"type": "promptString", "id": "github_pat", "description": "GitHub Personal Access Token", "password": true},
  ],
  "servers": {
    "ops": {
      "type": "stdio",
      "command": "python3",
      "args": ["${workspaceFolder}/hier_server.py"], /* same server as Claude Code's project entry */
    },
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${input:github_pat}"}},
  },
}
"#,
    );
    // VS Code user settings on the macOS path, `mcp.servers`.
    write(
        &home.join("Library/Application Support/Code/User/settings.json"),
        r#"{
  "editor.fontSize": 14,
  "mcp": {"servers": {"time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "${env:TZ}"}}}},
}"#,
    );
    // Windsurf: `serverUrl`.
    write(&home.join(".codeium/windsurf/mcp_config.json"), r#"{"mcpServers": {"deepwiki": {"serverUrl": "https://mcp.deepwiki.com/sse"}}}"#);
    // Gemini CLI user settings: `httpUrl` (Streamable HTTP), `url` (SSE), $VAR.
    write(
        &home.join(".gemini/settings.json"),
        r#"{"theme": "GitHub", "mcpServers": {
  "stream": {"httpUrl": "http://127.0.0.1:9/mcp", "headers": {"X-Api-Key": "$GEMINI_MCP_KEY"}, "timeout": 30000},
  "events": {"url": "http://127.0.0.1:9/sse", "trust": false}
}}"#,
    );
    // Gemini CLI project settings: an entry with neither command nor URL.
    write(&project.join(".gemini/settings.json"), "{\n  \"mcpServers\": {\n    \"broken\": {\"args\": [\"x\"]}\n  }\n}\n");
    // Codex CLI: TOML, the same truenas server again, a remote with a bearer
    // token named by an environment variable, and a disabled entry.
    write(
        &home.join(".codex/config.toml"),
        &format!(
            r#"model = "o4-mini"

[mcp_servers.truenas]
command = "python3"
args = [{:?}, {:?}]

[mcp_servers.linear]
url = "https://mcp.linear.app/mcp"
bearer_token_env_var = "LINEAR_TOKEN"

[mcp_servers.old]
command = "node"
args = ["old.js"]
enabled = false
"#,
            common::replay().to_str().unwrap(),
            common::truenas_session().to_str().unwrap()
        ),
    );
    Machine { _dir: dir, home, project }
}

impl Machine {
    fn cmd(&self, db: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-catalogue"));
        c.current_dir(&self.project).env("HOME", &self.home).env_remove("APPDATA").env_remove("CODEX_HOME").env("NO_COLOR", "1").arg("--db").arg(db);
        c
    }
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn servers_from_clients_lists_what_was_found_and_where() {
    let m = machine();
    let db = m.project.join("catalogue.db");
    let (code, out, err) = run(m.cmd(&db).args(["--from-clients", "servers", "--format", "json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    let get = |n: &str| list.iter().find(|s| s["name"] == n).unwrap_or_else(|| panic!("{n} missing: {out}"));
    let names: Vec<&str> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
    // Duplicates across clients are one server, named by the first client.
    assert_eq!(names.iter().filter(|n| n.ends_with(":truenas")).count(), 1, "{names:?}");
    let truenas = get("claude-desktop:truenas");
    assert_eq!(truenas["also"], json!(["claude-code:truenas", "codex:truenas"]));
    assert!(truenas["file"].as_str().unwrap().ends_with(".config/Claude/claude_desktop_config.json"));
    assert_eq!(get("claude-code:ops")["also"], json!(["vscode:ops"]));
    // Each client's remote keys.
    assert!(get("claude-code:sentry")["transport"].as_str().unwrap().starts_with("streamable: https://mcp.sentry.dev/mcp"));
    assert!(get("claude-code:api")["transport"].as_str().unwrap().starts_with("sse: ${API_BASE:-http://127.0.0.1:9}/sse"));
    assert_eq!(get("cursor:remote-api")["transport"], "auto: https://mcp.example.com/mcp [Authorization]");
    assert_eq!(get("vscode:github")["transport"], "streamable: https://api.githubcopilot.com/mcp/ [Authorization]");
    assert_eq!(get("vscode:time")["transport"], "stdio: uvx mcp-server-time [TZ]");
    assert!(get("vscode:time")["file"].as_str().unwrap().contains("Library/Application Support/Code/User/settings.json"));
    assert_eq!(get("windsurf:deepwiki")["transport"], "auto: https://mcp.deepwiki.com/sse");
    assert_eq!(get("gemini:stream")["transport"], "streamable: http://127.0.0.1:9/mcp [X-Api-Key]");
    assert_eq!(get("gemini:events")["transport"], "sse: http://127.0.0.1:9/sse");
    assert_eq!(get("codex:linear")["transport"], "streamable: https://mcp.linear.app/mcp [Authorization]");
    assert!(!names.contains(&"codex:old"), "disabled entries are skipped");
    // Broken files and entries are warnings naming the file and line.
    assert!(err.contains(".cursor/mcp.json: line 3"), "{err}");
    assert!(err.contains(".gemini/settings.json:3: gemini server \"broken\""), "{err}");
    assert!(err.contains("codex server \"old\": disabled"), "{err}");
    // Nothing secret in what is printed.
    for s in [LITERAL_SECRET, CURSOR_SECRET, URL_SECRET] {
        assert!(!out.contains(s) && !err.contains(s), "{s} leaked");
    }
    // The text form names every file read.
    let (code, text, _) = run(m.cmd(&db).args(["--from-clients", "servers"]));
    assert_eq!(code, 0);
    for f in [".claude.json", ".mcp.json", ".codex/config.toml", ".vscode/mcp.json", ".codeium/windsurf/mcp_config.json"] {
        assert!(text.contains(f), "{f} not listed:\n{text}");
    }
    assert!(text.contains("claude-desktop:truenas") && text.contains("(also claude-code:truenas, codex:truenas)"), "{text}");
}

#[test]
fn crawl_from_clients_crawls_each_server_once_and_keeps_secrets_out() {
    let m = machine();
    let db = m.project.join("catalogue.db");
    let (code, out, err) = run(m.cmd(&db).args([
        "--from-clients", "crawl", "--only", "claude-desktop:truenas", "--only", "claude-code:ops", "--only", "claude-desktop:github",
        "--timeout", "60",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("ok      claude-desktop:truenas") && out.contains("279 tools"), "{out}");
    assert!(out.contains("ok      claude-code:ops"), "{out}");
    // The leaky server printed its literal token on stderr: scrubbed.
    assert!(out.contains("FAILED  claude-desktop:github"), "{out}");
    assert!(out.contains("token is ***"), "{out}");
    // With a servers file as well (--servers is repeatable with --from-clients).
    let extra = m.project.join("extra.json");
    std::fs::write(&extra, json!({"mcpServers": {"local-truenas": {"command": "python3", "args": replay_args(), "expand": "truenas"}}}).to_string()).unwrap();
    let (code, out2, err2) = run(m.cmd(&db).args(["--servers", extra.to_str().unwrap(), "--from-clients", "crawl", "--only", "local-truenas"]));
    assert_eq!(code, 0, "{out2}\n{err2}");
    assert!(out2.contains("ok      local-truenas"), "{out2}");

    let site = m.project.join("site");
    let (code, _, err3) = run(m.cmd(&db).args(["site", "--out", site.to_str().unwrap()]));
    assert_eq!(code, 0, "{err3}");
    let (_, servers_json, err4) = run(m.cmd(&db).args(["--from-clients", "servers", "--format", "json"]));
    let (_, export, _) = run(m.cmd(&db).args(["export"]));
    let mut texts = vec![out, err, out2, err2, err3, err4, servers_json, export];
    let mut db_bytes = std::fs::read(&db).unwrap();
    db_bytes.extend(std::fs::read(m.project.join("catalogue.db-wal")).unwrap_or_default());
    texts.push(String::from_utf8_lossy(&db_bytes).into_owned());
    for entry in walk(&site) {
        texts.push(std::fs::read_to_string(entry).unwrap_or_default());
    }
    for s in [LITERAL_SECRET, CURSOR_SECRET, URL_SECRET] {
        assert!(texts.iter().all(|t| !t.contains(s)), "{s} reached the output, database or site");
    }
    // The database keeps env names only.
    assert!(texts[8].contains("GITHUB_PERSONAL_ACCESS_TOKEN"));
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn no_client_configs_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-catalogue"))
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env_remove("APPDATA")
        .env_remove("CODEX_HOME")
        .args(["--from-clients", "crawl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no MCP servers found in the client configs"), "{err}");
}
