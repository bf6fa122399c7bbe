//! A generic signed form as an A4 PDF: hand-over receipts, loan check-out
//! sheets, campaign reconciliation reports.
//!
//! A [`FormDocument`] is a header (organisation, reference number, title,
//! subtitle), a list of [`Block`]s printed one below the other, a row of
//! [`SignatureBox`]es and a footer on every page ("organisation … reference —
//! Page n/N"). Blocks are:
//!
//! * [`Block::Heading`]: a section heading on a light band, kept with what
//!   follows it;
//! * [`Block::Rows`]: caption/value rows (values wrap; long values continue on
//!   the next page);
//! * [`Block::Checkboxes`]: a caption and ticked or empty boxes (accessories
//!   returned and delivered); a ticked box prints an `X` inside, so the state
//!   is in the text layer too (`pdftotext` shows `X Chargeur`);
//! * [`Block::Table`]: a table with a header band repeated on every page it
//!   flows over, cells wrapped over at most [`TABLE_CELL_LINES`] lines;
//! * [`Block::Paragraph`]: free text, line breaks kept.
//!
//! Signature boxes go two per line; each may carry the signer's name, a date
//! and a PNG drawn on a signature pad (checked and composited over white like
//! the intervention sheet's, see [`crate::intervention::check_signature_png`]).
//!
//! Like the other PDFs of this crate, text uses the builtin Helvetica fonts
//! in Windows-1252: French prints fully and stays extractable. Captions and
//! values are given already translated and formatted; this module has no
//! vocabulary of its own. The SHA-256 of the document is the caller's
//! business (computed from the returned bytes).

use printpdf::lopdf::content::Operation;
use printpdf::{BuiltinFont, Mm, PdfDocument};

use crate::intervention::{decode_signature, paragraphs, place_image, rectangle, stroke, write, Pixels};
use crate::metrics::{pdf_text, text_width, truncate, wrap, Face};
use crate::DocError;

/// Most lines a table cell wraps over before it is cut with an ellipsis.
pub const TABLE_CELL_LINES: usize = 3;

/// A form to print; see the module documentation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormDocument {
    /// Title, e.g. "Bordereau de remise de téléphone mobile".
    pub title: String,
    /// A line under the title (empty: none), e.g. the date of the hand-over.
    pub subtitle: String,
    /// Organisation name, top left and in the footer.
    pub organisation: String,
    /// Caption before the reference, e.g. "N°".
    pub reference_caption: String,
    /// Reference of the document, e.g. "R-2026-000012", top right and in
    /// the footer of every page.
    pub reference: String,
    /// The body, printed in order.
    pub blocks: Vec<Block>,
    /// Signature boxes, two per line, after the body.
    pub signatures: Vec<SignatureBox>,
    /// Word before the page number, e.g. "Page".
    pub page_caption: String,
}

/// One part of a form's body.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// Caption/value rows.
    Rows(Vec<(String, String)>),
    /// A caption and checkboxes: `(label, ticked)`.
    Checkboxes {
        /// Caption of the row, e.g. "Accessoires remis".
        caption: String,
        /// The boxes, in order.
        items: Vec<(String, bool)>,
    },
    /// A table that may flow over several pages.
    Table(FormTable),
    /// Free text; line breaks are kept.
    Paragraph(String),
}

/// A table: headers, rows of cells and relative column widths.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormTable {
    /// Column headers; their count is the number of columns.
    pub headers: Vec<String>,
    /// Relative widths (e.g. `[1.0, 3.0, 1.0]`); empty or of another length
    /// than `headers`: equal widths.
    pub widths: Vec<f32>,
    /// Rows; missing cells print empty, extra cells are ignored.
    pub rows: Vec<Vec<String>>,
}

/// One signature box.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureBox {
    /// Caption, e.g. "Signature de l'usager".
    pub caption: String,
    /// Name of the signer, printed under the caption (empty: none).
    pub signer: String,
    /// Date of signature, printed after the name (empty: none).
    pub signed_on: String,
    /// The signature drawn on screen, as PNG bytes; `None` leaves the box
    /// empty to be signed by hand.
    pub png: Option<Vec<u8>>,
}

/// Renders the form and returns the PDF bytes.
///
/// Errors: [`DocError::TooLarge`] or [`DocError::InvalidImage`] for a
/// signature that is not an acceptable PNG, [`DocError::Pdf`] if the PDF
/// cannot be produced.
pub fn render_form(form: &FormDocument) -> Result<Vec<u8>, DocError> {
    let images = form
        .signatures
        .iter()
        .map(|s| s.png.as_deref().map(decode_signature).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let mut layout = Layout::new(form);
    layout.header(form);
    for block in &form.blocks {
        layout.block(block);
    }
    layout.signatures(&form.signatures);
    layout.footers(form);
    draw(form, layout.pages, images)
}

// ---------------------------------------------------------------------------
// Layout

const PAGE_WIDTH: f32 = 210.0;
const PAGE_HEIGHT: f32 = 297.0;
const MARGIN_X: f32 = 15.0;
const MARGIN_TOP: f32 = 15.0;
const CONTENT_BOTTOM: f32 = 18.0;
const FOOTER_BASELINE: f32 = 10.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
const CAPTION_WIDTH: f32 = 52.0;
const COLUMN_GAP: f32 = 3.0;
const VALUE_LEFT: f32 = MARGIN_X + CAPTION_WIDTH + COLUMN_GAP;
const VALUE_WIDTH: f32 = PAGE_WIDTH - MARGIN_X - VALUE_LEFT;
const ROW_PADDING: f32 = 1.3;
const CELL_PADDING: f32 = 1.2;

const TITLE_SIZE: f32 = 16.0;
const SUBTITLE_SIZE: f32 = 10.0;
const ORGANISATION_SIZE: f32 = 10.0;
const REFERENCE_SIZE: f32 = 12.0;
const HEADING_SIZE: f32 = 10.5;
const CAPTION_SIZE: f32 = 8.5;
const VALUE_SIZE: f32 = 9.5;
const TABLE_SIZE: f32 = 8.5;
const SMALL_SIZE: f32 = 8.0;
const LINE_SPACING: f32 = 1.3;
const CAPTION_LINES: usize = 3;
const KEEP_LINES: usize = 3;
const CHECKBOX_SIDE: f32 = 3.2;
const CHECKBOXES_PER_LINE: usize = 2;
const SIGNATURE_BOX_HEIGHT: f32 = 40.0;
const SIGNATURE_BOX_GAP: f32 = 6.0;

const CAPTION_GREY: f32 = 0.3;
const RULE_GREY: f32 = 0.78;
const BAND_GREY: f32 = 0.92;
const FRAME_GREY: f32 = 0.45;

const MM_PER_PT: f32 = 25.4 / 72.0;

fn pt_to_mm(pt: f32) -> f32 {
    pt * MM_PER_PT
}

fn mm_to_pt(mm: f32) -> f32 {
    mm / MM_PER_PT
}

fn line_height(size: f32) -> f32 {
    pt_to_mm(LINE_SPACING * size)
}

fn baseline_offset(size: f32) -> f32 {
    pt_to_mm((LINE_SPACING * size + 0.718 * size) / 2.0 + 0.05 * size)
}

/// One drawing operation; positions in mm from the bottom-left corner.
enum Op {
    Text {
        face: Face,
        size: f32,
        grey: f32,
        x: f32,
        baseline: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        grey: f32,
        width: f32,
    },
    Band {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        grey: f32,
    },
    Frame {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        grey: f32,
    },
    /// Signature image number `index`, fitted into the rectangle.
    Image {
        index: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
    running_head: String,
}

fn joined(parts: &[&str], separator: &str) -> String {
    parts.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(separator)
}

impl Layout {
    fn new(form: &FormDocument) -> Self {
        let running_head = pdf_text(&joined(&[&form.title, &form.reference], " — "));
        Layout { pages: vec![Vec::new()], y: PAGE_HEIGHT - MARGIN_TOP, running_head }
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, face: Face, size: f32, grey: f32, x: f32, baseline: f32, text: String) {
        if !text.is_empty() {
            self.push(Op::Text { face, size, grey, x, baseline, text });
        }
    }

    fn rule(&mut self, y: f32, grey: f32, width: f32) {
        self.push(Op::Line { x1: MARGIN_X, y1: y, x2: PAGE_WIDTH - MARGIN_X, y2: y, grey, width });
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE_HEIGHT - MARGIN_TOP;
        let head = truncate(&self.running_head, Face::Regular, SMALL_SIZE, mm_to_pt(CONTENT_WIDTH));
        self.y -= line_height(SMALL_SIZE);
        self.text(Face::Regular, SMALL_SIZE, CAPTION_GREY, MARGIN_X, self.y + pt_to_mm(0.25 * SMALL_SIZE), head);
        self.y -= 1.5;
        self.rule(self.y, RULE_GREY, 0.5);
    }

    fn ensure(&mut self, height: f32) {
        if self.y - height < CONTENT_BOTTOM {
            self.new_page();
        }
    }

    fn header(&mut self, form: &FormDocument) {
        let half = mm_to_pt(CONTENT_WIDTH / 2.0 - 2.0);
        let top = self.y;
        let baseline = top - baseline_offset(REFERENCE_SIZE);
        let organisation = truncate(&pdf_text(&form.organisation), Face::Bold, ORGANISATION_SIZE, half);
        self.text(Face::Bold, ORGANISATION_SIZE, CAPTION_GREY, MARGIN_X, baseline, organisation);
        let number = truncate(&pdf_text(&form.reference), Face::Bold, REFERENCE_SIZE, half);
        let number_width = pt_to_mm(text_width(&number, Face::Bold, REFERENCE_SIZE));
        let right = PAGE_WIDTH - MARGIN_X;
        let caption = pdf_text(&form.reference_caption);
        if !caption.is_empty() && !number.is_empty() {
            let room = (half - mm_to_pt(number_width) - mm_to_pt(2.0)).max(0.0);
            let caption = truncate(&caption, Face::Regular, CAPTION_SIZE, room);
            let width = pt_to_mm(text_width(&caption, Face::Regular, CAPTION_SIZE));
            self.text(Face::Regular, CAPTION_SIZE, CAPTION_GREY, right - number_width - 2.0 - width, baseline, caption);
        }
        self.text(Face::Bold, REFERENCE_SIZE, 0.0, right - number_width, baseline, number);
        self.y = top - line_height(REFERENCE_SIZE) - 1.0;
        for line in wrap(&pdf_text(&form.title), Face::Bold, TITLE_SIZE, mm_to_pt(CONTENT_WIDTH), 2) {
            let baseline = self.y - baseline_offset(TITLE_SIZE);
            self.text(Face::Bold, TITLE_SIZE, 0.0, MARGIN_X, baseline, line);
            self.y -= line_height(TITLE_SIZE);
        }
        for line in wrap(&pdf_text(&form.subtitle), Face::Regular, SUBTITLE_SIZE, mm_to_pt(CONTENT_WIDTH), 2) {
            let baseline = self.y - baseline_offset(SUBTITLE_SIZE);
            self.text(Face::Regular, SUBTITLE_SIZE, CAPTION_GREY, MARGIN_X, baseline, line);
            self.y -= line_height(SUBTITLE_SIZE);
        }
        self.y -= 1.5;
        self.rule(self.y, 0.0, 1.2);
        self.y -= 1.0;
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Heading(caption) => {
                self.y -= 3.0;
                // Kept with the first row that follows.
                self.ensure(line_height(HEADING_SIZE) + 2.0 + 2.0 * ROW_PADDING + line_height(VALUE_SIZE) * 2.0);
                self.heading(caption);
            }
            Block::Rows(rows) => {
                for (caption, value) in rows {
                    self.row(caption, value);
                }
            }
            Block::Checkboxes { caption, items } => self.checkboxes(caption, items),
            Block::Table(table) => self.table(table),
            Block::Paragraph(text) => self.paragraph(text),
        }
    }

    fn heading(&mut self, caption: &str) {
        let height = line_height(HEADING_SIZE) + 2.0;
        self.push(Op::Band { x: MARGIN_X, y: self.y - height, w: CONTENT_WIDTH, h: height, grey: BAND_GREY });
        let text = truncate(&pdf_text(caption), Face::Bold, HEADING_SIZE, mm_to_pt(CONTENT_WIDTH - 4.0));
        let baseline = self.y - 1.0 - baseline_offset(HEADING_SIZE);
        self.text(Face::Bold, HEADING_SIZE, 0.0, MARGIN_X + 2.0, baseline, text);
        self.y -= height;
    }

    /// The caption of a row, on the baseline of the value's first line.
    fn caption(&mut self, caption: &str, top: f32) -> f32 {
        let captions = wrap(&pdf_text(caption), Face::Bold, CAPTION_SIZE, mm_to_pt(CAPTION_WIDTH), CAPTION_LINES);
        let height = captions.len() as f32 * line_height(CAPTION_SIZE);
        for (i, line) in captions.into_iter().enumerate() {
            let baseline = top - i as f32 * line_height(CAPTION_SIZE) - baseline_offset(VALUE_SIZE);
            self.text(Face::Bold, CAPTION_SIZE, CAPTION_GREY, MARGIN_X, baseline, line);
        }
        height
    }

    fn row(&mut self, caption: &str, value: &str) {
        let lines = paragraphs(value, Face::Regular, VALUE_SIZE, mm_to_pt(VALUE_WIDTH), usize::MAX);
        let value_line = line_height(VALUE_SIZE);
        let caption_lines = wrap(&pdf_text(caption), Face::Bold, CAPTION_SIZE, mm_to_pt(CAPTION_WIDTH), CAPTION_LINES);
        let caption_height = caption_lines.len() as f32 * line_height(CAPTION_SIZE);
        let kept = lines.len().clamp(1, KEEP_LINES) as f32 * value_line;
        self.ensure(2.0 * ROW_PADDING + caption_height.max(kept));
        let top = self.y - ROW_PADDING;
        let caption_height = self.caption(caption, top);
        let (first_page, mut y) = (self.pages.len(), top);
        for line in lines {
            if y - value_line < CONTENT_BOTTOM {
                self.new_page();
                y = self.y - ROW_PADDING;
            }
            self.text(Face::Regular, VALUE_SIZE, 0.0, VALUE_LEFT, y - baseline_offset(VALUE_SIZE), line);
            y -= value_line;
        }
        let mut bottom = y.min(top - value_line);
        if self.pages.len() == first_page {
            bottom = bottom.min(top - caption_height);
        }
        self.y = bottom - ROW_PADDING;
        self.rule(self.y, RULE_GREY, 0.5);
    }

    fn checkboxes(&mut self, caption: &str, items: &[(String, bool)]) {
        let line = line_height(VALUE_SIZE) + 0.8;
        // Two boxes per line; a lone box gets the whole line for its label.
        let per_line = items.len().clamp(1, CHECKBOXES_PER_LINE);
        let lines = items.len().div_ceil(per_line).max(1);
        self.ensure(2.0 * ROW_PADDING + lines as f32 * line);
        let top = self.y - ROW_PADDING;
        let caption_height = self.caption(caption, top);
        let cell = VALUE_WIDTH / per_line as f32;
        for (i, (label, ticked)) in items.iter().enumerate() {
            let x = VALUE_LEFT + (i % per_line) as f32 * cell;
            let row_top = top - (i / per_line) as f32 * line;
            let baseline = row_top - baseline_offset(VALUE_SIZE);
            let box_bottom = baseline - 0.6;
            self.push(Op::Frame { x, y: box_bottom, w: CHECKBOX_SIDE, h: CHECKBOX_SIDE, grey: 0.0 });
            if *ticked {
                let mark_width = pt_to_mm(text_width("X", Face::Bold, VALUE_SIZE));
                let mark_x = x + (CHECKBOX_SIDE - mark_width) / 2.0;
                self.text(Face::Bold, VALUE_SIZE, 0.0, mark_x, baseline, "X".into());
            }
            let room = mm_to_pt(cell - CHECKBOX_SIDE - 3.0);
            let text = truncate(&pdf_text(label), Face::Regular, VALUE_SIZE, room);
            self.text(Face::Regular, VALUE_SIZE, 0.0, x + CHECKBOX_SIDE + 1.5, baseline, text);
        }
        self.y = (top - lines as f32 * line).min(top - caption_height) - ROW_PADDING;
        self.rule(self.y, RULE_GREY, 0.5);
    }

    fn paragraph(&mut self, text: &str) {
        self.y -= ROW_PADDING;
        for line in paragraphs(text, Face::Regular, VALUE_SIZE, mm_to_pt(CONTENT_WIDTH), usize::MAX) {
            self.ensure(line_height(VALUE_SIZE));
            self.text(Face::Regular, VALUE_SIZE, 0.0, MARGIN_X, self.y - baseline_offset(VALUE_SIZE), line);
            self.y -= line_height(VALUE_SIZE);
        }
        self.y -= ROW_PADDING;
    }

    /// Column lefts and widths of a table, in mm.
    fn columns(table: &FormTable) -> Vec<(f32, f32)> {
        let n = table.headers.len();
        let weights: Vec<f32> = if table.widths.len() == n && table.widths.iter().all(|w| w.is_finite() && *w > 0.0) {
            table.widths.clone()
        } else {
            vec![1.0; n]
        };
        let total: f32 = weights.iter().sum();
        let mut x = MARGIN_X;
        weights
            .iter()
            .map(|w| {
                let width = CONTENT_WIDTH * w / total;
                let column = (x, width);
                x += width;
                column
            })
            .collect()
    }

    /// Wrapped lines of each cell of a row.
    fn cells(row: &[String], columns: &[(f32, f32)], face: Face) -> Vec<Vec<String>> {
        columns
            .iter()
            .enumerate()
            .map(|(i, (_, width))| {
                let text = row.get(i).map(String::as_str).unwrap_or("");
                let room = mm_to_pt(width - 2.0 * CELL_PADDING).max(1.0);
                paragraphs(text, face, TABLE_SIZE, room, TABLE_CELL_LINES)
            })
            .collect()
    }

    fn table_row(&mut self, cells: Vec<Vec<String>>, columns: &[(f32, f32)], face: Face, band: bool) {
        let lines = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let height = lines as f32 * line_height(TABLE_SIZE) + 2.0 * CELL_PADDING;
        if band {
            self.push(Op::Band { x: MARGIN_X, y: self.y - height, w: CONTENT_WIDTH, h: height, grey: BAND_GREY });
        }
        let top = self.y - CELL_PADDING;
        for ((x, _), cell) in columns.iter().zip(cells) {
            for (i, line) in cell.into_iter().enumerate() {
                let baseline = top - i as f32 * line_height(TABLE_SIZE) - baseline_offset(TABLE_SIZE);
                self.text(face, TABLE_SIZE, 0.0, x + CELL_PADDING, baseline, line);
            }
        }
        self.y -= height;
        self.rule(self.y, RULE_GREY, 0.5);
    }

    fn table(&mut self, table: &FormTable) {
        if table.headers.is_empty() {
            return;
        }
        let columns = Self::columns(table);
        let header = Self::cells(&table.headers, &columns, Face::Bold);
        let header_height = |cells: &Vec<Vec<String>>| {
            cells.iter().map(Vec::len).max().unwrap_or(0).max(1) as f32 * line_height(TABLE_SIZE) + 2.0 * CELL_PADDING
        };
        let head_h = header_height(&header);
        self.y -= 1.0;
        // The header and the first row stay together.
        let first = table.rows.first().map(|r| header_height(&Self::cells(r, &columns, Face::Regular))).unwrap_or(0.0);
        self.ensure(head_h + first);
        self.table_row(header.clone(), &columns, Face::Bold, true);
        for row in &table.rows {
            let cells = Self::cells(row, &columns, Face::Regular);
            let height = header_height(&cells);
            if self.y - height < CONTENT_BOTTOM {
                self.new_page();
                self.table_row(header.clone(), &columns, Face::Bold, true);
            }
            self.table_row(cells, &columns, Face::Regular, false);
        }
    }

    fn signatures(&mut self, boxes: &[SignatureBox]) {
        let width = (CONTENT_WIDTH - SIGNATURE_BOX_GAP) / 2.0;
        for (pair, chunk) in boxes.chunks(2).enumerate() {
            self.y -= 4.0;
            self.ensure(SIGNATURE_BOX_HEIGHT);
            let bottom = self.y - SIGNATURE_BOX_HEIGHT;
            for (i, sig) in chunk.iter().enumerate() {
                let x = MARGIN_X + i as f32 * (width + SIGNATURE_BOX_GAP);
                self.push(Op::Frame { x, y: bottom, w: width, h: SIGNATURE_BOX_HEIGHT, grey: FRAME_GREY });
                let room = mm_to_pt(width - 4.0);
                let mut y = self.y - 1.0;
                let caption = truncate(&pdf_text(&sig.caption), Face::Bold, CAPTION_SIZE, room);
                self.text(Face::Bold, CAPTION_SIZE, CAPTION_GREY, x + 2.0, y - baseline_offset(CAPTION_SIZE), caption);
                y -= line_height(CAPTION_SIZE);
                let who = pdf_text(&joined(&[&sig.signer, &sig.signed_on], " — "));
                if !who.is_empty() {
                    let who = truncate(&who, Face::Regular, CAPTION_SIZE, room);
                    self.text(Face::Regular, CAPTION_SIZE, 0.0, x + 2.0, y - baseline_offset(CAPTION_SIZE), who);
                    y -= line_height(CAPTION_SIZE);
                }
                if sig.png.is_some() {
                    let index = pair * 2 + i;
                    self.push(Op::Image {
                        index,
                        x: x + 2.0,
                        y: bottom + 2.0,
                        w: width - 4.0,
                        h: y - 1.0 - (bottom + 2.0),
                    });
                }
            }
            self.y = bottom;
        }
    }

    fn footers(&mut self, form: &FormDocument) {
        let count = self.pages.len();
        let organisation = pdf_text(&form.organisation);
        let reference = pdf_text(&form.reference);
        for (i, page) in self.pages.iter_mut().enumerate() {
            let number = pdf_text(&format!("{} {}/{count}", form.page_caption.trim(), i + 1));
            let right = joined(&[&reference, &number], " — ");
            let right = truncate(&right, Face::Regular, SMALL_SIZE, mm_to_pt(CONTENT_WIDTH / 2.0));
            let right_width = pt_to_mm(text_width(&right, Face::Regular, SMALL_SIZE));
            let room = mm_to_pt(CONTENT_WIDTH - right_width - 4.0).max(0.0);
            let left = truncate(&organisation, Face::Regular, SMALL_SIZE, room);
            for (x, text) in [(MARGIN_X, left), (PAGE_WIDTH - MARGIN_X - right_width, right)] {
                if !text.is_empty() {
                    page.push(Op::Text {
                        face: Face::Regular,
                        size: SMALL_SIZE,
                        grey: CAPTION_GREY,
                        x,
                        baseline: FOOTER_BASELINE,
                        text,
                    });
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Drawing

fn draw(form: &FormDocument, pages: Vec<Vec<Op>>, mut images: Vec<Option<Pixels>>) -> Result<Vec<u8>, DocError> {
    let pdf_err = |e: printpdf::Error| DocError::Pdf(e.to_string());
    let title = joined(&[&form.title, &form.reference], " ");
    let (doc, first_page, first_layer) = PdfDocument::new(title, Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), "form");
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?;
    let bold = doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(pdf_err)?;
    let mut layer = doc.get_page(first_page).get_layer(first_layer);
    for (i, ops) in pages.into_iter().enumerate() {
        if i > 0 {
            let (page, page_layer) = doc.add_page(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), "form");
            layer = doc.get_page(page).get_layer(page_layer);
        }
        for op in ops {
            match op {
                Op::Text { face, size, grey, x, baseline, text } => {
                    let font = if face == Face::Bold { &bold } else { &regular };
                    write(&layer, font, size, grey, x, baseline, &text);
                }
                Op::Line { x1, y1, x2, y2, grey, width } => {
                    let points = [mm_to_pt(x1), mm_to_pt(y1), mm_to_pt(x2), mm_to_pt(y2)];
                    stroke(&layer, grey, width, |layer| {
                        layer.add_operation(Operation::new("m", vec![points[0].into(), points[1].into()]));
                        layer.add_operation(Operation::new("l", vec![points[2].into(), points[3].into()]));
                    });
                }
                Op::Frame { x, y, w, h, grey } => stroke(&layer, grey, 0.6, |layer| rectangle(layer, x, y, w, h)),
                Op::Band { x, y, w, h, grey } => {
                    layer.save_graphics_state();
                    layer.add_operation(Operation::new("g", vec![grey.into()]));
                    rectangle(&layer, x, y, w, h);
                    layer.add_operation(Operation::new("f", Vec::new()));
                    layer.restore_graphics_state();
                }
                Op::Image { index, x, y, w, h } => {
                    if let Some(pixels) = images.get_mut(index).and_then(Option::take) {
                        place_image(&layer, pixels, x, y, w, h);
                    }
                }
            }
        }
    }
    doc.save_to_bytes().map_err(pdf_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervention::tests::signature;
    use crate::test_tools::{available, run};
    use std::path::Path;

    const POPPLER: &str = "apt-get install -y poppler-utils";

    fn poppler(test: &str) -> bool {
        available(test, "pdfinfo", &["-v"], POPPLER) && available(test, "pdftotext", &["-v"], POPPLER)
    }

    fn pages(path: &Path) -> usize {
        let info = run("pdfinfo", &[], path, &[]);
        let line = info.lines().find(|l| l.starts_with("Pages:")).expect("Pages line");
        line["Pages:".len()..].trim().parse().unwrap()
    }

    fn text(path: &Path) -> String {
        let text = run("pdftotext", &["-layout", "-enc", "UTF-8"], path, &["-"]);
        let squeeze = |page: &str| {
            page.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
        };
        text.split('\u{c}').map(squeeze).collect::<Vec<_>>().join("\u{c}")
    }

    fn receipt() -> FormDocument {
        let png = signature(400, 150, png::ColorType::Rgba);
        FormDocument {
            title: "Bordereau de remise de téléphone mobile".into(),
            subtitle: "Remis le 06/12/2026 14:02".into(),
            organisation: "Mairie de Saint-Étienne-du-Rouvray".into(),
            reference_caption: "N°".into(),
            reference: "R-000012".into(),
            blocks: vec![
                Block::Rows(vec![
                    ("Service".into(), "Direction des sports".into()),
                    ("Utilisateur".into(), "Hélène Dupré".into()),
                ]),
                Block::Heading("Appareil remis".into()),
                Block::Rows(vec![("IMEI".into(), "490154203237518".into()), ("PUK".into(), "12345678".into())]),
                Block::Checkboxes {
                    caption: "Accessoires remis".into(),
                    items: vec![("Chargeur".into(), true), ("Étui".into(), false), ("Boîte".into(), true)],
                },
                Block::Paragraph("Appareil rendu réinitialisé par le technicien.".into()),
            ],
            signatures: vec![
                SignatureBox {
                    caption: "Signature de l'usager".into(),
                    signer: "Hélène Dupré".into(),
                    signed_on: "06/12/2026".into(),
                    png: Some(png.clone()),
                },
                SignatureBox {
                    caption: "Signature du technicien".into(),
                    signer: "François Nœl".into(),
                    signed_on: String::new(),
                    png: Some(png),
                },
            ],
            page_caption: "Page".into(),
        }
    }

    #[test]
    fn prints_rows_checkboxes_and_two_signatures() {
        if !poppler("form::prints_rows_checkboxes_and_two_signatures") {
            return;
        }
        let pdf = render_form(&receipt()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receipt.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let text = text(&path);
        for value in [
            "Mairie de Saint-Étienne-du-Rouvray",
            "N° R-000012",
            "Bordereau de remise de téléphone mobile",
            "Remis le 06/12/2026 14:02",
            "Service Direction des sports",
            "Utilisateur Hélène Dupré",
            "Appareil remis",
            "IMEI 490154203237518",
            "X Chargeur",
            "X Boîte",
            "Appareil rendu réinitialisé par le technicien.",
            "Signature de l'usager",
            "Signature du technicien",
            "Hélène Dupré — 06/12/2026",
            "François Nœl",
            "R-000012 — Page 1/1",
        ] {
            assert!(text.contains(value), "{value:?} missing from:\n{text}");
        }
        // An empty box prints no mark.
        assert!(!text.contains("X Étui"), "{text}");
        assert!(text.contains("Étui"), "{text}");
        assert_eq!(pages(&path), 1);
        if available("form::prints_rows_checkboxes_and_two_signatures", "pdfimages", &["-v"], POPPLER) {
            let list = run("pdfimages", &["-list"], &path, &[]);
            assert_eq!(list.lines().skip(2).count(), 2, "two signature images: {list}");
        }
    }

    #[test]
    fn long_tables_flow_over_pages_with_their_header() {
        if !poppler("form::long_tables_flow_over_pages_with_their_header") {
            return;
        }
        let rows: Vec<Vec<String>> =
            (1..=150).map(|i| vec![format!("INV-{i:05}"), format!("PC élève n° {i}"), "Salle 12".into()]).collect();
        let form = FormDocument {
            blocks: vec![Block::Table(FormTable {
                headers: vec!["N° d'inventaire".into(), "Désignation".into(), "Lieu".into()],
                widths: vec![1.0, 2.0, 1.0],
                rows,
            })],
            signatures: vec![SignatureBox { caption: "Signature du directeur".into(), ..SignatureBox::default() }],
            ..receipt()
        };
        let pdf = render_form(&form).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let n = pages(&path);
        assert!(n >= 3, "150 rows need several pages, got {n}");
        let text = text(&path);
        let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
        assert_eq!(pages.len(), n);
        for (i, page) in pages.iter().enumerate() {
            assert!(page.contains("N° d'inventaire Désignation Lieu"), "header on page {}: {page}", i + 1);
            assert!(page.contains(&format!("Page {}/{n}", i + 1)), "{page}");
        }
        for i in [1, 75, 150] {
            assert!(text.contains(&format!("INV-{i:05} PC élève n° {i} Salle 12")), "row {i}");
        }
        assert!(pages[n - 1].contains("Signature du directeur"));
        assert!(pages[1].contains("Bordereau de remise de téléphone mobile — R-000012"), "running head");
    }

    #[test]
    fn bad_signatures_and_odd_inputs() {
        let mut form = receipt();
        form.signatures[1].png = Some(b"GIF89a".to_vec());
        assert!(matches!(render_form(&form), Err(DocError::InvalidImage(_))));
        let empty = render_form(&FormDocument::default()).unwrap();
        assert!(empty.starts_with(b"%PDF"));
        let odd = FormDocument {
            blocks: vec![
                Block::Rows(vec![("Z".repeat(400), "y ".repeat(20_000))]),
                Block::Table(FormTable { headers: vec!["a".into()], widths: vec![-1.0, 2.0], rows: vec![vec![]] }),
                Block::Table(FormTable::default()),
                Block::Checkboxes { caption: String::new(), items: vec![] },
                Block::Paragraph("\u{7}Łódź 日本".into()),
            ],
            signatures: (0..5).map(|_| SignatureBox::default()).collect(),
            ..FormDocument::default()
        };
        let pdf = render_form(&odd).unwrap();
        let doc = printpdf::lopdf::Document::load_mem(&pdf).unwrap();
        assert!(doc.get_pages().len() > 2);
    }
}
