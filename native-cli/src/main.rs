//! `xbot-redis`: the production runner of xbot-redis.
//!
//! Exit codes: 0 success, 1 failure (or "not found"/unhealthy), 2 usage error.
//! Errors go to stderr, as `{"error":{"code","message"}}` with `--json`.

mod cli;
mod commands;
mod pure;

use xbot_redis::error;

use clap::Parser;
use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: exit 2.
    Usage(xbot_core::Error),
    /// The command ran but failed: exit 1.
    Failed(anyhow::Error),
    /// A Redis operation failed (exit 1), or its input was bad (exit 2).
    Op(error::OpError),
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

/// Runs a Redis subcommand on a small runtime and prints its JSON.
fn run_redis(cli: cli::Cli) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime
        .block_on(commands::run(&cli.global, cli.command))
        .map_err(Failure::Op)?;
    let text = if cli.global.json {
        serde_json::to_string(&outcome.output)
    } else if let Some(human) = outcome.human {
        Ok(human.trim_end().to_string())
    } else {
        serde_json::to_string_pretty(&outcome.output)
    };
    {
        use std::io::Write as _;
        writeln!(
            std::io::stdout().lock(),
            "{}",
            text.expect("JSON values serialize")
        )?;
    }
    if outcome.success {
        Ok(())
    } else {
        Err(Failure::Silent)
    }
}

/// True when `e` comes from writing to a closed pipe (`xbot-redis … | head`):
/// the reader has all it wanted, which is a normal end.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == pipe
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == pipe
    })
}

/// A usage error's usage line lists the global flags set through the
/// environment (`REDIS_URL`, `REDIS_PREFIX`, … on Railway) as if the user had
/// typed them, even for pure commands. The same command line parsed with the
/// environment ignored gives the same error with the usage the user typed;
/// an error that comes from an environment value itself is kept as it is.
fn without_env_in_usage(e: clap::Error) -> clap::Error {
    use clap::CommandFactory;
    let bare = cli::Cli::command().mut_args(|a| a.env(None));
    match bare.try_get_matches_from(std::env::args_os()) {
        Err(again) if again.kind() == e.kind() => again,
        _ => e,
    }
}

/// Parses the command line; with `--json`, a usage error is printed as a
/// JSON error (code `USAGE`, exit 2) like every other error.
fn parse() -> Result<cli::Cli, ExitCode> {
    use clap::error::ErrorKind;
    match cli::Cli::try_parse().map_err(without_env_in_usage) {
        Ok(cli) => Ok(cli),
        Err(e)
            if std::env::args_os().any(|a| a == "--json")
                && !matches!(
                    e.kind(),
                    ErrorKind::DisplayHelp
                        | ErrorKind::DisplayVersion
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) =>
        {
            let text = e.render().to_string();
            let message = text.trim().trim_start_matches("error: ");
            report(true, "USAGE", message);
            Err(ExitCode::from(2))
        }
        Err(e) => e.exit(),
    }
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let json = cli.global.json;
    let result = if cli.command.needs_redis() {
        run_redis(cli)
    } else {
        pure::run(cli)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            report(json, e.code(), &e.to_string());
            ExitCode::from(2)
        }
        Err(Failure::Failed(e)) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(Failure::Failed(e)) => {
            report(json, "FAILED", &format!("{e:#}"));
            ExitCode::from(1)
        }
        Err(Failure::Op(e)) => {
            report(json, e.code(), &e.to_string());
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
        Err(Failure::Silent) => ExitCode::from(1),
    }
}
