//! Name tokeniser: one lowercase word per token across snake_case,
//! camelCase, PascalCase, kebab-case, dotted and spaced names.

/// Split a tool or parameter name into lowercase words.
///
/// `list_pools`, `pool-list`, `poolList`, `PoolList`, `pool.query` and
/// `getHTTPResponse` give `[list, pools]`, `[pool, list]`, `[pool, list]`,
/// `[pool, list]`, `[pool, query]` and `[get, http, response]`. Digits stay
/// with the word before them (`s3Bucket` → `[s3, bucket]`).
pub fn tokenize(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    tokenize_into(name, &mut out);
    out
}

/// As [`tokenize`], appending to `out` (lets callers reuse a buffer).
pub fn tokenize_into(name: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = name.chars().collect();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut cur, out);
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // fooBar, foo2Bar | HTTPResponse (split before the R of Response)
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                flush(&mut cur, out);
            }
        }
        cur.extend(c.to_lowercase());
    }
    flush(&mut cur, out);
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    fn t(s: &str) -> Vec<String> {
        tokenize(s)
    }

    #[test]
    fn snake_kebab_dotted_and_spaced() {
        assert_eq!(t("list_pools"), ["list", "pools"]);
        assert_eq!(t("pool-list"), ["pool", "list"]);
        assert_eq!(t("pool.query"), ["pool", "query"]);
        assert_eq!(t("Delete File"), ["delete", "file"]);
        assert_eq!(t("__x__y__"), ["x", "y"]);
        assert_eq!(t("a/b:c"), ["a", "b", "c"]);
    }

    #[test]
    fn camel_and_pascal_case() {
        assert_eq!(t("poolList"), ["pool", "list"]);
        assert_eq!(t("PoolList"), ["pool", "list"]);
        assert_eq!(t("getHTTPResponse"), ["get", "http", "response"]);
        assert_eq!(t("HTTPServer"), ["http", "server"]);
        assert_eq!(t("s3Bucket"), ["s3", "bucket"]);
        assert_eq!(t("listV2Items"), ["list", "v2", "items"]);
        assert_eq!(t("SQL"), ["sql"]);
    }

    #[test]
    fn mixed_separators_and_case() {
        assert_eq!(
            t("system.ntp_server-createNow"),
            ["system", "ntp", "server", "create", "now"]
        );
        assert_eq!(t("LIST_POOLS"), ["list", "pools"]);
        assert!(t("").is_empty());
        assert!(t("___").is_empty());
    }

    #[test]
    fn non_ascii_letters_stay_words() {
        assert_eq!(t("créer_fichier"), ["créer", "fichier"]);
        assert_eq!(t("a\u{200b}b"), ["a", "b"]);
    }
}
