//! Site: the catalogue as a static documentation site.
//!
//! One page per tool (what it does, its verdict, the recommended policy rule
//! to paste, parameters, history, related tools), one per server (a sortable,
//! filterable tool table), an index with a client-side search, a page of what
//! changed in the last refresh, `search-index.{js,json}` and `sitemap.xml`.
//! The site works from `file://` and any static host: no external scripts,
//! fonts or CDNs.
//!
//! HTML comes only from the templates in `templates/` (minijinja, HTML
//! auto-escaping on), so everything a server said is escaped; the Rust side
//! only prepares the data a template shows. File names come from
//! [`slug::Slugger`], never from raw names, and every path is checked to stay
//! inside the output directory. A page is written only when its bytes
//! changed (a new file in place, an existing one by temp file + rename), so
//! an unchanged re-run writes nothing. A manifest lists the files we wrote,
//! each with a signature of what made it (a hash of the data its template
//! sees and of the templates) and its size and change time: the next run
//! does not even render a page whose signature and file are as recorded,
//! and deletes pages of tools that disappeared, and nothing else. This
//! stage never reads the store or touches the network.

pub mod slug;

mod view;

use crate::history;
use crate::store::{ServerRow, StoredTool};
pub use history::{ChangeItem, Changes, FieldDiff};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Everything the site shows. The lead's `site` command fills it from the
/// store.
pub struct SiteInput<'a> {
    pub servers: &'a [ServerRow],
    /// Active tools, each with its verdict (`Some` after classification).
    pub tools: &'a [StoredTool],
    /// The input schema of each tool (same order as `tools`) as JSON text,
    /// when the tools were loaded without it (see
    /// `Store::tools_without_schemas`): parsed one page at a time, a
    /// 100k-tool catalogue needs 13 MiB instead of 180 MiB of parsed JSON.
    pub schemas: Option<&'a [Box<serde_json::value::RawValue>]>,
    /// Tool id → (hash, first_seen, record), oldest first; only for tools
    /// with more than one version.
    pub versions: &'a HashMap<i64, Vec<(String, String, crate::model::ToolRecord)>>,
    /// What the last refresh changed.
    pub changes: &'a Changes,
    pub profile: &'a crate::policy::Profile,
    /// Shown on the index page only (pass something stable, e.g. the last
    /// run's time, so an unchanged re-run writes nothing).
    pub generated_at: String,
    /// Absolute URL the site will be served from (for `sitemap.xml`);
    /// `None` writes relative URLs.
    pub base_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteStats {
    /// HTML pages in the site.
    pub pages: usize,
    /// Files written because they were new or different.
    pub written: usize,
    /// Files left alone because their content was already right.
    pub unchanged: usize,
    /// Stale pages (of tools or servers no longer catalogued) deleted.
    pub removed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("rendering {page}: {source:#}")]
    Template {
        page: String,
        source: minijinja::Error,
    },
    #[error(
        "refusing to write {0:?}: the path would leave the site directory or follow a symlink"
    )]
    UnsafePath(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SiteError + '_ {
    move |source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The templates, kept together in `templates/` and compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("tool.html", include_str!("templates/tool.html")),
    ("server.html", include_str!("templates/server.html")),
    ("index.html", include_str!("templates/index.html")),
    ("changes.html", include_str!("templates/changes.html")),
    ("sitemap.xml", include_str!("templates/sitemap.xml")),
    (
        "sitemap-index.xml",
        include_str!("templates/sitemap-index.xml"),
    ),
];

/// Static files copied as they are.
const ASSETS: &[(&str, &str)] = &[
    ("assets/style.css", include_str!("templates/style.css")),
    ("assets/site.js", include_str!("templates/site.js")),
];

/// The file listing what the last build wrote (for deleting stale pages).
const MANIFEST: &str = ".mcp-catalogue-site";

/// Sitemaps hold at most this many URLs (the protocol's limit).
const SITEMAP_MAX: usize = 50_000;

/// The template environment: `.html` templates auto-escape as HTML, `.xml`
/// ones as XML (the same, minus HTML's `/` escaping, which XML tools and
/// sitemap readers would see literally).
pub fn environment() -> Environment<'static> {
    const XML: AutoEscape = AutoEscape::Custom("xml");
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".xml") {
            XML
        } else {
            minijinja::default_auto_escape_callback(name)
        }
    });
    env.set_formatter(|out, state, value| {
        if state.auto_escape() != XML {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = value.to_string();
        if value.is_safe() {
            return out.write_str(&text).map_err(minijinja::Error::from);
        }
        let mut escaped = String::with_capacity(text.len());
        for ch in text.chars() {
            match ch {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&quot;"),
                '\'' => escaped.push_str("&apos;"),
                c => escaped.push(c),
            }
        }
        out.write_str(&escaped).map_err(minijinja::Error::from)
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("built-in templates compile (tested)");
    }
    env
}

/// Build (or update) the site in `out`.
///
/// Each page is streamed: prepared, rendered, compared or written, dropped.
/// A page whose signature (a hash of everything its template sees, plus the
/// templates) and file (size and change time) match what the manifest
/// recorded last time is not rendered at all.
pub fn build(out: &Path, input: &SiteInput) -> Result<SiteStats, SiteError> {
    let started = std::time::Instant::now();
    let env = environment();
    let key = render_key();
    let model = view::Model::new(input);
    let writer = Writer::new(out)?;

    // Directories first (checked not to be symlinks), then pages in parallel.
    writer.dir("assets")?;
    writer.dir("servers")?;
    writer.dir("tools")?;
    for s in &model.servers {
        writer.dir(&format!("tools/{}", s.slug))?;
    }

    let tool_t = env
        .get_template("tool.html")
        .map_err(|e| tmpl_err("tool.html", e))?;
    let server_t = env
        .get_template("server.html")
        .map_err(|e| tmpl_err("server.html", e))?;

    // The search index and sitemaps (one pass over all tools each, on one
    // thread) are made beside the pages, which keep every core busy.
    let (pages, side) = std::thread::scope(|scope| {
        let side = scope.spawn(|| -> Result<Vec<(String, Stamp)>, SiteError> {
            let mut side = Vec::new();
            // The search index, as JSON and as a script (for `file://`): the
            // script's signature follows from the JSON's, so it is produced once
            // to hash, not twice.
            let json = |w: &mut dyn Write| {
                model
                    .write_search_index(w)
                    .map_err(write_err("search-index.json"))
            };
            let (sig, len) = content_sig(&json)?;
            side.push((
                "search-index.json".into(),
                writer.stream_signed("search-index.json", sig, len, &json)?,
            ));
            const JS_HEAD: &[u8] = b"window.MCP_CATALOGUE_INDEX = ";
            const JS_TAIL: &[u8] = b";\n";
            let mut h = HashWriter {
                sha: Sha256::new(),
                len: 0,
            };
            h.sha.update(b"search-index.js from JSON ");
            h.sha.update(sig.to_le_bytes());
            let js_sig = h.finish().0;
            let js_len = JS_HEAD.len() as u64 + len + JS_TAIL.len() as u64;
            let js = |w: &mut dyn Write| {
                w.write_all(JS_HEAD)
                    .and_then(|_| model.write_search_index(w))
                    .and_then(|_| w.write_all(JS_TAIL))
                    .map_err(write_err("search-index.js"))
            };
            side.push((
                "search-index.js".into(),
                writer.stream_signed("search-index.js", js_sig, js_len, &js)?,
            ));

            // Sitemap: relative URLs unless a base URL is given; split past 50,000.
            let base = input.base_url.as_deref();
            let sitemap = |name: &str, tmpl: &str, urls: &dyn Fn() -> Vec<String>| {
                let t = env.get_template(tmpl).map_err(|e| tmpl_err(tmpl, e))?;
                writer.stream(name, &|w| {
                    t.render_captured_to(minijinja::context! { urls => urls() }, w)
                        .map(|_| ())
                        .map_err(|e| tmpl_err(name, e))
                })
            };
            let n = model.sitemap_len();
            if n <= SITEMAP_MAX {
                let stamp = sitemap("sitemap.xml", "sitemap.xml", &|| {
                    model.sitemap_urls(base, 0..n)
                })?;
                side.push(("sitemap.xml".into(), stamp));
            } else {
                let mut parts = Vec::new();
                for (k, start) in (0..n).step_by(SITEMAP_MAX).enumerate() {
                    let name = format!("sitemap-{}.xml", k + 1);
                    let end = (start + SITEMAP_MAX).min(n);
                    let stamp = sitemap(&name, "sitemap.xml", &|| {
                        model.sitemap_urls(base, start..end)
                    })?;
                    parts.push(view::absolute(base, &name));
                    side.push((name, stamp));
                }
                let stamp = sitemap("sitemap.xml", "sitemap-index.xml", &|| parts.clone())?;
                side.push(("sitemap.xml".into(), stamp));
            }
            Ok(side)
        });
        let pages = (|| -> Result<_, SiteError> {
            let tool_stamps = Slots::new(model.tool_count());
            parallel(model.tool_count(), |k| {
                let i = model.tool_at(k);
                let url = model.tool_url(i);
                let page = model.tool_page(i);
                let stamp = writer.page(&url, page_sig(&key, &page), || {
                    tool_t.render(&page).map_err(|e| tmpl_err(&url, e))
                })?;
                tool_stamps.set(k, stamp);
                Ok(())
            })?;
            tracing::info!(
                "site: {} tool pages in {:.2}s",
                model.tool_count(),
                started.elapsed().as_secs_f64()
            );
            let server_stamps = Slots::new(model.servers.len());
            parallel(model.servers.len(), |k| {
                let page = model.server_page(k);
                let url = &model.servers[k].url;
                let stamp = writer.page(url, page_sig(&key, &page), || {
                    server_t.render(&page).map_err(|e| tmpl_err(url, e))
                })?;
                server_stamps.set(k, stamp);
                Ok(())
            })?;
            Ok((tool_stamps.into_inner(), server_stamps.into_inner()))
        })();
        let side = side.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (pages, side)
    });
    let (tool_stamps, server_stamps) = pages?;
    let mut misc = side?;
    let stamp = writer.single(&env, &key, "index.html", &model.index_page())?;
    misc.push(("index.html".into(), stamp));
    let stamp = writer.single(&env, &key, "changes.html", &model.changes_page())?;
    misc.push(("changes.html".into(), stamp));
    for (name, text) in ASSETS {
        let stamp = writer.stream(name, &|w| {
            w.write_all(text.as_bytes()).map_err(write_err(name))
        })?;
        misc.push((name.to_string(), stamp));
    }
    // The manifest: every file of this build with its stamp, in build order.
    let removed = writer.finish(&|w| {
        for (k, stamp) in tool_stamps.iter().enumerate() {
            stamp.write_line(w, &model.tool_url(model.tool_at(k)))?;
        }
        for (s, stamp) in model.servers.iter().zip(&server_stamps) {
            stamp.write_line(w, &s.url)?;
        }
        for (name, stamp) in &misc {
            stamp.write_line(w, name)?;
        }
        Ok(())
    })?;
    let stats = SiteStats {
        pages: model.tool_count() + model.servers.len() + 2,
        written: writer.written.load(Ordering::Relaxed),
        unchanged: writer.unchanged.load(Ordering::Relaxed),
        removed,
    };
    tracing::info!(
        "site: {} pages ({} files written, {} unchanged, {} removed) in {:.2}s",
        stats.pages,
        stats.written,
        stats.unchanged,
        stats.removed,
        started.elapsed().as_secs_f64()
    );
    Ok(stats)
}

fn tmpl_err(page: &str, source: minijinja::Error) -> SiteError {
    SiteError::Template {
        page: page.to_string(),
        source,
    }
}

fn write_err(name: &str) -> impl FnOnce(io::Error) -> SiteError + '_ {
    move |source| SiteError::Io {
        path: PathBuf::from(name),
        source,
    }
}

/// Bump when a change outside the templates and the view model (the
/// environment's formatter, say) changes how the same data renders: every
/// page's signature includes it, so the next build re-renders every page.
/// (A new binary does so anyway, see [`render_key`].)
const RENDER_VERSION: &str = "1";

/// The part of every page signature that is not the page's own data: the
/// render version, the crate version, all templates, and the identity
/// (size and modification time) of the running executable, so that a new
/// build of the program (new code, a new minijinja) renders and compares
/// every page once; that run writes only what differs.
fn render_key() -> Sha256 {
    let mut h = Sha256::new();
    for part in [RENDER_VERSION, env!("CARGO_PKG_VERSION")] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    for (name, source) in TEMPLATES {
        for part in [name, source] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    if let Ok(m) = std::env::current_exe().and_then(std::fs::metadata) {
        use std::os::unix::fs::MetadataExt;
        h.update(m.len().to_le_bytes());
        h.update(m.mtime().to_le_bytes());
        h.update(m.mtime_nsec().to_le_bytes());
    }
    h
}

/// Feeds written bytes to SHA-256, counting them.
struct HashWriter {
    sha: Sha256,
    len: u64,
}

impl HashWriter {
    /// (first 64 bits of the digest, bytes written)
    fn finish(self) -> (u64, u64) {
        let d = self.sha.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        (u64::from_le_bytes(b), self.len)
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sha.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The signature of what `produce` writes (a hash of the bytes), and its
/// length.
fn content_sig(
    produce: &dyn Fn(&mut dyn Write) -> Result<(), SiteError>,
) -> Result<(u64, u64), SiteError> {
    let mut h = HashWriter {
        sha: Sha256::new(),
        len: 0,
    };
    produce(&mut h)?;
    Ok(h.finish())
}

/// The signature of a page: a hash of the render key and of the data its
/// template sees (the page serialized as JSON). `None` if it cannot be
/// serialized (then the page is always rendered and compared).
fn page_sig<T: serde::Serialize>(key: &Sha256, page: &T) -> Option<u64> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        serde_json::to_writer(&mut *buf, page).ok()?;
        let mut h = HashWriter {
            sha: key.clone(),
            len: 0,
        };
        h.sha.update(&buf[..]);
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        Some(h.finish().0)
    })
}

/// What the manifest records of a file: the signature it was made from, and
/// its size and change time when last written or checked. A file whose
/// signature, size and change time all still match is not looked at again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    sig: u64,
    size: u64,
    ctime: i64,
    ctime_ns: u32,
}

impl Stamp {
    /// Matches no file (old manifests and unknown signatures).
    const UNKNOWN: Stamp = Stamp {
        sig: 0,
        size: u64::MAX,
        ctime: 0,
        ctime_ns: 0,
    };

    fn of(sig: Option<u64>, m: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        match sig {
            Some(sig) => Stamp {
                sig,
                size: m.len(),
                ctime: m.ctime(),
                ctime_ns: m.ctime_nsec() as u32,
            },
            None => Stamp::UNKNOWN,
        }
    }

    /// The file `m` is the one this stamp was taken of, unchanged since.
    fn matches(&self, m: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        m.is_file()
            && self.size == m.len()
            && self.ctime == m.ctime()
            && i64::from(self.ctime_ns) == m.ctime_nsec()
    }

    /// `path\tsig\tsize\tctime.ns`, or just `path` when unknown.
    fn write_line(&self, w: &mut dyn Write, path: &str) -> io::Result<()> {
        if *self == Stamp::UNKNOWN {
            writeln!(w, "{path}")
        } else {
            writeln!(
                w,
                "{path}\t{:016x}\t{}\t{}.{:09}",
                self.sig, self.size, self.ctime, self.ctime_ns
            )
        }
    }

    fn parse(fields: &str) -> Option<Stamp> {
        let mut f = fields.split('\t');
        let sig = u64::from_str_radix(f.next()?, 16).ok()?;
        let size = f.next()?.parse().ok()?;
        let (s, ns) = f.next()?.split_once('.')?;
        let stamp = Stamp {
            sig,
            size,
            ctime: s.parse().ok()?,
            ctime_ns: ns.parse().ok()?,
        };
        f.next().is_none().then_some(stamp)
    }
}

/// One stamp per page, filled in parallel.
struct Slots(std::sync::Mutex<Vec<Stamp>>);

impl Slots {
    fn new(n: usize) -> Slots {
        Slots(std::sync::Mutex::new(vec![Stamp::UNKNOWN; n]))
    }
    fn set(&self, k: usize, stamp: Stamp) {
        self.0.lock().unwrap_or_else(|p| p.into_inner())[k] = stamp;
    }
    fn into_inner(self) -> Vec<Stamp> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

fn path_key(rel: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rel.hash(&mut h);
    h.finish()
}

/// The previous build's manifest, by path hash (no path text is kept: 8
/// bytes a path instead of ~50), with which paths this build produced.
#[derive(Default)]
struct OldManifest {
    entries: Vec<(u64, Stamp)>,
    seen: Vec<AtomicBool>,
}

impl OldManifest {
    fn load(path: &Path) -> OldManifest {
        let Ok(f) = std::fs::File::open(path) else {
            return OldManifest::default();
        };
        let mut entries = Vec::new();
        for line in BufReader::new(f).lines() {
            let Ok(line) = line else { break };
            let (rel, stamp) = match line.split_once('\t') {
                Some((rel, rest)) => (rel, Stamp::parse(rest).unwrap_or(Stamp::UNKNOWN)),
                None => (line.as_str(), Stamp::UNKNOWN),
            };
            entries.push((path_key(rel), stamp));
        }
        entries.sort_unstable_by_key(|e| e.0);
        entries.shrink_to_fit();
        let seen = entries.iter().map(|_| AtomicBool::new(false)).collect();
        OldManifest { entries, seen }
    }

    fn find(&self, rel: &str) -> Option<usize> {
        let key = path_key(rel);
        let k = self.entries.partition_point(|e| e.0 < key);
        (k < self.entries.len() && self.entries[k].0 == key).then_some(k)
    }

    /// The stamp recorded for `rel`, noting that this build has it.
    fn lookup(&self, rel: &str) -> Option<Stamp> {
        let k = self.find(rel)?;
        self.seen[k].store(true, Ordering::Relaxed);
        Some(self.entries[k].1).filter(|s| *s != Stamp::UNKNOWN)
    }

    fn seen(&self, rel: &str) -> bool {
        self.find(rel)
            .is_some_and(|k| self.seen[k].load(Ordering::Relaxed))
    }
}

/// Run `f(0..n)` on all cores, stopping at the first error. Work goes in
/// chunks of neighbouring items (pages of one directory), and threads start
/// far apart so they seldom create files in the same directory at once.
fn parallel<F>(n: usize, f: F) -> Result<(), SiteError>
where
    F: Fn(usize) -> Result<(), SiteError> + Sync,
{
    const CHUNK: usize = 32;
    let chunks = n.div_ceil(CHUNK);
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 16)
        .min(chunks.max(1));
    if threads <= 1 {
        return (0..n).try_for_each(f);
    }
    // Grab number g → chunk (g % threads) * stripe + g / threads.
    let stripe = chunks.div_ceil(threads);
    let next = AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                if g >= stripe * threads {
                    return;
                }
                let c = (g % threads) * stripe + g / threads;
                if c >= chunks {
                    continue;
                }
                let start = c * CHUNK;
                for i in start..(start + CHUNK).min(n) {
                    if let Err(e) = f(i) {
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                        let mut slot = failed.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes files under the site root: only when changed, atomically when
/// replacing, and only at checked relative paths.
struct Writer {
    root: PathBuf,
    old: OldManifest,
    written: AtomicUsize,
    unchanged: AtomicUsize,
}

/// A relative path we are willing to write: `/`-separated components of
/// `[A-Za-z0-9._-]`, none empty or starting with a dot.
pub fn safe_rel(rel: &str) -> bool {
    !rel.is_empty()
        && rel.split('/').all(|c| {
            !c.is_empty()
                && !c.starts_with('.')
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
}

/// What to put in a file.
enum Body<'b> {
    Bytes(&'b [u8]),
    /// Its length and how to write it (deterministic: it may run again).
    Stream(u64, &'b dyn Fn(&mut dyn Write) -> Result<(), SiteError>),
}

impl Body<'_> {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Stream(n, _) => *n,
        }
    }

    fn write_to(&self, w: &mut dyn Write) -> Result<(), SiteError> {
        match self {
            Body::Bytes(b) => w.write_all(b).map_err(write_err("(page)")),
            Body::Stream(_, produce) => produce(w),
        }
    }

    /// The file at `p` (of the same length) holds exactly this.
    fn same_as(&self, p: &Path) -> Result<bool, SiteError> {
        match self {
            Body::Bytes(b) => Ok(std::fs::read(p).map_err(io_err(p))? == *b),
            Body::Stream(_, produce) => {
                let f = std::fs::File::open(p).map_err(io_err(p))?;
                let mut cmp = CompareWriter {
                    file: BufReader::with_capacity(64 * 1024, f),
                    same: true,
                    buf: Vec::new(),
                };
                produce(&mut cmp)?;
                let mut rest = [0u8; 1];
                Ok(cmp.same && matches!(cmp.file.read(&mut rest), Ok(0)))
            }
        }
    }
}

/// Compares what is written with a file's bytes.
struct CompareWriter {
    file: BufReader<std::fs::File>,
    same: bool,
    buf: Vec<u8>,
}

impl Write for CompareWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.same {
            self.buf.resize(data.len(), 0);
            self.same = self.file.read_exact(&mut self.buf).is_ok() && self.buf == data;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Write `body` to a file just created at `p`; remove it on failure.
fn fill_new(p: &Path, f: std::fs::File, body: &Body) -> Result<std::fs::Metadata, SiteError> {
    let result = (|| {
        let f = match body {
            Body::Bytes(b) => {
                let mut f = f;
                f.write_all(b).map_err(io_err(p))?;
                f
            }
            Body::Stream(..) => {
                let mut w = io::BufWriter::with_capacity(64 * 1024, f);
                body.write_to(&mut w)?;
                w.into_inner().map_err(|e| io_err(p)(e.into_error()))?
            }
        };
        f.metadata().map_err(io_err(p))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(p);
    }
    result
}

fn create_new(p: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(p)
}

/// Put `body` at `p` unless the file there already holds exactly it. A new
/// file is written in place (a torn one differs, so the next build rewrites
/// it); an existing one is replaced by a temp file and a rename, so readers
/// never see half a page. `meta` is the file's metadata when a stat already
/// found one (`None`: try creating it new). Returns whether it wrote and the
/// file's metadata.
fn put_file(
    p: &Path,
    meta: Option<std::fs::Metadata>,
    body: &Body,
) -> Result<(bool, std::fs::Metadata), SiteError> {
    let m = match meta {
        Some(m) => m,
        None => match create_new(p) {
            Ok(f) => return Ok((true, fill_new(p, f, body)?)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                std::fs::symlink_metadata(p).map_err(io_err(p))?
            }
            Err(e) => return Err(io_err(p)(e)),
        },
    };
    if m.is_dir() {
        return Err(io_err(p)(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a directory is in the way",
        )));
    }
    if m.is_file() && m.len() == body.len() && body.same_as(p)? {
        return Ok((false, m));
    }
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("page");
    let tmp = p.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let f = match create_new(&tmp) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // A leftover of an earlier run with our process id.
            let _ = std::fs::remove_file(&tmp);
            create_new(&tmp)
        }
        other => other,
    }
    .map_err(io_err(&tmp))?;
    fill_new(&tmp, f, body)?;
    if let Err(e) = std::fs::rename(&tmp, p) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(p)(e));
    }
    // The rename changed its change time: stat it again.
    Ok((true, std::fs::symlink_metadata(p).map_err(io_err(p))?))
}

impl Writer {
    fn new(out: &Path) -> Result<Writer, SiteError> {
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        Ok(Writer {
            root: out.to_path_buf(),
            old: OldManifest::load(&out.join(MANIFEST)),
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
        })
    }

    fn path(&self, rel: &str) -> Result<PathBuf, SiteError> {
        if !safe_rel(rel) {
            return Err(SiteError::UnsafePath(rel.to_string()));
        }
        let p = self.root.join(rel);
        // Belt and braces: nothing but plain components after the root.
        let tail = p
            .strip_prefix(&self.root)
            .map_err(|_| SiteError::UnsafePath(rel.to_string()))?;
        if !tail.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(SiteError::UnsafePath(rel.to_string()));
        }
        Ok(p)
    }

    /// Create a directory under the root, refusing one that is a symlink.
    fn dir(&self, rel: &str) -> Result<(), SiteError> {
        let p = self.path(rel)?;
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(&p)(e)),
        }
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
                Err(SiteError::UnsafePath(rel.to_string()))
            }
            Ok(_) => Ok(()),
            Err(e) => Err(io_err(&p)(e)),
        }
    }

    fn count(&self, written: bool) {
        let c = if written {
            &self.written
        } else {
            &self.unchanged
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The file at `p` is still the one the manifest recorded with `sig`:
    /// `Ok(Ok(stamp))`. Otherwise the file's metadata when a stat found one.
    fn check(
        &self,
        rel: &str,
        p: &Path,
        sig: Option<u64>,
    ) -> Result<Result<Stamp, Option<std::fs::Metadata>>, SiteError> {
        let old = self.old.lookup(rel);
        let Some(old) = old.filter(|o| sig == Some(o.sig)) else {
            return Ok(Err(None));
        };
        match std::fs::symlink_metadata(p) {
            Ok(m) if old.matches(&m) => Ok(Ok(old)),
            Ok(m) => Ok(Err(Some(m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Err(None)),
            Err(e) => Err(io_err(p)(e)),
        }
    }

    /// A page with signature `sig`: rendered (by `render`) only unless the
    /// manifest shows the file already made from the same signature.
    fn page(
        &self,
        rel: &str,
        sig: Option<u64>,
        render: impl FnOnce() -> Result<String, SiteError>,
    ) -> Result<Stamp, SiteError> {
        let p = self.path(rel)?;
        let meta = match self.check(rel, &p, sig)? {
            Ok(stamp) => {
                self.count(false);
                return Ok(stamp);
            }
            Err(meta) => meta,
        };
        let text = render()?;
        let (wrote, m) = put_file(&p, meta, &Body::Bytes(text.as_bytes()))?;
        self.count(wrote);
        Ok(Stamp::of(sig, &m))
    }

    /// A page at the site's root rendered by the template of the same name.
    fn single<T: serde::Serialize>(
        &self,
        env: &minijinja::Environment<'_>,
        key: &Sha256,
        name: &str,
        data: &T,
    ) -> Result<Stamp, SiteError> {
        let t = env.get_template(name).map_err(|e| tmpl_err(name, e))?;
        self.page(name, page_sig(key, data), || {
            t.render(data).map_err(|e| tmpl_err(name, e))
        })
    }

    /// A file written by `produce` (which may run up to three times: to
    /// hash, to compare, to write), never held in memory whole.
    fn stream(
        &self,
        rel: &str,
        produce: &dyn Fn(&mut dyn Write) -> Result<(), SiteError>,
    ) -> Result<Stamp, SiteError> {
        let (sig, len) = content_sig(produce)?;
        self.stream_signed(rel, sig, len, produce)
    }

    /// Like `stream`, with the content's signature and length known.
    fn stream_signed(
        &self,
        rel: &str,
        sig: u64,
        len: u64,
        produce: &dyn Fn(&mut dyn Write) -> Result<(), SiteError>,
    ) -> Result<Stamp, SiteError> {
        let p = self.path(rel)?;
        let meta = match self.check(rel, &p, Some(sig))? {
            Ok(stamp) => {
                self.count(false);
                return Ok(stamp);
            }
            Err(meta) => meta,
        };
        let (wrote, m) = put_file(&p, meta, &Body::Stream(len, produce))?;
        self.count(wrote);
        Ok(Stamp::of(Some(sig), &m))
    }

    /// Delete files the previous build wrote and this one did not, then
    /// record this build's files (written by `manifest`). Returns how many
    /// were deleted.
    fn finish(
        &self,
        manifest: &dyn Fn(&mut dyn Write) -> io::Result<()>,
    ) -> Result<usize, SiteError> {
        let path = self.root.join(MANIFEST);
        let mut removed = 0;
        let mut dirs = BTreeSet::new();
        if let Ok(f) = std::fs::File::open(&path) {
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                let rel = line.split_once('\t').map_or(line.as_str(), |(r, _)| r);
                if !safe_rel(rel) || self.old.seen(rel) {
                    continue;
                }
                let ours = rel.starts_with("tools/")
                    || rel.starts_with("servers/")
                    || rel.starts_with("sitemap-");
                if !ours {
                    continue;
                }
                let p = self.path(rel)?;
                match std::fs::symlink_metadata(&p) {
                    Ok(m) if m.is_file() => {
                        std::fs::remove_file(&p).map_err(io_err(&p))?;
                        removed += 1;
                        if let Some((d, _)) = rel.rsplit_once('/') {
                            dirs.insert(d.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        for d in dirs {
            // Only empty directories go; errors (not empty) are fine.
            if d.starts_with("tools/") {
                let _ = std::fs::remove_dir(self.root.join(&d));
            }
        }
        let produce = |w: &mut dyn Write| manifest(w).map_err(write_err(MANIFEST));
        let (_, len) = content_sig(&produce)?;
        let (wrote, _) = put_file(&path, None, &Body::Stream(len, &produce))?;
        if wrote {
            self.written.fetch_add(1, Ordering::Relaxed);
        }
        Ok(removed)
    }
}

/// Write `content` to `path` unless the file already holds exactly it
/// (size compared first, then bytes). A new file is written in place; an
/// existing one is replaced by a temp file and a rename, so readers never
/// see half a page. Returns whether it wrote.
pub fn write_if_changed(path: &Path, content: &[u8]) -> io::Result<bool> {
    match put_file(path, None, &Body::Bytes(content)) {
        Ok((wrote, _)) => Ok(wrote),
        Err(SiteError::Io { source, .. }) => Err(source),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::model::{Category, Kind, Risk, ToolRecord, Verdict};
    use crate::store::{ServerRow, StoredTool};
    use serde_json::json;

    fn tool(id: i64, name: &str, risk: Risk) -> StoredTool {
        let record = ToolRecord::from_raw(
            "srv",
            json!({"name": name, "description": format!("{name} does things."),
                   "inputSchema": {"type": "object", "properties": {"x": {"type": "string"}}}}),
        );
        StoredTool {
            id,
            hash: record.hash(),
            record,
            status: "active".into(),
            first_seen: "2026-11-20T10:00:00Z".into(),
            last_seen: "2026-11-24T10:00:00Z".into(),
            versions: 1,
            acked_hash: None,
            verdict: Some(Verdict {
                kind: Kind::Read,
                category: Category::Read,
                risk,
                signals: vec![],
                reasons: vec![],
                confidence: 0.9,
                inferred: Default::default(),
                effective: Default::default(),
                rules_hash: "r".into(),
            }),
        }
    }

    struct Fixture {
        servers: Vec<ServerRow>,
        tools: Vec<StoredTool>,
        versions: HashMap<i64, Vec<(String, String, ToolRecord)>>,
        changes: Changes,
        profile: crate::policy::Profile,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                servers: vec![],
                tools: (0..6)
                    .map(|i| tool(i, &format!("t{i}"), Risk::Low))
                    .collect(),
                versions: HashMap::new(),
                changes: Changes::default(),
                profile: crate::policy::Profile::default(),
            }
        }
        fn build(&self, out: &Path) -> SiteStats {
            build(
                out,
                &SiteInput {
                    servers: &self.servers,
                    tools: &self.tools,
                    schemas: None,
                    versions: &self.versions,
                    changes: &self.changes,
                    profile: &self.profile,
                    generated_at: "2026-11-24T10:00:00Z".into(),
                    base_url: None,
                },
            )
            .unwrap()
        }
    }

    /// Every file of the site (but the manifest) with its bytes.
    fn snapshot(out: &Path) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<String, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, into);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
                    if rel != MANIFEST {
                        into.insert(rel, std::fs::read(&p).unwrap());
                    }
                }
            }
        }
        let mut m = BTreeMap::new();
        walk(out, out, &mut m);
        m
    }

    /// The site a build from scratch makes of the same input.
    fn fresh(f: &Fixture) -> BTreeMap<String, Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        f.build(dir.path());
        snapshot(dir.path())
    }

    #[test]
    fn signatures_skip_unchanged_pages_and_catch_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let mut f = Fixture::new();
        let first = f.build(out);
        assert_eq!(first.unchanged, 0);
        let again = f.build(out);
        assert_eq!(again.written, 0, "{again:?}");

        // A risk change shows on the tool's page and on its neighbours'
        // (related links carry the risk badge): all of them are rewritten.
        f.tools[2].verdict.as_mut().unwrap().risk = Risk::Critical;
        let third = f.build(out);
        assert!(third.written > 3, "{third:?}");
        assert_eq!(snapshot(out), fresh(&f));

        // A page edited on disk (same size) or deleted is put right. (The
        // pause puts the edit past a coarse file-system clock tick.)
        std::thread::sleep(std::time::Duration::from_millis(50));
        let page = out.join("tools/srv/t1.html");
        let text = std::fs::read_to_string(&page).unwrap();
        std::fs::write(&page, text.replacen("t1", "tX", 1)).unwrap();
        std::fs::remove_file(out.join("tools/srv/t4.html")).unwrap();
        // A torn page (cut short) too.
        let torn = out.join("tools/srv/t5.html");
        let bytes = std::fs::read(&torn).unwrap();
        std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();
        let fourth = f.build(out);
        assert_eq!(
            fourth.written, 4,
            "three pages and the manifest: {fourth:?}"
        );
        assert_eq!(snapshot(out), fresh(&f));
        assert_eq!(f.build(out).written, 0);
    }

    #[test]
    fn a_manifest_without_signatures_still_writes_nothing_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let mut f = Fixture::new();
        f.build(out);
        // The manifest of an older build: paths only.
        let manifest = out.join(MANIFEST);
        let old = std::fs::read_to_string(&manifest).unwrap();
        let paths: String = old
            .lines()
            .map(|l| format!("{}\n", l.split('\t').next().unwrap()))
            .collect();
        std::fs::write(&manifest, paths).unwrap();
        let again = f.build(out);
        assert_eq!(again.written, 1, "only the manifest: {again:?}");
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), old);

        // Stale pages listed in it still go.
        f.tools.truncate(5);
        let after = f.build(out);
        assert_eq!(after.removed, 1);
        assert!(!out.join("tools/srv/t5.html").exists());
        assert_eq!(snapshot(out), fresh(&f));
    }

    #[test]
    fn a_lost_manifest_rewrites_nothing_that_is_right() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let f = Fixture::new();
        let first = f.build(out);
        std::fs::remove_file(out.join(MANIFEST)).unwrap();
        let again = f.build(out);
        assert_eq!(again.written, 1, "only the manifest: {again:?}");
        assert_eq!(again.unchanged, first.written - 1);
    }

    #[test]
    fn stamps_round_trip_through_the_manifest() {
        let s = Stamp {
            sig: 0xfeed_beef_0000_0001,
            size: 7068,
            ctime: 1_795_505_590,
            ctime_ns: 53_652_116,
        };
        let mut line = Vec::new();
        s.write_line(&mut line, "tools/a/b.html").unwrap();
        let line = String::from_utf8(line).unwrap();
        let (path, rest) = line.trim_end().split_once('\t').unwrap();
        assert_eq!(path, "tools/a/b.html");
        assert_eq!(Stamp::parse(rest), Some(s));
        assert_eq!(Stamp::parse("zz\t1\t2.3"), None);
        assert_eq!(Stamp::parse("1\t2\t3.4\t5"), None);
    }

    #[test]
    fn parallel_visits_every_item_once() {
        for n in [0, 1, 31, 32, 33, 1000, 1025] {
            let seen: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            parallel(n, |i| {
                seen[i].fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .unwrap();
            assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1), "{n}");
        }
    }

    #[test]
    fn templates_compile() {
        let env = environment();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }

    #[test]
    fn safe_rel_rejects_escapes() {
        assert!(safe_rel("tools/a/b.html"));
        for bad in [
            "",
            "../x",
            "a/../b",
            "/etc/passwd",
            "a//b",
            ".hidden",
            "a/.b",
            "a\\b",
            "a/b/",
        ] {
            assert!(!safe_rel(bad), "{bad}");
        }
    }
}
