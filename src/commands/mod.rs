//! One file per command; each reads top to bottom: resolve, read, compute, write.

pub mod anomalies;
pub mod attribution;
pub mod budgets;
pub mod chargeback;
pub mod config_check;
pub mod fetch;
pub mod lifecycle;
pub mod load;
pub mod locality;
pub mod monthly;
pub mod query;
pub mod reconcile;
pub mod showback;
pub mod unit_economics;
pub mod whatif;

use anyhow::Result;

use crate::cli::{Cli, Command, ConfigCommand, WhatifCommand};
use crate::settings::Settings;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    // `whatif route --from MODEL --to MODEL` names models, not the days of the period.
    let mut global = cli.global.clone();
    if matches!(cli.command, Command::Whatif { command: WhatifCommand::Route { .. } }) {
        global.from = None;
        global.to = None;
    }
    let settings = Settings::resolve(&global)?;
    match cli.command {
        Command::Showback(args) => showback::run(&settings, &args),
        Command::Query(args) => query::run(&settings, &args),
        Command::Chargeback(args) => chargeback::run(&settings, &args),
        Command::Reconcile => reconcile::run(&settings),
        Command::Fetch(args) => fetch::run(&settings, &args),
        Command::Monthly(args) => monthly::run(&settings, &args),
        Command::Anomalies(args) => anomalies::run(&settings, &args),
        Command::Lifecycle(args) => lifecycle::run(&settings, &args),
        Command::Locality => locality::run(&settings),
        Command::UnitEconomics(args) => unit_economics::run(&settings, &args),
        Command::Config { command: ConfigCommand::Check } => config_check::run(&settings),
        Command::Budgets { command } => budgets::run(&settings, &command),
        Command::Whatif { command } => whatif::run(&settings, &command),
    }
}
