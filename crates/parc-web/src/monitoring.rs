//! Who may see and change monitoring objects: shared by the monitoring pages and API.
//!
//! Hosts, checks and downtimes belong to an entity. Reading them needs the monitoring read
//! right there (everyone but a bare requester... and requesters too: the status wall is for a
//! school principal as well); configuring, acknowledging and scheduling downtimes needs the
//! update right (technicians and admins). Out of sight answers 404; visible but not allowed, 403.

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use parc_core::permissions::{Action, Object};
use parc_core::{DowntimeId, EntityId, HostId, ServiceId};
use parc_store::monitoring::status::{self, Downtime, ServiceStatus};
use parc_store::monitoring::{self, Host, Service};
use parc_store::Conn;

/// The entities whose monitoring the caller reads.
pub fn readable(ctx: &Ctx) -> Vec<i64> {
    ctx.entity_ids(Object::Monitoring, Action::Read)
}

fn check_access(ctx: &Ctx, entity: EntityId, action: Action) -> AppResult<()> {
    if !ctx.can(Object::Monitoring, Action::Read, entity) {
        return Err(AppError::NotFound);
    }
    if action != Action::Read && !ctx.can(Object::Monitoring, action, entity) {
        return Err(AppError::Forbidden("only a technician of this entity can change its monitoring".into()));
    }
    Ok(())
}

/// The host if the caller may read it (and do `action` on it).
pub async fn visible_host(ctx: &Ctx, c: &mut Conn, id: i64, action: Action) -> AppResult<Host> {
    let h = monitoring::host(c, HostId(id)).await?.ok_or(AppError::NotFound)?;
    check_access(ctx, h.entity_id, action)?;
    Ok(h)
}

/// The check if the caller may read it (and do `action` on it).
pub async fn visible_service(ctx: &Ctx, c: &mut Conn, id: i64, action: Action) -> AppResult<Service> {
    let s = monitoring::service(c, ServiceId(id)).await?.ok_or(AppError::NotFound)?;
    check_access(ctx, s.entity_id, action)?;
    Ok(s)
}

/// The current state of a check the caller may read.
pub async fn visible_status(ctx: &Ctx, c: &mut Conn, id: i64, now_ms: i64) -> AppResult<ServiceStatus> {
    let s = status::status(c, ServiceId(id), now_ms).await?.ok_or(AppError::NotFound)?;
    check_access(ctx, s.entity_id, Action::Read)?;
    Ok(s)
}

/// The downtime if the caller may read it (and do `action` on it).
pub async fn visible_downtime(ctx: &Ctx, c: &mut Conn, id: i64, action: Action) -> AppResult<Downtime> {
    let d = status::downtime(c, DowntimeId(id)).await?.ok_or(AppError::NotFound)?;
    check_access(ctx, d.entity_id, action)?;
    Ok(d)
}

/// Creating a host in `entity` (and on the asset, whose entity it takes).
pub fn require_create(ctx: &Ctx, entity: EntityId) -> AppResult<()> {
    if ctx.can(Object::Monitoring, Action::Create, entity) {
        Ok(())
    } else if ctx.can(Object::Monitoring, Action::Read, entity) {
        Err(AppError::Forbidden("only a technician of this entity can monitor its equipment".into()))
    } else {
        Err(AppError::NotFound)
    }
}

/// The epoch milliseconds of now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
