//! Steps that join two stages and are shared by commands and benchmarks.

use crate::classify::Rules;
use crate::model::Signal;
use crate::store::{ClassifyInput, Store, StoreError, VerdictRow};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Classify every active tool's current definition and store the verdicts
/// (only those that changed are rewritten). A definition that changed since
/// it was acknowledged gets `definition-changed`. Parsing, classifying and
/// serialising run on every core, a batch at a time; this thread writes
/// each batch as it comes, so writing overlaps classifying.
pub fn classify_all(store: &mut Store, rules: &Rules) -> Result<usize, StoreError> {
    let t = std::time::Instant::now();
    let inputs = store.classify_inputs()?;
    tracing::info!("loaded {} tools in {:.3}s", inputs.len(), t.elapsed().as_secs_f64());
    classify_inputs(store, rules, inputs)
}

/// As [`classify_all`], for definitions already loaded with
/// [`Store::classify_inputs`] (so that loading them can overlap other
/// work, such as compiling the rules).
pub fn classify_inputs(store: &mut Store, rules: &Rules, inputs: Vec<ClassifyInput>) -> Result<usize, StoreError> {
    let t = std::time::Instant::now();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(16);
    const BATCH: usize = 2048;
    let next = AtomicUsize::new(0);
    let written = std::thread::scope(|s| {
        let (send, batches) = mpsc::sync_channel::<Result<Vec<VerdictRow>, StoreError>>(threads * 2);
        for _ in 0..threads {
            let (send, inputs, next) = (send.clone(), &inputs, &next);
            s.spawn(move || loop {
                let start = next.fetch_add(BATCH, Ordering::Relaxed);
                if start >= inputs.len() {
                    break;
                }
                let part = &inputs[start..(start + BATCH).min(inputs.len())];
                let rows = part.iter().map(|t| verdict_row(rules, t)).collect();
                // The writer stopped (an error): nothing more to do.
                if send.send(rows).is_err() {
                    break;
                }
            });
        }
        drop(send);
        let mut writer = store.verdict_writer()?;
        for rows in batches {
            writer.write(&rows?)?;
        }
        tracing::info!("classified in {:.3}s", t.elapsed().as_secs_f64());
        writer.finish()
    })?;
    store.fold_wal();
    tracing::info!("saved verdicts in {:.3}s ({written} rows written)", t.elapsed().as_secs_f64());
    Ok(inputs.len())
}

fn verdict_row(rules: &Rules, t: &ClassifyInput) -> Result<VerdictRow, StoreError> {
    let record = t.record()?;
    let mut v = rules.classify(&record);
    if t.definition_changed {
        v.signals.push(Signal {
            name: "definition-changed".into(),
            evidence: format!(
                "definition changed since first catalogued ({} versions); acknowledge with `mcp-catalogue ack`",
                t.versions
            ),
        });
    }
    Ok(VerdictRow::new(t.id, t.hash.clone(), &v))
}
