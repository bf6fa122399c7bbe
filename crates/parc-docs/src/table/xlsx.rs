//! XLSX reading (calamine) behind a zip-bomb guard, and XLSX writing
//! (rust_xlsxwriter).

use std::io::{self, Cursor, Read};

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx};
use rust_xlsxwriter::{Format, Workbook};

use super::{check_size, Limits, Table, TableBuilder};
use crate::DocError;

/// Largest total uncompressed size of the entries of an accepted `.xlsx`
/// (100 MiB): far above what [`Limits::max_bytes`] of real spreadsheets
/// inflate to, far below what would hurt the server.
pub const XLSX_MAX_UNCOMPRESSED: u64 = 100 * 1024 * 1024;

/// Highest accepted compression ratio of an `.xlsx` entry (200:1); worksheet
/// XML usually compresses 5 to 30 times.
pub const XLSX_MAX_RATIO: u64 = 200;

/// Columns of a worksheet (A to XFD).
const MAX_COLUMNS: usize = 16_384;

/// Entries smaller than this are not ratio-checked: tiny files compress
/// erratically and cannot do harm.
const RATIO_MIN_SIZE: u64 = 1024 * 1024;

/// Reads the first worksheet of an `.xlsx` (the first visible one if the
/// first is hidden).
///
/// Before calamine sees the bytes, the zip archive is checked
/// ([`XLSX_MAX_UNCOMPRESSED`], [`XLSX_MAX_RATIO`]), first on the sizes its
/// central directory declares, then by inflating every entry to make sure it
/// is no larger than declared. Cells are then streamed, never loaded as a
/// dense grid, so a far-away stray cell cannot blow up memory.
///
/// Values: text trimmed; integral numbers without a trailing `.0` (asset
/// tags and serials are often numbers), others with at most 15 significant
/// digits as Excel shows them; dates as `YYYY-MM-DD` (`YYYY-MM-DDTHH:MM:SS`
/// with a time of day, `HH:MM:SS` for a time alone); booleans `true` /
/// `false`; error cells as their code (`#N/A`). Formulas give their cached
/// value. [`super::Row::line`] is the sheet's row number.
pub fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<Table, DocError> {
    check_size(bytes, limits)?;
    check_archive(bytes, XLSX_MAX_UNCOMPRESSED)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_error)?;
    let sheet = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .min_by_key(|s| s.visible != SheetVisible::Visible)
        .map(|s| s.name.clone())
        .ok_or(DocError::Empty)?;
    let mut cells = workbook.worksheet_cells_reader(&sheet).map_err(xlsx_error)?;

    // Cells arrive row by row, left to right; empty cells are not stored.
    let mut builder = TableBuilder::new(limits);
    let mut current: (u32, Vec<String>) = (0, Vec::new());
    while let Some(cell) = cells.next_cell().map_err(xlsx_error)? {
        let (row, column) = cell.get_position();
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        if row != current.0 {
            if row < current.0 {
                let message = format!("row {} is stored out of order", line(row));
                return Err(DocError::Malformed(message));
            }
            let (r, values) = std::mem::replace(&mut current, (row, Vec::new()));
            builder.push(line(r), values)?;
        }
        let column = usize::try_from(column)
            .ok()
            .filter(|&c| c < MAX_COLUMNS)
            .ok_or_else(|| DocError::Malformed(format!("row {}: cell beyond the last column", line(row))))?;
        let values = &mut current.1;
        if column >= values.len() {
            values.resize(column + 1, String::new());
        }
        values[column] = text;
    }
    builder.push(line(current.0), current.1)?;
    builder.finish()
}

/// Sheet row index (0-based) to the row number users see.
fn line(row: u32) -> usize {
    usize::try_from(row).map_or(usize::MAX, |r| r + 1)
}

fn xlsx_error(e: calamine::XlsxError) -> DocError {
    DocError::Xlsx(e.to_string())
}

fn zip_error(e: zip::result::ZipError) -> DocError {
    DocError::Malformed(format!("not a readable .xlsx archive ({e})"))
}

/// Refuses zip archives that inflate to more than `max_total` bytes or
/// compress suspiciously well, and anything that is not an Excel workbook.
fn check_archive(bytes: &[u8], max_total: u64) -> Result<(), DocError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    // Cheap pass over the central directory: what the archive declares.
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(zip_error)?;
        total = total.saturating_add(entry.size());
        if total > max_total {
            let limit = crate::human_bytes(usize::try_from(max_total).unwrap_or(usize::MAX));
            return Err(DocError::UnsafeArchive(format!("it would inflate to more than {limit}")));
        }
        if entry.size() > RATIO_MIN_SIZE && entry.size() / entry.compressed_size().max(1) > XLSX_MAX_RATIO {
            return Err(DocError::UnsafeArchive(format!(
                "{} is compressed more than {XLSX_MAX_RATIO}:1",
                entry.name()
            )));
        }
    }

    if archive.index_for_name("xl/workbook.xml").is_none() {
        return Err(if archive.index_for_name("content.xml").is_some() {
            DocError::UnsupportedFormat("OpenDocument spreadsheet (.ods); save it as .xlsx or CSV".into())
        } else {
            DocError::Malformed("not an Excel workbook".into())
        });
    }

    // Declared sizes are written by whoever made the file, and inflating does
    // not stop at them: check that no entry holds more than it declares.
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_error)?;
        let declared = entry.size();
        let actual = io::copy(&mut (&mut entry).take(declared.saturating_add(1)), &mut io::sink())
            .map_err(|e| DocError::Malformed(format!("damaged .xlsx archive ({e})")))?;
        if actual > declared {
            return Err(DocError::UnsafeArchive(format!("{} holds more data than it declares", entry.name())));
        }
    }
    Ok(())
}

/// The text of one cell value; see [`read_xlsx`] for the formats.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.trim().to_owned(),
        DataRef::SharedString(s) => s.trim().to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number(*f),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => date_time(dt),
        DataRef::Error(e) => e.to_string(),
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        // Exact: integral and well within i64.
        return (value as i64).to_string();
    }
    // Round to the 15 significant digits Excel displays, dropping binary
    // noise such as 0.30000000000000004; Rust then prints the shortest form.
    format!("{value:.14e}").parse::<f64>().unwrap_or(value).to_string()
}

fn date_time(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        let seconds = (dt.as_f64() * 86_400.0).round() as i64;
        let sign = if seconds < 0 { "-" } else { "" };
        let s = seconds.unsigned_abs();
        return format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }
    match dt.as_datetime() {
        Some(d) if d.time() == chrono::NaiveTime::MIN => d.format("%Y-%m-%d").to_string(),
        Some(d) if dt.as_f64() < 1.0 => d.format("%H:%M:%S").to_string(),
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
        None => number(dt.as_f64()),
    }
}

/// Widest column, in characters, when fitting widths to the content.
const MAX_COLUMN_WIDTH: usize = 60;
const MIN_COLUMN_WIDTH: usize = 8;

/// One cell of a sheet to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Text, never evaluated as a formula; an empty text leaves the cell empty.
    Text(&'a str),
    /// A number in the general format (counts).
    Number(f64),
    /// A number shown with two decimals (hours, averages).
    Decimal(f64),
}

/// One worksheet: a header row and data rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet<'a> {
    /// Adapted to Excel's rules (31 characters, no `[]:*?/\`).
    pub name: &'a str,
    pub headers: &'a [String],
    pub rows: Vec<Vec<Cell<'a>>>,
}

/// Writes a one-sheet `.xlsx` of text cells: see [`write_workbook`].
pub fn write_xlsx(sheet_name: &str, headers: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, DocError> {
    let rows = rows.iter().map(|r| r.iter().map(|c| Cell::Text(c)).collect()).collect();
    write_workbook(&[Sheet { name: sheet_name, headers, rows }])
}

/// Writes an `.xlsx` with one worksheet per [`Sheet`]: bold frozen header
/// row with an autofilter, column widths fitted to the content (between 8
/// and 60 characters), text never evaluated as a formula, numbers as numbers.
pub fn write_workbook(sheets: &[Sheet<'_>]) -> Result<Vec<u8>, DocError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let decimal = Format::new().set_num_format("0.00");
    for sheet in sheets {
        fill_sheet(workbook.add_worksheet(), sheet, &bold, &decimal)?;
    }
    workbook.save_to_buffer().map_err(xlsx_write_error)
}

fn xlsx_write_error(e: rust_xlsxwriter::XlsxError) -> DocError {
    DocError::Xlsx(e.to_string())
}

fn fill_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    sheet: &Sheet<'_>,
    bold: &Format,
    decimal: &Format,
) -> Result<(), DocError> {
    let error = xlsx_write_error;
    let too_big = || DocError::Xlsx("too many rows or columns for a worksheet".into());
    ws.set_name(sheet_title(sheet.name)).map_err(error)?;

    // Header text plus room for the autofilter button.
    let mut widths: Vec<usize> = sheet.headers.iter().map(|h| text_width(h) + 3).collect();
    for (col, header) in sheet.headers.iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| too_big())?;
        ws.write_string_with_format(0, col, header, bold).map_err(error)?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| too_big())?;
        for (col, cell) in row.iter().enumerate() {
            let width = match cell {
                Cell::Text("") => continue,
                Cell::Text(t) => text_width(t),
                Cell::Number(n) => n.to_string().len(),
                Cell::Decimal(n) => format!("{n:.2}").len(),
            };
            if col >= widths.len() {
                widths.resize(col + 1, 0);
            }
            widths[col] = widths[col].max(width);
            let col = u16::try_from(col).map_err(|_| too_big())?;
            match cell {
                Cell::Text(t) => ws.write_string(r, col, *t).map(|_| ()),
                Cell::Number(n) => ws.write_number(r, col, *n).map(|_| ()),
                Cell::Decimal(n) => ws.write_number_with_format(r, col, *n, decimal).map(|_| ()),
            }
            .map_err(error)?;
        }
    }
    if let Some(last_col) = sheet.headers.len().checked_sub(1) {
        let last_col = u16::try_from(last_col).map_err(|_| too_big())?;
        let last_row = u32::try_from(sheet.rows.len()).map_err(|_| too_big())?;
        ws.set_freeze_panes(1, 0).map_err(error)?;
        ws.autofilter(0, 0, last_row, last_col).map_err(error)?;
    }
    for (col, width) in widths.into_iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| too_big())?;
        let width = width.clamp(MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH);
        ws.set_column_width(col, width as f64 + 1.0).map_err(error)?;
    }
    Ok(())
}

/// Characters of the longest line of a cell.
fn text_width(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// A worksheet name Excel accepts.
fn sheet_title(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if "[]:*?/\\".contains(c) || c.is_control() { '_' } else { c }).take(31).collect();
    let cleaned = cleaned.trim().trim_matches('\'').trim();
    if cleaned.is_empty() {
        "Sheet1".to_owned()
    } else if cleaned.eq_ignore_ascii_case("history") {
        // Reserved by Excel.
        format!("{cleaned}_")
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use zip::write::SimpleFileOptions;

    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn read(bytes: &[u8]) -> Result<Table, DocError> {
        read_xlsx(bytes, &Limits::default())
    }

    #[test]
    fn round_trip() {
        let headers = strings(&["Numéro", "Désignation", "Prix", "Vide", ""]);
        let rows = vec![
            strings(&["INV-001", "Écran « œil » 24\"", "12", "", ""]),
            strings(&["002", "=SUM(A1:A2)", "3.50", ""]),
            strings(&["", "Chaise"]),
            strings(&["", "", "", ""]),
            strings(&["004", "Ça coûte 5 €", "-4", "", ""]),
        ];
        let bytes = write_xlsx("Matériel: 2025/Q1", &headers, &rows).unwrap();
        let table = read(&bytes).unwrap();
        assert_eq!(table.headers, strings(&["Numéro", "Désignation", "Prix", "Vide"]), "unnamed last column dropped");
        let got: Vec<(usize, Vec<String>)> = table.rows.iter().map(|r| (r.line, r.cells.clone())).collect();
        // Strings stay strings ("3.50", the formula text); the empty row is skipped.
        assert_eq!(
            got,
            [
                (2, strings(&["INV-001", "Écran « œil » 24\"", "12", ""])),
                (3, strings(&["002", "=SUM(A1:A2)", "3.50", ""])),
                (4, strings(&["", "Chaise", "", ""])),
                (6, strings(&["004", "Ça coûte 5 €", "-4", ""])),
            ]
        );
        assert_eq!(sheet_title("Matériel: 2025/Q1"), "Matériel_ 2025_Q1");
    }

    #[test]
    fn workbook_with_numbers() {
        let (h1, h2) = (strings(&["Technicien", "janv. 2026", "Total"]), strings(&["Mois", "Ouverts"]));
        let sheets = [
            Sheet {
                name: "Temps/technicien",
                headers: &h1,
                rows: vec![vec![Cell::Text("Anne"), Cell::Decimal(0.75), Cell::Decimal(1.5)], vec![Cell::Text("=1+1")]],
            },
            Sheet { name: "Tickets", headers: &h2, rows: vec![vec![Cell::Text("2026-01"), Cell::Number(12.0)]] },
        ];
        let bytes = write_workbook(&sheets).unwrap();
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), ["Temps_technicien", "Tickets"]);
        let r = wb.worksheet_range("Temps_technicien").unwrap();
        assert_eq!(r.get_value((0, 1)), Some(&calamine::Data::String("janv. 2026".into())));
        assert_eq!(r.get_value((1, 1)), Some(&calamine::Data::Float(0.75)));
        assert_eq!(r.get_value((2, 0)), Some(&calamine::Data::String("=1+1".into())), "text, not a formula");
        let r = wb.worksheet_range("Tickets").unwrap();
        assert_eq!(r.get_value((1, 1)), Some(&calamine::Data::Float(12.0)));
    }

    /// A workbook with typed cells, as users' spreadsheets have, and
    /// optionally a stray cell far to the right.
    fn typed_workbook(stray: bool) -> Vec<u8> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        let date = Format::new().set_num_format("dd/mm/yyyy");
        let datetime = Format::new().set_num_format("dd/mm/yyyy hh:mm");
        let time = Format::new().set_num_format("hh:mm:ss");
        for (col, header) in (0..).zip(["serial", "price", "bought", "flag", "at", "time"]) {
            sheet.write_string(0, col, header).unwrap();
        }
        sheet.write_number(1, 0, 123456789012.0).unwrap();
        sheet.write_number(1, 1, 0.1 + 0.2).unwrap();
        sheet.write_number_with_format(1, 2, 45678.0, &date).unwrap(); // 2025-01-21
        sheet.write_boolean(1, 3, true).unwrap();
        sheet.write_number_with_format(1, 4, 45678.5, &datetime).unwrap();
        sheet.write_number_with_format(1, 5, 0.75, &time).unwrap();
        sheet.write_number(2, 0, 42.0).unwrap();
        sheet.write_number(2, 1, -1.5).unwrap();
        sheet.write_boolean(2, 3, false).unwrap();
        if stray {
            // Must not make the reader allocate a dense grid.
            sheet.write_string(3, 16_000, "stray").unwrap();
        }
        workbook.save_to_buffer().unwrap()
    }

    #[test]
    fn typed_cells() {
        let table = read(&typed_workbook(false)).unwrap();
        assert_eq!(
            table.rows[0].cells,
            strings(&["123456789012", "0.3", "2025-01-21", "true", "2025-01-21T12:00:00", "18:00:00"])
        );
        assert_eq!(table.rows[1].cells, strings(&["42", "-1.5", "", "false", "", ""]));

        let err = read(&typed_workbook(true)).unwrap_err();
        assert!(matches!(err, DocError::ExtraCells { line: 4, columns: 6 }), "{err:?}");
        let limits = Limits { max_rows: 1, ..Limits::default() };
        let err = read_xlsx(&typed_workbook(false), &limits).unwrap_err();
        assert!(matches!(err, DocError::TooManyRows { limit: 1 }), "{err:?}");
    }

    /// A zip holding a valid-looking workbook plus `sheet_bytes` of one
    /// repeated byte as the worksheet, written entry by entry in chunks so
    /// the test needs little memory.
    fn bomb(sheet_bytes: usize) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(sheet_bytes >= u32::MAX as usize);
        zip.start_file("xl/workbook.xml", options).unwrap();
        zip.write_all(b"<workbook/>").unwrap();
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let chunk = vec![b' '; 1 << 20];
        let mut left = sheet_bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            zip.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn zip_bomb_is_refused_quickly() {
        let bytes = bomb(200 * 1024 * 1024);
        assert!(bytes.len() < 2 * 1024 * 1024, "the bomb itself is small: {}", bytes.len());
        let start = Instant::now();
        let err = read(&bytes).unwrap_err();
        assert!(matches!(err, DocError::UnsafeArchive(_)), "{err:?}");
        assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
    }

    #[test]
    fn ratio_and_total_caps() {
        // 2 MiB of spaces: over the ratio even though small in total.
        let err = check_archive(&bomb(2 << 20), XLSX_MAX_UNCOMPRESSED).unwrap_err();
        assert!(err.to_string().contains("200:1"), "{err}");
        // Total cap, checked with a lowered cap (ratio stays below 200:1
        // for entries under 1 MiB).
        let err = check_archive(&bomb(600 << 10), 512 << 10).unwrap_err();
        assert!(err.to_string().contains("inflate"), "{err}");
        check_archive(&bomb(600 << 10), 1 << 20).unwrap();
    }

    #[test]
    fn lying_sizes_are_caught() {
        let mut bytes = bomb(600 << 10);
        // Shrink the declared uncompressed size of the sheet entry in both
        // its local header (offset 22) and its central directory record
        // (offset 24), as a malicious archive would.
        let declared = (600u32 << 10).to_le_bytes();
        let small = 1000u32.to_le_bytes();
        let mut patched = 0;
        for i in 0..bytes.len() - 28 {
            let header = &bytes[i..i + 4];
            let at = match header {
                b"PK\x03\x04" => i + 22,
                b"PK\x01\x02" => i + 24,
                _ => continue,
            };
            if bytes[at..at + 4] == declared {
                bytes[at..at + 4].copy_from_slice(&small);
                patched += 1;
            }
        }
        assert_eq!(patched, 2);
        let err = check_archive(&bytes, XLSX_MAX_UNCOMPRESSED).unwrap_err();
        assert!(err.to_string().contains("declares"), "{err}");
    }

    #[test]
    fn not_a_workbook() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("content.xml", SimpleFileOptions::default()).unwrap();
        zip.write_all(b"<office:document-content/>").unwrap();
        let ods = zip.finish().unwrap().into_inner();
        assert!(matches!(read(&ods), Err(DocError::UnsupportedFormat(_))));
        assert!(matches!(read(b"PK\x03\x04garbage"), Err(DocError::Malformed(_))));
    }

    #[test]
    fn empty_sheet() {
        let mut workbook = Workbook::new();
        workbook.add_worksheet();
        let bytes = workbook.save_to_buffer().unwrap();
        assert!(matches!(read(&bytes), Err(DocError::Empty)));
    }

    #[test]
    fn writer_formats() {
        let headers = strings(&["a", "b"]);
        let long = "x".repeat(500);
        let bytes = write_xlsx("", &headers, &[strings(&["=1+1", &long])]).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        let mut sheet = String::new();
        archive.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
        assert!(sheet.contains("<pane ySplit=\"1\""), "frozen header: {sheet}");
        assert!(sheet.contains("<autoFilter ref=\"A1:B2\""), "{sheet}");
        assert!(!sheet.contains("<f>"), "no formula cells: {sheet}");
        assert!(sheet.contains("width=\"61"), "capped width: {sheet}");
        let mut workbook = String::new();
        archive.by_name("xl/workbook.xml").unwrap().read_to_string(&mut workbook).unwrap();
        assert!(workbook.contains("name=\"Sheet1\""), "{workbook}");
        assert_eq!(sheet_title("'History'"), "History_");
        assert_eq!(sheet_title(&"é".repeat(40)).chars().count(), 31);
    }
}
