//! Inventory agent protocols, as a pure library: bytes in, values out.
//!
//! * [`decode_body`] sniffs and inflates a request body (zlib / gzip / plain) under a hard size limit.
//! * [`parse_ocs_xml`] reads the legacy XML protocol (OCS Inventory Unix agent 2.10, FusionInventory 2.6).
//! * [`parse_glpi_json`] reads the GLPI agent JSON protocol (`contact` and `inventory` actions).
//! * Both return one normalized [`AgentMessage`].
//! * [`reply`] builds the bodies the agents expect back.
//!
//! No HTTP, no SQL, no async.

mod decode;
mod error;
mod json;
mod map;
mod model;
pub mod reply;
mod xml;

pub use decode::decode_body;
pub use error::InventoryError;
pub use json::parse_glpi_json;
pub use model::{
    is_junk_serial, is_junk_uuid, AgentMessage, Cpu, Disk, Inventory, MemoryModule, Monitor, NetworkCard, Printer,
    Software, Volume,
};
pub use reply::{
    glpi_contact_reply, glpi_error_reply, glpi_inventory_reply, ocs_inventory_reply, ocs_prolog_reply, zlib_compress,
};
pub use xml::parse_ocs_xml;

/// Parse an already decoded body, choosing XML or JSON by its first significant byte.
pub fn parse_message(body: &[u8]) -> Result<AgentMessage, InventoryError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => parse_glpi_json(body),
        Some(b'<') => parse_ocs_xml(body),
        Some(_) => Err(InventoryError::Malformed("body is neither XML nor JSON".into())),
        None => Err(InventoryError::Malformed("empty body".into())),
    }
}

#[cfg(test)]
mod tests;
