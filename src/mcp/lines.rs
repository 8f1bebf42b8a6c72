//! A newline-delimited reader that never holds more than a fixed number of
//! bytes of one line: a server that writes a gigabyte without a newline gets
//! a clear error (or, for stderr, a truncated line), not an out-of-memory.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// What one call to [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its `\n` (and without a trailing `\r`).
    Full(Vec<u8>),
    /// The line grew past the limit. In `truncate` mode this carries the
    /// first `max` bytes and the rest of the line is skipped; otherwise the
    /// reader stops here (the payload is empty).
    TooLong(Vec<u8>),
    /// End of input. Carries the unterminated last line, if any.
    Eof(Vec<u8>),
}

pub struct LineReader<R> {
    inner: R,
    max: usize,
    truncate: bool,
    line: Vec<u8>,
    /// Skipping the rest of an over-long line (truncate mode only).
    skipping: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// `max`: the most bytes one line may hold. `truncate`: cut long lines
    /// (for logs) instead of reporting them and stopping (for messages).
    pub fn new(inner: R, max: usize, truncate: bool) -> Self {
        LineReader {
            inner,
            max,
            truncate,
            line: Vec::new(),
            skipping: false,
        }
    }

    /// The next line. State lives in `self`, so a cancelled call loses nothing.
    pub async fn next_line(&mut self) -> std::io::Result<Line> {
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                let rest = std::mem::take(&mut self.line);
                return Ok(Line::Eof(rest));
            }
            let (chunk, found, used) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], true, i + 1),
                None => (available, false, available.len()),
            };
            let mut too_long = false;
            if !self.skipping {
                let room = self.max.saturating_sub(self.line.len());
                if chunk.len() > room {
                    self.line.extend_from_slice(&chunk[..room]);
                    too_long = true;
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            self.inner.consume(used);
            if too_long {
                if !self.truncate {
                    self.line = Vec::new();
                    return Ok(Line::TooLong(Vec::new()));
                }
                // Report the cut line now; skip its rest on later calls.
                self.skipping = !found;
                return Ok(Line::TooLong(std::mem::take(&mut self.line)));
            }
            if found {
                if self.skipping {
                    self.skipping = false;
                    continue;
                }
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Line::Full(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn all(input: &[u8], max: usize, truncate: bool) -> Vec<Line> {
        // A tiny buffer so lines span many reads.
        let mut r = LineReader::new(BufReader::with_capacity(3, input), max, truncate);
        let mut out = Vec::new();
        loop {
            let l = r.next_line().await.unwrap();
            let stop = matches!(l, Line::Eof(_)) || (!truncate && matches!(l, Line::TooLong(_)));
            out.push(l);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_and_keeps_the_unterminated_rest() {
        let got = all(b"ab\r\n\ncdef\ngh", 10, false).await;
        assert_eq!(
            got,
            vec![
                Line::Full(b"ab".to_vec()),
                Line::Full(vec![]),
                Line::Full(b"cdef".to_vec()),
                Line::Eof(b"gh".to_vec())
            ]
        );
    }

    #[tokio::test]
    async fn a_long_line_is_an_error_in_strict_mode() {
        let got = all(b"ok\n0123456789abcdef\nnext\n", 8, false).await;
        assert_eq!(got, vec![Line::Full(b"ok".to_vec()), Line::TooLong(vec![])]);
    }

    #[tokio::test]
    async fn a_long_line_is_cut_in_truncate_mode() {
        let got = all(b"0123456789abcdef\nnext\n", 8, true).await;
        assert_eq!(
            got,
            vec![
                Line::TooLong(b"01234567".to_vec()),
                Line::Full(b"next".to_vec()),
                Line::Eof(vec![])
            ]
        );
    }

    #[tokio::test]
    async fn a_line_of_exactly_max_bytes_fits() {
        let got = all(b"01234567\n", 8, false).await;
        assert_eq!(
            got,
            vec![Line::Full(b"01234567".to_vec()), Line::Eof(vec![])]
        );
    }
}
