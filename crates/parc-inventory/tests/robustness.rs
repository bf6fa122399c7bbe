//! Bad input, hand-written: every case ends in a value or an `InventoryError`, quickly, never a panic.
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use parc_inventory::{
    decode_body, parse_glpi_json, parse_message, parse_ocs_xml, zlib_compress, AgentMessage, Inventory, InventoryError,
};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples").join(name)).unwrap()
}

fn inventory(msg: Result<AgentMessage, InventoryError>) -> Inventory {
    match msg {
        Ok(AgentMessage::Inventory(inv)) => *inv,
        other => panic!("expected an inventory, got {other:?}"),
    }
}

fn malformed(res: Result<AgentMessage, InventoryError>) -> String {
    match res {
        Err(InventoryError::Malformed(m)) => m,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn missing_device_id() {
    let prolog = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REQUEST><QUERY>PROLOG</QUERY></REQUEST>";
    assert_eq!(parse_ocs_xml(prolog), Err(InventoryError::MissingField("DEVICEID")));
    let blank = b"<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>   </DEVICEID><CONTENT><HARDWARE/></CONTENT></REQUEST>";
    assert_eq!(parse_ocs_xml(blank), Err(InventoryError::MissingField("DEVICEID")));
    let json = br#"{"action":"inventory","content":{"hardware":{"name":"pc"}}}"#;
    assert_eq!(parse_glpi_json(json), Err(InventoryError::MissingField("deviceid")));
    assert_eq!(
        parse_glpi_json(br#"{"action":"contact","deviceid":""}"#),
        Err(InventoryError::MissingField("deviceid"))
    );
    assert_eq!(InventoryError::MissingField("DEVICEID").to_string(), "missing mandatory field: DEVICEID");
}

#[test]
fn unknown_tags_and_attributes_ignored() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<!-- agent of the future -->
<REQUEST xmlns:x="urn:x">
  <DEVICEID>pc-1</DEVICEID><QUERY>INVENTORY</QUERY><SIGNATURE alg="none">AAAA</SIGNATURE>
  <CONTENT>
    <QUANTUM><QUBITS>8</QUBITS><STATE><![CDATA[|0> + |1>]]></STATE></QUANTUM>
    <HARDWARE level="3"><NAME>pc-1</NAME><HOLOGRAM>yes</HOLOGRAM><MEMORY unit="MB">2048</MEMORY></HARDWARE>
    <NETWORKS><DESCRIPTION>eth0.207</DESCRIPTION><MACADDR>00:11:22:33:44:55</MACADDR><FLUX>9</FLUX>
      <IPADDRESS>192.168.207.5</IPADDRESS><IPMASK>255.255.255.0</IPMASK><IPSUBNET>192.168.207.0</IPSUBNET></NETWORKS>
    <SOFTWARES><NAME>a &amp; b &#233;&#x20AC;</NAME><EXTRA><DEEPER>x</DEEPER></EXTRA></SOFTWARES>
    <x:NAMESPACED>1</x:NAMESPACED>
    <?processing instruction?>
  </CONTENT>
</REQUEST>"#;
    let inv = inventory(parse_ocs_xml(xml));
    assert_eq!(inv.name.as_deref(), Some("pc-1"));
    assert_eq!(inv.memory_mb, Some(2048));
    assert_eq!(inv.networks[0].vlan, Some(207));
    assert_eq!(inv.networks[0].subnet.as_deref(), Some("192.168.207.0/24"));
    assert_eq!(inv.software[0].name, "a & b é€");

    let json = br#"{"deviceid":"pc-2","future":{"a":[1,2,{"b":null}]},"content":{"hardware":{"name":"pc-2",
        "memory":1024,"hologram":true},"networks":[{"description":"vlan12","ipaddress":"10.0.12.9","ipmask":"255.255.255.0",
        "unknown":[{}]}],"softwares":[{"name":"x","version":3.5,"install_date":"20240229"}],"mystery":[]}}"#;
    let inv = inventory(parse_glpi_json(json));
    assert_eq!(inv.name.as_deref(), Some("pc-2"));
    assert_eq!(inv.networks[0].vlan, Some(12));
    assert_eq!(inv.networks[0].subnet.as_deref(), Some("10.0.12.0/24"));
    assert_eq!(inv.software[0].version.as_deref(), Some("3.5"), "a number where text was expected");
    assert_eq!(inv.software[0].install_date.as_deref(), Some("2024-02-29"));
}

#[test]
fn iso_8859_1_declared() {
    // As a Windows OCS agent may send it: declared Latin-1, bytes Latin-1 (é = E9, è = E8, ° = B0).
    let mut xml =
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<REQUEST><DEVICEID>PC-\xc9COLE-2024</DEVICEID>".to_vec();
    xml.extend_from_slice(b"<QUERY>INVENTORY</QUERY><CONTENT><HARDWARE><NAME>PC-\xc9COLE</NAME>");
    xml.extend_from_slice(b"<USERID>h\xe9l\xe8ne</USERID></HARDWARE><SOFTWARES><NAME>Cl\xe9 n\xb03</NAME>");
    xml.extend_from_slice(b"<PUBLISHER>Soci\xe9t\xe9 G\xe9n\xe9rale</PUBLISHER><INSTALLDATE>2024/01/31</INSTALLDATE>");
    xml.extend_from_slice(b"</SOFTWARES></CONTENT></REQUEST>");
    let inv = inventory(parse_message(&decode_body(&zlib_compress(&xml), 1 << 20).unwrap()));
    assert_eq!(inv.device_id, "PC-ÉCOLE-2024");
    assert_eq!(inv.name.as_deref(), Some("PC-ÉCOLE"));
    assert_eq!(inv.logged_user.as_deref(), Some("hélène"));
    assert_eq!(inv.software[0].name, "Clé n°3");
    assert_eq!(inv.software[0].publisher.as_deref(), Some("Société Générale"));
    assert_eq!(inv.software[0].install_date.as_deref(), Some("2024-01-31"));

    // windows-1252 (0x80 is €), single quotes, and the same document in UTF-8 give the same values.
    let cp1252 =
        b"<?xml version='1.0' encoding='windows-1252'?><REQUEST><DEVICEID>d</DEVICEID><QUERY>INVENTORY</QUERY>\
        <CONTENT><SOFTWARES><NAME>Caisse \x80</NAME></SOFTWARES></CONTENT></REQUEST>";
    assert_eq!(inventory(parse_ocs_xml(cp1252)).software[0].name, "Caisse €");
    let utf8 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><REQUEST><DEVICEID>d</DEVICEID><QUERY>INVENTORY</QUERY>\
        <CONTENT><SOFTWARES><NAME>Caisse €</NAME></SOFTWARES></CONTENT></REQUEST>";
    assert_eq!(inventory(parse_ocs_xml(utf8.as_bytes())).software[0].name, "Caisse €");
    // UTF-16 with its BOM (what a PowerShell redirection produces).
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(utf8.replace("UTF-8", "UTF-16").encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(inventory(parse_message(&utf16)).software[0].name, "Caisse €");
    let unknown = b"<?xml version=\"1.0\" encoding=\"EBCDIC-FR\"?><REQUEST/>";
    assert!(malformed(parse_ocs_xml(unknown)).contains("unsupported XML encoding"));
}

#[test]
fn invalid_utf8_is_lossy_never_fatal() {
    let xml = b"<REQUEST><DEVICEID>d\xff</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT><HARDWARE><NAME>\xc3\xa9t\xe9\x80\xc3</NAME>\
        </HARDWARE><SOFTWARES><NAME>ok</NAME><VERSION>\xed\xa0\x80</VERSION></SOFTWARES></CONTENT></REQUEST>";
    let inv = inventory(parse_ocs_xml(xml));
    assert_eq!(inv.device_id, "dÿ");
    assert_eq!(inv.name.as_deref(), Some("été€Ã"), "valid UTF-8 kept, stray bytes as Windows-1252");
    assert_eq!(inv.software[0].version.as_deref(), Some("í\u{a0}€"), "UTF-16 surrogate bytes, byte by byte");
    // Invalid bytes in a tag name: still an answer, not a panic.
    assert!(parse_ocs_xml(b"<REQUEST><DEVICEID>d</DEVICEID><QUERY>PROLOG</QUERY><\xff\xfe/></REQUEST>").is_ok());
    let json = b"{\"deviceid\":\"d\",\"content\":{\"hardware\":{\"name\":\"caf\xe9\"}}}";
    assert_eq!(inventory(parse_glpi_json(json)).name.as_deref(), Some("café"));
    // A UTF-8 BOM before JSON or XML.
    assert!(parse_glpi_json(b"\xef\xbb\xbf{\"action\":\"contact\",\"deviceid\":\"d\"}").is_ok());
    assert!(parse_message(b"\xef\xbb\xbf  <REQUEST><DEVICEID>d</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>").is_ok());
}

#[test]
fn truncated_documents() {
    let xml = sample("fusioninventory-2.6-debian12.xml");
    let end = xml.windows(10).rposition(|w| w == b"</REQUEST>").unwrap();
    // Every 4999th cut, and cuts around the interesting places.
    let mut cuts: Vec<usize> = (0..end).step_by(4999).collect();
    cuts.extend([1, 5, 39, 40, 41, end - 1, end, end + 5, end + 9]);
    for cut in cuts {
        let msg = match parse_message(&xml[..cut]) {
            Err(InventoryError::Malformed(m)) => m,
            other => panic!("cut at {cut}: {other:?}"),
        };
        assert!(!msg.is_empty(), "cut at {cut}");
    }
    assert_eq!(
        parse_message(&xml[..end]),
        Err(InventoryError::Malformed("unexpected end of document inside <request>".into()))
    );
    assert!(parse_message(&xml[..end + 10]).is_ok(), "the final newline is optional");

    let json = sample("glpi-agent-1.11-inventory.json");
    for cut in (1..json.len() - 2).step_by(97) {
        let msg = malformed(parse_message(&json[..cut]));
        assert!(msg.starts_with("JSON: "), "{msg}");
    }
    assert_eq!(
        malformed(parse_message(&json[..json.len() / 2])),
        "JSON: EOF while parsing a string at line 85 column 302"
    );

    // Truncated compressed streams are refused by decode_body.
    let z = zlib_compress(&xml);
    for cut in [3, 10, z.len() / 2, z.len() - 5] {
        assert!(matches!(decode_body(&z[..cut], 1 << 24), Err(InventoryError::Malformed(_))), "zlib cut {cut}");
    }
}

#[test]
fn deep_nesting_refused_without_overflow() {
    let n = 100_000;
    let xml = format!("<REQUEST>{}{}</REQUEST>", "<A>".repeat(n), "</A>".repeat(n));
    let start = Instant::now();
    assert_eq!(malformed(parse_message(xml.as_bytes())), "XML nested deeper than 32 levels");
    // Unclosed too.
    assert_eq!(malformed(parse_message("<A>".repeat(n).as_bytes())), "XML nested deeper than 32 levels");
    let json = format!("{{\"deviceid\":\"d\",\"content\":{}{}}}", "[".repeat(n), "]".repeat(n));
    assert!(malformed(parse_message(json.as_bytes())).contains("recursion limit exceeded"));
    let json = format!("{{\"deviceid\":\"d\",\"content\":{}1{}}}", "{\"a\":".repeat(n), "}".repeat(n));
    assert!(malformed(parse_message(json.as_bytes())).contains("recursion limit exceeded"));
    // An unknown top-level member is skipped by serde_json without recursing: no overflow either.
    let json = format!("{{\"x\":{}1{}}}", "{\"a\":".repeat(n), "}".repeat(n));
    assert_eq!(parse_message(json.as_bytes()), Err(InventoryError::MissingField("deviceid")));
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    // Legitimately nested documents are far below the limits.
    let ok = format!(
        "<REQUEST><DEVICEID>d</DEVICEID><QUERY>PROLOG</QUERY>{}{}</REQUEST>",
        "<A>".repeat(29),
        "</A>".repeat(29)
    );
    assert!(parse_message(ok.as_bytes()).is_ok());
}

#[test]
fn entities_and_doctype() {
    // No external entity is ever resolved, nor any internal one (no billion laughs).
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
        <REQUEST><DEVICEID>&x;</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>"#;
    assert!(malformed(parse_ocs_xml(xxe)).contains("unknown entity"));
    let lol = br#"<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
        <REQUEST><DEVICEID>&b;</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>"#;
    assert!(malformed(parse_ocs_xml(lol)).contains("unknown entity"));
    assert!(parse_ocs_xml(b"<REQUEST><DEVICEID>&#xD800;</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>").is_err());
    assert!(parse_ocs_xml(b"<REQUEST><DEVICEID>&#0;</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>").is_err());
}

fn big_ocs_inventory(software: usize, networks: usize) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REQUEST><CONTENT><HARDWARE><NAME>big</NAME></HARDWARE>\n",
    );
    for i in 0..software {
        writeln!(
            xml,
            "<SOFTWARES><NAME>package-{i}</NAME><VERSION>1.{i}</VERSION><PUBLISHER>Éditeur {}</PUBLISHER>\
             <INSTALLDATE>2025/04/{:02} 10:00:00</INSTALLDATE></SOFTWARES>",
            i % 97,
            i % 28 + 1
        )
        .unwrap();
    }
    for i in 0..networks {
        // Same interface over and over (merged into one card), one address each.
        writeln!(
            xml,
            "<NETWORKS><DESCRIPTION>eth0</DESCRIPTION><MACADDR>00:11:22:33:44:55</MACADDR>\
             <IPADDRESS>10.{}.{}.{}</IPADDRESS><IPMASK>255.0.0.0</IPMASK></NETWORKS>",
            i / 65536 % 256,
            i / 256 % 256,
            i % 256
        )
        .unwrap();
    }
    xml.push_str("</CONTENT><DEVICEID>big-2025</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>\n");
    xml.into_bytes()
}

#[test]
fn hundred_thousand_software_entries() {
    let xml = big_ocs_inventory(100_000, 0);
    assert!(xml.len() > 10 << 20, "{} bytes", xml.len());
    let limit = 32 << 20;
    let wire = zlib_compress(&xml);
    let start = Instant::now();
    let inv = inventory(parse_message(&decode_body(&wire, limit).unwrap()));
    let took = start.elapsed();
    assert_eq!(inv.software.len(), 100_000);
    assert_eq!(inv.software[99_999].name, "package-99999");
    assert_eq!(inv.software[99_999].publisher.as_deref(), Some("Éditeur 89"));
    assert_eq!(inv.software[12].install_date.as_deref(), Some("2025-04-13"));
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Over the limit: refused before parsing.
    assert_eq!(decode_body(&wire, 1 << 20), Err(InventoryError::TooLarge { limit: 1 << 20 }));
}

/// One card sent as 50 000 entries (one per address), 50 000 distinct cards: linear, not quadratic.
#[test]
fn many_network_entries_stay_linear() {
    let xml = big_ocs_inventory(0, 50_000);
    let start = Instant::now();
    let inv = inventory(parse_message(&xml));
    assert_eq!(inv.networks.len(), 1);
    assert_eq!(inv.networks[0].ips.len(), 50_000);
    assert_eq!(inv.networks[0].subnet.as_deref(), Some("10.0.0.0/8"));

    let mut json = String::from(r#"{"deviceid":"d","content":{"networks":["#);
    for i in 0..50_000u32 {
        let b = i.to_be_bytes();
        write!(
            json,
            r#"{{"description":"eth{i}","mac":"02:00:{:02x}:{:02x}:{:02x}:{:02x}"}},"#,
            b[0], b[1], b[2], b[3]
        )
        .unwrap();
    }
    json.push_str(r#"{"description":"last","ipaddress":"1.2.3.4, 5.6.7.8, 1.2.3.4"}]}}"#);
    let inv = inventory(parse_message(json.as_bytes()));
    assert_eq!(inv.networks.len(), 50_001);
    assert_eq!(inv.physical_macs().len(), 50_000);
    assert_eq!(inv.networks[50_000].ips, ["1.2.3.4", "5.6.7.8"]);
    assert_eq!(inv.primary_ip(), Some("1.2.3.4"));
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

#[test]
fn primary_ip_choice() {
    let json = |networks: &str| {
        inventory(parse_glpi_json(format!(r#"{{"deviceid":"d","content":{{"networks":{networks}}}}}"#).as_bytes()))
    };
    let inv = json(
        r#"[{"description":"lo","ipaddress":"127.0.0.1","virtualdev":1},
            {"description":"docker0","ipaddress":"172.17.0.1","virtualdev":1},
            {"description":"eth0","ipaddress":"169.254.3.4"},
            {"description":"eth0","ipaddress6":"2001:db8::5"},
            {"description":"eth1","ipaddress":"192.168.1.20"}]"#,
    );
    assert_eq!(inv.primary_ip(), Some("192.168.1.20"), "physical, not link-local");
    let inv = json(
        r#"[{"description":"lo","ipaddress":"127.0.0.1"},{"description":"tun0","ipaddress":"10.8.0.2","virtualdev":true}]"#,
    );
    assert_eq!(inv.primary_ip(), Some("10.8.0.2"), "fallback: any non-loopback address");
    let inv =
        json(r#"[{"description":"eth0","ipaddress6":"fe80::1"},{"description":"eth0","ipaddress6":"2001:db8::7"}]"#);
    assert_eq!(inv.primary_ip(), Some("2001:db8::7"), "IPv6-only: global before link-local");
    let inv = json(r#"[{"description":"eth0","ipaddress":"0.0.0.0"},{"description":"lo","ipaddress6":"::1"}]"#);
    assert_eq!(inv.primary_ip(), None);
    assert_eq!(Inventory::default().primary_ip(), None);
}

#[test]
fn dates_as_agents_write_them() {
    let soft = |date: &str| {
        let json = format!(r#"{{"deviceid":"d","content":{{"softwares":[{{"name":"n","install_date":"{date}"}}]}}}}"#);
        inventory(parse_glpi_json(json.as_bytes())).software[0].install_date.clone().unwrap()
    };
    for (raw, iso) in [
        ("2025/04/20 00:00:00", "2025-04-20"), // OCS Unix agent (dpkg)
        ("2024-02-12 10:03:27", "2024-02-12"), // OCS RPM, GLPI datetime
        ("2019-12-19", "2019-12-19"),          // GLPI JSON
        ("20/04/2025", "2025-04-20"),          // FusionInventory RPM, snap, Windows
        ("5/03/2024", "2024-03-05"),           // FusionInventory pacman (day not padded)
        ("03/14/2019", "2019-03-14"),          // US order, when only it makes sense
        ("20240229", "2024-02-29"),            // raw Windows registry InstallDate
        ("2024-01-15T09:12:44Z", "2024-01-15"),
        ("31.12.2023", "2023-12-31"),
        ("1970-00-01", "1970-00-01"), // OCS's unknown OS install date: not a date, kept as is
        ("2023-02-30", "2023-02-30"),
        ("20231345", "20231345"),
        ("yesterday", "yesterday"),
        (" 2025/04/20 ", "2025-04-20"),
    ] {
        assert_eq!(soft(raw), iso, "{raw:?}");
    }
}

#[test]
fn neither_xml_nor_json() {
    assert_eq!(malformed(parse_message(b"")), "empty body");
    assert_eq!(malformed(parse_message(b" \n\t")), "empty body");
    assert_eq!(malformed(parse_message(b"PROLOG")), "body is neither XML nor JSON");
    assert!(matches!(parse_message(b"[1,2]"), Err(InventoryError::Malformed(_))));
    assert!(matches!(parse_message(b"{\"deviceid\":\"d\",\"action\":7}"), Err(InventoryError::Malformed(_))));
    assert!(matches!(parse_message(b"<REQUEST/>"), Err(InventoryError::MissingField("QUERY"))));
    assert!(matches!(parse_message(b"<a></b>"), Err(InventoryError::Malformed(_))));
    assert!(matches!(parse_message(b"<REQUEST></REQUEST><REQUEST>"), Err(InventoryError::Malformed(_))));
    assert!(matches!(parse_message(b"<REQUEST></REQUEST>trailing"), Err(InventoryError::Malformed(_))));
}
