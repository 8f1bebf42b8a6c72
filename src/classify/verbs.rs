//! The verb lexicon (`rules/verbs.toml`) and picking a tool's verb: from
//! the first or last token of its name, the description's leading word
//! (after preambles such as "Use this tool to"), a middle token, the title,
//! then words that are often nouns. This file says which verb and where it
//! was found; it never weighs annotations or other rules.

use super::config::{HintFields, VerbsFile};
use super::load::Loader;
use super::tokenize::tokenize;
use super::ClassifyError;
use crate::model::{Category, Risk};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

#[derive(Debug)]
pub(super) struct VerbGroup {
    /// `verb.ID`, the reason's rule.
    pub id: String,
    pub class: Category,
    pub risk: Option<Risk>,
    pub signals: Vec<String>,
    /// Often a noun ("status", "export"): decides only when nothing firmer does.
    pub ambiguous: bool,
    pub hints: HintFields,
}

/// Where the deciding verb came from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
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
    /// The enum values of an action property (`action: [list, delete]`):
    /// the severest of them, when more severe than the name's verb.
    Actions,
}

impl Source {
    /// Where the word stands, as the reason says it.
    pub fn place(self) -> &'static str {
        match self {
            Source::NameEdge | Source::NameMiddle => "name",
            Source::Description => "description",
            Source::Title => "title",
            Source::Ambiguous => "name or description",
            Source::Actions => "action values",
        }
    }
}

#[derive(Debug)]
pub(super) struct Pick {
    pub group: usize,
    pub source: Source,
    /// The name holds both read and write verbs; the write one was chosen.
    pub mixed: bool,
    /// The verb's word(s) as found.
    pub word: String,
}

/// A verb found in a token list: its first and last token (equal unless a
/// two-word verb) and its group.
#[derive(Debug, Clone, Copy)]
struct Cand {
    start: usize,
    end: usize,
    group: usize,
}

#[derive(Debug)]
pub(super) struct Lexicon {
    pub groups: Vec<VerbGroup>,
    /// word (or "word word") → group
    verbs: HashMap<String, usize>,
    /// two-word noun phrases that are never verbs
    nouns: HashSet<String>,
    /// first words of the two-word verbs and noun phrases
    bigram_heads: HashSet<String>,
    preambles: Vec<Vec<String>>,
    conjunctions: Vec<String>,
    /// property names whose enum values are the tool's actions
    pub action_keys: HashSet<String>,
}

impl Lexicon {
    pub fn load(l: &Loader<'_>) -> Result<Lexicon, ClassifyError> {
        let file: VerbsFile = l.parse()?;
        let mut groups = Vec::new();
        let mut verbs = HashMap::default();
        for g in &file.verb {
            let class = l.category(&g.id, &g.class)?;
            for w in &g.words {
                let w = w.trim().to_lowercase();
                if w.is_empty() || w.split(' ').count() > 2 {
                    return Err(l.err(&g.id, format!("verb \"{w}\" must be one or two words")));
                }
                if let Some(prev) = verbs.insert(w.clone(), groups.len()) {
                    let prev: &VerbGroup = &groups[prev];
                    return Err(l.err(&g.id, format!("verb \"{w}\" is already in group \"{}\"", prev.id)));
                }
            }
            groups.push(VerbGroup {
                id: format!("verb.{}", g.id),
                class,
                risk: g.risk.as_deref().map(|r| l.risk(&g.id, r)).transpose()?,
                signals: l.signals(&g.id, &g.signals)?,
                ambiguous: g.ambiguous,
                hints: HintFields { destructive: g.destructive, idempotent: g.idempotent, open_world: g.open_world },
            });
        }
        let mut nouns = HashSet::default();
        for n in &file.nouns {
            let n = n.trim().to_lowercase();
            if n.split(' ').count() != 2 {
                return Err(l.err("", format!("noun phrase \"{n}\" must be two words")));
            }
            if verbs.contains_key(&n) {
                return Err(l.err("", format!("\"{n}\" is both a noun phrase and a verb")));
            }
            nouns.insert(n);
        }
        let bigram_heads = verbs
            .keys()
            .chain(nouns.iter())
            .filter_map(|k| k.split_once(' ').map(|(h, _)| h.to_string()))
            .collect();
        Ok(Lexicon {
            groups,
            verbs,
            nouns,
            bigram_heads,
            preambles: file.preambles.iter().map(|p| tokenize(p)).filter(|t| !t.is_empty()).collect(),
            conjunctions: file.conjunctions.iter().map(|c| c.to_lowercase()).collect(),
            action_keys: file.action_keys.iter().map(|k| tokenize(k).join("_")).collect(),
        })
    }

    /// The verb of a tool whose name's tokens are `name` (less those naming
    /// its expansion category or parent), in the order the module doc says.
    pub fn pick(&self, name: &[&str], description: &str, title: &str) -> Option<Pick> {
        let cands = self.find_verbs(name);
        let conj = name.iter().any(|t| self.conjunctions.iter().any(|c| c == t));
        let firm = |c: &Cand| !self.groups[c.group].ambiguous;
        let at_edge = |c: &Cand| c.start == 0 || c.end + 1 == name.len();
        let pick = |c: &Cand| firm(c) && (conj || at_edge(c));
        if let Some(p) = self.choose(&cands, pick, name, Source::NameEdge, conj) {
            return Some(p);
        }
        let lead = self.lead_verb(description);
        let from_lead = |(group, word): (usize, String), source| Some(Pick { group, source, mixed: false, word });
        if let Some(found) = lead.clone().filter(|&(g, _)| !self.groups[g].ambiguous) {
            return from_lead(found, Source::Description);
        }
        if let Some(p) = self.choose(&cands, firm, name, Source::NameMiddle, conj) {
            return Some(p);
        }
        let title_tokens = tokenize(title);
        let title_tokens: Vec<&str> = title_tokens.iter().map(String::as_str).collect();
        let title_cands = self.find_verbs(&title_tokens);
        if let Some(p) = self.choose(&title_cands, firm, &title_tokens, Source::Title, conj) {
            return Some(p);
        }
        // Only words that are often nouns: a sentence's first word is more
        // likely its verb than a name's token is ("select_options":
        // "Returns the options of a select field").
        if let Some(found) = lead {
            return from_lead(found, Source::Ambiguous);
        }
        if let Some(p) = self.choose(&cands, |_| true, name, Source::Ambiguous, conj) {
            return Some(p);
        }
        // The description's words split at every non-ASCII character, as
        // the title's do here.
        from_lead(self.lead_verb(title)?, Source::Ambiguous)
    }

    /// The severest verb among a multi-action tool's action values
    /// (`create_issue`, `delete`, `list`), if it is more severe than
    /// `name_pick`'s: a tool is as much a write as its worst action.
    pub fn pick_actions(&self, values: &[String], name_pick: Option<Pick>) -> Option<Pick> {
        let mut best: Option<Pick> = None;
        for v in values {
            let tokens = tokenize(v);
            let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
            let cands = self.find_verbs(&tokens);
            let Some(p) = self.choose(&cands, |_| true, &tokens, Source::Actions, false) else { continue };
            if best.as_ref().is_none_or(|b| self.severity(p.group) > self.severity(b.group)) {
                best = Some(p);
            }
        }
        match (name_pick, best) {
            (Some(n), Some(b)) if self.severity(b.group) > self.severity(n.group) => Some(b),
            (None, b) => b,
            (n, _) => n,
        }
    }

    /// How severe a verb group is: its class's rank, then its risk.
    fn severity(&self, group: usize) -> (u8, Risk) {
        let g = &self.groups[group];
        (super::risk::rank(g.class), g.risk.unwrap_or(Risk::Low))
    }

    /// Each verb in the tokens; a two-word verb ("roll back") or noun
    /// phrase ("pull request") is read before its first word alone.
    fn find_verbs(&self, tokens: &[&str]) -> Vec<Cand> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if i + 1 < tokens.len() && self.bigram_heads.contains(tokens[i]) {
                let pair = format!("{} {}", tokens[i], tokens[i + 1]);
                if self.nouns.contains(&pair) {
                    i += 2;
                    continue;
                }
                if let Some(&group) = self.verbs.get(&pair) {
                    out.push(Cand { start: i, end: i + 1, group });
                    i += 2;
                    continue;
                }
            }
            if let Some(&group) = self.verbs.get(tokens[i]) {
                out.push(Cand { start: i, end: i, group });
            }
            i += 1;
        }
        out
    }

    /// Among the candidates passing `keep`: normally the verb at the start
    /// (verb-first names are the common style), else the one at the end,
    /// else the leftmost. When the name joins verbs with a conjunction
    /// (`get_or_create`), any write wins over reads (cautious; marks
    /// `mixed`) and the most severe write wins.
    fn choose(
        &self,
        cands: &[Cand],
        keep: impl Fn(&Cand) -> bool,
        tokens: &[&str],
        source: Source,
        conj: bool,
    ) -> Option<Pick> {
        let kept: Vec<&Cand> = cands.iter().filter(|c| keep(c)).collect();
        let first = *kept.first()?;
        let is_read = |c: &&Cand| self.groups[c.group].class == Category::Read;
        let pick = |c: &Cand, mixed| {
            let word = if c.start == c.end {
                tokens[c.start].to_string()
            } else {
                format!("{} {}", tokens[c.start], tokens[c.end])
            };
            Some(Pick { group: c.group, source, mixed, word })
        };
        if conj {
            // Starts are distinct, so the key never ties.
            let severest = kept.iter().filter(|c| !is_read(c)).max_by_key(|c| {
                let g = &self.groups[c.group];
                (super::risk::rank(g.class), g.risk.unwrap_or(Risk::Low), std::cmp::Reverse(c.start))
            });
            if let Some(c) = severest {
                return pick(c, kept.iter().any(is_read));
            }
        }
        let chosen = kept
            .iter()
            .find(|c| c.start == 0)
            .or_else(|| kept.iter().find(|c| c.end + 1 == tokens.len()))
            .unwrap_or(&first);
        pick(chosen, false)
    }

    /// The description's leading verb and its word ("Lists all pools" →
    /// list), after stripping up to two preambles ("Use this tool to").
    fn lead_verb(&self, description: &str) -> Option<(usize, String)> {
        let lowered = lead_words(description);
        let words: Vec<&str> = lowered.split(' ').filter(|w| !w.is_empty()).collect();
        let mut start = 0;
        for _ in 0..2 {
            // The longest preamble at `start` that leaves a word after it.
            let longest = self
                .preambles
                .iter()
                .filter(|p| words.len() > start + p.len() && words[start..start + p.len()].iter().eq(p.iter()))
                .map(Vec::len)
                .max();
            match longest {
                Some(len) => start += len,
                None => break,
            }
        }
        let first = words.get(start)?;
        if let Some(second) = words.get(start + 1).filter(|_| self.bigram_heads.contains(*first)) {
            let pair = format!("{first} {second}");
            if self.nouns.contains(&pair) {
                return None;
            }
            if let Some(&g) = self.verbs.get(&pair) {
                return Some((g, pair));
            }
        }
        let g = self.stem_lookup(first)?;
        // "Reads or replaces the clipboard": a read joined to a write is a
        // write ("Set or clear a flag" stays a set).
        let is_read = |g: usize| self.groups[g].class == Category::Read;
        if let (Some(c), Some(next)) = (words.get(start + 1), words.get(start + 2)) {
            if is_read(g) && self.conjunctions.iter().any(|k| k == c) {
                if let Some(g2) = self.stem_lookup(next).filter(|&g2| !is_read(g2)) {
                    return Some((g2, (*next).to_string()));
                }
            }
        }
        Some((g, first.to_string()))
    }

    /// The verb group of the word or of its first likely base form that is
    /// in the lexicon: lists → list, applies → apply, created → create,
    /// running → run(n)/runne… (only lexicon hits matter).
    fn stem_lookup(&self, w: &str) -> Option<usize> {
        let get = |s: &str| self.verbs.get(s).copied();
        if let Some(g) = get(w) {
            return Some(g);
        }
        if w.len() <= 3 {
            return None;
        }
        let ies = w.strip_suffix("ies").and_then(|s| get(&format!("{s}y")));
        let es = || w.strip_suffix("es").and_then(get);
        let s = || w.strip_suffix('s').filter(|s| !s.ends_with('s')).and_then(get);
        let ed = || w.strip_suffix("ed").and_then(|s| get(s).or_else(|| get(&w[..w.len() - 1])));
        let ing = || w.strip_suffix("ing").and_then(|s| get(s).or_else(|| get(&format!("{s}e"))));
        ies.or_else(es).or_else(s).or_else(ed).or_else(ing)
    }
}

/// A description's leading words, lowercased and separated by spaces: the
/// first 12 runs of ASCII letters and apostrophes (every other character,
/// non-ASCII included, separates), apostrophes trimmed.
fn lead_words(text: &str) -> String {
    let mut words = String::new();
    for run in text.split(|c: char| !(c.is_ascii_alphabetic() || c == '\'')).filter(|r| !r.is_empty()).take(12) {
        words.push_str(run.trim_matches('\''));
        words.push(' ');
    }
    words.make_ascii_lowercase();
    words
}
