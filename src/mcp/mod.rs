//! The MCP client: JSON-RPC 2.0 over stdio, Streamable HTTP and legacy SSE.
//!
//! Speaks `initialize`, `notifications/initialized`, `tools/list` (every
//! page) and `tools/call` (only for expansion's discovery calls). Never calls
//! anything else. Keeps each tool's raw JSON exactly as returned.
//!
//! Every wait is bounded by a [`Limits`] timeout and every message by
//! `max_message_bytes`; a failure is an [`McpError`] naming the [`Phase`].
//! A stdio server runs in its own process group with resource limits, and
//! the whole group is killed on [`Session::close`], on a failed connect and
//! when a `Session` is dropped (e.g. by the caller's overall deadline).
//! Error messages never show header values or URL query strings (they may
//! hold secrets): URLs are shown as `scheme://host:port/path`.

mod http;
mod lines;
mod sse;
mod stdio;

use crate::model::{HttpKind, Launch};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Protocol versions we accept, newest first; we offer the first.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Separate limits for each phase of talking to one server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Stdio: how long a just-started server may take to answer
    /// `initialize` (covers npx/uvx downloading the package); the wait is
    /// the larger of this and `initialize`. HTTP: the TCP/TLS connect timeout.
    pub spawn: Duration,
    /// Wait for the `initialize` answer (and, for legacy SSE, the endpoint event).
    pub initialize: Duration,
    /// Wait for each `tools/list` page.
    pub page: Duration,
    /// Wait for each `tools/call`.
    pub call: Duration,
    /// The largest single message (stdio line, HTTP body, SSE event).
    pub max_message_bytes: usize,
    /// Stop listing (with a warning) after this many tools.
    pub max_tools: usize,
    /// Stop listing (with a warning) after this many pages.
    pub max_pages: usize,
    /// Stdio: between SIGTERM and SIGKILL of the server's process group on close.
    pub kill_grace: Duration,
    /// Stdio: how many of the server's last stderr lines to keep.
    pub stderr_lines: usize,
    /// Stdio child's RLIMIT_AS in bytes (None: inherit).
    pub address_space: Option<u64>,
    /// Stdio child's RLIMIT_CPU in seconds (None: inherit).
    pub cpu_seconds: Option<u64>,
    /// Stdio child's RLIMIT_NOFILE (None: inherit).
    pub open_files: Option<u64>,
    /// Stdio child's RLIMIT_FSIZE in bytes (None: inherit).
    pub file_size: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            spawn: Duration::from_secs(60),
            initialize: Duration::from_secs(30),
            page: Duration::from_secs(30),
            call: Duration::from_secs(30),
            max_message_bytes: 16 * 1024 * 1024,
            max_tools: 100_000,
            max_pages: 10_000,
            kill_grace: Duration::from_secs(2),
            stderr_lines: 20,
            address_space: Some(4 << 30),
            cpu_seconds: Some(600),
            open_files: Some(1024),
            file_size: Some(256 << 20),
        }
    }
}

/// Which step failed: shown to users and stored with the crawl outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Spawn,
    Connect,
    Initialize,
    ListTools,
    Call,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Spawn => "spawn",
            Phase::Connect => "connect",
            Phase::Initialize => "initialize",
            Phase::ListTools => "tools/list",
            Phase::Call => "tools/call",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{phase}: {message}", phase = .phase.as_str())]
pub struct McpError {
    pub phase: Phase,
    pub message: String,
    /// Last lines the server wrote to stderr (stdio only).
    pub stderr_tail: Vec<String>,
}

impl McpError {
    pub(crate) fn new(phase: Phase, message: impl Into<String>) -> Self {
        McpError {
            phase,
            message: message.into(),
            stderr_tail: Vec::new(),
        }
    }
}

/// What `initialize` agreed.
#[derive(Debug, Clone, Default)]
pub struct ServerInfo {
    pub protocol_version: String,
    /// `serverInfo` as sent (name, version, ...).
    pub server_info: Value,
    pub capabilities: Value,
    pub instructions: Option<String>,
    /// "stdio", "streamable-http" or "sse".
    pub transport: String,
}

/// `tools/list` across every page.
#[derive(Debug, Clone, Default)]
pub struct ToolList {
    /// Each tool's JSON exactly as returned.
    pub tools: Vec<Value>,
    pub pages: usize,
    pub warnings: Vec<String>,
}

/// The most warnings one listing keeps (a junk-filled list must not flood).
const MAX_WARNINGS: usize = 50;

impl ToolList {
    fn warn(&mut self, w: String) {
        tracing::warn!("tools/list: {w}");
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else if self.warnings.len() == MAX_WARNINGS {
            self.warnings.push("more warnings left out".to_string());
        }
    }
}

/// One transport's connection.
enum Conn {
    Stdio(stdio::Stdio),
    Http(http::Streamable),
    Sse(http::LegacySse),
}

impl Conn {
    async fn request(
        &mut self,
        id: u64,
        method: &str,
        msg: &Value,
        phase: Phase,
    ) -> Result<Value, McpError> {
        match self {
            Conn::Stdio(c) => c.request(id, method, msg, phase).await,
            Conn::Http(c) => c.request(id, method, msg, phase).await,
            Conn::Sse(c) => c.request(id, method, msg, phase).await,
        }
    }

    async fn notify(&mut self, msg: &Value, phase: Phase) -> Result<(), McpError> {
        match self {
            Conn::Stdio(c) => c.send(msg, phase).await,
            Conn::Http(c) => c.notify(msg, phase).await,
            Conn::Sse(c) => c.post(msg, phase).await,
        }
    }

    fn set_protocol_version(&mut self, v: &str) {
        if let Conn::Http(c) = self {
            c.protocol = Some(v.to_string());
        }
    }

    /// A request timed out: a stdio server is killed at once (its state is
    /// unknown and it must not outlive the wait); HTTP needs nothing.
    async fn on_timeout(&mut self, reason: String) {
        if let Conn::Stdio(c) = self {
            c.kill_now(reason).await;
        }
    }

    fn stderr_tail(&self) -> Vec<String> {
        match self {
            Conn::Stdio(c) => c.stderr_tail(),
            _ => Vec::new(),
        }
    }

    fn transport(&self) -> &'static str {
        match self {
            Conn::Stdio(_) => "stdio",
            Conn::Http(_) => "streamable-http",
            Conn::Sse(_) => "sse",
        }
    }

    async fn close(self) -> Vec<String> {
        match self {
            Conn::Stdio(c) => c.close().await,
            Conn::Http(c) => {
                c.close().await;
                Vec::new()
            }
            Conn::Sse(c) => {
                drop(c);
                Vec::new()
            }
        }
    }
}

/// An initialized connection to one server.
///
/// Dropping it without [`Session::close`] still ends the server: a stdio
/// server's whole process group gets SIGKILL, an HTTP stream is dropped.
pub struct Session {
    conn: Conn,
    info: ServerInfo,
    limits: Limits,
    next_id: u64,
}

impl Session {
    /// Spawn or connect, then `initialize` + `notifications/initialized`.
    pub async fn connect(launch: &Launch, limits: &Limits) -> Result<Session, McpError> {
        match launch {
            Launch::Stdio {
                program,
                args,
                env,
                cwd,
            } => {
                let conn = stdio::Stdio::spawn(program, args, env, cwd.as_deref(), limits)?;
                let wait = limits.spawn.max(limits.initialize);
                Session::start(Conn::Stdio(conn), limits, wait).await
            }
            Launch::Http { url, headers, http } => {
                let common = http::Common::new(url, headers, limits)?;
                match http {
                    HttpKind::Streamable => {
                        let conn = Conn::Http(http::Streamable::new(common));
                        Session::start(conn, limits, limits.initialize).await
                    }
                    HttpKind::Sse => Session::start_sse(common, limits).await,
                    HttpKind::Auto => {
                        let mut session =
                            Session::new(Conn::Http(http::Streamable::new(common.clone())), limits);
                        let first = session.handshake(limits.initialize).await;
                        let Err(err) = first else { return Ok(session) };
                        let reason = match &session.conn {
                            Conn::Http(c) => c.fallback.clone(),
                            _ => None,
                        };
                        session.conn.close().await;
                        let Some(reason) = reason else {
                            return Err(err);
                        };
                        tracing::debug!("streamable HTTP not spoken ({reason}); trying legacy SSE");
                        Session::start_sse(common, limits).await.map_err(|mut e| {
                            e.message = format!(
                                "{} (Streamable HTTP was tried first: {reason})",
                                e.message
                            );
                            e
                        })
                    }
                }
            }
        }
    }

    async fn start_sse(common: http::Common, limits: &Limits) -> Result<Session, McpError> {
        let conn = http::LegacySse::connect(common, limits.initialize).await?;
        Session::start(Conn::Sse(conn), limits, limits.initialize).await
    }

    fn new(conn: Conn, limits: &Limits) -> Session {
        let info = ServerInfo {
            transport: conn.transport().to_string(),
            ..ServerInfo::default()
        };
        Session {
            conn,
            info,
            limits: limits.clone(),
            next_id: 1,
        }
    }

    async fn start(conn: Conn, limits: &Limits, wait: Duration) -> Result<Session, McpError> {
        let mut session = Session::new(conn, limits);
        match session.handshake(wait).await {
            Ok(()) => Ok(session),
            Err(mut e) => {
                let tail = session.conn.close().await;
                if e.stderr_tail.is_empty() {
                    e.stderr_tail = tail;
                }
                Err(e)
            }
        }
    }

    async fn handshake(&mut self, wait: Duration) -> Result<(), McpError> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSIONS[0],
            "capabilities": {},
            "clientInfo": {"name": "mcp-catalogue", "version": env!("CARGO_PKG_VERSION")},
        });
        let result = self
            .request("initialize", params, wait, Phase::Initialize)
            .await?;
        let fail = |m: String| {
            Err(McpError {
                phase: Phase::Initialize,
                message: m,
                stderr_tail: self.conn.stderr_tail(),
            })
        };
        let Value::Object(result) = result else {
            return fail("the initialize result is not an object".to_string());
        };
        let version = match result.get("protocolVersion") {
            Some(Value::String(v)) => v.clone(),
            Some(v) => {
                return fail(format!(
                    "the server answered with protocol version {}, which is not a string",
                    cap(&v.to_string(), 100)
                ))
            }
            None => return fail("the initialize result has no protocolVersion".to_string()),
        };
        if !PROTOCOL_VERSIONS.contains(&version.as_str()) {
            return fail(format!(
                "the server wants protocol version \"{}\", which this client does not speak (it speaks {})",
                cap(&version, 100),
                PROTOCOL_VERSIONS.join(", ")
            ));
        }
        self.info.protocol_version = version.clone();
        self.info.server_info = result.get("serverInfo").cloned().unwrap_or(Value::Null);
        self.info.capabilities = result.get("capabilities").cloned().unwrap_or(Value::Null);
        self.info.instructions = result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.conn.set_protocol_version(&version);
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        match tokio::time::timeout(wait, self.conn.notify(&note, Phase::Initialize)).await {
            Ok(r) => r.map_err(|e| self.with_tail(e)),
            Err(_) => Err(self.with_tail(McpError::new(
                Phase::Initialize,
                format!(
                    "timed out after {} sending notifications/initialized",
                    fmt_duration(wait)
                ),
            ))),
        }
    }

    fn with_tail(&self, mut e: McpError) -> McpError {
        if e.stderr_tail.is_empty() {
            e.stderr_tail = self.conn.stderr_tail();
        }
        e
    }

    /// Send one request and wait (bounded) for its `result`.
    async fn request(
        &mut self,
        method: &str,
        params: Value,
        wait: Duration,
        phase: Phase,
    ) -> Result<Value, McpError> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let answer =
            match tokio::time::timeout(wait, self.conn.request(id, method, &msg, phase)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => return Err(self.with_tail(e)),
                Err(_) => {
                    let msg = format!(
                        "timed out after {} waiting for an answer to {method}",
                        fmt_duration(wait)
                    );
                    self.conn
                        .on_timeout(format!("the server was stopped: {msg}"))
                        .await;
                    return Err(self.with_tail(McpError::new(phase, msg)));
                }
            };
        if let Some(err) = answer.get("error") {
            let code = err
                .get("code")
                .map(|c| c.to_string())
                .unwrap_or_else(|| "?".to_string());
            let text = err.get("message").and_then(Value::as_str).unwrap_or("");
            let msg = format!(
                "the server answered {method} with error {code}: {}",
                cap(text, 300)
            );
            return Err(self.with_tail(McpError::new(phase, msg)));
        }
        match answer.get("result") {
            Some(r) => Ok(r.clone()),
            None => Err(self.with_tail(McpError::new(
                phase,
                format!("the answer to {method} has no result"),
            ))),
        }
    }

    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The stdio server's process id (also its process group id).
    pub fn pid(&self) -> Option<u32> {
        match &self.conn {
            Conn::Stdio(c) => c.pid(),
            _ => None,
        }
    }

    /// The last lines the server wrote to stderr so far (stdio only).
    pub fn stderr_tail(&self) -> Vec<String> {
        self.conn.stderr_tail()
    }

    /// Every page of `tools/list`, following `nextCursor`.
    pub async fn list_tools(&mut self) -> Result<ToolList, McpError> {
        let mut list = ToolList::default();
        let mut seen_cursors: HashSet<String> = HashSet::new();
        let mut seen_names: HashSet<String> = HashSet::new();
        let mut cursor: Option<Value> = None;
        loop {
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            let result = self
                .request("tools/list", params, self.limits.page, Phase::ListTools)
                .await?;
            list.pages += 1;
            let page = list.pages;
            match result.get("tools") {
                Some(Value::Array(tools)) => {
                    for (i, tool) in tools.iter().enumerate() {
                        if !tool.is_object() {
                            list.warn(format!("page {page}: entry {i} is not an object; skipped"));
                            continue;
                        }
                        if let Some(Value::String(name)) = tool.get("name") {
                            if !seen_names.insert(name.clone()) {
                                list.warn(format!(
                                    "page {page}: tool \"{}\" listed again; skipped",
                                    cap(name, 100)
                                ));
                                continue;
                            }
                        }
                        if list.tools.len() >= self.limits.max_tools {
                            list.warn(format!(
                                "stopped at the limit of {} tools",
                                self.limits.max_tools
                            ));
                            return Ok(list);
                        }
                        list.tools.push(tool.clone());
                    }
                }
                None | Some(Value::Null) => list.warn(format!("page {page}: no tools array")),
                Some(_) => list.warn(format!("page {page}: tools is not an array; skipped")),
            }
            let next = match result.get("nextCursor") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(c) => Some(c.clone()),
            };
            let Some(next) = next else { return Ok(list) };
            let key = next.to_string();
            if !seen_cursors.insert(key.clone()) {
                list.warn(format!(
                    "the server repeated nextCursor {}; stopped after page {page}",
                    cap(&key, 100)
                ));
                return Ok(list);
            }
            if list.tools.len() >= self.limits.max_tools {
                list.warn(format!(
                    "stopped at the limit of {} tools; the server has more pages",
                    self.limits.max_tools
                ));
                return Ok(list);
            }
            if list.pages >= self.limits.max_pages {
                list.warn(format!(
                    "stopped at the limit of {} pages; the server has more",
                    self.limits.max_pages
                ));
                return Ok(list);
            }
            cursor = Some(next);
        }
    }

    /// `tools/call`; returns the `result` object (which may carry `isError`).
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Value, McpError> {
        let params = json!({"name": name, "arguments": arguments});
        self.request("tools/call", params, self.limits.call, Phase::Call)
            .await
    }

    /// End the session: DELETE for HTTP, kill the process group for stdio.
    /// Returns the stderr tail.
    pub async fn close(self) -> Vec<String> {
        self.conn.close().await
    }
}

/// A JSON-RPC message, sorted by what the client must do with it.
pub(crate) enum Incoming {
    /// An answer to one of our requests (has an id and result or error).
    Response(Value),
    /// The server asks something of us: answer it.
    Request { id: Value, method: String },
    /// A notification or something that is not JSON-RPC at all: ignore.
    Ignore,
}

pub(crate) fn classify(msg: &Value) -> Incoming {
    let Value::Object(m) = msg else {
        return Incoming::Ignore;
    };
    if !m.contains_key("jsonrpc") {
        return Incoming::Ignore;
    }
    let id = m.get("id").filter(|id| !id.is_null());
    match (m.get("method").and_then(Value::as_str), id) {
        (Some(method), Some(id)) => Incoming::Request {
            id: id.clone(),
            method: method.to_string(),
        },
        (Some(_), None) => Incoming::Ignore,
        (None, _)
            if m.contains_key("id") && (m.contains_key("result") || m.contains_key("error")) =>
        {
            Incoming::Response(msg.clone())
        }
        _ => Incoming::Ignore,
    }
}

/// Our answer to a server's request: `ping` gets `{}`, anything else
/// "method not found" (we offer no client capabilities).
pub(crate) fn reply_to(id: &Value, method: &str) -> Value {
    if method == "ping" {
        json!({"jsonrpc": "2.0", "id": id, "result": {}})
    } else {
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}})
    }
}

/// Does this response answer request `id`? (Lenient: "7" matches 7.)
pub(crate) fn answers(msg: &Value, id: u64) -> bool {
    match msg.get("id") {
        Some(Value::Number(n)) => n.as_u64() == Some(id) || n.as_f64() == Some(id as f64),
        Some(Value::String(s)) => s.trim() == id.to_string(),
        _ => false,
    }
}

/// "16 MiB", "512 KiB", "100 bytes".
pub(crate) fn fmt_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// "30s", "1.5s", "200ms".
pub(crate) fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// At most `max` characters of `s` (on a char boundary), marked when cut.
pub(crate) fn cap(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        assert!(matches!(
            classify(&json!({"jsonrpc": "2.0", "id": 1, "result": {}})),
            Incoming::Response(_)
        ));
        assert!(matches!(
            classify(&json!({"jsonrpc": "2.0", "id": 1, "error": {}})),
            Incoming::Response(_)
        ));
        assert!(matches!(
            classify(&json!({"jsonrpc": "2.0", "id": "a", "method": "ping"})),
            Incoming::Request { ref method, .. } if method == "ping"
        ));
        assert!(matches!(
            classify(&json!({"jsonrpc": "2.0", "method": "notifications/message"})),
            Incoming::Ignore
        ));
        // Log lines that happen to be JSON are not JSON-RPC.
        assert!(matches!(
            classify(&json!({"level": "info", "id": 1, "result": 2})),
            Incoming::Ignore
        ));
        assert!(matches!(classify(&json!([1, 2])), Incoming::Ignore));
        assert!(matches!(
            classify(&json!({"jsonrpc": "2.0", "id": 1})),
            Incoming::Ignore
        ));
    }

    #[test]
    fn replies_to_server_requests() {
        assert_eq!(
            reply_to(&json!(3), "ping"),
            json!({"jsonrpc": "2.0", "id": 3, "result": {}})
        );
        assert_eq!(
            reply_to(&json!("x"), "sampling/createMessage")["error"]["code"],
            json!(-32601)
        );
    }

    #[test]
    fn matches_ids_leniently() {
        assert!(answers(&json!({"id": 7}), 7));
        assert!(answers(&json!({"id": "7"}), 7));
        assert!(answers(&json!({"id": 7.0}), 7));
        assert!(!answers(&json!({"id": 8}), 7));
        assert!(!answers(&json!({"id": null}), 7));
    }

    #[test]
    fn formats_sizes_and_durations() {
        assert_eq!(fmt_bytes(16 * 1024 * 1024), "16 MiB");
        assert_eq!(fmt_bytes(2048), "2 KiB");
        assert_eq!(fmt_bytes(1000), "1000 bytes");
        assert_eq!(fmt_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(fmt_duration(Duration::from_secs(30)), "30s");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(cap("héllo", 2), "hé…");
        assert_eq!(cap("hé", 2), "hé");
    }
}
