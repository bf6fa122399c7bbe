//! The loan sheet (fiche de prêt): what a borrower signs on screen when taking one or several
//! assets — borrower, dates, the list of items (as many pages as it takes: a class set of 300
//! Chromebooks is one sheet) and the signature image on the last page. Captions are passed in
//! by the caller, in the reader's language.

use printpdf::{BuiltinFont, Mm, PdfDocument};

use crate::intervention::{decode_signature, mm_to_pt, place_image, rectangle, stroke, write};
use crate::metrics::{pdf_text, truncate, wrap, Face};
use crate::DocError;

/// Captions printed on the sheet.
#[derive(Debug, Clone, Default)]
pub struct LoanSheetLabels {
    pub title: String,
    pub borrower: String,
    pub checked_out: String,
    pub due: String,
    pub note: String,
    pub items: String,
    pub name: String,
    pub tag: String,
    pub serial: String,
    /// The sentence above the signature ("I received the items listed above...").
    pub statement: String,
    pub signature: String,
    /// "Page {page} / {pages}" with those placeholders.
    pub page: String,
}

/// One lent item.
#[derive(Debug, Clone, Default)]
pub struct LoanSheetItem {
    pub name: String,
    pub tag: String,
    pub serial: String,
}

/// Everything printed on a loan sheet, as display text.
#[derive(Debug, Clone, Default)]
pub struct LoanSheet {
    pub labels: LoanSheetLabels,
    pub organisation: String,
    pub borrower: String,
    pub checked_out_on: String,
    pub due_on: String,
    pub note: String,
    pub items: Vec<LoanSheetItem>,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;
const ROW: f32 = 6.0;
const SIGNATURE_H: f32 = 40.0;
const BOTTOM: f32 = 20.0;

/// Renders the sheet; with `signature_png` (checked as by
/// [`crate::intervention::check_signature_png`]) drawn in the signature box.
pub fn render_loan_sheet(sheet: &LoanSheet, signature_png: Option<&[u8]>) -> Result<Vec<u8>, DocError> {
    let pdf_err = |e: printpdf::Error| DocError::Pdf(e.to_string());
    let mut signature = signature_png.map(decode_signature).transpose()?;
    let (doc, page1, layer1) = PdfDocument::new(pdf_text(&sheet.labels.title), Mm(PAGE_W), Mm(PAGE_H), "sheet");
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?;
    let bold = doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(pdf_err)?;
    let width = PAGE_W - 2.0 * MARGIN;
    let cell = |text: &str, face: Face, size: f32, w: f32| truncate(&pdf_text(text), face, size, mm_to_pt(w));
    // Pages: lay out the header, then the rows, starting a new page when full.
    let rows_per_first = ((PAGE_H - MARGIN - 70.0 - BOTTOM) / ROW).floor().max(1.0) as usize;
    let rows_per_next = ((PAGE_H - 2.0 * MARGIN - 15.0 - BOTTOM) / ROW).floor().max(1.0) as usize;
    let mut chunks: Vec<&[LoanSheetItem]> = Vec::new();
    let mut rest: &[LoanSheetItem] = &sheet.items;
    let mut first = true;
    loop {
        let n = if first { rows_per_first } else { rows_per_next }.min(rest.len());
        let (a, b) = rest.split_at(n);
        chunks.push(a);
        rest = b;
        first = false;
        if rest.is_empty() {
            break;
        }
    }
    // The signature needs room below the last rows; else it gets a page of its own.
    let last_rows = chunks.last().map_or(0, |c| c.len());
    let last_cap = if chunks.len() == 1 { rows_per_first } else { rows_per_next };
    let room = (last_cap - last_rows) as f32 * ROW;
    if room < SIGNATURE_H + 25.0 {
        chunks.push(&[]);
    }
    let pages = chunks.len();
    let mut layer = doc.get_page(page1).get_layer(layer1);
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            let (p, l) = doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "sheet");
            layer = doc.get_page(p).get_layer(l);
        }
        let mut y = PAGE_H - MARGIN;
        if i == 0 {
            y -= 8.0;
            write(&layer, &bold, 18.0, 0.0, MARGIN, y, &cell(&sheet.labels.title, Face::Bold, 18.0, width));
            y -= 7.0;
            write(&layer, &regular, 10.0, 0.3, MARGIN, y, &cell(&sheet.organisation, Face::Regular, 10.0, width));
            y -= 10.0;
            for (caption, value) in [
                (&sheet.labels.borrower, &sheet.borrower),
                (&sheet.labels.checked_out, &sheet.checked_out_on),
                (&sheet.labels.due, &sheet.due_on),
            ] {
                write(&layer, &regular, 9.0, 0.3, MARGIN, y, &cell(caption, Face::Regular, 9.0, 45.0));
                write(&layer, &bold, 10.0, 0.0, MARGIN + 48.0, y, &cell(value, Face::Bold, 10.0, width - 48.0));
                y -= 6.0;
            }
            if !sheet.note.trim().is_empty() {
                write(&layer, &regular, 9.0, 0.3, MARGIN, y, &cell(&sheet.labels.note, Face::Regular, 9.0, 45.0));
                let line = wrap(&pdf_text(&sheet.note), Face::Regular, 9.5, mm_to_pt(width - 48.0), 1);
                write(&layer, &regular, 9.5, 0.0, MARGIN + 48.0, y, line.first().map_or("", String::as_str));
                y -= 6.0;
            }
            y -= 4.0;
            write(&layer, &bold, 10.5, 0.0, MARGIN, y, &cell(&sheet.labels.items, Face::Bold, 10.5, width));
            y -= 2.0;
        } else {
            y -= 4.0;
        }
        if !chunk.is_empty() {
            y -= ROW;
            let cols = [(MARGIN, 90.0), (MARGIN + 92.0, 40.0), (MARGIN + 134.0, width - 134.0)];
            let head = [&sheet.labels.name, &sheet.labels.tag, &sheet.labels.serial];
            for ((x, w), text) in cols.iter().zip(head) {
                write(&layer, &bold, 8.5, 0.3, *x, y + 1.5, &cell(text, Face::Bold, 8.5, *w));
            }
            for item in chunk.iter() {
                y -= ROW;
                stroke(&layer, 0.78, 0.4, |l| rectangle(l, MARGIN, y, width, 0.0));
                let values = [&item.name, &item.tag, &item.serial];
                for ((x, w), text) in cols.iter().zip(values) {
                    write(&layer, &regular, 9.5, 0.0, *x, y + 1.5, &cell(text, Face::Regular, 9.5, *w));
                }
            }
        }
        if i + 1 == pages {
            y -= 10.0;
            let lines = wrap(&pdf_text(&sheet.labels.statement), Face::Regular, 9.5, mm_to_pt(width), 3);
            for line in lines {
                write(&layer, &regular, 9.5, 0.0, MARGIN, y, &line);
                y -= 5.0;
            }
            y -= 2.0;
            write(&layer, &regular, 8.5, 0.3, MARGIN, y, &cell(&sheet.labels.signature, Face::Regular, 8.5, width));
            let box_y = y - 2.0 - SIGNATURE_H;
            stroke(&layer, 0.45, 0.6, |l| rectangle(l, MARGIN, box_y, 90.0, SIGNATURE_H));
            if let Some(pixels) = signature.take() {
                place_image(&layer, pixels, MARGIN + 2.0, box_y + 2.0, 86.0, SIGNATURE_H - 4.0);
            }
        }
        let footer = sheet.labels.page.replace("{page}", &(i + 1).to_string()).replace("{pages}", &pages.to_string());
        write(&layer, &regular, 8.0, 0.3, MARGIN, 10.0, &cell(&footer, Face::Regular, 8.0, width));
    }
    doc.save_to_bytes().map_err(pdf_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tools::{available, run};

    fn sheet(n: usize) -> LoanSheet {
        LoanSheet {
            labels: LoanSheetLabels {
                title: "Fiche de prêt".into(),
                borrower: "Emprunteur".into(),
                checked_out: "Sorti le".into(),
                due: "Retour prévu le".into(),
                note: "Note".into(),
                items: "Matériel prêté".into(),
                name: "Nom".into(),
                tag: "Étiquette".into(),
                serial: "N° de série".into(),
                statement: "Je reconnais avoir reçu le matériel ci-dessus en bon état.".into(),
                signature: "Signature de l'emprunteur".into(),
                page: "Page {page} / {pages}".into(),
            },
            organisation: "Mairie de Limoges".into(),
            borrower: "Élodie Émprunteuse".into(),
            checked_out_on: "06/12/2026 14:05".into(),
            due_on: "13/12/2026 18:00".into(),
            note: "Sortie scolaire".into(),
            items: (1..=n)
                .map(|i| LoanSheetItem {
                    name: format!("Chromebook {i}"),
                    tag: format!("CB-{i:03}"),
                    serial: format!("SN{i}"),
                })
                .collect(),
        }
    }

    /// A 2 × 1 white PNG.
    fn png() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, 2, 1);
            e.set_color(png::ColorType::Grayscale);
            e.set_depth(png::BitDepth::Eight);
            e.write_header().unwrap().write_image_data(&[0, 255]).unwrap();
        }
        out
    }

    #[test]
    fn the_sheet_lists_every_item_and_pages_long_lists() {
        let pdf = render_loan_sheet(&sheet(3), Some(&png())).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        let big = render_loan_sheet(&sheet(300), None).unwrap();
        if !available("loan_sheet", "pdftotext", &["-v"], "apt-get install -y poppler-utils") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sheet.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let text = run("pdftotext", &["-layout"], &path, &["-"]);
        for needle in
            ["Fiche de prêt", "Élodie Émprunteuse", "13/12/2026 18:00", "CB-003", "Chromebook 2", "Page 1 / 1"]
        {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        std::fs::write(&path, &big).unwrap();
        let text = run("pdftotext", &["-layout"], &path, &["-"]);
        assert!(text.contains("CB-300") && text.contains("CB-001") && text.contains("Page 1 / "), "{text}");
        assert!(!text.contains("Page 1 / 1"), "300 items take several pages");
    }
}
