//! eval: how far the hints the classifier infers (with the authors'
//! annotations hidden) agree with the hints authors declared explicitly.
//! Pure scoring over (declared, inferred) pairs; the split into a part the
//! rules were tuned on and a held-out part is by vendor, never by tool, so
//! the held-out figure is for servers the rules never saw. Never changes a
//! verdict.

use crate::model::{Hints, ToolRecord, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The four hints, in the spec's order, with their JSON names.
pub const HINTS: [&str; 4] = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];

fn get(h: &Hints, i: usize) -> bool {
    [h.read_only, h.destructive, h.idempotent, h.open_world][i]
}

/// Which vendors a figure covers: alternate vendors in name order, so that
/// the rules can be tuned on one part and measured on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Every vendor.
    All,
    /// The 1st, 3rd, 5th ... vendor by name: what the rules are tuned on.
    Tune,
    /// The 2nd, 4th, 6th ... vendor by name: held out.
    Test,
}

/// One tool: where it is from, what its author declared, what was inferred.
pub struct Sample {
    pub server: String,
    pub vendor: String,
    pub tool: String,
    pub declared: [Option<bool>; 4],
    pub inferred: Hints,
    pub evidence: [String; 4],
}

impl Sample {
    pub fn new(record: &ToolRecord, vendor: &str, verdict: &Verdict) -> Sample {
        let i = &verdict.inferred;
        Sample {
            server: record.server.clone(),
            vendor: vendor.to_string(),
            tool: record.name.clone(),
            declared: HINTS.map(|h| record.hint(h)),
            inferred: i.values(),
            evidence: [&i.read_only, &i.destructive, &i.idempotent, &i.open_world].map(|h| h.evidence.clone()),
        }
    }

    /// Whether hint `i` is scored on this tool: declared, and for
    /// `destructiveHint` and `idempotentHint` only on tools not declared
    /// read-only (the spec gives them meaning only there).
    fn scored(&self, i: usize) -> Option<bool> {
        if (i == 1 || i == 2) && self.declared[0] == Some(true) {
            return None;
        }
        self.declared[i]
    }
}

#[derive(Debug, Serialize)]
pub struct Score {
    pub hint: &'static str,
    /// Tools with this hint declared (and scored).
    pub tools: usize,
    pub servers: usize,
    /// Tools whose declared value is true.
    pub declared_true: usize,
    /// Share of tools inferred as declared.
    pub micro: f64,
    /// Mean over servers of each server's share.
    pub macro_server: f64,
    /// Mean of the shares of declared-true and declared-false tools.
    pub balanced: f64,
}

#[derive(Debug, Serialize)]
pub struct Disagreement {
    pub server: String,
    pub tool: String,
    pub hint: &'static str,
    pub declared: bool,
    pub inferred: bool,
    pub evidence: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub part: Part,
    pub vendors: Vec<String>,
    pub servers: usize,
    pub tools: usize,
    pub scores: Vec<Score>,
    pub disagreements: Vec<Disagreement>,
}

/// The vendors of `part`: alternate ones, by name, of `configured` (every
/// vendor the servers file names, so that a server that failed to crawl
/// does not move the others between parts), or else of the samples.
pub fn vendors_of(samples: &[Sample], configured: &BTreeSet<String>, part: Part) -> BTreeSet<String> {
    split(samples, configured, None, part)
}

/// As [`vendors_of`], or, when `tuned` names the vendors the rules were
/// tuned on, those (tune) and every other vendor (test).
pub fn split(samples: &[Sample], configured: &BTreeSet<String>, tuned: Option<&BTreeSet<String>>, part: Part) -> BTreeSet<String> {
    if let Some(tuned) = tuned {
        let all = samples.iter().map(|s| &s.vendor).chain(configured);
        return all
            .filter(|v| match part {
                Part::All => true,
                Part::Tune => tuned.contains(*v),
                Part::Test => !tuned.contains(*v),
            })
            .cloned()
            .collect();
    }
    let all: BTreeSet<&str> = if configured.is_empty() {
        samples.iter().map(|s| s.vendor.as_str()).collect()
    } else {
        configured.iter().map(String::as_str).collect()
    };
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| match part {
            Part::All => true,
            Part::Tune => i % 2 == 0,
            Part::Test => i % 2 == 1,
        })
        .map(|(_, v)| v.to_string())
        .collect()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

pub fn report(samples: &[Sample], configured: &BTreeSet<String>, tuned: Option<&BTreeSet<String>>, part: Part) -> Report {
    let vendors = split(samples, configured, tuned, part);
    let mine: Vec<&Sample> = samples.iter().filter(|s| vendors.contains(&s.vendor)).collect();
    let mut scores = Vec::new();
    let mut disagreements = Vec::new();
    for (i, hint) in HINTS.iter().enumerate() {
        // Per server: (right, total); per declared value: (right, total).
        let mut per_server: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut by_value = [(0usize, 0usize); 2];
        for s in &mine {
            let Some(declared) = s.scored(i) else { continue };
            let right = get(&s.inferred, i) == declared;
            let e = per_server.entry(&s.server).or_default();
            e.0 += usize::from(right);
            e.1 += 1;
            let v = &mut by_value[usize::from(declared)];
            v.0 += usize::from(right);
            v.1 += 1;
            if !right {
                disagreements.push(Disagreement {
                    server: s.server.clone(),
                    tool: s.tool.clone(),
                    hint,
                    declared,
                    inferred: !declared,
                    evidence: s.evidence[i].clone(),
                });
            }
        }
        let (right, total) = per_server.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let macro_server = per_server.values().map(|&(r, t)| ratio(r, t)).sum::<f64>() / per_server.len() as f64;
        let recalls: Vec<f64> = by_value.iter().filter(|v| v.1 > 0).map(|&(r, t)| ratio(r, t)).collect();
        scores.push(Score {
            hint,
            tools: total,
            servers: per_server.len(),
            declared_true: by_value[1].1,
            micro: ratio(right, total),
            macro_server: if per_server.is_empty() { f64::NAN } else { macro_server },
            balanced: recalls.iter().sum::<f64>() / recalls.len() as f64,
        });
    }
    Report {
        part,
        servers: mine.iter().map(|s| &s.server).collect::<BTreeSet<_>>().len(),
        tools: mine.len(),
        vendors: vendors.into_iter().filter(|v| mine.iter().any(|s| &s.vendor == v)).collect(),
        scores,
        disagreements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(server: &str, vendor: &str, declared: [Option<bool>; 4], inferred: [bool; 4]) -> Sample {
        let [read_only, destructive, idempotent, open_world] = inferred;
        Sample {
            server: server.into(),
            vendor: vendor.into(),
            tool: "t".into(),
            declared,
            inferred: Hints { read_only, destructive, idempotent, open_world },
            evidence: Default::default(),
        }
    }

    #[test]
    fn micro_macro_and_balanced_are_what_they_say() {
        let t = Some(true);
        let f = Some(false);
        let samples = vec![
            // Server a: 3 of 3 right on readOnly; b: 0 of 1.
            sample("a", "va", [t, None, None, None], [true, false, true, true]),
            sample("a", "va", [t, None, None, None], [true, false, true, true]),
            sample("a", "va", [f, t, None, None], [false, true, false, true]),
            sample("b", "vb", [f, f, None, None], [true, false, true, true]),
        ];
        let r = report(&samples, &BTreeSet::new(), None, Part::All);
        let ro = &r.scores[0];
        assert_eq!((ro.tools, ro.servers, ro.declared_true), (4, 2, 2));
        assert!((ro.micro - 0.75).abs() < 1e-9);
        assert!((ro.macro_server - 0.5).abs() < 1e-9);
        // declared true: 2/2 right; declared false: 1/2.
        assert!((ro.balanced - 0.75).abs() < 1e-9);
        // destructiveHint is scored only where not declared read-only.
        let de = &r.scores[1];
        assert_eq!(de.tools, 2);
        assert!((de.balanced - 1.0).abs() < 1e-9);
        assert_eq!(r.disagreements.len(), 1);
        assert_eq!(r.disagreements[0].server, "b");
    }

    #[test]
    fn parts_alternate_vendors_by_name() {
        let samples: Vec<Sample> = ["c", "a", "b", "d"].iter().map(|v| sample(v, v, [None; 4], [false; 4])).collect();
        let none = BTreeSet::new();
        assert_eq!(vendors_of(&samples, &none, Part::Tune).into_iter().collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(vendors_of(&samples, &none, Part::Test).into_iter().collect::<Vec<_>>(), ["b", "d"]);
        // The configured vendors decide, crawled or not.
        let configured: BTreeSet<String> = ["a", "aa", "b", "c", "d"].map(String::from).into();
        assert_eq!(vendors_of(&samples, &configured, Part::Test).into_iter().collect::<Vec<_>>(), ["aa", "c"]);
    }
}
