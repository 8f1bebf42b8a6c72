//! Fixed verdicts for named servers' tools (`rules/overrides.toml`): the
//! user's word beats every heuristic, except that a suspicious description
//! still raises the risk. Never matches by anything but server and tool
//! name.

use super::config::OverridesFile;
use super::effects::Out;
use super::load::{glob_regex, Loader, Reads};
use super::ClassifyError;
use crate::model::{Category, Hints, Inferred, Kind, Risk, ToolRecord, Verdict};
use regex::bytes::Regex;

#[derive(Debug)]
pub(super) struct Override {
    id: String,
    server: Regex,
    tool: Regex,
    kind: Kind,
    category: Category,
    risk: Risk,
}

#[derive(Debug)]
pub(super) struct Overrides(Vec<Override>);

impl Overrides {
    pub fn load(l: &Loader<'_>) -> Result<Overrides, ClassifyError> {
        let file: OverridesFile = l.parse()?;
        let mut overrides = Vec::new();
        for o in &file.overrides {
            let tool = match (&o.tool, &o.tool_regex) {
                (Some(g), None) => l.regex(&o.id, &glob_regex(g), Reads::AsSent)?,
                (None, Some(r)) => l.regex(&o.id, r, Reads::AsSent)?,
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
                id: format!("override.{}", o.id),
                server: l.regex(&o.id, &glob_regex(&o.server), Reads::AsSent)?,
                tool,
                kind,
                category,
                risk: l.risk(&o.id, &o.risk)?,
            });
        }
        Ok(Overrides(overrides))
    }

    /// The first override naming this tool's server and name.
    pub fn find(&self, tool: &ToolRecord) -> Option<&Override> {
        self.0.iter().find(|o| o.server.is_match(tool.server.as_bytes()) && o.tool.is_match(tool.name.as_bytes()))
    }
}

impl Override {
    /// The fixed verdict, keeping the hardening signals already in `out`;
    /// its effective hints follow the fixed kind and category, the author's
    /// idempotent and open-world hints, else the inferred ones.
    pub fn verdict(&self, tool: &ToolRecord, suspicious: Option<Risk>, mut out: Out, rules_hash: &str, inferred: Inferred) -> Verdict {
        out.reason(&self.id, format!("{}/{}", tool.server, tool.name));
        Verdict {
            kind: self.kind,
            category: self.category,
            risk: suspicious.map_or(self.risk, |s| s.max(self.risk)),
            signals: out.signals,
            reasons: out.reasons,
            confidence: 1.0,
            rules_hash: rules_hash.to_string(),
            effective: Hints {
                read_only: self.kind == Kind::Read,
                destructive: self.category == Category::Destructive,
                idempotent: tool.hint("idempotentHint").unwrap_or(inferred.idempotent.value),
                open_world: tool.hint("openWorldHint").unwrap_or(inferred.open_world.value),
            },
            inferred,
        }
    }
}
