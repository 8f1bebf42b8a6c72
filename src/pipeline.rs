//! Steps that join two stages and are shared by commands and benchmarks.

use crate::classify::Rules;
use crate::model::Signal;
use crate::store::{ClassifyInput, Store, StoreError, VerdictRow};

/// Classify every active tool's current definition and store the verdicts
/// (only those that changed are rewritten). A definition that changed since
/// it was acknowledged gets `definition-changed`. Parsing, classifying and
/// serialising run on every core; each record is dropped once classified.
pub fn classify_all(store: &mut Store, rules: &Rules) -> Result<usize, StoreError> {
    let t = std::time::Instant::now();
    let inputs = store.classify_inputs()?;
    tracing::info!("loaded {} tools in {:.3}s", inputs.len(), t.elapsed().as_secs_f64());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(16);
    let chunk = inputs.len().div_ceil(threads).max(1);
    let rows: Vec<VerdictRow> = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|t| verdict_row(rules, t)).collect::<Result<Vec<_>, _>>()))
            .collect();
        let mut all = Vec::with_capacity(inputs.len());
        for h in handles {
            all.extend(h.join().map_err(|_| StoreError::Other("classification thread panicked".into()))??);
        }
        Ok::<_, StoreError>(all)
    })?;
    drop(inputs);
    tracing::info!("classified in {:.3}s", t.elapsed().as_secs_f64());
    store.save_verdicts(&rows)?;
    tracing::info!("saved verdicts in {:.3}s", t.elapsed().as_secs_f64());
    Ok(rows.len())
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
            )
            .into(),
        });
    }
    Ok(VerdictRow::new(t.id, t.hash.clone(), &v))
}
