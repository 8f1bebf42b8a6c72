//! Stdio transport: the server is a child process in its own process group,
//! speaking newline-delimited JSON-RPC on stdin/stdout. Lines on stdout that
//! are not JSON-RPC are skipped (servers log there); stderr is kept as a
//! bounded ring of its last lines. The whole group is killed on close, on a
//! failed connect and on drop.

use super::lines::{Line, LineReader};
use super::{answers, cap, classify, fmt_bytes, reply_to, Incoming, Limits, McpError, Phase};
use serde_json::Value;
use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio as StdStdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest stderr line kept, in characters (longer ones are cut).
const STDERR_LINE_CHARS: usize = 500;
/// How long to wait for the last stderr lines once the server has exited.
const STDERR_DRAIN: Duration = Duration::from_millis(500);

type SharedStdin = Arc<tokio::sync::Mutex<Option<ChildStdin>>>;
type Ring = Arc<Mutex<VecDeque<String>>>;

/// What the stdout reader task passes on.
enum Event {
    Response(Value),
    /// Stdout can no longer be read as messages (e.g. an over-long line).
    Fatal(String),
    /// Stdout closed; `true` when it ended inside a message.
    Eof(bool),
}

pub struct Stdio {
    child: Child,
    pid: Option<u32>,
    stdin: SharedStdin,
    rx: mpsc::Receiver<Event>,
    ring: Ring,
    reader: JoinHandle<()>,
    /// `None` once it has finished (a JoinHandle must not be polled again).
    stderr_task: Option<JoinHandle<()>>,
    grace: Duration,
    /// Set once the server has failed for good; later requests fail with it.
    dead: Option<String>,
    /// The group has been killed and the leader reaped (by `close` or
    /// after a timeout): nothing left to signal.
    killed: bool,
}

impl Stdio {
    pub fn spawn(
        program: &str,
        args: &[String],
        env: &[(String, String)],
        cwd: Option<&Path>,
        limits: &Limits,
    ) -> Result<Stdio, McpError> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(StdStdio::piped())
            .stdout(StdStdio::piped())
            .stderr(StdStdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        if let Some(dir) = cwd {
            if !dir.is_dir() {
                return Err(McpError::new(
                    Phase::Spawn,
                    format!("working directory not found: {}", dir.display()),
                ));
            }
            cmd.current_dir(dir);
        }
        let rlimits = [
            (libc::RLIMIT_AS, limits.address_space),
            (libc::RLIMIT_CPU, limits.cpu_seconds),
            (libc::RLIMIT_NOFILE, limits.open_files),
            (libc::RLIMIT_FSIZE, limits.file_size),
        ];
        // SAFETY: the closure runs between fork and exec and only calls
        // getrlimit/setrlimit, which are async-signal-safe; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                for (resource, value) in rlimits {
                    if let Some(v) = value {
                        lower_rlimit(resource, v);
                    }
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            let msg = match e.kind() {
                std::io::ErrorKind::NotFound => format!("command not found: {program}"),
                std::io::ErrorKind::PermissionDenied => {
                    format!("permission denied running {program}")
                }
                _ => format!("cannot start {program}: {e}"),
            };
            McpError::new(Phase::Spawn, msg)
        })?;
        let pid = child.id();
        let stdin: SharedStdin = Arc::new(tokio::sync::Mutex::new(child.stdin.take()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let ring: Ring = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel(64);
        let reader = tokio::spawn(read_stdout(
            stdout,
            limits.max_message_bytes,
            tx,
            stdin.clone(),
        ));
        let stderr_task = tokio::spawn(read_stderr(
            stderr,
            ring.clone(),
            limits.stderr_lines.max(1),
        ));
        tracing::debug!(program, pid, "spawned stdio server");
        Ok(Stdio {
            child,
            pid,
            stdin,
            rx,
            ring,
            reader,
            stderr_task: Some(stderr_task),
            grace: limits.kill_grace,
            dead: None,
            killed: false,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn stderr_tail(&self) -> Vec<String> {
        self.ring
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn fail(&self, phase: Phase, message: String) -> McpError {
        McpError {
            phase,
            message,
            stderr_tail: self.stderr_tail(),
        }
    }

    /// Write one message as a line.
    pub async fn send(&mut self, msg: &Value, phase: Phase) -> Result<(), McpError> {
        if let Some(d) = &self.dead {
            return Err(self.fail(phase, d.clone()));
        }
        let mut line = serde_json::to_vec(msg).expect("a Value serialises");
        line.push(b'\n');
        let written = {
            let mut guard = self.stdin.lock().await;
            match guard.as_mut() {
                Some(stdin) => match stdin.write_all(&line).await {
                    Ok(()) => stdin.flush().await,
                    Err(e) => Err(e),
                },
                None => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
            }
        };
        if let Err(e) = written {
            tracing::debug!("writing to the server's stdin failed: {e}");
            let method = msg
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("a message");
            let m = self.exited(method, false).await;
            return Err(self.fail(phase, m));
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
        self.send(msg, phase).await?;
        loop {
            match self.rx.recv().await {
                Some(Event::Response(v)) if answers(&v, id) => return Ok(v),
                Some(Event::Response(_)) => {
                    tracing::debug!("skipped an answer to an earlier request")
                }
                Some(Event::Fatal(m)) => {
                    self.dead = Some(m.clone());
                    return Err(self.fail(phase, m));
                }
                Some(Event::Eof(partial)) => {
                    let m = self.exited(method, partial).await;
                    return Err(self.fail(phase, m));
                }
                None => {
                    let m = self
                        .dead
                        .clone()
                        .unwrap_or_else(|| "the server's stdout is closed".to_string());
                    return Err(self.fail(phase, m));
                }
            }
        }
    }

    /// The server's stdout closed (or stdin broke): say how it ended, after
    /// waiting briefly for its exit status and last stderr lines.
    async fn exited(&mut self, method: &str, partial: bool) -> String {
        if let Some(d) = &self.dead {
            return d.clone();
        }
        let status = tokio::time::timeout(self.grace, self.child.wait()).await;
        self.drain_stderr().await;
        let mut m = match status {
            Ok(Ok(st)) => match (st.code(), st.signal()) {
                (Some(code), _) => {
                    format!("server exited with status {code} before answering {method}")
                }
                (None, Some(sig)) => {
                    format!(
                        "server was killed by signal {sig}{} before answering {method}",
                        signal_note(sig)
                    )
                }
                _ => format!("server exited before answering {method}"),
            },
            _ => format!("server closed its stdout before answering {method}"),
        };
        if partial {
            m.push_str(" (its last message was cut off)");
        }
        self.dead = Some(m.clone());
        m
    }

    /// Wait briefly for the stderr reader to see EOF, so the tail is complete.
    async fn drain_stderr(&mut self) {
        if let Some(task) = self.stderr_task.as_mut() {
            if tokio::time::timeout(STDERR_DRAIN, task).await.is_ok() {
                self.stderr_task = None;
            }
        }
    }

    /// Stop the server at once (after a timeout): SIGKILL the group, reap
    /// it, and fail later requests with `reason`.
    pub async fn kill_now(&mut self, reason: String) {
        if self.killed {
            return;
        }
        self.dead.get_or_insert(reason);
        self.reader.abort();
        signal_group(self.pid, libc::SIGKILL);
        let _ = tokio::time::timeout(self.grace, self.child.wait()).await;
        self.killed = true;
        self.drain_stderr().await;
        tracing::debug!(pid = self.pid, "stdio server killed after a timeout");
    }

    /// SIGTERM the process group, SIGKILL it after the grace period, reap.
    pub async fn close(mut self) -> Vec<String> {
        if !self.killed {
            // EOF on stdin (many servers exit on it); never wait for the lock,
            // which a reply blocked on a full pipe may hold.
            if let Ok(mut stdin) = self.stdin.try_lock() {
                stdin.take();
            }
            signal_group(self.pid, libc::SIGTERM);
            let exited = tokio::time::timeout(self.grace, self.child.wait()).await;
            // Whatever else is left in the group (the leader may have gone first).
            signal_group(self.pid, libc::SIGKILL);
            if !matches!(exited, Ok(Ok(_))) {
                let _ = self.child.kill().await;
            }
            self.killed = true;
        }
        self.drain_stderr().await;
        self.reader.abort();
        tracing::debug!(pid = self.pid, "stdio server closed");
        self.stderr_tail()
    }
}

impl Drop for Stdio {
    fn drop(&mut self) {
        if !self.killed {
            // Dropped mid-way (e.g. the caller's deadline): no time for grace.
            signal_group(self.pid, libc::SIGKILL);
        }
        self.reader.abort();
        if let Some(t) = &self.stderr_task {
            t.abort();
        }
    }
}

fn signal_group(pid: Option<u32>, sig: libc::c_int) {
    if let Some(pid) = pid {
        if pid > 1 {
            // SAFETY: plain syscall; the group id is our child's pid (process_group(0)).
            unsafe {
                libc::killpg(pid as libc::pid_t, sig);
            }
        }
    }
}

fn signal_note(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => " (SIGKILL; maybe the memory limit)",
        libc::SIGXCPU => " (SIGXCPU: the CPU time limit)",
        libc::SIGXFSZ => " (SIGXFSZ: the file size limit)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGTERM => " (SIGTERM)",
        _ => "",
    }
}

/// The type libc uses for resource numbers (glibc has its own).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type Resource = libc::c_int;

/// Lower a resource limit (soft and hard) to `value`; never raise it.
/// Runs in the forked child before exec: no allocation, failures ignored.
fn lower_rlimit(resource: Resource, value: u64) {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `cur` is a valid rlimit to write into.
    if unsafe { libc::getrlimit(resource, &mut cur) } != 0 {
        return;
    }
    let v = value as libc::rlim_t;
    let hard = if cur.rlim_max == libc::RLIM_INFINITY || v < cur.rlim_max {
        v
    } else {
        cur.rlim_max
    };
    let soft = if cur.rlim_cur == libc::RLIM_INFINITY || v < cur.rlim_cur {
        v
    } else {
        cur.rlim_cur
    };
    let new = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: plain syscall with a valid struct.
    unsafe {
        libc::setrlimit(resource, &new);
    }
}

/// Read stdout line by line; pass on answers, answer the server's own
/// requests on stdin, skip everything else.
async fn read_stdout(
    stdout: impl AsyncRead + Unpin,
    max: usize,
    tx: mpsc::Sender<Event>,
    stdin: SharedStdin,
) {
    let mut lines = LineReader::new(BufReader::with_capacity(64 * 1024, stdout), max, false);
    loop {
        let line = match lines.next_line().await {
            Ok(Line::Full(line)) => line,
            Ok(Line::TooLong(_)) => {
                let m = format!(
                    "message exceeds {} limit (a line on stdout grew past it)",
                    fmt_bytes(max)
                );
                let _ = tx.send(Event::Fatal(m)).await;
                return;
            }
            Ok(Line::Eof(rest)) => {
                let partial = rest.iter().any(|b| !b.is_ascii_whitespace());
                let _ = tx.send(Event::Eof(partial)).await;
                return;
            }
            Err(e) => {
                let _ = tx
                    .send(Event::Fatal(format!(
                        "reading the server's stdout failed: {e}"
                    )))
                    .await;
                return;
            }
        };
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<Value>(trimmed) else {
            tracing::debug!(
                "skipped a non-JSON line on stdout: {}",
                cap(&String::from_utf8_lossy(trimmed), 200)
            );
            continue;
        };
        let messages = match value {
            Value::Array(batch) => batch,
            v => vec![v],
        };
        for msg in messages {
            match classify(&msg) {
                Incoming::Response(v) => {
                    if tx.send(Event::Response(v)).await.is_err() {
                        return;
                    }
                }
                Incoming::Request { id, method } => {
                    tracing::debug!(method, "answering a request from the server");
                    let mut out =
                        serde_json::to_vec(&reply_to(&id, &method)).expect("a Value serialises");
                    out.push(b'\n');
                    let mut guard = stdin.lock().await;
                    if let Some(stdin) = guard.as_mut() {
                        let _ = stdin.write_all(&out).await;
                        let _ = stdin.flush().await;
                    }
                }
                Incoming::Ignore => {
                    tracing::trace!("skipped a stdout line that is not a JSON-RPC answer")
                }
            }
        }
    }
}

/// Keep the last `keep` stderr lines, each cut to a sane length.
async fn read_stderr(stderr: impl AsyncRead + Unpin, ring: Ring, keep: usize) {
    let mut lines = LineReader::new(
        BufReader::with_capacity(8 * 1024, stderr),
        4 * STDERR_LINE_CHARS,
        true,
    );
    loop {
        let (bytes, last) = match lines.next_line().await {
            Ok(Line::Full(b)) | Ok(Line::TooLong(b)) => (b, false),
            Ok(Line::Eof(b)) => (b, true),
            Err(_) => return,
        };
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end();
        if !text.is_empty() {
            tracing::trace!("server stderr: {text}");
            if let Ok(mut r) = ring.lock() {
                if r.len() >= keep {
                    r.pop_front();
                }
                r.push_back(cap(text, STDERR_LINE_CHARS));
            }
        }
        if last {
            return;
        }
    }
}
