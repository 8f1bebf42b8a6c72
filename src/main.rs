//! mcp-catalogue: parse arguments, run one command, map errors to exit codes.
//!
//! Exit codes: 0 done; 1 some servers failed (or, with --strict, any);
//! 2 bad input (servers file, rules, database, arguments); 3 deny /
//! definitions changed (`--fail-on-change`); 4 require_approval.

mod cli;
mod commands;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let verbose = cli.verbose;
    let started = std::time::Instant::now();
    let result = rt.block_on(commands::run(cli));
    if verbose > 0 {
        eprintln!("done in {:.2}s, peak memory {:.0} MiB", started.elapsed().as_secs_f64(), peak_rss_mib());
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = if e.downcast_ref::<commands::BadInput>().is_some() { 2 } else { 1 };
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

/// Logs go to stderr; results to stdout. `NO_COLOR` and non-terminals get plain text.
fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MCP_CATALOGUE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Peak resident memory of this process (for `-v` and the benchmarks).
/// `VmHWM` belongs to this program's own address space; getrusage's maxrss
/// can carry the parent's size across fork+exec, so it is only a fallback.
fn peak_rss_mib() -> f64 {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
        {
            return kb / 1024.0;
        }
    }
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes into the struct we pass.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}
