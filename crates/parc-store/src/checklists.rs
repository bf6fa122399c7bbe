//! Checklists (migration `0013_checklists.sql`): templates of ordered steps per entity, runs on
//! assets that copy their steps (from a template or a built-in of `parc_core::checklists`),
//! ticks with their evidence (a value, a photo stored as an immutable document), and the gate:
//! [`handover_blockers`] lists the open mandatory steps of an asset's runs, and
//! [`check_handover`] refuses a change of status to `in_use` while there is one (called by
//! `assets::update_row`, so every path that changes a status is gated).
//!
//! Every start, tick, un-tick and abandon is an audit event on the asset (who, when, which
//! checklist and step, the value, the photo's SHA-256), in the transaction of the change.

use crate::assets::Asset;
use crate::{audit, documents, now, Actor, Result, StoreError};
use parc_core::assets::{AssetKind, AssetStatus};
use parc_core::audit::{creation, diff, AuditAction, FieldChange, ObjectType};
use parc_core::checklists::{check_tick, handover_refusal, Evidence, StepDef, TemplateDraft, Tick};
use parc_core::{AssetId, ChecklistRunId, ChecklistTemplateId, EntityId, UserId, ValidationErrors};
use serde::Serialize;
use sqlx::AnyConnection;

/// A step of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TemplateStep {
    /// 1, 2, 3... in order.
    pub position: i64,
    pub label: String,
    pub mandatory: bool,
    pub evidence: Evidence,
    pub hint: Option<String>,
}

/// A checklist template of an entity (usable on the assets of the entity and its sub-entities).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Template {
    pub id: ChecklistTemplateId,
    pub entity_id: EntityId,
    pub entity_name: String,
    pub name: String,
    /// The kind of asset it is meant for (any when empty).
    pub asset_kind: Option<AssetKind>,
    pub steps: Vec<TemplateStep>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: i64,
    entity_id: i64,
    entity_name: String,
    name: String,
    asset_kind: Option<String>,
    created_at: String,
    updated_at: String,
}

#[derive(sqlx::FromRow)]
struct TemplateStepRow {
    template_id: i64,
    position: i64,
    label: String,
    mandatory: i64,
    evidence: String,
    hint: Option<String>,
}

const TEMPLATE_SELECT: &str = "SELECT t.id, t.entity_id, e.name AS entity_name, t.name, t.asset_kind, t.created_at, \
     t.updated_at FROM checklist_templates t JOIN entities e ON e.id = t.entity_id";

async fn with_steps(c: &mut AnyConnection, rows: Vec<TemplateRow>) -> Result<Vec<Template>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let steps: Vec<TemplateStepRow> = sqlx::query_as(
            "SELECT template_id, position, label, mandatory, evidence, hint FROM checklist_template_steps \
             WHERE template_id = $1 ORDER BY position",
        )
        .bind(r.id)
        .fetch_all(&mut *c)
        .await?;
        out.push(Template {
            id: ChecklistTemplateId(r.id),
            entity_id: EntityId(r.entity_id),
            entity_name: r.entity_name,
            name: r.name,
            asset_kind: r.asset_kind.and_then(|k| k.parse().ok()),
            steps: steps
                .into_iter()
                .filter(|s| s.template_id == r.id)
                .map(|s| TemplateStep {
                    position: s.position,
                    label: s.label,
                    mandatory: s.mandatory != 0,
                    evidence: s.evidence.parse().unwrap_or(Evidence::Tick),
                    hint: s.hint,
                })
                .collect(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    Ok(out)
}

impl Template {
    /// The template as a draft, which a run copies.
    pub fn draft(&self) -> TemplateDraft {
        TemplateDraft {
            name: self.name.clone(),
            asset_kind: self.asset_kind,
            steps: self
                .steps
                .iter()
                .map(|s| StepDef {
                    label: s.label.clone(),
                    mandatory: s.mandatory,
                    evidence: s.evidence,
                    hint: s.hint.clone(),
                })
                .collect(),
        }
    }
}

/// The templates of these entities, by name.
pub async fn templates(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<Template>> {
    if entities.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = crate::sql::Sql::new(&format!("{TEMPLATE_SELECT} WHERE "));
    sql.in_ints("t.entity_id", entities.iter().copied());
    sql.push(" ORDER BY t.name, t.id");
    let rows: Vec<TemplateRow> = sql.query_as().fetch_all(&mut *c).await?;
    with_steps(c, rows).await
}

pub async fn template(c: &mut AnyConnection, id: ChecklistTemplateId) -> Result<Option<Template>> {
    let rows: Vec<TemplateRow> =
        sqlx::query_as(&format!("{TEMPLATE_SELECT} WHERE t.id = $1")).bind(id.0).fetch_all(&mut *c).await?;
    Ok(with_steps(c, rows).await?.pop())
}

fn name_taken(e: sqlx::Error) -> StoreError {
    match StoreError::from_write(e, "checklist") {
        StoreError::Conflict(m) if m.contains("already exists") => StoreError::Validation(ValidationErrors::single(
            "name",
            "name_taken",
            "this entity already has a checklist of this name",
        )),
        other => other,
    }
}

async fn insert_steps(c: &mut AnyConnection, id: i64, steps: &[StepDef]) -> Result<()> {
    for (i, s) in steps.iter().enumerate() {
        sqlx::query(
            "INSERT INTO checklist_template_steps (template_id, position, label, mandatory, evidence, hint) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(&s.label)
        .bind(i64::from(s.mandatory))
        .bind(s.evidence.as_str())
        .bind(&s.hint)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The audit fields of a template: name, kind and its steps as text.
fn audit_fields(d: &TemplateDraft) -> Vec<(&'static str, Option<String>)> {
    let steps = d
        .steps
        .iter()
        .map(|s| format!("{}{} [{}]", s.label, if s.mandatory { " *" } else { "" }, s.evidence.as_str()))
        .collect::<Vec<_>>()
        .join(" | ");
    vec![
        ("name", Some(d.name.clone())),
        ("asset_kind", d.asset_kind.map(|k| k.as_str().to_owned())),
        ("steps", Some(steps)),
    ]
}

/// Creates a template in `entity`.
pub async fn create_template(
    c: &mut AnyConnection,
    actor: &Actor,
    entity: EntityId,
    d: &TemplateDraft,
) -> Result<ChecklistTemplateId> {
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO checklist_templates (entity_id, name, asset_kind, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(entity.0)
    .bind(&d.name)
    .bind(d.asset_kind.map(|k| k.as_str()))
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(name_taken)?;
    insert_steps(c, id, &d.steps).await?;
    let changes = creation(&audit_fields(d));
    audit::record(c, actor, ObjectType::ChecklistTemplate, id, Some(entity), AuditAction::Create, &changes).await?;
    Ok(ChecklistTemplateId(id))
}

/// Replaces a template's name, kind and steps. Runs already started keep their copy.
pub async fn update_template(c: &mut AnyConnection, actor: &Actor, old: &Template, d: &TemplateDraft) -> Result<()> {
    let changes = diff(&audit_fields(&old.draft()), &audit_fields(d));
    if changes.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE checklist_templates SET name = $1, asset_kind = $2, updated_at = $3 WHERE id = $4")
        .bind(&d.name)
        .bind(d.asset_kind.map(|k| k.as_str()))
        .bind(now())
        .bind(old.id.0)
        .execute(&mut *c)
        .await
        .map_err(name_taken)?;
    sqlx::query("DELETE FROM checklist_template_steps WHERE template_id = $1").bind(old.id.0).execute(&mut *c).await?;
    insert_steps(c, old.id.0, &d.steps).await?;
    audit::record(
        c,
        actor,
        ObjectType::ChecklistTemplate,
        old.id.0,
        Some(old.entity_id),
        AuditAction::Update,
        &changes,
    )
    .await?;
    Ok(())
}

/// Deletes a template; the runs started from it keep their steps.
pub async fn delete_template(c: &mut AnyConnection, actor: &Actor, old: &Template) -> Result<()> {
    sqlx::query("DELETE FROM checklist_templates WHERE id = $1").bind(old.id.0).execute(&mut *c).await?;
    let changes = diff(&audit_fields(&old.draft()), &[]);
    audit::record(
        c,
        actor,
        ObjectType::ChecklistTemplate,
        old.id.0,
        Some(old.entity_id),
        AuditAction::Delete,
        &changes,
    )
    .await?;
    Ok(())
}

// ---- runs ----

/// A step of a run: a copy of the template's step, and who ticked it when, with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RunStep {
    pub id: i64,
    pub position: i64,
    pub label: String,
    pub mandatory: bool,
    pub evidence: Evidence,
    pub hint: Option<String>,
    pub done: bool,
    pub value: Option<String>,
    /// The photo given as evidence (a document: `/api/v1/checklists/photos/{id}`).
    pub photo_document_id: Option<i64>,
    pub photo_sha256: Option<String>,
    pub done_by_user_id: Option<UserId>,
    pub done_by_label: Option<String>,
    /// UTC RFC 3339.
    pub done_at: Option<String>,
}

/// A checklist run on an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Run {
    pub id: ChecklistRunId,
    pub asset_id: AssetId,
    /// The template it was copied from (gone when the template was deleted).
    pub template_id: Option<ChecklistTemplateId>,
    /// The built-in template it was copied from.
    pub builtin_key: Option<String>,
    pub name: String,
    pub started_by_user_id: Option<UserId>,
    pub started_by_label: String,
    pub started_at: String,
    /// Set while no mandatory step is open.
    pub completed_at: Option<String>,
    pub steps: Vec<RunStep>,
    /// Steps done, out of `steps.len()`.
    pub done_count: i64,
    /// Mandatory steps still open: the asset is not handed over while any run has one.
    pub open_mandatory: i64,
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    asset_id: i64,
    template_id: Option<i64>,
    builtin_key: Option<String>,
    name: String,
    started_by_user_id: Option<i64>,
    started_by_label: String,
    started_at: String,
    completed_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RunStepRow {
    id: i64,
    position: i64,
    label: String,
    mandatory: i64,
    evidence: String,
    hint: Option<String>,
    done: i64,
    value: Option<String>,
    photo_document_id: Option<i64>,
    photo_sha256: Option<String>,
    done_by_user_id: Option<i64>,
    done_by_label: Option<String>,
    done_at: Option<String>,
}

const RUN_SELECT: &str = "SELECT id, asset_id, template_id, builtin_key, name, started_by_user_id, started_by_label, \
     started_at, completed_at FROM checklist_runs";

async fn run_steps(c: &mut AnyConnection, run: i64) -> Result<Vec<RunStep>> {
    let rows: Vec<RunStepRow> = sqlx::query_as(
        "SELECT s.id, s.position, s.label, s.mandatory, s.evidence, s.hint, s.done, s.value, s.photo_document_id, \
         d.sha256 AS photo_sha256, s.done_by_user_id, s.done_by_label, s.done_at \
         FROM checklist_run_steps s LEFT JOIN documents d ON d.id = s.photo_document_id \
         WHERE s.run_id = $1 ORDER BY s.position",
    )
    .bind(run)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RunStep {
            id: r.id,
            position: r.position,
            label: r.label,
            mandatory: r.mandatory != 0,
            evidence: r.evidence.parse().unwrap_or(Evidence::Tick),
            hint: r.hint,
            done: r.done != 0,
            value: r.value,
            photo_document_id: r.photo_document_id,
            photo_sha256: r.photo_sha256,
            done_by_user_id: r.done_by_user_id.map(UserId),
            done_by_label: r.done_by_label,
            done_at: r.done_at,
        })
        .collect())
}

async fn build_run(c: &mut AnyConnection, r: RunRow) -> Result<Run> {
    let steps = run_steps(c, r.id).await?;
    let done_count = steps.iter().filter(|s| s.done).count() as i64;
    let open_mandatory = steps.iter().filter(|s| s.mandatory && !s.done).count() as i64;
    Ok(Run {
        id: ChecklistRunId(r.id),
        asset_id: AssetId(r.asset_id),
        template_id: r.template_id.map(ChecklistTemplateId),
        builtin_key: r.builtin_key,
        name: r.name,
        started_by_user_id: r.started_by_user_id.map(UserId),
        started_by_label: r.started_by_label,
        started_at: r.started_at,
        completed_at: r.completed_at,
        steps,
        done_count,
        open_mandatory,
    })
}

/// The runs of an asset, newest first.
pub async fn runs_of(c: &mut AnyConnection, asset: AssetId) -> Result<Vec<Run>> {
    let rows: Vec<RunRow> = sqlx::query_as(&format!("{RUN_SELECT} WHERE asset_id = $1 ORDER BY id DESC"))
        .bind(asset.0)
        .fetch_all(&mut *c)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(build_run(c, r).await?);
    }
    Ok(out)
}

pub async fn run(c: &mut AnyConnection, id: ChecklistRunId) -> Result<Option<Run>> {
    let row: Option<RunRow> =
        sqlx::query_as(&format!("{RUN_SELECT} WHERE id = $1")).bind(id.0).fetch_optional(&mut *c).await?;
    match row {
        Some(r) => Ok(Some(build_run(c, r).await?)),
        None => Ok(None),
    }
}

/// Where a run's steps come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunSource<'a> {
    Template(ChecklistTemplateId),
    Builtin(&'a str),
}

/// Starts a checklist on an asset from a copy of `d`'s steps.
pub async fn start_run(
    c: &mut AnyConnection,
    actor: &Actor,
    asset: &Asset,
    source: RunSource<'_>,
    d: &TemplateDraft,
) -> Result<ChecklistRunId> {
    let (template_id, builtin_key) = match source {
        RunSource::Template(t) => (Some(t.0), None),
        RunSource::Builtin(k) => (None, Some(k)),
    };
    let t = now();
    let complete = d.steps.iter().all(|s| !s.mandatory);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO checklist_runs (asset_id, template_id, builtin_key, name, started_by_user_id, started_by_label, \
         started_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(asset.id.0)
    .bind(template_id)
    .bind(builtin_key)
    .bind(&d.name)
    .bind(actor.user_id.map(|u| u.0))
    .bind(&actor.label)
    .bind(&t)
    .bind(complete.then(|| t.clone()))
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "checklist"))?;
    for (i, s) in d.steps.iter().enumerate() {
        sqlx::query(
            "INSERT INTO checklist_run_steps (run_id, position, label, mandatory, evidence, hint) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(&s.label)
        .bind(i64::from(s.mandatory))
        .bind(s.evidence.as_str())
        .bind(&s.hint)
        .execute(&mut *c)
        .await?;
    }
    let changes = [FieldChange { field: "checklist".into(), old: None, new: Some(format!("#{id} {}", d.name)) }];
    audit::record(c, actor, ObjectType::Asset, asset.id.0, Some(asset.entity_id), AuditAction::Checklist, &changes)
        .await?;
    Ok(ChecklistRunId(id))
}

/// A photo given as a step's evidence (its type already checked by the caller).
pub struct Photo<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub content: &'a [u8],
}

/// The evidence of a tick.
#[derive(Default)]
pub struct TickInput<'a> {
    pub value: Option<String>,
    pub photo: Option<Photo<'a>>,
}

fn find_step(run: &Run, step: i64) -> Result<&RunStep> {
    run.steps.iter().find(|s| s.id == step).ok_or(StoreError::NotFound)
}

async fn refresh_completion(c: &mut AnyConnection, run: ChecklistRunId) -> Result<()> {
    let (open,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM checklist_run_steps WHERE run_id = $1 AND mandatory = 1 AND done = 0")
            .bind(run.0)
            .fetch_one(&mut *c)
            .await?;
    if open == 0 {
        sqlx::query("UPDATE checklist_runs SET completed_at = $1 WHERE id = $2 AND completed_at IS NULL")
            .bind(now())
            .bind(run.0)
            .execute(&mut *c)
            .await?;
    } else {
        sqlx::query("UPDATE checklist_runs SET completed_at = NULL WHERE id = $1").bind(run.0).execute(&mut *c).await?;
    }
    Ok(())
}

fn step_field(run: &Run, s: &RunStep) -> FieldChange {
    FieldChange {
        field: "checklist_step".into(),
        old: None,
        new: Some(format!("#{} {} › {}. {}", run.id, run.name, s.position, s.label)),
    }
}

/// Ticks a step with its evidence (a value step needs a value, a photo step a photo; ticking a
/// done step again replaces its evidence). Audited on the asset with the value and the photo's
/// SHA-256.
pub async fn tick(
    c: &mut AnyConnection,
    actor: &Actor,
    asset: &Asset,
    run: &Run,
    step: i64,
    input: &TickInput<'_>,
) -> Result<RunStep> {
    let s = find_step(run, step)?;
    let def = StepDef { label: s.label.clone(), mandatory: s.mandatory, evidence: s.evidence, hint: s.hint.clone() };
    let value = check_tick(&def, &Tick { value: input.value.clone(), has_photo: input.photo.is_some() })?;
    let photo = match &input.photo {
        Some(p) => Some(documents::insert(c, actor, "checklist_photo", p.filename, p.content_type, p.content).await?),
        None => None,
    };
    let at = now();
    sqlx::query(
        "UPDATE checklist_run_steps SET done = 1, value = $1, photo_document_id = $2, done_by_user_id = $3, \
         done_by_label = $4, done_at = $5 WHERE id = $6",
    )
    .bind(&value)
    .bind(photo.as_ref().map(|d| d.id))
    .bind(actor.user_id.map(|u| u.0))
    .bind(&actor.label)
    .bind(&at)
    .bind(s.id)
    .execute(&mut *c)
    .await?;
    refresh_completion(c, run.id).await?;
    let mut changes = vec![
        step_field(run, s),
        FieldChange { field: "checklist_done".into(), old: Some(s.done.to_string()), new: Some("true".into()) },
    ];
    if value != s.value || value.is_some() {
        changes.push(FieldChange { field: "checklist_value".into(), old: s.value.clone(), new: value.clone() });
    }
    if let Some(p) = &photo {
        changes.push(FieldChange {
            field: "checklist_photo".into(),
            old: s.photo_sha256.clone(),
            new: Some(p.sha256.clone()),
        });
    }
    audit::record(c, actor, ObjectType::Asset, asset.id.0, Some(asset.entity_id), AuditAction::Checklist, &changes)
        .await?;
    let steps = run_steps(c, run.id.0).await?;
    steps.into_iter().find(|x| x.id == step).ok_or(StoreError::NotFound)
}

/// Opens a done step again (its value and photo are kept in the audit trail, not on the step).
pub async fn untick(c: &mut AnyConnection, actor: &Actor, asset: &Asset, run: &Run, step: i64) -> Result<RunStep> {
    let s = find_step(run, step)?;
    if s.done {
        sqlx::query(
            "UPDATE checklist_run_steps SET done = 0, value = NULL, photo_document_id = NULL, done_by_user_id = NULL, \
             done_by_label = NULL, done_at = NULL WHERE id = $1",
        )
        .bind(s.id)
        .execute(&mut *c)
        .await?;
        refresh_completion(c, run.id).await?;
        let changes = [
            step_field(run, s),
            FieldChange { field: "checklist_done".into(), old: Some("true".into()), new: Some("false".into()) },
        ];
        audit::record(c, actor, ObjectType::Asset, asset.id.0, Some(asset.entity_id), AuditAction::Checklist, &changes)
            .await?;
    }
    let steps = run_steps(c, run.id.0).await?;
    steps.into_iter().find(|x| x.id == step).ok_or(StoreError::NotFound)
}

/// Abandons a run (started by mistake, or the asset prepared another way): it stops gating the
/// hand-over. Audited on the asset with the steps that were open.
pub async fn delete_run(c: &mut AnyConnection, actor: &Actor, asset: &Asset, run: &Run) -> Result<()> {
    sqlx::query("DELETE FROM checklist_runs WHERE id = $1").bind(run.id.0).execute(&mut *c).await?;
    let open: Vec<&str> = run.steps.iter().filter(|s| !s.done).map(|s| s.label.as_str()).collect();
    let changes = [FieldChange {
        field: "checklist".into(),
        old: Some(format!("#{} {} ({}/{})", run.id, run.name, run.done_count, run.steps.len())),
        new: (!open.is_empty()).then(|| open.join(", ")).map(|o| format!("- {o}")),
    }];
    audit::record(c, actor, ObjectType::Asset, asset.id.0, Some(asset.entity_id), AuditAction::Checklist, &changes)
        .await?;
    Ok(())
}

/// An open mandatory step that keeps an asset from being handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OpenStep {
    pub run_id: ChecklistRunId,
    pub run_name: String,
    pub step_id: i64,
    pub position: i64,
    pub label: String,
}

/// The open mandatory steps of the asset's runs, by run and position: the asset may be handed
/// over (status `in_use`) when there is none.
pub async fn handover_blockers(c: &mut AnyConnection, asset: AssetId) -> Result<Vec<OpenStep>> {
    let rows: Vec<(i64, String, i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT r.id, r.name, s.id, s.position, s.label, s.mandatory, s.done FROM checklist_runs r \
         JOIN checklist_run_steps s ON s.run_id = r.id WHERE r.asset_id = $1 AND r.completed_at IS NULL \
         ORDER BY r.id, s.position",
    )
    .bind(asset.0)
    .fetch_all(c)
    .await?;
    let states: Vec<parc_core::checklists::StepState> = rows
        .iter()
        .map(|r| parc_core::checklists::StepState { label: r.4.as_str(), mandatory: r.5 != 0, done: r.6 != 0 })
        .collect();
    Ok(parc_core::checklists::handover_blockers(&states)
        .into_iter()
        .map(|i| &rows[i])
        .map(|r| OpenStep {
            run_id: ChecklistRunId(r.0),
            run_name: r.1.clone(),
            step_id: r.2,
            position: r.3,
            label: r.4.clone(),
        })
        .collect())
}

/// Refuses a change of status to `in_use` (a hand-over) while a mandatory step is open, with a
/// `Validation` error on `status` (code `checklist_open`) naming the steps.
pub async fn check_handover(c: &mut AnyConnection, asset: AssetId, from: AssetStatus, to: AssetStatus) -> Result<()> {
    if to != AssetStatus::InUse || from == AssetStatus::InUse {
        return Ok(());
    }
    let open = handover_blockers(c, asset).await?;
    let labels: Vec<String> = open.into_iter().map(|o| o.label).collect();
    match handover_refusal(&labels) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
