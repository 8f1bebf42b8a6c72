//! A bounded Server-Sent Events parser (the `text/event-stream` format):
//! feed it bytes as they arrive, get whole events back. One event's data may
//! not grow past a limit, so an endless event is an error, not an OOM.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; "message" when none was given.
    pub event: String,
    pub data: String,
}

#[derive(Debug)]
pub struct TooLong;

pub struct Parser {
    max: usize,
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous byte was a `\r` (a following `\n` belongs to it).
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
}

impl Parser {
    pub fn new(max: usize) -> Self {
        Parser {
            max,
            line: Vec::new(),
            after_cr: false,
            event: String::new(),
            data: String::new(),
            has_data: false,
        }
    }

    /// Feed the next bytes; returns the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Event>, TooLong> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' && self.after_cr {
                // The `\n` of a `\r\n` whose `\r` already ended the line.
                self.after_cr = false;
                start = i + 1;
                continue;
            }
            self.after_cr = false;
            if b == b'\n' || b == b'\r' {
                self.append(&bytes[start..i])?;
                self.after_cr = b == b'\r';
                let line = std::mem::take(&mut self.line);
                if let Some(ev) = self.field(&line)? {
                    out.push(ev);
                }
                start = i + 1;
            }
        }
        self.append(&bytes[start..])?;
        Ok(out)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        if self.line.len() + bytes.len() + self.data.len() > self.max {
            return Err(TooLong);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Handle one complete line; a blank line dispatches the event.
    fn field(&mut self, line: &[u8]) -> Result<Option<Event>, TooLong> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            if !std::mem::take(&mut self.has_data) {
                return Ok(None);
            }
            let event = if event.is_empty() {
                "message".to_string()
            } else {
                event
            };
            return Ok(Some(Event { event, data }));
        }
        if line[0] == b':' {
            return Ok(None); // a comment (keep-alive)
        }
        let line = String::from_utf8_lossy(line);
        let (name, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&line[..], ""),
        };
        match name {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.data.len() + value.len() + 1 > self.max {
                    return Err(TooLong);
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {} // id, retry and unknown fields: not needed here
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> Event {
        Event {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn parses_events_split_anywhere() {
        let input = b": keep-alive\r\nevent: endpoint\r\ndata: /messages/?session_id=1\r\n\r\ndata: {\"a\":\ndata: 1}\n\nevent: message\rdata:x\r\r";
        for split in 0..input.len() {
            let mut p = Parser::new(1000);
            let mut got = p.push(&input[..split]).unwrap();
            got.extend(p.push(&input[split..]).unwrap());
            assert_eq!(
                got,
                vec![
                    ev("endpoint", "/messages/?session_id=1"),
                    ev("message", "{\"a\":\n1}"),
                    ev("message", "x")
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        let mut p = Parser::new(100);
        assert!(p.push(b"event: ping\n\n").unwrap().is_empty());
    }

    #[test]
    fn an_endless_event_is_an_error() {
        let mut p = Parser::new(16);
        assert!(p.push(b"data: 0123456789\n").is_ok());
        assert!(p.push(b"data: 0123456789\n").is_err());
        let mut p = Parser::new(16);
        assert!(p.push(&[b'x'; 17]).is_err());
    }
}
