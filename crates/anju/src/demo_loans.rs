//! Sample loans for the demo centre: members whose filed purchase contracts are at the
//! demo exchange apply online — a provident-fund loan repaid by card, a combination loan
//! with the commercial part from the same commissioned bank, and a loan repaid from the
//! provident fund — each verified and decided at once, signed once (SM2/SM3, the demo
//! key store beside the database) and disbursed to the seller through the demo's bank
//! simulators; the last is left signed, waiting for disbursement.

use std::collections::BTreeMap;

use anju_app::lending::LenderSet;
use anju_app::loan::servicing::disburse;
use anju_app::loan::{self as ln, DeductFrom, Loans, NewLoan};
use anju_app::settlement::BankSet;
use anju_app::sharing::Departments;
use anju_bank::sim::admin::AdminClient;
use anju_domain::codes::Channel;
use anju_domain::loan::Method;
use anju_domain::money::Fen;
use anju_domain::policy::Policy;
use anju_domain::sharing::LoanKind;
use anju_domain::stamp::Stamp;
use anju_exchange::sim::dataset::Dataset;
use anju_sign::LocalSigner;
use anju_store::Store;
use jiff::Timestamp;

/// What the samples need.
#[derive(Debug)]
pub struct Samples<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The centre.
    pub centre: &'a str,
    /// Its policy.
    pub policy: &'a Policy,
    /// The demo exchange.
    pub departments: &'a Departments,
    /// The demo banks (settlement).
    pub banks: &'a BankSet,
    /// The demo banks' lending.
    pub lenders: &'a LenderSet,
    /// The demo key store.
    pub signer: &'a LocalSigner,
    /// The demo exchange's dataset.
    pub dataset: &'a Dataset,
    /// The demo banks' admin interfaces, by bank code (to open the sellers' accounts).
    pub admins: &'a BTreeMap<String, AdminClient>,
}

/// Applies, signs and disburses three sample loans; prints what happened. Returns how
/// many were lent.
pub fn run_samples(s: &Samples<'_>) -> anyhow::Result<usize> {
    let members = s.store.begin_read()?.members_with_unit(s.centre)?;
    let ctx = Loans {
        store: s.store,
        departments: s.departments,
        banks: s.banks,
        lenders: s.lenders,
        centre: s.centre,
        policy: s.policy,
    };
    let servicing = ctx.servicing();
    // Members buying a home on their own filed contract, with no provident-fund loan.
    let buyers: Vec<_> = members
        .iter()
        .filter_map(|m| {
            let r = s.dataset.people.get(&m.id_number)?;
            let c = r
                .contracts
                .iter()
                .find(|c| !c.cancelled && c.buyers.first() == Some(&m.id_number))?;
            let owes = r.credit.as_ref().is_some_and(|c| {
                c.loans
                    .iter()
                    .any(|l| l.kind == LoanKind::ProvidentFundHousing && l.balance.is_positive())
            });
            (!owes).then(|| (m.clone(), c.clone()))
        })
        .skip(3)
        .take(3)
        .collect();
    let mut lent = 0;
    for (k, (m, contract)) in buyers.into_iter().enumerate() {
        let Some(card) = s.store.begin_read()?.card(s.centre, &m.account_no)? else {
            continue;
        };
        // Half the price, in whole ten-thousands, at most 500,000.
        let half = (contract.price.fen() / 2 / 1_000_000 * 1_000_000).clamp(1_000_000, 50_000_000);
        let (commercial, deduct) = match k {
            // A modest combination loan: 150,000 from the fund, 100,000 from the bank.
            1 => (Some(Fen::new(10_000_000)), DeductFrom::Card),
            2 => (None, DeductFrom::Fund),
            _ => (None, DeductFrom::Card),
        };
        let stamp = Stamp {
            operator: format!("member:{}", m.id_number),
            channel: Channel::Zlb,
            service_point: "online".to_owned(),
            on_behalf_of: None,
        };
        let new = NewLoan {
            application_no: format!("LN-DEMO-{:02}", k + 1),
            id_number: m.id_number.clone(),
            spouse: None,
            consents: Vec::new(),
            contract_no: contract.contract_no.clone(),
            amount: Fen::new(if k == 1 { half.min(15_000_000) } else { half }),
            months: if k == 1 { 180 } else { 240 },
            method: if k == 2 {
                Method::EqualPrincipal
            } else {
                Method::EqualInstallment
            },
            repay_day: 20,
            deduct_from: deduct,
            bank_code: card.bank_code.clone(),
            commercial: commercial.filter(|c| c.is_positive()),
            stamp: stamp.clone(),
        };
        let v = match ln::apply(&ctx, &new, Timestamp::now()) {
            Ok(v) => v,
            Err(e) => {
                println!("sample loan {}: {e}", new.application_no);
                continue;
            }
        };
        println!(
            "sample loan {} ({}): {} {} 元 {} 个月 — {}",
            v.loan_no,
            if v.kind == "combination" {
                "组合贷款"
            } else {
                "公积金贷款"
            },
            v.status_zh,
            v.principal,
            v.months,
            v.details.reason_zh.chars().take(60).collect::<String>()
        );
        if v.status != "approved" {
            continue;
        }
        let v = ln::contract::sign(&ctx, s.signer, &v.loan_no, &stamp, Timestamp::now())?;
        println!(
            "  {} signed once: {} documents",
            v.loan_no,
            v.documents.len()
        );
        if k == 2 {
            continue;
        }
        // The seller's account at its bank (the demo banks know only their own customers).
        let seller_bank = crate::demo::BANKS
            .iter()
            .find(|(_, name)| *name == contract.seller_bank)
            .map_or(card.bank_code.as_str(), |(code, _)| *code);
        if let Some(admin) = s.admins.get(seller_bank) {
            admin.open_account(&contract.seller_account, &contract.seller_name, 0)?;
        }
        let clerk = Stamp {
            operator: "staff:loan-0001".to_owned(),
            channel: Channel::Counter,
            service_point: "qz-hall".to_owned(),
            on_behalf_of: None,
        };
        let v = disburse(&servicing, &v.loan_no, &clerk, Timestamp::now())?;
        lent += usize::from(v.status == "active");
        println!(
            "  {} {}: first payment {} on {}",
            v.loan_no,
            v.status_zh,
            v.combined
                .get(1)
                .map(|c| c.total)
                .or(v.schedule.get(1).map(|i| i.payment))
                .unwrap_or(Fen::ZERO),
            v.schedule
                .first()
                .map(|i| i.due.to_string())
                .unwrap_or_default()
        );
    }
    Ok(lent)
}
