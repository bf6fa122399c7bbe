//! CSV as French spreadsheet users produce it, and CSV exports they can open.

use std::borrow::Cow;

use super::{check_size, Limits, Table, TableBuilder};
use crate::{cp1252, DocError};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads CSV as exported by French Excel or LibreOffice.
///
/// * Encoding: UTF-8 (a BOM is stripped), UTF-16 with a BOM (Excel's
///   "Unicode text"), or, for bytes that are not UTF-8, Windows-1252, the
///   default of Excel FR's plain "CSV". Windows-1252 is only assumed when the
///   bytes hold no valid multi-byte UTF-8 sequence (which would mean damaged
///   UTF-8) and no control characters; otherwise the result is
///   [`DocError::InvalidUtf8`] naming the first bad line.
/// * Delimiter: `;`, `,` or tab, whichever occurs most (outside quotes) in
///   the first non-blank line, `;` winning ties; tab if none occurs (a single
///   column). An Excel `sep=X` first line is honoured.
/// * Cells are trimmed; fully empty lines are skipped; short rows are padded
///   with `""`; rows with values beyond the header are
///   [`DocError::ExtraCells`].
pub fn read_csv(bytes: &[u8], limits: &Limits) -> Result<Table, DocError> {
    check_size(bytes, limits)?;
    let text = decode(bytes)?;
    let (delimiter, body) = match sep_line(&text)? {
        // Parsing starts at the line break ending `sep=X`, so that line
        // numbers stay those of the file.
        Some((delimiter, len)) => (delimiter, &text[len..]),
        None => (detect_delimiter(&text), &text[..]),
    };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(body.as_bytes());
    let mut builder = TableBuilder::new(limits);
    let mut record = csv::StringRecord::new();
    // The csv crate reports a record's position before the line breaks (and
    // skipped blank lines) that precede it, so lines are counted here,
    // incrementally, up to the record's first character.
    let bytes = body.as_bytes();
    let (mut counted_to, mut line) = (0, 1);
    // Reading a `&str` cannot hit the crate's only error, invalid UTF-8.
    while reader.read_record(&mut record).map_err(|e| DocError::Malformed(e.to_string()))? {
        let reported = record.position().and_then(|p| usize::try_from(p.byte()).ok()).unwrap_or(counted_to);
        let breaks = bytes.get(reported..).unwrap_or_default();
        let start = reported + breaks.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        let skipped = bytes.get(counted_to..start).unwrap_or_default();
        line += skipped.iter().filter(|&&b| b == b'\n').count();
        counted_to = counted_to.max(start);
        builder.push(line, record.iter().map(|c| c.trim().to_owned()).collect())?;
    }
    builder.finish()
}

/// Excel's optional first line `sep=X` declares the delimiter; returns it
/// with the length of that line (line break excluded).
fn sep_line(text: &str) -> Result<Option<(u8, usize)>, DocError> {
    let first = text.split('\n').next().unwrap_or_default();
    let Some(sep) = first.trim_end_matches('\r').strip_prefix("sep=") else {
        return Ok(None);
    };
    match sep.as_bytes() {
        [delimiter] => Ok(Some((*delimiter, first.len()))),
        _ => Err(DocError::Malformed(format!("line 1: unusable delimiter declaration \"{first}\""))),
    }
}

/// Writes comma-separated UTF-8 with a BOM (so that Excel FR shows accents
/// right) and CRLF line ends. Cells that a spreadsheet would take for a
/// formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) get a
/// leading `'`, except plain signed numbers such as `-12,5`.
pub fn write_csv(headers: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut writer =
        csv::WriterBuilder::new().flexible(true).terminator(csv::Terminator::CRLF).from_writer(BOM.to_vec());
    for record in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
        writer
            .write_record(record.iter().map(|cell| neutralise_formula(cell)))
            .expect("writing CSV to memory cannot fail");
    }
    writer.into_inner().expect("flushing CSV to memory cannot fail")
}

/// Prefixes `cell` with a quote if a spreadsheet could run it as a formula.
fn neutralise_formula(cell: &str) -> Cow<'_, [u8]> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_signed_number(cell) {
        Cow::Owned(format!("'{cell}").into_bytes())
    } else {
        Cow::Borrowed(cell.as_bytes())
    }
}

/// `-12`, `+3.5`, `-0,25`: harmless, and worth keeping as numbers.
fn is_signed_number(cell: &str) -> bool {
    let Some(digits) = cell.strip_prefix(['-', '+']) else {
        return false;
    };
    let (int, frac) = digits.split_once(['.', ',']).unwrap_or((digits, "0"));
    [int, frac].iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Decodes the bytes of a text file; see [`read_csv`] for the rules.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, DocError> {
    if let Some(rest) = bytes.strip_prefix(BOM) {
        return std::str::from_utf8(rest)
            .map(Cow::Borrowed)
            .map_err(|e| DocError::InvalidUtf8 { line: line_at(rest, e.valid_up_to()) });
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes).map(Cow::Owned);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(e) => {
            windows_1252(bytes).map(Cow::Owned).ok_or(DocError::InvalidUtf8 { line: line_at(bytes, e.valid_up_to()) })
        }
    }
}

/// 1-based line of byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count()
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DocError> {
    let invalid = || DocError::Malformed("invalid UTF-16 text".into());
    if !bytes.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units).collect::<Result<String, _>>().map_err(|_| invalid())
}

/// Decodes non-UTF-8 bytes as Windows-1252 if that is plausible.
fn windows_1252(bytes: &[u8]) -> Option<String> {
    // Valid multi-byte UTF-8 next to invalid bytes means damaged UTF-8:
    // decoding it as Windows-1252 would silently turn "é" into "Ã©".
    if bytes.utf8_chunks().any(|chunk| !chunk.valid().is_ascii()) {
        return None;
    }
    bytes
        .iter()
        .map(|&b| match b {
            b'\t' | b'\n' | b'\r' => Some(char::from(b)),
            0x00..=0x1F | 0x7F => None,
            _ => cp1252::decode_byte(b),
        })
        .collect()
}

/// Picks the delimiter from the first non-blank line.
fn detect_delimiter(text: &str) -> u8 {
    const CANDIDATES: [u8; 3] = [b';', b',', b'\t'];
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut counts = [0usize; CANDIDATES.len()];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if let Some(i) = CANDIDATES.iter().position(|&c| c == b && !quoted) {
            counts[i] += 1;
        }
    }
    // The first of the most frequent wins, hence ';' on ties.
    let best = (0..CANDIDATES.len()).rev().max_by_key(|&i| counts[i]).unwrap_or(0);
    if counts[best] == 0 {
        b'\t'
    } else {
        CANDIDATES[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn read(bytes: &[u8]) -> Result<Table, DocError> {
        read_csv(bytes, &Limits::default())
    }

    #[test]
    fn round_trip() {
        let headers = strings(&["Numéro", "Désignation", "Quantité", "Note"]);
        let rows = vec![
            strings(&["INV-001", "Écran 24\" œil", "12", ""]),
            strings(&["002", "Chaise, bureau; « ergonomique »", "3.5", "ligne 1\nligne 2"]),
            strings(&["", "", "-4", "Ça coûte 5 €"]),
        ];
        let bytes = write_csv(&headers, &rows);
        assert!(bytes.starts_with(BOM));
        assert!(bytes.windows(2).any(|w| w == b"\r\n"));
        let table = read(&bytes).unwrap();
        assert_eq!(table.headers, headers);
        let got: Vec<Vec<String>> = table.rows.iter().map(|r| r.cells.clone()).collect();
        assert_eq!(got, rows);
        // The quoted multi-line cell starts on line 3; the next row is on 5.
        let lines: Vec<usize> = table.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 5]);
    }

    #[test]
    fn formula_injection_is_neutralised() {
        let rows = vec![strings(&["=1+1", "+33 1 23", "-2+3", "@SUM(A1)", "\tx", "-12,5", "+7", "a=b", "-"])];
        let bytes = write_csv(&strings(&["a"]), &rows);
        let text = std::str::from_utf8(&bytes[BOM.len()..]).unwrap();
        assert_eq!(text, "a\r\n'=1+1,'+33 1 23,'-2+3,'@SUM(A1),'\tx,\"-12,5\",+7,a=b,'-\r\n");
    }

    #[test]
    fn delimiters() {
        for (input, expected) in [
            (&b"tag;name\nA1;PC, portable\n"[..], ["A1", "PC, portable"]),
            (b"tag,name\nA1,\"PC; portable\"\n", ["A1", "PC; portable"]),
            (b"tag\tname\nA1\tPC, portable; neuf\n", ["A1", "PC, portable; neuf"]),
            (b"\"a;b\",name,x\nA1,PC,\n", ["A1", "PC"]),
            (b"sep=,\ntag;x,name\nA1;x,PC\n", ["A1;x", "PC"]),
        ] {
            let table = read(input).unwrap();
            assert_eq!(table.rows[0].cells[..2], expected, "{}", String::from_utf8_lossy(input));
        }
        // sep= line keeps the line numbers of the file.
        assert_eq!(read(b"sep=,\ntag;x,name\nA1;x,PC\n").unwrap().rows[0].line, 3);
        // A single column keeps commas and semicolons.
        let table = read(b"name\nDupont, Jean; chef\n").unwrap();
        assert_eq!(table.rows[0].cells, ["Dupont, Jean; chef"]);
    }

    #[test]
    fn bom_trim_and_blank_lines() {
        let table = read("\u{FEFF} tag ; name \r\n\r\n;;\r\n A1 ;  \u{e9}\r\n  \r\nA2\r\n".as_bytes()).unwrap();
        assert_eq!(table.headers, ["tag", "name"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].line, 4);
        assert_eq!(table.rows[0].cells, ["A1", "é"]);
        assert_eq!(table.rows[1].line, 6);
        assert_eq!(table.rows[1].cells, ["A2", ""]);
    }

    #[test]
    fn windows_1252_and_utf16() {
        // "Désignation;Coût\nŒuvre;5 €" as saved by Excel FR "CSV (séparateur: point-virgule)".
        let table = read(b"D\xE9signation;Co\xFBt\r\n\x8Cuvre;5 \x80\r\n").unwrap();
        assert_eq!(table.headers, ["Désignation", "Coût"]);
        assert_eq!(table.rows[0].cells, ["Œuvre", "5 €"]);

        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("tag\tnom\r\nA1\tÉcole\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        let table = read(&utf16).unwrap();
        assert_eq!(table.rows[0].cells, ["A1", "École"]);
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        // Proper UTF-8 "é" on line 2, then a stray byte on line 3: damaged
        // UTF-8, not Windows-1252.
        let err = read(b"tag;name\nA1;\xC3\xA9\nA2;\xE9t\xE9\n").unwrap_err();
        assert!(matches!(err, DocError::InvalidUtf8 { line: 3 }), "{err:?}");
        // Bytes undefined in Windows-1252 (0x81) or binary control bytes.
        let err = read(b"tag\nok\nok\n\x81\n").unwrap_err();
        assert!(matches!(err, DocError::InvalidUtf8 { line: 4 }), "{err:?}");
        let err = read(b"tag\n\x00\xFF\n").unwrap_err();
        assert!(matches!(err, DocError::InvalidUtf8 { line: 2 }), "{err:?}");
        // With a UTF-8 BOM there is no fallback.
        let err = read(b"\xEF\xBB\xBFtag\n\xE9\n").unwrap_err();
        assert!(matches!(err, DocError::InvalidUtf8 { line: 2 }), "{err:?}");
    }

    #[test]
    fn ragged_rows() {
        let table = read(b"a;b;c\n1\n1;2;3;;\n").unwrap();
        assert_eq!(table.rows[0].cells, ["1", "", ""]);
        assert_eq!(table.rows[1].cells, ["1", "2", "3"]);
        let err = read(b"a;b;c\n1;2;3\n\n1;2;3;4\n").unwrap_err();
        assert!(matches!(err, DocError::ExtraCells { line: 4, columns: 3 }), "{err:?}");
        assert!(err.to_string().contains("line 4"));
    }

    #[test]
    fn limits_and_empty() {
        let limits = Limits { max_bytes: 1000, max_rows: 2 };
        assert_eq!(read_csv(b"a\n1\n2\n", &limits).unwrap().rows.len(), 2);
        let err = read_csv(b"a\n1\n2\n3\n", &limits).unwrap_err();
        assert!(matches!(err, DocError::TooManyRows { limit: 2 }));
        let err = read_csv(&[b'a'; 1001], &limits).unwrap_err();
        assert!(matches!(err, DocError::TooLarge { limit: 1000 }));
        assert!(matches!(read(b""), Err(DocError::Empty)));
        assert!(matches!(read(b"\n ; ;\n\n"), Err(DocError::Empty)));
        assert_eq!(read(b"a;b\n").unwrap().rows, []);
    }
}
