use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

use crate::map::{build_inventory, str_of};
use crate::{AgentMessage, InventoryError};

const MAX_DEPTH: usize = 32;

/// Parse a decoded legacy XML request (OCS Inventory 2.10 or FusionInventory 2.6 agent).
///
/// Understands `<REQUEST><QUERY>PROLOG</QUERY>…` and `<QUERY>INVENTORY</QUERY><CONTENT>…`. Unknown
/// elements are ignored, attributes too. Text encoding: a BOM (UTF-8, UTF-16), else the declared
/// `encoding` (Windows agents may send `ISO-8859-1`), else UTF-8; bytes that are not valid UTF-8 in a
/// UTF-8 document are read as Windows-1252 rather than refusing the inventory. Elements nest at most
/// 32 deep.
pub fn parse_ocs_xml(xml: &[u8]) -> Result<AgentMessage, InventoryError> {
    let text = crate::text::xml_text(xml)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let (root, tree) = xml_to_value(text)?;
    if !root.eq_ignore_ascii_case("REQUEST") {
        return Err(InventoryError::Malformed(format!("root element is <{root}>, expected <REQUEST>")));
    }
    let query = str_of(&tree, &["query"]).ok_or(InventoryError::MissingField("QUERY"))?;
    let device_id = str_of(&tree, &["deviceid"]).ok_or(InventoryError::MissingField("DEVICEID"))?;
    match query.to_ascii_uppercase().as_str() {
        "PROLOG" => Ok(AgentMessage::Prolog { device_id }),
        "INVENTORY" => {
            let content = match tree.get("content") {
                Some(Value::Object(_)) => &tree["content"],
                Some(Value::Array(a)) => a.first().ok_or(InventoryError::MissingField("CONTENT"))?,
                _ => return Err(InventoryError::MissingField("CONTENT")),
            };
            Ok(AgentMessage::Inventory(Box::new(build_inventory(device_id, content, None, false))))
        }
        _ => Err(InventoryError::UnknownQuery(query)),
    }
}

struct Frame {
    name: String,
    children: Map<String, Value>,
    text: String,
}

/// Generic XML → JSON-like tree: element names lower-cased, repeated siblings become arrays,
/// text-only elements become strings (trimmed), attributes dropped.
fn xml_to_value(text: &str) -> Result<(String, Value), InventoryError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    let bad = |e: &dyn std::fmt::Display, pos: u64| InventoryError::Malformed(format!("XML error at byte {pos}: {e}"));
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| bad(&e, pos))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(InventoryError::Malformed("more than one root element".into()));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(InventoryError::Malformed(format!("XML nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(Frame { name: tag_name(e.name().as_ref()), children: Map::new(), text: String::new() });
            }
            Event::Empty(e) => {
                let name = tag_name(e.name().as_ref());
                match stack.last_mut() {
                    Some(parent) => insert(&mut parent.children, name, Value::String(String::new())),
                    None => root = Some((name, Value::String(String::new()))),
                }
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or_else(|| InventoryError::Malformed("unexpected closing tag".into()))?;
                let value = if frame.children.is_empty() {
                    Value::String(frame.text.trim().to_owned())
                } else {
                    Value::Object(frame.children)
                };
                match stack.last_mut() {
                    Some(parent) => insert(&mut parent.children, frame.name, value),
                    None => root = Some((frame.name, value)),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| bad(&e, pos))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(InventoryError::Malformed("text outside the root element".into())),
                }
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| bad(&e, pos))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|e| bad(&e, pos))?.map(String::from)
                } else {
                    let name = r.decode().map_err(|e| bad(&e, pos))?;
                    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
                };
                let resolved =
                    resolved.ok_or_else(|| InventoryError::Malformed(format!("unknown entity at byte {pos}")))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(InventoryError::Malformed(format!("unexpected end of document inside <{}>", stack[0].name)));
    }
    root.ok_or_else(|| InventoryError::Malformed("no root element".into()))
}

fn tag_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).to_ascii_lowercase()
}

fn insert(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(Value::Array(list)) => list.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}
