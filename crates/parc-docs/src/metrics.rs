//! Text handling for the PDF builtin fonts Helvetica and Helvetica-Bold.
//!
//! printpdf writes builtin-font text in `WinAnsiEncoding` (Windows-1252) and
//! silently drops characters outside it. That covers all of French (é è à ç ô
//! œ Œ « » ’ …), so no font is embedded; [`pdf_text`] maps the few other
//! characters to something printable. Advance widths come from the standard
//! Helvetica metrics (in 1/1000 em) so that text can be measured, and
//! truncated, before it is placed.

use crate::cp1252;

/// A builtin font whose metrics we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

/// Helvetica advance widths for Windows-1252 bytes 32..=255.
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, //
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, //
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, //
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, //
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350, //
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, //
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667, //
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, //
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, //
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, //
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, //
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, //
];

/// Helvetica-Bold advance widths for Windows-1252 bytes 32..=255.
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, //
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, //
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, //
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, //
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350, //
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, //
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667, //
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, //
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, //
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, //
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, //
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, //
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, //
];

/// Makes `text` printable with a builtin font: whitespace runs (including
/// no-break and thin spaces) become one space, non-breaking hyphens a hyphen,
/// controls and soft hyphens disappear, and characters outside
/// Windows-1252 become `?` so that a missing character stays visible.
pub(crate) fn pdf_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            match c {
                '\u{AD}' => {}
                '\u{2010}' | '\u{2011}' => out.push('-'),
                c if c.is_control() => {}
                c if cp1252::encode_char(c).is_some() => out.push(c),
                _ => out.push('?'),
            }
        }
    }
    out
}

/// Width of `text` in points at `size` points; `text` should come from
/// [`pdf_text`] (other characters count as a question mark).
pub(crate) fn text_width(text: &str, face: Face, size: f32) -> f32 {
    to_points(text.chars().map(|c| units(c, face)).sum(), size)
}

/// Advance width of one character in 1/1000 em.
fn units(c: char, face: Face) -> u32 {
    let table = match face {
        Face::Regular => &HELVETICA,
        Face::Bold => &HELVETICA_BOLD,
    };
    let byte = cp1252::encode_char(c).filter(|&b| b >= 32).unwrap_or(b'?');
    u32::from(table[usize::from(byte - 32)])
}

fn to_points(units: u32, size: f32) -> f32 {
    units as f32 * size / 1000.0
}

/// `text` shortened with an ellipsis so that it is at most `max_width`
/// points wide (an empty string if not even the ellipsis fits).
pub(crate) fn truncate(text: &str, face: Face, size: f32, max_width: f32) -> String {
    if text_width(text, face, size) <= max_width {
        return text.to_owned();
    }
    let mut total = units('…', face);
    if to_points(total, size) > max_width {
        return String::new();
    }
    let mut out = String::new();
    for c in text.chars() {
        total += units(c, face);
        if to_points(total, size) > max_width {
            break;
        }
        out.push(c);
    }
    let mut out = out.trim_end().to_owned();
    out.push('…');
    out
}

/// Greedy word wrap into at most `max_lines` lines of `max_width` points;
/// the last line is truncated with an ellipsis if text remains, and words
/// longer than a line are cut.
pub(crate) fn wrap(text: &str, face: Face, size: f32, max_width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() && lines.len() < max_lines {
        if lines.len() + 1 == max_lines || text_width(rest, face, size) <= max_width {
            lines.push(truncate(rest, face, size, max_width));
            break;
        }
        // Longest prefix that fits, preferring to end it at a space.
        let (mut fit, mut total, mut last_space) = (0, 0, None);
        for (i, c) in rest.char_indices() {
            if c == ' ' {
                last_space = Some(i);
            }
            total += units(c, face);
            if to_points(total, size) > max_width {
                break;
            }
            fit = i + c.len_utf8();
        }
        let cut = match last_space {
            Some(space) if space > 0 => space,
            _ if fit > 0 => fit,
            // Not even one character fits: give up rather than loop.
            _ => break,
        };
        lines.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_for_win_ansi() {
        assert_eq!(pdf_text("  Mairie\u{A0}de\u{202F}Cœur-d’Île  "), "Mairie de Cœur-d’Île");
        assert_eq!(pdf_text("a\u{2011}b\u{AD}c\td"), "a-bc d");
        assert_eq!(pdf_text("Łódź 日本"), "?ód? ??");
    }

    /// Every character [`pdf_text`] keeps must be encoded by printpdf's
    /// builtin-font path (lopdf's `WinAnsiEncoding`) as exactly one byte with
    /// the width we measure; otherwise printpdf would drop it or we would
    /// mis-measure it.
    #[test]
    fn agrees_with_printpdf_encoding() {
        for byte in 32..=255u8 {
            let Some(c) = cp1252::decode_byte(byte) else {
                continue;
            };
            let s = pdf_text(&c.to_string());
            if s.is_empty() {
                continue; // spaces trimmed, soft hyphen dropped
            }
            let encoded = printpdf::lopdf::Document::encode_text(Some("WinAnsiEncoding"), &s);
            assert_eq!(encoded.len(), 1, "{c:?} -> {s:?} -> {encoded:?}");
            let theirs = encoded[0];
            for face in [Face::Regular, Face::Bold] {
                let table = if face == Face::Regular { &HELVETICA } else { &HELVETICA_BOLD };
                assert_eq!(text_width(&s, face, 1000.0), f32::from(table[usize::from(theirs - 32)]), "{c:?}");
            }
        }
    }

    #[test]
    fn measures_known_widths() {
        // "Hello" in Helvetica: 722 + 556 + 222 + 222 + 556.
        assert_eq!(text_width("Hello", Face::Regular, 1000.0), 2278.0);
        assert_eq!(text_width("é", Face::Bold, 10.0), 5.56);
    }

    #[test]
    fn truncates_with_ellipsis() {
        let long = "Ordinateur portable très long nom";
        let max = text_width("Ordinateur", Face::Regular, 10.0);
        let t = truncate(long, Face::Regular, 10.0, max);
        assert!(t.ends_with('…'), "{t}");
        assert!(text_width(&t, Face::Regular, 10.0) <= max);
        assert_eq!(truncate("court", Face::Regular, 10.0, 100.0), "court");
        assert_eq!(truncate("x", Face::Regular, 10.0, 0.1), "");
    }

    #[test]
    fn wraps_on_words() {
        let max = text_width("Imprimante laser", Face::Regular, 10.0);
        let lines = wrap("Imprimante laser couleur du service état civil", Face::Regular, 10.0, max, 2);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "Imprimante laser");
        assert!(lines[1].ends_with('…'));
        for line in &lines {
            assert!(text_width(line, Face::Regular, 10.0) <= max);
        }
        // A single over-long word is cut, not lost.
        let lines = wrap("Anticonstitutionnellement", Face::Regular, 10.0, 30.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(!lines[0].is_empty());
        assert_eq!(wrap("", Face::Regular, 10.0, 30.0, 2), Vec::<String>::new());
    }
}
