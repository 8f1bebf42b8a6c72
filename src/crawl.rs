//! The crawl: run every configured server through source → mcp → expand,
//! concurrently, each under its own deadline, and hand the results to the
//! store. A failed server is data (`ServerResult { ok: false, .. }`), never
//! an abort: the others always finish.

use crate::expand::{self, Recipes};
use crate::mcp::{self, Limits, Session};
use crate::model::{ServerSpec, ToolRecord};
use crate::source::{self, LaunchOptions};
use crate::store::ServerResult;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Crawl settings, validated once from the CLI.
#[derive(Debug, Clone)]
pub struct CrawlOptions {
    pub jobs: usize,
    /// Overall deadline per server (a server's own `timeout` wins).
    pub timeout: Duration,
    /// Time allowed to prepare a package (venv install) before the deadline starts.
    pub install_timeout: Duration,
    pub limits: Limits,
    pub launch: LaunchOptions,
    pub progress: bool,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        CrawlOptions {
            jobs: 16,
            timeout: Duration::from_secs(120),
            install_timeout: Duration::from_secs(600),
            limits: Limits::default(),
            launch: LaunchOptions::default(),
            progress: false,
        }
    }
}

/// Keep the servers of shard `k` of `n` (1-based), by a stable hash of the name.
pub fn shard(servers: Vec<ServerSpec>, k: usize, n: usize) -> Vec<ServerSpec> {
    servers.into_iter().filter(|s| shard_of(&s.name, n) == k).collect()
}

pub fn shard_of(name: &str, n: usize) -> usize {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(name.as_bytes());
    let v = u64::from_be_bytes(h[..8].try_into().unwrap());
    (v % n as u64) as usize + 1
}

/// Crawl all `servers`; results come back in the order given.
pub async fn crawl(servers: &[ServerSpec], recipes: Arc<Recipes>, opts: &CrawlOptions) -> Vec<ServerResult> {
    let multi = MultiProgress::with_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, spec) in servers.iter().cloned().enumerate() {
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(style.clone());
        bar.set_prefix(spec.name.clone());
        bar.set_message("queued");
        bar.enable_steady_tick(Duration::from_millis(200));
        let (sem, recipes, opts) = (sem.clone(), recipes.clone(), opts.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = crawl_one(&spec, &recipes, &opts, &bar).await;
            bar.finish_with_message(if r.ok { format!("ok, {} tools", r.tools.len()) } else { "failed".to_string() });
            (i, r)
        });
    }
    let mut out: Vec<Option<ServerResult>> = vec![None; servers.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            out[i] = Some(r);
        }
    }
    let _ = multi.clear();
    out.into_iter()
        .zip(servers)
        .map(|(r, spec)| r.unwrap_or_else(|| failed(spec, "crawl", "internal error: crawl task panicked".into(), vec![], 0.0)))
        .collect()
}

fn failed(spec: &ServerSpec, phase: &str, error: String, stderr_tail: Vec<String>, seconds: f64) -> ServerResult {
    ServerResult {
        spec: spec.clone(),
        ok: false,
        phase: Some(phase.to_string()),
        error: Some(error),
        stderr_tail,
        warnings: vec![],
        seconds,
        protocol_version: None,
        server_info: None,
        transport: None,
        tools: vec![],
    }
}

/// One server, start to finish, never panicking and never outliving its deadline.
pub async fn crawl_one(spec: &ServerSpec, recipes: &Recipes, opts: &CrawlOptions, bar: &ProgressBar) -> ServerResult {
    let start = Instant::now();
    bar.set_message("preparing");
    if let Some(name) = &spec.expand {
        if recipes.get(name).is_none() {
            let msg = format!("unknown expansion recipe \"{name}\" (known: {})", recipes.names().join(", "));
            return failed(spec, "expand", msg, vec![], 0.0);
        }
    }
    let prepared = match tokio::time::timeout(opts.install_timeout, source::launch(spec, &opts.launch)).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return failed(spec, "spawn", e.to_string(), vec![], start.elapsed().as_secs_f64()),
        Err(_) => {
            let msg = format!("preparing the package took longer than {}s", opts.install_timeout.as_secs());
            return failed(spec, "spawn", msg, vec![], start.elapsed().as_secs_f64());
        }
    };
    let deadline = spec.timeout.map(Duration::from_secs_f64).unwrap_or(opts.timeout);
    let phase = Arc::new(std::sync::Mutex::new(mcp::Phase::Spawn));
    let opts = &for_launch(opts, &prepared.launch);
    let work = talk(spec, &prepared.launch, recipes, opts, bar, deadline, phase.clone());
    let mut result = match tokio::time::timeout(deadline, work).await {
        Ok(r) => r,
        Err(_) => {
            let p = *phase.lock().unwrap();
            failed(
                spec,
                p.as_str(),
                format!("timed out after {:.0}s during {} (server deadline)", deadline.as_secs_f64(), p.as_str()),
                vec![],
                0.0,
            )
        }
    };
    result.seconds = start.elapsed().as_secs_f64();
    drop(prepared);
    // Servers may echo their credentials in errors or on stderr: never relay them.
    let secrets = source::secret_values(spec);
    if !secrets.is_empty() {
        result.error = result.error.map(|e| source::scrub(&e, &secrets));
        for l in result.stderr_tail.iter_mut().chain(result.warnings.iter_mut()) {
            *l = source::scrub(l, &secrets);
        }
    }
    result
}

/// V8 (node, npx, bun, deno) reserves far more virtual memory than it uses
/// (WebAssembly guard regions), so an address-space limit breaks it; such
/// servers keep the other limits only.
fn for_launch(opts: &CrawlOptions, launch: &crate::model::Launch) -> CrawlOptions {
    let mut o = opts.clone();
    if let crate::model::Launch::Stdio { program, args, .. } = launch {
        let base = |p: &str| std::path::Path::new(p).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let mut prog = base(program);
        if prog == "bwrap" {
            if let Some(i) = args.iter().position(|a| a == "--") {
                prog = args.get(i + 1).map(|p| base(p)).unwrap_or_default();
            }
        }
        if ["node", "npx", "bun", "bunx", "deno"].contains(&prog.as_str()) {
            o.limits.address_space = None;
        }
    }
    o
}

async fn talk(
    spec: &ServerSpec,
    launch: &crate::model::Launch,
    recipes: &Recipes,
    opts: &CrawlOptions,
    bar: &ProgressBar,
    deadline: Duration,
    phase: Arc<std::sync::Mutex<mcp::Phase>>,
) -> ServerResult {
    let set_phase = |p: mcp::Phase, msg: &str| {
        *phase.lock().unwrap() = p;
        bar.set_message(msg.to_string());
    };
    set_phase(mcp::Phase::Initialize, "initialize");
    let mut session = match Session::connect(launch, &opts.limits).await {
        Ok(s) => s,
        Err(e) => return failed(spec, e.phase.as_str(), e.message.clone(), e.stderr_tail.clone(), 0.0),
    };
    let info = session.info().clone();
    set_phase(mcp::Phase::ListTools, "tools/list");
    let list = match session.list_tools().await {
        Ok(l) => l,
        Err(e) => {
            let mut tail = session.close().await;
            if tail.is_empty() {
                tail = e.stderr_tail.clone();
            }
            return failed(spec, e.phase.as_str(), e.message.clone(), tail, 0.0);
        }
    };
    let mut warnings = list.warnings.clone();
    let mut tools: Vec<ToolRecord> = Vec::with_capacity(list.tools.len());
    let mut names = HashSet::new();
    for raw in list.tools {
        let t = ToolRecord::from_raw(&spec.name, raw);
        if !names.insert(t.name.clone()) {
            warnings.push(format!("duplicate tool name {:?} in tools/list: kept the first", t.name));
            continue;
        }
        tools.push(t);
    }
    set_phase(mcp::Phase::Call, "expanding");
    match expand::expand_server(&mut session, spec, &tools, recipes, deadline / 2).await {
        Ok(exp) => {
            warnings.extend(exp.warnings);
            for mut a in exp.actions {
                if names.contains(&a.name) {
                    let q = format!("{}.{}", a.parent.as_deref().unwrap_or(""), a.name);
                    warnings.push(format!("expanded action {:?} clashes with a tool of the same name: stored as {:?}", a.name, q));
                    a.name = q;
                }
                if names.insert(a.name.clone()) {
                    tools.push(a);
                }
            }
        }
        Err(e) => warnings.push(e.to_string()),
    }
    let stderr_tail = session.close().await;
    let _ = stderr_tail;
    ServerResult {
        spec: spec.clone(),
        ok: true,
        phase: None,
        error: None,
        stderr_tail: vec![],
        warnings,
        seconds: 0.0,
        protocol_version: Some(info.protocol_version.clone()),
        server_info: Some(info.server_info.clone()),
        transport: Some(info.transport.clone()),
        tools,
    }
}
