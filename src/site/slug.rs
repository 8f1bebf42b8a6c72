//! Safe, stable file names for server and tool pages.
//!
//! A slug keeps `[a-z0-9-_.]`, lowercases, turns anything else into `-`,
//! never starts or ends with a dot, never holds `..`, and is capped in
//! length. When the slug is not exactly the original name (or could be
//! confused with another one), a short hash of the exact original name is
//! appended, so `Foo` and `foo` (case-insensitive file systems) or
//! `a/b` and `a-b` never share a file. `Slugger` resolves the remaining
//! (astronomically unlikely) collisions inside one directory by lengthening
//! the hash, deterministically.

use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Longest slug body before the hash suffix.
pub const MAX_BASE: usize = 80;

/// Names Windows refuses as file names, whatever the extension.
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

fn hash_hex(name: &str, len: usize) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut h = hex::encode(digest);
    h.truncate(len);
    h
}

/// The sanitised body of a slug (no hash): safe characters only, no leading
/// or trailing dot, no `..`, at most `MAX_BASE` bytes.
fn base(name: &str) -> String {
    let mut s = String::with_capacity(name.len().min(MAX_BASE));
    for ch in name.chars() {
        let c = ch.to_ascii_lowercase();
        let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.';
        let c = if keep { c } else { '-' };
        // Collapse runs of dots so ".." can never appear.
        if c == '.' && s.ends_with('.') {
            continue;
        }
        s.push(c);
        if s.len() >= MAX_BASE {
            break;
        }
    }
    let s = s.trim_start_matches(['.', '-']).trim_end_matches('.');
    s.to_string()
}

/// True if `s` looks like a hashed slug's tail (`--` + 8 or more hex
/// digits), so a plain name can never impersonate a hashed one.
fn looks_hashed(s: &str) -> bool {
    match s.rfind("--") {
        Some(i) => {
            let tail = &s[i + 2..];
            tail.len() >= 8 && tail.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// The slug of one name, with a hash of `hash_len` hex digits when needed.
pub fn slug_with(name: &str, hash_len: usize) -> String {
    let b = base(name);
    let plain_ok = !b.is_empty()
        && b == name
        && !looks_hashed(&b)
        && !RESERVED.contains(&b.split('.').next().unwrap_or(""));
    if plain_ok && hash_len == 0 {
        return b;
    }
    let body = if b.is_empty() { "x" } else { b.as_str() };
    let hl = if hash_len == 0 { 8 } else { hash_len };
    format!("{}--{}", body, hash_hex(name, hl))
}

/// The slug of one name (plain when the name is already safe).
pub fn slug(name: &str) -> String {
    slug_with(name, 0)
}

/// Hands out slugs for one directory, guaranteeing they are unique there.
#[derive(Default)]
pub struct Slugger {
    used: HashSet<String>,
}

impl Slugger {
    pub fn new() -> Self {
        Self::default()
    }

    /// A slug for `name` not handed out before in this directory (a name
    /// given twice gets two slugs). Call once per item in a stable order
    /// (e.g. sorted names) so collisions, if ever, resolve the same way on
    /// every run.
    pub fn get(&mut self, name: &str) -> String {
        let mut s = slug(name);
        let mut len = 8;
        let mut n = 0;
        while self.used.contains(&s) {
            len += 8;
            if len <= 64 {
                s = slug_with(name, len);
            } else {
                // The same name given again: number the copies.
                n += 1;
                s = format!("{}-{n}", slug_with(name, 64));
            }
        }
        self.used.insert(s.clone());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_plain() {
        assert_eq!(slug("iscsi_sessions"), "iscsi_sessions");
        assert_eq!(slug("pool.query"), "pool.query");
        assert_eq!(slug("a-b"), "a-b");
    }

    #[test]
    fn unsafe_names_are_hashed_and_safe() {
        for n in [
            "../../etc/passwd",
            "..",
            ".",
            "",
            "Foo",
            "a/b",
            "a\\b",
            ".hidden",
            "x..y",
            "CON",
            "con",
            "é",
            "a--deadbeef",
        ] {
            let s = slug(n);
            assert_ne!(s, n, "{n}");
            assert!(!s.starts_with('.'), "{s}");
            assert!(!s.contains(".."), "{s}");
            assert!(!s.contains('/') && !s.contains('\\'), "{s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)),
                "{s}"
            );
            assert!(!s.is_empty());
            assert_eq!(s, slug(n), "stable");
        }
        assert_ne!(slug("Foo"), slug("foo"));
        assert_ne!(slug("FOO"), slug("Foo"));
        assert_ne!(slug("a/b"), slug("a-b"));
        assert!(slug(&"x".repeat(500)).len() <= MAX_BASE + 10);
    }

    #[test]
    fn slugger_never_collides() {
        let mut s = Slugger::new();
        let names = ["a", "A", "a--ca978112", "b", "a"];
        let got: Vec<String> = names.iter().map(|n| s.get(n)).collect();
        assert_eq!(got[0], "a");
        let set: HashSet<&String> = got.iter().collect();
        assert_eq!(set.len(), 5, "{got:?}");
    }
}
