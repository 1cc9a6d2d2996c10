//! Contracts and e-signing (电子签约): the loan contract (借款合同), the mortgage contract
//! (抵押合同) and the authorisation of repayment deductions (委托扣款授权书) are generated
//! from the approved loan and signed **once** by each borrower — one confirmation signs
//! the whole set — with SM2 over the SM3 of each document, then sealed by the centre
//! (`anju_sign`). The signed documents are stored with the loan and can be exported and
//! checked by anyone with `anju verify-document FILE`. When a loan is paid off, the
//! payoff certificate (贷款结清证明) is issued under the centre's seal alone.
//!
//! The signing port is `anju_sign::Signer`: the centre's own key store, or a licensed
//! CA's cloud signing service. Borrowers sign through the channel in their stamp (the app
//! after face verification, or the counter).

use anju_domain::money::{Fen, Rate};
use anju_sign::{Document, DocumentKind, Issuer, Party, Role, Signer, SignerRef, sign_all};
use anju_store::StoreTx;
use anju_store::loan::{LoanDocumentRow, LoanRow};
use jiff::Timestamp;

use super::{
    DeductFrom, LoanView, Loans, append, corrupt, details_of as details, details_of, expect_status,
    invalid, lock_loan, mask_id, not_found, set_details, show,
};
use crate::AppError;
use crate::ledger::lock_centre;

/// The centre as the issuer of documents.
fn issuer(tx: &mut dyn StoreTx, centre: &str) -> Result<Issuer, AppError> {
    let c = crate::ledger::centre(tx, centre)?;
    Ok(Issuer {
        code: centre.to_owned(),
        name: c.name,
    })
}

fn sign_err(e: anju_sign::SignError) -> AppError {
    invalid("signature", "", format!("could not sign: {e}"))
}

/// The borrowers as parties (the applicant, then the co-borrower), with their key ids.
fn parties(
    tx: &mut dyn StoreTx,
    centre: &str,
    row: &LoanRow,
) -> Result<Vec<(Party, String)>, AppError> {
    let mut out = Vec::new();
    let m = tx
        .member(centre, &row.account_no)?
        .ok_or_else(|| not_found(format!("personal account {}", row.account_no)))?;
    out.push((
        Party {
            role: Role::Borrower,
            name: m.name,
            id_number_masked: mask_id(&row.id_number),
        },
        format!("person:{}", row.account_no),
    ));
    if let Some(co) = &row.co_id_number {
        let (name, key) = match &row.co_account_no {
            Some(a) => {
                let m = tx
                    .member(centre, a)?
                    .ok_or_else(|| not_found(format!("personal account {a}")))?;
                (m.name, format!("person:{a}"))
            }
            None => (
                format!("共同借款人 {}", mask_id(co)),
                format!("person:co-{}", row.loan_no),
            ),
        };
        out.push((
            Party {
                role: Role::CoBorrower,
                name,
                id_number_masked: mask_id(co),
            },
            key,
        ));
    }
    Ok(out)
}

/// The three documents of an approved loan.
fn contract_documents(
    row: &LoanRow,
    issuer: &Issuer,
    parties: &[Party],
    penalty_note: &str,
    now: Timestamp,
) -> Result<Vec<Document>, AppError> {
    let d = details_of(row)?;
    let names: Vec<String> = parties
        .iter()
        .map(|p| {
            format!(
                "{}：{}（身份证号 {}）",
                p.role.label_zh(),
                p.name,
                p.id_number_masked
            )
        })
        .collect();
    let names = names.join("\n");
    let amount = Fen::new(row.principal);
    let rate = Rate::from_units(row.rate_units).percent_string();
    let method = match row.method.as_str() {
        "equal-principal" => "等额本金",
        _ => "等额本息",
    };
    let deduct = match DeductFrom::from_code(&row.deduct_from) {
        Some(DeductFrom::Fund) => {
            "借款人同意每期由借款人及共同借款人住房公积金账户余额冲还贷款本息（对冲还贷）。"
                .to_owned()
        }
        _ => format!(
            "借款人授权受委托银行（{}）于每期还款日从借款人银行卡 {} 扣收当期应还本息及罚息。",
            row.bank_code,
            mask_id(&row.card_no)
        ),
    };
    let loan_body = format!(
        "个人住房公积金借款合同\n合同编号：{no}\n贷款人：{centre}（委托 {bank} 办理）\n{names}\n\
         一、借款金额：人民币 {amount} 元，用于购买 {address}（网签备案号 {contract}）。\n\
         二、借款期限：{months} 个月，自放款之日起算。\n\
         三、借款利率：年利率 {rate}%，按中国人民银行及住房公积金管理委员会规定调整，每年 1 月 1 日起对存量贷款按新利率执行。\n\
         四、还款方式：{method}，每月 {day} 日为还款日；首期利息按实际天数计算。\n\
         五、{deduct}\n\
         六、逾期：{penalty_note}\n\
         七、提前还款：借款人可按贷款人规定申请部分或全部提前还款。\n\
         八、本合同以电子签名方式订立（SM2/SM3），与书面合同具有同等效力。",
        no = row.loan_no,
        centre = issuer.name,
        bank = row.bank_code,
        address = d.address,
        contract = d.contract_no,
        months = row.months,
        day = row.repay_day,
    );
    let commercial = d
        .commercial
        .as_ref()
        .filter(|p| p.status == "approved" || p.status == "disbursed");
    let loan_body = match commercial {
        Some(p) => format!(
            "{loan_body}\n九、组合贷款：本合同为组合贷款的住房公积金部分；同一房产另由 {} 发放商业贷款 {} 元（{}，年利率 {}%，{} 个月），两部分共用一个抵押物、一次签约、一次放款。",
            row.bank_code,
            Fen::new(p.amount),
            p.bank_loan_no.clone().unwrap_or_default(),
            Rate::from_units(p.rate_units).percent_string(),
            p.months
        ),
        None => loan_body,
    };
    let mortgagees = match commercial {
        Some(p) => format!(
            "抵押权人：{}（住房公积金贷款 {} 元，第一顺位）；{}（商业贷款 {} 元）",
            issuer.name,
            amount,
            row.bank_code,
            Fen::new(p.amount)
        ),
        None => format!("抵押权人：{}", issuer.name),
    };
    let mortgage_body = format!(
        "抵押合同\n合同编号：{no}-DY\n{mortgagees}\n抵押人：\n{names}\n\
         抵押物：{address}（网签备案号 {contract}，成交价 {price} 元）。\n\
         担保范围：借款合同 {no} 项下借款本金 {amount} 元及利息、罚息和实现抵押权的费用。\n\
         抵押人同意办理抵押登记（期房办理预告登记），贷款结清后由抵押权人配合办理注销登记。",
        no = row.loan_no,
        address = d.address,
        contract = d.contract_no,
        price = d
            .price
            .map(Fen::new)
            .map(|p| p.to_string())
            .unwrap_or_default(),
    );
    let auth_body = format!(
        "委托扣款及信息查询授权书\n编号：{no}-SQ\n{names}\n\
         {deduct}\n\
         借款人及共同借款人授权{centre}在贷款存续期间向不动产登记、婚姻登记、征信、社保、税务等部门查询与本笔贷款有关的信息。",
        no = row.loan_no,
        centre = issuer.name,
    );
    let doc = |kind: DocumentKind, number: String, title: &str, body: String| Document {
        kind,
        number,
        title: title.to_owned(),
        issuer: issuer.clone(),
        created_at: now,
        body,
        parties: parties.to_vec(),
    };
    Ok(vec![
        doc(
            DocumentKind::LoanContract,
            row.loan_no.clone(),
            "个人住房公积金借款合同",
            loan_body,
        ),
        doc(
            DocumentKind::MortgageContract,
            format!("{}-DY", row.loan_no),
            "抵押合同",
            mortgage_body,
        ),
        doc(
            DocumentKind::DeductionAuthorisation,
            format!("{}-SQ", row.loan_no),
            "委托扣款及信息查询授权书",
            auth_body,
        ),
    ])
}

/// The borrowers sign the contract set of an approved loan, once each, and the centre
/// seals it: the documents are stored, the loan becomes `signed` (ready to disburse), and
/// for card repayments the borrower's bound card is fixed as the repayment card.
pub fn sign(
    loans: &Loans<'_>,
    signer: &dyn Signer,
    loan_no: &str,
    stamp: &anju_domain::stamp::Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    stamp
        .validate()
        .map_err(|e| invalid("stamp", "", e.to_string()))?;
    let ctx = &loans.servicing();
    let centre = ctx.centre;
    let mut tx = ctx.store.begin()?;
    let today = lock_centre(tx.as_mut(), centre)?.business_date;
    let mut row = lock_loan(tx.as_mut(), centre, loan_no)?;
    expect_status(&row, &["approved"])?;
    if let Some(part) = details_of(&row)?.commercial
        && part.status != "approved"
    {
        return Err(invalid(
            "loan_no",
            loan_no,
            format!(
                "the bank has not approved the commercial part yet ({}{}): ask it again first",
                part.status,
                if part.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", part.note)
                }
            ),
        ));
    }
    if row.deduct_from == DeductFrom::Card.code() {
        let card = tx.card(centre, &row.account_no)?.ok_or_else(|| {
            invalid(
                "deduct_from",
                "card",
                "the borrower has no bound bank card to deduct repayments from",
            )
        })?;
        row.card_no = card.card_no;
    }
    let rule = ctx
        .policy
        .loan_servicing_on(today)
        .map_err(|e| invalid("business_date", today.to_string(), e.to_string()))?;
    let penalty_note = format!(
        "借款人未按期足额还款的，对逾期{}按合同利率的 {}% 按日计收罚息（年利率 ÷ 360 × 逾期天数）。",
        match rule.penalty_base {
            anju_domain::policy::PenaltyBase::Principal => "本金",
            _ => "本金和利息",
        },
        rule.penalty_multiplier.percent_string()
    );
    let issuer = issuer(tx.as_mut(), centre)?;
    let who = parties(tx.as_mut(), centre, &row)?;
    let party_list: Vec<Party> = who.iter().map(|(p, _)| p.clone()).collect();
    let refs: Vec<SignerRef> = who
        .iter()
        .map(|(p, key)| SignerRef::for_party(p, key))
        .collect();
    let mut names = Vec::new();
    for doc in contract_documents(&row, &issuer, &party_list, &penalty_note, now)? {
        let number = doc.number.clone();
        let kind = doc.kind;
        let signed = sign_all(doc, signer, &refs, now).map_err(sign_err)?;
        let content = signed.to_json().map_err(sign_err)?;
        tx.insert_loan_document(
            centre,
            &LoanDocumentRow {
                loan_no: loan_no.to_owned(),
                doc_no: number.clone(),
                kind: kind.code().to_owned(),
                sm3: signed.document.sm3_hex(),
                content,
                created_at_us: now.as_microsecond(),
            },
        )?;
        names.push(format!("{}（{number}）", kind.label_zh()));
    }
    row.status = "signed".to_owned();
    row.signed_on = Some(today);
    row.updated_at_us = now.as_microsecond();
    tx.update_loans(centre, std::slice::from_ref(&row))?;
    let signers: Vec<String> = party_list.iter().map(|p| p.name.clone()).collect();
    append(
        tx.as_mut(),
        centre,
        loan_no,
        &[(
            "signed",
            &stamp.operator,
            format!(
                "{} 一次电子签署 {}，中心电子印章已加盖",
                signers.join("、"),
                names.join("、")
            ),
            format!(
                "signed once by {} ({} documents), sealed by the centre",
                signers.join(", "),
                names.len()
            ),
        )],
        now,
    )?;
    tx.commit()?;
    // The collateral is registered with the real-estate registry at once (no
    // transaction open meanwhile); when the registry cannot be reached now, it is
    // registered again before disbursement.
    register_collateral(loans, loan_no, stamp, now)?;
    show(ctx.store, centre, loan_no)
}

/// The payoff certificate (贷款结清证明) of a paid-off loan, sealed by the centre; issued
/// once and kept with the loan (asking again returns the same document).
pub fn payoff_certificate(
    loans: &Loans<'_>,
    signer: &dyn Signer,
    loan_no: &str,
    now: Timestamp,
) -> Result<LoanDocumentRow, AppError> {
    // The mortgage is released first (once; again if the registry could not be reached).
    release_collateral(
        loans,
        loan_no,
        &anju_domain::stamp::Stamp::system("loan-payoff"),
        now,
    )?;
    let ctx = &loans.servicing();
    let centre = ctx.centre;
    let mut tx = ctx.store.begin()?;
    lock_centre(tx.as_mut(), centre)?;
    let row = lock_loan(tx.as_mut(), centre, loan_no)?;
    expect_status(&row, &["paid_off"])?;
    let number = format!("{loan_no}-JQ");
    if let Some(d) = tx
        .loan_documents(centre, loan_no)?
        .into_iter()
        .find(|d| d.doc_no == number)
    {
        return Ok(d);
    }
    let issuer = issuer(tx.as_mut(), centre)?;
    let who = parties(tx.as_mut(), centre, &row)?;
    let names: Vec<String> = who
        .iter()
        .map(|(p, _)| format!("{}（{}）", p.name, p.id_number_masked))
        .collect();
    let closed = row
        .closed_on
        .ok_or_else(|| corrupt(format!("loan {loan_no}: paid off without a date")))?;
    let body = format!(
        "贷款结清证明\n编号：{number}\n兹证明 {} 于 {} 向本中心借入的个人住房公积金贷款（借款合同编号 {loan_no}，贷款金额人民币 {} 元），\
         已于 {closed} 全部结清本息，贷款合同履行完毕。抵押权人同意注销该贷款项下抵押登记。\n特此证明。\n{}",
        names.join("、"),
        row.disbursed_on.map(|d| d.to_string()).unwrap_or_default(),
        Fen::new(row.principal),
        issuer.name,
    );
    let doc = Document {
        kind: DocumentKind::PayoffCertificate,
        number: number.clone(),
        title: "贷款结清证明".to_owned(),
        issuer,
        created_at: now,
        body,
        parties: Vec::new(),
    };
    let signed = sign_all(doc, signer, &[], now).map_err(sign_err)?;
    let out = LoanDocumentRow {
        loan_no: loan_no.to_owned(),
        doc_no: number,
        kind: DocumentKind::PayoffCertificate.code().to_owned(),
        sm3: signed.document.sm3_hex(),
        content: signed.to_json().map_err(sign_err)?,
        created_at_us: now.as_microsecond(),
    };
    tx.insert_loan_document(centre, &out)?;
    append(
        tx.as_mut(),
        centre,
        loan_no,
        &[(
            "certificate",
            "system",
            format!("出具贷款结清证明 {}", out.doc_no),
            format!("payoff certificate {} issued", out.doc_no),
        )],
        now,
    )?;
    tx.commit()?;
    Ok(out)
}

/// A stored signed document by number (to export for `anju verify-document`).
pub fn document(
    store: &dyn anju_store::Store,
    centre: &str,
    loan_no: &str,
    doc_no: &str,
) -> Result<LoanDocumentRow, AppError> {
    let mut tx = store.begin_read()?;
    tx.loan_documents(centre, loan_no)?
        .into_iter()
        .find(|d| d.doc_no == doc_no)
        .ok_or_else(|| not_found(format!("document {doc_no} of loan {loan_no}")))
}

/// Registers the loan's collateral with the real-estate registry (抵押登记; for a home
/// still being built, 预告登记 on the filed contract): one collateral, the centre — and for
/// a combination loan the bank — as mortgagees. Once registered, the registration number
/// is kept and asking again does nothing. When the registry refuses or cannot be reached
/// the reason goes on the timeline and the loan waits (disbursement needs the
/// registration).
pub fn register_collateral(
    loans: &Loans<'_>,
    loan_no: &str,
    stamp: &anju_domain::stamp::Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    use anju_domain::sharing::{MortgageRequest, Mortgagee};
    let centre = loans.centre;
    let (row, name) = {
        let mut tx = loans.store.begin_read()?;
        let row = tx
            .loan(centre, loan_no)?
            .ok_or_else(|| not_found(format!("loan {loan_no}")))?;
        let name = crate::ledger::centre(tx.as_mut(), centre)?.name;
        (row, name)
    };
    expect_status(&row, &["signed", "disbursing", "active"])?;
    let d = details(&row)?;
    if d.mortgage_no.is_some() {
        return show(loans.store, centre, loan_no);
    }
    let mut mortgagees = vec![Mortgagee {
        name,
        code: centre.to_owned(),
        amount: Fen::new(row.principal),
    }];
    if let Some(p) = d
        .commercial
        .as_ref()
        .filter(|p| p.status == "approved" || p.status == "disbursed")
    {
        mortgagees.push(Mortgagee {
            name: format!("受委托银行 {}", row.bank_code),
            code: row.bank_code.clone(),
            amount: Fen::new(p.amount),
        });
    }
    let pre = d.certificate_no.is_none();
    let signed = row.signed_on.unwrap_or(row.business_date);
    let term_end = signed
        .checked_add(jiff::Span::new().months(i64::from(row.months) + 1))
        .map_err(|e| invalid("months", row.months.to_string(), e.to_string()))?;
    let req = MortgageRequest {
        application_no: row.application_no.clone(),
        loan_no: loan_no.to_owned(),
        property: d
            .certificate_no
            .clone()
            .unwrap_or_else(|| d.contract_no.clone()),
        address: d.address.clone(),
        owners: if d.buyers.is_empty() {
            vec![row.id_number.clone()]
        } else {
            d.buyers.clone()
        },
        mortgagees,
        term_end,
        pre_registration: pre,
    };
    let answer = crate::sharing::register_mortgage(&loans.sharing(), &req, stamp, now)?;
    let mut tx = loans.store.begin()?;
    lock_centre(tx.as_mut(), centre)?;
    let mut row = lock_loan(tx.as_mut(), centre, loan_no)?;
    let mut d = details(&row)?;
    let (event, zh, en) = match answer {
        Ok(reg) => {
            d.mortgage_no = Some(reg.registration_no.clone());
            (
                "mortgage-registered",
                format!(
                    "{}已办理：{}（抵押物 {}）",
                    if pre {
                        "抵押预告登记"
                    } else {
                        "抵押登记"
                    },
                    reg.registration_no,
                    req.property
                ),
                format!(
                    "{} registered: {} (collateral {})",
                    if pre {
                        "mortgage pre-registration"
                    } else {
                        "mortgage"
                    },
                    reg.registration_no,
                    req.property
                ),
            )
        }
        Err(u) => (
            "mortgage-pending",
            format!("抵押登记未完成：{}", u.reason),
            format!("mortgage not registered yet: {}", u.reason),
        ),
    };
    set_details(&mut row, &d)?;
    row.updated_at_us = now.as_microsecond();
    tx.update_loans(centre, std::slice::from_ref(&row))?;
    append(
        tx.as_mut(),
        centre,
        loan_no,
        &[(event, &stamp.operator, zh, en)],
        now,
    )?;
    tx.commit()?;
    show(loans.store, centre, loan_no)
}

/// Releases a paid-off loan's mortgage (注销抵押登记) once; the outcome goes on the
/// timeline (a registry that cannot be reached is asked again next time).
pub fn release_collateral(
    loans: &Loans<'_>,
    loan_no: &str,
    stamp: &anju_domain::stamp::Stamp,
    now: Timestamp,
) -> Result<LoanView, AppError> {
    let centre = loans.centre;
    let row = {
        let mut tx = loans.store.begin_read()?;
        tx.loan(centre, loan_no)?
            .ok_or_else(|| not_found(format!("loan {loan_no}")))?
    };
    expect_status(&row, &["paid_off"])?;
    let d = details(&row)?;
    let Some(no) = d
        .mortgage_no
        .clone()
        .filter(|_| d.mortgage_released.is_none())
    else {
        return show(loans.store, centre, loan_no);
    };
    let answer =
        crate::sharing::release_mortgage(&loans.sharing(), &row.application_no, &no, stamp, now)?;
    let mut tx = loans.store.begin()?;
    lock_centre(tx.as_mut(), centre)?;
    let mut row = lock_loan(tx.as_mut(), centre, loan_no)?;
    let mut d = details(&row)?;
    let (event, zh, en) = match answer {
        Ok(r) => {
            d.mortgage_released = Some(r.released_on);
            (
                "mortgage-released",
                format!("抵押登记已注销：{no}（{}）", r.released_on),
                format!("mortgage {no} released on {}", r.released_on),
            )
        }
        Err(u) => (
            "mortgage-release-pending",
            format!("抵押注销未完成：{}", u.reason),
            format!("mortgage release not done yet: {}", u.reason),
        ),
    };
    set_details(&mut row, &d)?;
    row.updated_at_us = now.as_microsecond();
    tx.update_loans(centre, std::slice::from_ref(&row))?;
    append(
        tx.as_mut(),
        centre,
        loan_no,
        &[(event, &stamp.operator, zh, en)],
        now,
    )?;
    tx.commit()?;
    show(loans.store, centre, loan_no)
}
