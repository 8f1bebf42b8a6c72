//! Command-line definitions only (clap). Turned once into settings in `main`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "mcp-catalogue", version, about = "Catalogue the tools MCP servers expose, judge their risk, recommend gateway policies, publish a static site.")]
pub struct Cli {
    /// The catalogue database.
    #[arg(long, global = true, default_value = "catalogue.db")]
    pub db: PathBuf,
    /// A servers file (`mcpServers` format); repeatable. Default
    /// `data/servers.json` unless --from-clients is given.
    #[arg(long, global = true)]
    pub servers: Vec<PathBuf>,
    /// Also read the MCP servers configured in the clients on this machine
    /// (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Gemini CLI,
    /// Codex CLI), from HOME and the current directory.
    #[arg(long, global = true)]
    pub from_clients: bool,
    /// A rules directory (classification rules, expanders/, policy.toml)
    /// instead of the built-in rules (`rules export DIR` writes those out).
    #[arg(long, global = true)]
    pub rules: Option<PathBuf>,
    /// More logging on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to every configured server, list (and expand) its tools, store and classify them.
    Crawl(CrawlArgs),
    /// Every current tool with its verdict, as JSON or CSV on stdout.
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// Include tools that servers no longer list.
        #[arg(long)]
        include_removed: bool,
    },
    /// Each configured server, its last crawl's outcome, tool count and time.
    Servers {
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Re-classify the stored catalogue with the current rules (no crawl).
    Classify,
    /// Compare the hints inferred with the authors' annotations hidden against
    /// the hints authors declared: micro, per-server macro and balanced
    /// accuracy, and the tools that disagree.
    Eval {
        /// Which vendors (`vendor` in the servers file, else the server's
        /// name): all, or alternate vendors by name (tune: 1st, 3rd, ...;
        /// test: 2nd, 4th, ...).
        #[arg(long, value_enum, default_value = "all")]
        part: mcp_catalogue::eval::Part,
        /// A file naming the vendors the rules were tuned on, one a line
        /// (`#` comments): then tune is those and test every other vendor.
        #[arg(long)]
        tune_vendors: Option<PathBuf>,
        /// How many disagreements to list (text format).
        #[arg(long, default_value_t = 30)]
        show: usize,
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Print a tool's verdict with the rules and evidence behind it.
    Explain {
        tool: String,
        #[arg(long)]
        server: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Write the recommended gateway policy (or `policy check` a call against one).
    #[command(args_conflicts_with_subcommands = true)]
    Policy {
        #[command(subcommand)]
        check: Option<PolicyCommand>,
        #[command(flatten)]
        args: PolicyArgs,
    },
    /// Write the static documentation site.
    Site {
        #[arg(long, default_value = "site")]
        out: PathBuf,
        /// Absolute base URL for sitemap.xml (relative URLs without it).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// The nightly job: crawl + classify + policies + site, and a summary of what changed.
    Refresh(RefreshArgs),
    /// Tools added, removed and changed since a run or date.
    Changes {
        /// A run id, or an RFC 3339 date/time (default: the run before the last).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: ChangesFormat,
    },
    /// Acknowledge a changed tool definition (clears `definition-changed`).
    Ack {
        /// Tool name (omit with --run or --all).
        tool: Option<String>,
        #[arg(long)]
        server: Option<String>,
        /// Acknowledge every change of this run.
        #[arg(long)]
        run: Option<i64>,
        /// Acknowledge every changed tool.
        #[arg(long)]
        all: bool,
    },
    /// Fold shard databases into --db.
    Merge {
        #[arg(required = true)]
        dbs: Vec<PathBuf>,
    },
    /// The built-in rules: `rules export DIR` writes them out for editing.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Turn MCP registry data into a servers file: SOURCE is a server.json
    /// file or a registry base URL (its list API is paged through).
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Write the built-in rules (classification, expanders/, policy.toml) into DIR.
    Export {
        dir: PathBuf,
        /// Overwrite files that differ from the built-in ones.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// A server.json file, or a registry base URL (http:// or https://).
    pub source: String,
    /// The servers file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Only servers updated since this RFC 3339 time; the entries are merged
    /// into an existing --out (withdrawn servers removed from it).
    #[arg(long)]
    pub updated_since: Option<String>,
    /// Import deprecated servers too (deleted ones never are).
    #[arg(long)]
    pub include_deprecated: bool,
    /// Servers asked for per page.
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,
}

#[derive(Debug, Args, Clone)]
pub struct CrawlArgs {
    /// Crawl only these servers (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// Servers crawled at once.
    #[arg(long, default_value_t = 16)]
    pub jobs: usize,
    /// Overall deadline per server, in seconds (a server's own `timeout` wins).
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// Exit 1 unless every server succeeded.
    #[arg(long)]
    pub strict: bool,
    /// Run stdio servers under bubblewrap: no network, read-only filesystem.
    #[arg(long)]
    pub sandbox: bool,
    /// Crawl only shard K of N (e.g. 2/4), by a stable hash of server names.
    #[arg(long)]
    pub shard: Option<String>,
    /// Give up waiting for another crawl's lock on the database after this many seconds.
    #[arg(long, default_value_t = 3600.0)]
    pub lock_timeout: f64,
}

#[derive(Debug, Args, Clone)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub crawl: CrawlArgs,
    #[arg(long, default_value = "policies")]
    pub policy_dir: PathBuf,
    #[arg(long, default_value = "site")]
    pub site_dir: PathBuf,
    /// Exit 3 when any tool definition changed.
    #[arg(long)]
    pub fail_on_change: bool,
    /// Pin rules to tool definition hashes.
    #[arg(long)]
    pub pin: bool,
}

#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    /// Only these servers (repeatable); default all.
    #[arg(long)]
    pub server: Vec<String>,
    /// One file covering the chosen servers (default: one file per server in policies/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Directory for per-server files when --out is not given.
    #[arg(long, default_value = "policies")]
    pub dir: PathBuf,
    /// Each rule carries the tool definition's hash.
    #[arg(long)]
    pub pin: bool,
    #[arg(long, value_enum, default_value = "json")]
    pub format: PolicyFormat,
    /// User overrides merged over the generated rules (default rules/policy-overrides.json if present).
    #[arg(long)]
    pub overrides: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate one call as a gateway would. Exit 0 allow, 3 deny, 4 require_approval.
    Check {
        #[arg(long)]
        policy: PathBuf,
        #[arg(long)]
        tool: String,
        /// The call's arguments as JSON.
        #[arg(long)]
        args: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ChangesFormat {
    Text,
    Json,
    Md,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PolicyFormat {
    Json,
    Cedar,
}
