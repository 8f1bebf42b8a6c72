//! The shapes of the classification rule files, exactly as written in
//! `rules/*.toml`. Every struct denies unknown fields, so a typo is an error
//! that names the file, line and column instead of a silent no-op. See
//! `rules/README.md` for what each field means.

use serde::Deserialize;

/// `rules/verbs.toml`: the verb lexicon.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerbsFile {
    /// Lowercase phrases stripped from the start of a description before its
    /// leading verb is read ("use this tool to", "tool that", ...).
    #[serde(default)]
    pub preambles: Vec<String>,
    /// Tokens that join two verbs in one name ("get_or_create"): when present,
    /// every verb of the name counts, and mixed read/write verbs mean write.
    #[serde(default)]
    pub conjunctions: Vec<String>,
    /// Two-word noun phrases whose first word is also a verb ("pull
    /// request"): never read as verbs.
    #[serde(default)]
    pub nouns: Vec<String>,
    /// Input-schema property names (tokenised, joined by `_`) whose enum
    /// values name the actions of a multi-action tool (`action`,
    /// `operation`): the tool is as much a write as its severest action.
    #[serde(default)]
    pub action_keys: Vec<String>,
    #[serde(default)]
    pub verb: Vec<VerbGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerbGroup {
    pub id: String,
    /// What a tool whose verb is in this group does: read, write, execute,
    /// destructive or financial.
    pub class: String,
    /// Risk floor when this verb decides the verdict.
    #[serde(default)]
    pub risk: Option<String>,
    #[serde(default)]
    pub signals: Vec<String>,
    /// Words that are often nouns too ("post", "export", "status"): they
    /// decide only when no unambiguous verb is found in the name or the
    /// description's leading word.
    #[serde(default)]
    pub ambiguous: bool,
    /// What a tool whose verb is in this group does, in MCP's terms:
    /// may it destroy or overwrite existing state (`destructive`), does
    /// repeating the call change nothing more (`idempotent`), does it reach
    /// beyond a closed domain (`open_world`). Unset (a missing `Option`
    /// field reads as `None`): no evidence.
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
    /// Lowercase words; two words separated by one space match two
    /// consecutive name tokens ("roll back").
    pub words: Vec<String>,
}

/// Declares a rule struct with the effect fields every phrase, object,
/// parameter and combo rule shares (serde's `flatten` cannot be combined
/// with `deny_unknown_fields`, so the fields are repeated by this macro).
macro_rules! rule_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($body)*
            /// any (default), read or write: the rule applies only when the
            /// tool's kind is this one.
            #[serde(default)]
            pub scope: Option<String>,
            /// strong or weak: matching makes the tool a write. strong
            /// overrides a readOnlyHint (raising annotation-conflict); weak
            /// yields to it.
            #[serde(default)]
            pub forces_write: Option<String>,
            /// The text says the tool changes nothing ("read-only", "does
            /// not modify"): a read unless a strong rule forces a write or
            /// the verb destroys, executes or pays.
            #[serde(default)]
            pub declares_read: bool,
            /// Applies only when the verdict's category (from every other
            /// rule) is one of these. Such a rule may not set category or
            /// forces_write.
            #[serde(default)]
            pub when_category: Vec<String>,
            #[serde(default)]
            pub category: Option<String>,
            #[serde(default)]
            pub risk: Option<String>,
            #[serde(default)]
            pub signals: Vec<String>,
            /// Evidence for MCP's hints when the rule matches (see
            /// `VerbGroup`): `destructive`, `idempotent`, `open_world`.
            pub destructive: Option<bool>,
            pub idempotent: Option<bool>,
            pub open_world: Option<bool>,
            /// Free text for people; never read by the classifier.
            #[serde(default)]
            #[allow(dead_code)]
            pub note: Option<String>,
        }

        impl $name {
            pub fn effects(&self) -> EffectFields<'_> {
                EffectFields {
                    scope: self.scope.as_deref(),
                    forces_write: self.forces_write.as_deref(),
                    declares_read: self.declares_read,
                    when_category: &self.when_category,
                    category: self.category.as_deref(),
                    risk: self.risk.as_deref(),
                    signals: &self.signals,
                    hints: HintFields {
                        destructive: self.destructive,
                        idempotent: self.idempotent,
                        open_world: self.open_world,
                    },
                }
            }
        }
    };
}

/// A borrowed view of a rule's effect fields.
pub struct EffectFields<'a> {
    pub scope: Option<&'a str>,
    pub forces_write: Option<&'a str>,
    pub declares_read: bool,
    pub when_category: &'a [String],
    pub category: Option<&'a str>,
    pub risk: Option<&'a str>,
    pub signals: &'a [String],
    pub hints: HintFields,
}

/// Hint evidence a verb group or rule carries (unset: none).
#[derive(Debug, Clone, Copy, Default)]
pub struct HintFields {
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

/// `rules/phrases.toml`: patterns over the tool's title and description.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhrasesFile {
    #[serde(default)]
    pub phrase: Vec<PatternRule>,
}

/// `rules/objects.toml`: patterns over the name's tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectsFile {
    #[serde(default)]
    pub object: Vec<PatternRule>,
}

rule_struct! {
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternRule {
    pub id: String,
    pub pattern: String,
    /// When this also matches the same text, the rule does not fire.
    #[serde(default)]
    pub unless: Option<String>,
}
}

/// `rules/params.toml`: signals from input-schema property names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsFile {
    #[serde(default)]
    pub param: Vec<ParamRule>,
    #[serde(default)]
    pub combo: Vec<ComboRule>,
}

rule_struct! {
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamRule {
    pub id: String,
    /// Whole property names, compared after tokenising (`apiKey`, `api-key`
    /// and `api_key` are all `api_key`; `apikey` also matches `api_key`).
    /// With neither `names` nor `last`, `description` is checked on every
    /// property.
    #[serde(default)]
    pub names: Vec<String>,
    /// Last token of the property name (`pre_script` → `script`).
    #[serde(default)]
    pub last: Vec<String>,
    /// When set, the property's description must match it.
    #[serde(default)]
    pub description: Option<String>,
    /// Property types (JSON Schema `type`) this rule ignores, e.g. boolean.
    #[serde(default)]
    pub skip_types: Vec<String>,
    /// When the tool's title + description match this, the rule does not fire.
    #[serde(default)]
    pub tool_unless: Option<String>,
}
}

rule_struct! {
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComboRule {
    pub id: String,
    /// Each inner list is a group of names (whole name or last token); every
    /// group must be matched by some property.
    pub all_of: Vec<Vec<String>>,
    /// When set, the tool's title + description must match it.
    #[serde(default)]
    pub description: Option<String>,
}
}

/// `rules/suspicious.toml`: text aimed at the model rather than the user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspiciousFile {
    #[serde(default)]
    pub pattern: Vec<SuspiciousRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspiciousRule {
    pub id: String,
    /// What the text asks the model to do (one of `suspicious::CLASSES`):
    /// the finding is reported as `suspicious.CLASS.ID`.
    pub class: String,
    pub pattern: String,
    /// No match when this matches the same text too (a benign look-alike).
    #[serde(default)]
    pub unless: Option<String>,
    /// Applies only to text a hidden carrier revealed (an HTML or markdown
    /// comment, Unicode tag characters, a decoded blob): patterns too broad
    /// for visible text but telling once somebody took care to hide it.
    #[serde(default)]
    pub hidden_only: bool,
    /// Match against the text exactly as sent (needed for invisible and
    /// bidirectional characters); otherwise non-ASCII characters are folded
    /// to spaces first.
    #[serde(default)]
    pub raw: bool,
    /// Risk floor; high when omitted.
    #[serde(default)]
    pub risk: Option<String>,
    /// Free text for people; never read by the classifier.
    #[serde(default)]
    #[allow(dead_code)]
    pub note: Option<String>,
}

/// `rules/overrides.toml`: fixed verdicts for named servers' tools.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverridesFile {
    #[serde(default, rename = "override")]
    pub overrides: Vec<OverrideRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRule {
    pub id: String,
    /// Server name glob (`*` and `?`).
    pub server: String,
    /// Tool name glob; exactly one of `tool` and `tool_regex`.
    #[serde(default)]
    pub tool: Option<String>,
    #[serde(default)]
    pub tool_regex: Option<String>,
    pub kind: String,
    pub category: String,
    pub risk: String,
    /// Free text for people; never read by the classifier.
    #[serde(default)]
    #[allow(dead_code)]
    pub note: Option<String>,
}
