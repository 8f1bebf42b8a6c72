//! classify: judge what each tool can do — kind, category, risk, named
//! signals with their evidence — from its name, title, description, input
//! schema and annotations, using the data rules in `rules/*.toml`
//! (formats in `rules/README.md`).
//!
//! The Rust side holds only the mechanism; every word, phrase and pattern is
//! data, compiled once at load (verb maps, `RegexSet`s). Classification is
//! pure: it never reads files, touches the network or the store, and it
//! never names a particular server's tool.

mod ahead;
mod config;
mod engine;
mod pat;
mod tokenize;

pub use tokenize::tokenize;

use crate::model::{intern, Category, Kind, Risk};
use config::{
    ComboRule, EffectFields, ObjectsFile, OverridesFile, ParamRule, ParamsFile, PatternRule,
    PhrasesFile, SuspiciousFile, VerbsFile,
};
use pat::{FxHashMap, FxHashSet, Joint, Pat, PatSet};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The rule files this module owns, read from the rules directory. Anything
/// else there (`policy.toml`, `policy-overrides.json`, `expanders/`) belongs
/// to other stages and is never read here.
pub const RULE_FILES: &[&str] = &[
    "objects.toml",
    "overrides.toml",
    "params.toml",
    "phrases.toml",
    "suspicious.toml",
    "verbs.toml",
];

/// The documented signal vocabulary (see `rules/README.md`). A rule naming
/// any other signal is a load error, so a typo cannot invent a signal.
pub const SIGNALS: &[&str] = &[
    "destructive",
    "irreversible",
    "code-execution",
    "credential-access",
    "sensitive-data",
    "privilege-change",
    "service-disruption",
    "network-change",
    "network-egress",
    "filesystem-access",
    "bulk-operation",
    "money-movement",
    "requires-confirmation",
    "annotation-conflict",
    "suspicious-description",
    "unsafe-name",
];

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to parse {path} at line {line}, column {column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path} at line {line}, column {column}: rule \"{rule}\": {message}")]
    Rule {
        path: PathBuf,
        line: usize,
        column: usize,
        rule: String,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Any,
    Read,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Force {
    Weak,
    Strong,
}

/// What a rule does when it fires.
#[derive(Debug, Clone)]
struct Effects {
    /// `family.id`, e.g. `phrase.marked-destructive`: what `Reason::rule`
    /// shows (interned: verdicts borrow it).
    id: &'static str,
    scope: Scope,
    force: Option<Force>,
    when_category: Vec<Category>,
    category: Option<Category>,
    risk: Option<Risk>,
    signals: Vec<&'static str>,
}

#[derive(Debug)]
struct VerbGroup {
    id: &'static str,
    class: Category,
    risk: Option<Risk>,
    signals: Vec<&'static str>,
    ambiguous: bool,
}

#[derive(Debug)]
struct PatternRules {
    /// Every rule's pattern (index = rule), then every `unless` pattern:
    /// one pass over a text says which rules match and which are excused.
    set: PatSet,
    each: Vec<Pat>,
    /// Phrases check these on their own text. Object rules read `unless_at`
    /// instead; theirs are compiled only so that a bad pattern's error
    /// names its rule.
    unless: Vec<Option<Pat>>,
    /// Where rule `i`'s `unless` pattern sits in `set`.
    unless_at: Vec<Option<usize>>,
    /// The first rule with the same pattern as rule `i` (its match on a
    /// text is found once).
    same_as: Vec<usize>,
    effects: Vec<Effects>,
}

#[derive(Debug)]
struct CompiledParam {
    description: Option<Pat>,
    /// Whether `description` matches an empty description.
    description_matches_empty: bool,
    tool_unless: Option<Pat>,
    skip_types: Vec<String>,
    effects: Effects,
}

#[derive(Debug)]
struct CompiledCombo {
    all_of: Vec<Vec<String>>,
    description: Option<Pat>,
    effects: Effects,
}

#[derive(Debug)]
struct SuspiciousRules {
    /// Run on text with non-ASCII folded to spaces.
    folded: PatSet,
    folded_each: Vec<Pat>,
    folded_ids: Vec<(&'static str, Risk)>,
    /// Run on the text as sent (only when it is not plain ASCII).
    raw: PatSet,
    raw_each: Vec<Pat>,
    raw_ids: Vec<(&'static str, Risk)>,
}

/// The phrase, suspicious-text and description patterns (and the phrases'
/// `unless`) in one set, run once over all of a tool's texts (see
/// [`Joint`]), and where each rule's pattern sits in it. The object
/// patterns keep their own set: they run on the name's tokens, and mixed
/// with the others over descriptions they make the lazy DFA grow without
/// end (measured).
/// The rules that name one key of a property's name (its tokens joined by
/// `_`, concatenated, or its last token): one lookup per key serves them
/// all.
#[derive(Debug, Default)]
struct ParamKey {
    /// Param rules whose `names` hold it (matched by the joined or
    /// concatenated key).
    names: Vec<usize>,
    /// Param rules whose `last` holds it (matched by the last token).
    last: Vec<usize>,
    /// The (combo, group) slots whose group holds it (any of the keys).
    combo: Vec<usize>,
}

/// What the lexicon knows of one word.
#[derive(Debug, Default, Clone, Copy)]
struct Word {
    /// Its verb group, if it is a verb.
    verb: Option<usize>,
    /// It starts a two-word verb or noun phrase.
    head: bool,
}

#[derive(Debug)]
struct JointRules {
    /// The phrase patterns come first: phrase `i` is pattern `i`.
    set: Joint,
    phrase_unless: Vec<Option<usize>>,
    /// The folded suspicious-text patterns: this range.
    suspicious: std::ops::Range<usize>,
    /// The raw suspicious-text patterns in multi-line mode, over the texts
    /// that are not ASCII.
    suspicious_raw: PatSet,
    param_description: Vec<Option<usize>>,
    param_tool_unless: Vec<Option<usize>>,
    combo_description: Vec<Option<usize>>,
    /// Bit `i` set: no pattern of the set matches JSON type name `i` (see
    /// `engine::TYPE_WORDS`) on its own, so it is left out of the texts.
    skip: u32,
}

impl JointRules {
    fn new(
        phrases: &PatternRules,
        suspicious: &SuspiciousRules,
        params: &[CompiledParam],
        combos: &[CompiledCombo],
    ) -> Option<JointRules> {
        fn add<'p>(pats: &mut Vec<&'p str>, p: &'p Pat) -> usize {
            pats.push(p.as_str());
            pats.len() - 1
        }
        fn opt<'p>(pats: &mut Vec<&'p str>, p: Option<&'p Pat>) -> Option<usize> {
            p.map(|p| add(pats, p))
        }
        let mut pats: Vec<&str> = Vec::new();
        for p in &phrases.each {
            add(&mut pats, p);
        }
        let suspicious_at = pats.len();
        for p in &suspicious.folded_each {
            add(&mut pats, p);
        }
        let suspicious_range = suspicious_at..pats.len();
        let phrase_unless = phrases
            .unless
            .iter()
            .map(|u| opt(&mut pats, u.as_ref()))
            .collect();
        let param_description = params
            .iter()
            .map(|r| opt(&mut pats, r.description.as_ref()))
            .collect();
        let param_tool_unless = params
            .iter()
            .map(|r| opt(&mut pats, r.tool_unless.as_ref()))
            .collect();
        let combo_description = combos
            .iter()
            .map(|c| opt(&mut pats, c.description.as_ref()))
            .collect();
        let raw: Vec<&str> = suspicious.raw_each.iter().map(Pat::as_str).collect();
        let set = Joint::new(&pats)?;
        let skip = engine::TYPE_WORDS
            .iter()
            .enumerate()
            .filter(|(_, w)| !set.matches(w, &[]).any())
            .fold(0u32, |bits, (i, _)| bits | 1 << i);
        Some(JointRules {
            set,
            phrase_unless,
            suspicious: suspicious_range,
            suspicious_raw: PatSet::multi_line(&raw)?,
            param_description,
            param_tool_unless,
            combo_description,
            skip,
        })
    }
}

#[derive(Debug)]
struct Override {
    id: &'static str,
    server: Pat,
    tool: Pat,
    kind: Kind,
    category: Category,
    risk: Risk,
}

/// Compiled classification rules. Build once with [`Rules::load`], then call
/// [`Rules::classify`] for each tool.
#[derive(Debug)]
pub struct Rules {
    hash: &'static str,
    preambles: Vec<Vec<String>>,
    /// first words of the preambles
    preamble_heads: FxHashSet<String>,
    conjunctions: Vec<String>,
    verb_groups: Vec<VerbGroup>,
    /// word (or "word word") → verb group index
    verbs: FxHashMap<String, usize>,
    /// first words of the two-word verbs and noun phrases
    bigram_heads: FxHashSet<String>,
    /// the one-word `verbs` and the `bigram_heads` in one map (a name's
    /// tokens are looked up once each)
    words: FxHashMap<String, Word>,
    /// two-word noun phrases that are never verbs
    nouns: FxHashSet<String>,
    phrases: PatternRules,
    objects: PatternRules,
    params: Vec<CompiledParam>,
    /// A property's name key → the rules naming it (see [`ParamKey`]).
    param_keys: FxHashMap<String, ParamKey>,
    /// param rules checked on every property (description only)
    param_any: Vec<usize>,
    combos: Vec<CompiledCombo>,
    /// a combo's groups are the slots `combo_slots[c]..combo_slots[c + 1]`
    combo_slots: Vec<usize>,
    suspicious: SuspiciousRules,
    /// `None` when a pattern is anchored to the whole text: then every rule
    /// family runs on its own text.
    joint: Option<JointRules>,
    overrides: Vec<Override>,
}

/// Helpers for turning a rule file into compiled rules with good errors.
struct Loader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl<'a> Loader<'a> {
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClassifyError> {
        toml::from_str(self.text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_col(self.text, s.start))
                .unwrap_or((0, 0));
            ClassifyError::Parse {
                path: self.path.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })
    }

    fn err(&self, rule: &str, message: impl Into<String>) -> ClassifyError {
        let (line, column) = self.locate(rule);
        ClassifyError::Rule {
            path: self.path.to_path_buf(),
            line,
            column,
            rule: rule.to_string(),
            message: message.into(),
        }
    }

    /// Where the rule's `id = "..."` is written (1-based), or (0, 0).
    fn locate(&self, rule: &str) -> (usize, usize) {
        for quote in ['"', '\''] {
            let needle = format!("{quote}{rule}{quote}");
            let mut from = 0;
            while let Some(pos) = self.text[from..].find(&needle) {
                let at = from + pos;
                let line_start = self.text[..at].rfind('\n').map_or(0, |p| p + 1);
                let before = self.text[line_start..at].trim();
                if before.starts_with("id") && before.ends_with('=') {
                    return line_col(self.text, at);
                }
                from = at + needle.len();
            }
        }
        (0, 0)
    }

    fn regex(&self, rule: &str, pattern: &str) -> Result<Pat, ClassifyError> {
        Pat::new(pattern).map_err(|e| self.err(rule, format!("bad pattern: {e}")))
    }

    fn set(&self, patterns: &[&str]) -> Result<PatSet, ClassifyError> {
        PatSet::new(patterns).map_err(|e| self.err("", format!("cannot compile pattern set: {e}")))
    }

    fn category(&self, rule: &str, s: &str) -> Result<Category, ClassifyError> {
        parse_category(s).ok_or_else(|| {
            self.err(
                rule,
                format!("unknown category \"{s}\" (read, write, execute, destructive, financial)"),
            )
        })
    }

    fn risk(&self, rule: &str, s: &str) -> Result<Risk, ClassifyError> {
        parse_risk(s).ok_or_else(|| {
            self.err(
                rule,
                format!("unknown risk \"{s}\" (low, medium, high, critical)"),
            )
        })
    }

    fn signals(&self, rule: &str, signals: &[String]) -> Result<Vec<&'static str>, ClassifyError> {
        for s in signals {
            if !SIGNALS.contains(&s.as_str()) {
                return Err(self.err(
                    rule,
                    format!("unknown signal \"{s}\" (see SIGNALS in rules/README.md)"),
                ));
            }
        }
        Ok(signals.iter().map(|s| intern(s)).collect())
    }

    fn effects(
        &self,
        family: &str,
        id: &str,
        f: EffectFields<'_>,
    ) -> Result<Effects, ClassifyError> {
        if id.is_empty() {
            return Err(self.err(id, "empty id"));
        }
        let scope = match f.scope.unwrap_or("any") {
            "any" => Scope::Any,
            "read" => Scope::Read,
            "write" => Scope::Write,
            s => return Err(self.err(id, format!("unknown scope \"{s}\" (any, read, write)"))),
        };
        let force = match f.forces_write {
            None => None,
            Some("strong") => Some(Force::Strong),
            Some("weak") => Some(Force::Weak),
            Some(s) => {
                return Err(self.err(id, format!("unknown forces_write \"{s}\" (strong, weak)")))
            }
        };
        let when_category = f
            .when_category
            .iter()
            .map(|c| self.category(id, c))
            .collect::<Result<Vec<_>, _>>()?;
        let category = f.category.map(|c| self.category(id, c)).transpose()?;
        if category == Some(Category::Read) {
            return Err(self.err(id, "a rule cannot set category read (kind decides that)"));
        }
        if !when_category.is_empty() && (category.is_some() || force.is_some()) {
            return Err(self.err(
                id,
                "a when_category rule may not set category or forces_write",
            ));
        }
        if force.is_some() && scope == Scope::Read {
            return Err(self.err(id, "forces_write contradicts scope = \"read\""));
        }
        Ok(Effects {
            id: intern(&format!("{family}.{id}")),
            scope,
            force,
            when_category,
            category,
            risk: f.risk.map(|r| self.risk(id, r)).transpose()?,
            signals: self.signals(id, f.signals)?,
        })
    }

    /// A family's rules; `one_pass`: their set also gets the one-pass
    /// scanner (see `PatSet::scanned`), for the object rules, whose set runs
    /// on every tool (the phrases run in the joint pass).
    fn pattern_rules(
        &self,
        family: &str,
        rules: &[PatternRule],
        one_pass: bool,
    ) -> Result<PatternRules, ClassifyError> {
        let mut each = Vec::new();
        let mut unless = Vec::new();
        let mut effects = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in rules {
            if !seen.insert(r.id.as_str()) {
                return Err(self.err(&r.id, "duplicate id"));
            }
            each.push(self.regex(&r.id, &r.pattern)?);
            unless.push(
                r.unless
                    .as_deref()
                    .map(|u| self.regex(&r.id, u))
                    .transpose()?,
            );
            effects.push(self.effects(family, &r.id, r.effects())?);
        }
        let mut pats: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
        let unless_at = rules
            .iter()
            .map(|r| {
                r.unless.as_deref().map(|u| {
                    pats.push(u);
                    pats.len() - 1
                })
            })
            .collect();
        let same_as = rules
            .iter()
            .map(|r| rules.iter().position(|o| o.pattern == r.pattern).unwrap_or(0))
            .collect();
        let set = self.set(&pats)?;
        Ok(PatternRules {
            set: if one_pass { set.scanned(&pats, false) } else { set },
            each,
            unless,
            unless_at,
            same_as,
            effects,
        })
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.chars().count(), |p| before[p + 1..].chars().count())
        + 1;
    (line, column)
}

pub(crate) fn parse_category(s: &str) -> Option<Category> {
    Some(match s {
        "read" => Category::Read,
        "write" => Category::Write,
        "execute" => Category::Execute,
        "destructive" => Category::Destructive,
        "financial" => Category::Financial,
        _ => return None,
    })
}

pub(crate) fn parse_risk(s: &str) -> Option<Risk> {
    Some(match s {
        "low" => Risk::Low,
        "medium" => Risk::Medium,
        "high" => Risk::High,
        "critical" => Risk::Critical,
        _ => return None,
    })
}

/// A shell-style glob (`*`, `?`) as an anchored regex.
fn glob_regex(glob: &str) -> String {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

impl Rules {
    /// Load and compile the classification rule files ([`RULE_FILES`]) from
    /// `dir`. Every other file in `dir` is ignored.
    pub fn load(dir: &Path) -> Result<Rules, ClassifyError> {
        let mut texts = Vec::new();
        for name in RULE_FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|source| ClassifyError::Read {
                path: path.clone(),
                source,
            })?;
            texts.push((path, text));
        }
        Rules::from_texts(&texts)
    }

    /// Compile rules from `(path, content)` pairs, one for each name in
    /// [`RULE_FILES`] (matched by file name).
    pub fn from_texts(files: &[(PathBuf, String)]) -> Result<Rules, ClassifyError> {
        let get = |name: &str| -> Result<Loader<'_>, ClassifyError> {
            files
                .iter()
                .find(|(p, _)| p.file_name().and_then(|n| n.to_str()) == Some(name))
                .map(|(p, t)| Loader {
                    path: p.as_path(),
                    text: t.as_str(),
                })
                .ok_or_else(|| ClassifyError::Read {
                    path: PathBuf::from(name),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "rule file missing"),
                })
        };

        let mut sorted: Vec<&(PathBuf, String)> = files.iter().collect();
        sorted.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
        let mut h = Sha256::new();
        for (p, t) in sorted {
            h.update(
                p.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .as_bytes(),
            );
            h.update([0u8]);
            h.update(t.as_bytes());
            h.update([0u8]);
        }
        let hash = hex::encode(h.finalize());

        // verbs.toml
        let l = get("verbs.toml")?;
        let vf: VerbsFile = l.parse()?;
        let mut verb_groups = Vec::new();
        let mut verbs = FxHashMap::default();
        for g in &vf.verb {
            let class = l.category(&g.id, &g.class)?;
            let idx = verb_groups.len();
            for w in &g.words {
                let w = w.trim().to_lowercase();
                if w.is_empty() || w.split(' ').count() > 2 {
                    return Err(l.err(&g.id, format!("verb \"{w}\" must be one or two words")));
                }
                if let Some(prev) = verbs.insert(w.clone(), idx) {
                    let prev: &VerbGroup = &verb_groups[prev];
                    return Err(l.err(
                        &g.id,
                        format!("verb \"{w}\" is already in group \"{}\"", prev.id),
                    ));
                }
            }
            verb_groups.push(VerbGroup {
                id: intern(&format!("verb.{}", g.id)),
                class,
                risk: g.risk.as_deref().map(|r| l.risk(&g.id, r)).transpose()?,
                signals: l.signals(&g.id, &g.signals)?,
                ambiguous: g.ambiguous,
            });
        }
        let mut nouns = FxHashSet::default();
        for n in &vf.nouns {
            let n = n.trim().to_lowercase();
            if n.split(' ').count() != 2 {
                return Err(l.err("", format!("noun phrase \"{n}\" must be two words")));
            }
            if verbs.contains_key(&n) {
                return Err(l.err("", format!("\"{n}\" is both a noun phrase and a verb")));
            }
            nouns.insert(n);
        }
        let bigram_heads: FxHashSet<String> = verbs
            .keys()
            .chain(nouns.iter())
            .filter_map(|k| k.split_once(' ').map(|(h, _)| h.to_string()))
            .collect();
        let mut words: FxHashMap<String, Word> = FxHashMap::default();
        for (k, &g) in verbs.iter().filter(|(k, _)| !k.contains(' ')) {
            words.entry(k.clone()).or_default().verb = Some(g);
        }
        for h in &bigram_heads {
            words.entry(h.clone()).or_default().head = true;
        }
        let preambles: Vec<Vec<String>> = vf
            .preambles
            .iter()
            .map(|p| tokenize(p))
            .filter(|t| !t.is_empty())
            .collect();
        let preamble_heads = preambles.iter().map(|p| p[0].clone()).collect();
        let conjunctions = vf.conjunctions.iter().map(|c| c.to_lowercase()).collect();

        // phrases.toml, objects.toml
        let l = get("phrases.toml")?;
        let pf: PhrasesFile = l.parse()?;
        let phrases = l.pattern_rules("phrase", &pf.phrase, false)?;
        let l = get("objects.toml")?;
        let of: ObjectsFile = l.parse()?;
        let objects = l.pattern_rules("object", &of.object, true)?;

        // params.toml
        let l = get("params.toml")?;
        let paf: ParamsFile = l.parse()?;
        let mut params = Vec::new();
        let mut param_keys: FxHashMap<String, ParamKey> = FxHashMap::default();
        let mut param_any = Vec::new();
        for (i, r) in paf.param.iter().enumerate() {
            let ParamRule {
                id,
                names,
                last,
                description,
                skip_types,
                tool_unless,
                ..
            } = r;
            if names.is_empty() && last.is_empty() {
                if description.is_none() {
                    return Err(l.err(id, "needs names, last or description"));
                }
                param_any.push(i);
            }
            for n in names {
                param_keys.entry(normalise_param(n)).or_default().names.push(i);
            }
            for n in last {
                param_keys.entry(n.to_lowercase()).or_default().last.push(i);
            }
            let description = description.as_deref().map(|d| l.regex(id, d)).transpose()?;
            params.push(CompiledParam {
                description_matches_empty: description.as_ref().is_some_and(|d| d.is_match("")),
                description,
                tool_unless: tool_unless.as_deref().map(|d| l.regex(id, d)).transpose()?,
                skip_types: skip_types.clone(),
                effects: l.effects("param", id, r.effects())?,
            });
        }
        let mut combos = Vec::new();
        for r in &paf.combo {
            let ComboRule {
                id,
                all_of,
                description,
                ..
            } = r;
            if all_of.len() < 2 || all_of.iter().any(|g| g.is_empty()) {
                return Err(l.err(id, "all_of needs at least two non-empty groups"));
            }
            combos.push(CompiledCombo {
                all_of: all_of
                    .iter()
                    .map(|g| g.iter().map(|n| normalise_param(n)).collect())
                    .collect(),
                description: description.as_deref().map(|d| l.regex(id, d)).transpose()?,
                effects: l.effects("param", id, r.effects())?,
            });
        }
        let mut combo_slots = vec![0];
        for c in &combos {
            let first = *combo_slots.last().unwrap();
            for (g, group) in c.all_of.iter().enumerate() {
                for n in group {
                    let slots = &mut param_keys.entry(n.clone()).or_default().combo;
                    if !slots.contains(&(first + g)) {
                        slots.push(first + g);
                    }
                }
            }
            combo_slots.push(first + c.all_of.len());
        }

        // suspicious.toml
        let l = get("suspicious.toml")?;
        let sf: SuspiciousFile = l.parse()?;
        let (mut fp, mut fe, mut fi, mut rp, mut re, mut ri) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for r in &sf.pattern {
            let risk = r
                .risk
                .as_deref()
                .map(|x| l.risk(&r.id, x))
                .transpose()?
                .unwrap_or(Risk::High);
            let rx = l.regex(&r.id, &r.pattern)?;
            let id = (intern(&format!("suspicious.{}", r.id)), risk);
            if r.raw {
                rp.push(r.pattern.as_str());
                re.push(rx);
                ri.push(id);
            } else {
                fp.push(r.pattern.as_str());
                fe.push(rx);
                fi.push(id);
            }
        }
        let suspicious = SuspiciousRules {
            folded: l.set(&fp)?,
            folded_each: fe,
            folded_ids: fi,
            raw: l.set(&rp)?,
            raw_each: re,
            raw_ids: ri,
        };

        // overrides.toml
        let l = get("overrides.toml")?;
        let ovf: OverridesFile = l.parse()?;
        let mut overrides = Vec::new();
        for o in &ovf.overrides {
            let tool = match (&o.tool, &o.tool_regex) {
                (Some(g), None) => l.regex(&o.id, &glob_regex(g))?,
                (None, Some(r)) => l.regex(&o.id, r)?,
                _ => return Err(l.err(&o.id, "give exactly one of tool (glob) and tool_regex")),
            };
            let kind = match o.kind.as_str() {
                "read" => Kind::Read,
                "write" => Kind::Write,
                k => return Err(l.err(&o.id, format!("unknown kind \"{k}\" (read, write)"))),
            };
            let category = l.category(&o.id, &o.category)?;
            if (kind == Kind::Read) != (category == Category::Read) {
                return Err(l.err(&o.id, "kind is read exactly when category is read"));
            }
            overrides.push(Override {
                id: intern(&format!("override.{}", o.id)),
                server: l.regex(&o.id, &glob_regex(&o.server))?,
                tool,
                kind,
                category,
                risk: l.risk(&o.id, &o.risk)?,
            });
        }

        let joint = JointRules::new(&phrases, &suspicious, &params, &combos);
        Ok(Rules {
            hash: intern(&hash),
            preambles,
            preamble_heads,
            conjunctions,
            verb_groups,
            verbs,
            bigram_heads,
            words,
            nouns,
            phrases,
            objects,
            params,
            param_keys,
            param_any,
            combos,
            combo_slots,
            suspicious,
            joint,
            overrides,
        })
    }

    /// sha256 (hex) of the rule files' names and contents, sorted by name.
    pub fn hash(&self) -> &'static str {
        self.hash
    }
}

/// Parameter names compare as their tokens joined by `_`.
fn normalise_param(name: &str) -> String {
    tokenize(name).join("_")
}

#[cfg(test)]
mod tests;
