//! Property tests: whatever the bytes, `decode_body` + `parse_message` answer (a value or an error),
//! never panic, and quickly. Inputs: arbitrary bytes, mutations of the real samples (plain and
//! compressed), and generated XML / JSON documents made of the tags the parser knows.
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parc_inventory::{decode_body, parse_glpi_json, parse_message, parse_ocs_xml, zlib_compress, AgentMessage};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

const LIMIT: usize = 4 << 20;
/// Generous for a debug build on a slow machine; the real figures are milliseconds.
const BOUND: Duration = Duration::from_secs(3);

fn load(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Small documents: many mutations are cheap.
fn small() -> &'static [Vec<u8>] {
    static SMALL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SMALL.get_or_init(|| {
        [
            "tests/samples/ocs-2.10-prolog.xml",
            "tests/samples/fusioninventory-2.6-prolog.xml",
            "tests/samples/glpi-agent-1.11-contact.json",
            "tests/samples/glpi-agent-1.11-inventory.json",
            "tests/fixtures/ocs-2.10-inventory.xml",
        ]
        .iter()
        .map(|p| load(p))
        .collect()
    })
}

/// The real Debian agent outputs (250–360 kB): fewer cases.
fn large() -> &'static [Vec<u8>] {
    static LARGE: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LARGE.get_or_init(|| {
        ["tests/samples/ocs-2.10-debian12.xml", "tests/samples/fusioninventory-2.6-debian12.xml"]
            .iter()
            .map(|p| load(p))
            .collect()
    })
}

/// Decode then parse, as the server will; also each parser directly. Nothing may panic or hang.
fn exercise(bytes: &[u8]) {
    let start = Instant::now();
    if let Ok(body) = decode_body(bytes, LIMIT) {
        assert!(body.len() <= LIMIT);
        let _ = parse_message(&body);
    }
    let _ = parse_message(bytes);
    let _ = parse_ocs_xml(bytes);
    let _ = parse_glpi_json(bytes);
    assert!(start.elapsed() < BOUND, "took {:?} on {} bytes", start.elapsed(), bytes.len());
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Duplicate(Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to the parsers are likelier than uniform noise.
    let byte = prop_oneof![any::<u8>(), prop::sample::select(b"<>/&;\"'{}[],:=?!-#x0\xc3\xe9\xff\n ".to_vec())];
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        (any::<Index>(), byte.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), prop::collection::vec(byte, 1..16)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match m {
            Mutation::Flip(i, bit) => bytes[i.index(len)] ^= 1 << bit,
            Mutation::Set(i, b) => bytes[i.index(len)] = *b,
            Mutation::Truncate(i) => bytes.truncate(i.index(len)),
            Mutation::Insert(i, v) => {
                let at = i.index(len + 1);
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let at = i.index(len);
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Duplicate(i, n) => {
                let at = i.index(len);
                let copy = bytes[at..(at + n).min(len)].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------------------
// Generated documents of known tags.

const SECTIONS: &[&str] = &[
    "HARDWARE",
    "BIOS",
    "OPERATINGSYSTEM",
    "CPUS",
    "MEMORIES",
    "STORAGES",
    "DRIVES",
    "NETWORKS",
    "MONITORS",
    "PRINTERS",
    "SOFTWARES",
    "USERS",
    "ACCOUNTINFO",
    "VERSIONCLIENT",
];
const FIELDS: &[&str] = &[
    "NAME",
    "DESCRIPTION",
    "TYPE",
    "MEMORY",
    "UUID",
    "SSN",
    "SMANUFACTURER",
    "ARCH",
    "CORE",
    "THREAD",
    "SPEED",
    "CAPACITY",
    "DISKSIZE",
    "TOTAL",
    "FREE",
    "MACADDR",
    "MAC",
    "IPADDRESS",
    "IPADDRESS6",
    "IPMASK",
    "IPMASK6",
    "IPSUBNET",
    "IPSUBNET6",
    "VIRTUALDEV",
    "VLAN",
    "VLANS",
    "ID",
    "SERIAL",
    "VERSION",
    "PUBLISHER",
    "INSTALLDATE",
    "INSTALL_DATE",
    "LASTLOGGEDUSER",
    "LOGIN",
    "KEYNAME",
    "KEYVALUE",
    "FULL_NAME",
    "PROCESSORT",
    "FQDN",
];

/// Text that looks like what the fields hold, or anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{1,12}(\\.[0-9]{1,6})?",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,3})?",
        "(255|254|252|248|240|224|192|128|0)\\.(255|0|128)\\.(255|0|240)\\.(0|255|192)",
        "[0-9a-fA-F:]{2,39}(/[0-9]{1,3})?",
        "([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}",
        "(eth|enp3s|bond|vlan|VLAN |wlan)[0-9]{0,5}(\\.[0-9]{0,5})?(@eth0|:1)?",
        "[0-9]{1,4}[/.-][0-9]{1,2}[/.-][0-9]{1,4}( [0-9:]{0,8})?",
        Just("TAG".to_owned()),
        Just(String::new()),
    ]
}

#[derive(Debug, Clone)]
enum Node {
    Text(String, String),
    Element(String, Vec<Node>),
}

fn field() -> impl Strategy<Value = Node> {
    (prop::sample::select(FIELDS), text()).prop_map(|(n, t)| Node::Text(n.to_owned(), t))
}

fn node() -> impl Strategy<Value = Node> {
    field().prop_recursive(4, 48, 8, |inner| {
        (prop::sample::select([SECTIONS, FIELDS].concat()), prop::collection::vec(inner, 0..8))
            .prop_map(|(n, children)| Node::Element(n.to_owned(), children))
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn to_xml(node: &Node, out: &mut String) {
    match node {
        Node::Text(name, text) => out.push_str(&format!("<{name}>{}</{name}>", escape(text))),
        Node::Element(name, children) if children.is_empty() => out.push_str(&format!("<{name}/>")),
        Node::Element(name, children) => {
            out.push_str(&format!("<{name}>"));
            for c in children {
                to_xml(c, out);
            }
            out.push_str(&format!("</{name}>"));
        }
    }
}

/// The same tree as GLPI JSON (keys lower-cased, repeated names as arrays), with scalar leaves
/// sometimes numbers or booleans.
fn to_json(node: &Node) -> (String, Value) {
    match node {
        Node::Text(name, text) => {
            let v = match text.parse::<i64>() {
                Ok(n) if text.len() % 3 == 0 => json!(n),
                _ if text == "1" => json!(true),
                _ => json!(text),
            };
            (name.to_ascii_lowercase(), v)
        }
        Node::Element(name, children) => {
            let mut map = Map::new();
            for (k, v) in children.iter().map(to_json) {
                match map.get_mut(&k) {
                    Some(Value::Array(a)) => a.push(v),
                    Some(existing) => *existing = json!([existing.take(), v]),
                    None => {
                        map.insert(k, v);
                    }
                }
            }
            (name.to_ascii_lowercase(), Value::Object(map))
        }
    }
}

fn check_inventory(msg: &AgentMessage) {
    let AgentMessage::Inventory(inv) = msg else { panic!("expected an inventory: {msg:?}") };
    for card in &inv.networks {
        if let Some(subnet) = &card.subnet {
            let (addr, len) = subnet.split_once('/').expect("CIDR");
            let ip: std::net::IpAddr = addr.parse().expect("network address");
            let len: u8 = len.parse().expect("prefix");
            assert!(len >= 1 && len <= if ip.is_ipv4() { 32 } else { 128 }, "{subnet}");
        }
        if let Some(mask) = &card.mask {
            let m: std::net::Ipv4Addr = mask.parse().expect("dotted mask");
            let bits = u32::from(m);
            assert!(bits != 0 && (!bits).wrapping_add(1) & !bits == 0, "contiguous {mask}");
        }
        assert!(card.vlan.is_none_or(|v| (1..=4094).contains(&v)));
        assert!(card.ips.iter().all(|ip| ip.parse::<std::net::IpAddr>().is_ok()));
        assert!(card.mac.as_deref().is_none_or(|m| m.len() == 17));
    }
    let _ = inv.primary_ip();
    let _ = inv.physical_macs();
    let _ = inv.usable_serial();
    let _ = inv.usable_uuid();
    serde_json::to_string(&**inv).expect("serializable");
}

/// `cases` per property, kept small for the debug test run; `PROPTEST_CASES=20000 cargo test --release
/// -p parc-inventory --test fuzz` fuzzes for longer.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048), prefix in 0usize..6) {
        // Also behind each magic number, so that the inflaters and both parsers see the noise.
        let magic: [&[u8]; 6] = [b"", b"\x78\x9c", b"\x1f\x8b\x08\x00", b"<?xml version=\"1.0\"?><REQUEST>", b"{\"deviceid\":\"d\",\"content\":", b"\xff\xfe"];
        exercise(&[magic[prefix], &bytes].concat());
    }

    #[test]
    fn mutated_small_samples(which in any::<Index>(), mutations in prop::collection::vec(mutation(), 1..8)) {
        let original = which.get(small()).clone();
        let mutated = mutate(original.clone(), &mutations);
        exercise(&mutated);
        exercise(&zlib_compress(&mutated));
        // Mutating the compressed body instead.
        exercise(&mutate(zlib_compress(&original), &mutations));
    }

    #[test]
    fn generated_xml(children in prop::collection::vec(node(), 1..12), query in prop::sample::select(vec!["INVENTORY", "PROLOG", "inventory", "SNMP"])) {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REQUEST><DEVICEID>dev-1</DEVICEID>");
        xml.push_str(&format!("<QUERY>{query}</QUERY><CONTENT>"));
        for c in &children {
            to_xml(c, &mut xml);
        }
        xml.push_str("</CONTENT></REQUEST>");
        let start = Instant::now();
        let parsed = parse_message(&decode_body(&zlib_compress(xml.as_bytes()), LIMIT).unwrap());
        prop_assert!(start.elapsed() < BOUND);
        match query {
            "SNMP" => prop_assert!(parsed.is_err()),
            "PROLOG" => prop_assert_eq!(parsed.unwrap(), AgentMessage::Prolog { device_id: "dev-1".into() }),
            _ => check_inventory(&parsed.unwrap()),
        }
        // Unescaped, the same text may break the document: an error then, never a panic.
        let raw = xml.replace("&lt;", "<").replace("&amp;", "&");
        exercise(raw.as_bytes());
    }

    #[test]
    fn generated_json(children in prop::collection::vec(node(), 1..12), partial in any::<bool>()) {
        let content = match to_json(&Node::Element("content".into(), children)).1 {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let body = json!({"action": "inventory", "deviceid": "dev-1", "partial": partial, "content": content});
        let bytes = serde_json::to_vec(&body).unwrap();
        let start = Instant::now();
        let parsed = parse_message(&bytes).unwrap();
        prop_assert!(start.elapsed() < BOUND);
        check_inventory(&parsed);
        let AgentMessage::Inventory(inv) = parsed else { unreachable!() };
        prop_assert_eq!(inv.partial, partial);
    }
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn mutated_real_agent_outputs(which in any::<Index>(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let original = which.get(large()).clone();
        let mutated = mutate(original.clone(), &mutations);
        let start = Instant::now();
        let _ = parse_message(&mutated);
        // In the compressed body, a flipped bit is a corrupt stream, or another document.
        let _ = decode_body(&mutate(zlib_compress(&original), &mutations), LIMIT).map(|b| parse_message(&b));
        prop_assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
    }
}
