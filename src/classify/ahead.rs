//! Classifying a catalogue already held in memory: [`Rules::classify_each`]
//! fetches the records a few places ahead into the CPU's caches.
//!
//! A `ToolRecord` is a tree of small heap allocations (the schema's maps,
//! their keys, their strings). Across a 100k-tool catalogue those lie spread
//! over hundreds of MiB, and walking one tree waits for memory at every
//! level: the next address is only known once the previous load arrives
//! (reading a cold record's tree alone takes about 0.5 µs). So the fetches
//! are staged, one tree level per record: while record `i` is classified,
//! the next record's deepest level is requested (its parents arrived during
//! the previous record), the one after that one level higher, and so on.
//! Each record in flight keeps its frontier, the nodes whose data the last
//! stage requested, so every node is visited once. Prefetches are hints:
//! they never fault and change no result.

use super::Rules;
use crate::model::{ToolRecord, Verdict};
use serde_json::Value;

/// Records in flight: the schema's entries, `properties`' entries, each
/// property's entries, their strings. Deeper levels are read as
/// classification reaches them.
const LEVELS: usize = 4;

/// Containers followed per level of one record: enough for ordinary
/// schemas; a huge one is read as classification reaches it.
const WIDTH: usize = 48;

impl Rules {
    /// Classify every record of `tools`, in order, handing each verdict to
    /// `f` with the record's index. The same verdicts as [`Rules::classify`]
    /// record by record, faster on a catalogue held in memory (see the
    /// module documentation).
    pub fn classify_each(&self, tools: &[ToolRecord], mut f: impl FnMut(usize, Verdict)) {
        // frontiers[k]: the nodes of record `i + LEVELS - k` whose data
        // the previous stage requested (k = 0: the newest record).
        let mut frontiers: [Vec<&Value>; LEVELS] = Default::default();
        let mut next: Vec<&Value> = Vec::new();
        self.with_scratch(|scratch| {
            for (i, tool) in tools.iter().enumerate() {
                // The oldest record's frontier is done with; the others go
                // one level deeper; the newest record starts.
                frontiers.rotate_right(1);
                for frontier in frontiers[1..].iter_mut() {
                    deeper(frontier, &mut next);
                }
                frontiers[0].clear();
                if let Some(t) = tools.get(i + LEVELS) {
                    start(t, &mut frontiers[0]);
                }
                f(i, self.classify_in(tool, scratch));
            }
        });
    }
}

/// Request what the record points at; its containers become the frontier.
fn start<'a>(t: &'a ToolRecord, frontier: &mut Vec<&'a Value>) {
    fetch_str(&t.name);
    fetch_str(t.description.as_deref().unwrap_or(""));
    for v in std::iter::once(&t.input_schema).chain(&t.annotations) {
        if fetch_value(v) {
            frontier.push(v);
        }
    }
}

/// Request what the frontier's children point at, and make the children
/// that are containers the new frontier.
fn deeper<'a>(frontier: &mut Vec<&'a Value>, next: &mut Vec<&'a Value>) {
    next.clear();
    let mut follow = |v: &'a Value| {
        if fetch_value(v) && next.len() < WIDTH {
            next.push(v);
        }
    };
    for v in frontier.iter() {
        match v {
            Value::Object(m) => {
                for (k, v) in m.iter() {
                    fetch_str(k);
                    follow(v);
                }
            }
            Value::Array(a) => a.iter().for_each(&mut follow),
            _ => {}
        }
    }
    std::mem::swap(frontier, next);
}

/// Request the heap data `v` itself points at: a string's bytes, a map's
/// entries, an array's elements. True for a non-empty container.
fn fetch_value(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            fetch_str(s);
            false
        }
        // An entry (hash, key, value) spans two cache lines.
        Value::Object(m) => {
            for (k, v) in m {
                line(k as *const String as *const u8);
                line(v as *const Value as *const u8);
            }
            !m.is_empty()
        }
        Value::Array(a) => {
            for v in a {
                line(v as *const Value as *const u8);
            }
            !a.is_empty()
        }
        _ => false,
    }
}

fn fetch_str(s: &str) {
    if !s.is_empty() {
        line(s.as_ptr());
        if s.len() > 64 {
            line(s.as_ptr().wrapping_add(64));
        }
    }
}

/// A prefetch of the cache line holding `p`.
#[inline(always)]
fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint. It reads nothing the program can
    // observe and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
