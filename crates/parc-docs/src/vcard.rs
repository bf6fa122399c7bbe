//! The contacts helper of a phone change: read a vCard export (`.vcf`), drop exact duplicates,
//! write one merged file or batches small enough for a SIM card.
//!
//! [`parse`] reads vCard 2.1 (Android and old Nokia exports: bare `TEL;CELL` parameters,
//! `ENCODING=QUOTED-PRINTABLE` with `=` soft line breaks, `CHARSET=`), 3.0 (iPhone) and 4.0
//! (`TYPE="cell,voice"`, `data:` photos): folded lines, escaped text, groups (`item1.TEL`),
//! UTF-8 or Windows-1252 files. It keeps the display name (`FN`, else built from `N`), the
//! structured name, phones with their types, e-mail addresses, the organisation and the photo.
//! Anything it cannot read with confidence is refused with the line number: a file that is not
//! a vCard, a `BEGIN:VCARD` without its `END:VCARD`, broken quoted-printable or base64, binary
//! data, a file over [`MAX_VCARD_BYTES`] or with more than [`MAX_CONTACTS`] contacts.
//!
//! [`dedup`] removes exact duplicates: the same contact after normalisation (spaces, phone
//! punctuation, e-mail case, property order), keeping the first. [`write`] produces vCard 3.0
//! (CRLF, folded at 75 octets, escaped), the version every phone imports; [`batches`] cuts the
//! list into files of at most [`SIM_BATCH`] contacts (what a SIM card holds) and
//! [`batches_zip`] puts them in one ZIP archive.

use std::collections::HashSet;
use std::io::{Cursor, Write as _};

use base64::Engine;

use crate::{cp1252, DocError};

/// Largest accepted file (20 MiB: thousands of contacts with photos).
pub const MAX_VCARD_BYTES: usize = 20 * 1024 * 1024;
/// Most contacts read from one file.
pub const MAX_CONTACTS: usize = 20_000;
/// Contacts per batch: what a SIM card holds.
pub const SIM_BATCH: usize = 250;

/// One phone number and its types (lower case: `cell`, `home`, `work`, `voice`…).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    pub number: String,
    pub types: Vec<String>,
}

/// A contact photo: its media type (e.g. `image/jpeg`) and bytes, or a URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Photo {
    Inline { media_type: String, data: Vec<u8> },
    Uri(String),
}

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Contact {
    /// Display name (`FN`; built from `N`, the organisation, an address or a number if absent).
    pub formatted_name: String,
    /// Structured name: family, given, additional, prefixes, suffixes (empty when absent).
    pub name: Vec<String>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub organization: Option<String>,
    pub photo: Option<Photo>,
}

/// What [`parse`] and [`dedup`] found, for the summary shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Contacts read from the file.
    pub parsed: usize,
    /// Exact duplicates removed.
    pub duplicates: usize,
    /// Contacts kept.
    pub unique: usize,
    /// Batch files of at most [`SIM_BATCH`] contacts.
    pub batches: usize,
}

impl Summary {
    pub fn of(parsed: usize, unique: usize) -> Summary {
        Summary { parsed, duplicates: parsed - unique, unique, batches: unique.div_ceil(SIM_BATCH) }
    }
}

fn malformed(line: usize, what: impl std::fmt::Display) -> DocError {
    DocError::Malformed(format!("line {line}: {what}"))
}

/// Reads every contact of a `.vcf` file; see the module documentation.
pub fn parse(bytes: &[u8]) -> Result<Vec<Contact>, DocError> {
    if bytes.len() > MAX_VCARD_BYTES {
        return Err(DocError::TooLarge { limit: MAX_VCARD_BYTES });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(at) = bytes.iter().position(|&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c))) {
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(malformed(line, "binary data: this is not a vCard (.vcf) text file"));
    }
    // Physical lines as bytes: values are decoded per property (their charset may differ).
    let physical: Vec<&[u8]> = bytes.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    let mut contacts = Vec::new();
    let mut current: Option<(usize, Builder)> = None;
    let mut i = 0;
    while i < physical.len() {
        let start = i;
        let mut line = physical[i].to_vec();
        i += 1;
        // Folding (3.0/4.0 and most 2.1): a line starting with a space or a tab continues.
        // Quoted-printable soft breaks (2.1): a QP line ending with '=' continues unchanged.
        loop {
            let qp = is_quoted_printable(&line);
            if qp && line.ends_with(b"=") && i < physical.len() {
                line.pop();
                let next = physical[i];
                line.extend_from_slice(next.strip_prefix(b" ").or(next.strip_prefix(b"\t")).unwrap_or(next));
                i += 1;
            } else if i < physical.len() && matches!(physical[i].first(), Some(b' ' | b'\t')) {
                line.extend_from_slice(&physical[i][1..]);
                i += 1;
            } else {
                break;
            }
        }
        let number = start + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let prop = Property::parse(&line).ok_or_else(|| malformed(number, "not a vCard property (NAME:value)"))?;
        match (prop.name.as_str(), &mut current) {
            ("BEGIN", None) if prop.raw.eq_ignore_ascii_case(b"VCARD") => current = Some((number, Builder::default())),
            ("BEGIN", Some((open, _))) if prop.raw.eq_ignore_ascii_case(b"VCARD") => {
                return Err(malformed(number, format!("the contact started on line {open} has no END:VCARD")));
            }
            ("END", Some(_)) if prop.raw.eq_ignore_ascii_case(b"VCARD") => {
                if let Some((_, builder)) = current.take() {
                    contacts.push(builder.finish());
                    if contacts.len() > MAX_CONTACTS {
                        return Err(DocError::TooManyRows { limit: MAX_CONTACTS });
                    }
                }
            }
            (_, None) => {
                return Err(malformed(number, "text outside BEGIN:VCARD … END:VCARD: this is not a vCard file"))
            }
            (_, Some((_, builder))) => builder.add(&prop).map_err(|e| malformed(number, e))?,
        }
    }
    if let Some((open, _)) = current {
        return Err(malformed(open, "the contact has no END:VCARD (the file is truncated)"));
    }
    if contacts.is_empty() {
        return Err(DocError::Malformed("no contact (BEGIN:VCARD) in the file".into()));
    }
    Ok(contacts)
}

fn is_quoted_printable(line: &[u8]) -> bool {
    let head = match line.iter().position(|&b| b == b':') {
        Some(at) => &line[..at],
        None => return false,
    };
    let head = String::from_utf8_lossy(head).to_ascii_uppercase();
    head.split(';').skip(1).any(|p| p == "ENCODING=QUOTED-PRINTABLE" || p == "QUOTED-PRINTABLE")
}

/// One content line: `[group.]NAME[;PARAM[=value]]*:value`.
struct Property {
    name: String,
    /// Parameters, names upper case; bare 2.1 parameters (`CELL`) become `TYPE=cell`.
    params: Vec<(String, String)>,
    raw: Vec<u8>,
}

impl Property {
    fn parse(line: &[u8]) -> Option<Property> {
        // The first ':' outside double quotes ends the name and parameters.
        let mut quoted = false;
        let colon = line.iter().position(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            b == b':' && !quoted
        })?;
        let head = std::str::from_utf8(&line[..colon]).ok()?.trim();
        let mut parts = split_params(head).into_iter();
        let name = parts.next()?;
        let name = name.rsplit('.').next()?.to_ascii_uppercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return None;
        }
        let mut params = Vec::new();
        for p in parts {
            match p.split_once('=') {
                Some((k, v)) => {
                    let k = k.trim().to_ascii_uppercase();
                    for v in split_list(v) {
                        params.push((k.clone(), v));
                    }
                }
                None => {
                    let p = p.trim().to_ascii_uppercase();
                    let key = match p.as_str() {
                        "QUOTED-PRINTABLE" | "BASE64" | "8BIT" | "7BIT" => "ENCODING",
                        _ => "TYPE",
                    };
                    params.push((key.into(), p));
                }
            }
        }
        Some(Property { name, params, raw: line[colon + 1..].to_vec() })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn types(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, v) in &self.params {
            if k == "TYPE" {
                let v = v.to_ascii_lowercase();
                if !v.is_empty() && v != "pref" && v != "internet" && !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// The value as text: quoted-printable decoded, then read in its charset.
    fn text(&self) -> Result<String, String> {
        let encoding = self.param("ENCODING").map(str::to_ascii_uppercase);
        let bytes = match encoding.as_deref() {
            Some("QUOTED-PRINTABLE") => quoted_printable(&self.raw)?,
            _ => self.raw.clone(),
        };
        let charset = self.param("CHARSET").map(str::to_ascii_uppercase);
        let latin = matches!(charset.as_deref(), Some("ISO-8859-1" | "ISO-8859-15" | "WINDOWS-1252" | "CP1252"));
        match String::from_utf8(bytes) {
            Ok(s) if !latin => Ok(s),
            Ok(s) => Ok(s.bytes().map(decode_latin).collect()),
            Err(e) => Ok(e.into_bytes().into_iter().map(decode_latin).collect()),
        }
    }
}

fn decode_latin(b: u8) -> char {
    cp1252::decode_byte(b).unwrap_or('\u{FFFD}')
}

/// Splits parameters on ';' outside double quotes.
fn split_params(head: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for ch in head.chars() {
        match ch {
            '"' => quoted = !quoted,
            ';' if !quoted => out.push(String::new()),
            _ => out.last_mut().expect("never empty").push(ch),
        }
    }
    out
}

/// A parameter value list: `cell,voice` (quotes already removed).
fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

fn quoted_printable(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'=' {
            let hex = raw.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => out.push(b),
                None if i + 1 == raw.len() => {}
                None => return Err("invalid quoted-printable sequence".into()),
            }
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Splits on unescaped `sep` and unescapes `\n`, `\,`, `\;`, `\\`.
fn unescape_split(value: &str, sep: Option<char>) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        let last = out.last_mut().expect("never empty");
        match ch {
            '\\' => match chars.next() {
                Some('n' | 'N') => last.push('\n'),
                Some(other) => last.push(other),
                None => {}
            },
            c if Some(c) == sep => out.push(String::new()),
            c => last.push(c),
        }
    }
    out
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct Builder {
    contact: Contact,
}

impl Builder {
    fn add(&mut self, p: &Property) -> Result<(), String> {
        let c = &mut self.contact;
        match p.name.as_str() {
            "FN" => c.formatted_name = squeeze(&unescape_split(&p.text()?, None).concat()),
            "N" => c.name = unescape_split(&p.text()?, Some(';')).iter().map(|s| squeeze(s)).collect(),
            "TEL" => {
                let text = p.text()?;
                let number = squeeze(text.trim().strip_prefix("tel:").unwrap_or(text.trim()));
                if !number.is_empty() {
                    c.phones.push(Phone { number, types: p.types() });
                }
            }
            "EMAIL" => {
                let text = p.text()?;
                let email = text.trim().strip_prefix("mailto:").unwrap_or(text.trim()).to_owned();
                if !email.is_empty() {
                    c.emails.push(email);
                }
            }
            "ORG" => {
                let parts: Vec<String> = unescape_split(&p.text()?, Some(';'))
                    .iter()
                    .map(|s| squeeze(s))
                    .filter(|s| !s.is_empty())
                    .collect();
                c.organization = (!parts.is_empty()).then(|| parts.join(", "));
            }
            "PHOTO" => c.photo = photo(p)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Contact {
        let c = &mut self.contact;
        while c.name.last().is_some_and(String::is_empty) {
            c.name.pop();
        }
        if c.formatted_name.is_empty() {
            let n = |i: usize| c.name.get(i).map(String::as_str).unwrap_or("");
            let built = squeeze(&[n(3), n(1), n(2), n(0), n(4)].join(" "));
            c.formatted_name = [Some(built), c.organization.clone(), c.emails.first().cloned()]
                .into_iter()
                .flatten()
                .chain(c.phones.first().map(|p| p.number.clone()))
                .find(|s| !s.is_empty())
                .unwrap_or_default();
        }
        self.contact
    }
}

fn photo(p: &Property) -> Result<Option<Photo>, String> {
    let raw = String::from_utf8_lossy(&p.raw).into_owned();
    let raw: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if raw.is_empty() {
        return Ok(None);
    }
    let decode = |b64: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.trim_end_matches('=')))
            .map_err(|_| "invalid base64 in PHOTO".to_owned())
    };
    let encoding = p.param("ENCODING").map(str::to_ascii_uppercase);
    if matches!(encoding.as_deref(), Some("B" | "BASE64")) {
        let kind = p.types().into_iter().next().unwrap_or_else(|| "jpeg".into());
        let media_type = if kind.contains('/') { kind } else { format!("image/{kind}") };
        return Ok(Some(Photo::Inline { media_type, data: decode(&raw)? }));
    }
    if let Some(rest) = raw.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',').ok_or("invalid data: URI in PHOTO")?;
        let media_type = meta.split(';').next().unwrap_or("image/jpeg").to_ascii_lowercase();
        if !meta.to_ascii_lowercase().ends_with(";base64") {
            return Err("invalid data: URI in PHOTO (base64 expected)".into());
        }
        return Ok(Some(Photo::Inline { media_type, data: decode(data)? }));
    }
    Ok(Some(Photo::Uri(raw)))
}

/// The normal form two contacts are compared in.
fn key(c: &Contact) -> Contact {
    let digits = |n: &str| {
        let plus = n.trim_start().starts_with('+');
        let d: String = n.chars().filter(char::is_ascii_digit).collect();
        if plus {
            format!("+{d}")
        } else {
            d
        }
    };
    let mut phones: Vec<Phone> = c
        .phones
        .iter()
        .map(|p| {
            let mut types = p.types.clone();
            types.sort();
            Phone { number: digits(&p.number), types }
        })
        .collect();
    phones.sort_by(|a, b| (&a.number, &a.types).cmp(&(&b.number, &b.types)));
    let mut emails: Vec<String> = c.emails.iter().map(|e| e.trim().to_lowercase()).collect();
    emails.sort();
    Contact {
        formatted_name: squeeze(&c.formatted_name).to_lowercase(),
        name: c.name.iter().map(|n| n.to_lowercase()).collect(),
        phones,
        emails,
        organization: c.organization.as_ref().map(|o| o.to_lowercase()),
        photo: c.photo.clone(),
    }
}

/// Removes exact duplicates (the same contact once normalised), keeping the first of each.
pub fn dedup(contacts: Vec<Contact>) -> Vec<Contact> {
    let mut seen = HashSet::new();
    contacts.into_iter().filter(|c| seen.insert(key(c))).collect()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line folded at 75 octets (never inside a UTF-8 character).
fn line(out: &mut String, text: &str) {
    let mut width = 0;
    for ch in text.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out.push_str("\r\n");
}

/// The contacts as one vCard 3.0 file; photos kept when `photos` (a SIM card has no room for
/// them).
pub fn write(contacts: &[Contact], photos: bool) -> String {
    let mut out = String::new();
    for c in contacts {
        line(&mut out, "BEGIN:VCARD");
        line(&mut out, "VERSION:3.0");
        line(&mut out, &format!("FN:{}", escape(&c.formatted_name)));
        let mut n: Vec<String> = c.name.iter().map(|p| escape(p)).collect();
        n.resize(5, String::new());
        line(&mut out, &format!("N:{}", n.join(";")));
        if let Some(org) = &c.organization {
            line(&mut out, &format!("ORG:{}", escape(org)));
        }
        for p in &c.phones {
            let types: Vec<String> = p.types.iter().map(|t| t.to_ascii_uppercase()).collect();
            let params = if types.is_empty() { String::new() } else { format!(";TYPE={}", types.join(",")) };
            line(&mut out, &format!("TEL{params}:{}", escape(&p.number)));
        }
        for e in &c.emails {
            line(&mut out, &format!("EMAIL;TYPE=INTERNET:{}", escape(e)));
        }
        match (&c.photo, photos) {
            (Some(Photo::Inline { media_type, data }), true) => {
                let kind = media_type.strip_prefix("image/").unwrap_or(media_type).to_ascii_uppercase();
                let b64 = base64::engine::general_purpose::STANDARD.encode(data);
                line(&mut out, &format!("PHOTO;ENCODING=b;TYPE={kind}:{b64}"));
            }
            (Some(Photo::Uri(uri)), true) => line(&mut out, &format!("PHOTO;VALUE=uri:{uri}")),
            _ => {}
        }
        line(&mut out, "END:VCARD");
    }
    out
}

/// The contacts in files of at most [`SIM_BATCH`], without photos.
pub fn batches(contacts: &[Contact]) -> Vec<String> {
    contacts.chunks(SIM_BATCH).map(|chunk| write(chunk, false)).collect()
}

/// The name of batch `index` (0-based) of `count`: `contacts-1-of-3.vcf`.
pub fn batch_name(index: usize, count: usize) -> String {
    format!("contacts-{}-of-{count}.vcf", index + 1)
}

/// The batches of [`batches`] in one ZIP archive, named by [`batch_name`].
pub fn batches_zip(contacts: &[Contact]) -> Result<Vec<u8>, DocError> {
    let files = batches(contacts);
    let count = files.len();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let err = |e: &dyn std::fmt::Display| DocError::Malformed(format!("cannot write the archive: {e}"));
    for (i, file) in files.iter().enumerate() {
        zip.start_file(batch_name(i, count), options).map_err(|e| err(&e))?;
        zip.write_all(file.as_bytes()).map_err(|e| err(&e))?;
    }
    Ok(zip.finish().map_err(|e| err(&e))?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/samples/vcard/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn by_name<'a>(contacts: &'a [Contact], name: &str) -> &'a Contact {
        contacts.iter().find(|c| c.formatted_name == name).unwrap_or_else(|| panic!("{name} missing: {contacts:#?}"))
    }

    #[test]
    fn android_2_1_with_quoted_printable_and_charset() {
        let contacts = parse(&sample("android-2.1.vcf")).unwrap();
        assert_eq!(contacts.len(), 5);
        let h = by_name(&contacts, "Hélène Dupré");
        assert_eq!(h.name, ["Dupré", "Hélène"]);
        assert_eq!(h.phones, [Phone { number: "+33 6 12 34 56 78".into(), types: vec!["cell".into()] }]);
        assert_eq!(h.emails, ["helene.dupre@example.fr"]);
        // A QP value over two physical lines (soft break), and a Latin-1 name.
        let long = by_name(&contacts, "Service Enfance et Jeunesse – Accueil périscolaire");
        assert_eq!(long.phones[0].types, ["work"]);
        let latin = by_name(&contacts, "Françoise Lefèvre");
        assert_eq!(latin.phones.len(), 2);
        // No FN: built from N.
        assert!(contacts.iter().any(|c| c.formatted_name == "Jean-Loïc Nœl"), "{contacts:#?}");
        let chinese = by_name(&contacts, "王小明");
        assert_eq!(chinese.phones[0].number, "0612000000");
    }

    #[test]
    fn iphone_3_0_with_groups_escapes_and_photo() {
        let contacts = parse(&sample("iphone-3.0.vcf")).unwrap();
        assert_eq!(contacts.len(), 3);
        let m = by_name(&contacts, "Mairie de Saint-Étienne");
        assert_eq!(m.organization.as_deref(), Some("Mairie, Accueil"));
        assert_eq!(m.phones.len(), 2);
        assert_eq!(m.phones[1].types, ["work", "voice"]);
        let p = by_name(&contacts, "Zoé Øster");
        match &p.photo {
            Some(Photo::Inline { media_type, data }) => {
                assert_eq!(media_type, "image/jpeg");
                assert!(data.starts_with(b"\xFF\xD8\xFF"), "a JPEG");
            }
            other => panic!("{other:?}"),
        }
        let folded = by_name(&contacts, "Maximilien de la Tour d'Auvergne, conseiller municipal délégué");
        assert_eq!(folded.emails, ["maximilien.delatourdauvergne@ville-exemple.fr"]);
    }

    #[test]
    fn vcard_4_0() {
        let contacts = parse(&sample("contacts-4.0.vcf")).unwrap();
        assert_eq!(contacts.len(), 2);
        let a = by_name(&contacts, "Anaïs Dubois");
        assert_eq!(
            a.phones[0],
            Phone { number: "+33-6-98-76-54-32".into(), types: vec!["cell".into(), "voice".into()] }
        );
        assert_eq!(a.emails, ["anais@example.org"]);
        assert!(matches!(&a.photo, Some(Photo::Inline { media_type, .. }) if media_type == "image/png"));
        let b = by_name(&contacts, "Bureau; accueil");
        assert_eq!(b.phones[0].number, "+33-1-45-00-00-00");
    }

    #[test]
    fn duplicates_are_removed_and_the_rest_kept() {
        let contacts = parse(&sample("duplicates.vcf")).unwrap();
        assert_eq!(contacts.len(), 6);
        let unique = dedup(contacts.clone());
        // Twice Paul (spacing and phone punctuation differ), twice the same e-mail case;
        // a Paul with another number is another contact.
        assert_eq!(unique.len(), 3, "{unique:#?}");
        assert_eq!(
            Summary::of(contacts.len(), unique.len()),
            Summary { parsed: 6, duplicates: 3, unique: 3, batches: 1 }
        );
    }

    #[test]
    fn written_files_read_back_identically() {
        for name in ["android-2.1.vcf", "iphone-3.0.vcf", "contacts-4.0.vcf", "duplicates.vcf"] {
            let contacts = parse(&sample(name)).unwrap();
            let text = write(&contacts, true);
            assert!(text.lines().all(|l| l.len() <= 76), "folded");
            assert_eq!(parse(text.as_bytes()).unwrap(), contacts, "{name}");
        }
        // Without photos.
        let contacts = parse(&sample("iphone-3.0.vcf")).unwrap();
        assert!(parse(write(&contacts, false).as_bytes()).unwrap().iter().all(|c| c.photo.is_none()));
    }

    #[test]
    fn six_hundred_contacts_make_three_sim_batches() {
        let mut text = String::new();
        for i in 0..600 {
            text.push_str(&format!(
                "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Agent=C3=A9;N=C2=B0{i}\r\nTEL;CELL:06 00 00 {:02} {:02}\r\nEND:VCARD\r\n",
                i / 100,
                i % 100
            ));
        }
        let contacts = dedup(parse(text.as_bytes()).unwrap());
        assert_eq!(contacts.len(), 600);
        assert_eq!(contacts[0].formatted_name, "N°0 Agenté");
        let files = batches(&contacts);
        let sizes: Vec<usize> = files.iter().map(|f| parse(f.as_bytes()).unwrap().len()).collect();
        assert_eq!(sizes, [250, 250, 100]);
        let zip = batches_zip(&contacts).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
        assert_eq!(names.len(), 3);
        assert!(names.contains(&"contacts-3-of-3.vcf".to_owned()));
        let mut last = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("contacts-3-of-3.vcf").unwrap(), &mut last).unwrap();
        assert_eq!(parse(last.as_bytes()).unwrap().len(), 100);
        assert_eq!(Summary::of(600, 600).batches, 3);
    }

    #[test]
    fn malformed_files_are_refused_with_a_clear_message() {
        let message = |bytes: &[u8]| parse(bytes).unwrap_err().to_string();
        assert_eq!(
            message(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jean\r\n"),
            "malformed file: line 1: the contact has no END:VCARD (the file is truncated)"
        );
        assert!(message(b"Nom;Tel\nJean;0600000000\n").contains("line 1: not a vCard property"));
        assert!(message(b"FN:Jean\n").contains("text outside BEGIN:VCARD"));
        assert!(
            message(b"BEGIN:VCARD\nFN:A\nBEGIN:VCARD\nEND:VCARD\n").contains("line 3: the contact started on line 1")
        );
        assert!(message(b"BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:Du=ZZpr\nEND:VCARD\n")
            .contains("line 2: invalid quoted-printable"));
        assert!(message(b"BEGIN:VCARD\nPHOTO;ENCODING=b;TYPE=JPEG:!!!!\nEND:VCARD\n").contains("invalid base64"));
        assert!(message(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").contains("binary data"));
        assert!(message(b"").contains("no contact"));
        assert!(message(b"\n\n  \n").contains("no contact"));
        assert!(matches!(parse(&vec![b'a'; MAX_VCARD_BYTES + 1]), Err(DocError::TooLarge { .. })));
    }
}
