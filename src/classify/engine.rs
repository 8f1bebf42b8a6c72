//! The classification mechanism: pick the tool's verb, run the compiled
//! phrase, object, parameter and suspicious-text rules, weigh the
//! annotations, and fold everything into one `Verdict`.

use super::{tokenize, Effects, Force, Rules, Scope};
use crate::model::{Category, Kind, Reason, Risk, Signal, ToolRecord, Verdict};
use serde_json::Value;
use std::borrow::Cow;

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
    word: String,
    source: Source,
    /// The name holds both read and write verbs; the write one was chosen.
    mixed: bool,
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

/// At most `n` characters of `s` (evidence stays short).
fn clip(s: &str, n: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[derive(Default)]
struct Out {
    signals: Vec<Signal>,
    reasons: Vec<Reason>,
}

impl Out {
    fn signal(&mut self, name: &str, evidence: impl Into<String>) {
        if !self.signals.iter().any(|s| s.name == name) {
            self.signals.push(Signal {
                name: name.to_string(),
                evidence: evidence.into(),
            });
        }
    }

    fn reason(&mut self, rule: &str, matched: impl Into<String>) {
        self.reasons.push(Reason {
            rule: rule.to_string(),
            matched: matched.into(),
        });
    }
}

/// A rule that matched, with the text that made it match.
struct Fired<'r> {
    effects: &'r Effects,
    evidence: String,
}

impl Rules {
    /// Judge one tool. Pure and allocation-light: every pattern was compiled
    /// at load; the name is tokenised once.
    pub fn classify(&self, tool: &ToolRecord) -> Verdict {
        let mut out = Out::default();
        let tokens = tokenize(&tool.name);
        let cat_tokens = tool.category.as_deref().map(tokenize).unwrap_or_default();
        let parent_tokens = tool.parent.as_deref().map(tokenize).unwrap_or_default();
        let description = tool.description.as_deref().unwrap_or("");
        let title = tool.title.as_deref().unwrap_or("");
        let text: Cow<'_, str> = if title.is_empty() {
            Cow::Borrowed(description)
        } else {
            Cow::Owned(format!("{title}\n{description}"))
        };
        let folded = fold_ascii(&text);

        // Hardening checks run first and survive overrides.
        let suspicious = self.scan_suspicious(tool, &text, &folded, &mut out);
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
            out.reason(&o.id, format!("{}/{}", tool.server, tool.name));
            return Verdict {
                kind: o.kind,
                category: o.category,
                risk: suspicious.map_or(o.risk, |s| s.max(o.risk)),
                signals: out.signals,
                reasons: out.reasons,
                confidence: 1.0,
                rules_hash: self.hash.clone(),
            };
        }

        // 1. The verb.
        let skip: Vec<&str> = cat_tokens
            .iter()
            .chain(parent_tokens.iter())
            .map(String::as_str)
            .collect();
        let desc_folded = fold_ascii(description);
        let pick = self.pick_verb(&tokens, &skip, &desc_folded, title);

        // 2. Everything else that matched.
        let mut fired: Vec<Fired<'_>> = Vec::new();
        for i in self.phrases.set.matches(&folded).into_iter() {
            if self.phrases.unless[i]
                .as_ref()
                .is_some_and(|u| u.is_match(&folded))
            {
                continue;
            }
            let m = self.phrases.each[i]
                .find(&folded)
                .map_or("", |m| m.as_str());
            fired.push(Fired {
                effects: &self.phrases.effects[i],
                evidence: format!("description: \"{}\"", clip(m, 80)),
            });
        }
        let mut obj_text = tokens.join(" ");
        if !cat_tokens.is_empty() {
            obj_text.push_str(" / ");
            obj_text.push_str(&cat_tokens.join(" "));
        }
        for i in self.objects.set.matches(&obj_text).into_iter() {
            if self.objects.unless[i]
                .as_ref()
                .is_some_and(|u| u.is_match(&obj_text))
            {
                continue;
            }
            let m = self.objects.each[i]
                .find(&obj_text)
                .map_or("", |m| m.as_str());
            fired.push(Fired {
                effects: &self.objects.effects[i],
                evidence: format!("name: \"{}\"", m.trim()),
            });
        }
        self.match_params(tool, &folded, &mut fired);

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
            |p: &Pick| format!("verb \"{}\" ({})", p.word, self.verb_groups[p.group].id);
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
        for (key, v) in [("readOnlyHint", ro), ("destructiveHint", de)] {
            if let Some(v) = v {
                out.reason(&format!("hint.{key}"), v.to_string());
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
            out.reason(&g.id, format!("{src}: \"{}\"", p.word));
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
                for s in &g.signals {
                    out.signal(s, format!("{src} verb \"{}\"", p.word));
                }
            }
        } else {
            out.reason("verb.none", "no known verb in name, title or description");
        }
        for f in fired.iter().filter(|f| applies(f.effects)) {
            let e = f.effects;
            out.reason(&e.id, f.evidence.clone());
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
            for s in &e.signals {
                out.signal(s, f.evidence.clone());
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
                out.reason(&e.id, f.evidence.clone());
                if let Some(r) = e.risk {
                    risk = risk.max(r);
                }
                for s in &e.signals {
                    out.signal(s, f.evidence.clone());
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
        if strong.is_some() && kind == Kind::Write {
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

        Verdict {
            kind,
            category,
            risk,
            signals: out.signals,
            reasons: out.reasons,
            confidence: (confidence.clamp(0.05, 0.99) * 100.0).round() / 100.0,
            rules_hash: self.hash.clone(),
        }
    }

    /// Verb from the name (minus tokens naming the expansion category or the
    /// parent tool), the description's leading word, or the title.
    fn pick_verb(
        &self,
        tokens: &[String],
        skip: &[&str],
        description: &str,
        title: &str,
    ) -> Option<Pick> {
        let kept: Vec<&str> = {
            let k: Vec<&str> = tokens
                .iter()
                .map(String::as_str)
                .filter(|t| !skip.contains(t))
                .collect();
            if k.is_empty() {
                tokens.iter().map(String::as_str).collect()
            } else {
                k
            }
        };
        let cands = self.find_verbs(&kept);
        let n = kept.len();
        let conj = kept
            .iter()
            .any(|t| self.conjunctions.iter().any(|c| c == t));
        let is_edge = |c: &(usize, usize, usize, String)| c.0 == 0 || c.1 + 1 == n;
        let unamb: Vec<&(usize, usize, usize, String)> = cands
            .iter()
            .filter(|c| !self.verb_groups[c.2].ambiguous)
            .collect();
        let edge: Vec<_> = unamb
            .iter()
            .copied()
            .filter(|c| conj || is_edge(c))
            .collect();
        if let Some(p) = self.choose(&edge, n, Source::NameEdge, conj) {
            return Some(p);
        }
        let lead = self.lead_verb(description);
        if let Some((g, w)) = &lead {
            if !self.verb_groups[*g].ambiguous {
                return Some(Pick {
                    group: *g,
                    word: w.clone(),
                    source: Source::Description,
                    mixed: false,
                });
            }
        }
        if let Some(p) = self.choose(&unamb, n, Source::NameMiddle, conj) {
            return Some(p);
        }
        let title_tokens = tokenize(title);
        let title_kept: Vec<&str> = title_tokens.iter().map(String::as_str).collect();
        let tcands = self.find_verbs(&title_kept);
        let tunamb: Vec<_> = tcands
            .iter()
            .filter(|c| !self.verb_groups[c.2].ambiguous)
            .collect();
        if let Some(p) = self.choose(&tunamb, title_kept.len(), Source::Title, conj) {
            return Some(p);
        }
        let amb: Vec<_> = cands.iter().collect();
        if let Some(p) = self.choose(&amb, n, Source::Ambiguous, conj) {
            return Some(p);
        }
        if let Some((g, w)) = lead {
            return Some(Pick {
                group: g,
                word: w,
                source: Source::Ambiguous,
                mixed: false,
            });
        }
        let lead = self.lead_verb(&fold_ascii(title));
        if let Some((g, w)) = lead {
            return Some(Pick {
                group: g,
                word: w,
                source: Source::Ambiguous,
                mixed: false,
            });
        }
        None
    }

    /// (start, end, group, word) for each verb in the tokens; two-word verbs
    /// ("roll back") first.
    fn find_verbs(&self, kept: &[&str]) -> Vec<(usize, usize, usize, String)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < kept.len() {
            if i + 1 < kept.len() && self.bigram_heads.contains(kept[i]) {
                let bi = format!("{} {}", kept[i], kept[i + 1]);
                if self.nouns.contains(&bi) {
                    i += 2;
                    continue;
                }
                if let Some(&g) = self.verbs.get(&bi) {
                    out.push((i, i + 1, g, bi));
                    i += 2;
                    continue;
                }
            }
            if let Some(&g) = self.verbs.get(kept[i]) {
                out.push((i, i, g, kept[i].to_string()));
            }
            i += 1;
        }
        out
    }

    /// Among candidate verbs of a name of `n` tokens: normally the verb at
    /// the start (verb-first names are the common style), else the one at
    /// the end, else the leftmost. When the name joins verbs with a
    /// conjunction (`get_or_create`), any write wins over reads (cautious;
    /// marks `mixed`) and the most severe write wins.
    fn choose(
        &self,
        cands: &[&(usize, usize, usize, String)],
        n: usize,
        source: Source,
        conj: bool,
    ) -> Option<Pick> {
        let first = *cands.first()?;
        let reads = cands
            .iter()
            .any(|c| self.verb_groups[c.2].class == Category::Read);
        let writes: Vec<_> = cands
            .iter()
            .filter(|c| self.verb_groups[c.2].class != Category::Read)
            .collect();
        if conj && !writes.is_empty() {
            let chosen = writes
                .iter()
                .copied()
                .max_by_key(|c| {
                    let g = &self.verb_groups[c.2];
                    (
                        rank(g.class),
                        g.risk.unwrap_or(Risk::Low),
                        std::cmp::Reverse(c.0),
                    )
                })
                .unwrap();
            return Some(Pick {
                group: chosen.2,
                word: chosen.3.clone(),
                source,
                mixed: reads,
            });
        }
        let chosen = cands
            .iter()
            .find(|c| c.0 == 0)
            .or_else(|| cands.iter().find(|c| c.1 + 1 == n))
            .copied()
            .unwrap_or(first);
        Some(Pick {
            group: chosen.2,
            word: chosen.3.clone(),
            source,
            mixed: false,
        })
    }

    /// The description's leading verb ("Lists all pools" → list), after
    /// stripping preambles such as "Use this tool to".
    fn lead_verb(&self, description: &str) -> Option<(usize, String)> {
        let mut words = description
            .split(|c: char| !c.is_ascii_alphabetic() && c != '\'')
            .filter(|w| !w.is_empty())
            .take(12)
            .map(|w| w.trim_matches('\'').to_ascii_lowercase())
            .filter(|w| !w.is_empty());
        let mut buf: Vec<String> = Vec::with_capacity(12);
        buf.extend(&mut words);
        let mut start = 0;
        for _ in 0..2 {
            let rest = &buf[start..];
            match self
                .preambles
                .iter()
                .filter(|p| rest.len() > p.len() && rest[..p.len()] == p[..])
                .max_by_key(|p| p.len())
            {
                Some(p) => start += p.len(),
                None => break,
            }
        }
        let w1 = buf.get(start)?;
        if let Some(w2) = buf
            .get(start + 1)
            .filter(|_| self.bigram_heads.contains(w1.as_str()))
        {
            let bi = format!("{w1} {w2}");
            if self.nouns.contains(&bi) {
                return None;
            }
            if let Some(&g) = self.verbs.get(&bi) {
                return Some((g, bi));
            }
        }
        for cand in stems(w1) {
            if let Some(&g) = self.verbs.get(cand.as_ref()) {
                return Some((g, w1.clone()));
            }
        }
        None
    }

    /// Parameter and combo rules over the input schema's top-level properties.
    fn match_params<'r>(
        &'r self,
        tool: &ToolRecord,
        folded_text: &str,
        fired: &mut Vec<Fired<'r>>,
    ) {
        let Some(props) = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object)
        else {
            return;
        };
        let mut keys: Vec<(String, String, String)> = Vec::with_capacity(props.len());
        for (pname, pschema) in props {
            let toks = tokenize(pname);
            let Some(last) = toks.last().cloned() else {
                continue;
            };
            let joined = toks.join("_");
            let compact = toks.concat();
            let desc = pschema
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("");
            let types: Vec<&str> = match pschema.get("type") {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let mut seen: Vec<usize> = Vec::new();
            let by_name = [&joined, &compact]
                .into_iter()
                .filter_map(|k| self.param_names.get(k.as_str()));
            let by_last = self.param_last.get(last.as_str());
            for &i in by_name
                .chain(by_last)
                .flatten()
                .chain(self.param_any.iter())
            {
                if seen.contains(&i) {
                    continue;
                }
                seen.push(i);
                let r = &self.params[i];
                if r.tool_unless
                    .as_ref()
                    .is_some_and(|u| u.is_match(folded_text))
                {
                    continue;
                }
                if !types.is_empty() && types.iter().all(|t| r.skip_types.iter().any(|s| s == t)) {
                    continue;
                }
                if let Some(d) = &r.description {
                    if !d.is_match(&fold_ascii(desc)) {
                        continue;
                    }
                }
                let evidence = if desc.is_empty() {
                    format!("parameter \"{}\"", clip(pname, 40))
                } else {
                    format!("parameter \"{}\" ({})", clip(pname, 40), clip(desc, 60))
                };
                fired.push(Fired {
                    effects: &r.effects,
                    evidence,
                });
            }
            keys.push((joined, compact, last));
        }
        for c in &self.combos {
            let mut names = Vec::new();
            let all = c.all_of.iter().all(|group| {
                match keys
                    .iter()
                    .find(|(j, k, l)| group.iter().any(|g| g == j || g == k || g == l))
                {
                    Some((j, _, _)) => {
                        names.push(j.clone());
                        true
                    }
                    None => false,
                }
            });
            if all
                && c.description
                    .as_ref()
                    .is_none_or(|d| d.is_match(folded_text))
            {
                fired.push(Fired {
                    effects: &c.effects,
                    evidence: format!("parameters {}", names.join(" + ")),
                });
            }
        }
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
            for i in self.suspicious.folded.matches(folded).into_iter() {
                let (id, risk) = &self.suspicious.folded_ids[i];
                let m = self.suspicious.folded_each[i]
                    .find(folded)
                    .map_or("", |m| m.as_str());
                let ev = format!("{place}: \"{}\"", clip(m, 80));
                out.signal("suspicious-description", ev.clone());
                out.reason(id, ev);
                floor = Some(floor.map_or(*risk, |f| f.max(*risk)));
            }
            if !raw.is_ascii() {
                for i in self.suspicious.raw.matches(raw).into_iter() {
                    let (id, risk) = &self.suspicious.raw_ids[i];
                    let ev = match self.suspicious.raw_each[i].find(raw) {
                        Some(m) => {
                            let cps: Vec<String> = m
                                .as_str()
                                .chars()
                                .take(4)
                                .map(|c| format!("U+{:04X}", c as u32))
                                .collect();
                            let shown: String = m
                                .as_str()
                                .chars()
                                .filter(|c| !c.is_control() && (*c as u32) < 0x2000)
                                .take(60)
                                .collect();
                            if shown.trim().is_empty() || shown.len() < m.as_str().len() / 2 {
                                format!("{place}: {} at byte {}", cps.join(" "), m.start())
                            } else {
                                format!("{place}: \"{}\"", clip(&shown, 80))
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

/// The word and its likely base forms: lists → list, applies → apply,
/// created → create, running → run(n)/runne… (only lexicon hits matter).
fn stems(w: &str) -> impl Iterator<Item = Cow<'_, str>> {
    let mut v: Vec<Cow<'_, str>> = vec![Cow::Borrowed(w)];
    if w.len() > 3 {
        if let Some(s) = w.strip_suffix("ies") {
            v.push(Cow::Owned(format!("{s}y")));
        }
        if let Some(s) = w.strip_suffix("es") {
            v.push(Cow::Borrowed(s));
        }
        if let Some(s) = w.strip_suffix('s') {
            if !s.ends_with('s') {
                v.push(Cow::Borrowed(s));
            }
        }
        if let Some(s) = w.strip_suffix("ed") {
            v.push(Cow::Borrowed(s));
            v.push(Cow::Borrowed(&w[..w.len() - 1]));
        }
        if let Some(s) = w.strip_suffix("ing") {
            v.push(Cow::Borrowed(s));
            v.push(Cow::Owned(format!("{s}e")));
        }
    }
    v.into_iter()
}
