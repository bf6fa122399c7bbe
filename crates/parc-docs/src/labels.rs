//! Asset labels on A4 sheets of adhesive labels, as a PDF.
//!
//! Each label shows, left to right, a QR code of the asset's URL (error
//! correction M, drawn as filled vector rectangles with its full 4-module
//! quiet zone) and a text block: the asset tag in large bold type, the asset
//! name (up to three lines), then the organisation and the hotline line at
//! the bottom. Text that does not fit is cut with an ellipsis, so nothing ever
//! spills onto a neighbouring label.
//!
//! Text uses the PDF builtin fonts Helvetica and Helvetica-Bold in their
//! Windows-1252 encoding, which covers French entirely (é è à ç ô œ Œ « » ’ €
//! …). Spaces of any kind print as a space; other characters outside
//! Windows-1252 (e.g. Polish "ł", Asian scripts) print as `?`, so that a gap
//! stays visible. No font file is embedded: PDFs stay small and the binary
//! self-contained.

use std::fmt;
use std::str::FromStr;

use printpdf::lopdf::content::Operation;
use printpdf::{BuiltinFont, Color, Greyscale, IndirectFontRef, Mm, PdfDocument, PdfLayerReference, Pt};
use qrcode::{EcLevel, QrCode};

use crate::metrics::{pdf_text, text_width, truncate, wrap, Face};
use crate::DocError;

const PAGE_WIDTH: f32 = 210.0;
const PAGE_HEIGHT: f32 = 297.0;

/// Sheet layouts on A4 portrait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelLayout {
    /// 3 columns × 8 rows of 70 × 37 mm labels, edge to edge, 0.5 mm top
    /// and bottom margins (e.g. Avery 3474 and compatibles).
    A4_3x8,
    /// 2 columns × 7 rows of 99.1 × 38.1 mm labels with a 2.5 mm gutter,
    /// 4.65 mm side and 15.15 mm top margins (e.g. Avery L7163).
    A4_2x7,
}

/// Where the labels of a layout sit on the page, in millimetres.
struct Geometry {
    columns: usize,
    rows: usize,
    width: f32,
    height: f32,
    /// Left edge of the first column.
    left: f32,
    /// Distance from the top of the page to the first row.
    top: f32,
    /// Distance between the left edges of two neighbouring columns.
    pitch_x: f32,
    /// Distance between the top edges of two neighbouring rows.
    pitch_y: f32,
}

impl LabelLayout {
    /// Every layout, in the order a user interface should offer them.
    pub fn all() -> &'static [LabelLayout] {
        &[LabelLayout::A4_3x8, LabelLayout::A4_2x7]
    }

    /// Stable identifier, accepted back by [`FromStr`]: `"3x8"` or `"2x7"`.
    pub fn id(&self) -> &'static str {
        match self {
            LabelLayout::A4_3x8 => "3x8",
            LabelLayout::A4_2x7 => "2x7",
        }
    }

    /// Language-neutral description for a selection list,
    /// e.g. `"A4 3 × 8 — 70 × 37 mm"`.
    pub fn description(&self) -> &'static str {
        match self {
            LabelLayout::A4_3x8 => "A4 3 × 8 — 70 × 37 mm",
            LabelLayout::A4_2x7 => "A4 2 × 7 — 99,1 × 38,1 mm",
        }
    }

    /// Number of labels on one sheet.
    pub fn per_page(&self) -> usize {
        let g = self.geometry();
        g.columns * g.rows
    }

    fn geometry(&self) -> Geometry {
        match self {
            LabelLayout::A4_3x8 => Geometry {
                columns: 3,
                rows: 8,
                width: 70.0,
                height: 37.0,
                left: 0.0,
                top: 0.5,
                pitch_x: 70.0,
                pitch_y: 37.0,
            },
            LabelLayout::A4_2x7 => Geometry {
                columns: 2,
                rows: 7,
                width: 99.1,
                height: 38.1,
                left: 4.65,
                top: 15.15,
                pitch_x: 101.6,
                pitch_y: 38.1,
            },
        }
    }
}

impl FromStr for LabelLayout {
    type Err = DocError;

    /// Parses an [`id`](LabelLayout::id) such as `"3x8"` (case-insensitive,
    /// an optional `A4_` / `a4-` prefix is accepted).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let id = lower.strip_prefix("a4_").or_else(|| lower.strip_prefix("a4-")).unwrap_or(&lower);
        LabelLayout::all()
            .iter()
            .copied()
            .find(|layout| layout.id() == id)
            .ok_or_else(|| DocError::UnknownLayout(s.to_owned()))
    }
}

impl fmt::Display for LabelLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What is printed on one label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Label {
    /// Inventory number, printed large and bold.
    pub asset_tag: String,
    /// Asset name or model.
    pub name: String,
    /// Owning organisation (e.g. "Mairie de Saint-Étienne").
    pub organisation: String,
    /// Already formatted support line, printed as is (e.g. "Hotline : 7000").
    pub hotline: String,
    /// Encoded in the QR code; no QR code is drawn when empty.
    pub url: String,
}

/// Renders `labels` on as many A4 pages as needed and returns the PDF bytes.
///
/// `skip` is the number of label positions already used on the first sheet
/// (counted left to right, top to bottom), so that a partly used sheet can be
/// fed again; it must be smaller than [`LabelLayout::per_page`].
///
/// Errors: [`DocError::Empty`] without labels, [`DocError::SkipOutOfRange`],
/// and [`DocError::Pdf`] if a URL is too long for a QR code.
pub fn render_labels(layout: LabelLayout, labels: &[Label], skip: usize) -> Result<Vec<u8>, DocError> {
    if labels.is_empty() {
        return Err(DocError::Empty);
    }
    let per_page = layout.per_page();
    if skip >= per_page {
        return Err(DocError::SkipOutOfRange { skip, per_page });
    }
    let geometry = layout.geometry();
    let pdf_err = |e: printpdf::Error| DocError::Pdf(e.to_string());

    let (doc, first_page, first_layer) = PdfDocument::new("Parc labels", Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), "labels");
    let fonts = Fonts {
        regular: doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?,
        bold: doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(pdf_err)?,
    };
    let mut layer = doc.get_page(first_page).get_layer(first_layer);
    for (i, label) in labels.iter().enumerate() {
        let slot = skip + i;
        if slot > 0 && slot.is_multiple_of(per_page) {
            let (page, page_layer) = doc.add_page(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), "labels");
            layer = doc.get_page(page).get_layer(page_layer);
        }
        let position = slot % per_page;
        let (column, row) = (position % geometry.columns, position / geometry.columns);
        let bounds = Bounds {
            left: geometry.left + column as f32 * geometry.pitch_x,
            top: PAGE_HEIGHT - geometry.top - row as f32 * geometry.pitch_y,
            width: geometry.width,
            height: geometry.height,
        };
        draw_label(&layer, &fonts, bounds, label)?;
    }
    doc.save_to_bytes().map_err(pdf_err)
}

struct Fonts {
    regular: IndirectFontRef,
    bold: IndirectFontRef,
}

/// A label's rectangle on the page, in millimetres from the bottom-left
/// corner of the page.
#[derive(Clone, Copy)]
struct Bounds {
    left: f32,
    top: f32,
    width: f32,
    height: f32,
}

/// Margin between the label's edge and the QR code's quiet zone (mm).
const QR_MARGIN: f32 = 1.5;
/// Margin kept free inside the label around the text (mm); labels of the
/// 3x8 layout touch each other, and printers shift by a millimetre or so.
const TEXT_MARGIN: f32 = 3.0;
/// Space between the QR code's quiet zone and the text (mm).
const GAP: f32 = 1.0;
/// Quiet zone around a QR code, in modules (ISO/IEC 18004 requires 4).
const QUIET_ZONE: usize = 4;

const TAG_MAX_SIZE: f32 = 15.0;
const TAG_MIN_SIZE: f32 = 9.0;
const NAME_SIZE: f32 = 9.0;
const NAME_LINES: usize = 3;
const ORGANISATION_SIZE: f32 = 7.5;
const HOTLINE_SIZE: f32 = 8.5;
/// Helvetica's cap height and descender, in em.
const CAP_HEIGHT: f32 = 0.718;
const DESCENT: f32 = 0.207;
const LINE_SPACING: f32 = 1.2;

fn draw_label(layer: &PdfLayerReference, fonts: &Fonts, b: Bounds, label: &Label) -> Result<(), DocError> {
    layer.set_fill_color(Color::Greyscale(Greyscale::new(0.0, None)));

    // QR code: a square as tall as the label allows, quiet zone included.
    let mut text_left = b.left + TEXT_MARGIN;
    if !label.url.is_empty() {
        let side = b.height - 2.0 * QR_MARGIN;
        draw_qr(layer, &label.url, b.left + QR_MARGIN, b.top - QR_MARGIN, side)?;
        text_left = b.left + QR_MARGIN + side + GAP;
    }
    let text_right = b.left + b.width - TEXT_MARGIN;
    let max_width = Pt::from(Mm(text_right - text_left)).0;
    if max_width <= 0.0 {
        return Ok(());
    }

    // From the top: the tag, shrunk until it fits, then the name.
    let mut baseline = Pt::from(Mm(b.top - TEXT_MARGIN)).0;
    let tag = pdf_text(&label.asset_tag);
    if !tag.is_empty() {
        let mut size = TAG_MAX_SIZE;
        while size > TAG_MIN_SIZE && text_width(&tag, Face::Bold, size) > max_width {
            size -= 0.5;
        }
        baseline -= CAP_HEIGHT * size;
        let tag = truncate(&tag, Face::Bold, size, max_width);
        write(layer, &fonts.bold, &tag, size, text_left, baseline);
        baseline -= (LINE_SPACING - CAP_HEIGHT) * size + 2.0;
    }
    let name_lines = wrap(&pdf_text(&label.name), Face::Regular, NAME_SIZE, max_width, NAME_LINES);
    for line in &name_lines {
        baseline -= LINE_SPACING * NAME_SIZE;
        write(layer, &fonts.regular, line, NAME_SIZE, text_left, baseline);
    }

    // From the bottom: the hotline line, and the organisation above it.
    let mut bottom = Pt::from(Mm(b.top - b.height + TEXT_MARGIN)).0;
    let hotline = pdf_text(&label.hotline);
    if !hotline.is_empty() {
        bottom += DESCENT * HOTLINE_SIZE;
        let hotline = truncate(&hotline, Face::Bold, HOTLINE_SIZE, max_width);
        write(layer, &fonts.bold, &hotline, HOTLINE_SIZE, text_left, bottom);
        bottom += LINE_SPACING * ORGANISATION_SIZE;
    } else {
        bottom += DESCENT * ORGANISATION_SIZE;
    }
    let organisation = pdf_text(&label.organisation);
    // Skipped rather than overprinted if a tall name left no room for it.
    if !organisation.is_empty() && bottom + CAP_HEIGHT * ORGANISATION_SIZE < baseline - DESCENT * NAME_SIZE {
        let organisation = truncate(&organisation, Face::Regular, ORGANISATION_SIZE, max_width);
        write(layer, &fonts.regular, &organisation, ORGANISATION_SIZE, text_left, bottom);
    }
    Ok(())
}

/// Writes one line of text; `x` in millimetres, `baseline` in points.
fn write(layer: &PdfLayerReference, font: &IndirectFontRef, text: &str, size: f32, x: f32, baseline: f32) {
    if !text.is_empty() {
        layer.use_text(text, size, Mm(x), Mm::from(Pt(baseline)), font);
    }
}

/// Draws the QR code of `data` in a `side` mm square whose top-left corner is
/// at (`left`, `top`), the quiet zone included. Dark modules are merged into
/// horizontal runs and all filled as one path, which renders without seams.
fn draw_qr(layer: &PdfLayerReference, data: &str, left: f32, top: f32, side: f32) -> Result<(), DocError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| DocError::Pdf(format!("cannot encode \"{data}\" as a QR code: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    let module = Pt::from(Mm(side)).0 / (width + 2 * QUIET_ZONE) as f32;
    let x0 = Pt::from(Mm(left)).0 + QUIET_ZONE as f32 * module;
    let y0 = Pt::from(Mm(top)).0 - QUIET_ZONE as f32 * module;
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] != qrcode::Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == qrcode::Color::Dark {
                x += 1;
            }
            let operands =
                [x0 + start as f32 * module, y0 - (y + 1) as f32 * module, (x - start) as f32 * module, module];
            layer.add_operation(Operation::new("re", operands.into_iter().map(Into::into).collect()));
        }
    }
    layer.add_operation(Operation::new("f", Vec::new()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use printpdf::lopdf;

    fn sample(n: usize) -> Vec<Label> {
        (1..=n)
            .map(|i| Label {
                asset_tag: format!("INV-{i:06}"),
                name: format!("Ordinateur portable n°{i} — service état civil, bâtiment Œuvre"),
                organisation: "Mairie de Saint-Étienne-du-Rouvray".into(),
                hotline: "Hotline : 7000".into(),
                url: format!("https://parc.mairie.example/a/{i}"),
            })
            .collect()
    }

    fn load(pdf: &[u8]) -> lopdf::Document {
        assert!(pdf.starts_with(b"%PDF"), "not a PDF");
        lopdf::Document::load_mem(pdf).expect("the PDF parses")
    }

    /// Operations of the content stream of page `n` (1-based).
    fn operations(doc: &lopdf::Document, n: u32) -> Vec<Operation> {
        let pages = doc.get_pages();
        let content = doc.get_page_content(pages[&n]).expect("page content");
        lopdf::content::Content::decode(&content).expect("decodes").operations
    }

    #[test]
    fn page_counts() {
        let labels = sample(30);
        let doc = load(&render_labels(LabelLayout::A4_3x8, &labels, 0).unwrap());
        assert_eq!(doc.get_pages().len(), 2);
        let doc = load(&render_labels(LabelLayout::A4_2x7, &labels, 0).unwrap());
        assert_eq!(doc.get_pages().len(), 3);
        // Exactly one full sheet, then one more label.
        let doc = load(&render_labels(LabelLayout::A4_3x8, &sample(24), 0).unwrap());
        assert_eq!(doc.get_pages().len(), 1);
        let doc = load(&render_labels(LabelLayout::A4_3x8, &sample(25), 0).unwrap());
        assert_eq!(doc.get_pages().len(), 2);
    }

    #[test]
    fn skip_moves_the_first_label() {
        let labels = sample(24);
        let doc = load(&render_labels(LabelLayout::A4_3x8, &labels, 1).unwrap());
        assert_eq!(doc.get_pages().len(), 2, "24 labels after 1 used position");
        let first_x = |doc: &lopdf::Document| {
            operations(doc, 1)
                .iter()
                .find(|op| op.operator == "re")
                .map(|op| op.operands[0].as_float().unwrap())
                .unwrap()
        };
        let skipped = first_x(&doc);
        let plain = first_x(&load(&render_labels(LabelLayout::A4_3x8, &labels, 0).unwrap()));
        let pitch = Pt::from(Mm(70.0)).0;
        assert!((skipped - plain - pitch).abs() < 0.01, "{skipped} vs {plain}");

        // Skipping 23 positions leaves one label on the first sheet.
        let doc = load(&render_labels(LabelLayout::A4_3x8, &sample(2), 23).unwrap());
        assert_eq!(doc.get_pages().len(), 2);
    }

    #[test]
    fn text_is_encoded_in_win_ansi() {
        let label = Label {
            asset_tag: "ÉCOLE-42".into(),
            name: "Vidéoprojecteur à façade".into(),
            organisation: "Cœur".into(),
            hotline: "Hotline : 7000".into(),
            url: String::new(),
        };
        let doc = load(&render_labels(LabelLayout::A4_2x7, &[label], 0).unwrap());
        let texts: Vec<Vec<u8>> = operations(&doc, 1)
            .iter()
            .filter(|op| op.operator == "Tj")
            .map(|op| op.operands[0].as_str().unwrap().to_vec())
            .collect();
        assert!(texts.contains(&b"\xC9COLE-42".to_vec()), "{texts:?}");
        assert!(texts.contains(&b"Vid\xE9oprojecteur \xE0 fa\xE7ade".to_vec()), "{texts:?}");
        assert!(texts.contains(&b"C\x9Cur".to_vec()), "{texts:?}");
        // No URL: no QR code.
        assert!(!operations(&doc, 1).iter().any(|op| op.operator == "re"));
    }

    #[test]
    fn errors() {
        assert!(matches!(render_labels(LabelLayout::A4_3x8, &[], 0), Err(DocError::Empty)));
        assert!(matches!(
            render_labels(LabelLayout::A4_2x7, &sample(1), 14),
            Err(DocError::SkipOutOfRange { skip: 14, per_page: 14 })
        ));
        let huge = Label { url: "x".repeat(5000), ..Label::default() };
        assert!(matches!(render_labels(LabelLayout::A4_2x7, &[huge], 0), Err(DocError::Pdf(_))));
    }

    #[test]
    fn layouts() {
        for layout in LabelLayout::all() {
            assert_eq!(layout.id().parse::<LabelLayout>().unwrap(), *layout);
            let g = layout.geometry();
            // Every label lies on the page.
            let right = g.left + (g.columns - 1) as f32 * g.pitch_x + g.width;
            let bottom = g.top + (g.rows - 1) as f32 * g.pitch_y + g.height;
            assert!(right <= PAGE_WIDTH + 0.01 && bottom <= PAGE_HEIGHT + 0.01);
        }
        assert_eq!("A4_3x8".parse::<LabelLayout>().unwrap(), LabelLayout::A4_3x8);
        assert_eq!(LabelLayout::A4_2x7.per_page(), 14);
        assert!(matches!("4x4".parse::<LabelLayout>(), Err(DocError::UnknownLayout(_))));
    }

    /// Writes a sample sheet for a manual look:
    /// `PARC_LABELS_PDF=/tmp/labels.pdf cargo test -p parc-docs write_sample -- --ignored`
    #[test]
    #[ignore = "writes a file for manual inspection"]
    fn write_sample() {
        let path = std::env::var("PARC_LABELS_PDF").unwrap_or_else(|_| "/tmp/labels.pdf".into());
        let layout = std::env::var("PARC_LABELS_LAYOUT").unwrap_or_else(|_| "3x8".into());
        let mut labels = sample(30);
        labels[1].name = "Écran".into();
        labels[2].asset_tag = "TRÈS-LONG-NUMÉRO-D'INVENTAIRE-000000000042".into();
        labels[3].organisation = String::new();
        labels[4].url = String::new();
        let pdf = render_labels(layout.parse().unwrap(), &labels, 2).unwrap();
        std::fs::write(path, pdf).unwrap();
    }
}
