//! The commands: each runs one pipeline in order. Only this file knows the
//! order of the stages; the stages themselves live in the library.

use crate::cli::{self, ChangesFormat, Cli, Command, CrawlArgs, ExportFormat, ImportArgs, PolicyArgs, PolicyCommand, PolicyFormat, RulesCommand, TextOrJson};
use anyhow::{anyhow, bail, Context, Result};
use mcp_catalogue::classify::Rules;
use mcp_catalogue::crawl::{self, CrawlOptions};
use mcp_catalogue::defaults::{self, RulesSource};
use mcp_catalogue::history::{self, Changes};
use mcp_catalogue::model::ToolRecord;
use mcp_catalogue::store::{self, ServerResult, StoredTool, Store};
use mcp_catalogue::{pipeline, policy, site, source};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// An error in what the user gave us (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn bad<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::Error::new(BadInput(e.to_string()))
}

pub async fn run(cli: Cli) -> Result<u8> {
    match &cli.command {
        Command::Crawl(args) => {
            let _lock = lock_db(&cli.db, args.lock_timeout)?;
            let out = crawl_and_classify(&cli, args, "crawl").await?;
            Ok(out.exit_code(args.strict))
        }
        Command::Export { format, include_removed } => export(&cli, *format, *include_removed),
        Command::Servers { format } => servers(&cli, *format),
        Command::Classify => {
            let _lock = lock_db(&cli.db, 3600.0)?;
            let t = std::time::Instant::now();
            let load = || -> Result<_> {
                let store = open_store(&cli.db)?;
                let inputs = store.classify_inputs()?;
                Ok((store, inputs))
            };
            let (rules, loaded) = if cli.db.exists() {
                // The rules compile on one core while the stored definitions
                // load on another (each takes about a tenth of a second at
                // 100k tools). A rules error is still reported first.
                std::thread::scope(|s| {
                    let rules = s.spawn(|| load_rules(&cli));
                    let loaded = load();
                    (rules.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), loaded)
                })
            } else {
                // Nothing stored yet: bad rules must not leave a new, empty
                // database behind.
                let rules = load_rules(&cli)?;
                (Ok(rules), load())
            };
            let rules = rules?;
            let (mut store, inputs) = loaded?;
            tracing::info!("rules and {} stored tools loaded in {:.3}s", inputs.len(), t.elapsed().as_secs_f64());
            let n = pipeline::classify_inputs(&mut store, &rules, inputs)?;
            eprintln!("classified {n} tools in {:.3}s (rules {})", t.elapsed().as_secs_f64(), &rules.hash()[..12]);
            Ok(0)
        }
        Command::Explain { tool, server, format } => explain(&cli, tool, server.as_deref(), *format),
        Command::Eval { part, tune_vendors, show, format } => eval(&cli, *part, tune_vendors.as_deref(), *show, *format),
        Command::Policy { check: Some(PolicyCommand::Check { policy, tool, args, format }), .. } => {
            policy_check(policy, tool, args.as_deref(), *format)
        }
        Command::Policy { check: None, args } => {
            let store = open_store(&cli.db)?;
            write_policies(&cli, &store, args)?;
            Ok(0)
        }
        Command::Site { out, base_url } => {
            let store = open_store(&cli.db)?;
            let rules = load_rules(&cli)?;
            let since = store.last_run()?.unwrap_or(0).saturating_sub(1);
            let changes = history::changes(&store, &rules, since)?;
            let stats = build_site(&cli, &store, &changes, out, base_url.clone())?;
            eprintln!("site: {} pages in {} ({} written, {} unchanged)", stats.pages, out.display(), stats.written, stats.unchanged);
            Ok(0)
        }
        Command::Refresh(args) => refresh(&cli, args).await,
        Command::Changes { since, format } => changes_cmd(&cli, since.as_deref(), *format),
        Command::Ack { tool, server, run, all } => {
            let mut store = open_store(&cli.db)?;
            let n = match (tool, run, all) {
                (Some(t), None, false) => {
                    if store.find_tool(t, server.as_deref())?.is_empty() {
                        return Err(bad(format!("no tool named {t:?}{}", server.as_ref().map(|s| format!(" on server {s:?}")).unwrap_or_default())));
                    }
                    store.ack(server.as_deref(), Some(t), None)?
                }
                (None, Some(r), false) => store.ack(server.as_deref(), None, Some(*r))?,
                (None, None, true) => store.ack(server.as_deref(), None, None)?,
                _ => return Err(bad("give a tool name, --run N or --all (one of them)")),
            };
            eprintln!("acknowledged {n} changed tool definition(s)");
            if n > 0 {
                let rules = load_rules(&cli)?;
                classify_all(&mut store, &rules)?;
            }
            Ok(0)
        }
        Command::Merge { dbs } => merge(&cli, dbs),
        Command::Rules { command: RulesCommand::Export { dir, force } } => rules_export(dir, *force),
        Command::Import(args) => import(args).await,
    }
}

fn open_store(path: &Path) -> Result<Store> {
    Store::open(path).map_err(|e| match e {
        store::StoreError::Foreign { .. } | store::StoreError::Newer { .. } => bad(e),
        other => anyhow!(other),
    })
}

fn rules_source(cli: &Cli) -> RulesSource {
    RulesSource::new(cli.rules.as_deref())
}

fn load_rules(cli: &Cli) -> Result<Rules> {
    rules_source(cli).classify_rules().map_err(bad)
}

/// The servers the user named: every --servers file and, with
/// --from-clients, the client configs; `data/servers.json` when neither.
fn gather_servers(cli: &Cli) -> Result<source::Gathered> {
    let mut files = cli.servers.clone();
    if files.is_empty() && !cli.from_clients {
        let default = PathBuf::from("data/servers.json");
        if !default.exists() {
            let here = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
            return Err(bad(format!(
                "no servers to crawl: data/servers.json does not exist in {here}; give --servers FILE (repeatable), \
                 --from-clients (the servers your MCP clients already use) or both, or write a servers file with `mcp-catalogue import`"
            )));
        }
        files.push(default);
    }
    let places = if cli.from_clients {
        Some(source::clients::Places::from_env().ok_or_else(|| bad("--from-clients: cannot tell the home directory (set HOME)"))?)
    } else {
        None
    };
    source::gather(&files, places.as_ref()).map_err(bad)
}

/// One crawl or refresh at a time per database: a second one waits for the
/// lock (saying so) or gives up after `timeout` seconds with a clear message.
fn lock_db(db: &Path, timeout: f64) -> Result<std::fs::File> {
    use fs2::FileExt;
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    let path = db.with_file_name(name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    if f.try_lock_exclusive().is_ok() {
        return Ok(f);
    }
    eprintln!("another mcp-catalogue run holds {} ({}); waiting for it to finish", db.display(), path.display());
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if f.try_lock_exclusive().is_ok() {
            return Ok(f);
        }
        if start.elapsed().as_secs_f64() > timeout {
            bail!("gave up after {timeout:.0}s waiting for another mcp-catalogue run on {}", db.display());
        }
    }
}

/// Result of a crawl, for the summary and exit code.
pub struct CrawlOutcome {
    pub results: Vec<ServerResult>,
    pub summary: store::RunSummary,
}

impl CrawlOutcome {
    fn exit_code(&self, strict: bool) -> u8 {
        let ok = self.results.iter().filter(|r| r.ok).count();
        if self.results.is_empty() || (strict && ok < self.results.len()) || ok == 0 {
            1
        } else {
            0
        }
    }
}

fn crawl_options(args: &CrawlArgs) -> Result<CrawlOptions> {
    use std::io::IsTerminal;
    if args.jobs == 0 {
        return Err(bad("--jobs must be at least 1"));
    }
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(bad("--timeout must be a positive number of seconds"));
    }
    let mut opts = CrawlOptions {
        jobs: args.jobs,
        timeout: Duration::from_secs_f64(args.timeout),
        progress: std::io::stderr().is_terminal(),
        ..Default::default()
    };
    opts.launch.sandbox = args.sandbox;
    Ok(opts)
}

fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let (k, n) = s.split_once('/').ok_or_else(|| bad(format!("--shard wants K/N, e.g. 1/4 (got {s:?})")))?;
    let (k, n): (usize, usize) = (k.trim().parse().map_err(bad)?, n.trim().parse().map_err(bad)?);
    if n == 0 || k == 0 || k > n {
        return Err(bad(format!("--shard {s}: K must be between 1 and N")));
    }
    Ok((k, n))
}

async fn crawl_and_classify(cli: &Cli, args: &CrawlArgs, command: &str) -> Result<CrawlOutcome> {
    let list = gather_servers(cli)?;
    for w in &list.warnings {
        eprintln!("warning: {w}");
    }
    let mut servers = list.servers;
    if servers.is_empty() {
        return Err(bad(if cli.from_clients && cli.servers.is_empty() {
            "--from-clients: no MCP servers found in the client configs (`mcp-catalogue servers --from-clients` lists the files read)".to_string()
        } else {
            "the servers given list no servers".to_string()
        }));
    }
    for name in &args.only {
        if !servers.iter().any(|s| &s.name == name) {
            return Err(bad(format!("--only {name:?}: no such server among the {} configured", servers.len())));
        }
    }
    if !args.only.is_empty() {
        servers.retain(|s| args.only.contains(&s.name));
    }
    if let Some(sh) = &args.shard {
        let (k, n) = parse_shard(sh)?;
        servers = crawl::shard(servers, k, n);
        eprintln!("shard {k}/{n}: {} server(s)", servers.len());
    }
    let recipes = rules_source(cli).recipes().map_err(bad)?;
    let rules = load_rules(cli)?;
    let mut store = open_store(&cli.db)?;
    let opts = crawl_options(args)?;
    let started = store::now();
    let results = crawl::crawl(&servers, Arc::new(recipes), &opts).await;
    let (summary, store_failures) = store.record_run(command, &started, &results)?;
    classify_all(&mut store, &rules)?;
    for r in &results {
        if r.ok {
            println!("ok      {:<32} {:>6} tools  {:>6.1}s", r.spec.name, r.tools.len(), r.seconds);
            for w in &r.warnings {
                println!("        warning: {w}");
            }
        } else {
            println!(
                "FAILED  {:<32} {}: {}  ({:.1}s)",
                r.spec.name,
                r.phase.as_deref().unwrap_or("?"),
                r.error.as_deref().unwrap_or("unknown error"),
                r.seconds
            );
            for line in &r.stderr_tail {
                println!("        stderr: {line}");
            }
        }
    }
    for (server, e) in &store_failures {
        println!("FAILED  {server:<32} store: {e} (its earlier tools were kept)");
    }
    let ok = results.iter().filter(|r| r.ok).count();
    println!(
        "run {}: {} ok, {} failed; tools +{} -{} ~{} ({} unchanged)",
        summary.run,
        ok,
        results.len() - ok,
        summary.added,
        summary.removed,
        summary.changed,
        summary.unchanged
    );
    Ok(CrawlOutcome { results, summary })
}

/// Classify and store (see `pipeline::classify_all`).
fn classify_all(store: &mut Store, rules: &Rules) -> Result<usize> {
    Ok(pipeline::classify_all(store, rules)?)
}

fn export_object(t: &StoredTool) -> Value {
    let r = &t.record;
    let v = t.verdict.as_ref();
    json!({
        "server": r.server,
        "name": r.name,
        "title": r.title,
        "parent": r.parent,
        "selector": r.selector,
        "category": r.category,
        "description": r.description,
        "input_schema": r.input_schema,
        "annotations": r.annotations,
        "hash": t.hash,
        "first_seen": t.first_seen,
        "last_seen": t.last_seen,
        "status": t.status,
        "versions": t.versions,
        "definition_changed": t.definition_changed(),
        "flags": r.flags,
        "kind": v.map(|v| v.kind),
        "risk": v.map(|v| v.risk),
        "risk_category": v.map(|v| v.category),
        "signals": v.map(|v| v.signals.iter().map(|s| s.name.clone()).collect::<Vec<_>>()),
        "inferred": v.map(|v| &v.inferred),
        "effective_hints": v.map(|v| v.effective),
        "verdict": v,
    })
}

fn export(cli: &Cli, format: ExportFormat, include_removed: bool) -> Result<u8> {
    let store = open_store(&cli.db)?;
    // `export | head` ends quietly, as Unix filters do. Safe here: export
    // starts no child processes whose pipes could raise SIGPIPE.
    // SAFETY: restoring the default disposition of one signal.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Streamed: one tool at a time, so memory does not grow with the catalogue.
    let io = |e: std::io::Error| store::StoreError::Other(format!("writing the export: {e}"));
    match format {
        ExportFormat::Json => {
            out.write_all(b"[").map_err(io)?;
            let mut first = true;
            store.for_each_tool(include_removed, |t| {
                out.write_all(if first { b"\n" } else { b",\n" }).map_err(io)?;
                first = false;
                serde_json::to_writer_pretty(&mut out, &export_object(&t)).map_err(|e| io(e.into()))
            })?;
            out.write_all(b"\n]\n").map_err(io)?;
        }
        ExportFormat::Csv => {
            writeln!(out, "server,name,parent,category,kind,risk,risk_category,signals,status,hash,first_seen,last_seen,description,inferred_read_only,inferred_destructive,inferred_idempotent,inferred_open_world")?;
            store.for_each_tool(include_removed, |t| {
                let v = t.verdict.as_ref();
                let fields = [
                    t.record.server.clone(),
                    t.record.name.clone(),
                    t.record.parent.clone().unwrap_or_default(),
                    t.record.category.clone().unwrap_or_default(),
                    v.map(|v| v.kind.as_str().to_string()).unwrap_or_default(),
                    v.map(|v| v.risk.as_str().to_string()).unwrap_or_default(),
                    v.map(|v| v.category.as_str().to_string()).unwrap_or_default(),
                    v.map(|v| v.signals.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>().join(";")).unwrap_or_default(),
                    t.status.clone(),
                    t.hash.clone(),
                    t.first_seen.clone(),
                    t.last_seen.clone(),
                    t.record.description.clone().unwrap_or_default(),
                    v.map(|v| v.inferred.read_only.value.to_string()).unwrap_or_default(),
                    v.map(|v| v.inferred.destructive.value.to_string()).unwrap_or_default(),
                    v.map(|v| v.inferred.idempotent.value.to_string()).unwrap_or_default(),
                    v.map(|v| v.inferred.open_world.value.to_string()).unwrap_or_default(),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(out, "{}", line.join(",")).map_err(io)
            })?;
        }
    }
    out.flush()?;
    Ok(0)
}

/// RFC 4180 quoting; cells that a spreadsheet would run as a formula get a
/// leading quote (descriptions are third-party text).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn servers(cli: &Cli, format: TextOrJson) -> Result<u8> {
    let gathered = match gather_servers(cli) {
        Ok(g) => g,
        Err(e) if !cli.from_clients && cli.servers.is_empty() => {
            eprintln!("warning: {e}");
            source::Gathered::default()
        }
        Err(e) => return Err(e),
    };
    for w in &gathered.warnings {
        eprintln!("warning: {w}");
    }
    let store = open_store(&cli.db)?;
    let rows = store.servers()?;
    let mut by_name: BTreeMap<String, Value> = BTreeMap::new();
    for (i, s) in gathered.servers.iter().enumerate() {
        by_name.insert(
            s.name.clone(),
            json!({"name": s.name, "configured": true, "product": s.product, "outcome": "never crawled", "tools": 0,
                   "file": gathered.origins[i], "transport": transport_summary(&s.transport), "also": gathered.also[i]}),
        );
    }
    for r in &rows {
        let e = by_name.entry(r.name.clone()).or_insert_with(|| json!({"name": r.name, "configured": false}));
        e["product"] = json!(r.product);
        e["outcome"] = json!(r.last_outcome.clone().unwrap_or_else(|| "never crawled".into()));
        e["phase"] = json!(r.last_phase);
        e["error"] = json!(r.last_error);
        e["time"] = json!(r.last_time);
        e["seconds"] = json!(r.last_seconds);
        e["tools"] = json!(r.tools);
        e["protocol_version"] = json!(r.protocol_version);
        e["last_good"] = json!(r.last_good);
    }
    if format == TextOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&by_name.values().collect::<Vec<_>>())?);
        return Ok(0);
    }
    if cli.from_clients {
        println!("client configs read:");
        if gathered.client_files.is_empty() {
            println!("  (none found)");
        }
        for (client, path, n) in &gathered.client_files {
            println!("  {client:<15} {} ({n} entr{})", path.display(), if *n == 1 { "y" } else { "ies" });
        }
        println!("servers found:");
        for (i, s) in gathered.servers.iter().enumerate() {
            let also = &gathered.also[i];
            println!(
                "  {:<32} {}  from {}{}",
                sanitize_terminal(&s.name),
                sanitize_terminal(&transport_summary(&s.transport)),
                gathered.origins[i].display(),
                if also.is_empty() { String::new() } else { format!(" (also {})", sanitize_terminal(&also.join(", "))) }
            );
        }
        println!();
    }
    println!("{:<32} {:<14} {:>6} {:>8}  LAST CRAWL", "SERVER", "OUTCOME", "TOOLS", "SECONDS");
    for v in by_name.values() {
        let outcome = v["outcome"].as_str().unwrap_or("");
        println!(
            "{:<32} {:<14} {:>6} {:>8}  {}{}",
            v["name"].as_str().unwrap_or(""),
            outcome,
            v["tools"],
            v["seconds"].as_f64().map(|s| format!("{s:.1}")).unwrap_or_default(),
            v["time"].as_str().unwrap_or("-"),
            if v["configured"] == json!(false) { "  (no longer configured)" } else { "" }
        );
        if outcome == "failed" {
            println!("    {}: {}", v["phase"].as_str().unwrap_or("?"), v["error"].as_str().unwrap_or(""));
        }
    }
    Ok(0)
}

fn explain(cli: &Cli, tool: &str, server: Option<&str>, format: TextOrJson) -> Result<u8> {
    let store = open_store(&cli.db)?;
    let rules = load_rules(cli)?;
    let tools: Vec<StoredTool> = store
        .tools(false)?
        .into_iter()
        .filter(|t| t.record.name == tool && server.is_none_or(|s| t.record.server == s))
        .collect();
    if tools.is_empty() {
        return Err(bad(format!("no tool named {tool:?}{} in {}", server.map(|s| format!(" on server {s:?}")).unwrap_or_default(), cli.db.display())));
    }
    if tools.len() > 1 && server.is_none() {
        let names: Vec<&str> = tools.iter().map(|t| t.record.server.as_str()).collect();
        eprintln!("note: {tool:?} exists on {} servers ({}); showing all (use --server)", tools.len(), names.join(", "));
    }
    for t in &tools {
        let mut v = rules.classify(&t.record);
        if let Some(stored) = &t.verdict {
            v.signals.extend(stored.signals.iter().filter(|s| s.name == "definition-changed").cloned());
        }
        if format == TextOrJson::Json {
            println!("{}", serde_json::to_string_pretty(&json!({"server": t.record.server, "tool": t.record.name, "verdict": v}))?);
            continue;
        }
        println!("{} / {}", sanitize_terminal(&t.record.server), sanitize_terminal(&t.record.name));
        if let Some(p) = &t.record.parent {
            println!("  action of {} selected by {}", sanitize_terminal(p), t.record.selector.as_ref().map(|s| s.to_string()).unwrap_or_default());
        }
        if let Some(d) = &t.record.description {
            println!("  description: {}", sanitize_terminal(&truncate(d, 300)));
        }
        println!("  kind: {}   category: {}   risk: {}   confidence: {:.2}", v.kind.as_str(), v.category.as_str(), v.risk.as_str(), v.confidence);
        if !v.signals.is_empty() {
            println!("  signals:");
            for s in &v.signals {
                println!("    {:<22} {}", s.name, sanitize_terminal(&s.evidence));
            }
        }
        let findings: Vec<_> = v.reasons.iter().filter(|r| r.rule.starts_with("suspicious.")).collect();
        if !findings.is_empty() {
            println!("  suspicious text (class.rule  where: evidence, decoded where it was hidden):");
            for r in findings {
                println!("    {:<40} {}", &r.rule["suspicious.".len()..], sanitize_terminal(&r.matched));
            }
        }
        println!("  reasons:");
        for r in &v.reasons {
            println!("    {:<30} {}", r.rule, sanitize_terminal(&r.matched));
        }
        println!("  hints (inferred with annotations hidden → effective):");
        let i = &v.inferred;
        let e = v.effective;
        for (name, h, eff) in [
            ("readOnlyHint", &i.read_only, e.read_only),
            ("destructiveHint", &i.destructive, e.destructive),
            ("idempotentHint", &i.idempotent, e.idempotent),
            ("openWorldHint", &i.open_world, e.open_world),
        ] {
            let declared = t.record.hint(name).map_or(String::new(), |d| format!(", declared {d}"));
            println!("    {name:<16} {:<5} ({:.2}) → {eff:<5}{declared}   {}", h.value, h.confidence, sanitize_terminal(&h.evidence));
        }
        println!("  rules: {}", &v.rules_hash[..v.rules_hash.len().min(12)]);
    }
    Ok(0)
}

fn eval(cli: &Cli, part: mcp_catalogue::eval::Part, tune_vendors: Option<&Path>, show: usize, format: TextOrJson) -> Result<u8> {
    use mcp_catalogue::eval;
    let store = open_store(&cli.db)?;
    let rules = load_rules(cli)?;
    // Vendors come from the servers file when it names them.
    let vendors: std::collections::HashMap<String, String> = match gather_servers(cli) {
        Ok(list) => list.servers.into_iter().map(|s| (s.name.clone(), s.vendor.or(s.product).unwrap_or(s.name))).collect(),
        Err(_) => Default::default(),
    };
    let configured = vendors.values().cloned().collect();
    let tuned: Option<std::collections::BTreeSet<String>> = match tune_vendors {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read --tune-vendors {}: {e}", p.display())))?;
            Some(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
        }
        None => None,
    };
    let samples: Vec<eval::Sample> = store
        .tools(false)?
        .iter()
        .map(|t| {
            let vendor = vendors.get(&t.record.server).unwrap_or(&t.record.server);
            eval::Sample::new(&t.record, vendor, &rules.classify(&t.record))
        })
        .collect();
    let report = eval::report(&samples, &configured, tuned.as_ref(), part);
    if format == TextOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(0);
    }
    println!(
        "{} tools of {} servers from {} vendors ({:?} part), inferred with annotations hidden:",
        report.tools,
        report.servers,
        report.vendors.len(),
        report.part
    );
    println!("  {:<16} {:>6} {:>8} {:>8} {:>9} {:>9}", "hint", "tools", "true", "micro", "macro", "balanced");
    let pct = |x: f64| if x.is_nan() { "-".to_string() } else { format!("{:.1} %", 100.0 * x) };
    for s in &report.scores {
        println!(
            "  {:<16} {:>6} {:>8} {:>8} {:>9} {:>9}",
            s.hint, s.tools, s.declared_true, pct(s.micro), pct(s.macro_server), pct(s.balanced)
        );
    }
    println!("  (destructiveHint and idempotentHint on tools not declared read-only; macro: mean over servers)");
    if !report.disagreements.is_empty() {
        println!("disagreements ({}; first {show}):", report.disagreements.len());
        for d in report.disagreements.iter().take(show) {
            println!(
                "  {}/{}: {} declared {}, inferred {} ({})",
                sanitize_terminal(&d.server),
                sanitize_terminal(&d.tool),
                d.hint,
                d.declared,
                d.inferred,
                sanitize_terminal(&truncate(&d.evidence, 100))
            );
        }
    }
    Ok(0)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Third-party text printed to a terminal loses control characters
/// (escape sequences could rewrite the screen).
fn sanitize_terminal(s: &str) -> String {
    s.chars().map(|c| if c.is_control() && c != '\n' { '�' } else { c }).collect()
}

fn policy_check(path: &Path, tool: &str, args: Option<&str>, format: TextOrJson) -> Result<u8> {
    let p = policy::load_policy(path).map_err(bad)?;
    let args: Value = match args {
        Some(a) => serde_json::from_str(a).map_err(|e| bad(format!("--args is not valid JSON: {e}")))?,
        None => json!({}),
    };
    let d = policy::check(&p, tool, &args);
    if format == TextOrJson::Json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        println!("{d}");
    }
    Ok(d.exit_code() as u8)
}

/// Safe file stem for a server name (names come from the user's file, but
/// are still never trusted as paths).
pub fn file_stem(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    s.truncate(80);
    if s.is_empty() || s != name {
        use sha2::Digest;
        let h = hex::encode(sha2::Sha256::digest(name.as_bytes()));
        s = format!("{}{}{}", s, if s.is_empty() { "" } else { "-" }, &h[..8]);
    }
    s
}

/// Write the policy files; returns the paths written.
fn write_policies(cli: &Cli, store: &Store, args: &PolicyArgs) -> Result<Vec<PathBuf>> {
    let profile = rules_source(cli).profile().map_err(bad)?;
    let overrides = match &args.overrides {
        Some(p) if p.exists() => Some(policy::load_policy(p).map_err(bad)?),
        Some(p) => return Err(bad(format!("overrides file {} does not exist", p.display()))),
        None => rules_source(cli).policy_overrides().map_err(bad)?,
    };
    let tools = store.tools(false)?;
    for s in &args.server {
        if !tools.iter().any(|t| &t.record.server == s) {
            return Err(bad(format!("--server {s:?}: no tools stored for that server")));
        }
    }
    let chosen: Vec<&StoredTool> = tools
        .iter()
        .filter(|t| t.verdict.is_some() && (args.server.is_empty() || args.server.contains(&t.record.server)))
        .collect();
    let render = |entries: &[policy::Entry]| -> Result<(String, Vec<String>)> {
        let g = policy::generate(entries, &profile, overrides.as_ref(), args.pin);
        let text = match args.format {
            PolicyFormat::Json => serde_json::to_string_pretty(&g.policy)? + "\n",
            PolicyFormat::Cedar => policy::to_cedar(&g.policy),
        };
        Ok((text, g.overridden))
    };
    // Beside a Cedar file: the tools' effective hints as entity attributes.
    let write_entities = |cedar: &Path, entries: &[policy::Entry]| -> Result<()> {
        if args.format == PolicyFormat::Cedar {
            write_file(&cedar.with_extension("entities.json"), &policy::cedar_entities(entries))?;
        }
        Ok(())
    };
    let entries_of = |ts: &[&StoredTool]| -> Vec<(ToolRecord, mcp_catalogue::model::Verdict, String)> {
        ts.iter().map(|t| (t.record.clone(), t.verdict.clone().unwrap(), t.hash.clone())).collect()
    };
    let ext = if args.format == PolicyFormat::Cedar { "cedar" } else { "json" };
    let mut written = Vec::new();
    let report = |path: &Path, n: usize, overridden: &[String]| {
        eprintln!("policy: {} ({} tools{})", path.display(), n, if overridden.is_empty() { String::new() } else { format!("; from overrides: {}", overridden.join(", ")) });
    };
    if let Some(out) = &args.out {
        let owned = entries_of(&chosen);
        let entries: Vec<policy::Entry> = owned.iter().map(|(t, v, h)| policy::Entry { tool: t, verdict: v, hash: h }).collect();
        let (text, overridden) = render(&entries)?;
        write_file(out, &text)?;
        write_entities(out, &entries)?;
        report(out, entries.len(), &overridden);
        written.push(out.clone());
    } else {
        let mut by_server: BTreeMap<&str, Vec<&StoredTool>> = BTreeMap::new();
        for t in &chosen {
            by_server.entry(t.record.server.as_str()).or_default().push(t);
        }
        for (server, ts) in by_server {
            let owned = entries_of(&ts);
            let entries: Vec<policy::Entry> = owned.iter().map(|(t, v, h)| policy::Entry { tool: t, verdict: v, hash: h }).collect();
            let (text, overridden) = render(&entries)?;
            let path = args.dir.join(format!("{}.{ext}", file_stem(server)));
            write_file(&path, &text)?;
            write_entities(&path, &entries)?;
            report(&path, entries.len(), &overridden);
            written.push(path);
        }
    }
    Ok(written)
}

/// Write through a temporary file and rename, so readers never see half a file.
fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if std::fs::read(path).map(|old| old == text.as_bytes()).unwrap_or(false) {
        return Ok(());
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn build_site(cli: &Cli, store: &Store, changes: &Changes, out: &Path, base_url: Option<String>) -> Result<site::SiteStats> {
    let profile = rules_source(cli).profile().map_err(bad)?;
    let servers = store.servers()?;
    let (tools, schemas) = store.tools_without_schemas()?;
    let mut versions = HashMap::new();
    for t in tools.iter().filter(|t| t.versions > 1) {
        versions.insert(t.id, store.versions(t.id)?);
    }
    let input = site::SiteInput {
        servers: &servers,
        tools: &tools,
        schemas: Some(&schemas),
        versions: &versions,
        changes,
        profile: &profile,
        // The last run's time, not now: an unchanged catalogue rewrites nothing.
        generated_at: store.runs()?.last().and_then(|r| r.finished.clone()).unwrap_or_default(),
        base_url,
    };
    Ok(site::build(out, &input)?)
}

async fn refresh(cli: &Cli, args: &cli::RefreshArgs) -> Result<u8> {
    let _lock = lock_db(&cli.db, args.crawl.lock_timeout)?;
    let out = crawl_and_classify(cli, &args.crawl, "refresh").await?;
    let store = open_store(&cli.db)?;
    let rules = load_rules(cli)?;
    let changes = history::changes(&store, &rules, out.summary.run - 1)?;
    let pargs = PolicyArgs {
        server: vec![],
        out: None,
        dir: args.policy_dir.clone(),
        pin: args.pin,
        format: PolicyFormat::Json,
        overrides: None,
    };
    let written = write_policies(cli, &store, &pargs)?;
    let stats = build_site(cli, &store, &changes, &args.site_dir, None)?;
    let ok = out.results.iter().filter(|r| r.ok).count();
    let risk_changes: Vec<String> = changes
        .changed
        .iter()
        .filter(|c| c.old_risk != c.new_risk)
        .map(|c| {
            format!(
                "{}/{} {} → {}",
                c.server,
                c.tool,
                c.old_risk.map(|r| r.as_str()).unwrap_or("?"),
                c.new_risk.map(|r| r.as_str()).unwrap_or("?")
            )
        })
        .collect();
    println!("refresh summary (run {}):", out.summary.run);
    println!("  servers: {} ok, {} failed", ok, out.results.len() - ok);
    println!("  tools: {} added, {} removed, {} changed", changes.added.len(), changes.removed.len(), changes.changed.len());
    println!("  risk changes: {}", if risk_changes.is_empty() { "none".to_string() } else { risk_changes.join(", ") });
    println!("  policies: {} file(s) in {}", written.len(), args.policy_dir.display());
    println!("  site: {} pages in {} ({} written)", stats.pages, args.site_dir.display(), stats.written);
    if args.fail_on_change && !changes.changed.is_empty() {
        return Ok(3);
    }
    Ok(if ok < out.results.len() || out.results.is_empty() { 1 } else { 0 })
}

fn changes_cmd(cli: &Cli, since: Option<&str>, format: ChangesFormat) -> Result<u8> {
    let store = open_store(&cli.db)?;
    let rules = load_rules(cli)?;
    let since_run = match since {
        None => store.last_run()?.unwrap_or(0).saturating_sub(1),
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                if time::Date::parse(&s[..s.len().min(10)], &time::macros::format_description!("[year]-[month]-[day]")).is_err() {
                    return Err(bad(format!("--since {s:?}: expected a run id or a date like 2026-11-24 (or an RFC 3339 time)")));
                }
                store.run_before(s)?
            }
        },
    };
    let c = history::changes(&store, &rules, since_run)?;
    match format {
        ChangesFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
        ChangesFormat::Text | ChangesFormat::Md => print_changes(&c, format == ChangesFormat::Md),
    }
    Ok(0)
}

fn print_changes(c: &Changes, md: bool) {
    let h = |s: &str| if md { format!("## {s}") } else { format!("{s}:") };
    if md {
        println!("# Changes since run {} (to run {})\n", c.since_run, c.to_run);
    } else {
        println!("changes since run {} (to run {})", c.since_run, c.to_run);
    }
    if c.is_empty() {
        println!("no changes");
        return;
    }
    let risk = |r: Option<mcp_catalogue::model::Risk>| r.map(|r| r.as_str()).unwrap_or("?");
    if !c.changed.is_empty() {
        println!("{}", h(&format!("changed ({})", c.changed.len())));
        for i in &c.changed {
            let verdict = if i.old_risk != i.new_risk || i.old_kind != i.new_kind {
                format!(
                    " — verdict {} {} → {} {}{}",
                    i.old_kind.map(|k| k.as_str()).unwrap_or("?"),
                    risk(i.old_risk),
                    i.new_kind.map(|k| k.as_str()).unwrap_or("?"),
                    risk(i.new_risk),
                    if i.risk_up { " (RISK UP)" } else { "" }
                )
            } else {
                String::new()
            };
            let fields: Vec<&str> = i.fields.iter().map(|f| f.field.as_str()).collect();
            println!("{} {}/{}: {} changed{}", if md { "-" } else { "  ~" }, i.server, sanitize_terminal(&i.tool), fields.join(", "), verdict);
            for f in &i.fields {
                if md {
                    println!("\n  ```diff\n{}\n  ```", f.diff.lines().filter(|l| !l.starts_with("  ")).map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"));
                } else {
                    for l in f.diff.lines().filter(|l| !l.starts_with("  ")) {
                        println!("      {} {}", f.field, sanitize_terminal(l));
                    }
                }
            }
        }
    }
    for (title, items, mark) in [("added", &c.added, "+"), ("removed", &c.removed, "-")] {
        if items.is_empty() {
            continue;
        }
        println!("{}", h(&format!("{title} ({})", items.len())));
        for i in items.iter() {
            println!("{} {}/{} ({})", if md { "-" } else { &mark }, i.server, sanitize_terminal(&i.tool), risk(i.new_risk.or(i.old_risk)));
        }
    }
}

/// Fold shard databases into --db: each shard's latest outcome per server
/// is replayed as one run, so history and removals work as for a crawl.
fn merge(cli: &Cli, dbs: &[PathBuf]) -> Result<u8> {
    let _lock = lock_db(&cli.db, 3600.0)?;
    let rules = load_rules(cli)?;
    let mut results = Vec::new();
    for path in dbs {
        if path == &cli.db {
            return Err(bad(format!("{} is the target database; name only shard databases", path.display())));
        }
        if !path.exists() {
            return Err(bad(format!("{} does not exist", path.display())));
        }
        let shard = open_store(path)?;
        let tools = shard.tools(false)?;
        for row in shard.servers()? {
            let spec: mcp_catalogue::model::ServerSpec = mcp_catalogue::model::ServerSpec {
                name: row.name.clone(),
                transport: mcp_catalogue::model::Transport::Stdio { command: "(merged)".into(), args: vec![], env: Default::default(), cwd: None },
                timeout: None,
                product: row.product.clone(),
                expand: None,
                vendor: None,
            };
            let ok = row.last_outcome.as_deref() == Some("ok");
            results.push(ServerResult {
                spec,
                ok,
                phase: row.last_phase.clone(),
                error: row.last_error.clone(),
                stderr_tail: vec![],
                warnings: vec![format!("merged from {}", path.display())],
                seconds: row.last_seconds.unwrap_or(0.0),
                protocol_version: row.protocol_version.clone(),
                server_info: row.server_info.clone(),
                transport: None,
                // With their raw JSON, so definition hashes stay the same.
                tools: tools
                    .iter()
                    .filter(|t| t.record.server == row.name)
                    .map(|t| shard.version_record(t.id, &t.hash).map(|r| r.unwrap_or_else(|| t.record.clone())))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            });
        }
    }
    let mut store = open_store(&cli.db)?;
    let (summary, failures) = store.record_run("merge", &store::now(), &results)?;
    // Keep the shard's real spec (redacted) rather than the placeholder.
    for path in dbs {
        let mut shard = open_store(path)?;
        let rows: Vec<(String, String)> = {
            let conn = shard.conn();
            let mut stmt = conn.prepare("SELECT name, spec_json FROM servers")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        for (name, spec) in rows {
            store.conn().execute("UPDATE servers SET spec_json = ?2 WHERE name = ?1", rusqlite::params![name, spec])?;
        }
    }
    classify_all(&mut store, &rules)?;
    for (s, e) in failures {
        eprintln!("FAILED {s}: {e}");
    }
    println!(
        "merged {} database(s), {} server(s): tools +{} -{} ~{} ({} unchanged)",
        dbs.len(),
        results.len(),
        summary.added,
        summary.removed,
        summary.changed,
        summary.unchanged
    );
    Ok(0)
}

/// One line saying what a server is, with no secret in it (arguments
/// redacted, env and header names only, URLs without query or user-info).
fn transport_summary(t: &mcp_catalogue::model::Transport) -> String {
    use mcp_catalogue::model::Transport;
    let names = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            String::new()
        } else {
            format!(" [{}]", m.keys().cloned().collect::<Vec<_>>().join(", "))
        }
    };
    match t {
        Transport::Stdio { command, args, env, .. } => {
            format!("stdio: {} {}{}", command, source::redact_args(args).join(" "), names(env)).trim_end().to_string()
        }
        Transport::Http { url, headers, http } => {
            format!("{}: {}{}", format!("{http:?}").to_lowercase(), source::display_url(url), names(headers))
        }
        Transport::Package { registry_type, identifier, version, env, .. } => {
            format!("{registry_type}: {identifier}{}{}", version.as_ref().map(|v| format!("@{v}")).unwrap_or_default(), names(env))
        }
    }
}

fn rules_export(dir: &Path, force: bool) -> Result<u8> {
    let done = defaults::export(dir, force).map_err(bad)?;
    let written = done.iter().filter(|e| matches!(e, defaults::Exported::Written(_))).count();
    eprintln!(
        "rules: {written} file(s) written to {} ({} unchanged); use them with --rules {}",
        dir.display(),
        done.len() - written,
        dir.display()
    );
    Ok(0)
}

/// `import SOURCE --out FILE`: registry data → an ordinary servers file.
async fn import(args: &ImportArgs) -> Result<u8> {
    use source::registry;
    if args.page_size == 0 || args.page_size > 1000 {
        return Err(bad("--page-size must be between 1 and 1000"));
    }
    if let Some(t) = &args.updated_since {
        if time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_err() {
            return Err(bad(format!("--updated-since {t:?}: expected an RFC 3339 time like 2026-11-24T00:00:00Z")));
        }
    }
    let opts = registry::ImportOptions {
        updated_since: args.updated_since.clone(),
        include_deprecated: args.include_deprecated,
        page_size: args.page_size,
    };
    let is_url = args.source.starts_with("http://") || args.source.starts_with("https://");
    let imported = if is_url {
        registry::from_registry(&args.source, &opts).await.map_err(|e| anyhow!(e))?
    } else {
        registry::from_file(Path::new(&args.source), &opts).map_err(bad)?
    };
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    // An incremental import updates the file it wrote before.
    let base = if args.updated_since.is_some() && args.out.exists() {
        let text = std::fs::read_to_string(&args.out).with_context(|| format!("cannot read {}", args.out.display()))?;
        source::parse(&text, &args.out).map_err(bad)?;
        let v: Value = serde_json::from_str(&text)?;
        v.get("mcpServers").and_then(Value::as_object).cloned()
    } else {
        None
    };
    let file = registry::servers_file(base, &imported);
    let text = serde_json::to_string_pretty(&file)? + "\n";
    // What we write must read back as a servers file.
    let check = source::parse(&text, &args.out).map_err(|e| anyhow!("the imported servers file does not parse: {e}"))?;
    write_file(&args.out, &text)?;
    let removed = imported.withdrawn.len();
    eprintln!(
        "import: {} server(s) imported from {} page(s), {} withdrawn (deleted/deprecated), {} skipped; {} has {} server(s)",
        imported.entries.len(),
        imported.pages,
        removed,
        imported.warnings.len(),
        args.out.display(),
        check.servers.len()
    );
    Ok(0)
}
