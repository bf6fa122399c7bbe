//! Reply bodies the agents accept (see the protocol notes, §1, §3.4, §3.6, §5.2, §5.3, §7).
use std::io::Write;

use serde_json::json;

/// XML reply to an OCS / FusionInventory PROLOG: asks for an inventory, next contact in `prolog_freq` hours.
/// Compress it with [`zlib_compress`] before sending (the OCS agent only reads zlib bodies).
pub fn ocs_prolog_reply(prolog_freq: u32) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REPLY><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>{prolog_freq}</PROLOG_FREQ></REPLY>\n"
    )
    .into_bytes()
}

/// XML reply to an INVENTORY request (nothing to push back to the agent).
pub fn ocs_inventory_reply() -> Vec<u8> {
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>\n".to_vec()
}

/// zlib (RFC 1950) at the default level 6, i.e. header `78 9C`: FusionInventory only recognises that header.
pub fn zlib_compress(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    enc.write_all(bytes).expect("in-memory zlib write");
    enc.finish().expect("in-memory zlib finish")
}

/// JSON answer to a glpi-agent `contact` (or to its XML PROLOG sent with a `GLPI-Agent-ID` header).
///
/// Declares the inventory task supported (so the agent does not fall back to a legacy PROLOG) and disables
/// every other enabled task, as GLPI does.
pub fn glpi_contact_reply(expiration_hours: u32, enabled_tasks: &[String]) -> Vec<u8> {
    let mut body = json!({
        "status": "ok",
        "expiration": expiration_hours.max(1),
        "tasks": { "inventory": { "server": "glpi", "version": "10.0.0" } },
    });
    let disabled: Vec<&str> =
        enabled_tasks.iter().map(String::as_str).filter(|t| !t.eq_ignore_ascii_case("inventory")).collect();
    if !disabled.is_empty() {
        body["disabled"] = json!(disabled);
        body["message"] = json!(format!("{} task not supported", disabled.join(", ")));
    }
    body.to_string().into_bytes()
}

/// JSON answer to a glpi-agent `inventory`.
pub fn glpi_inventory_reply(expiration_hours: u32) -> Vec<u8> {
    json!({ "status": "ok", "expiration": expiration_hours.max(1) }).to_string().into_bytes()
}

/// JSON error answer for glpi-agent (send with a 4xx/5xx status).
pub fn glpi_error_reply(message: &str, expiration_hours: u32) -> Vec<u8> {
    json!({ "status": "error", "message": message, "expiration": expiration_hours.max(1) }).to_string().into_bytes()
}
