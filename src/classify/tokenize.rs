//! Name tokeniser: one lowercase word per token across snake_case,
//! camelCase, PascalCase, kebab-case, dotted and spaced names. Knows no
//! words.

/// Split a tool or parameter name into lowercase words.
///
/// `list_pools`, `pool-list`, `poolList`, `PoolList`, `pool.query` and
/// `getHTTPResponse` give `[list, pools]`, `[pool, list]`, `[pool, list]`,
/// `[pool, list]`, `[pool, query]` and `[get, http, response]`. Digits stay
/// with the word before them (`s3Bucket` → `[s3, bucket]`).
pub fn tokenize(name: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut open = false;
    let mut prev: Option<char> = None;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let before = prev.replace(c);
        if !c.is_alphanumeric() {
            open = false;
            continue;
        }
        if c.is_uppercase() && open {
            // The open token is non-empty, so `before` is alphanumeric.
            let before = before.unwrap_or(' ');
            let next_lower = chars.peek().is_some_and(|n| n.is_lowercase());
            // fooBar, foo2Bar | HTTPResponse (split before the R of Response)
            if before.is_lowercase() || before.is_numeric() || (before.is_uppercase() && next_lower) {
                open = false;
            }
        }
        if !open {
            tokens.push(String::new());
            open = true;
        }
        if let Some(t) = tokens.last_mut() {
            t.extend(c.to_lowercase());
        }
    }
    tokens
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
        assert_eq!(t("ABCdefGHI"), ["ab", "cdef", "ghi"]);
    }

    #[test]
    fn mixed_separators_and_case() {
        assert_eq!(t("system.ntp_server-createNow"), ["system", "ntp", "server", "create", "now"]);
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
