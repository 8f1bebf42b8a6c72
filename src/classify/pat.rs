//! Compiled patterns with an ASCII fast path, the joint one-pass set over
//! all of a tool's texts (a lazy DFA driven here, two parts of the text at
//! once), and a fast hasher for the lexicon maps.
//!
//! Every rule pattern is compiled twice: as written (Unicode-aware, used for
//! any text with non-ASCII characters) and, when it compiles that way, with
//! Unicode disabled as a byte pattern. On ASCII text the two match exactly
//! the same spans: `\w`, `\d`, `\s`, `\b`, `.` and `(?i)` differ only on
//! non-ASCII characters. The ASCII automata are much smaller, so the lazy DFA
//! builds fewer, cheaper states. Most texts the classifier reads are ASCII
//! (descriptions are folded to ASCII before phrase and suspicious matching).

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_automata::nfa::thompson;
use regex_automata::util::{pool::Pool, start, syntax};
use regex_automata::{hybrid, Anchored, MatchKind};
use std::panic::{RefUnwindSafe, UnwindSafe};
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
    /// See [`PatSet::scanned`].
    lazy: Option<Lazy>,
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
            lazy: None,
        })
    }

    /// With a one-pass scanner for ASCII text (see [`PatSet::matches_into`]):
    /// for a set run on every tool, where an `is_match` pass and then a
    /// second, overlapping pass cost more than one pass that records
    /// matches as it goes.
    pub(super) fn scanned(mut self, patterns: &[&str], multi_line: bool) -> PatSet {
        self.lazy = Lazy::new(patterns, multi_line);
        self
    }

    /// Indices of every pattern that matches `s`, ascending, into `out`
    /// (cleared first).
    pub(super) fn matches_into(&self, s: &str, out: &mut Vec<usize>) {
        out.clear();
        let lazy = self.lazy.as_ref().filter(|_| s.is_ascii());
        if let Some(found) = lazy.and_then(|l| l.scan(s.as_bytes(), None)) {
            out.extend(found.iter());
        } else if self.is_match(s) {
            out.extend(self.matches(s));
        }
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
///
/// The pass drives a lazy DFA itself (regex-automata's hybrid engine, as
/// the `regex` crate does inside) so that it can run two halves of the
/// joined texts, split between two texts, side by side: each step of a DFA
/// waits for the previous one's table lookup, and two independent walks
/// overlap those waits (measured: 255 → 210 ns a tool). Every pattern seen
/// in a match state along the way is recorded, so one pass says which
/// patterns match (the `regex` set needs an `is_match` and then a second,
/// overlapping search).
#[derive(Debug)]
pub(super) struct Joint {
    lazy: Lazy,
}

impl Joint {
    pub(super) fn new(patterns: &[&str]) -> Option<Joint> {
        if patterns.iter().any(|p| anchored_to_text(p)) {
            return None;
        }
        Lazy::new(patterns, true).map(|lazy| Joint { lazy })
    }

    /// The patterns that may match one of the texts joined into `joined`
    /// (which must be ASCII: the texts folded); `seps` holds the offset of
    /// each `\n` that separates two texts, ascending.
    pub(super) fn matches(&self, joined: &str, seps: &[usize]) -> JointMatches {
        debug_assert!(joined.is_ascii());
        let b = joined.as_bytes();
        // The separator nearest the middle splits the work in two.
        let at = seps.partition_point(|&p| p < b.len() / 2);
        let split = [at.checked_sub(1), Some(at)]
            .into_iter()
            .flatten()
            .filter_map(|i| seps.get(i).copied())
            .min_by_key(|&p| p.abs_diff(b.len() / 2));
        let (first, second) = match split {
            Some(p) => (&b[..p], Some(&b[p + 1..])),
            None => (b, None),
        };
        // `None` if the lazy DFA gave up (it cannot with this
        // configuration): then every pattern may match, and each is checked
        // on its own text.
        JointMatches(self.lazy.scan(first, second))
    }
}

/// A lazy DFA over ASCII bytes (regex-automata's hybrid engine, as the
/// `regex` crate uses inside) that reports every pattern matching anywhere
/// in one pass, with a cache per thread.
#[derive(Debug)]
struct Lazy {
    dfa: std::sync::Arc<hybrid::dfa::DFA>,
    caches: Pool<hybrid::dfa::Cache, CacheFn>,
    len: usize,
}

type CacheFn = Box<dyn Fn() -> hybrid::dfa::Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

impl Lazy {
    fn new(patterns: &[&str], multi_line: bool) -> Option<Lazy> {
        Lazy::with_capacity(patterns, multi_line, 1 << 26)
    }

    /// With a cache of `capacity` bytes: a lazy DFA that needs more clears
    /// its cache and starts again (small capacities test that).
    fn with_capacity(patterns: &[&str], multi_line: bool, capacity: usize) -> Option<Lazy> {
        let dfa = hybrid::dfa::DFA::builder()
            .syntax(
                syntax::Config::new()
                    .multi_line(multi_line)
                    .unicode(false)
                    .utf8(false),
            )
            .thompson(
                thompson::Config::new()
                    .utf8(false)
                    .which_captures(thompson::WhichCaptures::None)
                    .nfa_size_limit(Some(1 << 26)),
            )
            .configure(
                hybrid::dfa::Config::new()
                    .match_kind(MatchKind::All)
                    .cache_capacity(capacity)
                    .skip_cache_capacity_check(true),
            )
            .build_many(patterns)
            .ok()?;
        let dfa = std::sync::Arc::new(dfa);
        let for_pool = dfa.clone();
        let create: CacheFn = Box::new(move || for_pool.create_cache());
        Some(Lazy {
            dfa,
            caches: Pool::new(create),
            len: patterns.len(),
        })
    }

    /// The patterns matching `a` or `b` (`b` read as if after a `\n`),
    /// both scanned at once: each step of a DFA waits for the previous
    /// one's table lookup, and two independent walks overlap those waits.
    /// `None` when the lazy DFA gives up.
    fn scan(&self, a: &[u8], b: Option<&[u8]>) -> Option<Bits> {
        let dfa = &*self.dfa;
        let mut found = Bits::new(self.len);
        let mut guard = self.caches.get();
        let cache = &mut *guard;
        let start = start::Config::new().anchored(Anchored::No);
        // A lazy DFA that runs out of room clears its cache, and state IDs
        // from before are then void: a lane must not take another step
        // from one. Any step that builds states may clear, so after each
        // such step the pass gives up if the cache was cleared (`None`:
        // the caller checks every pattern on its own instead).
        let clears = cache.clear_count();
        let mut sa = dfa.start_state(cache, &start).ok()?;
        let start_b = start.look_behind(Some(b'\n'));
        let mut sb = dfa.start_state(cache, &start_b).ok()?;
        let cleared = |cache: &hybrid::dfa::Cache| cache.clear_count() != clears;
        if cleared(cache) {
            return None;
        }
        // Without `b` the second walk has nothing to read and no end.
        let lanes = if b.is_some() { 2 } else { 1 };
        let b = b.unwrap_or_default();
        let mut record = |cache: &hybrid::dfa::Cache, s: hybrid::LazyStateID| {
            if s.is_match() {
                for i in 0..dfa.match_len(cache, s) {
                    found.set(dfa.match_pattern(cache, s, i).as_usize());
                }
            }
        };
        // Any step: match states and transitions not built yet included.
        let full = |cache: &mut hybrid::dfa::Cache, s: hybrid::LazyStateID, x: u8| dfa.next_state(cache, s, x).ok();
        // The common step is a known transition from an ordinary state to
        // another, read directly from the table; anything tagged (a match
        // state, a transition not built yet) takes the full step.
        let n = a.len().min(b.len());
        let (a2, b2) = (&a[..n], &b[..n]);
        for i in 0..n {
            let (x, y) = (a2[i], b2[i]);
            if !(sa.is_tagged() || sb.is_tagged()) {
                let (na, nb) = (dfa.next_state_untagged(cache, sa, x), dfa.next_state_untagged(cache, sb, y));
                if !(na.is_tagged() || nb.is_tagged()) {
                    (sa, sb) = (na, nb);
                    continue;
                }
            }
            sa = full(cache, sa, x)?;
            if cleared(cache) {
                return None;
            }
            sb = full(cache, sb, y)?;
            if cleared(cache) {
                return None;
            }
            record(cache, sa);
            record(cache, sb);
        }
        for (s, rest) in [(&mut sa, &a[n..]), (&mut sb, &b[n..])].into_iter().take(lanes) {
            for &x in rest {
                if !s.is_tagged() {
                    let next = dfa.next_state_untagged(cache, *s, x);
                    if !next.is_tagged() {
                        *s = next;
                        continue;
                    }
                }
                *s = full(cache, *s, x)?;
                if cleared(cache) {
                    return None;
                }
                record(cache, *s);
            }
            *s = dfa.next_eoi_state(cache, *s).ok()?;
            if cleared(cache) {
                return None;
            }
            record(cache, *s);
        }
        Some(found)
    }
}

/// A set of pattern indices: inline for up to 256 patterns.
enum Bits {
    Inline([u64; 4]),
    Heap(Vec<u64>),
}

impl Bits {
    fn new(len: usize) -> Bits {
        if len <= 256 {
            Bits::Inline([0; 4])
        } else {
            Bits::Heap(vec![0; len.div_ceil(64)])
        }
    }

    fn words(&self) -> &[u64] {
        match self {
            Bits::Inline(w) => w,
            Bits::Heap(w) => w,
        }
    }

    fn words_mut(&mut self) -> &mut [u64] {
        match self {
            Bits::Inline(w) => w,
            Bits::Heap(w) => w,
        }
    }

    fn set(&mut self, i: usize) {
        self.words_mut()[i / 64] |= 1 << (i % 64);
    }

    fn get(&self, i: usize) -> bool {
        self.words().get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// The indices set, ascending.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words().iter().enumerate().flat_map(|(k, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let i = w.trailing_zeros() as usize;
                    w &= w - 1;
                    k * 64 + i
                })
            })
        })
    }
}

/// Which patterns of a [`Joint`] set matched (`None`: the pass gave up, so
/// any may have).
pub(super) struct JointMatches(Option<Bits>);

impl JointMatches {
    pub(super) fn matched(&self, i: usize) -> bool {
        self.0.as_ref().is_none_or(|b| b.get(i))
    }

    /// The patterns below `n` that matched, ascending, onto `out`.
    pub(super) fn matched_below(&self, n: usize, out: &mut Vec<usize>) {
        match &self.0 {
            Some(b) => out.extend(b.iter().take_while(|&i| i < n)),
            None => out.extend(0..n),
        }
    }

    pub(super) fn any(&self) -> bool {
        self.0.as_ref().is_none_or(|b| b.words().iter().any(|&w| w != 0))
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
        let m = j.matches("x\nab\ny", &[1, 4]);
        assert!(m.matched(0) && !m.matched(1) && m.matched(2));
        let m = j.matches("xab\nacd", &[3]);
        assert!(!m.matched(0) && !m.matched(1) && m.matched(2));
        assert!(j.matches("q\ncd", &[1]).matched(1));
        assert!(!j.matches("q\nc", &[1]).any());
    }

    /// Texts over a small alphabet that exercises word boundaries, line
    /// edges and empty matches (deterministic).
    fn texts(n: usize, alphabet: &[u8]) -> Vec<String> {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let len = (x % 9) as usize;
                (0..len)
                    .map(|k| alphabet[((x >> (8 + 5 * k)) % alphabet.len() as u64) as usize] as char)
                    .collect()
            })
            .collect()
    }

    const EDGY: [&str; 9] = [
        r"\B", r"^a", r"b$", r"(?i)\bxy\b", r"a*", r"[^.\n]{0,3}y", r"\w+b", r"^$", r"\bb",
    ];

    #[test]
    fn the_one_pass_scanner_finds_exactly_what_the_set_finds() {
        let set = PatSet::new(&EDGY).unwrap().scanned(&EDGY, false);
        let plain = RegexSet::new(EDGY).unwrap();
        let mut out = Vec::new();
        for t in texts(3000, b"abxy .\n") {
            set.matches_into(&t, &mut out);
            assert_eq!(out, plain.matches(&t).into_iter().collect::<Vec<_>>(), "{t:?}");
        }
        // Non-ASCII text takes the set as written.
        set.matches_into("\u{e9}b", &mut out);
        assert_eq!(out, plain.matches("\u{e9}b").into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_pass_whose_cache_is_cleared_gives_up_instead_of_guessing() {
        // The smallest cache there is: patterns with many states clear it
        // over and over, in the middle of texts and between the two lanes.
        let mut pats: Vec<String> = EDGY.iter().map(|p| p.to_string()).collect();
        pats.extend((0..12).map(|i| format!("(?i)[abxy]{{{}}}[.xy][ab ]{{2}}", i % 4 + 1)));
        let pats: Vec<&str> = pats.iter().map(String::as_str).collect();
        let lazy = Lazy::with_capacity(&pats, true, 0).unwrap();
        let plain = regex::RegexSetBuilder::new(&pats).multi_line(true).build().unwrap();
        let (mut answered, mut gave_up) = (0, 0);
        let pool = texts(600, b"abxy .");
        for pair in pool.chunks(2).filter(|p| p.len() == 2) {
            let long = format!("{}{}{}", pair[0], pair[1], pair[0]);
            match lazy.scan(long.as_bytes(), Some(pair[1].as_bytes())) {
                Some(found) => {
                    answered += 1;
                    let joined = format!("{long}\n{}", pair[1]);
                    let want: Vec<usize> = plain.matches(&joined).into_iter().collect();
                    assert_eq!(found.iter().collect::<Vec<_>>(), want, "{joined:?}");
                }
                None => gave_up += 1,
            }
        }
        assert!(lazy.caches.get().clear_count() > 0, "the cache was never cleared");
        assert!(gave_up > 0 && answered > 0, "{gave_up} gave up, {answered} answered");
    }

    #[test]
    fn the_split_joint_pass_reports_every_pattern_matching_a_text_on_its_own() {
        let joint = Joint::new(&EDGY).unwrap();
        let each: Vec<Regex> = EDGY.iter().map(|p| Regex::new(p).unwrap()).collect();
        let plain = regex::RegexSetBuilder::new(EDGY).multi_line(true).build().unwrap();
        let pool = texts(400, b"abxy .");
        for (k, group) in pool.chunks(4).enumerate() {
            let parts = &group[..1 + k % group.len()];
            let (mut joined, mut seps) = (String::new(), Vec::new());
            for (i, t) in parts.iter().enumerate() {
                if i > 0 {
                    seps.push(joined.len());
                    joined.push('\n');
                }
                joined.push_str(t);
            }
            let m = joint.matches(&joined, &seps);
            for (i, re) in each.iter().enumerate() {
                if parts.iter().any(|t| re.is_match(t)) {
                    assert!(m.matched(i), "{:?} on {parts:?}", EDGY[i]);
                }
            }
            // One text alone: exactly the set's answer in multi-line mode.
            if seps.is_empty() {
                let got: Vec<usize> = (0..EDGY.len()).filter(|&i| m.matched(i)).collect();
                assert_eq!(got, plain.matches(&joined).into_iter().collect::<Vec<_>>(), "{joined:?}");
            }
        }
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
