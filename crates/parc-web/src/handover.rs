//! Phone hand-over receipts (bordereaux de remise), shared by `pages::handover` and
//! `api/handover.rs`.
//!
//! [`record`] does the whole hand-over in the caller's transaction: the two signatures (PNG
//! drawn on screen) and the draft are checked, every asset is in the caller's scope (else 404)
//! and may be updated (else 403), the receipt is rendered with `parc_docs::form` in the
//! recipient's language (every field of the paper form, the SIM's PUK decrypted for it only —
//! the reveal is audited, the code never logged), then `parc_store::handover::seal` stores it
//! immutably, moves the assets and audits the SHA-256, and the receipt is e-mailed to the
//! recipient (when sending is on and they have an address). Any error drops the transaction:
//! nothing is written, no e-mail leaves.

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::i18n::{I18n, Lang};
use crate::intervention::{decode_signature_field, pdf_response};
use crate::pages::local_time;
use axum::response::Response;
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, ValidationErrors};
use parc_docs::form::{render_form, Block, FormDocument, SignatureBox};
use parc_mail::{Attachment, Email};
use parc_store::assets::{self, Asset};
use parc_store::handover::{self, Handover, HandoverDraft, Parties, ACCESSORIES};
use parc_store::{documents, entities, jobs, locations, mail_settings, Conn};

/// A hand-over as submitted: the draft and the two signatures (PNG, base64 or data URL).
#[derive(Debug, Default)]
pub struct Submission {
    pub draft: HandoverDraft,
    pub user_signature: String,
    pub technician_signature: String,
}

/// The file name of a receipt.
pub fn receipt_filename(id: i64) -> String {
    format!("bordereau-remise-{}.pdf", handover::reference(id))
}

fn draft_assets(d: &HandoverDraft) -> impl Iterator<Item = AssetId> {
    [
        d.delivered_asset_id,
        d.delivered_sim_id,
        d.delivered_line_id,
        d.returned_asset_id,
        d.returned_sim_id,
        d.returned_line_id,
    ]
    .into_iter()
    .flatten()
}

/// Records a hand-over in `c` (see the module documentation) and returns it.
pub async fn record(ctx: &Ctx, c: &mut Conn, s: &Submission) -> AppResult<Handover> {
    // Scope first: an asset out of sight answers 404 whatever else is wrong.
    let read = ctx.scope(Object::Asset, Action::Read);
    for id in draft_assets(&s.draft) {
        if let Some(a) = assets::get(c, id).await? {
            if !read.admits(a.entity_id, a.assigned_user_id == Some(ctx.user.id)) {
                return Err(AppError::NotFound);
            }
        }
    }
    let mut errors = ValidationErrors::new();
    let user_png = decode_signature_field(&s.user_signature, "user_signature", &mut errors);
    let tech_png = decode_signature_field(&s.technician_signature, "technician_signature", &mut errors);
    if let Some(id) = s.draft.recipient_user_id {
        // The recipient is someone the caller may see.
        let visible = ctx.entity_ids(Object::Asset, Action::Read);
        if parc_store::users::get(c, id).await?.is_some_and(|u| !visible.contains(&u.entity_id.0)) {
            errors.add("recipient_user_id", "not_found", "no such active user");
        }
    }
    let opened = handover::open(c, &ctx.actor(), &s.draft).await;
    let (id, parties, draft) = match opened {
        Ok(o) if errors.is_empty() => o,
        Ok(_) => return Err(AppError::Validation(errors)),
        Err(parc_store::StoreError::Validation(e)) => {
            errors.fields.extend(e.fields);
            return Err(AppError::Validation(errors));
        }
        Err(e) => return Err(e.into()),
    };
    for a in parties.assets() {
        ctx.require(Object::Asset, Action::Update, a.entity_id)?;
    }
    let (Some(user_png), Some(tech_png)) = (user_png, tech_png) else { return Err(AppError::Validation(errors)) };
    let settings = ctx.state.settings().await;
    let lang = parties.recipient.language.as_deref().and_then(Lang::parse);
    let lang = lang.or(Lang::parse(&settings.default_language)).unwrap_or_default();
    let puk = match &parties.delivered_sim {
        Some(sim) if sim.has_puk => {
            assets::reveal_puk(c, &ctx.actor(), ctx.state.store.cipher(), sim).await.map_err(AppError::from)?
        }
        _ => None,
    };
    let now = parc_store::now();
    let form = receipt(
        c,
        &ctx.state.i18n,
        lang,
        &settings.organisation_name,
        id,
        &now,
        &draft,
        &parties,
        puk.as_deref(),
        (user_png, tech_png),
    )
    .await?;
    let pdf = render_form(&form).map_err(|e| match e {
        parc_docs::DocError::TooLarge { .. } | parc_docs::DocError::InvalidImage(_) => {
            AppError::field("user_signature", "not_png", &e.to_string())
        }
        other => AppError::Internal(format!("hand-over receipt: {other}")),
    })?;
    let filename = receipt_filename(id);
    let h = handover::seal(c, &ctx.actor(), ctx.state.store.cipher(), id, &draft, &parties, (&filename, &pdf))
        .await
        .map_err(AppError::from)?;
    mail_receipt(ctx, c, lang, &parties, &h, &filename, pdf).await?;
    Ok(h)
}

/// Enqueues the receipt for the recipient, in the transaction that recorded it.
async fn mail_receipt(
    ctx: &Ctx,
    c: &mut Conn,
    lang: Lang,
    p: &Parties,
    h: &Handover,
    filename: &str,
    pdf: Vec<u8>,
) -> AppResult<()> {
    let Some(address) = p.recipient.email.clone().filter(|e| !e.trim().is_empty()) else { return Ok(()) };
    if !mail_settings::enabled(c).await? {
        return Ok(());
    }
    let i18n = &ctx.state.i18n;
    let reference = handover::reference(h.id);
    let device = p.delivered.as_ref().or(p.returned.as_ref()).map(|a| a.name.clone()).unwrap_or_default();
    let args = [("reference", reference.as_str()), ("name", p.recipient.display_name.as_str()), ("device", &device)];
    let email = Email {
        to: vec![address],
        subject: i18n.tf(lang, "handover.mail.subject", &args),
        text: i18n.tf(lang, "handover.mail.body", &args),
        attachments: vec![Attachment {
            filename: filename.to_owned(),
            content_type: "application/pdf".into(),
            bytes: pdf,
        }],
        ..Email::default()
    };
    jobs::enqueue_mail(c, &email).await?;
    Ok(())
}

/// The receipt of hand-over `id`: every field of the paper form, captions in `lang`.
#[expect(clippy::too_many_arguments, reason = "the receipt's parts, each of a different kind")]
async fn receipt(
    c: &mut Conn,
    i18n: &I18n,
    lang: Lang,
    organisation: &str,
    id: i64,
    at: &str,
    d: &HandoverDraft,
    p: &Parties,
    puk: Option<&str>,
    (user_png, tech_png): (Vec<u8>, Vec<u8>),
) -> AppResult<FormDocument> {
    let t = |k: &str| i18n.t(lang, &format!("handover.receipt.{k}")).to_owned();
    let department = match &d.department {
        Some(dep) => dep.clone(),
        None => entities::get(c, p.recipient.entity_id).await?.map(|e| e.name).unwrap_or_default(),
    };
    let site = match d.location_id {
        Some(l) => locations::get(c, l).await?.map(|l| l.path).unwrap_or_default(),
        None => String::new(),
    };
    let technician = p.technician.as_ref().map(|u| u.display_name.clone()).unwrap_or_default();
    let when = local_time(lang, at);
    let mut blocks = vec![Block::Rows(vec![
        (t("date"), when.clone()),
        (t("department"), department),
        (t("site"), site),
        (t("user"), p.recipient.display_name.clone()),
        (t("technician"), technician.clone()),
        (t("reason"), d.reason.clone().unwrap_or_default()),
    ])];
    let kind = |a: &Asset| i18n.t(lang, &format!("kind.{}", a.kind.as_str())).to_owned();
    let model =
        |a: &Asset| [a.manufacturer.as_deref(), a.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let device_rows = |a: &Asset, sim: Option<&Asset>, line: Option<&Asset>, puk: Option<&str>| {
        let line_number = line.and_then(|l| l.line_number.clone()).unwrap_or_default();
        vec![
            (t("kind"), kind(a)),
            (t("model"), model(a)),
            (t("tag"), a.asset_tag.clone().unwrap_or_else(|| a.name.clone())),
            (t("imei"), a.imei.clone().unwrap_or_default()),
            (t("line"), line_number),
            (t("sim"), sim.and_then(|s| s.iccid.clone()).unwrap_or_default()),
            (t("puk"), puk.unwrap_or_default().to_owned()),
        ]
    };
    let accessories = |list: &[String]| {
        ACCESSORIES
            .iter()
            .map(|a| (i18n.t(lang, &format!("handover.accessory.{a}")).to_owned(), list.iter().any(|l| l == a)))
            .collect::<Vec<_>>()
    };
    if let Some(a) = &p.returned {
        blocks.push(Block::Heading(t("returned")));
        blocks.push(Block::Rows(device_rows(a, p.returned_sim.as_ref(), p.returned_line.as_ref(), None)));
        blocks.push(Block::Checkboxes {
            caption: t("accessories_returned"),
            items: accessories(&d.accessories_returned),
        });
        blocks.push(Block::Checkboxes { caption: String::new(), items: vec![(t("reset"), d.returned_reset)] });
    }
    if let Some(a) = &p.delivered {
        blocks.push(Block::Heading(t("delivered")));
        blocks.push(Block::Rows(device_rows(a, p.delivered_sim.as_ref(), p.delivered_line.as_ref(), puk)));
        blocks.push(Block::Checkboxes {
            caption: t("accessories_delivered"),
            items: accessories(&d.accessories_delivered),
        });
    }
    blocks.push(Block::Paragraph(t("statement")));
    Ok(FormDocument {
        title: t("title"),
        subtitle: String::new(),
        organisation: organisation.to_owned(),
        reference_caption: t("reference"),
        reference: handover::reference(id),
        blocks,
        signatures: vec![
            SignatureBox {
                caption: t("user_signature"),
                signer: p.recipient.display_name.clone(),
                signed_on: when.clone(),
                png: Some(user_png),
            },
            SignatureBox {
                caption: t("technician_signature"),
                signer: technician,
                signed_on: when,
                png: Some(tech_png),
            },
        ],
        page_caption: t("page"),
    })
}

/// A hand-over the caller may see: its entity in the caller's asset scope (else 404).
pub async fn visible(ctx: &Ctx, c: &mut Conn, id: i64) -> AppResult<Handover> {
    let h = handover::get(c, id).await?.filter(|h| h.document_id.is_some()).ok_or(AppError::NotFound)?;
    if !ctx.scope(Object::Asset, Action::Read).full.contains(&h.entity_id) {
        return Err(AppError::NotFound);
    }
    Ok(h)
}

/// The stored receipt of a hand-over, as a PDF answer.
pub async fn receipt_response(ctx: &Ctx, id: i64) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let h = visible(ctx, &mut c, id).await?;
    let doc = h.document_id.ok_or(AppError::NotFound)?;
    let bytes = documents::document_content(&mut c, doc).await?.ok_or(AppError::NotFound)?;
    Ok(pdf_response(&receipt_filename(h.id), bytes))
}
