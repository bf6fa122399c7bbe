//! Tabular import and export: CSV and XLSX.
//!
//! Reading produces a [`Table`]: trimmed header names and rows of trimmed
//! cells padded to the header's width, each row knowing its line in the
//! source so that import errors can point at it ("line 7, column serial: …").
//! Fully empty rows are skipped. Writing takes plain strings and never lets a
//! spreadsheet interpret them as formulas.

mod delimited;
mod xlsx;

pub use delimited::{read_csv, write_csv};
pub use xlsx::{read_xlsx, write_workbook, write_xlsx, Cell, Sheet, XLSX_MAX_RATIO, XLSX_MAX_UNCOMPRESSED};

use crate::DocError;

/// A rectangular table: header names and data rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Column names, trimmed, in file order. Trailing unnamed columns are
    /// dropped, so every header has at least one non-empty name.
    pub headers: Vec<String>,
    /// Data rows, each exactly `headers.len()` cells long.
    pub rows: Vec<Row>,
}

impl Table {
    /// Index of the column named `name`, ignoring case and surrounding
    /// spaces.
    pub fn column(&self, name: &str) -> Option<usize> {
        let name = name.trim().to_lowercase();
        self.headers.iter().position(|h| h.to_lowercase() == name)
    }
}

/// One data row of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line of the row in the source: the CSV line where the record
    /// starts (the header being on line 1 unless blank lines precede it), or
    /// the row number shown by the spreadsheet application for XLSX.
    pub line: usize,
    /// Trimmed cell values, `""` for empty cells.
    pub cells: Vec<String>,
}

/// Bounds on what a reader accepts.
///
/// Besides `max_rows`, a table never holds more than [`MAX_CELLS`] cells
/// (rows × header columns): for very wide headers the row limit is lowered
/// accordingly, so that a small file cannot make the padded rows eat memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of the input, in bytes.
    pub max_bytes: usize,
    /// Maximum number of data rows (the header not included).
    pub max_rows: usize,
}

impl Default for Limits {
    /// 20 MiB and 100 000 rows.
    fn default() -> Self {
        Limits { max_bytes: 20 * 1024 * 1024, max_rows: 100_000 }
    }
}

/// Reads an upload whatever its kind: XLSX when it starts like a zip archive
/// (`PK\x03\x04`), CSV otherwise. Legacy `.xls` (and password-protected
/// workbooks, which share its container) are refused with
/// [`DocError::UnsupportedFormat`].
pub fn read_any(bytes: &[u8], limits: &Limits) -> Result<Table, DocError> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    if bytes.starts_with(ZIP) {
        read_xlsx(bytes, limits)
    } else if bytes.starts_with(OLE) {
        Err(DocError::UnsupportedFormat(
            "legacy Excel (.xls) or password-protected workbook; save it as .xlsx or CSV".into(),
        ))
    } else {
        read_csv(bytes, limits)
    }
}

/// Most cells (data rows × header columns) a [`Table`] may hold: ten
/// million, a few hundred megabytes at worst.
pub const MAX_CELLS: usize = 10_000_000;

fn check_size(bytes: &[u8], limits: &Limits) -> Result<(), DocError> {
    if bytes.len() > limits.max_bytes {
        return Err(DocError::TooLarge { limit: limits.max_bytes });
    }
    Ok(())
}

/// Assembles a [`Table`] from raw rows, shared by the CSV and XLSX readers.
struct TableBuilder {
    max_rows: usize,
    /// Leading columns without a header name, which must stay empty.
    offset: usize,
    table: Option<Table>,
}

impl TableBuilder {
    fn new(limits: &Limits) -> Self {
        TableBuilder { max_rows: limits.max_rows, offset: 0, table: None }
    }

    /// Adds the next row found on `line`; the first non-empty one is the
    /// header. Cells must already be trimmed.
    fn push(&mut self, line: usize, mut cells: Vec<String>) -> Result<(), DocError> {
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        let Some(table) = &mut self.table else {
            // Unnamed columns around the header are not part of the table.
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            self.offset = cells.iter().take_while(|c| c.is_empty()).count();
            cells.drain(..self.offset);
            self.max_rows = self.max_rows.min(MAX_CELLS / cells.len());
            self.table = Some(Table { headers: cells, rows: Vec::new() });
            return Ok(());
        };
        let columns = table.headers.len();
        let outside = |c: &[String]| c.iter().any(|c| !c.is_empty());
        let end = self.offset + columns;
        if outside(&cells[..self.offset.min(cells.len())]) || outside(cells.get(end..).unwrap_or_default()) {
            return Err(DocError::ExtraCells { line, columns });
        }
        cells.truncate(end);
        cells.drain(..self.offset.min(cells.len()));
        cells.resize(columns, String::new());
        if table.rows.len() == self.max_rows {
            return Err(DocError::TooManyRows { limit: self.max_rows });
        }
        table.rows.push(Row { line, cells });
        Ok(())
    }

    fn finish(self) -> Result<Table, DocError> {
        self.table.ok_or(DocError::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn builder_shapes_rows() {
        let mut b = TableBuilder::new(&Limits::default());
        b.push(1, cells(&["", "", ""])).unwrap();
        b.push(2, cells(&["", "tag", "name", ""])).unwrap();
        b.push(3, cells(&["", "A1"])).unwrap();
        b.push(4, cells(&["", "A2", "PC", "", ""])).unwrap();
        let err = b.push(5, cells(&["x", "A3"])).unwrap_err();
        assert!(matches!(err, DocError::ExtraCells { line: 5, columns: 2 }));
        let err = b.push(6, cells(&["", "A3", "PC", "oops"])).unwrap_err();
        assert!(matches!(err, DocError::ExtraCells { line: 6, columns: 2 }));
        let table = b.finish().unwrap();
        assert_eq!(table.headers, cells(&["tag", "name"]));
        assert_eq!(table.rows[0], Row { line: 3, cells: cells(&["A1", ""]) });
        assert_eq!(table.rows[1], Row { line: 4, cells: cells(&["A2", "PC"]) });
        assert_eq!(table.column(" NAME "), Some(1));
        assert!(matches!(TableBuilder::new(&Limits::default()).finish(), Err(DocError::Empty)));
    }

    #[test]
    fn wide_tables_get_fewer_rows() {
        let mut b = TableBuilder::new(&Limits::default());
        b.push(1, vec!["h".to_owned(); 10_000]).unwrap();
        for line in 2..=1001 {
            b.push(line, cells(&["x"])).unwrap();
        }
        let err = b.push(1002, cells(&["x"])).unwrap_err();
        assert!(matches!(err, DocError::TooManyRows { limit: 1000 }), "{err:?}");
    }

    #[test]
    fn read_any_dispatches() {
        let limits = Limits::default();
        let csv = read_any(b"a;b\n1;2\n", &limits).unwrap();
        assert_eq!(csv.rows[0].cells, cells(&["1", "2"]));
        let xlsx = write_xlsx("Parc", &cells(&["a"]), &[cells(&["1"])]).unwrap();
        assert_eq!(read_any(&xlsx, &limits).unwrap().rows[0].cells, cells(&["1"]));
        let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest";
        assert!(matches!(read_any(xls, &limits), Err(DocError::UnsupportedFormat(_))));
        let small = Limits { max_bytes: 3, ..limits };
        assert!(matches!(read_any(b"a;b\n", &small), Err(DocError::TooLarge { limit: 3 })));
    }
}
