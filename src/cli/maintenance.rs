//! `zonekeeper maintenance SERVER on|off`: takes a secondary out of the fleet knowingly,
//! or brings it back. A secondary in maintenance is not asked by sweeps and changes do
//! not wait for it; it is shown as such by `status`. Once it is back, the next sweep asks
//! it about every zone of its groups, so every change it missed shows as lag until it has
//! caught up. The primary cannot be put in maintenance.

use miette::IntoDiagnostic;

use super::Global;
use super::plan::open_store;
use crate::outln;

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    /// Take it out.
    On,
    /// Bring it back.
    Off,
}

/// Runs `maintenance`.
pub async fn run(g: &Global, server: &str, switch: Switch) -> miette::Result<u8> {
    let store = open_store(g).await?;
    let since = (switch == Switch::On).then(super::plan::now);
    let result = store.set_maintenance(server, since).await;
    let known = store.servers().await;
    store.close().await;
    if !result.into_diagnostic()? {
        let secondaries: Vec<String> = known
            .into_diagnostic()?
            .into_iter()
            .filter(|s| s.role == "secondary")
            .map(|s| s.name)
            .collect();
        return Err(miette::miette!(
            help = format!(
                "the secondaries as applied are: {}",
                if secondaries.is_empty() {
                    "none (apply first)".to_string()
                } else {
                    secondaries.join(", ")
                }
            ),
            "{server} is not a secondary of the applied fleet"
        ));
    }
    match switch {
        Switch::On => outln!(
            "{server} is in maintenance: sweeps do not ask it and changes do not wait for it. `zonekeeper maintenance {server} off` brings it back."
        )?,
        Switch::Off => outln!(
            "{server} is back: the next sweep (`zonekeeper check`, or the daemon's) verifies it on every zone of its groups."
        )?,
    }
    Ok(0)
}
