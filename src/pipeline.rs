//! Steps that join two stages and are shared by commands and benchmarks.

use crate::classify::Rules;
use crate::model::Signal;
use crate::store::{Store, StoreError};

/// Classify every active tool's current definition and store the verdicts.
/// A definition that changed since it was acknowledged gets `definition-changed`.
pub fn classify_all(store: &mut Store, rules: &Rules) -> Result<usize, StoreError> {
    let tools = store.tools(false)?;
    let verdicts: Vec<_> = tools
        .iter()
        .map(|t| {
            let mut v = rules.classify(&t.record);
            if t.definition_changed() {
                v.signals.push(Signal {
                    name: "definition-changed".into(),
                    evidence: format!(
                        "definition changed since first catalogued ({} versions); acknowledge with `mcp-catalogue ack`",
                        t.versions
                    ),
                });
            }
            (t.id, t.hash.clone(), v)
        })
        .collect();
    store.save_verdicts(&verdicts)?;
    Ok(verdicts.len())
}
