//! Windows-1252 ("ANSI", the default of Excel FR when saving plain "CSV").
//!
//! It equals Latin-1 except for 0x80..=0x9F, which hold typographic
//! characters (€, œ, Œ, curly quotes, …) instead of C1 controls; five of those
//! bytes are undefined. The same table serves CSV decoding and the PDF builtin
//! fonts, whose `WinAnsiEncoding` is this code page.

/// Characters of bytes 0x80..=0x9F; `None` marks the five undefined bytes.
const HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

/// The character of one Windows-1252 byte, `None` for undefined bytes.
pub(crate) fn decode_byte(byte: u8) -> Option<char> {
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => Some(char::from(byte)),
    }
}

/// The Windows-1252 byte of a character, `None` if the code page lacks it.
pub(crate) fn encode_char(c: char) -> Option<u8> {
    match u32::from(c) {
        0x00..=0x7F | 0xA0..=0xFF => u8::try_from(u32::from(c)).ok(),
        _ => HIGH.iter().position(|&h| h == Some(c)).and_then(|i| u8::try_from(0x80 + i).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_characters() {
        assert_eq!(decode_byte(0xE9), Some('é'));
        assert_eq!(decode_byte(0x9C), Some('œ'));
        assert_eq!(decode_byte(0x80), Some('€'));
        assert_eq!(decode_byte(0x81), None);
        assert_eq!(encode_char('ç'), Some(0xE7));
        assert_eq!(encode_char('Œ'), Some(0x8C));
        assert_eq!(encode_char('’'), Some(0x92));
        assert_eq!(encode_char('ő'), None);
    }

    #[test]
    fn encode_inverts_decode() {
        for byte in 0..=255u8 {
            if let Some(c) = decode_byte(byte) {
                assert_eq!(encode_char(c), Some(byte), "byte {byte:#x}");
            }
        }
    }
}
