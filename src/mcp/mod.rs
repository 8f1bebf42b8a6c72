//! The MCP client: JSON-RPC 2.0 over stdio, Streamable HTTP and legacy SSE.
//!
//! Speaks `initialize`, `notifications/initialized`, `tools/list` (every
//! page) and `tools/call` (only for expansion's discovery calls). Never calls
//! anything else. Keeps each tool's raw JSON exactly as returned.
//! (STUB: the mcp helper replaces this body; the public API below is the contract.)

use crate::model::Launch;
use serde_json::Value;
use std::time::Duration;

/// Protocol versions we accept, newest first; we offer the first.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Separate limits for each phase of talking to one server.
#[derive(Debug, Clone)]
pub struct Limits {
    pub spawn: Duration,
    pub initialize: Duration,
    pub page: Duration,
    pub call: Duration,
    pub max_message_bytes: usize,
    pub max_tools: usize,
    pub max_pages: usize,
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

/// An initialized connection to one server.
pub struct Session {
    _private: (),
}

impl Session {
    /// Spawn or connect, then `initialize` + `notifications/initialized`.
    pub async fn connect(_launch: &Launch, _limits: &Limits) -> Result<Session, McpError> {
        unimplemented!()
    }
    pub fn info(&self) -> &ServerInfo {
        unimplemented!()
    }
    /// Every page of `tools/list`, following `nextCursor`.
    pub async fn list_tools(&mut self) -> Result<ToolList, McpError> {
        unimplemented!()
    }
    /// `tools/call`; returns the `result` object (which may carry `isError`).
    pub async fn call_tool(&mut self, _name: &str, _arguments: Value) -> Result<Value, McpError> {
        unimplemented!()
    }
    /// End the session: DELETE for HTTP, kill the process group for stdio.
    /// Returns the stderr tail.
    pub async fn close(self) -> Vec<String> {
        unimplemented!()
    }
}
