//! Flags `age` and `trend` share: the name history is kept under and the
//! `--consecutive` gate.

use selfheal_core::cli::StateArgs;

#[derive(Debug, Clone, clap::Args)]
pub struct GateArgs {
    /// Name the history (CPU marks, trend window, critical streak) is kept
    /// under [default: from the source, e.g. pid-4242, unit-trader@BTC.service]
    #[arg(long, env = "STALL_PROBE_NAME")]
    pub name: Option<String>,
    /// CRITICAL only after this many critical runs in a row (WARNING before)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000), env = "STALL_PROBE_CONSECUTIVE")]
    pub consecutive: u32,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `--name`, checked, or the source's default.
pub fn state_name(
    given: Option<&String>,
    default: impl FnOnce() -> Option<String>,
) -> Result<String, String> {
    let name = match given {
        Some(name) => name.clone(),
        None => default()
            .ok_or("--consecutive needs --name with --query: say what the history is kept under")?,
    };
    selfheal_core::state::validate_name(&name).map_err(|e| format!("--name: {e}"))?;
    Ok(name)
}
