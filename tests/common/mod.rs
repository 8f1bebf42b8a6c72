//! Helpers shared by the integration tests: where the real servers live.
#![allow(dead_code)]

use std::path::PathBuf;

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the project (fixtures and mcp-replay live there).
pub fn shared() -> PathBuf {
    let p = std::env::var_os("MCP_CATALOGUE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared"));
    assert!(
        p.join("tools/mcp-replay").exists(),
        "../shared not found at {}",
        p.display()
    );
    p
}

pub fn replay() -> PathBuf {
    shared().join("tools/mcp-replay")
}

pub fn truenas_session() -> PathBuf {
    shared().join("fixtures/truenas-hierarchical/session.json")
}

/// Python of the test venv with the official MCP Python SDK (`mcp`), made by
/// `scripts/test` (`.venvs/sdk`). Used to run real Streamable HTTP / SSE servers.
pub fn sdk_python() -> PathBuf {
    let p = root().join(".venvs/sdk/bin/python");
    assert!(
        p.exists(),
        "{} missing: run scripts/test (it creates the test venvs)",
        p.display()
    );
    p
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
