//! Identifier newtypes: a ticket id can never be passed where an asset id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = i64)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// An entity (organisation, school, service) of the tree.
    EntityId,
    /// A site, building or room.
    LocationId,
    /// A user account.
    UserId,
    /// An asset of the registry.
    AssetId,
    /// An audit trail event.
    AuditId,
    /// An API token.
    TokenId,
    /// A helpdesk ticket (incident or request).
    TicketId,
    /// A ticket category.
    CategoryId,
    /// A group of technicians or requesters.
    GroupId,
    /// A followup (message) on a ticket.
    FollowupId,
    /// A task (planned or done work) on a ticket.
    TaskId,
    /// A business calendar (opening hours, holidays, closures).
    CalendarId,
    /// A monitored host (usually an asset with an address).
    HostId,
    /// A check run on a monitored host: its host check or one of its services.
    ServiceId,
    /// A scheduled downtime of a host or a service.
    DowntimeId,
    /// A remote poller that runs the checks of a site.
    PollerId,
    /// A scan-to-reconcile campaign.
    CampaignId,
    /// An item of a campaign: expected from its list, or scanned though unexpected.
    CampaignItemId,
);

id_type!(
    /// A stock store (a cupboard, a stock room) of an entity, on a site.
    StockStoreId,
    /// A consumable of an entity's stock catalogue (toner, cable, charger).
    StockItemId,
    /// One movement of stock (a receipt, an issue, half a transfer, an adjustment).
    MovementId,
    /// A checklist template (ordered steps to run on an asset).
    ChecklistTemplateId,
    /// A checklist run on an asset (a copy of a template's steps, ticked one by one).
    ChecklistRunId,
);
