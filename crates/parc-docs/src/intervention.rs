//! The intervention sheet ("fiche d'intervention") of a helpdesk ticket, as
//! an A4 PDF.
//!
//! The sheet is a two-column table of caption/value rows separated by light
//! rules: who asked, for whom, what, where, which asset, when, who goes, and
//! the description of the problem. An "on site" block follows with the time
//! spent, the report of the work done, the date of signature, the signer's
//! name and two signature boxes (the user's and the technician's).
//!
//! The same function prints both forms of the sheet:
//!
//! * the **blank sheet** taken on paper: no signature image and empty on-site
//!   fields, which then get room to be written by hand, and empty signature
//!   boxes to sign;
//! * the **signed sheet**: the on-site fields filled in and the user's
//!   signature (a PNG drawn on a signature pad) embedded as an image in the
//!   user's box.
//!
//! Captions come from the caller in [`InterventionLabels`] (this crate has no
//! translations). Texts are measured with the Helvetica metrics, wrapped and,
//! for the short fields, cut with an ellipsis; the description and the report
//! of the work done are never cut and continue on further pages. Like the
//! labels, text uses the builtin Helvetica fonts in Windows-1252, so French
//! prints fully and stays extractable (copy-paste, `pdftotext`, indexing).
//!
//! The SHA-256 of the signed document is not printed: the caller computes it
//! from the returned bytes and stores it.

use std::io::Cursor;

use printpdf::lopdf::content::Operation;
use printpdf::{
    BuiltinFont, ColorBits, ColorSpace, Image, ImageTransform, ImageXObject, IndirectFontRef, Mm, PdfDocument,
    PdfLayerReference, Px,
};

use crate::metrics::{pdf_text, text_width, truncate, wrap, Face};
use crate::DocError;

/// Largest accepted signature file, in bytes (2 MiB).
pub const MAX_SIGNATURE_BYTES: usize = 2 * 1024 * 1024;
/// Largest accepted signature width and height, in pixels.
pub const MAX_SIGNATURE_SIDE: u32 = 2000;

/// The captions printed on the sheet, in the reader's language.
///
/// Every field is printed as given (e.g. `requester: "Demandeur"`); empty
/// captions print nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterventionLabels {
    /// Title of the sheet, e.g. "Fiche d'intervention".
    pub title: String,
    /// Caption of the file (ticket) number, e.g. "Dossier n°".
    pub file_number: String,
    /// Caption of the requester, e.g. "Demandeur".
    pub requester: String,
    /// Caption of the person concerned, e.g. "Utilisateur".
    pub user: String,
    /// Short caption put before phone numbers, e.g. "Tél.".
    pub phone: String,
    /// Caption of the ticket's author, e.g. "Créé par".
    pub author: String,
    /// Caption of the subject, e.g. "Objet".
    pub subject: String,
    /// Caption of the category, e.g. "Catégorie".
    pub category: String,
    /// Caption of the location, e.g. "Lieu".
    pub location: String,
    /// Caption of the asset tag, e.g. "N° d'inventaire".
    pub asset_tag: String,
    /// Caption of the model, e.g. "Modèle".
    pub model: String,
    /// Caption of the hardware to bring, e.g. "Matériel nécessaire".
    pub hardware_needed: String,
    /// Caption of the ticket type, e.g. "Type".
    pub kind: String,
    /// Caption of the notification date, e.g. "Signalé le".
    pub notified_on: String,
    /// Caption of the planned date, e.g. "Prévu le".
    pub planned_on: String,
    /// Caption of the technician, e.g. "Technicien".
    pub technician: String,
    /// Caption of the description, e.g. "Description".
    pub description: String,
    /// Heading of the on-site block, e.g. "Intervention sur site".
    pub on_site: String,
    /// Caption of the time spent, e.g. "Temps passé".
    pub time_spent: String,
    /// Caption of the report, e.g. "Travaux réalisés".
    pub work_done: String,
    /// Caption of the date of signature, e.g. "Date de signature".
    pub signed_on: String,
    /// Caption of the signer's name, e.g. "Nom du signataire".
    pub signer: String,
    /// Caption of the user's signature box, e.g. "Signature de l'usager".
    pub user_signature: String,
    /// Caption of the technician's signature box, e.g. "Signature du technicien".
    pub technician_signature: String,
    /// Word before the page number in the footer, e.g. "Page".
    pub page: String,
}

/// What is printed on an intervention sheet: already formatted texts (dates
/// included), printed as given. `None` and empty strings print an empty
/// value; on-site fields that are empty get room to be written by hand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterventionSheet {
    /// The captions, in the reader's language.
    pub labels: InterventionLabels,
    /// Organisation name, printed in the header.
    pub organisation: String,
    /// File (ticket) number, e.g. "T-2026-000042", printed in the header
    /// and the footer of every page.
    pub file_number: String,
    /// Who asked for the intervention.
    pub requester: Option<String>,
    /// The requester's phone number.
    pub requester_phone: Option<String>,
    /// The person concerned by the intervention.
    pub user: Option<String>,
    /// The user's phone number.
    pub user_phone: Option<String>,
    /// Who created the ticket.
    pub author: Option<String>,
    /// Subject (title) of the ticket.
    pub subject: String,
    /// Category, e.g. "Matériel > Écran".
    pub category: Option<String>,
    /// Location, e.g. "Mairie > Bâtiment A > Salle 12".
    pub location: Option<String>,
    /// Asset tag of the asset concerned.
    pub asset_tag: Option<String>,
    /// Model of the asset concerned.
    pub model: Option<String>,
    /// Hardware the technician should bring.
    pub hardware_needed: Option<String>,
    /// Ticket type, e.g. "Incident" or "Demande".
    pub kind: Option<String>,
    /// When the problem was reported (formatted date and time).
    pub notified_on: Option<String>,
    /// When the intervention is planned (formatted date and time).
    pub planned_on: Option<String>,
    /// Technician in charge.
    pub technician: Option<String>,
    /// Description of the problem; line breaks are kept, long texts continue
    /// on further pages.
    pub description: String,
    /// On site: time spent, e.g. "1 h 30".
    pub time_spent: Option<String>,
    /// On site: report of the work done; line breaks are kept.
    pub work_done: Option<String>,
    /// On site: date (and time) of the signature.
    pub signed_on: Option<String>,
    /// On site: name of the person who signed.
    pub signer: Option<String>,
}

/// Checks that `bytes` is a PNG image that can be embedded as a signature
/// and returns its width and height in pixels.
///
/// The file must start with the PNG signature *and* decode completely (so a
/// renamed JPEG or a truncated upload is refused), be at most
/// [`MAX_SIGNATURE_BYTES`] long and at most [`MAX_SIGNATURE_SIDE`] pixels
/// wide and high.
///
/// Errors: [`DocError::TooLarge`] for a file over the size limit,
/// [`DocError::InvalidImage`] for anything else.
pub fn check_signature_png(bytes: &[u8]) -> Result<(u32, u32), DocError> {
    let pixels = decode_signature(bytes)?;
    Ok((pixels.width, pixels.height))
}

/// Renders the intervention sheet and returns the PDF bytes.
///
/// With `signature_png`, the image (checked as by [`check_signature_png`])
/// is drawn in the user's signature box; transparent parts are composited
/// over white, so the strokes of a signature pad show on any viewer. Without
/// it, both signature boxes are left empty to be signed by hand.
///
/// Errors: those of [`check_signature_png`], and [`DocError::Pdf`] if the
/// PDF cannot be produced.
pub fn render_intervention(sheet: &InterventionSheet, signature_png: Option<&[u8]>) -> Result<Vec<u8>, DocError> {
    let signature = signature_png.map(decode_signature).transpose()?;
    let mut layout = Layout::new(sheet);
    layout.sheet(sheet);
    layout.footers(sheet);
    draw(sheet, layout.pages, signature)
}

// ---------------------------------------------------------------------------
// Signature image

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
/// Memory the PNG decoder may allocate: enough for a 2000 × 2000 RGBA image
/// at 16 bits per sample, plus its working buffers.
const DECODER_MEMORY: usize = 64 * 1024 * 1024;

/// A decoded signature, composited over white: one byte per pixel when
/// `grey`, otherwise three (RGB).
pub(crate) struct Pixels {
    width: u32,
    height: u32,
    grey: bool,
    data: Vec<u8>,
}

fn invalid(message: impl Into<String>) -> DocError {
    DocError::InvalidImage(message.into())
}

pub(crate) fn decode_signature(bytes: &[u8]) -> Result<Pixels, DocError> {
    if bytes.len() > MAX_SIGNATURE_BYTES {
        return Err(DocError::TooLarge { limit: MAX_SIGNATURE_BYTES });
    }
    if !bytes.starts_with(PNG_MAGIC) {
        return Err(invalid("the file is not a PNG image"));
    }
    let undecodable = |e: png::DecodingError| invalid(format!("the PNG image cannot be read: {e}"));
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: DECODER_MEMORY });
    // Palettes, low bit depths and tRNS become 8-bit grey/RGB with alpha.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let (width, height) = decoder.read_header_info().map_err(undecodable)?.size();
    if width == 0 || height == 0 || width > MAX_SIGNATURE_SIDE || height > MAX_SIGNATURE_SIDE {
        return Err(invalid(format!(
            "the image is {width} × {height} pixels; at most {MAX_SIGNATURE_SIDE} × {MAX_SIGNATURE_SIDE} are accepted"
        )));
    }
    let mut reader = decoder.read_info().map_err(undecodable)?;
    let size = reader.output_buffer_size().ok_or_else(|| invalid("the PNG image is too large to decode"))?;
    let mut buffer = vec![0; size];
    let frame = reader.next_frame(&mut buffer).map_err(undecodable)?;
    buffer.truncate(frame.buffer_size());
    let (grey, channels) = match frame.color_type {
        png::ColorType::Grayscale => (true, 1),
        png::ColorType::GrayscaleAlpha => (true, 2),
        png::ColorType::Rgb => (false, 3),
        png::ColorType::Rgba => (false, 4),
        png::ColorType::Indexed => return Err(invalid("unsupported PNG colour type")),
    };
    let pixel_count = usize::try_from(u64::from(frame.width) * u64::from(frame.height))
        .map_err(|_| invalid("the PNG image is too large to decode"))?;
    if frame.bit_depth != png::BitDepth::Eight || buffer.len() < pixel_count * channels {
        return Err(invalid("unsupported PNG pixel format"));
    }
    let data = match channels {
        2 | 4 => {
            let colours = channels - 1;
            let mut out = Vec::with_capacity(pixel_count * colours);
            for pixel in buffer.chunks_exact(channels).take(pixel_count) {
                let (colour, alpha) = pixel.split_at(colours);
                let alpha = u32::from(alpha[0]);
                out.extend(colour.iter().map(|&c| over_white(c, alpha)));
            }
            out
        }
        _ => {
            buffer.truncate(pixel_count * channels);
            buffer
        }
    };
    Ok(Pixels { width: frame.width, height: frame.height, grey, data })
}

/// One colour sample with opacity `alpha` (0..=255) composited over white.
fn over_white(colour: u8, alpha: u32) -> u8 {
    let mixed = (u32::from(colour) * alpha + 255 * (255 - alpha) + 127) / 255;
    u8::try_from(mixed).unwrap_or(u8::MAX)
}

// ---------------------------------------------------------------------------
// Layout: the sheet is first laid out as drawing operations per page, so that
// the footers know the page count; then the operations are drawn.

const PAGE_WIDTH: f32 = 210.0;
const PAGE_HEIGHT: f32 = 297.0;
const MARGIN_X: f32 = 15.0;
const MARGIN_TOP: f32 = 15.0;
/// Lowest position content may reach; the footer sits below it.
const CONTENT_BOTTOM: f32 = 18.0;
const FOOTER_BASELINE: f32 = 10.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
const CAPTION_WIDTH: f32 = 48.0;
/// Horizontal space between the caption and the value column.
const COLUMN_GAP: f32 = 3.0;
const VALUE_LEFT: f32 = MARGIN_X + CAPTION_WIDTH + COLUMN_GAP;
const VALUE_WIDTH: f32 = PAGE_WIDTH - MARGIN_X - VALUE_LEFT;
/// Space above and below the text of a row.
const ROW_PADDING: f32 = 1.3;

const TITLE_SIZE: f32 = 18.0;
const ORGANISATION_SIZE: f32 = 10.0;
const FILE_NUMBER_SIZE: f32 = 12.0;
const HEADING_SIZE: f32 = 10.5;
const CAPTION_SIZE: f32 = 8.5;
const VALUE_SIZE: f32 = 9.5;
const SMALL_SIZE: f32 = 8.0;
const LINE_SPACING: f32 = 1.3;
/// Short fields are cut with an ellipsis after this many lines.
const SHORT_FIELD_LINES: usize = 4;
/// Captions longer than this many lines are cut.
const CAPTION_LINES: usize = 3;
/// At least this many lines of a long value stay with their caption.
const KEEP_LINES: usize = 3;

/// Room left to write by hand in empty on-site fields (mm).
const HANDWRITING_HEIGHT: f32 = 9.0;
const HANDWRITTEN_REPORT_HEIGHT: f32 = 38.0;
const SIGNATURE_BOX_HEIGHT: f32 = 38.0;
const SIGNATURE_BOX_GAP: f32 = 6.0;

/// Grey levels (0 black, 1 white).
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

/// Height of one line of text of `size` points, in mm.
fn line_height(size: f32) -> f32 {
    pt_to_mm(LINE_SPACING * size)
}

/// Distance from the top of a line box to its baseline, in mm.
fn baseline_offset(size: f32) -> f32 {
    // Centre Helvetica's cap height (0.718 em) in the line box, nudged down a
    // little for the descenders.
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
    /// The signature image, fitted into this rectangle.
    Signature {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

struct Layout {
    pages: Vec<Vec<Op>>,
    /// Top of the free space on the current page, in mm from the bottom.
    y: f32,
    /// Header line of continuation pages.
    running_head: String,
}

impl Layout {
    fn new(sheet: &InterventionSheet) -> Self {
        let running_head = [sheet.labels.title.trim(), sheet.file_number.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" — ");
        Layout { pages: vec![Vec::new()], y: PAGE_HEIGHT - MARGIN_TOP, running_head: pdf_text(&running_head) }
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

    /// Starts a new page with the running head.
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE_HEIGHT - MARGIN_TOP;
        let head = truncate(&self.running_head, Face::Regular, SMALL_SIZE, mm_to_pt(CONTENT_WIDTH));
        self.y -= line_height(SMALL_SIZE);
        self.text(Face::Regular, SMALL_SIZE, CAPTION_GREY, MARGIN_X, self.y + pt_to_mm(0.25 * SMALL_SIZE), head);
        self.y -= 1.5;
        self.rule(self.y, RULE_GREY, 0.5);
    }

    /// Moves to a new page unless `height` mm fit above the bottom margin.
    fn ensure(&mut self, height: f32) {
        if self.y - height < CONTENT_BOTTOM {
            self.new_page();
        }
    }

    fn sheet(&mut self, sheet: &InterventionSheet) {
        let l = &sheet.labels;
        self.header(sheet);
        let with_phone = |name: &Option<String>, phone: &Option<String>| {
            let name = name.as_deref().unwrap_or("").trim();
            match phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                Some(phone) if name.is_empty() => format!("{} {phone}", l.phone.trim()),
                Some(phone) => format!("{name} ({} {phone})", l.phone.trim()),
                None => name.to_owned(),
            }
        };
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let rows = [
            (&l.requester, with_phone(&sheet.requester, &sheet.requester_phone)),
            (&l.user, with_phone(&sheet.user, &sheet.user_phone)),
            (&l.author, text(&sheet.author)),
            (&l.subject, sheet.subject.clone()),
            (&l.category, text(&sheet.category)),
            (&l.location, text(&sheet.location)),
            (&l.asset_tag, text(&sheet.asset_tag)),
            (&l.model, text(&sheet.model)),
            (&l.hardware_needed, text(&sheet.hardware_needed)),
            (&l.kind, text(&sheet.kind)),
            (&l.notified_on, text(&sheet.notified_on)),
            (&l.planned_on, text(&sheet.planned_on)),
            (&l.technician, text(&sheet.technician)),
        ];
        for (caption, value) in rows {
            self.row(caption, &value, SHORT_FIELD_LINES, 0.0);
        }
        self.row(&l.description, &sheet.description, usize::MAX, 0.0);

        // On site: a heading kept with the first row.
        self.y -= 5.0;
        self.ensure(line_height(HEADING_SIZE) + 2.0 + HANDWRITING_HEIGHT + 2.0 * ROW_PADDING);
        self.heading(&l.on_site);
        let handwritten = |value: &Option<String>, height: f32| {
            if value.as_deref().is_some_and(|v| !v.trim().is_empty()) {
                0.0
            } else {
                height
            }
        };
        self.row(
            &l.time_spent,
            &text(&sheet.time_spent),
            SHORT_FIELD_LINES,
            handwritten(&sheet.time_spent, HANDWRITING_HEIGHT),
        );
        self.row(
            &l.work_done,
            &text(&sheet.work_done),
            usize::MAX,
            handwritten(&sheet.work_done, HANDWRITTEN_REPORT_HEIGHT),
        );
        self.row(
            &l.signed_on,
            &text(&sheet.signed_on),
            SHORT_FIELD_LINES,
            handwritten(&sheet.signed_on, HANDWRITING_HEIGHT),
        );
        self.row(&l.signer, &text(&sheet.signer), SHORT_FIELD_LINES, handwritten(&sheet.signer, HANDWRITING_HEIGHT));
        self.signature_boxes(l);
    }

    /// Organisation and file number on the first line, the title below, and
    /// a strong rule.
    fn header(&mut self, sheet: &InterventionSheet) {
        let half = mm_to_pt(CONTENT_WIDTH / 2.0 - 2.0);
        let top = self.y;
        let organisation = truncate(&pdf_text(&sheet.organisation), Face::Bold, ORGANISATION_SIZE, half);
        self.text(
            Face::Bold,
            ORGANISATION_SIZE,
            CAPTION_GREY,
            MARGIN_X,
            top - baseline_offset(FILE_NUMBER_SIZE),
            organisation,
        );
        let caption = pdf_text(&sheet.labels.file_number);
        let number = truncate(&pdf_text(&sheet.file_number), Face::Bold, FILE_NUMBER_SIZE, half);
        let number_width = pt_to_mm(text_width(&number, Face::Bold, FILE_NUMBER_SIZE));
        let right = PAGE_WIDTH - MARGIN_X;
        let baseline = top - baseline_offset(FILE_NUMBER_SIZE);
        if !caption.is_empty() {
            let room = (half - mm_to_pt(number_width) - mm_to_pt(2.0)).max(0.0);
            let caption = truncate(&caption, Face::Regular, CAPTION_SIZE, room);
            let width = pt_to_mm(text_width(&caption, Face::Regular, CAPTION_SIZE));
            self.text(Face::Regular, CAPTION_SIZE, CAPTION_GREY, right - number_width - 2.0 - width, baseline, caption);
        }
        self.text(Face::Bold, FILE_NUMBER_SIZE, 0.0, right - number_width, baseline, number);
        self.y = top - line_height(FILE_NUMBER_SIZE) - 1.0;

        let title = wrap(&pdf_text(&sheet.labels.title), Face::Bold, TITLE_SIZE, mm_to_pt(CONTENT_WIDTH), 2);
        for line in title {
            let baseline = self.y - baseline_offset(TITLE_SIZE);
            self.text(Face::Bold, TITLE_SIZE, 0.0, MARGIN_X, baseline, line);
            self.y -= line_height(TITLE_SIZE);
        }
        self.y -= 1.5;
        self.rule(self.y, 0.0, 1.2);
        self.y -= 1.0;
    }

    /// A section heading on a light band.
    fn heading(&mut self, caption: &str) {
        let height = line_height(HEADING_SIZE) + 2.0;
        self.push(Op::Band { x: MARGIN_X, y: self.y - height, w: CONTENT_WIDTH, h: height, grey: BAND_GREY });
        let text = truncate(&pdf_text(caption), Face::Bold, HEADING_SIZE, mm_to_pt(CONTENT_WIDTH - 4.0));
        let baseline = self.y - 1.0 - baseline_offset(HEADING_SIZE);
        self.text(Face::Bold, HEADING_SIZE, 0.0, MARGIN_X + 2.0, baseline, text);
        self.y -= height;
    }

    /// One caption/value row followed by a light rule. The value wraps over
    /// at most `max_lines` lines and, if long, continues on the next pages;
    /// the row is at least `min_height` mm high (room to write by hand).
    fn row(&mut self, caption: &str, value: &str, max_lines: usize, min_height: f32) {
        let captions = wrap(&pdf_text(caption), Face::Bold, CAPTION_SIZE, mm_to_pt(CAPTION_WIDTH), CAPTION_LINES);
        let lines = paragraphs(value, Face::Regular, VALUE_SIZE, mm_to_pt(VALUE_WIDTH), max_lines);
        let caption_height = captions.len() as f32 * line_height(CAPTION_SIZE);
        let value_line = line_height(VALUE_SIZE);
        let kept = lines.len().clamp(1, KEEP_LINES) as f32 * value_line;
        self.ensure(2.0 * ROW_PADDING + caption_height.max(kept).max(min_height));

        let top = self.y - ROW_PADDING;
        for (i, line) in captions.into_iter().enumerate() {
            let baseline = top - i as f32 * line_height(CAPTION_SIZE) - baseline_offset(CAPTION_SIZE);
            // Same baseline as the value's first line.
            let baseline = baseline - (baseline_offset(VALUE_SIZE) - baseline_offset(CAPTION_SIZE));
            self.text(Face::Bold, CAPTION_SIZE, CAPTION_GREY, MARGIN_X, baseline, line);
        }
        let (first_page, mut y) = (self.pages.len(), top);
        for line in lines {
            if y - value_line < CONTENT_BOTTOM {
                self.new_page();
                y = self.y - ROW_PADDING;
            }
            self.text(Face::Regular, VALUE_SIZE, 0.0, VALUE_LEFT, y - baseline_offset(VALUE_SIZE), line);
            y -= value_line;
        }
        let mut bottom = y;
        if self.pages.len() == first_page {
            bottom = bottom.min(top - caption_height).min(top - min_height);
        }
        self.y = bottom - ROW_PADDING;
        self.rule(self.y, RULE_GREY, 0.5);
    }

    /// The user's and the technician's signature boxes, side by side.
    fn signature_boxes(&mut self, l: &InterventionLabels) {
        self.y -= 4.0;
        self.ensure(SIGNATURE_BOX_HEIGHT);
        let width = (CONTENT_WIDTH - SIGNATURE_BOX_GAP) / 2.0;
        let bottom = self.y - SIGNATURE_BOX_HEIGHT;
        for (i, caption) in [&l.user_signature, &l.technician_signature].into_iter().enumerate() {
            let x = MARGIN_X + i as f32 * (width + SIGNATURE_BOX_GAP);
            self.push(Op::Frame { x, y: bottom, w: width, h: SIGNATURE_BOX_HEIGHT, grey: FRAME_GREY });
            let text = truncate(&pdf_text(caption), Face::Bold, CAPTION_SIZE, mm_to_pt(width - 4.0));
            let baseline = self.y - 1.0 - baseline_offset(CAPTION_SIZE);
            self.text(Face::Bold, CAPTION_SIZE, CAPTION_GREY, x + 2.0, baseline, text);
            if i == 0 {
                let caption_bottom = self.y - 1.0 - line_height(CAPTION_SIZE);
                self.push(Op::Signature {
                    x: x + 2.0,
                    y: bottom + 2.0,
                    w: width - 4.0,
                    h: caption_bottom - 1.0 - (bottom + 2.0),
                });
            }
        }
        self.y = bottom;
    }

    /// "organisation ... file number — Page n/N" at the bottom of each page.
    fn footers(&mut self, sheet: &InterventionSheet) {
        let count = self.pages.len();
        let organisation = pdf_text(&sheet.organisation);
        let file_number = pdf_text(&sheet.file_number);
        for (i, page) in self.pages.iter_mut().enumerate() {
            let number = pdf_text(&format!("{} {}/{count}", sheet.labels.page.trim(), i + 1));
            let right = [file_number.as_str(), number.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" — ");
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

/// Wraps a multi-line text: line breaks are kept (runs of blank lines count
/// as one), each paragraph is word-wrapped, and past `max_lines` the last
/// line ends with an ellipsis.
pub(crate) fn paragraphs(text: &str, face: Face, size: f32, max_width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut blank = false;
    let mut cut = false;
    for paragraph in text.lines().map(pdf_text) {
        if paragraph.is_empty() {
            blank = !lines.is_empty();
            continue;
        }
        if blank && lines.len() < max_lines {
            lines.push(String::new());
        }
        blank = false;
        let room = max_lines.saturating_sub(lines.len());
        if room == 0 {
            cut = true;
            break;
        }
        let wrapped = wrap(&paragraph, face, size, max_width, room);
        cut = wrapped.len() == room && wrapped.last().is_some_and(|l| l.ends_with('…'));
        lines.extend(wrapped);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    if cut {
        if let Some(last) = lines.last_mut() {
            if !last.ends_with('…') {
                *last = truncate(&format!("{last}…"), face, size, max_width);
            }
        }
    }
    lines
}

// ---------------------------------------------------------------------------
// Drawing

fn draw(sheet: &InterventionSheet, pages: Vec<Vec<Op>>, mut signature: Option<Pixels>) -> Result<Vec<u8>, DocError> {
    let pdf_err = |e: printpdf::Error| DocError::Pdf(e.to_string());
    let title = [sheet.labels.title.trim(), sheet.file_number.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let (doc, first_page, first_layer) = PdfDocument::new(title, Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), "sheet");
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?;
    let bold = doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(pdf_err)?;
    let mut layer = doc.get_page(first_page).get_layer(first_layer);
    for (i, ops) in pages.into_iter().enumerate() {
        if i > 0 {
            let (page, page_layer) = doc.add_page(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), "sheet");
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
                Op::Frame { x, y, w, h, grey } => {
                    stroke(&layer, grey, 0.6, |layer| rectangle(layer, x, y, w, h));
                }
                Op::Band { x, y, w, h, grey } => {
                    layer.save_graphics_state();
                    layer.add_operation(Operation::new("g", vec![grey.into()]));
                    rectangle(&layer, x, y, w, h);
                    layer.add_operation(Operation::new("f", Vec::new()));
                    layer.restore_graphics_state();
                }
                Op::Signature { x, y, w, h } => {
                    if let Some(pixels) = signature.take() {
                        place_image(&layer, pixels, x, y, w, h);
                    }
                }
            }
        }
    }
    doc.save_to_bytes().map_err(pdf_err)
}

pub(crate) fn write(
    layer: &PdfLayerReference,
    font: &IndirectFontRef,
    size: f32,
    grey: f32,
    x: f32,
    baseline: f32,
    text: &str,
) {
    layer.add_operation(Operation::new("g", vec![grey.into()]));
    layer.use_text(text, size, Mm(x), Mm(baseline), font);
}

pub(crate) fn rectangle(layer: &PdfLayerReference, x: f32, y: f32, w: f32, h: f32) {
    let operands = [mm_to_pt(x), mm_to_pt(y), mm_to_pt(w), mm_to_pt(h)];
    layer.add_operation(Operation::new("re", operands.into_iter().map(Into::into).collect()));
}

/// Strokes the path built by `path` in `grey`, `width` points wide.
pub(crate) fn stroke(layer: &PdfLayerReference, grey: f32, width: f32, path: impl FnOnce(&PdfLayerReference)) {
    layer.save_graphics_state();
    layer.add_operation(Operation::new("G", vec![grey.into()]));
    layer.add_operation(Operation::new("w", vec![width.into()]));
    path(layer);
    layer.add_operation(Operation::new("S", Vec::new()));
    layer.restore_graphics_state();
}

/// Draws `pixels` as large as fits in the rectangle, keeping its aspect
/// ratio, centred.
pub(crate) fn place_image(layer: &PdfLayerReference, pixels: Pixels, x: f32, y: f32, w: f32, h: f32) {
    if w <= 0.0 || h <= 0.0 || pixels.width == 0 || pixels.height == 0 {
        return;
    }
    let (px_w, px_h) = (pixels.width as f32, pixels.height as f32);
    let scale = (w / px_w).min(h / px_h);
    let (draw_w, draw_h) = (px_w * scale, px_h * scale);
    let image = ImageXObject {
        width: Px(pixels.width as usize),
        height: Px(pixels.height as usize),
        color_space: if pixels.grey { ColorSpace::Greyscale } else { ColorSpace::Rgb },
        bits_per_component: ColorBits::Bit8,
        interpolate: true,
        image_data: pixels.data,
        image_filter: None,
        smask: None,
        clipping_bbox: None,
    };
    // At 72 dpi one pixel is one point; then scale to the wanted size.
    let transform = ImageTransform {
        translate_x: Some(Mm(x + (w - draw_w) / 2.0)),
        translate_y: Some(Mm(y + (h - draw_h) / 2.0)),
        scale_x: Some(mm_to_pt(draw_w) / px_w),
        scale_y: Some(mm_to_pt(draw_h) / px_h),
        dpi: Some(72.0),
        rotate: None,
    };
    Image::from(image).add_to_layer(layer.clone(), transform);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_tools::{available, run};
    use std::path::Path;

    const POPPLER: &str = "apt-get install -y poppler-utils";

    fn french_labels() -> InterventionLabels {
        InterventionLabels {
            title: "Fiche d'intervention".into(),
            file_number: "Dossier n°".into(),
            requester: "Demandeur".into(),
            user: "Utilisateur".into(),
            phone: "Tél.".into(),
            author: "Créé par".into(),
            subject: "Objet".into(),
            category: "Catégorie".into(),
            location: "Lieu".into(),
            asset_tag: "N° d'inventaire".into(),
            model: "Modèle".into(),
            hardware_needed: "Matériel nécessaire".into(),
            kind: "Type".into(),
            notified_on: "Signalé le".into(),
            planned_on: "Prévu le".into(),
            technician: "Technicien".into(),
            description: "Description".into(),
            on_site: "Intervention sur site".into(),
            time_spent: "Temps passé".into(),
            work_done: "Travaux réalisés".into(),
            signed_on: "Date de signature".into(),
            signer: "Nom du signataire".into(),
            user_signature: "Signature de l'usager".into(),
            technician_signature: "Signature du technicien".into(),
            page: "Page".into(),
        }
    }

    /// A sheet as printed before going on site: on-site fields empty.
    fn blank_sheet() -> InterventionSheet {
        InterventionSheet {
            labels: french_labels(),
            organisation: "Mairie de Saint-Étienne-du-Rouvray".into(),
            file_number: "T-2026-000042".into(),
            requester: Some("Hélène Dupré".into()),
            requester_phone: Some("02 35 00 00 01".into()),
            user: Some("Loïc Bérenger".into()),
            user_phone: Some("02 35 00 00 02".into()),
            author: Some("Agnès Comte".into()),
            subject: "Écran noir après mise à jour".into(),
            category: Some("Matériel > Écran".into()),
            location: Some("Mairie > Bâtiment A > Salle 12".into()),
            asset_tag: Some("INV-000731".into()),
            model: Some("Dell P2422H".into()),
            hardware_needed: Some("Câble DisplayPort".into()),
            kind: Some("Incident".into()),
            notified_on: Some("12/03/2026 08:14".into()),
            planned_on: Some("13/03/2026 09:30".into()),
            technician: Some("François Nœl".into()),
            description: "L'écran reste noir depuis la mise à jour de jeudi.\nLe voyant est orange.".into(),
            ..InterventionSheet::default()
        }
    }

    fn signed_sheet() -> InterventionSheet {
        InterventionSheet {
            time_spent: Some("1 h 30".into()),
            work_done: Some("Pilote graphique réinstallé ; câble remplacé.\nTest : affichage correct.".into()),
            signed_on: Some("13/03/2026 11:02".into()),
            signer: Some("Loïc Bérenger".into()),
            ..blank_sheet()
        }
    }

    /// A `width` × `height` PNG of `color` type, transparent (or white) with a
    /// thick black diagonal stroke, like a signature pad produces.
    pub(crate) fn signature(width: u32, height: u32, color: png::ColorType) -> Vec<u8> {
        let channels = match color {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            _ => 4,
        };
        let mut data = vec![0u8; (width * height) as usize * channels];
        for (i, pixel) in data.chunks_exact_mut(channels).enumerate() {
            let (x, y) = (i as u32 % width, i as u32 / width);
            let ink = (i64::from(y) - i64::from(x) * i64::from(height) / i64::from(width)).abs() <= 3;
            match channels {
                1 | 3 => pixel.fill(if ink { 0 } else { 255 }),
                // Transparent black background: must come out white.
                _ => pixel[channels - 1] = if ink { 255 } else { 0 },
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    fn write_pdf(dir: &Path, name: &str, pdf: &[u8]) -> std::path::PathBuf {
        assert!(pdf.starts_with(b"%PDF"), "not a PDF");
        let path = dir.join(name);
        std::fs::write(&path, pdf).unwrap();
        path
    }

    fn pages(path: &Path) -> usize {
        let info = run("pdfinfo", &[], path, &[]);
        let line = info.lines().find(|l| l.starts_with("Pages:")).expect("Pages line");
        line["Pages:".len()..].trim().parse().unwrap()
    }

    /// `(width, height)` of every image, from `pdfimages -list`.
    fn images(path: &Path) -> Vec<(u32, u32)> {
        run("pdfimages", &["-list"], path, &[])
            .lines()
            .skip(2)
            .map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols[3].parse().unwrap(), cols[4].parse().unwrap())
            })
            .collect()
    }

    /// Text with runs of spaces squeezed, so that captions and values can be
    /// looked up whatever the column layout; pages end with a form feed.
    fn text(path: &Path) -> String {
        let text = run("pdftotext", &["-layout", "-enc", "UTF-8"], path, &["-"]);
        let squeeze = |page: &str| {
            page.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
        };
        // Pages stay separated by form feeds.
        text.split('\u{c}').map(squeeze).collect::<Vec<_>>().join("\u{c}")
    }

    fn poppler(test: &str) -> bool {
        available(test, "pdfinfo", &["-v"], POPPLER) && available(test, "pdftotext", &["-v"], POPPLER)
    }

    #[test]
    fn signed_sheet_prints_every_field_and_the_signature() {
        if !poppler("intervention::signed_sheet_prints_every_field_and_the_signature") {
            return;
        }
        let sheet = signed_sheet();
        let png = signature(400, 150, png::ColorType::Rgba);
        assert_eq!(check_signature_png(&png).unwrap(), (400, 150));
        let pdf = render_intervention(&sheet, Some(&png)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write_pdf(dir.path(), "signed.pdf", &pdf);
        let text = text(&path);
        for value in [
            "Fiche d'intervention",
            "Mairie de Saint-Étienne-du-Rouvray",
            "T-2026-000042",
            "Hélène Dupré (Tél. 02 35 00 00 01)",
            "Loïc Bérenger (Tél. 02 35 00 00 02)",
            "Agnès Comte",
            "Écran noir après mise à jour",
            "Matériel > Écran",
            "Mairie > Bâtiment A > Salle 12",
            "INV-000731",
            "Dell P2422H",
            "Câble DisplayPort",
            "Incident",
            "12/03/2026 08:14",
            "13/03/2026 09:30",
            "François Nœl",
            "L'écran reste noir depuis la mise à jour de jeudi.",
            "Le voyant est orange.",
            "Intervention sur site",
            "1 h 30",
            "Pilote graphique réinstallé ; câble remplacé.",
            "Test : affichage correct.",
            "13/03/2026 11:02",
            "Signature de l'usager",
            "Signature du technicien",
            "Page 1/1",
        ] {
            assert!(text.contains(value), "{value:?} missing from:\n{text}");
        }
        // Captions sit on the same line as their values.
        assert!(text.contains("Lieu Mairie > Bâtiment A > Salle 12"), "{text}");
        assert!(text.contains("Nom du signataire Loïc Bérenger"), "{text}");
        assert_eq!(pages(&path), 1);
        if available("intervention::signed_sheet_prints_every_field_and_the_signature", "pdfimages", &["-v"], POPPLER) {
            assert_eq!(images(&path), vec![(400, 150)]);
        }
    }

    #[test]
    fn blank_sheet_has_empty_signature_boxes() {
        if !poppler("intervention::blank_sheet_has_empty_signature_boxes") {
            return;
        }
        let pdf = render_intervention(&blank_sheet(), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write_pdf(dir.path(), "blank.pdf", &pdf);
        let text = text(&path);
        for caption in ["Temps passé", "Travaux réalisés", "Date de signature", "Nom du signataire"] {
            assert!(text.contains(caption), "{caption:?} missing from:\n{text}");
        }
        assert!(text.contains("Signature de l'usager Signature du technicien"), "{text}");
        assert_eq!(pages(&path), 1, "the blank sheet fits on one page");
        if available("intervention::blank_sheet_has_empty_signature_boxes", "pdfimages", &["-v"], POPPLER) {
            assert_eq!(images(&path), vec![]);
        }
    }

    #[test]
    fn long_description_continues_on_the_next_page() {
        if !poppler("intervention::long_description_continues_on_the_next_page") {
            return;
        }
        let paragraph = "Le poste redémarre en boucle après l'écran de démarrage ; le disque a été testé, \
                         la mémoire aussi, sans erreur relevée par les outils de diagnostic du constructeur.";
        let description: Vec<String> = (1..=30).map(|i| format!("{i}. {paragraph}")).collect();
        let sheet = InterventionSheet { description: description.join("\n"), ..signed_sheet() };
        let pdf = render_intervention(&sheet, Some(&signature(400, 150, png::ColorType::GrayscaleAlpha))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write_pdf(dir.path(), "long.pdf", &pdf);
        assert_eq!(pages(&path), 2);
        let text = text(&path);
        assert!(text.contains("Page 1/2") && text.contains("Page 2/2"), "{text}");
        // Nothing is cut: the last paragraph ends on page 2, then the on-site block.
        let page2 = text.split('\u{c}').nth(1).expect("a second page");
        assert!(page2.contains("Fiche d'intervention — T-2026-000042"), "running head: {page2}");
        assert!(page2.contains("outils de diagnostic du constructeur."), "{page2}");
        assert!(page2.contains("Signature de l'usager"), "{page2}");
        assert!(text.find("30. Le poste") < text.find("Intervention sur site"));
    }

    #[test]
    fn signatures_are_composited_over_white() {
        for color in
            [png::ColorType::Rgba, png::ColorType::GrayscaleAlpha, png::ColorType::Rgb, png::ColorType::Grayscale]
        {
            let pixels = decode_signature(&signature(40, 15, color)).unwrap();
            assert_eq!((pixels.width, pixels.height), (40, 15));
            let grey = matches!(color, png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha);
            assert_eq!(pixels.grey, grey);
            assert_eq!(pixels.data.len(), 40 * 15 * if grey { 1 } else { 3 });
            // Top-right corner: background, white; top-left: ink, black.
            assert_eq!(pixels.data[pixels.data.len() / 15 - 1], 255, "{color:?}");
            assert_eq!(pixels.data[0], 0, "{color:?}");
        }
        assert_eq!(over_white(0, 128), 127);
        assert_eq!(over_white(0, 0), 255);
        assert_eq!(over_white(10, 255), 10);
    }

    #[test]
    fn refuses_what_is_not_an_acceptable_png() {
        let invalid = |bytes: &[u8]| matches!(check_signature_png(bytes), Err(DocError::InvalidImage(_)));
        // JPEG (JFIF header), plain text, empty input, random bytes.
        assert!(invalid(b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9"));
        assert!(invalid(b"Ceci est un fichier texte.\n"));
        assert!(invalid(b""));
        assert!(invalid(&(0..=255u8).cycle().take(4096).collect::<Vec<_>>()));
        // The PNG magic number followed by garbage, a lone IEND, a truncation.
        let mut garbage = PNG_MAGIC.to_vec();
        garbage.extend_from_slice(b"garbage garbage garbage garbage");
        assert!(invalid(&garbage));
        let mut iend = PNG_MAGIC.to_vec();
        iend.extend_from_slice(b"\x00\x00\x00\x00IEND\xAE\x42\x60\x82");
        assert!(invalid(&iend));
        let good = signature(400, 150, png::ColorType::Rgba);
        for cut in [10, 40, good.len() / 2, good.len() - 13] {
            assert!(invalid(&good[..cut]), "cut at {cut}");
        }
        let mut corrupted = good.clone();
        let middle = corrupted.len() / 2;
        corrupted[middle] ^= 0xFF;
        assert!(invalid(&corrupted), "CRC error");
        // Too many pixels, in either direction.
        assert!(invalid(&signature(2001, 10, png::ColorType::Grayscale)));
        assert!(invalid(&signature(10, 2001, png::ColorType::Grayscale)));
        assert!(check_signature_png(&signature(2000, 20, png::ColorType::Grayscale)).is_ok());
        // Too many bytes, refused before decoding.
        let mut huge = good.clone();
        huge.resize(MAX_SIGNATURE_BYTES + 1, 0);
        assert!(matches!(check_signature_png(&huge), Err(DocError::TooLarge { limit: MAX_SIGNATURE_BYTES })));
        // The same errors from render_intervention.
        assert!(matches!(render_intervention(&blank_sheet(), Some(b"GIF89a")), Err(DocError::InvalidImage(_))));
        let message = check_signature_png(b"text").unwrap_err().to_string();
        assert_eq!(message, "invalid image: the file is not a PNG image");
    }

    #[test]
    fn odd_inputs_do_not_break_the_layout() {
        // Empty everything, huge words, control characters, non-Latin text.
        let empty = render_intervention(&InterventionSheet::default(), None).unwrap();
        assert!(empty.starts_with(b"%PDF"));
        let sheet = InterventionSheet {
            subject: "x".repeat(5000),
            description: "\n\n\u{7}Łódź 日本\r\n\r\n\r\nfin\n\n".into(),
            work_done: Some("y ".repeat(20_000)),
            labels: InterventionLabels { requester: "Z".repeat(300), ..french_labels() },
            ..blank_sheet()
        };
        let pdf = render_intervention(&sheet, Some(&signature(1, 2000, png::ColorType::Rgb))).unwrap();
        let doc = printpdf::lopdf::Document::load_mem(&pdf).unwrap();
        assert!(doc.get_pages().len() > 2);
    }

    #[test]
    fn wraps_paragraphs() {
        let width = text_width("Imprimante laser", Face::Regular, 10.0);
        let lines = paragraphs("\n\nImprimante laser couleur\n\n\n\nfin\n\n", Face::Regular, 10.0, width, 10);
        assert_eq!(lines, ["Imprimante laser", "couleur", "", "fin"]);
        let lines = paragraphs("a\nb\nc", Face::Regular, 10.0, width, 2);
        assert_eq!(lines, ["a", "b…"]);
        assert!(paragraphs("  \n \n", Face::Regular, 10.0, width, 3).is_empty());
    }

    /// Writes sample sheets for a manual look:
    /// `cargo test -p parc-docs write_intervention_samples -- --ignored`
    /// then open `/tmp/intervention-{signed,blank,long}.pdf`.
    #[test]
    #[ignore = "writes files for manual inspection"]
    fn write_intervention_samples() {
        let png = signature(400, 150, png::ColorType::Rgba);
        std::fs::write("/tmp/intervention-signed.pdf", render_intervention(&signed_sheet(), Some(&png)).unwrap())
            .unwrap();
        std::fs::write("/tmp/intervention-blank.pdf", render_intervention(&blank_sheet(), None).unwrap()).unwrap();
        let long = InterventionSheet { description: "Le poste redémarre en boucle. ".repeat(400), ..signed_sheet() };
        std::fs::write("/tmp/intervention-long.pdf", render_intervention(&long, Some(&png)).unwrap()).unwrap();
    }
}
