use std::io::Read;

use crate::InventoryError;

/// Sniff the body (never trust Content-Type) and return the decompressed XML/JSON bytes.
///
/// * `78 xx` with a valid zlib header checksum → zlib (RFC 1950), any level;
/// * `1F 8B` → gzip;
/// * anything else → returned as is (plain XML / JSON).
///
/// `limit` is enforced while inflating: at most `limit + 1` bytes are ever produced, so a
/// compression bomb is refused with [`InventoryError::TooLarge`] without being expanded in memory.
pub fn decode_body(bytes: &[u8], limit: usize) -> Result<Vec<u8>, InventoryError> {
    match bytes {
        [0x78, b, ..] if ((0x78u16 << 8) | u16::from(*b)).is_multiple_of(31) => {
            inflate(flate2::read::ZlibDecoder::new(bytes), limit, "zlib")
        }
        [0x1f, 0x8b, ..] => inflate(flate2::read::MultiGzDecoder::new(bytes), limit, "gzip"),
        _ if bytes.len() > limit => Err(InventoryError::TooLarge { limit }),
        _ => Ok(bytes.to_vec()),
    }
}

fn inflate(decoder: impl Read, limit: usize, what: &str) -> Result<Vec<u8>, InventoryError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder.take(cap).read_to_end(&mut out).map_err(|e| InventoryError::Malformed(format!("{what} stream: {e}")))?;
    if out.len() > limit {
        return Err(InventoryError::TooLarge { limit });
    }
    Ok(out)
}
