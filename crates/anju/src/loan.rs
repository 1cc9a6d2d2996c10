//! `anju loan …`: loan repayment schedules (还款计划), exact to the fen.

use std::io::Write;

use anju_domain::loan::{self, Method, Row};
use anju_domain::money::{Fen, Rate};
use clap::Subcommand;
use jiff::civil::Date;

/// `anju loan` subcommands.
#[derive(Debug, Subcommand)]
pub enum LoanCmd {
    /// Print a repayment schedule, one row per period (CSV with a header, or a JSON array).
    Schedule(ScheduleArgs),
}

/// Output format of `anju loan schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON array of row objects.
    Json,
}

/// `anju loan schedule` arguments.
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// Principal in yuan, at most two decimals, no grouping (e.g. 1000000.00).
    #[arg(long)]
    pub principal: String,
    /// Annual rate in percent (e.g. 3.1).
    #[arg(long = "annual-rate-pct")]
    pub annual_rate_pct: String,
    /// Term in months (1-360).
    #[arg(long)]
    pub months: u32,
    /// Repayment method: equal-installment (等额本息) or equal-principal (等额本金).
    #[arg(long)]
    pub method: String,
    /// Disbursement date (YYYY-MM-DD); the first period's interest is then counted by actual
    /// days / 360 up to the first repayment day strictly after it. Needs --repay-day.
    #[arg(long, requires = "repay_day")]
    pub first_date: Option<Date>,
    /// Repayment day of the month (1-28). Needs --first-date.
    #[arg(long, requires = "first_date")]
    pub repay_day: Option<u8>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
}

/// Runs an `anju loan` subcommand.
pub fn run(cmd: LoanCmd) -> anyhow::Result<u8> {
    match cmd {
        LoanCmd::Schedule(args) => {
            let out = schedule_text(&args)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.as_bytes())?;
            stdout.flush()?;
            Ok(0)
        }
    }
}

fn schedule_text(args: &ScheduleArgs) -> anyhow::Result<String> {
    let principal =
        Fen::parse_yuan(&args.principal).map_err(|e| anyhow::anyhow!("--principal: {e}"))?;
    let annual = Rate::parse_percent(&args.annual_rate_pct)
        .map_err(|e| anyhow::anyhow!("--annual-rate-pct: {e}"))?;
    let method = Method::from_code(&args.method).map_err(|e| anyhow::anyhow!("--method: {e}"))?;
    let first = match (args.first_date, args.repay_day) {
        (Some(d), Some(k)) => Some((d, k)),
        _ => None,
    };
    let rows = loan::schedule(principal, annual, args.months, method, first)?;
    Ok(match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&rows)?;
            text.push('\n');
            text
        }
        Format::Csv => csv(&rows, first.is_some()),
    })
}

fn csv(rows: &[Row], with_due: bool) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(if with_due {
        "period,due,payment,principal,interest,remaining\n"
    } else {
        "period,payment,principal,interest,remaining\n"
    });
    for r in rows {
        out.push_str(&r.period.to_string());
        if let (true, Some(due)) = (with_due, r.due) {
            out.push(',');
            out.push_str(&due.to_string());
        }
        for amount in [r.payment, r.principal, r.interest, r.remaining] {
            out.push(',');
            out.push_str(&amount.plain());
        }
        out.push('\n');
    }
    out
}
