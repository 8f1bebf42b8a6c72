//! TEMPORARY (perf work): dump verdicts over a large corpus to compare
//! before/after. Run with VERDICT_DUMP=/path cargo test --lib verdict_dump.

use super::*;
use regex::Regex;
use crate::model::ToolRecord;
use crate::synth::{self, Rng};
use serde_json::{json, Value};
use std::io::Write;

fn pool() -> Vec<String> {
    let mut out = Vec::new();
    let src = include_str!("tests.rs");
    let re = Regex::new(r#""((?:[^"\\]|\\.){1,300})""#).unwrap();
    for c in re.captures_iter(src) {
        let s = c[1].replace("\\n", "\n").replace("\\\"", "\"").replace("\\u{200b}", "\u{200b}");
        out.push(s);
    }
    for f in RULE_FILES {
        let t = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(f)).unwrap();
        let re = Regex::new(r#""([a-z_ ]{1,40})""#).unwrap();
        for c in re.captures_iter(&t) {
            out.push(c[1].to_string());
        }
    }
    out
}

fn record(t: &Value) -> ToolRecord {
    let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
    ToolRecord {
        server: s("server").unwrap(),
        name: s("name").unwrap(),
        parent: s("parent"),
        selector: t.get("selector").filter(|v| !v.is_null()).cloned(),
        category: s("category"),
        title: s("title"),
        description: s("description"),
        input_schema: t.get("input_schema").cloned().unwrap_or(json!({"type": "object"})),
        annotations: t.get("annotations").filter(|v| !v.is_null()).cloned(),
        raw: Value::Null,
        flags: t
            .get("flags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

fn mangle(rng: &mut Rng, s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        match rng.below(40) {
            0 => out.push('é'),
            1 => out.push('\u{200b}'),
            2 => out.extend(c.to_uppercase()),
            3 if i > 0 => out.push('_'),
            4 => out.push(' '),
            _ => out.push(c),
        }
        out.push(c);
    }
    out
}

fn fuzz(rng: &mut Rng, pool: &[String], i: usize) -> ToolRecord {
    let pick = |rng: &mut Rng| pool[rng.below(pool.len())].clone();
    let words = |rng: &mut Rng, n: usize, pool: &[String]| -> Vec<String> {
        (0..n).map(|_| pool[rng.below(pool.len())].clone()).collect()
    };
    let sep = ["_", "-", ".", " ", ""][rng.below(5)];
    let k = 1 + rng.below(3);
    let mut name = words(rng, k, pool).join(sep);
    if rng.below(4) == 0 {
        name = mangle(rng, &name);
    }
    if rng.below(3) == 0 {
        name = name.replace(' ', "_");
    }
    let k = rng.below(4);
    let j = if rng.below(2) == 0 { " " } else { ". " };
    let mut desc = words(rng, k, pool).join(j);
    if rng.below(6) == 0 {
        desc = mangle(rng, &desc);
    }
    let mut props = serde_json::Map::new();
    for _ in 0..rng.below(5) {
        let mut pn = pick(rng);
        if rng.below(2) == 0 {
            pn = pn.replace(' ', "_");
        }
        if rng.below(5) == 0 {
            pn = mangle(rng, &pn);
        }
        let ty = ["string", "boolean", "integer", "object", "array", "number"][rng.below(6)];
        let mut p = json!({"type": ty});
        if rng.below(2) == 0 {
            p["description"] = json!(pick(rng));
        }
        if rng.below(6) == 0 {
            p["type"] = json!([ty, "null"]);
        }
        if rng.below(8) == 0 {
            p["enum"] = json!([pick(rng), pick(rng)]);
        }
        if rng.below(8) == 0 {
            p["properties"] = json!({pick(rng): {"type": "string", "description": pick(rng)}});
        }
        props.insert(pn, p);
    }
    let mut raw = json!({"name": name, "description": desc, "inputSchema": {"type": "object", "properties": Value::Object(props)}});
    if rng.below(3) == 0 {
        raw["title"] = json!(pick(rng));
    }
    if rng.below(3) == 0 {
        let h = |rng: &mut Rng| -> Value {
            [json!(true), json!(false), json!("yes"), json!(0), Value::Null][rng.below(5)].clone()
        };
        raw["annotations"] = json!({"readOnlyHint": h(rng), "destructiveHint": h(rng), "openWorldHint": h(rng)});
    }
    if rng.below(50) == 0 {
        raw["description"] = json!(1);
    }
    let mut t = ToolRecord::from_raw(&format!("srv-{}", i % 13), raw);
    if rng.below(4) == 0 {
        t.category = Some(pick(rng));
    }
    if rng.below(4) == 0 {
        t.parent = Some(pick(rng));
    }
    t
}

#[test]
fn verdict_dump() {
    let Ok(path) = std::env::var("VERDICT_DUMP") else {
        return;
    };
    let rules = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut all: Vec<ToolRecord> = synth::catalogue(42, 30_000, 50);
    if let Ok(t) = std::fs::read_to_string("/tmp/real_tools.json") {
        let tools: Vec<Value> = serde_json::from_str(&t).unwrap();
        all.extend(tools.iter().map(record));
    }
    let pool = pool();
    let mut rng = Rng::new(99);
    for i in 0..60_000 {
        all.push(fuzz(&mut rng, &pool, i));
    }
    for t in &all {
        let v = rules.classify(t);
        writeln!(f, "{}\t{}", t.name, serde_json::to_string(&v).unwrap()).unwrap();
    }
}

#[test]
fn perf_probe() {
    if std::env::var("PERF_PROBE").is_err() {
        return;
    }
    let rules = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap();
    let n: usize = std::env::var("PERF_PROBE").unwrap().parse().unwrap_or(100_000);
    let tools = synth::catalogue(42, n, 50);
    for t in tools.iter().take(20_000) {
        std::hint::black_box(rules.classify(t));
    }
    let t0 = std::time::Instant::now();
    for t in &tools {
        std::hint::black_box(rules.classify(t));
    }
    let s = t0.elapsed().as_secs_f64();
    eprintln!("classify: {:.0} tools/s", n as f64 / s);
    if std::env::var("PROBE_ONLY_CLASSIFY").is_ok() {
        return;
    }
    let time = |name: &str, f: &dyn Fn(&ToolRecord) -> usize| {
        let t0 = std::time::Instant::now();
        let mut k = 0;
        for t in &tools {
            k += f(t);
        }
        eprintln!("{name}: {:.0} ns/tool ({k})", t0.elapsed().as_secs_f64() * 1e9 / n as f64);
    };
    time("phrases.matches", &|t| rules.phrases.set.matches(t.description.as_deref().unwrap_or("")).count());
    time("susp.is_match", &|t| rules.suspicious.folded.is_match(t.description.as_deref().unwrap_or("")) as usize);
    time("objects.matches", &|t| rules.objects.set.matches(&tokenize(&t.name).join(" ")).count());
    time("tokenize", &|t| tokenize(&t.name).len());
}

#[test]
fn perf_probe2() {
    if std::env::var("PERF_PROBE").is_err() {
        return;
    }
    let n: usize = std::env::var("PERF_PROBE").unwrap().parse().unwrap_or(100_000);
    let tools = synth::catalogue(42, n, 50);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let pf: config::PhrasesFile = toml::from_str(&std::fs::read_to_string(dir.join("phrases.toml")).unwrap()).unwrap();
    let sf: config::SuspiciousFile = toml::from_str(&std::fs::read_to_string(dir.join("suspicious.toml")).unwrap()).unwrap();
    let pp: Vec<&str> = pf.phrase.iter().map(|r| r.pattern.as_str()).collect();
    let sp: Vec<&str> = sf.pattern.iter().filter(|r| !r.raw).map(|r| r.pattern.as_str()).collect();
    let time = |name: &str, f: &dyn Fn(&ToolRecord) -> usize| {
        for t in tools.iter().take(20000) { f(t); }
        let t0 = std::time::Instant::now();
        let mut k = 0;
        for t in &tools {
            k += f(t);
        }
        eprintln!("{name}: {:.0} ns/tool ({k})", t0.elapsed().as_secs_f64() * 1e9 / n as f64);
    };
    fn walk(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len(),
            Value::Object(m) => m.iter().map(|(k, v)| k.len() + walk(v)).sum(),
            Value::Array(a) => a.iter().map(walk).sum(),
            _ => 1,
        }
    }
    time("touch name+desc", &|t| t.name.len() + t.description.as_deref().map_or(0, |d| d.bytes().map(|b| b as usize).sum()));
    time("touch all", &|t| t.name.len() + t.description.as_deref().map_or(0, |d| d.bytes().map(|b| b as usize).sum()) + walk(&t.input_schema) + t.annotations.as_ref().map_or(0, walk));
    if std::env::var("PROBE_ONLY_TOUCH").is_ok() { return; }
    for (label, pats) in [("phrases", &pp), ("susp", &sp)] {
        let u = regex::RegexSetBuilder::new(pats.iter()).size_limit(1 << 26).dfa_size_limit(1 << 26).build().unwrap();
        let b = regex::bytes::RegexSetBuilder::new(pats.iter()).unicode(false).size_limit(1 << 26).dfa_size_limit(1 << 26).build().unwrap();
        time(&format!("{label} unicode matches"), &|t| u.matches(t.description.as_deref().unwrap_or("")).iter().count());
        time(&format!("{label} ascii matches"), &|t| b.matches(t.description.as_deref().unwrap_or("").as_bytes()).iter().count());
        time(&format!("{label} unicode is_match"), &|t| u.is_match(t.description.as_deref().unwrap_or("")) as usize);
        time(&format!("{label} ascii is_match"), &|t| b.is_match(t.description.as_deref().unwrap_or("").as_bytes()) as usize);
        for (i, p) in pats.iter().enumerate() {
            let r = regex::bytes::RegexBuilder::new(p).unicode(false).build().unwrap();
            time(&format!("  {label}[{i}] ascii is_match"), &|t| r.is_match(t.description.as_deref().unwrap_or("").as_bytes()) as usize);
        }
    }
}

struct Counting;
static ALLOCS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static REALLOCS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::alloc::System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        std::alloc::System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::alloc::System.realloc(p, l, n)
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn alloc_probe() {
    if std::env::var("PERF_PROBE").is_err() {
        return;
    }
    let rules = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap();
    let tools = synth::catalogue(42, 20_000, 50);
    for t in &tools {
        std::hint::black_box(rules.classify(t));
    }
    let a0 = ALLOCS.load(std::sync::atomic::Ordering::Relaxed);
    let r0 = REALLOCS.load(std::sync::atomic::Ordering::Relaxed);
    let mut strings = 0;
    for t in &tools {
        let v = rules.classify(t);
        strings += v.reasons.len() * 2 + v.signals.len() * 2 + 1 + (v.reasons.capacity() > 0) as usize + (v.signals.capacity() > 0) as usize;
        std::hint::black_box(v);
    }
    let a = ALLOCS.load(std::sync::atomic::Ordering::Relaxed) - a0;
    let r = REALLOCS.load(std::sync::atomic::Ordering::Relaxed) - r0;
    eprintln!("allocs/classify {:.2}, reallocs {:.2}, verdict needs {:.2}", a as f64 / 20000.0, r as f64 / 20000.0, strings as f64 / 20000.0);
}
