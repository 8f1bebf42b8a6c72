//! The store: `catalogue.db` (SQLite, WAL), with history.
//!
//! Every crawl is a run; every tool definition version is kept by its hash;
//! verdicts are stored per tool. A run's writes commit in one transaction
//! (with a savepoint per server), so a killed run leaves the database as it
//! was before it. A failed server's tools are never touched. Never stores a
//! secret: servers are kept in their redacted form.

use crate::model::{ServerSpec, ToolRecord, Verdict};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Bumped whenever the schema changes; `open` migrates older files.
pub const SCHEMA_VERSION: i64 = 1;
const APP_ID: &str = "mcp-catalogue";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path} is not an mcp-catalogue database (refusing to touch it)")]
    Foreign { path: PathBuf },
    #[error("{path} has schema version {found}, newer than this mcp-catalogue understands ({SCHEMA_VERSION}); upgrade mcp-catalogue (the file was left untouched)")]
    Newer { path: PathBuf, found: i64 },
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// One server's result in a run, as the crawl hands it to the store.
#[derive(Debug, Clone)]
pub struct ServerResult {
    pub spec: ServerSpec,
    pub ok: bool,
    pub phase: Option<String>,
    pub error: Option<String>,
    pub stderr_tail: Vec<String>,
    pub warnings: Vec<String>,
    pub seconds: f64,
    pub protocol_version: Option<String>,
    pub server_info: Option<Value>,
    pub transport: Option<String>,
    pub tools: Vec<ToolRecord>,
}

/// What one run changed, per server that succeeded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub run: i64,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
}

/// A current (or removed) tool with its latest definition and verdict.
#[derive(Debug, Clone)]
pub struct StoredTool {
    pub id: i64,
    pub record: ToolRecord,
    pub hash: String,
    pub status: String,
    pub first_seen: String,
    pub last_seen: String,
    pub versions: i64,
    pub acked_hash: Option<String>,
    pub verdict: Option<Verdict>,
}

impl StoredTool {
    /// The definition changed after it was first catalogued and nobody has
    /// acknowledged the new version yet (rug-pull signal).
    pub fn definition_changed(&self) -> bool {
        self.versions > 1 && self.acked_hash.as_deref() != Some(self.hash.as_str())
    }
}

/// What re-classification needs of a stored tool.
#[derive(Debug, Clone)]
pub struct ClassifyInput {
    pub id: i64,
    /// The current definition as stored (a `ToolRecord` without raw JSON).
    pub record_json: String,
    pub hash: String,
    pub versions: i64,
    pub definition_changed: bool,
}

impl ClassifyInput {
    pub fn record(&self) -> Result<ToolRecord> {
        serde_json::from_str(&self.record_json).map_err(|e| StoreError::Other(format!("tool {}: stored record unreadable: {e}", self.id)))
    }
}

/// A verdict ready to store: serialised (without its rules hash) and signed,
/// so the work can happen on the classifying threads.
#[derive(Debug, Clone)]
pub struct VerdictRow {
    pub id: i64,
    pub hash: String,
    /// Borrowed from the loaded rules: no copy per row.
    pub rules_hash: String,
    pub kind: &'static str,
    pub category: &'static str,
    pub risk: &'static str,
    pub json: String,
    pub sig: i64,
}

impl VerdictRow {
    pub fn new(id: i64, hash: String, v: &Verdict) -> VerdictRow {
        let json = serde_json::to_string(&LeanVerdict(v)).unwrap_or_default();
        VerdictRow {
            id,
            hash,
            rules_hash: v.rules_hash.clone(),
            kind: v.kind.as_str(),
            category: v.category.as_str(),
            risk: v.risk.as_str(),
            sig: fnv1a(json.as_bytes()),
            json,
        }
    }
}

/// See [`Store::verdict_writer`].
pub struct VerdictWriter<'a> {
    tx: rusqlite::Transaction<'a>,
    /// Stored (hash, signature) per tool: unchanged verdicts are skipped.
    old: HashMap<i64, (String, i64)>,
    rules_hashes: std::collections::HashSet<String>,
    written: usize,
    path: PathBuf,
}

impl VerdictWriter<'_> {
    pub fn write(&mut self, rows: &[VerdictRow]) -> Result<()> {
        let sq = |source| StoreError::Sqlite { path: self.path.clone(), source };
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT OR REPLACE INTO verdicts(tool_id, hash, rules_hash, kind, category, risk, verdict_json, sig)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(sq)?;
        for r in rows {
            if !self.rules_hashes.contains(&r.rules_hash) {
                self.rules_hashes.insert(r.rules_hash.clone());
            }
            if self.old.get(&r.id).is_some_and(|(h, s)| *h == r.hash && *s == r.sig) {
                continue;
            }
            stmt.execute(params![r.id, r.hash, r.rules_hash, r.kind, r.category, r.risk, r.json, r.sig])
                .map_err(sq)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Commit; returns how many verdict rows were written.
    pub fn finish(self) -> Result<usize> {
        let VerdictWriter { tx, rules_hashes, written, path, .. } = self;
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        // One rules hash for the whole catalogue (a full classification)
        // is kept once, in meta, instead of rewriting every row whose
        // verdict came out the same: after a rules edit that changes few
        // verdicts, only those rows are written. Reads prefer it.
        match (rules_hashes.len(), rules_hashes.iter().next()) {
            (1, Some(h)) => tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('verdict_rules', ?1)", [h]),
            _ => tx.execute("DELETE FROM meta WHERE key = 'verdict_rules'", []),
        }
        .map_err(sq)?;
        tx.commit().map_err(sq)?;
        Ok(written)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerRow {
    pub name: String,
    pub product: Option<String>,
    pub spec: Value,
    pub last_run: Option<i64>,
    pub last_outcome: Option<String>,
    pub last_phase: Option<String>,
    pub last_error: Option<String>,
    pub last_time: Option<String>,
    pub last_seconds: Option<f64>,
    pub tools: i64,
    pub protocol_version: Option<String>,
    pub server_info: Option<Value>,
    pub last_good: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub run: i64,
    pub time: String,
    pub server: String,
    pub tool: String,
    pub tool_id: i64,
    pub event: String,
    pub old_hash: Option<String>,
    pub new_hash: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub started: String,
    pub finished: Option<String>,
    pub command: String,
}

pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE servers (
    name TEXT PRIMARY KEY, product TEXT, spec_json TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, command TEXT NOT NULL);
CREATE TABLE run_servers (
    run_id INTEGER NOT NULL REFERENCES runs(id), server TEXT NOT NULL,
    outcome TEXT NOT NULL, phase TEXT, error TEXT, stderr_tail TEXT, warnings_json TEXT,
    tool_count INTEGER NOT NULL, seconds REAL NOT NULL, protocol_version TEXT,
    server_info_json TEXT, transport TEXT,
    PRIMARY KEY (run_id, server));
CREATE TABLE tools (
    id INTEGER PRIMARY KEY, server TEXT NOT NULL, name TEXT NOT NULL, parent TEXT,
    status TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    first_run INTEGER NOT NULL, last_run INTEGER NOT NULL, removed_run INTEGER,
    current_hash TEXT NOT NULL, acked_hash TEXT, versions INTEGER NOT NULL DEFAULT 1,
    UNIQUE (server, name));
CREATE TABLE tool_versions (
    tool_id INTEGER NOT NULL REFERENCES tools(id), hash TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, first_run INTEGER NOT NULL,
    record_json TEXT NOT NULL, raw_json TEXT NOT NULL,
    PRIMARY KEY (tool_id, hash));
CREATE TABLE events (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, tool_id INTEGER NOT NULL,
    event TEXT NOT NULL, old_hash TEXT, new_hash TEXT);
CREATE INDEX events_run ON events(run_id);
CREATE TABLE verdicts (
    tool_id INTEGER PRIMARY KEY REFERENCES tools(id), hash TEXT NOT NULL,
    rules_hash TEXT NOT NULL, kind TEXT NOT NULL, category TEXT NOT NULL,
    risk TEXT NOT NULL, verdict_json TEXT NOT NULL, sig INTEGER NOT NULL);
"#];

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Store {
    /// Open (creating if missing) and migrate. Refuses files that are not
    /// ours or are newer than we understand, without writing to them.
    pub fn open(path: &Path) -> Result<Store> {
        let existed = path.exists() && std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
        let sq = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(sq)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sq)?;
        if existed {
            // Read-only checks first: a foreign file must be left untouched.
            let has_meta: bool = conn
                .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", [], |r| r.get::<_, i64>(0))
                .map(|n| n > 0)
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                        StoreError::Foreign { path: path.to_path_buf() }
                    }
                    other => sq(other),
                })?;
            let app: Option<String> = if has_meta {
                conn.query_row("SELECT value FROM meta WHERE key='app'", [], |r| r.get(0)).optional().map_err(sq)?
            } else {
                None
            };
            let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(sq)?;
            if app.as_deref() != Some(APP_ID) && tables > 0 {
                return Err(StoreError::Foreign { path: path.to_path_buf() });
            }
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sq)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sq)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(sq)?;
        let mut store = Store { conn, path: path.to_path_buf() };
        store.migrate()?;
        Ok(store)
    }

    fn sq(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    fn migrate(&mut self) -> Result<()> {
        let has_meta: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", [], |r| r.get(0))
            .map_err(|e| self.sq(e))?;
        let version: i64 = if has_meta > 0 {
            self.conn
                .query_row("SELECT value FROM meta WHERE key='schema_version'", [], |r| r.get::<_, String>(0))
                .optional()
                .map_err(|e| self.sq(e))?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        } else {
            0
        };
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer { path: self.path.clone(), found: version });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| StoreError::Sqlite { path: path.clone(), source: e })?;
        for m in &MIGRATIONS[version as usize..] {
            tx.execute_batch(m).map_err(|e| StoreError::Sqlite { path: path.clone(), source: e })?;
        }
        tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('app', ?1)", [APP_ID])
            .and_then(|_| {
                tx.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )
            })
            .map_err(|e| StoreError::Sqlite { path: path.clone(), source: e })?;
        tx.commit().map_err(|e| StoreError::Sqlite { path, source: e })?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record a whole run atomically: one transaction, a savepoint per
    /// server so one server's bad data cannot spoil the others.
    pub fn record_run(&mut self, command: &str, started: &str, results: &[ServerResult]) -> Result<(RunSummary, Vec<(String, String)>)> {
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        let finished = now();
        let mut tx = self.conn.transaction().map_err(sq)?;
        tx.execute("INSERT INTO runs(started, finished, command) VALUES (?1, ?2, ?3)", params![started, finished, command])
            .map_err(sq)?;
        let run = tx.last_insert_rowid();
        let mut summary = RunSummary { run, ..Default::default() };
        let mut failures = Vec::new();
        for r in results {
            let sp = tx.savepoint().map_err(sq)?;
            match write_server(&sp, run, &finished, r, &mut summary) {
                Ok(()) => sp.commit().map_err(sq)?,
                Err(e) => {
                    drop(sp); // rolls back this server only
                    failures.push((r.spec.name.clone(), e.to_string()));
                    let _ = tx.execute(
                        "INSERT OR REPLACE INTO run_servers(run_id, server, outcome, phase, error, tool_count, seconds)
                         VALUES (?1, ?2, 'failed', 'store', ?3, 0, ?4)",
                        params![run, r.spec.name, e.to_string(), r.seconds],
                    );
                }
            }
        }
        tx.commit().map_err(sq)?;
        self.fold_wal();
        Ok((summary, failures))
    }

    /// Copy the write-ahead log into the database file and empty it, unless
    /// another connection is reading (it never waits for one). After a bulk
    /// write (a crawl, a full re-classification) the log holds every page
    /// written, and until it is emptied each later read looks pages up in it
    /// even once they are copied: loading 100k definitions after a crawl's
    /// write took 0.25 s instead of 0.14 s (measured). A log left behind is
    /// still correct, only slower, and is emptied on a later call or close.
    pub fn fold_wal(&self) {
        let _ = self.conn.busy_timeout(std::time::Duration::ZERO);
        match self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)) {
            Ok(0) => {}
            Ok(_) => tracing::debug!("{}: write-ahead log left for later (another connection is reading)", self.path.display()),
            Err(e) => tracing::warn!("{}: write-ahead log left for later: {e}", self.path.display()),
        }
        let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
    }

    /// All tools (active only unless `include_removed`), ordered by server, name.
    pub fn tools(&self, include_removed: bool) -> Result<Vec<StoredTool>> {
        let mut out = Vec::new();
        self.for_each_tool(include_removed, |t| {
            out.push(t);
            Ok(())
        })?;
        Ok(out)
    }

    /// Like `tools`, one at a time, without holding the catalogue in memory.
    pub fn for_each_tool(&self, include_removed: bool, mut f: impl FnMut(StoredTool) -> Result<()>) -> Result<()> {
        self.scan_tools(include_removed, false, |t, _| f(t))
    }

    /// Active tools with `input_schema` left `Null`, and each schema as JSON
    /// text (same order). Parsed schemas are most of a loaded catalogue's
    /// memory (about 14 times their text); the site parses one per page.
    pub fn tools_without_schemas(&self) -> Result<(Vec<StoredTool>, Vec<Box<RawValue>>)> {
        let (mut tools, mut schemas) = (Vec::new(), Vec::new());
        self.scan_tools(false, true, |t, s| {
            tools.push(t);
            schemas.push(s.unwrap_or_else(|| RawValue::from_string("null".into()).expect("valid JSON")));
            Ok(())
        })?;
        Ok((tools, schemas))
    }

    fn scan_tools(
        &self,
        include_removed: bool,
        schema_as_text: bool,
        mut f: impl FnMut(StoredTool, Option<Box<RawValue>>) -> Result<()>,
    ) -> Result<()> {
        let sql = format!(
            "SELECT t.id, t.status, t.first_seen, t.last_seen, t.current_hash, t.acked_hash, v.record_json,
                    t.versions, d.verdict_json,
                    CASE WHEN t.status = 'active'
                         THEN COALESCE((SELECT value FROM meta WHERE key = 'verdict_rules'), d.rules_hash)
                         ELSE d.rules_hash END
             FROM tools t JOIN tool_versions v ON v.tool_id = t.id AND v.hash = t.current_hash
             LEFT JOIN verdicts d ON d.tool_id = t.id AND d.hash = t.current_hash
             {} ORDER BY t.server, t.name",
            if include_removed { "" } else { "WHERE t.status = 'active'" }
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.sq(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(|e| self.sq(e))?;
        
        for row in rows {
            let (id, status, first_seen, last_seen, hash, acked_hash, record_json, versions, verdict_json, rules_hash) =
                row.map_err(|e| self.sq(e))?;
            let unreadable = |e: serde_json::Error| {
                StoreError::Other(format!("{}: tool {id}: stored record unreadable: {e}", self.path.display()))
            };
            let (record, schema) = if schema_as_text {
                let lean: LeanIn = serde_json::from_str(&record_json).map_err(unreadable)?;
                let (record, schema) = lean.split();
                (record, Some(schema))
            } else {
                (serde_json::from_str::<ToolRecord>(&record_json).map_err(unreadable)?, None)
            };
            let verdict = verdict_json.and_then(|j| serde_json::from_str::<Verdict>(&j).ok()).map(|mut v| {
                v.rules_hash = rules_hash.unwrap_or_default();
                v
            });
            f(StoredTool { id, record, hash, status, first_seen, last_seen, versions, acked_hash, verdict }, schema)?;
        }
        Ok(())
    }

    /// Every stored version of one tool, oldest first: (hash, first_seen, record).
    pub fn versions(&self, tool_id: i64) -> Result<Vec<(String, String, ToolRecord)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash, first_seen, record_json, raw_json FROM tool_versions WHERE tool_id = ?1 ORDER BY first_run, first_seen")
            .map_err(|e| self.sq(e))?;
        let rows = stmt
            .query_map([tool_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))
            .map_err(|e| self.sq(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (h, t, j, raw) = row.map_err(|e| self.sq(e))?;
            if let Some(rec) = with_raw(&j, &raw) {
                out.push((h, t, rec));
            }
        }
        Ok(out)
    }

    /// The definition with this hash (any tool), if stored.
    pub fn version_record(&self, tool_id: i64, hash: &str) -> Result<Option<ToolRecord>> {
        let j: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT record_json, raw_json FROM tool_versions WHERE tool_id = ?1 AND hash = ?2",
                params![tool_id, hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sq(e))?;
        Ok(j.and_then(|(j, raw)| with_raw(&j, &raw)))
    }

    /// Store verdicts of current definitions, in one transaction. The rules
    /// hash lives in its own column, so after a rules edit only the verdicts
    /// that really changed are rewritten.
    pub fn save_verdicts(&mut self, rows: &[VerdictRow]) -> Result<()> {
        let mut w = self.verdict_writer()?;
        w.write(rows)?;
        w.finish()?;
        Ok(())
    }

    /// A transaction that takes verdicts in batches (so they can be written
    /// while others are still being classified) and commits on `finish`.
    pub fn verdict_writer(&mut self) -> Result<VerdictWriter<'_>> {
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        let mut old: HashMap<i64, (String, i64)> = HashMap::new();
        {
            let mut stmt = self.conn.prepare("SELECT tool_id, hash, sig FROM verdicts").map_err(sq)?;
            let it = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?)))).map_err(sq)?;
            for row in it {
                let (id, v) = row.map_err(sq)?;
                old.insert(id, v);
            }
        }
        let tx = self.conn.transaction().map_err(sq)?;
        Ok(VerdictWriter { tx, old, rules_hashes: Default::default(), written: 0, path })
    }

    /// Current definitions for re-classification, still as stored JSON
    /// (without the raw tool JSON), so callers can parse them in parallel.
    pub fn classify_inputs(&self) -> Result<Vec<ClassifyInput>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.current_hash, t.acked_hash, v.record_json, t.versions
                 FROM tools t JOIN tool_versions v ON v.tool_id = t.id AND v.hash = t.current_hash
                 WHERE t.status = 'active'",
            )
            .map_err(|e| self.sq(e))?;
        let rows = stmt
            .query_map([], |r| {
                let (hash, acked, versions): (String, Option<String>, i64) = (r.get(1)?, r.get(2)?, r.get(4)?);
                Ok(ClassifyInput {
                    id: r.get(0)?,
                    definition_changed: versions > 1 && acked.as_deref() != Some(hash.as_str()),
                    hash,
                    record_json: r.get(3)?,
                    versions,
                })
            })
            .map_err(|e| self.sq(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }

    pub fn servers(&self) -> Result<Vec<ServerRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, s.product, s.spec_json,
                        rs.run_id, rs.outcome, rs.phase, rs.error, r.finished, rs.seconds, rs.protocol_version, rs.server_info_json,
                        (SELECT count(*) FROM tools t WHERE t.server = s.name AND t.status = 'active'),
                        (SELECT max(r2.finished) FROM run_servers rs2 JOIN runs r2 ON r2.id = rs2.run_id
                          WHERE rs2.server = s.name AND rs2.outcome = 'ok')
                 FROM servers s
                 LEFT JOIN run_servers rs ON rs.server = s.name
                      AND rs.run_id = (SELECT max(run_id) FROM run_servers WHERE server = s.name)
                 LEFT JOIN runs r ON r.id = rs.run_id
                 ORDER BY s.name",
            )
            .map_err(|e| self.sq(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ServerRow {
                    name: r.get(0)?,
                    product: r.get(1)?,
                    spec: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or(Value::Null),
                    last_run: r.get(3)?,
                    last_outcome: r.get(4)?,
                    last_phase: r.get(5)?,
                    last_error: r.get(6)?,
                    last_time: r.get(7)?,
                    last_seconds: r.get(8)?,
                    protocol_version: r.get(9)?,
                    server_info: r.get::<_, Option<String>>(10)?.and_then(|s| serde_json::from_str(&s).ok()),
                    tools: r.get(11)?,
                    last_good: r.get(12)?,
                })
            })
            .map_err(|e| self.sq(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }

    pub fn runs(&self) -> Result<Vec<RunRow>> {
        let mut stmt = self.conn.prepare("SELECT id, started, finished, command FROM runs ORDER BY id").map_err(|e| self.sq(e))?;
        let rows = stmt
            .query_map([], |r| Ok(RunRow { id: r.get(0)?, started: r.get(1)?, finished: r.get(2)?, command: r.get(3)? }))
            .map_err(|e| self.sq(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }

    /// Events of runs after `since_run` (exclusive), oldest first.
    pub fn events_since(&self, since_run: i64) -> Result<Vec<Event>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.run_id, r.finished, t.server, t.name, t.id, e.event, e.old_hash, e.new_hash
                 FROM events e JOIN tools t ON t.id = e.tool_id JOIN runs r ON r.id = e.run_id
                 WHERE e.run_id > ?1 ORDER BY e.run_id, t.server, t.name",
            )
            .map_err(|e| self.sq(e))?;
        let rows = stmt
            .query_map([since_run], |r| {
                Ok(Event {
                    run: r.get(0)?,
                    time: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    server: r.get(2)?,
                    tool: r.get(3)?,
                    tool_id: r.get(4)?,
                    event: r.get(5)?,
                    old_hash: r.get(6)?,
                    new_hash: r.get(7)?,
                })
            })
            .map_err(|e| self.sq(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }

    /// Acknowledge tools' current definitions (clears `definition-changed`).
    /// `server`/`tool` None = all. Returns how many were acknowledged.
    pub fn ack(&mut self, server: Option<&str>, tool: Option<&str>, run: Option<i64>) -> Result<usize> {
        let n = match run {
            Some(run) => self.conn.execute(
                "UPDATE tools SET acked_hash = current_hash WHERE id IN
                   (SELECT tool_id FROM events WHERE run_id = ?1) AND (?2 IS NULL OR server = ?2)
                   AND (acked_hash IS NULL OR acked_hash != current_hash)",
                params![run, server],
            ),
            None => self.conn.execute(
                "UPDATE tools SET acked_hash = current_hash WHERE (?1 IS NULL OR server = ?1) AND (?2 IS NULL OR name = ?2)
                   AND (acked_hash IS NULL OR acked_hash != current_hash)",
                params![server, tool],
            ),
        }
        .map_err(|e| self.sq(e))?;
        Ok(n)
    }

    /// Tool ids with a given name (optionally on one server).
    pub fn find_tool(&self, name: &str, server: Option<&str>) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, server FROM tools WHERE name = ?1 AND (?2 IS NULL OR server = ?2) ORDER BY server")
            .map_err(|e| self.sq(e))?;
        let rows = stmt.query_map(params![name, server], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.sq(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }

    pub fn integrity_check(&self) -> Result<String> {
        self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| self.sq(e))
    }

    pub fn last_run(&self) -> Result<Option<i64>> {
        self.conn.query_row("SELECT max(id) FROM runs", [], |r| r.get(0)).map_err(|e| self.sq(e))
    }

    /// The last run that finished at or before `date` (RFC 3339 prefix compare).
    pub fn run_before(&self, date: &str) -> Result<i64> {
        let r: Option<i64> = self
            .conn
            .query_row("SELECT max(id) FROM runs WHERE started < ?1", [date], |r| r.get(0))
            .map_err(|e| self.sq(e))?;
        Ok(r.unwrap_or(0))
    }

    /// Low-level access for `merge` and benchmarks.
    pub fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// A verdict serialised without its rules hash (kept in its own column), so
/// a rules edit that changes no verdict rewrites no row.
struct LeanVerdict<'a>(&'a Verdict);

impl Serialize for LeanVerdict<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let v = self.0;
        let mut st = s.serialize_struct("Verdict", 9)?;
        st.serialize_field("kind", &v.kind)?;
        st.serialize_field("category", &v.category)?;
        st.serialize_field("risk", &v.risk)?;
        st.serialize_field("signals", &v.signals)?;
        st.serialize_field("reasons", &v.reasons)?;
        st.serialize_field("confidence", &v.confidence)?;
        st.serialize_field("rules_hash", "")?;
        st.serialize_field("inferred", &v.inferred)?;
        st.serialize_field("effective", &v.effective)?;
        st.end()
    }
}

/// FNV-1a, 64-bit: a stable signature of a verdict's JSON.
fn fnv1a(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// A stored record with its raw JSON put back.
fn with_raw(record_json: &str, raw_json: &str) -> Option<ToolRecord> {
    let mut rec: ToolRecord = serde_json::from_str(record_json).ok()?;
    rec.raw = serde_json::from_str(raw_json).ok()?;
    Some(rec)
}

/// A stored record read with its input schema kept as text.
#[derive(Deserialize)]
struct LeanIn {
    server: String,
    name: String,
    parent: Option<String>,
    selector: Option<Value>,
    category: Option<String>,
    title: Option<String>,
    description: Option<String>,
    input_schema: Box<RawValue>,
    annotations: Option<Value>,
    #[serde(default)]
    flags: Vec<String>,
}

impl LeanIn {
    fn split(self) -> (ToolRecord, Box<RawValue>) {
        let record = ToolRecord {
            server: self.server,
            name: self.name,
            parent: self.parent,
            selector: self.selector,
            category: self.category,
            title: self.title,
            description: self.description,
            input_schema: Value::Null,
            annotations: self.annotations,
            raw: Value::Null,
            flags: self.flags,
        };
        (record, self.input_schema)
    }
}

/// The record as stored: everything but the raw JSON, which has its own column.
fn lean_record_json(tool: &ToolRecord) -> String {
    #[derive(Serialize)]
    struct Lean<'a> {
        server: &'a str,
        name: &'a str,
        parent: &'a Option<String>,
        selector: &'a Option<Value>,
        category: &'a Option<String>,
        title: &'a Option<String>,
        description: &'a Option<String>,
        input_schema: &'a Value,
        annotations: &'a Option<Value>,
        flags: &'a [String],
    }
    serde_json::to_string(&Lean {
        server: &tool.server,
        name: &tool.name,
        parent: &tool.parent,
        selector: &tool.selector,
        category: &tool.category,
        title: &tool.title,
        description: &tool.description,
        input_schema: &tool.input_schema,
        annotations: &tool.annotations,
        flags: &tool.flags,
    })
    .unwrap_or_default()
}

fn write_server(tx: &Connection, run: i64, now: &str, r: &ServerResult, summary: &mut RunSummary) -> rusqlite::Result<()> {
    let spec_json = crate::source::redacted(&r.spec).to_string();
    tx.execute(
        "INSERT INTO servers(name, product, spec_json, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT(name) DO UPDATE SET product = excluded.product, spec_json = excluded.spec_json, last_seen = excluded.last_seen",
        params![r.spec.name, r.spec.product, spec_json, now],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO run_servers(run_id, server, outcome, phase, error, stderr_tail, warnings_json, tool_count, seconds,
                                 protocol_version, server_info_json, transport)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            run,
            r.spec.name,
            if r.ok { "ok" } else { "failed" },
            r.phase,
            r.error,
            r.stderr_tail.join("\n"),
            serde_json::to_string(&r.warnings).unwrap_or_default(),
            r.tools.len() as i64,
            r.seconds,
            r.protocol_version,
            r.server_info.as_ref().map(|v| v.to_string()),
            r.transport,
        ],
    )?;
    if !r.ok {
        return Ok(()); // keep the last good tools
    }
    // Current state of this server's tools.
    let mut existing: HashMap<String, (i64, String, String)> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached("SELECT name, id, current_hash, status FROM tools WHERE server = ?1")?;
        let rows = stmt.query_map([&r.spec.name], |row| Ok((row.get::<_, String>(0)?, (row.get(1)?, row.get(2)?, row.get(3)?))))?;
        for row in rows {
            let (n, v) = row?;
            existing.insert(n, v);
        }
    }
    let mut ins_tool = tx.prepare_cached(
        "INSERT INTO tools(server, name, parent, status, first_seen, last_seen, first_run, last_run, current_hash, acked_hash)
         VALUES (?1, ?2, ?3, 'active', ?4, ?4, ?5, ?5, ?6, ?6)",
    )?;
    let mut ins_version = tx.prepare_cached(
        "INSERT OR IGNORE INTO tool_versions(tool_id, hash, first_seen, last_seen, first_run, record_json, raw_json)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
    )?;
    let mut count_version = tx.prepare_cached("UPDATE tools SET versions = versions + 1 WHERE id = ?1")?;
    let mut touch = tx.prepare_cached(
        "UPDATE tools SET last_seen = ?2, last_run = ?3, status = 'active', removed_run = NULL, current_hash = ?4, parent = ?5 WHERE id = ?1",
    )?;
    let mut touch_version = tx.prepare_cached("UPDATE tool_versions SET last_seen = ?3 WHERE tool_id = ?1 AND hash = ?2")?;
    let mut event = tx.prepare_cached("INSERT INTO events(run_id, tool_id, event, old_hash, new_hash) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let mut seen = std::collections::HashSet::new();
    for tool in &r.tools {
        if !seen.insert(tool.name.as_str()) {
            continue; // the crawl already warned about duplicates
        }
        let hash = tool.hash();
        match existing.get(&tool.name) {
            None => {
                ins_tool.execute(params![r.spec.name, tool.name, tool.parent, now, run, hash])?;
                let id = tx.last_insert_rowid();
                ins_version.execute(params![id, hash, now, run, lean_record_json(tool), tool.raw.to_string()])?;
                event.execute(params![run, id, "added", Option::<String>::None, hash])?;
                summary.added += 1;
            }
            Some((id, old_hash, status)) => {
                if *old_hash == hash {
                    touch_version.execute(params![id, hash, now])?;
                    touch.execute(params![id, now, run, hash, tool.parent])?;
                    if status == "removed" {
                        event.execute(params![run, id, "added", Option::<String>::None, hash])?;
                        summary.added += 1;
                    } else {
                        summary.unchanged += 1;
                    }
                } else {
                    if ins_version.execute(params![id, hash, now, run, lean_record_json(tool), tool.raw.to_string()])? == 1 {
                        count_version.execute([id])?;
                    } else {
                        touch_version.execute(params![id, hash, now])?;
                    }
                    touch.execute(params![id, now, run, hash, tool.parent])?;
                    let ev = if status == "removed" { "added" } else { "changed" };
                    event.execute(params![run, id, ev, old_hash, hash])?;
                    if ev == "added" {
                        summary.added += 1;
                    } else {
                        summary.changed += 1;
                    }
                }
            }
        }
    }
    let mut remove = tx.prepare_cached("UPDATE tools SET status = 'removed', removed_run = ?2 WHERE id = ?1")?;
    for (name, (id, hash, status)) in &existing {
        if status == "active" && !seen.contains(name.as_str()) {
            remove.execute(params![id, run])?;
            event.execute(params![run, id, "removed", hash, Option::<String>::None])?;
            summary.removed += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Transport;
    use serde_json::json;

    fn spec(name: &str) -> ServerSpec {
        ServerSpec {
            name: name.into(),
            transport: Transport::Stdio { command: "x".into(), args: vec![], env: Default::default(), cwd: None },
            timeout: None,
            product: None,
            expand: None,
            vendor: None,
        }
    }

    fn result(name: &str, ok: bool, tools: &[(&str, &str)]) -> ServerResult {
        ServerResult {
            spec: spec(name),
            ok,
            phase: None,
            error: None,
            stderr_tail: vec![],
            warnings: vec![],
            seconds: 0.1,
            protocol_version: None,
            server_info: None,
            transport: None,
            tools: tools
                .iter()
                .map(|(n, d)| ToolRecord::from_raw(name, json!({"name": n, "description": d, "inputSchema": {"type": "object"}})))
                .collect(),
        }
    }

    #[test]
    fn tools_without_schemas_keep_everything_else_and_the_schema_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("c.db")).unwrap();
        let mut r = result("a", true, &[("x", "1")]);
        r.tools.push(ToolRecord::from_raw(
            "a",
            json!({"name": "y", "title": "Y", "annotations": {"readOnlyHint": true},
                   "inputSchema": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}}),
        ));
        s.record_run("crawl", &now(), &[r]).unwrap();
        let full = s.tools(false).unwrap();
        let (lean, schemas) = s.tools_without_schemas().unwrap();
        assert_eq!((lean.len(), schemas.len()), (2, 2));
        for ((f, l), text) in full.iter().zip(&lean).zip(&schemas) {
            let schema: Value = serde_json::from_str(text.get()).unwrap();
            assert_eq!(schema, f.record.input_schema);
            assert_eq!(l.record.input_schema, Value::Null);
            let mut same = l.record.clone();
            same.input_schema = schema;
            assert_eq!(same, f.record);
            assert_eq!((l.id, &l.hash, &l.first_seen), (f.id, &f.hash, &f.first_seen));
        }
    }

    #[test]
    fn unchanged_verdicts_are_not_rewritten_but_report_the_new_rules() {
        use crate::model::{Category, Kind, Risk, Verdict};
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("c.db")).unwrap();
        s.record_run("crawl", &now(), &[result("a", true, &[("x", "1"), ("y", "1")])]).unwrap();
        let ids: Vec<(i64, String)> = s.tools(false).unwrap().into_iter().map(|t| (t.id, t.hash)).collect();
        let verdict = |rules: &str, risk: Risk| Verdict {
            kind: Kind::Read,
            category: Category::Read,
            risk,
            signals: vec![],
            reasons: vec![],
            confidence: 0.9,
            inferred: Default::default(),
            effective: Default::default(),
            rules_hash: rules.to_string(),
        };
        let rows = |rules: &str, risk: Risk| -> Vec<VerdictRow> {
            ids.iter().map(|(id, h)| VerdictRow::new(*id, h.clone(), &verdict(rules, risk))).collect()
        };
        let changes = |s: &Store| -> i64 { s.conn.query_row("SELECT total_changes()", [], |r| r.get(0)).unwrap() };
        s.save_verdicts(&rows("rules-1", Risk::Low)).unwrap();
        let before = changes(&s);
        s.save_verdicts(&rows("rules-2", Risk::Low)).unwrap();
        // Only the meta row: no verdict row was rewritten.
        assert_eq!(changes(&s) - before, 1);
        for t in s.tools(false).unwrap() {
            let v = t.verdict.unwrap();
            assert_eq!((v.rules_hash.as_ref(), v.risk), ("rules-2", Risk::Low));
        }
        // A verdict that changed is written.
        let before = changes(&s);
        s.save_verdicts(&rows("rules-3", Risk::High)).unwrap();
        assert_eq!(changes(&s) - before, 3);
        for t in s.tools(false).unwrap() {
            let v = t.verdict.unwrap();
            assert_eq!((v.rules_hash.as_ref(), v.risk), ("rules-3", Risk::High));
        }
    }

    #[test]
    fn a_crawl_empties_the_write_ahead_log_unless_someone_is_reading() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.db");
        let wal = dir.path().join("c.db-wal");
        let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        let mut s = Store::open(&db).unwrap();
        s.record_run("crawl", &now(), &[result("a", true, &[("x", "1"), ("y", "1")])]).unwrap();
        assert_eq!(wal_len(), 0, "the log is folded into the database after a crawl");
        // Another connection in the middle of a read: the crawl neither
        // waits for it nor loses anything; the log is left for later.
        let reader = Connection::open(&db).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let seen: i64 = reader.query_row("SELECT count(*) FROM tools", [], |r| r.get(0)).unwrap();
        assert_eq!(seen, 2);
        s.record_run("crawl", &now(), &[result("a", true, &[("x", "1"), ("y", "1"), ("z", "1")])]).unwrap();
        assert!(wal_len() > 0);
        let seen: i64 = reader.query_row("SELECT count(*) FROM tools", [], |r| r.get(0)).unwrap();
        assert_eq!(seen, 2, "the reader keeps its snapshot");
        reader.execute_batch("COMMIT").unwrap();
        s.fold_wal();
        assert_eq!(wal_len(), 0);
        assert_eq!(s.tools(false).unwrap().len(), 3);
        let seen: i64 = reader.query_row("SELECT count(*) FROM tools", [], |r| r.get(0)).unwrap();
        assert_eq!(seen, 3);
    }

    #[test]
    fn history_added_changed_removed_and_failed_servers_keep_tools() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("c.db")).unwrap();
        let (sum, _) = s.record_run("crawl", &now(), &[result("a", true, &[("x", "1"), ("y", "1")])]).unwrap();
        assert_eq!(sum.added, 2);
        let (sum, _) = s.record_run("crawl", &now(), &[result("a", true, &[("x", "2"), ("z", "1")])]).unwrap();
        assert_eq!((sum.added, sum.changed, sum.removed), (1, 1, 1));
        let (sum, _) = s.record_run("crawl", &now(), &[result("a", false, &[])]).unwrap();
        assert_eq!((sum.added, sum.changed, sum.removed), (0, 0, 0));
        let tools = s.tools(false).unwrap();
        assert_eq!(tools.iter().map(|t| t.record.name.as_str()).collect::<Vec<_>>(), vec!["x", "z"]);
        let x = &tools[0];
        assert_eq!(x.versions, 2);
        assert!(x.definition_changed());
        s.ack(None, Some("x"), None).unwrap();
        assert!(!s.tools(false).unwrap()[0].definition_changed());
        assert_eq!(s.tools(true).unwrap().len(), 3);
    }

    #[test]
    fn foreign_and_newer_databases_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("other.db");
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch("CREATE TABLE users(id INTEGER)").unwrap();
        }
        let before = std::fs::read(&p).unwrap();
        assert!(matches!(Store::open(&p), Err(StoreError::Foreign { .. })));
        assert_eq!(before, std::fs::read(&p).unwrap());
        let p2 = dir.path().join("new.db");
        {
            let s = Store::open(&p2).unwrap();
            s.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'", []).unwrap();
        }
        assert!(matches!(Store::open(&p2), Err(StoreError::Newer { found: 99, .. })));
        let p3 = dir.path().join("text.db");
        std::fs::write(&p3, "hello, this is not sqlite at all, just text that is long enough").unwrap();
        assert!(matches!(Store::open(&p3), Err(StoreError::Foreign { .. })));
    }
}
