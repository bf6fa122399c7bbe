//! Memory modules from the raw SMBIOS table (type 17, "Memory Device"), as Linux exposes it to root in
//! `/sys/firmware/dmi/tables/DMI`. Only the fields GLPI's `memories` section uses are read.
use serde_json::{json, Map, Value};

const MEMORY_DEVICE: u8 = 17;
const END_OF_TABLE: u8 = 127;

/// One SMBIOS structure: its formatted area (header included) and its strings (1-based in the structure).
struct Structure<'a> {
    kind: u8,
    data: &'a [u8],
    strings: Vec<&'a [u8]>,
}

impl Structure<'_> {
    fn byte(&self, offset: usize) -> Option<u8> {
        self.data.get(offset).copied()
    }

    fn word(&self, offset: usize) -> Option<u16> {
        Some(u16::from_le_bytes([*self.data.get(offset)?, *self.data.get(offset + 1)?]))
    }

    fn dword(&self, offset: usize) -> Option<u32> {
        let b = self.data.get(offset..offset + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The string whose index is at `offset`, trimmed; `None` for index 0, empty or placeholder values.
    fn string(&self, offset: usize) -> Option<String> {
        let index = usize::from(self.byte(offset)?);
        let raw = self.strings.get(index.checked_sub(1)?)?;
        let s = String::from_utf8_lossy(raw).trim().to_owned();
        let junk = ["", "unknown", "not specified", "none", "undefined", "no dimm"];
        (!junk.contains(&s.to_ascii_lowercase().as_str())).then_some(s)
    }
}

/// Split a table into structures; stops at the end-of-table marker or at the first malformed structure.
fn structures(table: &[u8]) -> Vec<Structure<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= table.len() {
        let kind = table[pos];
        let len = usize::from(table[pos + 1]);
        if len < 4 || pos + len > table.len() {
            break;
        }
        let data = &table[pos..pos + len];
        // The string set ends with two NUL bytes (also when it is empty).
        let rest = &table[pos + len..];
        let Some(end) = rest.windows(2).position(|w| w == [0, 0]) else { break };
        let strings = if end == 0 { Vec::new() } else { rest[..end].split(|b| *b == 0).collect() };
        out.push(Structure { kind, data, strings });
        if kind == END_OF_TABLE {
            break;
        }
        pos += len + end + 2;
    }
    out
}

/// SMBIOS memory type codes (7.18.2) as GLPI shows them.
fn memory_type(code: u8) -> Option<&'static str> {
    Some(match code {
        0x03 => "DRAM",
        0x06 => "SRAM",
        0x07 => "RAM",
        0x0F => "SDRAM",
        0x11 => "RDRAM",
        0x12 => "DDR",
        0x13 => "DDR2",
        0x14 => "DDR2 FB-DIMM",
        0x18 => "DDR3",
        0x1A => "DDR4",
        0x1B => "LPDDR",
        0x1C => "LPDDR2",
        0x1D => "LPDDR3",
        0x1E => "LPDDR4",
        0x20 => "HBM",
        0x21 => "HBM2",
        0x22 => "DDR5",
        0x23 => "LPDDR5",
        _ => return None,
    })
}

/// SMBIOS form factor codes (7.18.1).
fn form_factor(code: u8) -> Option<&'static str> {
    Some(match code {
        0x03 => "SIMM",
        0x04 => "SIP",
        0x05 => "Chip",
        0x06 => "DIP",
        0x07 => "ZIP",
        0x08 => "Proprietary Card",
        0x09 => "DIMM",
        0x0A => "TSOP",
        0x0B => "Row of chips",
        0x0C => "RIMM",
        0x0D => "SODIMM",
        0x0E => "SRIMM",
        0x0F => "FB-DIMM",
        0x10 => "Die",
        _ => return None,
    })
}

/// Size of a populated memory device in MB; `None` for an empty slot or an unknown size.
fn size_mb(s: &Structure<'_>) -> Option<u64> {
    match s.word(0x0C)? {
        0 | 0xFFFF => None,
        0x7FFF => s.dword(0x1C).map(|ext| u64::from(ext & 0x7FFF_FFFF)).filter(|mb| *mb > 0),
        v if v & 0x8000 != 0 => Some(u64::from(v & 0x7FFF) / 1024).filter(|mb| *mb > 0),
        v => Some(u64::from(v)),
    }
}

/// GLPI `memories` entries for the populated memory devices of a raw SMBIOS table.
pub(crate) fn memories(table: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut slot = 0u32;
    for s in structures(table).into_iter().filter(|s| s.kind == MEMORY_DEVICE) {
        slot += 1;
        let Some(capacity) = size_mb(&s) else { continue };
        let mut o = Map::new();
        o.insert("capacity".into(), json!(capacity));
        o.insert("numslots".into(), json!(slot));
        let mut put = |key: &str, v: Option<String>| {
            if let Some(v) = v {
                o.insert(key.to_owned(), Value::String(v));
            }
        };
        put("caption", s.string(0x10));
        put("description", s.byte(0x0E).and_then(form_factor).map(str::to_owned));
        put("type", s.byte(0x12).and_then(memory_type).map(str::to_owned));
        let speed = match s.word(0x15) {
            Some(0xFFFF) => s.dword(0x54),
            other => other.map(u32::from),
        };
        put("speed", speed.filter(|v| *v > 0).map(|v| format!("{v} MT/s")));
        put("manufacturer", s.string(0x17));
        put("serialnumber", s.string(0x18));
        put("model", s.string(0x1A));
        out.push(Value::Object(o));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A type 17 structure (SMBIOS 2.8 layout, 0x28 bytes) with its strings.
    pub(crate) fn memory_device(size: u16, ext: u32, speed: u16, strings: &[&str]) -> Vec<u8> {
        let mut d = vec![0u8; 0x28];
        d[0] = MEMORY_DEVICE;
        d[1] = 0x28;
        d[0x0C..0x0E].copy_from_slice(&size.to_le_bytes());
        d[0x0E] = 0x09; // DIMM
        d[0x10] = 1; // device locator
        d[0x12] = 0x1A; // DDR4
        d[0x15..0x17].copy_from_slice(&speed.to_le_bytes());
        d[0x17] = 2; // manufacturer
        d[0x18] = 3; // serial
        d[0x1A] = 4; // part number
        d[0x1C..0x20].copy_from_slice(&ext.to_le_bytes());
        for s in strings {
            d.extend_from_slice(s.as_bytes());
            d.push(0);
        }
        if strings.is_empty() {
            d.push(0);
        }
        d.push(0);
        d
    }

    #[test]
    fn memory_devices() {
        let mut table = Vec::new();
        // A type 0 (BIOS) structure with no strings first: must be skipped.
        table.extend_from_slice(&[0, 4, 0, 0, 0, 0]);
        table.extend(memory_device(8192, 0, 3200, &["DIMM A1", "Samsung", "12345678", "M378A1K43DB2-CWE"]));
        table.extend(memory_device(0, 0, 0, &["DIMM A2", "NO DIMM", "NO DIMM", "NO DIMM"])); // empty slot
        table.extend(memory_device(0x7FFF, 65536, 4800, &["DIMM B1", "Unknown", "Not Specified", "X"]));
        table.extend(memory_device(0x8000 | 2048, 0, 0, &[])); // 2048 KB = 2 MB, no strings
        table.extend_from_slice(&[END_OF_TABLE, 4, 0, 0, 0, 0]);
        table.extend(memory_device(4096, 0, 0, &["after the end"]));

        let m = memories(&table);
        assert_eq!(m.len(), 3, "{m:#?}");
        assert_eq!(m[0]["capacity"], 8192);
        assert_eq!(m[0]["caption"], "DIMM A1");
        assert_eq!(m[0]["type"], "DDR4");
        assert_eq!(m[0]["description"], "DIMM");
        assert_eq!(m[0]["speed"], "3200 MT/s");
        assert_eq!(m[0]["manufacturer"], "Samsung");
        assert_eq!(m[0]["serialnumber"], "12345678");
        assert_eq!(m[0]["model"], "M378A1K43DB2-CWE");
        assert_eq!(m[0]["numslots"], 1);
        assert_eq!(m[1]["capacity"], 65536, "extended size");
        assert_eq!(m[1]["numslots"], 3, "the empty slot still counts");
        assert!(m[1].get("manufacturer").is_none(), "placeholder 'Unknown' dropped");
        assert!(m[1].get("serialnumber").is_none());
        assert_eq!(m[2]["capacity"], 2);
        assert!(m[2].get("caption").is_none());
        assert!(m[2].get("speed").is_none());
    }

    #[test]
    fn truncated_tables_do_not_panic() {
        let full = memory_device(8192, 0, 3200, &["DIMM A1", "Samsung"]);
        for cut in 0..full.len() {
            let _ = memories(&full[..cut]);
        }
        assert_eq!(memories(&[17, 2, 0, 0]).len(), 0, "length below the header size");
    }
}
