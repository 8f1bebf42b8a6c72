//! mcp-catalogue: catalogue the tools MCP servers expose, judge their risk,
//! recommend gateway policies and publish a static site.
//!
//! Pipeline (data flows one way):
//! `source` → `mcp` → `expand` → `store` → `classify` → `policy` / `site`.
//! Only the commands in `main.rs` / `crawl.rs` know the order.

pub mod classify;
pub mod crawl;
pub mod defaults;
pub mod eval;
pub mod expand;
pub mod history;
pub mod mcp;
pub mod model;
pub mod pipeline;
pub mod policy;
pub mod site;
pub mod source;
pub mod store;
pub mod synth;
