use jiff::civil::date;

use super::*;

const AMOUNT: Fen = Fen::new(1_234_500);

fn executed(amount: Fen) -> Event {
    Event::Executed {
        amount,
        bank_ref: "ICBC-0001".into(),
        value_date: date(2026, 11, 27),
    }
}

fn run(events: &[Event]) -> Result<(InstructionState, Vec<Effect>), SettlementError> {
    let mut state = InstructionState::Created;
    let mut effects = Vec::new();
    for e in events {
        let (s, eff) = step("S1", AMOUNT, &state, e)?;
        state = s;
        effects.push(eff);
    }
    Ok((state, effects))
}

#[test]
fn a_confirmed_payout_posts_once_even_with_duplicate_notices() {
    let (state, effects) = run(&[Event::Sent, executed(AMOUNT), executed(AMOUNT)]).unwrap();
    assert_eq!(state.code(), "executed");
    assert_eq!(effects, [Effect::None, Effect::PostPending, Effect::None]);
}

#[test]
fn a_timeout_is_never_a_failure() {
    let (state, effects) = run(&[Event::Sent, Event::Timeout, Event::StillProcessing]).unwrap();
    assert_eq!(state, InstructionState::InFlight);
    assert_eq!(
        effects,
        [Effect::None, Effect::QueryLater, Effect::QueryLater]
    );
    assert!(!state.is_final());
    // …and while the outcome is unknown the serial is not sent again.
    let err = run(&[Event::Sent, Event::Timeout, Event::Sent]).unwrap_err();
    assert!(matches!(err, SettlementError::ResendWhileUnknown { .. }));
    // The answer to the status query settles it.
    let (state, effects) = run(&[Event::Sent, Event::Timeout, executed(AMOUNT)]).unwrap();
    assert_eq!(state.code(), "executed");
    assert_eq!(effects[2], Effect::PostPending);
}

#[test]
fn only_a_definite_no_voids_and_a_later_yes_is_a_contradiction() {
    let no = Event::NotExecuted {
        reason: "account closed".into(),
    };
    let (state, effects) = run(&[Event::Sent, no.clone(), no.clone()]).unwrap();
    assert_eq!(state.code(), "not_executed");
    assert_eq!(effects, [Effect::None, Effect::VoidPending, Effect::None]);
    let err = run(&[Event::Sent, no.clone(), executed(AMOUNT)]).unwrap_err();
    assert!(matches!(
        err,
        SettlementError::Contradiction {
            before: "not executed",
            ..
        }
    ));
    let err = run(&[Event::Sent, executed(AMOUNT), no]).unwrap_err();
    assert!(matches!(
        err,
        SettlementError::Contradiction {
            before: "executed",
            ..
        }
    ));
}

#[test]
fn wrong_amounts_and_unsent_answers_are_refused() {
    let err = run(&[Event::Sent, executed(Fen::new(1))]).unwrap_err();
    assert!(matches!(err, SettlementError::AmountDiffers { .. }));
    assert!(err.to_string().contains("12,345.00"), "{err}");
    let err = run(&[executed(AMOUNT)]).unwrap_err();
    assert!(matches!(err, SettlementError::NotSent { .. }));
}

fn bill(no: &str, due: i64, payer: &str) -> OpenBill {
    OpenBill {
        bill_no: no.into(),
        due: Fen::new(due),
        payer_accounts: vec![payer.into()],
    }
}

fn money(amount: i64, payer: &str, memo: &str) -> Incoming {
    Incoming {
        bank_serial: "B1".into(),
        amount: Fen::new(amount),
        payer_account: payer.into(),
        memo: memo.into(),
    }
}

#[test]
fn incoming_money_matches_by_reference_then_amount_and_payer_else_suspense() {
    let bills = [
        bill("HJ202611000001", 500_000, "6222A"),
        bill("HJ202611000002", 500_000, "6222B"),
        bill("HJ202610000009", 300_000, "6222B"),
    ];
    assert_eq!(
        match_incoming(&money(1, "X", "缴存 hj202611000002 十一月"), &bills),
        Match::ByReference {
            bill_no: "HJ202611000002".into()
        }
    );
    assert_eq!(
        match_incoming(&money(300_000, "6222B", "公积金"), &bills),
        Match::ByAmountAndPayer {
            bill_no: "HJ202610000009".into()
        }
    );
    assert!(matches!(
        match_incoming(&money(300_001, "6222B", ""), &bills),
        Match::Suspense { .. }
    ));
    // Two bills fit: no guessing.
    let twins = [bill("A1", 100, "P"), bill("A2", 100, "P")];
    let m = match_incoming(&money(100, "P", ""), &twins);
    assert!(
        matches!(&m, Match::Suspense { reason } if reason.contains('2')),
        "{m:?}"
    );
    let m = match_incoming(&money(100, "P", "A1 A2"), &twins);
    assert!(matches!(m, Match::Suspense { .. }));
}

fn mv(serial: &str, amount: i64) -> Movement {
    Movement {
        serial: serial.into(),
        amount: Fen::new(amount),
    }
}

#[test]
fn reconciliation_lists_every_difference_by_serial() {
    let bank = [
        mv("S1", -100),
        mv("S2", 500),
        mv("S4", -7),
        mv("S5", 1),
        mv("S5", 1),
    ];
    let anju = [mv("S1", -100), mv("S2", 400), mv("S3", -50), mv("S5", 1)];
    let diffs = reconcile(&bank, &anju);
    assert_eq!(
        diffs,
        [
            Mismatch::AmountDiffers {
                serial: "S2".into(),
                bank: Fen::new(500),
                anju: Fen::new(400)
            },
            Mismatch::MissingAtBank {
                serial: "S3".into(),
                anju: Fen::new(-50)
            },
            Mismatch::MissingInAnju {
                serial: "S4".into(),
                bank: Fen::new(-7)
            },
            Mismatch::Duplicate {
                serial: "S5".into(),
                side: "bank"
            },
        ]
    );
    assert!(reconcile(&anju, &anju).is_empty());
    assert!(diffs[1].to_string().contains("not on the bank statement"));
}
