//! Parc documents: printable asset labels (PDF with QR codes) and tabular
//! import/export (CSV and XLSX).
//!
//! Everything here is pure and synchronous: functions take bytes and return
//! bytes, so the web layer decides where files come from and go to (and runs
//! the heavier calls on a blocking thread).
//!
//! * [`labels`]: A4 label sheets, one QR code and a few lines of text per label.
//! * [`intervention`]: the intervention sheet of a helpdesk ticket (PDF), blank
//!   to be signed by hand or with the user's signature image.
//! * [`form`]: a generic signed form (hand-over receipts, reports): rows,
//!   checkboxes, tables over several pages and signature boxes.
//! * [`ical`]: an RFC 5545 calendar feed of planned interventions.
//! * [`table`]: reading CSV/XLSX uploads into a [`table::Table`] with source
//!   line numbers for error messages, and writing CSV/XLSX exports.
//! * [`vcard`]: contacts from vCard 2.1/3.0/4.0 exports, duplicates removed, written
//!   back as one vCard 3.0 file or SIM-sized batches.
//!
//! Errors are reported through [`DocError`], whose messages are meant to be
//! shown to users (the web layer may translate them by variant).

mod cp1252;
pub mod form;
pub mod ical;
pub mod intervention;
pub mod labels;
pub mod loans;
mod metrics;
pub mod table;
#[cfg(test)]
mod test_tools;
pub mod vcard;

/// Everything that can go wrong while reading or producing a document.
///
/// The messages are short English sentences that can be shown to a user as
/// is; each variant carries what a translation needs.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The input is bigger than allowed (`limit` in bytes).
    #[error("the file is too large (limit: {})", human_bytes(*limit))]
    TooLarge {
        /// The maximum accepted size, in bytes.
        limit: usize,
    },
    /// The text is neither valid UTF-8 nor plausible Windows-1252.
    #[error("line {line}: the text encoding is not recognised; save the file as \"CSV UTF-8\"")]
    InvalidUtf8 {
        /// 1-based line of the first undecodable byte.
        line: usize,
    },
    /// A data row has non-empty values beyond the header's columns.
    #[error("line {line}: the row has values outside the {columns} columns of the header")]
    ExtraCells {
        /// 1-based line (CSV) or sheet row number (XLSX) of the row.
        line: usize,
        /// Number of columns in the header.
        columns: usize,
    },
    /// The file could not be parsed; the text says where and why.
    #[error("malformed file: {0}")]
    Malformed(String),
    /// The file is of a kind this crate does not read.
    #[error("unsupported file format: {0}")]
    UnsupportedFormat(String),
    /// The zip container of a spreadsheet looks like a decompression bomb.
    #[error("the spreadsheet was refused for safety: {0}")]
    UnsafeArchive(String),
    /// There is nothing to read or render (no header line, no label…).
    #[error("the document is empty")]
    Empty,
    /// More data rows than allowed.
    #[error("too many rows (limit: {limit})")]
    TooManyRows {
        /// The maximum number of data rows.
        limit: usize,
    },
    /// A label layout name that [`labels::LabelLayout`] does not know.
    #[error("unknown label layout \"{0}\" (expected one of: 3x8, 2x7)")]
    UnknownLayout(String),
    /// More already-used positions than a sheet holds.
    #[error("cannot skip {skip} labels: a sheet holds only {per_page}")]
    SkipOutOfRange {
        /// The requested number of positions to skip.
        skip: usize,
        /// Labels per sheet for the chosen layout.
        per_page: usize,
    },
    /// PDF generation failed (including data too long for a QR code).
    #[error("PDF generation failed: {0}")]
    Pdf(String),
    /// An image (e.g. a signature) is not an acceptable PNG; the text says
    /// why (not a PNG, undecodable, too many pixels).
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// XLSX reading or writing failed.
    #[error("spreadsheet error: {0}")]
    Xlsx(String),
}

/// Formats a byte count the way a user expects ("20 MiB", "512 bytes").
fn human_bytes(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    const KIB: usize = 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_presentable() {
        let e = DocError::TooLarge { limit: 20 * 1024 * 1024 };
        assert_eq!(e.to_string(), "the file is too large (limit: 20 MiB)");
        assert_eq!(DocError::TooLarge { limit: 1000 }.to_string(), "the file is too large (limit: 1000 bytes)");
        let e = DocError::ExtraCells { line: 7, columns: 4 };
        assert!(e.to_string().starts_with("line 7:"));
    }
}
