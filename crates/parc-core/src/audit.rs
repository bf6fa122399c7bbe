//! The audit trail's vocabulary: who changed what, old -> new.

use crate::assets::string_enum;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

string_enum!(
    /// What happened to an object.
    AuditAction {
        Create = "create",
        Update = "update",
        Delete = "delete",
        Link = "link",
        Unlink = "unlink",
        RevealSecret = "reveal_secret",
        Import = "import",
        Inventory = "inventory",
        Login = "login",
        PasswordChange = "password_change",
        TokenCreate = "token_create",
        TokenRevoke = "token_revoke",
        /// A follow-up added to a ticket (its text is on the ticket, not in the trail).
        Followup = "followup",
        /// A task added to or changed on a ticket.
        Task = "task",
        /// A document signed (its SHA-256 is recorded).
        Sign = "sign",
        /// A monitoring problem acknowledged (or its acknowledgement removed).
        Acknowledge = "acknowledge",
        /// A monitoring downtime scheduled or cancelled.
        Downtime = "downtime",
        /// Stock received, issued, transferred or adjusted.
        Movement = "movement",
        /// A loanable asset reserved for somebody (or the reservation cancelled).
        Reserve = "reserve",
        /// A loanable asset checked out to a borrower (the signed sheet's SHA-256 is recorded).
        Checkout = "checkout",
        /// A loaned asset checked back in, with its condition.
        Checkin = "checkin",
        /// A checklist started, a step ticked or un-ticked, a checklist abandoned (on the asset).
        Checklist = "checklist",
    }
);

string_enum!(
    /// The kind of object an audit event is about.
    ObjectType {
        Asset = "asset",
        Entity = "entity",
        Location = "location",
        User = "user",
        Settings = "settings",
        Ticket = "ticket",
        Group = "group",
        TicketCategory = "ticket_category",
        MonitorHost = "monitor_host",
        MonitorService = "monitor_service",
        Poller = "poller",
        Campaign = "campaign",
        StockStore = "stock_store",
        StockItem = "stock_item",
        ChecklistTemplate = "checklist_template",
        /// A phone hand-over receipt (issue 6).
        Handover = "handover",
    }
);

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The fields that differ between two (name, value) lists of the same shape.
pub fn diff(old: &[(&'static str, Option<String>)], new: &[(&'static str, Option<String>)]) -> Vec<FieldChange> {
    new.iter()
        .filter_map(|(field, nv)| {
            let ov = old.iter().find(|(f, _)| f == field).and_then(|(_, v)| v.clone());
            (ov != *nv).then(|| FieldChange { field: (*field).to_owned(), old: ov, new: nv.clone() })
        })
        .collect()
}

/// The changes recorded when an object is created: every non-empty field as new.
pub fn creation(fields: &[(&'static str, Option<String>)]) -> Vec<FieldChange> {
    diff(&[], fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs() {
        let old = [("name", Some("a".to_owned())), ("ip", None)];
        let new = [("name", Some("b".to_owned())), ("ip", None)];
        let d = diff(&old, &new);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].old.as_deref(), Some("a"));
        assert_eq!(d[0].new.as_deref(), Some("b"));
        assert_eq!(creation(&new).len(), 1);
    }
}
