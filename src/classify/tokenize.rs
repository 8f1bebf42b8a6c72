//! Name tokeniser: one lowercase word per token across snake_case,
//! camelCase, PascalCase, kebab-case, dotted and spaced names.

/// Split a tool or parameter name into lowercase words.
///
/// `list_pools`, `pool-list`, `poolList`, `PoolList`, `pool.query` and
/// `getHTTPResponse` give `[list, pools]`, `[pool, list]`, `[pool, list]`,
/// `[pool, list]`, `[pool, query]` and `[get, http, response]`. Digits stay
/// with the word before them (`s3Bucket` → `[s3, bucket]`).
pub fn tokenize(name: &str) -> Vec<String> {
    let mut t = Tokens::default();
    t.fill(name);
    t.iter().map(str::to_string).collect()
}

/// The tokens of one name, kept in a single reusable buffer: the lowercase
/// words joined by single spaces (so [`Tokens::spaced`] is `tokens.join(" ")`
/// for free). Refilling reuses the allocation.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    buf: String,
    /// (start, end) of each token in `buf`.
    spans: Vec<(usize, usize)>,
}

impl Tokens {
    /// Tokenise `name` (as [`tokenize`]), replacing the previous tokens.
    pub(crate) fn fill(&mut self, name: &str) {
        self.buf.clear();
        self.spans.clear();
        if name.is_ascii() {
            self.fill_ascii(name);
        } else {
            self.fill_unicode(name);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub(crate) fn last(&self) -> Option<&str> {
        self.spans.last().map(|&(a, b)| &self.buf[a..b])
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.spans.iter().map(|&(a, b)| &self.buf[a..b])
    }

    /// The tokens joined by single spaces.
    pub(crate) fn spaced(&self) -> &str {
        &self.buf
    }

    fn start_token(&mut self) {
        if !self.spans.is_empty() {
            self.buf.push(' ');
        }
        let at = self.buf.len();
        self.spans.push((at, at));
    }

    fn end_token(&mut self) {
        let end = self.buf.len();
        if let Some(last) = self.spans.last_mut() {
            last.1 = end;
        }
    }

    /// One whole ASCII token, lowercased.
    fn push_ascii(&mut self, t: &str) {
        if !self.spans.is_empty() {
            self.buf.push(' ');
        }
        let at = self.buf.len();
        self.buf.push_str(t);
        self.buf[at..].make_ascii_lowercase();
        self.spans.push((at, self.buf.len()));
    }

    /// Same rules as [`Tokens::fill_unicode`] for ASCII input, on bytes:
    /// finds each token's span and copies it whole.
    fn fill_ascii(&mut self, name: &str) {
        let b = name.as_bytes();
        let mut start: Option<usize> = None;
        for (i, &c) in b.iter().enumerate() {
            if !c.is_ascii_alphanumeric() {
                if let Some(s) = start.take() {
                    self.push_ascii(&name[s..i]);
                }
                continue;
            }
            match start {
                None => start = Some(i),
                Some(s) if c.is_ascii_uppercase() => {
                    let prev = b[i - 1];
                    let next_lower = b.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                    if prev.is_ascii_lowercase()
                        || prev.is_ascii_digit()
                        || (prev.is_ascii_uppercase() && next_lower)
                    {
                        self.push_ascii(&name[s..i]);
                        start = Some(i);
                    }
                }
                Some(_) => {}
            }
        }
        if let Some(s) = start {
            self.push_ascii(&name[s..]);
        }
    }

    fn fill_unicode(&mut self, name: &str) {
        let mut open = false;
        let mut prev: Option<char> = None;
        let mut it = name.chars().peekable();
        while let Some(c) = it.next() {
            let p = prev.replace(c);
            if !c.is_alphanumeric() {
                if open {
                    self.end_token();
                    open = false;
                }
                continue;
            }
            if c.is_uppercase() && open {
                // The current token is non-empty, so there is a previous
                // character and it is alphanumeric.
                let prev = p.unwrap_or(' ');
                let next_lower = it.peek().is_some_and(|n| n.is_lowercase());
                // fooBar, foo2Bar | HTTPResponse (split before the R of Response)
                if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                    self.end_token();
                    open = false;
                }
            }
            if !open {
                self.start_token();
                open = true;
            }
            self.buf.extend(c.to_lowercase());
        }
        if open {
            self.end_token();
        }
    }
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
    fn the_ascii_fast_path_splits_like_the_unicode_path() {
        use super::Tokens;
        let names = [
            "list_pools", "getHTTPResponse", "HTTPServer", "s3Bucket", "listV2Items",
            "system.ntp_server-createNow", "LIST_POOLS", "a/b:c", "__x__y__", "ABCdefGHI",
            "x1Y2z3", "Delete File", "", "9lives", "aB", "AbC",
        ];
        for n in names {
            let (mut a, mut u) = (Tokens::default(), Tokens::default());
            a.fill_ascii(n);
            u.fill_unicode(n);
            assert_eq!(a.spaced(), u.spaced(), "{n}");
            assert_eq!(a.iter().collect::<Vec<_>>(), u.iter().collect::<Vec<_>>(), "{n}");
        }
    }

    #[test]
    fn non_ascii_letters_stay_words() {
        assert_eq!(t("créer_fichier"), ["créer", "fichier"]);
        assert_eq!(t("a\u{200b}b"), ["a", "b"]);
    }
}
