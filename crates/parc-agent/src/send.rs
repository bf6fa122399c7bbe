//! Send an inventory the way glpi-agent does: a JSON `contact`, then the zlib-compressed `inventory`.
use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use url::Url;

use crate::{agent_string, VERSION};

/// What the server answered.
#[derive(Debug, Clone)]
pub struct SendReport {
    /// The URL both messages were posted to.
    pub url: String,
    /// The JSON reply to the `contact` (`{"status":"ok","expiration":..,"tasks":{..}}`).
    pub contact_reply: Value,
    /// The JSON reply to the `inventory` (`{"status":"ok","expiration":..}`).
    pub inventory_reply: Value,
    /// Hours before the next inventory, as the server asked (`expiration`), when it said.
    pub expiration_hours: Option<u64>,
    /// Size of the compressed inventory body, in bytes.
    pub inventory_bytes: usize,
}

/// The URL to post to: `server` itself, or `server` + `/front/inventory.php` when it has no path beyond `/`.
pub fn inventory_url(server: &str) -> Result<Url> {
    let mut url = Url::parse(server.trim()).with_context(|| format!("invalid server URL '{server}'"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("invalid server URL '{server}': only http:// and https:// are supported");
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path("/front/inventory.php");
    }
    Ok(url)
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    enc.write_all(bytes).expect("in-memory zlib write");
    enc.finish().expect("in-memory zlib finish")
}

/// A reply body as text: inflated when the server compressed it (by its Content-Type, or a zlib header).
fn reply_text(content_type: &str, body: &[u8]) -> String {
    let ct = content_type.to_ascii_lowercase();
    let mut out = Vec::new();
    let inflated = if ct.contains("x-compress-gzip") || body.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(body).read_to_end(&mut out).is_ok()
    } else if ct.contains("x-compress-zlib") || (body.first() == Some(&0x78) && !ct.contains("json")) {
        flate2::read::ZlibDecoder::new(body).read_to_end(&mut out).is_ok()
    } else {
        false
    };
    if inflated {
        String::from_utf8_lossy(&out).into_owned()
    } else {
        String::from_utf8_lossy(body).into_owned()
    }
}

/// First 200 characters of a body, on one line, for an error message.
fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// POST one message; the JSON reply when the server accepted it (2xx and `status: ok`), else a clear error.
async fn post(client: &reqwest::Client, url: &Url, what: &str, content_type: &str, body: Vec<u8>) -> Result<Value> {
    let resp = client
        .post(url.clone())
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .with_context(|| format!("sending the {what} to {url}"))?;
    let status = resp.status();
    let ct = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let bytes = resp.bytes().await.with_context(|| format!("reading the reply to the {what} from {url}"))?;
    let text = reply_text(&ct, &bytes);
    let reply: Option<Value> = serde_json::from_str(&text).ok().filter(Value::is_object);
    let message = reply.as_ref().and_then(|r| r.get("message")).and_then(Value::as_str).map(str::to_owned);
    let server_status = reply.as_ref().and_then(|r| r.get("status")).and_then(Value::as_str).map(str::to_owned);

    if !status.is_success() {
        let detail = message.unwrap_or_else(|| excerpt(&text));
        bail!("the server refused the {what}: HTTP {status} from {url}: {detail}");
    }
    let Some(reply) = reply else {
        bail!("the server's reply to the {what} is not a GLPI agent JSON answer (HTTP {status}): {}", excerpt(&text));
    };
    match server_status.as_deref() {
        Some("ok") => Ok(reply),
        Some("error") => {
            bail!("the server refused the {what}: {}", message.as_deref().unwrap_or("(no message)"))
        }
        Some(other) => bail!(
            "the server answered status '{other}' to the {what}, which parc-agent does not handle{}",
            message.map(|m| format!(": {m}")).unwrap_or_default()
        ),
        None => bail!("the server's reply to the {what} has no status: {}", excerpt(&text)),
    }
}

fn expiration(reply: &Value) -> Option<u64> {
    match reply.get("expiration")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Send `doc` (from [`crate::collect`]) to `server`: POST a `contact` (JSON), check the reply, then POST the
/// inventory zlib-compressed (`application/x-compress-zlib`). `tag` overrides the document's own tag in the
/// contact. Fails on a transport error, a non-2xx answer, or `{"status":"error","message":..}`, with the
/// server's message.
pub async fn send(server: &str, doc: &Value, tag: Option<&str>) -> Result<SendReport> {
    let url = inventory_url(server)?;
    let deviceid = doc
        .get("deviceid")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| anyhow!("the inventory has no deviceid"))?;
    let tag = tag.or_else(|| doc.get("tag").and_then(Value::as_str)).filter(|t| !t.trim().is_empty());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(agent_string())
        .build()
        .context("building the HTTP client")?;

    let mut contact = json!({
        "action": "contact",
        "deviceid": deviceid,
        "name": "parc-agent",
        "version": VERSION,
        "installed-tasks": ["inventory"],
        "enabled-tasks": ["inventory"],
    });
    if let Some(t) = tag {
        contact["tag"] = json!(t);
    }
    let contact_reply = post(
        &client,
        &url,
        "contact",
        "application/json",
        serde_json::to_vec(&contact).context("encoding the contact")?,
    )
    .await?;
    let refused = contact_reply
        .get("disabled")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|t| t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("inventory"))));
    if refused {
        bail!("the server disabled the inventory task for this agent");
    }

    let mut inventory = doc.clone();
    if let (Some(t), Some(obj)) = (tag, inventory.as_object_mut()) {
        obj.insert("tag".into(), json!(t));
    }
    let body = zlib(&serde_json::to_vec(&inventory).context("encoding the inventory")?);
    let inventory_bytes = body.len();
    let inventory_reply = post(&client, &url, "inventory", "application/x-compress-zlib", body).await?;

    Ok(SendReport {
        url: url.to_string(),
        expiration_hours: expiration(&inventory_reply).or_else(|| expiration(&contact_reply)),
        contact_reply,
        inventory_reply,
        inventory_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(inventory_url("http://parc.example").unwrap().as_str(), "http://parc.example/front/inventory.php");
        assert_eq!(
            inventory_url("https://parc.example/").unwrap().as_str(),
            "https://parc.example/front/inventory.php"
        );
        assert_eq!(
            inventory_url("https://parc.example:8443/glpi/front/inventory.php").unwrap().path(),
            "/glpi/front/inventory.php"
        );
        assert_eq!(inventory_url("http://h/custom").unwrap().path(), "/custom");
        assert!(inventory_url("parc.example").is_err());
        assert!(inventory_url("ftp://parc.example").is_err());
    }

    #[test]
    fn compressed_replies() {
        let json = br#"{"status":"ok"}"#;
        assert_eq!(reply_text("application/x-compress-zlib", &zlib(json)), r#"{"status":"ok"}"#);
        assert_eq!(reply_text("application/json", json), r#"{"status":"ok"}"#);
        assert_eq!(reply_text("", &zlib(json)), r#"{"status":"ok"}"#, "sniffed zlib header");
        assert_eq!(excerpt(&"x ".repeat(300)).chars().count(), 201);
    }
}
