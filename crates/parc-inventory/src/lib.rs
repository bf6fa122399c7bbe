//! Inventory agent protocols, as a pure library: bytes in, values out.
//!
//! * [`decode_body`] sniffs and inflates a request body (zlib / gzip / plain) under a hard size limit.
//! * [`parse_ocs_xml`] reads the legacy XML protocol (OCS Inventory Unix agent 2.10, FusionInventory 2.6),
//!   in UTF-8, UTF-16 (BOM) or a declared 8-bit encoding such as `ISO-8859-1`; stray non-UTF-8 bytes are
//!   read as Windows-1252 rather than refusing the message.
//! * [`parse_glpi_json`] reads the GLPI agent JSON protocol (`contact` and `inventory` actions).
//! * [`parse_message`] picks one of the two; both return one normalized [`AgentMessage`].
//! * [`reply`] builds the bodies the agents expect back.
//!
//! Normalization: MACs lower-case with colons, IPs canonical, install dates `YYYY-MM-DD` when understood,
//! network cards merged per interface with their IPv4 [`NetworkCard::mask`], CIDR
//! [`NetworkCard::subnet`] and 802.1Q [`NetworkCard::vlan`]; [`Inventory::primary_ip`],
//! [`Inventory::physical_macs`], [`Inventory::usable_serial`] and [`Inventory::usable_uuid`] give what
//! matching and display need.
//!
//! Hostile input is an [`InventoryError`], never a panic: bodies past the limit (checked while
//! inflating), nesting deeper than 32 XML elements or 128 JSON levels, unknown entities (no DTD is ever
//! read). Real agent outputs live in `tests/samples/`.
//!
//! No HTTP, no SQL, no async.

mod decode;
mod error;
mod json;
mod map;
mod model;
mod net;
pub mod reply;
mod text;
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

/// Parse an already decoded body, choosing XML or JSON by its first significant byte
/// (a UTF-16 byte order mark means XML).
pub fn parse_message(body: &[u8]) -> Result<AgentMessage, InventoryError> {
    if body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF") {
        return parse_ocs_xml(body);
    }
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
