//! Who may see and change a ticket: shared by the ticket pages and the tickets API.
//!
//! A ticket of an entity where the caller reads tickets in full is visible in full; in an
//! entity where the caller is a requester, only the tickets they asked for, that are for them or
//! that they observe, and then only to follow them (public follow-ups, accept or refuse the
//! solution, rate). Anything else answers 404; a visible ticket one may not change, 403.

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use parc_core::permissions::{Action, Object};
use parc_core::{EntityId, TicketId};
use parc_store::helpdesk::{self, Ticket, TicketInput};
use parc_store::Conn;

/// How much of a ticket the caller holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketAccess {
    /// A technician, hotline or admin of the ticket's entity (or an observer profile: read only).
    Full,
    /// The requester (or the person it is for, or an observer) in an entity where they are a requester.
    Own,
}

/// The ticket if the caller may read it, and how.
pub async fn visible_ticket(ctx: &Ctx, c: &mut Conn, id: TicketId) -> AppResult<(Ticket, TicketAccess)> {
    let t = helpdesk::get(c, id).await?.ok_or(AppError::NotFound)?;
    let scope = ctx.scope(Object::Ticket, Action::Read);
    if scope.full.contains(&t.entity_id) {
        return Ok((t, TicketAccess::Full));
    }
    if scope.own_only.contains(&t.entity_id)
        && (t.concerns(ctx.user.id) || helpdesk::is_observer(c, id, ctx.user.id).await?)
    {
        return Ok((t, TicketAccess::Own));
    }
    Err(AppError::NotFound)
}

/// Technician work (status, assignment, fields, tasks, private follow-ups, links).
pub fn require_handler(ctx: &Ctx, t: &Ticket) -> AppResult<()> {
    if ctx.can(Object::Ticket, Action::Update, t.entity_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden("only a technician of this entity can do this".into()))
    }
}

/// What a requester may do on their own ticket (follow up, accept, refuse, rate).
pub fn require_follow(ctx: &Ctx, t: &Ticket, access: TicketAccess) -> AppResult<()> {
    let own_ok =
        access == TicketAccess::Own && ctx.scope(Object::Ticket, Action::Update).own_only.contains(&t.entity_id);
    if own_ok || ctx.can(Object::Ticket, Action::Update, t.entity_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden("you may not change this ticket".into()))
    }
}

/// Checks a new ticket against the caller's rights. A requester opens tickets for themselves
/// only, in an entity where they are a requester, without assigning or forcing a priority.
pub fn check_create(ctx: &Ctx, input: &mut TicketInput) -> AppResult<()> {
    let entity = EntityId(input.entity_id.ok_or_else(|| {
        AppError::Validation(parc_core::ValidationErrors::single("entity_id", "required", "is required"))
    })?);
    if ctx.can(Object::Ticket, Action::Create, entity) {
        return Ok(());
    }
    if ctx.scope(Object::Ticket, Action::Create).own_only.contains(&entity) {
        input.requester_user_id = Some(ctx.user.id.0);
        input.requester_name = None;
        input.assignee_user_id = None;
        input.assignee_group_id = None;
        input.priority = None;
        input.observer_ids = None;
        if input.source.is_none() {
            input.source = Some("web".into());
        }
        return Ok(());
    }
    if ctx.can(Object::Ticket, Action::Read, entity) {
        Err(AppError::Forbidden("you may not open tickets in this entity".into()))
    } else {
        Err(AppError::Validation(parc_core::ValidationErrors::single(
            "entity_id",
            "not_found",
            "is not an entity you can use",
        )))
    }
}
