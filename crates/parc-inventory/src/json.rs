use serde::Deserialize;
use serde_json::Value;

use crate::map::{build_inventory, str_of};
use crate::{AgentMessage, InventoryError};

/// Top-level GLPI agent message. Every field is optional at this level; values whose type varies between
/// agent versions are kept as `Value` and read leniently.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    action: Option<String>,
    deviceid: Option<String>,
    content: Option<Value>,
    tag: Value,
    partial: Value,
    name: Option<String>,
    version: Value,
    #[serde(rename = "enabled-tasks")]
    enabled_tasks: Value,
}

/// Parse a decoded GLPI agent JSON message (`action` = `contact` or `inventory`, the default).
///
/// A leading BOM is skipped; bytes that are not valid UTF-8 are read as Windows-1252 (as in XML). Nesting
/// deeper than serde_json's limit (128) is refused as [`InventoryError::Malformed`].
pub fn parse_glpi_json(json: &[u8]) -> Result<AgentMessage, InventoryError> {
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    let text = crate::text::utf8_lenient(json);
    let env: Envelope = serde_json::from_str(&text).map_err(|e| InventoryError::Malformed(format!("JSON: {e}")))?;
    let action = env.action.as_deref().map(str::trim).unwrap_or("inventory").to_ascii_lowercase();
    let device_id = env
        .deviceid
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .ok_or(InventoryError::MissingField("deviceid"))?;
    let wrap = serde_json::json!({ "tag": env.tag, "partial": env.partial, "version": env.version });
    let tag = str_of(&wrap, &["tag"]);
    match action.as_str() {
        "contact" => {
            let enabled_tasks = match &env.enabled_tasks {
                Value::Array(a) => a.iter().filter_map(|v| v.as_str()).map(str::to_owned).collect(),
                Value::String(s) => s.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
                _ => Vec::new(),
            };
            Ok(AgentMessage::Contact {
                device_id,
                tag,
                agent_name: env.name.filter(|n| !n.trim().is_empty()),
                agent_version: str_of(&wrap, &["version"]),
                enabled_tasks,
            })
        }
        "inventory" => {
            let content = match env.content {
                Some(c @ Value::Object(_)) => c,
                _ => return Err(InventoryError::MissingField("content")),
            };
            let partial = matches!(&env.partial, Value::Bool(true))
                || matches!(&env.partial, Value::String(s) if s == "1" || s.eq_ignore_ascii_case("true"))
                || env.partial.as_u64().is_some_and(|n| n != 0);
            Ok(AgentMessage::Inventory(Box::new(build_inventory(device_id, &content, tag, partial))))
        }
        _ => Err(InventoryError::UnknownQuery(action)),
    }
}
