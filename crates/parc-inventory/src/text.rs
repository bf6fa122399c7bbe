//! Bytes → text for agent bodies: declared XML encodings, and UTF-8 that is not quite UTF-8.
use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use crate::InventoryError;

/// UTF-8, except that each byte that is not part of a valid UTF-8 sequence is read as Windows-1252
/// (the superset of ISO-8859-1 that Windows agents really use), instead of failing the whole message.
///
/// A document that is really Latin-1 but claims (or defaults to) UTF-8 so comes out right, and a stray
/// invalid byte in an otherwise UTF-8 document costs one odd character, not the inventory.
pub(crate) fn utf8_lenient(bytes: &[u8]) -> Cow<'_, str> {
    let mut rest = match std::str::from_utf8(bytes) {
        Ok(s) => return Cow::Borrowed(s),
        Err(_) => bytes,
    };
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return Cow::Owned(out);
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                // `valid` is valid UTF-8 by construction of `valid_up_to`.
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                // An incomplete sequence at the very end (`error_len() == None`) is as bad as an invalid one here.
                let bad = e.error_len().unwrap_or(after.len()).max(1);
                let (bad, after) = after.split_at(bad.min(after.len()));
                out.push_str(&WINDOWS_1252.decode_without_bom_handling(bad).0);
                rest = after;
            }
        }
    }
}

/// The `encoding="…"` pseudo-attribute of a leading XML declaration, if any.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(256)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let decl = head[start..].strip_prefix(b"<?xml")?;
    let decl = &decl[..decl.windows(2).position(|w| w == b"?>")?];
    let decl = std::str::from_utf8(decl).ok()?;
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].trim())
}

/// Decode a whole XML document to UTF-8 text: BOM first (UTF-8, UTF-16), else the declared encoding
/// (`ISO-8859-1`, `windows-1252`, …, as the WHATWG Encoding Standard names them), else UTF-8.
/// UTF-8 is read with [`utf8_lenient`]; other encodings replace what they cannot map with U+FFFD.
pub(crate) fn xml_text(bytes: &[u8]) -> Result<Cow<'_, str>, InventoryError> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let body = &bytes[bom_len..];
        return Ok(if enc == UTF_8 { utf8_lenient(body) } else { enc.decode_without_bom_handling(body).0 });
    }
    let Some(label) = declared_encoding(bytes) else { return Ok(utf8_lenient(bytes)) };
    let enc = Encoding::for_label(label.as_bytes())
        .ok_or_else(|| InventoryError::Malformed(format!("unsupported XML encoding {label:?}")))?;
    // A declaration readable as ASCII cannot be UTF-16 text: the label is wrong, the bytes are 8-bit.
    if enc == UTF_8 || enc == UTF_16LE || enc == UTF_16BE {
        return Ok(utf8_lenient(bytes));
    }
    // Declared Latin-1 but valid UTF-8 throughout: the declaration is what is wrong (valid multi-byte
    // UTF-8 is all but impossible in real Latin-1 text, and pure ASCII reads the same either way).
    if enc.is_single_byte() {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return Ok(Cow::Borrowed(text));
        }
    }
    Ok(enc.decode_without_bom_handling(bytes).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_utf8() {
        assert!(matches!(utf8_lenient("déjà".as_bytes()), Cow::Borrowed("déjà")));
        assert_eq!(utf8_lenient(b"caf\xe9 cr\xe8me"), "café crème");
        assert_eq!(utf8_lenient("é\u{20ac}".as_bytes()), "é€");
        // Mixed: valid UTF-8 kept, the stray Latin-1 byte mapped, the truncated sequence at the end too.
        assert_eq!(utf8_lenient(b"\xc3\xa9t\xe9 \x80\xe2\x82"), "été €â‚");
        assert_eq!(utf8_lenient(b""), "");
        assert_eq!(utf8_lenient(b"\xff\xfe\xfd"), "ÿþý");
    }

    #[test]
    fn declarations() {
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"), Some("ISO-8859-1"));
        assert_eq!(declared_encoding(b"\n <?xml version='1.0' encoding = 'utf-8' ?>"), Some("utf-8"));
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?><a encoding=\"x\"/>"), None);
        assert_eq!(declared_encoding(b"<REQUEST/>"), None);
        assert_eq!(declared_encoding(b"<?xml encoding=\"unterminated"), None);
        assert_eq!(declared_encoding(b"<?xml encoding=\"x"), None);
    }

    #[test]
    fn documents() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><A>\xc9l\xe8ve \x80</A>";
        assert!(xml_text(latin1).unwrap().ends_with("<A>Élève €</A>"));
        let mislabelled = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><A>Élève €</A>";
        assert_eq!(xml_text(mislabelled.as_bytes()).unwrap(), mislabelled, "UTF-8 under a Latin-1 label");
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend("<A>é</A>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(xml_text(&utf16).unwrap(), "<A>é</A>");
        assert_eq!(xml_text(b"\xef\xbb\xbf<A>\xe9</A>").unwrap(), "<A>é</A>");
        let mislabelled = b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><A/>";
        assert_eq!(xml_text(mislabelled).unwrap().as_bytes(), mislabelled, "8-bit text, not UTF-16");
        let err = xml_text(b"<?xml version=\"1.0\" encoding=\"klingon\"?><A/>").unwrap_err();
        assert_eq!(err, InventoryError::Malformed("unsupported XML encoding \"klingon\"".into()));
    }
}
