//! The classification mechanism: pick the tool's verb, run the compiled
//! phrase, object, parameter and suspicious-text rules, weigh the
//! annotations, and fold everything into one `Verdict`.
//!
//! Hot path notes: names are tokenised into reusable per-thread buffers
//! ([`Scratch`]), lexicon lookups take `&str` keys, pattern sets run once per
//! text (the joint and object sets as one lazy-DFA walk that records every
//! match, see `pat::Joint`), and the suspicious-text scan runs one prefilter
//! pass over all of a tool's texts before looking at any of them on its own.

use super::pat::JointMatches;
use super::tokenize::Tokens;
use super::{Effects, Force, JointRules, Rules, Scope};
use crate::model::{field, Category, Kind, Label, Reason, Risk, Signal, ToolRecord, Verdict};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// Where the deciding verb came from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// First or last token of the name (or any token when the name joins
    /// verbs with a conjunction, as in `get_or_create`).
    NameEdge,
    /// The description's leading verb.
    Description,
    /// A token in the middle of the name (`pool_get_disks`).
    NameMiddle,
    Title,
    /// Only words that are often nouns ("post", "export", "status").
    Ambiguous,
}

#[derive(Debug)]
struct Pick {
    group: usize,
    source: Source,
    /// The name holds both read and write verbs; the write one was chosen.
    mixed: bool,
}

/// A verb found in a token list: first and last token (equal unless a
/// two-word verb) and verb group.
#[derive(Debug, Clone, Copy)]
struct Cand {
    start: usize,
    end: usize,
    group: usize,
}

/// Per-thread buffers reused across calls so that classifying a tool
/// allocates little beyond the verdict itself.
#[derive(Default)]
pub(super) struct Scratch {
    name: Tokens,
    cat: Tokens,
    parent: Tokens,
    title: Tokens,
    prop: Tokens,
    obj_text: String,
    /// Lowercased leading words of a description and their spans.
    lead: String,
    lead_words: Vec<(usize, usize)>,
    /// Two-word lexicon keys and word stems are built here.
    key: String,
    /// Joined texts for the suspicious-text prefilter, and where each
    /// separating `\n` is.
    susp: String,
    susp_seps: Vec<usize>,
    susp_raw: String,
    /// Per property: `joined`, `compact` and `last` keys in `param_keys`.
    param_keys: String,
    param_spans: Vec<[(usize, usize); 3]>,
    seen: Vec<usize>,
    /// Per combo group: the first property matching it.
    combo_first: Vec<usize>,
    /// The picked verb's word(s), and the description's or title's
    /// leading verb.
    word: String,
    lead_word: String,
    /// Object rules (and their `unless` patterns) matching the name, and
    /// each matching pattern's span.
    obj_matched: Vec<usize>,
    obj_spans: Vec<Option<Option<(usize, usize)>>>,
    /// The phrase rules the joint pass (or the phrase set) says match.
    phrase_hits: Vec<usize>,
    /// The rules that fired (see [`relabel`]).
    fired: Vec<Fired<'static>>,
    /// Verbs found in the name and in the title.
    cands: Vec<Cand>,
    title_cands: Vec<Cand>,
}

thread_local! {
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// Category severity: read < write < destructive < execute < financial.
fn rank(c: Category) -> u8 {
    match c {
        Category::Read => 0,
        Category::Write => 1,
        Category::Destructive => 2,
        Category::Execute => 3,
        Category::Financial => 4,
    }
}

fn base_risk(c: Category) -> Risk {
    match c {
        Category::Read => Risk::Low,
        Category::Write => Risk::Medium,
        Category::Destructive | Category::Execute | Category::Financial => Risk::High,
    }
}

/// Non-ASCII characters become spaces so the rule patterns (written for
/// ASCII text) run on the fast DFA path and `\b` behaves predictably.
fn fold_ascii(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .map(|c| if c.is_ascii() { c } else { ' ' })
                .collect(),
        )
    }
}

/// Append `s` to `buf` with non-ASCII characters as spaces (as
/// [`fold_ascii`]).
fn push_folded(buf: &mut String, s: &str) {
    if s.is_ascii() {
        buf.push_str(s);
    } else {
        buf.extend(s.chars().map(|c| if c.is_ascii() { c } else { ' ' }));
    }
}

/// At most `n` characters of `s`, trimmed (evidence stays short); displays
/// as the text, with `…` when cut.
struct Clip<'a>(&'a str, usize);

impl fmt::Display for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.trim();
        match s.char_indices().nth(self.1) {
            Some((i, _)) => {
                f.write_str(&s[..i])?;
                f.write_str("…")
            }
            None => f.write_str(s),
        }
    }
}

/// At most `n` characters of `s` (evidence stays short).
fn clip(s: &str, n: usize) -> String {
    Clip(s, n).to_string()
}

/// [`Clip`] as (text, `…` or nothing), for `cat!`.
fn clipped(s: &str, n: usize) -> (&str, &str) {
    let s = s.trim();
    if s.len() <= n {
        // No more characters than bytes.
        return (s, "");
    }
    match s.char_indices().nth(n) {
        Some((i, _)) => (&s[..i], "…"),
        None => (s, ""),
    }
}

/// The parts joined into one exactly sized string (cheaper than `format!`
/// on the hot path).
macro_rules! cat {
    ($($part:expr),+ $(,)?) => {{
        // Expanded in place, the loop is unrolled and literal parts are
        // copied with their length known (no call to `memcpy` for a quote).
        let parts: [&str; _] = [$($part),+];
        let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            s.push_str(p);
        }
        s
    }};
}

struct Out {
    signals: Vec<Signal>,
    reasons: Vec<Reason>,
}

impl Out {
    fn has(&self, name: &str) -> bool {
        self.signals.iter().any(|s| s.name == name)
    }

    fn signal(&mut self, name: &'static str, evidence: impl Into<Label>) {
        if !self.has(name) {
            self.signals.push(Signal {
                name: Label::Borrowed(name),
                evidence: evidence.into(),
            });
        }
    }

    /// As [`Out::signal`], building the evidence only when it is kept.
    fn signal_with(&mut self, name: &'static str, evidence: impl FnOnce() -> String) {
        if !self.has(name) {
            self.signals.push(Signal {
                name: Label::Borrowed(name),
                evidence: Label::Owned(evidence()),
            });
        }
    }

    fn reason(&mut self, rule: &'static str, matched: impl Into<Label>) {
        self.reasons.push(Reason {
            rule: Label::Borrowed(rule),
            matched: matched.into(),
        });
    }
}

/// A description's leading words, read only as far as needed: runs of ASCII
/// letters and apostrophes (every other character, non-ASCII included,
/// separates), from the first 12 such runs, apostrophes trimmed, lowercased,
/// empty ones dropped.
struct LeadWords<'a> {
    text: &'a str,
    pos: usize,
    /// Runs read so far (at most 12).
    pieces: usize,
    buf: &'a mut String,
    /// Each word's span in `buf`.
    words: &'a mut Vec<(usize, usize)>,
}

impl LeadWords<'_> {
    /// Whether there are at least `n` words.
    fn has(&mut self, n: usize) -> bool {
        let b = self.text.as_bytes();
        let is_word = |c: u8| c.is_ascii_alphabetic() || c == b'\'';
        while self.words.len() < n && self.pieces < 12 {
            while self.pos < b.len() && !is_word(b[self.pos]) {
                self.pos += 1;
            }
            if self.pos >= b.len() {
                break;
            }
            let start = self.pos;
            while self.pos < b.len() && is_word(b[self.pos]) {
                self.pos += 1;
            }
            self.pieces += 1;
            let w = self.text[start..self.pos].trim_matches('\'');
            if !w.is_empty() {
                let at = self.buf.len();
                self.buf.push_str(w);
                self.buf[at..].make_ascii_lowercase();
                self.words.push((at, self.buf.len()));
            }
        }
        self.words.len() >= n
    }

    /// Word `k` (which [`LeadWords::has`] said is there).
    fn word(&self, k: usize) -> &str {
        let (a, b) = self.words[k];
        &self.buf[a..b]
    }
}

/// What the joint pass (see `pat::Joint`) found over a tool's texts: which
/// patterns may match their own text. Without a joint set every pattern
/// may.
struct Hits<'r> {
    joint: Option<(&'r JointRules, JointMatches)>,
    /// Every string of the input schema was among the texts.
    schema_in: bool,
}

impl Hits<'_> {
    /// Whether the pattern at `ix` of the joint set may match its text.
    fn may(&self, ix: impl FnOnce(&JointRules) -> Option<usize>) -> bool {
        match &self.joint {
            Some((j, m)) => ix(j).is_none_or(|i| m.matched(i)),
            None => true,
        }
    }
}

/// A rule that matched, with the text that made it match.
struct Fired<'r> {
    effects: &'r Effects,
    evidence: String,
}

/// An emptied vector of fired rules, its buffer kept for the next tool
/// (collecting from an emptied vector's iterator reuses its allocation).
fn relabel<'a, 'b>(mut v: Vec<Fired<'a>>) -> Vec<Fired<'b>> {
    v.clear();
    v.into_iter().map(|_| unreachable!("emptied")).collect()
}

impl Rules {
    /// Judge one tool. Pure and allocation-light: every pattern was compiled
    /// at load; the name is tokenised once into reused buffers.
    pub fn classify(&self, tool: &ToolRecord) -> Verdict {
        self.with_scratch(|s| self.classify_in(tool, s))
    }

    /// Run `f` with this thread's reusable buffers.
    pub(super) fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        let mut scratch = SCRATCH.with(Cell::take).unwrap_or_default();
        let r = f(&mut scratch);
        SCRATCH.with(|c| c.set(Some(scratch)));
        r
    }

    pub(super) fn classify_in(&self, tool: &ToolRecord, s: &mut Scratch) -> Verdict {
        let mut out = Out {
            signals: Vec::new(),
            reasons: Vec::with_capacity(8),
        };
        s.name.fill(&tool.name);
        s.cat.fill(tool.category.as_deref().unwrap_or(""));
        s.parent.fill(tool.parent.as_deref().unwrap_or(""));
        let description = tool.description.as_deref().unwrap_or("");
        let title = tool.title.as_deref().unwrap_or("");
        let text: Cow<'_, str> = if title.is_empty() {
            Cow::Borrowed(description)
        } else {
            Cow::Owned(format!("{title}\n{description}"))
        };
        let folded = fold_ascii(&text);
        // The object patterns' text: the name's tokens, then " / " and the
        // expansion category's tokens when there is one.
        let obj_text: &str = if s.cat.is_empty() {
            s.name.spaced()
        } else {
            s.obj_text.clear();
            s.obj_text.push_str(s.name.spaced());
            s.obj_text.push_str(" / ");
            s.obj_text.push_str(s.cat.spaced());
            &s.obj_text
        };
        let (hits, suspicious_may_match) =
            self.joint_pass(tool, &text, &folded, &mut s.susp, &mut s.susp_seps, &mut s.susp_raw);

        // Hardening checks run first and survive overrides.
        let suspicious = if suspicious_may_match {
            self.scan_suspicious(tool, &text, &folded, &mut out)
        } else {
            None
        };
        if tool.flags.iter().any(|f| f == "unsafe-name") {
            out.signal(
                "unsafe-name",
                format!(
                    "name {:?} is not [A-Za-z0-9_.-]{{1,128}}",
                    clip(&tool.name, 60)
                ),
            );
        }

        if let Some(o) = self
            .overrides
            .iter()
            .find(|o| o.server.is_match(&tool.server) && o.tool.is_match(&tool.name))
        {
            out.reason(o.id, format!("{}/{}", tool.server, tool.name));
            return Verdict {
                kind: o.kind,
                category: o.category,
                risk: suspicious.map_or(o.risk, |s| s.max(o.risk)),
                signals: out.signals,
                reasons: out.reasons,
                confidence: 1.0,
                rules_hash: Label::Borrowed(self.hash),
            };
        }

        // 1. The verb, from the name minus tokens naming the expansion
        // category or the parent tool (all of it when nothing is left).
        let tokens = &s.name;
        let (cat_tokens, parent_tokens) = (&s.cat, &s.parent);
        let skipped =
            |t: &str| cat_tokens.iter().any(|c| c == t) || parent_tokens.iter().any(|p| p == t);
        let keep_all =
            (cat_tokens.is_empty() && parent_tokens.is_empty()) || tokens.iter().all(skipped);
        // Usually a handful of tokens: kept on the stack.
        let mut small = [""; 16];
        let mut large = Vec::new();
        let mut n = 0;
        for t in tokens.iter().filter(|t| keep_all || !skipped(t)) {
            if n < small.len() {
                small[n] = t;
            } else {
                if n == small.len() {
                    large.extend_from_slice(&small);
                }
                large.push(t);
            }
            n += 1;
        }
        let kept: &[&str] = if n <= small.len() {
            &small[..n]
        } else {
            &large
        };
        let pick = self.pick_verb(
            kept,
            description,
            title,
            &mut s.title,
            &mut s.key,
            &mut s.lead,
            &mut s.lead_words,
            &mut s.cands,
            &mut s.title_cands,
            &mut s.word,
            &mut s.lead_word,
        );
        let word = s.word.as_str();

        // 2. Everything else that matched. With a joint pass, each rule it
        // reports is checked on its own text (finding the evidence anyway);
        // without, the family's own set says which rules match.
        let mut fired = relabel(std::mem::take(&mut s.fired));
        s.phrase_hits.clear();
        match &hits.joint {
            // Phrase `i` is pattern `i` of the joint set.
            Some((_, m)) => m.matched_below(self.phrases.each.len(), &mut s.phrase_hits),
            // The set may hold more patterns after the rules' own.
            None if self.phrases.set.is_match(&folded) => s.phrase_hits.extend(
                self.phrases.set.matches(&folded).take_while(|&i| i < self.phrases.each.len()),
            ),
            None => {}
        }
        for &i in &s.phrase_hits {
            let Some(m) = self.phrases.each[i].find_str(&folded) else {
                continue;
            };
            if self.phrases.unless[i]
                .as_ref()
                .is_some_and(|u| hits.may(|j| j.phrase_unless[i]) && u.is_match(&folded))
            {
                continue;
            }
            let (m, more) = clipped(m, 80);
            fired.push(Fired {
                effects: &self.phrases.effects[i],
                evidence: cat!("description: \"", m, more, "\""),
            });
        }
        // One set pass says which object rules match and which of their
        // `unless` patterns do (those follow the rules in the set).
        let objects = &self.objects;
        objects.set.matches_into(obj_text, &mut s.obj_matched);
        s.obj_spans.clear();
        s.obj_spans.resize(objects.each.len(), None);
        for &i in &s.obj_matched {
            if i >= objects.each.len() {
                break;
            }
            if objects.unless_at[i].is_some_and(|u| s.obj_matched.contains(&u)) {
                continue;
            }
            let c = objects.same_as[i];
            let span = *s.obj_spans[c].get_or_insert_with(|| objects.each[c].find(obj_text));
            let m = span.map_or("", |(a, b)| &obj_text[a..b]);
            fired.push(Fired {
                effects: &objects.effects[i],
                evidence: cat!("name: \"", m.trim(), "\""),
            });
        }
        self.match_params(
            tool,
            &folded,
            &hits,
            &mut fired,
            &mut s.prop,
            &mut s.param_keys,
            &mut s.param_spans,
            &mut s.seen,
            &mut s.combo_first,
        );

        // 3. Kind, weighing the annotations.
        let ro = tool.hint("readOnlyHint");
        let de = tool.hint("destructiveHint");
        let verb_class = pick.as_ref().map(|p| self.verb_groups[p.group].class);
        let verb_writes = verb_class.is_some_and(|c| c != Category::Read);
        let verb_reads = verb_class == Some(Category::Read);
        let firm_verb = pick.as_ref().is_some_and(|p| p.source != Source::Ambiguous);
        // Verbs that override readOnlyHint=true: destroying, executing,
        // paying, disrupting, changing privileges. An ordinary create/run
        // under readOnlyHint=true ("run_report") follows the author.
        let severe_verb = pick.as_ref().is_some_and(|p| {
            let g = &self.verb_groups[p.group];
            matches!(
                g.class,
                Category::Destructive | Category::Execute | Category::Financial
            ) || g.risk.is_some_and(|r| r >= Risk::High)
        });
        let strong = fired
            .iter()
            .find(|f| f.effects.force == Some(Force::Strong));
        let weak = fired.iter().find(|f| f.effects.force == Some(Force::Weak));
        let verb_desc =
            |p: &Pick| format!("verb \"{}\" ({})", word, self.verb_groups[p.group].id);
        let mut conflicts: Vec<String> = Vec::new();
        let kind = match ro {
            Some(true) => {
                if let Some(f) = strong {
                    conflicts.push(format!("readOnlyHint=true but {}", f.evidence));
                    Kind::Write
                } else if verb_writes && firm_verb && severe_verb {
                    conflicts.push(format!(
                        "readOnlyHint=true but {}",
                        verb_desc(pick.as_ref().unwrap())
                    ));
                    Kind::Write
                } else if de == Some(true) {
                    conflicts.push("readOnlyHint=true and destructiveHint=true".to_string());
                    Kind::Write
                } else {
                    Kind::Read
                }
            }
            Some(false) => {
                if verb_reads && firm_verb && strong.is_none() && weak.is_none() {
                    conflicts.push(format!(
                        "readOnlyHint=false but {} reads",
                        verb_desc(pick.as_ref().unwrap())
                    ));
                }
                Kind::Write
            }
            None => {
                if strong.is_some() || weak.is_some() || verb_writes {
                    Kind::Write
                } else if de == Some(true) {
                    if verb_reads && firm_verb {
                        conflicts.push(format!(
                            "destructiveHint=true but {} reads",
                            verb_desc(pick.as_ref().unwrap())
                        ));
                    }
                    Kind::Write
                } else {
                    Kind::Read
                }
            }
        };
        for (rule, v) in [("hint.readOnlyHint", ro), ("hint.destructiveHint", de)] {
            if let Some(v) = v {
                out.reason(rule, if v { "true" } else { "false" });
            }
        }
        if tool.hint("openWorldHint") == Some(true) {
            out.signal("network-egress", "openWorldHint=true");
            out.reason("hint.openWorldHint", "true");
        }

        // 4. Category and risk from the verb and every rule in scope.
        let applies = |e: &Effects| {
            e.when_category.is_empty()
                && (e.force.is_none() || kind == Kind::Write)
                && match e.scope {
                    Scope::Any => true,
                    Scope::Read => kind == Kind::Read,
                    Scope::Write => kind == Kind::Write,
                }
        };
        let mut category = if kind == Kind::Read {
            Category::Read
        } else {
            Category::Write
        };
        let mut risk = Risk::Low;
        let mut destructive_from_heuristics = false;
        if let Some(p) = &pick {
            let g = &self.verb_groups[p.group];
            let src = match p.source {
                Source::NameEdge | Source::NameMiddle => "name",
                Source::Description => "description",
                Source::Title => "title",
                Source::Ambiguous => "name or description",
            };
            out.reason(g.id, cat!(src, ": \"", word, "\""));
            if p.mixed {
                out.reason(
                    "verb.mixed",
                    "name has both read and write verbs: write wins",
                );
            }
            if (g.class == Category::Read) == (kind == Kind::Read) {
                if rank(g.class) > rank(category) {
                    category = g.class;
                }
                if g.class == Category::Destructive {
                    destructive_from_heuristics = true;
                }
                if let Some(r) = g.risk {
                    risk = risk.max(r);
                }
                for sig in &g.signals {
                    out.signal_with(sig, || cat!(src, " verb \"", word, "\""));
                }
            }
        } else {
            out.reason("verb.none", "no known verb in name, title or description");
        }
        let has_strong = strong.is_some();
        // The evidence moves into the reason (after the signals copy it).
        for f in fired.iter_mut().filter(|f| applies(f.effects)) {
            let e = f.effects;
            for sig in &e.signals {
                out.signal_with(sig, || f.evidence.clone());
            }
            out.reason(e.id, std::mem::take(&mut f.evidence));
            if let Some(c) = e.category {
                if kind == Kind::Write && rank(c) > rank(category) {
                    category = c;
                }
                if c == Category::Destructive {
                    destructive_from_heuristics = true;
                }
            }
            if let Some(r) = e.risk {
                risk = risk.max(r);
            }
        }
        if kind == Kind::Write && de == Some(true) && rank(category) < rank(Category::Destructive) {
            category = Category::Destructive;
            out.signal("destructive", "destructiveHint=true");
        }
        if de == Some(false) && destructive_from_heuristics && category == Category::Destructive {
            conflicts.push("destructiveHint=false but the tool deletes or destroys".to_string());
        }
        risk = risk.max(base_risk(category));
        for f in fired.iter().filter(|f| !f.effects.when_category.is_empty()) {
            let e = f.effects;
            let scope_ok = match e.scope {
                Scope::Any => true,
                Scope::Read => kind == Kind::Read,
                Scope::Write => kind == Kind::Write,
            };
            if scope_ok && e.when_category.contains(&category) {
                out.reason(e.id, f.evidence.clone());
                if let Some(r) = e.risk {
                    risk = risk.max(r);
                }
                for sig in &e.signals {
                    out.signal_with(sig, || f.evidence.clone());
                }
            }
        }
        if !conflicts.is_empty() {
            out.signal("annotation-conflict", conflicts.join("; "));
            out.reason("hint.conflict", conflicts.join("; "));
        }
        if let Some(s) = suspicious {
            risk = risk.max(s);
        }

        // 5. Confidence: how firm the deciding evidence was.
        let mut confidence: f64 = match pick.as_ref().map(|p| p.source) {
            Some(Source::NameEdge) => 0.8,
            Some(Source::Description) | Some(Source::NameMiddle) => 0.7,
            Some(Source::Title) => 0.65,
            Some(Source::Ambiguous) => 0.55,
            None => 0.3,
        };
        if has_strong && kind == Kind::Write {
            confidence = confidence.max(0.8);
        }
        let hint_agrees = match ro {
            Some(true) => kind == Kind::Read,
            Some(false) => kind == Kind::Write,
            None => false,
        };
        if hint_agrees {
            confidence += 0.15;
        }
        if !conflicts.is_empty() {
            confidence -= 0.25;
        }
        if pick.as_ref().is_some_and(|p| p.mixed) {
            confidence -= 0.1;
        }

        s.fired = relabel(fired);
        Verdict {
            kind,
            category,
            risk,
            signals: out.signals,
            reasons: out.reasons,
            confidence: (confidence.clamp(0.05, 0.99) * 100.0).round() / 100.0,
            rules_hash: Label::Borrowed(self.hash),
        }
    }

    /// Verb from the name (`kept`: its tokens minus those naming the
    /// expansion category or the parent tool), the description's leading
    /// word, or the title.
    #[allow(clippy::too_many_arguments)]
    fn pick_verb(
        &self,
        kept: &[&str],
        description: &str,
        title: &str,
        title_tokens: &mut Tokens,
        key: &mut String,
        lead: &mut String,
        lead_words: &mut Vec<(usize, usize)>,
        cands: &mut Vec<Cand>,
        tcands: &mut Vec<Cand>,
        word: &mut String,
        lead_word: &mut String,
    ) -> Option<Pick> {
        self.find_verbs(kept, key, cands);
        let cands = &cands[..];
        let n = kept.len();
        let conj = kept
            .iter()
            .any(|t| self.conjunctions.iter().any(|c| c == t));
        let unamb = |c: &Cand| !self.verb_groups[c.group].ambiguous;
        let is_edge = |c: &Cand| c.start == 0 || c.end + 1 == n;
        if let Some(p) = self.choose(
            cands,
            |c| unamb(c) && (conj || is_edge(c)),
            kept,
            n,
            Source::NameEdge,
            conj,
            word,
        ) {
            return Some(p);
        }
        // A leading verb of the description or title: its word becomes
        // the pick's.
        let from_lead = |group: usize, source: Source, word: &mut String, lead_word: &str| {
            word.clear();
            word.push_str(lead_word);
            Some(Pick {
                group,
                source,
                mixed: false,
            })
        };
        let lead_found = self.lead_verb(description, key, lead, lead_words, lead_word);
        if let Some(g) = lead_found.filter(|&g| !self.verb_groups[g].ambiguous) {
            return from_lead(g, Source::Description, word, lead_word);
        }
        if let Some(p) = self.choose(cands, unamb, kept, n, Source::NameMiddle, conj, word) {
            return Some(p);
        }
        title_tokens.fill(title);
        if !title_tokens.is_empty() {
            let title_kept: Vec<&str> = title_tokens.iter().collect();
            self.find_verbs(&title_kept, key, tcands);
            if let Some(p) = self.choose(
                tcands,
                unamb,
                &title_kept,
                title_kept.len(),
                Source::Title,
                conj,
                word,
            ) {
                return Some(p);
            }
        }
        if let Some(p) = self.choose(cands, |_| true, kept, n, Source::Ambiguous, conj, word) {
            return Some(p);
        }
        if let Some(g) = lead_found {
            return from_lead(g, Source::Ambiguous, word, lead_word);
        }
        // The description's words split at every non-ASCII character just
        // as the title folded to ASCII does, so the title is read as is.
        let g = self.lead_verb(title, key, lead, lead_words, lead_word)?;
        from_lead(g, Source::Ambiguous, word, lead_word)
    }

    /// Each verb in the tokens, into `out`; two-word verbs ("roll back")
    /// first.
    fn find_verbs(&self, kept: &[&str], key: &mut String, out: &mut Vec<Cand>) {
        out.clear();
        let mut i = 0;
        while i < kept.len() {
            // One lookup says whether the token is a verb and whether it
            // may start a two-word one.
            let word = self.words.get(kept[i]).copied().unwrap_or_default();
            if i + 1 < kept.len() && word.head {
                key.clear();
                key.push_str(kept[i]);
                key.push(' ');
                key.push_str(kept[i + 1]);
                if self.nouns.contains(key.as_str()) {
                    i += 2;
                    continue;
                }
                if let Some(&g) = self.verbs.get(key.as_str()) {
                    out.push(Cand {
                        start: i,
                        end: i + 1,
                        group: g,
                    });
                    i += 2;
                    continue;
                }
            }
            if let Some(g) = word.verb {
                out.push(Cand {
                    start: i,
                    end: i,
                    group: g,
                });
            }
            i += 1;
        }
    }

    /// Among candidate verbs (those `cands` passing `keep`) of a name of `n`
    /// tokens: normally the verb at the start (verb-first names are the
    /// common style), else the one at the end, else the leftmost. When the
    /// name joins verbs with a conjunction (`get_or_create`), any write wins
    /// over reads (cautious; marks `mixed`) and the most severe write wins.
    /// The chosen verb's word(s) go into `out`.
    #[allow(clippy::too_many_arguments)]
    fn choose(
        &self,
        cands: &[Cand],
        keep: impl Fn(&Cand) -> bool,
        tokens: &[&str],
        n: usize,
        source: Source,
        conj: bool,
        out: &mut String,
    ) -> Option<Pick> {
        let mut word = |c: &Cand| {
            out.clear();
            out.push_str(tokens[c.start]);
            if c.start != c.end {
                out.push(' ');
                out.push_str(tokens[c.end]);
            }
        };
        let mut kept = cands.iter().filter(|c| keep(c));
        let first = *kept.next()?;
        let kept = || cands.iter().filter(|c| keep(c));
        let is_read = |c: &Cand| self.verb_groups[c.group].class == Category::Read;
        if conj {
            // max_by_key keeps the last of equal keys; starts are distinct,
            // so the key never ties.
            let chosen = kept().filter(|c| !is_read(c)).max_by_key(|c| {
                let g = &self.verb_groups[c.group];
                (
                    rank(g.class),
                    g.risk.unwrap_or(Risk::Low),
                    std::cmp::Reverse(c.start),
                )
            });
            if let Some(chosen) = chosen {
                word(chosen);
                return Some(Pick {
                    group: chosen.group,
                    source,
                    mixed: kept().any(is_read),
                });
            }
        }
        let chosen = kept()
            .find(|c| c.start == 0)
            .or_else(|| kept().find(|c| c.end + 1 == n))
            .copied()
            .unwrap_or(first);
        word(&chosen);
        Some(Pick {
            group: chosen.group,
            source,
            mixed: false,
        })
    }

    /// The description's leading verb ("Lists all pools" → list), after
    /// stripping preambles such as "Use this tool to".
    fn lead_verb(
        &self,
        description: &str,
        key: &mut String,
        buf: &mut String,
        words: &mut Vec<(usize, usize)>,
        out: &mut String,
    ) -> Option<usize> {
        let mut lead = LeadWords {
            text: description,
            pos: 0,
            pieces: 0,
            buf,
            words,
        };
        lead.buf.clear();
        lead.words.clear();
        let mut start = 0;
        for _ in 0..2 {
            // Cheap test first: no preamble starts with this word.
            if !lead.has(start + 1) || !self.preamble_heads.contains(lead.word(start)) {
                break;
            }
            let mut best: Option<usize> = None;
            for p in &self.preambles {
                // Enough words after it (rest > p.len()), and it is a prefix.
                if lead.has(start + p.len() + 1)
                    && p.iter()
                        .enumerate()
                        .all(|(j, pw)| lead.word(start + j) == pw)
                    && best.is_none_or(|b| p.len() >= b)
                {
                    best = Some(p.len());
                }
            }
            match best {
                Some(len) => start += len,
                None => break,
            }
        }
        if !lead.has(start + 1) {
            return None;
        }
        if lead.has(start + 2) && self.bigram_heads.contains(lead.word(start)) {
            let (w1, w2) = (lead.word(start), lead.word(start + 1));
            key.clear();
            key.push_str(w1);
            key.push(' ');
            key.push_str(w2);
            if self.nouns.contains(key.as_str()) {
                return None;
            }
            if let Some(&g) = self.verbs.get(key.as_str()) {
                out.clear();
                out.push_str(key);
                return Some(g);
            }
        }
        let w1 = lead.word(start);
        let g = self.stem_lookup(w1, key)?;
        out.clear();
        out.push_str(w1);
        Some(g)
    }

    /// The verb group of the word or of its first likely base form that is
    /// in the lexicon: lists → list, applies → apply, created → create,
    /// running → run(n)/runne… (only lexicon hits matter).
    fn stem_lookup(&self, w: &str, buf: &mut String) -> Option<usize> {
        let get = |s: &str| self.verbs.get(s).copied();
        let with = |buf: &mut String, s: &str, tail: char| {
            buf.clear();
            buf.push_str(s);
            buf.push(tail);
            self.verbs.get(buf.as_str()).copied()
        };
        if let Some(g) = get(w) {
            return Some(g);
        }
        if w.len() > 3 {
            if let Some(s) = w.strip_suffix("ies") {
                if let Some(g) = with(buf, s, 'y') {
                    return Some(g);
                }
            }
            if let Some(g) = w.strip_suffix("es").and_then(get) {
                return Some(g);
            }
            if let Some(s) = w.strip_suffix('s') {
                if !s.ends_with('s') {
                    if let Some(g) = get(s) {
                        return Some(g);
                    }
                }
            }
            if let Some(s) = w.strip_suffix("ed") {
                if let Some(g) = get(s).or_else(|| get(&w[..w.len() - 1])) {
                    return Some(g);
                }
            }
            if let Some(s) = w.strip_suffix("ing") {
                if let Some(g) = get(s).or_else(|| with(buf, s, 'e')) {
                    return Some(g);
                }
            }
        }
        None
    }

    /// Parameter and combo rules over the input schema's top-level properties.
    #[allow(clippy::too_many_arguments)]
    fn match_params<'r>(
        &'r self,
        tool: &ToolRecord,
        folded_text: &str,
        hits: &Hits<'_>,
        fired: &mut Vec<Fired<'r>>,
        toks: &mut Tokens,
        keys: &mut String,
        spans: &mut Vec<[(usize, usize); 3]>,
        seen: &mut Vec<usize>,
        first: &mut Vec<usize>,
    ) {
        let Some(props) = field(&tool.input_schema, "properties").and_then(Value::as_object) else {
            return;
        };
        keys.clear();
        spans.clear();
        // For each combo group, the first property (in schema order) whose
        // joined, compact or last name is in the group.
        const NONE: usize = usize::MAX;
        first.clear();
        first.resize(*self.combo_slots.last().unwrap_or(&0), NONE);
        for (pname, pschema) in props {
            // The name's tokens joined by `_`, concatenated, and the last.
            let a = keys.len();
            if !pname.is_empty()
                && pname
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                // One lowercase token, the name itself: all three are it.
                keys.push_str(pname);
                let b = keys.len();
                spans.push([(a, b); 3]);
            } else {
                toks.fill(pname);
                let Some(last) = toks.last() else {
                    continue;
                };
                for (i, t) in toks.iter().enumerate() {
                    if i > 0 {
                        keys.push('_');
                    }
                    keys.push_str(t);
                }
                let b = keys.len();
                for t in toks.iter() {
                    keys.push_str(t);
                }
                let c = keys.len();
                keys.push_str(last);
                let d = keys.len();
                spans.push([(a, b), (b, c), (c, d)]);
            }
            let [(a, b), (c, d), (e, f)] = spans[spans.len() - 1];
            let (joined, compact, last) = (&keys[a..b], &keys[c..d], &keys[e..f]);
            // Each distinct key looked up once.
            let at_joined = self.param_keys.get(joined);
            let at_compact = if compact == joined { None } else { self.param_keys.get(compact) };
            let at_last = if last == joined {
                at_joined
            } else if last == compact {
                at_compact
            } else {
                self.param_keys.get(last)
            };
            let p = spans.len() - 1;
            for k in [at_joined, at_compact, at_last].into_iter().flatten() {
                for &slot in &k.combo {
                    if first[slot] == NONE {
                        first[slot] = p;
                    }
                }
            }
            let desc = field(pschema, "description")
                .and_then(Value::as_str)
                .unwrap_or("");
            let ty = field(pschema, "type");
            // A type is given and every one of them is skipped by the rule.
            let skipped_type = |skip: &[String]| -> bool {
                match ty {
                    Some(Value::String(t)) => skip.iter().any(|s| s == t),
                    Some(Value::Array(a)) => {
                        let mut any = false;
                        for t in a.iter().filter_map(Value::as_str) {
                            if !skip.iter().any(|s| s == t) {
                                return false;
                            }
                            any = true;
                        }
                        any
                    }
                    _ => false,
                }
            };
            let mut desc_folded: Option<Cow<'_, str>> = None;
            seen.clear();
            // The same rules twice would be skipped as seen: look up once.
            let by_name = [at_joined, at_compact].into_iter().flatten().flat_map(|k| &k.names);
            let by_last = at_last.into_iter().flat_map(|k| &k.last);
            for &i in by_name.chain(by_last).chain(self.param_any.iter()) {
                if seen.contains(&i) {
                    continue;
                }
                seen.push(i);
                let r = &self.params[i];
                if r.tool_unless.as_ref().is_some_and(|u| {
                    hits.may(|j| j.param_tool_unless[i]) && u.is_match(folded_text)
                }) {
                    continue;
                }
                if skipped_type(&r.skip_types) {
                    continue;
                }
                if let Some(d) = &r.description {
                    // An empty description is no text of the joint pass.
                    let matched = if desc.is_empty() {
                        r.description_matches_empty
                    } else {
                        (!hits.schema_in || hits.may(|j| j.param_description[i]))
                            && d.is_match(desc_folded.get_or_insert_with(|| fold_ascii(desc)))
                    };
                    if !matched {
                        continue;
                    }
                }
                let (name, more) = clipped(pname, 40);
                let evidence = if desc.is_empty() {
                    cat!("parameter \"", name, more, "\"")
                } else {
                    let (d, dmore) = clipped(desc, 60);
                    cat!("parameter \"", name, more, "\" (", d, dmore, ")")
                };
                fired.push(Fired {
                    effects: &r.effects,
                    evidence,
                });
            }
        }
        for (ci, c) in self.combos.iter().enumerate() {
            let slots = &first[self.combo_slots[ci]..self.combo_slots[ci + 1]];
            if slots.contains(&NONE) {
                continue;
            }
            if c.description
                .as_ref()
                .is_none_or(|d| hits.may(|j| j.combo_description[ci]) && d.is_match(folded_text))
            {
                let mut evidence = String::from("parameters ");
                for (n, &p) in slots.iter().enumerate() {
                    if n > 0 {
                        evidence.push_str(" + ");
                    }
                    let (a, b) = spans[p][0];
                    evidence.push_str(&keys[a..b]);
                }
                fired.push(Fired {
                    effects: &c.effects,
                    evidence,
                });
            }
        }
    }

    /// The joint pass: every pattern of the joint set once over the folded
    /// description and every text the suspicious-text scan reads, joined by
    /// `\n`. Also says whether any suspicious-text pattern may match (the
    /// scan is skipped when not).
    fn joint_pass<'r>(
        &'r self,
        tool: &ToolRecord,
        text: &str,
        folded: &str,
        buf: &mut String,
        seps: &mut Vec<usize>,
        raw: &mut String,
    ) -> (Hits<'r>, bool) {
        let Some(j) = &self.joint else {
            let hits = Hits {
                joint: None,
                schema_in: false,
            };
            return (hits, true);
        };
        buf.clear();
        seps.clear();
        raw.clear();
        buf.push_str(folded);
        // The scan reads the description (folded, and as sent when it is
        // not ASCII), a name that is not ASCII, and the schema's texts.
        let mut joiner = Joiner {
            buf,
            seps,
            raw,
            any_raw: false,
            skip: j.skip,
            budget: 10_000,
        };
        if !text.is_ascii() {
            joiner.any_raw = true;
            joiner.raw.push_str(text);
        }
        if !tool.name.is_ascii() {
            joiner.piece(&tool.name, false, true);
        }
        let schema_in = joiner.walk(&tool.input_schema, 0);
        let (buf, seps, raw, any_raw) = (joiner.buf, joiner.seps, joiner.raw, joiner.any_raw);
        let m = j.set.matches(buf, seps);
        let suspicious = !schema_in
            || j.suspicious.clone().any(|i| m.matched(i))
            || (any_raw && j.suspicious_raw.is_match(raw));
        let hits = Hits {
            joint: Some((j, m)),
            schema_in,
        };
        (hits, suspicious)
    }

    /// Text aimed at the model in the title, description or any string of
    /// the input schema. Returns the risk floor when anything matched.
    fn scan_suspicious(
        &self,
        tool: &ToolRecord,
        text: &str,
        folded: &str,
        out: &mut Out,
    ) -> Option<Risk> {
        let mut floor: Option<Risk> = None;
        let mut check = |place: &str, raw: &str, folded: &str, out: &mut Out| {
            if !self.suspicious.folded.is_match(folded)
                && (raw.is_ascii() || !self.suspicious.raw.is_match(raw))
            {
                return;
            }
            for i in self.suspicious.folded.matches(folded) {
                let (id, risk) = &self.suspicious.folded_ids[i];
                let m = self.suspicious.folded_each[i]
                    .find_str(folded)
                    .unwrap_or("");
                let ev = format!("{place}: \"{}\"", Clip(m, 80));
                out.signal("suspicious-description", ev.clone());
                out.reason(id, ev);
                floor = Some(floor.map_or(*risk, |f| f.max(*risk)));
            }
            if !raw.is_ascii() {
                for i in self.suspicious.raw.matches(raw) {
                    let (id, risk) = &self.suspicious.raw_ids[i];
                    let ev = match self.suspicious.raw_each[i].find(raw) {
                        Some((start, end)) => {
                            let m = &raw[start..end];
                            let cps: Vec<String> = m
                                .chars()
                                .take(4)
                                .map(|c| format!("U+{:04X}", c as u32))
                                .collect();
                            let shown: String = m
                                .chars()
                                .filter(|c| !c.is_control() && (*c as u32) < 0x2000)
                                .take(60)
                                .collect();
                            if shown.trim().is_empty() || shown.len() < m.len() / 2 {
                                format!("{place}: {} at byte {}", cps.join(" "), start)
                            } else {
                                format!("{place}: \"{}\"", Clip(&shown, 80))
                            }
                        }
                        None => format!("{place}: match"),
                    };
                    out.signal("suspicious-description", ev.clone());
                    out.reason(id, ev);
                    floor = Some(floor.map_or(*risk, |f| f.max(*risk)));
                }
            }
        };
        check("description", text, folded, out);
        if !tool.name.is_ascii() {
            check("name", &tool.name, &fold_ascii(&tool.name), out);
        }
        // Depth-first over the schema; the path is built only for a match.
        let mut crumbs: Vec<&str> = Vec::new();
        let mut stack: Vec<(usize, &str, &Value)> = vec![(0, "inputSchema", &tool.input_schema)];
        let mut visited = 0usize;
        let place = |crumbs: &[&str], extra: &str| {
            let mut p = crumbs.join(".");
            p.push_str(extra);
            p
        };
        while let Some((depth, key, v)) = stack.pop() {
            visited += 1;
            if visited > 10_000 {
                break;
            }
            crumbs.truncate(depth);
            crumbs.push(key);
            match v {
                Value::String(s) if !s.is_empty() => {
                    let f = fold_ascii(s);
                    let hit = self.suspicious.folded.is_match(&f)
                        || (!s.is_ascii() && self.suspicious.raw.is_match(s));
                    if hit {
                        check(&place(&crumbs, ""), s, &f, out);
                    }
                }
                Value::Object(m) => {
                    for (k, v) in m {
                        if !k.is_ascii() || k.len() >= 100 {
                            let f = fold_ascii(k);
                            if self.suspicious.folded.is_match(&f)
                                || self.suspicious.raw.is_match(k)
                            {
                                check(&place(&crumbs, " (property name)"), k, &f, out);
                            }
                        }
                        if matches!(v, Value::String(_) | Value::Object(_) | Value::Array(_)) {
                            stack.push((depth + 1, k.as_str(), v));
                        }
                    }
                }
                Value::Array(a) => {
                    for v in a {
                        if matches!(v, Value::String(_) | Value::Object(_) | Value::Array(_)) {
                            stack.push((depth + 1, "[]", v));
                        }
                    }
                }
                _ => {}
            }
        }
        floor
    }
}

/// The JSON type names, and the index of each: a joint set's `skip` has
/// bit `i` set when no pattern of the set matches name `i` on its own.
pub(super) const TYPE_WORDS: [&str; 7] = [
    "string", "object", "integer", "number", "boolean", "array", "null",
];

fn type_word(t: &str) -> Option<u32> {
    Some(match t {
        "string" => 0,
        "object" => 1,
        "integer" => 2,
        "number" => 3,
        "boolean" => 4,
        "array" => 5,
        "null" => 6,
        _ => return None,
    })
}

/// Builds the joint pass's text: each piece on its own line, folded to
/// ASCII, and the pieces whose raw form the scan also reads joined apart.
struct Joiner<'a> {
    buf: &'a mut String,
    /// Where each separating `\n` is in `buf`.
    seps: &'a mut Vec<usize>,
    raw: &'a mut String,
    any_raw: bool,
    /// JSON type names left out (see [`TYPE_WORDS`]).
    skip: u32,
    /// Nodes the walk may still visit.
    budget: usize,
}

impl Joiner<'_> {
    fn piece(&mut self, t: &str, ascii: bool, with_raw: bool) {
        self.seps.push(self.buf.len());
        self.buf.push('\n');
        if ascii {
            self.buf.push_str(t);
        } else {
            push_folded(self.buf, t);
        }
        if with_raw {
            if self.any_raw {
                self.raw.push('\n');
            }
            self.raw.push_str(t);
            self.any_raw = true;
        }
    }

    /// Add every text of `v` that the suspicious-text scan reads: non-empty
    /// strings, and property names that are not ASCII or are 100 bytes or
    /// longer (whose raw form the scan reads too). Visits at most `budget`
    /// nodes, as the scan does; false when it had to stop early (more
    /// nodes, or nested deeper than 128), and so has not seen every text
    /// the scan reads.
    fn walk(&mut self, v: &Value, depth: usize) -> bool {
        if self.budget == 0 || depth > 128 {
            return false;
        }
        self.budget -= 1;
        let nested = |v: &Value| matches!(v, Value::String(_) | Value::Object(_) | Value::Array(_));
        match v {
            Value::String(t) if !t.is_empty() => {
                let ascii = t.is_ascii();
                // Type names that no pattern of the set matches need no
                // place in the joined text.
                let skipped = ascii && type_word(t).is_some_and(|i| self.skip & (1 << i) != 0);
                if !skipped {
                    self.piece(t, ascii, !ascii);
                }
            }
            Value::Object(m) => {
                for (k, v) in m {
                    if k.len() >= 100 || !k.is_ascii() {
                        let ascii = k.is_ascii();
                        self.piece(k, ascii, true);
                    }
                    if nested(v) && !self.walk(v, depth + 1) {
                        return false;
                    }
                }
            }
            Value::Array(a) => {
                for v in a {
                    if nested(v) && !self.walk(v, depth + 1) {
                        return false;
                    }
                }
            }
            _ => {}
        }
        true
    }
}
