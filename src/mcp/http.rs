//! HTTP transports: Streamable HTTP (POST each message; the answer is JSON or
//! an event stream) and legacy HTTP+SSE (a GET event stream names an
//! endpoint to POST to; answers come back on the stream).
//!
//! Error messages show URLs only as `scheme://host:port/path` and never show
//! header values: both may hold secrets.

use super::sse::Parser;
use super::{
    answers, cap, classify, fmt_bytes, fmt_duration, reply_to, Incoming, Limits, McpError, Phase,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Response, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Redirects followed before giving up (so a redirect loop is an error).
pub const MAX_REDIRECTS: usize = 5;
/// How long the closing DELETE may take.
const CLOSE_WAIT: Duration = Duration::from_secs(3);
const SESSION_ID: &str = "mcp-session-id";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// What both HTTP transports share: the client, the URL and the headers.
#[derive(Clone)]
pub struct Common {
    client: Client,
    url: Url,
    /// The URL as shown in messages.
    shown: String,
    headers: HeaderMap,
    max: usize,
}

impl Common {
    pub fn new(
        url: &str,
        headers: &[(String, String)],
        limits: &Limits,
    ) -> Result<Common, McpError> {
        let fail = |m: String| McpError::new(Phase::Connect, m);
        // url's parse errors never repeat the URL.
        let url = Url::parse(url.trim()).map_err(|e| fail(format!("invalid server URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail(format!(
                "unsupported URL scheme \"{}\" (use http or https)",
                cap(url.scheme(), 20)
            )));
        }
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| fail(format!("invalid header name \"{}\"", cap(k, 100))))?;
            let mut value = HeaderValue::from_str(v)
                .map_err(|_| fail(format!("invalid value for header {name} (value not shown)")))?;
            value.set_sensitive(true);
            map.append(name, value);
        }
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .connect_timeout(limits.spawn)
            .user_agent(concat!("mcp-catalogue/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| fail(format!("cannot build the HTTP client: {}", describe(e))))?;
        let shown = shown(&url);
        Ok(Common {
            client,
            url,
            shown,
            headers: map,
            max: limits.max_message_bytes,
        })
    }

    /// The configured headers plus ours (ours win).
    fn headers(&self, accept: &'static str, json_body: bool) -> HeaderMap {
        let mut h = self.headers.clone();
        h.insert(ACCEPT, HeaderValue::from_static(accept));
        if json_body {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        h
    }
}

/// `scheme://host:port/path`: no user info, query or fragment.
pub fn shown(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port_or_known_default() {
        Some(port) => format!("{}://{}:{}{}", url.scheme(), host, port, url.path()),
        None => format!("{}://{}{}", url.scheme(), host, url.path()),
    }
}

/// A reqwest error without its URL, with its causes.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = cur {
        let s = err.to_string();
        if parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = err.source();
    }
    cap(&parts.join(": "), 400)
}

fn send_error(e: reqwest::Error, shown: &str) -> String {
    if e.is_redirect() {
        format!("too many redirects (more than {MAX_REDIRECTS}) from {shown}")
    } else if e.is_connect() {
        format!("cannot connect to {shown}: {}", describe(e))
    } else if e.is_timeout() {
        format!("timed out talking to {shown}")
    } else {
        format!("request to {shown} failed: {}", describe(e))
    }
}

fn status_error(status: StatusCode, shown: &str) -> String {
    let reason = status
        .canonical_reason()
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let hint = match status.as_u16() {
        401 | 403 => " (check the server's headers/credentials)",
        _ => "",
    };
    format!("HTTP {}{reason}{hint} from {shown}", status.as_u16())
}

fn media_type(resp: &Response) -> String {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// A whole body, refusing one larger than `max`.
async fn read_body(resp: &mut Response, max: usize, shown: &str) -> Result<Vec<u8>, String> {
    let too_big = || {
        format!(
            "message exceeds {} limit (an answer from {shown})",
            fmt_bytes(max)
        )
    };
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading the answer from {shown} failed: {}", describe(e)))?
    {
        if body.len() + chunk.len() > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn batch(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        v => vec![v],
    }
}

/// Streamable HTTP (protocol 2025-03-26 and later).
pub struct Streamable {
    c: Common,
    session_id: Option<HeaderValue>,
    /// Sent as `MCP-Protocol-Version` once agreed.
    pub protocol: Option<String>,
    /// Why `initialize` suggests this is not a Streamable HTTP server
    /// (404/405/400, or an answer that is neither JSON nor an event stream):
    /// in Auto mode the session then tries legacy SSE.
    pub fallback: Option<String>,
}

impl Streamable {
    pub fn new(c: Common) -> Self {
        Streamable {
            c,
            session_id: None,
            protocol: None,
            fallback: None,
        }
    }

    /// The session id and negotiated protocol version, once known: every
    /// request after `initialize` carries both.
    fn session_headers(&self, h: &mut HeaderMap) {
        if let Some(sid) = &self.session_id {
            h.insert(SESSION_ID, sid.clone());
        }
        if let Some(v) = self
            .protocol
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            h.insert(PROTOCOL_VERSION, v);
        }
    }

    fn post(&self, msg: &Value) -> RequestBuilder {
        let mut h = self.c.headers(ACCEPT_BOTH, true);
        self.session_headers(&mut h);
        let body = serde_json::to_vec(msg).expect("a Value serialises");
        self.c.client.post(self.c.url.clone()).headers(h).body(body)
    }

    pub async fn notify(&mut self, msg: &Value, phase: Phase) -> Result<(), McpError> {
        let resp = self
            .post(msg)
            .send()
            .await
            .map_err(|e| McpError::new(phase, send_error(e, &self.c.shown)))?;
        if !resp.status().is_success() {
            return Err(McpError::new(
                phase,
                status_error(resp.status(), &self.c.shown),
            ));
        }
        Ok(())
    }

    pub async fn request(
        &mut self,
        id: u64,
        method: &str,
        msg: &Value,
        phase: Phase,
    ) -> Result<Value, McpError> {
        let first = method == "initialize";
        let fail = |m: String| McpError::new(phase, m);
        let mut resp = self.post(msg).send().await.map_err(|e| {
            // Not reaching the server at all is a connect failure.
            let phase = if first && e.is_connect() {
                Phase::Connect
            } else {
                phase
            };
            McpError::new(phase, send_error(e, &self.c.shown))
        })?;
        let status = resp.status();
        if first {
            if let Some(sid) = resp.headers().get(SESSION_ID) {
                self.session_id = Some(sid.clone());
            }
        }
        if !status.is_success() {
            if first && matches!(status.as_u16(), 400 | 404 | 405) {
                self.fallback = Some(format!("POST got HTTP {}", status.as_u16()));
            }
            let mut m = status_error(status, &self.c.shown);
            if status == StatusCode::NOT_FOUND && !first && self.session_id.is_some() {
                m.push_str(" (the server ended the session)");
            }
            return Err(fail(m));
        }
        let ctype = media_type(&resp);
        match ctype.as_str() {
            "text/event-stream" => self.read_events(resp, id, method, phase).await,
            "application/json" | "" => {
                let body = read_body(&mut resp, self.c.max, &self.c.shown)
                    .await
                    .map_err(fail)?;
                let parsed = serde_json::from_slice::<Value>(&body);
                let Ok(v) = parsed else {
                    if first {
                        self.fallback = Some("POST got an answer that is not JSON".to_string());
                    }
                    return Err(fail(format!(
                        "the answer to {method} from {} is not JSON",
                        self.c.shown
                    )));
                };
                let single = !v.is_array();
                for m in batch(v) {
                    let unmatched_error = single
                        && m.get("error").is_some()
                        && m.get("id").is_none_or(Value::is_null);
                    if answers(&m, id) || unmatched_error {
                        return Ok(m);
                    }
                }
                Err(fail(format!(
                    "the answer from {} does not answer {method}",
                    self.c.shown
                )))
            }
            other => {
                if first {
                    self.fallback =
                        Some(format!("POST got an answer of type \"{}\"", cap(other, 60)));
                }
                Err(fail(format!(
                    "expected JSON or an event stream from {}, got Content-Type \"{}\"",
                    self.c.shown,
                    cap(other, 60)
                )))
            }
        }
    }

    /// Read an event stream until the answer to `id`; answer the server's
    /// own requests on the way.
    async fn read_events(
        &self,
        mut resp: Response,
        id: u64,
        method: &str,
        phase: Phase,
    ) -> Result<Value, McpError> {
        let fail = |m: String| McpError::new(phase, m);
        let mut parser = Parser::new(self.c.max);
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    return Err(fail(format!(
                        "the event stream from {} ended without answering {method}",
                        self.c.shown
                    )))
                }
                Err(e) => {
                    return Err(fail(format!(
                        "reading the event stream from {} failed: {}",
                        self.c.shown,
                        describe(e)
                    )))
                }
            };
            let events = parser.push(&chunk).map_err(|_| {
                fail(format!(
                    "message exceeds {} limit (an event from {})",
                    fmt_bytes(self.c.max),
                    self.c.shown
                ))
            })?;
            for ev in events {
                if ev.event != "message" {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
                    tracing::debug!("skipped an event that is not JSON");
                    continue;
                };
                for m in batch(v) {
                    match classify(&m) {
                        Incoming::Response(m) if answers(&m, id) => return Ok(m),
                        Incoming::Response(_) | Incoming::Ignore => {}
                        Incoming::Request {
                            id: rid,
                            method: rm,
                        } => {
                            tracing::debug!(method = rm, "answering a request from the server");
                            let _ = self.post(&reply_to(&rid, &rm)).send().await;
                        }
                    }
                }
            }
        }
    }

    /// DELETE the session (errors ignored).
    pub async fn close(self) {
        if self.session_id.is_none() {
            return;
        }
        let mut h = self.c.headers.clone();
        self.session_headers(&mut h);
        let delete = self.c.client.delete(self.c.url.clone()).headers(h).send();
        let _ = tokio::time::timeout(CLOSE_WAIT, delete).await;
    }
}

/// What the legacy SSE stream reader passes on.
enum SseEvent {
    Endpoint(Result<Url, String>),
    Response(Value),
    /// The stream ended or broke.
    Fatal(String),
}

/// Legacy HTTP+SSE (protocol 2024-11-05).
pub struct LegacySse {
    c: Common,
    endpoint: Url,
    rx: mpsc::Receiver<SseEvent>,
    task: JoinHandle<()>,
    dead: Option<String>,
}

impl LegacySse {
    /// GET the stream and wait for its `endpoint` event.
    pub async fn connect(c: Common, wait: Duration) -> Result<LegacySse, McpError> {
        let fail = |m: String| McpError::new(Phase::Connect, m);
        let get = c
            .client
            .get(c.url.clone())
            .headers(c.headers("text/event-stream", false))
            .send();
        let resp = match tokio::time::timeout(wait, get).await {
            Err(_) => {
                return Err(fail(format!(
                    "timed out after {} waiting for an answer to GET {}",
                    fmt_duration(wait),
                    c.shown
                )))
            }
            Ok(Err(e)) => return Err(fail(send_error(e, &c.shown))),
            Ok(Ok(resp)) => resp,
        };
        if !resp.status().is_success() {
            return Err(fail(status_error(resp.status(), &c.shown)));
        }
        let ctype = media_type(&resp);
        if ctype != "text/event-stream" {
            return Err(fail(format!(
                "expected an event stream (text/event-stream) from GET {}, got \"{}\"",
                c.shown,
                cap(&ctype, 60)
            )));
        }
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(read_stream(resp, c.clone(), tx));
        let endpoint = async {
            loop {
                match rx.recv().await {
                    Some(SseEvent::Endpoint(r)) => return r,
                    Some(SseEvent::Fatal(m)) => {
                        return Err(format!("{m} before sending its endpoint event"))
                    }
                    Some(SseEvent::Response(_)) => continue,
                    None => return Err(format!("the event stream from {} closed", c.shown)),
                }
            }
        };
        let endpoint = match tokio::time::timeout(wait, endpoint).await {
            Ok(Ok(url)) => url,
            Ok(Err(m)) => {
                task.abort();
                return Err(fail(m));
            }
            Err(_) => {
                task.abort();
                return Err(fail(format!(
                    "timed out after {} waiting for the endpoint event from {}",
                    fmt_duration(wait),
                    c.shown
                )));
            }
        };
        Ok(LegacySse {
            c,
            endpoint,
            rx,
            task,
            dead: None,
        })
    }

    /// POST one message to the endpoint.
    pub async fn post(&mut self, msg: &Value, phase: Phase) -> Result<(), McpError> {
        post_to(&self.c, &self.endpoint, msg)
            .await
            .map_err(|m| McpError::new(phase, m))
    }

    pub async fn request(
        &mut self,
        id: u64,
        method: &str,
        msg: &Value,
        phase: Phase,
    ) -> Result<Value, McpError> {
        if let Some(d) = &self.dead {
            return Err(McpError::new(phase, d.clone()));
        }
        self.post(msg, phase).await?;
        loop {
            match self.rx.recv().await {
                Some(SseEvent::Response(v)) if answers(&v, id) => return Ok(v),
                Some(SseEvent::Response(_)) | Some(SseEvent::Endpoint(_)) => {}
                Some(SseEvent::Fatal(m)) => {
                    let m = format!("{m} before answering {method}");
                    self.dead = Some(m.clone());
                    return Err(McpError::new(phase, m));
                }
                None => {
                    let m = self.dead.clone().unwrap_or_else(|| {
                        format!("the event stream from {} closed", self.c.shown)
                    });
                    return Err(McpError::new(phase, m));
                }
            }
        }
    }
}

impl Drop for LegacySse {
    fn drop(&mut self) {
        self.task.abort(); // drops the GET stream
    }
}

async fn post_to(c: &Common, endpoint: &Url, msg: &Value) -> Result<(), String> {
    let body = serde_json::to_vec(msg).expect("a Value serialises");
    let shown_ep = shown(endpoint);
    let resp = c
        .client
        .post(endpoint.clone())
        .headers(c.headers(ACCEPT_BOTH, true))
        .body(body)
        .send()
        .await
        .map_err(|e| send_error(e, &shown_ep))?;
    if !resp.status().is_success() {
        return Err(status_error(resp.status(), &shown_ep));
    }
    Ok(())
}

/// The endpoint event's URL, resolved against the stream's URL. It must be
/// on the same origin: the configured headers (maybe credentials) go there.
fn resolve_endpoint(base: &Url, data: &str) -> Result<Url, String> {
    let url = base
        .join(data.trim())
        .map_err(|e| format!("the endpoint event holds an invalid URL: {e}"))?;
    if url.origin() != base.origin() {
        return Err(format!(
            "the endpoint event points to another origin ({}); refusing to send there",
            shown(&url)
        ));
    }
    Ok(url)
}

/// Read the legacy SSE stream: pass on the endpoint and answers, answer the
/// server's own requests.
async fn read_stream(mut resp: Response, c: Common, tx: mpsc::Sender<SseEvent>) {
    let mut parser = Parser::new(c.max);
    let mut endpoint: Option<Url> = None;
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                let _ = tx
                    .send(SseEvent::Fatal(format!(
                        "the event stream from {} closed",
                        c.shown
                    )))
                    .await;
                return;
            }
            Err(e) => {
                let m = format!(
                    "reading the event stream from {} failed ({})",
                    c.shown,
                    describe(e)
                );
                let _ = tx.send(SseEvent::Fatal(m)).await;
                return;
            }
        };
        let Ok(events) = parser.push(&chunk) else {
            let m = format!(
                "message exceeds {} limit (an event from {})",
                fmt_bytes(c.max),
                c.shown
            );
            let _ = tx.send(SseEvent::Fatal(m)).await;
            return;
        };
        for ev in events {
            match ev.event.as_str() {
                "endpoint" => {
                    let r = resolve_endpoint(&c.url, &ev.data);
                    if let Ok(url) = &r {
                        endpoint = Some(url.clone());
                    }
                    if tx.send(SseEvent::Endpoint(r)).await.is_err() {
                        return;
                    }
                }
                "message" => {
                    let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
                        tracing::debug!("skipped an event that is not JSON");
                        continue;
                    };
                    for m in batch(v) {
                        match classify(&m) {
                            Incoming::Response(m) => {
                                if tx.send(SseEvent::Response(m)).await.is_err() {
                                    return;
                                }
                            }
                            Incoming::Request { id, method } => {
                                if let Some(ep) = &endpoint {
                                    tracing::debug!(method, "answering a request from the server");
                                    let _ = post_to(&c, ep, &reply_to(&id, &method)).await;
                                }
                            }
                            Incoming::Ignore => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_hide_secrets() {
        let u = Url::parse("https://user:pw@example.com/mcp/x?api_key=SECRET#frag").unwrap();
        assert_eq!(shown(&u), "https://example.com:443/mcp/x");
        let u = Url::parse("http://127.0.0.1:8080/sse?token=t").unwrap();
        assert_eq!(shown(&u), "http://127.0.0.1:8080/sse");
    }

    #[test]
    fn endpoints_resolve_relative_and_stay_on_origin() {
        let base = Url::parse("http://127.0.0.1:9000/sse").unwrap();
        let u = resolve_endpoint(&base, "/messages/?session_id=abc").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9000/messages/?session_id=abc");
        let u = resolve_endpoint(&base, "messages?x=1").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9000/messages?x=1");
        assert!(resolve_endpoint(&base, "http://evil.example/messages").is_err());
    }

    #[test]
    fn status_errors_read_well() {
        let s = status_error(StatusCode::INTERNAL_SERVER_ERROR, "http://h:1/mcp");
        assert_eq!(s, "HTTP 500 Internal Server Error from http://h:1/mcp");
        let s = status_error(StatusCode::UNAUTHORIZED, "http://h:1/mcp");
        assert_eq!(
            s,
            "HTTP 401 Unauthorized (check the server's headers/credentials) from http://h:1/mcp"
        );
    }

    #[test]
    fn header_values_never_show_in_errors() {
        let limits = Limits::default();
        let bad = vec![("Authorization".to_string(), "Bearer SECRET\n".to_string())];
        let e = Common::new("http://127.0.0.1:1/mcp", &bad, &limits)
            .err()
            .unwrap();
        assert!(!e.message.contains("SECRET"), "{}", e.message);
        let e = Common::new("ftp://x/", &[], &limits).err().unwrap();
        assert!(e.message.contains("scheme"));
    }
}
