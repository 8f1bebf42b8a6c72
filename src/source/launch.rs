//! Turning a `ServerSpec` into a `Launch`: `${VAR}` substitution, a scrubbed
//! environment with a fresh HOME, and registry packages made runnable
//! (`npx -y id@version`; PyPI via `uvx` or a cached venv).

use super::{resolve_vars, SourceError};
use crate::model::{Launch, ServerSpec, Transport};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Settings for launching servers, decided once from the CLI flags.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// Run stdio servers under bubblewrap: no network, read-only filesystem.
    pub sandbox: bool,
    /// Where package venvs are cached (default: the user's cache dir).
    pub cache_dir: Option<PathBuf>,
}

/// A launch plus the temporary directories it needs kept alive.
pub struct Prepared {
    pub launch: Launch,
    /// Fresh HOME / working directory for a stdio server; removed on drop.
    pub _home: Option<tempfile::TempDir>,
}

/// Variables passed through from our environment to every stdio server:
/// enough to find programs and read text; nothing that may hold a secret.
const PASS_THROUGH: &[&str] = &["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT"];

/// Make a spec runnable. May install a package (PyPI venv) first, which is
/// why this is async and part of the "spawn" phase.
pub async fn launch(spec: &ServerSpec, opts: &LaunchOptions) -> Result<Prepared, SourceError> {
    let name = spec.name.as_str();
    match &spec.transport {
        Transport::Http { url, headers, http } => {
            let url = resolve_vars(name, url)?;
            let headers = headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), resolve_vars(name, v)?)))
                .collect::<Result<Vec<_>, SourceError>>()?;
            Ok(Prepared { launch: Launch::Http { url, headers, http: *http }, _home: None })
        }
        Transport::Stdio { command, args, env, cwd } => {
            let args = args.iter().map(|a| resolve_vars(name, a)).collect::<Result<Vec<_>, _>>()?;
            stdio(spec, resolve_vars(name, command)?, args, env, cwd.as_deref(), opts)
        }
        Transport::Package { registry_type, identifier, version, entry_point, requirements, args, env } => {
            let args = args.iter().map(|a| resolve_vars(name, a)).collect::<Result<Vec<_>, _>>()?;
            let (program, mut full_args) = match registry_type.as_str() {
                "npm" => {
                    let id = match version {
                        Some(v) => format!("{identifier}@{v}"),
                        None => identifier.clone(),
                    };
                    let mut a = vec!["-y".to_string()];
                    if let Some(ep) = entry_point {
                        a.extend(["--package".to_string(), id, ep.clone()]);
                    } else {
                        a.push(id);
                    }
                    ("npx".to_string(), a)
                }
                _ if which("uvx").is_some() && std::env::var_os("MCP_CATALOGUE_NO_UVX").is_none() => {
                    let pin = match version {
                        Some(v) => format!("{identifier}=={v}"),
                        None => identifier.clone(),
                    };
                    let mut a = vec!["--from".to_string(), pin];
                    for r in requirements {
                        a.extend(["--with".to_string(), r.clone()]);
                    }
                    a.push(entry_point.clone().unwrap_or_else(|| identifier.clone()));
                    ("uvx".to_string(), a)
                }
                _ => {
                    let dir = pypi_venv(spec, identifier, version.as_deref(), requirements, opts).await?;
                    let exe = entry_point.clone().unwrap_or_else(|| identifier.clone());
                    (dir.join("bin").join(exe).to_string_lossy().into_owned(), vec![])
                }
            };
            full_args.extend(args);
            stdio(spec, program, full_args, env, None, opts)
        }
    }
}

fn stdio(
    spec: &ServerSpec,
    program: String,
    args: Vec<String>,
    declared: &BTreeMap<String, String>,
    cwd: Option<&str>,
    opts: &LaunchOptions,
) -> Result<Prepared, SourceError> {
    let home = tempfile::Builder::new()
        .prefix("mcp-catalogue-home-")
        .tempdir()
        .map_err(|e| SourceError::Launch { server: spec.name.clone(), message: format!("cannot create a temporary HOME: {e}") })?;
    let mut env: Vec<(String, String)> = PASS_THROUGH
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    let home_s = home.path().to_string_lossy().into_owned();
    env.push(("HOME".into(), home_s.clone()));
    env.push(("TMPDIR".into(), home_s.clone()));
    // uvx and npx keep their package caches across runs even though HOME is
    // fresh (a nightly crawl downloads a pinned npm package once, not every night).
    env.push(("UV_CACHE_DIR".into(), package_cache_dir(opts).join("uv").to_string_lossy().into_owned()));
    env.push(("npm_config_cache".into(), package_cache_dir(opts).join("npm").to_string_lossy().into_owned()));
    for (k, v) in declared {
        let v = resolve_vars(&spec.name, v)?;
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v));
    }
    let cwd = match cwd {
        Some(c) => PathBuf::from(resolve_vars(&spec.name, c)?),
        None => home.path().to_path_buf(),
    };
    let (program, args) = if opts.sandbox { bwrap(program, args, home.path(), &cwd)? } else { (program, args) };
    Ok(Prepared { launch: Launch::Stdio { program, args, env, cwd: Some(cwd) }, _home: Some(home) })
}

/// Wrap a command in bubblewrap: the whole filesystem read-only (so paths
/// the entry names, even under /tmp, still resolve), only the temporary
/// HOME (also TMPDIR) writable, no network, dies with us.
fn bwrap(program: String, args: Vec<String>, home: &Path, cwd: &Path) -> Result<(String, Vec<String>), SourceError> {
    let bw = which("bwrap").ok_or_else(|| SourceError::Launch {
        server: String::new(),
        message: "--sandbox needs bubblewrap (`bwrap`), which is not installed".into(),
    })?;
    let h = home.to_string_lossy().into_owned();
    let mut a: Vec<String> = [
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
        "--bind", &h, &h, "--unshare-net", "--unshare-ipc", "--unshare-pid", "--die-with-parent",
        "--chdir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(cwd.to_string_lossy().into_owned());
    a.push("--".into());
    a.push(program);
    a.extend(args);
    Ok((bw.to_string_lossy().into_owned(), a))
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).map(|d| d.join(prog)).find(|f| f.is_file())
    })
}

/// Where package venvs are cached.
pub fn package_cache_dir(opts: &LaunchOptions) -> PathBuf {
    opts.cache_dir
        .clone()
        .or_else(|| std::env::var_os("MCP_CATALOGUE_CACHE").map(PathBuf::from))
        .or_else(|| dirs::cache_dir().map(|d| d.join("mcp-catalogue")))
        .unwrap_or_else(|| std::env::temp_dir().join("mcp-catalogue-cache"))
}

/// Create (once) and return a venv holding `identifier==version` plus
/// `requirements`, keyed by all three. Built in a temporary directory and
/// renamed into place, under a lock, so concurrent crawls never see half a venv.
async fn pypi_venv(
    spec: &ServerSpec,
    identifier: &str,
    version: Option<&str>,
    requirements: &[String],
    opts: &LaunchOptions,
) -> Result<PathBuf, SourceError> {
    let err = |message: String| SourceError::Launch { server: spec.name.clone(), message };
    let pin = match version {
        Some(v) => format!("{identifier}=={v}"),
        None => identifier.to_string(),
    };
    let mut key = Sha256::new();
    key.update(pin.as_bytes());
    for r in requirements {
        key.update(b"\0");
        key.update(r.as_bytes());
    }
    let key = hex::encode(key.finalize());
    let safe: String = identifier.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let base = package_cache_dir(opts).join("venvs");
    let dir = base.join(format!("{safe}-{}-{}", version.unwrap_or("latest"), &key[..12]));
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&base).map_err(|e| err(format!("cannot create {}: {e}", base.display())))?;
    let lock_path = base.join(format!(".{safe}-{}.lock", &key[..12]));
    let lock = std::fs::File::create(&lock_path).map_err(|e| err(format!("cannot create {}: {e}", lock_path.display())))?;
    let lock = tokio::task::spawn_blocking(move || fs2::FileExt::lock_exclusive(&lock).map(|_| lock))
        .await
        .map_err(|e| err(e.to_string()))?
        .map_err(|e| err(format!("cannot lock the venv cache: {e}")))?;
    if dir.join(".complete").exists() {
        drop(lock);
        return Ok(dir);
    }
    let tmp = base.join(format!(".tmp-{safe}-{}-{}", &key[..12], std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let python = which("python3").ok_or_else(|| err("a PyPI package needs python3, which is not on PATH".into()))?;
    run(&python, &["-m".into(), "venv".into(), tmp.to_string_lossy().into_owned()], &spec.name).await?;
    let mut pip_args: Vec<String> = vec!["install".into(), "--quiet".into(), "--disable-pip-version-check".into(), pin.clone()];
    pip_args.extend(requirements.iter().cloned());
    run(&tmp.join("bin/pip"), &pip_args, &spec.name).await.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&tmp);
    })?;
    // venvs hard-code their path in scripts: rebuild in place after rename.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|e| err(format!("cannot move venv into {}: {e}", dir.display())))?;
    fix_venv_paths(&tmp, &dir);
    std::fs::write(dir.join(".complete"), &pin).map_err(|e| err(e.to_string()))?;
    drop(lock);
    Ok(dir)
}

/// A venv's scripts name their interpreter by absolute path; after renaming
/// the venv, point them at the new place.
fn fix_venv_paths(old: &Path, new: &Path) {
    let (old_s, new_s) = (old.to_string_lossy().into_owned(), new.to_string_lossy().into_owned());
    let Ok(entries) = std::fs::read_dir(new.join("bin")) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_symlink() || !p.is_file() {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&p) {
            if text.contains(&old_s) {
                let _ = std::fs::write(&p, text.replace(&old_s, &new_s));
            }
        }
    }
    if let Ok(cfg) = std::fs::read_to_string(new.join("pyvenv.cfg")) {
        let _ = std::fs::write(new.join("pyvenv.cfg"), cfg.replace(&old_s, &new_s));
    }
}

async fn run(program: &Path, args: &[String], server: &str) -> Result<(), SourceError> {
    let err = |message: String| SourceError::Launch { server: server.to_string(), message };
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| err(format!("cannot run {}: {e}", program.display())))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(err(format!("{} {} failed ({}): {}", program.display(), args.join(" "), out.status, tail.join(" | "))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServerSpec;

    #[tokio::test]
    async fn stdio_env_is_scrubbed_to_declared_vars_with_a_fresh_home() {
        std::env::set_var("MCPCAT_UNRELATED_SECRET", "leak-me");
        std::env::set_var("MCPCAT_DECLARED", "given");
        let mut env = BTreeMap::new();
        env.insert("TOKEN".to_string(), "${MCPCAT_DECLARED}".to_string());
        let spec = ServerSpec {
            name: "s".into(),
            transport: Transport::Stdio { command: "x".into(), args: vec![], env, cwd: None },
            timeout: None,
            product: None,
            expand: None,
            vendor: None,
        };
        let p = launch(&spec, &LaunchOptions::default()).await.unwrap();
        let Launch::Stdio { env, cwd, .. } = &p.launch else { panic!() };
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("TOKEN").as_deref(), Some("given"));
        assert!(get("MCPCAT_UNRELATED_SECRET").is_none());
        let home = get("HOME").unwrap();
        assert_ne!(Some(home.clone()), std::env::var("HOME").ok());
        assert!(std::path::Path::new(&home).is_dir());
        assert_eq!(cwd.as_deref(), Some(std::path::Path::new(&home)));
        for (k, _) in env {
            assert!(PASS_THROUGH.contains(&k.as_str()) || ["HOME", "TMPDIR", "UV_CACHE_DIR", "npm_config_cache", "TOKEN"].contains(&k.as_str()), "{k} leaked");
        }
        let home_path = std::path::PathBuf::from(&home);
        drop(p);
        assert!(!home_path.exists(), "the temporary HOME is removed afterwards");
    }
}
