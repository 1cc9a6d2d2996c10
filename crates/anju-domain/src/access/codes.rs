//! Local code lists of the access domain: roles, service-point types, business types and
//! service-point status. No national standard exists for them; the codes are Anju's own
//! and, like every list in [`crate::codes`], serialise as the bare code string.

use crate::codes::code_list;

code_list! {
    /// A role (角色) a person holds in the system. A person may hold several roles, except
    /// that the three separated administrators (三员分立: [`Role::SystemAdmin`],
    /// [`Role::SecurityAdmin`], [`Role::AuditAdmin`]) are held by three different people
    /// who hold no other role (see [`Role::compatible`]).
    pub enum Role ("role (角色, local)") {
        Member = "01", "缴存职工", "member";
        UnitClerk = "02", "单位经办人", "unit clerk";
        CounterClerk = "03", "柜员", "counter clerk";
        StationClerk = "04", "驿站/便民中心经办员", "service station clerk";
        BankClerk = "05", "受托银行经办员", "commissioned bank clerk";
        Approver = "06", "审批人", "approver";
        Auditor = "07", "稽核员", "business auditor";
        Manager = "08", "中心负责人", "centre manager";
        Accountant = "09", "财务会计", "accountant";
        SystemAdmin = "10", "系统管理员", "system administrator";
        SecurityAdmin = "11", "安全保密管理员", "security administrator";
        AuditAdmin = "12", "安全审计员", "security audit administrator";
    }
}

impl Role {
    /// One of the three separated administrators (三员).
    pub const fn is_admin(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin
        )
    }

    /// Centre, bank or station staff (not a member or a unit's clerk).
    pub const fn is_staff(self) -> bool {
        !matches!(self, Role::Member | Role::UnitClerk)
    }

    /// Whether one person may hold both roles at once. An administrator holds no other
    /// role (三员分立), an auditor none of the roles whose work they audit, and an
    /// approver is not also the counter clerk whose cases they approve.
    pub const fn compatible(self, other: Role) -> bool {
        if self as u8 == other as u8 {
            return true;
        }
        if self.is_admin() || other.is_admin() {
            return false;
        }
        !matches!(
            (self, other),
            (
                Role::Auditor,
                Role::CounterClerk | Role::StationClerk | Role::BankClerk
            ) | (
                Role::CounterClerk | Role::StationClerk | Role::BankClerk,
                Role::Auditor
            ) | (
                Role::Auditor,
                Role::Approver | Role::Manager | Role::Accountant
            ) | (
                Role::Approver | Role::Manager | Role::Accountant,
                Role::Auditor
            ) | (Role::Approver, Role::CounterClerk)
                | (Role::CounterClerk, Role::Approver)
        )
    }
}

code_list! {
    /// The type of a service point (服务网点类型): where a business is handled.
    ///
    /// [`PointType::BackOffice`] is the centre's own internal network: approvals, audits,
    /// reports and system administration happen there and nowhere public.
    pub enum PointType ("service point type (服务网点类型, local)") {
        CentreHall = "01", "中心服务大厅", "centre service hall";
        BankBranch = "02", "受托银行网点", "commissioned bank branch";
        TownBankBranch = "03", "乡镇银行网点", "town bank branch";
        TownshipCentre = "04", "乡镇便民服务中心", "township service centre";
        VillageStation = "05", "村级服务驿站", "village service station";
        SelfService = "06", "自助终端", "self-service terminal";
        Hotline = "07", "12329热线", "12329 hotline";
        Online = "08", "线上渠道", "online (web, app, Zheliban, mini-program)";
        BackOffice = "09", "中心内部办公", "centre back office";
    }
}

impl PointType {
    /// Whether a business done at a point of this type may carry `channel` in its
    /// [`Stamp`](crate::stamp::Stamp). Staff in the back office work on centre terminals
    /// and stamp [`Channel::Counter`](crate::codes::Channel::Counter) as at the hall;
    /// system batches and machine interfaces belong to no public service point and are
    /// admitted only at the back office.
    pub const fn admits_channel(self, channel: crate::codes::Channel) -> bool {
        use crate::codes::Channel as C;
        match self {
            PointType::CentreHall => matches!(channel, C::Counter),
            PointType::BankBranch | PointType::TownBankBranch => matches!(channel, C::BankBranch),
            PointType::TownshipCentre => matches!(channel, C::TownshipCentre),
            PointType::VillageStation => matches!(channel, C::VillageStation),
            PointType::SelfService => matches!(channel, C::SelfService),
            PointType::Hotline => matches!(channel, C::Hotline),
            PointType::Online => matches!(
                channel,
                C::Web | C::MobileApp | C::Zlb | C::NationalMiniProgram
            ),
            PointType::BackOffice => {
                matches!(channel, C::Counter | C::Batch | C::MachineInterface)
            }
        }
    }
}

code_list! {
    /// Whether a service point is taking business (网点状态).
    pub enum PointStatus ("service point status (网点状态, local)") {
        Open = "01", "营业", "open";
        Closed = "02", "停业", "closed";
    }
}

code_list! {
    /// A business type (业务类型): the unit of permission. Several standard transaction
    /// types fold into one business type here (hire, leave, seal, unseal and internal
    /// transfer are all [`Business::MemberChange`]); the transaction codes of
    /// [`crate::codes`] stay what the ledger records.
    pub enum Business ("business type (业务类型, local)") {
        ViewOwnAccount = "01", "查询本人账户", "view own account";
        ViewMemberAccount = "02", "查询职工账户", "view a member's account";
        ViewUnitAccount = "03", "查询单位账户", "view a unit's account";
        StatementPrint = "04", "打印证明和对账单", "print a statement or certificate";
        MemberOpenAccount = "05", "个人开户", "open a member account";
        MemberChange = "06", "个人账户变更", "member change (hire, leave, seal, unseal, internal transfer)";
        Freeze = "07", "冻结", "freeze";
        Unfreeze = "08", "解冻", "unfreeze";
        UnitRegister = "09", "单位登记开户", "unit registration";
        UnitChange = "10", "单位信息变更", "unit change";
        Remittance = "11", "汇缴", "monthly remittance";
        BackPayment = "12", "补缴", "back-payment";
        BaseAdjustment = "13", "基数调整", "contribution base adjustment";
        FlexibleContribution = "14", "灵活就业缴存", "flexible-employment contribution";
        WithdrawalApply = "15", "提取申请", "withdrawal application";
        WithdrawalReview = "16", "提取审核", "withdrawal review";
        LoanApply = "17", "贷款申请", "loan application";
        LoanReview = "18", "贷款审批", "loan review";
        LoanSign = "19", "贷款签约", "loan signing";
        LoanDisburse = "20", "贷款发放", "loan disbursement";
        LoanPrepay = "21", "提前还款", "loan prepayment";
        Reversal = "22", "冲正", "reversal";
        Transfer = "23", "异地转移接续", "cross-city transfer";
        DayClose = "24", "日终处理", "day close";
        Reports = "25", "统计报表", "reports";
        PolicyChange = "26", "政策参数变更", "policy change";
        ManageServicePoints = "27", "服务网点管理", "service point management";
        ManageStaff = "28", "人员与角色管理", "staff and role management";
        ViewAuditLog = "29", "查看安全审计日志", "view the security audit log";
        Reconcile = "30", "银行对账", "bank reconciliation";
    }
}

impl Business {
    /// Whether the business needs a second person (maker-checker, 双人复核): a checker who
    /// is not the maker and holds a role in [`checker_roles`](super::checker_roles).
    ///
    /// * Reversal (冲正) and unfreeze (解冻) are entered by a counter clerk and confirmed by
    ///   an approver or the manager.
    /// * Withdrawal and loan reviews *are* the checker step of an application: the
    ///   reviewer may not be the clerk who accepted it. A review is always manual; an
    ///   application the rules decide automatically has no review step at all.
    /// * A policy change is made by one manager and confirmed by another.
    /// * A staff or role grant by the security administrator is confirmed by the
    ///   manager (业务授权审批), so no administrator alone decides who may do business.
    pub const fn needs_checker(self) -> bool {
        matches!(
            self,
            Business::Reversal
                | Business::Unfreeze
                | Business::WithdrawalReview
                | Business::LoanReview
                | Business::PolicyChange
                | Business::ManageStaff
        )
    }

    /// Whether the business moves money out of a member's account (a payout subject to
    /// the channel limits of [`check_channel_limit`](super::check_channel_limit)).
    pub const fn pays_out(self) -> bool {
        matches!(self, Business::WithdrawalApply | Business::LoanPrepay)
    }

    /// Whether the business only reads.
    pub const fn is_read_only(self) -> bool {
        matches!(
            self,
            Business::ViewOwnAccount
                | Business::ViewMemberAccount
                | Business::ViewUnitAccount
                | Business::StatementPrint
                | Business::Reports
                | Business::ViewAuditLog
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::codes::CodeList;

    fn check_list<T: CodeList + serde::Serialize + for<'de> serde::Deserialize<'de>>(len: usize) {
        let all = T::ALL;
        assert_eq!(all.len(), len, "{}", T::LIST);
        let codes: HashSet<&str> = all.iter().map(|c| c.code()).collect();
        let zh: HashSet<&str> = all.iter().map(|c| c.label_zh()).collect();
        let en: HashSet<&str> = all.iter().map(|c| c.label_en()).collect();
        assert_eq!(codes.len(), len);
        assert_eq!(zh.len(), len);
        assert_eq!(en.len(), len);
        for (i, &c) in all.iter().enumerate() {
            // Codes run 01, 02, ... without gaps, in declaration order.
            assert_eq!(c.code(), format!("{:02}", i + 1));
            assert_eq!(T::from_code(c.code()).unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.code()));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), c);
        }
        let next = format!("{:02}", len + 1);
        let err = T::from_code(&next).unwrap_err().to_string();
        assert!(err.contains(T::LIST), "{err}");
    }

    #[test]
    fn lists_are_consistent() {
        check_list::<Role>(12);
        check_list::<PointType>(9);
        check_list::<PointStatus>(2);
        check_list::<Business>(30);
        assert_eq!("06".parse::<Role>().unwrap(), Role::Approver);
        assert_eq!(Business::Reversal.to_string(), "22 冲正");
        assert_eq!(PointType::VillageStation.label_zh(), "村级服务驿站");
    }

    #[test]
    fn the_three_administrators_hold_no_other_role() {
        let admins = [Role::SystemAdmin, Role::SecurityAdmin, Role::AuditAdmin];
        for &a in &admins {
            assert!(a.is_admin() && a.is_staff());
            for &r in Role::ALL {
                assert_eq!(a.compatible(r), r == a, "{a} with {r}");
                assert_eq!(r.compatible(a), r == a, "{r} with {a}");
            }
        }
        assert_eq!(Role::ALL.iter().filter(|r| r.is_admin()).count(), 3);
        assert!(Role::Approver.compatible(Role::Manager));
        assert!(!Role::Approver.compatible(Role::CounterClerk));
        assert!(!Role::Auditor.compatible(Role::Accountant));
        assert!(Role::Member.compatible(Role::CounterClerk));
        assert!(!Role::Member.is_staff() && !Role::UnitClerk.is_staff());
    }

    #[test]
    fn point_types_admit_their_channels() {
        use crate::codes::Channel as C;
        assert!(PointType::Online.admits_channel(C::Zlb));
        assert!(PointType::Online.admits_channel(C::NationalMiniProgram));
        assert!(!PointType::Online.admits_channel(C::Counter));
        assert!(PointType::TownBankBranch.admits_channel(C::BankBranch));
        assert!(PointType::CentreHall.admits_channel(C::Counter));
        assert!(PointType::BackOffice.admits_channel(C::Counter));
        assert!(PointType::BackOffice.admits_channel(C::Batch));
        assert!(!PointType::BackOffice.admits_channel(C::Web));
        assert!(!PointType::Online.admits_channel(C::Batch));
        assert!(!PointType::VillageStation.admits_channel(C::TownshipCentre));
        // Every channel belongs to at least one point type.
        for &c in C::ALL {
            assert!(
                PointType::ALL.iter().any(|p| p.admits_channel(c)),
                "{c} has no point type"
            );
        }
    }

    #[test]
    fn business_flags() {
        let checked: Vec<&str> = Business::ALL
            .iter()
            .filter(|b| b.needs_checker())
            .map(|b| b.code())
            .collect();
        assert_eq!(checked, ["08", "16", "18", "22", "26", "28"]);
        let payouts: Vec<Business> = Business::ALL
            .iter()
            .copied()
            .filter(|b| b.pays_out())
            .collect();
        assert_eq!(payouts, [Business::WithdrawalApply, Business::LoanPrepay]);
        assert!(Business::Reports.is_read_only());
        assert!(!Business::Reconcile.is_read_only());
    }
}
