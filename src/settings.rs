//! Resolved settings: the raw flags and the configuration become one validated value
//! before any data is touched.

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Datelike as _, Months, NaiveDate, TimeZone as _, Utc};

use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::error::hinted;

/// The period a command covers. Every period is half-open, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Period {
    /// All the data.
    All,
    /// One billing month: invoice lines by `billing_period`, requests by UTC start time.
    Month { month: String, start: DateTime<Utc>, end: DateTime<Utc> },
    /// A range of whole UTC days.
    Range { start: DateTime<Utc>, end: DateTime<Utc> },
}

impl Period {
    /// The period of `--month` or `--from/--to`.
    pub fn from_args(global: &GlobalArgs) -> Result<Period> {
        if let Some(month) = &global.month {
            if global.from.is_some() || global.to.is_some() {
                return Err(hinted(
                    format!("`--month {month}` and `--from/--to` both name the period"),
                    "give either the month or the two days",
                ));
            }
            return Period::month(month);
        }
        match (&global.from, &global.to) {
            (None, None) => Ok(Period::All),
            (Some(from), Some(to)) => {
                let start = parse_day(from, "--from")?;
                let end = parse_day(to, "--to")? + chrono::Duration::days(1);
                if end <= start {
                    bail!("`--to {to}` is before `--from {from}`");
                }
                Ok(Period::Range { start, end })
            }
            _ => Err(hinted("`--from` and `--to` go together", "give both days, or use `--month`")),
        }
    }

    /// The period of one `YYYY-MM` month.
    pub fn month(text: &str) -> Result<Period> {
        let start = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 7)
            .ok_or_else(|| {
                hinted(
                    format!("`{text}` is not a month"),
                    "write the month as `YYYY-MM`, for example `2025-01`",
                )
            })?;
        let end = start.checked_add_months(Months::new(1)).context("month out of range")?;
        Ok(Period::Month { month: text.to_string(), start: midnight(start), end: midnight(end) })
    }

    /// Start and end instants, when bounded.
    pub fn bounds(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match self {
            Period::All => None,
            Period::Month { start, end, .. } | Period::Range { start, end } => Some((*start, *end)),
        }
    }

    /// The billing month, for `--month`.
    pub fn billing_period(&self) -> Option<&str> {
        match self {
            Period::Month { month, .. } => Some(month),
            _ => None,
        }
    }

    /// Days in the period (for forecasts), when bounded.
    pub fn days(&self) -> Option<i64> {
        self.bounds().map(|(start, end)| (end - start).num_days())
    }

    /// A label for file names and headings.
    pub fn label(&self) -> String {
        match self {
            Period::All => "all".into(),
            Period::Month { month, .. } => month.clone(),
            Period::Range { start, end } => format!(
                "{}_{}",
                start.format("%Y-%m-%d"),
                (*end - chrono::Duration::days(1)).format("%Y-%m-%d")
            ),
        }
    }
}

/// Midnight UTC of a day.
pub fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// Parses `YYYY-MM-DD` as midnight UTC.
pub fn parse_day(text: &str, flag: &str) -> Result<DateTime<Utc>> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(midnight)
        .map_err(|_| hinted(format!("`{flag} {text}` is not a day"), "write days as `YYYY-MM-DD`"))
}

/// The month of an instant, `YYYY-MM`.
pub fn month_of(instant: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", instant.year(), instant.month())
}

/// Everything a command needs from the command line and the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub global: GlobalArgs,
    pub config: Config,
    pub period: Period,
    pub tz: chrono_tz::Tz,
}

impl Settings {
    /// Loads the configuration and resolves the period and time zone.
    pub fn resolve(global: &GlobalArgs) -> Result<Settings> {
        let config = Config::load(global.config.as_deref())?;
        let period = Period::from_args(global)?;
        let tz = match &global.tz {
            None => chrono_tz::UTC,
            Some(name) => name.parse().map_err(|_| {
                hinted(
                    format!("`--tz {name}` is not a time zone"),
                    "use an IANA name such as `Europe/Berlin`",
                )
            })?,
        };
        Ok(Settings { global: global.clone(), config, period, tz })
    }

    /// Source paths of one kind: the flag when given, else the configuration.
    pub fn sources(&self, flag: &[String], configured: &[String]) -> Vec<String> {
        if flag.is_empty() { configured.to_vec() } else { flag.to_vec() }
    }

    /// Bill sources: `--cur`, `--focus` and `--ce` (or the configuration).
    pub fn cost_sources(&self) -> Vec<String> {
        let global = &self.global;
        let config = &self.config.sources;
        let flags_given =
            !(global.cur.is_empty() && global.focus.is_empty() && global.ce.is_empty());
        if flags_given {
            [&global.cur[..], &global.focus[..], &global.ce[..]].concat()
        } else {
            [&config.cur[..], &config.focus[..], &config.ce[..]].concat()
        }
    }

    /// Gateway log sources.
    pub fn gateway_sources(&self) -> Vec<String> {
        self.sources(&self.global.gateway, &self.config.sources.gateway)
    }

    /// Business metric sources.
    pub fn metric_sources(&self) -> Vec<String> {
        self.sources(&self.global.metrics, &self.config.sources.metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn january_is_half_open() {
        let Period::Month { start, end, .. } = Period::month("2025-01").unwrap() else { panic!() };
        assert_eq!(start.to_rfc3339(), "2025-01-01T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2025-02-01T00:00:00+00:00");
        assert!(Period::month("2025-13").is_err());
        assert!(Period::month("2025-1").is_err());
    }
}
