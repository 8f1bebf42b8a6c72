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
//! changed (temp file + rename), so an unchanged re-run writes nothing; a
//! manifest of the files we wrote lets the next run delete pages of tools
//! that disappeared, and nothing else. This stage never reads the store or
//! touches the network.

pub mod slug;

mod view;

use crate::history;
use crate::store::{ServerRow, StoredTool};
pub use history::{ChangeItem, Changes, FieldDiff};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Everything the site shows. The lead's `site` command fills it from the
/// store.
pub struct SiteInput<'a> {
    pub servers: &'a [ServerRow],
    /// Active tools, each with its verdict (`Some` after classification).
    pub tools: &'a [StoredTool],
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
pub fn build(out: &Path, input: &SiteInput) -> Result<SiteStats, SiteError> {
    let env = environment();
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

    parallel(model.order.len(), |k| {
        let i = model.order[k];
        let page = model.tool_page(i);
        let html = tool_t
            .render(&page)
            .map_err(|e| tmpl_err(&model.tool_url[i], e))?;
        writer.put(&model.tool_url[i], html.as_bytes())
    })?;
    parallel(model.servers.len(), |k| {
        let page = model.server_page(k);
        let url = &model.servers[k].url;
        let html = server_t.render(&page).map_err(|e| tmpl_err(url, e))?;
        writer.put(url, html.as_bytes())
    })?;

    let render = |name: &str, ctx: minijinja::Value| -> Result<String, SiteError> {
        let t = env.get_template(name).map_err(|e| tmpl_err(name, e))?;
        t.render(ctx).map_err(|e| tmpl_err(name, e))
    };
    writer.put(
        "index.html",
        render(
            "index.html",
            minijinja::Value::from_serialize(model.index_page()),
        )?
        .as_bytes(),
    )?;
    writer.put(
        "changes.html",
        render(
            "changes.html",
            minijinja::Value::from_serialize(model.changes_page()),
        )?
        .as_bytes(),
    )?;
    for (name, text) in ASSETS {
        writer.put(name, text.as_bytes())?;
    }
    let json = model.search_index_json();
    writer.put("search-index.json", json.as_bytes())?;
    let js = format!("window.MCP_CATALOGUE_INDEX = {json};\n");
    writer.put("search-index.js", js.as_bytes())?;

    // Sitemap: relative URLs unless a base URL is given; split past 50,000.
    let urls = model.sitemap_urls(input.base_url.as_deref());
    if urls.len() <= SITEMAP_MAX {
        writer.put(
            "sitemap.xml",
            render("sitemap.xml", minijinja::context! { urls })?.as_bytes(),
        )?;
    } else {
        let mut parts = Vec::new();
        for (n, chunk) in urls.chunks(SITEMAP_MAX).enumerate() {
            let name = format!("sitemap-{}.xml", n + 1);
            writer.put(
                &name,
                render("sitemap.xml", minijinja::context! { urls => chunk })?.as_bytes(),
            )?;
            parts.push(view::absolute(input.base_url.as_deref(), &name));
        }
        writer.put(
            "sitemap.xml",
            render("sitemap-index.xml", minijinja::context! { urls => parts })?.as_bytes(),
        )?;
    }

    let removed = writer.finish()?;
    Ok(SiteStats {
        pages: model.order.len() + model.servers.len() + 2,
        written: writer.written.load(Ordering::Relaxed),
        unchanged: writer.unchanged.load(Ordering::Relaxed),
        removed,
    })
}

fn tmpl_err(page: &str, source: minijinja::Error) -> SiteError {
    SiteError::Template {
        page: page.to_string(),
        source,
    }
}

/// Run `f(0..n)` on all cores, stopping at the first error.
fn parallel<F>(n: usize, f: F) -> Result<(), SiteError>
where
    F: Fn(usize) -> Result<(), SiteError> + Sync,
{
    const CHUNK: usize = 32;
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 16)
        .min(n.div_ceil(CHUNK).max(1));
    if threads <= 1 {
        return (0..n).try_for_each(f);
    }
    let next = AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                if start >= n {
                    return;
                }
                for i in start..(start + CHUNK).min(n) {
                    if let Err(e) = f(i) {
                        next.store(n, Ordering::Relaxed);
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

/// Writes files under the site root: only when changed, atomically, and
/// only at checked relative paths.
struct Writer {
    root: PathBuf,
    written: AtomicUsize,
    unchanged: AtomicUsize,
    files: std::sync::Mutex<BTreeSet<String>>,
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

impl Writer {
    fn new(out: &Path) -> Result<Writer, SiteError> {
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        Ok(Writer {
            root: out.to_path_buf(),
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            files: Default::default(),
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
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
                Err(SiteError::UnsafePath(rel.to_string()))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir(&p).map_err(io_err(&p))
            }
            Err(e) => Err(io_err(&p)(e)),
        }
    }

    fn put(&self, rel: &str, content: &[u8]) -> Result<(), SiteError> {
        let p = self.path(rel)?;
        let changed = write_if_changed(&p, content).map_err(io_err(&p))?;
        if changed {
            self.written.fetch_add(1, Ordering::Relaxed);
        } else {
            self.unchanged.fetch_add(1, Ordering::Relaxed);
        }
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rel.to_string());
        Ok(())
    }

    /// Delete files the previous build wrote and this one did not, then
    /// record this build's files. Returns how many were deleted.
    fn finish(&self) -> Result<usize, SiteError> {
        let files = std::mem::take(&mut *self.files.lock().unwrap_or_else(|p| p.into_inner()));
        let manifest = self.root.join(MANIFEST);
        let old = std::fs::read_to_string(&manifest).unwrap_or_default();
        let mut removed = 0;
        let mut dirs = BTreeSet::new();
        for rel in old.lines() {
            if files.contains(rel) || !safe_rel(rel) {
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
        for d in dirs {
            // Only empty directories go; errors (not empty) are fine.
            if d.starts_with("tools/") {
                let _ = std::fs::remove_dir(self.root.join(&d));
            }
        }
        let mut list = String::new();
        for f in &files {
            list.push_str(f);
            list.push('\n');
        }
        if write_if_changed(&manifest, list.as_bytes()).map_err(io_err(&manifest))? {
            self.written.fetch_add(1, Ordering::Relaxed);
        }
        Ok(removed)
    }
}

/// Write `content` to `path` unless the file already holds exactly it
/// (size compared first, then bytes). Writes a temp file beside it and
/// renames, so readers never see half a page. Returns whether it wrote.
pub fn write_if_changed(path: &Path, content: &[u8]) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.len() == content.len() as u64 => {
            if std::fs::read(path)? == content {
                return Ok(false);
            }
        }
        Ok(m) if m.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a directory is in the way",
            ));
        }
        _ => {}
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("page");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, content).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

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
