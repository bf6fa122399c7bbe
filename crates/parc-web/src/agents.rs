//! The inventory agents' endpoints: the unmodified OCS Inventory and FusionInventory agents
//! (XML PROLOG then INVENTORY, zlib or plain) and the GLPI agent (JSON `contact` then
//! `inventory`, plain or zlib). The same handler answers every URL those agents are pointed at.
//!
//! Agents do not sign in (they never could with OCS or GLPI either): what they send only feeds
//! the inventory, through the matching and entity rules, and every refusal is logged.

use crate::auth::ClientAddr;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parc_inventory::{reply, AgentMessage, InventoryError};
use parc_store::inventory::{self, ImportSource};
use parc_store::StoreError;

/// Largest inventory accepted, once decompressed (the compressed body is bounded by the same).
pub const MAX_INVENTORY_BYTES: usize = 20 * 1024 * 1024;

/// The URLs agents are configured with (OCS server, FusionInventory for GLPI, GLPI 10 native).
pub const AGENT_PATHS: [&str; 7] = [
    "/ocsinventory",
    "/ocsinventory/",
    "/plugins/fusioninventory/",
    "/plugins/fusioninventory",
    "/front/inventory.php",
    "/plugins/glpiinventory/",
    "/marketplace/glpiinventory/",
];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for p in AGENT_PATHS {
        r = r.route(p, post(receive).get(hello));
    }
    r.layer(axum::extract::DefaultBodyLimit::max(MAX_INVENTORY_BYTES))
}

/// A browser opening the agent URL learns what it is for.
async fn hello() -> &'static str {
    "Parc inventory endpoint: point OCS Inventory, FusionInventory or GLPI agents here (POST).\n"
}

/// How the agent spoke, so the answer comes back the same way.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    XmlZlib,
    XmlPlain,
    Json,
}

fn xml_response(status: StatusCode, wire: Wire, body: Vec<u8>) -> Response {
    match wire {
        Wire::XmlPlain => (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response(),
        _ => (status, [(header::CONTENT_TYPE, "application/x-compress")], reply::zlib_compress(&body)).into_response(),
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// An XML error answer: a REPLY the agents log as an error, not a parse failure.
fn refuse(wire: Wire, status: StatusCode, message: &str, freq: u32) -> Response {
    match wire {
        Wire::Json => json_response(status, reply::glpi_error_reply(message, freq)),
        _ => {
            let text = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REPLY><RESPONSE>ERROR</RESPONSE><ERROR>{text}</ERROR></REPLY>\n"
            );
            xml_response(status, wire, body.into_bytes())
        }
    }
}

fn status_of(e: &InventoryError) -> StatusCode {
    match e {
        InventoryError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

async fn log_rejection(state: &AppState, src: &ImportSource, device: Option<&str>, name: Option<&str>, why: &str) {
    let logged = async {
        let mut tx = state.store.write().await?;
        inventory::record_rejection(&mut tx, src, device, name, why).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = logged {
        tracing::warn!(error = %e, "could not log a refused inventory");
    }
    tracing::info!(source = src.source_ip.as_deref().unwrap_or("-"), reason = why, "inventory refused");
}

async fn receive(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let src = ImportSource {
        source_ip: Some(addr).filter(|a| a != "local"),
        agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    let config = match state.inventory_config().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "inventory configuration unavailable");
            let freq = inventory::InventorySettings::default().prolog_freq_hours;
            let wire = if body.first() == Some(&b'{') { Wire::Json } else { Wire::XmlZlib };
            return refuse(wire, StatusCode::SERVICE_UNAVAILABLE, "the server is not ready, retry later", freq);
        }
    };
    let freq = config.settings.prolog_freq_hours;
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    let compressed = matches!(body.first(), Some(0x78 | 0x1f));
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let guess = if ctype.contains("json") || first == Some(b'{') {
        Wire::Json
    } else if compressed || ctype.contains("compress") {
        Wire::XmlZlib
    } else {
        Wire::XmlPlain
    };
    let decoded = match parc_inventory::decode_body(&body, MAX_INVENTORY_BYTES) {
        Ok(d) => d,
        Err(e) => {
            let msg = e.to_string();
            log_rejection(&state, &src, None, None, &msg).await;
            return refuse(guess, status_of(&e), &msg, freq);
        }
    };
    let wire = match (decoded.iter().copied().find(|b| !b.is_ascii_whitespace()), compressed) {
        (Some(b'{'), _) => Wire::Json,
        (_, true) => Wire::XmlZlib,
        _ => Wire::XmlPlain,
    };
    let message = match parc_inventory::parse_message(&decoded) {
        Ok(m) => m,
        Err(e) => {
            let msg = e.to_string();
            log_rejection(&state, &src, None, None, &msg).await;
            return refuse(wire, status_of(&e), &msg, freq);
        }
    };
    match message {
        AgentMessage::Prolog { device_id } => {
            touch(&state, &device_id).await;
            if headers.contains_key("glpi-agent-id") {
                json_response(StatusCode::OK, reply::glpi_contact_reply(freq, &["inventory".to_owned()]))
            } else {
                xml_response(StatusCode::OK, wire, reply::ocs_prolog_reply(freq))
            }
        }
        AgentMessage::Contact { device_id, enabled_tasks, .. } => {
            touch(&state, &device_id).await;
            json_response(StatusCode::OK, reply::glpi_contact_reply(freq, &enabled_tasks))
        }
        AgentMessage::Inventory(inv) => {
            let src = ImportSource {
                agent: src.agent.clone().or_else(|| inv.agent_version.clone()),
                source_ip: src.source_ip.clone(),
            };
            let started = std::time::Instant::now();
            match store(&state, &config, &inv, &src).await {
                Ok(out) => {
                    tracing::info!(
                        store_ms = started.elapsed().as_secs_f64() * 1e3,
                        asset = out.asset_id.0,
                        created = out.created,
                        rule = out.matched_rule.map(|r| r.as_str()).unwrap_or("new"),
                        changes = out.changes,
                        "inventory stored"
                    );
                    match wire {
                        Wire::Json => json_response(StatusCode::OK, reply::glpi_inventory_reply(freq)),
                        _ => xml_response(StatusCode::OK, wire, reply::ocs_inventory_reply()),
                    }
                }
                Err(e) => {
                    let (status, msg) = match &e {
                        StoreError::Validation(v) => (StatusCode::BAD_REQUEST, v.to_string()),
                        other => {
                            tracing::error!(error = %other, "inventory not stored");
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "the inventory could not be stored, retry later".to_owned(),
                            )
                        }
                    };
                    log_rejection(&state, &src, Some(&inv.device_id), inv.name.as_deref(), &msg).await;
                    refuse(wire, status, &msg, freq)
                }
            }
        }
    }
}

async fn store(
    state: &AppState,
    config: &inventory::ImportConfig,
    inv: &parc_inventory::Inventory,
    src: &ImportSource,
) -> Result<inventory::ImportOutcome, StoreError> {
    let mut tx = state.store.write().await?;
    let out = inventory::import(&mut tx, state.store.cipher(), config, inv, src).await?;
    tx.commit().await?;
    Ok(out)
}

async fn touch(state: &AppState, device_id: &str) {
    let done = async {
        let mut tx = state.store.write().await?;
        inventory::touch_contact(&mut tx, device_id).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "could not note an agent's contact");
    }
}
