//! /api/v1/tickets (with follow-ups, tasks, linked assets, history), /api/v1/ticket-categories,
//! /api/v1/groups and /api/v1/helpdesk/settings. Access rules: `crate::helpdesk`. Every write
//! runs in one transaction, so a refused or failed request changes nothing.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::helpdesk::{check_create, require_follow, require_handler, visible_ticket, TicketAccess};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parc_core::audit::ObjectType;
use parc_core::helpdesk::{PriorityMatrix, SlaTargets, TicketStatus};
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, EntityId, TaskId, TicketId, UserId};
use parc_store::audit::{self, AuditEvent};
use parc_store::helpdesk::{
    self, Category, CategoryInput, Followup, Group, GroupInput, LinkedAsset, Task, TaskInput, Ticket, TicketInput,
    TicketQuery,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        ticket_list,
        ticket_create,
        ticket_get,
        ticket_update,
        ticket_status,
        ticket_accept,
        ticket_refuse,
        ticket_rate,
        followup_add,
        task_add,
        task_update,
        asset_link,
        asset_unlink,
        ticket_history,
        category_list,
        category_create,
        group_list,
        group_create,
        settings_get,
        settings_put
    ),
    components(schemas(
        Ticket,
        TicketInput,
        TicketList,
        TicketDetail,
        Followup,
        FollowupInput,
        Task,
        TaskInput,
        LinkedAsset,
        Observer,
        StatusInput,
        RefuseInput,
        RateInput,
        Category,
        CategoryInput,
        CategoryList,
        Group,
        GroupInput,
        GroupList,
        HelpdeskSettings,
        AuditEvent
    ))
)]
pub struct Doc;

pub fn routes() -> axum::Router<crate::AppState> {
    Router::new()
        .route("/tickets", get(ticket_list).post(ticket_create))
        .route("/tickets/{id}", get(ticket_get).patch(ticket_update))
        .route("/tickets/{id}/status", post(ticket_status))
        .route("/tickets/{id}/accept", post(ticket_accept))
        .route("/tickets/{id}/refuse", post(ticket_refuse))
        .route("/tickets/{id}/rate", post(ticket_rate))
        .route("/tickets/{id}/followups", post(followup_add))
        .route("/tickets/{id}/tasks", post(task_add))
        .route("/tickets/{id}/tasks/{task_id}", axum::routing::patch(task_update))
        .route("/tickets/{id}/assets/{asset_id}", put(asset_link).delete(asset_unlink))
        .route("/tickets/{id}/history", get(ticket_history))
        .route("/ticket-categories", get(category_list).post(category_create))
        .route("/groups", get(group_list).post(group_create))
        .route("/helpdesk/settings", get(settings_get).put(settings_put))
}

/// A page of tickets.
#[derive(Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<Ticket>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Serialize, ToSchema)]
pub struct Observer {
    pub user_id: UserId,
    pub display_name: String,
}

/// A ticket with its timeline. A requester does not see private follow-ups and tasks, nor
/// linked assets outside their scope.
#[derive(Serialize, ToSchema)]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub followups: Vec<Followup>,
    pub tasks: Vec<Task>,
    pub assets: Vec<LinkedAsset>,
    pub observers: Vec<Observer>,
    /// The statuses this ticket may move to now.
    pub next_statuses: Vec<TicketStatus>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    pub status: TicketStatus,
    /// Required when moving to "solved".
    pub solution: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowupInput {
    pub body: String,
    #[serde(default)]
    pub private: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseInput {
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateInput {
    /// 1 (unhappy) to 5 (very happy).
    pub score: i64,
    pub comment: Option<String>,
}

async fn write_ctx(ctx: &Ctx) -> AppResult<(parc_store::Tx, helpdesk::HelpdeskConfig)> {
    let mut tx = ctx.state.store.write().await?;
    let cfg = helpdesk::config(&mut tx).await?;
    Ok((tx, cfg))
}

#[utoipa::path(get, path = "/tickets", tag = "tickets", params(TicketQuery),
    responses((status = 200, body = TicketList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_list(ctx: Ctx, ApiQuery(q): ApiQuery<TicketQuery>) -> AppResult<Json<TicketList>> {
    let scope = ctx.scope(Object::Ticket, Action::Read);
    let mut c = ctx.state.store.read().await?;
    let p = helpdesk::list(&mut c, ctx.state.store.backend(), &scope, ctx.user.id, &q).await?;
    Ok(Json(TicketList { items: p.items, total: p.total, page: p.page, per_page: p.per_page }))
}

/// Opens a ticket. Its priority comes from the matrix (urgency x impact) unless given; its SLA
/// deadlines from the entity's calendar. A requester opens tickets for themselves only.
#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = TicketInput,
    responses((status = 201, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_create(ctx: Ctx, ApiJson(mut input): ApiJson<TicketInput>) -> AppResult<Response> {
    check_create(&ctx, &mut input)?;
    if input.source.is_none() {
        input.source = Some("api".into());
    }
    let (mut tx, cfg) = write_ctx(&ctx).await?;
    let t = helpdesk::create(&mut tx, &ctx.actor(), &cfg, &ctx.tree, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = TicketDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn ticket_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<TicketDetail>> {
    let mut c = ctx.state.store.read().await?;
    let (ticket, access) = visible_ticket(&ctx, &mut c, TicketId(id)).await?;
    let full = access == TicketAccess::Full;
    let followups = helpdesk::followups(&mut c, ticket.id, full).await?;
    let tasks = helpdesk::tasks(&mut c, ticket.id, full).await?;
    let asset_scope = ctx.scope(Object::Asset, Action::Read);
    let assets = helpdesk::assets_of(&mut c, ticket.id)
        .await?
        .into_iter()
        .filter(|a| asset_scope.full.contains(&a.entity_id) || asset_scope.own_only.contains(&a.entity_id))
        .collect();
    let observers = helpdesk::observers(&mut c, ticket.id)
        .await?
        .into_iter()
        .map(|(user_id, display_name)| Observer { user_id, display_name })
        .collect();
    let next_statuses = if full { ticket.status.allowed_next().to_vec() } else { Vec::new() };
    Ok(Json(TicketDetail { ticket, followups, tasks, assets, observers, next_statuses }))
}

/// Changes the fields given (title, description, type, category, location, urgency, impact,
/// priority, requester, assignment: `assignee_user_id`/`assignee_group_id` 0 unassigns).
#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)), request_body = TicketInput,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_update(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TicketInput>,
) -> AppResult<Json<Ticket>> {
    let (mut tx, cfg) = write_ctx(&ctx).await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    if input.entity_id.is_some_and(|e| EntityId(e) != t.entity_id) {
        return Err(AppError::Validation(parc_core::ValidationErrors::single(
            "entity_id",
            "immutable",
            "a ticket stays in its entity",
        )));
    }
    let t = helpdesk::update(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id, &input).await?;
    tx.commit().await?;
    Ok(Json(t))
}

/// Moves the ticket through its lifecycle (new, assigned, planned, pending, solved, closed):
/// only the allowed transitions; "solved" needs a solution.
#[utoipa::path(post, path = "/tickets/{id}/status", tag = "tickets", params(("id" = i64, Path)), request_body = StatusInput,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_status(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<StatusInput>,
) -> AppResult<Json<Ticket>> {
    let (mut tx, cfg) = write_ctx(&ctx).await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let t = helpdesk::set_status(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id, input.status, input.solution.as_deref())
        .await?;
    tx.commit().await?;
    Ok(Json(t))
}

/// The requester accepts the solution of a solved ticket: it closes.
#[utoipa::path(post, path = "/tickets/{id}/accept", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_accept(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Ticket>> {
    let (mut tx, cfg) = write_ctx(&ctx).await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_follow(&ctx, &t, access)?;
    if t.status != TicketStatus::Solved {
        return Err(AppError::Validation(parc_core::ValidationErrors::single(
            "status",
            "not_solved",
            "the ticket is not solved",
        )));
    }
    let t = helpdesk::accept_solution(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id).await?;
    tx.commit().await?;
    Ok(Json(t))
}

/// The requester refuses the solution, saying why: the ticket reopens.
#[utoipa::path(post, path = "/tickets/{id}/refuse", tag = "tickets", params(("id" = i64, Path)), request_body = RefuseInput,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_refuse(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RefuseInput>,
) -> AppResult<Json<Ticket>> {
    let (mut tx, cfg) = write_ctx(&ctx).await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_follow(&ctx, &t, access)?;
    let t = helpdesk::refuse_solution(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id, &input.reason).await?;
    tx.commit().await?;
    Ok(Json(t))
}

/// Satisfaction after closing (1-5, optional comment).
#[utoipa::path(post, path = "/tickets/{id}/rate", tag = "tickets", params(("id" = i64, Path)), request_body = RateInput,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_rate(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RateInput>,
) -> AppResult<Json<Ticket>> {
    let mut tx = ctx.state.store.write().await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_follow(&ctx, &t, access)?;
    let t = helpdesk::rate(&mut tx, &ctx.actor(), t.id, input.score, input.comment.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(t))
}

/// Adds a follow-up. Private follow-ups are for technicians only.
#[utoipa::path(post, path = "/tickets/{id}/followups", tag = "tickets", params(("id" = i64, Path)), request_body = FollowupInput,
    responses((status = 201, body = Followup), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn followup_add(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<FollowupInput>,
) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    if input.private {
        require_handler(&ctx, &t)?;
    } else {
        require_follow(&ctx, &t, access)?;
    }
    let f = helpdesk::add_followup(&mut tx, &ctx.actor(), t.id, &input.body, input.private).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

/// Adds a task: time spent, an appointment (planned start/end, technician), an on-site visit.
#[utoipa::path(post, path = "/tickets/{id}/tasks", tag = "tickets", params(("id" = i64, Path)), request_body = TaskInput,
    responses((status = 201, body = Task), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn task_add(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiJson(input): ApiJson<TaskInput>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let k = helpdesk::save_task(&mut tx, &ctx.actor(), &ctx.tree, t.id, None, &input).await?;
    crate::intervention::mail_sheet_if_due(&ctx, &mut tx, None, &k).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(k)).into_response())
}

/// Changes a task (e.g. records the time spent and marks it done).
#[utoipa::path(patch, path = "/tickets/{id}/tasks/{task_id}", tag = "tickets", params(("id" = i64, Path), ("task_id" = i64, Path)), request_body = TaskInput,
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn task_update(
    ctx: Ctx,
    ApiPath((id, task_id)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<TaskInput>,
) -> AppResult<Json<Task>> {
    let mut tx = ctx.state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let before = helpdesk::task(&mut tx, TaskId(task_id)).await?;
    let k = helpdesk::save_task(&mut tx, &ctx.actor(), &ctx.tree, t.id, Some(TaskId(task_id)), &input).await?;
    crate::intervention::mail_sheet_if_due(&ctx, &mut tx, before.as_ref(), &k).await?;
    tx.commit().await?;
    Ok(Json(k))
}

async fn link(ctx: Ctx, id: i64, asset: i64, on: bool) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    if on {
        // The asset must exist for the caller too: outside their scope it does not.
        let a = parc_store::assets::get(&mut tx, AssetId(asset)).await?;
        let scope = ctx.scope(Object::Asset, Action::Read);
        if !a.is_some_and(|a| scope.full.contains(&a.entity_id)) {
            return Err(AppError::Validation(parc_core::ValidationErrors::single(
                "asset_id",
                "not_found",
                "is not an asset you can see",
            )));
        }
    }
    helpdesk::link_asset(&mut tx, &ctx.actor(), &ctx.tree, t.id, AssetId(asset), on).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Links an asset of the ticket's entity to the ticket.
#[utoipa::path(put, path = "/tickets/{id}/assets/{asset_id}", tag = "tickets", params(("id" = i64, Path), ("asset_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn asset_link(ctx: Ctx, ApiPath((id, asset)): ApiPath<(i64, i64)>) -> AppResult<Response> {
    link(ctx, id, asset, true).await
}

#[utoipa::path(delete, path = "/tickets/{id}/assets/{asset_id}", tag = "tickets", params(("id" = i64, Path), ("asset_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn asset_unlink(ctx: Ctx, ApiPath((id, asset)): ApiPath<(i64, i64)>) -> AppResult<Response> {
    link(ctx, id, asset, false).await
}

#[utoipa::path(get, path = "/tickets/{id}/history", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = [AuditEvent]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn ticket_history(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<AuditEvent>>> {
    let mut c = ctx.state.store.read().await?;
    let (t, access) = visible_ticket(&ctx, &mut c, TicketId(id)).await?;
    if access != TicketAccess::Full {
        return Err(AppError::Forbidden("the history is for technicians".into()));
    }
    Ok(Json(audit::for_object(&mut c, ObjectType::Ticket, t.id.0, 1000).await?))
}

/// The entities where the caller reads tickets and their ancestors (whose categories and
/// groups apply below them).
pub(crate) fn ticket_entities_and_ancestors(ctx: &Ctx) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for e in ctx.entity_ids(Object::Ticket, Action::Read) {
        ids.extend(ctx.tree.path(EntityId(e)).into_iter().map(|x| x.0));
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[derive(Serialize, ToSchema)]
pub struct CategoryList {
    pub items: Vec<Category>,
}

/// Categories of the entities where the caller reads tickets (and their ancestors').
#[utoipa::path(get, path = "/ticket-categories", tag = "tickets",
    responses((status = 200, body = CategoryList), (status = 401, body = ErrorBody)))]
async fn category_list(ctx: Ctx) -> AppResult<Json<CategoryList>> {
    let ids = ticket_entities_and_ancestors(&ctx);
    let mut c = ctx.state.store.read().await?;
    Ok(Json(CategoryList { items: helpdesk::categories(&mut c, &ids).await? }))
}

/// Creates a category (entity administrators).
#[utoipa::path(post, path = "/ticket-categories", tag = "tickets", request_body = CategoryInput,
    responses((status = 201, body = Category), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn category_create(ctx: Ctx, ApiJson(input): ApiJson<CategoryInput>) -> AppResult<Response> {
    let entity = EntityId(input.entity_id.unwrap_or(0));
    ctx.require(Object::Entity, Action::Update, entity)?;
    let mut tx = ctx.state.store.write().await?;
    let x = helpdesk::create_category(&mut tx, &ctx.actor(), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(x)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<Group>,
}

/// Groups of technicians of the entities where the caller reads tickets (and their ancestors').
#[utoipa::path(get, path = "/groups", tag = "tickets",
    responses((status = 200, body = GroupList), (status = 401, body = ErrorBody)))]
async fn group_list(ctx: Ctx) -> AppResult<Json<GroupList>> {
    let ids = ticket_entities_and_ancestors(&ctx);
    let mut c = ctx.state.store.read().await?;
    Ok(Json(GroupList { items: helpdesk::groups(&mut c, &ids).await? }))
}

/// Creates a group of technicians (user administrators of the entity).
#[utoipa::path(post, path = "/groups", tag = "tickets", request_body = GroupInput,
    responses((status = 201, body = Group), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn group_create(ctx: Ctx, ApiJson(input): ApiJson<GroupInput>) -> AppResult<Response> {
    let entity = EntityId(input.entity_id.unwrap_or(0));
    ctx.require(Object::User, Action::Update, entity)?;
    let mut tx = ctx.state.store.write().await?;
    let g = helpdesk::create_group(&mut tx, &ctx.actor(), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(g)).into_response())
}

/// The priority matrix (GLPI's JSON shape: urgency -> impact -> priority) and the SLA targets
/// per priority in business minutes.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpdeskSettings {
    #[schema(value_type = Object)]
    pub priority_matrix: PriorityMatrix,
    #[schema(value_type = Object)]
    pub sla: SlaTargets,
}

#[utoipa::path(get, path = "/helpdesk/settings", tag = "tickets",
    responses((status = 200, body = HelpdeskSettings), (status = 401, body = ErrorBody)))]
async fn settings_get(ctx: Ctx) -> AppResult<Json<HelpdeskSettings>> {
    let mut c = ctx.state.store.read().await?;
    let cfg = helpdesk::config(&mut c).await?;
    Ok(Json(HelpdeskSettings { priority_matrix: cfg.matrix, sla: cfg.sla }))
}

/// Replaces the matrix and SLA targets (super-admin).
#[utoipa::path(put, path = "/helpdesk/settings", tag = "tickets", request_body = HelpdeskSettings,
    responses((status = 200, body = HelpdeskSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn settings_put(ctx: Ctx, ApiJson(input): ApiJson<HelpdeskSettings>) -> AppResult<Json<HelpdeskSettings>> {
    if !ctx.grants.is_super_admin() {
        return Err(AppError::Forbidden("only a super-admin changes the helpdesk settings".into()));
    }
    let mut tx = ctx.state.store.write().await?;
    helpdesk::put_config(&mut tx, &ctx.actor(), &input.priority_matrix, &input.sla).await?;
    tx.commit().await?;
    Ok(Json(input))
}
