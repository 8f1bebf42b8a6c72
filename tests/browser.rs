//! The site in a real browser: headless Debian Chromium opens pages from
//! disk (`file://`), runs their scripts (`--virtual-time-budget`) and dumps
//! the resulting DOM, which we parse with `scraper`. Nothing is downloaded:
//! no driver, no CDP client, only the `chromium` binary.
//!
//! Search, filters and sorting honour URL parameters (`?q=iscsi`,
//! `?risk=critical&kind=write`, `?sort=risk&order=desc`) through the same
//! code path as typing and clicking, so a DOM dump shows what a visitor sees.
//!
//! Needs `/usr/bin/chromium` (`apt-get install -y chromium`; `scripts/test`
//! installs it). Without it the test fails, unless
//! `MCP_CATALOGUE_SKIP_BROWSER=1`. `MCP_CATALOGUE_CHROMIUM` names another
//! binary. Screenshots go to `tests/artifacts/` (gitignored).

mod common;

use mcp_catalogue::model::{Category, Kind, Risk, Signal, ToolRecord, Verdict};
use mcp_catalogue::policy::Profile;
use mcp_catalogue::site::{self, Changes, SiteInput};
use mcp_catalogue::store::{ServerRow, StoredTool};
use scraper::{Html, Selector};
use serde_json::json;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MCP_CATALOGUE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The browser, or `None` when the run asked to skip browser tests.
fn browser() -> Option<Browser> {
    match chromium() {
        Some(bin) => Some(Browser {
            bin,
            profile: tempfile::tempdir().unwrap(),
        }),
        None if std::env::var("MCP_CATALOGUE_SKIP_BROWSER").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: no chromium and MCP_CATALOGUE_SKIP_BROWSER=1");
            None
        }
        None => panic!(
            "the browser test needs headless Chromium at /usr/bin/chromium: install it with \
             `apt-get install -y chromium` (scripts/test does), point MCP_CATALOGUE_CHROMIUM at \
             another build, or set MCP_CATALOGUE_SKIP_BROWSER=1 to skip this test"
        ),
    }
}

struct Browser {
    bin: PathBuf,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Run headless Chromium on `url` with extra arguments; stdout, stderr.
    fn run(&self, extra: &[String], url: &str) -> (String, String) {
        let mut child = Command::new(&self.bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--mute-audio",
                "--virtual-time-budget=3000",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", self.profile.path().display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let t_out = std::thread::spawn(move || {
            let mut s = String::new();
            out.read_to_string(&mut s).ok();
            s
        });
        let t_err = std::thread::spawn(move || {
            let mut s = String::new();
            err.read_to_string(&mut s).ok();
            s
        });
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if start.elapsed() > Duration::from_secs(120) {
                child.kill().ok();
                child.wait().ok();
                panic!("chromium did not finish within 120 s on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (out, err) = (t_out.join().unwrap(), t_err.join().unwrap());
        (out, err)
    }

    /// The DOM after the page's scripts ran.
    fn dom(&self, url: &str) -> Html {
        let (out, err) = self.run(&["--dump-dom".into()], url);
        assert!(
            out.contains("</html>"),
            "no DOM for {url}; chromium said:\n{err}"
        );
        let errors: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
            .collect();
        assert!(
            errors.is_empty(),
            "script errors on {url}:\n{}",
            errors.join("\n")
        );
        Html::parse_document(&out)
    }

    fn screenshot(&self, url: &str, png: &Path) {
        let _ = std::fs::remove_file(png);
        let (_, err) = self.run(
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1280,900".into(),
            ],
            url,
        );
        assert!(
            png.exists(),
            "no screenshot of {url}; chromium said:\n{err}"
        );
    }
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text(doc: &Html, css: &str) -> String {
    doc.select(&sel(css))
        .map(|e| e.text().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// The href of the first `css` link whose text is `label`, resolved against `page`.
fn follow(doc: &Html, css: &str, label: &str, page: &Path) -> PathBuf {
    let href = doc
        .select(&sel(css))
        .find(|a| a.text().collect::<String>() == label)
        .unwrap_or_else(|| panic!("no {css} link {label:?} on {}", page.display()))
        .value()
        .attr("href")
        .unwrap_or_else(|| panic!("link {label:?} has no href"))
        .to_string();
    assert!(
        !href.contains("://") && !href.starts_with('/'),
        "links stay relative: {href}"
    );
    let p = page
        .parent()
        .unwrap()
        .join(href.split(['?', '#']).next().unwrap());
    assert!(p.exists(), "{} (from {href}) missing", p.display());
    p
}

/// PNG width and height from the IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}

fn artifacts() -> PathBuf {
    let d = common::root().join("tests/artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `mcp-catalogue crawl` + `site` on the recorded TrueNAS server.
fn truenas_site(work: &Path) -> PathBuf {
    let bin = env!("CARGO_BIN_EXE_mcp-catalogue");
    let servers = work.join("servers.json");
    let cfg = json!({"mcpServers": {"truenas": {
        "command": "python3",
        "args": [common::replay().to_str().unwrap(), common::truenas_session().to_str().unwrap()],
        "expand": "truenas", "product": "TrueNAS"}}});
    std::fs::write(&servers, cfg.to_string()).unwrap();
    let db = work.join("catalogue.db");
    let out = work.join("site");
    for args in [vec!["crawl"], vec!["site", "--out", out.to_str().unwrap()]] {
        let o = Command::new(bin)
            .arg("--db")
            .arg(&db)
            .arg("--servers")
            .arg(&servers)
            .arg("--rules")
            .arg(common::root().join("rules"))
            .args(&args)
            .current_dir(work)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    out
}

#[test]
fn a_visitor_finds_servers_and_tools_from_disk() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = truenas_site(dir.path());
    let index = out.join("index.html");

    // The index, opened from disk: follow the server link.
    let doc = b.dom(&file_url(&index));
    assert!(text(&doc, "h1").contains("MCP catalogue"));
    let server = follow(&doc, "#servers a", "truenas", &index);
    let doc = b.dom(&file_url(&server));
    assert_eq!(text(&doc, "h1"), "truenas");
    let rows = doc.select(&sel("#tool-table tbody tr")).count();
    assert_eq!(rows, 279, "the umbrella tool and its 278 actions");
    // The filter script ran (it writes the count).
    assert_eq!(text(&doc, "form.filters .shown"), "279 of 279 shown");

    // Filters and sorting, through URL parameters (same code as the controls).
    let doc = b.dom(&format!("{}?risk=critical&kind=write", file_url(&server)));
    let shown: Vec<_> = doc
        .select(&sel("#tool-table tbody tr:not([hidden])"))
        .collect();
    assert!(!shown.is_empty());
    assert!(shown
        .iter()
        .all(|r| r.value().attr("data-risk") == Some("critical")
            && r.value().attr("data-kind") == Some("write")));
    assert_eq!(
        text(&doc, "form.filters .shown"),
        format!("{} of 279 shown", shown.len())
    );
    let doc = b.dom(&format!("{}?sort=risk&order=desc", file_url(&server)));
    let first = doc.select(&sel("#tool-table tbody tr")).next().unwrap();
    assert_eq!(
        first.value().attr("data-risk"),
        Some("critical"),
        "sorted by risk, highest first"
    );
    let last = doc.select(&sel("#tool-table tbody tr")).next_back().unwrap();
    assert_eq!(last.value().attr("data-risk"), Some("low"));

    // Search: `?q=iscsi` runs the same code as typing; follow the result.
    let url = format!("{}?q=iscsi", file_url(&index));
    let doc = b.dom(&url);
    let hits: Vec<String> = doc
        .select(&sel("#results li a"))
        .map(|a| a.text().collect())
        .collect();
    assert!(hits.contains(&"iscsi_sessions".to_string()), "{hits:?}");
    let items: Vec<String> = doc
        .select(&sel("#results li"))
        .map(|li| li.text().collect::<String>().to_lowercase())
        .collect();
    assert!(
        items.iter().all(|t| t.contains("iscsi")),
        "every result matches: {items:?}"
    );
    let by_name = hits.iter().take_while(|h| h.contains("iscsi")).count();
    assert_eq!(
        by_name,
        hits.iter().filter(|h| h.contains("iscsi")).count(),
        "name matches rank first: {hits:?}"
    );
    assert!(text(&doc, "#search-status").contains("match"));
    let tool = follow(&doc, "#results li a", "iscsi_sessions", &index);
    let doc = b.dom(&file_url(&tool));
    assert_eq!(text(&doc, "h1"), "iscsi_sessions");
    assert_eq!(text(&doc, "#kind"), "Read");
    assert!(text(&doc, "#risk").contains("Low"));
    assert!(doc
        .root_element()
        .text()
        .collect::<String>()
        .contains(r#"{"iscsi_sessions": {}}"#));
    // The copy buttons were enabled by the script.
    assert!(
        doc.select(&sel(".snippet button.copy:not([hidden])"))
            .count()
            >= 1
    );

    // Screenshots for a person to look at, and a sanity check on them.
    let shots = artifacts();
    for (name, url) in [
        ("browser-search.png", url.clone()),
        ("browser-tool.png", file_url(&tool)),
        ("browser-server.png", file_url(&server)),
    ] {
        let png = shots.join(name);
        b.screenshot(&url, &png);
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.len() > 20_000, "{name} is only {} bytes", bytes.len());
        assert_eq!(png_size(&bytes), (1280, 900), "{name}");
    }

    // The README's picture of a tool page: a critical action, its verdict
    // and the policy rule to paste (docs/tool-page.png).
    let wipe = find_page(&out.join("tools"), "disk_wipe.html").expect("a page for disk_wipe");
    let doc = b.dom(&file_url(&wipe));
    assert_eq!(text(&doc, "h1"), "disk_wipe");
    assert!(text(&doc, "#risk").contains("Critical"));
    let png = common::root().join("docs/tool-page.png");
    b.screenshot(&file_url(&wipe), &png);
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), (1280, 900));
}

fn find_page(dir: &Path, file: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_page(&p, file) {
                return Some(f);
            }
        } else if p.file_name().and_then(|n| n.to_str()) == Some(file) {
            return Some(p);
        }
    }
    None
}

// ------------------------------------------------------------ hostile data

fn hostile_tool(id: i64, name: &str, description: &str) -> StoredTool {
    let record = ToolRecord::from_raw(
        "evil",
        json!({"name": name, "description": description, "inputSchema": {"type": "object"}}),
    );
    StoredTool {
        id,
        hash: record.hash(),
        record,
        status: "active".into(),
        first_seen: "2026-11-24T10:00:00Z".into(),
        last_seen: "2026-11-24T10:00:00Z".into(),
        versions: 1,
        acked_hash: None,
        verdict: Some(Verdict {
            kind: Kind::Write,
            category: Category::Execute,
            risk: Risk::High,
            signals: vec![Signal {
                name: "suspicious-description".into(),
                evidence: description.to_string(),
            }],
            reasons: vec![],
            confidence: 0.5,
            rules_hash: "r".into(),
            inferred: Default::default(),
            effective: Default::default(),
        }),
    }
}

/// If any server text became markup, its handler would retitle the page.
const PWN: &str = r#"pwned <img src=x onerror="document.title='PWNED'"><script>document.title='PWNED'</script></script><svg onload="document.title='PWNED'">"#;

#[test]
fn hostile_text_stays_inert_in_a_real_browser() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let tools = vec![
        hostile_tool(1, "pwned_tool", PWN),
        hostile_tool(
            2,
            r#"pwned"><img src=x onerror="document.title='PWNED'">"#,
            "name attack",
        ),
    ];
    let servers = vec![ServerRow {
        name: "evil".into(),
        product: Some(PWN.into()),
        spec: json!({}),
        last_run: None,
        last_outcome: Some("failed".into()),
        last_phase: None,
        last_error: Some(PWN.into()),
        last_time: None,
        last_seconds: None,
        tools: 2,
        protocol_version: None,
        server_info: None,
        last_good: None,
    }];
    let versions = HashMap::new();
    let changes = Changes::default();
    let profile = Profile::default();
    let input = SiteInput {
        servers: &servers,
        tools: &tools,
        schemas: None,
        versions: &versions,
        changes: &changes,
        profile: &profile,
        generated_at: String::new(),
        base_url: None,
    };
    site::build(&out, &input).unwrap();

    let index = out.join("index.html");
    let server = follow(
        &Html::parse_document(&std::fs::read_to_string(&index).unwrap()),
        "#servers a",
        "evil",
        &index,
    );
    let search = format!("{}?q=pwned", file_url(&index));
    let doc = b.dom(&search);
    assert_eq!(
        doc.select(&sel("#results li")).count(),
        2,
        "both tools found"
    );
    assert!(
        text(&doc, "#results").contains("onerror"),
        "the payload is shown as text"
    );
    for url in [search, file_url(&server)] {
        let doc = b.dom(&url);
        assert_ne!(text(&doc, "title"), "PWNED", "script ran on {url}");
        assert_eq!(doc.select(&sel("main img, main svg")).count(), 0, "{url}");
    }
    for f in std::fs::read_dir(out.join("tools"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
    {
        let p = f.unwrap().path();
        let doc = b.dom(&file_url(&p));
        assert_ne!(
            text(&doc, "title"),
            "PWNED",
            "script ran on {}",
            p.display()
        );
        assert_eq!(
            doc.select(&sel("main img, main svg")).count(),
            0,
            "{}",
            p.display()
        );
        assert!(text(&doc, ".warning").contains("Suspicious description"));
    }
}
