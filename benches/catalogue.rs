//! Catalogue-scale benchmarks, run in release mode:
//!
//!     cargo bench --bench catalogue                 # all, 100k tools
//!     cargo bench --bench catalogue -- classify     # one stage (classify|store|reclassify|site|crawl)
//!     MCPCAT_BENCH_TOOLS=20000 cargo bench --bench catalogue
//!
//! Prints one line per measurement with the target it is held to. Numbers
//! are measured, not asserted: the tests never time anything.

use mcp_catalogue::classify::Rules;
use mcp_catalogue::crawl::{self, CrawlOptions};
use mcp_catalogue::expand::Recipes;
use mcp_catalogue::model::{ServerSpec, ToolRecord, Transport};
use mcp_catalogue::store::{self, ServerResult, Store};
use mcp_catalogue::{history, pipeline, policy, site, synth};
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
    line("CLI: classify after a rules edit", format!("{secs:.2} s, {mib:.0} MiB"), "< 1 s, < 500 MiB");
    let (secs, mib) = run(&["classify"]);
    line("CLI: classify, rules unchanged", format!("{secs:.2} s, {mib:.0} MiB"), "< 1 s, < 500 MiB");
    // The worst case: every verdict row written (none stored, as after an
    // edit that changes every verdict).
    rusqlite::Connection::open(db).unwrap().execute("DELETE FROM verdicts", []).unwrap();
    let (secs, mib) = run(&["classify"]);
    line("CLI: classify, every verdict written", format!("{secs:.2} s, {mib:.0} MiB"), "< 1 s, < 500 MiB");
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

fn cpu_secs(who: i32) -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn peak_rss_mib() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
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
    let t = Instant::now();
    let tools = synth::catalogue(42, n, 50);
    line("generate synthetic catalogue", format!("{:.2} s", t.elapsed().as_secs_f64()), "-");

    if want("classify") {
        // One core: a plain loop on this thread.
        for _ in 0..2 {
            for t in tools.iter().take(10_000) {
                std::hint::black_box(rules.classify(t));
            }
        }
        let t = Instant::now();
        let mut risky = 0usize;
        for tool in &tools {
            let v = rules.classify(tool);
            risky += (v.risk >= mcp_catalogue::model::Risk::High) as usize;
        }
        let secs = t.elapsed().as_secs_f64();
        std::hint::black_box(risky);
        line("classification, one core", format!("{:.0} tools/s", n as f64 / secs), ">= 500,000 tools/s");
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
            line(&format!("re-classify {k} stored tools"), format!("{:.2} s", t.elapsed().as_secs_f64()), "< 1 s");
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
            let store = Store::open(&db).unwrap();
            let _ = &store;
            let t = Instant::now();
            let stats = site::build(&out, &input).unwrap();
            let secs = t.elapsed().as_secs_f64();
            line("site: first build", format!("{:.0} pages/s", stats.pages as f64 / secs), ">= 10,000 pages/s");
            let t = Instant::now();
            let again = site::build(&out, &input).unwrap();
            line(
                "site: unchanged re-run",
                format!("{:.2} s, {} written", t.elapsed().as_secs_f64(), again.written),
                "0 written",
            );
        }
    }

    if want("crawl") {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let shared = std::env::var_os("MCP_CATALOGUE_SHARED").map(PathBuf::from).unwrap_or_else(|| root().join("../shared"));
        let spec = |i: usize, latency_ms: u32| ServerSpec {
            name: format!("replay-{i:02}"),
            transport: Transport::Stdio {
                command: if latency_ms > 0 {
                    std::env::current_exe().unwrap().to_string_lossy().into_owned()
                } else {
                    "python3".into()
                },
                args: [
                    "--latency-proxy".to_string(),
                    latency_ms.to_string(),
                    "python3".into(),
                ]
                .into_iter()
                .filter(|_| latency_ms > 0)
                .chain([
                    shared.join("tools/mcp-replay").to_string_lossy().into_owned(),
                    shared.join("fixtures/truenas-hierarchical/session.json").to_string_lossy().into_owned(),
                ])
                .collect(),
                env: Default::default(),
                cwd: None,
            },
            timeout: None,
            product: None,
            expand: None,
        };
        let recipes = Arc::new(Recipes::load(&root().join("rules/expanders")).unwrap());
        let time = |specs: &[ServerSpec], jobs: usize| -> f64 {
            let opts = CrawlOptions { jobs, timeout: Duration::from_secs(300), ..Default::default() };
            let t = Instant::now();
            let r = rt.block_on(crawl::crawl(specs, recipes.clone(), &opts));
            assert!(r.iter().all(|r| r.ok && r.tools.len() == 279), "replay crawl failed: {:?}", r.iter().find(|r| !r.ok).map(|r| &r.error));
            t.elapsed().as_secs_f64()
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
    }
    line("peak memory of this bench process", format!("{:.0} MiB", peak_rss_mib()), "- (holds several copies)");
    let _ = Path::new("");
}
