//! The MCP client against real servers: the recorded TrueNAS server
//! (mcp-replay), a server made with the official Python SDK over stdio,
//! Streamable HTTP and SSE, and misbehaving servers (fixtures/fault_server.py,
//! fixtures/http_fault_server.py). Every test checks its error's phase and
//! message, runs on small limits, and checks no server process is left.

mod common;

use mcp_catalogue::mcp::{Limits, McpError, Phase, Session};
use mcp_catalogue::model::{HttpKind, Launch};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// Limits small enough that a hung test fails fast.
fn quick() -> Limits {
    Limits {
        spawn: Duration::from_secs(20),
        initialize: Duration::from_secs(20),
        page: Duration::from_secs(20),
        call: Duration::from_secs(20),
        kill_grace: Duration::from_millis(500),
        ..Limits::default()
    }
}

/// The environment a test server gets: just enough to find python3.
fn base_env() -> Vec<(String, String)> {
    vec![(
        "PATH".to_string(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
    )]
}

fn stdio(program: impl Into<String>, args: Vec<String>) -> Launch {
    Launch::Stdio {
        program: program.into(),
        args,
        env: base_env(),
        cwd: None,
    }
}

fn fixture(name: &str) -> PathBuf {
    common::root().join("tests/fixtures").join(name)
}

/// A tag unique to one test, put on the fault server's command line (and
/// its grandchildren's) so the test can look for leftover processes.
fn tag(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "mcptest-{}-{}-{}",
        name,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn fault(mode: &str, tag: &str) -> Launch {
    let script = fixture("fault_server.py").display().to_string();
    stdio(
        "python3",
        vec![
            script,
            mode.to_string(),
            "--tag".to_string(),
            tag.to_string(),
        ],
    )
}

/// Live (not zombie) processes whose command line contains `tag`.
fn alive_tagged(tag: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains(tag) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if matches!(state, Some(s) if s != "Z" && s != "X") {
            found.push(pid);
        }
    }
    found
}

/// Waits briefly (killing is asynchronous), then asserts nothing is left.
fn assert_none_left(tag: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = alive_tagged(tag);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes left running for {tag}: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// No live process is left in process group `pgid`.
fn assert_group_gone(pgid: u32) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut left = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // state ppid pgrp ...
            if fields.len() > 2
                && fields[2] == pgid.to_string()
                && fields[0] != "Z"
                && fields[0] != "X"
            {
                left.push(entry.file_name().to_string_lossy().to_string());
            }
        }
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes left in group {pgid}: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn connect_err(launch: &Launch, limits: &Limits) -> McpError {
    match Session::connect(launch, limits).await {
        Ok(s) => {
            s.close().await;
            panic!("connect unexpectedly succeeded");
        }
        Err(e) => e,
    }
}

fn text_of(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// A server process on a local port, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(program: &Path, args: &[&str], port: u16) -> Server {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = server.child.try_wait() {
                panic!(
                    "{} {args:?} exited with {st} before listening",
                    program.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} never listened on {port}",
                program.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn sdk(transport: &str, json: bool) -> Server {
        let port = common::free_port();
        let script = common::root().join("tests/servers/sdk_server.py");
        let script = script.to_str().unwrap();
        let port_s = port.to_string();
        let mut args = vec![script, "--transport", transport, "--port", &port_s];
        if json {
            args.push("--json");
        }
        Server::start(&common::sdk_python(), &args, port)
    }

    fn fault(mode: &str) -> Server {
        let port = common::free_port();
        let script = fixture("http_fault_server.py");
        Server::start(
            Path::new("python3"),
            &[script.to_str().unwrap(), mode, &port.to_string()],
            port,
        )
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(url: String, kind: HttpKind) -> Launch {
    Launch::Http {
        url,
        headers: vec![("X-Test".to_string(), "header-value".to_string())],
        http: kind,
    }
}

fn tool<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tool {name}"))
}

// ------------------------------------------------ the recorded TrueNAS server

#[tokio::test]
async fn truenas_replay_lists_and_calls_over_stdio() {
    let launch = stdio(
        "python3",
        vec![
            common::replay().display().to_string(),
            common::truenas_session().display().to_string(),
            "--page-size".into(),
            "1".into(),
        ],
    );
    let mut s = Session::connect(&launch, &quick()).await.unwrap();
    let info = s.info().clone();
    assert_eq!(info.transport, "stdio");
    assert_eq!(
        info.protocol_version,
        mcp_catalogue::mcp::PROTOCOL_VERSIONS[0]
    );
    assert_eq!(info.server_info["name"], "truenas-mcp");
    assert_eq!(info.capabilities["tools"]["listChanged"], true);
    let list = s.list_tools().await.unwrap();
    assert_eq!(list.tools.len(), 1);
    assert_eq!(list.tools[0]["name"], "truenas");
    assert_eq!(list.pages, 1);
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
    let result = s.call_tool("truenas", json!({})).await.unwrap();
    let text = text_of(&result);
    assert!(text.contains("Categories:"), "{text}");
    for category in ["system", "storage", "sharing"] {
        assert!(
            text.contains(&format!("  {category} (")),
            "{category} missing from {text}"
        );
    }
    // An unrecorded call is a result with isError, not a failure.
    let result = s
        .call_tool("truenas", json!({"category": "nope"}))
        .await
        .unwrap();
    assert_eq!(result["isError"], true);
    let pid = s.pid().unwrap();
    s.close().await;
    assert_group_gone(pid);
}

#[tokio::test]
async fn hierarchical_raw_json_survives_pagination_exactly() {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(common::truenas_session()).unwrap()).unwrap();
    // The recorded tool plus two renamed copies, so --page-size 1 gives 3 pages.
    let mut session = fixture.clone();
    let original = fixture["tools"][0].clone();
    let mut tools = vec![original.clone()];
    for n in ["truenas_b", "truenas_c"] {
        let mut t = original.clone();
        t["name"] = json!(n);
        tools.push(t);
    }
    session["tools"] = json!(tools);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.json");
    std::fs::write(&path, serde_json::to_string(&session).unwrap()).unwrap();
    let launch = stdio(
        "python3",
        vec![
            common::replay().display().to_string(),
            path.display().to_string(),
            "--page-size".into(),
            "1".into(),
        ],
    );
    let mut s = Session::connect(&launch, &quick()).await.unwrap();
    let list = s.list_tools().await.unwrap();
    s.close().await;
    assert_eq!(list.pages, 3);
    assert_eq!(list.tools.len(), 3);
    assert_eq!(list.tools[0], fixture["tools"][0]);
    // Key order is kept too (preserve_order), not just equality.
    assert_eq!(
        serde_json::to_string(&list.tools[0]).unwrap(),
        serde_json::to_string(&fixture["tools"][0]).unwrap()
    );
    assert_eq!(list.tools[2], tools[2]);
}

// ------------------------------------------------ the official Python SDK

fn check_sdk_tools(tools: &[Value]) {
    let mut names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["add_item", "delete_item", "echo", "list_items", "search"]
    );
    assert_eq!(
        tool(tools, "list_items")["annotations"]["readOnlyHint"],
        true
    );
    assert_eq!(
        tool(tools, "delete_item")["annotations"]["destructiveHint"],
        true
    );
    assert_eq!(tool(tools, "add_item")["title"], "Add an item");
    assert_eq!(
        tool(tools, "search")["inputSchema"]["required"],
        json!(["query"])
    );
}

async fn sdk_roundtrip(launch: &Launch, transport: &str) {
    let mut s = Session::connect(launch, &quick()).await.unwrap();
    assert_eq!(s.info().transport, transport);
    assert_eq!(s.info().server_info["name"], "sdk-test-server");
    assert_eq!(
        s.info().instructions.as_deref(),
        Some("A test server for mcp-catalogue.")
    );
    assert!(mcp_catalogue::mcp::PROTOCOL_VERSIONS.contains(&s.info().protocol_version.as_str()));
    let list = s.list_tools().await.unwrap();
    assert_eq!(list.pages, 1);
    check_sdk_tools(&list.tools);
    let result = s
        .call_tool("echo", json!({"text": "hello there"}))
        .await
        .unwrap();
    assert_eq!(text_of(&result), "hello there");
    // A second request on the same session (session id / protocol header kept).
    let result = s
        .call_tool("list_items", json!({"prefix": "a"}))
        .await
        .unwrap();
    assert!(text_of(&result).contains("apple"), "{result}");
    s.close().await;
}

#[tokio::test]
async fn sdk_server_over_stdio() {
    let script = common::root()
        .join("tests/servers/sdk_server.py")
        .display()
        .to_string();
    let launch = stdio(
        common::sdk_python().display().to_string(),
        vec![script, "--transport".into(), "stdio".into()],
    );
    sdk_roundtrip(&launch, "stdio").await;
}

#[tokio::test]
async fn sdk_server_over_streamable_http_event_streams() {
    let server = Server::sdk("streamable-http", false);
    sdk_roundtrip(
        &http(server.url("/mcp"), HttpKind::Streamable),
        "streamable-http",
    )
    .await;
}

#[tokio::test]
async fn sdk_server_over_streamable_http_json_in_auto_mode() {
    let server = Server::sdk("streamable-http", true);
    sdk_roundtrip(&http(server.url("/mcp"), HttpKind::Auto), "streamable-http").await;
}

#[tokio::test]
async fn sdk_server_over_legacy_sse() {
    let server = Server::sdk("sse", false);
    sdk_roundtrip(&http(server.url("/sse"), HttpKind::Sse), "sse").await;
}

#[tokio::test]
async fn auto_mode_falls_back_to_legacy_sse() {
    let server = Server::sdk("sse", false);
    sdk_roundtrip(&http(server.url("/sse"), HttpKind::Auto), "sse").await;
}

// ------------------------------------------------ misbehaving stdio servers

#[tokio::test]
async fn missing_command_is_a_spawn_error() {
    let e = connect_err(&stdio("no-such-mcp-server-xyz", vec![]), &quick()).await;
    assert_eq!(e.phase, Phase::Spawn);
    assert_eq!(e.message, "command not found: no-such-mcp-server-xyz");
}

#[tokio::test]
async fn exit_now_reports_status_and_stderr() {
    let t = tag("exit-now");
    let e = connect_err(&fault("exit-now", &t), &quick()).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert!(
        e.message
            .contains("server exited with status 2 before answering initialize"),
        "{e}"
    );
    assert!(
        e.stderr_tail
            .iter()
            .any(|l| l == "fault_server: giving up at once"),
        "{:?}",
        e.stderr_tail
    );
    assert_none_left(&t);
}

#[tokio::test]
async fn hang_before_init_times_out_and_kills_the_group() {
    let t = tag("hang-before");
    let limits = Limits {
        spawn: Duration::from_secs(1),
        initialize: Duration::from_secs(1),
        ..quick()
    };
    let started = Instant::now();
    let e = connect_err(&fault("hang-before-init", &t), &limits).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert_eq!(
        e.message,
        "timed out after 1s waiting for an answer to initialize"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // The server and its grandchild are both gone.
    assert_none_left(&t);
}

#[tokio::test]
async fn hang_after_init_times_out_the_page() {
    let t = tag("hang-after");
    let limits = Limits {
        page: Duration::from_secs(1),
        ..quick()
    };
    let mut s = Session::connect(&fault("hang-after-init", &t), &limits)
        .await
        .unwrap();
    assert_eq!(s.info().server_info["mode"], "hang-after-init");
    let started = Instant::now();
    let e = s.list_tools().await.unwrap_err();
    assert_eq!(e.phase, Phase::ListTools);
    assert_eq!(
        e.message,
        "timed out after 1s waiting for an answer to tools/list"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // A timeout stops the server and its grandchild at once ...
    assert_none_left(&t);
    // ... and later requests fail fast instead of waiting again.
    let started = Instant::now();
    let e = s.call_tool("x", json!({})).await.unwrap_err();
    assert_eq!(e.phase, Phase::Call);
    assert_eq!(
        e.message,
        "the server was stopped: timed out after 1s waiting for an answer to tools/list"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    s.close().await;
}

#[tokio::test]
async fn dropping_a_session_at_the_callers_deadline_kills_the_group() {
    let t = tag("deadline");
    let launch = fault("hang-after-init", &t);
    let limits = quick();
    let work = async {
        let mut s = Session::connect(&launch, &limits).await.unwrap();
        s.list_tools().await
    };
    let started = Instant::now();
    assert!(tokio::time::timeout(Duration::from_millis(1500), work)
        .await
        .is_err());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_none_left(&t);
}

#[tokio::test]
async fn garbage_between_messages_is_skipped() {
    let t = tag("garbage");
    let mut s = Session::connect(&fault("garbage-between", &t), &quick())
        .await
        .unwrap();
    let list = s.list_tools().await.unwrap();
    let names: Vec<&str> = list
        .tools
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
    // What the server got from us: our requests, an answer to its ping, a
    // method-not-found for its sampling request, and nothing about log lines.
    let stats = s.call_tool("stats", json!({})).await.unwrap();
    let received: Value = serde_json::from_str(&text_of(&stats)).unwrap();
    assert_eq!(
        received,
        json!([
            "initialize",
            "notifications/initialized",
            "tools/list",
            {"answer": "srv-ping", "keys": ["id", "jsonrpc", "result"]},
            {"answer": "srv-sample", "keys": ["error", "id", "jsonrpc"]},
            "tools/call"
        ])
    );
    s.close().await;
    assert_none_left(&t);
}

#[tokio::test]
async fn crash_mid_answer_reports_the_exit() {
    let t = tag("crash");
    let mut s = Session::connect(&fault("crash-mid-answer", &t), &quick())
        .await
        .unwrap();
    let e = s.list_tools().await.unwrap_err();
    assert_eq!(e.phase, Phase::ListTools);
    assert!(
        e.message
            .contains("server exited with status 1 before answering tools/list"),
        "{e}"
    );
    assert!(e.message.contains("cut off"), "{e}");
    assert!(
        e.stderr_tail.iter().any(|l| l.contains("fatal: crashed")),
        "{:?}",
        e.stderr_tail
    );
    s.close().await;
    assert_none_left(&t);
}

#[tokio::test]
async fn huge_message_is_refused_without_reading_it_all() {
    let t = tag("huge");
    let mut s = Session::connect(&fault("huge-message", &t), &quick())
        .await
        .unwrap();
    let started = Instant::now();
    let e = s.list_tools().await.unwrap_err();
    assert_eq!(e.phase, Phase::ListTools);
    assert!(e.message.contains("message exceeds 16 MiB limit"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The session is dead for good, not confused by the rest of the line.
    let again = s.call_tool("x", json!({})).await.unwrap_err();
    assert!(
        again.message.contains("message exceeds 16 MiB limit"),
        "{again}"
    );
    s.close().await;
    assert_none_left(&t);
}

#[tokio::test]
async fn repeated_cursor_ends_pagination_with_a_warning() {
    let t = tag("cursor");
    let mut s = Session::connect(&fault("repeat-cursor", &t), &quick())
        .await
        .unwrap();
    let list = s.list_tools().await.unwrap();
    s.close().await;
    assert_eq!(list.pages, 2);
    assert_eq!(list.tools.len(), 2);
    assert_eq!(list.warnings.len(), 1);
    assert!(
        list.warnings[0].contains("repeated nextCursor \"same\""),
        "{:?}",
        list.warnings
    );
    assert_none_left(&t);
}

#[tokio::test]
async fn many_tools_over_many_pages() {
    let t = tag("many");
    let mut s = Session::connect(&fault("many-tools", &t), &quick())
        .await
        .unwrap();
    let list = s.list_tools().await.unwrap();
    s.close().await;
    assert_eq!(list.pages, 100);
    assert_eq!(list.tools.len(), 100_000);
    assert_eq!(list.tools[99_999]["name"], "tool_99999");
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
    assert_none_left(&t);
}

#[tokio::test]
async fn tool_and_page_limits_stop_listing_with_warnings() {
    let t = tag("limits");
    let limits = Limits {
        max_tools: 2500,
        ..quick()
    };
    let mut s = Session::connect(&fault("many-tools", &t), &limits)
        .await
        .unwrap();
    let list = s.list_tools().await.unwrap();
    s.close().await;
    assert_eq!(list.tools.len(), 2500);
    assert_eq!(list.pages, 3);
    assert!(
        list.warnings
            .iter()
            .any(|w| w.contains("limit of 2500 tools")),
        "{:?}",
        list.warnings
    );

    let limits = Limits {
        max_pages: 4,
        ..quick()
    };
    let mut s = Session::connect(&fault("many-tools", &t), &limits)
        .await
        .unwrap();
    let list = s.list_tools().await.unwrap();
    s.close().await;
    assert_eq!(list.pages, 4);
    assert_eq!(list.tools.len(), 4000);
    assert!(
        list.warnings.iter().any(|w| w.contains("limit of 4 pages")),
        "{:?}",
        list.warnings
    );
    assert_none_left(&t);
}

#[tokio::test]
async fn drip_feeding_server_times_out() {
    let t = tag("drip");
    let limits = Limits {
        spawn: Duration::from_secs(2),
        initialize: Duration::from_secs(2),
        ..quick()
    };
    let started = Instant::now();
    let e = connect_err(&fault("drip", &t), &limits).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert_eq!(
        e.message,
        "timed out after 2s waiting for an answer to initialize"
    );
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_none_left(&t);
}

#[tokio::test]
async fn stderr_tail_is_bounded() {
    let t = tag("stderr");
    let e = connect_err(&fault("stderr-then-exit", &t), &quick()).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert!(
        e.message
            .contains("server exited with status 3 before answering initialize"),
        "{e}"
    );
    assert_eq!(e.stderr_tail.len(), 20, "{:?}", e.stderr_tail);
    assert_eq!(e.stderr_tail[0], "stderr line 11");
    let last = e.stderr_tail.last().unwrap();
    assert!(
        last.starts_with("LLLL") && last.chars().count() <= 501,
        "{} chars",
        last.len()
    );
    assert_none_left(&t);
}

#[tokio::test]
async fn junk_tool_entries_are_skipped_with_warnings() {
    let t = tag("junk");
    let mut s = Session::connect(&fault("junk-tools", &t), &quick())
        .await
        .unwrap();
    let list = s.list_tools().await.unwrap();
    s.close().await;
    assert_eq!(
        list.tools,
        vec![
            json!({"name": "ok", "description": "tool ok", "inputSchema": {"type": "object"}}),
            json!({"description": "no name"}),
            json!({"name": "last", "description": "tool last", "inputSchema": {"type": "object"}}),
        ]
    );
    assert_eq!(
        list.warnings
            .iter()
            .filter(|w| w.contains("is not an object"))
            .count(),
        4,
        "{:?}",
        list.warnings
    );
    assert!(
        list.warnings
            .iter()
            .any(|w| w.contains("\"ok\" listed again")),
        "{:?}",
        list.warnings
    );
}

#[tokio::test]
async fn unknown_protocol_version_is_an_initialize_error() {
    let t = tag("version");
    let e = connect_err(&fault("bad-version", &t), &quick()).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert!(e.message.contains("\"1999-01-01\""), "{e}");
    assert_none_left(&t);
}

#[tokio::test]
async fn child_gets_exact_env_cwd_own_group_and_rlimits() {
    let t = tag("inspect");
    let dir = tempfile::tempdir().unwrap();
    let Launch::Stdio {
        program,
        args,
        mut env,
        ..
    } = fault("inspect", &t)
    else {
        unreachable!()
    };
    env.push(("MCP_TEST_VAR".to_string(), "yes".to_string()));
    let launch = Launch::Stdio {
        program,
        args,
        env,
        cwd: Some(dir.path().to_path_buf()),
    };
    let limits = Limits {
        address_space: Some(3 << 30),
        cpu_seconds: Some(100),
        open_files: Some(256),
        file_size: Some(1 << 20),
        ..quick()
    };
    let mut s = Session::connect(&launch, &limits).await.unwrap();
    let result = s.call_tool("inspect", json!({})).await.unwrap();
    let pid = s.pid().unwrap();
    s.close().await;
    let seen: Value = serde_json::from_str(&text_of(&result)).unwrap();
    assert_eq!(seen["env"]["MCP_TEST_VAR"], "yes");
    assert!(
        seen["env"].get("HOME").is_none() && seen["env"].get("CARGO_MANIFEST_DIR").is_none(),
        "{}",
        seen["env"]
    );
    assert_eq!(
        Path::new(seen["cwd"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        dir.path().canonicalize().unwrap()
    );
    assert_eq!(seen["pid"], pid);
    assert_eq!(seen["pgid"], pid, "the server leads its own process group");
    assert_eq!(
        seen["limits"],
        json!({"RLIMIT_AS": 3u64 << 30, "RLIMIT_CPU": 100, "RLIMIT_NOFILE": 256, "RLIMIT_FSIZE": 1 << 20})
    );
    assert_none_left(&t);
}

// ------------------------------------------------ misbehaving HTTP servers

/// Secrets in the query string and headers must never reach a message.
fn secret_launch(server: &Server, kind: HttpKind) -> Launch {
    Launch::Http {
        url: server.url("/mcp?api_key=QUERYSECRET"),
        headers: vec![(
            "Authorization".to_string(),
            "Bearer HEADERSECRET".to_string(),
        )],
        http: kind,
    }
}

fn assert_no_secrets(e: &McpError) {
    let all = format!("{e} {:?}", e.stderr_tail);
    assert!(
        !all.contains("QUERYSECRET") && !all.contains("HEADERSECRET"),
        "{all}"
    );
}

#[tokio::test]
async fn http_500_is_reported_with_the_url() {
    let server = Server::fault("500");
    let e = connect_err(&secret_launch(&server, HttpKind::Auto), &quick()).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert_eq!(
        e.message,
        format!("HTTP 500 Internal Server Error from {}", server.url("/mcp"))
    );
    assert_no_secrets(&e);
}

#[tokio::test]
async fn http_401_points_at_credentials() {
    let server = Server::fault("401");
    let e = connect_err(&secret_launch(&server, HttpKind::Streamable), &quick()).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert!(
        e.message
            .starts_with("HTTP 401 Unauthorized (check the server's headers/credentials)"),
        "{e}"
    );
    assert_no_secrets(&e);
}

#[tokio::test]
async fn redirect_loop_is_a_clear_error() {
    let server = Server::fault("redirect-loop");
    let e = connect_err(&secret_launch(&server, HttpKind::Streamable), &quick()).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert_eq!(
        e.message,
        format!(
            "too many redirects (more than 5) from {}",
            server.url("/mcp")
        )
    );
    assert_no_secrets(&e);
}

#[tokio::test]
async fn never_answering_http_server_times_out() {
    let server = Server::fault("never-answer");
    let limits = Limits {
        initialize: Duration::from_secs(1),
        ..quick()
    };
    let started = Instant::now();
    let e = connect_err(&secret_launch(&server, HttpKind::Streamable), &limits).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert_eq!(
        e.message,
        "timed out after 1s waiting for an answer to initialize"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn non_mcp_http_server_fails_both_transports_in_auto_mode() {
    let server = Server::fault("html");
    let e = connect_err(&secret_launch(&server, HttpKind::Auto), &quick()).await;
    assert_eq!(e.phase, Phase::Connect);
    assert!(
        e.message
            .contains("expected an event stream (text/event-stream)"),
        "{e}"
    );
    assert!(e.message.contains("Streamable HTTP was tried first"), "{e}");
    assert_no_secrets(&e);
}

#[tokio::test]
async fn oversized_http_answer_is_refused() {
    let server = Server::fault("huge");
    let limits = Limits {
        max_message_bytes: 1 << 20,
        ..quick()
    };
    let e = connect_err(&secret_launch(&server, HttpKind::Streamable), &limits).await;
    assert_eq!(e.phase, Phase::Initialize);
    assert!(e.message.contains("message exceeds 1 MiB limit"), "{e}");
}

#[tokio::test]
async fn sse_endpoint_on_another_origin_is_refused() {
    let server = Server::fault("sse-other-origin");
    let e = connect_err(&http(server.url("/sse"), HttpKind::Auto), &quick()).await;
    assert_eq!(e.phase, Phase::Connect);
    assert!(e.message.contains("another origin"), "{e}");
}

#[tokio::test]
async fn nothing_listening_is_a_connect_failure() {
    let port = common::free_port();
    let launch = http(format!("http://127.0.0.1:{port}/mcp"), HttpKind::Streamable);
    let e = connect_err(&launch, &quick()).await;
    assert_eq!(e.phase, Phase::Connect);
    assert!(
        e.message
            .starts_with(&format!("cannot connect to http://127.0.0.1:{port}/mcp")),
        "{e}"
    );
}
