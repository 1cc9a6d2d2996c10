//! The documents that are signed: loan contracts, mortgage contracts, authorisations,
//! payoff certificates, and their canonical bytes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::canon::{Canon, sm3_hex};

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    /// 借款合同 — the loan contract.
    LoanContract,
    /// 抵押合同 — the mortgage (or guarantee) contract.
    MortgageContract,
    /// 授权书（委托扣款）— authorisation to deduct repayments from an account.
    DeductionAuthorisation,
    /// 授权书（信息查询）— authorisation to query credit and other data.
    DataQueryAuthorisation,
    /// 贷款结清证明 — the certificate that a loan is paid off.
    PayoffCertificate,
    /// 其他 — any other document.
    Other,
}

impl DocumentKind {
    /// The stable code written in canonical bytes and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::LoanContract => "loan-contract",
            Self::MortgageContract => "mortgage-contract",
            Self::DeductionAuthorisation => "deduction-authorisation",
            Self::DataQueryAuthorisation => "data-query-authorisation",
            Self::PayoffCertificate => "payoff-certificate",
            Self::Other => "other",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::LoanContract => "借款合同",
            Self::MortgageContract => "抵押合同",
            Self::DeductionAuthorisation => "委托扣款授权书",
            Self::DataQueryAuthorisation => "信息查询授权书",
            Self::PayoffCertificate => "贷款结清证明",
            Self::Other => "其他文书",
        }
    }
}

/// In what capacity someone signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// 借款人 — the borrower.
    Borrower,
    /// 共同借款人 — a co-borrower (usually the spouse).
    CoBorrower,
    /// 保证人 — a guarantor.
    Guarantor,
    /// 抵押人 — the mortgagor, when not a borrower.
    Mortgagor,
    /// 中心印章 — the centre's seal; always required, never listed as a party.
    CentreSeal,
}

impl Role {
    /// The stable code written in canonical bytes and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Borrower => "borrower",
            Self::CoBorrower => "co-borrower",
            Self::Guarantor => "guarantor",
            Self::Mortgagor => "mortgagor",
            Self::CentreSeal => "centre-seal",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Borrower => "借款人",
            Self::CoBorrower => "共同借款人",
            Self::Guarantor => "保证人",
            Self::Mortgagor => "抵押人",
            Self::CentreSeal => "中心印章",
        }
    }
}

/// Someone who must sign the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// In what capacity.
    pub role: Role,
    /// The person's name as on the ID card.
    pub name: String,
    /// The ID number, masked (e.g. `330802********1234`); never the full number.
    pub id_number_masked: String,
}

/// The centre that issues the document (and whose seal it carries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// The centre's code.
    pub code: String,
    /// The centre's name, e.g. 衢州市住房公积金中心; the seal's certificate carries it.
    pub name: String,
}

/// A document to be signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// What it is.
    pub kind: DocumentKind,
    /// Its number, e.g. the contract number.
    pub number: String,
    /// Its title in Chinese.
    pub title: String,
    /// The issuing centre.
    pub issuer: Issuer,
    /// When it was generated.
    pub created_at: Timestamp,
    /// The full text (UTF-8), exactly as signed.
    pub body: String,
    /// Everyone who must sign, besides the centre's seal.
    pub parties: Vec<Party>,
}

impl Document {
    /// The canonical bytes (tag `anju-sign/document/v1`): kind code, number, title,
    /// issuer code, issuer name, created_at, the party count and each party's role code,
    /// name and masked ID number, then the body. The field encoding is described in the
    /// crate documentation ("Canonical bytes").
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut c = Canon::new("anju-sign/document/v1");
        c.text(self.kind.code())
            .text(&self.number)
            .text(&self.title)
            .text(&self.issuer.code)
            .text(&self.issuer.name)
            .time(self.created_at)
            .count(self.parties.len());
        for p in &self.parties {
            c.text(p.role.code())
                .text(&p.name)
                .text(&p.id_number_masked);
        }
        c.text(&self.body);
        c.finish()
    }

    /// SM3 of the canonical bytes, lowercase hex.
    pub fn sm3_hex(&self) -> String {
        sm3_hex(&self.canonical_bytes())
    }
}
