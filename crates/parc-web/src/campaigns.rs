//! Campaigns (issue 6): who may see and work on one, and the steps shared by the pages and
//! `api/campaigns.rs` — building the expected list from an asset filter or an imported list
//! (an MDM console export), scanning, and closing with the principal's signed report.
//! Rights are the asset rights of the campaign's entity: read to follow it, update to scan,
//! tick and close, create to start one.

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::query::parse_asset_query;
use parc_core::campaigns::{normalize_code, CampaignKind, ItemCodes, ListColumns, ScanCode, MAX_ITEMS};
use parc_core::permissions::{Action, Object, Scope};
use parc_core::validate::ValidationErrors;
use parc_core::{CampaignId, EntityId, LocationId};
use parc_store::campaigns::{self, Campaign, NewCampaign, NewItem};
use parc_store::Conn as AnyConnection;
use parc_store::{assets, Tx};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The entities whose campaigns the caller sees.
pub fn readable(ctx: &Ctx) -> Vec<i64> {
    ctx.entity_ids(Object::Asset, Action::Read)
}

/// A campaign the caller may see (404 otherwise), checked for `action` (403 when visible but
/// not allowed).
pub async fn visible(ctx: &Ctx, c: &mut AnyConnection, id: CampaignId, action: Action) -> AppResult<Campaign> {
    let campaign = campaigns::get(c, id).await?.ok_or(AppError::NotFound)?;
    if !ctx.can(Object::Asset, Action::Read, campaign.entity_id) {
        return Err(AppError::NotFound);
    }
    if action != Action::Read && !ctx.can(Object::Asset, action, campaign.entity_id) {
        return Err(AppError::Forbidden("only a technician of this entity can work on its campaigns".into()));
    }
    Ok(campaign)
}

/// The campaign's entity and its sub-entities: what may be scanned into it.
pub fn tree(ctx: &Ctx, campaign: &Campaign) -> Vec<EntityId> {
    ctx.tree.subtree(campaign.entity_id)
}

/// Where the expected list comes from.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ListSource {
    /// The assets an asset-list filter selects (the query string of `/assets`, e.g.
    /// `kind=tablet&location_id=4`), within the campaign's entity and its sub-entities.
    Filter(String),
    /// Rows of an imported list (an MDM console export): each names a serial, IMEI, name or
    /// asset tag. Rows matching an asset of the entity tree are linked to it.
    Rows(Vec<ListRow>),
}

/// One row of an imported list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRow {
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub name: Option<String>,
    pub asset_tag: Option<String>,
}

/// A new campaign.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: String,
    pub kind: CampaignKind,
    pub entity_id: i64,
    /// The scope shown on the report (e.g. the school's site).
    pub location_id: Option<i64>,
    pub source: ListSource,
}

/// Creates a campaign: checks rights, builds the expected list, writes it in `tx`.
pub async fn create(ctx: &Ctx, tx: &mut Tx, input: &CampaignInput) -> AppResult<CampaignId> {
    let entity = EntityId(input.entity_id);
    if !ctx.can(Object::Asset, Action::Read, entity) {
        return Err(AppError::field("entity_id", "unknown", "unknown entity"));
    }
    ctx.require(Object::Asset, Action::Create, entity)?;
    let tree = ctx.tree.subtree(entity);
    let location = match input.location_id {
        Some(l) => {
            let loc = parc_store::locations::get(tx, LocationId(l))
                .await?
                .filter(|loc| tree.contains(&loc.entity_id) || ctx.tree.is_within(entity, loc.entity_id));
            Some(loc.ok_or_else(|| AppError::field("location_id", "unknown", "unknown location"))?.id)
        }
        None => None,
    };
    let items = match &input.source {
        ListSource::Filter(q) => from_filter(ctx, tx, &tree, q).await?,
        ListSource::Rows(rows) => from_rows(tx, &tree, rows).await?,
    };
    let n = NewCampaign { entity_id: entity, location_id: location, kind: input.kind, name: input.name.clone() };
    Ok(campaigns::create(tx, &ctx.actor(), &n, &items).await?)
}

async fn from_filter(ctx: &Ctx, c: &mut AnyConnection, tree: &[EntityId], q: &str) -> AppResult<Vec<NewItem>> {
    let query = parse_asset_query(Some(q.trim_start_matches('?'))).map_err(|mut e| {
        for f in &mut e.fields {
            f.field = "source".into();
        }
        AppError::Validation(e)
    })?;
    let readable = ctx.scope(Object::Asset, Action::Read);
    let scope = Scope {
        full: tree.iter().copied().filter(|e| readable.full.contains(e)).collect(),
        own_only: Default::default(),
    };
    let found =
        assets::list_all(c, ctx.state.store.backend(), &scope, ctx.user.id, &query, MAX_ITEMS as i64 + 1).await?;
    if found.len() > MAX_ITEMS {
        return Err(AppError::field("source", "too_many", &format!("the filter selects more than {MAX_ITEMS} assets")));
    }
    Ok(found
        .into_iter()
        .map(|a| NewItem {
            asset_id: Some(a.id),
            codes: ItemCodes {
                asset_tag: a.asset_tag.clone(),
                serial: a.serial.clone(),
                imei: a.imei.clone(),
                name: Some(a.name.clone()),
                token: Some(a.public_token.clone()),
            },
            label: a.name,
        })
        .collect())
}

async fn from_rows(c: &mut AnyConnection, tree: &[EntityId], rows: &[ListRow]) -> AppResult<Vec<NewItem>> {
    if rows.len() > MAX_ITEMS {
        return Err(AppError::field("source", "too_many", &format!("at most {MAX_ITEMS} rows")));
    }
    // The registry's keys for the entity tree, to link each row to its asset.
    let ids: Vec<i64> = tree.iter().map(|e| e.0).collect();
    let known = campaigns::asset_codes(c, &ids).await?;
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (_, _, codes)) in known.iter().enumerate() {
        for k in codes.keys() {
            by_key.entry(k).or_insert(i);
        }
    }
    let mut errors = ValidationErrors::default();
    let mut items = Vec::with_capacity(rows.len());
    for (n, r) in rows.iter().enumerate() {
        let cols = ListColumns { serial: Some(0), imei: Some(1), name: Some(2), asset_tag: Some(3) };
        let cells = [&r.serial, &r.imei, &r.name, &r.asset_tag].map(|v| v.clone().unwrap_or_default());
        let Some(codes) = cols.codes(&cells) else {
            errors.add(&format!("source.rows[{n}]"), "no_code", "the row has no serial, IMEI, name or tag");
            continue;
        };
        let asset = codes.keys().iter().find_map(|k| by_key.get(k)).map(|&i| &known[i]);
        let label = match asset {
            Some((_, name, _)) => name.clone(),
            None => codes
                .name
                .clone()
                .or(codes.serial.clone())
                .or(codes.imei.clone())
                .or(codes.asset_tag.clone())
                .unwrap_or_default(),
        };
        let mut codes = codes;
        if let Some((_, _, known_codes)) = asset {
            // The asset's own tag and label token find it too.
            codes.token = known_codes.token.clone();
            codes.asset_tag = codes.asset_tag.or(known_codes.asset_tag.clone());
        }
        items.push(NewItem { asset_id: asset.map(|a| a.0), label, codes });
    }
    errors.into_result().map_err(AppError::Validation)?;
    Ok(items)
}

/// Reads a scanned code, with the field-shaped error of a bad one.
pub fn read_code(raw: &str) -> AppResult<ScanCode> {
    normalize_code(raw).map_err(|e| {
        let message = match e.code() {
            "too_long" => "the code is too long",
            _ => "scan or type a code",
        };
        AppError::field("code", e.code(), message)
    })
}

/// The rows of an uploaded list (CSV or XLSX) with recognised columns.
pub fn rows_of_table(table: &parc_docs::table::Table) -> AppResult<Vec<ListRow>> {
    let cols = ListColumns::detect(&table.headers);
    if !cols.usable() {
        return Err(AppError::field(
            "file",
            "no_columns",
            "no serial, IMEI, name or asset tag column was recognised in the first row",
        ));
    }
    let cell = |row: &[String], i: Option<usize>| {
        i.and_then(|i| row.get(i)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    };
    Ok(table
        .rows
        .iter()
        .map(|r| r.cells.as_slice())
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
        .map(|r| ListRow {
            serial: cell(r, cols.serial),
            imei: cell(r, cols.imei),
            name: cell(r, cols.name),
            asset_tag: cell(r, cols.asset_tag),
        })
        .collect())
}

/// The asset a code names (tag, serial, IMEI or label URL) among those the caller can read.
pub async fn asset_by_code(ctx: &Ctx, c: &mut AnyConnection, raw: &str, field: &str) -> AppResult<assets::Asset> {
    let code = read_code(raw).map_err(|_| AppError::field(field, "required", "scan or type the machine's code"))?;
    let found = campaigns::find_asset(c, &code).await?;
    found
        .filter(|a| ctx.can(Object::Asset, Action::Read, a.entity_id))
        .ok_or_else(|| AppError::field(field, "unknown", "no asset has this code"))
}

/// How the closer closes a campaign (from the page or the API).
pub struct Closing<'a> {
    pub signer_name: &'a str,
    /// The principal's signature: base64 PNG, with or without its data-URL prefix.
    pub signature: &'a str,
    pub found_status: Option<parc_core::assets::AssetStatus>,
    pub keep_statuses: bool,
}

/// Closes `campaign` in `tx`: checks the signature, renders the signed report in the closer's
/// language from the campaign as it stands, then lets the store set the statuses, store the
/// report and freeze the campaign.
pub async fn close(ctx: &Ctx, tx: &mut Tx, campaign: &Campaign, closing: &Closing<'_>) -> AppResult<usize> {
    // The signer is checked with the signature, before the report is rendered.
    let mut errors = campaigns::check_signer(closing.signer_name);
    let signer = closing.signer_name.trim();
    let png = match crate::intervention::decode_signature(closing.signature) {
        Ok(png) => match parc_docs::intervention::check_signature_png(&png) {
            Ok(_) => Some(png),
            Err(e) => {
                errors.fields.extend(crate::intervention::signature_errors("signature", &e).fields);
                None
            }
        },
        Err(code) => {
            errors.add("signature", code, "the signature must be a PNG image drawn on the screen");
            None
        }
    };
    let (Some(png), true) = (png, errors.is_empty()) else { return Err(AppError::Validation(errors)) };
    campaigns::ensure_open(campaign)?;
    let items = campaigns::items(tx, campaign.id).await?;
    let scans = campaigns::scans_after(tx, campaign.id, 0, i64::MAX).await?;
    let settings = ctx.state.settings().await;
    let pdf = render_report(ctx, &settings.organisation_name, campaign, &items, &scans, signer, &png)?;
    let store_closing = campaigns::Closing {
        signer_name: signer.to_owned(),
        found_status: closing.found_status,
        keep_statuses: closing.keep_statuses,
        report_pdf: pdf,
        report_filename: report_filename(campaign),
    };
    Ok(campaigns::close(tx, &ctx.actor(), ctx.state.store.cipher(), campaign, &store_closing).await?)
}

fn report_filename(campaign: &Campaign) -> String {
    format!("campagne-{}-rapport.pdf", campaign.id)
}

/// The reconciliation report: counts, the missing, found and unexpected lists, every scan
/// with who and when, and the principal's signature.
fn render_report(
    ctx: &Ctx,
    organisation: &str,
    c: &Campaign,
    items: &[campaigns::Item],
    scans: &[campaigns::Scan],
    signer: &str,
    png: &[u8],
) -> AppResult<Vec<u8>> {
    use parc_docs::form::{render_form, Block, FormDocument, FormTable, SignatureBox};
    let t = |k: &str| ctx.tr(&format!("campaigns.{k}")).to_owned();
    let when = |s: &str| crate::pages::local_time(ctx.lang, s);
    let now = parc_store::now();
    let step = c.kind.step().map(|s| t(&format!("step.{}", s.as_str())));
    let mut blocks = vec![Block::Rows(vec![
        (t("report_kind"), t(&format!("kind.{}", c.kind.as_str()))),
        (t("entity"), c.entity_name.clone()),
        (t("report_scope"), c.location_name.clone().unwrap_or_else(|| "-".into())),
        (t("report_created"), when(&c.created_at)),
        (t("report_closed"), when(&now)),
        (t("report_technician"), ctx.user.display_name.clone()),
    ])];
    let tally = c.tally;
    let mut counts = vec![
        (t("report_expected"), tally.expected.to_string()),
        (t("found"), tally.found.to_string()),
        (t("missing"), tally.missing.to_string()),
        (t("unexpected"), tally.unexpected.to_string()),
        (t("duplicates"), tally.duplicates.to_string()),
    ];
    if let Some(s) = &step {
        counts.push((s.clone(), tally.step_done.to_string()));
    }
    blocks.push(Block::Heading(t("report_counts")));
    blocks.push(Block::Rows(counts));
    let codes = |i: &campaigns::Item| {
        [&i.asset_tag, &i.serial, &i.imei].into_iter().flatten().cloned().collect::<Vec<_>>().join(" · ")
    };
    let table = |headers: Vec<String>, widths: Vec<f32>, rows: Vec<Vec<String>>| {
        if rows.is_empty() {
            Block::Paragraph(t("report_none"))
        } else {
            Block::Table(FormTable { headers, widths, rows })
        }
    };
    let missing: Vec<Vec<String>> =
        items.iter().filter(|i| i.expected && i.found_at.is_none()).map(|i| vec![i.label.clone(), codes(i)]).collect();
    blocks.push(Block::Heading(format!("{} ({})", t("missing"), missing.len())));
    blocks.push(table(vec![t("report_item"), t("report_code")], vec![2.0, 3.0], missing));
    let mut found_headers = vec![t("report_item"), t("report_code"), t("report_who"), t("report_when")];
    if let Some(s) = &step {
        found_headers.push(s.clone());
    }
    if c.kind.pairs() {
        found_headers.push(t("report_new"));
    }
    let found: Vec<Vec<String>> = items
        .iter()
        .filter(|i| i.expected && i.found_at.is_some())
        .map(|i| {
            let mut row = vec![
                i.label.clone(),
                codes(i),
                i.found_by.clone().unwrap_or_default(),
                i.found_at.as_deref().map(when).unwrap_or_default(),
            ];
            if step.is_some() {
                row.push(if i.step_done_at.is_some() { "X".into() } else { String::new() });
            }
            if c.kind.pairs() {
                row.push(i.replacement_label.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let widths = if found_headers.len() == 4 { vec![2.0, 2.5, 1.5, 1.5] } else { vec![] };
    blocks.push(Block::Heading(format!("{} ({})", t("found"), found.len())));
    blocks.push(table(found_headers, widths, found));
    let unexpected: Vec<Vec<String>> = items
        .iter()
        .filter(|i| !i.expected)
        .map(|i| {
            vec![
                i.label.clone(),
                i.found_code.clone().unwrap_or_default(),
                i.found_by.clone().unwrap_or_default(),
                i.found_at.as_deref().map(when).unwrap_or_default(),
            ]
        })
        .collect();
    blocks.push(Block::Heading(format!("{} ({})", t("unexpected"), unexpected.len())));
    blocks.push(table(
        vec![t("report_item"), t("report_code"), t("report_who"), t("report_when")],
        vec![2.0, 2.5, 1.5, 1.5],
        unexpected,
    ));
    let scan_rows: Vec<Vec<String>> = scans
        .iter()
        .map(|s| {
            vec![
                when(&s.at),
                s.user_name.clone().unwrap_or_default(),
                s.code.clone(),
                s.label.clone(),
                t(&format!("outcome.{}", s.outcome.as_str())),
            ]
        })
        .collect();
    blocks.push(Block::Heading(format!("{} ({})", t("report_scans"), scan_rows.len())));
    blocks.push(table(
        vec![t("report_when"), t("report_who"), t("report_code"), t("report_item"), t("report_outcome")],
        vec![1.5, 1.5, 2.0, 2.0, 1.2],
        scan_rows,
    ));
    let form = FormDocument {
        title: t("report_title"),
        subtitle: c.name.clone(),
        organisation: organisation.to_owned(),
        reference_caption: "N°".into(),
        reference: format!("C-{:06}", c.id.0),
        blocks,
        signatures: vec![SignatureBox {
            caption: t("report_signer"),
            signer: signer.to_owned(),
            signed_on: when(&now),
            png: Some(png.to_vec()),
        }],
        page_caption: t("report_page"),
    };
    render_form(&form).map_err(|e| match e {
        parc_docs::DocError::TooLarge { .. } | parc_docs::DocError::InvalidImage(_) => {
            AppError::Validation(crate::intervention::signature_errors("signature", &e))
        }
        other => AppError::Internal(format!("report: {other}")),
    })
}

/// The stored signed report of a closed campaign (404 while it is open).
pub async fn report_response(c: &mut AnyConnection, campaign: &Campaign) -> AppResult<axum::response::Response> {
    let id = campaign.document_id.ok_or(AppError::NotFound)?;
    let bytes = parc_store::documents::document_content(c, id).await?.ok_or(AppError::NotFound)?;
    Ok(crate::intervention::pdf_response(&report_filename(campaign), bytes))
}
