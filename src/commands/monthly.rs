//! `aispend monthly`: the cron job. Every report of one month into a folder or S3 prefix.
//!
//! Reports come from a registry ([`jobs`]): each job is a name, its main money column and a
//! function from the month's inputs to a frame (or to nothing when it does not apply).
//! Each report is written as CSV and Parquet, then `summary.md` for people, then, last,
//! `manifest.json` with every file's size, SHA-256, row count and money total. Nothing in
//! the files depends on the clock, so a second run of the same inputs writes the same bytes.
//! A lock keeps two runs of one output apart. When an earlier run closed the month (no
//! provisional line) and AWS restated it since, `adjustments.csv` lists the difference per
//! department against that run's report, found through its manifest.

use std::cell::OnceCell;
use std::path::PathBuf;

use anyhow::{Result, bail};
use polars::prelude::*;

use crate::aws::s3::{S3Url, SdkStore};
use crate::cli::{Basis, Format, MonthlyArgs};
use crate::commands::attribution::{self, Attributed};
use crate::commands::load::Inputs;
use crate::error::{PolicyFailure, hinted};
use crate::model::costs;
use crate::money::Money;
use crate::output::bundle::{self, ADJUSTMENTS, Entry, Folder, MANIFEST, Manifest, SUMMARY};
use crate::output::{self, TableSpec};
use crate::report::adjustments::{self, AdjustmentBasis, DepartmentAmount};
use crate::report::anomalies as report_anomalies;
use crate::report::{chargeback, reconcile, showback};
use crate::settings::Settings;

/// What a report job may read.
pub struct MonthContext<'a> {
    pub settings: &'a Settings,
    pub inputs: &'a Inputs,
    /// The month's invoice lines: `inputs.costs` kept to the billing period.
    pub costs: LazyFrame,
    /// The taxonomy's owner keys, most significant (the department) first.
    pub keys: Vec<String>,
    /// The basis of the chargeback and journal.
    pub basis: Basis,
    /// The attribution on the billed and the effective basis, made once when first asked.
    attributed: [OnceCell<Attributed>; 2],
}

impl MonthContext<'_> {
    /// The month's attribution on one basis (computed once per run).
    pub fn attributed(&self, basis: Basis) -> Result<&Attributed> {
        let cell = &self.attributed[usize::from(basis == Basis::Effective)];
        if let Some(found) = cell.get() {
            return Ok(found);
        }
        let made = attribution::attribute(self.settings, self.inputs, basis)?;
        // The allocated showback already warned about what allocation could not attribute.
        let showback_warned =
            self.inputs.requests.is_some() || !self.settings.config.rules.is_empty();
        if basis == Basis::Effective && !showback_warned {
            attribution::warn_notes(&made.notes);
        }
        Ok(cell.get_or_init(|| made))
    }

    /// The department column: the first taxonomy key.
    pub fn department(&self) -> &str {
        self.keys.first().map_or("dept", String::as_str)
    }

    /// The chargeback statements on the run's basis.
    fn statements(&self) -> Result<Vec<chargeback::Statement>> {
        let attributed = self.attributed(self.basis)?;
        Ok(chargeback::statements(
            &attributed.allocations,
            &attributed.units,
            &self.settings.config,
            &attributed.provisional,
        ))
    }
}

/// The policy results `--fail-on` can ask to fail on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A budget past its soft limit.
    Soft,
    /// A budget past its hard limit (also fails `--fail-on soft`).
    Hard,
    /// A spend anomaly.
    Anomaly,
}

/// A policy result a report found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub policy: Policy,
    pub message: String,
}

/// A report and its policy results.
pub struct ReportOutput {
    pub frame: DataFrame,
    pub findings: Vec<Finding>,
}

impl From<DataFrame> for ReportOutput {
    fn from(frame: DataFrame) -> ReportOutput {
        ReportOutput { frame, findings: Vec::new() }
    }
}

/// Builds one report; `None` when it does not apply to this month's inputs.
pub type Build = Box<dyn Fn(&MonthContext<'_>) -> Result<Option<ReportOutput>>>;

/// One report of the month.
pub struct ReportJob {
    /// File stem: `<name>.csv`, `<name>.parquet`.
    pub name: &'static str,
    /// The money column summed into the manifest.
    pub money_column: &'static str,
    /// (department, amount, currency) columns when restatements may compare this report.
    pub compared_by: Option<(String, String, String)>,
    pub build: Build,
}

impl ReportJob {
    /// A job.
    pub fn new(
        name: &'static str,
        money_column: &'static str,
        build: impl Fn(&MonthContext<'_>) -> Result<Option<ReportOutput>> + 'static,
    ) -> ReportJob {
        ReportJob { name, money_column, compared_by: None, build: Box::new(build) }
    }

    /// Lets restatements compare this report per department.
    #[must_use]
    pub fn compared_by(mut self, department: &str, amount: &str, currency: &str) -> ReportJob {
        self.compared_by = Some((department.into(), amount.into(), currency.into()));
        self
    }
}

/// Reports that restatements compare, most preferred first: the journal once chargeback
/// exists, the showback until then.
const ADJUSTMENT_BASES: [&str; 2] = ["journal", "showback"];
/// Every report of the month, in writing order. One line per report.
pub fn jobs(keys: &[String]) -> Vec<ReportJob> {
    let department = keys.first().cloned().unwrap_or_else(|| "dept".into());
    vec![
        ReportJob::new("showback", costs::EFFECTIVE_COST, showback_report).compared_by(
            &department,
            costs::EFFECTIVE_COST,
            showback::columns::CURRENCY,
        ),
        ReportJob::new("chargeback", "total_cost", |month| {
            Ok(Some(chargeback::statements_frame(&month.statements()?, month.department())?.into()))
        }),
        ReportJob::new("journal", "amount", |month| {
            let basis = attribution::basis_name(month.basis);
            let config = &month.settings.config;
            Ok(Some(chargeback::journal_frame(&month.statements()?, config, basis)?.into()))
        })
        .compared_by("debit_cost_center", "amount", "currency"),
        ReportJob::new("reconcile", "invoice_cost", reconcile_report),
        ReportJob::new("anomalies", report_anomalies::columns::IMPACT, anomalies_report),
        ReportJob::new("budgets", "spend", budgets_report),
    ]
}

/// Showback by every taxonomy key, as `aispend showback` shows it.
fn showback_report(month: &MonthContext<'_>) -> Result<Option<ReportOutput>> {
    let uses_allocation =
        month.inputs.requests.is_some() || !month.settings.config.rules.is_empty();
    let frame = if uses_allocation {
        crate::commands::showback::allocated(month.settings, month.inputs, &month.keys)?
    } else {
        showback::showback(month.costs.clone(), &month.keys, &month.inputs.plan.names())?.0
    };
    Ok(Some(frame.into()))
}

/// Spend anomalies, denial of wallet, retry loops and hidden costs; every flag but a hidden
/// cost is an `Anomaly` finding.
fn anomalies_report(month: &MonthContext<'_>) -> Result<Option<ReportOutput>> {
    let flags = crate::commands::anomalies::flags(month.settings, month.inputs)?;
    let findings = flags
        .iter()
        .filter(|flag| flag.is_anomaly())
        .map(|flag| Finding {
            policy: Policy::Anomaly,
            message: format!("{} `{}`: {}", flag.kind, flag.subject, flag.reason),
        })
        .collect();
    Ok(Some(ReportOutput { frame: report_anomalies::flags_frame(&flags)?, findings }))
}

/// Budget status at the end of the month (or now, for the running month); a budget past
/// its soft or hard limit is a `Soft` or `Hard` finding.
fn budgets_report(month: &MonthContext<'_>) -> Result<Option<ReportOutput>> {
    if month.settings.config.budgets.is_empty() {
        return Ok(None);
    }
    let Some((_, end)) = month.settings.period.bounds() else { return Ok(None) };
    let now = end.min(chrono::Utc::now());
    let statuses = crate::commands::budgets::compute_statuses(month.settings, month.inputs, now)?;
    let findings = statuses
        .iter()
        .filter_map(|status| {
            let policy = match status.state {
                crate::report::budgets::State::Hard => Policy::Hard,
                crate::report::budgets::State::Soft => Policy::Soft,
                crate::report::budgets::State::Ok => return None,
            };
            let message =
                format!("budget `{}` is past its {} limit", status.name, status.state.label());
            Some(Finding { policy, message })
        })
        .collect();
    let frame = crate::report::budget_run::status_frame(&statuses)?;
    Ok(Some(ReportOutput { frame, findings }))
}

/// The gateway against the invoice, when gateway logs were given.
fn reconcile_report(month: &MonthContext<'_>) -> Result<Option<ReportOutput>> {
    if month.inputs.requests.is_none() {
        return Ok(None);
    }
    let attributed = month.attributed(Basis::Billed)?;
    let config = &month.settings.config;
    let rows = reconcile::reconcile(
        &attributed.units,
        attributed.requests.as_ref(),
        &|model| crate::enrich::bedrock::billing_name(model, config),
        month.settings.tz,
    )?;
    Ok(Some(reconcile::to_frame(&rows)?.into()))
}

/// Runs the command.
pub fn run(settings: &Settings, args: &MonthlyArgs) -> Result<()> {
    let Some(month) = settings.period.billing_period() else {
        return Err(hinted("`monthly` covers one billing month", "pass `--month YYYY-MM`"));
    };
    let fail_on = parse_fail_on(&args.fail_on)?;
    let out = settings.global.out.clone().unwrap_or_else(|| format!("reports/{month}"));
    crate::aws::set_endpoint_url(args.endpoint_url.as_deref());
    let _lock = bundle::lock(&out)?;
    let folder = if out.starts_with("s3://") {
        Folder::S3 { store: SdkStore::shared()?, prefix: S3Url::parse(&out)? }
    } else {
        Folder::Local(PathBuf::from(&out))
    };
    let inputs = Inputs::load(settings, &[])?;
    let written = write_month(settings, &inputs, &folder, args.basis)?;
    crate::output::notice(
        &settings.global,
        &format!("wrote {} files and `{MANIFEST}` to `{out}`", written.manifest.files.len()),
    );
    check_policy(&written.findings, &fail_on)
}

/// What a run wrote.
pub struct Written {
    pub manifest: Manifest,
    pub findings: Vec<Finding>,
}

/// Builds every report of the settings' month and writes the bundle into `folder`.
pub fn write_month(
    settings: &Settings,
    inputs: &Inputs,
    folder: &Folder<'_>,
    cost_basis: Basis,
) -> Result<Written> {
    let Some(month) = settings.period.billing_period() else {
        bail!("`monthly` needs one billing month");
    };
    let Some(all_costs) = inputs.costs.clone() else {
        return Err(hinted(
            "no bill to read",
            "pass `--cur`, `--focus` or `--ce`, or list sources under `[sources]` in aispend.toml",
        ));
    };
    let costs = showback::filter_period(all_costs, &settings.period);
    let provisional = is_provisional(&costs)?;
    let keys = inputs.plan.names();
    let invoice = invoice_totals(&costs)?;
    let context = MonthContext {
        settings,
        inputs,
        costs,
        keys,
        basis: cost_basis,
        attributed: Default::default(),
    };
    let mut reports = Vec::new();
    for job in jobs(&context.keys) {
        if let Some(report) = (job.build)(&context)? {
            reports.push((job, report));
        }
    }
    let previous = bundle::read_previous(folder, month)?;

    let mut files: Vec<(String, Vec<u8>, Entry)> = Vec::new();
    for (job, report) in &reports {
        files.extend(report_files(job.name, &report.frame, job.money_column)?);
    }
    let (basis, current) = match adjustment_basis(&reports)? {
        Some((basis, totals)) => (Some(basis), totals),
        None => (None, Vec::new()),
    };
    let against = match (&basis, &previous) {
        (Some(basis), Some(previous)) => bundle::baseline(previous, basis, &current, folder)?,
        _ => None,
    };
    let adjustment_frame = match (&against, &basis) {
        (Some(before), Some(basis)) => {
            adjustments::adjustments(before, &current, &basis.key_column)?
        }
        _ => None,
    };
    if let Some(frame) = &adjustment_frame {
        tracing::warn!(
            "AWS restated {month} since it was closed: {} departments changed; see \
             `{ADJUSTMENTS}.csv`",
            frame.height()
        );
        files.extend(report_files(ADJUSTMENTS, frame, adjustments::columns::DIFFERENCE)?);
    }
    let findings: Vec<Finding> =
        reports.iter().flat_map(|(_, report)| report.findings.iter().cloned()).collect();
    let entries: Vec<&Entry> = files.iter().map(|(_, _, entry)| entry).collect();
    let notes: Vec<String> =
        findings.iter().map(|f| format!("{:?}: {}", f.policy, f.message)).collect();
    let changed = adjustment_frame.as_ref().map(DataFrame::height);
    let basis_line = format!(
        "Chargeback and journal on the **{}** basis. The invoice (billed cost) of the month is \
         {invoice}; `--basis billed` gives a journal that ties to it.",
        attribution::basis_name(cost_basis)
    );
    let summary = bundle::summary_markdown(
        month,
        provisional,
        &basis_line,
        &entries,
        &current,
        changed,
        &notes,
    );
    files.push((
        SUMMARY.into(),
        summary.clone().into_bytes(),
        Entry::document(SUMMARY, summary.as_bytes()),
    ));

    for (name, bytes, _) in &files {
        folder.write(name, bytes)?;
    }
    let manifest = Manifest {
        month: month.to_string(),
        provisional,
        adjustment_basis: basis,
        adjusted_against: adjustment_frame.is_some().then_some(against).flatten(),
        files: files.into_iter().map(|(_, _, entry)| entry).collect(),
    };
    folder.write(MANIFEST, &manifest.to_bytes()?)?;
    Ok(Written { manifest, findings })
}

/// The billed cost of the month per currency, as `2,753.14 USD`.
fn invoice_totals(costs: &LazyFrame) -> Result<String> {
    let sums = costs
        .clone()
        .group_by([col(costs::BILLING_CURRENCY)])
        .agg([col(costs::BILLED_COST).sum()])
        .collect()?;
    let currencies = sums.column(costs::BILLING_CURRENCY)?.str()?.clone();
    let amounts = crate::ingest::builder::money_values(sums.column(costs::BILLED_COST)?)?;
    let mut by_currency = std::collections::BTreeMap::new();
    for (currency, amount) in currencies.iter().zip(amounts) {
        by_currency.insert(currency.unwrap_or("").to_string(), amount.unwrap_or_default());
    }
    Ok(attribution::amounts(&by_currency))
}

/// True when some line of the month is not final.
fn is_provisional(costs: &LazyFrame) -> Result<bool> {
    let flags = costs.clone().select([col(costs::PROVISIONAL).any(true)]).collect()?;
    Ok(flags.column(costs::PROVISIONAL)?.bool()?.get(0).unwrap_or(false))
}

/// The CSV and Parquet files of one report with their manifest entries.
fn report_files(
    name: &str,
    frame: &DataFrame,
    money_column: &str,
) -> Result<Vec<(String, Vec<u8>, Entry)>> {
    let amounts = match frame.column(money_column) {
        Ok(column) => adjustments::amounts(column)?,
        Err(_) => bail!("the `{name}` report has no money column `{money_column}`"),
    };
    // One total per currency: two currencies are never added together.
    let currencies: Vec<Option<String>> = match frame.column("currency") {
        Ok(column) => column.str()?.iter().map(|c| c.map(str::to_string)).collect(),
        Err(_) => vec![None; frame.height()],
    };
    let mut by_currency: std::collections::BTreeMap<String, Money> =
        std::collections::BTreeMap::new();
    for (amount, currency) in amounts.iter().zip(&currencies) {
        let currency = currency.clone().unwrap_or_default();
        *by_currency.entry(currency).or_default() += amount.unwrap_or_default();
    }
    // `money_totals` always, so that a reader has one shape; `money_total` beside it when
    // the report holds one currency.
    let total = (by_currency.len() <= 1).then(|| by_currency.values().copied().sum::<Money>());
    let totals = by_currency;
    let mut files = Vec::new();
    for (extension, format) in [("csv", Format::Csv), ("parquet", Format::Parquet)] {
        let file = format!("{name}.{extension}");
        let bytes = output::render(frame, format, &TableSpec::default())?;
        let entry = Entry {
            rows: Some(frame.height() as u64),
            money_column: Some(money_column.to_string()),
            money_total: total,
            money_totals: totals.clone(),
            ..Entry::document(&file, &bytes)
        };
        files.push((file, bytes, entry));
    }
    Ok(files)
}

/// The report restatements compare, and its per-department totals.
fn adjustment_basis(
    reports: &[(ReportJob, ReportOutput)],
) -> Result<Option<(AdjustmentBasis, Vec<DepartmentAmount>)>> {
    for wanted in ADJUSTMENT_BASES {
        let found = reports.iter().find(|(job, _)| job.name == wanted && job.compared_by.is_some());
        if let Some((job, report)) = found {
            let Some((key, amount, currency)) = job.compared_by.clone() else { continue };
            let basis = AdjustmentBasis {
                report: job.name.into(),
                key_column: key,
                amount_column: amount,
                currency_column: currency,
            };
            let totals = adjustments::totals_of_frame(&report.frame, &basis)?;
            return Ok(Some((basis, totals)));
        }
    }
    Ok(None)
}

/// The `--fail-on` values.
fn parse_fail_on(values: &[String]) -> Result<Vec<Policy>> {
    values
        .iter()
        .map(|value| value.trim().to_ascii_lowercase())
        .filter(|value| !value.is_empty())
        .map(|value| match value.as_str() {
            "soft" => Ok(Policy::Soft),
            "hard" => Ok(Policy::Hard),
            "anomaly" | "anomalies" => Ok(Policy::Anomaly),
            other => Err(hinted(
                format!("`--fail-on {other}` is not a policy result"),
                "use `soft`, `hard` or `anomaly` (comma-separated)",
            )),
        })
        .collect()
}

/// Exit 1 (after writing everything) when a finding matches `--fail-on`.
fn check_policy(findings: &[Finding], fail_on: &[Policy]) -> Result<()> {
    let matches = |finding: &Finding| {
        fail_on.iter().any(|policy| {
            finding.policy == *policy || (*policy == Policy::Soft && finding.policy == Policy::Hard)
        })
    };
    let failed: Vec<&Finding> = findings.iter().filter(|f| matches(f)).collect();
    match failed.first() {
        None => Ok(()),
        Some(first) => Err(PolicyFailure(format!(
            "{} policy results asked to fail on; the first: {}",
            failed.len(),
            first.message
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::s3::MemoryStore;
    use crate::cli::Cli;
    use clap::Parser as _;
    use std::collections::BTreeMap;

    const HEADER: &str = "bill/InvoiceId,bill/BillingPeriodStartDate,lineItem/UsageStartDate,\
        lineItem/LineItemType,lineItem/UnblendedCost,lineItem/CurrencyCode,resourceTags/user:dept";

    /// A January 2025 bill of `lines` (invoice id, line item type, cost, dept) and the
    /// settings and inputs of `monthly --month 2025-01` on it.
    fn month_of(
        folder: &std::path::Path,
        lines: &[(&str, &str, &str, &str)],
    ) -> (Settings, Inputs) {
        let rows: Vec<String> = lines
            .iter()
            .map(|(invoice, kind, cost, dept)| {
                format!(
                    "{invoice},2025-01-01T00:00:00Z,2025-01-10T00:00:00Z,{kind},{cost},USD,{dept}\n"
                )
            })
            .collect();
        let csv = format!("{HEADER}\n{}", rows.concat());
        let bill = folder.join("cur.csv");
        std::fs::write(&bill, csv).unwrap();
        let config = folder.join("aispend.toml");
        std::fs::write(&config, "").unwrap();
        let cli = Cli::try_parse_from([
            "aispend",
            "monthly",
            "--config",
            config.to_str().unwrap(),
            "--month",
            "2025-01",
            "--cur",
            bill.to_str().unwrap(),
        ])
        .unwrap();
        let settings = Settings::resolve(&cli.global).unwrap();
        let inputs = Inputs::load(&settings, &[]).unwrap();
        (settings, inputs)
    }

    const CLOSED: [(&str, &str, &str, &str); 2] =
        [("INV1", "Usage", "100.00", "ads"), ("INV1", "Usage", "50.005", "sales")];

    fn local_files(folder: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with('.'))
            .map(|p| {
                (p.file_name().unwrap().to_str().unwrap().to_string(), std::fs::read(&p).unwrap())
            })
            .collect()
    }

    #[test]
    fn s3_bundle_equals_the_local_one_and_a_rerun_changes_nothing() {
        let temp = tempfile::tempdir().unwrap();
        let (settings, inputs) = month_of(temp.path(), &CLOSED);
        let store = MemoryStore::default();
        let s3 =
            Folder::S3 { store: &store, prefix: S3Url::parse("s3://reports/m/2025-01/").unwrap() };
        let local_path = temp.path().join("out");
        let local = Folder::Local(local_path.clone());
        let written = write_month(&settings, &inputs, &s3, Basis::Effective).unwrap();
        write_month(&settings, &inputs, &local, Basis::Effective).unwrap();

        let objects: BTreeMap<String, Vec<u8>> = store
            .bucket("reports")
            .into_iter()
            .map(|(key, bytes)| (key.trim_start_matches("m/2025-01/").to_string(), bytes))
            .collect();
        assert_eq!(objects, local_files(&local_path));
        let names: Vec<&str> = objects.keys().map(String::as_str).collect();
        let expected = [
            "anomalies.csv",
            "anomalies.parquet",
            "chargeback.csv",
            "chargeback.parquet",
            "journal.csv",
            "journal.parquet",
            "manifest.json",
            "showback.csv",
            "showback.parquet",
            "summary.md",
        ];
        assert_eq!(names, expected);
        for entry in &written.manifest.files {
            assert_eq!(bundle::sha256_hex(&objects[&entry.name]), entry.sha256, "{}", entry.name);
            assert_eq!(objects[&entry.name].len() as u64, entry.size);
        }
        // 100.00 + 50.005 = 150.005 effective cost over two showback rows.
        let showback = written.manifest.entry("showback.parquet").unwrap();
        assert_eq!(
            (showback.rows, showback.money_total),
            (Some(2), Some(Money::parse("150.005").unwrap()))
        );

        write_month(&settings, &inputs, &s3, Basis::Effective).unwrap();
        write_month(&settings, &inputs, &local, Basis::Effective).unwrap();
        assert_eq!(store.bucket("reports").len(), expected.len());
        let again: BTreeMap<String, Vec<u8>> = store
            .bucket("reports")
            .into_iter()
            .map(|(key, bytes)| (key.trim_start_matches("m/2025-01/").to_string(), bytes))
            .collect();
        assert_eq!(again, objects);
        assert_eq!(local_files(&local_path), objects);
    }

    #[test]
    fn a_credit_after_close_writes_the_adjustment_journal_and_reruns_keep_it() {
        let temp = tempfile::tempdir().unwrap();
        let out = Folder::Local(temp.path().join("out"));
        let (settings, inputs) = month_of(temp.path(), &CLOSED);
        let first = write_month(&settings, &inputs, &out, Basis::Effective).unwrap();
        assert!(first.manifest.entry("adjustments.csv").is_none());

        let mut restated = CLOSED.to_vec();
        restated.push(("INV1", "Credit", "-12.34", "ads"));
        let (settings, inputs) = month_of(temp.path(), &restated);
        let second = write_month(&settings, &inputs, &out, Basis::Effective).unwrap();
        let journal = out.read("adjustments.csv").unwrap().unwrap();
        // ads: 100.00 before, 100.00 - 12.34 = 87.66 now; sales unchanged.
        assert_eq!(
            String::from_utf8(journal.clone()).unwrap(),
            "debit_cost_center,currency,previous,current,difference\n\
             dept:ads,USD,100.00,87.66,-12.34\n"
        );
        let entry = second.manifest.entry("adjustments.csv").unwrap();
        assert_eq!(entry.money_total, Some(Money::parse("-12.34").unwrap()));

        let manifest = out.read(MANIFEST).unwrap();
        write_month(&settings, &inputs, &out, Basis::Effective).unwrap();
        assert_eq!(out.read("adjustments.csv").unwrap().unwrap(), journal);
        assert_eq!(out.read(MANIFEST).unwrap(), manifest);
    }

    #[test]
    fn a_provisional_month_is_not_restated() {
        let temp = tempfile::tempdir().unwrap();
        let out = Folder::Local(temp.path().join("out"));
        let open = [("", "Usage", "10", "ads")];
        let (settings, inputs) = month_of(temp.path(), &open);
        assert!(
            write_month(&settings, &inputs, &out, Basis::Effective).unwrap().manifest.provisional
        );
        let (settings, inputs) = month_of(temp.path(), &[("", "Usage", "11", "ads")]);
        let written = write_month(&settings, &inputs, &out, Basis::Effective).unwrap();
        assert!(written.manifest.entry("adjustments.csv").is_none());
        let summary = String::from_utf8(out.read(SUMMARY).unwrap().unwrap()).unwrap();
        assert!(summary.contains("Status: **provisional**"), "{summary}");
    }

    #[test]
    fn a_failed_upload_writes_no_manifest() {
        let temp = tempfile::tempdir().unwrap();
        let (settings, inputs) = month_of(temp.path(), &CLOSED);
        let store = MemoryStore::default();
        *store.fail_puts_after.lock().unwrap() = Some(2);
        let s3 = Folder::S3 { store: &store, prefix: S3Url::parse("s3://reports/x").unwrap() };
        assert!(write_month(&settings, &inputs, &s3, Basis::Effective).is_err());
        assert!(s3.read(MANIFEST).unwrap().is_none());
    }

    #[test]
    fn fail_on_matches_policy_results() {
        let hard = Finding { policy: Policy::Hard, message: "ads is past its hard limit".into() };
        let anomaly = Finding { policy: Policy::Anomaly, message: "spike".into() };
        assert!(check_policy(std::slice::from_ref(&hard), &[]).is_ok());
        assert!(check_policy(std::slice::from_ref(&anomaly), &[Policy::Soft]).is_ok());
        let error = check_policy(&[hard, anomaly], &parse_fail_on(&["soft".into()]).unwrap());
        let error = error.unwrap_err();
        assert!(error.downcast_ref::<PolicyFailure>().is_some());
        assert!(error.to_string().contains("ads is past its hard limit"), "{error}");
        assert!(parse_fail_on(&["hrad".into()]).is_err());
    }
}
