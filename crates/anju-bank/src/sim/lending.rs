//! The simulated bank's commercial lending: the commercial part of combination loans
//! (组合贷款), lent from the bank's own funds.
//!
//! **Pricing.** The annual rate is the LPR of the term — the 5-year LPR for terms over 60
//! months, the 1-year LPR otherwise (`--lpr-5y-pct` 3.5, `--lpr-1y-pct` 3.0) — plus a
//! spread in basis points: `--first-home-spread-bp` (−30) for a first home,
//! `--second-home-spread-bp` (+30) otherwise; never below 0 %.
//!
//! **Credit rules**, in this order; the first that fails declines the application:
//! 1. a borrower's ID number is on the `--decline-id` list (a forced decline, for tests);
//! 2. loan-to-value: amount + the centre's part > price × `--max-ltv-first-pct` (80) for a
//!    first home, × `--max-ltv-second-pct` (70) otherwise;
//! 3. income: the schedule's first payment + the centre's part's first payment >
//!    `--max-dti-pct` (50) % of the borrowers' summed monthly income.
//!
//! All in integers. The schedule is [`anju_domain::loan::schedule`]`(amount, rate, months,
//! method, Some((date, repay_day)))` with the request date before disbursement and the
//! disbursement date after it; it is computed from the stored terms whenever a loan is
//! answered, so it is always exactly that.
//!
//! **Idempotency.** An application number keeps its first decision: the same content
//! answers it again (an approval with the loan as it stands now), other content is
//! `refused`. A loan is disbursed once: the same order again answers the disbursed loan
//! and moves nothing; another order is refused.
//!
//! **Disbursement** moves the amount from the bank's own lending account
//! ([`lending_account`], opened at start with [`LENDING_BALANCE_FEN`]) to the seller's
//! account, two statement lines under one bank reference, in one transaction with the
//! loan's new status. The seller's account follows the rule of a payment: held here, it
//! must exist under the name given; at another bank (`seller_bank`), the money leaves for
//! it (forwarded to a `--peer` simulator when there is one). The bank disburses on its
//! business date only.

use std::collections::{BTreeMap, BTreeSet};

use anju_domain::loan::{Method, schedule};
use anju_domain::money::{Fen, Rate};
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{OptionalExtension, Transaction, params};

use super::ledger::{
    BankDb, CreditIn, LedgerError, OpenAccount, account, book, bump, date_text, parse_date,
    self_ref,
};
use crate::protocol::{
    DisburseBody, DisburseRequest, LoanApplication, LoanDecisionBody, WireDecision,
    WireDisbursement, WireLoan, WireLoanStatus, WireRow,
};

/// The opening balance of the bank's own lending account, fen (10 trillion yuan).
pub const LENDING_BALANCE_FEN: i64 = 1_000_000_000_000_000;
/// The answer to an application number used again for other content.
pub const APPLICATION_REUSED: &str = "申请编号重复：该编号已用于内容不同的另一笔申请，本笔不予受理 (application number reused with different content)";

/// The bank's own lending account: `LOANS-<bank code>`.
pub fn lending_account(bank: &str) -> String {
    format!("LOANS-{bank}")
}

/// The lending account's name.
pub fn lending_account_name(bank: &str) -> String {
    format!("{bank} 个人住房贷款发放账户")
}

/// One basis point in [`Rate`] units (0.01 %).
const BP_UNITS: i64 = Rate::UNITS_PER_PERCENT / 100;

/// How the simulated bank prices and decides commercial loans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LendingRules {
    /// The 1-year LPR (terms up to 60 months).
    pub lpr_1y: Rate,
    /// The 5-year LPR (terms over 60 months).
    pub lpr_5y: Rate,
    /// The spread for a first home, basis points.
    pub first_home_spread_bp: i64,
    /// The spread otherwise, basis points.
    pub second_home_spread_bp: i64,
    /// Largest (amount + the centre's part) / price for a first home, whole percent.
    pub max_ltv_first_pct: u32,
    /// Largest (amount + the centre's part) / price otherwise, whole percent.
    pub max_ltv_second_pct: u32,
    /// Largest total first payment / summed monthly income, whole percent.
    pub max_dti_pct: u32,
    /// ID numbers whose applications are declined.
    pub decline_ids: BTreeSet<String>,
}

impl Default for LendingRules {
    fn default() -> LendingRules {
        LendingRules {
            lpr_1y: Rate::from_percent(3),
            lpr_5y: Rate::from_units(35 * Rate::UNITS_PER_PERCENT / 10),
            first_home_spread_bp: -30,
            second_home_spread_bp: 30,
            max_ltv_first_pct: 80,
            max_ltv_second_pct: 70,
            max_dti_pct: 50,
            decline_ids: BTreeSet::new(),
        }
    }
}

impl LendingRules {
    /// The annual rate of a loan of `months` months: the term's LPR plus the spread, at
    /// least 0 %.
    pub fn rate(&self, months: u32, first_home: bool) -> Rate {
        let lpr = if months > 60 {
            self.lpr_5y
        } else {
            self.lpr_1y
        };
        let bp = if first_home {
            self.first_home_spread_bp
        } else {
            self.second_home_spread_bp
        };
        let units = lpr
            .units()
            .saturating_add(bp.saturating_mul(BP_UNITS))
            .max(0);
        Rate::from_units(units)
    }

    /// The decision on a (valid) application: the rate, or the reason to decline.
    pub fn decide(&self, a: &LoanApplication) -> Result<Rate, String> {
        if let Some(b) = a
            .borrowers
            .iter()
            .find(|b| self.decline_ids.contains(&b.id_number))
        {
            return Err(format!(
                "征信不符合要求：借款人 {} 未通过本行信用审查 (declined: the borrower's credit)",
                b.name
            ));
        }
        let limit_pct = if a.first_home {
            self.max_ltv_first_pct
        } else {
            self.max_ltv_second_pct
        };
        let total = i128::from(a.amount_fen) + i128::from(a.hpf_amount_fen);
        if total * 100 > i128::from(a.price_fen) * i128::from(limit_pct) {
            return Err(format!(
                "贷款成数超限：商业贷款 {} + 公积金贷款 {} 超过房价 {} 的 {limit_pct}% (declined: loan-to-value above {limit_pct} %)",
                Fen::new(a.amount_fen),
                Fen::new(a.hpf_amount_fen),
                Fen::new(a.price_fen)
            ));
        }
        let rate = self.rate(a.months, a.first_home);
        let rows = schedule(
            Fen::new(a.amount_fen),
            rate,
            a.months,
            a.method,
            Some((a.requested_on, a.repay_day)),
        )
        .map_err(|e| format!("无法生成还款计划 (no schedule): {e}"))?;
        let first = rows.first().map_or(0, |r| r.payment.fen());
        let payment = i128::from(first) + i128::from(a.hpf_payment_fen);
        let income: i128 = a
            .borrowers
            .iter()
            .map(|b| i128::from(b.monthly_income_fen))
            .sum();
        if payment * 100 > income * i128::from(self.max_dti_pct) {
            return Err(format!(
                "还款能力不足：首期月供合计 {} 超过借款人月收入合计 {} 的 {}% (declined: payment above {} % of income)",
                Fen::new(i64::try_from(payment).unwrap_or(i64::MAX)),
                Fen::new(i64::try_from(income).unwrap_or(i64::MAX)),
                self.max_dti_pct,
                self.max_dti_pct
            ));
        }
        Ok(rate)
    }
}

/// The stored terms of a loan.
struct StoredLoan {
    loan_no: String,
    application_no: String,
    status: WireLoanStatus,
    amount_fen: i64,
    rate: Rate,
    months: u32,
    method: Method,
    repay_day: u8,
    requested_on: Date,
    disbursed_on: Option<Date>,
    disbursement_ref: Option<String>,
    disburse_hash: Option<String>,
}

impl StoredLoan {
    /// The wire loan with its schedule from the disbursement date (or the request date).
    fn wire(&self) -> Result<WireLoan, LedgerError> {
        let from = self.disbursed_on.unwrap_or(self.requested_on);
        let rows = schedule(
            Fen::new(self.amount_fen),
            self.rate,
            self.months,
            self.method,
            Some((from, self.repay_day)),
        )
        .map_err(|e| LedgerError::Internal(format!("loan {}: {e}", self.loan_no)))?;
        Ok(WireLoan {
            bank_loan_no: self.loan_no.clone(),
            application_no: self.application_no.clone(),
            status: self.status,
            disbursed_on: self.disbursed_on,
            disbursement_ref: self.disbursement_ref.clone(),
            amount_fen: self.amount_fen,
            annual_rate_pct: self.rate,
            months: self.months,
            method: self.method,
            repay_day: self.repay_day,
            schedule: rows
                .iter()
                .map(WireRow::from_row)
                .collect::<Result<_, _>>()
                .map_err(LedgerError::Internal)?,
        })
    }
}

fn stored_loan(
    tx: &rusqlite::Connection,
    loan_no: &str,
) -> Result<Option<StoredLoan>, LedgerError> {
    let row = tx
        .prepare_cached(
            "SELECT loan_no, application_no, status, amount_fen, rate_units, months, method,
                    repay_day, requested_on, disbursed_on, disbursement_ref, disburse_hash
             FROM loans WHERE loan_no = ?1",
        )?
        .query_row([loan_no], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, u32>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, u8>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
            ))
        })
        .optional()?;
    let Some(r) = row else {
        return Ok(None);
    };
    let bad = |what: &str| LedgerError::Internal(format!("loan {}: stored {what} unreadable", r.0));
    Ok(Some(StoredLoan {
        status: WireLoanStatus::from_code(&r.2).ok_or_else(|| bad("status"))?,
        amount_fen: r.3,
        rate: Rate::from_units(r.4),
        months: r.5,
        method: Method::from_code(&r.6).map_err(|_| bad("method"))?,
        repay_day: r.7,
        requested_on: r.8.parse().map_err(|_| bad("request date"))?,
        disbursed_on: parse_date(r.9),
        disbursement_ref: r.10,
        disburse_hash: r.11,
        loan_no: r.0,
        application_no: r.1,
    }))
}

fn refused_disbursement(loan_no: &str, reason: String) -> DisburseBody {
    DisburseBody {
        bank_loan_no: loan_no.to_owned(),
        outcome: WireDisbursement::Refused,
        loan: None,
        reason: Some(reason),
    }
}

/// Whether the seller's account can receive the money: `Err(reason)` when not.
fn check_seller(
    tx: &Transaction<'_>,
    bank: &str,
    d: &DisburseRequest,
) -> Result<Result<(), String>, LedgerError> {
    if d.seller_bank.as_deref().is_some_and(|b| b != bank) {
        return Ok(Ok(()));
    }
    let Some(seller) = account(tx, &d.seller_account)? else {
        return Ok(Err(format!(
            "账户不存在：收款账户 {} (seller account does not exist)",
            d.seller_account
        )));
    };
    if seller.name != d.seller_name {
        return Ok(Err(format!(
            "户名不符：收款账户 {} 的户名不是 {} (seller name does not match the account)",
            d.seller_account, d.seller_name
        )));
    }
    Ok(Ok(()))
}

impl BankDb {
    /// Opens the bank's own lending account ([`lending_account`]) unless it exists.
    pub fn ensure_lending_account(&mut self, value_date: Date) -> Result<bool, LedgerError> {
        let bank = self.bank.clone();
        self.seed_account(
            &OpenAccount {
                account: lending_account(&bank),
                name: lending_account_name(&bank),
                balance_fen: LENDING_BALANCE_FEN,
                frozen: None,
            },
            value_date,
        )
    }

    /// Decides (or answers again) a commercial-loan application.
    pub fn apply_loan(
        &mut self,
        a: &LoanApplication,
        rules: &LendingRules,
        now: Timestamp,
    ) -> Result<LoanDecisionBody, LedgerError> {
        let hash = a.content_hash();
        let tx = self.conn.transaction()?;
        let seen: Option<(String, String, Option<String>, Option<String>)> = tx
            .prepare_cached(
                "SELECT hash, decision, loan_no, reason FROM loan_applications
                 WHERE application_no = ?1",
            )?
            .query_row([&a.application_no], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let answer = |decision, loan, reason| LoanDecisionBody {
            application_no: a.application_no.clone(),
            decision,
            loan,
            reason,
        };
        if let Some((stored_hash, decision, loan_no, reason)) = seen {
            if stored_hash != hash {
                return Ok(answer(
                    WireDecision::Refused,
                    None,
                    Some(APPLICATION_REUSED.to_owned()),
                ));
            }
            if decision == "approved" {
                let no = loan_no.unwrap_or_default();
                let loan = stored_loan(&tx, &no)?
                    .ok_or_else(|| LedgerError::Internal(format!("loan {no} is missing")))?;
                return Ok(answer(WireDecision::Approved, Some(loan.wire()?), None));
            }
            return Ok(answer(WireDecision::Declined, None, reason));
        }
        let now_text = now.to_string();
        let out = match rules.decide(a) {
            Err(reason) => {
                tx.prepare_cached(
                    "INSERT INTO loan_applications (application_no, hash, decision, reason, decided_at)
                     VALUES (?1, ?2, 'declined', ?3, ?4)",
                )?
                .execute(params![a.application_no, hash, reason, now_text])?;
                answer(WireDecision::Declined, None, Some(reason))
            }
            Ok(rate) => {
                let n = bump(&tx, "loan_seq", 1)?;
                let loan_no = format!("L{}{}{n:08}", self.bank, a.requested_on.strftime("%Y%m%d"));
                tx.prepare_cached(
                    "INSERT INTO loans (loan_no, application_no, status, amount_fen, rate_units,
                         months, method, repay_day, requested_on, property, approved_at)
                     VALUES (?1, ?2, 'approved', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    loan_no,
                    a.application_no,
                    a.amount_fen,
                    rate.units(),
                    a.months,
                    a.method.code(),
                    a.repay_day,
                    date_text(a.requested_on),
                    a.property,
                    now_text
                ])?;
                tx.prepare_cached(
                    "INSERT INTO loan_applications (application_no, hash, decision, loan_no, decided_at)
                     VALUES (?1, ?2, 'approved', ?3, ?4)",
                )?
                .execute(params![a.application_no, hash, loan_no, now_text])?;
                let loan = stored_loan(&tx, &loan_no)?
                    .ok_or_else(|| LedgerError::Internal(format!("loan {loan_no} is missing")))?;
                answer(WireDecision::Approved, Some(loan.wire()?), None)
            }
        };
        tx.commit()?;
        Ok(out)
    }

    /// Disburses (or answers again) loan `loan_no` by order `d` on `business_date`.
    pub fn disburse_loan(
        &mut self,
        loan_no: &str,
        d: &DisburseRequest,
        business_date: Date,
        peers: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<DisburseBody, LedgerError> {
        let hash = d.content_hash();
        let bank = self.bank.clone();
        let tx = self.conn.transaction()?;
        let Some(loan) = stored_loan(&tx, loan_no)? else {
            return Ok(refused_disbursement(
                loan_no,
                format!("贷款不存在：{loan_no} (no such loan)"),
            ));
        };
        match loan.status {
            WireLoanStatus::Disbursed => {
                return Ok(if loan.disburse_hash.as_deref() == Some(hash.as_str()) {
                    DisburseBody {
                        bank_loan_no: loan_no.to_owned(),
                        outcome: WireDisbursement::Disbursed,
                        loan: Some(loan.wire()?),
                        reason: None,
                    }
                } else {
                    refused_disbursement(
                        loan_no,
                        "贷款已按另一笔放款指令发放，本笔不予执行 (already disbursed under another order)"
                            .to_owned(),
                    )
                });
            }
            WireLoanStatus::PaidOff | WireLoanStatus::Cancelled => {
                return Ok(refused_disbursement(
                    loan_no,
                    format!(
                        "贷款状态为 {}，不能发放 (not disbursable)",
                        loan.status.code()
                    ),
                ));
            }
            WireLoanStatus::Approved => {}
        }
        if d.date != business_date {
            return Ok(refused_disbursement(
                loan_no,
                format!(
                    "放款日期 {} 不是本行营业日 {business_date} (the bank disburses on its business date only)",
                    d.date
                ),
            ));
        }
        if let Err(reason) = check_seller(&tx, &bank, d)? {
            return Ok(refused_disbursement(loan_no, reason));
        }
        let from = lending_account(&bank);
        let from_name = lending_account_name(&bank);
        let lender = account(&tx, &from)?.ok_or_else(|| {
            LedgerError::Internal(format!("the lending account {from} is missing"))
        })?;
        if lender.balance < loan.amount_fen {
            return Ok(refused_disbursement(
                loan_no,
                format!("放款账户 {from} 余额不足 (the bank's lending account is short)"),
            ));
        }
        let value_date = date_text(d.date);
        let memo = if d.memo.is_empty() {
            format!("商业贷款发放 {loan_no}")
        } else {
            d.memo.clone()
        };
        let bank_ref = self_ref(&tx, &bank, d.date)?;
        book(
            &tx,
            &from,
            -loan.amount_fen,
            &value_date,
            &bank_ref,
            None,
            &d.seller_account,
            &d.seller_name,
            &memo,
        )?;
        match d.seller_bank.as_deref().filter(|b| *b != bank) {
            None => {
                book(
                    &tx,
                    &d.seller_account,
                    loan.amount_fen,
                    &value_date,
                    &bank_ref,
                    None,
                    &from,
                    &from_name,
                    &memo,
                )?;
            }
            Some(peer) if peers.contains_key(peer) => {
                let credit = CreditIn {
                    account: d.seller_account.clone(),
                    amount_fen: loan.amount_fen,
                    counterparty_account: from.clone(),
                    counterparty_name: from_name.clone(),
                    memo: memo.clone(),
                    credit_id: Some(format!("{bank}:{bank_ref}")),
                };
                let body = serde_json::to_vec(&credit).unwrap_or_default();
                tx.prepare_cached(
                    "INSERT INTO forwards (peer, credit_id, body, due_ms) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    peer,
                    credit.credit_id,
                    body,
                    now.as_millisecond()
                ])?;
            }
            // The money left for a bank nobody simulates.
            Some(_) => {}
        }
        tx.prepare_cached(
            "UPDATE loans SET status = 'disbursed', disbursed_on = ?2, disbursement_ref = ?3,
                 disburse_hash = ?4, seller_account = ?5
             WHERE loan_no = ?1 AND status = 'approved'",
        )?
        .execute(params![
            loan_no,
            value_date,
            bank_ref,
            hash,
            d.seller_account
        ])?;
        let loan = stored_loan(&tx, loan_no)?
            .ok_or_else(|| LedgerError::Internal(format!("loan {loan_no} is missing")))?;
        let body = DisburseBody {
            bank_loan_no: loan_no.to_owned(),
            outcome: WireDisbursement::Disbursed,
            loan: Some(loan.wire()?),
            reason: None,
        };
        tx.commit()?;
        Ok(body)
    }

    /// A loan as it stands, if the bank has it.
    pub fn loan(&self, loan_no: &str) -> Result<Option<WireLoan>, LedgerError> {
        stored_loan(&self.conn, loan_no)?
            .map(|l| l.wire())
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::protocol::WireBorrower;
    use jiff::civil::date;

    const DAY: Date = date(2026, 11, 27);

    fn app(no: &str) -> LoanApplication {
        LoanApplication {
            application_no: no.into(),
            borrowers: vec![WireBorrower {
                name: "王伟".into(),
                id_number: "330802199001011234".into(),
                role: "applicant".into(),
                monthly_income_fen: 2_000_000,
            }],
            amount_fen: 40_000_000,
            months: 240,
            method: Method::EqualInstallment,
            repay_day: 20,
            first_home: true,
            price_fen: 200_000_000,
            property: "浙(2026)衢州市不动产权第0012345号".into(),
            hpf_amount_fen: 60_000_000,
            hpf_payment_fen: 250_000,
            requested_on: date(2026, 11, 10),
        }
    }

    fn db() -> (tempfile::TempDir, BankDb) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = BankDb::open(&dir.path().join("bank.db"), "105").unwrap();
        db.ensure_lending_account(DAY).unwrap();
        db.open_account(
            &OpenAccount {
                account: "SELLER1".into(),
                name: "衢州房产开发有限公司".into(),
                balance_fen: 0,
                frozen: None,
            },
            DAY,
        )
        .unwrap();
        (dir, db)
    }

    #[test]
    fn pricing_uses_the_term_lpr_and_the_spread() {
        let r = LendingRules::default();
        assert_eq!(r.rate(240, true).percent_string(), "3.2");
        assert_eq!(r.rate(240, false).percent_string(), "3.8");
        assert_eq!(r.rate(60, true).percent_string(), "2.7");
        assert_eq!(r.rate(12, false).percent_string(), "3.3");
        let low = LendingRules {
            first_home_spread_bp: -1_000,
            ..LendingRules::default()
        };
        assert_eq!(low.rate(12, true), Rate::ZERO);
    }

    #[test]
    fn credit_rules_decline_in_order() {
        let r = LendingRules::default();
        assert!(r.decide(&app("A1")).is_ok());
        let mut a = app("A1");
        a.amount_fen = 100_000_001; // 60 + 100.0000001 > 160 (80 % of 200)
        assert!(r.decide(&a).unwrap_err().contains("loan-to-value"));
        a.first_home = false;
        a.amount_fen = 80_000_001; // > 70 % of 200 with 60 from the centre
        assert!(r.decide(&a).unwrap_err().contains("70 %"));
        let mut a = app("A1");
        a.borrowers[0].monthly_income_fen = 400_000;
        assert!(r.decide(&a).unwrap_err().contains("income"));
        let mut r2 = r.clone();
        r2.decline_ids.insert("330802199001011234".into());
        assert!(r2.decide(&app("A1")).unwrap_err().contains("credit"));
    }

    #[test]
    fn applications_and_disbursements_are_idempotent() {
        let (_dir, mut db) = db();
        let rules = LendingRules::default();
        let now = Timestamp::now();
        let first = db.apply_loan(&app("A1"), &rules, now).unwrap();
        assert_eq!(first.decision, WireDecision::Approved);
        let loan = first.loan.clone().unwrap();
        assert_eq!(loan.schedule.len(), 240);
        assert_eq!(db.apply_loan(&app("A1"), &rules, now).unwrap(), first);
        let mut other = app("A1");
        other.amount_fen += 1;
        let again = db.apply_loan(&other, &rules, now).unwrap();
        assert_eq!(again.decision, WireDecision::Refused);
        let order = DisburseRequest {
            seller_account: "SELLER1".into(),
            seller_name: "衢州房产开发有限公司".into(),
            seller_bank: None,
            date: DAY,
            memo: String::new(),
        };
        let peers = BTreeMap::new();
        let no = &loan.bank_loan_no;
        let wrong_day = DisburseRequest {
            date: date(2026, 11, 28),
            ..order.clone()
        };
        let r = db.disburse_loan(no, &wrong_day, DAY, &peers, now).unwrap();
        assert_eq!(r.outcome, WireDisbursement::Refused);
        let d = db.disburse_loan(no, &order, DAY, &peers, now).unwrap();
        assert_eq!(d.outcome, WireDisbursement::Disbursed);
        assert_eq!(db.balance("SELLER1").unwrap(), Some(40_000_000));
        let d2 = db.disburse_loan(no, &order, DAY, &peers, now).unwrap();
        assert_eq!(d2, d);
        assert_eq!(db.balance("SELLER1").unwrap(), Some(40_000_000));
        let other_order = DisburseRequest {
            memo: "x".into(),
            ..order
        };
        let r = db
            .disburse_loan(no, &other_order, DAY, &peers, now)
            .unwrap();
        assert_eq!(r.outcome, WireDisbursement::Refused);
        let stats = db.stats().unwrap();
        assert_eq!((stats.loans, stats.loans_disbursed), (1, 1));
        assert!(db.loan("L-none").unwrap().is_none());
        assert_eq!(
            db.loan(no).unwrap().unwrap().status,
            WireLoanStatus::Disbursed
        );
    }
}
