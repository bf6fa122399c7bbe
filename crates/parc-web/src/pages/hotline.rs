//! The hotline's quick entry `/hotline`: one keyboard-only form for a phone call.
//!
//! The caller field suggests people and assets as one types (`static/hotline.js` over
//! `GET /api/v1/helpdesk/suggest`); picking one fills requester, asset, location and entity;
//! Enter opens the ticket through the same checks as the new-ticket form
//! (`tickets::open_from_form`) and lands on the ticket. Without JavaScript the page is a plain
//! form: "Search" lists the matches as radio choices, and the chosen one fills the same fields.
//! A caller nobody matches is a free name and phone.

use super::tickets::{entity_labels, message, open_from_form, TicketForm, LEVELS};
use super::{render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::CsrfForm;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use parc_core::helpdesk::TicketType;
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, EntityId, UserId, ValidationErrors};
use parc_store::helpdesk::suggest::{self, phone_key, Pick, SuggestScope, Suggestion, SuggestionKind};
use serde::Deserialize;
use std::collections::BTreeSet;

pub fn routes() -> Router<AppState> {
    Router::new().route("/hotline", get(form).post(submit))
}

/// Suggestions shown by the plain-form search.
const LISTED: usize = 10;

/// Where the caller's suggestions come from: people and assets of the entities where they open
/// tickets for others, among those they read (shared with the API).
pub(crate) fn suggest_scope(ctx: &Ctx) -> SuggestScope {
    let create = ctx.scope(Object::Ticket, Action::Create).full;
    let users = ctx.scope(Object::User, Action::Read).full;
    let assets = ctx.scope(Object::Asset, Action::Read).full;
    SuggestScope {
        callers: create.intersection(&users).copied().collect(),
        assets: create.intersection(&assets).copied().collect(),
        readable_users: users.into_iter().collect(),
    }
}

/// The entities where the caller opens tickets for others; the hotline is for them only.
pub(crate) fn hotline_entities(ctx: &Ctx) -> AppResult<BTreeSet<EntityId>> {
    let full = ctx.scope(Object::Ticket, Action::Create).full;
    if full.is_empty() {
        return Err(AppError::Forbidden("the hotline opens tickets for others: your profile cannot".into()));
    }
    Ok(full)
}

/// The hotline form as the browser sends it.
#[derive(Debug, Default, Deserialize)]
struct HotlineForm {
    /// "search" (the plain form's search button) or "create".
    action: Option<String>,
    /// What was typed in the caller field.
    q: Option<String>,
    /// A match chosen in the plain form (`user:12`, `asset:34`).
    pick: Option<String>,
    requester_user_id: Option<String>,
    asset_id: Option<String>,
    location_id: Option<String>,
    entity_id: Option<String>,
    requester_name: Option<String>,
    requester_phone: Option<String>,
    kind: Option<String>,
    title: Option<String>,
    description: Option<String>,
    urgency: Option<String>,
}

/// The values shown in the form.
#[derive(Default)]
struct Values {
    q: String,
    requester_user_id: String,
    asset_id: String,
    location_id: String,
    entity_id: String,
    requester_name: String,
    requester_phone: String,
    kind: String,
    title: String,
    description: String,
    urgency: String,
}

impl Values {
    fn from_form(f: &HotlineForm) -> Values {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Values {
            q: s(&f.q),
            requester_user_id: s(&f.requester_user_id),
            asset_id: s(&f.asset_id),
            location_id: s(&f.location_id),
            entity_id: s(&f.entity_id),
            requester_name: s(&f.requester_name),
            requester_phone: s(&f.requester_phone),
            kind: s(&f.kind),
            title: s(&f.title),
            description: s(&f.description),
            urgency: s(&f.urgency),
        }
    }
}

/// A match of the plain form's search, as a radio choice.
struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "tickets/hotline.html")]
struct HotlinePage {
    page: Page,
    v: Values,
    errors: ValidationErrors,
    entities: Vec<(EntityId, String)>,
    kinds: Vec<TicketType>,
    levels: [u8; 5],
    /// The plain form's search results (`None`: no search was made).
    choices: Option<Vec<Choice>>,
    /// What the chosen match filled.
    picked: Option<Suggestion>,
}

impl HotlinePage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| message(&self.page, f))
    }

    /// Errors of fields the form does not show next to an input.
    fn other_errors(&self) -> Vec<String> {
        const SHOWN: [&str; 8] =
            ["title", "kind", "urgency", "description", "requester_name", "requester_phone", "entity_id", "q"];
        self.errors
            .fields
            .iter()
            .filter(|f| !SHOWN.contains(&f.field.as_str()))
            .map(|f| format!("{} : {}", self.page.tk("field", &f.field), message(&self.page, f)))
            .collect()
    }
}

/// One line naming a match: who or what, and how to tell them apart.
fn choice_label(s: &Suggestion) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let (SuggestionKind::Asset, Some(a)) = (s.kind, &s.asset) {
        parts.push(asset_label(a));
    }
    if let Some(u) = &s.requester {
        parts.push(match &u.phone {
            Some(p) => format!("{} ({p})", u.name),
            None => u.name.clone(),
        });
    }
    if let (SuggestionKind::User, Some(a)) = (s.kind, &s.asset) {
        parts.push(asset_label(a));
    }
    parts.push(s.entity.name.clone());
    parts.join(" · ")
}

fn asset_label(a: &suggest::SuggestedAsset) -> String {
    match &a.tag {
        Some(t) => format!("{} ({t})", a.name),
        None => a.name.clone(),
    }
}

async fn render(
    ctx: &Ctx,
    v: Values,
    errors: ValidationErrors,
    choices: Option<Vec<Choice>>,
    picked: Option<Suggestion>,
    status: StatusCode,
) -> AppResult<Response> {
    let allowed = hotline_entities(ctx)?;
    let mut c = ctx.state.store.read().await?;
    let entities = entity_labels(ctx, &mut c, &allowed).await?;
    drop(c);
    let mut page = Page::new(ctx, "hotline.title").await;
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let body =
        HotlinePage { page, v, errors, entities, kinds: TicketType::ALL.to_vec(), levels: LEVELS, choices, picked };
    Ok(render_status(status, &body))
}

async fn form(ctx: Ctx) -> AppResult<Response> {
    let allowed = hotline_entities(&ctx)?;
    // One entity: it is the ticket's, whoever calls.
    let only = (allowed.len() == 1).then(|| allowed.iter().next().map(|e| e.to_string())).flatten();
    let v = Values {
        kind: TicketType::Incident.as_str().into(),
        urgency: "3".into(),
        entity_id: only.unwrap_or_default(),
        ..Default::default()
    };
    render(&ctx, v, ValidationErrors::new(), None, None, StatusCode::OK).await
}

/// What the chosen match fills: its requester, asset, location and entity replace the form's.
fn apply(f: &mut HotlineForm, s: &Suggestion) {
    let id = |v: Option<i64>| v.map(|i| i.to_string());
    f.requester_user_id = id(s.requester.as_ref().map(|u| u.id.0));
    f.asset_id = id(s.asset.as_ref().map(|a| a.id.0));
    f.location_id = id(s.location.as_ref().map(|l| l.id.0));
    f.entity_id = Some(s.entity.id.to_string());
    if f.requester_user_id.is_some() {
        f.requester_name = None;
        f.requester_phone = None;
    }
}

/// The match already in the form (its hidden fields), to show what it filled.
async fn current_pick(ctx: &Ctx, f: &HotlineForm) -> AppResult<Option<Suggestion>> {
    let id = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
    let pick = match (id(&f.asset_id), id(&f.requester_user_id)) {
        (Some(a), _) => Pick::Asset(AssetId(a)),
        (None, Some(u)) => Pick::User(UserId(u)),
        (None, None) => return Ok(None),
    };
    let mut c = ctx.state.store.read().await?;
    Ok(suggest::resolve(&mut c, &suggest_scope(ctx), pick).await?)
}

/// The form as the new-ticket form's fields. When nothing was picked, the caller is the typed
/// text: their name, or their phone number when that is what was typed.
fn ticket_form(f: &HotlineForm) -> TicketForm {
    let typed = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    let (mut name, mut phone) = (f.requester_name.clone(), f.requester_phone.clone());
    if blank(&f.requester_user_id) && blank(&f.asset_id) {
        match typed {
            Some(t) if phone_key(&t).is_some() && blank(&phone) => phone = Some(t),
            Some(t) if blank(&name) && phone_key(&t).is_none() => name = Some(t),
            _ => {}
        }
    }
    TicketForm {
        entity_id: f.entity_id.clone(),
        kind: f.kind.clone(),
        title: f.title.clone(),
        description: f.description.clone(),
        requester_user_id: f.requester_user_id.clone(),
        requester_name: name,
        requester_phone: phone,
        location_id: f.location_id.clone(),
        urgency: f.urgency.clone(),
        asset_id: f.asset_id.clone(),
        ..Default::default()
    }
}

async fn submit(State(state): State<AppState>, CsrfForm(ctx, mut f): CsrfForm<HotlineForm>) -> AppResult<Response> {
    let scope = suggest_scope(&ctx);
    hotline_entities(&ctx)?;
    if let Some(pick) = f.pick.as_deref().and_then(Pick::parse) {
        let mut c = state.store.read().await?;
        let found = suggest::resolve(&mut c, &scope, pick).await?;
        drop(c);
        match found {
            Some(s) => apply(&mut f, &s),
            None => {
                let e = ValidationErrors::single("pick", "not_found", "is not a match you can use");
                return render(&ctx, Values::from_form(&f), e, None, None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        }
    }
    if f.action.as_deref() == Some("search") {
        let text = f.q.clone().unwrap_or_default();
        let mut c = state.store.read().await?;
        let found = suggest::suggest(&mut c, state.store.backend(), &scope, &text, LISTED).await?;
        drop(c);
        let choices = found
            .iter()
            .filter_map(|s| Some(Choice { value: Pick::of(s)?.as_value(), label: choice_label(s) }))
            .collect();
        let picked = current_pick(&ctx, &f).await?;
        return render(&ctx, Values::from_form(&f), ValidationErrors::new(), Some(choices), picked, StatusCode::OK)
            .await;
    }
    let mut tx = state.store.write().await?;
    match open_from_form(&ctx, &mut tx, &ticket_form(&f), "hotline").await? {
        Ok(t) => {
            tx.commit().await?;
            Ok(see_other(&format!("/tickets/{}", t.id), Some("helpdesk.created")))
        }
        Err(e) => {
            drop(tx);
            let picked = current_pick(&ctx, &f).await?;
            render(&ctx, Values::from_form(&f), e, None, picked, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_without_a_match_is_the_typed_text() {
        let f = HotlineForm { q: Some(" Mme Lefèvre ".into()), ..Default::default() };
        let t = ticket_form(&f);
        assert_eq!((t.requester_name.as_deref(), t.requester_phone.as_deref()), (Some("Mme Lefèvre"), None));
        let f = HotlineForm { q: Some("06 12 34 56 78".into()), ..Default::default() };
        let t = ticket_form(&f);
        assert_eq!((t.requester_name.as_deref(), t.requester_phone.as_deref()), (None, Some("06 12 34 56 78")));
        // A picked user is the requester: the typed text is only what found them.
        let f = HotlineForm { q: Some("curie".into()), requester_user_id: Some("4".into()), ..Default::default() };
        let t = ticket_form(&f);
        assert_eq!((t.requester_name, t.requester_user_id.as_deref()), (None, Some("4")));
        // So is a picked asset: its tag is not a caller's name.
        let f = HotlineForm { q: Some("GPI-2045".into()), asset_id: Some("9".into()), ..Default::default() };
        assert_eq!(ticket_form(&f).requester_name, None);
    }
}
