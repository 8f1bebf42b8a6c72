//! Text helpers shared by the rule families: folding to ASCII before
//! matching, and clipping evidence to a readable length. Never decides
//! anything.

use std::borrow::Cow;
use std::fmt;

/// Non-ASCII characters become spaces, so the rule patterns (written for
/// ASCII text) see words predictably.
pub(super) fn fold_ascii(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(|c| if c.is_ascii() { c } else { ' ' }).collect())
    }
}

/// At most `n` characters of a text, trimmed (evidence stays short);
/// displays as the text, with `…` when cut.
pub(super) struct Clip<'a>(pub &'a str, pub usize);

impl fmt::Display for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.trim();
        match s.char_indices().nth(self.1) {
            Some((i, _)) => write!(f, "{}…", &s[..i]),
            None => f.write_str(s),
        }
    }
}

/// [`Clip`] as a string.
pub(super) fn clip(s: &str, n: usize) -> String {
    Clip(s, n).to_string()
}
