//! Catalogue-scale benchmarks, run in release mode:
//!
//!     cargo bench --bench catalogue                 # all, 100k tools
//!     cargo bench --bench catalogue -- classify     # one stage (classify|store|reclassify|site|crawl)
//!     MCPCAT_BENCH_TOOLS=20000 cargo bench --bench catalogue
//!
//! Prints one line per measurement with the target it is held to. Numbers
//! are measured, not asserted: the tests never time anything.
//!
//! `crawl` replays the recorded TrueNAS session (`shared/fixtures/
//! truenas-hierarchical`) from 32 servers: over stdio (`shared/tools/
//! mcp-replay`, one Python process each, optionally behind this binary's
//! `--latency-proxy`), and as 32 remote servers over Streamable HTTP, served
//! by an in-process axum server on 127.0.0.1 that replays the same session
//! (see [`Replay`]) with 250 ms per answer. The stdio variant also measures
//! 32 Python start-ups on this machine's cores; the HTTP one measures the
//! crawler's own concurrency, the case of the registry's remote servers.

use mcp_catalogue::classify::Rules;
use mcp_catalogue::crawl::{self, CrawlOptions};
use mcp_catalogue::expand::Recipes;
use mcp_catalogue::model::{HttpKind, ServerSpec, ToolRecord, Transport};
use mcp_catalogue::store::{self, ServerResult, Store};
use mcp_catalogue::{history, pipeline, policy, site, synth};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn result_for(server: &str, tools: Vec<ToolRecord>) -> ServerResult {
    ServerResult {
        spec: ServerSpec {
            name: server.to_string(),
            transport: Transport::Stdio { command: "synthetic".into(), args: vec![], env: Default::default(), cwd: None },
            timeout: None,
            product: Some("Synthetic".into()),
            expand: None,
            vendor: None,
        },
        ok: true,
        phase: None,
        error: None,
        stderr_tail: vec![],
        warnings: vec![],
        seconds: 0.0,
        protocol_version: Some("2025-06-18".into()),
        server_info: None,
        transport: Some("stdio".into()),
        tools,
    }
}

/// Group a flat catalogue by server, as a crawl would hand it to the store.
fn by_server(tools: &[ToolRecord]) -> Vec<ServerResult> {
    let mut map: std::collections::BTreeMap<String, Vec<ToolRecord>> = Default::default();
    for t in tools {
        map.entry(t.server.clone()).or_default().push(t.clone());
    }
    map.into_iter().map(|(s, ts)| result_for(&s, ts)).collect()
}

fn line(name: &str, value: String, target: &str) {
    println!("{name:<44} {value:>22}   target: {target}");
}

/// Run the real binary on the bench database: re-classification after a
/// rules edit, export, and a site build, each with its peak memory.
fn cli_runs(db: &Path, site_out: &Path) {
    let bin = env!("CARGO_BIN_EXE_mcp-catalogue");
    let rules = db.with_file_name("edited-rules");
    copy_dir(&root().join("rules"), &rules);
    // A rules edit: the content hash changes, so every verdict is recomputed.
    let verbs = rules.join("verbs.toml");
    let mut text = std::fs::read_to_string(&verbs).unwrap();
    text.push_str("\n# edited by the benchmark\n");
    std::fs::write(&verbs, text).unwrap();
    // The binary reports its own peak memory with -v (`done in …, peak memory N MiB`).
    let run = |args: &[&str]| -> (f64, f64) {
        // Each run starts with nothing waiting to be written back: the
        // setup's writes (the bench's own, a `DELETE`) are flushed first,
        // not by the command's first fsync.
        unsafe { libc::sync() };
        let t = Instant::now();
        let out = std::process::Command::new(bin)
            .arg("-v")
            .arg("--db")
            .arg(db)
            .arg("--rules")
            .arg(&rules)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert!(out.status.success(), "mcp-catalogue {args:?} failed");
        let err = String::from_utf8_lossy(&out.stderr);
        let mib = err
            .lines()
            .filter_map(|l| l.split("peak memory ").nth(1))
            .filter_map(|r| r.split_whitespace().next()?.parse::<f64>().ok())
            .next_back()
            .unwrap_or(f64::NAN);
        (t.elapsed().as_secs_f64(), mib)
    };
    let (secs, mib) = run(&["classify"]);
    line("CLI: classify after a rules edit", format!("{secs:.2} s, {mib:.0} MiB"), "< 2 s, < 500 MiB");
    let (secs, mib) = run(&["classify"]);
    line("CLI: classify, rules unchanged", format!("{secs:.2} s, {mib:.0} MiB"), "< 2 s, < 500 MiB");
    // The worst case: every verdict row written (none stored, as after an
    // edit that changes every verdict).
    rusqlite::Connection::open(db).unwrap().execute("DELETE FROM verdicts", []).unwrap();
    let (secs, mib) = run(&["classify"]);
    line("CLI: classify, every verdict written", format!("{secs:.2} s, {mib:.0} MiB"), "< 2 s, < 500 MiB");
    let (secs, mib) = run(&["export", "--format", "json"]);
    line("CLI: export --format json", format!("{secs:.2} s, {mib:.0} MiB"), "< 500 MiB");
    let site = site_out.to_string_lossy().into_owned();
    let (secs, mib) = run(&["site", "--out", &site]);
    line("CLI: site (first build)", format!("{secs:.2} s, {mib:.0} MiB"), "< 500 MiB");
    let (secs, mib) = run(&["site", "--out", &site]);
    line("CLI: site (unchanged re-run)", format!("{secs:.2} s, {mib:.0} MiB"), "< 500 MiB");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let t = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

fn rusage(who: i32) -> libc::rusage {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    u
}

/// User and system CPU seconds of `who` (`RUSAGE_SELF`, `RUSAGE_CHILDREN`).
fn user_sys_secs(who: i32) -> (f64, f64) {
    let u = rusage(who);
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    (t(u.ru_utime), t(u.ru_stime))
}

fn cpu_secs(who: i32) -> f64 {
    let (user, sys) = user_sys_secs(who);
    user + sys
}

fn peak_rss_mib() -> f64 {
    rusage(libc::RUSAGE_SELF).ru_maxrss as f64 / 1024.0
}

/// `catalogue --latency-proxy MS COMMAND [ARGS...]`: put a fixed delay in
/// front of every answer of a stdio MCP server, as a network round trip
/// would. The crawl benchmark runs its servers behind this binary itself: a
/// proxy in Python cost each server about 100 ms of CPU just to start, which
/// on a small machine measured the proxies, not the crawler.
fn latency_proxy(args: &[String]) -> ! {
    use std::io::{BufRead, Write};
    let delay = Duration::from_millis(args[0].parse().expect("MS"));
    let mut child = std::process::Command::new(&args[1])
        .args(&args[2..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let mut to_child = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().split(b'\n') {
            let Ok(mut line) = line else { break };
            line.push(b'\n');
            if to_child.write_all(&line).and_then(|_| to_child.flush()).is_err() {
                break;
            }
        }
    });
    let from_child = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut out = std::io::stdout().lock();
    for line in from_child.split(b'\n') {
        let Ok(mut line) = line else { break };
        std::thread::sleep(delay);
        line.push(b'\n');
        if out.write_all(&line).and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    let _ = child.kill();
    std::process::exit(0)
}

/// The replay semantics of `shared/tools/mcp-replay`, for the HTTP servers
/// of the crawl benchmark: `initialize` answers the recorded result with the
/// client's `protocolVersion` (when it asks one), `tools/list` the recorded
/// tools (paged by `nextCursor` if `page` > 0), `tools/call` the recorded
/// result whose arguments equal the call's (compared as Python compares
/// them), else an isError result; a message without `id` is a notification
/// (no answer). Where mcp-replay would crash (a bad cursor), this answers a
/// JSON-RPC error.
struct Replay {
    initialize: Value,
    tools: Vec<Value>,
    calls: serde_json::Map<String, Value>,
    page: usize,
}

impl Replay {
    fn load(session: &Path) -> Replay {
        let text = std::fs::read_to_string(session).unwrap_or_else(|e| panic!("{}: {e}", session.display()));
        let mut s: Value = serde_json::from_str(&text).expect("session JSON");
        Replay {
            initialize: s["initialize"].take(),
            tools: s["tools"].as_array().cloned().expect("session tools"),
            calls: s.get("tool_calls").and_then(Value::as_object).cloned().unwrap_or_default(),
            page: 0,
        }
    }

    /// The answer to one message; `None` for a notification.
    fn answer(&self, msg: &Value) -> Option<Value> {
        let error = |id: Value, code: i64, message: &str| {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        };
        let Some(msg) = msg.as_object() else { return Some(error(Value::Null, -32600, "Invalid Request")) };
        let id = msg.get("id")?.clone();
        let empty = json!({});
        let params = msg.get("params").filter(|p| truthy(p) && p.is_object()).unwrap_or(&empty);
        let result = match msg.get("method").and_then(Value::as_str) {
            Some("initialize") => {
                let mut r = self.initialize.clone();
                if let Some(asked) = params.get("protocolVersion").filter(|v| truthy(v)) {
                    r["protocolVersion"] = asked.clone();
                }
                r
            }
            Some("ping") => json!({}),
            Some("tools/list") => {
                let start = match params.get("cursor").filter(|v| truthy(v)) {
                    None => Some(0),
                    Some(Value::String(c)) => c.trim().parse::<usize>().ok(),
                    Some(Value::Number(c)) => c.as_u64().map(|c| c as usize),
                    Some(_) => None,
                };
                let Some(start) = start else { return Some(error(id, -32602, "Invalid cursor")) };
                let len = self.tools.len();
                let end = if self.page > 0 { start.saturating_add(self.page) } else { len };
                let mut r = json!({"tools": self.tools[start.min(len)..end.min(len)]});
                if end < len {
                    r["nextCursor"] = Value::String(end.to_string());
                }
                r
            }
            Some("tools/call") => {
                let arguments = params.get("arguments").filter(|v| truthy(v)).unwrap_or(&empty);
                let recorded = params
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|n| self.calls.get(n))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|rec| py_eq(&rec["arguments"], arguments));
                match recorded {
                    Some(rec) => rec["result"].clone(),
                    None => json!({
                        "content": [{"type": "text", "text": "Error: this recorded session holds no answer for that call"}],
                        "isError": true,
                    }),
                }
            }
            _ => return Some(error(id, -32601, "Method not found")),
        };
        Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
    }
}

/// Python's truth value of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `a == b` as Python compares parsed JSON: key order never matters, and
/// numbers (and booleans, as 0/1) compare by value, so `1 == 1.0`.
fn py_eq(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if !x.is_f64() && !y.is_f64() => x == y,
        (Value::Number(_) | Value::Bool(_), Value::Number(_) | Value::Bool(_)) => num(a) == num(b),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| py_eq(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The crawl benchmark's remote servers: one axum server on 127.0.0.1 on a
/// thread of its own (a current-thread tokio runtime, so its CPU can be told
/// apart from the crawler's), serving the replayed session at `/s/{i}/mcp`
/// for any `i`, over Streamable HTTP with JSON answers. Every HTTP exchange
/// waits `latency` (tokio's sleep) before answering, as a round trip to a
/// remote server would: JSON-RPC answers, the 202 to a notification and the
/// session's closing DELETE.
struct HttpReplay {
    replay: Replay,
    latency: Duration,
    requests: std::sync::atomic::AtomicUsize,
}

struct ReplayServer {
    addr: std::net::SocketAddr,
    thread: libc::pthread_t,
    state: Arc<HttpReplay>,
}

impl ReplayServer {
    fn start(replay: Replay, latency: Duration) -> ReplayServer {
        use axum::routing::post;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(HttpReplay { replay, latency, requests: Default::default() });
        let app = axum::Router::new()
            .route("/s/{i}/mcp", post(replay_post).delete(replay_delete))
            .with_state(state.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("replay-http".into())
            .spawn(move || {
                tx.send(unsafe { libc::pthread_self() }).unwrap();
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    axum::serve(listener, app).await.unwrap();
                });
            })
            .unwrap();
        ReplayServer { addr, thread: rx.recv().unwrap(), state }
    }

    fn url(&self, i: usize) -> String {
        format!("http://{}/s/{i}/mcp", self.addr)
    }

    /// CPU time of the server's thread so far (all its HTTP and replay work).
    fn cpu_secs(&self) -> f64 {
        let mut clock: libc::clockid_t = 0;
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::pthread_getcpuclockid(self.thread, &mut clock) }, 0);
        assert_eq!(unsafe { libc::clock_gettime(clock, &mut ts) }, 0);
        ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
    }

    fn requests(&self) -> usize {
        self.state.requests.load(std::sync::atomic::Ordering::Relaxed)
    }
}

const SESSION_ID: &str = "mcp-session-id";

/// A session id per server path; every request after `initialize` must carry it.
fn has_session(headers: &axum::http::HeaderMap, sid: &str) -> bool {
    headers.get(SESSION_ID).and_then(|v| v.to_str().ok()) == Some(sid)
}

async fn replay_post(
    axum::extract::State(st): axum::extract::State<Arc<HttpReplay>>,
    axum::extract::Path(i): axum::extract::Path<usize>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::{header::CONTENT_TYPE, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    st.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(st.latency).await;
    let json_body = |status: StatusCode, v: &Value| {
        (status, [(CONTENT_TYPE, "application/json")], serde_json::to_vec(v).unwrap()).into_response()
    };
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        let e = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}});
        return json_body(StatusCode::BAD_REQUEST, &e);
    };
    let sid = format!("replay-{i}");
    let initialize = msg.get("method").and_then(Value::as_str) == Some("initialize");
    if !initialize && !has_session(&headers, &sid) {
        return (StatusCode::BAD_REQUEST, "missing or unknown Mcp-Session-Id").into_response();
    }
    match st.replay.answer(&msg) {
        None => StatusCode::ACCEPTED.into_response(),
        Some(answer) => {
            let mut resp = json_body(StatusCode::OK, &answer);
            if initialize {
                resp.headers_mut().insert(SESSION_ID, HeaderValue::from_str(&sid).unwrap());
            }
            resp
        }
    }
}

async fn replay_delete(
    axum::extract::State(st): axum::extract::State<Arc<HttpReplay>>,
    axum::extract::Path(i): axum::extract::Path<usize>,
    headers: axum::http::HeaderMap,
) -> axum::http::StatusCode {
    st.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(st.latency).await;
    if has_session(&headers, &format!("replay-{i}")) {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::NOT_FOUND
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--latency-proxy") {
        latency_proxy(&argv[2..]);
    }
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |s: &str| filter.is_empty() || filter.iter().any(|f| s.contains(f.as_str()));
    let n: usize = std::env::var("MCPCAT_BENCH_TOOLS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rules = Rules::load(&root().join("rules")).expect("rules");
    println!("mcp-catalogue benchmarks: {n} synthetic tools (seed 42), release build");
    // The crawl first, while this process is small: starting a server
    // forks it, and a fork of the gigabytes the later stages hold costs
    // page-table copies a real `mcp-catalogue crawl` never pays.
    if want("crawl") {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let shared = std::env::var_os("MCP_CATALOGUE_SHARED").map(PathBuf::from).unwrap_or_else(|| root().join("../shared"));
        let session = shared.join("fixtures/truenas-hierarchical/session.json");
        // The replay server needs only Python's standard library: it runs
        // on the interpreter's own path with `-S` (no site-packages). Through
        // a version manager's `python3` shim and a site with `.pth` imports,
        // each start-up cost ≈ 100 ms of CPU; this way ≈ 20 ms. 32 start-ups
        // on 2 cores measure Python, not the crawler.
        let python = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "python3".into());
        let spec = |i: usize, latency_ms: u32| ServerSpec {
            name: format!("replay-{i:02}"),
            transport: Transport::Stdio {
                command: if latency_ms > 0 {
                    std::env::current_exe().unwrap().to_string_lossy().into_owned()
                } else {
                    python.clone()
                },
                args: [
                    "--latency-proxy".to_string(),
                    latency_ms.to_string(),
                    python.clone(),
                ]
                .into_iter()
                .filter(|_| latency_ms > 0)
                .chain([
                    "-S".to_string(),
                    shared.join("tools/mcp-replay").to_string_lossy().into_owned(),
                    session.to_string_lossy().into_owned(),
                ])
                .collect(),
                env: Default::default(),
                cwd: None,
            },
            timeout: None,
            product: None,
            expand: None,
            vendor: None,
        };
        let recipes = Arc::new(Recipes::load(&root().join("rules/expanders")).unwrap());
        let time = |specs: &[ServerSpec], jobs: usize| -> f64 {
            let opts = CrawlOptions { jobs, timeout: Duration::from_secs(300), ..Default::default() };
            let t = Instant::now();
            let r = rt.block_on(crawl::crawl(specs, recipes.clone(), &opts));
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(r.len(), specs.len());
            assert!(r.iter().all(|r| r.ok && r.tools.len() == 279), "replay crawl failed: {:?}", r.iter().find(|r| !r.ok || r.tools.len() != 279).map(|r| (&r.spec.name, &r.error, r.tools.len())));
            for (r, spec) in r.iter().zip(specs) {
                let want = if matches!(spec.transport, Transport::Http { .. }) { "streamable-http" } else { "stdio" };
                assert_eq!(r.transport.as_deref(), Some(want), "{}", r.spec.name);
            }
            secs
        };
        // As recorded (servers answer at once: the crawl is bound by their CPU,
        // 2 cores for 32 Python processes), and with 250 ms per answer (servers
        // wait, as remote ones do). CPU split: ours vs the servers'.
        for latency in [0u32, 250] {
            let specs: Vec<ServerSpec> = (0..32).map(|i| spec(i, latency)).collect();
            let label = if latency == 0 { "no added latency".to_string() } else { format!("{latency} ms per answer") };
            let single = time(&specs[..1], 1);
            line(&format!("crawl 1 replay server ({label})"), format!("{single:.2} s"), "-");
            if latency == 0 {
                let serial = time(&specs, 1);
                line(&format!("crawl 32 servers --jobs 1 ({label})"), format!("{serial:.2} s"), "-");
            }
            let (self0, kids0) = (cpu_secs(libc::RUSAGE_SELF), cpu_secs(libc::RUSAGE_CHILDREN));
            let parallel = time(&specs, 32);
            let (ours, theirs) = (cpu_secs(libc::RUSAGE_SELF) - self0, cpu_secs(libc::RUSAGE_CHILDREN) - kids0);
            line(
                &format!("crawl 32 servers --jobs 32 ({label})"),
                format!("{parallel:.2} s = {:.2}x single", parallel / single),
                "<= 1.2x single",
            );
            line("  CPU: crawler / servers", format!("{ours:.2} s / {theirs:.2} s"), "-");
        }
        // Remote servers cost this machine no CPU of their own: 32 of them
        // over Streamable HTTP, served in this process (so the crawl alone
        // is measured, not 32 Python start-ups on 2 cores).
        let latency = Duration::from_millis(250);
        let server = ReplayServer::start(Replay::load(&session), latency);
        let specs: Vec<ServerSpec> = (0..32)
            .map(|i| ServerSpec {
                name: format!("remote-{i:02}"),
                transport: Transport::Http { url: server.url(i), headers: Default::default(), http: HttpKind::Streamable },
                timeout: None,
                product: None,
                expand: None,
                vendor: None,
            })
            .collect();
        let label = format!("HTTP, {} ms per answer", latency.as_millis());
        let single = time(&specs[..1], 1);
        line(&format!("crawl 1 remote server ({label})"), format!("{single:.2} s"), "-");
        let (self0, server0, requests0) = (cpu_secs(libc::RUSAGE_SELF), server.cpu_secs(), server.requests());
        let parallel = time(&specs, 32);
        let (all, served) = (cpu_secs(libc::RUSAGE_SELF) - self0, server.cpu_secs() - server0);
        line(
            &format!("crawl 32 remote servers --jobs 32 ({label})"),
            format!("{parallel:.2} s = {:.2}x single", parallel / single),
            "<= 1.2x single",
        );
        line(
            "  CPU: crawler / in-process servers",
            format!("{:.2} s / {served:.2} s", all - served),
            &format!("- ({} HTTP requests served)", server.requests() - requests0),
        );
    }
    let t = Instant::now();
    let tools = synth::catalogue(42, n, 50);
    line("generate synthetic catalogue", format!("{:.2} s", t.elapsed().as_secs_f64()), "-");

    if want("classify") {
        // One core, a plain loop over the catalogue, the best of three passes
        // (after a warm-up pass over the first 10,000).
        for t in tools.iter().take(10_000) {
            std::hint::black_box(rules.classify(t));
        }
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for tool in &tools {
                std::hint::black_box(rules.classify(tool));
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        line("classification, one core", format!("{:.0} tools/s", n as f64 / best), ">= 100,000 tools/s");
    }

    // MCPCAT_BENCH_DIR keeps the database and sites for a look afterwards.
    let tmp = tempfile::tempdir().unwrap();
    let base: PathBuf = match std::env::var_os("MCPCAT_BENCH_DIR") {
        Some(d) => {
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    };
    struct Dir(PathBuf);
    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    let dir = Dir(base);
    let db = dir.path().join("bench.db");
    if want("store") || want("reclassify") || want("site") {
        let mut store = Store::open(&db).unwrap();
        let first = by_server(&tools);
        let t = Instant::now();
        store.record_run("bench", &store::now(), &first).unwrap();
        line("store: insert a new crawl", format!("{:.2} s", t.elapsed().as_secs_f64()), "-");
        // Second crawl: 1% changed, 0.5% removed, 0.5% added.
        let mut rng = synth::Rng::new(7);
        let mut second: Vec<ToolRecord> = Vec::with_capacity(n);
        for (i, t) in tools.iter().enumerate() {
            match rng.below(1000) {
                0..=9 => {
                    let mut c = t.clone();
                    c.description = Some(format!("{} (changed)", c.description.clone().unwrap_or_default()));
                    c.raw["description"] = serde_json::Value::String(c.description.clone().unwrap());
                    second.push(c);
                }
                10..=14 => {}
                _ => second.push(t.clone()),
            }
            if rng.below(1000) < 5 {
                second.push(synth::tool(&mut rng, &t.server, n + i));
            }
        }
        let second = by_server(&second);
        let t = Instant::now();
        let (sum, _) = store.record_run("bench", &store::now(), &second).unwrap();
        line(
            "store: diff + write a 2nd crawl",
            format!("{:.2} s", t.elapsed().as_secs_f64()),
            &format!("- (+{} -{} ~{})", sum.added, sum.removed, sum.changed),
        );
        if want("reclassify") || want("site") {
            let t = Instant::now();
            let k = pipeline::classify_all(&mut store, &rules).unwrap();
            line(&format!("re-classify {k} stored tools"), format!("{:.2} s", t.elapsed().as_secs_f64()), "< 2 s");
        }
        if want("site") {
            let profile = policy::Profile::load(&root().join("rules/policy.toml")).unwrap();
            let servers = store.servers().unwrap();
            let stored = store.tools(false).unwrap();
            let mut versions = HashMap::new();
            for t in stored.iter().filter(|t| t.versions > 1) {
                versions.insert(t.id, store.versions(t.id).unwrap());
            }
            let changes = history::changes(&store, &rules, store.last_run().unwrap().unwrap_or(1) - 1).unwrap();
            let input = site::SiteInput {
                servers: &servers,
                tools: &stored,
                schemas: None,
                versions: &versions,
                changes: &changes,
                profile: &profile,
                generated_at: "bench".into(),
                base_url: None,
            };
            let out = dir.path().join("site");
            // The real binary on the 100k-tool database: wall time and peak memory.
            drop(store);
            cli_runs(&db, &dir.path().join("cli-site"));
            // A first build: pages/s, and CPU split. Rendering is user time;
            // creating 100k files is the kernel's (ext4 slows down by several
            // times after many recent deletions).
            let first_build = |label: &str, out: &Path| {
                let (user0, sys0) = user_sys_secs(libc::RUSAGE_SELF);
                let t = Instant::now();
                let stats = site::build(out, &input).unwrap();
                let secs = t.elapsed().as_secs_f64();
                let (user1, sys1) = user_sys_secs(libc::RUSAGE_SELF);
                line(label, format!("{:.0} pages/s", stats.pages as f64 / secs), ">= 10,000 pages/s");
                line(
                    "  CPU: rendering (user) / file creation (sys)",
                    format!("{:.2} s / {:.2} s", user1 - user0, sys1 - sys0),
                    "-",
                );
            };
            first_build("site: first build", &out);
            let t = Instant::now();
            let again = site::build(&out, &input).unwrap();
            line(
                "site: unchanged re-run",
                format!("{:.2} s, {} written", t.elapsed().as_secs_f64(), again.written),
                "0 written",
            );
            // The same build into memory (tmpfs), where creating a file costs
            // a few microseconds: the site generator's own speed, apart from
            // the disk file system's state.
            let shm = Path::new("/dev/shm");
            if shm.is_dir() {
                let mem = tempfile::tempdir_in(shm).unwrap();
                first_build("site: first build into tmpfs", mem.path());
            }
        }
    }

    line("peak memory of this bench process", format!("{:.0} MiB", peak_rss_mib()), "- (holds several copies)");
}
