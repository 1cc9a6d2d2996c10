//! Sample withdrawals for the demo centre: members whose facts at the demo exchange fit a
//! ground apply online (or at a village station, on a member's behalf); each is
//! verified, decided and — when approved — paid through the demo's bank simulators, so
//! the demo shows withdrawals paid in seconds, refused with reasons, and waiting for
//! staff review.

use anju_app::settlement::BankSet;
use anju_app::sharing::Departments;
use anju_app::withdrawal::{self as wd, NewWithdrawal, Withdrawals};
use anju_domain::codes::Channel;
use anju_domain::policy::Policy;
use anju_domain::sharing::InvoiceCategory;
use anju_domain::sharing::verify::Claims;
use anju_domain::stamp::Stamp;
use anju_domain::withdrawal::{Ground, RepayMode};
use anju_exchange::sim::dataset::{Dataset, PersonRecord};
use anju_store::Store;
use jiff::Timestamp;

type Fits = fn(&PersonRecord) -> bool;

fn has_invoice(r: &PersonRecord, c: InvoiceCategory) -> bool {
    r.invoices.iter().any(|i| !i.voided && i.category == c)
}

/// Applies once per ground for the first demo member whose facts fit it; prints what
/// happened. Returns how many were paid.
pub fn run_samples(
    store: &dyn Store,
    centre: &str,
    policy: &Policy,
    departments: &Departments,
    banks: &BankSet,
    dataset: &Dataset,
) -> anyhow::Result<usize> {
    let members = store.begin_read()?.members_with_unit(centre)?;
    let ctx = Withdrawals {
        store,
        departments,
        banks,
        centre,
        policy,
    };
    let samples: [(Ground, Option<RepayMode>, Fits); 9] = [
        (Ground::Purchase, None, |r| {
            r.contracts.iter().any(|c| !c.cancelled)
        }),
        (Ground::Rent, None, |r| !r.leases.is_empty()),
        (Ground::Renovation, None, |r| {
            has_invoice(r, InvoiceCategory::Renovation)
        }),
        (Ground::PropertyFee, None, |r| {
            has_invoice(r, InvoiceCategory::PropertyFee)
        }),
        (Ground::Renewal, None, |r| !r.renewal.is_empty()),
        (Ground::LoanRepayment, Some(RepayMode::Yearly), |r| {
            r.credit
                .as_ref()
                .is_some_and(|c| c.loans.iter().any(|l| l.kind.is_housing()))
        }),
        (Ground::Illness, None, |r| {
            r.medical.iter().any(|m| m.serious_illness)
        }),
        (Ground::Retirement, None, |r| {
            r.employment
                .as_ref()
                .is_some_and(|e| e.retired_on.is_some())
        }),
        (Ground::Other, None, |_| true),
    ];
    let mut paid = 0;
    for (k, (ground, mode, fits)) in samples.into_iter().enumerate() {
        let Some(m) = members
            .iter()
            .skip(k * 7)
            .find(|m| dataset.people.get(&m.id_number).is_some_and(fits))
        else {
            continue;
        };
        // Every third sample is made at a village station for the member.
        let stamp = if k % 3 == 2 {
            Stamp {
                operator: "staff:station-0001".to_owned(),
                channel: Channel::VillageStation,
                service_point: "qz-kecheng-station-001".to_owned(),
                on_behalf_of: Some(m.id_number.clone()),
            }
        } else {
            Stamp {
                operator: format!("member:{}", m.id_number),
                channel: Channel::Zlb,
                service_point: "online".to_owned(),
                on_behalf_of: None,
            }
        };
        // An illness withdrawal names the year of the expenses.
        let year = (ground == Ground::Illness)
            .then(|| {
                dataset.people[&m.id_number]
                    .medical
                    .iter()
                    .filter(|x| x.serious_illness)
                    .map(|x| x.year)
                    .max()
            })
            .flatten();
        let new = NewWithdrawal {
            application_no: format!("WD-DEMO-{:02}", k + 1),
            id_number: m.id_number.clone(),
            ground,
            mode,
            requested: None,
            spouse: None,
            claims: Claims {
                year,
                ..Claims::default()
            },
            heirs: Vec::new(),
            consents: Vec::new(),
            stamp,
        };
        match wd::apply(&ctx, &new, Timestamp::now()) {
            Ok(v) => {
                paid += usize::from(v.status == "paid");
                println!(
                    "sample withdrawal {} ({}): {} {} 元 — {}",
                    v.application_no,
                    v.ground_zh,
                    v.status_zh,
                    v.amount,
                    v.reason_zh.chars().take(60).collect::<String>()
                );
            }
            Err(e) => println!("sample withdrawal {}: {e}", new.application_no),
        }
    }
    Ok(paid)
}
