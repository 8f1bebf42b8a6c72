//! Compiled patterns with an ASCII fast path, the joint one-pass set over
//! all of a tool's texts, and a fast hasher for the lexicon maps.
//!
//! Every rule pattern is compiled twice: as written (Unicode-aware, used for
//! any text with non-ASCII characters) and, when it compiles that way, with
//! Unicode disabled as a byte pattern. On ASCII text the two match exactly
//! the same spans: `\w`, `\d`, `\s`, `\b`, `.` and `(?i)` differ only on
//! non-ASCII characters. The ASCII automata are much smaller, so the lazy DFA
//! builds fewer, cheaper states. Most texts the classifier reads are ASCII
//! (descriptions are folded to ASCII before phrase and suspicious matching).

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// One pattern: as written, plus its ASCII-only form when it has one.
#[derive(Debug)]
pub(super) struct Pat {
    re: Regex,
    ascii: Option<regex::bytes::Regex>,
}

impl Pat {
    pub(super) fn new(pattern: &str) -> Result<Pat, regex::Error> {
        let re = RegexBuilder::new(pattern).size_limit(1 << 24).build()?;
        // The ASCII form also gets the never-matching alternative (see
        // [`PatSet`]) that keeps a literal prefilter out: for these
        // patterns on short texts it costs more than it saves. Not when the
        // pattern could hold a comment (`(?x)` ... `#`), which would swallow
        // the closing parenthesis.
        let wrapped;
        let ascii_pattern = if pattern.contains('#') {
            pattern
        } else {
            wrapped = format!("(?:{pattern})|{NEVER}");
            &wrapped
        };
        let ascii = regex::bytes::RegexBuilder::new(ascii_pattern)
            .unicode(false)
            .size_limit(1 << 24)
            .build()
            .ok();
        Ok(Pat { re, ascii })
    }

    pub(super) fn as_str(&self) -> &str {
        self.re.as_str()
    }

    pub(super) fn is_match(&self, s: &str) -> bool {
        match &self.ascii {
            Some(a) if s.is_ascii() => a.is_match(s.as_bytes()),
            _ => self.re.is_match(s),
        }
    }

    /// The leftmost-first match as (start, end).
    pub(super) fn find(&self, s: &str) -> Option<(usize, usize)> {
        match &self.ascii {
            Some(a) if s.is_ascii() => a.find(s.as_bytes()).map(|m| (m.start(), m.end())),
            _ => self.re.find(s).map(|m| (m.start(), m.end())),
        }
    }

    /// The text of the leftmost-first match.
    pub(super) fn find_str<'h>(&self, s: &'h str) -> Option<&'h str> {
        self.find(s).map(|(a, b)| &s[a..b])
    }
}

/// A pattern set: as written, plus its ASCII-only form when it has one.
///
/// Both sets carry one extra pattern after the rule patterns, [`NEVER`],
/// which cannot match. Its only effect is on speed: it has no literal
/// prefix, so the regex engine does not put a literal prefilter in front of
/// the set. For these sets (dozens of case-insensitive alternations) such a
/// prefilter finds a candidate in nearly every text and then costs more than
/// it saves (measured: `is_match` over descriptions about 40 % faster).
#[derive(Debug)]
pub(super) struct PatSet {
    set: RegexSet,
    ascii: Option<regex::bytes::RegexSet>,
    /// The number of rule patterns (the sentinel's index).
    len: usize,
}

/// A word boundary that is not a word boundary: never matches anywhere.
const NEVER: &str = r"\b\B";

/// The indices of the rule patterns that matched, ascending.
pub(super) enum SetMatches {
    Ascii(regex::bytes::SetMatchesIntoIter, usize),
    Unicode(regex::SetMatchesIntoIter, usize),
}

impl Iterator for SetMatches {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let (i, len) = match self {
            SetMatches::Ascii(it, len) => (it.next()?, *len),
            SetMatches::Unicode(it, len) => (it.next()?, *len),
        };
        // The sentinel never matches; it is also the last index.
        (i < len).then_some(i)
    }
}

impl PatSet {
    pub(super) fn new(patterns: &[&str]) -> Result<PatSet, regex::Error> {
        PatSet::build(patterns, false)
    }

    /// In multi-line mode (see [`Joint`]); `None` when a pattern is anchored
    /// to the whole text.
    pub(super) fn multi_line(patterns: &[&str]) -> Option<PatSet> {
        if patterns.iter().any(|p| anchored_to_text(p)) {
            return None;
        }
        PatSet::build(patterns, true).ok()
    }

    fn build(patterns: &[&str], multi_line: bool) -> Result<PatSet, regex::Error> {
        let with_sentinel: Vec<&str> = patterns.iter().copied().chain([NEVER]).collect();
        let patterns = &with_sentinel[..];
        let set = RegexSetBuilder::new(patterns)
            .multi_line(multi_line)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 26)
            .build()?;
        let ascii = regex::bytes::RegexSetBuilder::new(patterns)
            .multi_line(multi_line)
            .unicode(false)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 26)
            .build()
            .ok();
        Ok(PatSet {
            set,
            ascii,
            len: patterns.len() - 1,
        })
    }

    pub(super) fn is_match(&self, s: &str) -> bool {
        match &self.ascii {
            Some(a) if s.is_ascii() => a.is_match(s.as_bytes()),
            _ => self.set.is_match(s),
        }
    }

    /// Indices of every pattern that matches, ascending (as
    /// `RegexSet::matches`).
    pub(super) fn matches(&self, s: &str) -> SetMatches {
        match &self.ascii {
            Some(a) if s.is_ascii() => {
                SetMatches::Ascii(a.matches(s.as_bytes()).into_iter(), self.len)
            }
            _ => SetMatches::Unicode(self.set.matches(s).into_iter(), self.len),
        }
    }
}

/// Many rule patterns, each meant for one of a tool's texts (the
/// description, the name's tokens, the schema's strings), run in one pass
/// over all the texts joined by `\n`, in multi-line mode, on ASCII text.
///
/// When a pattern matches one text on its own it also matches the joined
/// texts: `\n` is not a word character (so `\b` and `\B` see the same
/// neighbours as at a text's edge) and in multi-line mode `^` and `$` match
/// at each text's edges. So a pattern the pass does not report matches none
/// of the texts, and one it does report is checked on its own text with the
/// pattern as written. Patterns anchored to the whole text (`\A`, `\z`,
/// multi-line switched off) would break that: then there is no joint set.
#[derive(Debug)]
pub(super) struct Joint {
    set: regex::bytes::RegexSet,
}

impl Joint {
    pub(super) fn new(patterns: &[&str]) -> Option<Joint> {
        if patterns.iter().any(|p| anchored_to_text(p)) {
            return None;
        }
        let with_sentinel: Vec<&str> = patterns.iter().copied().chain([NEVER]).collect();
        regex::bytes::RegexSetBuilder::new(&with_sentinel)
            .multi_line(true)
            .unicode(false)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 26)
            .build()
            .ok()
            .map(|set| Joint { set })
    }

    /// The patterns that may match a text joined into `joined` (which must
    /// be ASCII: the texts folded).
    pub(super) fn matches(&self, joined: &str) -> JointMatches {
        debug_assert!(joined.is_ascii());
        // Most texts match nothing: a plain `is_match` scan (which need not
        // track every pattern) settles those faster than `matches`.
        let b = joined.as_bytes();
        JointMatches(self.set.is_match(b).then(|| self.set.matches(b)))
    }
}

/// Which patterns of a [`Joint`] set matched (`None`: none did).
pub(super) struct JointMatches(Option<regex::bytes::SetMatches>);

impl JointMatches {
    pub(super) fn matched(&self, i: usize) -> bool {
        self.0.as_ref().is_some_and(|m| m.matched(i))
    }

    pub(super) fn any(&self) -> bool {
        self.0.as_ref().is_some_and(|m| m.matched_any())
    }
}

/// Whether a pattern may hold an assertion about the whole text that
/// multi-line mode does not turn into one about each line: `\A`, `\z`, or an
/// inline flag group that switches `m` off. Errs towards true.
fn anchored_to_text(p: &str) -> bool {
    if p.contains("\\A") || p.contains("\\z") {
        return true;
    }
    p.match_indices("(?").any(|(i, _)| {
        let flags: String = p[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .collect();
        flags.contains('-') && flags.contains('m')
    })
}

/// FxHash (as used in rustc): a fast, non-cryptographic hasher for the
/// lexicon maps, whose keys come from the rule files.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, mut bytes: &[u8]) {
        while bytes.len() >= 8 {
            self.add(u64::from_le_bytes(bytes[..8].try_into().unwrap()));
            bytes = &bytes[8..];
        }
        if bytes.len() >= 4 {
            self.add(u32::from_le_bytes(bytes[..4].try_into().unwrap()) as u64);
            bytes = &bytes[4..];
        }
        for &b in bytes {
            self.add(b as u64);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(super) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub(super) type FxHashSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_form_matches_like_the_unicode_form_on_ascii_text() {
        let pats = [
            r"(?i)\bdestructive\b",
            r"\w+credentials?",
            r"(?i)\b(reboots?|shut(s|ting)? ?down)\b",
            r"[^.\n]{0,5}x",
            r"(?i)k\s+s",
        ];
        let texts = [
            "Destructive op",
            "awscredentials here",
            "SHUTTING DOWN",
            "ab.cdx",
            "K\t S",
            "kelvin",
        ];
        for p in pats {
            let pat = Pat::new(p).unwrap();
            assert!(pat.ascii.is_some(), "{p}");
            let re = Regex::new(p).unwrap();
            for t in texts {
                assert_eq!(
                    pat.find(t),
                    re.find(t).map(|m| (m.start(), m.end())),
                    "{p} on {t}"
                );
            }
        }
        // Non-ASCII text takes the Unicode form.
        let pat = Pat::new(r"(?i)\bk\b").unwrap();
        assert!(pat.is_match("\u{212A}"));
    }

    #[test]
    fn joint_set_refuses_whole_text_anchors() {
        assert!(anchored_to_text(r"\Afoo"));
        assert!(anchored_to_text(r"foo\z"));
        assert!(anchored_to_text(r"(?-m)^foo"));
        assert!(anchored_to_text(r"(?i-m:^foo)"));
        assert!(!anchored_to_text(r"(?i)^foo[^.\n]$"));
        assert!(Joint::new(&[r"^a$"]).is_some());
        assert!(Joint::new(&[r"\Aa"]).is_none());
        let j = Joint::new(&[r"^ab$", r"\bcd\b", r"x"]).unwrap();
        let m = j.matches("x\nab\ny");
        assert!(m.matched(0) && !m.matched(1) && m.matched(2));
        let m = j.matches("xab\nacd");
        assert!(!m.matched(0) && !m.matched(1) && m.matched(2));
        assert!(j.matches("q\ncd").matched(1));
        assert!(!j.matches("q\nc").any());
    }

    #[test]
    fn fx_maps_find_str_keys() {
        let mut m: FxHashMap<String, usize> = FxHashMap::default();
        for (i, w) in ["list", "get", "look up", "a", "abcdefghijk"]
            .iter()
            .enumerate()
        {
            m.insert(w.to_string(), i);
        }
        assert_eq!(m.get("look up"), Some(&2));
        assert_eq!(m.get("abcdefghijk"), Some(&4));
        assert_eq!(m.get("lis"), None);
    }
}
