//! Argument templates: JSON values whose strings may hold `{var}`
//! placeholders (`{{` / `}}` for literal braces). Rendering fills them from
//! the names parsed at earlier levels; matching decides whether concrete
//! arguments could have come from a template (the discovery guard).

use serde_json::Value;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Var(String),
}

/// Split a template string into literal text and `{var}` placeholders.
/// A `{` not followed by `ident}` is literal text.
fn pieces(s: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with("{{") {
            lit.push('{');
            i += 2;
            continue;
        }
        if s[i..].starts_with("}}") {
            lit.push('}');
            i += 2;
            continue;
        }
        if b[i] == b'{' {
            let rest = &s[i + 1..];
            let len = rest
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            let starts_ok = rest
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_');
            if len > 0 && starts_ok && rest.as_bytes().get(len) == Some(&b'}') {
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(Piece::Var(rest[..len].to_string()));
                i += len + 2;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or('\0');
        lit.push(ch);
        i += ch.len_utf8().max(1);
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

/// Every placeholder name used anywhere in `v` (object keys are literal).
pub fn vars(v: &Value) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    fn walk(v: &Value, set: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                for p in pieces(s) {
                    if let Piece::Var(n) = p {
                        set.insert(n);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, set)),
            Value::Object(m) => m.values().for_each(|x| walk(x, set)),
            _ => {}
        }
    }
    walk(v, &mut set);
    set
}

/// Placeholder names in one template string.
pub fn string_vars(s: &str) -> BTreeSet<String> {
    vars(&Value::String(s.to_string()))
}

fn lookup<'a>(bindings: &'a [(String, String)], name: &str) -> Option<&'a str> {
    bindings
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Fill a template string. Unknown placeholders render as empty text (the
/// loader rejects templates naming variables no earlier level binds).
pub fn render_str(s: &str, bindings: &[(String, String)]) -> String {
    let mut out = String::new();
    for p in pieces(s) {
        match p {
            Piece::Lit(l) => out.push_str(&l),
            Piece::Var(n) => out.push_str(lookup(bindings, &n).unwrap_or("")),
        }
    }
    out
}

/// Fill every string of a template value.
pub fn render(v: &Value, bindings: &[(String, String)]) -> Value {
    match v {
        Value::String(s) => Value::String(render_str(s, bindings)),
        Value::Array(a) => Value::Array(a.iter().map(|x| render(x, bindings)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), render(x, bindings)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Does the concrete string `s` fit template string `t`? Each placeholder
/// stands for any non-empty text.
fn str_fits(t: &str, s: &str) -> bool {
    let ps = pieces(t);
    if !ps.iter().any(|p| matches!(p, Piece::Var(_))) {
        return t_literal(&ps) == s;
    }
    let mut pat = String::from("^");
    for p in &ps {
        match p {
            Piece::Lit(l) => pat.push_str(&regex::escape(l)),
            Piece::Var(_) => pat.push_str("(?s:.+?)"),
        }
    }
    pat.push('$');
    regex::Regex::new(&pat).is_ok_and(|re| re.is_match(s))
}

fn t_literal(ps: &[Piece]) -> String {
    ps.iter()
        .map(|p| match p {
            Piece::Lit(l) => l.as_str(),
            Piece::Var(_) => "",
        })
        .collect()
}

/// Could the concrete arguments `args` be a rendering of template `t`?
/// Objects need exactly the same keys; arrays the same length.
pub fn fits(t: &Value, args: &Value) -> bool {
    match (t, args) {
        (Value::String(ts), Value::String(s)) => str_fits(ts, s),
        (Value::Array(ta), Value::Array(a)) => {
            ta.len() == a.len() && ta.iter().zip(a).all(|(x, y)| fits(x, y))
        }
        (Value::Object(tm), Value::Object(m)) => {
            tm.len() == m.len()
                && tm
                    .iter()
                    .all(|(k, tv)| m.get(k).is_some_and(|v| fits(tv, v)))
        }
        (a, b) => a == b,
    }
}

/// Could some rendering of template `a` equal some rendering of template `b`?
/// Conservative: a string holding a placeholder is taken to match any string.
pub fn overlaps(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            let (px, py) = (pieces(x), pieces(y));
            let vx = px.iter().any(|p| matches!(p, Piece::Var(_)));
            let vy = py.iter().any(|p| matches!(p, Piece::Var(_)));
            match (vx, vy) {
                (false, false) => t_literal(&px) == t_literal(&py),
                (true, false) => str_fits(x, &t_literal(&py)),
                (false, true) => str_fits(y, &t_literal(&px)),
                (true, true) => true,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| overlaps(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| overlaps(v, w)))
        }
        (p, q) => p == q,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_and_escapes() {
        let t = json!({"category": "{category}", "x": ["a-{category}-{{lit}}"], "n": 1});
        let r = render(&t, &b(&[("category", "pool")]));
        assert_eq!(
            r,
            json!({"category": "pool", "x": ["a-pool-{lit}"], "n": 1})
        );
        assert_eq!(vars(&t).into_iter().collect::<Vec<_>>(), vec!["category"]);
        assert!(string_vars("{ not a var }").is_empty());
    }

    #[test]
    fn fits_needs_same_shape() {
        let t = json!({"category": "{category}"});
        assert!(fits(&t, &json!({"category": "pool"})));
        assert!(!fits(&t, &json!({"category": ""})));
        assert!(!fits(&t, &json!({"category": "pool", "action": "x"})));
        assert!(!fits(&t, &json!({"category": 5})));
        assert!(fits(&json!({}), &json!({})));
        assert!(fits(
            &json!({"op": "group-{g}"}),
            &json!({"op": "group-files"})
        ));
        assert!(!fits(&json!({"op": "group-{g}"}), &json!({"op": "run"})));
    }

    #[test]
    fn overlap_is_conservative() {
        let sel = json!({"category": "{category}", "action": "{action}"});
        assert!(!overlaps(&json!({"category": "{category}"}), &sel));
        assert!(overlaps(&json!({"category": "x", "action": "help"}), &sel));
        assert!(!overlaps(&json!({"op": "groups"}), &json!({"op": "run"})));
    }
}
