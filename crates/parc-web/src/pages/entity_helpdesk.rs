//! An entity's helpdesk settings `/entities/{id}/helpdesk`, for the administrators of that
//! entity: the business calendar of its SLA clocks (opening hours per weekday, French public
//! holidays, the Alsace-Moselle days, closures) and whether its QR labels take anonymous
//! reports. Each is the entity's own or inherited from the nearest entity above that has one
//! (else the defaults); the page says which, and going back to inheriting removes the own value.
//! The same view and rules serve `GET/PUT /api/v1/entities/{id}/helpdesk`.

use super::tickets::message;
use super::{render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{CsrfForm, OkQuery};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use parc_core::entities::EntityTree;
use parc_core::helpdesk::{format_interval, BusinessCalendar, WEEKDAY_KEYS};
use parc_core::permissions::{Action, Object};
use parc_core::validate::FieldError;
use parc_core::{EntityId, ValidationErrors};
use parc_store::helpdesk::{self, EntitySettings};
use parc_store::{entities, Conn, StoreError};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new().route("/entities/{id}/helpdesk", get(show).post(save))
}

/// An entity's helpdesk settings: its own values (`None`: inherited) and those in force.
pub(crate) struct SettingsView {
    pub own_calendar: Option<BusinessCalendar>,
    pub own_anonymous: Option<bool>,
    pub calendar: BusinessCalendar,
    /// The entity whose calendar is in force (`None`: the default calendar).
    pub calendar_from: Option<EntityId>,
    pub anonymous: bool,
    /// The entity whose switch is in force (`None`: the default, no anonymous reports).
    pub anonymous_from: Option<EntityId>,
}

pub(crate) async fn settings_view(c: &mut Conn, tree: &EntityTree, entity: EntityId) -> AppResult<SettingsView> {
    let cfg = helpdesk::config(c).await?;
    let own = cfg.entities.get(&entity).cloned().unwrap_or_default();
    let from = |has: fn(&EntitySettings) -> bool| {
        tree.path(entity).into_iter().rev().find(|e| cfg.entities.get(e).is_some_and(has))
    };
    Ok(SettingsView {
        calendar: cfg.calendar_for(tree, entity),
        calendar_from: from(|s| s.calendar.is_some()),
        anonymous: cfg.anonymous_reports_for(tree, entity),
        anonymous_from: from(|s| s.anonymous_reports.is_some()),
        own_calendar: own.calendar,
        own_anonymous: own.anonymous_reports,
    })
}

/// 404 for an entity the caller does not read; 403 unless they administer it.
pub(crate) fn require_admin(ctx: &Ctx, entity: EntityId) -> AppResult<()> {
    ctx.require(Object::Entity, Action::Read, entity)?;
    if ctx.can(Object::Entity, Action::Update, entity) {
        Ok(())
    } else {
        Err(AppError::Forbidden("only an administrator of this entity changes its helpdesk settings".into()))
    }
}

/// Writes an entity's own settings (`None`: inherit) in one transaction.
pub(crate) async fn put(
    ctx: &Ctx,
    entity: EntityId,
    calendar: Option<&BusinessCalendar>,
    anonymous: Option<bool>,
) -> Result<(), StoreError> {
    let mut tx = ctx.state.store.write().await?;
    helpdesk::put_entity_settings(&mut tx, &ctx.actor(), entity, calendar, anonymous).await?;
    tx.commit().await
}

/// The settings form as a browser sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    /// "inherit" or "own".
    calendar_mode: String,
    tz: String,
    mon: String,
    tue: String,
    wed: String,
    thu: String,
    fri: String,
    sat: String,
    sun: String,
    french_holidays: Option<String>,
    alsace_moselle: Option<String>,
    closures: String,
    /// "inherit", "yes" or "no".
    anonymous: String,
}

impl SettingsForm {
    fn days(&self) -> [&str; 7] {
        [&self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun]
    }

    fn from_view(v: &SettingsView) -> SettingsForm {
        let cal = &v.calendar;
        // Each weekday's intervals, "08:30-12:00, 14:00-17:00".
        let [mon, tue, wed, thu, fri, sat, sun] = std::array::from_fn(|i| {
            cal.week[i].iter().map(|(s, e)| format_interval(*s, *e)).collect::<Vec<_>>().join(", ")
        });
        SettingsForm {
            calendar_mode: if v.own_calendar.is_some() { "own" } else { "inherit" }.into(),
            tz: cal.tz.name().to_owned(),
            mon,
            tue,
            wed,
            thu,
            fri,
            sat,
            sun,
            french_holidays: cal.french_holidays.then(|| "1".into()),
            alsace_moselle: cal.alsace_moselle.then(|| "1".into()),
            closures: cal.closures.iter().map(|(a, b)| closure_text(*a, *b)).collect::<Vec<_>>().join("\n"),
            anonymous: match v.own_anonymous {
                Some(true) => "yes",
                Some(false) => "no",
                None => "inherit",
            }
            .into(),
        }
    }

    /// The calendar the form describes, through the calendar's own JSON checks.
    fn calendar(&self) -> Result<BusinessCalendar, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut week = serde_json::Map::new();
        for (key, text) in WEEKDAY_KEYS.iter().zip(self.days()) {
            let mut intervals = Vec::new();
            for (n, part) in text.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()).enumerate() {
                match part.split_once('-') {
                    Some((start, end)) => intervals.push(json!([start.trim(), end.trim()])),
                    None => errors.add(&format!("week.{key}.{n}"), "time_format", "write intervals as 08:30-12:00"),
                }
            }
            week.insert((*key).to_owned(), intervals.into());
        }
        let mut closures = Vec::new();
        for (n, line) in self.closures.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
            let dates: Vec<&str> =
                line.split_whitespace().filter(|w| !matches!(*w, "-" | "–" | "au" | "to" | "..")).collect();
            match dates.as_slice() {
                [one] => closures.push(json!(one)),
                [first, last] => closures.push(json!([first, last])),
                _ => errors.add(&format!("closures.{n}"), "date_format", "one date, or the first and last dates"),
            }
        }
        errors.into_result()?;
        let doc = json!({
            "tz": self.tz.trim(),
            "week": week,
            "french_holidays": self.french_holidays.is_some(),
            "alsace_moselle": self.alsace_moselle.is_some(),
            "closures": closures,
        });
        BusinessCalendar::from_json(&doc.to_string())
    }

    fn anonymous_choice(&self) -> Result<Option<bool>, ValidationErrors> {
        match self.anonymous.as_str() {
            "yes" => Ok(Some(true)),
            "no" => Ok(Some(false)),
            "" | "inherit" => Ok(None),
            _ => Err(ValidationErrors::single("anonymous", "invalid", "must be inherit, yes or no")),
        }
    }
}

fn closure_text(first: NaiveDate, last: NaiveDate) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first} {last}")
    }
}

/// The form field an error of the calendar belongs to: `week.mon.1` is the Monday field,
/// `closures.2` the closures.
fn form_field(field: &str) -> &str {
    let mut parts = field.split('.');
    match (parts.next(), parts.next()) {
        (Some("week"), Some(day)) => day,
        (Some("closures"), _) => "closures",
        _ => field,
    }
}

/// One weekday's field.
struct Day {
    key: &'static str,
    label: String,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/entity_helpdesk.html")]
struct SettingsPage {
    page: Page,
    entity_id: EntityId,
    entity_name: String,
    v: SettingsForm,
    days: Vec<Day>,
    errors: ValidationErrors,
    /// Where the calendar in force comes from, in words.
    calendar_source: String,
    anonymous_source: String,
    /// The inherited switch, for the "inherit" choice.
    inherited_anonymous: String,
}

impl SettingsPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.fields.iter().find(|f| form_field(&f.field) == field).map(|f| error_text(&self.page, f))
    }

    fn other_errors(&self) -> Vec<String> {
        const SHOWN: [&str; 12] =
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "week", "closures", "tz", "anonymous", "calendar_mode"];
        self.errors
            .fields
            .iter()
            .filter(|f| !SHOWN.contains(&form_field(&f.field)))
            .map(|f| error_text(&self.page, f))
            .collect()
    }
}

/// The calendar's error codes have their own messages; the others are the helpdesk's.
fn error_text(page: &Page, f: &FieldError) -> String {
    let key = format!("entity_helpdesk.err.{}", f.code);
    let text = page.t(&key);
    if text != key {
        text.to_owned()
    } else {
        message(page, f)
    }
}

/// "Own", "inherited from <entity>" or "default", in words.
async fn source_text(page: &Page, c: &mut Conn, entity: EntityId, from: Option<EntityId>) -> AppResult<String> {
    Ok(match from {
        Some(e) if e == entity => page.t("entity_helpdesk.own").to_owned(),
        Some(e) => {
            let name = entities::get(c, e).await?.map(|x| x.name).unwrap_or_else(|| e.to_string());
            page.tf("entity_helpdesk.inherited_from", &[("entity", &name)])
        }
        None => page.t("entity_helpdesk.default").to_owned(),
    })
}

async fn render(
    ctx: &Ctx,
    entity: EntityId,
    v: SettingsForm,
    errors: ValidationErrors,
    flash: Option<&str>,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let name = entities::get(&mut c, entity).await?.ok_or(AppError::NotFound)?.name;
    let view = settings_view(&mut c, &ctx.tree, entity).await?;
    let mut page = Page::new(ctx, "entity_helpdesk.title").await.with_flash(flash);
    page.title = page.tf("entity_helpdesk.title_of", &[("entity", &name)]);
    let calendar_source = source_text(&page, &mut c, entity, view.calendar_from).await?;
    let anonymous_source = source_text(&page, &mut c, entity, view.anonymous_from).await?;
    // What inheriting would give: the value of the nearest entity above with a setting.
    let parent_value = match ctx.tree.path(entity).into_iter().rev().nth(1) {
        Some(parent) => settings_view(&mut c, &ctx.tree, parent).await?.anonymous,
        None => false,
    };
    drop(c);
    let inherited_anonymous = page.t(if parent_value { "common.yes" } else { "common.no" }).to_owned();
    if !errors.is_empty() {
        page.flash = Some(page.t("common.form_errors").to_owned());
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut body = SettingsPage {
        page,
        entity_id: entity,
        entity_name: name,
        days: Vec::new(),
        v,
        errors,
        calendar_source,
        anonymous_source,
        inherited_anonymous,
    };
    body.days = WEEKDAY_KEYS
        .iter()
        .zip(body.v.days())
        .map(|(key, value)| Day {
            key,
            label: body.page.tk("entity_helpdesk.day", key),
            value: value.to_owned(),
            error: body.err(key),
        })
        .collect();
    Ok(render_status(status, &body))
}

async fn show(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let entity = EntityId(id);
    require_admin(&ctx, entity)?;
    let view = {
        let mut c = ctx.state.store.read().await?;
        settings_view(&mut c, &ctx.tree, entity).await?
    };
    render(&ctx, entity, SettingsForm::from_view(&view), ValidationErrors::new(), q.ok.as_deref()).await
}

async fn save(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<SettingsForm>) -> AppResult<Response> {
    let entity = EntityId(id);
    require_admin(&ctx, entity)?;
    let calendar = match f.calendar_mode.as_str() {
        "own" => Some(f.calendar()),
        _ => None,
    };
    let checked = match (calendar.transpose(), f.anonymous_choice()) {
        (Ok(cal), Ok(anon)) => Ok((cal, anon)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(a), Err(b)) => Err(super::tickets::merge(a, b)),
    };
    let result = match checked {
        Ok((cal, anon)) => put(&ctx, entity, cal.as_ref(), anon).await,
        Err(e) => Err(StoreError::Validation(e)),
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/entities/{id}/helpdesk"), Some("common.saved"))),
        Err(StoreError::Validation(e)) => render(&ctx, entity, f, e, None).await,
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SettingsForm {
        SettingsForm {
            calendar_mode: "own".into(),
            tz: "Europe/Paris".into(),
            mon: "08:00-12:00, 13:30-17:00".into(),
            fri: "08:00-12:00".into(),
            french_holidays: Some("1".into()),
            closures: "2026-12-24 2026-12-31\n2026-05-15\n".into(),
            anonymous: "yes".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_form_becomes_a_calendar_and_back() {
        let cal = form().calendar().unwrap();
        assert_eq!(cal.week[0].len(), 2);
        assert!(cal.week[1].is_empty());
        assert!(cal.french_holidays && !cal.alsace_moselle);
        assert_eq!(cal.closures.len(), 2);
        let view = SettingsView {
            own_calendar: Some(cal.clone()),
            own_anonymous: Some(true),
            calendar: cal,
            calendar_from: None,
            anonymous: true,
            anonymous_from: None,
        };
        let back = SettingsForm::from_view(&view);
        assert_eq!(back.mon, "08:00-12:00, 13:30-17:00");
        assert_eq!(back.closures, "2026-12-24 2026-12-31\n2026-05-15");
        assert_eq!((back.calendar_mode.as_str(), back.anonymous.as_str()), ("own", "yes"));
    }

    #[test]
    fn bad_calendars_name_their_field() {
        let f = SettingsForm { tue: "9h".into(), closures: "2026-12-31 2026-12-24".into(), ..form() };
        let e = f.calendar().unwrap_err();
        assert_eq!(form_field(&e.fields[0].field), "tue");
        let f = SettingsForm { tue: "17:00-09:00".into(), ..form() };
        let e = f.calendar().unwrap_err();
        assert_eq!((form_field(&e.fields[0].field), e.fields[0].code.as_str()), ("tue", "interval_order"));
        let f = SettingsForm { closures: "2026-12-31 2026-12-24".into(), ..form() };
        assert_eq!(form_field(&f.calendar().unwrap_err().fields[0].field), "closures");
        let f = SettingsForm { mon: String::new(), fri: String::new(), ..form() };
        assert_eq!(f.calendar().unwrap_err().fields[0].code, "no_open_hours");
        let f = SettingsForm { anonymous: "maybe".into(), ..form() };
        assert!(f.anonymous_choice().is_err());
    }
}
