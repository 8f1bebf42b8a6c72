//! Steps that join two stages and are shared by commands and benchmarks.

use crate::classify::Rules;
use crate::model::{Signal, Verdict};
use crate::store::{ClassifyInput, Store, StoreError};

/// Classify every active tool's current definition and store the verdicts
/// (only those that changed are rewritten). A definition that changed since
/// it was acknowledged gets `definition-changed`. Uses every core.
pub fn classify_all(store: &mut Store, rules: &Rules) -> Result<usize, StoreError> {
    let t = std::time::Instant::now();
    let inputs = store.classify_inputs()?;
    tracing::info!("loaded {} tools in {:.3}s", inputs.len(), t.elapsed().as_secs_f64());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(16);
    let chunk = inputs.len().div_ceil(threads).max(1);
    let verdicts: Vec<(i64, String, Verdict)> = std::thread::scope(|s| {
        let handles: Vec<_> = inputs.chunks(chunk).map(|part| s.spawn(move || part.iter().map(|t| verdict(rules, t)).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    tracing::info!("classified in {:.3}s", t.elapsed().as_secs_f64());
    store.save_verdicts(&verdicts)?;
    tracing::info!("saved verdicts in {:.3}s", t.elapsed().as_secs_f64());
    Ok(verdicts.len())
}

fn verdict(rules: &Rules, t: &ClassifyInput) -> (i64, String, Verdict) {
    let mut v = rules.classify(&t.record);
    if t.definition_changed {
        v.signals.push(Signal {
            name: "definition-changed".into(),
            evidence: format!(
                "definition changed since first catalogued ({} versions); acknowledge with `mcp-catalogue ack`",
                t.versions
            ),
        });
    }
    (t.id, t.hash.clone(), v)
}
