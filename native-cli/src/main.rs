//! `xbot-redis`: the production runner of xbot-redis.
//!
//! Exit codes: 0 success, 1 failure (or "not found"/unhealthy), 2 usage error.
//! Errors go to stderr, as `{"error":{"code","message"}}` with `--json`.

mod cli;
mod pure;

use clap::Parser;
use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: exit 2.
    Usage(xbot_core::Error),
    /// The command ran but failed: exit 1.
    Failed(anyhow::Error),
    /// Nothing to report beyond what was printed (e.g. `classify` of an unknown key): exit 1.
    Silent,
}

impl From<xbot_core::Error> for Failure {
    fn from(e: xbot_core::Error) -> Self {
        Failure::Usage(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Failed(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Failed(e.into())
    }
}

fn report(json: bool, code: &str, message: &str) {
    if json {
        eprintln!(
            "{}",
            serde_json::json!({ "error": { "code": code, "message": message } })
        );
    } else {
        eprintln!("error[{code}]: {message}");
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let json = cli.global.json;
    match pure::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            report(json, e.code(), &e.to_string());
            ExitCode::from(2)
        }
        Err(Failure::Failed(e)) => {
            report(json, "FAILED", &format!("{e:#}"));
            ExitCode::from(1)
        }
        Err(Failure::Silent) => ExitCode::from(1),
    }
}
