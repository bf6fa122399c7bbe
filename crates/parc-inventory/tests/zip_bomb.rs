//! Compression bombs: 1 GiB of zeros in ~1 MB, refused by `decode_body` at the limit, quickly, without
//! inflating it all. Alone in its test binary so that the process's peak memory measures this test only.
use std::io::Write;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, FlushCompress};
use parc_inventory::{decode_body, InventoryError};

const MIB: usize = 1 << 20;

/// A raw deflate block sequence for 1 MiB of zeros, ended by a full flush: it does not refer to what
/// came before, so repeating it N times is a valid stream of N MiB.
fn zero_chunk() -> Vec<u8> {
    let zeros = vec![0u8; MIB];
    let mut c = Compress::new(Compression::new(6), false);
    let once = |c: &mut Compress| {
        let mut out = Vec::with_capacity(64 * 1024);
        let before = c.total_in();
        c.compress_vec(&zeros, &mut out, FlushCompress::Full).unwrap();
        assert_eq!(c.total_in() - before, MIB as u64, "whole chunk consumed");
        out
    };
    let first = once(&mut c);
    let second = once(&mut c);
    assert_eq!(first, second, "a full flush makes chunks independent");
    first
}

/// zlib stream of `mib` MiB of zeros, built without ever holding them.
fn zlib_bomb(mib: usize) -> Vec<u8> {
    let chunk = zero_chunk();
    let mut out = Vec::with_capacity(2 + chunk.len() * mib + 6);
    out.extend_from_slice(&[0x78, 0x9c]);
    for _ in 0..mib {
        out.extend_from_slice(&chunk);
    }
    out.extend_from_slice(&[0x03, 0x00]); // final empty fixed-Huffman block
                                          // Adler-32 of n zero bytes: a = 1, b = n (mod 65521).
    let b = (mib as u64 * MIB as u64 % 65521) as u32;
    out.extend_from_slice(&((b << 16) | 1).to_be_bytes());
    out
}

/// gzip: one member of 1 MiB of zeros, repeated (a multi-member gzip file is valid).
fn gzip_bomb(mib: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&vec![0u8; MIB]).unwrap();
    gz.finish().unwrap().repeat(mib)
}

/// Peak resident memory of this process (kB), after resetting it when the kernel allows.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn gigabyte_bombs_refused_at_the_limit() {
    // The construction is right: small ones inflate to exactly what they claim.
    assert_eq!(decode_body(&zlib_bomb(3), 4 * MIB).unwrap(), vec![0u8; 3 * MIB]);
    assert_eq!(decode_body(&gzip_bomb(3), 4 * MIB).unwrap().len(), 3 * MIB);

    let zlib = zlib_bomb(1024);
    let gzip = gzip_bomb(1024);
    assert!(zlib.len() < 2 * MIB, "zlib bomb: {} bytes", zlib.len());
    assert!(gzip.len() < 2 * MIB, "gzip bomb: {} bytes", gzip.len());

    let limit = 16 * MIB;
    for (what, bomb) in [("zlib", &zlib), ("gzip", &gzip)] {
        reset_peak();
        let before = peak_kb();
        let start = Instant::now();
        assert_eq!(decode_body(bomb, limit), Err(InventoryError::TooLarge { limit }), "{what}");
        let took = start.elapsed();
        // Inflating the whole GiB would take seconds; stopping at 16 MiB takes milliseconds.
        assert!(took < Duration::from_secs(2), "{what}: {took:?}");
        if let (Some(before), Some(after)) = (before, peak_kb()) {
            let grown_mib = after.saturating_sub(before) / 1024;
            // The output vector may double up to 2 x limit while growing; never the whole GiB.
            assert!(grown_mib <= 3 * limit as u64 / MIB as u64, "{what}: peak memory grew by {grown_mib} MiB");
            eprintln!("{what}: refused in {took:?}, peak memory +{grown_mib} MiB");
        }
    }
}
