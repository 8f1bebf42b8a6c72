//! A seeded synthetic catalogue for benchmarks: realistic tool names,
//! descriptions, schemas and annotations across many vendors. Same seed,
//! same catalogue.

use crate::model::ToolRecord;
use serde_json::{json, Value};

/// xorshift64*: tiny, seeded, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const VENDORS: &[&str] = &[
    "github", "gitlab", "slack", "stripe", "k8s", "aws", "gcp", "azure", "postgres", "mysql", "redis", "jira",
    "notion", "linear", "truenas", "proxmox", "docker", "cloudflare", "datadog", "sentry", "shopify", "twilio",
    "filesystem", "browser", "grafana", "vault", "okta", "salesforce", "hubspot", "zendesk",
];
const NOUNS: &[&str] = &[
    "issue", "pull_request", "repository", "branch", "commit", "channel", "message", "user", "group", "invoice",
    "payment", "customer", "subscription", "pod", "deployment", "service", "node", "bucket", "object", "instance",
    "snapshot", "dataset", "pool", "disk", "volume", "table", "row", "database", "query", "dashboard", "alert",
    "secret", "key", "token", "file", "directory", "page", "ticket", "record", "webhook", "vm", "container",
];
const READ_VERBS: &[&str] = &["list", "get", "describe", "search", "query", "show", "count", "fetch", "read", "status"];
const WRITE_VERBS: &[&str] = &[
    "create", "update", "delete", "set", "start", "stop", "restart", "run", "exec", "wipe", "rollback", "export",
    "import", "upgrade", "install", "attach", "detach", "send", "post", "merge", "transfer", "refund", "charge",
];
const STYLES: &[fn(&str, &str) -> String] = &[
    |v, n| format!("{v}_{n}"),
    |v, n| format!("{n}_{v}"),
    |v, n| {
        let mut c = n.split('_').map(|p| {
            let mut s = p.to_string();
            if let Some(f) = s.get_mut(0..1) {
                f.make_ascii_uppercase();
            }
            s
        });
        format!("{v}{}", c.by_ref().collect::<String>())
    },
    |v, n| format!("{n}.{v}"),
    |v, n| format!("{v}-{}", n.replace('_', "-")),
];
const READ_DESC: &[&str] = &[
    "List all {n}s in the account, with optional filters and pagination.",
    "Get details of a {n} by its identifier.",
    "Search {n}s matching a query string and return the first page of results.",
    "Return the current status of the {n}.",
    "Show the configuration of a {n}.",
];
const WRITE_DESC: &[&str] = &[
    "Create a new {n} with the given properties.",
    "Update an existing {n}. Only the given fields change.",
    "Permanently delete a {n}. This cannot be undone.",
    "Restart the {n}; clients are disconnected while it restarts.",
    "Run a shell command on the {n} and return its output.",
    "Send a {n} to the given recipients.",
    "Charge the customer's card for the {n} amount.",
    "Wipe all data on the {n}. DESTRUCTIVE: requires confirm=true.",
];

/// `n` tools spread over `n / tools_per_server` servers.
pub fn catalogue(seed: u64, n: usize, tools_per_server: usize) -> Vec<ToolRecord> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    let per = tools_per_server.max(1);
    for i in 0..n {
        let server = format!("{}-{}", VENDORS[(i / per) % VENDORS.len()], i / per);
        out.push(tool(&mut rng, &server, i));
    }
    out
}

/// One synthetic tool; `i` keeps names unique within a server.
pub fn tool(rng: &mut Rng, server: &str, i: usize) -> ToolRecord {
    let read = rng.below(100) < 55;
    let verb = if read { *rng.pick(READ_VERBS) } else { *rng.pick(WRITE_VERBS) };
    let noun = *rng.pick(NOUNS);
    let style = rng.pick(STYLES);
    let name = format!("{}{}", style(verb, noun), if i.is_multiple_of(7) { String::new() } else { format!("_{i}") });
    let desc = if read { rng.pick(READ_DESC) } else { rng.pick(WRITE_DESC) }.replace("{n}", &noun.replace('_', " "));
    let mut props = serde_json::Map::new();
    props.insert("id".into(), json!({"type": "string", "description": format!("The {noun} id")}));
    for p in ["limit", "force", "recursive", "confirm", "path", "command", "body", "password", "query"] {
        if rng.below(8) == 0 {
            props.insert(p.into(), json!({"type": "string"}));
        }
    }
    let mut raw = json!({
        "name": name,
        "description": desc,
        "inputSchema": {"type": "object", "properties": Value::Object(props), "required": ["id"]},
    });
    if rng.below(3) == 0 {
        raw["annotations"] = json!({"readOnlyHint": read, "destructiveHint": !read && rng.below(2) == 0});
    }
    ToolRecord::from_raw(server, raw)
}
