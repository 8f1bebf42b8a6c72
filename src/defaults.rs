//! The shipped `rules/` directory (classification rules, expansion recipes,
//! the policy profile and overrides), compiled into the binary so that an
//! installed `mcp-catalogue` works from any directory; `--rules DIR` reads a
//! directory instead, and `rules export DIR` writes these files out.
//!
//! Embedded files are handed to the stages exactly as the same files on disk
//! would be, so the rules hash in verdicts is the same for both. Never
//! overwrites a user's edited file on export unless told to.

use crate::classify::{ClassifyError, Rules, RULE_FILES};
use crate::expand::{ExpandError, Recipe, Recipes};
use crate::policy::{self, PolicyError, PolicyFile, Profile};
use include_dir::{include_dir, Dir};
use std::path::{Path, PathBuf};

/// `rules/` as it was when the binary was built (`build.rs` rebuilds on edits).
static RULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// How embedded files are named in error messages.
const EMBEDDED_PREFIX: &str = "<built-in rules>";

#[derive(Debug, thiserror::Error)]
pub enum DefaultsError {
    #[error("{path} exists and differs from the built-in file (use --force to overwrite)")]
    Exists { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Where the rules come from: the built-in copy or a directory (`--rules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesSource {
    Embedded,
    Dir(PathBuf),
}

impl RulesSource {
    pub fn new(dir: Option<&Path>) -> RulesSource {
        match dir {
            Some(d) => RulesSource::Dir(d.to_path_buf()),
            None => RulesSource::Embedded,
        }
    }

    /// For messages: the directory, or "built-in rules".
    pub fn describe(&self) -> String {
        match self {
            RulesSource::Embedded => "built-in rules".into(),
            RulesSource::Dir(d) => d.display().to_string(),
        }
    }

    /// The classification rules (hash identical to the same files on disk).
    pub fn classify_rules(&self) -> Result<Rules, ClassifyError> {
        match self {
            RulesSource::Dir(d) => Rules::load(d),
            RulesSource::Embedded => {
                let texts: Vec<(PathBuf, String)> = RULE_FILES
                    .iter()
                    .filter_map(|name| embedded_text(name).map(|t| (embedded_path(name), t.to_string())))
                    .collect();
                Rules::from_texts(&texts)
            }
        }
    }

    /// The expansion recipes (`expanders/*.toml`).
    pub fn recipes(&self) -> Result<Recipes, ExpandError> {
        match self {
            RulesSource::Dir(d) => Recipes::load(&d.join("expanders")),
            RulesSource::Embedded => {
                let mut out = Recipes::default();
                let mut files: Vec<_> = RULES
                    .get_dir("expanders")
                    .map(|d| d.files().filter(|f| f.path().extension().is_some_and(|x| x == "toml")).collect())
                    .unwrap_or_default();
                files.sort_by_key(|f| f.path());
                for f in files {
                    let text = f.contents_utf8().unwrap_or_default();
                    out.add(Recipe::from_toml(text, &embedded_path(&f.path().to_string_lossy()))?)?;
                }
                Ok(out)
            }
        }
    }

    /// The policy profile (`policy.toml`; missing in a directory: the built-in one).
    pub fn profile(&self) -> Result<Profile, PolicyError> {
        match self {
            RulesSource::Dir(d) => Profile::load(&d.join("policy.toml")),
            RulesSource::Embedded => Ok(Profile::default()),
        }
    }

    /// The default policy overrides (`policy-overrides.json`), if there are any.
    pub fn policy_overrides(&self) -> Result<Option<PolicyFile>, PolicyError> {
        match self {
            RulesSource::Dir(d) => {
                let p = d.join("policy-overrides.json");
                if p.exists() {
                    policy::load_policy(&p).map(Some)
                } else {
                    Ok(None)
                }
            }
            RulesSource::Embedded => match embedded_text("policy-overrides.json") {
                Some(t) => policy::parse_policy(t, &embedded_path("policy-overrides.json")).map(Some),
                None => Ok(None),
            },
        }
    }
}

fn embedded_path(rel: &str) -> PathBuf {
    Path::new(EMBEDDED_PREFIX).join(rel)
}

fn embedded_text(rel: &str) -> Option<&'static str> {
    RULES.get_file(rel).and_then(|f| f.contents_utf8())
}

/// Every built-in file, as (path relative to `rules/`, content), sorted.
pub fn embedded_files() -> Vec<(PathBuf, &'static [u8])> {
    fn walk(d: &'static Dir<'static>, out: &mut Vec<(PathBuf, &'static [u8])>) {
        for f in d.files() {
            out.push((f.path().to_path_buf(), f.contents()));
        }
        for sub in d.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&RULES, &mut out);
    out.sort();
    out
}

/// What `rules export` did with each file.
#[derive(Debug, PartialEq, Eq)]
pub enum Exported {
    Written(PathBuf),
    Unchanged(PathBuf),
}

/// Write the built-in rules into `dir` (created if needed). A file that
/// exists with other content is an error before anything is written, unless
/// `force`.
pub fn export(dir: &Path, force: bool) -> Result<Vec<Exported>, DefaultsError> {
    let files = embedded_files();
    if !force {
        for (rel, content) in &files {
            let path = dir.join(rel);
            if let Ok(old) = std::fs::read(&path) {
                if old != *content {
                    return Err(DefaultsError::Exists { path });
                }
            }
        }
    }
    let mut out = Vec::new();
    for (rel, content) in files {
        let path = dir.join(&rel);
        if std::fs::read(&path).is_ok_and(|old| old == content) {
            out.push(Exported::Unchanged(path));
            continue;
        }
        let w = |source| DefaultsError::Write { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(w)?;
        }
        std::fs::write(&path, content).map_err(w)?;
        out.push(Exported::Written(path));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_hash_like_the_directory() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let disk = RulesSource::Dir(root.clone()).classify_rules().unwrap();
        let built_in = RulesSource::Embedded.classify_rules().unwrap();
        assert_eq!(disk.hash(), built_in.hash());
        let names = |r: Recipes| r.names().iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(names(RulesSource::Embedded.recipes().unwrap()), names(RulesSource::Dir(root).recipes().unwrap()));
        assert!(RulesSource::Embedded.policy_overrides().unwrap().is_some());
    }

    #[test]
    fn export_refuses_to_overwrite_an_edit() {
        let d = tempfile::tempdir().unwrap();
        let first = export(d.path(), false).unwrap();
        assert!(first.iter().all(|e| matches!(e, Exported::Written(_))));
        assert!(d.path().join("expanders/truenas.toml").is_file());
        std::fs::write(d.path().join("verbs.toml"), "# mine\n").unwrap();
        let e = export(d.path(), false).unwrap_err().to_string();
        assert!(e.contains("verbs.toml") && e.contains("--force"), "{e}");
        assert_eq!(std::fs::read_to_string(d.path().join("verbs.toml")).unwrap(), "# mine\n");
        export(d.path(), true).unwrap();
        assert_ne!(std::fs::read_to_string(d.path().join("verbs.toml")).unwrap(), "# mine\n");
    }
}
